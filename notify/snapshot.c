/*
 * snapshot: see snapshot.h. One query per table; each names itself in errors
 * ("notify.snapshot_version: ..."). The version's reads share two parameters: the version
 * ($2, NULL for the case as it is now) and its cause event ($3).
 */
#include "notify/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timefmt.h"
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
        json_array_append_new(arr, json_pack("{s:o, s:o}", "step", text_value(res, r, 0),
                                             "completed_at", time_value(res, r, 1)));
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
        json_array_append_new(arr,
                              json_pack("{s:o, s:o, s:o, s:o}", "report", text_value(res, r, 0),
                                        "client_id", text_value(res, r, 1), "filed_at",
                                        time_value(res, r, 2), "reference", text_value(res, r, 3)));
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
