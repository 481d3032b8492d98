/*
 * mni-ingest: the gate of the pipeline. Consumes incident events (topic.events), refuses what
 * must not enter, stores what may in event_log and forwards it to topic.accepted.
 *
 * One batch, inside the worker's transaction (worker.h), in four passes over its messages:
 *
 *   1. judge    each message alone (validate.h tests 1-3): decode, raw My Number scan, facts;
 *   2. context  one query for the incidents the batch's updates name (event_store.h), then,
 *               in message order, the known-incident test (validate.h test 4: an update of
 *               an incident not open yet WAITS), then the bound ingest.waiting.max;
 *   3. store    the admitted events, first occurrence of each event id only, with
 *               INSERT ... ON CONFLICT (event_id) DO NOTHING (event_store.h); a later
 *               occurrence in the batch with other content, or an id event_log holds with
 *               other content, is a conflicting_duplicate (validate.h), not a replay;
 *   4. emit     in message order: a refused message goes to topic.dlq with its reason and
 *               origin (worker_dead_letter; redacted for raw_my_number); an accepted one whose
 *               row was new is forwarded to topic.accepted; a waiting one whose row was new is
 *               parked (waiting_store.h), and an incident_opened whose row was new releases
 *               its incident's waiting events right after its own forward.
 *
 * Waiting (issue 8, "Out of order is normal"). Producers are independent systems: a manifest
 * exporter may send before the helpdesk opens the incident. Such an event is valid; it is stored
 * in event_log (so a replay of it is recognised) but assess could not apply it, so instead of
 * being forwarded it waits in PostgreSQL (waiting_events, with its original bytes). When the
 * incident's incident_opened is accepted, it is forwarded and right after it, on the same
 * partition of topic.accepted, every event waiting for that incident, in order of occurred_at
 * (ties: where each was read: log epoch, partition, offset): the order in which things happened
 * at the producers, which is what the rule core's clocks run on (each event's occurred_at is
 * the instant its change is assessed at, e.g. when the 101st person starts the clock), not the
 * order in which independent systems happened to send. Events after the opening are forwarded
 * in arrival order as before. The waiting rows are deleted in the same transaction, so a crash
 * repeats the release (assess de-duplicates by event id) and never loses it. The results do
 * not depend on how batches were cut: an event before its incident's opening in the same batch
 * takes exactly the path it would take across batches (it is released at the opening, never
 * parked and read back). An incident that never opens keeps its events waiting, reported once
 * each after ingest.waiting.warn.after (log, metrics), never dropped; ingest.waiting.max bounds
 * how many may wait in all, beyond which an event is dead-lettered as unknown_incident (to be
 * sent back with `mni dlq replay` later); 0 restores the old behaviour of refusing at once.
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
 * Pacing (lib/runtime/pace_gate.h, on by default for the embedded broker): every forward is
 * counted against the group that reads topic.accepted (pace.group.accepted, mni-assess), and
 * the next batch is not taken while that group has more than pace.limit.bytes unconsumed on any
 * partition of it (worker_set_input_gate: the input is paused, the consumer keeps polling).
 * The forwards of a batch go out inside its transaction, so waiting before the batch is the
 * one safe place; the unconsumed bytes stay within the limit plus one batch's forwards, and
 * whoever produces to topic.events (`mni produce`, paced against this worker) waits in turn.
 *
 * Timed work (tick, at most once a second): events that waited longer than
 * ingest.waiting.warn.after are logged once each (warn) and the gauges mni_waiting_events,
 * mni_waiting_oldest_seconds and mni_waiting_overdue are refreshed (metrics.h).
 *
 * Configuration beyond worker.h's (registered defaults, so MNI_INGEST_WAITING_* override them):
 * ingest.waiting.max (events that may wait in all, default 100000) and
 * ingest.waiting.warn.after (a duration: 90s, 30m, 1h, 2d; default 1h).
 *
 * Logs: one line per batch with counts, one per incident whose waiting events were released;
 * dead letters are logged by worker_dead_letter with reason, detail and origin. Ids and counts
 * only, never text of an event.
 *
 * Ownership: ingest_ctx owns the schema set, one mni_event per batch slot (their arenas are
 * reused from batch to batch), and the per-batch sets and arrays.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest/event_store.h"
#include "ingest/validate.h"
#include "ingest/waiting_store.h"
#include "lib/base/log.h"
#include "lib/base/monoclock.h"
#include "lib/base/strset.h"
#include "lib/kafka/kq.h"
#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/runtime/pace_gate.h"
#include "lib/runtime/schema_source.h"
#include "lib/runtime/worker.h"

#define INGEST_DETAIL_MAX 256

/* One message of the batch being processed. */
typedef struct {
    mni_event ev;
    ingest_verdict verdict;
    bool deferred; /* waiting, new, and released later in this batch at its incident's opening */
    char detail[INGEST_DETAIL_MAX];
} ingest_slot;

typedef struct {
    schema_set *schemas;
    registry_client *registry; /* NULL without a schema registry */
    ingest_slot *slots;        /* cap_slots entries, each event initialised */
    size_t cap_slots;
    const char **lookup;   /* incident ids to look up (pointers into slots' events) */
    event_store_row *rows; /* accepted events to insert */
    size_t *row_slot;      /* the slot of each row */
    size_t *deferred;      /* slots released at their opening in this batch, by incident */
    size_t n_deferred;
    strset known;           /* incidents with an incident_opened (validate.h test 4) */
    strset seen;            /* event ids accepted so far in this batch */
    strset inserted;        /* event ids the INSERT added */
    strset conflicting;     /* event ids event_log holds with other content */
    strset opened_here;     /* incidents whose first incident_opened is in this batch */
    strset releasing;       /* incidents whose incident_opened row this batch inserted */
    waiting_event *parked;  /* new waiting events to park (cap_slots entries) */
    waiting_loaded loaded;  /* stored events waiting for the incidents being released */
    waiting_event *release; /* one incident's release, sorted */
    size_t cap_release;
    const char **released_ids; /* event ids of stored waiting events forwarded */
    size_t n_released_ids, cap_released_ids;
    long long waiting_max;   /* ingest.waiting.max */
    long long warn_after_s;  /* ingest.waiting.warn.after */
    int64_t last_summary_ms; /* monotonic time of the last tick's queries */
    pace_gate *pace;         /* forwards paced against topic.accepted's reader; NULL: off */
} ingest_ctx;

/* "90s", "30m", "1h", "2d" (a bare number is seconds) into seconds; -1 when malformed. */
static long long parse_duration(const char *text)
{
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end == text || n < 0 || n > 100LL * 365 * 86400) return -1;
    long long unit = !*end               ? 1
                     : !strcmp(end, "s") ? 1
                     : !strcmp(end, "m") ? 60
                     : !strcmp(end, "h") ? 3600
                     : !strcmp(end, "d") ? 86400
                                         : -1;
    return unit < 0 ? -1 : n * unit;
}

/* The input gate: room on topic.accepted for the next batch's forwards (pace_gate.h). */
static int ingest_room(worker *w, void *arg)
{
    ingest_ctx *ctx = arg;
    char err[512];
    int room = pace_gate_room(ctx->pace, worker_pg(w), err, sizeof err);
    if (room < 0)
        log_warn("pacing: cannot measure what mni-assess has not read; waiting",
                 LOG_STR("error", err), LOG_END);
    return room > 0;
}

static int ingest_start(worker *w, void *arg, char *err, size_t errlen)
{
    ingest_ctx *ctx = arg;
    const config *cfg = worker_config(w);
    const char *warn = NULL;
    if (config_get_int(cfg, "ingest.waiting.max", 0, 1000000000, &ctx->waiting_max, err, errlen) !=
            0 ||
        config_get_str(cfg, "ingest.waiting.warn.after", &warn, err, errlen) != 0)
        return -1;
    ctx->warn_after_s = parse_duration(warn);
    if (ctx->warn_after_s < 0) {
        snprintf(err, errlen,
                 "ingest.waiting.warn.after = '%s': not a duration (e.g. 90s, 30m, 1h, 2d)", warn);
        return -1;
    }
    if (!ctx->pace) {
        if (pace_gate_open(cfg, "accepted", kq_producer_handle(worker_producer(w)),
                           worker_metrics(w), &ctx->pace, err, errlen) != 0)
            return -1;
        if (ctx->pace) worker_set_input_gate(w, ingest_room, ctx);
    }
    return schema_source_open(cfg, &ctx->schemas, &ctx->registry, err, errlen);
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
    waiting_event *parked = realloc(ctx->parked, n * sizeof *parked);
    if (!parked) goto oom;
    ctx->parked = parked;
    size_t *row_slot = realloc(ctx->row_slot, n * sizeof *row_slot);
    if (!row_slot) goto oom;
    ctx->row_slot = row_slot;
    size_t *deferred = realloc(ctx->deferred, n * sizeof *deferred);
    if (!deferred) goto oom;
    ctx->deferred = deferred;
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
        if (!ingest_verdict_admits(f->verdict) || strcmp(f->ev.event_id, s->ev.event_id) != 0)
            continue;
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

/* Forwards an accepted, new event: its original bytes, keyed by incident id (counted for
 * pacing: key, value and header). */
static int ingest_forward(worker *w, ingest_ctx *ctx, const char *incident_id, const char *event_id,
                          const void *payload, size_t len, char *err, size_t errlen)
{
    const kq_header headers[] = {{"mni.event_id", event_id, strlen(event_id)}};
    if (ctx->pace)
        pace_gate_count(ctx->pace, incident_id, strlen(incident_id),
                        strlen(incident_id) + len + sizeof "mni.event_id" - 1 + strlen(event_id));
    return kq_produce(worker_producer(w), worker_topic(w, "topic.accepted"), incident_id,
                      strlen(incident_id), payload, len, headers, 1, err, errlen);
}

/* Slot i as a waiting event (its strings and bytes borrowed from the batch). */
static waiting_event slot_waiting(worker *w, ingest_ctx *ctx, rd_kafka_message_t **msgs, size_t i)
{
    const mni_event *ev = &ctx->slots[i].ev;
    return (waiting_event){
        .event_id = ev->event_id,
        .incident_id = ev->incident_id,
        .kind = mni_event_sym_name(MNI_SYM_TYPE, (int)ev->type),
        .occurred_at_ms = ev->occurred_at_ms,
        .src_epoch = worker_log_epoch(w, msgs[i]->partition),
        .src_partition = msgs[i]->partition,
        .src_offset = msgs[i]->offset,
        .payload = msgs[i]->payload,
        .len = msgs[i]->len,
    };
}

static int release_push(ingest_ctx *ctx, size_t *n, const waiting_event *e)
{
    if (*n == ctx->cap_release) {
        size_t cap = ctx->cap_release ? 2 * ctx->cap_release : 64;
        waiting_event *grown = realloc(ctx->release, cap * sizeof *grown);
        if (!grown) return -1;
        ctx->release = grown;
        ctx->cap_release = cap;
    }
    ctx->release[(*n)++] = *e;
    return 0;
}

static int released_push(ingest_ctx *ctx, const char *event_id)
{
    if (ctx->n_released_ids == ctx->cap_released_ids) {
        size_t cap = ctx->cap_released_ids ? 2 * ctx->cap_released_ids : 64;
        const char **grown = realloc(ctx->released_ids, cap * sizeof *grown);
        if (!grown) return -1;
        ctx->released_ids = grown;
        ctx->cap_released_ids = cap;
    }
    ctx->released_ids[ctx->n_released_ids++] = event_id;
    return 0;
}

/* Orders ctx->deferred by incident id (byte order), then message order. */
static int deferred_cmp(const void *a, const void *b, void *arg)
{
    const ingest_ctx *ctx = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(ctx->slots[i].ev.incident_id, ctx->slots[j].ev.incident_id);
    return c ? c : (i > j) - (i < j);
}

/* The first index of ctx->deferred whose incident is not below incident_id. */
static size_t deferred_find(const ingest_ctx *ctx, const char *incident_id)
{
    size_t lo = 0, hi = ctx->n_deferred;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ctx->slots[ctx->deferred[mid]].ev.incident_id, incident_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Slot i, an incident_opened just forwarded, releases its incident's waiting events: the stored
 * ones and those earlier in this batch (deferred), merged in release order (waiting_store.h)
 * and forwarded right after it. *count receives how many. */
static int release_waiting(worker *w, ingest_ctx *ctx, rd_kafka_message_t **msgs, size_t i,
                           size_t *count, char *err, size_t errlen)
{
    const char *incident = ctx->slots[i].ev.incident_id;
    size_t n = 0, first = 0;
    for (size_t r = 0, k = waiting_loaded_find(&ctx->loaded, incident, &first); r < k; r++) {
        const waiting_event *e = &ctx->loaded.v[first + r];
        if (release_push(ctx, &n, e) != 0 || released_push(ctx, e->event_id) != 0) goto oom;
    }
    for (size_t d = deferred_find(ctx, incident); d < ctx->n_deferred; d++) {
        size_t j = ctx->deferred[d];
        if (strcmp(ctx->slots[j].ev.incident_id, incident) != 0) break;
        waiting_event e = slot_waiting(w, ctx, msgs, j);
        if (release_push(ctx, &n, &e) != 0) goto oom;
    }
    if (n > 1) qsort(ctx->release, n, sizeof *ctx->release, waiting_event_cmp);
    for (size_t k = 0; k < n; k++) {
        const waiting_event *e = &ctx->release[k];
        if (ingest_forward(w, ctx, e->incident_id, e->event_id, e->payload, e->len, err, errlen) !=
            0)
            return -1;
    }
    *count = n;
    if (n > 0)
        log_info("waiting events released", LOG_STR("incident_id", incident),
                 LOG_STR("opened_by", ctx->slots[i].ev.event_id), LOG_UINT("events", n), LOG_END);
    return 0;
oom:
    snprintf(err, errlen, "ingest: out of memory releasing the events waiting for %s", incident);
    return -1;
}

/* The bound ingest.waiting.max: the waiting events of this batch that would be parked (their
 * incident does not open in the batch), beyond the room left, are refused as unknown_incident,
 * in message order. */
static int bound_waiting(worker *w, ingest_ctx *ctx, size_t n, char *err, size_t errlen)
{
    size_t parking = 0;
    for (size_t i = 0; i < n; i++)
        parking += ctx->slots[i].verdict == INGEST_WAITING &&
                   !strset_contains(&ctx->opened_here, ctx->slots[i].ev.incident_id);
    if (parking == 0) return 0;
    long long waiting = 0;
    if (waiting_store_count(worker_pg(w), &waiting, err, errlen) != 0) return -1;
    long long room = ctx->waiting_max - waiting;
    if (room >= (long long)parking) return 0;
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        if (s->verdict != INGEST_WAITING || strset_contains(&ctx->opened_here, s->ev.incident_id))
            continue;
        if (room > 0) {
            room--;
            continue;
        }
        /* Ids passed the raw My Number scan, so naming the incident is safe. */
        snprintf(s->detail, sizeof s->detail,
                 "incident_id: no incident_opened for %s, and %lld events wait already "
                 "(ingest.waiting.max = %lld)",
                 s->ev.incident_id, waiting, ctx->waiting_max);
        s->verdict = INGEST_UNKNOWN_INCIDENT;
    }
    return 0;
}

static int ingest_process(worker *w, void *arg, rd_kafka_message_t **msgs, size_t n, char *err,
                          size_t errlen)
{
    ingest_ctx *ctx = arg;
    size_t n_lookup = 0, n_rows = 0, n_parked = 0, forwarded = 0, replayed = 0, refused = 0,
           released = 0;

    if (ingest_reserve(ctx, n, err, errlen) != 0) return -1;
    strset_clear(&ctx->known);
    strset_clear(&ctx->seen);
    strset_clear(&ctx->inserted);
    strset_clear(&ctx->conflicting);
    strset_clear(&ctx->opened_here);
    strset_clear(&ctx->releasing);
    ctx->n_released_ids = 0;

    /* 1. judge each message alone. */
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        s->deferred = false;
        s->verdict = ingest_validate_message(ctx->schemas, msgs[i]->payload, msgs[i]->len, &s->ev,
                                             s->detail, sizeof s->detail);
        if (s->verdict == INGEST_ACCEPT && s->ev.type != MNI_EVENT_INCIDENT_OPENED)
            ctx->lookup[n_lookup++] = s->ev.incident_id;
    }

    /* 2. the known-incident test, in message order, then the bound on waiting events. */
    if (event_store_load_opened(worker_pg(w), ctx->lookup, n_lookup, &ctx->known, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        if (s->verdict != INGEST_ACCEPT) continue;
        bool opening = s->ev.type == MNI_EVENT_INCIDENT_OPENED &&
                       !strset_contains(&ctx->known, s->ev.incident_id);
        if (ingest_validate_incident(&s->ev, &ctx->known, &s->verdict, err, errlen) != 0) return -1;
        if (opening && strset_add(&ctx->opened_here, s->ev.incident_id) != 0) {
            snprintf(err, errlen, "ingest: out of memory");
            return -1;
        }
    }
    if (bound_waiting(w, ctx, n, err, errlen) != 0) return -1;

    /* 3. store the first occurrence of each admitted event id. */
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        if (!ingest_verdict_admits(s->verdict)) continue;
        if (strset_contains(&ctx->seen, s->ev.event_id)) {
            judge_repeat(ctx, msgs, i);
            continue;
        }
        if (strset_add(&ctx->seen, s->ev.event_id) != 0) {
            snprintf(err, errlen, "ingest: out of memory");
            return -1;
        }
        ctx->row_slot[n_rows] = i;
        ctx->rows[n_rows++] = (event_store_row){
            .ev = &s->ev,
            .src_topic = rd_kafka_topic_name(msgs[i]->rkt),
            .src_partition = msgs[i]->partition,
            .src_epoch = worker_log_epoch(w, msgs[i]->partition),
            .src_offset = msgs[i]->offset,
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

    /* The incidents this batch opens (their incident_opened row is new) and the events already
     * waiting for them. */
    size_t n_releasing = 0;
    for (size_t i = 0; i < n; i++) {
        const ingest_slot *s = &ctx->slots[i];
        if (s->verdict != INGEST_ACCEPT || s->ev.type != MNI_EVENT_INCIDENT_OPENED ||
            !strset_contains(&ctx->inserted, s->ev.event_id) ||
            strset_contains(&ctx->releasing, s->ev.incident_id))
            continue;
        if (strset_add(&ctx->releasing, s->ev.incident_id) != 0) {
            snprintf(err, errlen, "ingest: out of memory");
            return -1;
        }
        ctx->lookup[n_releasing++] = s->ev.incident_id;
    }
    if (waiting_store_load(worker_pg(w), ctx->lookup, n_releasing, &ctx->loaded, err, errlen) != 0)
        return -1;
    /* The waiting events of those incidents earlier in this batch (first occurrences whose row
     * is new) are released at the opening, never parked. */
    ctx->n_deferred = 0;
    for (size_t k = 0; k < n_rows && n_releasing > 0; k++) {
        ingest_slot *s = &ctx->slots[ctx->row_slot[k]];
        if (s->verdict == INGEST_WAITING && strset_contains(&ctx->inserted, s->ev.event_id) &&
            strset_contains(&ctx->releasing, s->ev.incident_id)) {
            s->deferred = true;
            ctx->deferred[ctx->n_deferred++] = ctx->row_slot[k];
        }
    }
    qsort_r(ctx->deferred, ctx->n_deferred, sizeof *ctx->deferred, deferred_cmp, ctx);

    /* 4. dead letters, forwards, waiting and releases, in message order. */
    for (size_t i = 0; i < n; i++) {
        ingest_slot *s = &ctx->slots[i];
        if (!ingest_verdict_admits(s->verdict)) {
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
        if (s->verdict == INGEST_WAITING) {
            /* Released at its incident's opening later in this batch, or parked. */
            if (!s->deferred) ctx->parked[n_parked++] = slot_waiting(w, ctx, msgs, i);
            continue;
        }
        if (ingest_forward(w, ctx, s->ev.incident_id, s->ev.event_id, msgs[i]->payload,
                           msgs[i]->len, err, errlen) != 0)
            return -1;
        forwarded++;
        if (s->ev.type == MNI_EVENT_INCIDENT_OPENED &&
            strset_take(&ctx->releasing, s->ev.incident_id)) {
            size_t count = 0;
            if (release_waiting(w, ctx, msgs, i, &count, err, errlen) != 0) return -1;
            released += count;
        }
    }
    if (waiting_store_park(worker_pg(w), ctx->parked, n_parked, err, errlen) != 0 ||
        waiting_store_release(worker_pg(w), ctx->released_ids, ctx->n_released_ids, err, errlen) !=
            0)
        return -1;
    waiting_loaded_free(&ctx->loaded);
    /* Released events were accepted before; they are counted now, when they are forwarded. */
    worker_outcome(w, "accepted", forwarded + released);
    worker_outcome(w, "waiting", n_parked);
    worker_outcome(w, "replayed", replayed);
    log_info("batch processed", LOG_UINT("messages", n),
             LOG_UINT("forwarded", forwarded + released), LOG_UINT("waiting", n_parked),
             LOG_UINT("released", released), LOG_UINT("replayed", replayed),
             LOG_UINT("dead_letters", refused), LOG_END);
    return 0;
}

static void report_overdue(void *arg, const char *event_id, const char *incident_id,
                           const char *kind, long long age_s)
{
    const ingest_ctx *ctx = arg;
    log_warn("event waits longer than ingest.waiting.warn.after for its incident to be opened",
             LOG_STR("event_id", event_id), LOG_STR("incident_id", incident_id),
             LOG_STR("kind", kind), LOG_INT("waiting_s", age_s),
             LOG_INT("warn_after_s", ctx->warn_after_s), LOG_END);
}

/* At most once a second: reports events that wait too long (once each) and refreshes the
 * waiting gauges. */
static int ingest_tick(worker *w, void *arg, char *err, size_t errlen)
{
    ingest_ctx *ctx = arg;
    int64_t now_ms = monoclock_ms();
    if (ctx->last_summary_ms != 0 && now_ms - ctx->last_summary_ms < 1000) return 0;
    waiting_summary sum;
    if (waiting_store_overdue(worker_pg(w), ctx->warn_after_s, 100, report_overdue, ctx, err,
                              errlen) != 0 ||
        waiting_store_summary(worker_pg(w), ctx->warn_after_s, &sum, err, errlen) != 0)
        return -1;
    metrics_set_waiting(worker_metrics(w), (uint64_t)sum.events, sum.oldest_age_s,
                        (uint64_t)sum.overdue);
    ctx->last_summary_ms = now_ms;
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const defaults[][2] = {
        {"ingest.waiting.max", "100000"},
        {"ingest.waiting.warn.after", "1h"},
        {NULL, NULL},
    };
    static const worker_spec spec = {
        .component = "ingest",
        .summary = "Consumes incident events, refuses malformed ones and raw My Numbers\n"
                   "(dead-letter topic), stores the rest in event_log and forwards them to the\n"
                   "accepted topic; an event whose incident is not open yet waits in PostgreSQL\n"
                   "and is forwarded right after the incident's opening.",
        .input_topic = "topic.events",
        .defaults = defaults,
        .start = ingest_start,
        .process = ingest_process,
        .tick = ingest_tick,
    };
    ingest_ctx ctx = {0};
    strset_init(&ctx.known);
    strset_init(&ctx.seen);
    strset_init(&ctx.inserted);
    strset_init(&ctx.conflicting);
    strset_init(&ctx.opened_here);
    strset_init(&ctx.releasing);
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
    strset_free(&ctx.opened_here);
    strset_free(&ctx.releasing);
    free(ctx.parked);
    free(ctx.row_slot);
    free(ctx.deferred);
    free(ctx.release);
    free(ctx.released_ids);
    waiting_loaded_free(&ctx.loaded);
    pace_gate_free(ctx.pace);
    schema_source_close(ctx.schemas, ctx.registry);
    return rc;
}
