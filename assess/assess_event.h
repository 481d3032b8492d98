/*
 * assess_event: applies one incident event (in its JSON form: event_id, incident_id, tenant,
 * occurred_at, type, body) to its case and re-assesses the case, inside the caller's
 * transaction.
 *
 * Per event, not per batch: the versions a case goes through depend only on the sequence of its
 * events, never on how the consumer happened to cut batches, so a worker killed mid-batch and
 * restarted ends in the same state and the same tasks as one that never stopped.
 *
 * Re-assessment (DESIGN.md): the stored facts plus the exposure tables go through the rule core;
 * a new case version is stored only when the verdict differs from the latest one. Clocks start
 * when the case first becomes mandatory: at the knowledge time when it is mandatory from the
 * start, else at the time of the event that made it so (RULES.md §1: when a later update pushes
 * the count above 100, MN-2-4 fires from then); that moment is kept in cases.mandatory_since.
 * Each obligation (obligations.h) becomes a deadline row and, the first time it appears, a task
 * in the outbox with an id derived from (incident, kind, client), so no replay can duplicate it.
 * Each version is also queued for the compacted assessments topic.
 */
#ifndef MNI_ASSESS_EVENT_H
#define MNI_ASSESS_EVENT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

typedef enum {
    ASSESS_APPLIED = 0,  /* applied (or a duplicate, skipped) */
    ASSESS_FAILED = -1,  /* PostgreSQL failed: roll the batch back and read it again */
    ASSESS_REJECTED = 1, /* the event cannot apply (reason in reason[]): dead-letter it */
} assess_outcome;

assess_outcome assess_event_apply(PGconn *pg, const json_t *event, char *reason, size_t reasonlen,
                                  char *err, size_t errlen);

/* The deterministic task id of an obligation: 32 hex digits of sha256(incident|kind|client). */
void assess_task_id(const char *incident_id, const char *kind, const char *client_id, char out[33]);

#endif
