/*
 * kq configuration: librdkafka properties with kq's defaults and the checks its guarantees need.
 *
 * Order: kq's defaults for the role, then the caller's pairs (so the caller may change any
 * default), then the checks, made on the values read back from the finished configuration (so an
 * alias or a spelling such as "0" for "false" cannot slip past them). What is checked and why:
 *
 *   enable.auto.commit / enable.auto.offset.store must stay false: PostgreSQL is the offset
 *   store, and a commit to Kafka would be a second, disagreeing truth.
 *   partition.assignment.strategy must not be cooperative: kq's rebalance callback implements
 *   the eager protocol (rd_kafka_assign), and 2.0.2's cooperative rebalancing is buggy.
 *   group.id must be set for a consumer.
 *   enable.idempotence must stay true and acks all: the outbox relies on retries that neither
 *   duplicate nor reorder.
 *
 * Callbacks and opaques are not properties; the constructors in kq_producer.c and kq_consumer.c
 * set them on the configuration this returns. The one exception is the log hook (kq_set_log),
 * process-wide because logging is, and set here so that every client kq builds uses it.
 */
#include "lib/kafka/kq.h"
#include "lib/base/errbuf.h"

#include <stdio.h>
#include <string.h>

/* Written once at start (kq_set_log), read by librdkafka's threads afterwards. */
static kq_log_fn kq_log;

void kq_set_log(kq_log_fn fn)
{
    kq_log = fn;
}

static void kq_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    kq_log_fn fn = kq_log;

    (void)rk;
    if (fn) fn(level, fac, buf);
}

static const kq_prop kq_consumer_defaults[] = {
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"partition.assignment.strategy", "range"},
    {"auto.offset.reset", "earliest"},
    {"isolation.level", "read_committed"},
    /* Memory set on purpose (issue 6: flat memory however large the incident). librdkafka
     * prefetches up to 64 MiB per consumer and fetches up to 50 MiB at once by default; a
     * worker needs one batch at a time, so 16 MiB of prefetch and 8 MiB per fetch (room for
     * several 1 MiB messages) keep it busy without holding a large incident in memory. */
    {"queued.max.messages.kbytes", "16384"},
    {"fetch.max.bytes", "8388608"},
    /* librdkafka keeps fetching until 100,000 messages wait (queued.min.messages) or the
     * bytes above; the byte bound counts payloads only, and librdkafka adds ~260 bytes per
     * message (its op). A consumer behind small messages therefore held a growing backlog in
     * memory: mni-notify behind its tasks (~320 bytes each with their framing) grew from 23
     * to 35 MB over a quick W3 bench (heaptrack: 12 MB of librdkafka's fetch buffers and ops,
     * growing steadily) and to 54 MB, still growing, at three times its length; with this
     * bound it stays at ~27 MB. Not lower than 10,000: once the queue is above a bound,
     * librdkafka 2.0.2 fetches again only at its broker thread's next wakeup, up to 1 s later
     * (rdkafka_fetcher.c, an "indefinite backoff"), so the queue must hold a second of input
     * at W3's target rate (10,000 events/s) lest a fast worker wait on its fetcher. At most
     * ~6 MB for small messages. */
    {"queued.min.messages", "10000"},
    /* How long the broker may hold a fetch that finds nothing new. A real broker answers as
     * soon as data arrives, so this only bounds how often an idle consumer asks (50 times a
     * second per broker: nothing to a Kafka cluster). The embedded broker (librdkafka's mock
     * cluster) does not: it holds every empty fetch for the whole wait, and data produced
     * meanwhile waits with it, up to 500 ms (librdkafka's default) at each hop of the pipeline.
     * W3's delay at a low rate, split at ingest's commit: produce -> ingest p50 1,150 ms and
     * ingest -> assess p50 467 ms at 500 ms; 386 and 162 ms at 20 ms (bench/README.md). */
    {"fetch.wait.max.ms", "20"},
    /* Requests and responses go out at once (TCP_NODELAY), see kq_producer_defaults. */
    {"socket.nagle.disable", "true"},
};

static const kq_prop kq_producer_defaults[] = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    {"partitioner", "murmur2_random"},
    /* At most 64 MiB waiting in the producer (default 1 GiB): the relays and the forwarder
     * flush every batch, so more would only be memory held during a broker outage; when it is
     * full kq_produce waits for deliveries (kq.h). */
    {"queue.buffering.max.kbytes", "65536"},
    /* Room for the largest message the pipeline sends (kq.h, KQ_MESSAGE_MAX_BYTES); librdkafka's
     * default (1,000,000) is below the 1 MiB an event may have. */
    {"message.max.bytes", KQ_STR(KQ_MESSAGE_MAX_BYTES)},
    /* TCP_NODELAY (librdkafka 2.0.2 leaves Nagle's algorithm on). A produce request larger than
     * one TCP segment (64 KiB on loopback: ingest forwarding a batch of ~200 small events)
     * otherwise ends in a partial segment that Nagle holds until the previous one is
     * acknowledged, which the receiver's delayed ACK puts off by up to 40 ms: every such flush
     * took 43 ms (p50) in W3's delay phase, on every hop that forwards or relays a batch; with
     * it (and mni-mockbroker's TCP_NODELAY), ~3 ms (bench/README.md, "W3's delay"). Small requests
     * gain nothing and lose nothing: the workers flush whole batches, so there is nothing to
     * coalesce. */
    {"socket.nagle.disable", "true"},
    /* Every message's fate is known within 25 s of its produce (librdkafka's default is 300 s),
     * inside the 30 s a worker or a relay waits for a batch's deliveries before it rolls the
     * batch back: a message it gave up on is then never written later, after a newer one
     * (kq_producer_settle; lib/runtime/outbox.h). A broker away for longer fails the batch,
     * which is tried again, as it would be after 300 s. */
    {"message.timeout.ms", "25000"},
};

static int kq_conf_set(rd_kafka_conf_t *conf, const kq_prop *p, char *err, size_t errlen)
{
    char errstr[512];

    if (!p->key || !p->value) {
        errbuf_fail(err, errlen, "kafka property %s: missing %s", p->key ? p->key : "(null)",
                    p->key ? "value" : "name");
        return -1;
    }
    if (rd_kafka_conf_set(conf, p->key, p->value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        errbuf_fail(err, errlen, "kafka property %s: %s", p->key, errstr);
        return -1;
    }
    return 0;
}

/* The property's value as the finished configuration holds it ("" when unset). */
static int kq_conf_value(rd_kafka_conf_t *conf, const char *key, char *buf, size_t bufsize,
                         char *err, size_t errlen)
{
    size_t size = bufsize;

    if (rd_kafka_conf_get(conf, key, buf, &size) != RD_KAFKA_CONF_OK) {
        errbuf_fail(err, errlen, "kafka property %s: cannot read it back", key);
        return -1;
    }
    return 0;
}

static int kq_conf_require(rd_kafka_conf_t *conf, const char *key, const char *want1,
                           const char *want2, const char *why, char *err, size_t errlen)
{
    char val[256];

    if (kq_conf_value(conf, key, val, sizeof val, err, errlen) != 0) return -1;
    if (strcmp(val, want1) == 0 || (want2 && strcmp(val, want2) == 0)) return 0;
    errbuf_fail(err, errlen, "kafka property %s: must be %s, not \"%s\" (%s)", key, want1, val,
                why);
    return -1;
}

static int kq_conf_check(kq_role role, rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    char val[256];

    if (role == KQ_PRODUCER) {
        if (kq_conf_require(conf, "enable.idempotence", "true", NULL,
                            "the outbox needs retries without duplicates", err, errlen) != 0)
            return -1;
        return kq_conf_require(conf, "acks", "all", "-1", "idempotence needs every replica", err,
                               errlen);
    }
    if (kq_conf_require(conf, "enable.auto.commit", "false", NULL, "PostgreSQL is the offset store",
                        err, errlen) != 0 ||
        kq_conf_require(conf, "enable.auto.offset.store", "false", NULL,
                        "PostgreSQL is the offset store", err, errlen) != 0)
        return -1;
    if (kq_conf_value(conf, "partition.assignment.strategy", val, sizeof val, err, errlen) != 0)
        return -1;
    if (strstr(val, "cooperative")) {
        errbuf_fail(err, errlen,
                    "kafka property partition.assignment.strategy: \"%s\" is cooperative; kq "
                    "implements eager rebalancing only (range or roundrobin)",
                    val);
        return -1;
    }
    if (kq_conf_value(conf, "group.id", val, sizeof val, err, errlen) != 0) return -1;
    if (val[0] == '\0') {
        errbuf_fail(err, errlen, "kafka property group.id: required for a consumer");
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *kq_conf_new(kq_role role, const kq_prop *props, size_t nprops, char *err,
                             size_t errlen)
{
    const kq_prop *defs = role == KQ_PRODUCER ? kq_producer_defaults : kq_consumer_defaults;
    size_t ndefs = role == KQ_PRODUCER
                       ? sizeof kq_producer_defaults / sizeof kq_producer_defaults[0]
                       : sizeof kq_consumer_defaults / sizeof kq_consumer_defaults[0];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t i;

    if (!conf) {
        errbuf_fail(err, errlen, "kafka configuration: out of memory");
        return NULL;
    }
    for (i = 0; i < ndefs; i++)
        if (kq_conf_set(conf, &defs[i], err, errlen) != 0) goto fail;
    for (i = 0; i < nprops; i++)
        if (kq_conf_set(conf, &props[i], err, errlen) != 0) goto fail;
    if (kq_conf_check(role, conf, err, errlen) != 0) goto fail;
    if (kq_log) rd_kafka_conf_set_log_cb(conf, kq_log_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}
