/*
 * test_webhook_backoff: the pure parts of notify's webhook (notify/webhook.h): which answers are
 * retried, and the backoff between attempts.
 *
 *   judge_table     2xx delivered; no answer, 408, 425, 429, 5xx retried until the last attempt
 *                   allowed, then failed; any other status (3xx, 4xx) failed at once.
 *   backoff_bounds  for every attempt and random value the delay lies in [d/2, d] with
 *                   d = base * 2^(attempt-1) capped at max; both ends are reached; it never
 *                   overflows for absurd attempt numbers.
 *   backoff_grows   with the random part at its lowest, each delay is at least the previous one
 *                   until the cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "notify/webhook.h"

static void test_judge_table(void **state)
{
    (void)state;
    static const struct {
        int status, attempt;
        long long max;
        webhook_outcome want;
    } rows[] = {
        {200, 1, 3, WEBHOOK_DELIVERED}, {201, 3, 3, WEBHOOK_DELIVERED},
        {204, 1, 1, WEBHOOK_DELIVERED}, {299, 2, 3, WEBHOOK_DELIVERED},
        {0, 1, 3, WEBHOOK_RETRY},       {0, 3, 3, WEBHOOK_FAILED},
        {503, 1, 3, WEBHOOK_RETRY},     {503, 2, 3, WEBHOOK_RETRY},
        {503, 3, 3, WEBHOOK_FAILED},    {500, 1, 1, WEBHOOK_FAILED},
        {599, 1, 8, WEBHOOK_RETRY},     {408, 1, 8, WEBHOOK_RETRY},
        {425, 1, 8, WEBHOOK_RETRY},     {429, 7, 8, WEBHOOK_RETRY},
        {429, 8, 8, WEBHOOK_FAILED},    {400, 1, 8, WEBHOOK_FAILED},
        {401, 1, 8, WEBHOOK_FAILED},    {404, 1, 8, WEBHOOK_FAILED},
        {409, 1, 8, WEBHOOK_FAILED},    {301, 1, 8, WEBHOOK_FAILED},
        {100, 1, 8, WEBHOOK_FAILED},    {600, 1, 8, WEBHOOK_FAILED},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (webhook_judge(rows[i].status, rows[i].attempt, rows[i].max) != rows[i].want)
            fail_msg("row %zu: status %d attempt %d of %lld: got %d, want %d", i, rows[i].status,
                     rows[i].attempt, rows[i].max,
                     (int)webhook_judge(rows[i].status, rows[i].attempt, rows[i].max),
                     (int)rows[i].want);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    static const uint32_t randoms[] = {0, 1, 7, 499, 500, 501, 123456789, UINT32_MAX};
    const long long base = 1000, max = 300000;
    for (int attempt = 1; attempt <= 40; attempt++) {
        long long d = base;
        for (int i = 1; i < attempt && d < max; i++)
            d *= 2;
        if (d > max) d = max;
        int low_seen = 0;
        for (size_t r = 0; r < sizeof randoms / sizeof randoms[0]; r++) {
            long long got = webhook_backoff_ms(attempt, base, max, randoms[r]);
            if (got < d - d / 2 || got > d)
                fail_msg("attempt %d random %u: %lld outside [%lld, %lld]", attempt, randoms[r],
                         got, d - d / 2, d);
            low_seen |= got == d - d / 2;
        }
        assert_true(low_seen); /* random 0 gives the lower end */
        /* The upper end: the random part at its largest, d/2. */
        assert_int_equal(webhook_backoff_ms(attempt, base, max, (uint32_t)(d / 2)), d);
    }
    assert_int_equal(webhook_backoff_ms(1000000, base, max, 0), max - max / 2);
    assert_int_equal(webhook_backoff_ms(1, 0, 0, 0), 1); /* a zero base is one millisecond */
}

static void test_backoff_grows(void **state)
{
    (void)state;
    long long prev = 0;
    for (int attempt = 1; attempt <= 12; attempt++) {
        long long got = webhook_backoff_ms(attempt, 100, 10000, 0);
        assert_true(got >= prev);
        prev = got;
    }
    assert_int_equal(webhook_backoff_ms(1, 100, 10000, 0), 50);
    assert_int_equal(webhook_backoff_ms(2, 100, 10000, 0), 100);
    assert_int_equal(webhook_backoff_ms(3, 100, 10000, 0), 200);
    assert_int_equal(webhook_backoff_ms(12, 100, 10000, 0), 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge_table),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_backoff_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
