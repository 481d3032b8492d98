/*
 * test_due_day_sql: the SQL twin of rules/due_day.h (db/migrations/0010_due_day_end.sql) gives the
 * same instants as the C functions, so the sweeper and `mni cases` (SQL) and the renderers and
 * the rule core (C) agree on when a deadline is over.
 *
 *   every_day_agrees     mni_due_day_end(d) = rules_due_day_end_ms(d) for every day from
 *                        1948-01-01 to 2100-12-31, under three session time zones (the SQL side
 *                        must not depend on the session: UTC, Asia/Tokyo with its 1948-1951
 *                        summer time, America/Los_Angeles)
 *   instants_agree       mni_due_end(NULL, due_at) = rules_due_at_end_ms(due_at) on a table of
 *                        instants (fractions, before 1970, the last millisecond of a day)
 *   due_end_prefers_at   mni_due_end takes due_at over due_date, due_date alone, NULL for none
 *   cases_next_deadline  `mni cases` names the open deadline that ends first: a notice due at
 *                        12:00 of a day before a report due that day (which ends at midnight);
 *                        at equal ends, the kind decides
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/pg/pgx.h"
#include "rules/due_day.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"

static testenv_db test_db;

static int setup_db(void **state)
{
    testenv_db_setup(state, &test_db, 1);
    return 0;
}

static int teardown_db(void **state)
{
    (void)state;
    testenv_db_drop(&test_db);
    return 0;
}

static PGresult *query(PGconn *pg, const char *sql)
{
    char err[512];
    PGresult *res = pgx_query(pg, "test.due_day", sql, 0, NULL, err, sizeof err);
    if (!res) fail_msg("%s", err);
    return res;
}

static void every_day_agrees(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    static const char *const zones[] = {"UTC", "Asia/Tokyo", "America/Los_Angeles"};
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        char set[96];
        snprintf(set, sizeof set, "SET TimeZone = '%s'", zones[z]);
        PQclear(query(db->conn, set));
        PGresult *res =
            query(db->conn, "SELECT to_char(d, 'YYYY-MM-DD'), "
                            "(extract(epoch FROM mni_due_day_end(d)) * 1000)::bigint "
                            "FROM (SELECT date '1948-01-01' + i AS d FROM generate_series(0, "
                            "date '2100-12-31' - date '1948-01-01') i) days ORDER BY d");
        int n = PQntuples(res);
        assert_int_equal(n, 55883); /* 153 years, 38 of them leap years */
        for (int r = 0; r < n; r++) {
            jpcal_day d;
            assert_true(jpcal_parse(PQgetvalue(res, r, 0), &d));
            long long sql_ms = atoll(PQgetvalue(res, r, 1));
            if (sql_ms != rules_due_day_end_ms(d))
                fail_msg("%s (session time zone %s): SQL %lld ms, C %lld ms", PQgetvalue(res, r, 0),
                         zones[z], sql_ms, (long long)rules_due_day_end_ms(d));
        }
        PQclear(res);
    }
}

static void instants_agree(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    static const char *const instants[] = {
        "2026-06-12T23:59:59+09:00",        "2026-06-12T23:59:59.999+09:00",
        "2026-06-12T23:59:59.000001+09:00", "2026-06-11T10:00:00+09:00",
        "1969-12-31T23:59:59.5Z",           "1969-12-31T23:59:58Z",
        "2099-12-31T23:59:59.999+09:00",    "2015-10-05T00:00:00+09:00",
    };
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        int64_t at_ms;
        char why[128];
        /* C reads milliseconds; PostgreSQL keeps microseconds: both floor to the same second. */
        char *sql_ms = sqlcheck_text(db->conn,
                                     "SELECT (extract(epoch FROM mni_due_end(NULL, "
                                     "$1::timestamptz)) * 1000)::bigint",
                                     instants[i]);
        if (timefmt_parse_rfc3339(instants[i], &at_ms, why, sizeof why) != 0)
            fail_msg("%s: %s", instants[i], why);
        if (atoll(sql_ms) != rules_due_at_end_ms(at_ms))
            fail_msg("%s: SQL %s ms, C %lld ms", instants[i], sql_ms,
                     (long long)rules_due_at_end_ms(at_ms));
        free(sql_ms);
    }
}

static void due_end_prefers_at(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    PQclear(query(db->conn, "SET TimeZone = 'UTC'"));
    sqlcheck_equal(db->conn,
                   "SELECT mni_due_end(date '2026-06-12', "
                   "timestamptz '2026-06-11T10:00:00+09:00')::text",
                   NULL, "2026-06-11 01:00:01+00");
    sqlcheck_equal(db->conn, "SELECT mni_due_end(date '2026-06-12', NULL)::text", NULL,
                   "2026-06-12 15:00:00+00");
    sqlcheck_equal(db->conn, "SELECT (mni_due_end(NULL, NULL) IS NULL)::text", NULL, "true");
    sqlcheck_equal(db->conn, "SELECT (mni_due_day_end(NULL) IS NULL)::text", NULL, "true");
}

static void exec_sql(PGconn *pg, const char *sql)
{
    char err[512];
    if (pgx_exec(pg, "test.due_day", sql, err, sizeof err) != 0) fail_msg("%s", err);
}

/* The line of `mni cases` for one incident. */
static void expect_next_deadline(testenv_db *db, const char *want)
{
    const char *argv[] = {"mni", "cases", "--conninfo", db->conninfo, NULL};
    runcmd_result r;
    if (runcmd(argv, NULL, &r) != 0) fail_msg("could not run %s/mni", runcmd_bin_dir());
    if (r.status != 0 || !strstr(r.out, want))
        fail_msg("mni cases (exit %d): want \"%s\" in:\n%s%s", r.status, want, r.out, r.err);
    runcmd_free(&r);
}

static void cases_next_deadline(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    exec_sql(db->conn, "INSERT INTO cases (incident_id, tenant, opened_at, status) VALUES "
                       "('INC-D', 'bpo', '2026-06-10T10:00:00+09:00', 'open')");
    exec_sql(db->conn,
             "INSERT INTO deadlines (incident_id, client_id, kind, due_date, due_at) VALUES "
             "('INC-D', NULL, 'ppc_final', '2026-07-09', NULL), "
             "('INC-D', NULL, 'ppc_preliminary', '2026-06-12', NULL), "
             "('INC-D', 'A', 'client_notice', NULL, '2026-06-12T12:00:00+09:00')");
    expect_next_deadline(db, "client_notice 2026-06-12 12:00");
    /* The notice now ends with the report's day: the same instant, the kind decides. */
    exec_sql(db->conn, "UPDATE deadlines SET due_at = '2026-06-12T23:59:59+09:00' WHERE "
                       "client_id = 'A'");
    expect_next_deadline(db, "client_notice 2026-06-12 23:59");
    exec_sql(db->conn, "UPDATE deadlines SET met_at = now() WHERE client_id = 'A'");
    expect_next_deadline(db, "ppc_preliminary 2026-06-12");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_day_agrees, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(instants_agree, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(due_end_prefers_at, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(cases_next_deadline, setup_db, teardown_db),
    };
    return cmocka_run_group_tests_name("due_day_sql", tests, NULL, NULL);
}
