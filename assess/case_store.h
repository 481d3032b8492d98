/*
 * case_store: the assess worker's reads and writes of one case in PostgreSQL. Every function
 * runs inside the caller's transaction (the batch's), so an event's effects, its ledger row and
 * the consumer offsets commit together.
 *
 * Headcounts (DESIGN.md "Person tokens"): a client's persons are the larger of the count it
 * reported (exposure_count) and the distinct tokens of its manifests; the incident's distinct
 * total is the distinct tokens across clients (incident_persons) plus, for each client, the
 * persons it counted beyond its tokens. That total is exact when every client sent tokens and
 * an upper bound otherwise, which is the safe side for a threshold of "more than 100". The
 * distinct token count is kept incrementally in cases.distinct_tokens (each merge adds the
 * persons it newly inserted), so re-assessing never re-counts millions of rows.
 */
#ifndef MNI_CASE_STORE_H
#define MNI_CASE_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

typedef struct {
    int exists;
    char status[16];          /* open, closed, withdrawn */
    int version;              /* current case version (0: none stored yet) */
    json_t *facts;            /* owned; NULL when the case does not exist */
    char mandatory_since[40]; /* RFC 3339, "" when never mandatory */
} case_row;

void case_row_free(case_row *row);

/* Creates the session's staging table when missing (cheap; safe to call before every use). */
int case_store_prepare(PGconn *pg, char *err, size_t errlen);
/* Records the event in the ledger; *fresh = 0 when it had been applied already. */
int case_store_claim_event(PGconn *pg, const char *event_id, const char *incident_id,
                           const char *kind, const char *occurred_at, int *fresh, char *err,
                           size_t errlen);
int case_store_load(PGconn *pg, const char *incident_id, case_row *row, char *err, size_t errlen);
/* Creates the case (no-op when it exists). */
int case_store_open(PGconn *pg, const char *incident_id, const char *tenant, const char *opened_at,
                    const json_t *facts, char *err, size_t errlen);
int case_store_set_facts(PGconn *pg, const char *incident_id, const json_t *facts, char *err,
                         size_t errlen);
int case_store_close(PGconn *pg, const char *incident_id, const char *status, const char *closed_at,
                     char *err, size_t errlen);

/* exposure_count: the client's reported count (persons_max and hours may be NULL). */
int case_store_count(PGconn *pg, const char *incident_id, const char *client_id,
                     const char *persons, const char *persons_max, const char *hours, char *err,
                     size_t errlen);
/* exposure_manifest: merges a batch of tokens (64-hex strings) once per batch id; *merged = 0
 * when this batch had been merged before. */
int case_store_manifest(PGconn *pg, const char *incident_id, const char *client_id,
                        const char *batch_id, const char *event_id, const json_t *tokens,
                        const char *hours, int *merged, char *err, size_t errlen);

int case_store_step(PGconn *pg, const char *incident_id, const char *step, const char *completed_at,
                    const char *event_id, char *err, size_t errlen);
/* A filed report: recorded, and the deadline of the same kind (and client) is met. */
int case_store_filing(PGconn *pg, const char *event_id, const char *incident_id, const char *report,
                      const char *client_id, const char *filed_at, const char *reference, char *err,
                      size_t errlen);

/* The stored facts completed with clients[] and distinct_persons from the exposure tables, as
 * `mni assess` input. A new reference. */
json_t *case_store_full_facts(PGconn *pg, const char *incident_id, const json_t *facts, char *err,
                              size_t errlen);
/* The verdict of the latest version (new reference), or NULL with *none = 1 when none. */
json_t *case_store_latest_verdict(PGconn *pg, const char *incident_id, int *none, char *err,
                                  size_t errlen);
/* Appends version `version` with its verdict and updates the case's summary columns. */
int case_store_add_version(PGconn *pg, const char *incident_id, int version, const json_t *verdict,
                           const char *cause_event_id, const char *mandatory_since, char *err,
                           size_t errlen);
/* Upserts a deadline (kind, client) with its due date or instant. */
int case_store_deadline(PGconn *pg, const char *incident_id, const char *client_id,
                        const char *kind, const char *due_date, const char *due_at, char *err,
                        size_t errlen);
/* Queues a task in the outbox (topic: logical name: tasks, assessments); no-op when the task
 * id exists. */
int case_store_outbox(PGconn *pg, const char *task_id, const char *topic, const char *incident_id,
                      const char *client_id, const char *kind, const json_t *payload, char *err,
                      size_t errlen);
/* Appends to the hash-chained audit log. */
int case_store_audit(PGconn *pg, const char *action, const char *incident_id, const char *client_id,
                     const json_t *payload, char *err, size_t errlen);

#endif
