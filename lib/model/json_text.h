/*
 * json_text: a JSON value as text, byte for byte what jansson's json_dumps(json,
 * JSON_INDENT(2)) or json_dumps(json, JSON_COMPACT) writes, in a fraction of its time.
 *
 * Why. mni-notify stores every document it renders as indented JSON (deliveries.document,
 * hashed into document_sha256 and the audit trail), so the bytes are a contract; mni-assess
 * writes verdicts, facts and audit rows as compact JSON for PostgreSQL. jansson's dump checks
 * every container for a reference loop (a formatted pointer in a hash table, allocated and
 * freed per container) and appends token by token: in a W3 profile it took a fifth of
 * mni-notify's CPU and over a quarter of mni-assess's. The values we build are trees by
 * construction, so the check buys nothing here.
 *
 * The format (jansson 2.14, flags JSON_INDENT(2) or JSON_COMPACT alone): objects in insertion
 * order; indented, "key": value, members and elements each on a line of their own indented two
 * spaces per depth, "," at the end of every line but the last; compact, "key":value and ","
 * with no space or newline; "{}" and "[]" when empty; strings escaped as jansson does
 * (\" \\ \b \f \n \r \t, other bytes below 0x20 as \u00XX, everything else as it is); integers
 * in decimal; reals as jansson writes them (delegated to it). tests/unit/test_json_text.c
 * compares the two on generated trees.
 *
 * Returns a malloc'd NUL-terminated text, or NULL when out of memory (like json_dumps).
 */
#ifndef MNI_JSON_TEXT_H
#define MNI_JSON_TEXT_H

#include <jansson.h>
#include <stddef.h>

#include "lib/base/buf.h"

char *json_text_indent2(const json_t *json);
char *json_text_compact(const json_t *json);

/* Appends s[0..n) as a JSON string literal, escaped as above (for text assembled by hand). */
void json_text_put_string(buf *b, const char *s, size_t n);

#endif
