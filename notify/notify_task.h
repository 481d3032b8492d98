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
#include "notify/notify_store.h"
#include "notify/render/render.h"

typedef enum {
    NOTIFY_TASK_DONE,         /* documents, ticket and audit rows written */
    NOTIFY_TASK_DUPLICATE,    /* handled before: nothing written */
    NOTIFY_TASK_MALFORMED,    /* the task lacks what its documents need (why): dead-letter */
    NOTIFY_TASK_UNKNOWN_CASE, /* no case of that incident (why): dead-letter */
    NOTIFY_TASK_FAILED,       /* PostgreSQL or memory failure (err): roll the batch back */
} notify_task_outcome;

#define NOTIFY_MAX_DOCS 2

/* One document a task produces. */
typedef struct {
    render_kind kind;
    char channel[96];
    const char *recipient;
} notify_doc_plan;

/* The documents of a task kind; 0 when the kind renders nothing (never: every kind does). */
size_t notify_task_plan(const records_notify_task *t, notify_doc_plan out[NOTIFY_MAX_DOCS]);

/* A task's documents, rendered but not stored (steps 3 of the list above). */
typedef struct {
    size_t n_docs;
    notify_doc_plan plans[NOTIFY_MAX_DOCS];
    render_doc docs[NOTIFY_MAX_DOCS];
    char *json_texts[NOTIFY_MAX_DOCS]; /* each document's JSON as stored (indented) */
    json_t *task;                      /* the task as the renderers took it */
    char *title, *summary;             /* the ticket's text */
    int ticket_refused; /* no ticket text (why): the documents are stored, the task is
                         * dead-lettered malformed, as the per-task path always did */
} notify_rendered;

/* payload is the task's payload_json, parsed (an object); schemas encode the ticket's message.
 * audit collects the audit rows.
 * webhook: the ticket is also to be POSTed (notify/webhook.h). The per-task path: each read
 * and each write is a statement of its own (notify_batch.h does a batch's tasks together and
 * falls back to this one). */
notify_task_outcome notify_task_handle(PGconn *pg, const schema_set *schemas,
                                       const records_notify_task *task, const json_t *payload,
                                       int webhook, json_t *audit, char *why, size_t whylen,
                                       char *err, size_t errlen);

/* Renders a task's documents and ticket text from its snapshot (pure: no I/O). DONE (r filled;
 * release it with notify_rendered_free, whatever the outcome), MALFORMED (why), FAILED (err). */
notify_task_outcome notify_task_render(const records_notify_task *t, const json_t *payload,
                                       const json_t *snap, notify_rendered *r, char *why,
                                       size_t whylen, char *err, size_t errlen);
void notify_rendered_free(notify_rendered *r);

/* The pieces both paths write, so that their rows and audit rows are the same: delivery
 * `format` (0 json, 1 text) of document `doc`; the ticket (ref: its buffer); the audit rows. */
void notify_task_delivery(const records_notify_task *t, const notify_rendered *r, size_t doc,
                          size_t format, notify_delivery *d);
void notify_task_ticket(const records_notify_task *t, const notify_rendered *r, json_t *channels,
                        int webhook, char ref[160], notify_ticket *tk);
void notify_task_audit_doc(json_t *audit, const records_notify_task *t, const notify_doc_plan *plan,
                           const char *format, const char *sha256_hex);
void notify_task_audit_ticket(json_t *audit, const records_notify_task *t);
void notify_task_log_done(const records_notify_task *t, const notify_rendered *r);

#endif
