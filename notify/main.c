/*
 * mni-notify: consumes the tasks the assess worker (and this worker's sweeper) queue, renders
 * the documents each task calls for (notify/render/render.h), stores them as deliveries with their
 * digests, opens a ticket per task, and keeps deadlines moving with reminders and escalations.
 * The loop is worker.h's: one transaction per batch with the consumer offsets.
 *
 *   process  decode every message of the batch (undecodable, or a payload that is not a JSON
 *            object: dead letter `malformed`), then, behind a savepoint, the whole batch
 *            set-wise (notify_batch.h: one seen check, the snapshots grouped by incident and
 *            version, rendering in memory, deliveries/tickets/outbox rows staged with COPY and
 *            inserted with one statement per table). Should PostgreSQL refuse any of it, back
 *            to the savepoint and task by task (notify_task_handle, notify_task.h), where a bad
 *            task costs only itself. Either way, per task: handled before -> nothing; no such
 *            case -> dead letter `unknown_incident`; a task its documents cannot be made from
 *            -> dead letter `malformed`; else deliveries, ticket + outbox row, audit rows, the
 *            same rows in the same order on both paths. The batch's audit rows are appended
 *            last, in one statement (lib/runtime/audit.h).
 *   tick     the sweeper (sweeper.h) in its own transaction, then the outbox relay for every
 *            unpublished row (the tickets this worker opened, the reminders and escalations
 *            it queued, and whatever else waits), then tickets whose outbox row is published
 *            move from open to published, each with its audit row, in one transaction
 *            (notify_store_tickets_published).
 *
 *            Then, with notify.webhook.url set, one webhook pass (webhook.h): tickets due are
 *            POSTed, retried with backoff, delivered or failed.
 *
 * Configuration beyond worker.h's (defaults registered through worker_spec.defaults, so
 * MNI_NOTIFY_* overrides them): notify.remind_before_hours (default 24), notify.clock (RFC
 * 3339; empty = the PostgreSQL server's now()), and the webhook's notify.webhook.url (empty:
 * off), .auth_token, .secret, .ca_file, .timeout_ms (5000), .max_attempts (8), .backoff_ms
 * (1000), .backoff_max_ms (300000), .batch (32).
 *
 * Logs: ids, kinds, channels and counts; never a document, a title or a description.
 */
#include <curl/curl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/arena.h"
#include "lib/base/log.h"
#include "lib/base/timefmt.h"
#include "lib/model/records.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"
#include "lib/runtime/schema_source.h"
#include "lib/runtime/worker.h"
#include "lib/serdes/schema_set.h"
#include "notify/notify_batch.h"
#include "notify/notify_store.h"
#include "notify/notify_task.h"
#include "notify/sweeper.h"
#include "notify/webhook.h"

#define NOTIFY_RELAY_BATCH 500
#define NOTIFY_SWEEP_BATCH 500
#define NOTIFY_REMIND_DEFAULT 24

typedef struct {
    schema_set *schemas;
    registry_client *registry; /* NULL without a schema registry */
    json_t *audit;             /* the batch's audit rows */
    sweeper_config sweep;
    char clock[64];
    webhook_config webhook;
    outbox_pace *pace; /* the tick's relay paced (outbox_pace.h); NULL: not paced */
} notify_ctx;

static const char *nonempty(const config *cfg, const char *key)
{
    const char *v = config_get(cfg, key);
    return v && *v ? v : NULL;
}

/* notify.webhook.* (webhook.h). */
static int notify_read_webhook(const config *cfg, webhook_config *wh, char *err, size_t errlen)
{
    long long batch = 0;
    wh->url = nonempty(cfg, "notify.webhook.url");
    wh->auth_token = nonempty(cfg, "notify.webhook.auth_token");
    wh->secret = nonempty(cfg, "notify.webhook.secret");
    wh->ca_file = nonempty(cfg, "notify.webhook.ca_file");
    if (config_get_int(cfg, "notify.webhook.timeout_ms", 100, 600000, &wh->timeout_ms, err,
                       errlen) != 0 ||
        config_get_int(cfg, "notify.webhook.max_attempts", 1, 1000, &wh->max_attempts, err,
                       errlen) != 0 ||
        config_get_int(cfg, "notify.webhook.backoff_ms", 1, 86400000, &wh->backoff_ms, err,
                       errlen) != 0 ||
        config_get_int(cfg, "notify.webhook.backoff_max_ms", 1, 7 * 86400000LL, &wh->backoff_max_ms,
                       err, errlen) != 0 ||
        config_get_int(cfg, "notify.webhook.batch", 1, 1000, &batch, err, errlen) != 0)
        return -1;
    wh->batch = (int)batch;
    if (wh->url && strncmp(wh->url, "http://", 7) != 0 && strncmp(wh->url, "https://", 8) != 0) {
        snprintf(err, errlen, "notify.webhook.url (%s): must start with http:// or https://",
                 config_source(cfg, "notify.webhook.url"));
        return -1;
    }
    for (const char *p = wh->auth_token; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            snprintf(err, errlen, "notify.webhook.auth_token (%s): holds a control character",
                     config_source(cfg, "notify.webhook.auth_token"));
            return -1;
        }
    if (wh->backoff_max_ms < wh->backoff_ms) {
        snprintf(err, errlen,
                 "notify.webhook.backoff_max_ms: must be >= notify.webhook.backoff_ms "
                 "(%lld < %lld)",
                 wh->backoff_max_ms, wh->backoff_ms);
        return -1;
    }
    if (wh->url) {
        /* The host only: the URL may hold credentials. */
        char host[256] = "?";
        const char *h = strstr(wh->url, "://") + 3, *at = strchr(h, '@'), *end;
        if (at && at < h + strcspn(h, "/?#")) h = at + 1;
        end = h + strcspn(h, "/?#");
        snprintf(host, sizeof host, "%.*s", (int)(end - h), h);
        log_info("webhook on", LOG_STR("host", host), LOG_INT("max_attempts", wh->max_attempts),
                 LOG_INT("timeout_ms", wh->timeout_ms), LOG_BOOL("signed", wh->secret != NULL),
                 LOG_END);
    }
    return 0;
}

/* notify.* keys. Each has its default registered through worker_spec.defaults (main), so each
 * is set; the values assigned first only stand until read. */
static int notify_read_config(const config *cfg, notify_ctx *ctx, char *err, size_t errlen)
{
    ctx->sweep.remind_before_hours = NOTIFY_REMIND_DEFAULT;
    ctx->sweep.batch = NOTIFY_SWEEP_BATCH;
    ctx->sweep.clock = NULL;
    if (config_get(cfg, "notify.remind_before_hours") &&
        config_get_int(cfg, "notify.remind_before_hours", 0, 24 * 365,
                       &ctx->sweep.remind_before_hours, err, errlen) != 0)
        return -1;
    const char *clock = config_get(cfg, "notify.clock");
    if (clock && *clock) {
        int64_t ms;
        char why[128];
        if (timefmt_parse_rfc3339(clock, &ms, why, sizeof why) != 0 ||
            strlen(clock) >= sizeof ctx->clock) {
            snprintf(err, errlen, "notify.clock = '%s' (%s): %s", clock,
                     config_source(cfg, "notify.clock"), why);
            return -1;
        }
        snprintf(ctx->clock, sizeof ctx->clock, "%s", clock);
        ctx->sweep.clock = ctx->clock;
        log_warn("notify.clock is set: deadlines are swept as of a fixed time",
                 LOG_STR("clock", clock), LOG_END);
    }
    return notify_read_webhook(cfg, &ctx->webhook, err, errlen);
}

static int notify_start(worker *w, void *arg, char *err, size_t errlen)
{
    notify_ctx *ctx = arg;
    if (notify_read_config(worker_config(w), ctx, err, errlen) != 0 ||
        schema_source_open(worker_config(w), &ctx->schemas, &ctx->registry, err, errlen) != 0)
        return -1;
    ctx->sweep.schemas = ctx->schemas;
    if (!ctx->pace && outbox_pace_open(worker_config(w), kq_producer_handle(worker_producer(w)),
                                       worker_metrics(w), &ctx->pace, err, errlen) != 0)
        return -1;
    ctx->audit = json_array();
    if (!ctx->audit) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    log_info("notify configured", LOG_INT("remind_before_hours", ctx->sweep.remind_before_hours),
             LOG_BOOL("fixed_clock", ctx->sweep.clock != NULL), LOG_END);
    return 0;
}

static int notify_dead_letter(worker *w, const rd_kafka_message_t *m, const char *reason,
                              const char *why, char *err, size_t errlen)
{
    return worker_dead_letter(w, m, reason, why, 0, err, errlen);
}

/* The outcome of a task: counted, or dead-lettered. */
static int notify_outcome(worker *w, const rd_kafka_message_t *m, notify_task_outcome out,
                          const char *why, size_t counts[3], char *err, size_t errlen)
{
    switch (out) {
    case NOTIFY_TASK_DONE:
        counts[0]++;
        return 0;
    case NOTIFY_TASK_DUPLICATE:
        counts[1]++;
        return 0;
    case NOTIFY_TASK_MALFORMED:
    case NOTIFY_TASK_UNKNOWN_CASE:
        counts[2]++;
        return notify_dead_letter(w, m,
                                  out == NOTIFY_TASK_MALFORMED ? "malformed" : "unknown_incident",
                                  why, err, errlen);
    case NOTIFY_TASK_FAILED:
        break;
    }
    return -1;
}

/* Decodes message m into *it (the batch arena holds the strings until the batch ends). */
static void notify_decode(notify_ctx *ctx, mni_arena *arena, const rd_kafka_message_t *m,
                          notify_batch_item *it)
{
    memset(it, 0, sizeof *it);
    if (records_notify_task_decode(ctx->schemas, m->payload, m->len, arena, &it->task, it->why,
                                   sizeof it->why) != 0)
        return;
    json_error_t jerr;
    it->payload = json_loads(it->task.payload_json, 0, &jerr);
    if (!json_is_object(it->payload)) {
        json_decref(it->payload);
        it->payload = NULL;
        snprintf(it->why, sizeof it->why, "payload_json: not a JSON object (task %s)",
                 it->task.task_id);
        return;
    }
    it->decoded = 1;
}

/* The batch task by task (notify_task_handle): when the set-based path failed. */
static int notify_one_by_one(worker *w, notify_ctx *ctx, rd_kafka_message_t **msgs,
                             notify_batch_item *items, size_t n, size_t counts[3], char *err,
                             size_t errlen)
{
    PGconn *pg = worker_pg(w);
    for (size_t i = 0; i < n; i++) {
        notify_batch_item *it = &items[i];
        notify_task_outcome out = NOTIFY_TASK_MALFORMED;
        if (it->decoded)
            out = notify_task_handle(pg, ctx->schemas, &it->task, it->payload,
                                     ctx->webhook.url != NULL, ctx->audit, it->why, sizeof it->why,
                                     err, errlen);
        if (notify_outcome(w, msgs[i], out, it->why, counts, err, errlen) != 0) return -1;
    }
    return 0;
}

static int notify_process(worker *w, void *arg, rd_kafka_message_t **msgs, size_t n, char *err,
                          size_t errlen)
{
    notify_ctx *ctx = arg;
    PGconn *pg = worker_pg(w);
    json_array_clear(ctx->audit); /* a rolled-back batch leaves nothing behind */
    size_t counts[3] = {0, 0, 0}; /* rendered, duplicates, dead letters */
    notify_batch_item *items = calloc(n + 1, sizeof *items);
    if (!items) {
        snprintf(err, errlen, "notify: out of memory for a batch of %zu", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        notify_decode(ctx, worker_batch_arena(w), msgs[i], &items[i]);
    int rc = pgx_exec(pg, "notify.savepoint", "SAVEPOINT notify_batch", err, errlen);
    if (rc == 0 && notify_batch_handle(pg, ctx->schemas, items, n, ctx->webhook.url != NULL,
                                       ctx->audit, err, errlen) != 0) {
        /* Set-wise failed in PostgreSQL: task by task, where a bad task costs only itself. */
        log_warn("batch falls back to one task at a time", LOG_UINT("messages", n),
                 LOG_STR("error", err), LOG_END);
        json_array_clear(ctx->audit);
        rc = pgx_exec(pg, "notify.rollback_savepoint", "ROLLBACK TO SAVEPOINT notify_batch", err,
                      errlen);
        if (rc == 0) rc = notify_one_by_one(w, ctx, msgs, items, n, counts, err, errlen);
    } else {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = notify_outcome(w, msgs[i],
                                items[i].decoded ? items[i].outcome : NOTIFY_TASK_MALFORMED,
                                items[i].why, counts, err, errlen);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(items[i].payload);
    free(items);
    if (rc != 0 || notify_audit_flush(pg, ctx->audit, err, errlen) != 0) return -1;
    worker_outcome(w, "rendered", counts[0]);
    worker_outcome(w, "duplicate", counts[1]);
    log_info("batch handled", LOG_UINT("messages", n), LOG_UINT("rendered", counts[0]),
             LOG_UINT("duplicates", counts[1]), LOG_UINT("dead_letters", counts[2]), LOG_END);
    return 0;
}

static int notify_tick(worker *w, void *arg, char *err, size_t errlen)
{
    notify_ctx *ctx = arg;
    PGconn *pg = worker_pg(w);
    long reminders = 0, escalations = 0, relayed = 0, failed = 0;
    long long published = 0;
    if (sweeper_run(pg, &ctx->sweep, &reminders, &escalations, err, errlen) != 0) return -1;
    if (outbox_relay_paced(pg, worker_producer(w), worker_config(w), ctx->schemas, ctx->pace,
                           NOTIFY_RELAY_BATCH, &relayed, &failed, err, errlen) != 0)
        return -1;
    worker_count(w, METRICS_OUTBOX_RELAYED, (uint64_t)relayed);
    worker_count(w, METRICS_OUTBOX_FAILED, (uint64_t)failed);
    /* Whichever relay sent a ticket's row (this one, or another worker's), the ticket is
     * published once its row is; each publication is a delivery, audited and signed. */
    if (pgx_begin(pg, err, errlen) != 0 ||
        notify_store_tickets_published(pg, &published, err, errlen) != 0 ||
        pgx_commit(pg, err, errlen) != 0)
        return -1;
    if (relayed > 0 || published > 0)
        log_info("outbox relayed", LOG_INT("rows", relayed),
                 LOG_INT("tickets_published", published), LOG_END);
    webhook_counts wc;
    if (webhook_run(pg, &ctx->webhook, &wc, err, errlen) != 0) return -1;
    if (wc.sent > 0)
        log_info("webhook pass", LOG_INT("sent", wc.sent), LOG_INT("delivered", wc.delivered),
                 LOG_INT("retried", wc.retried), LOG_INT("failed", wc.failed), LOG_END);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const defaults[][2] = {
        {"notify.remind_before_hours", "24"},
        {"notify.clock", ""},       /* empty: PostgreSQL's now() */
        {"notify.webhook.url", ""}, /* empty: no webhook */
        {"notify.webhook.auth_token", ""},
        {"notify.webhook.secret", ""},
        {"notify.webhook.ca_file", ""},
        {"notify.webhook.timeout_ms", "5000"},
        {"notify.webhook.max_attempts", "8"},
        {"notify.webhook.backoff_ms", "1000"},
        {"notify.webhook.backoff_max_ms", "300000"},
        {"notify.webhook.batch", "32"},
        {NULL, NULL},
    };
    static const worker_spec spec = {
        .component = "notify",
        .summary = "Consumes notify tasks, renders the PPC report drafts, client notices, notices\n"
                   "to the persons and publication texts, opens tickets, and sweeps deadlines\n"
                   "for reminders and escalations.",
        .input_topic = "topic.tasks",
        .defaults = defaults,
        .start = notify_start,
        .process = notify_process,
        .tick = notify_tick,
        .gauges = WORKER_GAUGE_OUTBOX | WORKER_GAUGE_DEADLINES,
    };
    notify_ctx ctx = {0};
    /* No fastbins in glibc's allocator. A batch of renderings frees thousands of small blocks
     * (jansson's values) and then allocates or frees a large one (a document's text, the
     * batch's arrays), and each such call first merges every small block freed since
     * (malloc_consolidate and its unlink_chunk: 26% of mni-notify's CPU in W3, the allocator
     * 41%, perf). Without fastbins a small block goes back to the thread cache or merges as it
     * is freed: 0.74-0.81 of the CPU for the same work (bench/README.md, "The allocator's
     * fastbins"). mni-ingest and mni-assess showed no gain. */
    mallopt(M_MXFAST, 0);
    /* Before any thread exists: libcurl's global state (TLS) is set up once per process. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "mni-notify: libcurl cannot be initialised\n");
        return 1;
    }
    int rc = worker_main(argc, argv, &spec, &ctx);
    curl_global_cleanup();
    json_decref(ctx.audit);
    outbox_pace_free(ctx.pace);
    schema_source_close(ctx.schemas, ctx.registry);
    return rc;
}
