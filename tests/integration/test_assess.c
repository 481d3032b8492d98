/*
 * The assess worker end to end, against a real PostgreSQL and the mock Kafka cluster, with the
 * real mni-assess binary: the demo scenario's events (examples/scenario) in; the right case
 * state, versions, headcounts, deadlines and tasks out; replaying the events changes nothing;
 * a worker killed with SIGKILL in the middle of a batch and restarted ends in the same
 * PostgreSQL state and the same tasks as an uninterrupted run.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/arena.h"
#include "lib/model/records.h"
#include "lib/pg/pgx.h"
#include "lib/serdes/schema_set.h"
#include "tests/support/casestate.h"
#include "tests/support/histories.h"
#include "tests/support/httpget.h"
#include "tests/support/mockkafka.h"
#include "tests/support/promtext.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define SCENARIO_1 "examples/scenario/01-first-reports.jsonl"
#define SCENARIO_2 "examples/scenario/02-later-updates.jsonl"
#define WORKER_TIMEOUT_MS 90000
#define STREAM_TOPIC "incident.accepted.stream"

static mockkafka *kafka;

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"incident.accepted", 3}, {"incident.dlq", 1}, {"case.assessments", 3},
        {"notify.tasks", 3},      {STREAM_TOPIC, 3},   {"incident.accepted.late", 1}};
    if (mockkafka_setup(&kafka, topics, 6) != 0) return -1;
    const char *b = mockkafka_bootstraps(kafka);
    return topicio_produce_jsonl(b, "incident.accepted", SCENARIO_1) == 8 &&
                   topicio_produce_jsonl(b, "incident.accepted", SCENARIO_2) == 3
               ? 0
               : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

/* Runs mni-assess on db as consumer group `group` until it has been idle for 2.5 s. */
static void run_assess(testenv_db *db, const char *group, const char *const *env)
{
    workerproc_run_until_idle("mni-assess", db->conninfo, mockkafka_bootstraps(kafka), group, env,
                              2500, WORKER_TIMEOUT_MS, NULL);
}

/* Every record on case.assessments says what its version says: its verdict is the document
 * case_verdict() puts back together. The newest version of each case in a batch comes with the
 * record assess made from the verdict in hand (the relay sends it as it is); at least one
 * such record was sent. */
static void assessments_match_versions(PGconn *pg)
{
    sqlcheck_equal(pg,
                   "SELECT count(*) > 0 FROM outbox o WHERE topic = 'assessments' AND record IS "
                   "NOT NULL AND failed_at IS NULL AND NOT EXISTS (SELECT FROM outbox_queue q "
                   "WHERE q.task_id = o.task_id)",
                   NULL, "t");
    char err[512];
    schema_set *schemas;
    if (schema_set_load_default(&schemas, err, sizeof err) != 0) fail_msg("schemas: %s", err);
    topicio_messages m;
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "case.assessments", 3,
                                         WORKER_TIMEOUT_MS, &m),
                     0);
    assert_true(m.n >= 3);
    mni_arena arena;
    arena_init(&arena);
    for (size_t i = 0; i < m.n; i++) {
        records_case_assessment a;
        arena_reset(&arena);
        if (records_case_assessment_decode(schemas, m.msgs[i].value, m.msgs[i].value_len, &arena,
                                           &a, err, sizeof err) != 0)
            fail_msg("assessment %zu: %s", i, err);
        char version[24];
        snprintf(version, sizeof version, "%lld", (long long)a.version);
        char total[24];
        snprintf(total, sizeof total, "%lld", (long long)a.headcount_total);
        const char *q[] = {a.incident_id, version, a.verdict_json, total};
        PGresult *res = PQexecParams(pg,
                                     "SELECT case_verdict($1, $2::integer) = $3::jsonb AND "
                                     "$3::jsonb->'headcount'->>'total' = $4",
                                     4, NULL, q, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || strcmp(PQgetvalue(res, 0, 0), "t") != 0)
            fail_msg("assessment of %s version %s does not match case_verdict(): %s", a.incident_id,
                     version, PQresultErrorMessage(res));
        PQclear(res);
    }
    arena_free(&arena);
    topicio_messages_free(&m);
    schema_set_free(schemas);
}

static void test_scenario_state_and_replay(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    run_assess(&db, "assess-scenario", NULL);
    PGconn *pg = db.conn;

    sqlcheck_equal(pg, "SELECT count(*) FROM cases", NULL, "3");
    sqlcheck_equal(pg, "SELECT count(*) FROM case_events", NULL, "11");
    /* The misdirected mailing: two clients whose persons overlap (60 + 70 tokens, 15 shared),
     * 95 distinct at first, 115 once the second batch of BETA arrives: MN-2-4 fires for the
     * contractor only, so it reports directly; clocks start when the count passed 100. */
    const char *mailing = "INC-2026-0101";
    sqlcheck_equal(pg,
                   "SELECT persons_total||' '||reportable||' '||direct_report||' '||"
                   "(mandatory_since AT TIME ZONE 'UTC')||' '||version FROM cases "
                   "WHERE incident_id = $1",
                   mailing, "115 true true 2026-11-19 06:00:00 3");
    sqlcheck_equal(pg,
                   "SELECT string_agg(client_id||'='||token_count, ',' ORDER BY client_id) FROM "
                   "client_exposure WHERE incident_id = $1",
                   mailing, "C-ACME=60,C-BETA=70");
    sqlcheck_equal(pg,
                   "SELECT string_agg(version||':'||(verdict->'my_number'->>'status')||':'||"
                   "(verdict->'headcount'->>'total'), ' ' ORDER BY version) FROM case_versions "
                   "WHERE incident_id = $1",
                   mailing, "1:voluntary:60 2:voluntary:95 3:mandatory:115");
    sqlcheck_equal(pg,
                   "SELECT verdict->>'route'||' '||(verdict->'my_number'->>'rules') FROM "
                   "case_versions WHERE incident_id = $1 AND version = 3",
                   mailing, "direct_report [\"MN-2-4\"]");
    sqlcheck_equal(
        pg,
        "SELECT string_agg(kind||':'||coalesce(client_id,'-')||':'||coalesce(due_date::"
        "text, to_char(due_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD\"T\"HH24:MI:SS')), "
        "' ' ORDER BY kind, client_id) FROM deadlines WHERE incident_id = $1",
        mailing,
        "client_notice:C-ACME:2026-11-19T10:00:00 client_notice:C-BETA:2026-11-20T23:59:59 "
        "ppc_final:-:2026-12-18 ppc_preliminary:-:2026-11-21");
    sqlcheck_equal(pg,
                   "SELECT string_agg(kind, ',' ORDER BY kind) FROM outbox WHERE incident_id = $1 "
                   "AND topic = 'tasks'",
                   mailing,
                   "client_notice,client_notice,ppc_final,ppc_preliminary,principal_notice");
    sqlcheck_equal(pg, "SELECT count(*) FROM case_steps WHERE incident_id = $1", mailing, "1");
    /* The distinct count is kept incrementally and agrees with the tokens themselves. */
    sqlcheck_equal(pg,
                   "SELECT distinct_tokens || ' ' || (SELECT count(*) FROM incident_persons p "
                   "WHERE p.incident_id = $1) FROM cases WHERE incident_id = $1",
                   mailing, "115 115");

    /* The insider case: MN-2-2 at any headcount, so every client reports itself and the
     * contractor only notifies them (60-day final report); the notice filed to GAMMA meets its
     * deadline. Mandatory from the start: clocks from the knowledge time. */
    const char *insider = "INC-2026-0102";
    sqlcheck_equal(pg,
                   "SELECT (verdict->>'route')||' '||(verdict->'deadlines'->>'final_days')||' '||"
                   "(verdict->'my_number'->>'rules') FROM case_versions v JOIN cases c USING "
                   "(incident_id) WHERE incident_id = $1 AND v.version = c.version",
                   insider, "notify_clients 60 [\"MN-2-2\"]");
    sqlcheck_equal(pg,
                   "SELECT mandatory_since AT TIME ZONE 'UTC' FROM cases WHERE incident_id = $1",
                   insider, "2026-11-19 00:15:00");
    sqlcheck_equal(pg,
                   "SELECT string_agg(kind||':'||client_id, ',' ORDER BY client_id) FROM outbox "
                   "WHERE incident_id = $1 AND topic = 'tasks'",
                   insider, "client_notice:C-ACME,client_notice:C-GAMMA");
    sqlcheck_equal(pg,
                   "SELECT string_agg(client_id||':'||(met_at IS NOT NULL), ',' ORDER BY "
                   "client_id) FROM deadlines WHERE incident_id = $1",
                   insider, "C-ACME:false,C-GAMMA:true");

    /* The encrypted laptop: nothing to report, nothing owed. */
    sqlcheck_equal(pg,
                   "SELECT (verdict->'my_number'->>'status')||' '||(SELECT count(*) FROM outbox o "
                   "WHERE o.incident_id = $1 AND o.topic = 'tasks') FROM case_versions WHERE "
                   "incident_id = $1",
                   "INC-2026-0103", "none 0");

    /* Every outbox row was relayed, and the tasks are on the topic with their ids. */
    sqlcheck_equal(pg,
                   "SELECT (SELECT count(*) FROM outbox_queue) + (SELECT count(*) FROM outbox "
                   "WHERE failed_at IS NOT NULL)",
                   NULL, "0");
    topicio_messages tasks;
    assert_int_equal(
        topicio_read_all(mockkafka_bootstraps(kafka), "notify.tasks", 3, 7, 3000, &tasks), 0);
    assert_true(tasks.n >= 7);
    for (size_t i = 0; i < tasks.n; i++) {
        char id[64];
        topicio_header(&tasks.msgs[i], "mni.task_id", id, sizeof id);
        sqlcheck_equal(pg, "SELECT count(*) FROM outbox WHERE task_id = $1 AND topic = 'tasks'", id,
                       "1");
    }
    topicio_messages_free(&tasks);
    assessments_match_versions(pg);
    sqlcheck_equal(pg, "SELECT audit_log_verify() IS NULL", NULL, "t");

    /* Replay: the same events again on the topic, read by the same group: nothing changes. */
    char *before = casestate_text(pg, 0);
    assert_int_equal(
        topicio_produce_jsonl(mockkafka_bootstraps(kafka), "incident.accepted", SCENARIO_1), 8);
    run_assess(&db, "assess-scenario", NULL);
    char *after = casestate_text(pg, 0);
    assert_string_equal(before, after);
    free(before);
    free(after);
    testenv_db_drop(&db);
}

static void test_sigkill_mid_batch_converges(void **state)
{
    (void)state;
    testenv_db plain, crashed;
    testenv_db_create(&plain, 1);
    testenv_db_create(&crashed, 1);
    run_assess(&plain, "assess-plain", NULL);

    /* Small batches and a pause before each COMMIT: the kill lands after the second batch's
     * work was done in PostgreSQL but before it was committed. */
    const char *env[] = {"MNI_BATCH_SIZE=3", "MNI_TEST_PAUSE_BEFORE_COMMIT_MS=1500", NULL};
    const char *argv[] = {"--exit-when-idle", "60000", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-assess", crashed.conninfo,
                                      mockkafka_bootstraps(kafka), "assess-crash", env, argv),
                     0);
    int waited = 0;
    while (workerproc_log_count(&w, "pausing before commit") < 2 && waited < WORKER_TIMEOUT_MS) {
        usleep(50 * 1000);
        waited += 50;
    }
    if (workerproc_log_count(&w, "pausing before commit") < 2) {
        workerproc_dump_log(&w);
        fail_msg("the worker never reached its second commit");
    }
    workerproc_signal(&w, SIGKILL);
    assert_int_equal(workerproc_wait(&w, 10000), 128 + SIGKILL);
    /* Only the first batch (at most 3 events) committed; the killed one left nothing. */
    char *partial = sqlcheck_text(crashed.conn, "SELECT count(*) FROM case_events", NULL);
    assert_true(atoi(partial) >= 1 && atoi(partial) <= 3);
    free(partial);
    unlink(w.log_path);

    run_assess(&crashed, "assess-crash", NULL);
    char *want = casestate_text(plain.conn, 0), *got = casestate_text(crashed.conn, 0);
    assert_string_equal(want, got);
    free(want);
    free(got);
    testenv_db_drop(&plain);
    testenv_db_drop(&crashed);
}

/* An event that makes the facts impossible (a count no one can believe) is dead-lettered with
 * the rule core's reason, its effects are rolled back to its savepoint, and the next event of
 * the same incident (same partition) is still applied. */
static void test_impossible_event_is_dead_lettered(void **state)
{
    (void)state;
    const char *topic = "incident.accepted.bad";
    const char *b = mockkafka_bootstraps(kafka);
    assert_int_equal(topicio_produce_jsonl(b, topic, SCENARIO_1), 8);
    char path[] = "/tmp/mni-bad-events-XXXXXX";
    int fd = mkstemp(path);
    const char *lines =
        "{\"event_id\":\"EV-BAD-1\",\"incident_id\":\"INC-2026-0102\",\"tenant\":\"bpo-sakura\","
        "\"occurred_at\":\"2026-11-19T12:00:00+09:00\",\"type\":\"exposure_count\",\"body\":"
        "{\"client_id\":\"C-GAMMA\",\"persons\":20000000000}}\n"
        "{\"event_id\":\"EV-GOOD-2\",\"incident_id\":\"INC-2026-0102\",\"tenant\":\"bpo-sakura\","
        "\"occurred_at\":\"2026-11-19T12:05:00+09:00\",\"type\":\"exposure_count\",\"body\":"
        "{\"client_id\":\"C-GAMMA\",\"persons\":13}}\n";
    assert_int_equal(write(fd, lines, strlen(lines)), (ssize_t)strlen(lines));
    close(fd);
    assert_int_equal(topicio_produce_jsonl(b, topic, path), 2);
    unlink(path);

    testenv_db db;
    testenv_db_create(&db, 1);
    const char *env[] = {"MNI_TOPIC_ACCEPTED=incident.accepted.bad", NULL};
    run_assess(&db, "assess-bad", env);
    sqlcheck_equal(db.conn,
                   "SELECT persons FROM client_exposure WHERE incident_id = 'INC-2026-0102' AND "
                   "client_id = 'C-GAMMA'",
                   NULL, "13");
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM case_events WHERE "
                   "event_id LIKE 'EV-BAD%' OR event_id LIKE 'EV-GOOD%'",
                   NULL, "EV-GOOD-2");
    topicio_messages dlq;
    assert_int_equal(topicio_read_to_end(b, "incident.dlq", 1, 60000, &dlq), 0);
    int found = 0;
    for (size_t i = 0; i < dlq.n; i++) {
        char reason[64], detail[512], origin[64];
        topicio_header(&dlq.msgs[i], "mni.reason", reason, sizeof reason);
        topicio_header(&dlq.msgs[i], "mni.detail", detail, sizeof detail);
        topicio_header(&dlq.msgs[i], "mni.origin.topic", origin, sizeof origin);
        if (!strcmp(origin, topic)) {
            assert_string_equal(reason, "not_applicable");
            assert_non_null(strstr(detail, "invalid_facts: clients[1].persons: more than"));
            found++;
        }
    }
    assert_int_equal(found, 1);
    topicio_messages_free(&dlq);
    testenv_db_drop(&db);
}

/* Issue 8 item 1(b): an event that first makes a case mandatory with an occurred_at after
 * 2099-10-31 starts a clock the rule core refuses. It is dead-lettered (not_applicable, the
 * core's reason) instead of stopping the worker, and the next event of the same partition is
 * applied. */
static void test_clock_start_refused_is_dead_lettered(void **state)
{
    (void)state;
    const char *topic = "incident.accepted.late";
    const char *b = mockkafka_bootstraps(kafka);
    char path[] = "/tmp/mni-late-events-XXXXXX";
    int fd = mkstemp(path);
    const char *lines =
        "{\"event_id\":\"EV-LATE-0\",\"incident_id\":\"INC-LATE-1\",\"tenant\":\"bpo-sakura\","
        "\"occurred_at\":\"2026-11-19T10:00:00+09:00\",\"type\":\"incident_opened\",\"body\":"
        "{\"known_at\":\"2026-11-19T09:00:00+09:00\",\"title\":\"late\",\"reporter\":{\"role\":"
        "\"own\",\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":[\"leak\"],"
        "\"certainty\":\"confirmed\",\"improper_purpose\":\"none\",\"systems\":[],"
        "\"unspecified_viewing\":\"none\",\"encrypted_protected\":false,"
        "\"recovered_unviewed\":false,\"intact_copy\":false}}\n"
        "{\"event_id\":\"EV-LATE-1\",\"incident_id\":\"INC-LATE-1\",\"tenant\":\"bpo-sakura\","
        "\"occurred_at\":\"2026-11-19T11:00:00+09:00\",\"type\":\"exposure_count\",\"body\":"
        "{\"client_id\":\"DS-1\",\"persons\":5}}\n"
        "{\"event_id\":\"EV-LATE-2100\",\"incident_id\":\"INC-LATE-1\",\"tenant\":"
        "\"bpo-sakura\",\"occurred_at\":\"2100-01-01T10:00:00+09:00\",\"type\":"
        "\"exposure_count\",\"body\":{\"client_id\":\"DS-1\",\"persons\":150}}\n"
        "{\"event_id\":\"EV-LATE-3\",\"incident_id\":\"INC-LATE-1\",\"tenant\":\"bpo-sakura\","
        "\"occurred_at\":\"2026-11-20T11:00:00+09:00\",\"type\":\"exposure_count\",\"body\":"
        "{\"client_id\":\"DS-1\",\"persons\":7}}\n";
    assert_int_equal(write(fd, lines, strlen(lines)), (ssize_t)strlen(lines));
    close(fd);
    assert_int_equal(topicio_produce_jsonl(b, topic, path), 4);
    unlink(path);

    testenv_db db;
    testenv_db_create(&db, 1);
    const char *env[] = {"MNI_TOPIC_ACCEPTED=incident.accepted.late", NULL};
    run_assess(&db, "assess-late", env);
    /* The 2100 count changed nothing; the one after it was applied. */
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM case_events WHERE "
                   "incident_id = 'INC-LATE-1'",
                   NULL, "EV-LATE-0,EV-LATE-1,EV-LATE-3");
    sqlcheck_equal(db.conn,
                   "SELECT e.persons::text||':'||(c.mandatory_since IS NULL)::text FROM "
                   "client_exposure e JOIN "
                   "cases c USING (incident_id) WHERE incident_id = 'INC-LATE-1'",
                   NULL, "7:true");
    topicio_messages dlq;
    assert_int_equal(topicio_read_to_end(b, "incident.dlq", 1, 60000, &dlq), 0);
    int found = 0;
    for (size_t i = 0; i < dlq.n; i++) {
        char reason[64], detail[512], origin[64];
        topicio_header(&dlq.msgs[i], "mni.reason", reason, sizeof reason);
        topicio_header(&dlq.msgs[i], "mni.detail", detail, sizeof detail);
        topicio_header(&dlq.msgs[i], "mni.origin.topic", origin, sizeof origin);
        if (strcmp(origin, topic) != 0) continue;
        assert_string_equal(reason, "not_applicable");
        if (!strstr(detail, "clock start refused")) fail_msg("detail: %s", detail);
        found++;
    }
    assert_int_equal(found, 1);
    topicio_messages_free(&dlq);
    testenv_db_drop(&db);
}

/* The worker's /healthz and /metrics as a scraper sees them while it runs. */
static void test_metrics_and_health(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    int port = httpget_free_port();
    char port_env[64];
    snprintf(port_env, sizeof port_env, "MNI_METRICS_PORT=%d", port);
    const char *env[] = {port_env, NULL};
    const char *argv[] = {"--exit-when-idle", "4000", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-assess", db.conninfo, mockkafka_bootstraps(kafka),
                                      "assess-metrics", env, argv),
                     0);
    char *body = NULL;
    int status = -1, waited = 0;
    /* Before the assignment: up, but not ready. */
    while ((status = httpget(port, "/healthz", &body)) == -1 && waited < 10000) {
        usleep(50 * 1000);
        waited += 50;
    }
    assert_true(status == 503 || status == 200);
    free(body);
    /* Once every event is applied, the counters say so and the worker is healthy. */
    char *applied = NULL;
    for (waited = 0; waited < WORKER_TIMEOUT_MS; waited += 100) {
        free(applied);
        applied = sqlcheck_text(db.conn, "SELECT count(*) FROM case_events", NULL);
        if (!strcmp(applied, "11")) break;
        usleep(100 * 1000);
    }
    assert_string_equal(applied, "11");
    free(applied);
    usleep(1500 * 1000); /* the relay's tick after the last batch */
    assert_int_equal(httpget(port, "/healthz", &body), 200);
    assert_string_equal(body, "ok\n");
    free(body);
    assert_int_equal(httpget(port, "/metrics", &body), 200);
    assert_true(promtext_component(body, "assess", "mni_messages_consumed_total") >= 11);
    assert_true(promtext_component(body, "assess", "mni_batches_committed_total") >= 1);
    assert_int_equal(promtext_component(body, "assess", "mni_batches_rolled_back_total"), 0);
    assert_true(promtext_component(body, "assess", "mni_outbox_relayed_total") >= 7);
    assert_int_equal(promtext_component(body, "assess", "mni_up"), 1);
    assert_true(promtext_component(body, "assess", "mni_last_commit_timestamp_seconds") >
                1700000000);
    free(body);
    assert_int_equal(httpget(port, "/nope", &body), 404);
    free(body);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0) workerproc_dump_log(&w);
    assert_int_equal(rc, 0);
    unlink(w.log_path);
    testenv_db_drop(&db);
}

/* SIGTERM while a batch is in hand: the batch is finished and committed, the consumer leaves
 * its group, and the worker exits 0. (Killed at the same point, it commits nothing.) */
static void test_sigterm_finishes_the_batch(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    const char *env[] = {"MNI_BATCH_SIZE=3", "MNI_TEST_PAUSE_BEFORE_COMMIT_MS=1500", NULL};
    const char *argv[] = {"--exit-when-idle", "60000", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-assess", db.conninfo, mockkafka_bootstraps(kafka),
                                      "assess-term", env, argv),
                     0);
    int waited = 0;
    while (workerproc_log_count(&w, "pausing before commit") < 1 && waited < WORKER_TIMEOUT_MS) {
        usleep(20 * 1000);
        waited += 20;
    }
    workerproc_signal(&w, SIGTERM);
    int rc = workerproc_wait(&w, 20000);
    if (rc != 0 || workerproc_log_count(&w, "\"stopped\"") != 1) {
        workerproc_dump_log(&w);
        fail_msg("mni-assess exited %d after SIGTERM", rc);
    }
    assert_int_equal(workerproc_log_count(&w, "signal received"), 1);
    char *applied = sqlcheck_text(db.conn, "SELECT count(*) FROM case_events", NULL);
    char *offsets = sqlcheck_text(db.conn,
                                  "SELECT coalesce(sum(next_offset), 0) FROM "
                                  "consumer_offsets WHERE group_id = 'assess-term'",
                                  NULL);
    /* The batch in hand (1 to 3 messages) was committed with its offsets, and nothing after
     * it. The topic also holds the replay of test_scenario_state_and_replay, so a message of
     * the batch may be a replay (skipped: consumed, not applied again). */
    assert_true(atoi(offsets) >= 1 && atoi(offsets) <= 3);
    assert_true(atoi(applied) >= 1 && atoi(applied) <= atoi(offsets));
    free(applied);
    free(offsets);
    unlink(w.log_path);
    testenv_db_drop(&db);
}

/* ---- a generated stream: the results must not depend on how batches were cut ---- */

/* The clients of the manifests rotate over C-00..C-03. */
static void stream_client(int step, int incident, char out[16])
{
    snprintf(out, 16, "C-%02d", (step + incident) % 4);
}

static const histories_shape stream_shape = {"S", "person-", stream_client};

/* A mixed stream of six contractor incidents, interleaved (tests/support/histories.h: manifests
 * of persons shared between clients, the distinct count passing 100 in the middle of the
 * stream, a batch id sent twice, counts with a possible maximum, a facts update, a step, a
 * filing that meets a deadline, a closing), and besides: a replayed event, a count for the
 * closed incident and an event of an unknown incident. */
static void build_stream(histories_stream *s)
{
    for (int step = 0; step < 8; step++)
        for (int inc = 1; inc <= 6; inc++) {
            histories_step(s, &stream_shape, step, inc);
            if (step == 3 && inc == 2) { /* a plain replay of an earlier event */
                char client[16];
                stream_client(1, inc, client);
                histories_manifest(s, &stream_shape, "EV-S-02-01", "INC-S-02", step * 7 + inc,
                                   client, "b-1", inc * 1000 + 20, 40);
            }
        }
    histories_event(s, "EV-S-03-99", "INC-S-03", 500, "exposure_count",
                    "{\"client_id\":\"C-01\",\"persons\":7}");
    histories_event(s, "EV-S-99-00", "INC-S-UNKNOWN", 501, "exposure_count",
                    "{\"client_id\":\"C-01\",\"persons\":7}");
}

static int stream_produced;

static void produce_stream_once(void)
{
    if (stream_produced) return;
    histories_stream s = {0};
    build_stream(&s);
    histories_produce(&s, 0, mockkafka_bootstraps(kafka), STREAM_TOPIC);
    histories_free(&s);
    stream_produced = 1;
}

/* The same stream assessed with batch.size 1 and with batch.size 500 ends in the same rows,
 * table for table (processing timestamps left out), and the stream exercises what it should. */
static void test_batch_cut_does_not_matter(void **state)
{
    (void)state;
    produce_stream_once();
    testenv_db one, many;
    testenv_db_create(&one, 1);
    testenv_db_create(&many, 1);
    const char *env_one[] = {"MNI_TOPIC_ACCEPTED=" STREAM_TOPIC, "MNI_BATCH_SIZE=1", NULL};
    const char *env_many[] = {"MNI_TOPIC_ACCEPTED=" STREAM_TOPIC, "MNI_BATCH_SIZE=500", NULL};
    run_assess(&one, "assess-cut-1", env_one);
    run_assess(&many, "assess-cut-500", env_many);
    char *a = casestate_text(one.conn, 0), *b = casestate_text(many.conn, 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* The stream did what it was written to do (so that equality means something). */
    sqlcheck_equal(many.conn, "SELECT count(*) FROM cases", NULL, "6");
    sqlcheck_equal(many.conn, "SELECT count(*) FROM case_events WHERE event_id LIKE 'EV-S-%-03'",
                   NULL, "6");
    sqlcheck_equal(many.conn, "SELECT count(*) FROM exposure_batches WHERE batch_id = 'b-1'", NULL,
                   "6"); /* the repeated batch id of step 3 was not merged again */
    sqlcheck_equal(many.conn,
                   "SELECT count(*) FROM cases WHERE mandatory_since IS NOT NULL AND "
                   "mandatory_since > known_at",
                   NULL, "6"); /* each clock started at the event that passed 100 */
    sqlcheck_equal(many.conn, "SELECT distinct_tokens FROM cases WHERE incident_id = 'INC-S-01'",
                   NULL, "110");
    sqlcheck_equal(many.conn,
                   "SELECT count(*) FROM deadlines WHERE met_at IS NOT NULL AND kind = "
                   "'ppc_preliminary'",
                   NULL, "3");
    sqlcheck_equal(many.conn, "SELECT status FROM cases WHERE incident_id = 'INC-S-03'", NULL,
                   "closed");
    sqlcheck_equal(many.conn,
                   "SELECT count(*) FROM case_events WHERE event_id IN ('EV-S-03-99', "
                   "'EV-S-99-00')",
                   NULL, "1"); /* the unknown incident's event was dead-lettered */
    /* A client's own facts reach its exposure row and its own verdict. */
    sqlcheck_equal(many.conn,
                   "SELECT e.public_body::text || e.local_government::text || e.appi_persons || "
                   "'|' || (SELECT x ->> 'public_body' FROM jsonb_array_elements(case_verdict("
                   "c.incident_id, c.version) -> 'clients') x WHERE x ->> 'client_id' = 'C-X4') "
                   "FROM client_exposure e JOIN cases c USING (incident_id) "
                   "WHERE e.client_id = 'C-X4'",
                   NULL, "truetrue150|true");
    /* Tasks are queued with the bytes the relay sends (migration 0014), and carry no verdict. */
    sqlcheck_equal(many.conn,
                   "SELECT (count(*) > 0)::text || '|' || count(*) FILTER (WHERE record IS NULL OR "
                   "payload ? 'verdict' OR get_byte(record, 0) <> 0) FROM outbox "
                   "WHERE topic = 'tasks'",
                   NULL, "true|0");
    testenv_db_drop(&one);
    testenv_db_drop(&many);
}

/* Two mni-assess instances in one consumer group share the partitions and end in the same
 * state as one instance alone. */
static void test_two_instances_same_state(void **state)
{
    (void)state;
    produce_stream_once();
    testenv_db alone, pair;
    testenv_db_create(&alone, 1);
    testenv_db_create(&pair, 1);
    const char *env[] = {"MNI_TOPIC_ACCEPTED=" STREAM_TOPIC, "MNI_BATCH_SIZE=7", NULL};
    run_assess(&alone, "assess-alone", env);
    const char *argv[] = {"--exit-when-idle", "4000", NULL};
    workerproc w[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(workerproc_start(&w[i], "mni-assess", pair.conninfo,
                                          mockkafka_bootstraps(kafka), "assess-pair", env, argv),
                         0);
    int assigned_to_both = 0;
    for (int i = 0; i < 2; i++) {
        int rc = workerproc_wait(&w[i], WORKER_TIMEOUT_MS);
        if (rc != 0) {
            workerproc_dump_log(&w[i]);
            fail_msg("mni-assess #%d exited %d", i, rc);
        }
        assigned_to_both += workerproc_log_count(&w[i], "partition assigned") > 0;
        unlink(w[i].log_path);
    }
    assert_int_equal(assigned_to_both, 2);
    char *a = casestate_text(alone.conn, 0), *b = casestate_text(pair.conn, 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    testenv_db_drop(&alone);
    testenv_db_drop(&pair);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario_state_and_replay),
        cmocka_unit_test(test_sigkill_mid_batch_converges),
        cmocka_unit_test(test_sigterm_finishes_the_batch),
        cmocka_unit_test(test_impossible_event_is_dead_lettered),
        cmocka_unit_test(test_clock_start_refused_is_dead_lettered),
        cmocka_unit_test(test_metrics_and_health),
        cmocka_unit_test(test_batch_cut_does_not_matter),
        cmocka_unit_test(test_two_instances_same_state),
    };
    return cmocka_run_group_tests_name("assess worker", tests, group_setup, group_teardown);
}
