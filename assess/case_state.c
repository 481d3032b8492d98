/*
 * case_state: see case_state.h.
 */
#include "assess/case_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/model/fact_fields.h"
#include "rules/headcount.h"
#include "rules/obligations.h"

void case_state_init(case_state *c, const char *incident_id)
{
    memset(c, 0, sizeof *c);
    snprintf(c->incident_id, sizeof c->incident_id, "%s", incident_id);
    snprintf(c->facts.incident_id, sizeof c->facts.incident_id, "%s", incident_id);
    c->closed_at_ms = RULES_ABSENT;
    c->mandatory_since_ms = RULES_ABSENT;
    c->facts.distinct_persons = RULES_ABSENT;
    c->facts.appi.persons = RULES_ABSENT;
}

void case_state_free(case_state *c)
{
    free(c->clients);
    free(c->extra);
    free(c->scratch);
    free(c->scratch2);
    memset(c, 0, sizeof *c);
}

size_t case_client_find(const case_state *c, const char *client_id, bool *found)
{
    size_t lo = 0, hi = c->n_clients;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->clients[mid].client_id, client_id);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static int grow(case_state *c)
{
    size_t cap = c->cap_clients ? c->cap_clients * 2 : 8;
    rules_client *cl = realloc(c->clients, cap * sizeof *cl);
    if (!cl) return -1;
    c->clients = cl;
    case_client *ex = realloc(c->extra, cap * sizeof *ex);
    if (!ex) return -1;
    c->extra = ex;
    rules_client_verdict *s1 = realloc(c->scratch, cap * sizeof *s1);
    if (!s1) return -1;
    c->scratch = s1;
    rules_client_verdict *s2 = realloc(c->scratch2, cap * sizeof *s2);
    if (!s2) return -1;
    c->scratch2 = s2;
    c->cap_clients = cap;
    return 0;
}

size_t case_client_get(case_state *c, const char *client_id)
{
    bool found;
    size_t i = case_client_find(c, client_id, &found);
    if (found) return i;
    if (c->n_clients == c->cap_clients && grow(c) != 0) return (size_t)-1;
    size_t tail = c->n_clients - i;
    memmove(&c->clients[i + 1], &c->clients[i], tail * sizeof *c->clients);
    memmove(&c->extra[i + 1], &c->extra[i], tail * sizeof *c->extra);
    c->n_clients++;
    rules_client *rc = &c->clients[i];
    memset(rc, 0, sizeof *rc);
    snprintf(rc->client_id, sizeof rc->client_id, "%s", client_id);
    rc->persons_max = RULES_ABSENT;
    rc->contract_notice_hours = RULES_ABSENT;
    c->extra[i] = (case_client){.reported_max = RULES_ABSENT};
    return i;
}

void case_client_refresh(case_state *c, size_t i)
{
    rules_client *rc = &c->clients[i];
    const case_client *x = &c->extra[i];
    rc->persons = rules_client_persons(x->reported, x->tokens);
    rc->persons_max = rules_client_persons_max(x->reported_max, rc->persons);
}

/* One fact of lib/model/fact_fields.h into the core's facts: the plain kinds as they are, the
 * others by hand in case_facts_apply. */
#define CASE_COPY(key, field, bit, kind, vocab, names, core, opened)                               \
    CASE_COPY_##kind(field, bit, core)
#define CASE_COPY_BITS(field, bit, core)                                                           \
    if (present & (bit)) r->core = f->field;
#define CASE_COPY_SYM CASE_COPY_BITS
#define CASE_COPY_BOOL CASE_COPY_BITS
#define CASE_COPY_TIME(field, bit, core)
#define CASE_COPY_TEXT(field, bit, core)
#define CASE_COPY_REPORTER(field, bit, core)
#define CASE_COPY_NOTICE(field, bit, core)

void case_facts_apply(case_state *c, const mni_event_facts *f, unsigned present)
{
    rules_facts *r = &c->facts;
    if (present & MNI_FACT_KNOWN_AT) {
        c->known_at_ms = f->known_at_ms;
        /* The core counts whole seconds; floor so that 23:59:59.9 stays on its day. */
        r->known_at = timefmt_ms_to_s(f->known_at_ms);
    }
    if (present & MNI_FACT_REPORTER) {
        r->role = f->reporter.role;
        r->number_use_entity = f->reporter.number_use_entity;
        r->public_body_system = f->reporter.public_body_system;
        r->body = f->reporter.body;
        r->employees_given = f->reporter.employees_given;
        r->employees = f->reporter.employees;
    }
    if (present & MNI_FACT_NOTICE_2015) {
        r->notice2015_given = f->notice2015_given;
        r->notice2015 = f->notice2015;
    }
    /* The plain facts (BITS, SYM, BOOL) are copied as they are. */
    MNI_FACT_FIELDS(CASE_COPY)
}

static int reject(char *reason, size_t reasonlen, const char *what)
{
    snprintf(reason, reasonlen, "%s", what);
    return 1;
}

/* The facts an exposure event states for its client alone (issue 7): each overrides the
 * incident's for that client's verdict, and stays until another event states it again. */
static void client_facts(rules_client *rc, const mni_event_client_facts *f)
{
    if (!f->present) return;
    if (f->systems_given) {
        rc->systems_given = true;
        rc->systems = f->systems;
    }
    if (f->appi_persons_given) {
        rc->appi_persons_given = true;
        rc->appi_persons = f->appi_persons;
    }
    rc->body = f->body;
}

static void client_exposure(case_state *c, const char *client_id, int64_t persons,
                            int64_t persons_max, int64_t tokens, int64_t hours, bool counted,
                            const mni_event_client_facts *facts)
{
    size_t i = case_client_get(c, client_id);
    if (i == (size_t)-1) return;
    case_client *x = &c->extra[i];
    int64_t before = c->clients[i].persons - x->tokens;
    if (counted) {
        x->reported = persons;
        x->reported_max = persons_max == MNI_EVENT_ABSENT ? RULES_ABSENT : persons_max;
    }
    x->tokens += tokens;
    /* A contract clock, once given, stays until another is given. */
    if (hours != MNI_EVENT_ABSENT) c->clients[i].contract_notice_hours = hours;
    client_facts(&c->clients[i], facts);
    x->dirty = true;
    case_client_refresh(c, i);
    c->untokened += (c->clients[i].persons - x->tokens) - before;
}

int case_fold_event(case_state *c, const mni_event *ev, int64_t new_client_tokens,
                    int64_t new_persons, char *reason, size_t reasonlen)
{
    if (ev->type == MNI_EVENT_INCIDENT_OPENED) {
        if (!c->exists) {
            snprintf(c->tenant, sizeof c->tenant, "%s", ev->tenant);
            c->opened_at_ms = ev->occurred_at_ms;
            c->exists = true;
            c->status = CASE_OPEN;
        }
        /* A second opening of the same incident refines its facts. */
        case_facts_apply(c, &ev->body.opened, MNI_FACT_ALL);
        c->dirty = true;
        return 0;
    }
    if (!c->exists)
        return reject(reason, reasonlen, "unknown_incident: no incident_opened for this id");
    switch (ev->type) {
    case MNI_EVENT_FACTS_UPDATED:
        case_facts_apply(c, &ev->body.facts_updated.facts, ev->body.facts_updated.present);
        c->dirty = true;
        return 0;
    case MNI_EVENT_EXPOSURE_COUNT: {
        const mni_event_exposure_count *b = &ev->body.count;
        if (case_client_get(c, b->client_id) == (size_t)-1)
            return reject(reason, reasonlen, "processing_failed: out of memory for clients");
        client_exposure(c, b->client_id, b->persons, b->persons_max, 0, b->contract_notice_hours,
                        true, &b->client_facts);
        return 0;
    }
    case MNI_EVENT_EXPOSURE_MANIFEST: {
        const mni_event_exposure_manifest *b = &ev->body.manifest;
        if (case_client_get(c, b->client_id) == (size_t)-1)
            return reject(reason, reasonlen, "processing_failed: out of memory for clients");
        client_exposure(c, b->client_id, 0, MNI_EVENT_ABSENT, new_client_tokens,
                        b->contract_notice_hours, false, &b->client_facts);
        c->distinct_tokens += new_persons;
        c->dirty = true;
        return 0;
    }
    case MNI_EVENT_INCIDENT_CLOSED:
        if (c->status == CASE_OPEN) {
            c->status =
                ev->body.closed.reason == MNI_CLOSE_WITHDRAWN ? CASE_WITHDRAWN : CASE_CLOSED;
            c->closed_at_ms = ev->occurred_at_ms;
            c->dirty = true;
        }
        return 0;
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
    case MNI_EVENT_REPORT_FILED:
        return 0; /* recorded by the caller; the case itself does not change */
    default:
        return reject(reason, reasonlen, "unknown_type: not an incident event");
    }
}

static int run_core(case_state *c, rules_verdict *v, rules_client_verdict *clients, char *why,
                    size_t whylen)
{
    c->facts.clients = c->clients;
    c->facts.n_clients = c->n_clients;
    /* Only tokens make a total exact; without any, the core adds the clients' counts. */
    c->facts.distinct_persons =
        c->distinct_tokens > 0 ? c->distinct_tokens + c->untokened : RULES_ABSENT;
    return rules_assess(&c->facts, NULL, v, clients, why, whylen);
}

case_assess_result case_assess(case_state *c, int64_t event_at_ms, rules_verdict *out,
                               int64_t *since, char *why, size_t whylen)
{
    *since = RULES_ABSENT;
    if (run_core(c, out, c->scratch, why, whylen) != 0)
        return c->n_clients == 0 ? CASE_WAITING : CASE_REFUSED;
    *since =
        rules_clock_start(c->mandatory_since_ms, !c->has_prev, c->known_at_ms, event_at_ms, out);
    if (*since == RULES_ABSENT) return CASE_ASSESSED;
    /* The clocks of the reports run from the clock start; the contractor's notice to its
     * clients runs from the knowledge time (the contract and rule Art. 4 speak of the
     * incident, not of when a report item fired). */
    int64_t known = c->facts.known_at;
    c->facts.known_at = timefmt_ms_to_s(*since);
    rules_verdict shifted;
    int rc = run_core(c, &shifted, c->scratch2, why, whylen);
    c->facts.known_at = known;
    if (rc != 0) {
        char inner[256];
        snprintf(inner, sizeof inner, "%s", why);
        snprintf(why, whylen, "clock start refused: %s", inner);
        return CASE_REFUSED;
    }
    for (size_t i = 0; i < c->n_clients; i++)
        c->scratch2[i].notice_due = c->scratch[i].notice_due;
    rules_client_verdict *t = c->scratch;
    c->scratch = c->scratch2;
    c->scratch2 = t;
    shifted.clients = c->scratch;
    *out = shifted;
    return CASE_ASSESSED;
}

static bool ids_equal(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return false;
    return true;
}

static bool act_equal(const rules_act_verdict *a, const rules_act_verdict *b)
{
    return a->status == b->status && a->possible == b->possible &&
           ids_equal(a->fired, a->n_fired, b->fired, b->n_fired);
}

static bool deadlines_equal(const rules_deadlines *a, const rules_deadlines *b)
{
    return a->preliminary_target == b->preliminary_target &&
           a->preliminary_latest == b->preliminary_latest && a->final_due == b->final_due &&
           a->final_days == b->final_days && a->appi_final_due == b->appi_final_due &&
           a->appi_final_days == b->appi_final_days;
}

/* Every field of a client's entry but client_id (compared by index: the arrays move). */
bool case_client_verdict_equal(const rules_client_verdict *a, const rules_client_verdict *b)
{
    return a->headcount == b->headcount && a->headcount_known == b->headcount_known &&
           a->appi_persons == b->appi_persons && a->public_body == b->public_body &&
           a->involved == b->involved && a->notice_due == b->notice_due &&
           a->known_day == b->known_day && act_equal(&a->my_number, &b->my_number) &&
           act_equal(&a->appi, &b->appi) && deadlines_equal(&a->deadlines, &b->deadlines);
}

static bool top_equal(const rules_verdict *a, const rules_verdict *b)
{
    return a->regime == b->regime && a->known_day == b->known_day &&
           act_equal(&a->my_number, &b->my_number) && act_equal(&a->appi, &b->appi) &&
           a->headcount_total == b->headcount_total && a->headcount_known == b->headcount_known &&
           a->appi_persons == b->appi_persons &&
           ids_equal(a->direct.ids, a->direct.n, b->direct.ids, b->direct.n) &&
           ids_equal(a->appi_direct.ids, a->appi_direct.n, b->appi_direct.ids, b->appi_direct.n) &&
           a->preliminary_target == b->preliminary_target &&
           a->preliminary_latest == b->preliminary_latest && a->final_due == b->final_due &&
           a->final_days == b->final_days && a->appi_final_due == b->appi_final_due &&
           a->appi_final_days == b->appi_final_days && a->route == b->route &&
           a->appi_route == b->appi_route && a->principal_notice == b->principal_notice &&
           a->principal_notice_by_self == b->principal_notice_by_self &&
           a->n_clients == b->n_clients;
}

bool case_verdict_changed(const case_state *c, const rules_verdict *v)
{
    if (!c->has_prev || !top_equal(&c->prev, v)) return true;
    for (size_t i = 0; i < v->n_clients; i++)
        if (!c->extra[i].has_prev || !case_client_verdict_equal(&v->clients[i], &c->extra[i].prev))
            return true;
    return false;
}

void case_remember_verdict(case_state *c, const rules_verdict *v)
{
    c->has_prev = true;
    c->prev = *v;
    c->prev.clients = NULL;
    for (size_t i = 0; i < v->n_clients; i++) {
        c->extra[i].prev = v->clients[i];
        c->extra[i].prev.client_id = NULL; /* the arrays move: compare by index only */
        c->extra[i].has_prev = true;
    }
}

void case_checkpoint(const case_state *c, const mni_event *ev, case_undo *u)
{
    memset(u, 0, sizeof *u);
    u->facts = c->facts;
    u->known_at_ms = c->known_at_ms;
    u->distinct_tokens = c->distinct_tokens;
    u->untokened = c->untokened;
    u->dirty = c->dirty;
    u->client = (size_t)-1;
    const char *client_id = ev->type == MNI_EVENT_EXPOSURE_COUNT      ? ev->body.count.client_id
                            : ev->type == MNI_EVENT_EXPOSURE_MANIFEST ? ev->body.manifest.client_id
                                                                      : NULL;
    if (!client_id) return;
    u->client = case_client_find(c, client_id, &u->client_found);
    if (u->client_found) {
        u->client_in = c->clients[u->client];
        u->client_extra = c->extra[u->client];
    }
}

void case_rollback(case_state *c, const case_undo *u)
{
    c->facts = u->facts;
    c->known_at_ms = u->known_at_ms;
    c->distinct_tokens = u->distinct_tokens;
    c->untokened = u->untokened;
    c->dirty = u->dirty;
    if (u->client == (size_t)-1) return;
    size_t i = u->client;
    if (u->client_found) {
        c->clients[i] = u->client_in;
        c->extra[i] = u->client_extra;
    } else if (i < c->n_clients) { /* it was inserted by the event: take it out again */
        size_t tail = c->n_clients - i - 1;
        memmove(&c->clients[i], &c->clients[i + 1], tail * sizeof *c->clients);
        memmove(&c->extra[i], &c->extra[i + 1], tail * sizeof *c->extra);
        c->n_clients--;
    }
}

void case_recount(case_state *c)
{
    c->untokened = 0;
    for (size_t i = 0; i < c->n_clients; i++) {
        case_client_refresh(c, i);
        c->untokened += c->clients[i].persons - c->extra[i].tokens;
    }
}
