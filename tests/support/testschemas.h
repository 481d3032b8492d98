/*
 * testschemas: the schema set a test file encodes and decodes with (schemas/, the local id
 * table: schema_set_load_default), loaded once for its group of tests.
 *
 * A file whose group needs nothing else passes testschemas_setup and testschemas_teardown to
 * cmocka and uses `testschemas`; one whose setup does more calls testschemas_load itself.
 */
#ifndef MNI_TESTSCHEMAS_H
#define MNI_TESTSCHEMAS_H

#include "lib/serdes/schema_set.h"

/* The set testschemas_setup loaded (NULL before, and after testschemas_teardown). */
extern schema_set *testschemas;

/* cmocka group setup and teardown: load testschemas, free it. */
int testschemas_setup(void **state);
int testschemas_teardown(void **state);

/* *out the schema set (the caller frees it with schema_set_free). 0, or -1 with the reason on
 * stderr (for a cmocka setup, which then fails). */
int testschemas_load(schema_set **out);

#endif
