/*
 * testdata: locating and reading the test data folders (tests/data) and
 * building a cmocka group with one test per data file, so each legal scenario is counted and
 * named on its own in the runner's summary.
 */
#ifndef MNI_TESTDATA_H
#define MNI_TESTDATA_H

#include <stddef.h>

/* `tests/data/<sub>` (or $MNI_TEST_DATA/<sub>) into out. */
void testdata_path(const char *sub, char *out, size_t size);
/* The whole file, NUL-terminated, malloc'd; NULL when unreadable. */
char *testdata_read(const char *path, size_t *len);
/* Sorted paths of the files in dir whose names start with a digit and end in suffix; returns
 * the count (0 when none), *paths malloc'd, free with testdata_free_list. */
size_t testdata_list(const char *dir, const char *suffix, char ***paths);
void testdata_free_list(char **paths, size_t n);
/* Runs `fn` once per file as a cmocka group named `group`; each test's state is its path. */
int testdata_run_per_file(const char *group, const char *dir, const char *suffix,
                          void (*fn)(void **state));

#endif
