/*
 * produce_pace: see produce_pace.h.
 */
#include "cli/produce_pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_pg.h"
#include "lib/pg/pgx.h"

#define PACE_MAX_MESSAGES 50000 /* the mock keeps at most 100,000 message sets per partition */
#define PACE_POLL_MS 50
#define PACE_WATERMARK_MS 10000

typedef int32_t (*pace_partitioner)(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                                    int32_t partition_cnt, void *rkt_opaque, void *msg_opaque);

/* This run's messages on one partition, and what was not consumed when last measured. */
typedef struct {
    int64_t *prefix;       /* prefix[k]: bytes of this run's first k messages; n + 1 entries */
    size_t n, cap;         /* messages counted */
    size_t n_measured;     /* n at the last measure */
    int64_t bytes_pending; /* bytes not consumed at the last measure */
    int64_t lag;           /* messages not consumed at the last measure */
} pace_part;

struct produce_pace {
    produce_pace_opts o;
    rd_kafka_topic_t *rkt;
    pace_partitioner partition_of; /* NULL: a keyed message is charged to every partition */
    int32_t nparts;
    pace_part *parts;
    PGconn *pg;
    int measured;
    int64_t bytes_total;
    size_t msgs_total;
    int64_t consumed_sum; /* sum over partitions of the group's position: its progress */
    double last_progress_ms;
    int said_waiting;
    long waits;
    double waited_ms;
};

static double pace_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* librdkafka's partitioner functions for the names of the `partitioner` property whose result
 * depends on the key only (the *_random ones hash a key like their plain twin). */
static pace_partitioner pace_partitioner_for(const char *name)
{
    if (!name || !*name || !strcmp(name, "murmur2_random") || !strcmp(name, "murmur2"))
        return rd_kafka_msg_partitioner_murmur2_random;
    if (!strcmp(name, "consistent_random") || !strcmp(name, "consistent"))
        return rd_kafka_msg_partitioner_consistent_random;
    if (!strcmp(name, "fnv1a_random") || !strcmp(name, "fnv1a"))
        return rd_kafka_msg_partitioner_fnv1a_random;
    return NULL; /* random: any partition */
}

produce_pace *produce_pace_new(const produce_pace_opts *opts, char *err, size_t errlen)
{
    produce_pace *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "pacing: out of memory");
        return NULL;
    }
    p->o = *opts;
    p->partition_of = pace_partitioner_for(opts->partitioner);
    p->rkt = rd_kafka_topic_new(opts->rk, opts->topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = p->rkt ? rd_kafka_metadata(opts->rk, 0, p->rkt, &md, PACE_WATERMARK_MS)
                                   : rd_kafka_last_error();
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err)
        e = md->topics[0].err;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "pacing: cannot read the partitions of %s: %s", opts->topic,
                 rd_kafka_err2str(e));
    } else if (md->topic_cnt != 1 || md->topics[0].partition_cnt <= 0) {
        snprintf(err, errlen, "pacing: topic %s has no partitions", opts->topic);
        e = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
    } else {
        p->nparts = md->topics[0].partition_cnt;
        p->parts = calloc((size_t)p->nparts, sizeof *p->parts);
        if (!p->parts) {
            snprintf(err, errlen, "pacing: out of memory");
            e = RD_KAFKA_RESP_ERR__FAIL;
        }
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        produce_pace_free(p);
        return NULL;
    }
    return p;
}

void produce_pace_free(produce_pace *p)
{
    if (!p) return;
    for (int32_t i = 0; p->parts && i < p->nparts; i++)
        free(p->parts[i].prefix);
    free(p->parts);
    if (p->rkt) rd_kafka_topic_destroy(p->rkt);
    pgx_close(p->pg);
    free(p);
}

void produce_pace_stats(const produce_pace *p, long *waits, double *waited_s)
{
    *waits = p ? p->waits : 0;
    *waited_s = p ? p->waited_ms / 1e3 : 0;
}

/* Bytes of this run's last k messages on part. */
static int64_t pace_last_bytes(const pace_part *part, size_t k)
{
    return part->n == 0 ? 0 : part->prefix[part->n] - part->prefix[part->n - k];
}

static int64_t pace_pending_bytes(const pace_part *part)
{
    return part->bytes_pending + pace_last_bytes(part, part->n - part->n_measured);
}

static int64_t pace_pending_msgs(const pace_part *part)
{
    return part->lag + (int64_t)(part->n - part->n_measured);
}

/* The group's next offset per partition (-1: no row) from consumer_offsets. */
static int pace_committed(produce_pace *p, int64_t *next, char *err, size_t errlen)
{
    if (!p->pg) {
        char why[1024];
        p->pg = cli_pg_connect(p->o.conninfo, why, sizeof why);
        if (!p->pg) {
            snprintf(err, errlen,
                     "pacing needs the PostgreSQL database of the workers, to watch group %s's "
                     "progress (consumer_offsets): %s; or pass --no-pace (real Kafka)",
                     p->o.group, why);
            return -1;
        }
    }
    const char *params[] = {p->o.group, p->o.topic};
    PGresult *res = pgx_query(p->pg, "produce.pace_offsets",
                              "SELECT partition, next_offset FROM consumer_offsets "
                              "WHERE group_id = $1 AND topic = $2",
                              2, params, err, errlen);
    if (!res) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used,
                 " (pacing reads the workers' consumer_offsets; "
                 "--no-pace turns it off)");
        return -1;
    }
    for (int32_t i = 0; i < p->nparts; i++)
        next[i] = -1;
    for (int r = 0; r < PQntuples(res); r++) {
        int32_t part = (int32_t)atoi(PQgetvalue(res, r, 0));
        if (part >= 0 && part < p->nparts) next[part] = atoll(PQgetvalue(res, r, 1));
    }
    PQclear(res);
    return 0;
}

/* Delivers what was produced, then measures what the group has not consumed (head comment). */
static int pace_measure(produce_pace *p, char *err, size_t errlen)
{
    if (p->o.flush(p->o.flush_arg, err, errlen) != 0) return -1;
    int64_t *next = malloc((size_t)p->nparts * sizeof *next);
    if (!next) {
        snprintf(err, errlen, "pacing: out of memory");
        return -1;
    }
    if (pace_committed(p, next, err, errlen) != 0) {
        free(next);
        return -1;
    }
    int64_t avg = p->msgs_total ? p->bytes_total / (int64_t)p->msgs_total : 1024;
    int64_t consumed_sum = 0;
    for (int32_t i = 0; i < p->nparts; i++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(p->o.rk, p->o.topic, i, &lo, &hi, PACE_WATERMARK_MS);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "pacing: cannot read the end of %s[%d]: %s", p->o.topic, (int)i,
                     rd_kafka_err2str(e));
            free(next);
            return -1;
        }
        int64_t position = next[i] > lo ? next[i] : lo;
        int64_t lag = hi > position ? hi - position : 0;
        pace_part *part = &p->parts[i];
        size_t ours = (uint64_t)lag < part->n ? (size_t)lag : part->n;
        part->bytes_pending = pace_last_bytes(part, ours) + (lag - (int64_t)ours) * avg;
        part->lag = lag;
        part->n_measured = part->n;
        consumed_sum += position;
    }
    free(next);
    if (!p->measured || consumed_sum > p->consumed_sum) p->last_progress_ms = pace_now_ms();
    p->consumed_sum = consumed_sum;
    p->measured = 1;
    return 0;
}

static int pace_fits(const produce_pace *p, int32_t target, size_t bytes, int32_t *full)
{
    for (int32_t i = 0; i < p->nparts; i++) {
        if (target >= 0 && i != target) continue;
        const pace_part *part = &p->parts[i];
        int64_t pending = pace_pending_bytes(part);
        /* An empty partition takes any one message, however large. */
        if (pending > 0 && (pending + (int64_t)bytes > p->o.limit_bytes ||
                            pace_pending_msgs(part) + 1 > PACE_MAX_MESSAGES)) {
            *full = i;
            return 0;
        }
    }
    return 1;
}

static int pace_count(pace_part *part, size_t bytes)
{
    if (part->n + 1 >= part->cap) {
        size_t cap = part->cap ? part->cap * 2 : 64;
        int64_t *grown = realloc(part->prefix, cap * sizeof *grown);
        if (!grown) return -1;
        if (!part->prefix) grown[0] = 0;
        part->prefix = grown;
        part->cap = cap;
    }
    part->prefix[part->n + 1] = part->prefix[part->n] + (int64_t)bytes;
    part->n++;
    return 0;
}

int produce_pace_admit(produce_pace *p, const void *key, size_t keylen, size_t bytes, char *err,
                       size_t errlen)
{
    int32_t target =
        key && p->partition_of ? p->partition_of(p->rkt, key, keylen, p->nparts, NULL, NULL) : -1;
    int32_t full = -1;
    double started = 0;
    if (!p->measured && pace_measure(p, err, errlen) != 0) return -1;
    while (!pace_fits(p, target, bytes, &full)) {
        if (started == 0) {
            /* The timeout counts from the start of this wait or the group's last progress. */
            started = pace_now_ms();
            if (p->last_progress_ms < started) p->last_progress_ms = started;
            p->waits++;
        }
        if (pace_measure(p, err, errlen) != 0) return -1;
        if (pace_fits(p, target, bytes, &full)) break;
        if (!p->said_waiting) {
            p->said_waiting = 1;
            fprintf(stderr,
                    "mni produce: pacing: waiting for consumer group %s to read %s[%d] "
                    "(%.1f MiB not consumed yet, limit %.1f MiB; --no-pace turns this off)\n",
                    p->o.group, p->o.topic, (int)full,
                    (double)pace_pending_bytes(&p->parts[full]) / 1048576.0,
                    (double)p->o.limit_bytes / 1048576.0);
        }
        if (pace_now_ms() - p->last_progress_ms > p->o.timeout_s * 1e3) {
            snprintf(err, errlen,
                     "pacing: consumer group %s has read nothing of %s for %d s (is mni-ingest "
                     "running against this broker and database?); %.1f MiB wait on partition %d",
                     p->o.group, p->o.topic, p->o.timeout_s,
                     (double)pace_pending_bytes(&p->parts[full]) / 1048576.0, (int)full);
            return -1;
        }
        usleep(PACE_POLL_MS * 1000);
    }
    if (started > 0) p->waited_ms += pace_now_ms() - started;
    for (int32_t i = 0; i < p->nparts; i++)
        if ((target < 0 || i == target) && pace_count(&p->parts[i], bytes) != 0) {
            snprintf(err, errlen, "pacing: out of memory");
            return -1;
        }
    p->bytes_total += (int64_t)bytes;
    p->msgs_total++;
    return 0;
}
