/*
 * test_pace: the workers' own producers pace themselves on the embedded broker, so that the
 * mock cluster (~5 MiB per partition, the oldest dropped, read or not) never drops what the next
 * worker has not read (lib/runtime/pace_gate.h, outbox_pace.h; issue 6 item 5). Real programs
 * throughout: mni-ingest, mni-assess and mni-notify as child processes, a librdkafka mock
 * cluster and a migrated PostgreSQL database per case. The input: 24 contractor incidents of
 * tests/support/histories.h (manifests over four clients, the 100-person line passed), whose
 * notify tasks and accepted events are several times the small limit the cases set.
 *
 *   relay_paced     mni-assess with pace.limit.bytes = 8 KiB and no mni-notify: the bytes on
 *                   each partition of notify.tasks (nobody read them) stay within the limit
 *                   plus one message, the
 *                   other tasks stay queued in the outbox (durable), assessments are not held
 *                   behind them, the wait is logged and counted (mni_pace_waits_total). Then
 *                   mni-notify starts: every task is relayed and handled (a ticket each), no
 *                   gap recorded, no "events lost".
 *   relay_unpaced   the same with pace.limit.bytes = 0: every task is on notify.tasks at once,
 *                   more than the limit (what relay_paced prevents; shows it can fail), no wait.
 *   held_rows_unread  while tasks wait, the relay's claims do not read the held rows: with
 *                   HELD more tasks queued (older than anything else), mni-assess restarted
 *                   relays a ticket queued after them, and its claims read fewer than HELD / 2
 *                   rows of outbox_queue in all (pg_stat_user_tables and _indexes; a claim in
 *                   primary-key order read every held row, migration 0145); the held rows
 *                   stay queued (the limit's worth at most went before the topic closed).
 *   late_row_relayed  while tasks wait, the relay reads the other topics from its floors
 *                   (outbox_pace_cursor); a ticket committed with a created_at an hour old,
 *                   under every floor (a writer's transaction that long), is still relayed
 *                   (a claim from the start comes every OUTBOX_PACE_FULL_MS).
 *   relayed_without_compacted_lock  the same while another session holds the compacted
 *                   topics' lock: the relay reads tasks and tickets from their floors without
 *                   them (outbox_pace_cursor), relays fresh and late tickets, leaves an
 *                   assessment queued; the lock free, the assessment goes.
 *   ingest_paced    mni-ingest with the same limit and no mni-assess: the bytes on
 *                   incident.accepted stay within the limit plus one batch (batch.size 5),
 *                   the rest of the input waits in incident.events; then mni-assess starts:
 *                   every event is forwarded and assessed, no gap recorded, no "events lost".
 *
 * Every wait is for a condition (log line, rows, offsets), never a fixed sleep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"
#include "tests/support/histories.h"
#include "tests/support/httpget.h"
#include "tests/support/mockkafka.h"
#include "tests/support/promtext.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define T_PARTITIONS 3
#define INCIDENTS 24
#define LIMIT 8192
#define INGEST_BATCH 5
#define WAIT_MS 120000
#define HELD 20000

static testenv_db db;

static mockkafka *start_cluster(void)
{
    static const mockkafka_topic topics[] = {{"incident.events", T_PARTITIONS},
                                             {"incident.accepted", T_PARTITIONS},
                                             {"incident.dlq", 1},
                                             {"case.assessments", T_PARTITIONS},
                                             {"notify.tasks", T_PARTITIONS},
                                             {"tickets", T_PARTITIONS},
                                             {"audit.anchors", 1}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    if (!mk) fail_msg("%s", err);
    return mk;
}

static void client_of(int step, int incident, char out[16])
{
    snprintf(out, 16, "C-%02d", (step + incident) % 4);
}

static const histories_shape shape = {"P", "pace-person-", client_of};

/* Every incident's whole history, interleaved; returns how many events. */
static size_t produce_input(mockkafka *mk, const char *topic)
{
    histories_stream s = {0};
    for (int step = 0; step < 8; step++)
        for (int inc = 0; inc < INCIDENTS; inc++)
            histories_step(&s, &shape, step, inc);
    size_t n = s.n;
    histories_produce(&s, 0, mockkafka_bootstraps(mk), topic);
    histories_free(&s);
    return n;
}

static void exec_sql(const char *sql)
{
    char err[512];
    if (pgx_exec(db.conn, "test.sql", sql, err, sizeof err) != 0) fail_msg("%s: %s", sql, err);
}

/* The sum of the group's next offsets on topic (what it committed). */
static long long committed(const char *group, const char *topic)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = $1 "
             "AND topic = '%s'",
             topic);
    return sqlcheck_int(db.conn, sql, group);
}

/* The bytes pacing counts for one message: key, value, header names and values. */
static size_t message_bytes(const topicio_message *m)
{
    size_t bytes = m->key_len + m->value_len;
    const char *name;
    const void *value;
    size_t len;
    for (size_t i = 0; m->headers && !rd_kafka_header_get_all(m->headers, i, &name, &value, &len);
         i++)
        bytes += strlen(name) + len;
    return bytes;
}

/* Every message on topic now: their count, the bytes of the fullest partition (the limit is
 * per partition) and the largest message's. */
static size_t topic_bytes(mockkafka *mk, const char *topic, size_t *count, size_t *largest)
{
    size_t per[T_PARTITIONS] = {0};
    topicio_messages all = {0};
    assert_int_equal(
        topicio_read_to_end(mockkafka_bootstraps(mk), topic, T_PARTITIONS, WAIT_MS, &all), 0);
    size_t total = 0;
    *largest = 0;
    for (size_t i = 0; i < all.n; i++) {
        size_t b = message_bytes(&all.msgs[i]);
        per[all.msgs[i].partition] += b;
        if (b > *largest) *largest = b;
    }
    for (int p = 0; p < T_PARTITIONS; p++)
        if (per[p] > total) total = per[p];
    *count = all.n;
    topicio_messages_free(&all);
    return total;
}

/* Waits until the query's first column is the text want. */
static void wait_sql(const char *sql, const char *param, const char *want, workerproc *log)
{
    char *got = NULL;
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(100 * 1000)) {
        free(got);
        got = sqlcheck_text(db.conn, sql, param);
        if (!strcmp(got, want)) {
            free(got);
            return;
        }
    }
    if (log) workerproc_dump_log(log);
    fail_msg("%s: wanted %s, last %s", sql, want, got);
}

static void start_worker(workerproc *w, mockkafka *mk, const char *program, const char *group,
                         long long limit, int port)
{
    static char limit_env[64], port_env[64];
    snprintf(limit_env, sizeof limit_env, "MNI_PACE_LIMIT_BYTES=%lld", limit);
    snprintf(port_env, sizeof port_env, "MNI_METRICS_PORT=%d", port);
    char batch_env[64];
    snprintf(batch_env, sizeof batch_env, "MNI_BATCH_SIZE=%d", INGEST_BATCH);
    /* The sweeper's clock at the histories' day: no reminder or escalation joins the tasks. */
    const char *env[] = {limit_env,
                         port_env,
                         "MNI_TICK_MS=200",
                         "MNI_NOTIFY_CLOCK=2026-11-20T12:00:00+09:00",
                         strcmp(program, "mni-ingest") ? NULL : batch_env,
                         NULL};
    assert_int_equal(
        workerproc_start(w, program, db.conninfo, mockkafka_bootstraps(mk), group, env, NULL), 0);
}

/* Stops w with SIGTERM, asserts exit 0 and that it lost nothing. */
static void stop_worker(workerproc *w)
{
    workerproc_signal(w, SIGTERM);
    int rc = workerproc_wait(w, WAIT_MS);
    if (rc != 0 || workerproc_log_count(w, "events lost") != 0) {
        workerproc_dump_log(w);
        fail_msg("%s exited with %d", w->log_path, rc);
    }
    unlink(w->log_path);
}

/* ---- setup ------------------------------------------------------------------------------ */

static int case_setup(void **state)
{
    (void)state;
    testenv_db_create(&db, 1);
    unsetenv("MNI_CONFIG");
    return 0;
}

static int case_teardown(void **state)
{
    (void)state;
    testenv_db_drop(&db);
    return 0;
}

/* mni-assess relays with the given limit while no mni-notify runs; returns the metrics port.
 * Waits until assess has committed every event and its relay has nothing left to send (paced:
 * it waits with tasks queued; unpaced: the queue is empty). */
static int assess_without_notify(mockkafka *mk, workerproc *assess, long long limit, size_t *events)
{
    *events = produce_input(mk, "incident.accepted");
    int port = httpget_free_port();
    start_worker(assess, mk, "mni-assess", "mni-assess", limit, port);
    char want[32];
    snprintf(want, sizeof want, "%zu", *events);
    wait_sql("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = "
             "'mni-assess' AND topic = 'incident.accepted'",
             NULL, want, assess);
    /* Assessments are not paced and not held behind the waiting tasks. */
    wait_sql("SELECT count(*) FROM outbox_queue WHERE topic <> 'tasks'", NULL, "0", assess);
    if (limit > 0)
        workerproc_wait_log(assess, "pacing: waiting for the consumer group", WAIT_MS);
    else
        wait_sql("SELECT count(*) FROM outbox_queue", NULL, "0", assess);
    return port;
}

/* ---- cases ------------------------------------------------------------------------------ */

static void relay_paced(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster();
    workerproc assess, notify;
    size_t events;
    int port = assess_without_notify(mk, &assess, LIMIT, &events);

    long long tasks =
        sqlcheck_int(db.conn, "SELECT count(*) FROM outbox WHERE topic = 'tasks'", NULL);
    long long queued = 0;
    size_t count = 0, largest = 0, bytes = 0;
    /* The claim that closed the topic may still be committing: until then its rows are both
     * queued (to other sessions) and maybe on the topic. */
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(100 * 1000)) {
        queued =
            sqlcheck_int(db.conn, "SELECT count(*) FROM outbox_queue WHERE topic = 'tasks'", NULL);
        bytes = topic_bytes(mk, "notify.tasks", &count, &largest);
        if ((long long)count + queued == tasks) break;
    }
    fprintf(
        stderr,
        "relay_paced: %lld tasks, %zu on notify.tasks (fullest partition %zu bytes, largest %zu), "
        "%lld queued\n",
        tasks, count, bytes, largest, queued);
    assert_true(count > 0);
    assert_true(bytes <= LIMIT + largest);
    assert_true(queued > 0);
    assert_int_equal((long long)count + queued, tasks);
    assert_true(workerproc_log_count(&assess, "\"group\":\"mni-notify\"") > 0);
    assert_true(
        promtext_scrape(port,
                        "mni_pace_waits_total{component=\"assess\",topic=\"notify.tasks\"}") >= 1);
    /* Rows held by pacing are not counted as relayed, however often they are claimed again:
     * the counter settles at what reached Kafka (every assessment, the tasks on the topic). */
    long long want_relayed =
        (long long)count +
        sqlcheck_int(db.conn, "SELECT count(*) FROM outbox WHERE topic <> 'tasks'", NULL);
    long long relayed = -1;
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(100 * 1000)) {
        relayed = promtext_scrape(port, "mni_outbox_relayed_total{component=\"assess\"}");
        if (relayed == want_relayed) break;
    }
    assert_int_equal(relayed, want_relayed);

    /* mni-notify reads: the relay goes on, every task arrives and is handled once. */
    start_worker(&notify, mk, "mni-notify", "mni-notify", LIMIT, 0);
    char want[32];
    snprintf(want, sizeof want, "%lld", tasks);
    wait_sql("SELECT count(*) FROM tickets", NULL, want, &notify);
    wait_sql("SELECT count(*) FROM outbox_queue WHERE topic = 'tasks'", NULL, "0", &assess);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM outbox o JOIN tickets t USING (task_id) "
                                  "WHERE o.topic = 'tasks'",
                                  NULL),
                     tasks);
    stop_worker(&notify);
    stop_worker(&assess);
    assert_int_equal(sqlcheck_int(db.conn, "SELECT count(*) FROM consumer_gaps", NULL), 0);
    assert_int_equal(committed("mni-assess", "incident.accepted"), (long long)events);
    mockkafka_stop(mk);
}

static void relay_unpaced(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster();
    workerproc assess;
    size_t events;
    int port = assess_without_notify(mk, &assess, 0, &events);
    long long tasks =
        sqlcheck_int(db.conn, "SELECT count(*) FROM outbox WHERE topic = 'tasks'", NULL);
    size_t count, largest, bytes = topic_bytes(mk, "notify.tasks", &count, &largest);
    fprintf(stderr,
            "relay_unpaced: %lld tasks, %zu on notify.tasks (fullest partition %zu bytes)\n", tasks,
            count, bytes);
    assert_int_equal((long long)count, tasks);
    assert_true(bytes > LIMIT + largest); /* what relay_paced keeps from happening */
    assert_int_equal(workerproc_log_count(&assess, "pacing: waiting"), 0);
    assert_int_equal(
        promtext_scrape(port, "mni_pace_waits_total{component=\"assess\",topic=\"notify.tasks\"}"),
        -1);
    stop_worker(&assess);
    mockkafka_stop(mk);
}

/* Rows of outbox_queue that scans have read, as the statistics say once every backend that read
 * them has ended (a backend flushes its counts before it leaves pg_stat_activity). */
static long long queue_rows_read(void)
{
    wait_sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
             "AND pid <> pg_backend_pid()",
             NULL, "0", NULL);
    return sqlcheck_int(
        db.conn,
        "SELECT coalesce(seq_tup_read, 0) + coalesce((SELECT sum(idx_tup_read) FROM "
        "pg_stat_user_indexes WHERE relname = 'outbox_queue'), 0) "
        "FROM pg_stat_user_tables WHERE relname = 'outbox_queue'",
        NULL);
}

/* mni-assess (pace.limit.bytes LIMIT, no mni-notify) has assessed the whole input and its
 * relay waits for the tasks' readers. Metrics off: the outbox gauge counts the whole queue,
 * and would be counted in queue_rows_read. */
static void assess_until_tasks_wait(mockkafka *mk, workerproc *assess)
{
    size_t events = produce_input(mk, "incident.accepted");
    char want[32];
    snprintf(want, sizeof want, "%zu", events);
    start_worker(assess, mk, "mni-assess", "mni-assess", LIMIT, 0);
    wait_sql("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = "
             "'mni-assess' AND topic = 'incident.accepted'",
             NULL, want, assess);
    workerproc_wait_log(assess, "pacing: waiting for the consumer group", WAIT_MS);
}

static void held_rows_unread(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster();
    workerproc assess;
    assess_until_tasks_wait(mk, &assess);
    wait_sql("SELECT count(*) FROM outbox_queue WHERE topic <> 'tasks'", NULL, "0", &assess);
    stop_worker(&assess);

    /* HELD tasks older than everything queued, then a ticket after them. */
    char *incident = sqlcheck_text(db.conn, "SELECT min(incident_id) FROM cases", NULL);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at, record) "
             "SELECT 'held-' || i, 'tasks', '%s', 'ppc_preliminary', '{}', now() - interval "
             "'1 day' + i * interval '1 millisecond', '\\x00000001'::bytea "
             "FROM generate_series(1, %d) i",
             incident, HELD);
    exec_sql(sql);
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, record) VALUES "
             "('after-held', 'tickets', '%s', 'ticket', '{}', '\\x00000001'::bytea)",
             incident);
    exec_sql(sql);
    free(incident);
    long long before = queue_rows_read();

    /* Restarted, the relay finds notify.tasks full (its first measure): tasks wait; the ticket
     * goes. */
    start_worker(&assess, mk, "mni-assess", "mni-assess", LIMIT, 0);
    /* By key: a scan of the queue here would be counted too. */
    wait_sql("SELECT count(*) FROM outbox_queue q JOIN outbox o USING (created_at, task_id) "
             "WHERE o.task_id = 'after-held'",
             NULL, "0", &assess);
    stop_worker(&assess);
    long long read = queue_rows_read() - before;
    fprintf(stderr, "held_rows_unread: %d tasks held, %lld queue rows read\n", HELD, read);
    assert_true(read < HELD / 2);
    /* The tasks still wait: the limit's worth of them at most went before the topic closed. */
    assert_true(sqlcheck_int(db.conn,
                             "SELECT count(*) FROM outbox_queue WHERE task_id LIKE 'held-%'",
                             NULL) >= HELD - LIMIT);
    mockkafka_stop(mk);
}

/* Queues a ticket row named id whose created_at is `age` before now (an outbox row's insert
 * queues it: migration 0125). */
static void queue_ticket(const char *id, const char *incident, const char *age)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at, record) "
             "VALUES ('%s', 'tickets', '%s', 'ticket', '{}', now() - interval '%s', "
             "'\\x00000001'::bytea)",
             id, incident, age);
    exec_sql(sql);
}

static void wait_relayed(const char *id, workerproc *w)
{
    wait_sql("SELECT count(*) FROM outbox_queue WHERE task_id = $1", id, "0", w);
}

/* A fresh ticket goes, then a few more, so that the floors have moved past the hour before;
 * then a row that commits now with a created_at an hour old (a writer's transaction that
 * long): under every floor, yet relayed (a claim from the start comes every
 * OUTBOX_PACE_FULL_MS), not failed. */
static void fresh_then_late(const char *incident, workerproc *w)
{
    char id[32];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "fresh-%d", i);
        queue_ticket(id, incident, "0 seconds");
        wait_relayed(id, w);
    }
    queue_ticket("late", incident, "1 hour");
    wait_relayed("late", w);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM outbox o WHERE task_id = 'late' AND "
                                  "failed_at IS NULL",
                                  NULL),
                     1);
}

static void late_row_relayed(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster();
    workerproc assess;
    assess_until_tasks_wait(mk, &assess);
    char *incident = sqlcheck_text(db.conn, "SELECT min(incident_id) FROM cases", NULL);
    /* Tasks wait (nobody reads notify.tasks); the relay claims the other topics from its
     * floors. */
    fresh_then_late(incident, &assess);
    /* The tasks still wait. */
    assert_true(
        sqlcheck_int(db.conn, "SELECT count(*) FROM outbox_queue WHERE topic = 'tasks'", NULL) > 0);
    free(incident);
    stop_worker(&assess);
    mockkafka_stop(mk);
}

/* Queues an assessment row of the incident (a record of its own, so that none is made). */
static void queue_assessment(const char *id, const char *incident)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at, record) "
             "VALUES ('%s', 'assessments', '%s', 'assessment', '{}', now(), "
             "'\\x00000001'::bytea)",
             id, incident);
    exec_sql(sql);
}

static void relayed_without_compacted_lock(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster();
    workerproc assess;
    assess_until_tasks_wait(mk, &assess);
    char *incident = sqlcheck_text(db.conn, "SELECT min(incident_id) FROM cases", NULL);
    /* Another relay holds the compacted topics (here the test's session): the relay's claims
     * read tasks and tickets only, from their floors, and leave the assessment queued. */
    exec_sql("SELECT pg_advisory_lock(" OUTBOX_COMPACTED_LOCK ")");
    queue_assessment("waits-for-lock", incident);
    fresh_then_late(incident, &assess);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM outbox_queue WHERE task_id = "
                                  "'waits-for-lock'",
                                  NULL),
                     1);
    /* The lock free again, the relay claims the assessment (its floor was not moved while it
     * could not read the topic), sent once. */
    exec_sql("SELECT pg_advisory_unlock(" OUTBOX_COMPACTED_LOCK ")");
    wait_relayed("waits-for-lock", &assess);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM outbox WHERE task_id IN "
                                  "('waits-for-lock', 'late') AND failed_at IS NULL",
                                  NULL),
                     2);
    assert_true(
        sqlcheck_int(db.conn, "SELECT count(*) FROM outbox_queue WHERE topic = 'tasks'", NULL) > 0);
    free(incident);
    stop_worker(&assess);
    mockkafka_stop(mk);
}

static void ingest_paced(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster();
    size_t events = produce_input(mk, "incident.events");
    workerproc ingest, assess;
    int port = httpget_free_port();
    start_worker(&ingest, mk, "mni-ingest", "mni-ingest", LIMIT, port);
    workerproc_wait_log(&ingest, "pacing: waiting for the consumer group", WAIT_MS);
    assert_true(workerproc_log_count(&ingest, "\"group\":\"mni-assess\"") > 0);
    /* Ingest stopped taking batches: the input waits in incident.events. */
    long long forwarded = sqlcheck_int(db.conn, "SELECT count(*) FROM event_log", NULL);
    assert_true(forwarded < (long long)events);
    size_t count, largest, bytes = topic_bytes(mk, "incident.accepted", &count, &largest);
    fprintf(stderr,
            "ingest_paced: %zu events, %zu on incident.accepted (fullest partition %zu bytes, "
            "largest %zu)\n",
            events, count, bytes, largest);
    assert_true(bytes <= LIMIT + INGEST_BATCH * largest);
    assert_true(committed("mni-ingest", "incident.events") < (long long)events);
    assert_true(
        promtext_scrape(
            port, "mni_pace_waits_total{component=\"ingest\",topic=\"incident.accepted\"}") >= 1);

    /* mni-assess reads: ingest goes on, every event is forwarded and assessed. */
    start_worker(&assess, mk, "mni-assess", "mni-assess", LIMIT, 0);
    char want[32];
    snprintf(want, sizeof want, "%zu", events);
    wait_sql("SELECT count(*) FROM event_log", NULL, want, &ingest);
    wait_sql("SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = "
             "'mni-assess' AND topic = 'incident.accepted'",
             NULL, want, &assess);
    assert_int_equal(sqlcheck_int(db.conn, "SELECT count(*) FROM cases", NULL), INCIDENTS);
    stop_worker(&assess);
    stop_worker(&ingest);
    assert_int_equal(sqlcheck_int(db.conn, "SELECT count(*) FROM consumer_gaps", NULL), 0);
    mockkafka_stop(mk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(relay_paced, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(relay_unpaced, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(held_rows_unread, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(late_row_relayed, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(relayed_without_compacted_lock, case_setup, case_teardown),
        cmocka_unit_test_setup_teardown(ingest_paced, case_setup, case_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
