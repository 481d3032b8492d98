/*
 * dlq_read: see dlq_read.h.
 */
#include "cli/dlq_read.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/monoclock.h"

#define DLQ_MAX_PROPS 64
#define DLQ_MAX_PARTITIONS 1024

size_t dlq_kafka_props(const config *cfg, kq_prop *props, size_t cap)
{
    size_t n = 0;
    config_iter it = config_iter_prefix(cfg, "kafka.");
    while (config_iter_next(&it) && n < cap)
        props[n++] = (kq_prop){it.name, it.value};
    return n;
}

static int partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err,
                           size_t errlen)
{
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        t ? rd_kafka_metadata(rk, 0, t, &md, timeout_ms) : RD_KAFKA_RESP_ERR__INVALID_ARG;
    int n = -1;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s: metadata: %s", topic, rd_kafka_err2str(e));
    } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s: %s", topic,
                 md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "no such topic");
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (t) rd_kafka_topic_destroy(t);
    return n;
}

int dlq_read(dlq_reader *r, const config *cfg, const char *topic, int timeout_ms, char *err,
             size_t errlen)
{
    memset(r, 0, sizeof *r);
    kq_prop props[DLQ_MAX_PROPS + 1];
    size_t np = dlq_kafka_props(cfg, props, DLQ_MAX_PROPS);
    /* kq requires a group id; no group is joined (partitions are assigned, never subscribed)
     * and nothing is committed. */
    props[np++] = (kq_prop){"group.id", "mni-dlq-reader"};
    rd_kafka_conf_t *conf = kq_conf_new(KQ_CONSUMER, props, np, err, errlen);
    if (!conf) return -1;
    char errstr[512];
    r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!r->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka consumer: %s", errstr);
        return -1;
    }
    int parts = partition_count(r->rk, topic, timeout_ms, err, errlen);
    if (parts < 0) return -1;
    if (parts > DLQ_MAX_PARTITIONS) parts = DLQ_MAX_PARTITIONS;
    int64_t end[DLQ_MAX_PARTITIONS], next[DLQ_MAX_PARTITIONS];
    rd_kafka_topic_partition_list_t *assign = rd_kafka_topic_partition_list_new(parts);
    size_t expected = 0;
    for (int p = 0; p < parts; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(r->rk, topic, p, &lo, &hi, timeout_ms);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "%s[%d]: watermarks: %s", topic, p, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(assign);
            return -1;
        }
        end[p] = hi;
        next[p] = lo;
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(assign, topic, p)->offset = lo;
            expected += (size_t)(hi - lo);
        }
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(r->rk, assign);
    rd_kafka_topic_partition_list_destroy(assign);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s: assign: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    r->msgs = calloc(expected ? expected : 1, sizeof *r->msgs);
    if (!r->msgs) {
        snprintf(err, errlen, "%s: out of memory for %zu messages", topic, expected);
        return -1;
    }
    long long deadline = monoclock_ms() + timeout_ms;
    for (;;) {
        int done = 1;
        for (int p = 0; p < parts; p++)
            done &= next[p] >= end[p];
        if (done) break;
        if (monoclock_ms() > deadline) {
            snprintf(err, errlen, "%s: read %zu of %zu messages within %d ms", topic, r->n,
                     expected, timeout_ms);
            return -1;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 200);
        if (!m) continue;
        if (m->err) {
            int eof = m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF;
            if (!eof) snprintf(err, errlen, "%s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (eof) continue;
            return -1;
        }
        /* Only what was there when the read began (a letter arriving meanwhile waits for the
         * next run). The offsets of a partition come in order. */
        if (m->partition < 0 || m->partition >= parts || m->offset >= end[m->partition] ||
            r->n == expected) {
            rd_kafka_message_destroy(m);
            continue;
        }
        next[m->partition] = m->offset + 1;
        r->msgs[r->n++] = m;
    }
    return 0;
}

void dlq_reader_close(dlq_reader *r)
{
    for (size_t i = 0; i < r->n; i++)
        rd_kafka_message_destroy(r->msgs[i]);
    free(r->msgs);
    if (r->rk) {
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
    }
    memset(r, 0, sizeof *r);
}

int dlq_header(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen)
{
    rd_kafka_headers_t *h = NULL;
    const void *v = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    if (!v) len = 0;
    if (len >= outlen) len = outlen - 1;
    memcpy(out, v, len);
    out[len] = '\0';
    return 0;
}
