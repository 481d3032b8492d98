/*
 * test_metrics: what an SRE scrapes from running workers (lib/runtime/metrics.h), read over HTTP
 * from the real mni-ingest and mni-notify on the mock Kafka cluster and a migrated PostgreSQL.
 *
 *   ingest_series        /readyz answers 503 "not assigned" or 200 "ready", never anything
 *                        else, and 200 once assigned; /livez 200. The scenario's 8 events go in
 *                        one per batch, each batch held 300 ms before its commit: the lag of
 *                        the busy partition (librdkafka statistics every 200 ms) is seen above 0,
 *                        then every partition's lag is 0. One message that is not an event:
 *                        mni_dead_letters_total of the reason its dead letter carries is 1,
 *                        mni_events_total says 8 accepted, 1 dead_lettered. The histogram counts
 *                        every batch, cumulative buckets, +Inf equal to the count. Then
 *                        event_log refuses inserts (a trigger raising SQLSTATE 53100): an event
 *                        produced meanwhile is retried, mni_postgres_errors_total{code="53100"}
 *                        rises, /healthz says failing while /readyz stays ready; the trigger
 *                        dropped, the event is stored and /healthz is ok.
 *   notify_gauges        PostgreSQL gauges read by mni-notify's tick (metrics.gauges_ms 200):
 *                        open deadlines one hour over, two hours ahead, ten days ahead and one
 *                        met: due_soon 1, overdue 1; meeting the overdue one brings it to 0.
 *                        An outbox row the relay cannot encode, two hours old, stays
 *                        unpublished: mni_outbox_unpublished{topic="tasks"} 1 and its age about
 *                        7,200 s; the other logical topics 0.
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

#include "tests/support/httpget.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define SCENARIO "examples/scenario/01-first-reports.jsonl"
#define SCENARIO_EVENTS 8
#define PARTITIONS 3
#define WAIT_MS 60000

static testenv_db db;

static void sql(const char *statement)
{
    PGresult *r = PQexec(db.conn, statement);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", statement, PQerrorMessage(db.conn));
    PQclear(r);
}

/* One sample of a /metrics body, the series written in full ("name{labels}"); -1 if absent. */
static double sample(const char *body, const char *series)
{
    char key[512];
    snprintf(key, sizeof key, "\n%s ", series);
    const char *at = strstr(body, key);
    return at ? atof(at + strlen(key)) : -1;
}

static char *scrape(int port)
{
    char *body = NULL;
    int status = httpget(port, "/metrics", &body);
    if (status != 200) fail_msg("/metrics answered %d", status);
    return body;
}

/* Waits until series of port's /metrics satisfies cmp against want; returns the last value. */
static double wait_sample(workerproc *w, int port, const char *series, char cmp, double want)
{
    double v = -1;
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(50 * 1000)) {
        char *body = scrape(port);
        v = sample(body, series);
        free(body);
        if ((cmp == '=' && v == want) || (cmp == '>' && v > want)) return v;
    }
    workerproc_dump_log(w);
    fail_msg("%s: wanted %c %g, last %g", series, cmp, want, v);
    return v;
}

/* Waits until path answers status with a body starting with prefix. */
static void wait_probe(workerproc *w, int port, const char *path, int status, const char *prefix)
{
    char *body = NULL;
    int got = -1;
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(50 * 1000)) {
        free(body);
        body = NULL;
        got = httpget(port, path, &body);
        if (got == status && body && !strncmp(body, prefix, strlen(prefix))) {
            free(body);
            return;
        }
    }
    workerproc_dump_log(w);
    fail_msg("%s: wanted %d %s..., last %d %s", path, status, prefix, got, body ? body : "");
}

static void produce_raw(const char *bootstrap, const char *topic, const char *key,
                        const char *value)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
        fail_msg("%s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) fail_msg("%s", errstr);
    rd_kafka_resp_err_t e =
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) fail_msg("produce: %s", rd_kafka_err2str(e));
    if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) fail_msg("produce: not flushed");
    rd_kafka_destroy(rk);
}

static void finish(workerproc *w)
{
    workerproc_signal(w, SIGTERM);
    int rc = workerproc_wait(w, WAIT_MS);
    if (rc != 0) {
        workerproc_dump_log(w);
        fail_msg("%s exited with %d", w->log_path, rc);
    }
    unlink(w->log_path);
}

static int setup(void **state)
{
    (void)state;
    testenv_db_create(&db, 1);
    unsetenv("MNI_CONFIG");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testenv_db_drop(&db);
    return 0;
}

static void ingest_series(void **state)
{
    (void)state;
    const mockkafka_topic topics[] = {{"incident.events", PARTITIONS},
                                      {"incident.accepted", PARTITIONS},
                                      {"incident.dlq", PARTITIONS}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, 3, err, sizeof err);
    if (!mk) fail_msg("%s", err);
    const char *bootstrap = mockkafka_bootstraps(mk);
    int port = httpget_free_port();
    char port_env[64];
    snprintf(port_env, sizeof port_env, "MNI_METRICS_PORT=%d", port);
    const char *env[] = {port_env,           "MNI_KAFKA_STATISTICS_INTERVAL_MS=200",
                         "MNI_BATCH_SIZE=1", "MNI_TEST_PAUSE_BEFORE_COMMIT_MS=300",
                         "MNI_TICK_MS=200",  NULL};
    workerproc w;
    assert_int_equal(
        workerproc_start(&w, "mni-ingest", db.conninfo, bootstrap, "metrics-ingest", env, NULL), 0);

    /* Before the assignment /readyz says why not; after it, ready. */
    char *body = NULL;
    int status = -1;
    for (double t0 = testenv_now_ms(); status == -1 && testenv_now_ms() - t0 < WAIT_MS;
         usleep(50 * 1000))
        status = httpget(port, "/readyz", &body);
    assert_true(status == 200 || status == 503);
    if (status == 503) assert_string_equal(body, "not assigned\n");
    free(body);
    wait_probe(&w, port, "/readyz", 200, "ready\n");
    wait_probe(&w, port, "/livez", 200, "alive\n");

    char series[PARTITIONS][160];
    for (int p = 0; p < PARTITIONS; p++) {
        snprintf(
            series[p], sizeof series[p],
            "mni_consumer_lag{component=\"ingest\",topic=\"incident.events\",partition=\"%d\"}", p);
        wait_sample(&w, port, series[p], '=', 0); /* an empty partition lags by nothing */
    }

    /* Lag while the events are worked off one slow batch at a time, then none. */
    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events", SCENARIO),
                     SCENARIO_EVENTS);
    double max_lag = 0;
    for (double t0 = testenv_now_ms(); max_lag == 0 && testenv_now_ms() - t0 < WAIT_MS;
         usleep(20 * 1000)) {
        body = scrape(port);
        for (int p = 0; p < PARTITIONS; p++)
            if (sample(body, series[p]) > max_lag) max_lag = sample(body, series[p]);
        free(body);
    }
    assert_true(max_lag > 0 && max_lag <= SCENARIO_EVENTS);
    const char *accepted = "mni_events_total{component=\"ingest\",outcome=\"accepted\"}";
    wait_sample(&w, port, accepted, '=', SCENARIO_EVENTS);
    for (int p = 0; p < PARTITIONS; p++)
        wait_sample(&w, port, series[p], '=', 0);

    /* A dead letter counts under the reason it carries. */
    produce_raw(bootstrap, "incident.events", "INC-METRICS", "not an event");
    wait_sample(&w, port, "mni_events_total{component=\"ingest\",outcome=\"dead_lettered\"}", '=',
                1);
    topicio_messages dlq;
    assert_int_equal(topicio_read_to_end(bootstrap, "incident.dlq", PARTITIONS, WAIT_MS, &dlq), 0);
    assert_int_equal(dlq.n, 1);
    char reason[64], dl_series[160];
    topicio_header(&dlq.msgs[0], "mni.reason", reason, sizeof reason);
    topicio_messages_free(&dlq);
    assert_true(reason[0] != '\0');
    snprintf(dl_series, sizeof dl_series,
             "mni_dead_letters_total{component=\"ingest\",reason=\"%s\"}", reason);
    body = scrape(port);
    assert_int_equal(sample(body, dl_series), 1);
    assert_int_equal(sample(body, accepted), SCENARIO_EVENTS);
    assert_int_equal(sample(body, "mni_kafka_up{component=\"ingest\"}"), 1);
    assert_int_equal(sample(body, "mni_ready{component=\"ingest\"}"), 1);
    /* The histogram: cumulative, +Inf equal to the count, every committed batch in it. */
    double count = sample(body, "mni_batch_duration_seconds_count{component=\"ingest\"}");
    double committed = sample(body, "mni_batches_committed_total{component=\"ingest\"}");
    assert_true(committed >= SCENARIO_EVENTS + 1);
    assert_true(count >= committed);
    assert_true(
        sample(body, "mni_batch_duration_seconds_bucket{component=\"ingest\",le=\"+Inf\"}") ==
        count);
    /* Each batch waited 300 ms before its commit: none is in the buckets up to 0.25 s. */
    assert_int_equal(
        sample(body, "mni_batch_duration_seconds_bucket{component=\"ingest\",le=\"0.25\"}"), 0);
    assert_true(sample(body, "mni_batch_duration_seconds_bucket{component=\"ingest\",le=\"30\"}") ==
                count);
    assert_true(sample(body, "mni_batch_duration_seconds_sum{component=\"ingest\"}") >=
                0.3 * count);
    free(body);

    /* PostgreSQL refuses the next insert: counted by SQLSTATE, alarming, but still ready. */
    sql("CREATE FUNCTION metrics_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'refused by test_metrics' USING ERRCODE = '53100'; END $$");
    sql("CREATE TRIGGER metrics_refuse BEFORE INSERT ON event_log FOR EACH ROW EXECUTE FUNCTION "
        "metrics_refuse()");
    char path[] = "/tmp/mni-test-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"event_id\":\"EV-METRICS-1\",\"incident_id\":\"INC-2026-0101\","
               "\"tenant\":\"bpo-sakura\",\"occurred_at\":\"2026-11-19T10:00:00+09:00\","
               "\"producer\":\"helpdesk\",\"type\":\"facts_updated\",\"body\":{\"note\":\"x\"}}\n");
    fclose(f);
    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events", path), 1);
    unlink(path);
    wait_sample(&w, port, "mni_postgres_errors_total{component=\"ingest\",code=\"53100\"}", '>', 0);
    wait_probe(&w, port, "/healthz", 503, "failing\n");
    wait_probe(&w, port, "/readyz", 200, "ready\n");
    sql("DROP TRIGGER metrics_refuse ON event_log");
    wait_sample(&w, port, accepted, '=', SCENARIO_EVENTS + 1);
    wait_probe(&w, port, "/healthz", 200, "ok\n");
    sqlcheck_equal(db.conn, "SELECT count(*) FROM event_log WHERE event_id = $1", "EV-METRICS-1",
                   "1");
    finish(&w);
    mockkafka_stop(mk);
}

static void notify_gauges(void **state)
{
    (void)state;
    const mockkafka_topic topics[] = {
        {"notify.tasks", PARTITIONS}, {"tickets", PARTITIONS}, {"incident.dlq", PARTITIONS}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, 3, err, sizeof err);
    if (!mk) fail_msg("%s", err);
    sql("INSERT INTO cases (incident_id, tenant, opened_at) VALUES ('INC-GAUGES', 'bpo', now())");
    sql("INSERT INTO deadlines (incident_id, kind, due_at, met_at) VALUES "
        "('INC-GAUGES', 'over', now() - interval '1 hour', NULL), "
        "('INC-GAUGES', 'soon', now() + interval '2 hours', NULL), "
        "('INC-GAUGES', 'later', now() + interval '10 days', NULL), "
        "('INC-GAUGES', 'met', now() - interval '3 hours', now() - interval '4 hours')");
    /* A task the relay cannot encode (no fields of a NotifyTask) stays unpublished. */
    sql("INSERT INTO outbox (task_id, topic, incident_id, kind, payload, created_at) VALUES "
        "('metrics-stuck', 'tasks', 'INC-GAUGES', 'reminder', '{}', now() - interval '2 hours')");

    int port = httpget_free_port();
    char port_env[64];
    snprintf(port_env, sizeof port_env, "MNI_METRICS_PORT=%d", port);
    /* The sweeper's clock far before every deadline: it queues nothing of its own. */
    const char *env[] = {port_env, "MNI_METRICS_GAUGES_MS=200", "MNI_TICK_MS=200",
                         "MNI_NOTIFY_CLOCK=2000-01-01T00:00:00+09:00", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-notify", db.conninfo, mockkafka_bootstraps(mk),
                                      "metrics-notify", env, NULL),
                     0);
    wait_probe(&w, port, "/readyz", 200, "ready\n");
    wait_sample(&w, port, "mni_deadlines{component=\"notify\",state=\"overdue\"}", '=', 1);
    char *body = scrape(port);
    assert_int_equal(sample(body, "mni_deadlines{component=\"notify\",state=\"due_soon\"}"), 1);
    assert_int_equal(sample(body, "mni_outbox_unpublished{component=\"notify\",topic=\"tasks\"}"),
                     1);
    double age =
        sample(body, "mni_outbox_oldest_age_seconds{component=\"notify\",topic=\"tasks\"}");
    assert_true(age >= 7200 && age < 7200 + WAIT_MS / 1000);
    assert_int_equal(sample(body, "mni_outbox_unpublished{component=\"notify\",topic=\"tickets\"}"),
                     0);
    assert_int_equal(
        sample(body, "mni_outbox_oldest_age_seconds{component=\"notify\",topic=\"assessments\"}"),
        0);
    free(body);
    sql("UPDATE deadlines SET met_at = now() WHERE kind = 'over'");
    wait_sample(&w, port, "mni_deadlines{component=\"notify\",state=\"overdue\"}", '=', 0);
    finish(&w);
    mockkafka_stop(mk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ingest_series, setup, teardown),
        cmocka_unit_test_setup_teardown(notify_gauges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
