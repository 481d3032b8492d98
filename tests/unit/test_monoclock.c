/*
 * test_monoclock: the monotonic clock's two readings (lib/base/monoclock.h) agree with each
 * other, never go back, and count real milliseconds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "lib/base/monoclock.h"

static void readings_agree_and_never_go_back(void **state)
{
    (void)state;
    int64_t last_ms = monoclock_ms();
    double last_exact = monoclock_ms_exact();
    for (int i = 0; i < 100000; i++) {
        int64_t ms = monoclock_ms();
        double exact = monoclock_ms_exact();
        assert_true(ms >= last_ms);
        assert_true(exact >= last_exact);
        /* Whole milliseconds are the exact reading rounded down, taken a moment before. */
        assert_true((double)ms <= exact);
        assert_true(exact - (double)ms < 1000.0);
        last_ms = ms;
        last_exact = exact;
    }
}

static void counts_real_milliseconds(void **state)
{
    (void)state;
    /* A sleep of 30 ms lasts at least 30 ms on CLOCK_MONOTONIC, which both readings follow. */
    int64_t t0 = monoclock_ms();
    double e0 = monoclock_ms_exact();
    struct timespec nap = {0, 30 * 1000 * 1000};
    while (nanosleep(&nap, &nap) != 0)
        assert_int_equal(errno, EINTR);     /* interrupted: sleep the rest */
    assert_true(monoclock_ms() - t0 >= 29); /* whole ms: both ends rounded down */
    assert_true(monoclock_ms_exact() - e0 >= 30.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readings_agree_and_never_go_back),
        cmocka_unit_test(counts_real_milliseconds),
    };
    return cmocka_run_group_tests_name("monoclock", tests, NULL, NULL);
}
