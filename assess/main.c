/*
 * mni-assess: consumes accepted incident events, folds them into cases, runs the rule core,
 * keeps versions, headcounts, deadlines and the task outbox in PostgreSQL (one transaction per
 * batch, with the consumer offsets), and relays the outbox to the tasks topic and the compacted
 * assessments topic on a thread of its own, kicked after each commit, so that the next batch
 * does not wait for deliveries (lib/runtime/relayer.h). See assess_batch.h for the batch and
 * worker.h for the loop.
 *
 * An accepted event that cannot be decoded or applied goes to the dead-letter topic with its
 * reason (undecodable, or not_applicable: unknown incident, facts the rule core refuses). A
 * batch that fails in PostgreSQL with a data or integrity error (SQLSTATE classes 22, 23: it
 * would fail again on every retry) is rolled back to its savepoint and applied again event by
 * event, each in a savepoint of its own, so that the culprit is dead-lettered alone
 * (processing_failed) and the partition goes on.
 *
 * A batch with many person tokens merges its incidents' person sets on a second session while
 * the batch's session merges the per-client sets (assess.merge_peer_min, token_merge.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/assess_batch.h"
#include "lib/base/log.h"
#include "lib/model/events.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/schema_source.h"
#include "lib/runtime/worker.h"

#define ASSESS_RELAY_BATCH 500

typedef struct {
    schema_set *schemas;
    registry_client *registry; /* NULL without a schema registry */
    PGconn *peer;              /* the token merge's second session (token_merge.h), or NULL */
    size_t peer_min;           /* assess.merge_peer_min */
    bool peer_failing;         /* the last attempt to open the peer failed */
    assess_batch *batch;
    assess_input *inputs;
    size_t cap_inputs;
} assess_ctx;

static int assess_start(worker *w, void *arg, char *err, size_t errlen)
{
    assess_ctx *ctx = arg;
    if (schema_source_open(worker_config(w), &ctx->schemas, &ctx->registry, err, errlen) != 0)
        return -1;
    long long peer_min;
    if (config_get_int(worker_config(w), "assess.merge_peer_min", 0, 1LL << 30, &peer_min, err,
                       errlen) != 0)
        return -1;
    ctx->peer_min = (size_t)peer_min;
    ctx->batch = assess_batch_new(ctx->schemas, ctx->peer_min);
    if (!ctx->batch) {
        snprintf(err, errlen, "assess: out of memory");
        return -1;
    }
    return worker_start_relay(w, ctx->schemas, ASSESS_RELAY_BATCH, err, errlen);
}

/* The peer session for a batch: opened when missing or lost; NULL when it cannot be (the
 * batch's session then merges alone, as with assess.merge_peer_min 0). */
static PGconn *peer_session(worker *w, assess_ctx *ctx)
{
    if (ctx->peer && PQstatus(ctx->peer) == CONNECTION_OK &&
        PQtransactionStatus(ctx->peer) == PQTRANS_IDLE)
        return ctx->peer;
    pgx_close(ctx->peer);
    char err[512];
    ctx->peer = worker_pg_connect(w, "merge", err, sizeof err);
    if (!ctx->peer && !ctx->peer_failing) /* once, not at every batch while it lasts */
        log_warn("cannot open the token merge's second session; merging on one",
                 LOG_STR("error", err), LOG_END);
    ctx->peer_failing = !ctx->peer;
    return ctx->peer;
}

/* A data or integrity error will fail again on every retry: poison, not the database down. */
static int is_poison(void)
{
    const char *state = pgx_last_sqlstate();
    return !strncmp(state, "22", 2) || !strncmp(state, "23", 2);
}

/* Dead-letters the messages the last run did not apply. */
static int dead_letters(worker *w, assess_ctx *ctx, rd_kafka_message_t **msgs, size_t n, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const char *why;
        assess_outcome out = assess_batch_outcome(ctx->batch, i, &why);
        const char *reason = out == ASSESS_UNDECODABLE ? "undecodable"
                             : out == ASSESS_REJECTED  ? "not_applicable"
                                                       : NULL;
        if (reason && worker_dead_letter(w, msgs[i], reason, why, 0, err, errlen) != 0) return -1;
    }
    return 0;
}

/* The fallback: each message in a savepoint of its own. */
static int one_by_one(worker *w, assess_ctx *ctx, rd_kafka_message_t **msgs, size_t n, char *err,
                      size_t errlen)
{
    PGconn *pg = worker_pg(w);
    for (size_t i = 0; i < n; i++) {
        if (pgx_exec(pg, "assess.savepoint_event", "SAVEPOINT assess_event", err, errlen) != 0)
            return -1;
        if (assess_batch_run(ctx->batch, pg, NULL, worker_batch_arena(w), &ctx->inputs[i], 1, err,
                             errlen) == 0) {
            if (pgx_exec(pg, "assess.release_event", "RELEASE SAVEPOINT assess_event", err,
                         errlen) != 0 ||
                dead_letters(w, ctx, &msgs[i], 1, err, errlen) != 0)
                return -1;
            continue;
        }
        if (!is_poison()) return -1;
        char why[600];
        snprintf(why, sizeof why, "processing_failed: %s", err);
        if (pgx_exec(pg, "assess.rollback_event", "ROLLBACK TO SAVEPOINT assess_event", err,
                     errlen) != 0 ||
            assess_batch_forget(ctx->batch, pg, &ctx->inputs[i], err, errlen) != 0 ||
            worker_dead_letter(w, msgs[i], "not_applicable", why, 0, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int assess_process(worker *w, void *arg, rd_kafka_message_t **msgs, size_t n, char *err,
                          size_t errlen)
{
    assess_ctx *ctx = arg;
    if (n > ctx->cap_inputs) {
        assess_input *grown = realloc(ctx->inputs, n * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "assess: out of memory for a batch of %zu", n);
            return -1;
        }
        ctx->inputs = grown;
        ctx->cap_inputs = n;
    }
    for (size_t i = 0; i < n; i++)
        ctx->inputs[i] = (assess_input){msgs[i]->payload, msgs[i]->len};
    PGconn *pg = worker_pg(w);
    if (pgx_exec(pg, "assess.savepoint", "SAVEPOINT assess_batch", err, errlen) != 0) return -1;
    PGconn *peer = ctx->peer_min > 0 ? peer_session(w, ctx) : NULL;
    if (assess_batch_run(ctx->batch, pg, peer, worker_batch_arena(w), ctx->inputs, n, err,
                         errlen) == 0)
        return dead_letters(w, ctx, msgs, n, err, errlen);
    if (!is_poison()) return -1;
    log_warn("batch failed on its data; applying it event by event", LOG_STR("error", err),
             LOG_INT("messages", (long long)n), LOG_END);
    if (pgx_exec(pg, "assess.rollback", "ROLLBACK TO SAVEPOINT assess_batch", err, errlen) != 0)
        return -1;
    return one_by_one(w, ctx, msgs, n, err, errlen);
}

int main(int argc, char **argv)
{
    static const char *const defaults[][2] = {
        {"assess.merge_peer_min", "4096"},
        {NULL, NULL},
    };
    static const worker_spec spec = {
        .component = "assess",
        .defaults = defaults,
        .summary = "Consumes accepted incident events, assesses each case with the rule core,\n"
                   "keeps case state in PostgreSQL and emits tasks and assessments.",
        .input_topic = "topic.accepted",
        .gauges = WORKER_GAUGE_OUTBOX,
        .start = assess_start,
        .process = assess_process,
    };
    assess_ctx ctx = {0};
    int rc = worker_main(argc, argv, &spec, &ctx);
    assess_batch_free(ctx.batch);
    pgx_close(ctx.peer);
    free(ctx.inputs);
    schema_source_close(ctx.schemas, ctx.registry);
    return rc;
}
