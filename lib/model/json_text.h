/*
 * json_text: a JSON value as text, byte for byte what jansson's json_dumps(json,
 * JSON_INDENT(2)) writes, in a fraction of its time.
 *
 * Why. mni-notify stores every document it renders as indented JSON (deliveries.document,
 * hashed into document_sha256 and the audit trail), so the bytes are a contract. jansson's
 * dump checks every container for a reference loop (a formatted pointer in a hash table,
 * allocated and freed per container) and appends token by token: in a W3 profile it took a
 * fifth of mni-notify's CPU. Rendered documents are trees by construction, so the check buys
 * nothing here.
 *
 * The format (jansson 2.14, flags JSON_INDENT(2) only): objects in insertion order, "key": value,
 * members and elements each on a line of their own indented two spaces per depth, "," at the
 * end of every line but the last; "{}" and "[]" when empty; strings escaped as jansson does
 * (\" \\ \b \f \n \r \t, other bytes below 0x20 as \u00XX, everything else as it is); integers
 * in decimal; reals as jansson writes them (delegated to it). tests/unit/test_json_text.c
 * compares the two on generated trees.
 *
 * Returns a malloc'd NUL-terminated text, or NULL when out of memory (like json_dumps).
 */
#ifndef MNI_JSON_TEXT_H
#define MNI_JSON_TEXT_H

#include <jansson.h>

char *json_text_indent2(const json_t *json);

#endif
