/*
 * event_store: see event_store.h.
 */
#include "ingest/event_store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/model/events_json.h"
#include "lib/model/json_text.h"
#include "lib/model/token.h"
#include "lib/pg/pgx.h"

static const char EVENT_STORE_LOAD_OPENED_SQL[] =
    "SELECT DISTINCT incident_id FROM event_log "
    "WHERE kind = 'incident_opened' "
    "AND incident_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))";

static const char EVENT_STORE_INSERT_SQL[] =
    "INSERT INTO event_log (event_id, incident_id, tenant, client_id, kind, occurred_at, "
    "src_topic, src_partition, src_epoch, src_offset, body, tokens) "
    "SELECT r.event_id, r.incident_id, r.tenant, r.client_id, r.kind, r.occurred_at, "
    "r.src_topic, r.src_partition, r.src_epoch, r.src_offset, r.body, decode(r.tokens, 'hex') "
    "FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, incident_id text, tenant text, "
    "client_id text, kind text, occurred_at timestamptz, src_topic text, src_partition integer, "
    "src_epoch integer, src_offset bigint, body jsonb, tokens text) "
    "ON CONFLICT DO NOTHING RETURNING event_id";

/* The first of the given rows whose origin holds another event (event_store.h). */
static const char EVENT_STORE_CLASH_SQL[] =
    "SELECT r.src_partition, r.src_offset, r.event_id, e.event_id "
    "FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, src_topic text, "
    "src_partition integer, src_epoch integer, src_offset bigint) "
    "JOIN event_log e ON e.src_topic = r.src_topic AND e.src_partition = r.src_partition "
    "AND e.src_epoch = r.src_epoch AND e.src_offset = r.src_offset AND e.event_id <> r.event_id "
    "ORDER BY r.src_partition, r.src_offset LIMIT 1";

/* Which of the given events event_log holds with other content (event_store.h): whole events
 * compared (event_log_event: a manifest stored before migration 0070 holds its tokens in body),
 * and jsonb equality is by value, so the same event encoded by another writer's schema is the
 * same content. */
static const char EVENT_STORE_CONFLICTS_SQL[] =
    "SELECT r.event_id FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, body jsonb, "
    "tokens text) JOIN event_log e ON e.event_id = r.event_id "
    "WHERE event_log_event(e.body, e.tokens) <> event_log_event(r.body, decode(r.tokens, 'hex'))";

/* Serialises a JSON parameter; NULL with err set when out of memory. */
static char *event_store_dump(json_t *value, const char *what, char *err, size_t errlen)
{
    char *text = json_text_compact(value);
    if (!text)
        snprintf(err, errlen, "%s: cannot serialise the JSON parameter (out of memory)", what);
    return text;
}

int event_store_load_opened(PGconn *pg, const char *const *ids, size_t n, strset *known, char *err,
                            size_t errlen)
{
    if (n == 0) return 0;
    json_t *arr = json_array();
    if (!arr) {
        snprintf(err, errlen, "ingest.load_opened: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(arr, json_string(ids[i])) != 0) {
            json_decref(arr);
            snprintf(err, errlen, "ingest.load_opened: incident id %zu: not UTF-8 or out of memory",
                     i);
            return -1;
        }
    char *param = event_store_dump(arr, "ingest.load_opened", err, errlen);
    json_decref(arr);
    if (!param) return -1;
    const char *params[] = {param};
    PGresult *res = pgx_query_replanned(pg, "ingest.load_opened", EVENT_STORE_LOAD_OPENED_SQL, 1,
                                        params, err, errlen);
    free(param);
    if (!res) return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        if (strset_add(known, PQgetvalue(res, r, 0)) != 0) {
            snprintf(err, errlen, "ingest.load_opened: out of memory");
            rc = -1;
        }
    PQclear(res);
    return rc;
}

/* The event as stored (event_store.h): *body the whole event but a manifest's tokens, *tokens
 * those as one string of hex digits (JSON null for other kinds). New references, or -1 with err
 * set. For the replay comparison; the INSERT writes its rows' text itself (event_store_put_row). */
static int event_store_split(const mni_event *ev, json_t **body, json_t **tokens, char *err,
                             size_t errlen)
{
    *tokens = NULL;
    *body = mni_event_to_json_without_tokens(ev, err, errlen);
    if (!*body) return -1;
    if (ev->type != MNI_EVENT_EXPOSURE_MANIFEST) {
        *tokens = json_null();
        return 0;
    }
    char *hex = mni_event_manifest_hex(&ev->body.manifest);
    if (hex) *tokens = json_stringn_nocheck(hex, ev->body.manifest.n_tokens * TOKEN_HEX_LEN);
    free(hex);
    if (!*tokens) {
        snprintf(err, errlen, "event %s: cannot split off its tokens (out of memory)",
                 ev->event_id);
        json_decref(*body);
        return -1;
    }
    return 0;
}

/* Appends one row, a JSON object for jsonb_to_recordset, to the chunk's text. Its columns but
 * the tokens go through jansson; the tokens, hex digits only (validated), are written as they
 * are: escaping a manifest's 64 characters per token through json_dumps was a third of
 * ingest's CPU in a W2 run (bench/README.md "CPU per token"). 0, or -1 with err set. */
static int event_store_put_row(buf *text, const event_store_row *row, char *err, size_t errlen)
{
    const mni_event *ev = row->ev;
    char occurred[MNI_EVENT_TIME_LEN];
    const char *kind = mni_event_sym_name(MNI_SYM_TYPE, (int)ev->type);
    const char *client = mni_event_client_id(ev);

    if (!kind || mni_event_time_format(ev->occurred_at_ms, occurred) != 0) {
        snprintf(err, errlen, "event %s: type or occurred_at out of range", ev->event_id);
        return -1;
    }
    json_t *body = mni_event_to_json_without_tokens(ev, err, errlen);
    if (!body) return -1;
    json_t *obj = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:i, s:i, s:I, s:o}", "event_id",
                            ev->event_id, "incident_id", ev->incident_id, "tenant", ev->tenant,
                            "client_id", client ? json_string(client) : json_null(), "kind", kind,
                            "occurred_at", occurred, "src_topic", row->src_topic, "src_partition",
                            (int)row->src_partition, "src_epoch", (int)row->src_epoch, "src_offset",
                            (json_int_t)row->src_offset, "body", body);
    char *cols = obj ? json_text_compact(obj) : NULL;
    json_decref(obj);
    size_t len = cols ? strlen(cols) : 0;
    if (!cols || len < 2 || cols[len - 1] != '}') {
        free(cols);
        snprintf(err, errlen, "event %s: cannot build its row (out of memory)", ev->event_id);
        return -1;
    }
    buf_putn(text, text->len > 1 ? "," : "", text->len > 1 ? 1 : 0);
    buf_putn(text, cols, len - 1); /* the object, open for one more key */
    free(cols);
    if (ev->type == MNI_EVENT_EXPOSURE_MANIFEST) {
        const mni_event_exposure_manifest *m = &ev->body.manifest;
        buf_puts(text, ",\"tokens\":\"");
        for (size_t i = 0; i < m->n_tokens; i++)
            buf_putn(text, m->tokens[i], TOKEN_HEX_LEN);
        buf_puts(text, "\"}");
    } else {
        buf_puts(text, ",\"tokens\":null}");
    }
    return 0;
}

/* Runs the INSERT for one chunk (the text of a JSON array of rows, closed here) and records the
 * new event ids; the chunk's text is emptied. */
static int event_store_flush(PGconn *pg, buf *text, strset *inserted, char *err, size_t errlen)
{
    if (text->len <= 1) return 0;
    buf_puts(text, "]");
    char *param = buf_take(text);
    buf_puts(text, "[");
    if (!param) {
        snprintf(err, errlen, "ingest.insert_events: cannot build the rows (out of memory)");
        return -1;
    }
    const char *params[] = {param};
    PGresult *res =
        pgx_query(pg, "ingest.insert_events", EVENT_STORE_INSERT_SQL, 1, params, err, errlen);
    free(param);
    if (!res) return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        if (strset_add(inserted, PQgetvalue(res, r, 0)) != 0) {
            snprintf(err, errlen, "ingest.insert_events: out of memory");
            rc = -1;
        }
    PQclear(res);
    return rc;
}

/* Looks for a clash among the rows that were not inserted (event_store.h). */
static int event_store_find_clash(PGconn *pg, const event_store_row *rows, size_t n,
                                  const strset *inserted, event_store_clash *clash, char *err,
                                  size_t errlen)
{
    json_t *refused = json_array();
    int rc = refused ? 0 : -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strset_contains(inserted, rows[i].ev->event_id)) continue;
        json_t *r =
            json_pack("{s:s, s:s, s:i, s:i, s:I}", "event_id", rows[i].ev->event_id, "src_topic",
                      rows[i].src_topic, "src_partition", (int)rows[i].src_partition, "src_epoch",
                      (int)rows[i].src_epoch, "src_offset", (json_int_t)rows[i].src_offset);
        if (!r || json_array_append_new(refused, r) != 0) rc = -1;
    }
    if (rc != 0) {
        json_decref(refused);
        snprintf(err, errlen, "ingest.find_clash: out of memory");
        return -1;
    }
    if (json_array_size(refused) == 0) {
        json_decref(refused);
        return 0;
    }
    char *param = event_store_dump(refused, "ingest.find_clash", err, errlen);
    json_decref(refused);
    if (!param) return -1;
    const char *params[] = {param};
    PGresult *res =
        pgx_query(pg, "ingest.find_clash", EVENT_STORE_CLASH_SQL, 1, params, err, errlen);
    free(param);
    if (!res) return -1;
    if (PQntuples(res) > 0) {
        clash->found = 1;
        clash->partition = (int32_t)atoi(PQgetvalue(res, 0, 0));
        clash->offset = atoll(PQgetvalue(res, 0, 1));
        snprintf(clash->event_id, sizeof clash->event_id, "%s", PQgetvalue(res, 0, 2));
        snprintf(clash->stored_id, sizeof clash->stored_id, "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return 0;
}

/* Adds to conflicting the event id of each row not inserted whose stored body differs. */
static int event_store_find_conflicts(PGconn *pg, const event_store_row *rows, size_t n,
                                      const strset *inserted, strset *conflicting, char *err,
                                      size_t errlen)
{
    json_t *replayed = json_array();
    int rc = replayed ? 0 : -1;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strset_contains(inserted, rows[i].ev->event_id)) continue;
        json_t *body, *tokens;
        json_t *r = event_store_split(rows[i].ev, &body, &tokens, err, errlen) == 0
                        ? json_pack("{s:s, s:o, s:o}", "event_id", rows[i].ev->event_id, "body",
                                    body, "tokens", tokens)
                        : NULL;
        if (!r || json_array_append_new(replayed, r) != 0) rc = -1;
    }
    if (rc != 0 || json_array_size(replayed) == 0) {
        json_decref(replayed);
        if (rc != 0) snprintf(err, errlen, "ingest.find_conflicts: out of memory");
        return rc;
    }
    char *param = event_store_dump(replayed, "ingest.find_conflicts", err, errlen);
    json_decref(replayed);
    if (!param) return -1;
    const char *params[] = {param};
    PGresult *res =
        pgx_query(pg, "ingest.find_conflicts", EVENT_STORE_CONFLICTS_SQL, 1, params, err, errlen);
    free(param);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        if (strset_add(conflicting, PQgetvalue(res, r, 0)) != 0) {
            snprintf(err, errlen, "ingest.find_conflicts: out of memory");
            rc = -1;
        }
    PQclear(res);
    return rc;
}

int event_store_insert(PGconn *pg, const event_store_row *rows, size_t n, strset *inserted,
                       strset *conflicting, event_store_clash *clash, char *err, size_t errlen)
{
    clash->found = 0;
    buf text;
    size_t bytes = 0;
    int rc = 0;

    buf_init(&text, BUF_NO_LIMIT);
    buf_puts(&text, "[");
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = event_store_put_row(&text, &rows[i], err, errlen);
        /* JSON is roughly twice the Avro size, plus the envelope and the row's columns. */
        bytes += 2 * rows[i].wire_len + 256;
        if (rc == 0 && bytes >= EVENT_STORE_CHUNK_BYTES) {
            rc = event_store_flush(pg, &text, inserted, err, errlen);
            bytes = 0;
        }
    }
    if (rc == 0) rc = event_store_flush(pg, &text, inserted, err, errlen);
    buf_free(&text);
    if (rc == 0) rc = event_store_find_clash(pg, rows, n, inserted, clash, err, errlen);
    if (rc == 0 && !clash->found)
        rc = event_store_find_conflicts(pg, rows, n, inserted, conflicting, err, errlen);
    return rc;
}
