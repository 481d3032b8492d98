/*
 * When a deadline is over (rules/due_day.h), as data: each due date with the instant its day
 * ends, written in Japan time and read by the RFC 3339 parser (not by the arithmetic under
 * test). Year ends, leap days, holidays and the days next to them (the end of a day does not
 * move for a holiday: moving a due date off a closed day happens before, in the clocks),
 * dates before 1970 and in the summer-time years 1948-1951 (Japan time is fixed at UTC+9).
 * Then instants (due_at), and the whole supported range day by day: a due date and its last
 * second end at the same moment, which is the first instant of the next Japan day. Last, the
 * C callers (the outbox's record time, the renderers' end) give the same answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/timefmt.h"
#include "lib/runtime/outbox.h"
#include "notify/render/render.h"
#include "rules/due_day.h"
#include "rules/rules.h"

static int64_t parse_ms(const char *text)
{
    int64_t ms;
    char why[128];
    if (timefmt_parse_rfc3339(text, &ms, why, sizeof why) != 0) fail_msg("%s: %s", text, why);
    return ms;
}

static const struct {
    const char *due_date;
    const char *ends; /* the first instant after the due day */
    int closed;       /* the due day is a closed day of government (checked: the row means it) */
    const char *why;
} day_rows[] = {
    {"2026-06-12", "2026-06-13T00:00:00+09:00", 0, "an ordinary Friday"},
    {"2026-12-31", "2027-01-01T00:00:00+09:00", 1, "year end (a closed day itself)"},
    {"2027-12-31", "2027-12-31T15:00:00Z", 1, "year end, the same instant in UTC"},
    {"2028-02-28", "2028-02-29T00:00:00+09:00", 0, "before a leap day"},
    {"2028-02-29", "2028-03-01T00:00:00+09:00", 0, "a leap day"},
    {"2026-05-02", "2026-05-03T00:00:00+09:00", 1, "the day before Constitution Memorial Day"},
    {"2026-05-06", "2026-05-07T00:00:00+09:00", 1, "a substitute holiday (振替休日)"},
    {"2026-05-07", "2026-05-08T00:00:00+09:00", 0, "the day after a substitute holiday"},
    {"2026-09-22", "2026-09-23T00:00:00+09:00", 1, "a citizens' holiday, next to the equinox"},
    {"2015-10-05", "2015-10-06T00:00:00+09:00", 0, "the first day of My Number reporting"},
    {"2099-12-31", "2100-01-01T00:00:00+09:00", 1, "the calendar's last year end"},
    {"1970-01-01", "1970-01-01T15:00:00Z", 1, "the epoch's day"},
    {"1969-12-31", "1969-12-31T15:00:00Z", 1, "before the epoch"},
    {"1951-06-01", "1951-06-02T00:00:00+09:00", 0, "summer-time years: Japan time stays UTC+9"},
};

static void test_due_day_ends(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof day_rows / sizeof day_rows[0]; i++) {
        jpcal_day d;
        assert_true(jpcal_parse(day_rows[i].due_date, &d));
        if (jpcal_is_closed(d) != (day_rows[i].closed != 0))
            fail_msg("%s: closed is %d, the row says %d", day_rows[i].due_date, jpcal_is_closed(d),
                     day_rows[i].closed);
        int64_t want = parse_ms(day_rows[i].ends);
        if (rules_due_day_end_ms(d) != want)
            fail_msg("%s (%s): ends at %lld ms, want %lld (%s)", day_rows[i].due_date,
                     day_rows[i].why, (long long)rules_due_day_end_ms(d), (long long)want,
                     day_rows[i].ends);
        /* Its last second is 23:59:59 of that day in Japan time. */
        char last[40];
        snprintf(last, sizeof last, "%sT23:59:59+09:00", day_rows[i].due_date);
        assert_int_equal(rules_due_day_last_second(d) * 1000, parse_ms(last));
    }
}

static const struct {
    const char *due_at;
    const char *ends;
} at_rows[] = {
    {"2026-06-12T23:59:59+09:00", "2026-06-13T00:00:00+09:00"},
    {"2026-06-12T23:59:59.999+09:00", "2026-06-13T00:00:00+09:00"},
    {"2026-06-12T23:59:58.001+09:00", "2026-06-12T23:59:59+09:00"},
    {"2026-06-11T10:00:00+09:00", "2026-06-11T10:00:01+09:00"},
    {"1969-12-31T23:59:59.500Z", "1970-01-01T00:00:00Z"},
    {"1969-12-31T23:59:58Z", "1969-12-31T23:59:59Z"},
};

static void test_due_instant_ends(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof at_rows / sizeof at_rows[0]; i++) {
        int64_t got = rules_due_at_end_ms(parse_ms(at_rows[i].due_at));
        if (got != parse_ms(at_rows[i].ends))
            fail_msg("%s: ends at %lld ms, want %s", at_rows[i].due_at, (long long)got,
                     at_rows[i].ends);
    }
    assert_int_equal(rules_due_at_end_ms(INT64_MAX), INT64_MAX); /* never over, no overflow */
    assert_int_equal(rules_due_at_end_ms(INT64_MIN), INT64_MIN / 1000 * 1000);
}

/* Every day the rule core can count: the two forms agree, and the end is where the next Japan
 * day begins. */
static void test_every_day_agrees(void **state)
{
    (void)state;
    jpcal_day first = jpcal_from_ymd(2015, 10, 5), last = jpcal_from_ymd(2100, 1, 31);
    for (jpcal_day d = first; d <= last; d++) {
        int64_t end = rules_due_day_end_ms(d);
        int64_t last_second = rules_due_day_last_second(d);
        if (rules_due_at_end_ms(last_second * 1000) != end || end % 1000 != 0 ||
            rules_japan_day(last_second) != d || rules_japan_day(end / 1000) != d + 1)
            fail_msg("day %d: end %lld, last second %lld disagree", d, (long long)end,
                     (long long)last_second);
    }
}

/* A due date and the instant 23:59:59 JST of that day: the outbox writes both as the same
 * record time, the renderers end both at the next midnight. */
static void test_callers_agree(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof day_rows / sizeof day_rows[0]; i++) {
        jpcal_day d;
        assert_true(jpcal_parse(day_rows[i].due_date, &d));
        char at[40];
        snprintf(at, sizeof at, "%sT23:59:59+09:00", day_rows[i].due_date);
        long long by_date = outbox_due_ms(day_rows[i].due_date, NULL);
        assert_int_equal(by_date, outbox_due_ms(NULL, at));
        assert_int_equal(rules_due_at_end_ms(by_date), rules_due_day_end_ms(d));
        long long end_date, end_at;
        assert_int_equal(render_due_end_ms(day_rows[i].due_date, NULL, &end_date), 0);
        assert_int_equal(render_due_end_ms(NULL, at, &end_at), 0);
        assert_int_equal(end_date, rules_due_day_end_ms(d));
        assert_int_equal(end_at, rules_due_day_end_ms(d));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_day_ends),
        cmocka_unit_test(test_due_instant_ends),
        cmocka_unit_test(test_every_day_agrees),
        cmocka_unit_test(test_callers_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
