/*
 * pace_gate: see pace_gate.h.
 */
#include "lib/runtime/pace_gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"
#include "lib/base/monoclock.h"
#include "lib/runtime/pace_meter.h"

#define PACE_GATE_SAY_EVERY_MS 60000.0

struct pace_gate {
    char logical[32];
    char topic[256];
    char group[256];
    int64_t limit;
    rd_kafka_t *rk;
    metrics *metrics;
    pace_meter *meter; /* NULL until first use */
    int closed;
    int64_t *need; /* per partition while closed: bytes of the message that did not fit, or -1 */
    double closed_at, said_at;
    long waits, waits_unsaid;
};

int pace_gate_open(const config *cfg, const char *logical, rd_kafka_t *rk, metrics *m,
                   pace_gate **out, char *err, size_t errlen)
{
    char key[64];
    long long limit = 0;
    *out = NULL;
    if (pace_limit_bytes(cfg, &limit, err, errlen) != 0) return -1;
    snprintf(key, sizeof key, "pace.group.%s", logical);
    const char *group = config_get(cfg, key);
    snprintf(key, sizeof key, "topic.%s", logical);
    const char *topic = config_get(cfg, key);
    if (limit == 0 || !group || !*group || !topic || !*topic) return 0;
    pace_gate *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(err, errlen, "pacing %s: out of memory", topic);
        return -1;
    }
    snprintf(g->logical, sizeof g->logical, "%s", logical);
    snprintf(g->topic, sizeof g->topic, "%s", topic);
    snprintf(g->group, sizeof g->group, "%s", group);
    g->limit = limit;
    g->rk = rk;
    g->metrics = m;
    *out = g;
    return 0;
}

int pace_limit_bytes(const config *cfg, long long *limit, char *err, size_t errlen)
{
    return config_get_int(cfg, "pace.limit.bytes", 0, (long long)1 << 40, limit, err, errlen);
}

long long pace_batch_bytes(long long batch_bytes, long long pace_limit)
{
    long long half = pace_limit / 2;
    if (pace_limit <= 0 || batch_bytes <= half) return batch_bytes;
    return half > 0 ? half : 1;
}

void pace_gate_free(pace_gate *g)
{
    if (!g) return;
    pace_meter_free(g->meter);
    free(g->need);
    free(g);
}

int pace_gate_closed(const pace_gate *g)
{
    return g && g->closed;
}

const char *pace_gate_logical(const pace_gate *g)
{
    return g->logical;
}

/* The meter, made on first use (the topic's partitions from its metadata). */
static pace_meter *gate_meter(pace_gate *g, char *err, size_t errlen)
{
    if (g->meter) return g->meter;
    g->meter = pace_meter_new(g->rk, g->topic, g->group, g->limit, err, errlen);
    if (!g->meter) return NULL;
    g->need = malloc((size_t)pace_meter_partitions(g->meter) * sizeof *g->need);
    if (!g->need) {
        snprintf(err, errlen, "pacing %s: out of memory", g->topic);
        pace_meter_free(g->meter);
        g->meter = NULL;
    }
    return g->meter;
}

/* Measures when the last measure is PACE_GATE_POLL_MS old; 1 when it did, 0 not, -1 failed. */
static int measure_due(pace_gate *g, PGconn *pg, char *err, size_t errlen)
{
    if (monoclock_ms_exact() - pace_meter_measured_at(g->meter) < PACE_GATE_POLL_MS) return 0;
    return pace_meter_measure(g->meter, pg, err, errlen) == 0 ? 1 : -1;
}

/* The gate closes: partition is full for a message of bytes (0: over the limit as it is). */
static void gate_close(pace_gate *g, int32_t partition, size_t bytes)
{
    if (!g->closed) {
        for (int32_t i = 0; i < pace_meter_partitions(g->meter); i++)
            g->need[i] = -1;
        g->closed = 1;
        g->closed_at = monoclock_ms_exact();
        g->waits++;
        g->waits_unsaid++;
        metrics_count(g->metrics, METRICS_PACE_WAITS, g->topic, 1);
        if (g->said_at == 0 || g->closed_at - g->said_at >= PACE_GATE_SAY_EVERY_MS) {
            log_warn("pacing: waiting for the consumer group to read the topic (the embedded "
                     "broker drops what is not read; pace.limit.bytes = 0 turns this off)",
                     LOG_STR("topic", g->topic), LOG_INT("partition", partition),
                     LOG_STR("group", g->group),
                     LOG_INT("unconsumed_bytes", pace_meter_pending(g->meter, partition)),
                     LOG_INT("limit_bytes", g->limit), LOG_INT("waits", g->waits_unsaid), LOG_END);
            g->said_at = g->closed_at;
            g->waits_unsaid = 0;
        }
    }
    if ((int64_t)bytes > g->need[partition]) g->need[partition] = (int64_t)bytes;
}

/* A closed gate opens once every full partition has room (head comment of pace_gate.h). */
static void gate_try_open(pace_gate *g)
{
    for (int32_t i = 0; i < pace_meter_partitions(g->meter); i++) {
        if (g->need[i] < 0) continue;
        int64_t pending = pace_meter_pending(g->meter, i);
        if (pending > 0 && (pending > g->limit / 2 || pending + g->need[i] > g->limit)) return;
    }
    g->closed = 0;
    log_debug("pacing: the consumer group has read enough; going on", LOG_STR("topic", g->topic),
              LOG_STR("group", g->group), LOG_F64("waited_ms", monoclock_ms_exact() - g->closed_at),
              LOG_END);
}

int pace_gate_admit(pace_gate *g, const void *key, size_t keylen, size_t bytes, char *err,
                    size_t errlen)
{
    if (!gate_meter(g, err, errlen)) return -1;
    if (g->closed) return 0;
    int32_t p = pace_meter_partition(g->meter, key, keylen);
    int32_t full = pace_meter_full(g->meter, p, bytes);
    if (full >= 0) {
        gate_close(g, full, bytes);
        return 0;
    }
    pace_meter_count(g->meter, p, bytes);
    return 1;
}

int pace_gate_freshen(pace_gate *g, PGconn *pg, char *err, size_t errlen)
{
    if (!gate_meter(g, err, errlen)) return -1;
    if (g->closed) return 0;
    /* The first measure: what a restarted producer finds unread already. */
    if (pace_meter_measured_at(g->meter) == 0) return measure_due(g, pg, err, errlen) < 0 ? -1 : 0;
    for (int32_t i = 0; i < pace_meter_partitions(g->meter); i++)
        if (pace_meter_pending(g->meter, i) > g->limit / 2)
            return measure_due(g, pg, err, errlen) < 0 ? -1 : 0;
    return 0;
}

void pace_gate_uncount(pace_gate *g, const void *key, size_t keylen, size_t bytes)
{
    if (g->meter) pace_meter_uncount(g->meter, pace_meter_partition(g->meter, key, keylen), bytes);
}

void pace_gate_count(pace_gate *g, const void *key, size_t keylen, size_t bytes)
{
    char ignored[256];
    if (!gate_meter(g, ignored, sizeof ignored)) return; /* pace_gate_room reports it */
    pace_meter_count(g->meter, pace_meter_partition(g->meter, key, keylen), bytes);
}

/* The first partition over the limit, or -1. */
static int32_t over_limit(const pace_gate *g)
{
    for (int32_t i = 0; i < pace_meter_partitions(g->meter); i++)
        if (pace_meter_pending(g->meter, i) > g->limit) return i;
    return -1;
}

int pace_gate_room(pace_gate *g, PGconn *pg, char *err, size_t errlen)
{
    if (!gate_meter(g, err, errlen)) return -1;
    /* Measured once at least: what a restarted producer finds unread already. */
    if (!g->closed && over_limit(g) < 0 && pace_meter_measured_at(g->meter) > 0) return 1;
    int measured = measure_due(g, pg, err, errlen);
    if (measured < 0) return -1;
    if (g->closed) {
        if (measured) gate_try_open(g);
        return !g->closed;
    }
    int32_t full = over_limit(g);
    if (full < 0) return 1;
    gate_close(g, full, 0);
    for (int32_t i = full + 1; i < pace_meter_partitions(g->meter); i++)
        if (pace_meter_pending(g->meter, i) > g->limit) gate_close(g, i, 0);
    return 0;
}
