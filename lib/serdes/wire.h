/*
 * wire: the Confluent framing of every Avro message on our topics.
 *
 *     byte 0      magic, always 0
 *     bytes 1-4   schema id, big-endian, > 0 (the id of the WRITER's schema)
 *     bytes 5-    the Avro binary encoding of one datum
 *
 * This is what the Confluent serializers, kcat -s avro and the schema-registry tools expect, so
 * the topics work with the tools ops teams already use. The module only frames: it knows
 * nothing of Avro or schemas (schema_set, avro_codec do).
 *
 * Size limit: a framed message is at most WIRE_MAX_MESSAGE bytes. Decoders refuse a longer
 * message before looking inside it (Avro C trusts lengths; a bound on the whole input bounds
 * every allocation it can make) and encoders refuse to produce one.
 *
 * wire_buf is a growable byte buffer owned by the caller: wire_buf_init once, reuse it across
 * messages (encoders overwrite it), wire_buf_free at the end. Errors follow the project idiom:
 * 0 on success, -1 with a message in err (errlen bytes, always NUL-terminated when errlen > 0).
 */
#ifndef MNI_WIRE_H
#define MNI_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0
#define WIRE_HEADER_SIZE 5
#define WIRE_MAX_MESSAGE (1024 * 1024) /* bytes of a framed message, header included */

typedef struct {
    uint8_t *data; /* malloc'd, owned by the buffer */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
} wire_buf;

void wire_buf_init(wire_buf *b);
void wire_buf_free(wire_buf *b);
/* Makes room for at least n bytes (len unchanged). */
int wire_buf_reserve(wire_buf *b, size_t n, char *err, size_t errlen);

/* Writes the 5-byte header for schema_id into out. */
int wire_put_header(uint8_t out[WIRE_HEADER_SIZE], int32_t schema_id, char *err, size_t errlen);

/* Replaces b's content with header + payload. Refuses a result over WIRE_MAX_MESSAGE. */
int wire_encode(int32_t schema_id, const uint8_t *payload, size_t payload_len, wire_buf *b,
                char *err, size_t errlen);

/* Checks size, magic byte and schema id of msg[0..len) and points *payload into msg. */
int wire_decode(const uint8_t *msg, size_t len, int32_t *schema_id, const uint8_t **payload,
                size_t *payload_len, char *err, size_t errlen);

#endif
