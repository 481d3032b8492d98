/*
 * test_pace_batch: how many bytes one batch of a paced input may hold (pace_batch_bytes,
 * lib/runtime/pace_gate.h): half the pacing limit while pacing is on, so that the next half
 * can be forwarded while a batch is written; batch.bytes when that is less or pacing is off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/runtime/pace_gate.h"

#define MIB (1024LL * 1024)

static void pacing_off_keeps_batch_bytes(void **state)
{
    (void)state;
    assert_int_equal(pace_batch_bytes(32 * MIB, 0), 32 * MIB);
    assert_int_equal(pace_batch_bytes(1024, 0), 1024);
}

static void paced_batch_holds_half_the_limit(void **state)
{
    (void)state;
    /* The built-in defaults: batch.bytes 32 MiB, pace.limit.bytes 2 MiB. */
    assert_int_equal(pace_batch_bytes(32 * MIB, 2 * MIB), 1 * MIB);
    assert_int_equal(pace_batch_bytes(32 * MIB, 3 * MIB + 1), 3 * MIB / 2);
    /* Never more than either bound. */
    for (long long limit = 1; limit <= 64 * MIB; limit = limit * 3 + 1)
        for (long long bytes = 1024; bytes <= 64 * MIB; bytes = bytes * 5 + 3) {
            long long got = pace_batch_bytes(bytes, limit);
            assert_true(got >= 1);
            assert_true(got <= bytes);
            assert_true(got <= limit / 2 || (limit < 2 && got == 1));
            assert_true(got == bytes || got == limit / 2 || got == 1);
        }
}

static void smaller_batch_bytes_win(void **state)
{
    (void)state;
    assert_int_equal(pace_batch_bytes(256 * 1024, 2 * MIB), 256 * 1024);
    assert_int_equal(pace_batch_bytes(1 * MIB, 2 * MIB), 1 * MIB);
}

static void tiny_limit_still_makes_batches(void **state)
{
    (void)state;
    /* One message of any size still makes a batch (kq_consume_batch): never 0. */
    assert_int_equal(pace_batch_bytes(32 * MIB, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pacing_off_keeps_batch_bytes),
        cmocka_unit_test(paced_batch_holds_half_the_limit),
        cmocka_unit_test(smaller_batch_bytes_win),
        cmocka_unit_test(tiny_limit_still_makes_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
