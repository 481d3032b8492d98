/*
 * assess_batch: see assess_batch.h.
 */
#include "assess/assess_batch.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assess/batch_store.h"
#include "assess/case_state.h"
#include "assess/token_merge.h"
#include "lib/base/digest.h"
#include "lib/base/log.h"
#include "lib/base/strset.h"
#include "lib/base/timefmt.h"
#include "lib/model/assessment_record.h"
#include "lib/model/events.h"
#include "lib/model/facts_json.h"
#include "lib/model/json_text.h"
#include "lib/model/records.h"
#include "lib/model/task_id.h"
#include "lib/model/verdict_json.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"
#include "rules/obligations.h"

#define NO_CASE ((size_t)-1)
#define NO_ROW ((size_t)-1)
/* Up to this many clients, every version's assessment record is made in assess (emit_version). */
#define ASSESS_RECORD_CLIENTS 16
/* A record buffer larger than this (a large case's record) is not kept for the next batch. */
#define ASSESS_KEEP_RECORD (64 * 1024)

typedef struct {
    assess_outcome out;
    char reason[480];
    size_t case_index;
    bool fresh_manifest; /* its batch id was new: its tokens were merged */
    size_t merge_item;   /* index in ab->merge when fresh_manifest */
} event_info;

typedef struct {
    size_t case_index;
    batch_deadline d;
} tracked_deadline;

struct assess_batch {
    const schema_set *schemas;
    size_t peer_min; /* tokens new to an incident's set from which a peer merges them */
    mni_event *evs;  /* kept across batches: their arenas keep allocation flat */
    event_info *info;
    size_t n, cap;
    case_state *cases;
    size_t n_cases, cap_cases;
    uint32_t *case_slots; /* incident id -> case index + 1 */
    size_t case_mask;
    strset ids;  /* event id -> the index of the message that carries it first */
    bool *track; /* per case: a filing in the batch may meet its deadlines */
    token_merge_item *merge;
    size_t n_merge;
    size_t *claim_event; /* claims row -> event index */
    rowset claims;
    tracked_deadline *dls;
    size_t n_dls, cap_dls;
    batch_writes w;
    bool out_of_memory;     /* a tracked deadline could not be kept */
    wire_buf record;        /* scratch for encoding a task */
    int64_t now_ms;         /* the batch's wall clock: the tasks' created_at */
    size_t *last_event;     /* per case: its last applied event of the batch (scratch); or NULL */
    size_t *assessment_row; /* per case: its outbox row holding an assessment record, or NO_ROW */
    mni_arena *scratch;     /* the run's scratch memory: the worker's batch arena */
};

assess_batch *assess_batch_new(const schema_set *schemas, size_t peer_min)
{
    assess_batch *ab = calloc(1, sizeof *ab);
    if (!ab) return NULL;
    ab->schemas = schemas;
    ab->peer_min = peer_min;
    rowset_init(&ab->claims, 5);
    batch_writes_init(&ab->w);
    wire_buf_init(&ab->record);
    strset_init(&ab->ids);
    return ab;
}

static void free_cases(assess_batch *ab)
{
    for (size_t i = 0; i < ab->n_cases; i++)
        case_state_free(&ab->cases[i]);
    ab->n_cases = 0;
}

void assess_batch_free(assess_batch *ab)
{
    if (!ab) return;
    for (size_t i = 0; i < ab->cap; i++)
        mni_event_free(&ab->evs[i]);
    free_cases(ab);
    free(ab->evs);
    free(ab->info);
    free(ab->cases);
    free(ab->case_slots);
    strset_free(&ab->ids);
    free(ab->track);
    free(ab->merge);
    free(ab->claim_event);
    free(ab->dls);
    rowset_free(&ab->claims);
    batch_writes_free(&ab->w);
    wire_buf_free(&ab->record);
    free(ab);
}

assess_outcome assess_batch_outcome(const assess_batch *ab, size_t i, const char **reason)
{
    if (reason) *reason = ab->info[i].reason;
    return ab->info[i].out;
}

static int reserve(assess_batch *ab, size_t n)
{
    if (n <= ab->cap) return 0;
    mni_event *evs = realloc(ab->evs, n * sizeof *evs);
    if (!evs) return -1;
    ab->evs = evs;
    for (size_t i = ab->cap; i < n; i++)
        mni_event_init(&ab->evs[i]);
    ab->cap = n; /* every slot up to n is initialised, whatever fails below */
    event_info *info = realloc(ab->info, n * sizeof *info);
    case_state *cases = realloc(ab->cases, n * sizeof *cases);
    bool *track = realloc(ab->track, n * sizeof *track);
    token_merge_item *merge = realloc(ab->merge, n * sizeof *merge);
    size_t *claim_event = realloc(ab->claim_event, n * sizeof *claim_event);
    size_t slots = 16;
    while (slots < 2 * n)
        slots <<= 1;
    uint32_t *case_slots = realloc(ab->case_slots, slots * sizeof *case_slots);
    if (info) ab->info = info;
    if (cases) ab->cases = cases;
    if (track) ab->track = track;
    if (merge) ab->merge = merge;
    if (claim_event) ab->claim_event = claim_event;
    if (case_slots) ab->case_slots = case_slots, ab->case_mask = slots - 1;
    if (!info || !cases || !track || !merge || !claim_event || !case_slots) {
        ab->cap = 0; /* force a retry of every allocation next time */
        for (size_t i = 0; i < n; i++)
            mni_event_free(&ab->evs[i]);
        return -1;
    }
    return 0;
}

/* ---- the case map: incident id -> index in ab->cases ---- */

static size_t case_find(void *ctx, const char *incident_id)
{
    assess_batch *ab = ctx;
    for (size_t s = strset_hash(incident_id) & ab->case_mask;; s = (s + 1) & ab->case_mask) {
        uint32_t o = ab->case_slots[s];
        if (o == 0) return NO_CASE;
        if (!strcmp(ab->cases[o - 1].incident_id, incident_id)) return o - 1;
    }
}

static size_t case_add(assess_batch *ab, const char *incident_id)
{
    size_t s = strset_hash(incident_id) & ab->case_mask;
    for (;; s = (s + 1) & ab->case_mask) {
        uint32_t o = ab->case_slots[s];
        if (o == 0) break;
        if (!strcmp(ab->cases[o - 1].incident_id, incident_id)) return o - 1;
    }
    size_t i = ab->n_cases++;
    case_state_init(&ab->cases[i], incident_id);
    ab->track[i] = false;
    ab->case_slots[s] = (uint32_t)(i + 1);
    return i;
}

/* ---- phases before the fold ---- */

static void mark_seen(void *ctx, const char *event_id)
{
    assess_batch *ab = ctx;
    size_t i;
    if (strset_get(&ab->ids, event_id, &i) && ab->info[i].out == ASSESS_APPLIED)
        ab->info[i].out = ASSESS_SKIPPED;
}

/* Decodes every message and drops replays: ids seen earlier in the batch or applied before. */
static int decode_and_dedup(assess_batch *ab, PGconn *pg, const assess_input *in, char *err,
                            size_t errlen)
{
    json_t *ids = json_array();
    strset_clear(&ab->ids);
    for (size_t i = 0; i < ab->n; i++) {
        event_info *info = &ab->info[i];
        memset(info, 0, sizeof *info);
        info->case_index = NO_CASE;
        if (mni_event_decode(ab->schemas, in[i].data, in[i].len, &ab->evs[i], info->reason,
                             sizeof info->reason) != 0) {
            info->out = ASSESS_UNDECODABLE;
            continue;
        }
        bool first = false;
        if (strset_put(&ab->ids, ab->evs[i].event_id, i, &first) != 0) {
            json_decref(ids);
            snprintf(err, errlen, "assess: out of memory for the batch's event ids");
            return -1;
        }
        info->out = first ? ASSESS_APPLIED : ASSESS_SKIPPED;
        if (first) json_array_append_new(ids, json_string(ab->evs[i].event_id));
    }
    int rc = 0;
    if (json_array_size(ids) > 0) {
        char *text = json_text_compact(ids);
        rc = batch_store_seen(pg, text, mark_seen, ab, err, errlen);
        free(text);
    }
    json_decref(ids);
    return rc;
}

static void add_deadline(void *ctx, const char *incident_id, const batch_deadline *d)
{
    assess_batch *ab = ctx;
    size_t c = case_find(ab, incident_id);
    if (c == NO_CASE) return;
    if (ab->n_dls == ab->cap_dls) {
        size_t cap = ab->cap_dls ? ab->cap_dls * 2 : 64;
        tracked_deadline *grown = realloc(ab->dls, cap * sizeof *grown);
        if (!grown) {
            ab->out_of_memory = true; /* assess_batch_run fails the batch */
            return;
        }
        ab->dls = grown;
        ab->cap_dls = cap;
    }
    ab->dls[ab->n_dls++] = (tracked_deadline){c, *d};
}

/* Builds the case map and loads the cases, and the deadlines of cases with a filing. */
static int load(assess_batch *ab, PGconn *pg, char *err, size_t errlen)
{
    free_cases(ab);
    memset(ab->case_slots, 0, (ab->case_mask + 1) * sizeof *ab->case_slots);
    ab->n_dls = 0;
    for (size_t i = 0; i < ab->n; i++)
        if (ab->info[i].out == ASSESS_APPLIED || ab->info[i].out == ASSESS_REJECTED)
            ab->info[i].case_index = case_add(ab, ab->evs[i].incident_id);
    if (ab->n_cases == 0) return 0;
    if (batch_store_load(pg, ab->cases, ab->n_cases, case_find, ab, err, errlen) != 0) return -1;
    /* The rule core is deterministic: the latest stored verdict is what it says now. */
    for (size_t c = 0; c < ab->n_cases; c++) {
        case_state *cs = &ab->cases[c];
        rules_verdict v;
        int64_t since;
        char why[256];
        if (cs->version > 0 &&
            case_assess(cs, cs->known_at_ms, &v, &since, why, sizeof why) == CASE_ASSESSED)
            case_remember_verdict(cs, &v);
    }
    json_t *ids = json_array();
    for (size_t i = 0; i < ab->n; i++)
        if (ab->info[i].out == ASSESS_APPLIED && ab->evs[i].type == MNI_EVENT_REPORT_FILED &&
            !ab->track[ab->info[i].case_index]) {
            ab->track[ab->info[i].case_index] = true;
            json_array_append_new(ids, json_string(ab->evs[i].incident_id));
        }
    int rc = 0;
    if (json_array_size(ids) > 0) {
        char *text = json_text_compact(ids);
        rc = batch_store_deadlines(pg, text, add_deadline, ab, err, errlen);
        free(text);
    }
    json_decref(ids);
    return rc;
}

static void claim_fresh(void *ctx, size_t row)
{
    assess_batch *ab = ctx;
    ab->info[ab->claim_event[row]].fresh_manifest = true;
}

/* Claims the batch ids of the manifests whose incident will exist when they apply, and merges
 * the tokens of those that are new. */
static int merge(assess_batch *ab, PGconn *pg, PGconn *peer, char *err, size_t errlen)
{
    ab->n_merge = 0;
    rowset_clear(&ab->claims);
    bool *opened = arena_array(ab->scratch, ab->n_cases + 1, sizeof *opened);
    uint64_t *key = arena_array(ab->scratch, ab->n + 1, sizeof *key);
    if (!opened || !key) {
        snprintf(err, errlen, "assess: out of memory for the batch's manifests");
        return -1;
    }
    for (size_t c = 0; c < ab->n_cases; c++)
        opened[c] = ab->cases[c].exists;
    for (size_t i = 0; i < ab->n; i++) {
        event_info *info = &ab->info[i];
        info->fresh_manifest = false;
        if (info->out != ASSESS_APPLIED) continue;
        const mni_event *ev = &ab->evs[i];
        if (ev->type == MNI_EVENT_INCIDENT_OPENED) opened[info->case_index] = true;
        if (ev->type != MNI_EVENT_EXPOSURE_MANIFEST || !opened[info->case_index]) continue;
        /* A batch id sent twice within the batch counts at its first appearance only. */
        const mni_event_exposure_manifest *m = &ev->body.manifest;
        key[i] = strset_hash(ev->incident_id) ^ (strset_hash(m->client_id) * 31) ^
                 (strset_hash(m->batch_id) * 131);
        bool dup = false;
        for (size_t r = 0; r < ab->claims.n_rows && !dup; r++) {
            size_t j = ab->claim_event[r];
            const mni_event_exposure_manifest *o = &ab->evs[j].body.manifest;
            dup = key[j] == key[i] && !strcmp(ab->evs[j].incident_id, ev->incident_id) &&
                  !strcmp(o->client_id, m->client_id) && !strcmp(o->batch_id, m->batch_id);
        }
        if (dup) continue;
        char count[24];
        snprintf(count, sizeof count, "%zu", m->n_tokens);
        const char *row[] = {ev->incident_id, m->client_id, m->batch_id, ev->event_id, count};
        ab->claim_event[ab->claims.n_rows] = i;
        rowset_add(&ab->claims, row);
    }
    if (batch_store_claim(pg, &ab->claims, claim_fresh, ab, err, errlen) != 0) return -1;
    for (size_t i = 0; i < ab->n; i++)
        if (ab->info[i].fresh_manifest) {
            ab->info[i].merge_item = ab->n_merge;
            ab->merge[ab->n_merge++] =
                (token_merge_item){.ev = &ab->evs[i], .case_index = ab->info[i].case_index};
        }
    return token_merge(pg, peer, ab->peer_min, ab->merge, ab->n_merge, err, errlen);
}

/* ---- the fold ---- */

static const char *fmt_ms(int64_t ms, char out[32])
{
    if (ms == RULES_ABSENT) return NULL;
    timefmt_format_utc_ms(ms, out);
    return out;
}

static const char *fmt_day(int32_t day, char out[11])
{
    if (day == RULES_ABSENT) return NULL;
    jpcal_format(day, out);
    return out;
}

static const char *fmt_jst(int64_t secs, char out[32])
{
    if (secs == RULES_ABSENT) return NULL;
    timefmt_format_jst(secs, out);
    return out;
}

static void add_json_row(rowset *rs, const char **row, int json_col, json_t *doc)
{
    char *text = json_text_compact(doc);
    row[json_col] = text;
    rowset_add(rs, row);
    free(text);
    json_decref(doc);
}

static tracked_deadline *find_deadline(assess_batch *ab, size_t c, const char *kind,
                                       const char *client_id)
{
    for (size_t i = 0; i < ab->n_dls; i++)
        if (ab->dls[i].case_index == c && !strcmp(ab->dls[i].d.kind, kind) &&
            !strcmp(ab->dls[i].d.client_id, client_id ? client_id : ""))
            return &ab->dls[i];
    return NULL;
}

/* ab->record as bytea text ("\\x" and hex, in the batch's scratch arena), or NULL. */
static char *record_text(assess_batch *ab)
{
    char *hex = arena_alloc(ab->scratch, 2 * ab->record.len + 3);
    if (!hex) return NULL;
    memcpy(hex, "\\x", 2);
    digest_hex(ab->record.data, ab->record.len, hex + 2);
    return hex;
}

/* The task's Kafka message, ready to send, as bytea text ("\\x" and hex, in the batch's
 * scratch arena); NULL when it cannot be encoded (the relay then encodes it from the payload, and
 * says why if it fails). */
static char *task_record(assess_batch *ab, const char *task_id, const char *incident_id,
                         const char *client_id, rules_obligation_kind kind, const char *due_date,
                         const char *due_at, int version, const char *payload_text)
{
    outbox_task t = {
        .task_id = task_id,
        .incident_id = incident_id,
        .client_id = client_id,
        .kind = rules_obligation_kind_name(kind),
        .due_date = due_date,
        .due_at = due_at,
        .case_version = version,
        .created_ms = ab->now_ms,
        .payload_json = payload_text,
    };
    char why[256];
    if (outbox_task_encode(ab->schemas, &t, &ab->record, why, sizeof why) != 0) return NULL;
    return record_text(ab);
}

/* The CaseAssessment record of case c's new version, ready to send, as task_record gives it:
 * abridged when the whole verdict would not fit a message (lib/model/assessment_record.h);
 * NULL when it cannot be encoded (the relay then puts the verdict back together itself, with
 * case_verdict(), or marks the row failed, saying why). The facts are those the verdict was
 * assessed from (the case as it is). */
static char *assessment_record(assess_batch *ab, const case_state *cs, const rules_verdict *v,
                               int version)
{
    char why[512];
    assessment_record_info info;
    if (assessment_record_make(ab->schemas, cs->incident_id, version, ab->now_ms, &cs->facts, v,
                               &ab->record, &info, why, sizeof why) != 0) {
        log_warn("assessment record not encodable; the relay will try from the verdict",
                 LOG_STR("incident_id", cs->incident_id), LOG_INT("version", version),
                 LOG_STR("error", why), LOG_END);
        return NULL;
    }
    if (info.abridged)
        log_info("assessment record abridged to fit a message",
                 LOG_STR("incident_id", cs->incident_id), LOG_INT("version", version),
                 LOG_INT("clients_total", (long long)info.clients_total),
                 LOG_INT("clients_listed", (long long)info.clients_listed), LOG_END);
    return record_text(ab);
}

/* One obligation of a new version: a task the first time it appears, a deadline row when its
 * due is new or moved. */
static void emit_obligation(assess_batch *ab, size_t seq, size_t c, int version,
                            const rules_obligation *now, const rules_obligation *before,
                            const char *client_id)
{
    case_state *cs = &ab->cases[c];
    const char *kind = rules_obligation_kind_name(now->kind);
    char day[11], at[32];
    const char *due_date = fmt_day(now->due_day, day), *due_at = fmt_jst(now->due_at, at);
    if (!before) {
        char task_id[33];
        mni_task_id(cs->incident_id, kind, client_id, task_id);
        json_t *payload =
            json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i}", "task_id", task_id, "incident_id",
                      cs->incident_id, "kind", kind, "client_id",
                      client_id ? json_string(client_id) : json_null(), "due_date",
                      due_date ? json_string(due_date) : json_null(), "due_at",
                      due_at ? json_string(due_at) : json_null(), "case_version", version);
        char *payload_text = json_text_compact(payload);
        json_decref(payload);
        char *record = task_record(ab, task_id, cs->incident_id, client_id, now->kind, due_date,
                                   due_at, version, payload_text);
        const char *row[] = {task_id, "tasks",      cs->incident_id, client_id,
                             kind,    payload_text, record};
        rowset_add(&ab->w.outbox, row);
        free(payload_text);
    }
    bool moved = !before || before->due_day != now->due_day || before->due_at != now->due_at;
    if ((!due_date && !due_at) || !moved) return;
    char s[24];
    snprintf(s, sizeof s, "%zu", seq);
    const char *row[] = {s, cs->incident_id, client_id, kind, due_date, due_at};
    rowset_add(&ab->w.deadlines, row);
    if (ab->track[c] && !find_deadline(ab, c, kind, client_id)) {
        batch_deadline d = {0};
        snprintf(d.kind, sizeof d.kind, "%s", kind);
        snprintf(d.client_id, sizeof d.client_id, "%s", client_id ? client_id : "");
        add_deadline(ab, cs->incident_id, &d);
    }
}

static const rules_obligation *find_kind(const rules_obligation *set, size_t n,
                                         rules_obligation_kind k)
{
    for (size_t i = 0; i < n; i++)
        if (set[i].kind == k) return &set[i];
    return NULL;
}

/* The rule ids that fired under both acts as a text[] literal ("{MN-2-4,APPI-7-1}"); rule ids
 * are [A-Z0-9-] only, so no quoting is needed. */
static void rules_literal(const rules_verdict *v, char *out, size_t len)
{
    const rules_act_verdict *acts[] = {&v->my_number, &v->appi};
    size_t n = (size_t)snprintf(out, len, "{");
    for (size_t a = 0; a < 2; a++)
        for (size_t i = 0; i < acts[a]->n_fired && n < len; i++)
            n += (size_t)snprintf(out + n, len - n, "%s%s", n > 1 ? "," : "", acts[a]->fired[i]);
    if (n < len) snprintf(out + n, len - n, "}");
}

/* The case's facts as cases.facts and each case version keep them: the `mni assess` input
 * without clients (their counts are in the client verdicts) and with known_at in UTC. */
static json_t *facts_document(const case_state *cs)
{
    rules_facts f = cs->facts;
    f.clients = NULL;
    f.n_clients = 0;
    f.distinct_persons = RULES_ABSENT;
    f.appi.persons = RULES_ABSENT;
    json_t *doc = facts_json_build(&f);
    json_object_del(doc, "clients");
    char at[32];
    timefmt_format_utc_ms(cs->known_at_ms, at);
    json_object_set_new(doc, "known_at", json_string(at));
    return doc;
}

/* A new version of case c caused by event seq: the verdict, the client entries that changed,
 * the obligations, the assessments record and the audit row. */
static void emit_version(assess_batch *ab, size_t seq, size_t c, const rules_verdict *v,
                         int64_t since)
{
    case_state *cs = &ab->cases[c];
    const mni_event *ev = &ab->evs[seq];
    int version = ++cs->version;
    char vtext[16];
    snprintf(vtext, sizeof vtext, "%d", version);

    char rules[512];
    rules_literal(v, rules, sizeof rules);
    /* The version keeps the facts it was assessed from: notify renders its documents from
     * them, whatever later events change (migration 0075). */
    json_t *facts = facts_document(cs);
    char *facts_text = json_text_compact(facts);
    json_decref(facts);
    const char *vrow[] = {cs->incident_id, vtext, NULL, rules, ev->event_id, facts_text};
    add_json_row(&ab->w.versions, vrow, 2, verdict_json_case(&cs->facts, v));
    free(facts_text);

    for (size_t i = 0; i < v->n_clients; i++) {
        const case_client *x = &cs->extra[i];
        if (x->has_prev && case_client_verdict_equal(&v->clients[i], &x->prev)) continue;
        const char *crow[] = {cs->incident_id, cs->clients[i].client_id, vtext, NULL};
        add_json_row(&ab->w.client_verdicts, crow, 3, verdict_json_client(&v->clients[i]));
        rules_obligation now, before;
        bool had = x->has_prev && rules_client_obligation(&x->prev, &before);
        if (rules_client_obligation(&v->clients[i], &now))
            emit_obligation(ab, seq, c, version, &now, had ? &before : NULL,
                            cs->clients[i].client_id);
    }
    rules_obligation now[RULES_CASE_OBLIGATIONS_MAX], before[RULES_CASE_OBLIGATIONS_MAX];
    size_t n_now = rules_case_obligations(v, now);
    size_t n_before = cs->has_prev ? rules_case_obligations(&cs->prev, before) : 0;
    for (size_t k = 0; k < n_now; k++)
        emit_obligation(ab, seq, c, version, &now[k], find_kind(before, n_before, now[k].kind),
                        NULL);

    char assessment_id[RULES_ID_MAX + 32];
    snprintf(assessment_id, sizeof assessment_id, "A-%s-%d", cs->incident_id, version);
    /* Only the newest version of a case reaches the compacted topic (the relay passes over
     * older ones in the same claim), so only the newest of the batch keeps a record: made at
     * every version of a small case, the one before dropped; for a large case only at its last
     * event of the batch, so that its versions do not each cost its clients. A row left
     * without one gets its record from the relay (case_verdict()). */
    const char *record = NULL;
    if (ab->last_event && (ab->last_event[c] == seq || v->n_clients <= ASSESS_RECORD_CLIENTS))
        record = assessment_record(ab, cs, v, version);
    if (record && ab->assessment_row[c] != NO_ROW)
        rowset_set_null(&ab->w.outbox, ab->assessment_row[c], 6);
    if (ab->last_event) ab->assessment_row[c] = record ? ab->w.outbox.n_rows : NO_ROW;
    const char *arow[] = {assessment_id, "assessments", cs->incident_id, NULL,
                          "assessment",  NULL,          record};
    add_json_row(&ab->w.outbox, arow, 5,
                 json_pack("{s:s, s:i}", "incident_id", cs->incident_id, "version", version));
    json_t *mn_rules = json_array();
    for (size_t i = 0; i < v->my_number.n_fired; i++)
        json_array_append_new(mn_rules, json_string(v->my_number.fired[i]));
    const char *urow[] = {"mni-assess", "case_version", cs->incident_id, NULL, NULL};
    add_json_row(&ab->w.audit, urow, 4,
                 json_pack("{s:i, s:{s:s, s:o}, s:s, s:s}", "version", version, "my_number",
                           "status", rules_status_name(v->my_number.status), "rules", mn_rules,
                           "route", rules_route_name(v->route), "cause", ev->event_id));

    if (cs->mandatory_since_ms == RULES_ABSENT) cs->mandatory_since_ms = since;
    cs->persons_total = v->headcount_total;
    cs->reportable = rules_is_mandatory(v);
    cs->direct_report = v->route == RULES_ROUTE_DIRECT_REPORT;
    snprintf(cs->last_event_id, sizeof cs->last_event_id, "%s", ev->event_id);
    case_remember_verdict(cs, v);
    cs->dirty = true;
}

/* What the event records beside its case: a completed step, a filing and the deadline it
 * meets. */
static void record_side_rows(assess_batch *ab, size_t seq, size_t c)
{
    const mni_event *ev = &ab->evs[seq];
    char s[24], at[32];
    snprintf(s, sizeof s, "%zu", seq);
    if (ev->type == MNI_EVENT_RESPONSE_STEP_COMPLETED) {
        const char *row[] = {s, ev->incident_id,
                             mni_event_sym_name(MNI_SYM_STEP, (int)ev->body.step.step),
                             fmt_ms(ev->body.step.completed_at_ms, at), ev->event_id};
        rowset_add(&ab->w.steps, row);
    } else if (ev->type == MNI_EVENT_REPORT_FILED) {
        const mni_event_report_filed *f = &ev->body.report;
        const char *report = mni_event_sym_name(MNI_SYM_REPORT, (int)f->report);
        const char *filed_at = fmt_ms(f->filed_at_ms, at);
        const char *row[] = {ev->event_id, ev->incident_id, report,
                             f->client_id, filed_at,        f->reference ? f->reference : ""};
        rowset_add(&ab->w.filings, row);
        /* A filed report meets the open deadline of the same kind (and client). */
        tracked_deadline *d = find_deadline(ab, c, report, f->client_id);
        if (d && !d->d.met) {
            d->d.met = true;
            const char *mrow[] = {ev->incident_id, f->client_id, report, filed_at};
            rowset_add(&ab->w.meets, mrow);
        }
    }
}

/* Every applied event changes its case: it is recorded in case_events and, as evidence, in
 * the audit chain (one row per event, so the chain is the same however the events were
 * batched). The ledger row carries the version current after the event and the texts it
 * carries (notify renders a version's title and description from these, migration 0075). */
static void record_event(assess_batch *ab, size_t seq, const case_state *cs)
{
    static const char *const status_names[] = {"open", "closed", "withdrawn"};
    const mni_event *ev = &ab->evs[seq];
    const char *kind = mni_event_sym_name(MNI_SYM_TYPE, (int)ev->type);
    char at[32], version[16];
    snprintf(version, sizeof version, "%d", cs->version);
    const char *title = NULL, *description = NULL;
    if (ev->type == MNI_EVENT_INCIDENT_OPENED) {
        title = ev->body.opened.title;
        description = ev->body.opened.description;
    } else if (ev->type == MNI_EVENT_FACTS_UPDATED) {
        unsigned present = ev->body.facts_updated.present;
        if (present & MNI_FACT_TITLE) title = ev->body.facts_updated.facts.title;
        if (present & MNI_FACT_DESCRIPTION) description = ev->body.facts_updated.facts.description;
    }
    const char *row[] = {ev->event_id, ev->incident_id, kind,       fmt_ms(ev->occurred_at_ms, at),
                         version,      title,           description};
    rowset_add(&ab->w.events, row);
    const char *arow[] = {"mni-assess", "event_applied", ev->incident_id, mni_event_client_id(ev),
                          NULL};
    add_json_row(&ab->w.audit, arow, 4,
                 json_pack("{s:s, s:s, s:i, s:s}", "event_id", ev->event_id, "kind", kind,
                           "version", cs->version, "status", status_names[cs->status]));
}

/* Folds every applied event in order. Returns 1 when a manifest whose tokens were merged got
 * rejected (the caller merges again without it), else 0. */
static int fold(assess_batch *ab)
{
    batch_writes_clear(&ab->w);
    ab->last_event = arena_alloc(ab->scratch, (ab->n_cases + 1) * sizeof *ab->last_event);
    ab->assessment_row = arena_alloc(ab->scratch, (ab->n_cases + 1) * sizeof *ab->assessment_row);
    if (!ab->assessment_row) ab->last_event = NULL; /* no records: the relay makes them */
    for (size_t c = 0; ab->last_event && c < ab->n_cases; c++)
        ab->last_event[c] = ab->assessment_row[c] = NO_ROW;
    for (size_t i = 0; ab->last_event && i < ab->n; i++)
        if (ab->info[i].out == ASSESS_APPLIED) ab->last_event[ab->info[i].case_index] = i;
    for (size_t i = 0; i < ab->n; i++) {
        event_info *info = &ab->info[i];
        if (info->out != ASSESS_APPLIED) continue;
        const mni_event *ev = &ab->evs[i];
        size_t c = info->case_index;
        case_state *cs = &ab->cases[c];
        case_undo undo;
        case_checkpoint(cs, ev, &undo);
        int64_t new_client = 0, new_persons = 0;
        if (info->fresh_manifest) {
            new_client = ab->merge[info->merge_item].new_client;
            new_persons = ab->merge[info->merge_item].new_persons;
        }
        int rc = 0;
        /* A manifest sent before counts once: the repeat applies nothing. */
        if (ev->type != MNI_EVENT_EXPOSURE_MANIFEST || info->fresh_manifest || !cs->exists)
            rc =
                case_fold_event(cs, ev, new_client, new_persons, info->reason, sizeof info->reason);
        if (rc != 0) {
            info->out = ASSESS_REJECTED;
            continue;
        }
        /* A closed or withdrawn case keeps its record but owes nothing new. */
        if (cs->status == CASE_OPEN) {
            rules_verdict v;
            int64_t since;
            char why[400];
            case_assess_result r = case_assess(cs, ev->occurred_at_ms, &v, &since, why, sizeof why);
            if (r == CASE_REFUSED) {
                /* This event made the facts impossible: it is undone and dead-lettered. */
                case_rollback(cs, &undo);
                snprintf(info->reason, sizeof info->reason, "invalid_facts: %s", why);
                info->out = ASSESS_REJECTED;
                if (info->fresh_manifest) return 1;
                continue;
            }
            if (r == CASE_ASSESSED && case_verdict_changed(cs, &v))
                emit_version(ab, i, c, &v, since);
        }
        record_side_rows(ab, i, c);
        record_event(ab, i, cs);
    }
    return 0;
}

/* ---- the rows of the cases ---- */

static void case_rows(assess_batch *ab)
{
    static const char *const status_names[] = {"open", "closed", "withdrawn"};
    for (size_t c = 0; c < ab->n_cases; c++) {
        const case_state *cs = &ab->cases[c];
        if (!cs->exists) continue;
        if (cs->dirty) {
            char opened[32], known[32], closed[32], since[32], version[16], total[24], tokens[24];
            snprintf(version, sizeof version, "%d", cs->version);
            snprintf(total, sizeof total, "%lld", (long long)cs->persons_total);
            snprintf(tokens, sizeof tokens, "%lld", (long long)cs->distinct_tokens);
            const char *row[] = {cs->incident_id,
                                 cs->tenant,
                                 fmt_ms(cs->opened_at_ms, opened),
                                 fmt_ms(cs->known_at_ms, known),
                                 status_names[cs->status],
                                 fmt_ms(cs->closed_at_ms, closed),
                                 version,
                                 NULL,
                                 total,
                                 cs->reportable ? "t" : "f",
                                 cs->direct_report ? "t" : "f",
                                 fmt_ms(cs->mandatory_since_ms, since),
                                 tokens,
                                 cs->last_event_id[0] ? cs->last_event_id : NULL};
            add_json_row(&ab->w.cases, row, 7, facts_document(cs));
        }
        for (size_t k = 0; k < cs->n_clients; k++) {
            const case_client *x = &cs->extra[k];
            if (!x->dirty) continue;
            const rules_client *rc = &cs->clients[k];
            char persons[24], max[24], tokens[24], hours[24], systems[16], appi[24];
            snprintf(persons, sizeof persons, "%lld", (long long)x->reported);
            snprintf(max, sizeof max, "%lld", (long long)x->reported_max);
            snprintf(tokens, sizeof tokens, "%lld", (long long)x->tokens);
            snprintf(hours, sizeof hours, "%lld", (long long)rc->contract_notice_hours);
            snprintf(systems, sizeof systems, "%u", rc->systems);
            snprintf(appi, sizeof appi, "%lld", (long long)rc->appi_persons);
            const char *row[] = {cs->incident_id,
                                 rc->client_id,
                                 persons,
                                 x->reported_max == RULES_ABSENT ? NULL : max,
                                 tokens,
                                 rc->contract_notice_hours == RULES_ABSENT ? NULL : hours,
                                 rc->systems_given ? systems : NULL,
                                 rc->appi_persons_given ? appi : NULL,
                                 rc->body.public_body ? "t" : "f",
                                 rc->body.local_government ? "t" : "f",
                                 rc->body.ordinance_sensitive ? "t" : "f"};
            rowset_add(&ab->w.exposure, row);
        }
    }
}

/* What only this batch needed: its cases (loaded again by the next batch that names them; a
 * case holds ~1 KB per client) and a record buffer grown for a large case. */
static void release_batch(assess_batch *ab)
{
    free_cases(ab);
    if (ab->record.cap > ASSESS_KEEP_RECORD) {
        wire_buf_free(&ab->record);
        wire_buf_init(&ab->record);
    }
}

/* The persons a refused manifest added in a peer's transaction: removed (token_merge.h). */
static int forget_refused(assess_batch *ab, PGconn *pg, char *err, size_t errlen)
{
    for (size_t i = 0; i < ab->n; i++)
        if (ab->info[i].out == ASSESS_REJECTED && ab->info[i].fresh_manifest &&
            token_merge_forget(pg, &ab->evs[i], err, errlen) != 0)
            return -1;
    return 0;
}

int assess_batch_forget(assess_batch *ab, PGconn *pg, const assess_input *in, char *err,
                        size_t errlen)
{
    mni_event ev;
    mni_event_init(&ev);
    char why[256];
    if (mni_event_decode(ab->schemas, in->data, in->len, &ev, why, sizeof why) != 0)
        return 0; /* not an event: never merged */
    int rc = token_merge_forget(pg, &ev, err, errlen);
    mni_event_free(&ev);
    return rc;
}

int assess_batch_run(assess_batch *ab, PGconn *pg, PGconn *peer, mni_arena *scratch,
                     const assess_input *in, size_t n, char *err, size_t errlen)
{
    ab->n = 0;
    ab->scratch = scratch;
    if (n == 0) return 0;
    if (reserve(ab, n) != 0) {
        snprintf(err, errlen, "assess: out of memory for a batch of %zu", n);
        return -1;
    }
    ab->n = n;
    ab->out_of_memory = false;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ab->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (batch_store_prepare(pg, err, errlen) != 0 || decode_and_dedup(ab, pg, in, err, errlen) != 0)
        return -1;
    bool manifests = false;
    for (size_t i = 0; i < n; i++)
        manifests |=
            ab->info[i].out == ASSESS_APPLIED && ab->evs[i].type == MNI_EVENT_EXPOSURE_MANIFEST;
    if (manifests && pgx_exec(pg, "assess.savepoint", "SAVEPOINT assess_merge", err, errlen) != 0)
        return -1;
    for (;;) {
        if (load(ab, pg, err, errlen) != 0) return -1;
        if (manifests && merge(ab, pg, peer, err, errlen) != 0) return -1;
        if (fold(ab) == 0) break;
        /* A merged manifest was refused: merge again without it, and without the peer, which
         * would wait for the deletions of forget_refused (token_merge.h). */
        if (pgx_exec(pg, "assess.retry", "ROLLBACK TO SAVEPOINT assess_merge", err, errlen) != 0 ||
            forget_refused(ab, pg, err, errlen) != 0)
            return -1;
        peer = NULL;
    }
    if (ab->out_of_memory) {
        snprintf(err, errlen, "assess: out of memory for the batch's deadlines");
        return -1;
    }
    case_rows(ab);
    int rc = batch_store_write(pg, &ab->w, err, errlen);
    release_batch(ab);
    return rc;
}
