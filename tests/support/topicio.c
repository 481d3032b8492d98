/*
 * topicio: see topicio.h.
 */
#include "tests/support/topicio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/monoclock.h"
#include "lib/kafka/kq.h"
#include "lib/model/events.h"
#include "lib/model/events_json.h"

int topicio_produce_jsonl(const char *bootstrap, const char *topic, const char *path)
{
    char err[512];
    schema_set *schemas = NULL;
    if (schema_set_load_default(&schemas, err, sizeof err) != 0) {
        fprintf(stderr, "topicio: %s\n", err);
        return -1;
    }
    FILE *f = fopen(path, "r");
    kq_prop props[] = {{"bootstrap.servers", bootstrap}};
    kq_producer *p = f ? kq_producer_new(props, 1, err, sizeof err) : NULL;
    int sent = -1;
    if (p) {
        mni_event ev;
        mni_event_init(&ev);
        wire_buf buf;
        wire_buf_init(&buf);
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        sent = 0;
        while (sent >= 0 && (len = getline(&line, &cap, f)) > 0) {
            if (len <= 1) continue;
            if (mni_event_from_json_text(line, (size_t)len, &ev, err, sizeof err) != 0 ||
                mni_event_encode(schemas, &ev, &buf, err, sizeof err) != 0 ||
                kq_produce(p, topic, ev.incident_id, strlen(ev.incident_id), buf.data, buf.len,
                           NULL, 0, err, sizeof err) != 0) {
                fprintf(stderr, "topicio: %s: %s\n", path, err);
                sent = -1;
            } else {
                sent++;
            }
        }
        free(line);
        wire_buf_free(&buf);
        mni_event_free(&ev);
        if (kq_producer_close(p, 10000, err, sizeof err) != 0) {
            fprintf(stderr, "topicio: %s\n", err);
            sent = -1;
        }
    } else {
        fprintf(stderr, "topicio: %s: %s\n", path, f ? err : "cannot open");
    }
    if (f) fclose(f);
    schema_set_free(schemas);
    return sent;
}

static void copy_message(topicio_message *c, const rd_kafka_message_t *m)
{
    memset(c, 0, sizeof *c);
    c->partition = m->partition;
    c->offset = m->offset;
    if (m->key) {
        c->key = malloc(m->key_len + 1);
        memcpy(c->key, m->key, m->key_len);
        c->key_len = m->key_len;
    }
    if (m->payload) {
        c->value = malloc(m->len + 1);
        memcpy(c->value, m->payload, m->len);
        c->value_len = m->len;
    }
    rd_kafka_headers_t *h = NULL;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR && h)
        c->headers = rd_kafka_headers_copy(h);
}

int topicio_read_to_end(const char *bootstrap, const char *topic, int partitions, int timeout_ms,
                        topicio_messages *out)
{
    char err[512];
    double t0 = monoclock_ms_exact();
    memset(out, 0, sizeof *out);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) != 0 ||
        rd_kafka_conf_set(conf, "group.id", "topicio", err, sizeof err) != 0 ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) != 0 ||
        rd_kafka_conf_set(conf, "isolation.level", "read_committed", err, sizeof err) != 0) {
        fprintf(stderr, "topicio: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "topicio: %s\n", err);
        return -1;
    }
    int64_t *next = calloc((size_t)partitions, sizeof *next);
    int64_t *end = calloc((size_t)partitions, sizeof *end);
    size_t cap = 64;
    out->msgs = calloc(cap, sizeof *out->msgs);
    int rc = next && end && out->msgs ? 0 : -1;
    int open_parts = 0;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions && rc == 0; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "topicio: %s [%d]: watermarks: %s\n", topic, p, rd_kafka_err2str(e));
            rc = -1;
            break;
        }
        next[p] = lo;
        end[p] = hi;
        if (lo < hi) {
            rd_kafka_topic_partition_list_add(parts, topic, p)->offset = lo;
            open_parts++;
        }
    }
    if (rc == 0 && open_parts > 0) rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    while (rc == 0 && open_parts > 0) {
        if (monoclock_ms_exact() - t0 > timeout_ms) {
            fprintf(stderr, "topicio: %s: not read to its high watermarks in %d ms\n", topic,
                    timeout_ms);
            rc = -1;
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        int p = m->partition;
        if (m->err || p < 0 || p >= partitions || m->offset >= end[p]) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (out->n == cap) {
            topicio_message *grown = realloc(out->msgs, cap * 2 * sizeof *grown);
            if (!grown) {
                rd_kafka_message_destroy(m);
                rc = -1;
                break;
            }
            out->msgs = grown;
            cap *= 2;
        }
        copy_message(&out->msgs[out->n++], m);
        next[p] = m->offset + 1;
        if (next[p] >= end[p]) open_parts--;
        rd_kafka_message_destroy(m);
    }
    free(next);
    free(end);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (rc != 0) topicio_messages_free(out);
    return rc;
}

int topicio_read_all(const char *bootstrap, const char *topic, int partitions, size_t expect,
                     int idle_ms, topicio_messages *out)
{
    char err[512];
    memset(out, 0, sizeof *out);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) != 0 ||
        rd_kafka_conf_set(conf, "group.id", "topicio", err, sizeof err) != 0 ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err) != 0) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) return -1;
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int i = 0; i < partitions; i++)
        rd_kafka_topic_partition_list_add(parts, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    size_t cap = 64;
    out->msgs = calloc(cap, sizeof *out->msgs);
    if (!out->msgs) {
        rd_kafka_destroy(rk);
        return -1;
    }
    int idle = 0;
    while (out->n < expect || expect == 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle += 100;
            if (idle >= idle_ms) break;
            continue;
        }
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        idle = 0;
        if (out->n == cap) {
            topicio_message *grown = realloc(out->msgs, cap * 2 * sizeof *grown);
            if (!grown) {
                rd_kafka_message_destroy(m);
                break;
            }
            out->msgs = grown;
            cap *= 2;
        }
        copy_message(&out->msgs[out->n++], m);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

void topicio_messages_free(topicio_messages *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->msgs[i].key);
        free(m->msgs[i].value);
        if (m->msgs[i].headers) rd_kafka_headers_destroy(m->msgs[i].headers);
    }
    free(m->msgs);
    memset(m, 0, sizeof *m);
}

void topicio_header(const topicio_message *m, const char *name, char *buf, size_t n)
{
    const void *v = NULL;
    size_t len = 0;
    if (n == 0) return;
    buf[0] = '\0';
    if (m->headers && rd_kafka_header_get_last(m->headers, name, &v, &len) == 0 && v && len < n) {
        memcpy(buf, v, len);
        buf[len] = '\0';
    }
}
