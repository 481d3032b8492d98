/*
 * fuzz_ticket: a Ticket (tickets) record from bytes (records_ticket_decode: framing, schema lookup,
 * the Avro pre-check, Avro C, resolution, the record's checks), as the notify worker and the `mni`
 * tool read them.
 *
 * Invariants: a refusal has a message; an accepted record re-encodes with the current schema,
 * and decoding that encoding gives a record that encodes to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/model/records.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mni_arena arena;
    static wire_buf first, second;
    static int ready;
    const schema_set *set = fuzz_schemas();
    char err[512] = "";
    records_ticket rec, again;

    if (!ready) {
        arena_init(&arena);
        wire_buf_init(&first);
        wire_buf_init(&second);
        ready = 1;
    }
    arena_reset(&arena);
    if (records_ticket_decode(set, data, size, &arena, &rec, err, sizeof err) != 0) {
        fuzz_check_error(err);
        return 0;
    }
    FUZZ_CHECK(records_ticket_encode(set, &rec, &first, err, sizeof err) == 0, "re-encode: %s",
               err);
    FUZZ_CHECK(records_ticket_decode(set, first.data, first.len, &arena, &again, err, sizeof err) ==
                   0,
               "decode of the re-encoding: %s", err);
    FUZZ_CHECK(records_ticket_encode(set, &again, &second, err, sizeof err) == 0, "%s", err);
    FUZZ_CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0,
               "the encoding does not round-trip");
    return 0;
}
