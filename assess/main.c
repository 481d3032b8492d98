/*
 * mni-assess: consumes accepted incident events, folds them into cases, runs the rule core,
 * keeps versions, headcounts, deadlines and the task outbox in PostgreSQL (one transaction per
 * batch, with the consumer offsets), and relays the outbox to the tasks topic and the compacted
 * assessments topic. See assess_event.h for the per-event logic and worker.h for the loop.
 *
 * An accepted event that cannot be decoded or applied goes to the dead-letter topic with its
 * reason (undecodable, or not_applicable: unknown incident, facts the rule core refuses, a
 * data error in PostgreSQL); its partial effects are rolled back to a per-event savepoint and
 * the partition goes on.
 */
#include <stdio.h>
#include <string.h>

#include "assess/assess_event.h"
#include "assess/case_store.h"
#include "common/events.h"
#include "common/events_json.h"
#include "common/log.h"
#include "common/outbox.h"
#include "common/pgx.h"
#include "common/worker.h"

#define ASSESS_RELAY_BATCH 500

typedef struct {
    events_schema_set *schemas;
    mni_event event; /* reused for every decode: its arena keeps allocation flat */
} assess_ctx;

static int assess_start(worker *w, void *arg, char *err, size_t errlen)
{
    assess_ctx *ctx = arg;
    return case_store_prepare(worker_pg(w), err, errlen) != 0 ||
                   events_schema_load_default(&ctx->schemas, err, errlen) != 0
               ? -1
               : 0;
}

static int assess_process(worker *w, void *arg, rd_kafka_message_t **msgs, size_t n, char *err,
                          size_t errlen)
{
    assess_ctx *ctx = arg;
    for (size_t i = 0; i < n; i++) {
        char why[512] = "";
        json_t *event = NULL;
        if (mni_event_decode(ctx->schemas, msgs[i]->payload, msgs[i]->len, &ctx->event, why,
                             sizeof why) == 0)
            event = mni_event_to_json(&ctx->event, why, sizeof why);
        if (!event) {
            if (worker_dead_letter(w, msgs[i], "undecodable", why, 0, err, errlen) != 0) return -1;
            continue;
        }
        /* One savepoint per event: a rejected event is undone alone, the batch goes on. */
        PGconn *pg = worker_pg(w);
        if (pgx_exec(pg, "assess.savepoint", "SAVEPOINT assess_event", err, errlen) != 0) {
            json_decref(event);
            return -1;
        }
        assess_outcome out = assess_event_apply(pg, event, why, sizeof why, err, errlen);
        json_decref(event);
        const char *state = pgx_last_sqlstate();
        /* A data or integrity error (SQLSTATE classes 22, 23) will fail again on every retry:
         * this event is poison, not the database down. */
        if (out == ASSESS_FAILED && (!strncmp(state, "22", 2) || !strncmp(state, "23", 2))) {
            snprintf(why, sizeof why, "processing_failed: %s", err);
            out = ASSESS_REJECTED;
        }
        if (out == ASSESS_FAILED) return -1;
        if (out == ASSESS_REJECTED) {
            if (pgx_exec(pg, "assess.rollback_event", "ROLLBACK TO SAVEPOINT assess_event", err,
                         errlen) != 0 ||
                worker_dead_letter(w, msgs[i], "not_applicable", why, 0, err, errlen) != 0)
                return -1;
        } else if (pgx_exec(pg, "assess.release", "RELEASE SAVEPOINT assess_event", err, errlen) !=
                   0) {
            return -1;
        }
    }
    return 0;
}

static int assess_tick(worker *w, void *arg, char *err, size_t errlen)
{
    assess_ctx *ctx = arg;
    long relayed = 0;
    int rc = outbox_relay(worker_pg(w), worker_producer(w), worker_config(w), ctx->schemas,
                          ASSESS_RELAY_BATCH, &relayed, err, errlen);
    worker_count(w, METRICS_OUTBOX_RELAYED, (uint64_t)relayed);
    if (relayed > 0) log_info("outbox relayed", LOG_INT("rows", relayed), LOG_END);
    return rc;
}

int main(int argc, char **argv)
{
    static const worker_spec spec = {
        .component = "assess",
        .summary = "Consumes accepted incident events, assesses each case with the rule core,\n"
                   "keeps case state in PostgreSQL and emits tasks and assessments.",
        .input_topic = "topic.accepted",
        .start = assess_start,
        .process = assess_process,
        .tick = assess_tick,
    };
    assess_ctx ctx = {0};
    mni_event_init(&ctx.event);
    int rc = worker_main(argc, argv, &spec, &ctx);
    mni_event_free(&ctx.event);
    events_schema_free(ctx.schemas);
    return rc;
}
