/*
 * notify_task: what one NotifyTask becomes, inside the batch's transaction.
 *
 *   1. seen?     a delivery of this task id exists: it was handled, do nothing (replays,
 *                redeliveries, the relay sending a row twice after a crash).
 *   2. snapshot  the case as of the version the task names (snapshot.h), so that the
 *                documents are the same whenever they are rendered; no such case: unknown.
 *   3. render    the task's documents (render.h) from the snapshot and the task:
 *
 *                  task kind          documents (channel)
 *                  client_notice      client notice ("client:<id>")
 *                  ppc_preliminary    PPC draft, 速報 ("ppc_draft")
 *                  ppc_final          PPC draft, 確報 ("ppc_draft")
 *                  principal_notice   persons' notice ("persons") and publication text
 *                                     ("publication"), for when notice is impossible
 *                  publication        publication text ("publication")
 *                  reminder           reminder ("reminder")
 *                  escalation         escalation ("escalation")
 *
 *                A task the renderer refuses (a client notice without a client, a reminder
 *                without its deadline) is malformed, with the renderer's "field: reason".
 *   4. store     each document as JSON and as Markdown text (deliveries, with sha256), one
 *                ticket with its outbox row, and audit rows 'document_rendered' (task id,
 *                channel, format, sha256) and 'ticket_created', queued in the batch's list.
 *
 * The task as the renderers see it: the record's task_id, incident_id, kind, client_id and
 * case_version, with due_date/due_at, deadline_kind and as_of from its payload JSON (the
 * record's due_at, when the payload has no due time).
 *
 * Never logged: the snapshot and the documents (free text). Logged: ids, kinds, channels.
 */
#ifndef MNI_NOTIFY_TASK_H
#define MNI_NOTIFY_TASK_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "lib/model/records.h"

typedef enum {
    NOTIFY_TASK_DONE,         /* documents, ticket and audit rows written */
    NOTIFY_TASK_DUPLICATE,    /* handled before: nothing written */
    NOTIFY_TASK_MALFORMED,    /* the task lacks what its documents need (why): dead-letter */
    NOTIFY_TASK_UNKNOWN_CASE, /* no case of that incident (why): dead-letter */
    NOTIFY_TASK_FAILED,       /* PostgreSQL or memory failure (err): roll the batch back */
} notify_task_outcome;

/* payload is the task's payload_json, parsed (an object). audit collects the audit rows.
 * webhook: the ticket is also to be POSTed (notify/webhook.h). */
notify_task_outcome notify_task_handle(PGconn *pg, const records_notify_task *task,
                                       const json_t *payload, int webhook, json_t *audit, char *why,
                                       size_t whylen, char *err, size_t errlen);

#endif
