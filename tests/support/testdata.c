/*
 * testdata: see testdata.h.
 */
#include "tests/support/testdata.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void testdata_path(const char *sub, char *out, size_t size)
{
    const char *root = getenv("MNI_TEST_DATA");
    snprintf(out, size, "%s/%s", root ? root : "tests/data", sub);
}

char *testdata_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len) *len = n;
    }
    return buf;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t testdata_list(const char *dir, const char *suffix, char ***paths)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 0;
    *paths = NULL;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || len < sl ||
            strcmp(e->d_name + len - sl, suffix) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            *paths = realloc(*paths, cap * sizeof **paths);
        }
        size_t plen = strlen(dir) + len + 2;
        (*paths)[n] = malloc(plen);
        snprintf((*paths)[n++], plen, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n) qsort(*paths, n, sizeof **paths, compare_paths);
    return n;
}

void testdata_free_list(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

int testdata_run_per_file(const char *group, const char *dir, const char *suffix,
                          void (*fn)(void **state))
{
    char **paths;
    size_t n = testdata_list(dir, suffix, &paths);
    if (n == 0) {
        fprintf(stderr,
                "%s: no test data files in %s (run from the repository root or set "
                "MNI_TEST_DATA)\n",
                group, dir);
        return 1;
    }
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/');
        tests[i].name = base ? base + 1 : paths[i];
        tests[i].test_func = fn;
        tests[i].initial_state = paths[i];
    }
    int failed = _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    free(tests);
    testdata_free_list(paths, n);
    return failed;
}
