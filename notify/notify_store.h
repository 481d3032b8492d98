/*
 * notify_store: notify's writes, all inside the caller's transaction (the batch's, or the
 * sweeper's own), so a task's documents, its ticket, the ticket's outbox row, the audit rows
 * and the consumer offsets commit together or not at all.
 *
 * Row by row (the per-task path) or a batch's rows together (notify_store_batch_*: multi-row
 * inserts, or COPY into a temporary staging table and INSERT .. SELECT, in the batch's order).
 *
 *   deliveries  one row per (task, channel, format): the document text, its sha256, the
 *               recipient kind. Inserted with ON CONFLICT DO NOTHING: a replayed task finds
 *               its rows and adds nothing (*fresh = 0 tells the caller to stop there).
 *   tickets     one per task, ticket_id deterministic ("T-" + task id), ON CONFLICT DO NOTHING;
 *               with the webhook on, stored pending for it (webhook.h); marked published once
 *               the relay has sent its outbox row (notify_store_tickets_published, each tick).
 *   outbox      the ticket as a row on logical topic 'tickets' (payload as outbox.c's
 *               encode_ticket reads it), so the relay publishes it to the tickets topic.
 *   audit_log   rows collected per batch (notify_audit_add) and appended in one statement at
 *               the end (notify_audit_flush, through lib/runtime/audit.h), because each append
 * takes the chain's lock until COMMIT (0005_audit_log.sql). Payloads hold ids, channels and
 * digests, never document text.
 */
#ifndef MNI_NOTIFY_STORE_H
#define MNI_NOTIFY_STORE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "lib/pg/pgx.h"
#include "lib/serdes/schema_set.h"

#define NOTIFY_ACTOR "mni-notify"

typedef struct {
    const char *task_id;
    const char *incident_id;
    const char *client_id; /* or NULL */
    const char *channel;   /* ppc_draft, client:<id>, persons, publication, reminder, ... */
    const char *recipient; /* ppc, the client id, persons, public, bpo */
    const char *format;    /* json or text (Markdown) */
    const char *document;
} notify_delivery;

/* True when any delivery of task_id is stored (the task was handled before). */
int notify_store_task_seen(PGconn *pg, const char *task_id, int *seen, char *err, size_t errlen);
/* Inserts one delivery; sha256_hex (65 bytes) receives the document's digest; *fresh = 0 when
 * the row existed. */
int notify_store_delivery(PGconn *pg, const notify_delivery *d, char sha256_hex[65], int *fresh,
                          char *err, size_t errlen);

typedef struct {
    const char *task_id;
    const char *incident_id;
    const char *client_id; /* or NULL */
    const char *kind;      /* the task kind name */
    const char *title, *summary;
    const char *due_date, *due_at; /* or NULL */
    const char *document_ref;
    json_t *channels; /* array of channel names (borrowed) */
    long long case_version;
    int webhook; /* non-zero: also to be POSTed (webhook.h): stored pending, due at once */
} notify_ticket;

/* Inserts the ticket and its outbox row (topic 'tickets'), the row with its Kafka message
 * (encoded with schemas) ready to send. */
int notify_store_ticket(PGconn *pg, const schema_set *schemas, const notify_ticket *t, char *err,
                        size_t errlen);
/* Marks published every open ticket whose outbox row a relay has sent (this worker's or
 * another's) and appends a ticket_published audit row for each, in ticket id order;
 * *published receives how many. Inside the caller's transaction, whose plans it sets for the
 * rest of it (no bitmap scans). */
int notify_store_tickets_published(PGconn *pg, long long *published, char *err, size_t errlen);

/* A batch's deliveries, tickets and the tickets' outbox rows, written together, in the order
 * they were given, so the rows (and their delivery ids, and the order the relay sends the
 * tickets in) are those one statement per row would have written. Deliveries: kept by
 * reference and inserted at the end with multi-row INSERT .. VALUES statements (each document
 * travels and is compressed once; `deliveries` has FORCE row-level security, so no COPY into
 * it); the strings of each notify_delivery and its sha256_hex must stay valid until
 * notify_store_batch_end. Tickets: staged with COPY (temporary table notify_tickets), then
 * one INSERT .. SELECT each for tickets and their outbox rows (each row with its message, as
 * notify_store_ticket writes it). Give every delivery before the
 * first ticket. *conflict = 1 when some delivery was stored already (another member handled a
 * task meanwhile): the caller rolls back and goes per task. */
typedef struct {
    PGconn *pg;
    const schema_set *schemas; /* to encode the tickets' messages */
    pgx_copy copy;
    int copying; /* the tickets' COPY is open */
    notify_delivery *deliveries;
    const char **shas; /* each delivery's sha256 in hex */
    size_t n_deliveries, cap_deliveries;
    int n_tickets;
} notify_store_batch;

int notify_store_batch_begin(PGconn *pg, const schema_set *schemas, notify_store_batch *b,
                             char *err, size_t errlen);
int notify_store_batch_delivery(notify_store_batch *b, const notify_delivery *d,
                                char sha256_hex[65], char *err, size_t errlen);
int notify_store_batch_ticket(notify_store_batch *b, const notify_ticket *t, char *err,
                              size_t errlen);
int notify_store_batch_end(notify_store_batch *b, int *conflict, char *err, size_t errlen);
/* Ends a COPY left open by a failure (the transaction is then failed: roll it back) and
 * releases what the batch holds; notify_store_batch_end releases it otherwise. */
void notify_store_batch_abort(notify_store_batch *b);

/* Queues an audit row (actor mni-notify) in rows, a JSON array the caller owns. */
void notify_audit_add(json_t *rows, const char *action, const char *incident_id,
                      const char *client_id, json_t *payload);
/* Appends the queued rows in their order and empties the array. */
int notify_audit_flush(PGconn *pg, json_t *rows, char *err, size_t errlen);

#endif
