/*
 * case_store: see case_store.h. Statements are sent with parameters in text form; each carries
 * a name ("case.load") that appears in errors.
 */
#include "assess/case_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/outbox.h"
#include "common/pgx.h"

void case_row_free(case_row *row)
{
    json_decref(row->facts);
    memset(row, 0, sizeof *row);
}

int case_store_prepare(PGconn *pg, char *err, size_t errlen)
{
    /* A session-local staging table for manifests: COPY into it, then merge with one INSERT
     * ... SELECT per target (DESIGN.md: COPY into a staging table then merge). */
    return pgx_exec(pg, "case.staging",
                    "CREATE TEMP TABLE IF NOT EXISTS stage_tokens (token bytea NOT NULL) "
                    "ON COMMIT DELETE ROWS",
                    err, errlen);
}

int case_store_claim_event(PGconn *pg, const char *event_id, const char *incident_id,
                           const char *kind, const char *occurred_at, int *fresh, char *err,
                           size_t errlen)
{
    const char *p[] = {event_id, incident_id, kind, occurred_at};
    long long rows = 0;
    if (pgx_exec_params(pg, "case.claim_event",
                        "INSERT INTO case_events (event_id, incident_id, kind, occurred_at) "
                        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        4, p, &rows, err, errlen) != 0)
        return -1;
    *fresh = rows == 1;
    return 0;
}

int case_store_load(PGconn *pg, const char *incident_id, case_row *row, char *err, size_t errlen)
{
    memset(row, 0, sizeof *row);
    const char *p[] = {incident_id};
    PGresult *res = pgx_query(pg, "case.load",
                              "SELECT status, version, facts::text, "
                              "coalesce(to_char(mandatory_since AT TIME ZONE 'UTC', "
                              "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), '') "
                              "FROM cases WHERE incident_id = $1 FOR UPDATE",
                              1, p, err, errlen);
    if (!res) return -1;
    if (PQntuples(res) == 1) {
        row->exists = 1;
        snprintf(row->status, sizeof row->status, "%s", PQgetvalue(res, 0, 0));
        row->version = atoi(PQgetvalue(res, 0, 1));
        json_error_t jerr;
        row->facts = json_loads(PQgetvalue(res, 0, 2), 0, &jerr);
        snprintf(row->mandatory_since, sizeof row->mandatory_since, "%s", PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    if (row->exists && !row->facts) {
        snprintf(err, errlen, "case %s: stored facts are not JSON", incident_id);
        return -1;
    }
    return 0;
}

int case_store_open(PGconn *pg, const char *incident_id, const char *tenant, const char *opened_at,
                    const json_t *facts, char *err, size_t errlen)
{
    char *text = json_dumps(facts, JSON_COMPACT);
    const char *known_at = json_string_value(json_object_get(facts, "known_at"));
    const char *p[] = {incident_id, tenant, opened_at, known_at, text};
    int rc = pgx_exec_params(pg, "case.open",
                             "INSERT INTO cases (incident_id, tenant, opened_at, known_at, facts) "
                             "VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT DO NOTHING",
                             5, p, NULL, err, errlen);
    free(text);
    return rc;
}

int case_store_set_facts(PGconn *pg, const char *incident_id, const json_t *facts, char *err,
                         size_t errlen)
{
    char *text = json_dumps(facts, JSON_COMPACT);
    const char *known_at = json_string_value(json_object_get(facts, "known_at"));
    const char *p[] = {incident_id, text, known_at};
    int rc = pgx_exec_params(pg, "case.set_facts",
                             "UPDATE cases SET facts = $2::jsonb, known_at = $3, updated_at = "
                             "now() WHERE incident_id = $1",
                             3, p, NULL, err, errlen);
    free(text);
    return rc;
}

int case_store_close(PGconn *pg, const char *incident_id, const char *status, const char *closed_at,
                     char *err, size_t errlen)
{
    const char *p[] = {incident_id, status, closed_at};
    return pgx_exec_params(pg, "case.close",
                           "UPDATE cases SET status = $2, closed_at = $3, updated_at = now() "
                           "WHERE incident_id = $1 AND status = 'open'",
                           3, p, NULL, err, errlen);
}

int case_store_count(PGconn *pg, const char *incident_id, const char *client_id,
                     const char *persons, const char *persons_max, const char *hours, char *err,
                     size_t errlen)
{
    const char *p[] = {incident_id, client_id, persons, persons_max, hours};
    return pgx_exec_params(
        pg, "case.count",
        "INSERT INTO client_exposure (incident_id, client_id, persons, persons_max, "
        "contract_notice_hours) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (incident_id, client_id) DO UPDATE SET persons = EXCLUDED.persons, "
        "persons_max = EXCLUDED.persons_max, contract_notice_hours = "
        "coalesce(EXCLUDED.contract_notice_hours, client_exposure.contract_notice_hours), "
        "updated_at = now()",
        5, p, NULL, err, errlen);
}

int case_store_manifest(PGconn *pg, const char *incident_id, const char *client_id,
                        const char *batch_id, const char *event_id, const json_t *tokens,
                        const char *hours, int *merged, char *err, size_t errlen)
{
    char count[24];
    snprintf(count, sizeof count, "%zu", json_array_size(tokens));
    const char *pb[] = {incident_id, client_id, batch_id, event_id, count};
    long long rows = 0;
    *merged = 0;
    if (pgx_exec_params(pg, "case.manifest_batch",
                        "INSERT INTO exposure_batches (incident_id, client_id, batch_id, "
                        "event_id, tokens) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                        5, pb, &rows, err, errlen) != 0)
        return -1;
    if (rows == 0) return 0; /* this batch was merged before: a manifest counts once */

    /* Made here, not once at start: a reconnect (PQreset) drops session-local tables. */
    if (case_store_prepare(pg, err, errlen) != 0) return -1;
    pgx_copy cp;
    if (pgx_copy_begin(&cp, pg, "case.copy_tokens", "COPY stage_tokens (token) FROM STDIN", err,
                       errlen) != 0)
        return -1;
    size_t i;
    const json_t *t;
    char hex[2 + 64 + 1] = "\\x";
    json_array_foreach(tokens, i, t)
    {
        snprintf(hex + 2, sizeof hex - 2, "%s", json_string_value(t));
        pgx_copy_field(&cp, hex);
        pgx_copy_end_row(&cp);
    }
    if (pgx_copy_end(&cp, NULL, err, errlen) != 0) return -1;

    const char *p[] = {incident_id, client_id, hours};
    long long added = 0, new_persons = 0;
    if (pgx_exec_params(pg, "case.merge_client_tokens",
                        "INSERT INTO exposure_tokens (incident_id, client_id, token) "
                        "SELECT DISTINCT $1, $2, token FROM stage_tokens ON CONFLICT DO NOTHING",
                        2, p, &added, err, errlen) != 0 ||
        pgx_exec_params(pg, "case.merge_persons",
                        "INSERT INTO incident_persons (incident_id, token) "
                        "SELECT DISTINCT $1, token FROM stage_tokens ON CONFLICT DO NOTHING",
                        1, p, &new_persons, err, errlen) != 0)
        return -1;
    char added_text[24], persons_text[24];
    snprintf(added_text, sizeof added_text, "%lld", added);
    snprintf(persons_text, sizeof persons_text, "%lld", new_persons);
    const char *pd[] = {incident_id, persons_text};
    if (pgx_exec_params(pg, "case.distinct_tokens",
                        "UPDATE cases SET distinct_tokens = distinct_tokens + $2 "
                        "WHERE incident_id = $1",
                        2, pd, NULL, err, errlen) != 0)
        return -1;
    const char *pc[] = {incident_id, client_id, hours, added_text};
    if (pgx_exec_params(pg, "case.client_token_count",
                        "INSERT INTO client_exposure (incident_id, client_id, token_count, "
                        "contract_notice_hours) VALUES ($1, $2, $4, $3) "
                        "ON CONFLICT (incident_id, client_id) DO UPDATE SET token_count = "
                        "client_exposure.token_count + $4, contract_notice_hours = "
                        "coalesce(EXCLUDED.contract_notice_hours, "
                        "client_exposure.contract_notice_hours), updated_at = now()",
                        4, pc, NULL, err, errlen) != 0 ||
        pgx_exec(pg, "case.clear_staging", "TRUNCATE stage_tokens", err, errlen) != 0)
        return -1;
    *merged = 1;
    return 0;
}

int case_store_step(PGconn *pg, const char *incident_id, const char *step, const char *completed_at,
                    const char *event_id, char *err, size_t errlen)
{
    const char *p[] = {incident_id, step, completed_at, event_id};
    return pgx_exec_params(pg, "case.step",
                           "INSERT INTO case_steps (incident_id, step, completed_at, event_id) "
                           "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                           4, p, NULL, err, errlen);
}

int case_store_filing(PGconn *pg, const char *event_id, const char *incident_id, const char *report,
                      const char *client_id, const char *filed_at, const char *reference, char *err,
                      size_t errlen)
{
    const char *p[] = {event_id, incident_id, report, client_id, filed_at, reference};
    if (pgx_exec_params(pg, "case.filing",
                        "INSERT INTO case_filings (event_id, incident_id, report, client_id, "
                        "filed_at, reference) VALUES ($1, $2, $3, $4, $5, $6) "
                        "ON CONFLICT DO NOTHING",
                        6, p, NULL, err, errlen) != 0)
        return -1;
    const char *pm[] = {incident_id, report, client_id, filed_at};
    return pgx_exec_params(pg, "case.meet_deadline",
                           "UPDATE deadlines SET met_at = $4, updated_at = now() "
                           "WHERE incident_id = $1 AND kind = $2 AND client_id IS NOT DISTINCT "
                           "FROM $3 AND met_at IS NULL",
                           4, pm, NULL, err, errlen);
}

json_t *case_store_full_facts(PGconn *pg, const char *incident_id, const json_t *facts, char *err,
                              size_t errlen)
{
    const char *p[] = {incident_id};
    PGresult *res =
        pgx_query(pg, "case.exposure",
                  "SELECT client_id, greatest(persons, token_count), "
                  "CASE WHEN persons_max >= greatest(persons, token_count) THEN persons_max END, "
                  "contract_notice_hours, greatest(persons, token_count) - token_count "
                  "FROM client_exposure WHERE incident_id = $1 ORDER BY client_id",
                  1, p, err, errlen);
    if (!res) return NULL;
    json_t *full = json_deep_copy(facts);
    json_t *clients = json_array();
    long long untokened = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *c = json_pack("{s:s, s:I}", "client_id", PQgetvalue(res, r, 0), "persons",
                              (json_int_t)atoll(PQgetvalue(res, r, 1)));
        if (!PQgetisnull(res, r, 2))
            json_object_set_new(c, "persons_max", json_integer(atoll(PQgetvalue(res, r, 2))));
        if (!PQgetisnull(res, r, 3))
            json_object_set_new(c, "contract_notice_hours",
                                json_integer(atoll(PQgetvalue(res, r, 3))));
        untokened += atoll(PQgetvalue(res, r, 4));
        json_array_append_new(clients, c);
    }
    PQclear(res);
    json_object_set_new(full, "clients", clients);

    res = pgx_query(pg, "case.distinct_persons",
                    "SELECT distinct_tokens FROM cases WHERE incident_id = $1", 1, p, err, errlen);
    if (!res) {
        json_decref(full);
        return NULL;
    }
    long long tokens = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    /* Only tokens make a total exact; without any, the core adds the clients' counts. */
    if (tokens > 0) json_object_set_new(full, "distinct_persons", json_integer(tokens + untokened));
    return full;
}

json_t *case_store_latest_verdict(PGconn *pg, const char *incident_id, int *none, char *err,
                                  size_t errlen)
{
    const char *p[] = {incident_id};
    *none = 0;
    PGresult *res = pgx_query(pg, "case.latest_verdict",
                              "SELECT verdict::text FROM case_versions WHERE incident_id = $1 "
                              "ORDER BY version DESC LIMIT 1",
                              1, p, err, errlen);
    if (!res) return NULL;
    json_t *v = NULL;
    if (PQntuples(res) == 0) {
        *none = 1;
    } else {
        json_error_t jerr;
        v = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
        if (!v) snprintf(err, errlen, "case %s: stored verdict is not JSON", incident_id);
    }
    PQclear(res);
    return v;
}

static int is_mandatory(const json_t *verdict, const char *act)
{
    const char *s = json_string_value(json_object_get(json_object_get(verdict, act), "status"));
    return s && !strcmp(s, "mandatory");
}

int case_store_add_version(PGconn *pg, const char *incident_id, int version, const json_t *verdict,
                           const char *cause_event_id, const char *mandatory_since, char *err,
                           size_t errlen)
{
    char *text = json_dumps(verdict, JSON_COMPACT);
    json_t *ids = json_array();
    size_t i;
    const json_t *id;
    json_array_foreach(json_object_get(json_object_get(verdict, "my_number"), "rules"), i, id)
        json_array_append(ids, (json_t *)id);
    json_array_foreach(json_object_get(json_object_get(verdict, "appi"), "rules"), i, id)
        json_array_append(ids, (json_t *)id);
    char *rules = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    char v[16], total[24];
    snprintf(v, sizeof v, "%d", version);
    snprintf(total, sizeof total, "%lld",
             (long long)json_integer_value(
                 json_object_get(json_object_get(verdict, "headcount"), "total")));
    const char *route = json_string_value(json_object_get(verdict, "route"));
    const char *reportable =
        is_mandatory(verdict, "my_number") || is_mandatory(verdict, "appi") ? "true" : "false";
    const char *direct = route && !strcmp(route, "direct_report") ? "true" : "false";
    const char *p[] = {incident_id, v, text, rules, cause_event_id};
    const char *pc[] = {incident_id, v, total, reportable, direct, mandatory_since, cause_event_id};
    int rc = pgx_exec_params(pg, "case.add_version",
                             "INSERT INTO case_versions (incident_id, version, verdict, rules, "
                             "cause_event_id) VALUES ($1, $2, $3::jsonb, ARRAY(SELECT "
                             "jsonb_array_elements_text($4::jsonb)), $5)",
                             5, p, NULL, err, errlen);
    if (rc == 0)
        rc = pgx_exec_params(pg, "case.update_summary",
                             "UPDATE cases SET version = $2, persons_total = $3, reportable = "
                             "$4, direct_report = $5, mandatory_since = coalesce("
                             "mandatory_since, $6::timestamptz), last_event_id = $7, "
                             "updated_at = now() WHERE incident_id = $1",
                             7, pc, NULL, err, errlen);
    free(text);
    free(rules);
    return rc;
}

int case_store_deadline(PGconn *pg, const char *incident_id, const char *client_id,
                        const char *kind, const char *due_date, const char *due_at, char *err,
                        size_t errlen)
{
    const char *p[] = {incident_id, client_id, kind, due_date, due_at};
    return pgx_exec_params(
        pg, "case.deadline",
        "INSERT INTO deadlines (incident_id, client_id, kind, due_date, due_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id, client_id, kind) DO UPDATE SET "
        "due_date = EXCLUDED.due_date, due_at = EXCLUDED.due_at, updated_at = now(), "
        /* a moved deadline is a new one to remind of and to escalate */
        "reminded_at = NULL, escalated_at = NULL "
        "WHERE deadlines.due_date IS DISTINCT FROM EXCLUDED.due_date "
        "OR deadlines.due_at IS DISTINCT FROM EXCLUDED.due_at",
        5, p, NULL, err, errlen);
}

int case_store_outbox(PGconn *pg, const char *task_id, const char *topic, const char *incident_id,
                      const char *client_id, const char *kind, const json_t *payload, char *err,
                      size_t errlen)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    int rc = outbox_enqueue(pg, task_id, topic, incident_id, client_id, kind, text, err, errlen);
    free(text);
    return rc;
}

int case_store_audit(PGconn *pg, const char *action, const char *incident_id, const char *client_id,
                     const json_t *payload, char *err, size_t errlen)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    const char *p[] = {action, incident_id, client_id, text};
    int rc = pgx_exec_params(pg, "case.audit",
                             "INSERT INTO audit_log (actor, action, incident_id, client_id, "
                             "payload) VALUES ('mni-assess', $1, $2, $3, $4::jsonb)",
                             4, p, NULL, err, errlen);
    free(text);
    return rc;
}
