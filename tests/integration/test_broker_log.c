/*
 * test_broker_log: nothing is lost on the embedded broker without a word, and a recreated
 * broker never makes ingest skip or loop (cli/produce_pace.h, lib/runtime/logcheck.h; issue 6 item
 * 5, issue 8 item 3). Real programs throughout: `mni produce` and mni-ingest as child processes, an
 * in-process librdkafka mock cluster per case (an input topic of the case's own, events.<case>,
 * and incident.accepted, incident.dlq, 3 partitions each; each partition keeps ~5 MiB and drops
 * the oldest), one migrated PostgreSQL database for the file.
 *
 * The big input: an incident_opened and 100 manifests of 1,000 distinct tokens for one incident
 * (~6.6 MB, all on one partition, more than the mock keeps), written at run time.
 *
 *   paced_producer_loses_nothing   `mni produce` (pacing on) starts while no ingest runs: it
 *                                  says it waits, and meanwhile the partition still begins at
 *                                  offset 0; mni-ingest starts, produce completes, every event
 *                                  (the incident_opened included) is in event_log with all
 *                                  100,000 tokens, no dead letter, no gap recorded.
 *   unpaced_loss_reported          the same input with --no-pace: the mock drops the head of
 *                                  the partition (log start L > 0; this shows the case above can
 *                                  fail). A fresh group's first start there logs the range
 *                                  0..L-1 as lost, counts L in mni_events_lost_total, records it
 *                                  and reports "degraded" on /healthz; `mni ack-loss` lists it,
 *                                  `mni ack-loss --all` acknowledges it, /healthz says ok again.
 *   config_turns_pacing_off        the same input, `mni produce` without --no-pace but with
 *                                  pace.limit.bytes = 0 in its --config file (as deploy/mni.conf
 *                                  has it for real Kafka): no pacing, everything sent at once
 *                                  while no ingest runs (the mock drops the head), no wait.
 *   stored_offset_below_log_start  a group that stored offset S, then the input without pacing:
 *                                  on restart the range S..L-1 is reported; acknowledged by id.
 *   lagging_reader_loss_reported   a running reader, slowed down (one message per batch, 3 s
 *                                  each, no prefetching), still reading offsets 0..5 when the
 *                                  big input arrives unpaced: its fetch at 6 is refused and the
 *                                  range 6..L-1 reported while it runs; it reads on from L.
 *   recreated_broker               a group consumed 10 events; the broker is replaced by a new,
 *                                  empty one. (1) 4 events in the new log (end 4 < stored 10):
 *                                  the partition is stopped (log, /healthz, mni_partition_stopped),
 *                                  nothing stored, no batch retried. (2) 10 more (end 14 > 10):
 *                                  the message before the stored offset is another one: stopped
 *                                  again, nothing skipped. (3) `mni accept-new-log`: the new log
 *                                  is read from 0 under epoch 1: the replayed events are
 *                                  recognised by id, the new ones stored at offsets the old log
 *                                  also had, no unique-key loop. (4) Recreated again and read by
 *                                  a group with no stored offsets: ingest finds the origin taken
 *                                  in event_log, stops the partition after one rolled-back batch
 *                                  (no loop); accepted with --partition, it is read under epoch 2.
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
#include "tests/support/promtext.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/workerproc.h"

#define T_PARTITIONS 3
#define MANIFESTS 100
#define TOKENS 1000
#define WAIT_MS 120000

static testenv_db db;
static char big_path[] = "/tmp/mni-test-broker-log-XXXXXX";

/* ---- helpers ---------------------------------------------------------------------------- */

/* The input topic of the current case: each case has its own, so that event_log rows of one
 * case's log never meet another's offsets (test recreated_broker makes them meet on purpose). */
static const char *events_topic;

static mockkafka *start_cluster(const char *topic)
{
    const mockkafka_topic topics[] = {
        {topic, T_PARTITIONS}, {"incident.accepted", T_PARTITIONS}, {"incident.dlq", T_PARTITIONS}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, 3, err, sizeof err);
    if (!mk) fail_msg("%s", err);
    events_topic = topic;
    /* `mni produce` run through runcmd reads the bootstrap from the environment. */
    setenv("MNI_KAFKA_BOOTSTRAP", mockkafka_bootstraps(mk), 1);
    return mk;
}

/* Log start and end of topic[partition]. */
static void watermarks(mockkafka *mk, const char *topic, int32_t partition, int64_t *lo,
                       int64_t *hi)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", mockkafka_bootstraps(mk), errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK)
        fail_msg("%s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) fail_msg("%s", errstr);
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, partition, lo, hi, 10000);
    rd_kafka_destroy(rk);
    if (e) fail_msg("watermarks of %s[%d]: %s", topic, (int)partition, rd_kafka_err2str(e));
}

/* The one partition of the case's input topic that holds messages. */
static int32_t busy_partition(mockkafka *mk)
{
    int32_t busy = -1;
    for (int32_t p = 0; p < T_PARTITIONS; p++) {
        int64_t lo, hi;
        watermarks(mk, events_topic, p, &lo, &hi);
        if (hi > 0) {
            assert_int_equal(busy, -1);
            busy = p;
        }
    }
    assert_true(busy >= 0);
    return busy;
}

static void write_opened(FILE *f, const char *incident, const char *event_id)
{
    fprintf(f,
            "{\"event_id\":\"%s\",\"incident_id\":\"%s\",\"tenant\":\"bpo-tokyo\","
            "\"occurred_at\":\"2026-06-01T10:00:00+09:00\",\"producer\":\"dlp\","
            "\"type\":\"incident_opened\",\"body\":{\"known_at\":\"2026-06-01T09:00:00+09:00\","
            "\"title\":\"Share open to everyone\",\"reporter\":{\"role\":\"contractor\","
            "\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":[\"leak\"],"
            "\"certainty\":\"confirmed\",\"improper_purpose\":\"none\",\"systems\":[],"
            "\"unspecified_viewing\":\"possible\",\"encrypted_protected\":false,"
            "\"recovered_unviewed\":false,\"intact_copy\":false}}\n",
            event_id, incident);
}

/* Manifest m of incident, event id <id_prefix>-m<m>, with `tokens` distinct tokens. */
static void write_manifest(FILE *f, const char *incident, const char *id_prefix, int m, int tokens)
{
    fprintf(f,
            "{\"event_id\":\"%s-m%03d\",\"incident_id\":\"%s\",\"tenant\":\"bpo-tokyo\","
            "\"occurred_at\":\"2026-06-01T11:00:00+09:00\",\"producer\":\"manifest-loader\","
            "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"client-%02d\","
            "\"batch_id\":\"b-%03d\",\"tokens\":[",
            id_prefix, m, incident, m % 10, m);
    for (int t = 0; t < tokens; t++)
        fprintf(f, "%s\"%016x%016x%016x%016x\"", t ? "," : "", (unsigned)m, (unsigned)t,
                (unsigned)(m * 7919 + t), 0xabcdefu);
    fprintf(f, "]}}\n");
}

static void write_facts(FILE *f, const char *incident, const char *event_id, const char *note)
{
    fprintf(f,
            "{\"event_id\":\"%s\",\"incident_id\":\"%s\",\"tenant\":\"bpo-tokyo\","
            "\"occurred_at\":\"2026-06-01T12:00:00+09:00\",\"producer\":\"helpdesk\","
            "\"type\":\"facts_updated\",\"body\":{\"note\":\"%s\"}}\n",
            event_id, incident, note);
}

/* Runs `mni produce [--no-pace] --topic TOPIC FILE` and asserts it sent everything. */
static void produce_file(const char *path, int pace)
{
    const char *paced[] = {"mni", "produce", "--topic", events_topic, path, NULL};
    const char *unpaced[] = {"mni", "produce", "--no-pace", "--topic", events_topic, path, NULL};
    runcmd_result r;
    assert_int_equal(runcmd(pace ? paced : unpaced, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni produce %s: exit %d: %s", path, r.status, r.err);
    runcmd_free(&r);
}

/* Starts mni-ingest; metrics on port when port > 0; idle_ms 0: runs until signalled. */
static void start_ingest(workerproc *w, mockkafka *mk, const char *group, int port, int idle_ms)
{
    static char port_env[64], topic_env[128], idle[32];
    snprintf(port_env, sizeof port_env, "MNI_METRICS_PORT=%d", port);
    snprintf(topic_env, sizeof topic_env, "MNI_TOPIC_EVENTS=%s", events_topic);
    snprintf(idle, sizeof idle, "%d", idle_ms);
    /* No mni-assess runs here: ingest's own pacing (test_pace) would wait for it forever. */
    const char *env[] = {port_env, topic_env, "MNI_TICK_MS=200", "MNI_PACE_LIMIT_BYTES=0", NULL};
    const char *argv[] = {"--exit-when-idle", idle, NULL};
    assert_int_equal(workerproc_start(w, "mni-ingest", db.conninfo, mockkafka_bootstraps(mk), group,
                                      env, idle_ms > 0 ? argv : NULL),
                     0);
}

/* Stops w (sig 0: waits for it to stop by itself), asserts exit 0; returns how many lines of
 * its log say that a batch was rolled back. */
static int finish(workerproc *w, int sig)
{
    if (sig) workerproc_signal(w, sig);
    int rc = workerproc_wait(w, WAIT_MS);
    if (rc != 0) {
        workerproc_dump_log(w);
        fail_msg("%s exited with %d", w->log_path, rc);
    }
    if (getenv("BROKER_LOG_TEST_LOG")) workerproc_dump_log(w);
    int rolled_back = workerproc_log_count(w, "\"msg\":\"batch rolled back");
    unlink(w->log_path);
    return rolled_back;
}

/* The first line of w's log holding needle (malloc'd). */
static char *log_line(const workerproc *w, const char *needle)
{
    FILE *f = fopen(w->log_path, "r");
    assert_non_null(f);
    char line[8192];
    char *found = NULL;
    while (!found && fgets(line, sizeof line, f))
        if (strstr(line, needle)) found = strdup(line);
    fclose(f);
    if (!found) fail_msg("%s: no line with %s", w->log_path, needle);
    return found;
}

static void assert_line_has(const char *line, const char *fmt, ...)
{
    char want[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want, sizeof want, fmt, ap);
    va_end(ap);
    if (!strstr(line, want)) fail_msg("expected %s in: %s", want, line);
}

/* Waits until /healthz answers status with a body starting with prefix; returns the body. */
static char *wait_health(int port, int status, const char *prefix)
{
    char *body = NULL;
    int got = -1;
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(100 * 1000)) {
        free(body);
        got = httpget(port, "/healthz", &body);
        if (got == status && body && !strncmp(body, prefix, strlen(prefix))) return body;
    }
    fail_msg("/healthz: wanted %d %s..., last %d %s", status, prefix, got, body ? body : "");
    return NULL;
}

/* ---- setup ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    testenv_db_create(&db, 1);
    unsetenv("MNI_CONFIG");
    unsetenv("MNI_TOPIC_EVENTS");
    unsetenv("MNI_KAFKA_BOOTSTRAP_SERVERS");
    int fd = mkstemp(big_path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    write_opened(f, "INC-BIG", "INC-BIG-open");
    for (int m = 0; m < MANIFESTS; m++)
        write_manifest(f, "INC-BIG", "INC-BIG", m, TOKENS);
    return fclose(f);
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(big_path);
    testenv_db_drop(&db);
    return 0;
}

/* ---- cases ------------------------------------------------------------------------------ */

static void paced_producer_loses_nothing(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster("events.paced");
    workerproc produce, ingest;
    const char *argv[] = {"produce", "--topic", events_topic, big_path, NULL};
    assert_int_equal(
        workerproc_start(&produce, "mni", db.conninfo, mockkafka_bootstraps(mk), NULL, NULL, argv),
        0);
    /* No consumer yet: pacing stops well before the mock would drop anything. */
    workerproc_wait_log(&produce, "pacing: waiting for consumer group mni-ingest", WAIT_MS);
    int32_t p = busy_partition(mk);
    int64_t lo, hi;
    watermarks(mk, events_topic, p, &lo, &hi);
    assert_int_equal(lo, 0);
    assert_true(hi > 1 && hi < 1 + MANIFESTS);

    start_ingest(&ingest, mk, "mni-ingest", 0, 5000);
    int rc = workerproc_wait(&produce, WAIT_MS);
    if (rc != 0) workerproc_dump_log(&produce);
    assert_int_equal(rc, 0);
    char sent[128];
    snprintf(sent, sizeof sent, "101 events sent to %s", events_topic);
    assert_int_equal(workerproc_log_count(&produce, sent), 1);
    assert_int_equal(workerproc_log_count(&produce, "mni produce: pacing waited"), 1);
    unlink(produce.log_path);
    finish(&ingest, 0);

    assert_int_equal(
        sqlcheck_int(db.conn, "SELECT count(*) FROM event_log WHERE incident_id = 'INC-BIG'", NULL),
        1 + MANIFESTS);
    assert_int_equal(
        sqlcheck_int(db.conn,
                     "SELECT count(*) FROM event_log WHERE incident_id = 'INC-BIG' AND "
                     "kind = 'incident_opened'",
                     NULL),
        1);
    assert_int_equal(
        sqlcheck_int(
            db.conn,
            "SELECT sum(jsonb_array_length(event_log_event(body, tokens)->'body'->'tokens')) FROM "
            "event_log WHERE kind = 'exposure_manifest' AND incident_id = "
            "'INC-BIG'",
            NULL),
        MANIFESTS * TOKENS);
    assert_int_equal(sqlcheck_int(db.conn, "SELECT count(*) FROM consumer_gaps", NULL), 0);
    for (int32_t dp = 0; dp < T_PARTITIONS; dp++) {
        watermarks(mk, "incident.dlq", dp, &lo, &hi);
        assert_int_equal(hi, 0); /* no dead letter at all */
    }
    mockkafka_stop(mk);
}

static void unpaced_loss_reported(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster("events.fresh");
    produce_file(big_path, 0);
    int32_t p = busy_partition(mk);
    int64_t lo, hi;
    watermarks(mk, events_topic, p, &lo, &hi);
    assert_int_equal(hi, 1 + MANIFESTS);
    assert_true(lo > 0); /* the mock dropped the head: what pacing prevents */

    int port = httpget_free_port();
    workerproc ingest;
    start_ingest(&ingest, mk, "loss-fresh", port, 0);
    workerproc_wait_log(&ingest, "\"msg\":\"events lost", WAIT_MS);
    char *line = log_line(&ingest, "\"msg\":\"events lost");
    assert_line_has(line, "\"level\":\"error\"");
    assert_line_has(line, "\"topic\":\"%s\",\"partition\":%d", events_topic, (int)p);
    assert_line_has(line, "\"first_offset\":0,\"last_offset\":%lld,\"count\":%lld",
                    (long long)lo - 1, (long long)lo);
    free(line);
    /* The summary comes from the recorded row (consumer_gaps). */
    char want[256];
    snprintf(want, sizeof want, "degraded: %lld events of %s[%d], offsets 0..%lld", (long long)lo,
             events_topic, (int)p, (long long)lo - 1);
    char *body = wait_health(port, 503, want);
    assert_non_null(strstr(body, "acknowledge with mni ack-loss"));
    free(body);
    char series[256];
    snprintf(series, sizeof series,
             "mni_events_lost_total{component=\"ingest\",topic=\"%s\",partition=\"%d\"}",
             events_topic, (int)p);
    assert_int_equal(promtext_scrape(port, series), lo);
    assert_int_equal(promtext_scrape(port, "mni_degraded{component=\"ingest\"}"), 1);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM consumer_gaps WHERE group_id = $1 AND "
                                  "first_offset = 0 AND acknowledged_at IS NULL",
                                  "loss-fresh"),
                     1);
    assert_int_equal(
        sqlcheck_int(db.conn, "SELECT end_offset FROM consumer_gaps WHERE group_id = 'loss-fresh'",
                     NULL),
        lo);

    /* The operator lists, then acknowledges. */
    runcmd_result r;
    const char *list[] = {"mni", "ack-loss", "--conninfo", db.conninfo, NULL};
    assert_int_equal(runcmd(list, NULL, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "loss-fresh"));
    runcmd_free(&r);
    const char *ack[] = {"mni",        "ack-loss", "--conninfo", db.conninfo, "--group",
                         "loss-fresh", "--all",    "--by",       "tester",    NULL};
    assert_int_equal(runcmd(ack, NULL, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "acknowledged 1 loss (by tester)"));
    runcmd_free(&r);
    body = wait_health(port, 200, "ok");
    free(body);
    assert_int_equal(promtext_scrape(port, "mni_degraded{component=\"ingest\"}"), 0);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM consumer_gaps WHERE group_id = $1 AND "
                                  "acknowledged_by = 'tester'",
                                  "loss-fresh"),
                     1);
    finish(&ingest, SIGTERM);
    mockkafka_stop(mk);
}

static void config_turns_pacing_off(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster("events.config");
    char conf_path[] = "/tmp/mni-test-broker-log-conf-XXXXXX";
    int fd = mkstemp(conf_path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "pace.limit.bytes = 0\npg.conninfo = %s\n", db.conninfo);
    assert_int_equal(fclose(f), 0);
    /* Paced, it would wait for a group that never reads and give up after 2 s. */
    const char *argv[] = {"mni", "produce", "--config",   conf_path, "--pace-timeout",
                          "2",   "--topic", events_topic, big_path,  NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    unlink(conf_path);
    if (r.status != 0) fail_msg("mni produce: exit %d: %s", r.status, r.err);
    assert_null(strstr(r.err, "pacing"));
    runcmd_free(&r);
    int32_t p = busy_partition(mk);
    int64_t lo, hi;
    watermarks(mk, events_topic, p, &lo, &hi);
    assert_int_equal(hi, 1 + MANIFESTS);
    assert_true(lo > 0); /* sent at once: what pacing would have prevented */
    mockkafka_stop(mk);
}

static void stored_offset_below_log_start(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster("events.stored");
    char small[] = "/tmp/mni-test-broker-log-small-XXXXXX";
    FILE *f = fdopen(mkstemp(small), "w");
    assert_non_null(f);
    write_opened(f, "INC-BIG", "INC-BIG-open");
    write_manifest(f, "INC-BIG", "INC-BIG", 0, 10);
    write_manifest(f, "INC-BIG", "INC-BIG", 1, 10);
    fclose(f);
    produce_file(small, 0);
    unlink(small);
    workerproc ingest;
    start_ingest(&ingest, mk, "loss-stored", 0, 4000);
    finish(&ingest, 0);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT next_offset FROM consumer_offsets WHERE group_id = $1",
                                  "loss-stored"),
                     3);

    produce_file(big_path, 0); /* 6.6 MB more while nobody reads */
    int32_t p = busy_partition(mk);
    int64_t lo, hi;
    watermarks(mk, events_topic, p, &lo, &hi);
    assert_true(lo > 3);

    int port = httpget_free_port();
    start_ingest(&ingest, mk, "loss-stored", port, 0);
    workerproc_wait_log(&ingest, "\"msg\":\"events lost", WAIT_MS);
    char *line = log_line(&ingest, "\"msg\":\"events lost");
    assert_line_has(line, "\"first_offset\":3,\"last_offset\":%lld,\"count\":%lld",
                    (long long)lo - 1, (long long)lo - 3);
    free(line);
    char want[256];
    snprintf(want, sizeof want, "degraded: %lld events of %s[%d], offsets 3..%lld",
             (long long)lo - 3, events_topic, (int)p, (long long)lo - 1);
    char *body = wait_health(port, 503, want);
    free(body);
    char *id = sqlcheck_text(
        db.conn, "SELECT id FROM consumer_gaps WHERE group_id = $1 AND first_offset = 3",
        "loss-stored");
    assert_true(id[0] != '\0');
    runcmd_result r;
    const char *wrong[] = {"mni", "ack-loss", "--conninfo", db.conninfo, "999999", NULL};
    assert_int_equal(runcmd(wrong, NULL, &r), 0);
    assert_int_equal(r.status, 2);
    runcmd_free(&r);
    const char *ack[] = {"mni", "ack-loss", "--conninfo", db.conninfo, id, NULL};
    assert_int_equal(runcmd(ack, NULL, &r), 0);
    assert_int_equal(r.status, 0);
    runcmd_free(&r);
    free(id);
    body = wait_health(port, 200, "ok");
    free(body);
    finish(&ingest, SIGTERM);
    /* Read on from the log start: the stored offset is past the gap. */
    assert_true(sqlcheck_int(db.conn,
                             "SELECT next_offset FROM consumer_offsets WHERE group_id = $1",
                             "loss-stored") >= lo);
    mockkafka_stop(mk);
}

static void lagging_reader_loss_reported(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster("events.lagging");
    char small[] = "/tmp/mni-test-broker-log-lag-XXXXXX";
    FILE *f = fdopen(mkstemp(small), "w");
    assert_non_null(f);
    /* Same incident (so the same partition as the big input), ids of their own. */
    write_opened(f, "INC-BIG", "lag-open");
    for (int m = 0; m < 5; m++)
        write_manifest(f, "INC-BIG", "lag", m, 10);
    fclose(f);
    produce_file(small, 0);
    unlink(small);

    /* A slow reader that fetches nothing while a message waits in its queue: it still reads
     * offsets 0..5 one per batch, 3 s each, when the big input arrives and the broker drops
     * its head, offset 6 included. */
    static const char *const env[] = {
        "MNI_BATCH_SIZE=1",
        "MNI_TEST_PAUSE_BEFORE_COMMIT_MS=3000",
        "MNI_KAFKA_QUEUED_MIN_MESSAGES=1",
        "MNI_KAFKA_QUEUED_MAX_MESSAGES_KBYTES=1",
        "MNI_TICK_MS=200",
        "MNI_TOPIC_EVENTS=events.lagging",
        NULL,
    };
    workerproc ingest;
    assert_int_equal(workerproc_start(&ingest, "mni-ingest", db.conninfo, mockkafka_bootstraps(mk),
                                      "loss-lagging", env, NULL),
                     0);
    workerproc_wait_log(&ingest, "\"msg\":\"pausing before commit", WAIT_MS);
    produce_file(big_path, 0);
    int32_t p = busy_partition(mk);
    int64_t lo, hi;
    watermarks(mk, events_topic, p, &lo, &hi);
    assert_true(lo > 6);

    workerproc_wait_log(&ingest, "\"msg\":\"events lost", WAIT_MS);
    char *line = log_line(&ingest, "\"msg\":\"events lost");
    /* Found while running: the fetch at 6 was refused (auto.offset.reset=error). */
    assert_int_equal(workerproc_log_count(&ingest, "the broker no longer has this position"), 1);
    assert_line_has(line, "\"first_offset\":6,\"last_offset\":%lld", (long long)lo - 1);
    free(line);
    /* It reads on from the log start (slowly: one message per 3 s), then is stopped. */
    for (double t0 = testenv_now_ms(); sqlcheck_int(db.conn,
                                                    "SELECT coalesce(max(next_offset), 0) FROM "
                                                    "consumer_offsets WHERE group_id = $1",
                                                    "loss-lagging") <= lo;
         usleep(100 * 1000))
        if (testenv_now_ms() - t0 > WAIT_MS)
            fail_msg("loss-lagging did not read on past %lld", (long long)lo);
    assert_int_equal(finish(&ingest, SIGTERM), 0);
    /* Offsets 0..5 were applied before the loss. */
    char part[16];
    snprintf(part, sizeof part, "%d", (int)p);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM event_log WHERE event_id LIKE 'lag-%' AND "
                                  "src_offset < 6 AND src_partition = $1::integer",
                                  part),
                     6);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT end_offset FROM consumer_gaps WHERE group_id = $1 AND "
                                  "first_offset = 6",
                                  "loss-lagging"),
                     lo);
    mockkafka_stop(mk);
}

/* Writes n facts_updated events of INC-REC with ids prefix-<first>.. into a temp file, then
 * produces it (unpaced: nothing runs meanwhile). */
static void produce_facts(const char *prefix, int first, int n)
{
    char path[] = "/tmp/mni-test-broker-log-rec-XXXXXX";
    FILE *f = fdopen(mkstemp(path), "w");
    assert_non_null(f);
    for (int i = first; i < first + n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%02d", prefix, i);
        write_facts(f, "INC-REC", id, "an update");
    }
    fclose(f);
    produce_file(path, 0);
    unlink(path);
}

/* Runs ingest (group) on a partition it must stop: checks log, health and metrics, that no
 * batch was committed and exactly rolled_back were rolled back, then stops it. */
static void expect_stopped(mockkafka *mk, const char *group, int32_t p, const char *reason,
                           int rolled_back)
{
    int port = httpget_free_port();
    workerproc ingest;
    start_ingest(&ingest, mk, group, port, 0);
    workerproc_wait_log(&ingest, "\"msg\":\"partition stopped", WAIT_MS);
    char *line = log_line(&ingest, "\"msg\":\"partition stopped");
    assert_line_has(line, "\"level\":\"error\"");
    assert_line_has(line, "\"partition\":%d", (int)p);
    assert_line_has(line, "%s", reason);
    free(line);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "stopped: %s[%d]: ", events_topic, (int)p);
    char *body = wait_health(port, 503, prefix);
    free(body);
    char series[256];
    snprintf(series, sizeof series,
             "mni_partition_stopped{component=\"ingest\",topic=\"%s\",partition=\"%d\"}",
             events_topic, (int)p);
    assert_int_equal(promtext_scrape(port, series), 1);
    assert_int_equal(promtext_scrape(port, "mni_batches_committed_total{component=\"ingest\"}"), 0);
    /* Held: nothing more is read from it, so the count can no longer grow (no loop). */
    assert_int_equal(promtext_scrape(port, "mni_batches_rolled_back_total{component=\"ingest\"}"),
                     rolled_back);
    assert_int_equal(finish(&ingest, SIGTERM), rolled_back);
}

static long long rec_rows(void)
{
    return sqlcheck_int(db.conn, "SELECT count(*) FROM event_log WHERE incident_id = 'INC-REC'",
                        NULL);
}

static void accept_new_log(const char *group, int32_t partition)
{
    char part[16];
    snprintf(part, sizeof part, "%d", (int)partition);
    const char *argv[] = {"mni",
                          "accept-new-log",
                          "--conninfo",
                          db.conninfo,
                          "--group",
                          group,
                          "--topic",
                          events_topic,
                          partition >= 0 ? "--partition" : NULL,
                          part,
                          NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni accept-new-log: %d %s", r.status, r.err);
    assert_non_null(strstr(r.out, "restart the worker"));
    runcmd_free(&r);
}

static void recreated_broker(void **state)
{
    (void)state;
    mockkafka *mk = start_cluster("events.recreated");
    char path[] = "/tmp/mni-test-broker-log-open-XXXXXX";
    FILE *f = fdopen(mkstemp(path), "w");
    assert_non_null(f);
    write_opened(f, "INC-REC", "rec-open");
    fclose(f);
    produce_file(path, 0);
    unlink(path);
    produce_facts("rec-old", 0, 10);
    workerproc ingest;
    start_ingest(&ingest, mk, "recreate", 0, 4000);
    finish(&ingest, 0);
    int32_t p = busy_partition(mk);
    assert_int_equal(rec_rows(), 11);
    mockkafka_stop(mk);

    /* A new, empty broker: the same topics, none of the old messages. */
    mk = start_cluster("events.recreated");
    /* (1) Its log ends before the stored offset: the first 4 old events sent again. */
    produce_facts("rec-old", 0, 4);
    assert_int_equal(busy_partition(mk), p);
    expect_stopped(mk, "recreate", p, "beyond the end of the log", 0);
    assert_int_equal(rec_rows(), 11);
    /* (2) It has grown past the stored offset; the message before it is another one. */
    produce_facts("rec-new", 0, 10);
    expect_stopped(mk, "recreate", p, "is not the one this group read there", 0);
    assert_int_equal(rec_rows(), 11);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT next_offset FROM consumer_offsets WHERE group_id = $1",
                                  "recreate"),
                     11);

    /* (3) The operator accepts the new log. */
    accept_new_log("recreate", -1);
    start_ingest(&ingest, mk, "recreate", 0, 4000);
    assert_int_equal(finish(&ingest, 0), 0); /* no batch retried: no unique-key loop */
    /* 4 replays recognised by their ids, 10 new events, stored at offsets 4..13 of epoch 1,
     * offsets the old log's events also have (epoch 0). */
    assert_int_equal(rec_rows(), 21);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM event_log WHERE src_epoch = 1 AND event_id "
                                  "LIKE 'rec-new-%' AND src_offset BETWEEN 4 AND 13",
                                  NULL),
                     10);
    assert_int_equal(
        sqlcheck_int(db.conn,
                     "SELECT count(*) FROM event_log a JOIN event_log b ON a.src_topic = "
                     "b.src_topic AND a.src_partition = b.src_partition AND a.src_offset = "
                     "b.src_offset AND a.src_epoch = 0 AND b.src_epoch = 1",
                     NULL),
        7);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT next_offset FROM consumer_offsets WHERE group_id = $1",
                                  "recreate"),
                     14);
    mockkafka_stop(mk);

    /* (4) Recreated once more, and read by a group that has no stored offsets: only event_log
     * can tell. Ingest stops the partition after one rolled-back batch instead of retrying it
     * forever on the origin's unique key. */
    mk = start_cluster("events.recreated");
    produce_facts("rec-third", 0, 3);
    expect_stopped(mk, "recreate-fresh", p, "holds event rec-third-00, but event_log holds event",
                   1);
    assert_int_equal(rec_rows(), 21);
    accept_new_log("recreate-fresh", p);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT log_epoch FROM consumer_offsets WHERE group_id = $1",
                                  "recreate-fresh"),
                     2);
    start_ingest(&ingest, mk, "recreate-fresh", 0, 4000);
    assert_int_equal(finish(&ingest, 0), 0);
    assert_int_equal(sqlcheck_int(db.conn,
                                  "SELECT count(*) FROM event_log WHERE src_epoch = 2 AND event_id "
                                  "LIKE 'rec-third-%' AND src_offset BETWEEN 0 AND 2",
                                  NULL),
                     3);
    mockkafka_stop(mk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(paced_producer_loses_nothing),
        cmocka_unit_test(unpaced_loss_reported),
        cmocka_unit_test(config_turns_pacing_off),
        cmocka_unit_test(stored_offset_below_log_start),
        cmocka_unit_test(lagging_reader_loss_reported),
        cmocka_unit_test(recreated_broker),
    };
    return cmocka_run_group_tests_name("broker_log", tests, group_setup, group_teardown);
}
