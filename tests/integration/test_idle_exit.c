/*
 * test_idle_exit: a worker's --exit-when-idle (tests, demos) counts idle time from the end of
 * its last batch, so a batch that takes longer than the limit is work, not idleness. Real
 * mni-ingest, a migrated PostgreSQL database and a librdkafka mock cluster.
 *
 *   long_batch_is_not_idle  two events, batch.size 1, --exit-when-idle 1000. The test locks
 *                           event_log so that the first batch is held (it waits until the
 *                           worker's statement waits for that lock and the limit has passed),
 *                           then lets it go: the worker goes on to the second event before it
 *                           stops, and both are stored. When idle time was counted from the
 *                           batch's start, the worker stopped right after the first batch.
 *
 * Every wait is for a condition (a lock wait seen in pg_stat_activity, the worker's exit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/pg/pgx.h"
#include "tests/support/histories.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/workerproc.h"

#define IDLE_MS 1000
#define WAIT_MS 60000

static mockkafka *kafka;

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"incident.events", 1}, {"incident.accepted", 1}, {"incident.dlq", 1}};
    return mockkafka_setup(&kafka, topics, sizeof topics / sizeof *topics);
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

static void sql(PGconn *pg, const char *text)
{
    char err[512];
    if (pgx_exec(pg, "test.sql", text, err, sizeof err) != 0) fail_msg("%s: %s", text, err);
}

/* Whether another session of this database waits for a lock (read from a connection of its
 * own: a transaction sees one snapshot of pg_stat_activity). */
static int someone_waits_for_a_lock(PGconn *watch)
{
    char *n = sqlcheck_text(watch,
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND pid <> pg_backend_pid() AND "
                            "wait_event_type = 'Lock'",
                            NULL);
    int waits = atoi(n) > 0;
    free(n);
    return waits;
}

static void long_batch_is_not_idle(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);

    histories_stream s = {0};
    histories_event(&s, "EV-IE-01", "INC-IE-01", 0, "incident_opened", HISTORIES_OPENED);
    histories_event(&s, "EV-IE-02", "INC-IE-02", 1, "incident_opened", HISTORIES_OPENED);
    histories_produce(&s, 0, mockkafka_bootstraps(kafka), "incident.events");
    histories_free(&s);

    sql(db.conn, "BEGIN");
    sql(db.conn, "LOCK TABLE event_log IN ACCESS EXCLUSIVE MODE");
    PGconn *watch = PQconnectdb(db.conninfo);
    assert_int_equal(PQstatus(watch), CONNECTION_OK);

    static const char *const env[] = {"MNI_BATCH_SIZE=1", "MNI_PACE_LIMIT_BYTES=0", NULL};
    static const char *const argv[] = {"--exit-when-idle", "1000", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(kafka),
                                      "ie-group", env, argv),
                     0);
    double blocked_at = 0, deadline = testenv_now_ms() + WAIT_MS;
    while (testenv_now_ms() < deadline) {
        if (!blocked_at && someone_waits_for_a_lock(watch)) blocked_at = testenv_now_ms();
        if (blocked_at && testenv_now_ms() - blocked_at > IDLE_MS * 1.5) break;
        usleep(50 * 1000);
    }
    if (!blocked_at) {
        workerproc_dump_log(&w);
        fail_msg("mni-ingest never waited for the lock on event_log");
    }
    sql(db.conn, "COMMIT");

    int rc = workerproc_wait(&w, WAIT_MS);
    if (rc != 0) workerproc_dump_log(&w);
    assert_int_equal(rc, 0);
    sqlcheck_equal(db.conn, "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM event_log",
                   NULL, "EV-IE-01,EV-IE-02");
    unlink(w.log_path);
    PQfinish(watch);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(long_batch_is_not_idle),
    };
    return cmocka_run_group_tests_name("idle exit", tests, group_setup, group_teardown);
}
