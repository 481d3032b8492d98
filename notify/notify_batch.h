/*
 * notify_batch: a consumed batch's tasks handled together, set-wise (issue 6): the same
 * outcomes, rows, documents and audit rows, in the same order, as notify_task_handle called
 * for each task in turn, with a few statements per batch instead of about ten per task.
 *
 *   1. seen      one statement: which of the batch's task ids have deliveries already; a task id
 *                met twice in the batch is a duplicate the second time when the first stored
 *                its documents
 *   2. snapshot  notify_snapshot_load_many: grouped by (incident, version), each piece read
 *                once per group, every verdict in one statement
 *   3. render    per task, in memory (notify_task_render); a task its documents cannot be made
 *                from is malformed, a task of no case unknown: both dead-lettered by the caller
 *   4. store     deliveries, tickets and the tickets' outbox rows staged with COPY and written
 *                with one INSERT .. SELECT per table (notify_store_batch_*); audit rows queued
 *                in task order
 *
 * Anything PostgreSQL refuses, and a delivery found stored already (another member handled the
 * task meanwhile), returns -1: the caller rolls back to its savepoint and handles the batch task
 * by task (notify_task_handle), where a bad task costs only itself. Nothing here produces to
 * Kafka, so going back costs nothing but the time.
 */
#ifndef MNI_NOTIFY_BATCH_H
#define MNI_NOTIFY_BATCH_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "lib/model/records.h"
#include "notify/notify_task.h"

/* One message of the batch, decoded. */
typedef struct {
    int decoded;              /* 0: not a task (why): the caller dead-letters it malformed */
    records_notify_task task; /* when decoded */
    json_t *payload;          /* the task's payload_json, parsed (an object) */
    notify_task_outcome outcome;
    char why[512];
} notify_batch_item;

/* Sets items[i].outcome (and why) for every decoded item: DONE, DUPLICATE, MALFORMED or
 * UNKNOWN_CASE, never FAILED. audit receives the audit rows. 0, or -1 with err: nothing of
 * the batch may be kept (roll back to before the call) and audit may hold partial rows. */
int notify_batch_handle(PGconn *pg, const schema_set *schemas, notify_batch_item *items, size_t n,
                        int webhook, json_t *audit, char *err, size_t errlen);

#endif
