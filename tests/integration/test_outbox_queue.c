/*
 * test_outbox_queue: the relay claims from outbox_queue (migration 0125); an outbox row is
 * written once. Real PostgreSQL; the relay is the real mni-assess (its tick) on the mock Kafka
 * cluster.
 *
 *   queue_follows_the_outbox    every outbox row inserted is queued by the same statement (a
 *                               replayed insert, ON CONFLICT DO NOTHING, queues nothing twice;
 *                               a row inserted failed is not queued); an operator who sets
 *                               failed_at back to NULL queues the row again (RUNBOOK).
 *   relay_writes_rows_once      three queued rows are relayed: each is on the topic, the queue
 *                               is empty, `mni case` shows them published, and every outbox
 *                               row is the version it was inserted as (same ctid and xmin: the
 *                               claim read it and did not rewrite it).
 *   compacted_wait_for_the_lock while another session holds the compacted topics
 *                               (OUTBOX_COMPACTED_LOCK), a relay publishes the tasks and leaves
 *                               the assessments and the audit anchor queued; once it is free,
 *                               they are published, the case's newest version only.
 *   older_version_not_sent_after     an assessment claimed after its case's newer version (one
 *                               batch's versions share created_at and "A-...-10" sorts before
 *                               "A-...-9", so a claim's limit can fall between them) is marked
 *                               published without being sent: the topic keeps version 10.
 *   two_relays_keep_the_newest_last  two mni-assess relays at once over many versions of many
 *                               cases: on the compacted topic every case's last message is its
 *                               newest version (without the lock one relay could deliver an
 *                               older version after the other delivered the newest).
 *   given_up_claim_leaves_nothing_behind  with the broker down, a claim fails and is rolled
 *                               back only once the producer has given up every message it
 *                               produced (message.timeout.ms, 25 s by default): nothing of it
 *                               is left to be written after the next claim's, which sends each
 *                               row once when the broker is back. Last: the broker's outage
 *                               would slow the cases after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/monoclock.h"
#include "lib/kafka/kq.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/config.h"
#include "lib/runtime/outbox.h"
#include "tests/support/mockkafka.h"
#include "tests/support/relayrun.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKER_TIMEOUT_MS 90000

static mockkafka *kafka;

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {{"oq.accepted", 1},
                                             {"oq.tasks", 1},
                                             {"oq.dlq", 1},
                                             {"oq.assessments", 1},
                                             {"oq.anchors", 1}};
    return mockkafka_setup(&kafka, topics, sizeof topics / sizeof *topics);
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

static void sql(testenv_db *db, const char *text)
{
    char err[512];
    if (pgx_exec(db->conn, "test.sql", text, err, sizeof err) != 0) fail_msg("%s: %s", text, err);
}

/* Tasks rows prefix-1..3 of incident, a minute apart, each with a small record. */
static void queue_rows(testenv_db *db, const char *incident, const char *prefix)
{
    char text[1024];
    snprintf(text, sizeof text,
             "INSERT INTO cases (incident_id, tenant, opened_at) VALUES ('%s', 'bpo-test', now())",
             incident);
    sql(db, text);
    snprintf(
        text, sizeof text,
        "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at, record) "
        "SELECT '%s-' || i, 'tasks', '%s', 'ppc_preliminary', '{}', now() - interval "
        "'1 hour' + i * interval '1 minute', '\\x00000001'::bytea FROM generate_series(1, 3) i",
        prefix, incident);
    sql(db, text);
}

static void queue_follows_the_outbox(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    queue_rows(&db, "INC-OQ-1", "q");
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(q.task_id || ':' || q.topic || ':' || (q.created_at = "
                   "o.created_at), ',' ORDER BY q.created_at, q.task_id) FROM outbox_queue q "
                   "JOIN outbox o USING (task_id)",
                   NULL, "q-1:tasks:true,q-2:tasks:true,q-3:tasks:true");
    /* A replayed insert adds nothing; a row inserted failed waits for an operator. */
    sql(&db, "INSERT INTO outbox (task_id, topic, incident_id, kind, payload) VALUES "
             "('q-2', 'tasks', 'INC-OQ-1', 'ppc_preliminary', '{}') ON CONFLICT DO NOTHING");
    sql(&db, "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, failed_at, failure) "
             "VALUES ('q-4', 'tasks', 'INC-OQ-1', 'ppc_preliminary', '{}', now(), 'too large')");
    sqlcheck_equal(db.conn, "SELECT count(*) || '/' || count(DISTINCT task_id) FROM outbox_queue",
                   NULL, "3/3");
    /* deploy/RUNBOOK.md: the operator sets failed_at back to NULL to have it relayed again. */
    sql(&db, "UPDATE outbox SET failed_at = NULL, failure = NULL WHERE task_id = 'q-4'");
    sqlcheck_equal(db.conn, "SELECT string_agg(task_id, ',' ORDER BY task_id) FROM outbox_queue",
                   NULL, "q-1,q-2,q-3,q-4");
    /* Any other update leaves the queue alone. */
    sql(&db, "UPDATE outbox SET failure = 'x' WHERE task_id = 'q-1'");
    sqlcheck_equal(db.conn, "SELECT count(*) FROM outbox_queue", NULL, "4");
    testenv_db_drop(&db);
}

/* mni-assess's relay on this file's topics (tests/support/relayrun.h). */
static const char *const relay_env[] = {
    "MNI_TOPIC_TASKS=oq.tasks",     "MNI_TOPIC_ACCEPTED=oq.accepted",
    "MNI_TOPIC_DLQ=oq.dlq",         "MNI_TOPIC_ASSESSMENTS=oq.assessments",
    "MNI_TOPIC_ANCHORS=oq.anchors", NULL};

/* Cases INC-<prefix>-1..cases at version case_version, and their assessment rows of versions
 * 1..versions, queued a version at a time (every case's version v before any case's v + 1),
 * each with a small record. */
static void queue_assessments(testenv_db *db, const char *prefix, int cases, int versions,
                              int case_version)
{
    char text[1024];
    snprintf(text, sizeof text,
             "INSERT INTO cases (incident_id, tenant, opened_at, version) SELECT 'INC-%s-' || c, "
             "'bpo-test', now(), %d FROM generate_series(1, %d) c",
             prefix, case_version, cases);
    sql(db, text);
    snprintf(text, sizeof text,
             "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at, record) "
             "SELECT 'A-INC-%s-' || c || '-' || v, 'assessments', 'INC-%s-' || c, 'assessment', "
             "jsonb_build_object('incident_id', 'INC-%s-' || c, 'version', v), now() - interval "
             "'1 hour' + (v * %d + c) * interval '1 millisecond', '\\x00000001'::bytea "
             "FROM generate_series(1, %d) v, generate_series(1, %d) c",
             prefix, prefix, prefix, cases, versions, cases);
    sql(db, text);
}

/* Each case's version in its last message on the compacted topic (read from the task ids,
 * A-INC-<prefix>-<case>-<version>, of the messages from offset on), as "case:version" in case
 * order. */
static char *last_versions(const topicio_messages *m, int cases, size_t offset)
{
    int *last = calloc((size_t)cases + 1, sizeof *last);
    assert_non_null(last);
    for (size_t i = offset; i < m->n; i++) {
        char id[64];
        topicio_header(&m->msgs[i], "mni.task_id", id, sizeof id);
        const char *dash = strrchr(id, '-');
        assert_non_null(dash);
        int version = atoi(dash + 1);
        const char *c = dash - 1;
        while (c > id && *c != '-')
            c--;
        int k = atoi(c + 1);
        assert_true(k >= 1 && k <= cases);
        last[k] = version;
    }
    char *out = calloc((size_t)cases * 16 + 1, 1);
    assert_non_null(out);
    for (int k = 1; k <= cases; k++)
        sprintf(out + strlen(out), "%s%d:%d", k > 1 ? "," : "", k, last[k]);
    free(last);
    return out;
}

/* The number of messages on topic (one partition). */
static size_t messages_on(const char *topic)
{
    topicio_messages m;
    assert_int_equal(
        topicio_read_to_end(mockkafka_bootstraps(kafka), topic, 1, WORKER_TIMEOUT_MS, &m), 0);
    size_t n = m.n;
    topicio_messages_free(&m);
    return n;
}

static void compacted_wait_for_the_lock(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    queue_rows(&db, "INC-OQ-3", "lock");
    queue_assessments(&db, "LK", 1, 2, 2);
    sql(&db, "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at) VALUES "
             "('audit-anchor:LK', 'anchors', 'audit_log/test', 'audit_anchor', '{\"seq\": 1}', "
             "now() - interval '1 hour')");
    /* Another relay holds the compacted topics: a session of the test's own takes the lock. */
    char err[512];
    PGconn *holder = pgx_connect(db.conninfo, "test-lock-holder", err, sizeof err);
    if (!holder) fail_msg("%s", err);
    if (pgx_exec(holder, "test.lock", "SELECT pg_advisory_lock(" OUTBOX_COMPACTED_LOCK ")", err,
                 sizeof err) != 0)
        fail_msg("%s", err);
    size_t before = messages_on("oq.assessments"), anchors_before = messages_on("oq.anchors");
    relayrun(db.conninfo, mockkafka_bootstraps(kafka), "oq-lock", relay_env, 3000,
             WORKER_TIMEOUT_MS, 3, -1, NULL);
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(q.task_id, ',' ORDER BY q.task_id) FROM outbox_queue q", NULL,
                   "A-INC-LK-1-1,A-INC-LK-1-2,audit-anchor:LK");
    assert_int_equal(messages_on("oq.assessments"), before);
    assert_int_equal(messages_on("oq.anchors"), anchors_before);
    topicio_messages m;

    PQfinish(holder); /* the lock goes with the session */
    relayrun(db.conninfo, mockkafka_bootstraps(kafka), "oq-lock", relay_env, 3000,
             WORKER_TIMEOUT_MS, 3, -1, NULL);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM outbox_queue", NULL, "0");
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "oq.assessments", 1,
                                         WORKER_TIMEOUT_MS, &m),
                     0);
    assert_int_equal(m.n, before + 1); /* version 1 superseded within the claim */
    assert_int_equal(messages_on("oq.anchors"), anchors_before + 1);
    char *last = last_versions(&m, 1, before);
    assert_string_equal(last, "1:2");
    free(last);
    topicio_messages_free(&m);
    testenv_db_drop(&db);
}

/* Version v of INC-TIE-1's assessment, created at the instant every version of the test's
 * batch shares. */
static void queue_tie_version(testenv_db *db, int v)
{
    char text[512];
    snprintf(text, sizeof text,
             "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at, record) "
             "VALUES ('A-INC-TIE-1-%d', 'assessments', 'INC-TIE-1', 'assessment', "
             "'{\"incident_id\": \"INC-TIE-1\", \"version\": %d}', '2026-12-01 10:00+00', "
             "'\\x00000001'::bytea)",
             v, v);
    sql(db, text);
}

static void older_version_not_sent_after(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    /* The case is at version 10; version 10's row was claimed (and sent) first. */
    sql(&db, "INSERT INTO cases (incident_id, tenant, opened_at, version) VALUES "
             "('INC-TIE-1', 'bpo-test', now(), 10)");
    queue_tie_version(&db, 10);
    size_t before = messages_on("oq.assessments");
    relayrun(db.conninfo, mockkafka_bootstraps(kafka), "oq-tie", relay_env, 3000, WORKER_TIMEOUT_MS,
             1, -1, NULL);
    /* Version 9, of the same batch (same created_at), left by the claim's limit. */
    queue_tie_version(&db, 9);
    relayrun(db.conninfo, mockkafka_bootstraps(kafka), "oq-tie", relay_env, 3000, WORKER_TIMEOUT_MS,
             1, -1, NULL);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM outbox_queue", NULL, "0");
    topicio_messages m;
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "oq.assessments", 1,
                                         WORKER_TIMEOUT_MS, &m),
                     0);
    assert_int_equal(m.n, before + 1);
    char *last = last_versions(&m, 1, before);
    assert_string_equal(last, "1:10");
    free(last);
    topicio_messages_free(&m);
    testenv_db_drop(&db);
}

static void two_relays_keep_the_newest_last(void **state)
{
    (void)state;
    enum { CASES = 500, VERSIONS = 2 };
    testenv_db db;
    testenv_db_create(&db, 1);
    /* The cases stay at version 0, as if every version were committed after the claims began:
     * the stale check (older_version_not_sent_after) never applies, only the lock keeps the
     * order. */
    queue_assessments(&db, "TWO", CASES, VERSIONS, 0);
    size_t before = messages_on("oq.assessments");
    const char *argv[] = {"--exit-when-idle", "3000", NULL};
    workerproc w[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(workerproc_start(&w[i], "mni-assess", db.conninfo,
                                          mockkafka_bootstraps(kafka), "oq-two", relay_env, argv),
                         0);
    for (int i = 0; i < 2; i++) {
        int rc = workerproc_wait(&w[i], WORKER_TIMEOUT_MS);
        if (rc != 0) {
            workerproc_dump_log(&w[i]);
            fail_msg("mni-assess #%d exited %d", i, rc);
        }
        unlink(w[i].log_path);
    }
    sqlcheck_equal(db.conn, "SELECT count(*) FROM outbox_queue", NULL, "0");
    topicio_messages m;
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "oq.assessments", 1,
                                         WORKER_TIMEOUT_MS, &m),
                     0);
    char *last = last_versions(&m, CASES, before);
    char want[CASES * 16];
    want[0] = '\0';
    for (int k = 1; k <= CASES; k++)
        sprintf(want + strlen(want), "%s%d:%d", k > 1 ? "," : "", k, VERSIONS);
    assert_string_equal(last, want);
    free(last);
    topicio_messages_free(&m);
    testenv_db_drop(&db);
}

static void relay_writes_rows_once(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    queue_rows(&db, "INC-OQ-2", "once");
    static const char *const versions =
        "SELECT string_agg(task_id || '@' || ctid::text || '/' || xmin::text, ',' ORDER BY "
        "task_id) FROM outbox";
    char *before = sqlcheck_text(db.conn, versions, NULL);
    relayrun(db.conninfo, mockkafka_bootstraps(kafka), "oq-once", relay_env, 3000,
             WORKER_TIMEOUT_MS, 3, -1, NULL);

    sqlcheck_equal(db.conn, "SELECT count(*) FROM outbox_queue", NULL, "0");
    sqlcheck_equal(db.conn, versions, NULL, before);
    topicio_messages m;
    assert_int_equal(
        topicio_read_to_end(mockkafka_bootstraps(kafka), "oq.tasks", 1, WORKER_TIMEOUT_MS, &m), 0);
    assert_int_equal(m.n, 3);
    for (size_t i = 0; i < m.n; i++) {
        char id[64], want[32];
        topicio_header(&m.msgs[i], "mni.task_id", id, sizeof id);
        snprintf(want, sizeof want, "once-%zu", i + 1); /* in the order they were queued */
        assert_string_equal(id, want);
    }
    topicio_messages_free(&m);

    const char *argv[] = {"mni", "case", "--conninfo", db.conninfo, "INC-OQ-2", NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni case exited %d: %s", r.status, r.err);
    for (int i = 1; i <= 3; i++) {
        char id[32];
        snprintf(id, sizeof id, "once-%d", i);
        const char *line = strstr(r.out, id);
        assert_non_null(line);
        const char *eol = strchr(line, '\n');
        const char *published = strstr(line, "published");
        assert_true(published && (!eol || published < eol));
    }
    runcmd_free(&r);
    free(before);
    testenv_db_drop(&db);
}

/* The outbox relay in this process, on a producer of its own with kq's defaults (those of
 * every worker), so that the test can see what the producer still holds. */
static kq_producer *relay_producer(void)
{
    char err[512];
    const kq_prop props[] = {{"bootstrap.servers", mockkafka_bootstraps(kafka)}};
    kq_producer *p = kq_producer_new(props, 1, err, sizeof err);
    if (!p) fail_msg("producer: %s", err);
    return p;
}

static void given_up_claim_leaves_nothing_behind(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    queue_rows(&db, "INC-OQ-3", "gone");
    char err[512];
    config *cfg = config_new();
    assert_non_null(cfg);
    assert_int_equal(config_set(cfg, "topic.tasks", "oq.tasks", err, sizeof err), 0);
    size_t before = messages_on("oq.tasks");

    rd_kafka_mock_broker_set_down(mockkafka_cluster(kafka), 1);
    kq_producer *first = relay_producer();
    long relayed = 0, failed = 0;
    int64_t t0 = monoclock_ms();
    assert_int_equal(
        outbox_relay(db.conn, first, cfg, NULL, 100, &relayed, &failed, err, sizeof err), -1);
    print_message("claim given up after %lld ms: %s\n", (long long)(monoclock_ms() - t0), err);
    /* Rolled back with nothing left in the producer to arrive later: before the change, the
     * claim gave up after 60 s with its three messages still queued for 300 s. */
    assert_int_equal(kq_producer_outstanding(first), 0);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM outbox_queue", NULL, "3");

    rd_kafka_mock_broker_set_up(mockkafka_cluster(kafka), 1);
    kq_producer *next = relay_producer();
    if (outbox_relay(db.conn, next, cfg, NULL, 100, &relayed, &failed, err, sizeof err) != 0)
        fail_msg("relay after the outage: %s", err);
    assert_int_equal(relayed, 3);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM outbox_queue", NULL, "0");
    topicio_messages m;
    assert_int_equal(
        topicio_read_to_end(mockkafka_bootstraps(kafka), "oq.tasks", 1, WORKER_TIMEOUT_MS, &m), 0);
    assert_int_equal(m.n, before + 3);
    for (size_t i = before; i < m.n; i++) {
        char id[64], want[32];
        topicio_header(&m.msgs[i], "mni.task_id", id, sizeof id);
        snprintf(want, sizeof want, "gone-%zu", i - before + 1);
        assert_string_equal(id, want);
    }
    topicio_messages_free(&m);
    assert_int_equal(kq_producer_close(first, 1000, err, sizeof err), 0);
    assert_int_equal(kq_producer_close(next, 10000, err, sizeof err), 0);
    config_free(cfg);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_follows_the_outbox),
        cmocka_unit_test(relay_writes_rows_once),
        cmocka_unit_test(compacted_wait_for_the_lock),
        cmocka_unit_test(older_version_not_sent_after),
        cmocka_unit_test(two_relays_keep_the_newest_last),
        cmocka_unit_test(given_up_claim_leaves_nothing_behind),
    };
    return cmocka_run_group_tests_name("outbox queue", tests, group_setup, group_teardown);
}
