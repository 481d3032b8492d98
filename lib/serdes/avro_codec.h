/*
 * avro_codec: framed Avro bytes <-> generic Avro values, safely.
 *
 * Decoding a message (avro_codec_decode):
 *   1. wire_decode: size limit, magic byte, schema id;
 *   2. the id names the WRITER's schema in the set (unknown id: fetched from the schema
 *      registry when the set has one, schema_set_resolve; else an error);
 *   3. avro_codec_check walks the payload against that schema before Avro C sees it;
 *   4. Avro C reads it into a generic value of the writer's schema;
 *   5. when the writer is an older (or newer) version, avro_resolve copies the value into the
 *      current version, filling defaults for fields the writer lacked.
 * The caller gets a value of the CURRENT version of the record and releases it with
 * avro_value_decref.
 *
 * Why step 3: Avro C 1.11 trusts the input. It allocates a string's length before checking
 * that the bytes are there (and leaks the buffer when they are not), lets a negative count or
 * length through in places, reads an out-of-range enum index into the value, and has no bound
 * on nesting. The check accepts exactly the well-formed datums of the schema:
 *   - varints at most 10 bytes (5 for int) and within range; booleans 0 or 1;
 *   - string and bytes lengths >= 0 and within the bytes left; strings valid UTF-8 with no NUL
 *     (what PostgreSQL text and C strings can hold);
 *   - enum indexes and union branches within the schema;
 *   - array and map blocks: a count within the bytes left, a negative count followed by a
 *     byte size that must match its items, the items of the whole message at most one per
 *     payload byte (so arrays of empty items cannot loop for ever);
 *   - nesting at most EVENTS_RESOLVE_MAX_DEPTH; no bytes left over at the end.
 * So truncated, flipped, or hostile bytes give an error naming the field and the reason, never
 * a crash, a leak, or an allocation larger than the message.
 *
 * Encoding (avro_codec_encode) writes a value of a schema of the set, framed with its id, and
 * refuses a result over WIRE_MAX_MESSAGE.
 *
 * Errors: 0, or -1 with "path: reason" in err. Avro C is not thread-safe: one thread.
 */
#ifndef MNI_AVRO_CODEC_H
#define MNI_AVRO_CODEC_H

#include <avro.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"

/* Decodes a framed message into a new value of the current version of its record. expect: the
 * record's full name the caller wants (NULL: any). *writer (may be NULL) receives the writer's
 * schema. */
int avro_codec_decode(const schema_set *set, const uint8_t *msg, size_t len, const char *expect,
                      avro_value_t *out, const schema_def **writer, char *err, size_t errlen);

/* A new, empty value of the current version of record `name`, for an encoder to fill. */
int avro_codec_new(const schema_set *set, const char *name, avro_value_t *out,
                   const schema_def **schema, char *err, size_t errlen);

/* Replaces out's content with the framed encoding of v, a value of schema s. */
int avro_codec_encode(const schema_def *s, avro_value_t *v, wire_buf *out, char *err,
                      size_t errlen);

/* Checks that data[0..len) is exactly one well-formed datum of schema (see above). */
int avro_codec_check(avro_schema_t schema, const uint8_t *data, size_t len, char *err,
                     size_t errlen);

/* True when s[0..len) is valid UTF-8 (RFC 3629: no overlong forms, no surrogates) with no NUL. */
bool avro_codec_text_ok(const char *s, size_t len);

#endif
