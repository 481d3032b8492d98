/*
 * test_outbox_refused: an outbox row Kafka refuses for good costs only itself (issue 8: any one
 * message may only cost itself). The real mni-assess relays the outbox (its tick) to the mock
 * Kafka cluster; the rows are queued directly in a real PostgreSQL, as a worker's batch would.
 *
 *   too_large_row_fails_alone  three rows in one claim, the middle one's record larger than the
 *                              producer may send (KQ_MESSAGE_MAX_BYTES): it is marked failed
 *                              with librdkafka's reason (failed_at, failure), shown as failed by
 *                              `mni case` and counted by mni_outbox_failed_total; the rows
 *                              around it are published and on the tasks topic; the failed row
 *                              is never tried again (one log line over every later tick).
 *   broker_refusal_fails_alone the broker refuses (injected: rd_kafka_mock_push_request_errors,
 *                              MSG_SIZE_TOO_LARGE) the relay's first Produce request and the
 *                              one of the second row sent alone: exactly one row is marked
 *                              failed with the broker's reason and never reaches the topic; the
 *                              other two are published and on the topic.
 *   unencodable_row_fails_alone  a row the relay cannot encode (no record, a payload of no
 *                              known kind) would fail the same way at every claim: it is marked
 *                              failed with the reason (failed_at, failure "not encodable: ..."),
 *                              counted by mni_outbox_failed_total, shown by `mni case`, logged
 *                              once over every later tick (never claimed again); the rows around
 *                              it are published and on the topic.
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
#include "tests/support/relayrun.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"

#define WORKER_TIMEOUT_MS 90000
#define BIG_RECORD (1200 * 1024) /* above KQ_MESSAGE_MAX_BYTES (1 MiB + 64 KiB) */

static mockkafka *kafka;

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {{"ob.accepted", 1},
                                             {"ob.tasks.large", 1},
                                             {"ob.tasks.broker", 1},
                                             {"ob.tasks.bad", 1},
                                             {"ob.dlq", 1}};
    return mockkafka_setup(&kafka, topics, sizeof topics / sizeof *topics);
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

/* Queues tasks rows prefix-1..3 of incident, a minute apart, each with a small record except
 * the one whose number is big (0: none), and the case they belong to. */
static void queue_rows(testenv_db *db, const char *incident, const char *prefix, int big)
{
    char sql[1024], err[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO cases (incident_id, tenant, opened_at) VALUES ('%s', 'bpo-test', now())",
             incident);
    assert_int_equal(pgx_exec(db->conn, "test.case", sql, err, sizeof err), 0);
    for (int i = 1; i <= 3; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at, "
                 "record) VALUES ('%s-%d', 'tasks', '%s', 'ppc_preliminary', '{}', "
                 "now() - interval '1 hour' + %d * interval '1 minute', "
                 "CASE WHEN %s THEN decode(repeat('ab', %d), 'hex') ELSE '\\x00000001'::bytea END)",
                 prefix, i, incident, i, i == big ? "true" : "false", BIG_RECORD);
        if (pgx_exec(db->conn, "test.outbox", sql, err, sizeof err) != 0) fail_msg("%s", err);
    }
}

/* mni-assess's relay (tests/support/relayrun.h) on tasks_topic until the metrics show relayed
 * and failed rows, then until it is idle; returns the log lines holding needle. */
static int run_relay(testenv_db *db, const char *group, const char *tasks_topic, long long relayed,
                     long long failed, const char *needle)
{
    char tasks_env[128];
    snprintf(tasks_env, sizeof tasks_env, "MNI_TOPIC_TASKS=%s", tasks_topic);
    const char *env[] = {tasks_env, "MNI_TOPIC_ACCEPTED=ob.accepted", "MNI_TOPIC_DLQ=ob.dlq", NULL};
    return relayrun(db->conninfo, mockkafka_bootstraps(kafka), group, env, 4000, WORKER_TIMEOUT_MS,
                    relayed, failed, needle);
}

/* How many messages of topic carry mni.task_id = task_id. */
static size_t on_topic(const topicio_messages *m, const char *task_id)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++) {
        char id[64];
        topicio_header(&m->msgs[i], "mni.task_id", id, sizeof id);
        n += !strcmp(id, task_id);
    }
    return n;
}

static void too_large_row_fails_alone(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    queue_rows(&db, "INC-OB-1", "big", 2);
    /* One failure over every tick of the run: the failed row is not claimed again. */
    assert_int_equal(run_relay(&db, "ob-large", "ob.tasks.large", 2, 1, "marked failed"), 1);

    sqlcheck_equal(
        db.conn,
        "SELECT string_agg(task_id || ':' || (failed_at IS NULL AND NOT EXISTS (SELECT FROM "
        "outbox_queue q WHERE q.task_id = o.task_id)) || ':' || (failed_at IS NOT "
        "NULL), ',' ORDER BY task_id) FROM outbox o",
        NULL, "big-1:true:false,big-2:false:true,big-3:true:false");
    sqlcheck_equal(db.conn,
                   "SELECT failure ILIKE '%too large%' FROM outbox WHERE task_id = 'big-2'", NULL,
                   "t");
    topicio_messages m;
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "ob.tasks.large", 1,
                                         WORKER_TIMEOUT_MS, &m),
                     0);
    assert_true(on_topic(&m, "big-1") >= 1);
    assert_int_equal(on_topic(&m, "big-2"), 0);
    assert_true(on_topic(&m, "big-3") >= 1);
    topicio_messages_free(&m);

    /* mni case shows it failed, with the reason. */
    const char *argv[] = {"mni", "case", "--conninfo", db.conninfo, "INC-OB-1", NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni case exited %d: %s", r.status, r.err);
    const char *line = strstr(r.out, "big-2");
    assert_non_null(line);
    assert_non_null(strstr(line, "failed: "));
    runcmd_free(&r);
    testenv_db_drop(&db);
}

static void broker_refusal_fails_alone(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    queue_rows(&db, "INC-OB-2", "brk", 0);
    /* The first Produce request (the claim's rows, or the first of them), then the next one
     * succeeds, then the next is refused: whichever row that request carries alone fails. */
    rd_kafka_mock_push_request_errors(
        mockkafka_cluster(kafka), 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
        RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    assert_int_equal(run_relay(&db, "ob-broker", "ob.tasks.broker", 2, 1, "marked failed"), 1);

    sqlcheck_equal(db.conn,
                   "SELECT count(*) FILTER (WHERE failed_at IS NULL AND NOT EXISTS (SELECT FROM "
                   "outbox_queue q WHERE q.task_id = o.task_id)) || ':' || count(*) FILTER "
                   "(WHERE failed_at IS NOT NULL AND NOT EXISTS (SELECT FROM outbox_queue q "
                   "WHERE q.task_id = o.task_id) AND failure LIKE '%Message size too large%') "
                   "FROM outbox o",
                   NULL, "2:1");
    char *failed =
        sqlcheck_text(db.conn, "SELECT task_id FROM outbox WHERE failed_at IS NOT NULL", NULL);
    topicio_messages m;
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "ob.tasks.broker", 1,
                                         WORKER_TIMEOUT_MS, &m),
                     0);
    static const char *const ids[] = {"brk-1", "brk-2", "brk-3"};
    for (size_t i = 0; i < 3; i++) {
        if (!strcmp(ids[i], failed))
            assert_int_equal(on_topic(&m, ids[i]), 0);
        else
            assert_true(on_topic(&m, ids[i]) >= 1);
    }
    topicio_messages_free(&m);
    free(failed);
    testenv_db_drop(&db);
}

static void unencodable_row_fails_alone(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    queue_rows(&db, "INC-OB-3", "bad", 0);
    char err[512];
    assert_int_equal(pgx_exec(db.conn, "test.unencodable",
                              "UPDATE outbox SET record = NULL, payload = '{\"kind\": \"none\"}' "
                              "WHERE task_id = 'bad-2'",
                              err, sizeof err),
                     0);
    /* One log line over every tick of the run: the row is not claimed again. */
    assert_int_equal(run_relay(&db, "ob-bad", "ob.tasks.bad", 2, 1, "not encodable: marked failed"),
                     1);

    sqlcheck_equal(
        db.conn,
        "SELECT string_agg(task_id || ':' || (failed_at IS NULL AND NOT EXISTS (SELECT FROM "
        "outbox_queue q WHERE q.task_id = o.task_id)) || ':' || (failed_at IS NOT "
        "NULL), ',' ORDER BY task_id) FROM outbox o",
        NULL, "bad-1:true:false,bad-2:false:true,bad-3:true:false");
    sqlcheck_equal(db.conn,
                   "SELECT failure LIKE 'not encodable: %unknown task kind%' FROM outbox "
                   "WHERE task_id = 'bad-2' AND NOT EXISTS (SELECT FROM outbox_queue q "
                   "WHERE q.task_id = 'bad-2')",
                   NULL, "t");
    topicio_messages m;
    assert_int_equal(
        topicio_read_to_end(mockkafka_bootstraps(kafka), "ob.tasks.bad", 1, WORKER_TIMEOUT_MS, &m),
        0);
    assert_true(on_topic(&m, "bad-1") >= 1);
    assert_int_equal(on_topic(&m, "bad-2"), 0);
    assert_true(on_topic(&m, "bad-3") >= 1);
    topicio_messages_free(&m);

    /* mni case shows it failed, with the reason. */
    const char *argv[] = {"mni", "case", "--conninfo", db.conninfo, "INC-OB-3", NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni case exited %d: %s", r.status, r.err);
    const char *line = strstr(r.out, "bad-2");
    assert_non_null(line);
    assert_non_null(strstr(line, "failed: not encodable"));
    runcmd_free(&r);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(too_large_row_fails_alone),
        cmocka_unit_test(broker_refusal_fails_alone),
        cmocka_unit_test(unencodable_row_fails_alone),
    };
    return cmocka_run_group_tests_name("outbox relay refusals", tests, group_setup, group_teardown);
}
