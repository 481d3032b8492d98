/*
 * test_ingest: the ingest worker (bin/mni-ingest, run as a child process) and `mni produce`,
 * end to end: an in-process mock Kafka cluster (tests/support/mockkafka: topics
 * incident.events, incident.accepted, incident.dlq, 3 partitions each), a fresh PostgreSQL
 * database with the migrations (tests/support/testenv), and plain librdkafka consumers that
 * read each topic from the beginning by assignment (no group, so no join delay).
 *
 * The cases run in order and build on one another (one cluster, one database), because every
 * worker run costs a consumer-group join on the mock (3 s the first time per group):
 *
 *   produce_cli_errors  `mni produce`: a file whose line 3 is bad exits 2 naming the line and
 *                       the field, and sends nothing (the other lines included); --help;
 *                       unknown option; unreadable file.
 *   produce_follow_streams  `mni produce --follow -` fed through a pipe, a line at a time: each
 *                       event is on the topic before the next line is written (the input still
 *                       open); a bad line in the middle (line 2) is reported at once with its
 *                       number and field, without its values, and skipped; a blank line is
 *                       skipped; a line the broker refuses (injected) is reported by number and
 *                       the lines after it still go; closing the input ends the run: exit 1
 *                       (a line not delivered), then, in a second run with only a bad line
 *                       beside good ones, exit 2; the topic holds exactly the good lines.
 *   produce_follow_paced  --follow keeps pacing: against a group that reads nothing, with a
 *                       4 KiB limit, the first lines are sent, the line that does not fit waits
 *                       ("waiting for" on stderr) and, no progress within --pace-timeout 1, is
 *                       reported by number as not sent; the run stops with exit 1.
 *   first_run           input: a malformed message (random bytes) and a --raw JSON line, both
 *                       keyed like incident B, then tests/data/events/ingest.jsonl through
 *                       `mni produce` (A opened, A updated, Z updated without an opening, B
 *                       opened), then, built at run time, events holding a raw My Number (R
 *                       opened with it in body.description; an A update with it in 4-4-4
 *                       groups in body.note), an update of R, and an A manifest whose token
 *                       contains a valid-looking 12-digit run (random-looking: not refused).
 *                       Expected: 6 event_log rows (a1, a2, b1, a4, and z1 and r2, which wait
 *                       in waiting_events for their incident's opening: r1 was refused) whose
 *                       bodies parse back; a1, a2, b1, a4 on incident.accepted, byte-identical
 *                       to the input, keyed by incident, headed by event id; 4 dead letters
 *                       with their reasons and origins (malformed x2, raw_my_number x2 with
 *                       empty values and the field path as detail); b1, after the malformed
 *                       messages on the same partition, is stored; the raw numbers appear in no
 * event_log row and in no message on incident.accepted or incident.dlq (they do on incident.events,
 *                       which shows the search works); consumer_offsets of the group equal
 *                       the end of each partition.
 *   restart_same_group  the same events produced again, the worker restarted with the same
 *                       group: it resumes at the stored offsets (only the new messages are
 *                       read; z1 is a replay of a waiting event), stores, forwards and
 *                       dead-letters nothing new, and its offsets advance to the new end.
 *   replay_new_group    a new group reads everything from offset 0: still 6 rows and 4
 *                       accepted messages; every refused message is dead-lettered again (a
 *                       dead letter is per reading, not per event); the new group's offsets
 *                       reach the end.
 *   idle_worker_commits_at_once  with batch.ms at 5 s, an event sent to an idle worker is in
 *                       event_log within 2.5 s: a batch ends once nothing more is queued.
 *
 * No valid My Number is written in this file or in tests/data: they are made at run time from
 * 11 digits and mynumber_check_digit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/monoclock.h"
#include "lib/kafka/kq.h"
#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/pg/pgx.h"
#include "rules/mynumber.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/testdata.h"
#include "tests/support/testenv.h"
#include "tests/support/testschemas.h"
#include "tests/support/workerproc.h"

#define T_EVENTS "incident.events"
#define T_ACCEPTED "incident.accepted"
#define T_DLQ "incident.dlq"
#define T_FOLLOW "produce.follow"             /* --follow's cases: read by no worker */
#define T_FOLLOW_PACED "produce.follow.paced" /* the same, with pacing */
#define T_PARTITIONS 3
#define WORKER_IDLE_MS "4000"
#define WORKER_TIMEOUT_MS 60000
#define READ_TIMEOUT_MS 15000

/* One message read back from a topic, with the headers the assertions look at. */
typedef struct {
    int32_t partition;
    int64_t offset;
    char *key;
    size_t key_len;
    char *value;
    size_t len;
    char event_id[64];
    char reason[64];
    char detail[256];
    char origin_topic[64];
    int64_t origin_partition, origin_offset;
} tmsg;

typedef struct {
    tmsg *v;
    size_t n;
} tmsgs;

static mockkafka *mk;
static testenv_db db;
static schema_set *schemas;
/* Made at run time (see the head comment). */
static char number_run[13];     /* 12 digits in a row, valid check digit */
static char number_groups[15];  /* another one written 4-4-4 with hyphens */
static char number_digits2[13]; /* the same as number_groups without hyphens */
static char token_number[13];   /* a valid-looking run inside a person token */

/* ---- helpers ---------------------------------------------------------------------------- */

/* A 12-digit string with a valid My Number check digit, from 11 pseudo-random digits. */
static void make_mynumber(char out[13], unsigned *seed)
{
    int d[11];
    for (int i = 0; i < 11; i++) {
        *seed = *seed * 1103515245u + 12345u;
        d[i] = (int)((*seed >> 16) % 10);
        out[i] = (char)('0' + d[i]);
    }
    out[11] = (char)('0' + mynumber_check_digit(d));
    out[12] = '\0';
    assert_true(mynumber_is_valid(out));
}

static void tmsgs_free(tmsgs *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].key);
        free(t->v[i].value);
    }
    free(t->v);
    memset(t, 0, sizeof *t);
}

static char *copy_bytes(const void *p, size_t n)
{
    char *c = malloc(n + 1);
    assert_non_null(c);
    if (n) memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

/* Every message of topic, read from the beginning of each partition until its end. */
static void read_topic(const char *topic, tmsgs *out)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *props[][2] = {
        {"bootstrap.servers", mockkafka_bootstraps(mk)},
        {"group.id", "test-ingest-reader"}, /* never joined: partitions are assigned */
        {"enable.auto.commit", "false"},
        {"enable.partition.eof", "true"},
        {"fetch.wait.max.ms", "50"},
        {"isolation.level", "read_committed"},
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK)
            fail_msg("%s: %s", props[i][0], errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) fail_msg("reader: %s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(T_PARTITIONS);
    for (int p = 0; p < T_PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(parts);

    memset(out, 0, sizeof *out);
    size_t cap = 0;
    int at_end[T_PARTITIONS] = {0}, ends = 0;
    int64_t t0 = monoclock_ms();
    while (ends < T_PARTITIONS) {
        if (monoclock_ms() - t0 > READ_TIMEOUT_MS)
            fail_msg("%s: partitions not read to their end in %d ms", topic, READ_TIMEOUT_MS);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < T_PARTITIONS && !at_end[m->partition]++) ends++;
        } else if (m->err) {
            fail_msg("%s: %s", topic, rd_kafka_message_errstr(m));
        } else {
            if (out->n == cap) {
                cap = cap ? cap * 2 : 32;
                out->v = realloc(out->v, cap * sizeof *out->v);
                assert_non_null(out->v);
            }
            tmsg *c = &out->v[out->n++];
            memset(c, 0, sizeof *c);
            c->partition = m->partition;
            c->offset = m->offset;
            c->key = m->key ? copy_bytes(m->key, m->key_len) : NULL;
            c->key_len = m->key_len;
            c->value = copy_bytes(m->payload, m->payload ? m->len : 0);
            c->len = m->payload ? m->len : 0;
            c->origin_partition = c->origin_offset = -1;
            kq_header_str(m, "mni.event_id", c->event_id, sizeof c->event_id);
            kq_header_str(m, "mni.reason", c->reason, sizeof c->reason);
            kq_header_str(m, "mni.detail", c->detail, sizeof c->detail);
            kq_header_str(m, "mni.origin.topic", c->origin_topic, sizeof c->origin_topic);
            kq_header_i64(m, "mni.origin.partition", &c->origin_partition);
            kq_header_i64(m, "mni.origin.offset", &c->origin_offset);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* The end offset of each partition of topic, and their sum. */
static int64_t topic_ends(const char *topic, int64_t ends[T_PARTITIONS])
{
    tmsgs t;
    int64_t total = 0;
    read_topic(topic, &t);
    for (int p = 0; p < T_PARTITIONS; p++)
        ends[p] = 0;
    for (size_t i = 0; i < t.n; i++)
        if (t.v[i].offset + 1 > ends[t.v[i].partition]) ends[t.v[i].partition] = t.v[i].offset + 1;
    for (int p = 0; p < T_PARTITIONS; p++)
        total += ends[p];
    tmsgs_free(&t);
    return total;
}

static kq_producer *new_producer(void)
{
    const kq_prop props[] = {{"bootstrap.servers", mockkafka_bootstraps(mk)}, {"linger.ms", "1"}};
    char err[512];
    kq_producer *p = kq_producer_new(props, 2, err, sizeof err);
    if (!p) fail_msg("%s", err);
    return p;
}

/* Produces one message to incident.events and waits for its delivery. */
static void produce_bytes(const char *key, const void *value, size_t len, const char *event_id)
{
    char err[512];
    kq_producer *p = new_producer();
    kq_header h = {"mni.event_id", event_id, event_id ? strlen(event_id) : 0};
    if (kq_produce(p, T_EVENTS, key, strlen(key), value, len, &h, event_id ? 1 : 0, err,
                   sizeof err) != 0 ||
        kq_producer_flush_checked(p, 10000, err, sizeof err) != 0)
        fail_msg("produce: %s", err);
    if (kq_producer_close(p, 10000, err, sizeof err) != 0) fail_msg("producer close: %s", err);
}

/* Encodes one JSON event (as mni produce would) and produces it keyed by its incident. */
static void produce_json(const char *json)
{
    char err[512];
    mni_event ev;
    wire_buf buf;
    mni_event_init(&ev);
    wire_buf_init(&buf);
    if (mni_event_from_json_text(json, strlen(json), &ev, err, sizeof err) != 0 ||
        mni_event_encode(schemas, &ev, &buf, err, sizeof err) != 0)
        fail_msg("test event: %s", err);
    produce_bytes(ev.incident_id, buf.data, buf.len, ev.event_id);
    wire_buf_free(&buf);
    mni_event_free(&ev);
}

/* Runs `mni produce` on a file of tests/data; asserts it sent everything. */
static void run_produce_file(const char *data_file)
{
    char path[512];
    testdata_path(data_file, path, sizeof path);
    /* Unpaced: the worker runs only afterwards, and pacing is tested in test_broker_log. */
    const char *argv[] = {"mni", "produce", "--no-pace", path, NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni produce %s: exit %d: %s", path, r.status, r.err);
    assert_non_null(strstr(r.err, "events sent to " T_EVENTS));
    runcmd_free(&r);
}

/* Runs mni-ingest under group until it is idle; asserts a clean exit. */
static void run_ingest(const char *group)
{
    static const char *const env[] = {
        "MNI_BATCH_SIZE=4", /* several batches, so both known-incident paths are taken */
        /* The mock keeps a departed member until its session times out; keep that short so
         * that a restart under the same group does not wait librdkafka's 45 s default. */
        "MNI_KAFKA_SESSION_TIMEOUT_MS=6000",
        "MNI_KAFKA_HEARTBEAT_INTERVAL_MS=500",
        NULL,
    };
    static const char *const argv[] = {"--exit-when-idle", WORKER_IDLE_MS, NULL};
    workerproc w;
    assert_int_equal(
        workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(mk), group, env, argv),
        0);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0 || workerproc_log_count(&w, "\"msg\":\"batch processed\"") == 0) {
        workerproc_dump_log(&w);
        fail_msg("mni-ingest (group %s) exited with %d", group, rc);
    }
    if (getenv("INGEST_TEST_LOG")) workerproc_dump_log(&w);
    unlink(w.log_path);
}

static long long db_count(const char *sql, const char *param)
{
    char err[1024];
    const char *params[] = {param};
    PGresult *res = pgx_query(db.conn, "test.count", sql, param ? 1 : 0, params, err, sizeof err);
    if (!res) fail_msg("%s", err);
    long long n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static const tmsg *find_event(const tmsgs *t, const char *event_id)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].event_id, event_id)) return &t->v[i];
    return NULL;
}

static size_t count_reason(const tmsgs *t, const char *reason)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++)
        n += !strcmp(t->v[i].reason, reason);
    return n;
}

static int contains(const tmsg *m, const char *needle)
{
    return m->len && memmem(m->value, m->len, needle, strlen(needle)) != NULL;
}

/* No row of event_log, in any column, holds s. */
static void assert_not_in_event_log(const char *s)
{
    assert_int_equal(
        db_count("SELECT count(*) FROM event_log e WHERE e::text LIKE '%' || $1 || '%'", s), 0);
}

/* consumer_offsets of group equal the end of each partition of incident.events. */
static void assert_offsets_at_end(const char *group)
{
    int64_t ends[T_PARTITIONS];
    int64_t total = topic_ends(T_EVENTS, ends);
    assert_true(total > 0);
    for (int p = 0; p < T_PARTITIONS; p++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = $1 "
                 "AND topic = '" T_EVENTS "' AND partition = %d",
                 p);
        long long stored = db_count(sql, group);
        if (stored != ends[p])
            fail_msg("group %s partition %d: stored offset %lld, end %" PRId64, group, p, stored,
                     ends[p]);
    }
}

/* The JSON of the runtime events (numbers spliced in). */
static void produce_runtime_events(void)
{
    char json[2048], token[65];

    /* R opened with a raw My Number in its description: raw_my_number, body.description. */
    snprintf(json, sizeof json,
             "{\"event_id\":\"ing-r1\",\"incident_id\":\"INC-ING-R\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2026-05-03T10:00:00+09:00\",\"producer\":\"dlp\","
             "\"type\":\"incident_opened\",\"body\":{\"known_at\":\"2026-05-03T09:00:00+09:00\","
             "\"title\":\"Spreadsheet posted to a chat\",\"reporter\":{\"role\":\"contractor\","
             "\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":[\"leak\"],"
             "\"certainty\":\"confirmed\",\"improper_purpose\":\"none\",\"systems\":[],"
             "\"unspecified_viewing\":\"none\",\"encrypted_protected\":false,"
             "\"recovered_unviewed\":false,\"intact_copy\":false,"
             "\"description\":\"row 7 shows %s next to the name\"}}",
             number_run);
    produce_json(json);
    /* An update of A quoting another number in 4-4-4 groups in its note: body.note. */
    snprintf(json, sizeof json,
             "{\"event_id\":\"ing-a3\",\"incident_id\":\"INC-ING-A\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2026-05-03T11:00:00+09:00\",\"producer\":\"helpdesk\","
             "\"type\":\"facts_updated\",\"body\":{\"note\":\"caller read out %s\"}}",
             number_groups);
    produce_json(json);
    /* R was refused, so it is not open: its update waits for an opening. */
    produce_json("{\"event_id\":\"ing-r2\",\"incident_id\":\"INC-ING-R\",\"tenant\":\"bpo-tokyo\","
                 "\"occurred_at\":\"2026-05-03T12:00:00+09:00\",\"producer\":\"helpdesk\","
                 "\"type\":\"facts_updated\",\"body\":{\"note\":\"follow-up\"}}");
    /* A manifest whose random-looking token holds a valid-looking 12-digit run: stored. */
    snprintf(token, sizeof token, "%s%s", "0123456789abcdef0123456789abcdef0123456789abcdefabcd",
             token_number);
    assert_int_equal(strlen(token), 64);
    snprintf(json, sizeof json,
             "{\"event_id\":\"ing-a4\",\"incident_id\":\"INC-ING-A\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2026-05-03T13:00:00+09:00\",\"producer\":\"manifest-loader\","
             "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"client-a\","
             "\"batch_id\":\"b-1\",\"tokens\":[\"%s\"]}}",
             token);
    produce_json(json);
}

/* ---- setup ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    static const mockkafka_topic topics[] = {{T_EVENTS, T_PARTITIONS},
                                             {T_ACCEPTED, T_PARTITIONS},
                                             {T_DLQ, T_PARTITIONS},
                                             {T_FOLLOW, T_PARTITIONS},
                                             {T_FOLLOW_PACED, T_PARTITIONS}};
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 8;

    (void)state;
    testenv_db_create(&db, 1);
    if (mockkafka_setup(&mk, topics, sizeof topics / sizeof topics[0]) != 0 ||
        testschemas_load(&schemas) != 0)
        return -1;
    /* The children (mni produce through runcmd) read the same settings as a user's shell. */
    setenv("MNI_KAFKA_BOOTSTRAP", mockkafka_bootstraps(mk), 1);
    unsetenv("MNI_KAFKA_BOOTSTRAP_SERVERS");
    unsetenv("MNI_CONFIG");
    unsetenv("MNI_TOPIC_EVENTS");
    make_mynumber(number_run, &seed);
    make_mynumber(number_digits2, &seed);
    make_mynumber(token_number, &seed);
    snprintf(number_groups, sizeof number_groups, "%.4s-%.4s-%.4s", number_digits2,
             number_digits2 + 4, number_digits2 + 8);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    schema_set_free(schemas);
    mockkafka_stop(mk);
    testenv_db_drop(&db);
    return 0;
}

/* ---- mni produce --follow ------------------------------------------------------------------ */

#define FOLLOW_WAIT_MS 20000

/* The sum of topic's high watermarks (messages ever written to it). */
static int64_t topic_high(kq_producer *p, const char *topic)
{
    int64_t sum = 0, lo, hi;
    for (int part = 0; part < T_PARTITIONS; part++) {
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(kq_producer_handle(p), topic, part, &lo, &hi, 5000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
            fail_msg("%s [%d]: %s", topic, part, rd_kafka_err2str(e));
        sum += hi;
    }
    return sum;
}

/* Waits until topic holds n messages (and never more); the producer must still be running. */
static void wait_topic_holds(kq_producer *p, const char *topic, int64_t n, const runcmd_proc *pr)
{
    int64_t deadline = monoclock_ms() + FOLLOW_WAIT_MS, have;
    while ((have = topic_high(p, topic)) < n) {
        if (waitpid(pr->pid, NULL, WNOHANG) != 0) fail_msg("mni produce exited early");
        if (monoclock_ms() > deadline)
            fail_msg("%s holds %lld messages, not %lld", topic, (long long)have, (long long)n);
        usleep(10000);
    }
    assert_int_equal(have, n);
}

/* Waits until the producer's stderr holds needle; returns it (malloc'd). */
static char *wait_err_holds(const runcmd_proc *pr, const char *needle)
{
    int64_t deadline = monoclock_ms() + FOLLOW_WAIT_MS;
    for (;;) {
        char *err = runcmd_err_so_far(pr);
        if (err && strstr(err, needle)) return err;
        if (monoclock_ms() > deadline) fail_msg("no \"%s\" on stderr: %s", needle, err ? err : "");
        free(err);
        usleep(10000);
    }
}

static void write_line(const runcmd_proc *pr, const char *line)
{
    size_t len = strlen(line);
    if (write(pr->in_fd, line, len) != (ssize_t)len || write(pr->in_fd, "\n", 1) != 1)
        fail_msg("write to mni produce: %s", strerror(errno));
}

/* A valid facts_updated event of incident INC-FOL. */
static const char *follow_event(char *buf, size_t n, const char *event_id)
{
    snprintf(buf, n,
             "{\"event_id\":\"%s\",\"incident_id\":\"INC-FOL\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2026-05-03T10:00:00+09:00\",\"producer\":\"test\","
             "\"type\":\"facts_updated\",\"body\":{\"certainty\":\"possible\",\"note\":\"n\"}}",
             event_id);
    return buf;
}

/* The same without its incident_id, its note a text that must not be echoed. */
static const char follow_bad_line[] =
    "{\"event_id\":\"fol-bad\",\"tenant\":\"bpo-tokyo\","
    "\"occurred_at\":\"2026-05-03T10:00:00+09:00\",\"producer\":\"test\","
    "\"type\":\"facts_updated\",\"body\":{\"certainty\":\"possible\",\"note\":\"do-not-echo\"}}";

/* The mni.event_id headers of every message on topic, sorted, comma-separated. */
static void topic_event_ids(const char *topic, char *out, size_t n)
{
    tmsgs t;
    read_topic(topic, &t);
    out[0] = '\0';
    for (size_t i = 0; i < t.n; i++)
        for (size_t j = i + 1; j < t.n; j++)
            if (strcmp(t.v[j].event_id, t.v[i].event_id) < 0) {
                tmsg x = t.v[i];
                t.v[i] = t.v[j];
                t.v[j] = x;
            }
    for (size_t i = 0; i < t.n; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "," : "", t.v[i].event_id);
    tmsgs_free(&t);
}

/* ---- cases ------------------------------------------------------------------------------ */

static void produce_cli_errors(void **state)
{
    runcmd_result r;
    int64_t ends[T_PARTITIONS];
    (void)state;

    char bad_path[512];
    testdata_path("events/produce_bad.jsonl", bad_path, sizeof bad_path);
    const char *bad[] = {"mni", "produce", bad_path, NULL};
    assert_int_equal(runcmd(bad, NULL, &r), 0);
    assert_int_equal(r.status, 2);
    if (!strstr(r.err, "line 3: body.persons: missing") || !strstr(r.err, "nothing sent"))
        fail_msg("unexpected message: %s", r.err);
    runcmd_free(&r);
    assert_int_equal(topic_ends(T_EVENTS, ends), 0); /* lines 1 and 4 were not sent either */

    const char *help[] = {"mni", "produce", "--help", NULL};
    assert_int_equal(runcmd(help, NULL, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: mni produce"));
    runcmd_free(&r);

    const char *unknown[] = {"mni", "produce", "--nope", NULL};
    assert_int_equal(runcmd(unknown, NULL, &r), 0);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--nope"));
    runcmd_free(&r);

    const char *missing[] = {"mni", "produce", "/nonexistent/events.jsonl", NULL};
    assert_int_equal(runcmd(missing, NULL, &r), 0);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "cannot open"));
    runcmd_free(&r);
}

static void produce_follow_streams(void **state)
{
    char line[512], ids[512];
    runcmd_proc pr;
    runcmd_result r;
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* a producer that died fails the write, not the test program */
    kq_producer *watch = new_producer();
    const char *argv[] = {"mni",     "produce", "--follow", "--no-pace",
                          "--topic", T_FOLLOW,  "-",        NULL};

    assert_int_equal(runcmd_start(argv, &pr), 0);
    write_line(&pr, follow_event(line, sizeof line, "fol-1"));
    wait_topic_holds(watch, T_FOLLOW, 1, &pr); /* line 1 sent while the input is open */
    write_line(&pr, follow_bad_line);
    free(wait_err_holds(&pr, "(stdin) line 2: incident_id: missing"));
    write_line(&pr, "");
    write_line(&pr, follow_event(line, sizeof line, "fol-4"));
    wait_topic_holds(watch, T_FOLLOW, 2, &pr);
    /* The broker refuses the next Produce request: line 5 is not delivered, and said so. */
    rd_kafka_mock_push_request_errors(mockkafka_cluster(mk), 0 /* Produce */, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    write_line(&pr, follow_event(line, sizeof line, "fol-5"));
    free(wait_err_holds(&pr, "(stdin) lines 5 to 5: not all delivered"));
    write_line(&pr, follow_event(line, sizeof line, "fol-6"));
    wait_topic_holds(watch, T_FOLLOW, 3, &pr);
    assert_int_equal(runcmd_finish(&pr, &r), 0);
    if (r.status != 1 || !strstr(r.err, "3 events delivered") ||
        !strstr(r.err, "1 bad line skipped") || !strstr(r.err, "1 not delivered") ||
        strstr(r.err, "do-not-echo"))
        fail_msg("exit %d: %s", r.status, r.err);
    runcmd_free(&r);

    /* Everything delivered but a bad line: exit 2. */
    assert_int_equal(runcmd_start(argv, &pr), 0);
    write_line(&pr, follow_bad_line);
    write_line(&pr, follow_event(line, sizeof line, "fol-8"));
    wait_topic_holds(watch, T_FOLLOW, 4, &pr);
    assert_int_equal(runcmd_finish(&pr, &r), 0);
    if (r.status != 2 || !strstr(r.err, "(stdin) line 1: incident_id: missing") ||
        !strstr(r.err, "1 event delivered"))
        fail_msg("exit %d: %s", r.status, r.err);
    runcmd_free(&r);

    topic_event_ids(T_FOLLOW, ids, sizeof ids);
    assert_string_equal(ids, "fol-1,fol-4,fol-6,fol-8");
    char err[512];
    assert_int_equal(kq_producer_close(watch, 10000, err, sizeof err), 0);
}

static void produce_follow_paced(void **state)
{
    char line[512];
    runcmd_proc pr;
    runcmd_result r;
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    const char *base = getenv("MNI_PG_CONNINFO");
    char *saved = base ? strdup(base) : NULL;
    setenv("MNI_PG_CONNINFO", db.conninfo, 1); /* where pacing reads the group's progress */
    kq_producer *watch = new_producer();
    const char *argv[] = {"mni",
                          "produce",
                          "--follow",
                          "--topic",
                          T_FOLLOW_PACED,
                          "--pace-group",
                          "nobody-reads",
                          "--pace-limit",
                          "4096",
                          "--pace-timeout",
                          "1",
                          "-",
                          NULL};

    assert_int_equal(runcmd_start(argv, &pr), 0);
    /* Each line ~0.2 KB as Avro, all on INC-FOL's partition: 4 KiB holds about twenty. */
    int n = 0;
    for (; n < 40; n++) {
        char id[32];
        snprintf(id, sizeof id, "fol-p%02d", n + 1);
        follow_event(line, sizeof line, id);
        size_t len = strlen(line);
        line[len] = '\n';
        if (write(pr.in_fd, line, len + 1) < 0) break; /* it may stop before reading everything */
    }
    assert_int_equal(runcmd_finish(&pr, &r), 0);
    int64_t sent = topic_high(watch, T_FOLLOW_PACED);
    char want[64];
    snprintf(want, sizeof want, "(stdin) line %lld: not sent", (long long)sent + 1);
    if (r.status != 1 || !strstr(r.err, "waiting for consumer group nobody-reads") ||
        !strstr(r.err, want) || sent < 2 || sent > 30)
        fail_msg("exit %d, %lld sent: %s", r.status, (long long)sent, r.err);
    runcmd_free(&r);
    if (saved) setenv("MNI_PG_CONNINFO", saved, 1);
    free(saved);
    char err[512];
    assert_int_equal(kq_producer_close(watch, 10000, err, sizeof err), 0);
}

static void first_run(void **state)
{
    static const char garbage[] = {0x00, 0x00, 0x00, 0x7f, 0x13, 0xde, 0xad, 0xbe, 0xef, 0x42};
    tmsgs in, acc, dlq;
    (void)state;

    /* Two undecodable messages on B's partition, then B's opening after them. */
    produce_bytes("INC-ING-B", garbage, sizeof garbage, NULL);
    char raw_path[] = "/tmp/mni-test-ingest-raw-XXXXXX";
    int fd = mkstemp(raw_path);
    assert_true(fd >= 0);
    static const char raw_line[] = "{\"event_id\":\"json-not-avro\"}\n";
    assert_int_equal(write(fd, raw_line, sizeof raw_line - 1), (ssize_t)(sizeof raw_line - 1));
    close(fd);
    const char *raw[] = {"mni",   "produce",   "--raw",  "--no-pace",
                         "--key", "INC-ING-B", raw_path, NULL};
    runcmd_result r;
    assert_int_equal(runcmd(raw, NULL, &r), 0);
    unlink(raw_path);
    if (r.status != 0) fail_msg("mni produce --raw: exit %d: %s", r.status, r.err);
    runcmd_free(&r);
    run_produce_file("events/ingest.jsonl");
    produce_runtime_events();

    run_ingest("ingest-test-1");

    /* event_log: exactly the admitted events, bodies that parse back into events. */
    assert_int_equal(db_count("SELECT count(*) FROM event_log", NULL), 6);
    assert_int_equal(db_count("SELECT count(*) FROM event_log WHERE event_id IN "
                              "('ing-a1','ing-a2','ing-b1','ing-a4')",
                              NULL),
                     4);
    assert_int_equal(db_count("SELECT count(*) FROM event_log WHERE event_id = 'ing-a4' AND "
                              "client_id = 'client-a' AND kind = 'exposure_manifest' AND "
                              "body->>'event_id' = 'ing-a4'",
                              NULL),
                     1);
    assert_int_equal(db_count("SELECT count(*) FROM event_log WHERE client_id IS NOT NULL AND "
                              "event_id <> 'ing-a4'",
                              NULL),
                     0);
    {
        char err[512];
        /* Whole events: a manifest's tokens are stored as bytes (migration 0070). */
        PGresult *res = pgx_query(db.conn, "test.bodies",
                                  "SELECT event_log_event(body, tokens)::text FROM event_log", 0,
                                  NULL, err, sizeof err);
        assert_non_null(res);
        for (int i = 0; i < PQntuples(res); i++) {
            mni_event ev;
            mni_event_init(&ev);
            const char *text = PQgetvalue(res, i, 0);
            if (mni_event_from_json_text(text, strlen(text), &ev, err, sizeof err) != 0)
                fail_msg("event_log body does not parse back: %s", err);
            mni_event_free(&ev);
        }
        PQclear(res);
    }

    read_topic(T_EVENTS, &in);
    read_topic(T_ACCEPTED, &acc);
    read_topic(T_DLQ, &dlq);
    assert_int_equal(in.n, 10);

    /* incident.accepted: the same bytes as the input, keyed by incident, headed by event id. */
    assert_int_equal(acc.n, 4);
    const char *accepted[] = {"ing-a1", "ing-a2", "ing-b1", "ing-a4"};
    for (size_t i = 0; i < 4; i++) {
        const tmsg *a = find_event(&acc, accepted[i]), *orig = find_event(&in, accepted[i]);
        if (!a || !orig) fail_msg("%s: not forwarded or not found in the input", accepted[i]);
        assert_int_equal(a->len, orig->len);
        assert_memory_equal(a->value, orig->value, a->len);
        assert_non_null(a->key);
        assert_string_equal(a->key, orig->key);
    }
    /* Order within an incident is kept: a1 before a2 before a4 on one partition. */
    assert_true(find_event(&acc, "ing-a1")->offset < find_event(&acc, "ing-a2")->offset);
    assert_true(find_event(&acc, "ing-a2")->offset < find_event(&acc, "ing-a4")->offset);

    /* The updates of incidents not opened wait: stored, not forwarded, not dead-lettered. */
    assert_int_equal(db_count("SELECT count(*) FROM waiting_events WHERE event_id IN "
                              "('ing-z1','ing-r2')",
                              NULL),
                     2);
    assert_null(find_event(&acc, "ing-z1"));
    assert_null(find_event(&acc, "ing-r2"));

    /* incident.dlq: reasons, details and origins. */
    assert_int_equal(dlq.n, 4);
    assert_int_equal(count_reason(&dlq, "malformed"), 2);
    assert_int_equal(count_reason(&dlq, "unknown_incident"), 0);
    assert_int_equal(count_reason(&dlq, "raw_my_number"), 2);
    const tmsg *b1 = find_event(&in, "ing-b1");
    assert_non_null(b1);
    for (size_t i = 0; i < dlq.n; i++) {
        const tmsg *d = &dlq.v[i];
        assert_string_equal(d->origin_topic, T_EVENTS);
        assert_true(d->origin_partition >= 0 && d->origin_offset >= 0);
        const tmsg *orig = NULL;
        for (size_t j = 0; j < in.n; j++)
            if (in.v[j].partition == d->origin_partition && in.v[j].offset == d->origin_offset)
                orig = &in.v[j];
        if (!orig)
            fail_msg("dead letter origin %" PRId64 "/%" PRId64 " not in the input",
                     d->origin_partition, d->origin_offset);
        if (!strcmp(d->reason, "malformed")) {
            /* The original bytes travel; b1 comes after them on the same partition. */
            assert_int_equal(d->len, orig->len);
            assert_memory_equal(d->value, orig->value, d->len);
            assert_true(d->detail[0] != '\0');
            assert_int_equal(d->origin_partition, b1->partition);
            assert_true(d->origin_offset < b1->offset);
        } else if (!strcmp(d->reason, "raw_my_number")) {
            assert_int_equal(d->len, 0); /* redacted */
            assert_true(!strcmp(d->detail, "body.description") || !strcmp(d->detail, "body.note"));
            assert_true(!strcmp(orig->event_id, "ing-r1") || !strcmp(orig->event_id, "ing-a3"));
            assert_string_equal(d->detail, !strcmp(orig->event_id, "ing-r1") ? "body.description"
                                                                             : "body.note");
        } else {
            fail_msg("unexpected dead letter reason %s", d->reason);
        }
    }

    /* The raw numbers: present in the input (the search works), absent everywhere after. */
    const char *needles[] = {number_run, number_groups, number_digits2};
    int seen_in_input = 0;
    for (size_t i = 0; i < in.n; i++)
        seen_in_input += contains(&in.v[i], number_run) + contains(&in.v[i], number_groups);
    assert_int_equal(seen_in_input, 2);
    for (size_t k = 0; k < 3; k++) {
        assert_not_in_event_log(needles[k]);
        for (size_t i = 0; i < acc.n; i++)
            assert_false(contains(&acc.v[i], needles[k]));
        for (size_t i = 0; i < dlq.n; i++) {
            assert_false(contains(&dlq.v[i], needles[k]));
            assert_null(strstr(dlq.v[i].detail, needles[k]));
        }
    }
    /* ... while the token's digit run was stored with the token (not a padded number). */
    assert_int_equal(db_count("SELECT count(*) FROM event_log WHERE event_log_event(body, "
                              "tokens)::text LIKE '%' || $1 || '%'",
                              token_number),
                     1);
    /* As 32 bytes beside a body without them, and given back whole. */
    assert_int_equal(db_count("SELECT count(*) FROM event_log WHERE event_id = 'ing-a4' AND "
                              "length(tokens) = 32 AND NOT body->'body' ? 'tokens' AND "
                              "event_log_event(body, tokens)->'body'->'tokens' = "
                              "jsonb_build_array(encode(tokens, 'hex'))",
                              NULL),
                     1);

    assert_offsets_at_end("ingest-test-1");
    tmsgs_free(&in);
    tmsgs_free(&acc);
    tmsgs_free(&dlq);
}

static void restart_same_group(void **state)
{
    tmsgs acc, dlq;
    (void)state;

    run_produce_file("events/ingest.jsonl"); /* a1 a2 z1 b1 again */
    run_ingest("ingest-test-1");

    assert_int_equal(db_count("SELECT count(*) FROM event_log", NULL), 6);
    assert_int_equal(db_count("SELECT count(*) FROM waiting_events", NULL), 2);
    read_topic(T_ACCEPTED, &acc);
    read_topic(T_DLQ, &dlq);
    assert_int_equal(acc.n, 4);
    /* Only the four new messages were read, all replays (z1 of a waiting event): nothing. */
    assert_int_equal(dlq.n, 4);
    assert_offsets_at_end("ingest-test-1");
    tmsgs_free(&acc);
    tmsgs_free(&dlq);
}

static void replay_new_group(void **state)
{
    tmsgs acc, dlq;
    (void)state;

    run_ingest("ingest-test-2");

    assert_int_equal(db_count("SELECT count(*) FROM event_log", NULL), 6);
    read_topic(T_ACCEPTED, &acc);
    read_topic(T_DLQ, &dlq);
    assert_int_equal(acc.n, 4);
    /* All 14 input messages were read again; the 4 refused ones are dead-lettered again. */
    assert_int_equal(dlq.n, 8);
    assert_int_equal(count_reason(&dlq, "malformed"), 4);
    assert_int_equal(count_reason(&dlq, "raw_my_number"), 4);
    assert_int_equal(count_reason(&dlq, "unknown_incident"), 0);
    for (size_t i = 0; i < dlq.n; i++)
        if (!strcmp(dlq.v[i].reason, "raw_my_number")) assert_int_equal(dlq.v[i].len, 0);
    assert_offsets_at_end("ingest-test-2");
    assert_offsets_at_end("ingest-test-1"); /* untouched by the other group */
    assert_not_in_event_log(number_run);
    tmsgs_free(&acc);
    tmsgs_free(&dlq);
}

/* Waits up to timeout_ms for event_id's event_log row; returns how long it took, or -1. */
static int64_t wait_event_logged(const char *event_id, int timeout_ms)
{
    int64_t start = monoclock_ms();
    while (db_count("SELECT count(*) FROM event_log WHERE event_id = $1", event_id) == 0) {
        if (monoclock_ms() - start > timeout_ms) return -1;
        usleep(10 * 1000);
    }
    return monoclock_ms() - start;
}

/* An incident_opened event of its own incident. */
static void produce_idle_event(const char *event_id)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"event_id\":\"%s\",\"incident_id\":\"INC-%s\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2026-05-02T10:00:00+09:00\",\"type\":\"incident_opened\","
             "\"body\":{\"known_at\":\"2026-05-02T09:00:00+09:00\",\"title\":\"idle\","
             "\"reporter\":{\"role\":\"contractor\",\"number_use_entity\":false,"
             "\"public_body_system\":false},\"kinds\":[\"leak\"],\"certainty\":\"possible\","
             "\"improper_purpose\":\"none\",\"systems\":[],\"unspecified_viewing\":\"none\","
             "\"encrypted_protected\":false,\"recovered_unviewed\":false,\"intact_copy\":false,"
             "\"appi_sensitive\":false,\"appi_financial_risk\":false,\"description\":\"\"}}",
             event_id, event_id);
    produce_json(json);
}

/* Issue 6 (W3's delay): a batch ends once nothing more is queued, so an idle worker commits
 * an event as soon as it has it, not when batch.ms (here 5 s) has passed since it started
 * waiting. */
static void idle_worker_commits_at_once(void **state)
{
    enum { BATCH_MS = 5000 };
    static const char *const env[] = {"MNI_BATCH_MS=5000", "MNI_KAFKA_SESSION_TIMEOUT_MS=6000",
                                      "MNI_KAFKA_HEARTBEAT_INTERVAL_MS=500", NULL};
    workerproc w;
    (void)state;
    assert_int_equal(workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(mk),
                                      "ingest-test-2", env, NULL),
                     0);
    produce_idle_event("ing-idle-1"); /* the first waits for the group join */
    int64_t first = wait_event_logged("ing-idle-1", 30000);
    /* The worker is now idle, waiting up to batch.ms for a message. */
    produce_idle_event("ing-idle-2");
    int64_t second = wait_event_logged("ing-idle-2", BATCH_MS / 2);
    workerproc_signal(&w, SIGTERM);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (first < 0 || second < 0 || rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("first event %s, second %s within %d ms (batch.ms %d), exit %d",
                 first < 0 ? "not logged" : "logged", second < 0 ? "not logged" : "logged",
                 BATCH_MS / 2, BATCH_MS, rc);
    }
    unlink(w.log_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(produce_cli_errors),          cmocka_unit_test(produce_follow_streams),
        cmocka_unit_test(produce_follow_paced),        cmocka_unit_test(first_run),
        cmocka_unit_test(restart_same_group),          cmocka_unit_test(replay_new_group),
        cmocka_unit_test(idle_worker_commits_at_once),
    };
    return cmocka_run_group_tests_name("ingest", tests, group_setup, group_teardown);
}
