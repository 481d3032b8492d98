/*
 * test_rebuild: case state rebuilt from the event log equals the original (docs/operators-guide.md
 * "Backup, and rebuilding case state from the event log"). The demo scenario (11 events) goes
 * through the real mni-ingest and mni-assess into database A on one mock cluster; the events are
 * exported with deploy/sql/export-event-log.sql, sent with `mni produce --no-pace` to a second,
 * empty cluster and run through mni-ingest and mni-assess into a fresh database B. Everything
 * the pipeline decides (cases, versions and their verdicts, counts, tokens, deadlines, outbox
 * rows, audit rows: tests/support/casestate.h) and the event log's bodies are equal in A and
 * B. A check that can fail: the export of A is not empty and B starts empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/casestate.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testdata.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define SCENARIO_1 "examples/scenario/01-first-reports.jsonl"
#define SCENARIO_2 "examples/scenario/02-later-updates.jsonl"
#define EXPORT_SQL "deploy/sql/export-event-log.sql"
#define WAIT_MS 120000

static testenv_db a, b;

static mockkafka *cluster(void)
{
    static const mockkafka_topic topics[] = {{"incident.events", 3},
                                             {"incident.accepted", 3},
                                             {"incident.dlq", 3},
                                             {"case.assessments", 3},
                                             {"notify.tasks", 3}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, 5, err, sizeof err);
    if (!mk) fail_msg("%s", err);
    return mk;
}

/* Runs program on db until it has been idle for 2.5 s; asserts exit 0. */
static void run_until_idle(const char *program, testenv_db *db, mockkafka *mk)
{
    workerproc_run_until_idle(program, db->conninfo, mockkafka_bootstraps(mk), NULL, NULL, 2500,
                              WAIT_MS, NULL);
}

/* Runs deploy/sql/export-event-log.sql on pg into a new file; returns the line count. */
static int export_events(PGconn *pg, char *path)
{
    char *sql = testdata_read(EXPORT_SQL, NULL);
    assert_non_null(sql);
    PGresult *r = PQexec(pg, sql);
    free(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", EXPORT_SQL, PQerrorMessage(pg));
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < PQntuples(r); i++) {
        assert_null(strchr(PQgetvalue(r, i, 0), '\n'));
        fprintf(f, "%s\n", PQgetvalue(r, i, 0));
    }
    assert_int_equal(fclose(f), 0);
    int n = PQntuples(r);
    PQclear(r);
    return n;
}

static void rebuilt_state_equals_the_original(void **state)
{
    (void)state;
    testenv_db_create(&a, 1);
    testenv_db_create(&b, 1);
    unsetenv("MNI_CONFIG");

    mockkafka *first = cluster();
    const char *bootstrap = mockkafka_bootstraps(first);
    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events", SCENARIO_1), 8);
    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events", SCENARIO_2), 3);
    run_until_idle("mni-ingest", &a, first);
    run_until_idle("mni-assess", &a, first);
    mockkafka_stop(first);
    sqlcheck_equal(a.conn, "SELECT count(*) FROM case_events", NULL, "11");

    char path[] = "/tmp/mni-test-rebuild-XXXXXX";
    assert_int_equal(export_events(a.conn, path), 11);
    sqlcheck_equal(b.conn, "SELECT count(*) FROM event_log", NULL, "0");

    mockkafka *second = cluster();
    setenv("MNI_KAFKA_BOOTSTRAP", mockkafka_bootstraps(second), 1);
    const char *produce[] = {"mni", "produce", "--no-pace", path, NULL};
    runcmd_result r;
    assert_int_equal(runcmd(produce, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni produce: exit %d: %s", r.status, r.err);
    runcmd_free(&r);
    unlink(path);
    run_until_idle("mni-ingest", &b, second);
    run_until_idle("mni-assess", &b, second);
    mockkafka_stop(second);

    char *before = casestate_text(a.conn, CASESTATE_EVENT_LOG),
         *after = casestate_text(b.conn, CASESTATE_EVENT_LOG);
    assert_non_null(strstr(before, "case|INC-2026-0101|"));
    assert_string_equal(after, before);
    free(before);
    free(after);
    testenv_db_drop(&a);
    testenv_db_drop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(rebuilt_state_equals_the_original)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
