/*
 * test_buf: the growable text buffer (lib/base/buf.h): appends, printf, take, the limit that
 * fails the buffer once and for all, and reuse after take.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/buf.h"

static void appends_and_take(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, BUF_NO_LIMIT);
    assert_int_equal(buf_puts(&b, "見出し "), 0);
    assert_int_equal(buf_printf(&b, "%d 人", 101), 0);
    assert_int_equal(buf_putn(&b, "abc", 2), 0);
    char *text = buf_take(&b);
    assert_string_equal(text, "見出し 101 人ab");
    free(text);
    assert_int_equal(b.len, 0); /* empty after take, usable again */
    char *empty = buf_take(&b);
    assert_string_equal(empty, "");
    free(empty);
}

static void limit_fails_for_good(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_puts(&b, "12345678"), 0); /* exactly the limit */
    assert_int_equal(buf_puts(&b, "9"), -1);
    assert_true(b.failed);
    assert_int_equal(buf_puts(&b, ""), -1); /* dropped after a failure */
    assert_null(buf_take(&b));
    assert_false(b.failed); /* take resets it, with the same limit */
    assert_int_equal(buf_printf(&b, "%s", "123456789"), -1);
    buf_free(&b);
}

static void grows_past_many_doublings(void **state)
{
    (void)state;
    buf b;
    buf_init(&b, BUF_NO_LIMIT);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(buf_puts(&b, "0123456789"), 0);
    assert_int_equal(b.len, 1000000);
    assert_int_equal(strlen(b.data), 1000000);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appends_and_take),
        cmocka_unit_test(limit_fails_for_good),
        cmocka_unit_test(grows_past_many_doublings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
