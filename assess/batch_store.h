/*
 * batch_store: the assess worker's reads and writes of PostgreSQL, a few set-based statements
 * per batch instead of a dozen per event (DESIGN.md "Set-based per batch, typed per event").
 * Every function runs inside the caller's transaction (the batch's), so a batch's effects and
 * its consumer offsets commit together.
 *
 * Reads, one round trip each:
 *   batch_store_seen        which event ids of the batch were applied before (case_events)
 *   batch_store_load        the batch's cases (locked FOR UPDATE) and their clients' exposure
 *   batch_store_deadlines   the deadlines of the cases a filing of the batch may meet
 *   batch_store_claim       which manifests' batch ids are new (exposure_batches): a manifest
 *                           counts once, however often it is sent
 * Writes (batch_store_write): COPY into session-local staging tables, then one statement per
 * table (an upsert, or an insert for the client-owned append-only tables, client verdicts and
 * filings, whose row-level security refuses COPY); the outbox rows and the audit rows go in
 * through their one writers from staging (outbox_enqueue_staged, audit_append_staged); the
 * versions and the ledger (case_events) take a COPY directly.
 */
#ifndef MNI_ASSESS_BATCH_STORE_H
#define MNI_ASSESS_BATCH_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "assess/case_state.h"
#include "assess/rowset.h"

/* Creates the staging tables when missing (a reconnect drops session-local tables). */
int batch_store_prepare(PGconn *pg, char *err, size_t errlen);

/* ids_json: a JSON array of event ids. Calls seen(ctx, event_id) for each one applied before. */
int batch_store_seen(PGconn *pg, const char *ids_json, void (*seen)(void *ctx, const char *id),
                     void *ctx, char *err, size_t errlen);

/* Loads each case of cases[0..n) that is stored (by incident id), with its clients. Cases not
 * stored are left as case_state_init made them. */
int batch_store_load(PGconn *pg, case_state *cases, size_t n,
                     size_t (*find)(void *ctx, const char *incident_id), void *ctx, char *err,
                     size_t errlen);

/* A deadline row a filing may meet. */
typedef struct {
    char kind[24];
    char client_id[64]; /* "" for the case's own */
    bool met;
} batch_deadline;

/* Calls add(ctx, incident_id, &deadline) for each deadline of the incidents in ids_json. */
int batch_store_deadlines(PGconn *pg, const char *ids_json,
                          void (*add)(void *ctx, const char *incident_id, const batch_deadline *d),
                          void *ctx, char *err, size_t errlen);

/* rows: (incident_id, client_id, batch_id, event_id, tokens). Calls fresh(ctx, row) for each
 * row whose (incident, client, batch id) was not merged before. */
int batch_store_claim(PGconn *pg, const rowset *rows, void (*fresh)(void *ctx, size_t row),
                      void *ctx, char *err, size_t errlen);

/* What a batch writes; every rowset's columns are listed next to it. */
typedef struct {
    rowset cases;    /* incident_id, tenant, opened_at, known_at, status, closed_at, version,
                        facts, persons_total, reportable, direct_report, mandatory_since,
                        distinct_tokens, last_event_id */
    rowset exposure; /* incident_id, client_id, persons, persons_max, token_count, hours,
                        systems, appi_persons, public_body, local_government,
                        ordinance_sensitive */
    rowset versions; /* incident_id, version, verdict, rules (text[] literal), cause_event_id,
                        facts */
    rowset client_verdicts; /* incident_id, client_id, version, entry */
    rowset deadlines;       /* seq, incident_id, client_id, kind, due_date, due_at */
    rowset meets;           /* incident_id, client_id, kind, met_at */
    rowset steps;           /* seq, incident_id, step, completed_at, event_id */
    rowset filings;         /* event_id, incident_id, report, client_id, filed_at, reference */
    rowset outbox;          /* task_id, topic, incident_id, client_id, kind, payload, record */
    rowset audit;           /* actor, action, incident_id, client_id, payload */
    rowset events;          /* event_id, incident_id, kind, occurred_at, version_after, title,
                              description */
} batch_writes;

void batch_writes_init(batch_writes *w);
void batch_writes_clear(batch_writes *w);
void batch_writes_free(batch_writes *w);

int batch_store_write(PGconn *pg, const batch_writes *w, char *err, size_t errlen);

#endif
