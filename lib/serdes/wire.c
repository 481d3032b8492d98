/* wire: the Confluent framing (see wire.h for the format and the size limit). */
#include "lib/serdes/wire.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/errbuf.h"

void wire_buf_init(wire_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void wire_buf_free(wire_buf *b)
{
    free(b->data);
    wire_buf_init(b);
}

int wire_buf_reserve(wire_buf *b, size_t n, char *err, size_t errlen)
{
    size_t cap;
    uint8_t *p;

    if (n <= b->cap) return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < n)
        cap = cap > SIZE_MAX / 2 ? n : cap * 2;
    p = realloc(b->data, cap);
    if (p == NULL) {
        errbuf_fail(err, errlen, "out of memory for a %zu-byte message", n);
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int wire_put_header(uint8_t out[WIRE_HEADER_SIZE], int32_t schema_id, char *err, size_t errlen)
{
    uint32_t id = (uint32_t)schema_id;

    if (schema_id <= 0) {
        errbuf_fail(err, errlen, "schema id %" PRId32 " is not positive", schema_id);
        return -1;
    }
    out[0] = WIRE_MAGIC;
    out[1] = (uint8_t)(id >> 24);
    out[2] = (uint8_t)(id >> 16);
    out[3] = (uint8_t)(id >> 8);
    out[4] = (uint8_t)id;
    return 0;
}

int wire_encode(int32_t schema_id, const uint8_t *payload, size_t payload_len, wire_buf *b,
                char *err, size_t errlen)
{
    if (payload_len > WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE) {
        errbuf_fail(err, errlen, "message of %zu bytes exceeds the %d-byte limit",
                    payload_len + WIRE_HEADER_SIZE, WIRE_MAX_MESSAGE);
        return -1;
    }
    if (wire_buf_reserve(b, WIRE_HEADER_SIZE + payload_len, err, errlen) != 0) return -1;
    if (wire_put_header(b->data, schema_id, err, errlen) != 0) return -1;
    if (payload_len > 0) memcpy(b->data + WIRE_HEADER_SIZE, payload, payload_len);
    b->len = WIRE_HEADER_SIZE + payload_len;
    return 0;
}

int wire_decode(const uint8_t *msg, size_t len, int32_t *schema_id, const uint8_t **payload,
                size_t *payload_len, char *err, size_t errlen)
{
    uint32_t id;

    if (len > WIRE_MAX_MESSAGE) {
        errbuf_fail(err, errlen, "message of %zu bytes exceeds the %d-byte limit", len,
                    WIRE_MAX_MESSAGE);
        return -1;
    }
    if (msg == NULL || len < WIRE_HEADER_SIZE) {
        errbuf_fail(err, errlen, "message of %zu bytes is shorter than the %d-byte header", len,
                    WIRE_HEADER_SIZE);
        return -1;
    }
    if (msg[0] != WIRE_MAGIC) {
        errbuf_fail(err, errlen, "wrong magic byte 0x%02x (expected 0x00)", msg[0]);
        return -1;
    }
    id = (uint32_t)msg[1] << 24 | (uint32_t)msg[2] << 16 | (uint32_t)msg[3] << 8 | msg[4];
    if (id == 0 || id > INT32_MAX) {
        errbuf_fail(err, errlen, "schema id %" PRIu32 " is out of range", id);
        return -1;
    }
    *schema_id = (int32_t)id;
    *payload = msg + WIRE_HEADER_SIZE;
    *payload_len = len - WIRE_HEADER_SIZE;
    return 0;
}
