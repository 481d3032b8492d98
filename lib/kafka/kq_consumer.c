/*
 * kq consumer: group membership with PostgreSQL as the offset store, and batched consumption.
 *
 * States of a consumer:
 *
 *   unassigned --assign event: load_offsets, rd_kafka_assign(offsets)--> assigned
 *   assigned   --revoke event: on_revoke, rd_kafka_assign(NULL)-------> unassigned
 *   any        --load_offsets refused, assign failed, fatal error-----> failed (terminal)
 *
 * Events arrive through the rebalance callback, which librdkafka runs inside
 * rd_kafka_consumer_poll, that is inside kq_consume_batch or kq_consumer_close on the caller's
 * thread. The protocol is eager (kq_conf_new refuses cooperative assignors): an assignment gives
 * the member its whole new set and a revocation takes all of it.
 *
 * Offsets. The partitions handed to load_offsets start at RD_KAFKA_OFFSET_BEGINNING rather than
 * RD_KAFKA_OFFSET_INVALID: INVALID would make librdkafka look for an offset committed to Kafka
 * (there must be none; a stray commit by a tool would be obeyed), while BEGINNING reads the
 * partition from its log start, which is what a group with no stored offsets needs. What
 * happens when the broker no longer has a position (retention; the mock cluster keeps ~5 MiB per
 * partition) is auto.offset.reset's: kq's default, earliest, resets silently to the log start;
 * the workers set `error` instead, so that the position is never moved behind their back: the
 * fetch stops and an _AUTO_OFFSET_RESET error reaches on_error, and the worker decides
 * (lib/runtime/logcheck.h).
 *
 * Holding a partition: load_offsets may mark partitions (elems[i].err non-zero) that must not be
 * read; they are assigned (the group counts them as this member's, so no other member reads them
 * either) and paused at once. kq_pause holds one later on. A held partition stays paused until
 * the next rebalance, when load_offsets decides again.
 *
 * Batches never span a revocation. kq_consume_batch notes the revocation count when it starts;
 * if a revocation happens while it collects, it destroys what it collected (those offsets were
 * never stored, so the partitions' next owner, maybe this member again, reads them from the
 * stored offsets) and goes on collecting from the new assignment. librdkafka itself drops
 * messages fetched under an older assignment or before a seek (its op version barrier), so
 * nothing stale is returned after the callback has run.
 *
 * When a batch ends (issue 6: at low load every hop waited out batch.ms before committing).
 * Before its first message a batch waits up to max_ms (an idle worker then runs its timed
 * work). Once it holds one, it takes what is queued locally without waiting, and ends as soon
 * as nothing more is queued, unless a partition it reads from has more at the broker than it
 * took: the high watermark of that partition's last fetch response lies beyond the batch's last
 * offset there, so the fetcher is already bringing it (the mock cluster answers a fetch with
 * one message set, a real broker with at most max.partition.fetch.bytes: without this a backlog
 * would be cut into a batch per fetch). It then waits for it, until max_ms from the start at
 * most. max_msgs and the byte bound cap it as before, so under load batches still fill. Offsets
 * that hold no message (transaction markers, compacted records) can look like more on the way:
 * such a batch ends at max_ms, as every batch did before.
 */
#include "lib/base/errbuf.h"
#include "lib/base/monoclock.h"
#include "lib/kafka/kq.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long kq_seek waits for librdkafka to apply a seek. */
#define KQ_SEEK_TIMEOUT_MS 10000

/* A partition the batch being collected reads from, with the offset after its last message. */
typedef struct {
    const rd_kafka_topic_t *rkt;
    int32_t partition;
    int64_t next;
} kq_reading;

struct kq_consumer {
    rd_kafka_t *rk;
    kq_consumer_cbs cbs;
    unsigned long revocations;   /* revoke events seen; a batch compares it before and after */
    size_t batch_bytes;          /* a batch closes once its values reach this; 0: no bound */
    kq_reading *reading;         /* the partitions of the batch being collected */
    size_t nreading, capreading; /* its length, its room */
    int failed;                  /* terminal: the reason is in why */
    char why[512];
};

static void kq_consumer_fail(kq_consumer *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void kq_consumer_fail(kq_consumer *c, const char *fmt, ...)
{
    va_list ap;

    if (c->failed) return; /* the first reason is the one worth reporting */
    c->failed = 1;
    va_start(ap, fmt);
    errbuf_vfail(c->why, sizeof c->why, fmt, ap);
    va_end(ap);
}

/* Drops the assignment. A failure makes the consumer fail; when it has already failed, the
 * first reason is kept (kq_consumer_fail), which is the one worth reporting. */
static void kq_unassign(kq_consumer *c, rd_kafka_t *rk, int cnt)
{
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, NULL);

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        kq_consumer_fail(c, "unassignment of %d partitions: %s", cnt, rd_kafka_err2str(e));
}

/* Pauses the partitions of list; a failure makes the consumer fail (a held partition must never
 * be fetched). */
static void kq_hold(kq_consumer *c, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_resp_err_t e;
    int i;

    if (list->cnt == 0) return;
    e = rd_kafka_pause_partitions(rk, list);
    for (i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; i++)
        e = list->elems[i].err;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        kq_consumer_fail(c, "holding %d partitions: %s", list->cnt, rd_kafka_err2str(e));
}

static void kq_on_assign(kq_consumer *c, rd_kafka_t *rk,
                         const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *want = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_topic_partition_list_t *hold = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_t *run = rd_kafka_topic_partition_list_new(want->cnt + 1);
    rd_kafka_resp_err_t e;
    int i;

    for (i = 0; i < want->cnt; i++) {
        want->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        want->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (c->failed) {
        /* A failed consumer consumes nothing more; it waits to be closed. */
        kq_unassign(c, rk, want->cnt);
    } else if (c->cbs.load_offsets && c->cbs.load_offsets(c->cbs.ctx, want) != 0) {
        kq_consumer_fail(c, "assignment of %d partitions: load_offsets refused it", want->cnt);
        kq_unassign(c, rk, want->cnt);
    } else {
        for (i = 0; i < want->cnt; i++) {
            rd_kafka_topic_partition_list_add(want->elems[i].err ? hold : run, want->elems[i].topic,
                                              want->elems[i].partition);
            want->elems[i].err = RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        if ((e = rd_kafka_assign(rk, want)) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            kq_consumer_fail(c, "assignment of %d partitions: %s", want->cnt, rd_kafka_err2str(e));
        } else {
            /* A pause outlives a rebalance in librdkafka: resume what was held before. */
            if (run->cnt > 0) rd_kafka_resume_partitions(rk, run);
            kq_hold(c, rk, hold);
        }
    }
    rd_kafka_topic_partition_list_destroy(run);
    rd_kafka_topic_partition_list_destroy(hold);
    rd_kafka_topic_partition_list_destroy(want);
}

static void kq_on_revoke(kq_consumer *c, rd_kafka_t *rk,
                         const rd_kafka_topic_partition_list_t *parts)
{
    c->revocations++;
    if (c->cbs.on_revoke) c->cbs.on_revoke(c->cbs.ctx, parts, rd_kafka_assignment_lost(rk));
    kq_unassign(c, rk, parts->cnt);
}

static void kq_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t ev,
                            rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kq_consumer *c = opaque;

    switch (ev) {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
        kq_on_assign(c, rk, parts);
        break;
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
        kq_on_revoke(c, rk, parts);
        break;
    default:
        /* librdkafka's documented answer to a rebalance error: drop the assignment. */
        kq_consumer_fail(c, "rebalance: %s", rd_kafka_err2str(ev));
        kq_unassign(c, rk, parts ? parts->cnt : 0);
        break;
    }
}

/* librdkafka's statistics, parsed for on_stats (kq_stats.c). Runs inside rd_kafka_consumer_poll
 * (the main queue is the consumer's: kq_consumer_new). Returns 0: librdkafka frees json. */
static int kq_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    kq_consumer *c = opaque;
    kq_stats stats;
    char err[256];

    (void)rk;
    if (kq_stats_parse(json, json_len, &stats, err, sizeof err) != 0) {
        if (c->cbs.on_error) c->cbs.on_error(c->cbs.ctx, RD_KAFKA_RESP_ERR__BAD_MSG, NULL, -1, err);
        return 0;
    }
    c->cbs.on_stats(c->cbs.ctx, &stats);
    kq_stats_free(&stats);
    return 0;
}

/* props with statistics.interval.ms = KQ_STATS_INTERVAL_MS added when it is not among them, in
 * *extended (nprops + 1 entries); returns what to pass to kq_conf_new. */
static const kq_prop *kq_with_stats_interval(const kq_prop *props, size_t *nprops,
                                             kq_prop **extended)
{
    size_t i;

    *extended = NULL;
    for (i = 0; i < *nprops; i++)
        if (!strcmp(props[i].key, "statistics.interval.ms")) return props;
    *extended = malloc((*nprops + 1) * sizeof **extended);
    if (!*extended) return NULL;
    if (*nprops) memcpy(*extended, props, *nprops * sizeof **extended);
    (*extended)[(*nprops)++] = (kq_prop){"statistics.interval.ms", KQ_STR(KQ_STATS_INTERVAL_MS)};
    return *extended;
}

kq_consumer *kq_consumer_new(const kq_prop *props, size_t nprops, const kq_consumer_cbs *cbs,
                             char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf;
    rd_kafka_resp_err_t e;
    kq_consumer *c = calloc(1, sizeof *c);

    if (!c) {
        errbuf_fail(err, errlen, "kafka consumer: out of memory");
        return NULL;
    }
    if (cbs) c->cbs = *cbs;
    kq_prop *extended = NULL;
    if (c->cbs.on_stats && !(props = kq_with_stats_interval(props, &nprops, &extended))) {
        errbuf_fail(err, errlen, "kafka consumer: out of memory");
        free(c);
        return NULL;
    }
    conf = kq_conf_new(KQ_CONSUMER, props, nprops, err, errlen);
    free(extended);
    if (!conf) {
        free(c);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, c);
    if (c->cbs.on_stats) rd_kafka_conf_set_stats_cb(conf, kq_stats_cb);
    rd_kafka_conf_set_rebalance_cb(conf, kq_rebalance_cb);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!c->rk) {
        errbuf_fail(err, errlen, "kafka consumer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        free(c);
        return NULL;
    }
    /* One queue for messages, errors and callbacks: kq_consume_batch serves them all. */
    e = rd_kafka_poll_set_consumer(c->rk);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "kafka consumer: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(c->rk);
        free(c);
        return NULL;
    }
    return c;
}

rd_kafka_t *kq_consumer_handle(kq_consumer *c)
{
    return c->rk;
}

int kq_subscribe(kq_consumer *c, const char *const *topics, size_t ntopics, char *err,
                 size_t errlen)
{
    rd_kafka_topic_partition_list_t *list;
    rd_kafka_resp_err_t e;
    size_t i;

    if (ntopics == 0 || ntopics > INT32_MAX) {
        errbuf_fail(err, errlen, "subscribe: no topics");
        return -1;
    }
    list = rd_kafka_topic_partition_list_new((int)ntopics);
    for (i = 0; i < ntopics; i++)
        rd_kafka_topic_partition_list_add(list, topics[i], RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(c->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "subscribe to %s%s: %s", topics[0], ntopics > 1 ? ", ..." : "",
                    rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

void kq_messages_destroy(rd_kafka_message_t **msgs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (msgs[i]) rd_kafka_message_destroy(msgs[i]);
        msgs[i] = NULL;
    }
}

static void kq_report_error(kq_consumer *c, const rd_kafka_message_t *m)
{
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
    const char *reason = rd_kafka_message_errstr(m);

    if (c->cbs.on_error)
        c->cbs.on_error(c->cbs.ctx, m->err, topic, m->partition, reason);
    else if (topic)
        fprintf(stderr, "kq: consumer error on %s [%" PRId32 "]: %s\n", topic, m->partition,
                reason);
    else
        fprintf(stderr, "kq: consumer error: %s\n", reason);
}

void kq_consumer_set_batch_bytes(kq_consumer *c, size_t bytes)
{
    c->batch_bytes = bytes;
}

/* Notes that the batch took m. Returns -1 when out of memory (m is then still the caller's). */
static int kq_note_reading(kq_consumer *c, const rd_kafka_message_t *m)
{
    size_t i;

    for (i = 0; i < c->nreading; i++) {
        if (c->reading[i].rkt == m->rkt && c->reading[i].partition == m->partition) {
            c->reading[i].next = m->offset + 1;
            return 0;
        }
    }
    if (c->nreading == c->capreading) {
        size_t cap = c->capreading ? 2 * c->capreading : 8;
        kq_reading *grown = realloc(c->reading, cap * sizeof *grown);

        if (!grown) return -1;
        c->reading = grown;
        c->capreading = cap;
    }
    c->reading[c->nreading++] = (kq_reading){m->rkt, m->partition, m->offset + 1};
    return 0;
}

/* 1 when a partition the batch reads from has more at the broker than the batch took: the
 * high watermark its last fetch response reported (librdkafka's cached value, no request)
 * lies beyond the batch's next offset there. */
static int kq_more_arriving(kq_consumer *c)
{
    size_t i;

    for (i = 0; i < c->nreading; i++) {
        int64_t low, high;

        if (rd_kafka_get_watermark_offsets(c->rk, rd_kafka_topic_name(c->reading[i].rkt),
                                           c->reading[i].partition, &low,
                                           &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            high > c->reading[i].next)
            return 1;
    }
    return 0;
}

int kq_consume_batch(kq_consumer *c, size_t max_msgs, int max_ms, rd_kafka_message_t **out,
                     size_t *n, char *err, size_t errlen)
{
    int64_t deadline = monoclock_ms() + (max_ms > 0 ? max_ms : 0);
    unsigned long revocations = c->revocations;
    int more = 0; /* the last poll found nothing queued, and more is on its way */
    char fatal[512];

    size_t bytes = 0;
    *n = 0;
    c->nreading = 0;
    while (*n < max_msgs && !c->failed && (c->batch_bytes == 0 || bytes < c->batch_bytes)) {
        int64_t left = deadline - monoclock_ms();
        /* See the head comment: wait for the first message, or for more on its way. */
        int wait_ms = (*n == 0 || more) && left > 0 ? (int)left : 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, wait_ms);

        if (c->revocations != revocations) {
            /* See the head comment: a batch never spans a revocation. */
            kq_messages_destroy(out, *n);
            *n = 0;
            bytes = 0;
            c->nreading = 0;
            revocations = c->revocations;
        }
        if (!m) {
            if (left <= 0) break;
            if (*n > 0 && !(more = kq_more_arriving(c))) break; /* nothing more: it ends */
            continue; /* woke up for a callback, or more is on its way; the deadline decides */
        }
        more = 0;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (kq_note_reading(c, m) != 0) {
                rd_kafka_message_destroy(m);
                kq_consumer_fail(c, "out of memory");
                break;
            }
            bytes += m->len;
            out[(*n)++] = m;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
            if (rd_kafka_fatal_error(c->rk, fatal, sizeof fatal) == RD_KAFKA_RESP_ERR_NO_ERROR)
                snprintf(fatal, sizeof fatal, "%s", rd_kafka_message_errstr(m));
            kq_consumer_fail(c, "fatal consumer error: %s", fatal);
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            kq_report_error(c, m);
        }
        rd_kafka_message_destroy(m);
    }
    c->nreading = 0;
    if (c->failed) {
        kq_messages_destroy(out, *n);
        *n = 0;
        errbuf_fail(err, errlen, "%s", c->why);
        return -1;
    }
    return 0;
}

/* Seeks every partition of list; partitions left with .err set make it fail. */
static int kq_seek_list(kq_consumer *c, rd_kafka_topic_partition_list_t *list, char *err,
                        size_t errlen)
{
    rd_kafka_error_t *error;
    int i;

    if (list->cnt == 0) return 0;
    error = rd_kafka_seek_partitions(c->rk, list, KQ_SEEK_TIMEOUT_MS);
    if (error) {
        errbuf_fail(err, errlen, "seek: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return -1;
    }
    for (i = 0; i < list->cnt; i++) {
        if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            errbuf_fail(err, errlen, "seek %s [%" PRId32 "] to %" PRId64 ": %s",
                        list->elems[i].topic, list->elems[i].partition, list->elems[i].offset,
                        rd_kafka_err2str(list->elems[i].err));
            return -1;
        }
    }
    return 0;
}

int kq_seek(kq_consumer *c, const char *topic, int32_t partition, int64_t offset, char *err,
            size_t errlen)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    int rc;

    rd_kafka_topic_partition_list_add(list, topic, partition)->offset = offset;
    rc = kq_seek_list(c, list, err, errlen);
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

int kq_seek_batch(kq_consumer *c, rd_kafka_message_t *const *msgs, size_t n, char *err,
                  size_t errlen)
{
    rd_kafka_topic_partition_list_t *assigned = NULL, *list;
    rd_kafka_topic_partition_t *tp;
    rd_kafka_resp_err_t e;
    size_t i;
    int rc;

    e = rd_kafka_assignment(c->rk, &assigned);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "seek: reading the assignment: %s", rd_kafka_err2str(e));
        return -1;
    }
    list = rd_kafka_topic_partition_list_new(assigned->cnt > 0 ? assigned->cnt : 1);
    for (i = 0; i < n; i++) {
        const rd_kafka_message_t *m = msgs[i];
        const char *topic;

        if (!m || m->err != RD_KAFKA_RESP_ERR_NO_ERROR || !m->rkt) continue;
        topic = rd_kafka_topic_name(m->rkt);
        if (!rd_kafka_topic_partition_list_find(assigned, topic, m->partition))
            continue; /* revoked since: its next owner starts from the stored offset */
        tp = rd_kafka_topic_partition_list_find(list, topic, m->partition);
        if (!tp)
            rd_kafka_topic_partition_list_add(list, topic, m->partition)->offset = m->offset;
        else if (m->offset < tp->offset)
            tp->offset = m->offset;
    }
    rc = kq_seek_list(c, list, err, errlen);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_topic_partition_list_destroy(assigned);
    return rc;
}

int kq_pause(kq_consumer *c, const char *topic, int32_t partition, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e;

    rd_kafka_topic_partition_list_add(list, topic, partition);
    e = rd_kafka_pause_partitions(c->rk, list);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) e = list->elems[0].err;
    rd_kafka_topic_partition_list_destroy(list);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "pause %s [%" PRId32 "]: %s", topic, partition,
                    rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int kq_resume(kq_consumer *c, const rd_kafka_topic_partition_list_t *list, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *wake = rd_kafka_topic_partition_list_copy(list);
    rd_kafka_resp_err_t e = rd_kafka_resume_partitions(c->rk, wake);

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(wake);
        errbuf_fail(err, errlen, "resuming %d partitions: %s", list->cnt, rd_kafka_err2str(e));
        return -1;
    }
    for (int i = 0; i < wake->cnt; i++)
        wake->elems[i].offset = RD_KAFKA_OFFSET_END;
    /* Only the wakeup matters, not the answer: the request wakes each leader's thread, whose
     * answer wakes it again after the resume has been served; the call does not wait for it. */
    (void)rd_kafka_offsets_for_times(c->rk, wake, KQ_WAKE_TIMEOUT_MS);
    rd_kafka_topic_partition_list_destroy(wake);
    return 0;
}

int kq_reassign(kq_consumer *c, const rd_kafka_topic_partition_list_t *positions, char *err,
                size_t errlen)
{
    rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, positions);

    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "assigning %d partitions again: %s", positions->cnt,
                    rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

int kq_consumer_close(kq_consumer *c, char *err, size_t errlen)
{
    rd_kafka_resp_err_t e;
    int rc = 0;

    if (!c) return 0;
    e = rd_kafka_consumer_close(c->rk);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errbuf_fail(err, errlen, "consumer close: %s", rd_kafka_err2str(e));
        rc = -1;
    }
    rd_kafka_destroy(c->rk);
    free(c->reading);
    free(c);
    return rc;
}
