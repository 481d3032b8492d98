/*
 * anchor_topic: see anchor_topic.h.
 */
#include "cli/anchor_topic.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/dlq_read.h"

static int is_hex(const char *s, size_t len)
{
    return s && strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

/* The anchor a message holds; -1 when it holds none. */
static int parse(const rd_kafka_message_t *m, published_anchor *a)
{
    if (!m->payload || m->len == 0) return -1;
    json_error_t jerr;
    json_t *o = json_loadb(m->payload, m->len, 0, &jerr);
    const json_t *seq = json_object_get(o, "seq");
    const char *hash = json_string_value(json_object_get(o, "hash"));
    const char *key_id = json_string_value(json_object_get(o, "key_id"));
    const char *mac = json_string_value(json_object_get(o, "mac"));
    const char *signer = json_string_value(json_object_get(o, "signer"));
    int ok = json_is_integer(seq) && json_integer_value(seq) > 0 && is_hex(hash, 64) &&
             is_hex(key_id, 16) && is_hex(mac, 64) && signer && strlen(signer) < sizeof a->signer;
    if (ok) {
        a->seq = (long long)json_integer_value(seq);
        memcpy(a->hash, hash, 65);
        memcpy(a->key_id, key_id, 17);
        memcpy(a->mac, mac, 65);
        snprintf(a->signer, sizeof a->signer, "%s", signer);
    }
    json_decref(o);
    return ok ? 0 : -1;
}

static int by_seq(const void *x, const void *y)
{
    const published_anchor *a = x, *b = y;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

int anchor_topic_read(const config *cfg, const char *topic, int timeout_ms, published_anchor **out,
                      size_t *n, size_t *malformed, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    *malformed = 0;
    dlq_reader r;
    if (dlq_read(&r, cfg, topic, timeout_ms, err, errlen) != 0) {
        dlq_reader_close(&r);
        return -1;
    }
    published_anchor *v = calloc(r.n ? r.n : 1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "%s: out of memory for %zu anchors", topic, r.n);
        dlq_reader_close(&r);
        return -1;
    }
    for (size_t i = 0; i < r.n; i++) {
        if (parse(r.msgs[i], &v[*n]) == 0)
            (*n)++;
        else
            (*malformed)++;
    }
    dlq_reader_close(&r);
    qsort(v, *n, sizeof *v, by_seq);
    *out = v;
    return 0;
}
