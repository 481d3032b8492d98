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

#endif
