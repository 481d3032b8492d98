/*
 * event_store: see event_store.h.
 */
#include "ingest/event_store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/model/events_json.h"
#include "lib/model/json_text.h"
#include "lib/model/token.h"
#include "lib/pg/pgx.h"

static const char EVENT_STORE_LOAD_OPENED_SQL[] =
    "SELECT DISTINCT incident_id FROM event_log "
    "WHERE kind = 'incident_opened' "
    "AND incident_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))";

/* The batch's rows go to this session's staging table with COPY, and from there into
 * event_log with one statement that also empties it. Until stop 28 they went as one JSON array
 * parameter through jsonb_to_recordset, which parsed the whole batch as JSON first: 6,000 W3
 * events took 128-171 ms that way, against 24 ms of COPY and 44-53 ms of INSERT from the
 * staging table. A rollback or a reconnect drops the table (event_store_stage). */
static const char EVENT_STORE_STAGE_SQL[] =
    "CREATE TEMP TABLE IF NOT EXISTS ingest_events (event_id text, incident_id text, "
    "tenant text, client_id text, kind text, occurred_at timestamptz, src_topic text, "
    "src_partition integer, src_epoch integer, src_offset bigint, body jsonb, tokens text)";

static const char EVENT_STORE_COPY_SQL[] =
    "COPY ingest_events (event_id, incident_id, tenant, client_id, kind, occurred_at, "
    "src_topic, src_partition, src_epoch, src_offset, body, tokens) FROM STDIN";

static const char EVENT_STORE_INSERT_SQL[] =
    "WITH staged AS (DELETE FROM ingest_events RETURNING *) "
    "INSERT INTO event_log (event_id, incident_id, tenant, client_id, kind, occurred_at, "
    "src_topic, src_partition, src_epoch, src_offset, body, tokens) "
    "SELECT event_id, incident_id, tenant, client_id, kind, occurred_at, src_topic, "
    "src_partition, src_epoch, src_offset, body, decode(tokens, 'hex') FROM staged "
    "ON CONFLICT DO NOTHING RETURNING event_id";

/* The DELETE above leaves the staging table's pages behind (a manifest's tokens in its TOAST
 * table), and autovacuum never visits a temporary table: after EVENT_STORE_TRUNCATE_EVERY
 * inserts, or once EVENT_STORE_TRUNCATE_BYTES of rows were staged (batches of large
 * manifests), it is truncated instead (a TRUNCATE costs a few milliseconds of file work;
 * assess/batch_store.c does the same). */
#define EVENT_STORE_TRUNCATE_EVERY 32
#define EVENT_STORE_TRUNCATE_BYTES ((size_t)64 << 20)

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

/* Makes sure this session has the staging table (created in a batch's transaction, it goes
 * when that batch rolls back, and with the session on a reconnect: so asked every time, as
 * assess does), and empties it now and then (above) before rows of about `bytes` are staged. */
static int event_store_stage(PGconn *pg, size_t bytes, char *err, size_t errlen)
{
    static unsigned inserts;
    static size_t staged;
    if (pgx_exec(pg, "ingest.stage", EVENT_STORE_STAGE_SQL, err, errlen) != 0) return -1;
    if (++inserts % EVENT_STORE_TRUNCATE_EVERY == 0 || staged >= EVENT_STORE_TRUNCATE_BYTES) {
        staged = 0;
        if (pgx_exec(pg, "ingest.stage_truncate", "TRUNCATE ingest_events", err, errlen) != 0)
            return -1;
    }
    staged += bytes;
    return 0;
}

/* COPYs one row into the staging table: the event's columns, its body as JSON text (the
 * whole event but a manifest's tokens) and a manifest's tokens as one string of hex digits
 * (mni_event_manifest_hex; NULL for other kinds), decoded by the INSERT. 0, or
 * -1 with err set; a failed COPY itself is reported by pgx_copy_end. */
static int event_store_put_row(pgx_copy *cp, const event_store_row *row, char *err, size_t errlen)
{
    const mni_event *ev = row->ev;
    char occurred[MNI_EVENT_TIME_LEN];
    const char *kind = mni_event_sym_name(MNI_SYM_TYPE, (int)ev->type);

    if (!kind || mni_event_time_format(ev->occurred_at_ms, occurred) != 0) {
        snprintf(err, errlen, "event %s: type or occurred_at out of range", ev->event_id);
        return -1;
    }
    json_t *body = mni_event_to_json_without_tokens(ev, err, errlen);
    if (!body) return -1;
    char *body_text = json_text_compact(body);
    json_decref(body);
    int manifest = ev->type == MNI_EVENT_EXPOSURE_MANIFEST;
    char *tokens = manifest && body_text ? mni_event_manifest_hex(&ev->body.manifest) : NULL;
    if (!body_text || (manifest && !tokens)) {
        free(body_text);
        snprintf(err, errlen, "event %s: cannot build its row (out of memory)", ev->event_id);
        return -1;
    }
    pgx_copy_field(cp, ev->event_id);
    pgx_copy_field(cp, ev->incident_id);
    pgx_copy_field(cp, ev->tenant);
    pgx_copy_field(cp, mni_event_client_id(ev));
    pgx_copy_field(cp, kind);
    pgx_copy_field(cp, occurred);
    pgx_copy_field(cp, row->src_topic);
    pgx_copy_field_int(cp, row->src_partition);
    pgx_copy_field_int(cp, row->src_epoch);
    pgx_copy_field_int(cp, row->src_offset);
    pgx_copy_field(cp, body_text);
    pgx_copy_field(cp, tokens);
    pgx_copy_end_row(cp);
    free(body_text);
    free(tokens);
    return 0;
}

/* COPYs rows[0..n) into the staging table, then inserts them into event_log (emptying the
 * table) and records the new event ids. */
static int event_store_put_all(PGconn *pg, const event_store_row *rows, size_t n, strset *inserted,
                               char *err, size_t errlen)
{
    pgx_copy cp;
    if (pgx_copy_begin(&cp, pg, "ingest.copy_events", EVENT_STORE_COPY_SQL, err, errlen) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = event_store_put_row(&cp, &rows[i], err, errlen);
    if (rc != 0) {
        char ignored[256];
        pgx_copy_abort(&cp, err, ignored, sizeof ignored);
        return -1;
    }
    if (pgx_copy_end(&cp, NULL, err, errlen) != 0) return -1;
    PGresult *res =
        pgx_query(pg, "ingest.insert_events", EVENT_STORE_INSERT_SQL, 0, NULL, err, errlen);
    if (!res) return -1;
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
    if (n == 0) return 0;
    size_t bytes = 0; /* about what the rows take in the staging table: their columns and body
                         a kilobyte at most, a manifest's tokens 32 bytes each */
    for (size_t i = 0; i < n; i++)
        bytes += 1024 + (rows[i].ev->type == MNI_EVENT_EXPOSURE_MANIFEST
                             ? rows[i].ev->body.manifest.n_tokens * TOKEN_HEX_LEN / 2
                             : 0);
    int rc = event_store_stage(pg, bytes, err, errlen);
    if (rc == 0) rc = event_store_put_all(pg, rows, n, inserted, err, errlen);
    if (rc == 0) rc = event_store_find_clash(pg, rows, n, inserted, clash, err, errlen);
    if (rc == 0 && !clash->found)
        rc = event_store_find_conflicts(pg, rows, n, inserted, conflicting, err, errlen);
    return rc;
}
