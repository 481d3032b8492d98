/*
 * assess_event: see assess_event.h.
 */
#include "assess/assess_event.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/case_fold.h"
#include "assess/case_store.h"
#include "assess/obligations.h"
#include "common/facts_json.h"
#include "common/log.h"
#include "common/timefmt.h"
#include "common/verdict_json.h"

void assess_task_id(const char *incident_id, const char *kind, const char *client_id, char out[33])
{
    char key[512];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    int n = snprintf(key, sizeof key, "%s|%s|%s", incident_id, kind, client_id ? client_id : "");
    SHA256((const unsigned char *)key, (size_t)n, digest);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A JSON number or null as SQL text (NULL for null); buf holds the digits. */
static const char *jnum(const json_t *obj, const char *key, char *buf, size_t n)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v)) return NULL;
    snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    return buf;
}

/* Runs the core on full facts; NULL with the core's message when they are not assessable. */
static json_t *run_core(const json_t *full, char *why, size_t whylen)
{
    facts_doc doc;
    if (facts_json_from_object(full, &doc, why, whylen) != 0) return NULL;
    rules_client_verdict *clients = calloc(doc.facts.n_clients + 1, sizeof *clients);
    rules_verdict v;
    json_t *out = NULL;
    if (clients && rules_assess(&doc.facts, NULL, &v, clients, why, whylen) == 0)
        out = verdict_json_build(&doc.facts, &v);
    free(clients);
    facts_doc_free(&doc);
    return out;
}

static int is_mandatory(const json_t *verdict)
{
    const char *mn = jstr(json_object_get(verdict, "my_number"), "status");
    const char *appi = jstr(json_object_get(verdict, "appi"), "status");
    return (mn && !strcmp(mn, "mandatory")) || (appi && !strcmp(appi, "mandatory"));
}

/* The later of two RFC 3339 instants (by their instant, not their text). */
static const char *later_of(const char *a, const char *b)
{
    int64_t ma, mb;
    char ignored[64];
    if (timefmt_parse_rfc3339(a, &ma, ignored, sizeof ignored) != 0) return b;
    if (timefmt_parse_rfc3339(b, &mb, ignored, sizeof ignored) != 0) return a;
    return mb > ma ? b : a;
}

static int queue_obligations(PGconn *pg, const char *incident_id, int version,
                             const json_t *verdict, const json_t *previous, char *err,
                             size_t errlen)
{
    static obligation now_set[OBLIGATIONS_MAX], before[OBLIGATIONS_MAX];
    size_t n_now = 0, n_before = 0;
    if (obligations_of(verdict, now_set, OBLIGATIONS_MAX, &n_now) != 0 ||
        (previous && obligations_of(previous, before, OBLIGATIONS_MAX, &n_before) != 0)) {
        snprintf(err, errlen, "case %s: more than %d obligations", incident_id, OBLIGATIONS_MAX);
        return -1;
    }
    for (size_t i = 0; i < n_now; i++) {
        const obligation *o = &now_set[i];
        if ((o->due_date || o->due_at) &&
            case_store_deadline(pg, incident_id, o->client_id, o->kind, o->due_date, o->due_at, err,
                                errlen) != 0)
            return -1;
        if (obligations_contains(before, n_before, o)) continue;
        char task_id[33];
        assess_task_id(incident_id, o->kind, o->client_id, task_id);
        json_t *payload =
            json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:O}", "task_id", task_id, "incident_id",
                      incident_id, "kind", o->kind, "client_id",
                      o->client_id ? json_string(o->client_id) : json_null(), "due_date",
                      o->due_date ? json_string(o->due_date) : json_null(), "due_at",
                      o->due_at ? json_string(o->due_at) : json_null(), "case_version", version,
                      "verdict", verdict);
        int rc = case_store_outbox(pg, task_id, "tasks", incident_id, o->client_id, o->kind,
                                   payload, err, errlen);
        json_decref(payload);
        if (rc != 0) return -1;
    }
    return 0;
}

/* The contractor's notice to its clients runs from the original knowledge time (the contract
 * and Art. 4 speak of the incident, not of when a report item fired), so a later clock start
 * for the reports does not move it. */
static void keep_client_notice_clocks(json_t *verdict, const json_t *unshifted)
{
    const json_t *before = json_object_get(unshifted, "clients");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(verdict, "clients"), i, c)
    {
        json_t *due = json_object_get(json_array_get(before, i), "notice_due");
        if (due) json_object_set(c, "notice_due", due);
    }
}

static assess_outcome reassess(PGconn *pg, const json_t *event, case_row *row, char *reason,
                               size_t reasonlen, char *err, size_t errlen)
{
    const char *incident_id = jstr(event, "incident_id");
    json_t *full = case_store_full_facts(pg, incident_id, row->facts, err, errlen);
    if (!full) return ASSESS_FAILED;
    int none = 0;
    json_t *previous = case_store_latest_verdict(pg, incident_id, &none, err, errlen);
    if (!previous && !none) {
        json_decref(full);
        return ASSESS_FAILED;
    }
    char why[512];
    json_t *verdict = run_core(full, why, sizeof why);
    if (!verdict) {
        /* A contractor's incident before any client's exposure arrived is not assessable yet;
         * any other refusal means this event made the facts impossible: reject it (the caller
         * rolls its effects back and dead-letters it). */
        int waiting = json_array_size(json_object_get(full, "clients")) == 0;
        json_decref(full);
        json_decref(previous);
        if (waiting) {
            log_info("case not assessable yet", LOG_STR("incident_id", incident_id),
                     LOG_STR("reason", why), LOG_END);
            return ASSESS_APPLIED;
        }
        snprintf(reason, reasonlen, "invalid_facts: %s", why);
        return ASSESS_REJECTED;
    }
    /* Clocks start when the case first becomes mandatory: at the knowledge time when its first
     * verdict already is (the event only made it assessable), else when this event arrived. */
    char since[40];
    snprintf(since, sizeof since, "%s", row->mandatory_since);
    if (!since[0] && is_mandatory(verdict)) {
        const char *known = jstr(row->facts, "known_at");
        snprintf(since, sizeof since, "%s",
                 none ? known : later_of(known, jstr(event, "occurred_at")));
    }
    if (since[0]) {
        json_t *unshifted = verdict;
        json_object_set_new(full, "known_at", json_string(since));
        verdict = run_core(full, why, sizeof why);
        if (verdict) keep_client_notice_clocks(verdict, unshifted);
        json_decref(unshifted);
    }
    json_decref(full);
    if (!verdict) {
        snprintf(err, errlen, "case %s: clock start %s refused: %s", incident_id, since, why);
        json_decref(previous);
        return ASSESS_FAILED;
    }

    assess_outcome out = ASSESS_APPLIED;
    if (!previous || !json_equal(previous, verdict)) {
        int version = row->version + 1;
        const char *event_id = jstr(event, "event_id");
        json_t *assessment = json_pack("{s:s, s:i, s:O}", "incident_id", incident_id, "version",
                                       version, "verdict", verdict);
        json_t *audit = json_pack("{s:i, s:O, s:O, s:s}", "version", version, "my_number",
                                  json_object_get(verdict, "my_number"), "route",
                                  json_object_get(verdict, "route"), "cause", event_id);
        char assessment_id[96];
        snprintf(assessment_id, sizeof assessment_id, "A-%s-%d", incident_id, version);
        if (case_store_add_version(pg, incident_id, version, verdict, event_id,
                                   since[0] ? since : NULL, err, errlen) != 0 ||
            queue_obligations(pg, incident_id, version, verdict, previous, err, errlen) != 0 ||
            case_store_outbox(pg, assessment_id, "assessments", incident_id, NULL, "assessment",
                              assessment, err, errlen) != 0 ||
            case_store_audit(pg, "case_version", incident_id, NULL, audit, err, errlen) != 0)
            out = ASSESS_FAILED;
        else
            row->version = version;
        json_decref(assessment);
        json_decref(audit);
    }
    json_decref(previous);
    json_decref(verdict);
    return out;
}

static assess_outcome reject(char *reason, size_t reasonlen, const char *what)
{
    snprintf(reason, reasonlen, "%s", what);
    return ASSESS_REJECTED;
}

/* Applies the event's own effect; the case row is loaded (and locked) first. */
static assess_outcome apply(PGconn *pg, const json_t *event, case_row *row, char *reason,
                            size_t reasonlen, char *err, size_t errlen)
{
    const char *incident_id = jstr(event, "incident_id");
    const char *event_id = jstr(event, "event_id");
    const char *type = jstr(event, "type");
    const char *at = jstr(event, "occurred_at");
    const json_t *body = json_object_get(event, "body");
    char a[24], b[24], c[24];

    if (!strcmp(type, "incident_opened")) {
        if (row->exists) /* a second opening of the same incident refines its facts */
            return case_fold_update(row->facts, body, reason, reasonlen) != 0 ? ASSESS_REJECTED
                   : case_store_set_facts(pg, incident_id, row->facts, err, errlen)
                       ? ASSESS_FAILED
                       : ASSESS_APPLIED;
        json_t *facts = case_fold_opened(incident_id, body, reason, reasonlen);
        if (!facts) return ASSESS_REJECTED;
        int rc = case_store_open(pg, incident_id, jstr(event, "tenant"), at, facts, err, errlen);
        json_decref(facts);
        if (rc != 0 || case_store_load(pg, incident_id, row, err, errlen) != 0)
            return ASSESS_FAILED;
        return ASSESS_APPLIED;
    }
    if (!row->exists)
        return reject(reason, reasonlen, "unknown_incident: no incident_opened for this id");

    int rc = 0, merged;
    if (!strcmp(type, "facts_updated")) {
        if (case_fold_update(row->facts, body, reason, reasonlen) != 0) return ASSESS_REJECTED;
        rc = case_store_set_facts(pg, incident_id, row->facts, err, errlen);
    } else if (!strcmp(type, "exposure_count")) {
        rc = case_store_count(pg, incident_id, jstr(body, "client_id"),
                              jnum(body, "persons", a, sizeof a),
                              jnum(body, "persons_max", b, sizeof b),
                              jnum(body, "contract_notice_hours", c, sizeof c), err, errlen);
    } else if (!strcmp(type, "exposure_manifest")) {
        rc = case_store_manifest(pg, incident_id, jstr(body, "client_id"), jstr(body, "batch_id"),
                                 event_id, json_object_get(body, "tokens"),
                                 jnum(body, "contract_notice_hours", c, sizeof c), &merged, err,
                                 errlen);
    } else if (!strcmp(type, "response_step_completed")) {
        rc = case_store_step(pg, incident_id, jstr(body, "step"), jstr(body, "completed_at"),
                             event_id, err, errlen);
    } else if (!strcmp(type, "report_filed")) {
        rc = case_store_filing(pg, event_id, incident_id, jstr(body, "report"),
                               jstr(body, "client_id"), jstr(body, "filed_at"),
                               jstr(body, "reference") ? jstr(body, "reference") : "", err, errlen);
    } else if (!strcmp(type, "incident_closed")) {
        const char *why = jstr(body, "reason");
        rc = case_store_close(pg, incident_id,
                              why && !strcmp(why, "withdrawn") ? "withdrawn" : "closed", at, err,
                              errlen);
        if (rc == 0) snprintf(row->status, sizeof row->status, "closed");
    } else {
        snprintf(reason, reasonlen, "unknown_type: %s", type);
        return ASSESS_REJECTED;
    }
    return rc ? ASSESS_FAILED : ASSESS_APPLIED;
}

assess_outcome assess_event_apply(PGconn *pg, const json_t *event, char *reason, size_t reasonlen,
                                  char *err, size_t errlen)
{
    const char *incident_id = jstr(event, "incident_id");
    const char *type = jstr(event, "type");
    const char *at = jstr(event, "occurred_at");
    if (!incident_id || !type || !at || !jstr(event, "event_id") ||
        !json_is_object(json_object_get(event, "body")))
        return reject(reason, reasonlen, "malformed: envelope fields missing");
    int fresh = 0;
    if (case_store_claim_event(pg, jstr(event, "event_id"), incident_id, type, at, &fresh, err,
                               errlen) != 0)
        return ASSESS_FAILED;
    if (!fresh) return ASSESS_APPLIED; /* applied before: a replay changes nothing */

    case_row row;
    if (case_store_load(pg, incident_id, &row, err, errlen) != 0) return ASSESS_FAILED;
    assess_outcome out = apply(pg, event, &row, reason, reasonlen, err, errlen);
    /* A closed or withdrawn case keeps its record but owes nothing new. */
    if (out == ASSESS_APPLIED && row.exists && !strcmp(row.status, "open"))
        out = reassess(pg, event, &row, reason, reasonlen, err, errlen);
    case_row_free(&row);
    return out;
}
