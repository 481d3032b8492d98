/*
 * case_state: one case in memory while a batch is assessed, and the fold of typed events into
 * it. Pure: no PostgreSQL, no Kafka; batch_store.h loads and writes it, assess_batch.h drives it.
 *
 * What a case holds:
 *   - the base facts of the rule core (rules_facts without clients), folded from
 *     incident_opened and facts_updated bodies; known_at also in milliseconds;
 *   - its clients, sorted by client id (byte order, as PostgreSQL's COLLATE "C"), in parallel
 *     arrays: the core's input (rules_client: the effective persons and maximum), what was
 *     reported (exposure_count persons and maximum, the contract clock), the distinct tokens of
 *     the client's manifests, and the client's entry in the latest stored verdict;
 *   - the distinct persons across clients that tokens identify (distinct_tokens);
 *   - its lifecycle: status, version, the instant its clocks started (mandatory_since).
 *
 * Headcounts (DESIGN.md "Person tokens"): a client's persons are the larger of the count it
 * reported and the distinct tokens of its manifests; its maximum is the reported maximum when
 * that is at least those persons. The distinct total given to the core is the distinct tokens
 * across clients plus, for each client, the persons it counted beyond its tokens
 * (case_state.untokened, kept incrementally); without any token, the core adds the counts.
 *
 * Lifecycle of a case (each edge names the function that performs it):
 *
 *   unknown --case_fold_event(incident_opened)--> open, not yet assessable (no version)
 *   open --case_assess + a differing verdict--> assessed (version n+1)
 *   assessed --rules_clock_start fires--> mandatory since t (fixed for good)
 *   open --case_fold_event(incident_closed)--> closed | withdrawn (owes nothing new)
 *
 * A contractor's case is not assessable until a client's exposure arrives: case_assess
 * reports CASE_WAITING and no version is stored.
 *
 * Ownership: case_state_init/case_state_free pair up; the arrays grow with the clients.
 */
#ifndef MNI_ASSESS_CASE_STATE_H
#define MNI_ASSESS_CASE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/model/events.h"
#include "rules/rules.h"

typedef enum { CASE_OPEN, CASE_CLOSED, CASE_WITHDRAWN } case_status;

/* What a client reported and how many distinct tokens it sent. */
typedef struct {
    int64_t reported;     /* exposure_count persons, 0 when never counted */
    int64_t reported_max; /* exposure_count persons_max, or RULES_ABSENT */
    int64_t tokens;       /* distinct tokens of its manifests */
    bool dirty;           /* the client_exposure row changed in this batch */
    bool has_prev;        /* prev holds the client's entry in the latest stored verdict */
    rules_client_verdict prev;
} case_client;

typedef struct {
    char incident_id[RULES_ID_MAX];
    char tenant[RULES_ID_MAX];
    bool exists; /* opened (stored before this batch, or opened in it) */
    bool stored; /* a cases row existed before this batch */
    bool dirty;  /* the cases row changed in this batch */
    case_status status;
    int64_t opened_at_ms, closed_at_ms; /* closed_at_ms RULES_ABSENT while open */
    int version;
    int64_t known_at_ms;
    rules_facts facts; /* base facts; clients point at the arrays below during case_assess */
    int64_t mandatory_since_ms; /* RULES_ABSENT until the clocks start */
    int64_t distinct_tokens;
    int64_t untokened; /* sum over clients of (persons - tokens) */
    char last_event_id[RULES_ID_MAX];
    /* the summary columns of the latest version */
    int64_t persons_total;
    bool reportable, direct_report;
    /* the latest stored verdict, top level (clients in case_client.prev) */
    bool has_prev;
    rules_verdict prev;
    /* clients, sorted by id */
    size_t n_clients, cap_clients;
    rules_client *clients;
    case_client *extra;
    rules_client_verdict *scratch; /* the core's output for the current run */
    rules_client_verdict *scratch2;
} case_state;

void case_state_init(case_state *c, const char *incident_id);
void case_state_free(case_state *c);

/* The index of client_id, or the index where it would be inserted with *found = false. */
size_t case_client_find(const case_state *c, const char *client_id, bool *found);
/* The client's index, inserted (zero counts) when new; (size_t)-1 when out of memory. */
size_t case_client_get(case_state *c, const char *client_id);
/* Recomputes the core's input of client i from what it reported and its tokens. */
void case_client_refresh(case_state *c, size_t i);

/* Sets base facts from an opened body (all of them) or an update (the present bits). */
void case_facts_apply(case_state *c, const mni_event_facts *f, unsigned present);

/* Applies ev's own effect. new_client_tokens and new_persons are the distinct tokens this
 * manifest adds to its client and to the incident (token_merge.h); ignored for other kinds.
 * 0 applied; 1 rejected with the reason in reason[] (the case is left unchanged). Steps,
 * filings and the ledger are the caller's: they do not live in the case. */
int case_fold_event(case_state *c, const mni_event *ev, int64_t new_client_tokens,
                    int64_t new_persons, char *reason, size_t reasonlen);

typedef enum {
    CASE_ASSESSED = 0, /* *out holds the verdict (clients in c->scratch) */
    CASE_WAITING = 1,  /* not assessable yet: a contractor without clients */
    CASE_REFUSED = 2,  /* the core refused the facts (reason in why) */
} case_assess_result;

/* Runs the rule core on the case as it is, with its clocks started as rules_clock_start says
 * for an event at event_at_ms (the contractor's notice to each client keeps running from the
 * knowledge time). *since receives the clock start (RULES_ABSENT when none). */
case_assess_result case_assess(case_state *c, int64_t event_at_ms, rules_verdict *out,
                               int64_t *since, char *why, size_t whylen);

/* True when two verdicts differ in anything a version records (clients compared by index;
 * a has no client verdicts beyond those in prev / has_prev). */
bool case_verdict_changed(const case_state *c, const rules_verdict *v);
bool case_client_verdict_equal(const rules_client_verdict *a, const rules_client_verdict *b);

/* The part of a case one event can change, to take a refused event back out. */
typedef struct {
    rules_facts facts;
    int64_t known_at_ms, distinct_tokens, untokened;
    bool dirty;
    size_t client; /* the event's client index, or (size_t)-1 */
    bool client_found;
    rules_client client_in;
    case_client client_extra;
} case_undo;

void case_checkpoint(const case_state *c, const mni_event *ev, case_undo *u);
void case_rollback(case_state *c, const case_undo *u);

/* Recomputes every client's core input and the untokened sum (after loading). */
void case_recount(case_state *c);

/* Makes v (clients in c->scratch) the case's latest stored verdict. */
void case_remember_verdict(case_state *c, const rules_verdict *v);

#endif
