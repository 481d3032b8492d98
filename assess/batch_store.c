/*
 * batch_store: see batch_store.h. Statements carry a name ("assess.load_cases") that appears
 * in errors; ids travel as one JSON array parameter, never as SQL text. The batch's lookups
 * are planned at every batch (pgx_query_replanned): prepared, they kept the plan made on the
 * empty tables of a new database (a semi-join hashing the whole table) until autovacuum's
 * first ANALYZE.
 */
#include "assess/batch_store.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/errbuf.h"
#include "lib/base/timefmt.h"
#include "lib/model/facts_json.h"
#include "lib/model/json_text.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/audit.h"
#include "lib/runtime/outbox.h"

/* Every TRUNCATE_EVERY batches the staging tables are truncated (batch_store_prepare): a
 * DELETE leaves their pages behind (each staged statement scans them), and autovacuum never
 * visits temporary tables. Eight truncations cost ~18 ms; every 32 batches that is ~0.6 ms a
 * batch. test_assess's batch.size 1 run crosses it. */
#define TRUNCATE_EVERY 32

int batch_store_prepare(PGconn *pg, char *err, size_t errlen)
{
    /* The staging tables keep their rows at commit (ON COMMIT PRESERVE ROWS, the default):
     * each staged write empties its table right after use (staged()). ON COMMIT DELETE ROWS
     * truncated every such table, its TOAST table and TOAST index at each commit that touched
     * any temporary table: measured at 2.3 ms of wall time (0.37 ms of CPU) per table and
     * commit, ~21 ms per batch for the nine of assess, against ~0.3 ms for a DELETE of the few
     * rows a staged write leaves. A reconnect drops them; they are created again here. */
    static unsigned batches;
    int rc = pgx_exec(
        pg, "assess.staging",
        /* work_mem: a batch's token merge hashes and sorts up to a few hundred thousand staged
         * rows; the default 4 MB sends them to disk (an external merge sort measured at a
         * third of the merge's time). Session-local, so other roles keep the server's
         * setting. */
        "SET work_mem = '64MB';"
        "CREATE TEMP TABLE IF NOT EXISTS assess_cases (LIKE cases INCLUDING DEFAULTS);"
        "CREATE TEMP TABLE IF NOT EXISTS assess_exposure (incident_id text, client_id text, "
        "persons bigint, persons_max bigint, token_count bigint, hours integer, "
        "systems integer, appi_persons bigint, public_body boolean, local_government boolean, "
        "ordinance_sensitive boolean);"
        "CREATE TEMP TABLE IF NOT EXISTS assess_deadlines (seq integer, incident_id text, "
        "client_id text, kind text, due_date date, due_at timestamptz);"
        "CREATE TEMP TABLE IF NOT EXISTS assess_meets (incident_id text, client_id text, "
        "kind text, met_at timestamptz);"
        "CREATE TEMP TABLE IF NOT EXISTS assess_steps (seq integer, incident_id text, "
        "step text, completed_at timestamptz, event_id text);"
        "CREATE TEMP TABLE IF NOT EXISTS assess_outbox (task_id text, topic text, "
        "incident_id text, client_id text, kind text, payload jsonb, record bytea);"
        /* Client-owned tables have row-level security, which refuses COPY FROM (migration
         * 0040): their rows are staged and inserted. */
        "CREATE TEMP TABLE IF NOT EXISTS assess_client_verdicts (incident_id text, "
        "client_id text, version integer, entry jsonb);"
        "CREATE TEMP TABLE IF NOT EXISTS assess_filings (event_id text, incident_id text, "
        "report text, client_id text, filed_at timestamptz, reference text)",
        err, errlen);
    if (rc == 0 && ++batches % TRUNCATE_EVERY == 0)
        rc = pgx_exec(pg, "assess.staging_truncate",
                      "TRUNCATE assess_cases, assess_exposure, assess_deadlines, assess_meets, "
                      "assess_steps, assess_outbox, assess_client_verdicts, assess_filings",
                      err, errlen);
    return rc;
}

int batch_store_seen(PGconn *pg, const char *ids_json, void (*seen)(void *ctx, const char *id),
                     void *ctx, char *err, size_t errlen)
{
    const char *p[] = {ids_json};
    PGresult *res = pgx_query_replanned(pg, "assess.seen",
                                        "SELECT event_id FROM case_events WHERE event_id = ANY "
                                        "(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))",
                                        1, p, err, errlen);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++)
        seen(ctx, PQgetvalue(res, r, 0));
    PQclear(res);
    return 0;
}

static long long ll(const PGresult *res, int r, int c, long long if_null)
{
    return PQgetisnull(res, r, c) ? if_null : atoll(PQgetvalue(res, r, c));
}

/* The stored facts (the `mni assess` input without clients) into the case's base facts. */
static int load_facts(case_state *c, const char *text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *facts = json_loads(text, 0, &jerr);
    if (!facts) {
        snprintf(err, errlen, "case %s: stored facts are not JSON", c->incident_id);
        return -1;
    }
    json_object_set_new(facts, "clients", json_array());
    facts_doc doc;
    char why[256];
    int rc = facts_json_from_object(facts, &doc, why, sizeof why);
    int64_t known_ms = 0;
    if (rc == 0) {
        c->facts = doc.facts;
        c->facts.clients = NULL;
        c->facts.n_clients = 0;
        facts_doc_free(&doc);
        rc = timefmt_parse_rfc3339(json_string_value(json_object_get(facts, "known_at")), &known_ms,
                                   why, sizeof why);
        c->known_at_ms = known_ms;
    }
    json_decref(facts);
    if (rc != 0) snprintf(err, errlen, "case %s: stored facts: %s", c->incident_id, why);
    return rc;
}

int batch_store_load(PGconn *pg, case_state *cases, size_t n,
                     size_t (*find)(void *ctx, const char *incident_id), void *ctx, char *err,
                     size_t errlen)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ids, json_string(cases[i].incident_id));
    char *ids_text = json_text_compact(ids);
    json_decref(ids);
    const char *p[] = {ids_text};
    PGresult *res = pgx_query_replanned(
        pg, "assess.load_cases",
        "SELECT incident_id, tenant, status, version, facts::text, "
        "(extract(epoch FROM opened_at) * 1000)::bigint, "
        "(extract(epoch FROM closed_at) * 1000)::bigint, "
        "(extract(epoch FROM mandatory_since) * 1000)::bigint, distinct_tokens, "
        "coalesce(last_event_id, ''), persons_total, reportable, direct_report "
        "FROM cases WHERE incident_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb))) "
        "ORDER BY incident_id FOR UPDATE",
        1, p, err, errlen);
    int rc = res ? 0 : -1;
    for (int r = 0; res && r < PQntuples(res) && rc == 0; r++) {
        size_t i = find(ctx, PQgetvalue(res, r, 0));
        if (i == (size_t)-1) continue;
        case_state *c = &cases[i];
        c->exists = c->stored = true;
        snprintf(c->tenant, sizeof c->tenant, "%s", PQgetvalue(res, r, 1));
        const char *status = PQgetvalue(res, r, 2);
        c->status = !strcmp(status, "open")     ? CASE_OPEN
                    : !strcmp(status, "closed") ? CASE_CLOSED
                                                : CASE_WITHDRAWN;
        c->version = atoi(PQgetvalue(res, r, 3));
        c->opened_at_ms = ll(res, r, 5, 0);
        c->closed_at_ms = ll(res, r, 6, RULES_ABSENT);
        c->mandatory_since_ms = ll(res, r, 7, RULES_ABSENT);
        c->distinct_tokens = ll(res, r, 8, 0);
        snprintf(c->last_event_id, sizeof c->last_event_id, "%s", PQgetvalue(res, r, 9));
        c->persons_total = ll(res, r, 10, 0);
        c->reportable = PQgetvalue(res, r, 11)[0] == 't';
        c->direct_report = PQgetvalue(res, r, 12)[0] == 't';
        rc = load_facts(c, PQgetvalue(res, r, 4), err, errlen);
    }
    PQclear(res);
    if (rc == 0) {
        res =
            pgx_query_replanned(pg, "assess.load_exposure",
                                "SELECT incident_id, client_id, persons, persons_max, token_count, "
                                "contract_notice_hours, systems, appi_persons, public_body, "
                                "local_government, ordinance_sensitive FROM client_exposure WHERE "
                                "incident_id = ANY "
                                "(ARRAY(SELECT jsonb_array_elements_text($1::jsonb))) "
                                "ORDER BY incident_id, client_id COLLATE \"C\"",
                                1, p, err, errlen);
        rc = res ? 0 : -1;
        for (int r = 0; res && r < PQntuples(res); r++) {
            size_t i = find(ctx, PQgetvalue(res, r, 0));
            if (i == (size_t)-1) continue;
            case_state *c = &cases[i];
            size_t k = case_client_get(c, PQgetvalue(res, r, 1));
            if (k == (size_t)-1) {
                snprintf(err, errlen, "case %s: out of memory for clients", c->incident_id);
                rc = -1;
                break;
            }
            c->extra[k].reported = ll(res, r, 2, 0);
            c->extra[k].reported_max = ll(res, r, 3, RULES_ABSENT);
            c->extra[k].tokens = ll(res, r, 4, 0);
            rules_client *client = &c->clients[k];
            client->contract_notice_hours = ll(res, r, 5, RULES_ABSENT);
            client->systems_given = !PQgetisnull(res, r, 6);
            client->systems = (unsigned)ll(res, r, 6, 0);
            client->appi_persons_given = !PQgetisnull(res, r, 7);
            client->appi_persons = ll(res, r, 7, 0);
            client->body.public_body = PQgetvalue(res, r, 8)[0] == 't';
            client->body.local_government = PQgetvalue(res, r, 9)[0] == 't';
            client->body.ordinance_sensitive = PQgetvalue(res, r, 10)[0] == 't';
        }
        PQclear(res);
    }
    free(ids_text);
    for (size_t i = 0; i < n; i++)
        case_recount(&cases[i]);
    return rc;
}

int batch_store_deadlines(PGconn *pg, const char *ids_json,
                          void (*add)(void *ctx, const char *incident_id, const batch_deadline *d),
                          void *ctx, char *err, size_t errlen)
{
    const char *p[] = {ids_json};
    PGresult *res = pgx_query_replanned(pg, "assess.load_deadlines",
                                        "SELECT incident_id, coalesce(client_id, ''), kind, "
                                        "met_at IS NOT NULL FROM deadlines WHERE incident_id = ANY "
                                        "(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))",
                                        1, p, err, errlen);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        batch_deadline d = {.met = PQgetvalue(res, r, 3)[0] == 't'};
        snprintf(d.client_id, sizeof d.client_id, "%s", PQgetvalue(res, r, 1));
        snprintf(d.kind, sizeof d.kind, "%s", PQgetvalue(res, r, 2));
        add(ctx, PQgetvalue(res, r, 0), &d);
    }
    PQclear(res);
    return 0;
}

int batch_store_claim(PGconn *pg, const rowset *rows, void (*fresh)(void *ctx, size_t row),
                      void *ctx, char *err, size_t errlen)
{
    if (rows->n_rows == 0) return 0;
    json_t *arr = json_array();
    for (size_t r = 0; r < rows->n_rows; r++)
        json_array_append_new(arr, json_pack("[s, s, s, s, s, I]", rowset_get(rows, r, 0),
                                             rowset_get(rows, r, 1), rowset_get(rows, r, 2),
                                             rowset_get(rows, r, 3), rowset_get(rows, r, 4),
                                             (json_int_t)r));
    char *text = json_text_compact(arr);
    json_decref(arr);
    const char *p[] = {text};
    PGresult *res = pgx_query(
        pg, "assess.claim_batches",
        "WITH rows AS (SELECT r->>0 AS incident_id, r->>1 AS client_id, r->>2 AS batch_id, "
        "r->>3 AS event_id, (r->>4)::integer AS tokens, (r->>5)::integer AS seq "
        "FROM jsonb_array_elements($1::jsonb) r), "
        "ins AS (INSERT INTO exposure_batches (incident_id, client_id, batch_id, event_id, "
        "tokens) SELECT incident_id, client_id, batch_id, event_id, tokens FROM rows "
        "ON CONFLICT DO NOTHING RETURNING incident_id, client_id, batch_id) "
        "SELECT rows.seq FROM ins JOIN rows USING (incident_id, client_id, batch_id)",
        1, p, err, errlen);
    free(text);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++)
        fresh(ctx, (size_t)atol(PQgetvalue(res, r, 0)));
    PQclear(res);
    return 0;
}

void batch_writes_init(batch_writes *w)
{
    rowset_init(&w->cases, 14);
    rowset_init(&w->exposure, 11);
    rowset_init(&w->versions, 6);
    rowset_init(&w->client_verdicts, 4);
    rowset_init(&w->deadlines, 6);
    rowset_init(&w->meets, 4);
    rowset_init(&w->steps, 5);
    rowset_init(&w->filings, 6);
    rowset_init(&w->outbox, 7);
    rowset_init(&w->audit, 5);
    rowset_init(&w->events, 7);
}

#define EACH_ROWSET(w, fn)                                                                         \
    do {                                                                                           \
        fn(&(w)->cases);                                                                           \
        fn(&(w)->exposure);                                                                        \
        fn(&(w)->versions);                                                                        \
        fn(&(w)->client_verdicts);                                                                 \
        fn(&(w)->deadlines);                                                                       \
        fn(&(w)->meets);                                                                           \
        fn(&(w)->steps);                                                                           \
        fn(&(w)->filings);                                                                         \
        fn(&(w)->outbox);                                                                          \
        fn(&(w)->audit);                                                                           \
        fn(&(w)->events);                                                                          \
    } while (0)

void batch_writes_clear(batch_writes *w)
{
    EACH_ROWSET(w, rowset_clear);
}

void batch_writes_free(batch_writes *w)
{
    EACH_ROWSET(w, rowset_free);
}

/* Empties a staging table after use, in the batch's transaction (batch_store_prepare). */
static int unstage(PGconn *pg, const char *table, char *err, size_t errlen)
{
    char sql[64];
    snprintf(sql, sizeof sql, "DELETE FROM %s", table);
    return pgx_exec(pg, "assess.unstage", sql, err, errlen);
}

/* A staged upsert: COPY into the staging table, one statement, and the table emptied again,
 * only when rows exist. */
static int staged(PGconn *pg, const rowset *rs, const char *table, const char *name,
                  const char *copy_sql, const char *apply_sql, char *err, size_t errlen)
{
    if (rs->n_rows == 0) return 0;
    return rowset_copy(rs, pg, name, copy_sql, err, errlen) != 0 ||
                   pgx_exec(pg, name, apply_sql, err, errlen) != 0 ||
                   unstage(pg, table, err, errlen) != 0
               ? -1
               : 0;
}

/* A JSON string, or null for NULL. */
static void put_string_or_null(buf *b, const char *s)
{
    if (s)
        json_text_put_string(b, s, strlen(s));
    else
        buf_puts(b, "null");
}

/* The audit rows in the order staged, chained with one call (audit_log_append, migration
 * 0096); every row's actor is the first row's (mni-assess). The array is written as text
 * around each row's payload, which is JSON text already. */
static int append_audit(PGconn *pg, const rowset *rs, char *err, size_t errlen)
{
    if (rs->n_rows == 0) return 0;
    buf b;
    buf_init(&b, BUF_NO_LIMIT);
    buf_putn(&b, "[", 1);
    for (size_t r = 0; r < rs->n_rows; r++) {
        const char *payload = rowset_get(rs, r, 4);
        if (!rowset_get(rs, r, 1) || !payload) {
            buf_free(&b);
            return errbuf_fail(err, errlen, "assess.audit: row %zu has no action or payload", r);
        }
        buf_puts(&b, r ? ",{\"action\":" : "{\"action\":");
        put_string_or_null(&b, rowset_get(rs, r, 1));
        buf_puts(&b, ",\"incident_id\":");
        put_string_or_null(&b, rowset_get(rs, r, 2));
        buf_puts(&b, ",\"client_id\":");
        put_string_or_null(&b, rowset_get(rs, r, 3));
        buf_puts(&b, ",\"payload\":");
        buf_puts(&b, payload);
        buf_putn(&b, "}", 1);
    }
    buf_putn(&b, "]", 1);
    char *text = rs->failed ? (buf_free(&b), NULL) : buf_take(&b);
    if (!text) {
        snprintf(err, errlen, "assess.audit: cannot serialise %zu rows (out of memory)",
                 rs->n_rows);
        return -1;
    }
    int rc = audit_append(pg, rowset_get(rs, 0, 0), text, NULL, err, errlen);
    free(text);
    return rc;
}

int batch_store_write(PGconn *pg, const batch_writes *w, char *err, size_t errlen)
{
    if (staged(pg, &w->cases, "assess_cases", "assess.cases",
               "COPY assess_cases (incident_id, tenant, opened_at, known_at, status, closed_at, "
               "version, facts, persons_total, reportable, direct_report, mandatory_since, "
               "distinct_tokens, last_event_id) FROM STDIN",
               "INSERT INTO cases (incident_id, tenant, opened_at, known_at, status, closed_at, "
               "version, facts, persons_total, reportable, direct_report, mandatory_since, "
               "distinct_tokens, last_event_id) SELECT incident_id, tenant, opened_at, known_at, "
               "status, closed_at, version, facts, persons_total, reportable, direct_report, "
               "mandatory_since, distinct_tokens, last_event_id FROM assess_cases "
               "ON CONFLICT (incident_id) DO UPDATE SET known_at = EXCLUDED.known_at, "
               "status = EXCLUDED.status, closed_at = EXCLUDED.closed_at, "
               "version = EXCLUDED.version, facts = EXCLUDED.facts, "
               "persons_total = EXCLUDED.persons_total, reportable = EXCLUDED.reportable, "
               "direct_report = EXCLUDED.direct_report, "
               "mandatory_since = EXCLUDED.mandatory_since, "
               "distinct_tokens = EXCLUDED.distinct_tokens, "
               "last_event_id = EXCLUDED.last_event_id, updated_at = now()",
               err, errlen) != 0 ||
        staged(pg, &w->exposure, "assess_exposure", "assess.exposure",
               "COPY assess_exposure (incident_id, client_id, persons, persons_max, token_count, "
               "hours, systems, appi_persons, public_body, local_government, "
               "ordinance_sensitive) FROM STDIN",
               "INSERT INTO client_exposure (incident_id, client_id, persons, persons_max, "
               "token_count, contract_notice_hours, systems, appi_persons, public_body, "
               "local_government, ordinance_sensitive) SELECT incident_id, client_id, persons, "
               "persons_max, token_count, hours, systems, appi_persons, public_body, "
               "local_government, ordinance_sensitive FROM assess_exposure "
               "ON CONFLICT (incident_id, client_id) DO UPDATE SET persons = EXCLUDED.persons, "
               "persons_max = EXCLUDED.persons_max, token_count = EXCLUDED.token_count, "
               "contract_notice_hours = EXCLUDED.contract_notice_hours, "
               "systems = EXCLUDED.systems, appi_persons = EXCLUDED.appi_persons, "
               "public_body = EXCLUDED.public_body, local_government = "
               "EXCLUDED.local_government, ordinance_sensitive = EXCLUDED.ordinance_sensitive, "
               "updated_at = now()",
               err, errlen) != 0 ||
        rowset_copy(&w->versions, pg, "assess.versions",
                    "COPY case_versions (incident_id, version, verdict, rules, cause_event_id, "
                    "facts) FROM STDIN",
                    err, errlen) != 0 ||
        staged(pg, &w->client_verdicts, "assess_client_verdicts", "assess.client_verdicts",
               "COPY assess_client_verdicts (incident_id, client_id, version, entry) FROM STDIN",
               "INSERT INTO client_verdicts (incident_id, client_id, version, entry) "
               "SELECT incident_id, client_id, version, entry FROM assess_client_verdicts",
               err, errlen) != 0 ||
        /* The last due of each deadline in the batch wins; every staged row moved (the fold
         * stages only new or changed dues), so a moved deadline is reminded of again. */
        staged(pg, &w->deadlines, "assess_deadlines", "assess.deadlines",
               "COPY assess_deadlines (seq, incident_id, client_id, kind, due_date, due_at) "
               "FROM STDIN",
               "INSERT INTO deadlines (incident_id, client_id, kind, due_date, due_at) "
               "SELECT DISTINCT ON (incident_id, client_id, kind) incident_id, client_id, kind, "
               "due_date, due_at FROM assess_deadlines "
               "ORDER BY incident_id, client_id, kind, seq DESC "
               "ON CONFLICT (incident_id, client_id, kind) DO UPDATE SET "
               "due_date = EXCLUDED.due_date, due_at = EXCLUDED.due_at, updated_at = now(), "
               "reminded_at = NULL, escalated_at = NULL",
               err, errlen) != 0 ||
        staged(pg, &w->meets, "assess_meets", "assess.meets",
               "COPY assess_meets (incident_id, client_id, kind, met_at) FROM STDIN",
               /* The staging table has no statistics: joined on its own, the planner
                * hashed every open deadline (a cost growing with history); the batch's
                * incidents as an array make it look the few rows up by index. */
               "UPDATE deadlines d SET met_at = m.met_at, updated_at = now() FROM assess_meets m "
               "WHERE d.incident_id = ANY (ARRAY(SELECT incident_id FROM assess_meets)) "
               "AND d.incident_id = m.incident_id AND d.kind = m.kind AND d.client_id IS NOT "
               "DISTINCT FROM m.client_id AND d.met_at IS NULL",
               err, errlen) != 0 ||
        staged(pg, &w->steps, "assess_steps", "assess.steps",
               "COPY assess_steps (seq, incident_id, step, completed_at, event_id) FROM STDIN",
               "INSERT INTO case_steps (incident_id, step, completed_at, event_id) "
               "SELECT DISTINCT ON (incident_id, step) incident_id, step, completed_at, event_id "
               "FROM assess_steps ORDER BY incident_id, step, seq ON CONFLICT DO NOTHING",
               err, errlen) != 0 ||
        staged(pg, &w->filings, "assess_filings", "assess.filings",
               "COPY assess_filings (event_id, incident_id, report, client_id, filed_at, "
               "reference) FROM STDIN",
               "INSERT INTO case_filings (event_id, incident_id, report, client_id, filed_at, "
               "reference) SELECT event_id, incident_id, report, client_id, filed_at, reference "
               "FROM assess_filings",
               err, errlen) != 0 ||
        (w->outbox.n_rows > 0 &&
         (rowset_copy(&w->outbox, pg, "assess.outbox",
                      "COPY assess_outbox (task_id, topic, incident_id, client_id, kind, payload, "
                      "record) FROM STDIN",
                      err, errlen) != 0 ||
          outbox_enqueue_staged(pg, "assess_outbox", err, errlen) != 0 ||
          unstage(pg, "assess_outbox", err, errlen) != 0)) ||
        rowset_copy(&w->events, pg, "assess.events",
                    "COPY case_events (event_id, incident_id, kind, occurred_at, version_after, "
                    "title, description) FROM STDIN",
                    err, errlen) != 0 ||
        /* Last: the chain's lock is held from here to the commit, and every writer of the
         * chain (both assess instances, notify) waits for it. In the order staged; the head is
         * signed in the same transaction (lib/runtime/audit.h). */
        append_audit(pg, &w->audit, err, errlen) != 0)
        return -1;
    return 0;
}
