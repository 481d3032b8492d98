/*
 * snapshot: see snapshot.h. One query per table; each names itself in errors
 * ("notify.snapshot_case: ...").
 */
#include "notify/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/pg/pgx.h"

#define EPOCH_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

/* An epoch-milliseconds column as RFC 3339 Japan time, or JSON null. */
static json_t *time_value(PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c)) return json_null();
    char text[32];
    long long ms = atoll(PQgetvalue(res, r, c));
    timefmt_format_jst(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000), text);
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

static int load_case(PGconn *pg, const char *incident_id, json_t *snap, int *missing, char *err,
                     size_t errlen)
{
    const char *p[] = {incident_id};
    PGresult *res =
        pgx_query(pg, "notify.snapshot_case",
                  "SELECT tenant, status, facts::text, " EPOCH_MS("known_at") ", " EPOCH_MS(
                      "opened_at") " FROM cases WHERE incident_id = $1",
                  1, p, err, errlen);
    if (!res) return -1;
    if (PQntuples(res) == 0) {
        PQclear(res);
        *missing = 1;
        return -1;
    }
    json_error_t jerr;
    json_t *facts = json_loads(PQgetvalue(res, 0, 2), 0, &jerr);
    json_object_set_new(snap, "tenant", text_value(res, 0, 0));
    json_object_set_new(snap, "status", text_value(res, 0, 1));
    json_object_set_new(snap, "facts", facts ? facts : json_object());
    json_object_set_new(snap, "known_at", time_value(res, 0, 3));
    json_object_set_new(snap, "opened_at", time_value(res, 0, 4));
    PQclear(res);
    return 0;
}

/* The verdict of the version asked for (0: the latest): whole, or one client's view of it
 * (migration 0012) when the task is about one client. */
static int load_verdict(PGconn *pg, const char *incident_id, const char *client_id, int version,
                        json_t *snap, char *err, size_t errlen)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[] = {incident_id, v, client_id};
    PGresult *res = pgx_query(
        pg, client_id ? "notify.snapshot_client_verdict" : "notify.snapshot_verdict",
        client_id ? "SELECT version, case_verdict_of_client(incident_id, version, $3)::text "
                    "FROM case_versions WHERE incident_id = $1 AND version = CASE WHEN "
                    "$2::integer > 0 THEN $2::integer ELSE (SELECT max(version) FROM "
                    "case_versions WHERE incident_id = $1) END"
                  : "SELECT version, case_verdict(incident_id, version)::text "
                    "FROM case_versions WHERE incident_id = $1 AND version = CASE WHEN "
                    "$2::integer > 0 THEN $2::integer ELSE (SELECT max(version) FROM "
                    "case_versions WHERE incident_id = $1) END",
        client_id ? 3 : 2, p, err, errlen);
    if (!res) return -1;
    json_t *verdict = NULL;
    if (PQntuples(res) == 1) {
        json_error_t jerr;
        verdict = json_loads(PQgetvalue(res, 0, 1), 0, &jerr);
        json_object_set_new(snap, "case_version", int_value(res, 0, 0));
    } else {
        json_object_set_new(snap, "case_version", json_integer(0));
    }
    json_object_set_new(snap, "verdict", verdict ? verdict : json_null());
    PQclear(res);
    return 0;
}

static int load_clients(PGconn *pg, const char *incident_id, const char *client_id, json_t *snap,
                        char *err, size_t errlen)
{
    const char *p[] = {incident_id, client_id};
    PGresult *res =
        pgx_query(pg, "notify.snapshot_clients",
                  "SELECT client_id, mni_client_persons(persons, token_count), persons_max, "
                  "token_count FROM client_exposure WHERE incident_id = $1 "
                  "AND ($2::text IS NULL OR client_id = $2) ORDER BY client_id",
                  2, p, err, errlen);
    if (!res) return -1;
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(arr,
                              json_pack("{s:o, s:o, s:o, s:o}", "client_id", text_value(res, r, 0),
                                        "persons", int_value(res, r, 1), "persons_max",
                                        int_value(res, r, 2), "token_count", int_value(res, r, 3)));
    json_object_set_new(snap, "clients", arr);
    PQclear(res);
    return 0;
}

static int load_steps(PGconn *pg, const char *incident_id, json_t *snap, char *err, size_t errlen)
{
    const char *p[] = {incident_id};
    PGresult *res =
        pgx_query(pg, "notify.snapshot_steps",
                  "SELECT step, " EPOCH_MS(
                      "completed_at") " FROM case_steps "
                                      "WHERE incident_id = $1 ORDER BY completed_at, step",
                  1, p, err, errlen);
    if (!res) return -1;
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(arr, json_pack("{s:o, s:o}", "step", text_value(res, r, 0),
                                             "completed_at", time_value(res, r, 1)));
    json_object_set_new(snap, "steps", arr);
    PQclear(res);
    return 0;
}

static int load_filings(PGconn *pg, const char *incident_id, json_t *snap, char *err, size_t errlen)
{
    const char *p[] = {incident_id};
    PGresult *res = pgx_query(pg, "notify.snapshot_filings",
                              "SELECT report, client_id, " EPOCH_MS(
                                  "filed_at") ", reference "
                                              "FROM case_filings WHERE incident_id = $1 "
                                              "ORDER BY filed_at, event_id",
                              1, p, err, errlen);
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

/* Title and description: the opening event's, replaced by any later update that carries one.
 * event_log.body is the whole event as ingest stored it (mni_event_to_json: envelope and body;
 * only a manifest's tokens are apart, migration 0070), so the texts are under its "body". */
static int load_texts(PGconn *pg, const char *incident_id, json_t *snap, char *err, size_t errlen)
{
    const char *p[] = {incident_id};
    PGresult *res =
        pgx_query(pg, "notify.snapshot_texts",
                  "SELECT body->'body'->>'title', body->'body'->>'description' FROM event_log "
                  "WHERE incident_id = $1 AND kind IN ('incident_opened', "
                  "'facts_updated') ORDER BY kind <> 'incident_opened', "
                  "occurred_at, received_at, event_id",
                  1, p, err, errlen);
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
    if (load_case(pg, incident_id, snap, missing, err, errlen) != 0 ||
        load_verdict(pg, incident_id, client_id, version, snap, err, errlen) != 0 ||
        load_clients(pg, incident_id, client_id, snap, err, errlen) != 0 ||
        load_steps(pg, incident_id, snap, err, errlen) != 0 ||
        load_filings(pg, incident_id, snap, err, errlen) != 0 ||
        load_texts(pg, incident_id, snap, err, errlen) != 0) {
        json_decref(snap);
        return NULL;
    }
    return snap;
}
