/*
 * case_report: see case_report.h. The SQL is kept as named constants at the top, like
 * ingest/event_store.c; ids and times travel as parameters, never as SQL text, and the sort
 * column is chosen from a fixed table.
 */
#include "cli/case_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"

/* Cases and verdicts are read through case_overview and case_versions_shown (migration 0040):
 * the whole case for a role that sees every client, only the client's own part for a client's
 * role (row-level security hides the other tables' rows of other clients).
 *
 * $2 (the case) or $1 (the list) is the page's clock as text, NULL for the server's now();
 * mni_jst (migration 0021) writes an instant as RFC 3339 in Japan time. A deadline's state
 * (case_report.h) compares the clock with mni_due_end (migration 0010). */
static const char *const case_sql =
    "WITH k AS (SELECT c.*, coalesce($2::timestamptz, now()) AS as_of FROM case_overview c"
    " WHERE c.incident_id = $1) "
    "SELECT json_build_object("
    " 'incident_id', k.incident_id, 'tenant', k.tenant, 'status', k.status,"
    " 'version', k.version, 'as_of', mni_jst(k.as_of), 'opened_at', mni_jst(k.opened_at),"
    " 'known_at', mni_jst(k.known_at), 'mandatory_since', mni_jst(k.mandatory_since),"
    " 'closed_at', mni_jst(k.closed_at), 'persons_total', k.persons_total,"
    " 'distinct_tokens', k.distinct_tokens, 'facts', k.facts,"
    " 'verdict', (SELECT s.verdict FROM case_versions_shown s"
    "   WHERE s.incident_id = k.incident_id AND s.version = k.version),"
    /* Free text: the opening event's, replaced by any later update that carries one. */
    " 'title', (SELECT e.body->'body'->>'title' FROM event_log e"
    "   WHERE e.incident_id = k.incident_id AND e.kind IN ('incident_opened', 'facts_updated')"
    "   AND e.body->'body'->>'title' IS NOT NULL"
    "   ORDER BY e.kind = 'incident_opened', e.occurred_at DESC, e.received_at DESC LIMIT 1),"
    " 'description', (SELECT e.body->'body'->>'description' FROM event_log e"
    "   WHERE e.incident_id = k.incident_id AND e.kind IN ('incident_opened', 'facts_updated')"
    "   AND e.body->'body'->>'description' IS NOT NULL"
    "   ORDER BY e.kind = 'incident_opened', e.occurred_at DESC, e.received_at DESC LIMIT 1),"
    " 'versions', (SELECT coalesce(json_agg(json_build_object('version', v.version,"
    "   'created_at', mni_jst(v.created_at), 'rules', to_json(v.rules),"
    "   'my_number', cv.verdict->'my_number'->>'status',"
    "   'appi', cv.verdict->'appi'->>'status', 'route', cv.verdict->>'route',"
    "   'cause_event_id', v.cause_event_id) ORDER BY v.version), '[]'::json)"
    "   FROM case_versions_shown v CROSS JOIN LATERAL (SELECT v.verdict) cv"
    "   WHERE v.incident_id = k.incident_id),"
    " 'clients', (SELECT coalesce(json_agg(json_build_object('client_id', x.client_id,"
    "   'persons', x.persons, 'persons_max', x.persons_max, 'token_count', x.token_count,"
    "   'known', mni_client_persons(x.persons, x.token_count)) ORDER BY x.client_id COLLATE \"C\"),"
    "   '[]'::json) FROM client_exposure x WHERE x.incident_id = k.incident_id),"
    " 'deadlines', (SELECT coalesce(json_agg(json_build_object('kind', d.kind,"
    "   'client_id', d.client_id, 'due_date', d.due_date, 'due_at', mni_jst(d.due_at),"
    "   'due_end', mni_jst(d.due_end), 'met_at', mni_jst(d.met_at),"
    "   'reminded_at', mni_jst(d.reminded_at), 'escalated_at', mni_jst(d.escalated_at),"
    "   'state', CASE WHEN d.met_at IS NOT NULL THEN"
    "     CASE WHEN d.met_at < d.due_end THEN 'met' ELSE 'met_late' END"
    "     WHEN k.status <> 'open' THEN 'closed' WHEN k.as_of >= d.due_end THEN 'overdue'"
    "     ELSE 'open' END)"
    "   ORDER BY d.due_end, d.kind, d.client_id COLLATE \"C\"), '[]'::json)"
    "   FROM (SELECT dl.*, mni_due_end(dl.due_date, dl.due_at) AS due_end FROM deadlines dl"
    "     WHERE dl.incident_id = k.incident_id) d),"
    " 'steps', (SELECT coalesce(json_agg(json_build_object('step', s.step,"
    "   'completed_at', mni_jst(s.completed_at)) ORDER BY s.completed_at, s.step), '[]'::json)"
    "   FROM case_steps s WHERE s.incident_id = k.incident_id),"
    " 'filings', (SELECT coalesce(json_agg(json_build_object('report', f.report,"
    "   'client_id', f.client_id, 'filed_at', mni_jst(f.filed_at), 'reference', f.reference)"
    "   ORDER BY f.filed_at, f.event_id), '[]'::json)"
    "   FROM case_filings f WHERE f.incident_id = k.incident_id),"
    " 'documents', (SELECT coalesce(json_agg(json_build_object('task_id', o.task_id,"
    "   'channel', o.channel, 'format', o.format, 'bytes', octet_length(o.document),"
    "   'sha256', encode(o.document_sha256, 'hex'), 'status', o.status,"
    "   'rendered_at', mni_jst(o.rendered_at), 'sent_at', mni_jst(o.sent_at))"
    "   ORDER BY o.delivery_id), '[]'::json) FROM deliveries o"
    "   WHERE o.incident_id = k.incident_id),"
    " 'tickets', (SELECT coalesce(json_agg(json_build_object('ticket_id', t.ticket_id,"
    "   'kind', t.kind, 'client_id', t.client_id, 'title', t.title, 'status', t.status,"
    "   'created_at', mni_jst(t.created_at), 'webhook_state', t.webhook_state,"
    "   'webhook_attempts', t.webhook_attempts, 'webhook_last_status', a.http_status,"
    "   'webhook_last_error', a.error) ORDER BY t.created_at, t.ticket_id), '[]'::json)"
    "   FROM tickets t LEFT JOIN LATERAL (SELECT w.http_status, w.error"
    "     FROM ticket_webhook_attempts w WHERE w.ticket_id = t.ticket_id"
    "     ORDER BY w.attempt DESC LIMIT 1) a ON true"
    "   WHERE t.incident_id = k.incident_id)"
    ")::text FROM k";

/* The list: one row per case with its next open deadline and its overdue count; $1 is the
 * clock. %s is the ORDER BY, chosen from sort_sql below. */
static const char *const list_sql =
    "WITH clock AS (SELECT coalesce($1::timestamptz, now()) AS as_of) "
    "SELECT json_build_object('as_of', (SELECT mni_jst(as_of) FROM clock), 'cases', ("
    "SELECT coalesce(json_agg(json_build_object('incident_id', r.incident_id,"
    " 'tenant', r.tenant, 'status', r.status, 'version', r.version,"
    " 'opened_at', mni_jst(r.opened_at), 'my_number', r.my_number, 'appi', r.appi,"
    " 'route', r.route, 'persons_known', r.persons_known, 'persons_max', r.persons_max,"
    " 'next_kind', r.next_kind, 'next_client_id', r.next_client_id, 'next_due', r.next_due,"
    " 'next_due_end', mni_jst(r.next_due_end), 'next_state', r.next_state,"
    " 'overdue', r.overdue) ORDER BY r.n), '[]'::json)"
    " FROM (SELECT row_number() OVER (ORDER BY %s) AS n, b.* FROM ("
    "SELECT c.incident_id, c.tenant, c.status, c.version, c.opened_at,"
    " v.verdict->'my_number'->>'status' AS my_number, v.verdict->'appi'->>'status' AS appi,"
    " v.verdict->>'route' AS route,"
    " coalesce((v.verdict->'headcount'->>'known')::bigint, c.distinct_tokens) AS persons_known,"
    " c.persons_total AS persons_max,"
    " nd.kind AS next_kind, nd.client_id AS next_client_id,"
    " coalesce(nd.due_date::text, mni_jst(nd.due_at)) AS next_due, nd.due_end AS next_due_end,"
    " CASE WHEN nd.kind IS NULL THEN NULL WHEN c.status <> 'open' THEN 'closed'"
    "  WHEN clock.as_of >= nd.due_end THEN 'overdue' ELSE 'open' END AS next_state,"
    " (SELECT count(*) FROM deadlines d WHERE d.incident_id = c.incident_id"
    "  AND d.met_at IS NULL AND c.status = 'open'"
    "  AND clock.as_of >= mni_due_end(d.due_date, d.due_at)) AS overdue"
    " FROM clock, case_overview c"
    " LEFT JOIN case_versions_shown v ON v.incident_id = c.incident_id AND v.version = c.version"
    " LEFT JOIN LATERAL (SELECT d.kind, d.client_id, d.due_date, d.due_at,"
    "   mni_due_end(d.due_date, d.due_at) AS due_end FROM deadlines d"
    "   WHERE d.incident_id = c.incident_id AND d.met_at IS NULL"
    "   ORDER BY mni_due_end(d.due_date, d.due_at), d.kind, d.client_id COLLATE \"C\" LIMIT 1) nd"
    "   ON true"
    ") b) r))::text";

const char *const case_report_sort_keys[] = {"next_due", "incident", "opened", "status",
                                             "persons",  "overdue",  "tenant", NULL};

/* ORDER BY of each sort key (ascending; the caller appends the direction). Ties fall back to
 * the incident id so that the order is total. */
static const char *const sort_sql[] = {
    "b.next_due_end %s NULLS LAST, b.incident_id COLLATE \"C\"",
    "b.incident_id COLLATE \"C\" %s",
    "b.opened_at %s, b.incident_id COLLATE \"C\"",
    "b.status %s, b.incident_id COLLATE \"C\"",
    "b.persons_max %s, b.incident_id COLLATE \"C\"",
    "b.overdue %s, b.incident_id COLLATE \"C\"",
    "b.tenant COLLATE \"C\" %s, b.incident_id COLLATE \"C\"",
};

static json_t *parse_model(PGresult *res, const char *what, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *model = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    if (!model) snprintf(err, errlen, "%s: the model does not parse: %s", what, jerr.text);
    return model;
}

json_t *case_report_load(PGconn *pg, const char *incident_id, const char *as_of, int *missing,
                         char *err, size_t errlen)
{
    *missing = 0;
    const char *p[] = {incident_id, as_of};
    PGresult *res = pgx_query(pg, "report.case", case_sql, 2, p, err, errlen);
    if (!res) return NULL;
    json_t *model = NULL;
    if (PQntuples(res) == 0) {
        *missing = 1;
        snprintf(err, errlen, "%s: no such case", incident_id);
    } else {
        model = parse_model(res, "report.case", err, errlen);
    }
    PQclear(res);
    return model;
}

json_t *case_report_list(PGconn *pg, const char *as_of, const char *sort, int desc, char *err,
                         size_t errlen)
{
    size_t key = 0;
    if (sort) {
        while (case_report_sort_keys[key] && strcmp(case_report_sort_keys[key], sort) != 0)
            key++;
        if (!case_report_sort_keys[key]) {
            snprintf(err, errlen, "sort: unknown column '%s'", sort);
            return NULL;
        }
    }
    /* The ORDER BY is built from the fixed tables above only: no request text reaches SQL. */
    char order[256], *sql = NULL;
    snprintf(order, sizeof order, sort_sql[key], desc ? "DESC" : "ASC");
    if (asprintf(&sql, list_sql, order) < 0) {
        snprintf(err, errlen, "report.list: out of memory");
        return NULL;
    }
    const char *p[] = {as_of};
    PGresult *res = pgx_query(pg, "report.list", sql, 1, p, err, errlen);
    free(sql);
    if (!res) return NULL;
    json_t *list = parse_model(res, "report.list", err, errlen);
    PQclear(res);
    if (!list) return NULL;
    json_object_set_new(list, "sort", json_string(case_report_sort_keys[key]));
    json_object_set_new(list, "order", json_string(desc ? "desc" : "asc"));
    if (!list) snprintf(err, errlen, "report.list: out of memory");
    return list;
}
