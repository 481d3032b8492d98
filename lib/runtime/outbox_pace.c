/*
 * outbox_pace: see outbox_pace.h.
 */
#include "lib/runtime/outbox_pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/runtime/pace_gate.h"

/* The logical topics the outbox relays (outbox.h). */
static const char *const outbox_pace_topics[] = {"tasks", "assessments", "tickets", "anchors"};
#define OUTBOX_PACE_TOPICS (sizeof outbox_pace_topics / sizeof outbox_pace_topics[0])

struct outbox_pace {
    pace_gate *gates[OUTBOX_PACE_TOPICS]; /* NULL: that topic is not paced */
    char closed[128];
};

int outbox_pace_open(const config *cfg, rd_kafka_t *rk, metrics *m, outbox_pace **out, char *err,
                     size_t errlen)
{
    *out = NULL;
    outbox_pace *op = calloc(1, sizeof *op);
    if (!op) {
        snprintf(err, errlen, "pacing: out of memory");
        return -1;
    }
    int any = 0;
    for (size_t i = 0; i < OUTBOX_PACE_TOPICS; i++) {
        if (pace_gate_open(cfg, outbox_pace_topics[i], rk, m, &op->gates[i], err, errlen) != 0) {
            outbox_pace_free(op);
            return -1;
        }
        any |= op->gates[i] != NULL;
    }
    if (!any) {
        free(op);
        return 0;
    }
    *out = op;
    return 0;
}

void outbox_pace_free(outbox_pace *op)
{
    if (!op) return;
    for (size_t i = 0; i < OUTBOX_PACE_TOPICS; i++)
        pace_gate_free(op->gates[i]);
    free(op);
}

int outbox_pace_refresh(outbox_pace *op, PGconn *pg, char *err, size_t errlen)
{
    int opened = 0;
    for (size_t i = 0; op && i < OUTBOX_PACE_TOPICS; i++) {
        if (!op->gates[i]) continue;
        if (!pace_gate_closed(op->gates[i])) {
            if (pace_gate_freshen(op->gates[i], pg, err, errlen) != 0) return -1;
            continue;
        }
        int room = pace_gate_room(op->gates[i], pg, err, errlen);
        if (room < 0) return -1;
        opened |= room;
    }
    return opened;
}

const char *outbox_pace_closed_list(outbox_pace *op)
{
    if (!op) return "{}";
    size_t n = 0;
    op->closed[n++] = '{';
    for (size_t i = 0; i < OUTBOX_PACE_TOPICS; i++) {
        if (!pace_gate_closed(op->gates[i])) continue;
        n += (size_t)snprintf(op->closed + n, sizeof op->closed - n, "%s%s", n > 1 ? "," : "",
                              outbox_pace_topics[i]);
    }
    snprintf(op->closed + n, sizeof op->closed - n, "}");
    return op->closed;
}

int outbox_pace_admit(outbox_pace *op, const char *logical, const char *key, size_t keylen,
                      size_t bytes, char *err, size_t errlen)
{
    for (size_t i = 0; op && i < OUTBOX_PACE_TOPICS; i++)
        if (op->gates[i] && !strcmp(outbox_pace_topics[i], logical))
            return pace_gate_admit(op->gates[i], key, keylen, bytes, err, errlen);
    return 1;
}

void outbox_pace_uncount(outbox_pace *op, const char *logical, const char *key, size_t keylen,
                         size_t bytes)
{
    for (size_t i = 0; op && i < OUTBOX_PACE_TOPICS; i++)
        if (op->gates[i] && !strcmp(outbox_pace_topics[i], logical))
            pace_gate_uncount(op->gates[i], key, keylen, bytes);
}

int outbox_pace_waiting(const outbox_pace *op)
{
    for (size_t i = 0; op && i < OUTBOX_PACE_TOPICS; i++)
        if (pace_gate_closed(op->gates[i])) return 1;
    return 0;
}
