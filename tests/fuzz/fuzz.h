/*
 * fuzz.h: what every libFuzzer target of tests/fuzz shares.
 *
 * A target is one .c file with LLVMFuzzerTestOneInput; it is built by clang with
 * -fsanitize=fuzzer,address,undefined (make fuzz-build, build/fuzz/fuzz/). A crash, a sanitizer
 * report, a leak or a broken invariant (FUZZ_CHECK: abort) is a finding; tests/fuzz/README.md
 * says how they run and how a finding becomes a regression input.
 *
 * The schema set is loaded once per process (schema_set_load_default: $MNI_SCHEMAS_DIR or
 * ./schemas) and kept: it is reachable to the end, so LeakSanitizer does not count it.
 */
#ifndef MNI_FUZZ_H
#define MNI_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/serdes/schema_set.h"

/* An invariant the code under test promises: a violation is a finding like a crash. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant broken: %s: ", #cond);                                 \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline const schema_set *fuzz_schemas(void)
{
    static schema_set *set;
    if (!set) {
        char err[512];
        if (schema_set_load_default(&set, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz: cannot load the schemas (set MNI_SCHEMAS_DIR): %s\n", err);
            exit(2);
        }
    }
    return set;
}

/* An error message must say something: "field: reason", never empty. */
static inline void fuzz_check_error(const char *err)
{
    FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
    FUZZ_CHECK(strlen(err) < 511, "an error message that filled the buffer: %s", err);
}

/* The target of one records_<name> record type: decode the bytes as the workers do (a refusal
 * must have a message); an accepted record re-encodes with the current schema, and decoding
 * that encoding gives a record that encodes to the same bytes. Expands to the whole
 * LLVMFuzzerTestOneInput; the file includes lib/model/records.h. */
#define FUZZ_RECORD_ROUNDTRIP_TARGET(name)                                                         \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                  \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                   \
    {                                                                                              \
        static mni_arena arena;                                                                    \
        static wire_buf first, second;                                                             \
        static int ready;                                                                          \
        const schema_set *set = fuzz_schemas();                                                    \
        char err[512] = "";                                                                        \
        records_##name rec, again;                                                                 \
        if (!ready) {                                                                              \
            arena_init(&arena);                                                                    \
            wire_buf_init(&first);                                                                 \
            wire_buf_init(&second);                                                                \
            ready = 1;                                                                             \
        }                                                                                          \
        arena_reset(&arena);                                                                       \
        if (records_##name##_decode(set, data, size, &arena, &rec, err, sizeof err) != 0) {        \
            fuzz_check_error(err);                                                                 \
            return 0;                                                                              \
        }                                                                                          \
        FUZZ_CHECK(records_##name##_encode(set, &rec, &first, err, sizeof err) == 0,               \
                   "re-encode: %s", err);                                                          \
        FUZZ_CHECK(records_##name##_decode(set, first.data, first.len, &arena, &again, err,        \
                                           sizeof err) == 0,                                       \
                   "decode of the re-encoding: %s", err);                                          \
        FUZZ_CHECK(records_##name##_encode(set, &again, &second, err, sizeof err) == 0, "%s",      \
                   err);                                                                           \
        FUZZ_CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0,     \
                   "the encoding does not round-trip");                                            \
        return 0;                                                                                  \
    }

#endif
