/*
 * test_fieldpath: the codecs' error paths (lib/base/fieldpath.h) are written by hand, without
 * snprintf; they must read exactly as the formatted ones did ("body.tokens[12]"), and be cut
 * short at FIELDPATH_MAX - 1 bytes the way snprintf cut them, however long the path grows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/fieldpath.h"
#include "tests/support/testrand.h"

/* The formatted reference: what fieldpath_field and fieldpath_index wrote with snprintf. */
typedef struct {
    char s[FIELDPATH_MAX];
    size_t n;
} reference_path;

static void reference_put(reference_path *r, int wrote)
{
    r->n += (size_t)wrote;
    if (r->n >= FIELDPATH_MAX) r->n = FIELDPATH_MAX - 1;
}

static void reference_field(reference_path *r, const char *name)
{
    reference_put(r, snprintf(r->s + r->n, FIELDPATH_MAX - r->n, "%s%s", r->n ? "." : "", name));
}

static void reference_index(reference_path *r, size_t i)
{
    reference_put(r, snprintf(r->s + r->n, FIELDPATH_MAX - r->n, "[%zu]", i));
}

static void paths_read_as_formatted(void **state)
{
    (void)state;
    fieldpath p;
    fieldpath_init(&p);
    assert_string_equal(fieldpath_str(&p), "(top)");
    size_t body = fieldpath_field(&p, "body");
    size_t tokens = fieldpath_field(&p, "tokens");
    size_t item = fieldpath_index(&p, 0);
    assert_string_equal(fieldpath_str(&p), "body.tokens[0]");
    fieldpath_pop(&p, item);
    fieldpath_index(&p, 15799);
    assert_string_equal(fieldpath_str(&p), "body.tokens[15799]");
    fieldpath_pop(&p, tokens);
    fieldpath_index(&p, SIZE_MAX);
    assert_string_equal(fieldpath_str(&p), "body[18446744073709551615]");
    fieldpath_pop(&p, body);
    assert_string_equal(fieldpath_str(&p), "(top)");
}

/* Random pushes and pops, long names and big indexes, against the reference: every state the
 * same string and length, the cut at the buffer's end included. */
static void paths_match_the_reference_when_cut(void **state)
{
    (void)state;
    static const char *const names[] = {"a", "body", "client_facts",
                                        "a_field_name_of_some_forty_characters___"};
    uint64_t x = 0x9E3779B97F4A7C15u;
    size_t cut = 0;
    for (int round = 0; round < 200; round++) {
        fieldpath p;
        reference_path r = {"", 0};
        fieldpath_init(&p);
        for (int step = 0; step < 40; step++) {
            testrand_next(&x);
            if (x % 5 == 0 && step > 0) {
                size_t to = (size_t)(x >> 20) % (p.n + 1);
                fieldpath_pop(&p, to);
                r.n = to;
                r.s[to] = '\0';
            } else if (x % 2) {
                const char *name = names[(x >> 8) % 4];
                fieldpath_field(&p, name);
                reference_field(&r, name);
            } else {
                size_t i = (size_t)(x >> (x % 60));
                fieldpath_index(&p, i);
                reference_index(&r, i);
            }
            assert_int_equal(p.n, r.n);
            assert_string_equal(p.s, r.s);
            cut += p.n == FIELDPATH_MAX - 1;
        }
    }
    assert_true(cut > 0); /* the cut was reached, so it was compared */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paths_read_as_formatted),
        cmocka_unit_test(paths_match_the_reference_when_cut),
    };
    return cmocka_run_group_tests_name("fieldpath", tests, NULL, NULL);
}
