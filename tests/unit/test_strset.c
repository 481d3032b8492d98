/*
 * test_strset: the batch's string set (lib/base/strset.h): the FNV-1a hash against its
 * published test vectors, membership, first value wins, take, clear keeping the table, and a
 * set grown past many resizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "lib/base/strset.h"

static void hash_is_fnv1a_64(void **state)
{
    (void)state;
    /* Test vectors of the FNV reference (offset basis and "a", "foobar"). */
    assert_true(strset_hash("") == 0xcbf29ce484222325ULL);
    assert_true(strset_hash("a") == 0xaf63dc4c8601ec8cULL);
    assert_true(strset_hash("foobar") == 0x85944171f73967e8ULL);
}

static void put_get_take_clear(void **state)
{
    (void)state;
    strset s;
    strset_init(&s);
    assert_false(strset_get(&s, "EV-1", NULL));
    bool added = false;
    assert_int_equal(strset_put(&s, "EV-1", 7, &added), 0);
    assert_true(added);
    assert_int_equal(strset_put(&s, "EV-1", 9, &added), 0);
    assert_false(added);
    size_t v = 0;
    assert_true(strset_get(&s, "EV-1", &v));
    assert_int_equal(v, 7); /* the first value stays */
    assert_true(strset_take(&s, "EV-1"));
    assert_false(strset_take(&s, "EV-1"));
    assert_false(strset_take(&s, "EV-2"));
    strset_clear(&s);
    assert_int_equal(strset_count(&s), 0);
    assert_false(strset_contains(&s, "EV-1"));
    strset_free(&s);
}

static void many_keys(void **state)
{
    (void)state;
    strset s;
    strset_init(&s);
    char key[32];
    for (size_t i = 0; i < 50000; i++) {
        snprintf(key, sizeof key, "INC-%zu", i);
        assert_int_equal(strset_put(&s, key, i, NULL), 0);
    }
    assert_int_equal(strset_count(&s), 50000);
    for (size_t i = 0; i < 50000; i += 997) {
        snprintf(key, sizeof key, "INC-%zu", i);
        size_t v = 0;
        assert_true(strset_get(&s, key, &v));
        assert_int_equal(v, i);
    }
    assert_false(strset_contains(&s, "INC-50000"));
    strset_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_is_fnv1a_64),
        cmocka_unit_test(put_get_take_clear),
        cmocka_unit_test(many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
