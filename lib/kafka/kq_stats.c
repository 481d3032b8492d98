/*
 * kq stats: librdkafka's statistics JSON (STATISTICS.md of librdkafka 2.0.2) reduced to what the
 * workers report: each partition's log start and end, and how many brokers are connected.
 *
 * Why statistics and not the consumer's own lag: librdkafka's consumer_lag is measured from the
 * offset committed to Kafka, and the workers commit none (their offsets live in PostgreSQL,
 * kq.h), so it is always -1. The log end is what the statistics know for sure; the worker
 * subtracts its own stored offset (lib/runtime/worker.c).
 *
 * Brokers: bootstrap and logical entries ("GroupCoordinator") carry node id -1 and are not
 * counted; a learned broker counts when its state is UP.
 */
#include "lib/base/errbuf.h"
#include "lib/kafka/kq.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t kq_stats_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int kq_stats_brokers_up(json_t *root)
{
    int up = 0;
    const char *name;
    json_t *b;
    json_object_foreach (json_object_get(root, "brokers"), name, b) {
        json_t *state = json_object_get(b, "state");
        if (kq_stats_int(b, "nodeid") >= 0 && json_is_string(state) &&
            !strcmp(json_string_value(state), "UP"))
            up++;
    }
    return up;
}

int kq_stats_parse(const char *json, size_t len, kq_stats *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root || !json_is_object(root)) {
        errbuf_fail(err, errlen, "kafka statistics: %s", root ? "not a JSON object" : jerr.text);
        json_decref(root);
        return -1;
    }
    out->brokers_up = kq_stats_brokers_up(root);
    const char *topic_name, *part_name;
    json_t *topic, *part;
    size_t cap = 0;
    json_object_foreach (json_object_get(root, "topics"), topic_name, topic) {
        json_object_foreach (json_object_get(topic, "partitions"), part_name, part) {
            int64_t p = kq_stats_int(part, "partition");
            if (p < 0 || p > INT32_MAX) continue; /* -1: librdkafka's unassigned queue */
            if (out->n == cap) {
                size_t grown_cap = cap ? cap * 2 : 16;
                kq_partition_stats *grown = realloc(out->parts, grown_cap * sizeof *grown);
                if (!grown) {
                    errbuf_fail(err, errlen, "kafka statistics: out of memory");
                    kq_stats_free(out);
                    json_decref(root);
                    return -1;
                }
                out->parts = grown;
                cap = grown_cap;
            }
            kq_partition_stats *s = &out->parts[out->n++];
            snprintf(s->topic, sizeof s->topic, "%s", topic_name);
            s->partition = (int32_t)p;
            s->log_start = kq_stats_int(part, "lo_offset");
            int64_t stable = kq_stats_int(part, "ls_offset");
            s->log_end = stable >= 0 ? stable : kq_stats_int(part, "hi_offset");
        }
    }
    json_decref(root);
    return 0;
}

void kq_stats_free(kq_stats *s)
{
    free(s->parts);
    s->parts = NULL;
    s->n = 0;
}
