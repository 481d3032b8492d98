/*
 * kq producer: idempotent producing with every delivery report checked, and dead letters.
 *
 * The producer counts what it has handed to librdkafka and what librdkafka has reported back:
 *
 *   outstanding  produced, delivery report not yet served
 *   delivered    delivery reports with no error since the last check
 *   failed       delivery reports with an error since the last check (the first one is kept)
 *
 * Delivery reports are served by rd_kafka_poll/rd_kafka_flush, which kq calls only from the
 * thread that calls kq_produce/kq_producer_flush_checked, so the counters need no lock. A check
 * (kq_producer_flush_checked) flushes, reads the counters, and starts a new window; it succeeds
 * only when nothing failed and nothing is outstanding. Because librdkafka retries inside the
 * idempotent producer, a failed report is final: the message was not written (or its fate is
 * unknown, e.g. after message.timeout.ms), and the caller must treat its batch as unpublished.
 *
 * Dead letters reuse the same path: kq_produce_dlq builds the headers (the original ones, then
 * kq's mni.* ones, so a header lookup for mni.reason finds kq's even when the original message
 * was itself a dead letter) and produces the original key and value, less what the caller
 * withholds (kq knows nothing of My Numbers: worker_dead_letter decides).
 *
 * Refusals: an error that belongs to the message (too large, invalid) marks the producer
 * (kq_producer_take_refused), so that the worker can tell a batch that will never go through
 * from one that met a broker outage, and retry it message by message.
 */
#include "lib/base/errbuf.h"
#include "lib/kafka/kq.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kq_producer {
    rd_kafka_t *rk;
    size_t outstanding;
    size_t delivered;
    size_t failed;
    int refused;            /* kq_producer_take_refused */
    int message_timeout_ms; /* kq_producer_settle's bound */
    char first_failure[512];
};

/* Errors that belong to the message, not to the moment (kq_producer_take_refused). */
static int kq_refuses_message(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE || e == RD_KAFKA_RESP_ERR_INVALID_RECORD ||
           e == RD_KAFKA_RESP_ERR_INVALID_MSG || e == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE;
}

int kq_producer_take_refused(kq_producer *p)
{
    int refused = p->refused;
    p->refused = 0;
    return refused;
}

/* Not rd_kafka_message_errstr: on a delivery report the payload is the message's value, which
 * that function would return as if it were the error text. */
static void kq_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kq_producer *p = opaque;

    (void)rk;
    if (p->outstanding > 0) p->outstanding--;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        p->delivered++;
        return;
    }
    if (kq_refuses_message(m->err)) p->refused = 1;
    if (p->failed++ == 0)
        snprintf(p->first_failure, sizeof p->first_failure, "%s [%" PRId32 "]: %s",
                 m->rkt ? rd_kafka_topic_name(m->rkt) : "(unknown topic)", m->partition,
                 rd_kafka_err2str(m->err));
}

/* The configured message.timeout.ms (a topic property, read through the default topic
 * configuration); librdkafka's own default when it cannot be read. */
static int kq_message_timeout_ms(const rd_kafka_conf_t *conf)
{
    const int librdkafka_default = 300000;
    char val[32];
    size_t size = sizeof val;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", val, &size) != RD_KAFKA_CONF_OK)
        return librdkafka_default;
    long ms = strtol(val, NULL, 10);
    return ms > 0 && ms <= INT_MAX - KQ_SETTLE_MARGIN_MS ? (int)ms : librdkafka_default;
}

kq_producer *kq_producer_new(const kq_prop *props, size_t nprops, char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf;
    kq_producer *p = calloc(1, sizeof *p);

    if (!p) {
        errbuf_fail(err, errlen, "kafka producer: out of memory");
        return NULL;
    }
    conf = kq_conf_new(KQ_PRODUCER, props, nprops, err, errlen);
    if (!conf) {
        free(p);
        return NULL;
    }
    p->message_timeout_ms = kq_message_timeout_ms(conf);
    rd_kafka_conf_set_opaque(conf, p);
    rd_kafka_conf_set_dr_msg_cb(conf, kq_dr_msg_cb);
    /* rd_kafka_new takes conf on success only. */
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!p->rk) {
        errbuf_fail(err, errlen, "kafka producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        free(p);
        return NULL;
    }
    return p;
}

rd_kafka_t *kq_producer_handle(kq_producer *p)
{
    return p->rk;
}

static void kq_produce_error(kq_producer *p, const char *topic, rd_kafka_resp_err_t e, char *err,
                             size_t errlen)
{
    char fatal[512];

    if (e == RD_KAFKA_RESP_ERR__FATAL &&
        rd_kafka_fatal_error(p->rk, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR)
        errbuf_fail(err, errlen, "produce to %s: fatal producer error: %s", topic, fatal);
    else
        errbuf_fail(err, errlen, "produce to %s: %s", topic, rd_kafka_err2str(e));
}

/* Produces with hdrs (may be NULL), whose ownership this takes whatever the outcome; msgflags
 * RD_KAFKA_MSG_F_COPY, or 0 for a borrowed value (kq_produce_borrowed). */
static int kq_produce_flags(kq_producer *p, const char *topic, const void *key, size_t keylen,
                            const void *value, size_t vlen, rd_kafka_headers_t *hdrs, int msgflags,
                            char *err, size_t errlen)
{
    rd_kafka_resp_err_t e;

    if (!key) keylen = 0;
    if (!value) vlen = 0;
    for (;;) {
        /* The casts drop const only for the varargs type check; RD_KAFKA_MSG_F_COPY makes
         * librdkafka copy the bytes before producev returns (the key is always copied), without
         * it librdkafka only reads them (until delivery). */
        e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)(uintptr_t)key, keylen),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)value, vlen), RD_KAFKA_V_MSGFLAGS(msgflags),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        /* Room appears as delivery reports are served (or messages time out). */
        rd_kafka_poll(p->rk, 100);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* On failure the headers are still ours. */
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (kq_refuses_message(e)) p->refused = 1;
        kq_produce_error(p, topic, e, err, errlen);
        return -1;
    }
    p->outstanding++;
    /* Serve delivery reports as they come so the counters stay current between checks. */
    rd_kafka_poll(p->rk, 0);
    return 0;
}

static int kq_header_add(rd_kafka_headers_t *hdrs, const char *name, const void *value, size_t len,
                         char *err, size_t errlen)
{
    rd_kafka_resp_err_t e = rd_kafka_header_add(hdrs, name, -1, value, value ? (ssize_t)len : 0);

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "header %s: %s", name, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int kq_produce_with(kq_producer *p, const char *topic, const void *key, size_t keylen,
                           const void *value, size_t vlen, const kq_header *headers,
                           size_t nheaders, int msgflags, char *err, size_t errlen)
{
    rd_kafka_headers_t *hdrs = NULL;
    size_t i;

    if (nheaders > 0) {
        hdrs = rd_kafka_headers_new(nheaders);
        for (i = 0; i < nheaders; i++) {
            if (!headers[i].name) {
                errbuf_fail(err, errlen, "produce to %s: header %zu has no name", topic, i);
                rd_kafka_headers_destroy(hdrs);
                return -1;
            }
            if (kq_header_add(hdrs, headers[i].name, headers[i].value, headers[i].len, err,
                              errlen) != 0) {
                rd_kafka_headers_destroy(hdrs);
                return -1;
            }
        }
    }
    return kq_produce_flags(p, topic, key, keylen, value, vlen, hdrs, msgflags, err, errlen);
}

int kq_produce(kq_producer *p, const char *topic, const void *key, size_t keylen, const void *value,
               size_t vlen, const kq_header *headers, size_t nheaders, char *err, size_t errlen)
{
    return kq_produce_with(p, topic, key, keylen, value, vlen, headers, nheaders,
                           RD_KAFKA_MSG_F_COPY, err, errlen);
}

int kq_produce_borrowed(kq_producer *p, const char *topic, const void *key, size_t keylen,
                        const void *value, size_t vlen, const kq_header *headers, size_t nheaders,
                        char *err, size_t errlen)
{
    return kq_produce_with(p, topic, key, keylen, value, vlen, headers, nheaders, 0, err, errlen);
}

int kq_produce_dlq(kq_producer *p, const char *dlq_topic, const rd_kafka_message_t *orig,
                   const char *reason, const char *detail, unsigned flags, const char *withheld,
                   char *err, size_t errlen)
{
    rd_kafka_headers_t *orig_hdrs = NULL, *hdrs = NULL;
    const char *origin_topic;
    char part[16], off[24], bytes[24];

    if (!orig || !orig->rkt) {
        errbuf_fail(err, errlen, "dead letter to %s: the original is not a consumed message",
                    dlq_topic);
        return -1;
    }
    if (!reason || !*reason) {
        errbuf_fail(err, errlen, "dead letter to %s: a reason is required", dlq_topic);
        return -1;
    }
    origin_topic = rd_kafka_topic_name(orig->rkt);
    /* Original headers travel with the original bytes. A message whose headers cannot be parsed
     * (or has none) still goes to the dead-letter topic, with kq's headers only. */
    if (!(flags & KQ_DLQ_NO_HEADERS) &&
        rd_kafka_message_headers(orig, &orig_hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = rd_kafka_headers_copy(orig_hdrs);
    else
        hdrs = rd_kafka_headers_new(7);
    snprintf(part, sizeof part, "%" PRId32, orig->partition);
    snprintf(off, sizeof off, "%" PRId64, orig->offset);
    snprintf(bytes, sizeof bytes, "%zu", orig->payload ? orig->len : 0);
    if (kq_header_add(hdrs, "mni.reason", reason, strlen(reason), err, errlen) != 0 ||
        kq_header_add(hdrs, "mni.detail", detail ? detail : "", detail ? strlen(detail) : 0, err,
                      errlen) != 0 ||
        kq_header_add(hdrs, "mni.origin.topic", origin_topic, strlen(origin_topic), err, errlen) !=
            0 ||
        kq_header_add(hdrs, "mni.origin.partition", part, strlen(part), err, errlen) != 0 ||
        kq_header_add(hdrs, "mni.origin.offset", off, strlen(off), err, errlen) != 0 ||
        kq_header_add(hdrs, "mni.origin.bytes", bytes, strlen(bytes), err, errlen) != 0 ||
        (withheld &&
         kq_header_add(hdrs, "mni.withheld", withheld, strlen(withheld), err, errlen) != 0)) {
        rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    int no_key = (flags & KQ_DLQ_NO_KEY) != 0, no_value = (flags & KQ_DLQ_NO_VALUE) != 0;
    return kq_produce_flags(p, dlq_topic, no_key ? NULL : orig->key, no_key ? 0 : orig->key_len,
                            no_value ? NULL : orig->payload, no_value ? 0 : orig->len, hdrs,
                            RD_KAFKA_MSG_F_COPY, err, errlen);
}

/* A check's end: the next one covers what is produced from now on (and what is outstanding). */
static void window_reset(kq_producer *p)
{
    p->delivered = 0;
    p->failed = 0;
    p->first_failure[0] = '\0';
}

int kq_producer_flush_checked(kq_producer *p, int timeout_ms, char *err, size_t errlen)
{
    char fatal[512];
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, timeout_ms);
    int rc = 0;

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__TIMED_OUT) {
        errbuf_fail(err, errlen, "flush: %s", rd_kafka_err2str(e));
        rc = -1;
    } else if (rd_kafka_fatal_error(p->rk, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "flush: fatal producer error: %s", fatal);
        rc = -1;
    } else if (p->failed > 0) {
        errbuf_fail(err, errlen, "flush: %zu of %zu deliveries failed; first: %s", p->failed,
                    p->failed + p->delivered + p->outstanding, p->first_failure);
        rc = -1;
    } else if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || p->outstanding > 0) {
        errbuf_fail(err, errlen, "flush: %zu deliveries still unconfirmed after %d ms",
                    p->outstanding, timeout_ms);
        rc = -1;
    }
    window_reset(p);
    return rc;
}

int kq_producer_settle(kq_producer *p, char *err, size_t errlen)
{
    int timeout_ms = p->message_timeout_ms + KQ_SETTLE_MARGIN_MS;
    rd_kafka_flush(p->rk, timeout_ms);
    int rc = 0;
    if (p->outstanding > 0)
        rc = errbuf_fail(err, errlen,
                         "settle: %zu deliveries still without a report after %d ms "
                         "(message.timeout.ms %d)",
                         p->outstanding, timeout_ms, p->message_timeout_ms);
    window_reset(p);
    return rc;
}

size_t kq_producer_outstanding(const kq_producer *p)
{
    return p->outstanding;
}

int kq_producer_close(kq_producer *p, int timeout_ms, char *err, size_t errlen)
{
    rd_kafka_resp_err_t e;
    int rc;

    if (!p) return 0;
    rc = kq_producer_flush_checked(p, timeout_ms, err, errlen);
    if (rd_kafka_outq_len(p->rk) > 0) {
        /* Whatever is left would only delay rd_kafka_destroy; its fate is already reported. */
        e = rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && rc == 0) {
            errbuf_fail(err, errlen, "close: purge: %s", rd_kafka_err2str(e));
            rc = -1;
        }
        /* Serves the purge's delivery reports. */
        e = rd_kafka_flush(p->rk, 1000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR && rc == 0) {
            errbuf_fail(err, errlen, "close: %d messages or events left after purging: %s",
                        rd_kafka_outq_len(p->rk), rd_kafka_err2str(e));
            rc = -1;
        }
    }
    rd_kafka_destroy(p->rk);
    free(p);
    return rc;
}
