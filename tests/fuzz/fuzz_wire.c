/*
 * fuzz_wire: the Confluent framing (lib/serdes/wire.c) and the generic decode behind every
 * record (avro_codec_decode with no expected record: any schema id of the set, the frozen
 * history versions included, resolved into the current version).
 *
 * Invariants: wire_decode accepts only a frame of at most WIRE_MAX_MESSAGE bytes with magic 0
 * and a schema id > 0, points the payload just past the header, and wire_encode of what it
 * returns gives back the same bytes; a refusal always has a message.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/serdes/avro_codec.h"
#include "lib/serdes/wire.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const schema_set *set = fuzz_schemas();
    char err[512] = "";
    int32_t id = -1;
    const uint8_t *payload = NULL;
    size_t payload_len = 0;

    if (wire_decode(data, size, &id, &payload, &payload_len, err, sizeof err) != 0) {
        fuzz_check_error(err);
        return 0;
    }
    FUZZ_CHECK(size >= WIRE_HEADER_SIZE && size <= WIRE_MAX_MESSAGE, "size %zu", size);
    FUZZ_CHECK(data[0] == WIRE_MAGIC, "magic %u", data[0]);
    FUZZ_CHECK(id > 0, "schema id %d", id);
    FUZZ_CHECK(payload == data + WIRE_HEADER_SIZE && payload_len == size - WIRE_HEADER_SIZE,
               "payload at %td, %zu bytes", payload - data, payload_len);

    wire_buf again;
    wire_buf_init(&again);
    FUZZ_CHECK(wire_encode(id, payload, payload_len, &again, err, sizeof err) == 0, "%s", err);
    FUZZ_CHECK(again.len == size && memcmp(again.data, data, size) == 0, "re-framed differs");
    wire_buf_free(&again);

    avro_value_t value;
    const schema_def *writer = NULL;
    err[0] = '\0';
    if (avro_codec_decode(set, data, size, NULL, &value, &writer, err, sizeof err) != 0) {
        fuzz_check_error(err);
        return 0;
    }
    FUZZ_CHECK(writer != NULL && writer->id == id, "writer schema of id %d", id);
    avro_value_decref(&value);
    return 0;
}
