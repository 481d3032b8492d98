/*
 * test_sweeper_scan: the sweeper reads what is due, not every open deadline (migration 0126,
 * the index deadlines_sweep). The real mni-notify against a real PostgreSQL and the mock Kafka
 * cluster; what it read is PostgreSQL's own count (pg_stat_user_tables / _indexes, flushed
 * when the worker's connection ends).
 *
 *   sweep_reads_only_what_is_due  one open case with 2,000 deadlines due years later, 2,000
 *                                 overdue ones already reminded and escalated, and 2 inside the
 *                                 reminder window: a pass queues the 2 reminders, reads no row
 *                                 of deadlines by a sequential scan, and fetches fewer than 50
 *                                 index entries of deadlines_sweep. (Before 0126 the pass
 *                                 computed the end of all 4,002.) The behaviour itself (which
 *                                 deadline gets what, when) is test_notify's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/pg/pgx.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/workerproc.h"

#define WORKER_TIMEOUT_MS 90000

static void sql(testenv_db *db, const char *text)
{
    char err[512];
    if (pgx_exec(db->conn, "test.sql", text, err, sizeof err) != 0) fail_msg("%s: %s", text, err);
}

/* What PostgreSQL counted on deadlines: "seq_tup_read idx_tup_read(deadlines_sweep)". */
static char *scan_counts(testenv_db *db)
{
    sql(db, "SELECT pg_stat_clear_snapshot()");
    char *counts =
        sqlcheck_text(db->conn,
                      "SELECT t.seq_tup_read || ' ' || i.idx_tup_read FROM pg_stat_user_tables "
                      "t JOIN pg_stat_user_indexes i ON i.relid = t.relid WHERE t.relname = "
                      "'deadlines' AND i.indexrelname = 'deadlines_sweep'",
                      NULL);
    if (!*counts) fail_msg("no index deadlines_sweep on deadlines");
    return counts;
}

static void sweep_reads_only_what_is_due(void **state)
{
    (void)state;
    char err[512];
    static const mockkafka_topic topics[] = {{"ss.tasks", 1}, {"ss.tickets", 1}, {"ss.dlq", 1}};
    mockkafka *kafka = mockkafka_start(1, topics, 3, err, sizeof err);
    if (!kafka) fail_msg("mock kafka: %s", err);
    testenv_db db;
    testenv_db_create(&db, 1);
    sql(&db, "INSERT INTO cases (incident_id, tenant, opened_at) VALUES ('INC-SS', 'bpo', "
             "'2026-06-10T10:00:00+09:00')");
    sql(&db,
        "INSERT INTO deadlines (incident_id, client_id, kind, due_date) SELECT 'INC-SS', "
        "'F' || i, 'client_notice', date '2030-01-01' + i % 300 FROM generate_series(1, 2000) i");
    sql(&db, "INSERT INTO deadlines (incident_id, client_id, kind, due_date, reminded_at, "
             "escalated_at) SELECT 'INC-SS', 'O' || i, 'client_notice', date '2026-06-01', "
             "'2026-06-01T00:00:00+09:00', '2026-06-02T00:00:00+09:00' FROM "
             "generate_series(1, 2000) i");
    sql(&db, "INSERT INTO deadlines (incident_id, client_id, kind, due_date) SELECT 'INC-SS', "
             "'D' || i, 'client_notice', date '2026-06-12' FROM generate_series(1, 2) i");
    sql(&db, "ANALYZE deadlines");
    /* What the inserts and ANALYZE counted is flushed by the time we read it back. */
    sql(&db, "SELECT pg_stat_force_next_flush()");
    char *before = scan_counts(&db);

    const char *env[] = {"MNI_NOTIFY_CLOCK=2026-06-12T12:00:00+09:00",
                         "MNI_NOTIFY_REMIND_BEFORE_HOURS=24",
                         "MNI_TOPIC_TASKS=ss.tasks",
                         "MNI_TOPIC_TICKETS=ss.tickets",
                         "MNI_TOPIC_DLQ=ss.dlq",
                         "MNI_TICK_MS=200",
                         "MNI_METRICS_GAUGES_MS=3600000",
                         NULL};
    const char *argv[] = {"--exit-when-idle", "2000", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-notify", db.conninfo, mockkafka_bootstraps(kafka),
                                      "ss", env, argv),
                     0);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("mni-notify exited %d", rc);
    }
    unlink(w.log_path);

    sqlcheck_equal(db.conn,
                   "SELECT string_agg(client_id, ',' ORDER BY client_id) FROM outbox WHERE topic = "
                   "'tasks' AND kind = 'reminder'",
                   NULL, "D1,D2");
    /* The worker's connection is closed: its counts are flushed as it ends, the table's and the
     * index's one after the other. Wait for the index's to show, then until two readings 100 ms
     * apart agree: a table count read between the two flushes would hide a sequential scan. */
    long long seq0 = 0, idx0 = 0, seq1 = 0, idx1 = 0, seq_prev = -1, idx_prev = -1;
    assert_int_equal(sscanf(before, "%lld %lld", &seq0, &idx0), 2);
    for (int waited = 0; waited < 10000; waited += 100) {
        char *after = scan_counts(&db);
        assert_int_equal(sscanf(after, "%lld %lld", &seq1, &idx1), 2);
        free(after);
        if (idx1 > idx0 && seq1 == seq_prev && idx1 == idx_prev) break;
        seq_prev = seq1;
        idx_prev = idx1;
        usleep(100 * 1000);
    }
    if (seq1 != seq0 || idx1 <= idx0 || idx1 - idx0 >= 50)
        fail_msg("deadlines: %lld rows read sequentially, %lld index entries of deadlines_sweep "
                 "(want 0 and 1..49)",
                 seq1 - seq0, idx1 - idx0);
    free(before);
    testenv_db_drop(&db);
    mockkafka_stop(kafka);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sweep_reads_only_what_is_due),
    };
    return cmocka_run_group_tests_name("sweeper scan", tests, NULL, NULL);
}
