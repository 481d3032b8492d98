/*
 * waiting_store: see waiting_store.h.
 */
#include "ingest/waiting_store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/digest.h"
#include "lib/base/timefmt.h"
#include "lib/model/json_text.h"
#include "lib/pg/pgx.h"

static const char WAITING_COUNT_SQL[] = "SELECT count(*) FROM waiting_events";

/* Binary result (pgx_query_binary): numbers as text so that they read like the rest. */
static const char WAITING_LOAD_SQL[] =
    "SELECT event_id, incident_id, kind, "
    "floor(extract(epoch FROM occurred_at) * 1000)::bigint::text, src_epoch::text, "
    "src_partition::text, src_offset::text, payload FROM waiting_events "
    "WHERE incident_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb))) "
    "ORDER BY incident_id COLLATE \"C\", occurred_at, src_epoch, src_partition, src_offset, "
    "event_id COLLATE \"C\"";

static const char WAITING_PARK_SQL[] =
    "INSERT INTO waiting_events (event_id, incident_id, kind, occurred_at, src_epoch, "
    "src_partition, src_offset, payload) "
    "SELECT r.event_id, r.incident_id, r.kind, r.occurred_at, r.src_epoch, r.src_partition, "
    "r.src_offset, decode(r.payload, 'hex') "
    "FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, incident_id text, kind text, "
    "occurred_at timestamptz, src_epoch integer, src_partition integer, src_offset bigint, "
    "payload text) ON CONFLICT (event_id) DO NOTHING";

static const char WAITING_RELEASE_SQL[] = "DELETE FROM waiting_events WHERE event_id = ANY "
                                          "(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))";

static const char WAITING_SUMMARY_SQL[] =
    "SELECT count(*), coalesce(floor(extract(epoch FROM now() - min(waiting_since))), 0)::bigint, "
    "count(*) FILTER (WHERE waiting_since < now() - make_interval(secs => $1::bigint)) "
    "FROM waiting_events";

static const char WAITING_OVERDUE_SQL[] =
    "UPDATE waiting_events SET reported_at = now() WHERE event_id IN (SELECT event_id FROM "
    "waiting_events WHERE reported_at IS NULL AND waiting_since < now() - "
    "make_interval(secs => $1::bigint) ORDER BY waiting_since LIMIT $2::integer) "
    "RETURNING event_id, incident_id, kind, "
    "floor(extract(epoch FROM now() - waiting_since))::bigint";

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

int waiting_event_cmp(const void *pa, const void *pb)
{
    const waiting_event *a = pa, *b = pb;
    int c = cmp_i64(a->occurred_at_ms, b->occurred_at_ms);
    if (!c) c = cmp_i64(a->src_epoch, b->src_epoch);
    if (!c) c = cmp_i64(a->src_partition, b->src_partition);
    if (!c) c = cmp_i64(a->src_offset, b->src_offset);
    return c ? c : strcmp(a->event_id, b->event_id);
}

void waiting_loaded_free(waiting_loaded *l)
{
    PQclear(l->res);
    free(l->v);
    memset(l, 0, sizeof *l);
}

size_t waiting_loaded_find(const waiting_loaded *l, const char *incident_id, size_t *first)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) { /* the first row whose incident is not below incident_id */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(l->v[mid].incident_id, incident_id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < l->n && !strcmp(l->v[end].incident_id, incident_id))
        end++;
    *first = lo;
    return end - lo;
}

/* A JSON array of strings as a parameter; NULL with err set when out of memory. */
static char *ids_param(const char *const *ids, size_t n, const char *what, char *err, size_t errlen)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_string(ids[i])) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    char *text = arr ? json_text_compact(arr) : NULL;
    json_decref(arr);
    if (!text) snprintf(err, errlen, "%s: out of memory (or an id is not UTF-8)", what);
    return text;
}

int waiting_store_count(PGconn *pg, long long *n, char *err, size_t errlen)
{
    PGresult *res = pgx_query(pg, "ingest.waiting_count", WAITING_COUNT_SQL, 0, NULL, err, errlen);
    if (!res) return -1;
    *n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int waiting_store_load(PGconn *pg, const char *const *ids, size_t n, waiting_loaded *out, char *err,
                       size_t errlen)
{
    waiting_loaded_free(out);
    if (n == 0) return 0;
    char *param = ids_param(ids, n, "ingest.waiting_load", err, errlen);
    if (!param) return -1;
    const char *params[] = {param};
    out->res =
        pgx_query_binary(pg, "ingest.waiting_load", WAITING_LOAD_SQL, 1, params, err, errlen);
    free(param);
    if (!out->res) return -1;
    size_t rows = (size_t)PQntuples(out->res);
    if (rows == 0) return 0;
    out->v = calloc(rows, sizeof *out->v);
    if (!out->v) {
        snprintf(err, errlen, "ingest.waiting_load: out of memory for %zu events", rows);
        waiting_loaded_free(out);
        return -1;
    }
    for (size_t r = 0; r < rows; r++) {
        PGresult *res = out->res;
        int i = (int)r;
        out->v[r] = (waiting_event){
            .event_id = PQgetvalue(res, i, 0),
            .incident_id = PQgetvalue(res, i, 1),
            .kind = PQgetvalue(res, i, 2),
            .occurred_at_ms = atoll(PQgetvalue(res, i, 3)),
            .src_epoch = (int32_t)atol(PQgetvalue(res, i, 4)),
            .src_partition = (int32_t)atol(PQgetvalue(res, i, 5)),
            .src_offset = atoll(PQgetvalue(res, i, 6)),
            .payload = PQgetvalue(res, i, 7),
            .len = (size_t)PQgetlength(res, i, 7),
        };
    }
    out->n = rows;
    return 0;
}

/* One row for jsonb_to_recordset; NULL when out of memory. */
static json_t *park_row(const waiting_event *e)
{
    char occurred[32];
    timefmt_format_utc_ms(e->occurred_at_ms, occurred);
    char *hex = malloc(2 * e->len + 1);
    if (!hex) return NULL;
    digest_hex(e->payload, e->len, hex);
    json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:I, s:s}", "event_id", e->event_id,
                            "incident_id", e->incident_id, "kind", e->kind, "occurred_at", occurred,
                            "src_epoch", (int)e->src_epoch, "src_partition", (int)e->src_partition,
                            "src_offset", (json_int_t)e->src_offset, "payload", hex);
    free(hex);
    return row;
}

static int park_flush(PGconn *pg, json_t *chunk, char *err, size_t errlen)
{
    if (json_array_size(chunk) == 0) return 0;
    char *param = json_text_compact(chunk);
    json_array_clear(chunk);
    if (!param) {
        snprintf(err, errlen, "ingest.waiting_park: out of memory");
        return -1;
    }
    const char *params[] = {param};
    int rc =
        pgx_exec_params(pg, "ingest.waiting_park", WAITING_PARK_SQL, 1, params, NULL, err, errlen);
    free(param);
    return rc;
}

int waiting_store_park(PGconn *pg, const waiting_event *rows, size_t n, char *err, size_t errlen)
{
    if (n == 0) return 0;
    json_t *chunk = json_array();
    if (!chunk) {
        snprintf(err, errlen, "ingest.waiting_park: out of memory");
        return -1;
    }
    size_t bytes = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_t *row = park_row(&rows[i]);
        if (!row || json_array_append_new(chunk, row) != 0) {
            snprintf(err, errlen, "ingest.waiting_park: event %s: out of memory", rows[i].event_id);
            rc = -1;
            break;
        }
        bytes += 2 * rows[i].len + 256;
        if (bytes >= WAITING_STORE_CHUNK_BYTES) {
            rc = park_flush(pg, chunk, err, errlen);
            bytes = 0;
        }
    }
    if (rc == 0) rc = park_flush(pg, chunk, err, errlen);
    json_decref(chunk);
    return rc;
}

int waiting_store_release(PGconn *pg, const char *const *event_ids, size_t n, char *err,
                          size_t errlen)
{
    if (n == 0) return 0;
    char *param = ids_param(event_ids, n, "ingest.waiting_release", err, errlen);
    if (!param) return -1;
    const char *params[] = {param};
    int rc = pgx_exec_params(pg, "ingest.waiting_release", WAITING_RELEASE_SQL, 1, params, NULL,
                             err, errlen);
    free(param);
    return rc;
}

int waiting_store_summary(PGconn *pg, long long warn_after_s, waiting_summary *out, char *err,
                          size_t errlen)
{
    char after[24];
    snprintf(after, sizeof after, "%lld", warn_after_s);
    const char *params[] = {after};
    PGresult *res =
        pgx_query(pg, "ingest.waiting_summary", WAITING_SUMMARY_SQL, 1, params, err, errlen);
    if (!res) return -1;
    out->events = atoll(PQgetvalue(res, 0, 0));
    out->oldest_age_s = atoll(PQgetvalue(res, 0, 1));
    out->overdue = atoll(PQgetvalue(res, 0, 2));
    PQclear(res);
    return 0;
}

int waiting_store_overdue(PGconn *pg, long long warn_after_s, int limit,
                          void (*report)(void *ctx, const char *event_id, const char *incident_id,
                                         const char *kind, long long age_s),
                          void *ctx, char *err, size_t errlen)
{
    char after[24], lim[16];
    snprintf(after, sizeof after, "%lld", warn_after_s);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {after, lim};
    PGresult *res =
        pgx_query(pg, "ingest.waiting_overdue", WAITING_OVERDUE_SQL, 2, params, err, errlen);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++)
        report(ctx, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
               atoll(PQgetvalue(res, r, 3)));
    PQclear(res);
    return 0;
}
