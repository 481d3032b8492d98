/*
 * What a verdict obliges and when the clocks start (rules/obligations.h), as data.
 *
 *   clock_start_rows   the first verdict that is mandatory starts the clocks at the knowledge
 *                      time; a later one at its event (never before the knowledge time); once
 *                      started the clock never moves; nothing starts while not mandatory
 *   obligation_rows    verdict fields in, the reporter's own obligations out (kinds and dues),
 *                      for own reports, direct reports, the notify_clients route, APPI alone,
 *                      the APPI final report standing in, and notices to persons by the
 *                      reporter or by its clients
 *   client_rows        the contractor's notice to a client exists exactly when a due is set
 *   names              the contract names of the kinds parse back
 *   from_the_core      a real contractor incident through rules_assess: 60 + 50 persons over
 *                      two clients is a direct report (MN-2-4 on the total), and each client
 *                      is owed a notice
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules/obligations.h"
#include "rules/rules.h"

#define A RULES_ABSENT
#define M RULES_STATUS_MANDATORY
#define V RULES_STATUS_VOLUNTARY
#define N RULES_STATUS_NONE

static const struct {
    int64_t started;
    bool first;
    int64_t known, event;
    rules_status mn, appi;
    int64_t want;
    const char *why;
} clock_start_rows[] = {
    {A, true, 1000, 5000, M, N, 1000, "mandatory from the first verdict: the knowledge time"},
    {A, false, 1000, 5000, M, N, 5000, "became mandatory later (101st person): that event"},
    {A, false, 5000, 1000, M, N, 5000, "an event stamped before the knowledge time: known_at"},
    {A, false, 1000, 5000, N, M, 5000, "APPI alone makes a case mandatory too"},
    {A, false, 1000, 5000, V, N, A, "voluntary starts nothing"},
    {A, true, 1000, 5000, N, N, A, "nothing to report starts nothing"},
    {3000, false, 1000, 9000, M, M, 3000, "a started clock never moves"},
    {3000, false, 1000, 9000, N, N, 3000, "nor stops when the verdict changes"},
};

static void test_clock_start(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof clock_start_rows / sizeof clock_start_rows[0]; i++) {
        rules_verdict v = {0};
        v.my_number.status = clock_start_rows[i].mn;
        v.appi.status = clock_start_rows[i].appi;
        int64_t got = rules_clock_start(clock_start_rows[i].started, clock_start_rows[i].first,
                                        clock_start_rows[i].known, clock_start_rows[i].event, &v);
        if (got != clock_start_rows[i].want)
            fail_msg("row %zu (%s): got %lld, want %lld", i, clock_start_rows[i].why,
                     (long long)got, (long long)clock_start_rows[i].want);
        assert_int_equal(rules_is_mandatory(&v),
                         clock_start_rows[i].mn == M || clock_start_rows[i].appi == M);
    }
}

static const struct {
    rules_status mn, appi;
    rules_route route, appi_route;
    int32_t target, final_due, appi_final_due;
    bool principal, by_self;
    const char *want; /* kind@due_day ... */
    const char *why;
} obligation_rows[] = {
    {M, N, RULES_ROUTE_OWN_REPORT, RULES_ROUTE_NONE, 10, 40, A, true, true,
     "ppc_preliminary@10 ppc_final@40 principal_notice@-", "own report, persons notified by it"},
    {M, N, RULES_ROUTE_DIRECT_REPORT, RULES_ROUTE_NONE, 10, 70, A, true, false,
     "ppc_preliminary@10 ppc_final@70", "contractor's direct report; clients notify persons"},
    {M, M, RULES_ROUTE_NOTIFY_CLIENTS, RULES_ROUTE_NOTIFY_CLIENTS, 10, 40, 40, true, false, "",
     "the clients report: the contractor owes them notices only"},
    {N, M, RULES_ROUTE_NONE, RULES_ROUTE_OWN_REPORT, 10, A, 40, false, false,
     "ppc_preliminary@10 ppc_final@40", "APPI alone: its final report stands in"},
    {M, N, RULES_ROUTE_OWN_REPORT, RULES_ROUTE_NONE, 10, A, A, false, false, "ppc_preliminary@10",
     "no day count for a final report (earlier regime)"},
    {V, V, RULES_ROUTE_NONE, RULES_ROUTE_NONE, A, A, A, false, false, "",
     "voluntary: nothing owed"},
    {N, N, RULES_ROUTE_NONE, RULES_ROUTE_NONE, A, A, A, true, true, "principal_notice@-",
     "a notice to persons owed on its own"},
};

static void describe(const rules_obligation *o, size_t n, char *out, size_t len)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char due[16] = "-";
        if (o[i].due_day != RULES_ABSENT) snprintf(due, sizeof due, "%d", (int)o[i].due_day);
        snprintf(out + strlen(out), len - strlen(out), "%s%s@%s", i ? " " : "",
                 rules_obligation_kind_name(o[i].kind), due);
    }
}

static void test_case_obligations(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof obligation_rows / sizeof obligation_rows[0]; i++) {
        rules_verdict v = {0};
        v.my_number.status = obligation_rows[i].mn;
        v.appi.status = obligation_rows[i].appi;
        v.route = obligation_rows[i].route;
        v.appi_route = obligation_rows[i].appi_route;
        v.preliminary_target = obligation_rows[i].target;
        v.final_due = obligation_rows[i].final_due;
        v.appi_final_due = obligation_rows[i].appi_final_due;
        v.principal_notice = obligation_rows[i].principal;
        v.principal_notice_by_self = obligation_rows[i].by_self;
        rules_obligation o[RULES_CASE_OBLIGATIONS_MAX];
        char got[256];
        describe(o, rules_case_obligations(&v, o), got, sizeof got);
        if (strcmp(got, obligation_rows[i].want) != 0)
            fail_msg("row %zu (%s): got '%s', want '%s'", i, obligation_rows[i].why, got,
                     obligation_rows[i].want);
    }
}

static void test_client_obligation(void **state)
{
    (void)state;
    rules_client_verdict c = {.notice_due = A};
    rules_obligation o;
    assert_int_equal(rules_client_obligation(&c, &o), 0);
    c.notice_due = 1781232000; /* a due instant */
    assert_int_equal(rules_client_obligation(&c, &o), 1);
    assert_int_equal(o.kind, RULES_OB_CLIENT_NOTICE);
    assert_int_equal(o.due_at, 1781232000);
    assert_int_equal(o.due_day, RULES_ABSENT);
}

static void test_names(void **state)
{
    (void)state;
    const char *names[] = {"client_notice", "ppc_preliminary", "ppc_final", "principal_notice"};
    for (size_t i = 0; i < 4; i++) {
        rules_obligation_kind k;
        assert_int_equal(rules_obligation_kind_parse(names[i], &k), 0);
        assert_string_equal(rules_obligation_kind_name(k), names[i]);
    }
    rules_obligation_kind k;
    assert_int_equal(rules_obligation_kind_parse("ppc_report", &k), -1);
    assert_int_equal(rules_obligation_kind_parse(NULL, &k), -1);
    assert_null(rules_obligation_kind_name((rules_obligation_kind)99));
}

static void test_from_the_core(void **state)
{
    (void)state;
    rules_client clients[2] = {
        {.client_id = "C-A", .persons = 60, .persons_max = A, .contract_notice_hours = A},
        {.client_id = "C-B", .persons = 50, .persons_max = A, .contract_notice_hours = A},
    };
    rules_facts f = {
        .incident_id = "INC-OB-1",
        .known_at = 1781226000, /* 2026-06-12T10:00:00+09:00 */
        .role = RULES_ROLE_CONTRACTOR,
        .kinds = RULES_KIND_LEAK,
        .certainty = RULES_CERTAINTY_CONFIRMED,
        .improper_purpose = RULES_LEVEL_NONE,
        .unspecified_viewing = RULES_VIEW_NONE,
        .clients = clients,
        .n_clients = 2,
        .distinct_persons = 110,
        .appi = {.persons = A},
    };
    rules_verdict v;
    rules_client_verdict cv[2];
    char err[256];
    assert_int_equal(rules_assess(&f, NULL, &v, cv, err, sizeof err), 0);
    assert_true(rules_is_mandatory(&v));
    assert_int_equal(v.route, RULES_ROUTE_DIRECT_REPORT);
    rules_obligation o[RULES_CASE_OBLIGATIONS_MAX];
    size_t n = rules_case_obligations(&v, o);
    assert_true(n >= 2);
    assert_int_equal(o[0].kind, RULES_OB_PPC_PRELIMINARY);
    assert_int_equal(o[0].due_day, v.preliminary_target);
    assert_int_equal(o[1].kind, RULES_OB_PPC_FINAL);
    assert_int_equal(o[1].due_day, v.final_due);
    for (size_t i = 0; i < 2; i++) {
        rules_obligation co;
        assert_int_equal(rules_client_obligation(&cv[i], &co), 1);
        assert_int_equal(co.due_at, cv[i].notice_due);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_start),       cmocka_unit_test(test_case_obligations),
        cmocka_unit_test(test_client_obligation), cmocka_unit_test(test_names),
        cmocka_unit_test(test_from_the_core),
    };
    return cmocka_run_group_tests_name("obligations", tests, NULL, NULL);
}
