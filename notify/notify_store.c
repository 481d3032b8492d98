/*
 * notify_store: see notify_store.h.
 */
#include "notify/notify_store.h"

#include "lib/base/buf.h"
#include "lib/base/digest.h"
#include "lib/base/log.h"
#include "lib/model/json_text.h"
#include "lib/model/records.h"
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

/* What a ticket stores: its body (tickets.body) and its outbox row's payload, as JSON texts,
 * and the row's record, the Kafka message ready to send, as bytea text (or NULL: see
 * ticket_record), all malloc'd. */
typedef struct {
    char *body, *payload, *record;
} ticket_texts;

static void ticket_texts_free(ticket_texts *x)
{
    free(x->body);
    free(x->payload);
    free(x->record);
}

/* The ticket's message (the relay sends it as it is, not encoded again from the payload); NULL
 * when it cannot be encoded: the relay then encodes it from the payload, or marks the row
 * failed saying why, as for any row (a ticket never stops the batch). */
static char *ticket_record(const schema_set *schemas, const notify_ticket *t, const char *ticket_id)
{
    records_ticket rec = {
        .ticket_id = ticket_id,
        .task_id = t->task_id,
        .incident_id = t->incident_id,
        .client_id = t->client_id,
        .kind = t->kind,
        .title = t->title,
        .summary = t->summary,
        .due_at_ms = outbox_due_ms(t->due_date, t->due_at),
        .document_ref = t->document_ref,
    };
    wire_buf record;
    wire_buf_init(&record);
    char why[256] = "out of memory";
    char *hex = records_ticket_encode(schemas, &rec, &record, why, sizeof why) == 0
                    ? outbox_record_hex(&record)
                    : NULL;
    wire_buf_free(&record);
    if (!hex)
        log_warn("ticket record not encodable; the relay will try from the payload",
                 LOG_STR("ticket_id", ticket_id), LOG_STR("error", why), LOG_END);
    return hex;
}

static int ticket_texts_make(const schema_set *schemas, const notify_ticket *t,
                             const char *ticket_id, ticket_texts *x, char *err, size_t errlen)
{
    json_t *body = json_pack("{s:s, s:o, s:o, s:s, s:O, s:I}", "summary", t->summary, "due_date",
                             str_or_null(t->due_date), "due_at", str_or_null(t->due_at),
                             "document_ref", t->document_ref, "channels", t->channels,
                             "case_version", (json_int_t)t->case_version);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:o}", "ticket_id", ticket_id,
                  "task_id", t->task_id, "kind", t->kind, "title", t->title, "summary", t->summary,
                  "due_date", str_or_null(t->due_date), "due_at", str_or_null(t->due_at),
                  "document_ref", t->document_ref, "client_id", str_or_null(t->client_id));
    x->body = body ? json_text_compact(body) : NULL;
    x->payload = payload ? json_text_compact(payload) : NULL;
    x->record = x->body && x->payload ? ticket_record(schemas, t, ticket_id) : NULL;
    json_decref(body);
    json_decref(payload);
    if (x->body && x->payload) return 0;
    ticket_texts_free(x);
    snprintf(err, errlen,
             "notify.ticket %s: cannot build the ticket JSON (not UTF-8 or out of memory)",
             t->task_id);
    return -1;
}

int notify_store_ticket(PGconn *pg, const schema_set *schemas, const notify_ticket *t, char *err,
                        size_t errlen)
{
    char ticket_id[64];
    ticket_texts x;
    mni_ticket_id(t->task_id, ticket_id);
    if (ticket_texts_make(schemas, t, ticket_id, &x, err, errlen) != 0) return -1;
    const char *pt[] = {ticket_id, t->task_id, t->incident_id, t->client_id,
                        t->kind,   t->title,   x.body,         t->webhook ? "true" : "false"};
    int rc = pgx_exec_params(pg, "notify.ticket",
                             "INSERT INTO tickets (ticket_id, task_id, incident_id, client_id, "
                             "kind, title, body, webhook_state, webhook_next_at) VALUES ($1, $2, "
                             "$3, $4, $5, $6, $7::jsonb, CASE WHEN $8::boolean THEN 'pending' "
                             "END, CASE WHEN $8::boolean THEN now() END) ON CONFLICT DO NOTHING",
                             8, pt, NULL, err, errlen);
    if (rc == 0)
        rc = outbox_enqueue(pg, ticket_id, "tickets", t->incident_id, t->client_id, t->kind,
                            x.payload, x.record, NULL, err, errlen);
    ticket_texts_free(&x);
    return rc;
}

/* ---- a batch's rows together (notify_store_batch_*) ---- */

/* Deliveries per INSERT statement: 8 parameters a row, well under the protocol's 65,535. */
#define BATCH_DELIVERY_ROWS 256

/* The staging table for tickets, emptied per batch. It holds each ticket with its outbox row:
 * its task_id column is the outbox row's id, the ticket id (outbox_enqueue_staged_ordered reads
 * it as it is); the task the ticket is for is source_task_id. (The deliveries were staged too
 * until h/w2cpu: each document was then sent, compressed and written twice.) */
int notify_store_batch_begin(PGconn *pg, const schema_set *schemas, notify_store_batch *b,
                             char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->pg = pg;
    b->schemas = schemas;
    /* TRUNCATE, not DELETE: a temporary table is never vacuumed, so deleted rows would stay
     * in its heap for every later batch to read past. */
    return pgx_exec(pg, "notify.batch_staging",
                    "CREATE TEMP TABLE IF NOT EXISTS notify_tickets (seq integer, task_id text, "
                    "topic text, incident_id text, client_id text, kind text, payload text, "
                    "record bytea, source_task_id text, title text, body text, webhook boolean);"
                    "TRUNCATE notify_tickets",
                    err, errlen);
}

int notify_store_batch_delivery(notify_store_batch *b, const notify_delivery *d,
                                char sha256_hex[65], char *err, size_t errlen)
{
    digest_sha256_hex(d->document, strlen(d->document), sha256_hex);
    if (b->n_deliveries == b->cap_deliveries) {
        size_t cap = b->cap_deliveries ? 2 * b->cap_deliveries : 64;
        notify_delivery *dl = realloc(b->deliveries, cap * sizeof *dl);
        if (dl) b->deliveries = dl;
        const char **shas = dl ? realloc(b->shas, cap * sizeof *shas) : NULL;
        if (!shas) {
            snprintf(err, errlen, "notify.batch: out of memory for %zu deliveries", cap);
            return -1;
        }
        b->shas = shas;
        b->cap_deliveries = cap;
    }
    b->deliveries[b->n_deliveries] = *d;
    b->shas[b->n_deliveries++] = sha256_hex;
    return 0;
}

/* Inserts deliveries [from, to) with one statement; *rows receives how many were new. */
static int insert_deliveries(notify_store_batch *b, size_t from, size_t to, long long *rows,
                             char *err, size_t errlen)
{
    size_t n = to - from;
    const char **p = malloc(8 * n * sizeof *p);
    buf sql;
    buf_init(&sql, BUF_NO_LIMIT);
    buf_puts(&sql, "INSERT INTO deliveries (task_id, incident_id, client_id, channel, recipient, "
                   "format, document, document_sha256) VALUES ");
    for (size_t i = 0; p && i < n; i++) {
        const notify_delivery *d = &b->deliveries[from + i];
        const char *row[] = {d->task_id,   d->incident_id, d->client_id, d->channel,
                             d->recipient, d->format,      d->document,  b->shas[from + i]};
        memcpy(p + 8 * i, row, sizeof row);
        size_t k = 8 * i;
        buf_printf(&sql, "%s($%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu, decode($%zu, 'hex'))",
                   i ? ", " : "", k + 1, k + 2, k + 3, k + 4, k + 5, k + 6, k + 7, k + 8);
    }
    buf_puts(&sql, " ON CONFLICT (task_id, channel, format) DO NOTHING");
    char *text = buf_take(&sql);
    int rc = -1;
    if (!p || !text)
        snprintf(err, errlen, "notify.batch_deliveries: out of memory for %zu rows", n);
    else
        rc = pgx_exec_params(b->pg, "notify.batch_deliveries", text, (int)(8 * n), p, rows, err,
                             errlen);
    free(text);
    free(p);
    return rc;
}

/* The deliveries given so far, in their order; *conflict = 1 when some were stored already. */
static int batch_deliveries(notify_store_batch *b, int *conflict, char *err, size_t errlen)
{
    long long stored = 0;
    for (size_t from = 0; from < b->n_deliveries; from += BATCH_DELIVERY_ROWS) {
        size_t to = from + BATCH_DELIVERY_ROWS;
        long long rows = 0;
        if (to > b->n_deliveries) to = b->n_deliveries;
        if (insert_deliveries(b, from, to, &rows, err, errlen) != 0) return -1;
        stored += rows;
    }
    *conflict = stored != (long long)b->n_deliveries; /* another member stored some meanwhile */
    return 0;
}

static void batch_release(notify_store_batch *b)
{
    free(b->deliveries);
    free(b->shas);
    b->deliveries = NULL;
    b->shas = NULL;
    b->n_deliveries = b->cap_deliveries = 0;
}

int notify_store_batch_ticket(notify_store_batch *b, const notify_ticket *t, char *err,
                              size_t errlen)
{
    char ticket_id[64];
    ticket_texts x;
    mni_ticket_id(t->task_id, ticket_id);
    if (ticket_texts_make(b->schemas, t, ticket_id, &x, err, errlen) != 0) return -1;
    int rc = 0;
    if (!b->copying)
        rc = pgx_copy_begin(&b->copy, b->pg, "notify.batch_copy",
                            "COPY notify_tickets (seq, task_id, topic, incident_id, client_id, "
                            "kind, payload, record, source_task_id, title, body, webhook) FROM "
                            "STDIN",
                            err, errlen);
    if (rc == 0) {
        b->copying = 1;
        pgx_copy_field_int(&b->copy, b->n_tickets++);
        pgx_copy_field(&b->copy, ticket_id);
        pgx_copy_field(&b->copy, "tickets");
        pgx_copy_field(&b->copy, t->incident_id);
        pgx_copy_field(&b->copy, t->client_id);
        pgx_copy_field(&b->copy, t->kind);
        pgx_copy_field(&b->copy, x.payload);
        pgx_copy_field(&b->copy, x.record);
        pgx_copy_field(&b->copy, t->task_id);
        pgx_copy_field(&b->copy, t->title);
        pgx_copy_field(&b->copy, x.body);
        pgx_copy_field(&b->copy, t->webhook ? "t" : "f");
        rc = pgx_copy_end_row(&b->copy);
    }
    ticket_texts_free(&x);
    return rc;
}

void notify_store_batch_abort(notify_store_batch *b)
{
    char err[16];
    if (b->copying) pgx_copy_abort(&b->copy, "notify batch abandoned", err, sizeof err);
    b->copying = 0;
    batch_release(b);
}

int notify_store_batch_end(notify_store_batch *b, int *conflict, char *err, size_t errlen)
{
    *conflict = 0;
    int copying = b->copying;
    b->copying = 0;
    int rc = copying ? pgx_copy_end(&b->copy, NULL, err, errlen) : 0;
    if (rc == 0) rc = batch_deliveries(b, conflict, err, errlen);
    batch_release(b);
    if (rc != 0 || *conflict || b->n_tickets == 0) return rc;
    if (pgx_exec(b->pg, "notify.batch_tickets",
                 "INSERT INTO tickets (ticket_id, task_id, incident_id, client_id, kind, title, "
                 "body, webhook_state, webhook_next_at) SELECT task_id, source_task_id, "
                 "incident_id, client_id, kind, title, body::jsonb, CASE WHEN webhook THEN "
                 "'pending' END, CASE WHEN webhook THEN now() END FROM notify_tickets "
                 "ORDER BY seq ON CONFLICT DO NOTHING",
                 err, errlen) != 0)
        return -1;
    return outbox_enqueue_staged_ordered(b->pg, "notify_tickets", err, errlen);
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
    char *text = json_text_compact(rows);
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
    /* Every ticket leaves tickets_open once published, but its entry stays in the index until
     * vacuum reaches the table. A bitmap scan fetches every such entry's heap row at every tick
     * (a full-size W3: 108,663 entries and 10,166 heap pages for 500 open tickets, 98 ms a
     * poll); a plain index scan marks the dead ones as it passes, and later polls skip them.
     * Local to the caller's transaction, which holds this poll and its audit rows only. */
    if (pgx_exec(pg, "notify.tickets_published_plan", "SET LOCAL enable_bitmapscan = off", err,
                 errlen) != 0)
        return -1;
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
