/*
 * test_kq: the Kafka layer (lib/kafka/kq*) against librdkafka's in-process mock cluster, over the
 * real Kafka protocol on loopback.
 *
 * What each case establishes:
 *   conf_*              kq's defaults and the properties it refuses, with the property named.
 *   produce_consume     keyed messages with headers come back in batches, complete, in key
 *                       order, headers intact; nothing is committed to Kafka.
 *   delivery_failures   a message that cannot be delivered (a broker error injected on
 *                       Produce; every broker down until message.timeout.ms) makes flush_checked
 *                       return -1, and the next window starts clean.
 *   settle              after a check gave up with messages still queued (no broker), settling
 *                       returns once each has its final report: none is left to arrive later.
 *   load_offsets_seek   the rebalance callback assigns at the offsets load_offsets supplies (the
 *                       first message is offset 5); kq_seek_batch re-reads a batch; kq_seek moves.
 *   load_offsets_refused  a refused assignment makes kq_consume_batch return -1; close is clean.
 *   revocation_in_batch a second member joins while the first is in kq_consume_batch: its
 *                       batches come back holding only the partitions it owns afterwards,
 *                       each offset once, and together with the second member's batches every
 *                       message is read exactly once through the offset table (PostgreSQL's role).
 *   revocation_while_collecting  the revocation comes while member A's batch holds collected
 *                       messages (a backlog fetched one message set per slowed round trip keeps
 *                       it collecting; B joins once A has taken a message), some from partitions
 *                       that go to B: on_revoke sees them; the batch handed out holds only
 *                       partitions A owns; A and B together read every message exactly once.
 *   dead_letter         a dead letter carries the original key, value, headers and every origin
 *                       header; a redacted one carries no value and no original headers.
 *   batch_bytes         a batch closes once its values reach the byte bound.
 *   batch_ends_when_drained  a batch ends once nothing more is queued and the broker has
 *                       nothing more for it, not at max_ms: a backlog fetched one message set
 *                       at a time still makes one batch; one message to an idle consumer comes
 *                       back at once; max_msgs caps a batch.
 *   prefetch_bounded    a consumer far behind small messages holds about queued.min.messages
 *                       (kq's default, 10,000) of them, not the whole backlog (issue 6: mni-notify
 *                       grew while it lagged behind its tasks).
 *
 * The mock's first group join takes 3 s; every case that consumes joins one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/monoclock.h"
#include "lib/kafka/kq.h"
#include "tests/support/mockkafka.h"

#define T_DATA "kq.data"         /* 3 partitions */
#define T_SEEK "kq.seek"         /* 1 partition */
#define T_REFUSE "kq.refuse"     /* 1 partition */
#define T_REBAL "kq.rebal"       /* 4 partitions */
#define T_ORIGIN "kq.origin"     /* 1 partition */
#define T_DLQ "kq.dlq"           /* 1 partition */
#define T_FAIL "kq.fail"         /* 1 partition */
#define T_BYTES "kq.bytes"       /* 1 partition */
#define T_PREFETCH "kq.prefetch" /* 1 partition */
#define T_DRAIN "kq.drain"       /* 1 partition */
#define T_MIDREV "kq.midrev"     /* 4 partitions */
#define T_RESUME "kq.resume"     /* 1 partition */

static mockkafka *mk;

/* librdkafka's own log lines, routed through kq_set_log; shown only with KQ_TEST_LOG set. */
static atomic_int log_lines;
/* Set when librdkafka's fetcher says it stops fetching a partition because enough messages
 * wait (its FETCH debug line; test_prefetch_bounded turns that debug context on). */
static atomic_int prefetch_stopped;
/* Set when a consumer with debug=cgrp (test_revocation_in_batch's member A) has a revocation
 * waiting in its queue for the application. */
static atomic_int revoke_delegated;
/* Set when the fetcher has decided not to fetch the paused partition of
 * test_resume_fetches_at_once: its broker thread then sleeps until its next wakeup. */
static atomic_int resume_fetcher_idle;

static void test_log(int level, const char *facility, const char *message)
{
    atomic_fetch_add(&log_lines, 1);
    if (strstr(message, "not fetchable: queued.min.messages exceeded"))
        atomic_store(&prefetch_stopped, 1);
    if (strstr(message, "delegating revoke")) atomic_store(&revoke_delegated, 1);
    if (strstr(message, T_RESUME) && strstr(message, "not fetchable: paused"))
        atomic_store(&resume_fetcher_idle, 1);
    if (getenv("KQ_TEST_LOG")) fprintf(stderr, "rdkafka %d %s: %s\n", level, facility, message);
}

static int group_setup(void **state)
{
    static const mockkafka_topic topics[] = {
        {T_DATA, 3}, {T_SEEK, 1},  {T_REFUSE, 1},   {T_REBAL, 4}, {T_ORIGIN, 1}, {T_DLQ, 1},
        {T_FAIL, 1}, {T_BYTES, 1}, {T_PREFETCH, 1}, {T_DRAIN, 1}, {T_MIDREV, 4}, {T_RESUME, 1},
    };

    (void)state;
    kq_set_log(test_log);
    return mockkafka_setup(&mk, topics, sizeof topics / sizeof topics[0]);
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(mk);
    return 0;
}

static kq_producer *new_producer(const kq_prop *extra, size_t nextra)
{
    kq_prop props[8] = {{"bootstrap.servers", mockkafka_bootstraps(mk)}, {"linger.ms", "1"}};
    size_t n = 2, i;
    char err[512];
    kq_producer *p;

    for (i = 0; i < nextra; i++)
        props[n++] = extra[i];
    p = kq_producer_new(props, n, err, sizeof err);
    if (!p) fail_msg("%s", err);
    return p;
}

/* debug: librdkafka's debug contexts for this consumer, or NULL. */
static kq_consumer *new_consumer_debug(const char *group, const kq_consumer_cbs *cbs,
                                       const char *debug)
{
    const kq_prop props[] = {
        {"bootstrap.servers", mockkafka_bootstraps(mk)},
        {"group.id", group},
        {"session.timeout.ms", "3000"},
        {"heartbeat.interval.ms", "100"},
        {"fetch.wait.max.ms", "50"},
        {"enable.partition.eof", "true"}, /* so that skipping EOF events is exercised */
        {"debug", debug},
    };
    char err[512];
    kq_consumer *c = kq_consumer_new(props, sizeof props / sizeof props[0] - (debug ? 0 : 1), cbs,
                                     err, sizeof err);

    if (!c) fail_msg("%s", err);
    return c;
}

static kq_consumer *new_consumer(const char *group, const kq_consumer_cbs *cbs)
{
    return new_consumer_debug(group, cbs, NULL);
}

static void subscribe1(kq_consumer *c, const char *topic)
{
    char err[512];
    const char *topics[] = {topic};

    if (kq_subscribe(c, topics, 1, err, sizeof err) != 0) fail_msg("%s", err);
}

static void close_consumer(kq_consumer *c)
{
    char err[512];

    if (kq_consumer_close(c, err, sizeof err) != 0) fail_msg("%s", err);
}

static void close_producer(kq_producer *p)
{
    char err[512];

    if (kq_producer_close(p, 5000, err, sizeof err) != 0) fail_msg("%s", err);
}

/* ---- configuration ---------------------------------------------------------------------- */

static void expect_conf_error(kq_role role, kq_prop prop, const char *needle)
{
    kq_prop props[] = {{"group.id", "g"}, prop};
    char err[512] = "";
    rd_kafka_conf_t *conf = kq_conf_new(role, props, 2, err, sizeof err);

    if (conf) {
        rd_kafka_conf_destroy(conf);
        fail_msg("%s=%s accepted", prop.key, prop.value);
    }
    if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void conf_value(rd_kafka_conf_t *conf, const char *key, const char *want)
{
    char buf[256];
    size_t size = sizeof buf;

    assert_int_equal(rd_kafka_conf_get(conf, key, buf, &size), RD_KAFKA_CONF_OK);
    assert_string_equal(buf, want);
}

static void test_conf_defaults(void **state)
{
    const kq_prop cprops[] = {{"group.id", "g"}, {"isolation.level", "read_uncommitted"}};
    char err[512];
    rd_kafka_conf_t *conf;

    (void)state;
    conf = kq_conf_new(KQ_CONSUMER, cprops, 2, err, sizeof err);
    assert_non_null(conf);
    conf_value(conf, "enable.auto.commit", "false");
    conf_value(conf, "enable.auto.offset.store", "false");
    conf_value(conf, "partition.assignment.strategy", "range");
    conf_value(conf, "auto.offset.reset", "smallest");       /* librdkafka's name for earliest */
    conf_value(conf, "isolation.level", "read_uncommitted"); /* the caller's pair wins */
    conf_value(conf, "queued.min.messages", "10000");        /* memory bounded */
    conf_value(conf, "fetch.wait.max.ms", "20");             /* the mock holds empty fetches */
    conf_value(conf, "socket.nagle.disable", "true");        /* no 40 ms stalls */
    rd_kafka_conf_destroy(conf);

    conf = kq_conf_new(KQ_PRODUCER, NULL, 0, err, sizeof err);
    assert_non_null(conf);
    conf_value(conf, "enable.idempotence", "true");
    conf_value(conf, "partitioner", "murmur2_random");
    conf_value(conf, "socket.nagle.disable", "true");
    conf_value(conf, "message.timeout.ms", "25000"); /* within the relays' 30 s flush */
    rd_kafka_conf_destroy(conf);
}

static void test_conf_refused(void **state)
{
    char err[512] = "";

    (void)state;
    expect_conf_error(KQ_CONSUMER, (kq_prop){"no.such.property", "1"}, "no.such.property");
    expect_conf_error(KQ_CONSUMER, (kq_prop){"enable.auto.commit", "true"}, "enable.auto.commit");
    expect_conf_error(KQ_CONSUMER, (kq_prop){"enable.auto.offset.store", "true"},
                      "enable.auto.offset.store");
    expect_conf_error(KQ_CONSUMER, (kq_prop){"partition.assignment.strategy", "cooperative-sticky"},
                      "partition.assignment.strategy");
    expect_conf_error(KQ_CONSUMER, (kq_prop){"group.id", ""}, "group.id");
    expect_conf_error(KQ_PRODUCER, (kq_prop){"enable.idempotence", "false"}, "enable.idempotence");
    expect_conf_error(KQ_PRODUCER, (kq_prop){"acks", "1"}, "acks");
    expect_conf_error(KQ_PRODUCER, (kq_prop){"session.timeout.ms", "not-a-number"},
                      "session.timeout.ms");
    /* The constructors report the same way. */
    assert_null(kq_consumer_new(NULL, 0, NULL, err, sizeof err));
    assert_non_null(strstr(err, "group.id"));
}

/* ---- produce and consume ---------------------------------------------------------------- */

#define N_DATA 300
#define N_KEYS 7

struct assign_log {
    int assigns, revokes, errors;
    int64_t set_offset; /* what load_offsets stores for every partition; < 0: leave it */
    int refuse;
};

static int log_load_offsets(void *ctx, rd_kafka_topic_partition_list_t *parts)
{
    struct assign_log *l = ctx;
    int i;

    l->assigns++;
    for (i = 0; i < parts->cnt; i++) {
        /* kq hands the partitions over at "from the beginning". */
        if (parts->elems[i].offset != RD_KAFKA_OFFSET_BEGINNING) l->errors++;
        if (l->set_offset >= 0) parts->elems[i].offset = l->set_offset;
    }
    return l->refuse ? -1 : 0;
}

static void log_on_revoke(void *ctx, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    struct assign_log *l = ctx;

    (void)parts;
    (void)lost;
    l->revokes++;
}

static void test_produce_consume(void **state)
{
    static const unsigned char bin[] = {0x00, 0x01, 0xfe, 0xff, 0x00};
    struct assign_log log = {.set_offset = -1};
    kq_consumer_cbs cbs = {&log, log_load_offsets, log_on_revoke, NULL};
    int seen[N_DATA] = {0}, last_seq[N_KEYS];
    rd_kafka_message_t *batch[64];
    rd_kafka_topic_partition_list_t *committed;
    kq_producer *p;
    kq_consumer *c;
    char err[512], key[16], val[32], id[16];
    int i, total = 0, batches = 0;
    int64_t deadline;

    (void)state;
    p = new_producer(NULL, 0);
    for (i = 0; i < N_DATA; i++) {
        int seq = i / N_KEYS;
        kq_header h[3] = {
            {"mni.task.id", id, 0}, {"mni.bin", bin, sizeof bin}, {"mni.null", NULL, 0}};

        snprintf(key, sizeof key, "inc-%d", i % N_KEYS);
        snprintf(val, sizeof val, "%d:%d", i, seq);
        snprintf(id, sizeof id, "%d", i);
        h[0].len = strlen(id);
        if (kq_produce(p, T_DATA, key, strlen(key), val, strlen(val), h, 3, err, sizeof err) != 0)
            fail_msg("%s", err);
    }
    if (kq_producer_flush_checked(p, 10000, err, sizeof err) != 0) fail_msg("%s", err);
    close_producer(p);

    for (i = 0; i < N_KEYS; i++)
        last_seq[i] = -1;
    c = new_consumer("g.data", &cbs);
    subscribe1(c, T_DATA);
    deadline = monoclock_ms() + 15000;
    while (total < N_DATA && monoclock_ms() < deadline) {
        size_t n, j;

        if (kq_consume_batch(c, 64, 500, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
        if (n > 0) batches++;
        for (j = 0; j < n; j++) {
            const rd_kafka_message_t *m = batch[j];
            const void *hv;
            size_t hl;
            int idx, seq, k;
            int64_t task;
            char s[32];

            assert_int_equal(m->len < sizeof s ? 0 : 1, 0);
            memcpy(s, m->payload, m->len);
            s[m->len] = '\0';
            assert_int_equal(sscanf(s, "%d:%d", &idx, &seq), 2);
            assert_in_range(idx, 0, N_DATA - 1);
            assert_int_equal(seen[idx]++, 0);
            k = idx % N_KEYS;
            snprintf(key, sizeof key, "inc-%d", k);
            assert_int_equal(m->key_len, strlen(key));
            assert_memory_equal(m->key, key, m->key_len);
            /* One key, one partition, so its events come back in order. */
            assert_true(seq > last_seq[k]);
            last_seq[k] = seq;
            assert_int_equal(kq_header_i64(m, "mni.task.id", &task), 0);
            assert_int_equal(task, idx);
            assert_int_equal(kq_header_get(m, "mni.bin", &hv, &hl), 0);
            assert_int_equal(hl, sizeof bin);
            assert_memory_equal(hv, bin, sizeof bin);
            assert_int_equal(kq_header_str(m, "mni.bin", s, sizeof s), -1); /* holds a NUL */
            assert_int_equal(kq_header_get(m, "mni.null", &hv, &hl), 0);
            assert_null(hv);
            assert_int_equal(kq_header_str(m, "mni.null", s, sizeof s), -1);
            assert_int_equal(kq_header_get(m, "mni.absent", &hv, &hl), -1);
            total++;
        }
        kq_messages_destroy(batch, n);
    }
    assert_int_equal(total, N_DATA);
    assert_true(batches < N_DATA); /* batching happened */
    assert_int_equal(log.assigns, 1);
    assert_int_equal(log.errors, 0);

    /* PostgreSQL is the offset store: the group has nothing committed in Kafka. */
    committed = rd_kafka_topic_partition_list_new(3);
    for (i = 0; i < 3; i++)
        rd_kafka_topic_partition_list_add(committed, T_DATA, i);
    assert_int_equal(rd_kafka_committed(kq_consumer_handle(c), committed, 5000),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    for (i = 0; i < 3; i++)
        assert_int_equal(committed->elems[i].offset, RD_KAFKA_OFFSET_INVALID);
    rd_kafka_topic_partition_list_destroy(committed);

    close_consumer(c);
    assert_int_equal(log.revokes, 1); /* close revoked the assignment through the callback */
}

/* ---- delivery failures ------------------------------------------------------------------ */

/* Waits are for conditions, never for a time: every flush check below returns as soon as each
 * message has its delivery report, and its timeout (FLUSH_WAIT_MS) only bounds a hang. Only the
 * producer whose messages must time out has a short message.timeout.ms, and it is used only
 * while no broker answers, so a loaded machine cannot time out a message that should have been
 * delivered. */
#define FLUSH_WAIT_MS 60000
static void test_delivery_failures(void **state)
{
    const kq_prop patient[] = {{"message.timeout.ms", "300000"}};
    const kq_prop quick[] = {{"message.timeout.ms", "1000"}};
    kq_producer *p, *q;
    char err[512];
    int i, lines;

    (void)state;
    p = new_producer(patient, 1);
    if (kq_produce(p, T_FAIL, "k", 1, "warm", 4, NULL, 0, err, sizeof err) != 0 ||
        kq_producer_flush_checked(p, FLUSH_WAIT_MS, err, sizeof err) != 0)
        fail_msg("%s", err);

    /* The broker refuses the next Produce request with a permanent error. */
    rd_kafka_mock_push_request_errors(mockkafka_cluster(mk), 0 /* Produce */, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    if (kq_produce(p, T_FAIL, "k", 1, "refused", 7, NULL, 0, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(kq_producer_flush_checked(p, FLUSH_WAIT_MS, err, sizeof err), -1);
    assert_non_null(strstr(err, "1 of 1 deliveries failed"));
    assert_non_null(strstr(err, T_FAIL));
    assert_non_null(strstr(err, "Message size too large"));

    /* The window was reset: good deliveries check clean again. */
    for (i = 0; i < 3; i++)
        if (kq_produce(p, T_FAIL, "k", 1, "ok", 2, NULL, 0, err, sizeof err) != 0)
            fail_msg("%s", err);
    if (kq_producer_flush_checked(p, FLUSH_WAIT_MS, err, sizeof err) != 0) fail_msg("%s", err);

    /* No broker answers: the message times out (message.timeout.ms) and the check says so as
     * soon as its report is in. The disconnection is logged through kq_set_log's hook. */
    lines = atomic_load(&log_lines);
    rd_kafka_mock_broker_set_down(mockkafka_cluster(mk), 1);
    q = new_producer(quick, 1);
    if (kq_produce(q, T_FAIL, "k", 1, "lost", 4, NULL, 0, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(kq_producer_flush_checked(q, FLUSH_WAIT_MS, err, sizeof err), -1);
    assert_non_null(strstr(err, "timed out"));
    close_producer(q);
    int64_t deadline = monoclock_ms() + FLUSH_WAIT_MS;
    while (atomic_load(&log_lines) == lines && monoclock_ms() < deadline)
        usleep(10000);
    assert_true(atomic_load(&log_lines) > lines);
    /* Closing with a message still undeliverable (it would wait 300 s for a broker): -1,
     * purged, no hang. */
    if (kq_produce(p, T_FAIL, "k", 1, "stuck", 5, NULL, 0, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(kq_producer_close(p, 300, err, sizeof err), -1);
    assert_non_null(strstr(err, "unconfirmed"));
    rd_kafka_mock_broker_set_up(mockkafka_cluster(mk), 1);
}

/* Settling after a failed check: a check that gave up with messages still queued (no broker)
 * leaves them in the producer, to be written whenever a broker comes back; kq_producer_settle
 * returns only once each has its final report (here message.timeout.ms, 2 s), so that nothing
 * is left to arrive later. */
static void test_settle(void **state)
{
    const kq_prop quick[] = {{"message.timeout.ms", "2000"}};
    char err[512];

    (void)state;
    rd_kafka_mock_broker_set_down(mockkafka_cluster(mk), 1);
    kq_producer *p = new_producer(quick, 1);
    for (int i = 0; i < 3; i++)
        if (kq_produce(p, T_FAIL, "k", 1, "given up", 8, NULL, 0, err, sizeof err) != 0)
            fail_msg("%s", err);
    assert_int_equal(kq_producer_flush_checked(p, 100, err, sizeof err), -1);
    assert_non_null(strstr(err, "unconfirmed"));
    assert_int_equal(kq_producer_outstanding(p), 3);
    assert_int_equal(kq_producer_settle(p, err, sizeof err), 0);
    assert_int_equal(kq_producer_outstanding(p), 0);
    assert_int_equal(kq_producer_close(p, 300, err, sizeof err), 0);
    rd_kafka_mock_broker_set_up(mockkafka_cluster(mk), 1);
}

/* ---- load_offsets decides where consumption starts -------------------------------------- */

static void produce_n(const char *topic, int n, int base)
{
    kq_producer *p = new_producer(NULL, 0);
    char err[512], val[16];
    int i;

    for (i = 0; i < n; i++) {
        snprintf(val, sizeof val, "m%d", base + i);
        if (kq_produce(p, topic, "k", 1, val, strlen(val), NULL, 0, err, sizeof err) != 0)
            fail_msg("%s", err);
    }
    if (kq_producer_flush_checked(p, 10000, err, sizeof err) != 0) fail_msg("%s", err);
    close_producer(p);
}

/* Consumes until want messages or timeout_ms; returns how many (at most cap kept). */
static size_t consume_upto(kq_consumer *c, size_t want, int timeout_ms, rd_kafka_message_t **out,
                           size_t cap)
{
    int64_t deadline = monoclock_ms() + timeout_ms;
    size_t total = 0, n;
    char err[512];

    while (total < want && monoclock_ms() < deadline) {
        if (kq_consume_batch(c, cap - total, 200, out + total, &n, err, sizeof err) != 0)
            fail_msg("%s", err);
        total += n;
    }
    return total;
}

static void test_load_offsets_seek(void **state)
{
    struct assign_log log = {.set_offset = 5};
    kq_consumer_cbs cbs = {&log, log_load_offsets, log_on_revoke, NULL};
    rd_kafka_message_t *msgs[16], *again[16];
    kq_consumer *c;
    char err[512];
    size_t n, m, i;

    (void)state;
    produce_n(T_SEEK, 10, 0);
    c = new_consumer("g.seek", &cbs);
    subscribe1(c, T_SEEK);
    n = consume_upto(c, 5, 10000, msgs, 16);
    assert_int_equal(log.assigns, 1);
    assert_int_equal(n, 5);
    assert_int_equal(msgs[0]->offset, 5); /* where load_offsets said, not the log start */
    assert_int_equal(msgs[0]->len, 2);
    assert_memory_equal(msgs[0]->payload, "m5", 2);
    for (i = 0; i < n; i++)
        assert_int_equal(msgs[i]->offset, (int64_t)(5 + i));

    /* The batch "failed to commit": rewind it and read the same offsets again. */
    if (kq_seek_batch(c, msgs, n, err, sizeof err) != 0) fail_msg("%s", err);
    m = consume_upto(c, n, 5000, again, 16);
    assert_int_equal(m, n);
    for (i = 0; i < n; i++)
        assert_int_equal(again[i]->offset, msgs[i]->offset);
    kq_messages_destroy(again, m);
    kq_messages_destroy(msgs, n);

    /* A single partition moves too. */
    if (kq_seek(c, T_SEEK, 0, 8, err, sizeof err) != 0) fail_msg("%s", err);
    m = consume_upto(c, 2, 5000, again, 16);
    assert_int_equal(m, 2);
    assert_int_equal(again[0]->offset, 8);
    kq_messages_destroy(again, m);
    /* A partition that is not assigned cannot be sought. */
    assert_int_equal(kq_seek(c, T_SEEK, 3, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, T_SEEK));

    close_consumer(c);
    assert_int_equal(log.errors, 0);
}

static void test_load_offsets_refused(void **state)
{
    struct assign_log log = {.set_offset = -1, .refuse = 1};
    kq_consumer_cbs cbs = {&log, log_load_offsets, log_on_revoke, NULL};
    rd_kafka_message_t *msgs[8];
    kq_consumer *c;
    char err[512] = "";
    size_t n = 0;
    int rc = 0;
    int64_t deadline;

    (void)state;
    produce_n(T_REFUSE, 3, 0);
    c = new_consumer("g.refuse", &cbs);
    subscribe1(c, T_REFUSE);
    deadline = monoclock_ms() + 10000;
    while (rc == 0 && monoclock_ms() < deadline) {
        rc = kq_consume_batch(c, 8, 200, msgs, &n, err, sizeof err);
        assert_int_equal(n, 0); /* nothing is consumed from unloaded offsets */
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "load_offsets"));
    /* The failure is terminal and says so again. */
    assert_int_equal(kq_consume_batch(c, 8, 10, msgs, &n, err, sizeof err), -1);
    close_consumer(c);
}

/* ---- a revocation while a batch is being collected -------------------------------------- */

#define REBAL_PARTS 4
#define REBAL_N 40

/* The offset table a worker keeps in PostgreSQL, and a record of every message "committed". */
struct offset_table {
    pthread_mutex_t lock;
    int64_t next[REBAL_PARTS];
    int committed[REBAL_PARTS][2 * REBAL_N];
    int duplicate;
};

static int table_load(void *ctx, rd_kafka_topic_partition_list_t *parts)
{
    struct offset_table *t = ctx;
    int i;

    pthread_mutex_lock(&t->lock);
    for (i = 0; i < parts->cnt; i++)
        if (t->next[parts->elems[i].partition] > 0)
            parts->elems[i].offset = t->next[parts->elems[i].partition];
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* The worker's transaction: compare-and-set per partition, then record. Returns -1 when fenced. */
static int table_commit(struct offset_table *t, rd_kafka_message_t **msgs, size_t n)
{
    int64_t first[REBAL_PARTS], last[REBAL_PARTS];
    size_t i;
    int p, rc = 0;

    for (p = 0; p < REBAL_PARTS; p++)
        first[p] = last[p] = -1;
    for (i = 0; i < n; i++) {
        p = msgs[i]->partition;
        if (first[p] < 0) first[p] = msgs[i]->offset;
        last[p] = msgs[i]->offset;
    }
    pthread_mutex_lock(&t->lock);
    for (p = 0; p < REBAL_PARTS; p++)
        if (first[p] >= 0 && t->next[p] != first[p]) rc = -1;
    if (rc == 0) {
        for (i = 0; i < n; i++) {
            int64_t off = msgs[i]->offset;

            if (off >= 2 * REBAL_N || t->committed[msgs[i]->partition][off]++ > 0) t->duplicate = 1;
        }
        for (p = 0; p < REBAL_PARTS; p++)
            if (last[p] >= 0) t->next[p] = last[p] + 1;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

struct member_b {
    struct offset_table *table;
    atomic_int stop;
    int failed;
    char err[512];
    size_t consumed;
    kq_consumer *c;
};

static void *member_b_run(void *arg)
{
    struct member_b *b = arg;
    rd_kafka_message_t *msgs[64];
    size_t n;

    while (!atomic_load(&b->stop)) {
        if (kq_consume_batch(b->c, 64, 100, msgs, &n, b->err, sizeof b->err) != 0) {
            b->failed = 1;
            break;
        }
        if (table_commit(b->table, msgs, n) != 0) {
            snprintf(b->err, sizeof b->err, "member B was fenced");
            b->failed = 1;
        }
        b->consumed += n;
        kq_messages_destroy(msgs, n);
    }
    return NULL;
}

static void produce_spread(int base)
{
    kq_producer *p = new_producer(NULL, 0);
    char err[512], key[16];
    int i;

    for (i = 0; i < REBAL_N; i++) {
        snprintf(key, sizeof key, "inc-%d", base + i);
        if (kq_produce(p, T_REBAL, key, strlen(key), key, strlen(key), NULL, 0, err, sizeof err) !=
            0)
            fail_msg("%s", err);
    }
    if (kq_producer_flush_checked(p, 10000, err, sizeof err) != 0) fail_msg("%s", err);
    close_producer(p);
}

static void test_revocation_in_batch(void **state)
{
    static struct offset_table table = {.lock = PTHREAD_MUTEX_INITIALIZER};
    kq_consumer_cbs cbs = {&table, table_load, NULL, NULL};
    struct member_b b = {.table = &table};
    rd_kafka_message_t *batch[4 * REBAL_N];
    rd_kafka_topic_partition_list_t *owned;
    kq_consumer *a;
    pthread_t tb;
    char err[512];
    size_t n, i, total;

    (void)state;
    /* Phase 1: member A alone reads and commits the first REBAL_N messages. */
    produce_spread(0);
    a = new_consumer_debug("g.rebal", &cbs, "cgrp"); /* revoke_delegated */
    subscribe1(a, T_REBAL);
    total = 0;
    for (int64_t deadline = monoclock_ms() + 10000; total < REBAL_N && monoclock_ms() < deadline;) {
        if (kq_consume_batch(a, 64, 200, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
        assert_int_equal(table_commit(&table, batch, n), 0);
        total += n;
        kq_messages_destroy(batch, n);
    }
    assert_int_equal(total, REBAL_N);

    /* Phase 2: member B joins; once A's revocation waits in its queue (A is not polling, so
     * the messages A's fetcher brings meanwhile are dropped with its old assignment), new
     * messages arrive, and A collects long batches: a batch ends when nothing more is queued,
     * so A must not read them before the revocation, or A would take them all. */
    atomic_store(&revoke_delegated, 0);
    b.c = new_consumer("g.rebal", &cbs);
    subscribe1(b.c, T_REBAL);
    assert_int_equal(pthread_create(&tb, NULL, member_b_run, &b), 0);
    for (int64_t deadline = monoclock_ms() + 30000; !atomic_load(&revoke_delegated);) {
        if (monoclock_ms() > deadline) fail_msg("member A's revocation never came");
        usleep(10 * 1000);
    }
    produce_spread(REBAL_N);
    /* Each long batch A collects while the group rebalances holds only partitions A owns when
     * it returns, each offset once; under load the rebalance may take more than one batch to
     * settle, so A reads until it owns its half (a condition, not a time). */
    total = 0;
    for (int64_t deadline = monoclock_ms() + 60000;;) {
        if (kq_consume_batch(a, 4 * REBAL_N, 5000, batch, &n, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_int_equal(rd_kafka_assignment(kq_consumer_handle(a), &owned),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        int settled = owned->cnt == REBAL_PARTS / 2;
        for (i = 0; i < n; i++)
            assert_non_null(
                rd_kafka_topic_partition_list_find(owned, T_REBAL, batch[i]->partition));
        rd_kafka_topic_partition_list_destroy(owned);
        assert_int_equal(table_commit(&table, batch, n), 0); /* not fenced: it starts at next */
        total += n;
        kq_messages_destroy(batch, n);
        if (settled) break;
        if (monoclock_ms() > deadline) fail_msg("member A never settled on half of the partitions");
    }

    /* Let B finish its share, then stop it. */
    for (int64_t deadline = monoclock_ms() + 5000; monoclock_ms() < deadline;) {
        int64_t done = 0;

        pthread_mutex_lock(&table.lock);
        for (int part = 0; part < REBAL_PARTS; part++)
            done += table.next[part];
        pthread_mutex_unlock(&table.lock);
        if (done >= 2 * REBAL_N) break;
        /* A keeps serving its heartbeats and any late messages. */
        if (kq_consume_batch(a, 64, 100, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
        assert_int_equal(table_commit(&table, batch, n), 0);
        total += n;
        kq_messages_destroy(batch, n);
    }
    atomic_store(&b.stop, 1);
    assert_int_equal(pthread_join(tb, NULL), 0);
    if (b.failed) fail_msg("member B: %s", b.err);
    assert_true(b.consumed > 0);
    assert_int_equal(total + b.consumed, REBAL_N);
    assert_int_equal(table.duplicate, 0);
    close_consumer(b.c);
    close_consumer(a);
}

/* A revocation that comes while a batch holds collected messages. The mock's broker answers
 * every request MIDREV_RTT_MS late and each fetch brings one message set per partition, so a
 * backlog of MIDREV_SETS sets per partition keeps member A's batch collecting (the high
 * watermark says more is on its way) for about MIDREV_SETS round trips; member B subscribes once
 * A's batch has taken a message (a condition), and its join takes a few round trips. on_revoke runs
 * inside A's kq_consume_batch and sees what the batch holds then: the count kq_consume_batch fills
 * in for the caller, and the messages in the caller's array. */
#define MIDREV_SETS (2 * REBAL_N) /* offset_table records offsets below 2 * REBAL_N */
#define MIDREV_TOTAL (REBAL_PARTS * MIDREV_SETS)
#define MIDREV_RTT_MS 40

struct midrev {
    struct offset_table *table;
    int revokes;                      /* A's revocations */
    const size_t *collecting;         /* the count A's kq_consume_batch fills in */
    rd_kafka_message_t *const *batch; /* the array it fills */
    size_t held_at_revoke;            /* what A's batch held at its first revocation */
    int held_parts[REBAL_PARTS];      /* the partitions those messages came from */
};

static int midrev_load(void *ctx, rd_kafka_topic_partition_list_t *parts)
{
    struct midrev *r = ctx;

    return table_load(r->table, parts);
}

static void midrev_revoke(void *ctx, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    struct midrev *r = ctx;

    (void)parts;
    (void)lost;
    if (r->revokes++ > 0) return;
    r->held_at_revoke = *r->collecting;
    for (size_t i = 0; i < r->held_at_revoke; i++)
        r->held_parts[r->batch[i]->partition] = 1;
}

struct member_b_late {
    struct member_b b;
    rd_kafka_t *a; /* member A's handle */
};

/* 1 once member A's application has been handed a message of T_MIDREV (its position moved). */
static int member_a_took(rd_kafka_t *a)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(REBAL_PARTS);
    int took = 0;

    for (int32_t part = 0; part < REBAL_PARTS; part++)
        rd_kafka_topic_partition_list_add(list, T_MIDREV, part);
    if (rd_kafka_position(a, list) == RD_KAFKA_RESP_ERR_NO_ERROR)
        for (int i = 0; i < list->cnt; i++)
            if (list->elems[i].offset > 0) took = 1;
    rd_kafka_topic_partition_list_destroy(list);
    return took;
}

/* Member B subscribes once member A's batch has taken a message, then consumes as member_b_run
 * does. */
static void *member_b_late_run(void *arg)
{
    struct member_b_late *late = arg;
    const char *topics[] = {T_MIDREV};

    for (int64_t deadline = monoclock_ms() + 30000; !member_a_took(late->a); usleep(1000)) {
        if (monoclock_ms() > deadline) {
            snprintf(late->b.err, sizeof late->b.err, "member A never took a message");
            late->b.failed = 1;
            return NULL;
        }
    }
    if (kq_subscribe(late->b.c, topics, 1, late->b.err, sizeof late->b.err) != 0) {
        late->b.failed = 1;
        return NULL;
    }
    return member_b_run(&late->b);
}

/* Member B's thread while test_revocation_while_collecting runs; its teardown stops it. */
static struct member_b_late *midrev_running;
static pthread_t midrev_thread;

/* Also after a failure: the broker answers promptly again and member B stops, so that the
 * cases that follow run as usual. */
static int midrev_teardown(void **state)
{
    (void)state;
    rd_kafka_mock_broker_set_rtt(mockkafka_cluster(mk), 1, 0);
    if (midrev_running) {
        atomic_store(&midrev_running->b.stop, 1);
        pthread_join(midrev_thread, NULL);
        midrev_running = NULL;
    }
    return 0;
}

static void test_revocation_while_collecting(void **state)
{
    static struct offset_table table = {.lock = PTHREAD_MUTEX_INITIALIZER};
    static rd_kafka_message_t *batch[MIDREV_TOTAL];
    static struct midrev r = {.table = &table};
    kq_consumer_cbs cbs_a = {&r, midrev_load, midrev_revoke, NULL};
    kq_consumer_cbs cbs_b = {&table, table_load, NULL, NULL};
    struct member_b_late late = {.b = {.table = &table}};
    rd_kafka_topic_partition_list_t *owned = NULL;
    kq_producer *p = new_producer(NULL, 0);
    rd_kafka_t *prk = kq_producer_handle(p);
    char err[512];
    size_t n = 0, total = 0;

    (void)state;
    /* The backlog: one message set per partition per flush. */
    for (int s = 0; s < MIDREV_SETS; s++) {
        for (int32_t part = 0; part < REBAL_PARTS; part++)
            assert_int_equal(rd_kafka_producev(prk, RD_KAFKA_V_TOPIC(T_MIDREV),
                                               RD_KAFKA_V_PARTITION(part), RD_KAFKA_V_VALUE("m", 1),
                                               RD_KAFKA_V_END),
                             RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(prk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    close_producer(p);

    rd_kafka_mock_broker_set_rtt(mockkafka_cluster(mk), 1, MIDREV_RTT_MS);
    r.collecting = &n;
    r.batch = batch;
    kq_consumer *a = new_consumer("g.midrev", &cbs_a);
    late.b.c = new_consumer("g.midrev", &cbs_b);
    late.a = kq_consumer_handle(a);
    subscribe1(a, T_MIDREV);
    assert_int_equal(pthread_create(&midrev_thread, NULL, member_b_late_run, &late), 0);
    midrev_running = &late;

    /* A reads with batches as long as the backlog, until the rebalance has settled (it owns
     * half of the partitions after a revocation): each batch holds only partitions A owns when
     * it is handed out, and starts at the stored offsets (the commit is not fenced). */
    for (int64_t deadline = monoclock_ms() + 60000;;) {
        if (kq_consume_batch(a, MIDREV_TOTAL, 30000, batch, &n, err, sizeof err) != 0)
            fail_msg("%s", err);
        assert_int_equal(rd_kafka_assignment(kq_consumer_handle(a), &owned),
                         RD_KAFKA_RESP_ERR_NO_ERROR);
        int settled = r.revokes > 0 && owned->cnt == REBAL_PARTS / 2;
        for (size_t i = 0; i < n; i++)
            if (!rd_kafka_topic_partition_list_find(owned, T_MIDREV, batch[i]->partition))
                fail_msg("member A's batch holds partition %" PRId32 ", which it does not own",
                         batch[i]->partition);
        rd_kafka_topic_partition_list_destroy(owned);
        assert_int_equal(table_commit(&table, batch, n), 0);
        total += n;
        kq_messages_destroy(batch, n);
        if (settled) break;
        if (monoclock_ms() > deadline) fail_msg("member A never settled on half of the partitions");
    }
    /* The point of the case: the revocation came while A's batch held messages, some of them
     * from partitions that went to B. */
    if (r.held_at_revoke == 0)
        fail_msg("member A's batch held nothing when its revocation came (backlog drained "
                 "first: %zu messages read before it)",
                 total);
    assert_int_equal(rd_kafka_assignment(kq_consumer_handle(a), &owned),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    int lost_held = 0;
    for (int32_t part = 0; part < REBAL_PARTS; part++)
        if (r.held_parts[part] && !rd_kafka_topic_partition_list_find(owned, T_MIDREV, part))
            lost_held = 1;
    rd_kafka_topic_partition_list_destroy(owned);
    assert_true(lost_held);
    print_message("member A's batch held %zu messages when its revocation came\n",
                  r.held_at_revoke);
    rd_kafka_mock_broker_set_rtt(mockkafka_cluster(mk), 1, 0);

    /* B reads its share; A keeps serving its heartbeats. */
    for (int64_t deadline = monoclock_ms() + 30000;;) {
        int64_t done = 0;

        pthread_mutex_lock(&table.lock);
        for (int part = 0; part < REBAL_PARTS; part++)
            done += table.next[part];
        pthread_mutex_unlock(&table.lock);
        if (done >= MIDREV_TOTAL) break;
        if (monoclock_ms() > deadline)
            fail_msg("%" PRId64 " of %d messages read", done, MIDREV_TOTAL);
        if (kq_consume_batch(a, 64, 100, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
        assert_int_equal(table_commit(&table, batch, n), 0);
        total += n;
        kq_messages_destroy(batch, n);
    }
    atomic_store(&late.b.stop, 1);
    assert_int_equal(pthread_join(midrev_thread, NULL), 0);
    midrev_running = NULL;
    if (late.b.failed) fail_msg("member B: %s", late.b.err);
    assert_true(late.b.consumed > 0);
    assert_int_equal(total + late.b.consumed, MIDREV_TOTAL);
    assert_int_equal(table.duplicate, 0);
    close_consumer(late.b.c);
    close_consumer(a);
}

/* ---- dead letters ----------------------------------------------------------------------- */

/* A consumer that reads a single-partition topic from its start, without a group join. */
static kq_consumer *reader(const char *topic, const char *group)
{
    kq_consumer *c = new_consumer(group, NULL);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);

    rd_kafka_topic_partition_list_add(list, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(kq_consumer_handle(c), list), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(list);
    return c;
}

static void expect_header(const rd_kafka_message_t *m, const char *name, const char *want)
{
    char buf[256];

    if (kq_header_str(m, name, buf, sizeof buf) != 0) fail_msg("header %s missing", name);
    assert_string_equal(buf, want);
}

static void test_dead_letter(void **state)
{
    const kq_header h[] = {{"mni.event.id", "ev-1", 4}};
    rd_kafka_message_t *orig[4], *dl[4];
    kq_producer *p;
    kq_consumer *c;
    char err[512], off[24];
    const void *hv;
    size_t n, hl;

    (void)state;
    p = new_producer(NULL, 0);
    assert_int_equal(kq_produce(p, T_ORIGIN, "inc-9", 5, "bad bytes", 9, h, 1, err, sizeof err), 0);
    if (kq_producer_flush_checked(p, 5000, err, sizeof err) != 0) fail_msg("%s", err);

    c = reader(T_ORIGIN, "g.dlq.origin");
    n = consume_upto(c, 1, 5000, orig, 4);
    assert_int_equal(n, 1);
    if (kq_produce_dlq(p, T_DLQ, orig[0], "schema", "field body: wrong type", 0, NULL, err,
                       sizeof err) != 0 ||
        kq_produce_dlq(p, T_DLQ, orig[0], "raw_my_number", NULL, KQ_DLQ_REDACT | KQ_DLQ_NO_KEY,
                       "value, headers, key: a raw My Number", err, sizeof err) != 0)
        fail_msg("%s", err);
    if (kq_producer_flush_checked(p, 5000, err, sizeof err) != 0) fail_msg("%s", err);
    snprintf(off, sizeof off, "%" PRId64, orig[0]->offset);
    /* A consumer's messages must be destroyed before it is closed (they hold references that
     * rd_kafka_destroy waits for). */
    kq_messages_destroy(orig, 1);
    close_consumer(c);

    c = reader(T_DLQ, "g.dlq.read");
    n = consume_upto(c, 2, 5000, dl, 4);
    assert_int_equal(n, 2);
    /* The full dead letter: original key, value and headers, plus the origin. */
    assert_int_equal(dl[0]->key_len, 5);
    assert_memory_equal(dl[0]->key, "inc-9", 5);
    assert_int_equal(dl[0]->len, 9);
    assert_memory_equal(dl[0]->payload, "bad bytes", 9);
    expect_header(dl[0], "mni.event.id", "ev-1");
    expect_header(dl[0], "mni.reason", "schema");
    expect_header(dl[0], "mni.detail", "field body: wrong type");
    expect_header(dl[0], "mni.origin.topic", T_ORIGIN);
    expect_header(dl[0], "mni.origin.partition", "0");
    expect_header(dl[0], "mni.origin.offset", off);
    expect_header(dl[0], "mni.origin.bytes", "9");
    assert_int_equal(kq_header_get(dl[0], "mni.withheld", &hv, &hl), -1);
    /* The redacted one: the origin, nothing of the original bytes (not even the key). */
    assert_null(dl[1]->key);
    assert_int_equal(dl[1]->len, 0);
    expect_header(dl[1], "mni.origin.bytes", "9");
    expect_header(dl[1], "mni.withheld", "value, headers, key: a raw My Number");
    assert_int_equal(kq_header_get(dl[1], "mni.event.id", &hv, &hl), -1);
    expect_header(dl[1], "mni.reason", "raw_my_number");
    expect_header(dl[1], "mni.detail", "");
    expect_header(dl[1], "mni.origin.topic", T_ORIGIN);
    expect_header(dl[1], "mni.origin.offset", off);
    /* A dead letter needs a consumed original and a reason. */
    assert_int_equal(kq_produce_dlq(p, T_DLQ, dl[0], "", NULL, 0, NULL, err, sizeof err), -1);
    assert_int_equal(kq_produce_dlq(p, T_DLQ, NULL, "schema", NULL, 0, NULL, err, sizeof err), -1);
    kq_messages_destroy(dl, n);
    close_consumer(c);
    close_producer(p);
}

/* A batch closes once its values reach the byte bound (the message that reaches it included),
 * however many messages the count would allow: a worker's memory is bounded by bytes. */
static void test_batch_bytes(void **state)
{
    static char value[100 * 1000];
    char err[512];
    (void)state;
    memset(value, 'x', sizeof value);
    kq_producer *p = new_producer(NULL, 0);
    for (int i = 0; i < 10; i++)
        if (kq_produce(p, T_BYTES, "k", 1, value, sizeof value, NULL, 0, err, sizeof err) != 0)
            fail_msg("%s", err);
    if (kq_producer_flush_checked(p, 10000, err, sizeof err) != 0) fail_msg("%s", err);
    close_producer(p);

    kq_consumer *c = new_consumer("g.bytes", NULL);
    kq_consumer_set_batch_bytes(c, 250 * 1000);
    subscribe1(c, T_BYTES);
    rd_kafka_message_t *batch[64];
    size_t total = 0, batches = 0, largest = 0;
    int64_t deadline = monoclock_ms() + 15000;
    while (total < 10 && monoclock_ms() < deadline) {
        size_t n;
        if (kq_consume_batch(c, 64, 2000, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
        if (n == 0) continue;
        batches++;
        total += n;
        if (n > largest) largest = n;
        kq_messages_destroy(batch, n);
    }
    assert_int_equal(total, 10);
    assert_true(largest <= 3); /* 3 x 100 kB reach 250 kB: never a fourth */
    assert_true(batches >= 4);
    close_consumer(c);
}

/* Issue 6 (W3's delay): a batch does not wait out max_ms once nothing more is queued. A backlog
 * waiting at the broker, which the mock hands out one message set per fetch, still makes one
 * batch (the partition's high watermark says more is on its way); then one message sent to the
 * idle consumer comes back without waiting for max_ms; max_msgs still caps a batch. */
static void test_batch_ends_when_drained(void **state)
{
    enum { SETS = 5, PER = 4, LONG_MS = 5000 };
    rd_kafka_message_t *batch[64];
    char err[512];
    size_t n = 0;
    (void)state;
    for (int s = 0; s < SETS; s++)
        produce_n(T_DRAIN, PER, s * PER); /* a flush each: SETS message sets */

    kq_consumer *c = new_consumer("g.drain", NULL);
    subscribe1(c, T_DRAIN);
    for (int64_t deadline = monoclock_ms() + 15000; n == 0 && monoclock_ms() < deadline;)
        if (kq_consume_batch(c, 64, LONG_MS, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(n, SETS * PER);
    kq_messages_destroy(batch, n);

    produce_n(T_DRAIN, 1, 100);
    int64_t start = monoclock_ms();
    if (kq_consume_batch(c, 64, LONG_MS, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
    int64_t took = monoclock_ms() - start;
    assert_int_equal(n, 1);
    kq_messages_destroy(batch, n);
    if (took >= LONG_MS / 2)
        fail_msg("one message took %" PRId64 " ms to come back: the batch waited for max_ms", took);

    produce_n(T_DRAIN, 10, 200);
    if (kq_consume_batch(c, 3, LONG_MS, batch, &n, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(n, 3);
    kq_messages_destroy(batch, n);
    close_consumer(c);
}

/* 30,000 small messages wait; the consumer takes one and then leaves the rest alone. Its fetcher
 * must stop once queued.min.messages (10,000) wait in its queue, a fetch's message set on top
 * (sets of 1,000 here; the bound allows two): librdkafka's own default (100,000) would fetch all
 * 30,000. */
static void test_prefetch_bounded(void **state)
{
    enum { TOTAL = 30000, SET = 1000, BOUND = 10000 };
    char err[512], val[100];
    (void)state;
    memset(val, 'x', sizeof val);
    kq_producer *p = new_producer(NULL, 0);
    for (int i = 0; i < TOTAL; i++) {
        if (kq_produce(p, T_PREFETCH, "k", 1, val, sizeof val, NULL, 0, err, sizeof err) != 0)
            fail_msg("%s", err);
        if ((i + 1) % SET == 0 && kq_producer_flush_checked(p, 10000, err, sizeof err) != 0)
            fail_msg("%s", err);
    }
    close_producer(p);

    const kq_prop props[] = {
        {"bootstrap.servers", mockkafka_bootstraps(mk)},
        {"group.id", "g.prefetch"},
        {"fetch.wait.max.ms", "50"},
        {"debug", "fetch"}, /* the line test_log waits for */
    };
    kq_consumer *c = kq_consumer_new(props, sizeof props / sizeof props[0], NULL, err, sizeof err);
    if (!c) fail_msg("%s", err);
    subscribe1(c, T_PREFETCH);
    rd_kafka_message_t *first[1];
    assert_int_equal(consume_upto(c, 1, 15000, first, 1), 1);
    kq_messages_destroy(first, 1);

    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(kq_consumer_handle(c));
    int64_t deadline = monoclock_ms() + 15000;
    while (!atomic_load(&prefetch_stopped) && monoclock_ms() < deadline)
        usleep(10 * 1000);
    size_t queued = rd_kafka_queue_length(q);
    rd_kafka_queue_destroy(q);
    if (!atomic_load(&prefetch_stopped))
        fail_msg("the consumer never stopped fetching (%zu of %d messages queued)", queued,
                 TOTAL - 1);
    if (queued > BOUND + 2 * SET)
        fail_msg("%zu messages prefetched, more than %d + two sets of %d", queued, BOUND, SET);
    close_consumer(c);
}

/* A paused partition, resumed with kq_resume, is fetched again at once. librdkafka 2.0.2 alone
 * fetches it only at its broker thread's next wakeup, ~1 s after the last fetch here (the
 * consumer's heartbeats are 3 s apart): each cycle below took ~950 ms with a plain
 * rd_kafka_resume_partitions (0 to 94 ms with kq_resume), and that idle second throttled
 * mni-ingest's paced input (W2 at half its rate). The bound is well above a wakeup's few ms. */
static void test_resume_fetches_at_once(void **state)
{
    enum { CYCLES = 5, BOUND_MS = 400 };
    char err[512];
    (void)state;
    const kq_prop props[] = {
        {"bootstrap.servers", mockkafka_bootstraps(mk)},
        {"group.id", "g.resume"},
        {"fetch.wait.max.ms", "50"},
        {"debug", "fetch"}, /* the line test_log waits for */
    };
    kq_consumer *c = kq_consumer_new(props, sizeof props / sizeof props[0], NULL, err, sizeof err);
    if (!c) fail_msg("%s", err);
    subscribe1(c, T_RESUME);
    produce_n(T_RESUME, 1, 0);
    rd_kafka_message_t *m[1];
    assert_int_equal(consume_upto(c, 1, 15000, m, 1), 1);
    kq_messages_destroy(m, 1);

    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, T_RESUME, 0);
    int64_t took[CYCLES];
    for (int i = 0; i < CYCLES; i++) {
        atomic_store(&resume_fetcher_idle, 0);
        if (kq_pause(c, T_RESUME, 0, err, sizeof err) != 0) fail_msg("%s", err);
        for (int64_t d = monoclock_ms() + 5000;
             !atomic_load(&resume_fetcher_idle) && monoclock_ms() < d;)
            usleep(5 * 1000);
        if (!atomic_load(&resume_fetcher_idle)) fail_msg("the fetcher never saw the pause");
        produce_n(T_RESUME, 1, i + 1); /* waits while paused */
        int64_t start = monoclock_ms();
        if (kq_resume(c, list, err, sizeof err) != 0) fail_msg("%s", err);
        assert_int_equal(consume_upto(c, 1, 5000, m, 1), 1);
        took[i] = monoclock_ms() - start;
        assert_int_equal(m[0]->offset, i + 1); /* nothing lost or read twice */
        kq_messages_destroy(m, 1);
    }
    rd_kafka_topic_partition_list_destroy(list);
    close_consumer(c);
    for (int i = 1; i < CYCLES; i++) /* sorted, for the median */
        for (int j = i; j > 0 && took[j] < took[j - 1]; j--) {
            int64_t t = took[j];
            took[j] = took[j - 1];
            took[j - 1] = t;
        }
    if (took[CYCLES / 2] >= BOUND_MS)
        fail_msg("a resumed partition's next message took %" PRId64 " ms (median of %d): "
                 "its fetch waited for the broker thread's wakeup",
                 took[CYCLES / 2], CYCLES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_defaults),
        cmocka_unit_test(test_conf_refused),
        cmocka_unit_test(test_produce_consume),
        cmocka_unit_test(test_delivery_failures),
        cmocka_unit_test(test_settle),
        cmocka_unit_test(test_load_offsets_seek),
        cmocka_unit_test(test_load_offsets_refused),
        cmocka_unit_test(test_revocation_in_batch),
        cmocka_unit_test_teardown(test_revocation_while_collecting, midrev_teardown),
        cmocka_unit_test(test_dead_letter),
        cmocka_unit_test(test_batch_bytes),
        cmocka_unit_test(test_batch_ends_when_drained),
        cmocka_unit_test(test_prefetch_bounded),
        cmocka_unit_test(test_resume_fetches_at_once),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
