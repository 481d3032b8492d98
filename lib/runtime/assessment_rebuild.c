/*
 * assessment_rebuild: see assessment_rebuild.h.
 */
#include "lib/runtime/assessment_rebuild.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/errbuf.h"
#include "lib/model/assessment_record.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"

/* Room kept for what the running sum leaves out: the case's own part and the record's other
 * fields are measured apart (case_text), this covers the note and the Avro framing. */
#define REBUILD_MARGIN 4096

/* One row: the case's own part, the number of clients, then (when any fits) a client's id and
 * latest entry, by client id. The cost of a client over-estimates what it adds: its entry's
 * text (with the spaces PostgreSQL writes), its id three times (the two count maps, its Avro
 * entry) and 120 bytes for counts, statuses, rule ids and separators. */
static const char *const rebuild_sql =
    "WITH latest AS (SELECT DISTINCT ON (client_id) client_id, entry FROM client_verdicts "
    "WHERE incident_id = $1 AND version <= $2::integer ORDER BY client_id, version DESC), "
    "ranked AS (SELECT client_id, entry, sum(octet_length(entry::text) + "
    "3 * octet_length(client_id) + 120) OVER (ORDER BY "
    "CASE entry->>'status' WHEN 'mandatory' THEN 0 WHEN 'voluntary' THEN 1 ELSE 2 END, "
    "CASE entry->>'appi_status' WHEN 'mandatory' THEN 0 WHEN 'voluntary' THEN 1 ELSE 2 END, "
    "client_id COLLATE \"C\" ROWS UNBOUNDED PRECEDING) AS upto FROM latest) "
    "SELECT v.verdict::text, (SELECT count(*) FROM latest), r.client_id, r.entry::text "
    "FROM case_versions v LEFT JOIN ranked r ON r.upto <= $3::bigint - "
    "octet_length(v.verdict::text) "
    "WHERE v.incident_id = $1 AND v.version = $2::integer ORDER BY r.client_id COLLATE \"C\"";

/* doc (the case's own part) made the abridged document of the rows' entries: clients[], the
 * two count maps, and the note. 0, or -1 (err). */
static int add_clients(json_t *doc, PGresult *res, long long total, const char *where, char *err,
                       size_t errlen)
{
    json_t *clients = json_array(), *counts = json_object(), *known = json_object();
    int rc = clients && counts && known ? 0 : -1;
    size_t listed = 0;
    for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
        if (PQgetisnull(res, r, 2)) continue; /* no client fits */
        json_error_t jerr;
        json_t *entry = json_loads(PQgetvalue(res, r, 3), 0, &jerr);
        const char *id = PQgetvalue(res, r, 2);
        if (!entry) {
            rc = errbuf_fail(err, errlen, "client_verdicts %s: entry is not JSON", id);
            break;
        }
        json_object_set(counts, id, json_object_get(entry, "headcount"));
        if (json_object_get(entry, "headcount_known"))
            json_object_set(known, id, json_object_get(entry, "headcount_known"));
        json_array_append_new(clients, entry);
        listed++;
    }
    json_t *headcount = json_object_get(doc, "headcount");
    if (rc == 0 && json_is_object(headcount)) {
        json_object_set(headcount, "clients", counts);
        json_object_set(headcount, "clients_known", known);
    }
    if (rc == 0) {
        json_object_set(doc, "clients", clients);
        json_object_set_new(doc, "abridged",
                            json_pack("{s:I, s:I, s:s, s:s}", "clients_total", (json_int_t)total,
                                      "clients_listed", (json_int_t)listed, "order",
                                      ASSESSMENT_RECORD_ORDER, "full_verdict", where));
    }
    json_decref(clients);
    json_decref(counts);
    json_decref(known);
    return rc == 0 ? 0 : (err[0] ? -1 : errbuf_fail(err, errlen, "rebuild: out of memory"));
}

int assessment_rebuild_abridged(PGconn *pg, const schema_set *schemas, const char *incident_id,
                                int version, long long created_ms, wire_buf *out, char *err,
                                size_t errlen)
{
    char v[16], budget[24];
    snprintf(v, sizeof v, "%d", version);
    char *where = assessment_record_full_verdict(incident_id, version);
    if (!where) return errbuf_fail(err, errlen, "rebuild: out of memory");
    int rc = -1;
    /* Should the estimate still not fit, ask again for less. */
    for (long long room = WIRE_MAX_MESSAGE - REBUILD_MARGIN; room > 0 && rc != 0; room /= 2) {
        snprintf(budget, sizeof budget, "%lld", room);
        const char *p[] = {incident_id, v, budget};
        err[0] = '\0';
        PGresult *res = pgx_query(pg, "outbox.rebuild_abridged", rebuild_sql, 3, p, err, errlen);
        if (!res) break;
        json_error_t jerr;
        json_t *doc = PQntuples(res) > 0 ? json_loads(PQgetvalue(res, 0, 0), 0, &jerr) : NULL;
        if (!doc || json_object_get(doc, "clients")) {
            /* no such version, or one stored whole before migration 0009 */
            errbuf_fail(err, errlen, "assessment %s version %d: no case version to abridge",
                        incident_id, version);
            json_decref(doc);
            PQclear(res);
            break;
        }
        long long total = atoll(PQgetvalue(res, 0, 1));
        if (add_clients(doc, res, total, where, err, errlen) == 0)
            rc = outbox_assessment_record_abridged(schemas, incident_id, version, created_ms, doc,
                                                   total, where, out, err, errlen);
        json_decref(doc);
        PQclear(res);
        if (rc != 0 && !strstr(err, "exceeds")) break; /* not a question of size */
    }
    free(where);
    return rc;
}
