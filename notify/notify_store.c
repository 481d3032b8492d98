/*
 * notify_store: see notify_store.h.
 */
#include "notify/notify_store.h"

#include "lib/base/digest.h"
#include "lib/model/task_id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"
#include "lib/runtime/audit.h"
#include "lib/runtime/outbox.h"

int notify_store_task_seen(PGconn *pg, const char *task_id, int *seen, char *err, size_t errlen)
{
    const char *p[] = {task_id};
    PGresult *res =
        pgx_query(pg, "notify.task_seen", "SELECT 1 FROM deliveries WHERE task_id = $1 LIMIT 1", 1,
                  p, err, errlen);
    if (!res) return -1;
    *seen = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

int notify_store_delivery(PGconn *pg, const notify_delivery *d, char sha256_hex[65], int *fresh,
                          char *err, size_t errlen)
{
    char digest[2 + 64 + 1] = "\\x";
    digest_sha256_hex(d->document, strlen(d->document), sha256_hex);
    memcpy(digest + 2, sha256_hex, 65);
    const char *p[] = {d->task_id,   d->incident_id, d->client_id, d->channel,
                       d->recipient, d->format,      d->document,  digest};
    long long rows = 0;
    if (pgx_exec_params(pg, "notify.delivery",
                        "INSERT INTO deliveries (task_id, incident_id, client_id, channel, "
                        "recipient, format, document, document_sha256) "
                        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::bytea) "
                        "ON CONFLICT (task_id, channel, format) DO NOTHING",
                        8, p, &rows, err, errlen) != 0)
        return -1;
    *fresh = rows == 1;
    return 0;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int notify_store_ticket(PGconn *pg, const notify_ticket *t, char *err, size_t errlen)
{
    char ticket_id[64];
    mni_ticket_id(t->task_id, ticket_id);
    json_t *body = json_pack("{s:s, s:o, s:o, s:s, s:O, s:I}", "summary", t->summary, "due_date",
                             str_or_null(t->due_date), "due_at", str_or_null(t->due_at),
                             "document_ref", t->document_ref, "channels", t->channels,
                             "case_version", (json_int_t)t->case_version);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o}", "ticket_id", ticket_id,
                  "task_id", t->task_id, "kind", t->kind, "title", t->title, "summary", t->summary,
                  "due_date", str_or_null(t->due_date), "due_at", str_or_null(t->due_at),
                  "document_ref", t->document_ref, "client_id", str_or_null(t->client_id));
    char *body_text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    char *payload_text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(body);
    json_decref(payload);
    int rc = -1;
    if (!body_text || !payload_text) {
        snprintf(err, errlen,
                 "notify.ticket %s: cannot build the ticket JSON (not UTF-8 or out "
                 "of memory)",
                 t->task_id);
    } else {
        const char *pt[] = {ticket_id, t->task_id, t->incident_id, t->client_id,
                            t->kind,   t->title,   body_text,      t->webhook ? "true" : "false"};
        rc = pgx_exec_params(pg, "notify.ticket",
                             "INSERT INTO tickets (ticket_id, task_id, incident_id, client_id, "
                             "kind, title, body, webhook_state, webhook_next_at) VALUES ($1, $2, "
                             "$3, $4, $5, $6, $7::jsonb, CASE WHEN $8::boolean THEN 'pending' "
                             "END, CASE WHEN $8::boolean THEN now() END) ON CONFLICT DO NOTHING",
                             8, pt, NULL, err, errlen);
        if (rc == 0)
            rc = outbox_enqueue(pg, ticket_id, "tickets", t->incident_id, t->client_id, t->kind,
                                payload_text, NULL, err, errlen);
    }
    free(body_text);
    free(payload_text);
    return rc;
}

void notify_audit_add(json_t *rows, const char *action, const char *incident_id,
                      const char *client_id, json_t *payload)
{
    json_array_append_new(rows, json_pack("{s:s, s:s, s:o, s:o}", "action", action, "incident_id",
                                          incident_id, "client_id", str_or_null(client_id),
                                          "payload", payload));
}

int notify_audit_flush(PGconn *pg, json_t *rows, char *err, size_t errlen)
{
    if (json_array_size(rows) == 0) return 0;
    char *text = json_dumps(rows, JSON_COMPACT);
    if (!text) {
        snprintf(err, errlen, "notify.audit: cannot serialise %zu rows (out of memory)",
                 json_array_size(rows));
        return -1;
    }
    int rc = audit_append(pg, NOTIFY_ACTOR, text, NULL, err, errlen);
    free(text);
    if (rc == 0) json_array_clear(rows);
    return rc;
}

int notify_store_tickets_published(PGconn *pg, long long *published, char *err, size_t errlen)
{
    PGresult *res = pgx_query_replanned(
        pg, "notify.tickets_published",
        "WITH moved AS (UPDATE tickets t SET status = 'published', updated_at = now() "
        "FROM outbox o WHERE o.task_id = t.ticket_id AND o.topic = 'tickets' "
        "AND o.failed_at IS NULL AND t.status = 'open' AND NOT EXISTS (SELECT FROM outbox_queue q "
        "WHERE q.created_at = o.created_at AND q.task_id = o.task_id) "
        "RETURNING t.ticket_id, t.incident_id, t.client_id) "
        "SELECT count(*), coalesce(jsonb_agg(jsonb_build_object('action', 'ticket_published', "
        "'incident_id', incident_id, 'client_id', client_id, "
        "'payload', jsonb_build_object('ticket_id', ticket_id)) ORDER BY ticket_id), '[]')::text "
        "FROM moved",
        0, NULL, err, errlen);
    if (!res) return -1;
    *published = atoll(PQgetvalue(res, 0, 0));
    int rc = *published > 0
                 ? audit_append(pg, NOTIFY_ACTOR, PQgetvalue(res, 0, 1), NULL, err, errlen)
                 : 0;
    PQclear(res);
    return rc;
}
