/*
 * Every number the rule core takes, at the edges of int64 and of belief (issue 8 item 8: a
 * contract clock of 2^62 hours overflowed the notice instant). The core is called directly,
 * with hand-filled facts that no JSON or event check has seen: each row either is refused
 * with the field named or gives a verdict, and the test build's UBSan aborts on any overflow.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lib/model/events.h"
#include "rules/rules.h"
#include "rules/rules_internal.h"

#define KNOWN_AT 1781053200     /* 2026-06-10T10:00:00+09:00 */
#define END_OF_DAY_3 1781276399 /* 2026-06-12T23:59:59+09:00, the policy's notice */

typedef enum {
    SET_HOURS,
    SET_KNOWN_AT,
    SET_PERSONS,
    SET_PERSONS_MAX,
    SET_DISTINCT,
    SET_APPI
} field;

static const struct {
    field what;
    int64_t value;
    const char *error;  /* NULL: accepted */
    int64_t notice_due; /* when accepted: client 0's notice */
} rows[] = {
    {SET_HOURS, INT64_MAX, "clients[0].contract_notice_hours: more than 87600 hours", 0},
    {SET_HOURS, 4611686018427387904LL, "clients[0].contract_notice_hours: more than 87600", 0},
    {SET_HOURS, RULES_MAX_NOTICE_HOURS + 1, "clients[0].contract_notice_hours: more than 87600", 0},
    {SET_HOURS, INT64_MIN, "clients[0].contract_notice_hours: must be >= 0", 0},
    {SET_HOURS, -2, "clients[0].contract_notice_hours: must be >= 0 (got -2)", 0},
    {SET_HOURS, RULES_MAX_NOTICE_HOURS, NULL, END_OF_DAY_3},
    {SET_HOURS, 61, NULL, KNOWN_AT + 61 * 3600},
    {SET_HOURS, 62, NULL, END_OF_DAY_3}, /* 2026-06-13 00:00: after the policy's */
    {SET_HOURS, 0, NULL, KNOWN_AT},
    {SET_KNOWN_AT, INT64_MAX, "known_at: outside the supported range", 0},
    {SET_KNOWN_AT, INT64_MIN, "known_at: outside the supported range", 0},
    {SET_KNOWN_AT, INT64_MAX - 3600, "known_at: outside the supported range", 0},
    /* A day number 2^32 days on wraps to 2026 in 32 bits: compared as an instant, refused. */
    {SET_KNOWN_AT, (INT64_C(1) << 32) * 86400 + KNOWN_AT, "known_at: outside the supported range",
     0},
    {SET_KNOWN_AT, 1443970800 - 1, "known_at: outside the supported range", 0}, /* 10-04 23:59 */
    {SET_KNOWN_AT, 1443970800, NULL, 1444229999},     /* 2015-10-05T00:00+09:00 */
    {SET_KNOWN_AT, 4097142000 - 1, NULL, 4097314799}, /* 2099-10-31T23:59:59+09:00 */
    {SET_KNOWN_AT, 4097142000, "known_at: outside the supported range", 0}, /* 2099-11-01 */
    {SET_PERSONS, INT64_MAX, "clients[0].persons: more than 10000000000 persons", 0},
    {SET_PERSONS, INT64_MIN, "clients[0].persons: must be >= 0", 0},
    {SET_PERSONS_MAX, INT64_MAX, "clients[0].persons_max: more than 10000000000 persons", 0},
    {SET_DISTINCT, INT64_MAX, "distinct_persons: more than 10000000000 persons", 0},
    {SET_DISTINCT, INT64_MIN, "distinct_persons: must be >= 0", 0},
    {SET_APPI, INT64_MAX, "appi.persons: more than 10000000000 persons", 0},
    {SET_APPI, INT64_MIN, "appi.persons: must be >= 0", 0},
};

static void test_numbers_at_the_edges(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        rules_client clients[2] = {{.client_id = "A", .persons = 150},
                                   {.client_id = "B", .persons = 150}};
        for (size_t i = 0; i < 2; i++)
            clients[i].persons_max = clients[i].contract_notice_hours = RULES_ABSENT;
        rules_facts f = {
            .incident_id = "INC-T",
            .known_at = KNOWN_AT,
            .role = RULES_ROLE_CONTRACTOR,
            .kinds = RULES_KIND_LEAK,
            .certainty = RULES_CERTAINTY_CONFIRMED,
            .clients = clients,
            .n_clients = 2,
            .distinct_persons = RULES_ABSENT,
            .appi = {.persons = RULES_ABSENT},
        };
        switch (rows[r].what) {
        case SET_HOURS:
            clients[0].contract_notice_hours = rows[r].value;
            break;
        case SET_KNOWN_AT:
            f.known_at = rows[r].value;
            break;
        case SET_PERSONS:
            clients[0].persons = rows[r].value;
            break;
        case SET_PERSONS_MAX:
            clients[0].persons_max = rows[r].value;
            break;
        case SET_DISTINCT:
            f.distinct_persons = rows[r].value;
            break;
        case SET_APPI:
            f.appi.persons = rows[r].value;
            break;
        }
        rules_client_verdict out[2];
        rules_verdict v;
        char err[256] = "";
        int rc = rules_assess(&f, NULL, &v, out, err, sizeof err);
        if (rows[r].error) {
            if (rc == 0 || strstr(err, rows[r].error) != err)
                fail_msg("row %zu (%lld): got rc %d \"%s\", want \"%s...\"", r,
                         (long long)rows[r].value, rc, err, rows[r].error);
        } else {
            if (rc != 0) fail_msg("row %zu (%lld): refused: %s", r, (long long)rows[r].value, err);
            if (v.clients[0].notice_due != rows[r].notice_due)
                fail_msg("row %zu (%lld): notice_due %lld, want %lld", r, (long long)rows[r].value,
                         (long long)v.clients[0].notice_due, (long long)rows[r].notice_due);
        }
    }
}

static void test_japan_day_of_any_instant(void **state)
{
    (void)state;
    static const struct {
        int64_t at;
        jpcal_day day;
    } days[] = {
        {INT64_MAX, INT32_MAX},
        {INT64_MIN, INT32_MIN},
        {0, 0},              /* 1970-01-01 09:00 JST */
        {-1, 0},             /* 08:59:59 JST of the same day */
        {-9 * 3600, 0},      /* 00:00 JST */
        {-9 * 3600 - 1, -1}, /* 23:59:59 JST of 1969-12-31 */
        {15 * 3600 - 1, 0},  /* 23:59:59 JST */
        {15 * 3600, 1},      /* 00:00 JST of 1970-01-02 */
        {KNOWN_AT, 20614},   /* 2026-06-10 */
        {(int64_t)INT32_MAX * 86400, INT32_MAX},
        {((int64_t)INT32_MAX + 1) * 86400, INT32_MAX}, /* saturates */
        {(int64_t)INT32_MIN * 86400 - 86400, INT32_MIN},
    };
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++)
        if (rules_japan_day(days[i].at) != days[i].day)
            fail_msg("rules_japan_day(%lld) = %d, want %d", (long long)days[i].at,
                     rules_japan_day(days[i].at), days[i].day);
}

static void test_policy_days_are_bounded(void **state)
{
    (void)state;
    static const struct {
        rules_policy policy;
        const char *error;
    } rows_p[] = {
        {{3, 5, INT_MAX}, "policy.client_notice_day: must be a day from 1 to 30 (got 2147483647)"},
        {{INT_MIN, 5, 3}, "policy.preliminary_target_day: must be a day from 1 to 30"},
        {{3, 0, 3}, "policy.preliminary_latest_day: must be a day from 1 to 30 (got 0)"},
        {{5, 3, 3}, "policy.preliminary_latest_day: must be >= preliminary_target_day (3 < 5)"},
        {{30, 30, 30}, NULL},
    };
    rules_client client = {.client_id = "A",
                           .persons = 150,
                           .persons_max = RULES_ABSENT,
                           .contract_notice_hours = RULES_ABSENT};
    rules_facts f = {.incident_id = "INC-T",
                     .known_at = KNOWN_AT,
                     .role = RULES_ROLE_CONTRACTOR,
                     .kinds = RULES_KIND_LEAK,
                     .clients = &client,
                     .n_clients = 1,
                     .distinct_persons = RULES_ABSENT,
                     .appi = {.persons = RULES_ABSENT}};
    for (size_t r = 0; r < sizeof rows_p / sizeof rows_p[0]; r++) {
        rules_client_verdict out[1];
        rules_verdict v;
        char err[256] = "";
        int rc = rules_assess(&f, &rows_p[r].policy, &v, out, err, sizeof err);
        if (rows_p[r].error ? rc == 0 || strstr(err, rows_p[r].error) != err : rc != 0)
            fail_msg("policy row %zu: rc %d \"%s\", want \"%s\"", r, rc, err,
                     rows_p[r].error ? rows_p[r].error : "(accepted)");
    }
}

/* The day numbers rules.h spells out are the dates it names. */
static void test_day_numbers(void **state)
{
    (void)state;
    assert_int_equal(RULES_REGIME_2022_START_DAYNUM,
                     jpcal_from_ymd(RULES_REGIME_2022_START_YEAR, RULES_REGIME_2022_START_MONTH,
                                    RULES_REGIME_2022_START_DAY));
    assert_int_equal(
        RULES_FIRST_KNOWN_DAYNUM,
        jpcal_from_ymd(RULES_FIRST_KNOWN_YEAR, RULES_FIRST_KNOWN_MONTH, RULES_FIRST_KNOWN_DAY));
    assert_int_equal(
        RULES_LAST_KNOWN_DAYNUM,
        jpcal_from_ymd(RULES_LAST_KNOWN_YEAR, RULES_LAST_KNOWN_MONTH, RULES_LAST_KNOWN_DAY));
    /* rules_internal.h's days of the earlier regime and of APPI for local governments. */
    assert_int_equal(RULES_DUTY_START_DAYNUM, jpcal_from_ymd(2016, 1, 1));
    assert_int_equal(RULES_LOCAL_APPI_DAYNUM, jpcal_from_ymd(2023, 4, 1));
}

/* The pipeline's edge refuses the clocks the core would refuse, naming the event's field. */
static void test_event_check_bounds(void **state)
{
    (void)state;
    static const struct {
        int64_t hours;
        const char *error;
    } rows_e[] = {
        {4611686018427387904LL,
         "body.contract_notice_hours: 4611686018427387904 is not a number of hours from 0 to "
         "87600 (10 years)"},
        {RULES_MAX_NOTICE_HOURS + 1, "body.contract_notice_hours: 87601 is not a number of hours"},
        {-5, "body.contract_notice_hours: -5 is not a number of hours"},
        {RULES_MAX_NOTICE_HOURS, NULL},
    };
    for (size_t r = 0; r < sizeof rows_e / sizeof rows_e[0]; r++) {
        mni_event ev;
        mni_event_init(&ev);
        ev.type = MNI_EVENT_EXPOSURE_COUNT;
        ev.event_id = "EV-1";
        ev.incident_id = "INC-T";
        ev.tenant = "T";
        ev.occurred_at_ms = (int64_t)KNOWN_AT * 1000;
        ev.body.count.client_id = "A";
        ev.body.count.persons = 10;
        ev.body.count.persons_max = MNI_EVENT_ABSENT;
        ev.body.count.contract_notice_hours = rows_e[r].hours;
        char err[256] = "";
        int rc = mni_event_check(&ev, err, sizeof err);
        mni_event_free(&ev);
        if (rows_e[r].error ? rc == 0 || strstr(err, rows_e[r].error) != err : rc != 0)
            fail_msg("event row %zu: rc %d \"%s\", want \"%s\"", r, rc, err,
                     rows_e[r].error ? rows_e[r].error : "(accepted)");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_at_the_edges),
        cmocka_unit_test(test_japan_day_of_any_instant),
        cmocka_unit_test(test_policy_days_are_bounded),
        cmocka_unit_test(test_day_numbers),
        cmocka_unit_test(test_event_check_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
