/*
 * outbox: the relay from the outbox table to Kafka (DESIGN.md "Outbox").
 *
 * Rows are written by a worker in the same transaction as the results they come from; the
 * insert also queues each row in outbox_queue (a trigger, migration 0125), a narrow table of
 * the rows not yet published. The relay, in a transaction of its own, takes the oldest queue
 * rows off the queue with FOR UPDATE SKIP LOCKED (so two relays never send the same row at
 * once and neither waits for the other; while a topic waits, from each other topic's floor:
 * outbox_pace.h) and reads their outbox rows by key in the same
 * statement (an outbox row is written once and never rewritten), takes each row's message as
 * its writer encoded it (outbox.record: assess's tasks and assessments, notify's tickets and
 * the sweeper's reminders and escalations) or, for a row without one (the audit anchors, rows
 * queued by older versions), encodes it from the payload as the record of its topic, produces
 * them keyed by incident id with the task id in the header `mni.task_id`,
 * waits for every delivery report, and only then commits (a row it did not send is put back
 * first). A crash or a failed delivery before the commit rolls the claim back: the rows are
 * queued again, to be sent again; consumers de-duplicate by task id. Rows are never selected
 * by a serial high-water mark, because rows commit out of order. A row is published when it
 * is neither queued nor failed (readers: NOT EXISTS in outbox_queue AND failed_at IS NULL).
 *
 * The compacted topics (assessments, anchors) keep each key's last message, so their rows must
 * reach Kafka in the order they were written; two relays claiming side by side would not keep
 * it (one could deliver a case's older version, or an older audit anchor, after the other
 * delivered the newer one, and the topic would keep the older). One relay at a time claims
 * them: each claim tries the advisory lock OUTBOX_COMPACTED_LOCK in its transaction (held until
 * its commit, after Kafka acknowledged the claim); a relay that does not get it relays the
 * other topics and leaves their rows queued for the next claim that holds it (the holder's
 * next, or any relay's next pass: a kick after a commit, or a tick). Within one relay, a claim
 * passes over an assessment whose case is at a newer version already (OUTBOX_CLAIM in
 * outbox.c). A claim rolled back after a failed delivery (a broker unreachable) first waits
 * until librdkafka has given up every message it did not deliver (kq_producer_settle: within
 * message.timeout.ms, 25 s by default, inside the claim's 30 s flush), so none of them is
 * written after a later claim's. Not covered: a message in flight at its timeout, which the
 * broker may still have written then (librdkafka's "possibly persisted"); the case's next
 * version puts the topic right.
 *
 * One row only ever costs itself: when Kafka refuses a message of the batch for what it is
 * (too large, an invalid record: kq_producer_take_refused), which would fail again on every
 * try, the claimed rows are produced again one at a time, each flush-checked; the row refused
 * for good is marked failed (outbox.failed_at and .failure, migration 0051: never claimed
 * again, shown by `mni case`, counted by the caller as mni_outbox_failed_total) and the others
 * are published. An assessment without its record whose verdict does not fit a message (rows
 * queued before the abridged CaseAssessment, lib/model/assessment_record.h) is sent abridged,
 * made from PostgreSQL (lib/runtime/assessment_rebuild.h), or passed over when a newer version
 * of its case is in the outbox (compacted topic). A row that cannot be encoded at all (a
 * payload of no known kind) would fail the same way at every claim: it is marked failed the
 * same way, with an error log line naming it ("outbox row not encodable: marked failed"),
 * never put back in the queue. Any other failure (the broker down, a
 * time-out) rolls the claim back, to be tried again later; nothing is marked failed for it.
 *
 * Logical topics (outbox.topic) and their records: "tasks" -> NotifyTask, "assessments" ->
 * CaseAssessment, "tickets" -> Ticket, "anchors" -> the payload as JSON (the audit chain's signed
 * heads: lib/runtime/audit_anchor.h; the row's incident_id column holds the message key); the
 * physical name is the config key topic.<logical>.
 * Payload shapes: tasks {kind, client_id, due_date | due_at, case_version, ...}; assessments
 * {incident_id, version, verdict}; tickets {ticket_id, task_id, kind, title, summary, due_at,
 * document_ref, client_id}.
 */
#ifndef MNI_OUTBOX_H
#define MNI_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>

#include <libpq-fe.h>
#include <stddef.h>

#include "lib/kafka/kq.h"
#include "lib/runtime/config.h"
#include "lib/runtime/outbox_pace.h"
#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"
#include "rules/rules.h"

/* This module is the outbox table's one writer (db/README.md): rows go in through the
 * enqueue functions and out through the relay. */

/* Queues one row in the outbox inside the caller's transaction (topic: the logical name,
 * tasks / assessments / tickets; client_id may be NULL). A task id already queued is left as it
 * was, so queuing is idempotent; *queued (may be NULL) says whether this call added the row.
 * created_at is the statement's clock, so rows queued one after the other in a transaction are
 * relayed in that order (a reminder before its escalation). */
int outbox_enqueue(PGconn *pg, const char *task_id, const char *topic, const char *incident_id,
                   const char *client_id, const char *kind, const char *payload_json,
                   const char *record_hex, bool *queued, char *err, size_t errlen);
/* A notify task as its outbox row holds it. */
typedef struct {
    const char *task_id, *incident_id;
    const char *client_id;         /* or NULL */
    const char *kind;              /* a task kind name */
    const char *due_date, *due_at; /* either may be NULL (outbox_due_ms) */
    long long case_version;
    long long created_ms; /* the message's created_at */
    const char *payload_json;
} outbox_task;

/* The task's NotifyTask message into out: what the relay sends for a tasks row. 0, or -1
 * (err; an unknown kind names it). */
int outbox_task_encode(const schema_set *schemas, const outbox_task *task, wire_buf *out, char *err,
                       size_t errlen);
/* record as bytea text ("\\x" and hex; malloc'd, NULL when out of memory): a row's message
 * ready to send, for outbox_enqueue's record_hex (NULL there: the relay encodes the row from
 * its payload). */
char *outbox_record_hex(const wire_buf *record);

/* The key of the transaction-level advisory lock that the relay claiming the compacted topics
 * holds ("mni-cmpt"; the head comment). */
#define OUTBOX_COMPACTED_LOCK "x'6d6e692d636d7074'::bigint"

/* Queues every row of a staging table the caller filled in this transaction (columns task_id,
 * topic, incident_id, client_id, kind, payload, record: a batch's tasks with their Avro
 * bytes), idempotently like outbox_enqueue. `staging_table` is a plain SQL identifier. */
int outbox_enqueue_staged(PGconn *pg, const char *staging_table, char *err, size_t errlen);
/* Queues every row of a staging table (columns seq, task_id, topic, incident_id, client_id,
 * kind, payload as JSON text, record) in seq order, each row's created_at later than the
 * one before, as outbox_enqueue called once per row in that order would: the relay sends them
 * in that order. Idempotent like outbox_enqueue. */
int outbox_enqueue_staged_ordered(PGconn *pg, const char *staging_table, char *err, size_t errlen);

/* Relays until no unpublished row is left (batches of `batch` rows); *relayed counts the rows
 * published, *failed the rows Kafka refused for good (marked failed). */
int outbox_relay(PGconn *pg, kq_producer *producer, const config *cfg, const schema_set *schemas,
                 int batch, long *relayed, long *failed, char *err, size_t errlen);
/* outbox_relay paced (outbox_pace.h; NULL: not paced): the rows of a topic whose reader is
 * behind stay queued and the round stops at the first row held; the caller comes back when
 * outbox_pace_refresh opens it again. */
int outbox_relay_paced(PGconn *pg, kq_producer *producer, const config *cfg,
                       const schema_set *schemas, outbox_pace *pace, int batch, long *relayed,
                       long *failed, char *err, size_t errlen);

/* The CaseAssessment record of a case version whose whole verdict document (verdict_json_build,
 * or case_verdict() put back together) is v, assessed at created_ms: what the relay sends on
 * the assessments topic. A writer that has the verdict in hand stores it as the row's record,
 * so that the relay neither rebuilds the verdict in SQL nor parses it again. 0, or -1 (err). */
int outbox_assessment_record(const schema_set *schemas, const char *incident_id, int version,
                             long long created_ms, const json_t *v, wire_buf *out, char *err,
                             size_t errlen);

/* The same for an abridged verdict document v (lib/model/assessment_record.h: its clients some
 * of clients_total, full_verdict where the whole is); full_verdict NULL: as
 * outbox_assessment_record. */
int outbox_assessment_record_abridged(const schema_set *schemas, const char *incident_id,
                                      int version, long long created_ms, const json_t *v,
                                      long long clients_total, const char *full_verdict,
                                      wire_buf *out, char *err, size_t errlen);

/* The due_at of a NotifyTask or Ticket record, in milliseconds: the instant as given, or for a
 * due date its last second, 23:59:59 JST (the form of an instant deadline: rules/due_day.h; it
 * is over one second later, when the day ends). RECORDS_NO_TIME if neither. */
long long outbox_due_ms(const char *due_date, const char *due_at);

#endif
