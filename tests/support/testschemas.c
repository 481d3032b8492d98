/*
 * testschemas: see testschemas.h.
 */
#include "tests/support/testschemas.h"

#include <stdio.h>

schema_set *testschemas;

int testschemas_load(schema_set **out)
{
    char err[512];
    if (schema_set_load_default(out, err, sizeof err) == 0) return 0;
    fprintf(stderr, "cannot load the schemas: %s\n", err);
    return -1;
}

int testschemas_setup(void **state)
{
    (void)state;
    return testschemas_load(&testschemas);
}

int testschemas_teardown(void **state)
{
    (void)state;
    schema_set_free(testschemas);
    testschemas = NULL;
    return 0;
}
