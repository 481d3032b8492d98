/*
 * logcheck's plans as a table (lib/runtime/logcheck.h): where a partition starts on assignment,
 * given the group's stored offset, whether a digest of the message before it is kept, and the
 * broker's log start and end; and what a refused fetch means. The digest itself and what the
 * worker does with each plan are covered by tests/integration/test_broker_log.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/runtime/logcheck.h"

typedef struct {
    const char *name;
    int64_t stored;
    int has_digest;
    int64_t low, high;
    logcheck_plan want;
} start_case;

static const start_case start_cases[] = {
    {"fresh group, log from 0", -1, 0, 0, 40, {LOGCHECK_RESUME, 0, -1, -1}},
    {"fresh group, empty log", -1, 0, 0, 0, {LOGCHECK_RESUME, 0, -1, -1}},
    {"fresh group, head dropped", -1, 0, 31, 101, {LOGCHECK_GAP, 31, 0, 31}},
    {"caught up, digest kept", 40, 1, 0, 40, {LOGCHECK_VERIFY, 39, -1, -1}},
    {"behind, digest kept", 10, 1, 0, 40, {LOGCHECK_VERIFY, 9, -1, -1}},
    {"no digest (older row)", 10, 0, 0, 40, {LOGCHECK_RESUME, 10, -1, -1}},
    {"stored 0 with a digest: nothing before", 0, 1, 0, 5, {LOGCHECK_RESUME, 0, -1, -1}},
    {"message before gone, nothing lost", 31, 1, 31, 40, {LOGCHECK_RESUME, 31, -1, -1}},
    {"retention passed the stored offset", 3, 1, 29, 104, {LOGCHECK_GAP, 29, 3, 29}},
    {"stored offset at the end of an empty log", 0, 0, 0, 0, {LOGCHECK_RESUME, 0, -1, -1}},
    {"recreated log, shorter", 11, 1, 0, 4, {LOGCHECK_MISMATCH, -1, -1, -1}},
    {"recreated log, emptied", 11, 0, 0, 0, {LOGCHECK_MISMATCH, -1, -1, -1}},
    {"recreated log, longer: checked by digest", 11, 1, 0, 14, {LOGCHECK_VERIFY, 10, -1, -1}},
};

static void plan_start_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof start_cases / sizeof start_cases[0]; i++) {
        const start_case *c = &start_cases[i];
        logcheck_plan got = logcheck_plan_start(c->stored, c->has_digest, c->low, c->high);
        if (got.action != c->want.action || got.from != c->want.from ||
            (c->want.action == LOGCHECK_GAP &&
             (got.gap_first != c->want.gap_first || got.gap_end != c->want.gap_end)))
            fail_msg("%s: got action %d from %lld gap [%lld, %lld)", c->name, (int)got.action,
                     (long long)got.from, (long long)got.gap_first, (long long)got.gap_end);
    }
}

static void plan_reset_table(void **state)
{
    (void)state;
    logcheck_plan p = logcheck_plan_reset(50, 80, 200); /* retention overtook the reader */
    assert_int_equal(p.action, LOGCHECK_GAP);
    assert_int_equal(p.gap_first, 50);
    assert_int_equal(p.gap_end, 80);
    assert_int_equal(p.from, 80);
    p = logcheck_plan_reset(300, 0, 20); /* recreated while running */
    assert_int_equal(p.action, LOGCHECK_MISMATCH);
    p = logcheck_plan_reset(80, 80, 200); /* the broker has it after all */
    assert_int_equal(p.action, LOGCHECK_RESUME);
    assert_int_equal(p.from, 80);
    p = logcheck_plan_reset(200, 80, 200); /* at the end: waits for more */
    assert_int_equal(p.action, LOGCHECK_RESUME);
    assert_int_equal(p.from, 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_start_table),
        cmocka_unit_test(plan_reset_table),
    };
    return cmocka_run_group_tests_name("logcheck", tests, NULL, NULL);
}
