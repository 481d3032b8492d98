/*
 * topicio: see topicio.h.
 */
#include "tests/support/topicio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/events.h"
#include "common/events_json.h"
#include "common/kq.h"

int topicio_produce_jsonl(const char *bootstrap, const char *topic, const char *path)
{
    char err[512];
    events_schema_set *schemas = NULL;
    if (events_schema_load_default(&schemas, err, sizeof err) != 0) {
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
    events_schema_free(schemas);
    return sent;
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
        topicio_message *c = &out->msgs[out->n++];
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
