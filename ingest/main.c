/*
 * mni-ingest: the gate of the pipeline. Consumes incident events (topic.events), refuses what
 * must not enter, stores what may in event_log and forwards it to topic.accepted.
 *
 * One batch, inside the worker's transaction (worker.h), in four passes over its messages:
 *
 *   1. judge    each message alone (validate.h tests 1-3): decode, raw My Number scan, facts;
 *   2. context  one query for the incidents the batch's updates name (event_store.h), then,
 *               in message order, the known-incident test (validate.h test 4);
 *   3. store    the accepted events, first occurrence of each event id only, with
 *               INSERT ... ON CONFLICT (event_id) DO NOTHING (event_store.h); a later
 *               occurrence in the batch with other content, or an id event_log holds with
 *               other content, is a conflicting_duplicate (validate.h), not a replay;
 *   4. emit     in message order: a refused message goes to topic.dlq with its reason and
 *               origin (worker_dead_letter; redacted for raw_my_number); an accepted one whose
 *               row was new is forwarded to topic.accepted.
 *
 * Forwarding: the ORIGINAL bytes (the writer's schema id and encoding, untouched), keyed by the
 * event's incident id so that an incident stays on one partition downstream, with header
 * mni.event_id (consumers de-duplicate by it). A replayed event (its id already in event_log,
 * or earlier in the same batch) changes nothing and is not forwarded again: assess saw it the
 * first time. worker.h delivers every produced message before COMMIT, so a crash between the
 * two can repeat a forward (the batch is read again and its rows are new again) but never lose
 * one.
 *
 * Another log: a row refused because its origin (topic, partition, log epoch, offset) already
 * holds another event means the partition's log is not the one event_log was read from (a
 * topic or broker recreated, read by a group with no stored offsets to tell; lib/runtime/logcheck.h
 * catches the other cases at assignment). The partition is held (worker_hold_partition) and
 * the batch rolled back, to be read again without it: never a loop on the key, never a skip.
 *
 * Effectively once: the rows, the consumer offsets and (through the flush check before COMMIT)
 * the produced messages belong to one batch; a failure anywhere rolls the batch back and it is
 * read again. Nothing about a batch survives it in this process: the per-batch sets are
 * cleared at the start of every batch, so a rolled-back batch leaves no stale knowledge.
 *
 * Logs: one line per batch with counts; dead letters are logged by worker_dead_letter with
 * reason, detail and origin. Ids and counts only, never text of an event.
 *
 * Ownership: ingest_ctx owns the schema set, one mni_event per batch slot (their arenas are
 * reused from batch to batch), and the per-batch sets and arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/kafka/kq.h"
#include "lib/base/log.h"
#include "lib/runtime/schema_source.h"
#include "lib/runtime/worker.h"
#include "ingest/event_store.h"
#include "lib/base/strset.h"
#include "ingest/validate.h"

#define INGEST_DETAIL_MAX 256

/* One message of the batch being processed. */
typedef struct {
    mni_event ev;
    ingest_verdict verdict;
    char detail[INGEST_DETAIL_MAX];
} ingest_slot;

typedef struct {
    schema_set *schemas;
    registry_client *registry; /* NULL without a schema registry */
    ingest_slot *slots; /* cap_slots entries, each event initialised */
    size_t cap_slots;
    const char **lookup;      /* incident ids to look up (pointers into slots' events) */
    event_store_row *rows;    /* accepted events to insert */
    strset known;       /* incidents with an incident_opened (validate.h test 4) */
    strset seen;        /* event ids accepted so far in this batch */
    strset inserted;    /* event ids the INSERT added */
    strset conflicting; /* event ids event_log holds with other content */
} ingest_ctx;

static int ingest_start(worker *w, void *arg, char *err, size_t errlen)
{
    ingest_ctx *ctx = arg;
    return schema_source_open(worker_config(w), &ctx->schemas, &ctx->registry, err, errlen);
}

/* Makes room for n slots (and the per-batch arrays). The capacity grows only once every
 * array has, so a failure leaves the context consistent. */
static int ingest_reserve(ingest_ctx *ctx, size_t n, char *err, size_t errlen)
{
    if (n <= ctx->cap_slots) return 0;
    const char **lookup = realloc(ctx->lookup, n * sizeof *lookup);
    if (!lookup) goto oom;
    ctx->lookup = lookup;
    event_store_row *rows = realloc(ctx->rows, n * sizeof *rows);
    if (!rows) goto oom;
    ctx->rows = rows;
    /* mni_event may move: its strings live in arena chunks, not in the struct. */
    ingest_slot *slots = realloc(ctx->slots, n * sizeof *slots);
    if (!slots) goto oom;
    ctx->slots = slots;
    for (size_t i = ctx->cap_slots; i < n; i++) {
        memset(&slots[i], 0, sizeof slots[i]);
        mni_event_init(&slots[i].ev);
    }
    ctx->cap_slots = n;
    return 0;
oom:
    snprintf(err, errlen, "ingest: out of memory for a batch of %zu messages", n);
    return -1;
}

/* Whether two decoded events are the same content (a replay), whatever their bytes. */
static int same_content(const mni_event *a, const mni_event *b)
{
    char err[256];
    json_t *ja = mni_event_to_json(a, err, sizeof err), *jb = mni_event_to_json(b, err, sizeof err);
    int same = ja && jb && json_equal(ja, jb);
    json_decref(ja);
    json_decref(jb);
    return same;
}

/* Slot i repeats an event id accepted earlier in the batch: a replay when it is the same event,
 * else conflicting_duplicate (validate.h). */
static void judge_repeat(ingest_ctx *ctx, rd_kafka_message_t **msgs, size_t i)
{
    ingest_slot *s = &ctx->slots[i];
    for (size_t j = i; j-- > 0;) {
        const ingest_slot *f = &ctx->slots[j];
        if (f->verdict != INGEST_ACCEPT || strcmp(f->ev.event_id, s->ev.event_id) != 0) continue;
        if ((msgs[i]->len == msgs[j]->len &&
             (msgs[i]->len == 0 || !memcmp(msgs[i]->payload, msgs[j]->payload, msgs[i]->len))) ||
            same_content(&f->ev, &s->ev))
            return;
        snprintf(s->detail, sizeof s->detail,
                 "event_id: %s came at offset %lld of this partition with other content; the "
                 "first stays",
                 s->ev.event_id, (long long)msgs[j]->offset);
        s->verdict = INGEST_CONFLICTING_DUPLICATE;
        return;
    }
}

/* Forwards an accepted, new event: its original bytes, keyed by incident id. */
static int ingest_forward(worker *w, const rd_kafka_message_t *m, const mni_event *ev, char *err,
                          size_t errlen)
{
    const kq_header headers[] = {{"mni.event_id", ev->event_id, strlen(ev->event_id)}};
    return kq_produce(worker_producer(w), worker_topic(w, "topic.accepted"), ev->incident_id,
                      strlen(ev->incident_id), m->payload, m->len, headers, 1, err, errlen);
}

static int ingest_process(worker *w, void *arg, rd_kafka_message_t **msgs, size_t n, char *err,
                          size_t errlen)
{
    ingest_ctx *ctx = arg;
    size_t n_lookup = 0, n_rows = 0, forwarded = 0, replayed = 0, refused = 0;

    if (ingest_reserve(ctx, n, err, errlen) != 0) return -1;
    strset_clear(&ctx->known);
    strset_clear(&ctx->seen);
    strset_clear(&ctx->inserted);
    strset_clear(&ctx->conflicting);

    /* 1. judge each message alone. */
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        s->verdict = ingest_validate_message(ctx->schemas, msgs[i]->payload, msgs[i]->len, &s->ev,
                                             s->detail, sizeof s->detail);
        if (s->verdict == INGEST_ACCEPT && s->ev.type != MNI_EVENT_INCIDENT_OPENED)
            ctx->lookup[n_lookup++] = s->ev.incident_id;
    }

    /* 2. the known-incident test, in message order. */
    if (event_store_load_opened(worker_pg(w), ctx->lookup, n_lookup, &ctx->known, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        if (s->verdict == INGEST_ACCEPT &&
            ingest_validate_incident(&s->ev, &ctx->known, &s->verdict, s->detail, sizeof s->detail,
                                     err, errlen) != 0)
            return -1;
    }

    /* 3. store the first occurrence of each accepted event id. */
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        if (s->verdict != INGEST_ACCEPT) continue;
        if (strset_contains(&ctx->seen, s->ev.event_id)) {
            judge_repeat(ctx, msgs, i);
            continue;
        }
        if (strset_add(&ctx->seen, s->ev.event_id) != 0) {
            snprintf(err, errlen, "ingest: out of memory");
            return -1;
        }
        ctx->rows[n_rows++] = (event_store_row){
            .ev = &s->ev,
            .src_topic = rd_kafka_topic_name(msgs[i]->rkt),
            .src_partition = msgs[i]->partition,
            .src_epoch = worker_log_epoch(w, msgs[i]->partition),
            .src_offset = msgs[i]->offset,
            .wire_len = msgs[i]->len,
        };
    }
    event_store_clash clash;
    if (event_store_insert(worker_pg(w), ctx->rows, n_rows, &ctx->inserted, &ctx->conflicting,
                           &clash, err, errlen) != 0)
        return -1;
    if (clash.found) {
        /* Another log than event_log was read from: stop the partition, and let the batch be
         * read again without it, rather than retry it forever or drop the event. */
        snprintf(err, errlen,
                 "offset %lld holds event %s, but event_log holds event %s from that offset: the "
                 "topic or broker was recreated",
                 (long long)clash.offset, clash.event_id, clash.stored_id);
        worker_hold_partition(w, clash.partition, err);
        return -1;
    }

    /* 4. dead letters and forwards, in message order. */
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        if (s->verdict != INGEST_ACCEPT) {
            refused++;
            if (worker_dead_letter(w, msgs[i], ingest_verdict_reason(s->verdict), s->detail,
                                   ingest_verdict_dlq_flags(s->verdict), err, errlen) != 0)
                return -1;
            continue;
        }
        /* The first occurrence in the batch takes the id; a later one is a replay, unless
         * event_log holds the id with other content. */
        if (!strset_contains(&ctx->inserted, s->ev.event_id) &&
            strset_take(&ctx->conflicting, s->ev.event_id)) {
            refused++;
            snprintf(s->detail, sizeof s->detail,
                     "event_id: %s is stored with other content; the first stays", s->ev.event_id);
            if (worker_dead_letter(w, msgs[i], "conflicting_duplicate", s->detail, 0, err,
                                   errlen) != 0)
                return -1;
            continue;
        }
        if (!strset_take(&ctx->inserted, s->ev.event_id)) {
            replayed++;
            log_debug("replayed event not forwarded", LOG_STR("event_id", s->ev.event_id),
                      LOG_STR("incident_id", s->ev.incident_id),
                      LOG_INT("partition", msgs[i]->partition), LOG_INT("offset", msgs[i]->offset),
                      LOG_END);
            continue;
        }
        if (ingest_forward(w, msgs[i], &s->ev, err, errlen) != 0) return -1;
        forwarded++;
    }
    worker_outcome(w, "accepted", forwarded);
    worker_outcome(w, "replayed", replayed);
    log_info("batch processed", LOG_UINT("messages", n), LOG_UINT("stored", forwarded),
             LOG_UINT("replayed", replayed), LOG_UINT("dead_letters", refused), LOG_END);
    return 0;
}

int main(int argc, char **argv)
{
    static const worker_spec spec = {
        .component = "ingest",
        .summary = "Consumes incident events, refuses malformed ones, raw My Numbers and updates\n"
                   "of unknown incidents (dead-letter topic), stores the rest in event_log and\n"
                   "forwards them to the accepted topic.",
        .input_topic = "topic.events",
        .start = ingest_start,
        .process = ingest_process,
        .tick = NULL,
    };
    ingest_ctx ctx = {0};
    strset_init(&ctx.known);
    strset_init(&ctx.seen);
    strset_init(&ctx.inserted);
    strset_init(&ctx.conflicting);
    int rc = worker_main(argc, argv, &spec, &ctx);
    for (size_t i = 0; i < ctx.cap_slots; i++)
        mni_event_free(&ctx.slots[i].ev);
    free(ctx.slots);
    free(ctx.lookup);
    free(ctx.rows);
    strset_free(&ctx.known);
    strset_free(&ctx.seen);
    strset_free(&ctx.inserted);
    strset_free(&ctx.conflicting);
    schema_source_close(ctx.schemas, ctx.registry);
    return rc;
}
