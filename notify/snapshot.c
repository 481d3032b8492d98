/*
 * snapshot: see snapshot.h. One query per table; each names itself in errors
 * ("notify.snapshot_version: ..."). The version's reads share two parameters: the version
 * ($2, NULL for the case as it is now) and its cause event ($3).
 */
#include "notify/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/strset.h"
#include "lib/base/timefmt.h"
#include "lib/model/json_text.h"
#include "lib/pg/pgx.h"

#define EPOCH_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

/* The events a version rests on (snapshot.h): joined as e, with $2 and $3 as above. */
#define AS_OF_VERSION "($2::integer IS NULL OR e.version_after < $2::integer OR e.event_id = $3)"

/* Which version is read, and what it says. */
typedef struct {
    char version[16]; /* "" when the case has no such version: read it as it is now */
    char *cause;      /* its cause event, or NULL */
} as_of;

/* An epoch-milliseconds column as RFC 3339 Japan time, or JSON null. */
static json_t *time_value(PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c)) return json_null();
    char text[32];
    timefmt_format_jst_ms(atoll(PQgetvalue(res, r, c)), text);
    return json_string(text);
}

static json_t *text_value(PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c)) return json_null();
    json_t *s = json_string(PQgetvalue(res, r, c));
    return s ? s : json_null(); /* not UTF-8: the renderer says 調査中 rather than guess */
}

static json_t *int_value(PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? json_null() : json_integer(atoll(PQgetvalue(res, r, c)));
}

static json_t *json_value(PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c)) return NULL;
    json_error_t jerr;
    return json_loads(PQgetvalue(res, r, c), 0, &jerr);
}

/* The facts' known_at (UTC, as assess stores it) in Japan time, or JSON null. */
static json_t *known_at_value(const json_t *facts)
{
    const char *text = json_string_value(json_object_get(facts, "known_at"));
    int64_t ms;
    char why[128], out[32];
    if (!text || timefmt_parse_rfc3339(text, &ms, why, sizeof why) != 0) return json_null();
    timefmt_format_jst_ms(ms, out);
    return json_string(out);
}

/* A case_steps row as the snapshot lists it: step and completed_at from columns c, c+1. */
static json_t *step_value(PGresult *res, int r, int c)
{
    return json_pack("{s:o, s:o}", "step", text_value(res, r, c), "completed_at",
                     time_value(res, r, c + 1));
}

/* A case_filings row as the snapshot lists it: report, client_id, filed_at and reference from
 * columns c to c+3. */
static json_t *filing_value(PGresult *res, int r, int c)
{
    return json_pack("{s:o, s:o, s:o, s:o}", "report", text_value(res, r, c), "client_id",
                     text_value(res, r, c + 1), "filed_at", time_value(res, r, c + 2), "reference",
                     text_value(res, r, c + 3));
}

/* The case and the version asked for (0: the latest), whole or as one client sees it
 * (migration 0012) when the task is about one client. */
static int load_version(PGconn *pg, const char *incident_id, const char *client_id, int version,
                        json_t *snap, as_of *at, int *missing, char *err, size_t errlen)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[] = {incident_id, v, client_id};
    PGresult *res = pgx_query(
        pg, client_id ? "notify.snapshot_client_version" : "notify.snapshot_version",
        client_id
            ? "SELECT c.tenant, c.status, " EPOCH_MS(
                  "c.opened_at") ", v.version, coalesce(v.facts, c.facts)::text, "
                                 "v.cause_event_id, case_verdict_of_client(v.incident_id, "
                                 "v.version, $3)::text FROM cases c LEFT JOIN case_versions v "
                                 "ON v.incident_id = c.incident_id AND v.version = CASE WHEN "
                                 "$2::integer > 0 THEN $2::integer ELSE c.version END "
                                 "WHERE c.incident_id = $1"
            : "SELECT c.tenant, c.status, " EPOCH_MS(
                  "c.opened_at") ", v.version, coalesce(v.facts, c.facts)::text, "
                                 "v.cause_event_id, case_verdict(v.incident_id, v.version)::text "
                                 "FROM cases c LEFT JOIN case_versions v ON v.incident_id = "
                                 "c.incident_id AND v.version = CASE WHEN $2::integer > 0 THEN "
                                 "$2::integer ELSE c.version END WHERE c.incident_id = $1",
        client_id ? 3 : 2, p, err, errlen);
    if (!res) return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        *missing = 1;
        return -1;
    }
    int found = !PQgetisnull(res, 0, 3);
    if (found) {
        snprintf(at->version, sizeof at->version, "%s", PQgetvalue(res, 0, 3));
        if (!PQgetisnull(res, 0, 5) && !(at->cause = strdup(PQgetvalue(res, 0, 5)))) {
            PQclear(res);
            snprintf(err, errlen, "notify.snapshot: out of memory for the cause event");
            return -1;
        }
    }
    json_t *facts = json_value(res, 0, 4), *verdict = found ? json_value(res, 0, 6) : NULL;
    if (!facts) facts = json_object();
    json_object_set_new(snap, "tenant", text_value(res, 0, 0));
    json_object_set_new(snap, "status", found ? json_string("open") : text_value(res, 0, 1));
    json_object_set_new(snap, "known_at", known_at_value(facts));
    json_object_set_new(snap, "opened_at", time_value(res, 0, 2));
    json_object_set_new(snap, "facts", facts);
    json_object_set_new(snap, "case_version", found ? int_value(res, 0, 3) : json_integer(0));
    json_object_set_new(snap, "verdict", verdict ? verdict : json_null());
    PQclear(res);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Each client's counts as the version's verdict has them: headcount.clients is the count
 * the rules used (the possible maximum when one is given), headcount.clients_known the
 * persons known. Ordered by client id. */
static int clients_of_verdict(json_t *snap, char *err, size_t errlen)
{
    const json_t *headcount = json_object_get(json_object_get(snap, "verdict"), "headcount");
    const json_t *counts = json_object_get(headcount, "clients");
    const json_t *known = json_object_get(headcount, "clients_known");
    size_t n = json_object_size(counts);
    const char **ids = calloc(n + 1, sizeof *ids);
    json_t *arr = json_array();
    if (!ids || !arr) {
        free(ids);
        json_decref(arr);
        snprintf(err, errlen, "notify.snapshot: out of memory for the clients");
        return -1;
    }
    size_t k = 0;
    const char *id;
    const json_t *value;
    json_object_foreach ((json_t *)counts, id, value)
        ids[k++] = id;
    qsort(ids, k, sizeof *ids, cmp_str);
    for (size_t i = 0; i < k; i++) {
        json_int_t count = json_integer_value(json_object_get(counts, ids[i]));
        const json_t *kn = json_object_get(known, ids[i]);
        json_int_t persons = json_is_integer(kn) ? json_integer_value(kn) : count;
        json_array_append_new(arr, json_pack("{s:s, s:I, s:o}", "client_id", ids[i], "persons",
                                             persons, "persons_max",
                                             count > persons ? json_integer(count) : json_null()));
    }
    free(ids);
    json_object_set_new(snap, "clients", arr);
    return 0;
}

/* The case as it is now, for a case without a version: client_exposure. */
static int clients_now(PGconn *pg, const char *incident_id, const char *client_id, json_t *snap,
                       char *err, size_t errlen)
{
    const char *p[] = {incident_id, client_id};
    PGresult *res =
        pgx_query(pg, "notify.snapshot_clients",
                  "SELECT client_id, mni_client_persons(persons, token_count), persons_max "
                  "FROM client_exposure WHERE incident_id = $1 "
                  "AND ($2::text IS NULL OR client_id = $2) "
                  "ORDER BY client_id COLLATE \"C\"",
                  2, p, err, errlen);
    if (!res) return -1;
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(arr, json_pack("{s:o, s:o, s:o}", "client_id", text_value(res, r, 0),
                                             "persons", int_value(res, r, 1), "persons_max",
                                             int_value(res, r, 2)));
    json_object_set_new(snap, "clients", arr);
    PQclear(res);
    return 0;
}

static int load_steps(PGconn *pg, const char *incident_id, const as_of *at, json_t *snap, char *err,
                      size_t errlen)
{
    const char *p[] = {incident_id, at->version[0] ? at->version : NULL, at->cause};
    PGresult *res = pgx_query(
        pg, "notify.snapshot_steps",
        "SELECT s.step, " EPOCH_MS("s.completed_at") " FROM case_steps s JOIN case_events e "
                                                     "ON e.event_id = s.event_id "
                                                     "WHERE s.incident_id = $1 "
                                                     "AND " AS_OF_VERSION
                                                     " ORDER BY s.completed_at, s.step",
        3, p, err, errlen);
    if (!res) return -1;
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(arr, step_value(res, r, 0));
    json_object_set_new(snap, "steps", arr);
    PQclear(res);
    return 0;
}

static int load_filings(PGconn *pg, const char *incident_id, const as_of *at, json_t *snap,
                        char *err, size_t errlen)
{
    const char *p[] = {incident_id, at->version[0] ? at->version : NULL, at->cause};
    PGresult *res =
        pgx_query(pg, "notify.snapshot_filings",
                  "SELECT f.report, f.client_id, " EPOCH_MS(
                      "f.filed_at") ", f.reference FROM case_filings f JOIN case_events e "
                                    "ON e.event_id = f.event_id WHERE f.incident_id = $1 "
                                    "AND " AS_OF_VERSION " ORDER BY f.filed_at, f.event_id",
                  3, p, err, errlen);
    if (!res) return -1;
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(arr, filing_value(res, r, 0));
    json_object_set_new(snap, "filings", arr);
    PQclear(res);
    return 0;
}

/* Title and description: the opening event's, replaced by any later update that carries one,
 * as assess recorded them with each event it applied (case_events, migration 0075): not from
 * event_log, which ingest may commit after assess applied the event. */
static int load_texts(PGconn *pg, const char *incident_id, const as_of *at, json_t *snap, char *err,
                      size_t errlen)
{
    const char *p[] = {incident_id, at->version[0] ? at->version : NULL, at->cause};
    PGresult *res = pgx_query(pg, "notify.snapshot_texts",
                              "SELECT e.title, e.description FROM case_events e "
                              "WHERE e.incident_id = $1 AND e.kind IN ('incident_opened', "
                              "'facts_updated') AND (e.title IS NOT NULL OR e.description IS NOT "
                              "NULL) AND " AS_OF_VERSION " ORDER BY e.kind <> 'incident_opened', "
                              "e.occurred_at, e.event_id",
                              3, p, err, errlen);
    if (!res) return -1;
    json_object_set_new(snap, "title", json_null());
    json_object_set_new(snap, "description", json_null());
    for (int r = 0; r < PQntuples(res); r++) {
        if (!PQgetisnull(res, r, 0)) json_object_set_new(snap, "title", text_value(res, r, 0));
        if (!PQgetisnull(res, r, 1))
            json_object_set_new(snap, "description", text_value(res, r, 1));
    }
    PQclear(res);
    return 0;
}

json_t *notify_snapshot_load(PGconn *pg, const char *incident_id, const char *client_id,
                             int version, int *missing, char *err, size_t errlen)
{
    *missing = 0;
    json_t *snap = json_pack("{s:s}", "incident_id", incident_id);
    if (!snap) {
        snprintf(err, errlen, "notify.snapshot: incident_id: not UTF-8 or out of memory");
        return NULL;
    }
    as_of at = {"", NULL};
    int rc = load_version(pg, incident_id, client_id, version, snap, &at, missing, err, errlen);
    if (rc == 0)
        rc = at.version[0] ? clients_of_verdict(snap, err, errlen)
                           : clients_now(pg, incident_id, client_id, snap, err, errlen);
    if (rc == 0) rc = load_steps(pg, incident_id, &at, snap, err, errlen);
    if (rc == 0) rc = load_filings(pg, incident_id, &at, snap, err, errlen);
    if (rc == 0) rc = load_texts(pg, incident_id, &at, snap, err, errlen);
    free(at.cause);
    if (rc != 0) {
        json_decref(snap);
        return NULL;
    }
    return snap;
}

/* ---- a batch's snapshots (notify_snapshot_load_many) ---- */

/* One (incident, version asked for) of the batch, and what its reads found. */
typedef struct {
    const char *incident_id;
    int version;     /* as asked: 0 for the latest */
    int found;       /* 1: the case and the version exist; 0: see missing/fallback */
    int no_version;  /* the case exists but has no such version: read per task (snapshot.h) */
    int case_part;   /* some want of the group reads the version's stored verdict */
    json_t *verdict; /* that verdict (case_part), or NULL */
    char at[16];     /* the version read */
    char *cause;     /* its cause event, or NULL */
    json_t *tenant, *opened_at, *facts, *known_at, *steps, *filings, *title, *description;
} snap_group;

static void group_free(snap_group *g)
{
    free(g->cause);
    json_decref(g->tenant);
    json_decref(g->opened_at);
    json_decref(g->facts);
    json_decref(g->known_at);
    json_decref(g->steps);
    json_decref(g->filings);
    json_decref(g->title);
    json_decref(g->description);
    json_decref(g->verdict);
}

/* The groups' (n, incident_id, version) as a JSON text for jsonb_to_recordset; with found
 * groups only and their version read and cause when `read` is set. */
static char *groups_param(const snap_group *g, size_t n, int read)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (read && !g[i].found) continue;
        json_array_append_new(arr,
                              json_pack("{s:I, s:s, s:I, s:o, s:b}", "n", (json_int_t)i,
                                        "incident_id", g[i].incident_id, "version",
                                        (json_int_t)(read ? atoi(g[i].at) : g[i].version), "cause",
                                        read && g[i].cause ? json_string(g[i].cause) : json_null(),
                                        "case_part", g[i].case_part));
    }
    char *text = arr ? json_text_compact(arr) : NULL;
    json_decref(arr);
    return text;
}

#define GROUPS                                                                                     \
    "jsonb_to_recordset($1::jsonb) AS g(n integer, incident_id text, version integer, cause "      \
    "text, case_part boolean)"
#define AS_OF_GROUP "(e.version_after < g.version OR e.event_id = g.cause)"
/* The groups' incidents as an array: "t.incident_id = " GROUP_INCIDENTS lets the plan read a
 * table by its incident index. Joined on jsonb_to_recordset alone (guessed at 100 rows), the
 * plan hashed it and read all of cases, case_steps, case_filings and case_events at every
 * batch (tests/integration/test_batch_reads.c). */
#define GROUP_INCIDENTS                                                                            \
    "ANY (ARRAY(SELECT x.incident_id FROM jsonb_to_recordset($1::jsonb) AS x(incident_id text)))"

/* The case row and the version of each group (with its stored verdict when case_part), one
 * statement. */
static int groups_load_versions(PGconn *pg, snap_group *g, size_t n, char *err, size_t errlen)
{
    char *param = groups_param(g, n, 0);
    if (!param) {
        snprintf(err, errlen, "notify.snapshot_batch: out of memory for the groups");
        return -1;
    }
    const char *p[] = {param};
    PGresult *res = pgx_query(
        pg, "notify.snapshot_batch_versions",
        "SELECT g.n, c.tenant, " EPOCH_MS(
            "c.opened_at") ", v.version, "
                           "coalesce(v.facts, c.facts)::text, v.cause_event_id, CASE WHEN "
                           "g.case_part THEN v.verdict::text END FROM " GROUPS
                           " JOIN cases c ON c.incident_id = g.incident_id LEFT JOIN case_versions "
                           "v ON "
                           "v.incident_id = c.incident_id AND v.version = CASE WHEN g.version > 0 "
                           "THEN g.version "
                           "ELSE c.version END WHERE c.incident_id = " GROUP_INCIDENTS,
        1, p, err, errlen);
    free(param);
    if (!res) return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        snap_group *x = &g[atoi(PQgetvalue(res, r, 0))];
        if (PQgetisnull(res, r, 3)) {
            x->no_version = 1;
            continue;
        }
        x->found = 1;
        snprintf(x->at, sizeof x->at, "%s", PQgetvalue(res, r, 3));
        if (!PQgetisnull(res, r, 5) && !(x->cause = strdup(PQgetvalue(res, r, 5)))) rc = -1;
        x->tenant = text_value(res, r, 1);
        x->opened_at = time_value(res, r, 2);
        x->facts = json_value(res, r, 4);
        if (!x->facts) x->facts = json_object();
        x->known_at = known_at_value(x->facts);
        x->verdict = json_value(res, r, 6);
        x->steps = json_array();
        x->filings = json_array();
        x->title = json_null();
        x->description = json_null();
        if (!x->facts || !x->steps || !x->filings) rc = -1;
    }
    PQclear(res);
    if (rc != 0) snprintf(err, errlen, "notify.snapshot_batch: out of memory for a case");
    return rc;
}

/* Steps, filings and texts of every found group: one statement each, rows in the group's
 * order then in the order notify_snapshot_load reads them. */
static int groups_load_pieces(PGconn *pg, snap_group *g, size_t n, char *err, size_t errlen)
{
    char *param = groups_param(g, n, 1);
    if (!param) {
        snprintf(err, errlen, "notify.snapshot_batch: out of memory for the groups");
        return -1;
    }
    const char *p[] = {param};
    PGresult *res = pgx_query(
        pg, "notify.snapshot_batch_steps",
        "SELECT g.n, s.step, " EPOCH_MS(
            "s.completed_at") " FROM " GROUPS " JOIN case_steps s ON s.incident_id = "
                              "g.incident_id JOIN case_events e ON "
                              "e.event_id = s.event_id WHERE s.incident_id = " GROUP_INCIDENTS
                              " AND " AS_OF_GROUP " ORDER BY g.n, s.completed_at, s.step",
        1, p, err, errlen);
    for (int r = 0; res && r < PQntuples(res); r++)
        json_array_append_new(g[atoi(PQgetvalue(res, r, 0))].steps, step_value(res, r, 1));
    PQclear(res);
    if (res)
        res = pgx_query(pg, "notify.snapshot_batch_filings",
                        "SELECT g.n, f.report, f.client_id, " EPOCH_MS(
                            "f.filed_at") ", f.reference FROM " GROUPS
                                          " JOIN case_filings f ON f.incident_id = g.incident_id "
                                          "JOIN case_events e ON e.event_id = f.event_id WHERE "
                                          "f.incident_id = " GROUP_INCIDENTS " AND " AS_OF_GROUP
                                          " ORDER BY g.n, f.filed_at, f.event_id",
                        1, p, err, errlen);
    for (int r = 0; res && r < PQntuples(res); r++)
        json_array_append_new(g[atoi(PQgetvalue(res, r, 0))].filings, filing_value(res, r, 1));
    PQclear(res);
    if (res)
        res = pgx_query(pg, "notify.snapshot_batch_texts",
                        "SELECT g.n, e.title, e.description FROM " GROUPS
                        " JOIN case_events e ON e.incident_id = g.incident_id WHERE e.incident_id "
                        "= " GROUP_INCIDENTS " AND e.kind IN "
                        "('incident_opened', 'facts_updated') AND (e.title IS NOT NULL OR "
                        "e.description IS NOT NULL) AND " AS_OF_GROUP
                        " ORDER BY g.n, e.kind <> 'incident_opened', e.occurred_at, e.event_id",
                        1, p, err, errlen);
    for (int r = 0; res && r < PQntuples(res); r++) {
        snap_group *x = &g[atoi(PQgetvalue(res, r, 0))];
        if (!PQgetisnull(res, r, 1)) {
            json_decref(x->title);
            x->title = text_value(res, r, 1);
        }
        if (!PQgetisnull(res, r, 2)) {
            json_decref(x->description);
            x->description = text_value(res, r, 2);
        }
    }
    free(param);
    if (!res) return -1;
    PQclear(res);
    return 0;
}

/* The verdict of each want of a found group, whole or one client's: one statement. */
static int wants_load_verdicts(PGconn *pg, const notify_snapshot_want *w, size_t n,
                               const size_t *group_of, const snap_group *g, json_t **verdicts,
                               char *err, size_t errlen)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const snap_group *x = &g[group_of[i]];
        if (!x->found || w[i].case_part) continue;
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:I, s:o}", "n", (json_int_t)i, "incident_id",
                           x->incident_id, "version", (json_int_t)atoi(x->at), "client_id",
                           w[i].client_id ? json_string(w[i].client_id) : json_null()));
    }
    if (arr && json_array_size(arr) == 0) { /* every want reads its group's verdict */
        json_decref(arr);
        return 0;
    }
    char *param = arr ? json_text_compact(arr) : NULL;
    json_decref(arr);
    if (!param) {
        snprintf(err, errlen, "notify.snapshot_batch: out of memory for the verdicts");
        return -1;
    }
    const char *p[] = {param};
    PGresult *res = pgx_query(
        pg, "notify.snapshot_batch_verdicts",
        "SELECT w.n, CASE WHEN w.client_id IS NULL THEN case_verdict(w.incident_id, w.version) "
        "ELSE case_verdict_of_client(w.incident_id, w.version, w.client_id) END::text "
        "FROM jsonb_to_recordset($1::jsonb) AS w(n integer, incident_id text, version integer, "
        "client_id text)",
        1, p, err, errlen);
    free(param);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++)
        verdicts[atoi(PQgetvalue(res, r, 0))] = json_value(res, r, 1);
    PQclear(res);
    return 0;
}

/* One want's snapshot from its group, in notify_snapshot_load's key order. */
static json_t *assemble(const notify_snapshot_want *w, const snap_group *x, json_t *verdict,
                        char *err, size_t errlen)
{
    json_t *snap = json_pack("{s:s}", "incident_id", w->incident_id);
    if (!snap) {
        json_decref(verdict);
        snprintf(err, errlen, "notify.snapshot: incident_id: not UTF-8 or out of memory");
        return NULL;
    }
    json_object_set(snap, "tenant", x->tenant);
    json_object_set_new(snap, "status", json_string("open"));
    json_object_set(snap, "known_at", x->known_at);
    json_object_set(snap, "opened_at", x->opened_at);
    json_object_set(snap, "facts", x->facts);
    json_object_set_new(snap, "case_version", json_integer(atoll(x->at)));
    json_object_set_new(snap, "verdict", verdict ? verdict : json_null());
    if (clients_of_verdict(snap, err, errlen) != 0) {
        json_decref(snap);
        return NULL;
    }
    json_object_set(snap, "steps", x->steps);
    json_object_set(snap, "filings", x->filings);
    json_object_set(snap, "title", x->title);
    json_object_set(snap, "description", x->description);
    return snap;
}

int notify_snapshot_load_many(PGconn *pg, const notify_snapshot_want *w, size_t n, json_t **snaps,
                              int *missing, char *err, size_t errlen)
{
    snap_group *g = calloc(n + 1, sizeof *g);
    size_t *group_of = calloc(n + 1, sizeof *group_of);
    json_t **verdicts = calloc(n + 1, sizeof *verdicts);
    strset seen;
    strset_init(&seen);
    size_t n_groups = 0;
    int rc = g && group_of && verdicts ? 0 : -1;
    if (rc != 0) snprintf(err, errlen, "notify.snapshot_batch: out of memory");
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t at, len = strlen(w[i].incident_id) + 16;
        bool added = false;
        char *key = malloc(len);
        if (key) snprintf(key, len, "%d|%s", w[i].version > 0 ? w[i].version : 0, w[i].incident_id);
        if (!key || strset_put(&seen, key, n_groups, &added) != 0) {
            snprintf(err, errlen, "notify.snapshot_batch: out of memory");
            rc = -1;
        } else if (added) {
            g[n_groups] = (snap_group){.incident_id = w[i].incident_id, .version = w[i].version};
            group_of[i] = n_groups++;
        } else if (strset_get(&seen, key, &at)) {
            group_of[i] = at;
        }
        if (rc == 0 && w[i].case_part) g[group_of[i]].case_part = 1;
        free(key);
        snaps[i] = NULL;
        missing[i] = 0;
    }
    if (rc == 0) rc = groups_load_versions(pg, g, n_groups, err, errlen);
    if (rc == 0) rc = groups_load_pieces(pg, g, n_groups, err, errlen);
    if (rc == 0) rc = wants_load_verdicts(pg, w, n, group_of, g, verdicts, err, errlen);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const snap_group *x = &g[group_of[i]];
        if (x->found) {
            if (w[i].case_part) verdicts[i] = json_incref(x->verdict);
            snaps[i] = assemble(&w[i], x, verdicts[i], err, errlen);
            verdicts[i] = NULL;
            if (!snaps[i]) rc = -1;
        } else if (x->no_version) { /* rare: read as it is now, per task */
            snaps[i] = notify_snapshot_load(pg, w[i].incident_id, w[i].client_id, w[i].version,
                                            &missing[i], err, errlen);
            if (!snaps[i] && !missing[i]) rc = -1;
        } else {
            missing[i] = 1;
        }
    }
    for (size_t i = 0; i < n_groups; i++)
        group_free(&g[i]);
    for (size_t i = 0; verdicts && i < n; i++)
        json_decref(verdicts[i]);
    if (rc != 0)
        for (size_t i = 0; i < n; i++) {
            json_decref(snaps[i]);
            snaps[i] = NULL;
        }
    strset_free(&seen);
    free(g);
    free(group_of);
    free(verdicts);
    return rc;
}
