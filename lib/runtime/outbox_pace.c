/*
 * outbox_pace: see outbox_pace.h.
 */
#include "lib/runtime/outbox_pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/monoclock.h"
#include "lib/runtime/pace_gate.h"

/* The logical topics the outbox relays (outbox.h). */
static const char *const outbox_pace_topics[] = {"tasks", "assessments", "tickets", "anchors"};
#define OUTBOX_PACE_TOPICS (sizeof outbox_pace_topics / sizeof outbox_pace_topics[0])
/* Which of them are compacted (outbox.h): claimed only by the relay that holds their lock. */
static const bool outbox_pace_compacted[OUTBOX_PACE_TOPICS] = {false, true, false, true};

struct outbox_pace {
    pace_gate *gates[OUTBOX_PACE_TOPICS]; /* NULL: that topic is not paced */
    char closed[128];
    /* The cursor (outbox_pace_cursor): where the claims read each open topic from. */
    int floors_valid;                       /* 0: the next claim reads from the start */
    long long floor_ms[OUTBOX_PACE_TOPICS]; /* per topic: read from this created_at on */
    long long full_at;                      /* monoclock_ms of the last claim from the start */
    char floors_closed[128];                /* the closed list the floors were kept under */
    char open[128], floors[256];            /* the cursor claim's parameters */
};

/* Whether a claim reads topic i: open, and its lock held when it is a compacted one. */
static bool claim_reads(const outbox_pace *op, size_t i, bool compacted)
{
    return !pace_gate_closed(op->gates[i]) && (compacted || !outbox_pace_compacted[i]);
}

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

/* ---- the cursor: where the claims read each topic from while a topic waits ---- */

int outbox_pace_cursor(outbox_pace *op, bool compacted, const char **open, const char **floors)
{
    if (!op || !op->floors_valid || strcmp(op->floors_closed, outbox_pace_closed_list(op)) != 0 ||
        monoclock_ms() - op->full_at >= OUTBOX_PACE_FULL_MS)
        return 0;
    size_t no = 0, nf = 0;
    op->open[no++] = '{';
    op->floors[nf++] = '{';
    for (size_t i = 0; i < OUTBOX_PACE_TOPICS; i++) {
        if (!claim_reads(op, i, compacted)) continue;
        int first = op->open[no - 1] == '{';
        no += (size_t)snprintf(op->open + no, sizeof op->open - no, "%s%s", first ? "" : ",",
                               outbox_pace_topics[i]);
        nf += (size_t)snprintf(op->floors + nf, sizeof op->floors - nf, "%s%lld.%03lld",
                               first ? "" : ",", op->floor_ms[i] / 1000, op->floor_ms[i] % 1000);
    }
    snprintf(op->open + no, sizeof op->open - no, "}");
    snprintf(op->floors + nf, sizeof op->floors - nf, "}");
    *open = op->open;
    *floors = op->floors;
    return 1;
}

void outbox_pace_claimed(outbox_pace *op, int full, bool compacted, long long db_now_ms,
                         PGresult *res, int topic_col, int created_ms_col, int cut)
{
    if (!op) return;
    long long oldest[OUTBOX_PACE_TOPICS];
    for (size_t i = 0; i < OUTBOX_PACE_TOPICS; i++)
        oldest[i] = -1;
    for (int r = 0; r < PQntuples(res); r++)
        for (size_t i = 0; i < OUTBOX_PACE_TOPICS; i++)
            if (!strcmp(PQgetvalue(res, r, topic_col), outbox_pace_topics[i])) {
                long long at = atoll(PQgetvalue(res, r, created_ms_col));
                if (oldest[i] < 0 || at < oldest[i]) oldest[i] = at;
            }
    if (!full && !op->floors_valid) return;
    for (size_t i = 0; i < OUTBOX_PACE_TOPICS; i++) {
        if (!claim_reads(op, i, compacted)) {
            /* Not read (no lock for it): a claim from the start renews the floors' trust
             * (OUTBOX_PACE_FULL_MS) but not this one's, so it is dropped and the next claim
             * reads the topic from its start. A claim from the floors leaves it as it was. */
            if (full && !pace_gate_closed(op->gates[i])) op->floor_ms[i] = 0;
            continue;
        }
        long long floor = full ? 0 : op->floor_ms[i]; /* after a claim from the start, none kept */
        if (oldest[i] >= 0)
            floor = oldest[i] - OUTBOX_PACE_MARGIN_MS; /* nothing older was there to take */
        else if (!cut && db_now_ms - OUTBOX_PACE_MARGIN_MS > floor)
            floor = db_now_ms - OUTBOX_PACE_MARGIN_MS; /* none at all */
        op->floor_ms[i] = floor < 0 ? 0 : floor;
    }
    if (full) {
        op->full_at = monoclock_ms();
        snprintf(op->floors_closed, sizeof op->floors_closed, "%s", outbox_pace_closed_list(op));
        op->floors_valid = 1;
    }
}

void outbox_pace_forget(outbox_pace *op)
{
    if (op) op->floors_valid = 0;
}
