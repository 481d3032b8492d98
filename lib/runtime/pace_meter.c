/*
 * pace_meter: see pace_meter.h.
 */
#include "lib/runtime/pace_meter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/monoclock.h"
#include "lib/pg/pgx.h"

#define PACE_METER_WATERMARK_MS 10000

/* One partition: this producer's message sizes (ring of prefix sums) and the last measure. */
typedef struct {
    int64_t *prefix;     /* prefix[j % RING]: bytes of this producer's first j messages, j >= 1 */
    int64_t n;           /* messages counted */
    int64_t pending;     /* bytes not consumed at the last measure */
    int64_t lag;         /* messages not consumed at the last measure */
    int64_t since_bytes; /* counted since the last measure */
    int64_t since_msgs;
} meter_part;

/* librdkafka's partitioner functions (rd_kafka_msg_partitioner_*). */
typedef int32_t (*meter_partitioner)(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                                     int32_t partition_cnt, void *rkt_opaque, void *msg_opaque);

struct pace_meter {
    rd_kafka_t *rk;
    meter_partitioner partition_of; /* NULL: keys are ignored (random) */
    char *topic, *group;
    int64_t limit;
    int32_t nparts;
    meter_part *parts;
    int64_t bytes_total, msgs_total;
    int64_t position_sum;
    double measured_at;
};

pace_meter *pace_meter_new(rd_kafka_t *rk, const char *topic, const char *group,
                           int64_t limit_bytes, char *err, size_t errlen)
{
    pace_meter *m = calloc(1, sizeof *m);
    if (!m || !(m->topic = strdup(topic)) || !(m->group = strdup(group))) {
        snprintf(err, errlen, "pacing %s: out of memory", topic);
        pace_meter_free(m);
        return NULL;
    }
    m->rk = rk;
    m->partition_of = rd_kafka_msg_partitioner_murmur2_random;
    m->limit = limit_bytes;
    /* The topic handle only for this request: the meter may outlive the producer (a worker
     * frees its context after closing it), and a topic handle must not. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e =
        rkt ? rd_kafka_metadata(rk, 0, rkt, &md, PACE_METER_WATERMARK_MS) : rd_kafka_last_error();
    if (rkt) rd_kafka_topic_destroy(rkt);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err)
        e = md->topics[0].err;
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && (md->topic_cnt != 1 || md->topics[0].partition_cnt <= 0))
        e = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        m->nparts = md->topics[0].partition_cnt;
        m->parts = calloc((size_t)m->nparts, sizeof *m->parts);
        for (int32_t i = 0; m->parts && i < m->nparts; i++)
            if (!(m->parts[i].prefix = calloc(PACE_METER_RING, sizeof *m->parts[i].prefix)))
                e = RD_KAFKA_RESP_ERR__FAIL;
        if (!m->parts) e = RD_KAFKA_RESP_ERR__FAIL;
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "pacing %s for group %s: cannot read its partitions: %s", topic,
                 group, rd_kafka_err2str(e));
        pace_meter_free(m);
        return NULL;
    }
    return m;
}

void pace_meter_free(pace_meter *m)
{
    if (!m) return;
    for (int32_t i = 0; m->parts && i < m->nparts; i++)
        free(m->parts[i].prefix);
    free(m->parts);
    free(m->topic);
    free(m->group);
    free(m);
}

int32_t pace_meter_partitions(const pace_meter *m)
{
    return m->nparts;
}

void pace_meter_use_partitioner(pace_meter *m, const char *name)
{
    /* The *_random ones hash a key as their plain twin does. */
    if (!name || !*name || !strcmp(name, "murmur2_random") || !strcmp(name, "murmur2"))
        m->partition_of = rd_kafka_msg_partitioner_murmur2_random;
    else if (!strcmp(name, "consistent_random") || !strcmp(name, "consistent"))
        m->partition_of = rd_kafka_msg_partitioner_consistent_random;
    else if (!strcmp(name, "fnv1a_random") || !strcmp(name, "fnv1a"))
        m->partition_of = rd_kafka_msg_partitioner_fnv1a_random;
    else
        m->partition_of = NULL; /* random: any partition */
}

int32_t pace_meter_partition(const pace_meter *m, const void *key, size_t keylen)
{
    /* With a key of one byte or more, these functions read neither the topic handle nor
     * anything else of librdkafka's; without, some pick at random (and read the handle). */
    if (!key || keylen == 0 || !m->partition_of) return PACE_METER_EVERY;
    return m->partition_of(NULL, key, keylen, m->nparts, NULL, NULL);
}

/* Whether partition i is one that partition (a partition, or PACE_METER_EVERY) names. */
static int names(int32_t partition, int32_t i)
{
    return partition == PACE_METER_EVERY || partition == i;
}

static int64_t prefix_at(const meter_part *p, int64_t j)
{
    return j <= 0 ? 0 : p->prefix[j % PACE_METER_RING];
}

void pace_meter_count(pace_meter *m, int32_t partition, size_t bytes)
{
    if (partition != PACE_METER_EVERY && (partition < 0 || partition >= m->nparts)) return;
    for (int32_t i = 0; i < m->nparts; i++) {
        if (!names(partition, i)) continue;
        meter_part *p = &m->parts[i];
        p->prefix[(p->n + 1) % PACE_METER_RING] = prefix_at(p, p->n) + (int64_t)bytes;
        p->n++;
        p->since_bytes += (int64_t)bytes;
        p->since_msgs++;
    }
    m->bytes_total += (int64_t)bytes;
    m->msgs_total++;
}

void pace_meter_uncount(pace_meter *m, int32_t partition, size_t bytes)
{
    if (partition != PACE_METER_EVERY && (partition < 0 || partition >= m->nparts)) return;
    int uncounted = 0;
    for (int32_t i = 0; i < m->nparts; i++) {
        meter_part *p = &m->parts[i];
        if (!names(partition, i) || p->n == 0) continue;
        p->n--;
        p->since_bytes -= (int64_t)bytes;
        p->since_msgs--;
        uncounted = 1;
    }
    if (!uncounted) return;
    m->bytes_total -= (int64_t)bytes;
    m->msgs_total--;
}

int64_t pace_meter_pending(const pace_meter *m, int32_t partition)
{
    if (partition < 0 || partition >= m->nparts) return 0;
    return m->parts[partition].pending + m->parts[partition].since_bytes;
}

int32_t pace_meter_full(const pace_meter *m, int32_t partition, size_t bytes)
{
    for (int32_t i = 0; i < m->nparts; i++) {
        if (!names(partition, i)) continue;
        const meter_part *p = &m->parts[i];
        int64_t pending = p->pending + p->since_bytes;
        if (pending > 0 && (pending + (int64_t)bytes > m->limit ||
                            p->lag + p->since_msgs + 1 > PACE_METER_MAX_MESSAGES))
            return i;
    }
    return -1;
}

int pace_meter_measure(pace_meter *m, PGconn *pg, char *err, size_t errlen)
{
    int64_t *next = malloc((size_t)m->nparts * sizeof *next);
    if (!next) {
        snprintf(err, errlen, "pacing %s: out of memory", m->topic);
        return -1;
    }
    for (int32_t i = 0; i < m->nparts; i++)
        next[i] = -1;
    const char *params[] = {m->group, m->topic};
    PGresult *res = pgx_query(pg, "pace.offsets",
                              "SELECT partition, next_offset FROM consumer_offsets "
                              "WHERE group_id = $1 AND topic = $2",
                              2, params, err, errlen);
    if (!res) {
        free(next);
        return -1;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        int32_t part = (int32_t)atoi(PQgetvalue(res, r, 0));
        if (part >= 0 && part < m->nparts) next[part] = atoll(PQgetvalue(res, r, 1));
    }
    PQclear(res);
    int64_t avg = m->msgs_total ? m->bytes_total / m->msgs_total : 1024;
    int64_t position_sum = 0;
    for (int32_t i = 0; i < m->nparts; i++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(m->rk, m->topic, i, &lo, &hi, PACE_METER_WATERMARK_MS);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "pacing: cannot read the end of %s[%d]: %s", m->topic, (int)i,
                     rd_kafka_err2str(e));
            free(next);
            return -1;
        }
        meter_part *p = &m->parts[i];
        int64_t position = next[i] > lo ? next[i] : lo;
        int64_t lag = hi > position ? hi - position : 0;
        int64_t known = p->n < PACE_METER_RING - 1 ? p->n : PACE_METER_RING - 1;
        int64_t ours = lag < known ? lag : known;
        p->pending = prefix_at(p, p->n) - prefix_at(p, p->n - ours) + (lag - ours) * avg;
        p->lag = lag;
        p->since_bytes = p->since_msgs = 0;
        position_sum += position;
    }
    free(next);
    m->position_sum = position_sum;
    m->measured_at = monoclock_ms_exact();
    return 0;
}

double pace_meter_measured_at(const pace_meter *m)
{
    return m->measured_at;
}

int64_t pace_meter_position_sum(const pace_meter *m)
{
    return m->position_sum;
}

int64_t pace_meter_limit(const pace_meter *m)
{
    return m->limit;
}

const char *pace_meter_topic(const pace_meter *m)
{
    return m->topic;
}

const char *pace_meter_group(const pace_meter *m)
{
    return m->group;
}
