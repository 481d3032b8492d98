/*
 * test_headcount_sql: the SQL twin of rules/headcount.h (db/migrations/0081_headcount.sql)
 * counts a client's persons and possible maximum exactly as the rule core's input does, on a
 * grid of reported counts, maxima (absent included) and distinct tokens around the 100-person
 * line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"
#include "rules/headcount.h"
#include "rules/rules.h"
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

static void sql_equals_core(void **state)
{
    testenv_db *db = *state;
    static const int64_t counts[] = {0, 1, 99, 100, 101, 5000};
    static const int64_t maxima[] = {RULES_ABSENT, 0, 99, 100, 101, 100000};
    size_t n = sizeof counts / sizeof counts[0], m = sizeof maxima / sizeof maxima[0];
    size_t checked = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t t = 0; t < n; t++)
            for (size_t x = 0; x < m; x++) {
                char rs[24], ts[24], xs[24], err[512];
                snprintf(rs, sizeof rs, "%lld", (long long)counts[r]);
                snprintf(ts, sizeof ts, "%lld", (long long)counts[t]);
                snprintf(xs, sizeof xs, "%lld", (long long)maxima[x]);
                const char *p[] = {rs, ts, maxima[x] == RULES_ABSENT ? NULL : xs};
                PGresult *res =
                    pgx_query(db->conn, "headcount",
                              "SELECT mni_client_persons($1::bigint, $2::bigint), "
                              "mni_client_persons_max($3::bigint, mni_client_persons($1::bigint, "
                              "$2::bigint))",
                              3, p, err, sizeof err);
                if (!res) fail_msg("%s", err);
                int64_t persons = rules_client_persons(counts[r], counts[t]);
                int64_t persons_max = rules_client_persons_max(maxima[x], persons);
                assert_int_equal(atoll(PQgetvalue(res, 0, 0)), persons);
                if (persons_max == RULES_ABSENT)
                    assert_true(PQgetisnull(res, 0, 1));
                else
                    assert_int_equal(atoll(PQgetvalue(res, 0, 1)), persons_max);
                PQclear(res);
                checked++;
            }
    assert_int_equal(checked, n * n * m);
    /* The floor the tokens prove wins over a smaller report, and a stale maximum is dropped. */
    assert_int_equal(rules_client_persons(99, 101), 101);
    assert_int_equal(rules_client_persons_max(100, 101), RULES_ABSENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(sql_equals_core, setup_db, teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
