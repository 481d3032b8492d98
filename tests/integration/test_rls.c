/*
 * Row-level security per client, least privilege of the workers' roles, and the audit chain's
 * anchors (issue 8, Security; migrations 0040 and 0041), against a real PostgreSQL with real
 * roles logging in.
 *
 *   every_table_forced        the catalogue: every table with a client_id column has
 *                             row-level security enabled and forced and the own_client policy;
 *                             on any other table a client role has no privilege unless forced
 *                             row-level security scopes it (case_steps); a table added
 *                             later without them fails here (iterated over pg_class, not a
 *                             list).
 *   client_sees_its_part      a role from `mni db client-role` reads every table and view:
 *                             nothing of the other client (its id, its count), nothing counted
 *                             over all clients, its own rows are there; case_overview and
 *                             case_versions_shown give it its part of the case.
 *   client_cannot_cross       the same role with every privilege granted on every client-owned
 *                             table: it updates, deletes and inserts nothing of the other
 *                             client.
 *   bpo_role_sees_all         `mni db bpo-role` reads both clients' rows and the totals.
 *   client_commands           `mni case`, `mni cases` (table and --json) logged in as the
 *                             client role: its part only (its count 111, its deadline, task,
 *                             document, ticket), nothing of the other client nor the totals;
 *                             `mni dlq list` refuses it in one line naming why; a role that is
 *                             neither a client's nor sees all gets one line, not "permission
 *                             denied"; the BPO role still sees the total.
 *   app_roles_least_privilege no application role may UPDATE, DELETE or TRUNCATE an
 *                             append-only table, none may DELETE (but from the two queues,
 *                             waiting_events and outbox_queue) or TRUNCATE anything, the
 *                             reader writes nothing; mni_assess is refused for real, also
 *                             numbering or hashing an audit row itself.
 *   audit_verify_*            `mni audit verify` on a chain signed with the workers' key:
 *                             intact; a row edited; a row edited and the chain re-hashed (only
 *                             the anchors see it); the tail cut off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/pg/pgx.h"
#include "lib/runtime/audit.h"
#include "lib/runtime/audit_anchor.h"
#include "lib/runtime/config.h"
#include "tests/support/runcmd.h"
#include "tests/support/testdata.h"
#include "tests/support/testenv.h"

/* Two audit rows of a notify batch, as lib/runtime/audit.h takes them. */
static const char notify_audit_rows[] =
    "[{\"action\": \"document_rendered\", \"incident_id\": \"INC-1\", \"client_id\": \"C\", "
    "\"payload\": {\"n\": 1}}, {\"action\": \"delivery_sent\", \"incident_id\": \"INC-1\", "
    "\"client_id\": \"C\", \"payload\": {\"n\": 2}}]";

/* Two clients of one incident. Alpha's count is 111, Bravo's 7331, the total 9999 (stored as
 * the whole verdict's and the case's count). */
static const char seed_sql[] =
    "INSERT INTO cases (incident_id, tenant, opened_at, version, persons_total, distinct_tokens,"
    " facts) VALUES ('INC-1', 't1', '2026-11-01T00:00Z', 1, 9999, 8888,"
    " '{\"note\": \"CLIENT-BRAVO\"}');"
    "INSERT INTO event_log (event_id, incident_id, tenant, client_id, kind, occurred_at,"
    " src_topic, src_partition, src_offset, body) VALUES"
    " ('e-0', 'INC-1', 't1', NULL, 'incident_opened', '2026-11-01T00:00Z', 'ev', 0, 0, '{}'),"
    " ('e-a', 'INC-1', 't1', 'CLIENT-ALPHA', 'exposure_count', '2026-11-01T01:00Z', 'ev', 0, 1,"
    "  '{}'),"
    " ('e-b', 'INC-1', 't1', 'CLIENT-BRAVO', 'exposure_count', '2026-11-01T01:00Z', 'ev', 0, 2,"
    "  '{}');"
    "INSERT INTO case_versions (incident_id, version, verdict, rules) VALUES ('INC-1', 1,"
    " '{\"headcount\": {\"total\": 9999, \"known\": 8888}}', '{MN-2-4}');"
    "INSERT INTO client_verdicts VALUES"
    " ('INC-1', 'CLIENT-ALPHA', 1, '{\"client_id\": \"CLIENT-ALPHA\", \"status\": \"mandatory\","
    "  \"rules\": [\"MN-X\"], \"headcount\": 111, \"headcount_known\": 111}'),"
    " ('INC-1', 'CLIENT-BRAVO', 1, '{\"client_id\": \"CLIENT-BRAVO\", \"status\": \"mandatory\","
    "  \"rules\": [\"MN-X\"], \"headcount\": 7331, \"headcount_known\": 7331}');"
    "INSERT INTO client_exposure (incident_id, client_id, persons) VALUES"
    " ('INC-1', 'CLIENT-ALPHA', 111), ('INC-1', 'CLIENT-BRAVO', 7331);"
    "INSERT INTO exposure_tokens VALUES ('INC-1', 'CLIENT-ALPHA', decode(repeat('aa', 32), 'hex')),"
    " ('INC-1', 'CLIENT-BRAVO', decode(repeat('bb', 32), 'hex'));"
    "INSERT INTO incident_persons VALUES ('INC-1', decode(repeat('aa', 32), 'hex')),"
    " ('INC-1', decode(repeat('bb', 32), 'hex'));"
    "INSERT INTO exposure_batches (incident_id, client_id, batch_id, event_id, tokens) VALUES"
    " ('INC-1', 'CLIENT-ALPHA', 'b1', 'e-a', 1), ('INC-1', 'CLIENT-BRAVO', 'b1', 'e-b', 1);"
    "INSERT INTO deadlines (incident_id, client_id, kind, due_date) VALUES"
    " ('INC-1', 'CLIENT-ALPHA', 'client_notice', '2026-11-05'),"
    " ('INC-1', 'CLIENT-BRAVO', 'client_notice', '2026-11-05'),"
    " ('INC-1', NULL, 'ppc_preliminary', '2026-11-06');"
    "INSERT INTO outbox (task_id, incident_id, client_id, kind, payload) VALUES"
    " ('t-a', 'INC-1', 'CLIENT-ALPHA', 'client_notice', '{}'),"
    " ('t-b', 'INC-1', 'CLIENT-BRAVO', 'client_notice', '{}'),"
    " ('t-0', 'INC-1', NULL, 'ppc_preliminary', '{}');"
    "INSERT INTO deliveries (task_id, incident_id, client_id, channel, document, document_sha256)"
    " VALUES ('t-a', 'INC-1', 'CLIENT-ALPHA', 'client:CLIENT-ALPHA', 'a', sha256('a')),"
    " ('t-b', 'INC-1', 'CLIENT-BRAVO', 'client:CLIENT-BRAVO', 'b', sha256('b'));"
    "INSERT INTO tickets (ticket_id, task_id, incident_id, client_id, kind, title) VALUES"
    " ('k-a', 't-a', 'INC-1', 'CLIENT-ALPHA', 'client_notice', 'A'),"
    " ('k-b', 't-b', 'INC-1', 'CLIENT-BRAVO', 'client_notice', 'B');"
    "INSERT INTO ticket_webhook_attempts (ticket_id, attempt, incident_id, client_id, started_at,"
    " latency_ms, outcome) VALUES ('k-a', 1, 'INC-1', 'CLIENT-ALPHA', now(), 1, 'delivered'),"
    " ('k-b', 1, 'INC-1', 'CLIENT-BRAVO', now(), 1, 'delivered');"
    "INSERT INTO case_filings (event_id, incident_id, report, client_id, filed_at) VALUES"
    " ('f-a', 'INC-1', 'client_notice', 'CLIENT-ALPHA', now()),"
    " ('f-b', 'INC-1', 'client_notice', 'CLIENT-BRAVO', now());"
    "INSERT INTO case_steps VALUES ('INC-1', 'fact_investigation', now(), 'e-0');"
    "INSERT INTO case_events (event_id, incident_id, kind, occurred_at) VALUES"
    " ('e-b', 'INC-1', 'exposure_count', now());"
    "INSERT INTO audit_log (actor, action, incident_id, client_id) VALUES"
    " ('test', 'seed', 'INC-1', 'CLIENT-ALPHA'), ('test', 'seed', 'INC-1', 'CLIENT-BRAVO'),"
    " ('test', 'seed', 'INC-1', NULL);";

/* What a client role must never read: the other client, counts over all clients. A JSON
 * value follows ':' (timestamps never have ':73', ':88' or ':99'). */
static const char *const foreign[] = {"CLIENT-BRAVO", ":7331", ":9999", ":8888", NULL};

static testenv_db db;
static char alpha[64], bpo[64], nobody[64];

static PGconn *connect_as(const char *role)
{
    char ci[2048], err[512];
    assert_int_equal(pgx_conninfo_set(db.conninfo, "user", role, ci, sizeof ci, err, sizeof err),
                     0);
    PGconn *c = pgx_connect(ci, "mni test rls", err, sizeof err);
    if (!c) fail_msg("log in as %s: %s", role, err);
    return c;
}

static void run_ok(const char *const *argv)
{
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("%s %s: exit %d: %s%s", argv[0], argv[1], r.status, r.out, r.err);
    runcmd_free(&r);
}

static int setup(void **state)
{
    testenv_db_setup(state, &db, 1);
    if (!*state) return 0;
    char err[1024];
    if (pgx_exec(db.conn, "seed", seed_sql, err, sizeof err) != 0) fail_msg("seed: %s", err);
    snprintf(alpha, sizeof alpha, "rls_alpha_%d", (int)getpid());
    snprintf(bpo, sizeof bpo, "rls_bpo_%d", (int)getpid());
    snprintf(nobody, sizeof nobody, "rls_nobody_%d", (int)getpid());
    const char *c[] = {"mni", "db",         "client-role", "CLIENT-ALPHA",
                       alpha, "--conninfo", db.conninfo,   NULL};
    run_ok(c);
    const char *b[] = {"mni", "db", "bpo-role", bpo, "--conninfo", db.conninfo, NULL};
    run_ok(b);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testenv_db_drop(&db);
    /* The roles are the cluster's: gone once their database (and its grants) is. */
    char err[512], sql[256];
    PGconn *admin = pgx_connect(getenv("MNI_PG_CONNINFO"), "mni test", err, sizeof err);
    if (admin) {
        snprintf(sql, sizeof sql,
                 "DROP ROLE IF EXISTS %s; DROP ROLE IF EXISTS %s; DROP ROLE IF EXISTS %s", alpha,
                 bpo, nobody);
        pgx_exec(admin, "drop_roles", sql, err, sizeof err);
        pgx_close(admin);
    }
    return 0;
}

/* The tables (relkind r, p) and views (v) of the schema, with has-client_id, as owner. */
static PGresult *relations(const char *kinds)
{
    char err[512];
    const char *p[] = {kinds};
    PGresult *res =
        pgx_query(db.conn, "relations",
                  "SELECT c.relname, EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid"
                  " AND a.attname = 'client_id' AND NOT a.attisdropped), c.relkind::text"
                  " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                  " WHERE n.nspname = 'public' AND c.relkind::text = ANY (string_to_array($1, ','))"
                  " AND c.relname <> 'schema_migrations' ORDER BY c.relname",
                  1, p, err, sizeof err);
    if (!res) fail_msg("%s", err);
    return res;
}

static long long count(PGconn *c, const char *sql)
{
    char err[512];
    PGresult *res = pgx_query(c, "count", sql, 0, NULL, err, sizeof err);
    if (!res) fail_msg("%s: %s", sql, err);
    long long n = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static void every_table_forced(void **state)
{
    testenv_db_from_state(state);
    char err[512];
    /* Client-owned (a client_id column): forced row-level security and the own_client policy
     * for mni_client. Any other table: no privilege for mni_client, unless forced row-level
     * security with a policy for it scopes what it reads (case_steps, by incident). */
    PGresult *res = pgx_query(
        db.conn, "forced",
        "SELECT c.relname || CASE WHEN h.has_client THEN ' (client-owned: no forced row-level"
        " security or no own_client policy)' ELSE ' (not client-owned, yet mni_client may read"
        " it without forced row-level security)' END FROM pg_class c JOIN pg_namespace n ON n.oid "
        "= c.relnamespace"
        " CROSS JOIN LATERAL (SELECT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid"
        "  AND a.attname = 'client_id' AND NOT a.attisdropped) AS has_client) h"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        " AND c.relname NOT IN ('schema_migrations', 'mni_client_roles') AND CASE"
        " WHEN h.has_client THEN NOT c.relrowsecurity OR NOT c.relforcerowsecurity"
        "  OR NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid"
        "   AND p.polname = 'own_client' AND p.polcmd = '*' AND p.polpermissive"
        "   AND 'mni_client'::regrole = ANY (p.polroles))"
        " ELSE has_table_privilege('mni_client', c.oid, 'SELECT, INSERT, UPDATE, DELETE')"
        "  AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (SELECT FROM"
        "   pg_policy p WHERE p.polrelid = c.oid AND 'mni_client'::regrole = ANY (p.polroles)))"
        " END ORDER BY 1",
        0, NULL, err, sizeof err);
    if (!res) fail_msg("%s", err);
    char bad[4096] = "";
    for (int i = 0; i < PQntuples(res); i++)
        snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s", PQgetvalue(res, i, 0));
    PQclear(res);
    if (*bad) fail_msg("give these tables what migration 0040 gives the others:%s", bad);
    /* And the check sees the client-owned tables at all. */
    assert_true(count(db.conn, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                               "c.relnamespace WHERE n.nspname = 'public' AND "
                               "relforcerowsecurity") >= 12);
}

static void client_sees_its_part(void **state)
{
    testenv_db_from_state(state);
    PGconn *c = connect_as(alpha);
    PGresult *rel = relations("r,p,v");
    char err[512], sql[512];
    int own_tables = 0;
    for (int i = 0; i < PQntuples(rel); i++) {
        const char *t = PQgetvalue(rel, i, 0);
        int has_client = PQgetvalue(rel, i, 1)[0] == 't';
        snprintf(sql, sizeof sql, "SELECT row_to_json(t)::text FROM %s t", t);
        PGresult *res = pgx_query(c, "read", sql, 0, NULL, err, sizeof err);
        if (!res) {
            /* Refused outright is fine: nothing read. */
            assert_string_equal(pgx_last_sqlstate(), "42501");
            continue;
        }
        for (int r = 0; r < PQntuples(res); r++)
            for (int k = 0; foreign[k]; k++)
                if (strstr(PQgetvalue(res, r, 0), foreign[k]))
                    fail_msg("%s as client role %s: a row holds '%s': %s", t, alpha, foreign[k],
                             PQgetvalue(res, r, 0));
        if (has_client && PQgetvalue(rel, i, 2)[0] != 'v' && strcmp(t, "mni_client_roles") != 0) {
            char own[256];
            snprintf(own, sizeof own, "SELECT count(*) FROM %s WHERE client_id = 'CLIENT-ALPHA'",
                     t);
            long long seeded = count(db.conn, own);
            if (seeded == 0)
                fail_msg("%s has a client_id but no seed rows for CLIENT-ALPHA: add some to "
                         "seed_sql so that its isolation is tested",
                         t);
            if (PQntuples(res) != seeded)
                fail_msg("%s: client role sees %d rows, its client has %lld", t, PQntuples(res),
                         seeded);
            own_tables++;
        }
        PQclear(res);
    }
    PQclear(rel);
    assert_true(own_tables >= 12);
    /* Its part of the case: the case itself, its own count, no totals. */
    assert_int_equal(count(c, "SELECT count(*) FROM case_overview WHERE incident_id = 'INC-1' "
                              "AND persons_total IS NULL AND facts IS NULL"),
                     1);
    assert_int_equal(count(c, "SELECT (verdict->'headcount'->'clients'->>'CLIENT-ALPHA')::int "
                              "FROM case_versions_shown WHERE version = 1"),
                     111);
    /* Tables without client_id are not the client's to read at all. */
    static const char *const shut[] = {"cases", "case_versions", "incident_persons",
                                       "audit_anchors", NULL};
    for (int i = 0; shut[i]; i++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", shut[i]);
        PGresult *r = pgx_query(c, "shut", sql, 0, NULL, err, sizeof err);
        if (r) fail_msg("%s: a client role may read it (%s rows)", shut[i], PQgetvalue(r, 0, 0));
        assert_string_equal(pgx_last_sqlstate(), "42501");
    }
    /* The whole verdict's functions read nothing for it. */
    PGresult *res =
        pgx_query(c, "whole", "SELECT case_verdict('INC-1', 1)::text", 0, NULL, err, sizeof err);
    assert_null(res);
    assert_string_equal(pgx_last_sqlstate(), "42501");
    pgx_close(c);
}

static void client_cannot_cross(void **state)
{
    testenv_db_from_state(state);
    char err[512], sql[1024];
    snprintf(sql, sizeof sql, "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %s", alpha);
    assert_int_equal(pgx_exec(db.conn, "grant_all", sql, err, sizeof err), 0);
    PGresult *rel = relations("r,p");
    for (int i = 0; i < PQntuples(rel); i++) {
        if (PQgetvalue(rel, i, 1)[0] != 't') continue;
        snprintf(sql, sizeof sql, "GRANT ALL ON %s TO %s", PQgetvalue(rel, i, 0), alpha);
        assert_int_equal(pgx_exec(db.conn, "grant_all", sql, err, sizeof err), 0);
    }
    PGconn *c = connect_as(alpha);
    for (int i = 0; i < PQntuples(rel); i++) {
        const char *t = PQgetvalue(rel, i, 0);
        if (PQgetvalue(rel, i, 1)[0] != 't') continue; /* not readable at all: checked above */
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", t);
        long long before = count(db.conn, sql);
        long long n = -1;
        snprintf(sql, sizeof sql,
                 "UPDATE %s SET client_id = client_id WHERE client_id = 'CLIENT-BRAVO'", t);
        if (pgx_exec_params(c, "upd", sql, 0, NULL, &n, err, sizeof err) == 0)
            assert_int_equal(n, 0);
        n = -1;
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE client_id IS DISTINCT FROM 'CLIENT-ALPHA'",
                 t);
        if (pgx_exec_params(c, "del", sql, 0, NULL, &n, err, sizeof err) == 0)
            assert_int_equal(n, 0);
        snprintf(sql, sizeof sql,
                 "UPDATE %s SET client_id = 'CLIENT-BRAVO' WHERE client_id = 'CLIENT-ALPHA'", t);
        if (pgx_exec_params(c, "move", sql, 0, NULL, &n, err, sizeof err) == 0 && n > 0)
            fail_msg("%s: the client role moved %lld of its rows to another client", t, n);
        /* One of the other client's rows, inserted again as the client: refused. */
        snprintf(sql, sizeof sql,
                 "SELECT to_jsonb(t)::text FROM %s t WHERE client_id = 'CLIENT-BRAVO' LIMIT 1", t);
        PGresult *row = pgx_query(db.conn, "row", sql, 0, NULL, err, sizeof err);
        assert_non_null(row);
        if (PQntuples(row) == 1) {
            const char *p[] = {PQgetvalue(row, 0, 0)};
            snprintf(sql, sizeof sql,
                     "INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM "
                     "jsonb_populate_record(NULL::%s, $1::jsonb)",
                     t, t);
            if (pgx_exec_params(c, "ins", sql, 1, p, NULL, err, sizeof err) == 0)
                fail_msg("%s: the client role inserted a row of another client", t);
            if (!strstr(err, "row-level security"))
                fail_msg("%s: refused for another reason than row-level security: %s", t, err);
        }
        PQclear(row);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", t);
        assert_int_equal(count(db.conn, sql), before);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE client_id = 'CLIENT-BRAVO'", t);
        if (count(db.conn, sql) == 0 && strcmp(t, "mni_client_roles") != 0)
            fail_msg("%s: no row of CLIENT-BRAVO left (or none seeded)", t);
    }
    PQclear(rel);
    pgx_close(c);
}

static void bpo_role_sees_all(void **state)
{
    testenv_db_from_state(state);
    PGconn *c = connect_as(bpo);
    assert_int_equal(count(c, "SELECT count(*) FROM client_exposure"), 2);
    assert_int_equal(count(c, "SELECT persons_total FROM case_overview"), 9999);
    assert_int_equal(count(c, "SELECT (verdict->'headcount'->>'total')::int "
                              "FROM case_versions_shown"),
                     9999);
    char err[256];
    assert_int_not_equal(pgx_exec(c, "write", "DELETE FROM outbox", err, sizeof err), 0);
    assert_string_equal(pgx_last_sqlstate(), "42501");
    pgx_close(c);
}

/* Runs `mni ARGS... --conninfo <db as role>` (dlq: MNI_PG_CONNINFO, it has no such option). */
static runcmd_result run_as(const char *role, const char *const *args)
{
    char ci[2048], err[512];
    assert_int_equal(pgx_conninfo_set(db.conninfo, "user", role, ci, sizeof ci, err, sizeof err),
                     0);
    const char *argv[16] = {"mni"};
    int n = 1;
    for (int i = 0; args[i] && n < 13; i++)
        argv[n++] = args[i];
    int dlq = !strcmp(args[0], "dlq");
    if (!dlq) {
        argv[n++] = "--conninfo";
        argv[n++] = ci;
    }
    argv[n] = NULL;
    char *saved = getenv("MNI_PG_CONNINFO") ? strdup(getenv("MNI_PG_CONNINFO")) : NULL;
    if (dlq) setenv("MNI_PG_CONNINFO", ci, 1);
    runcmd_result r;
    int rc = runcmd(argv, NULL, &r);
    if (saved) setenv("MNI_PG_CONNINFO", saved, 1);
    free(saved);
    assert_int_equal(rc, 0);
    return r;
}

static void expect_client_view(const char *what, runcmd_result *r, const char *const *want)
{
    if (r->status != 0) fail_msg("%s as %s: exit %d: %s%s", what, alpha, r->status, r->out, r->err);
    static const char *const others[] = {"CLIENT-BRAVO", "7331", "9999", "8888", NULL};
    for (int k = 0; others[k]; k++)
        if (strstr(r->out, others[k]))
            fail_msg("%s as client role %s shows '%s':\n%s", what, alpha, others[k], r->out);
    for (int k = 0; want[k]; k++)
        if (!strstr(r->out, want[k]))
            fail_msg("%s as client role %s lacks '%s':\n%s", what, alpha, want[k], r->out);
    runcmd_free(r);
}

static void client_commands(void **state)
{
    testenv_db_from_state(state);
    const char *case_args[] = {"case", "INC-1", NULL};
    runcmd_result r = run_as(alpha, case_args);
    const char *case_want[] = {"INC-1",      "CLIENT-ALPHA",  "111", "mandatory", "MN-X",
                               "2026-11-05", "client_notice", "t-a", "k-a",       NULL};
    expect_client_view("mni case", &r, case_want);
    const char *case_json[] = {"case", "--json", "INC-1", NULL};
    r = run_as(alpha, case_json);
    const char *json_want[] = {"\"CLIENT-ALPHA\": 111", "\"mandatory\"", NULL};
    expect_client_view("mni case --json", &r, json_want);
    /* Its headcount is its verdict's (111), not the raw count of its exposure events. */
    char err[512];
    assert_int_equal(pgx_exec(db.conn, "raw",
                              "UPDATE client_exposure SET persons = 222 WHERE client_id = "
                              "'CLIENT-ALPHA'",
                              err, sizeof err),
                     0);
    const char *cases_args[] = {"cases", NULL};
    r = run_as(alpha, cases_args);
    if (strstr(r.out, "222")) fail_msg("mni cases shows the raw count:\n%s", r.out);
    const char *cases_want[] = {"INC-1", "111", "mandatory", "client_notice 2026-11-05", NULL};
    expect_client_view("mni cases", &r, cases_want);
    const char *cases_json[] = {"cases", "--json", NULL};
    r = run_as(alpha, cases_json);
    const char *cases_json_want[] = {"\"client_persons\":111", "\"client_id\":\"CLIENT-ALPHA\"",
                                     NULL};
    expect_client_view("mni cases --json", &r, cases_json_want);
    assert_int_equal(pgx_exec(db.conn, "raw",
                              "UPDATE client_exposure SET persons = 111 WHERE client_id = "
                              "'CLIENT-ALPHA'",
                              err, sizeof err),
                     0);
    /* Another client's case: none for this role. */
    assert_int_equal(pgx_exec(db.conn, "other",
                              "INSERT INTO cases (incident_id, tenant, opened_at) VALUES "
                              "('INC-2', 't1', now()); INSERT INTO client_exposure (incident_id,"
                              " client_id, persons) VALUES ('INC-2', 'CLIENT-BRAVO', 5)",
                              err, sizeof err),
                     0);
    const char *other_case[] = {"case", "INC-2", NULL};
    r = run_as(alpha, other_case);
    if (r.status != 1 || !strstr(r.err, "no such case for client CLIENT-ALPHA"))
        fail_msg("mni case INC-2 as %s: exit %d: %s%s", alpha, r.status, r.out, r.err);
    runcmd_free(&r);
    r = run_as(alpha, cases_args);
    if (r.status != 0 || strstr(r.out, "INC-2")) fail_msg("mni cases shows INC-2:\n%s", r.out);
    runcmd_free(&r);

    /* The dead letters are the BPO's: refused in one line, before the topic is read. */
    const char *dlq_args[] = {"dlq", "list", NULL};
    r = run_as(alpha, dlq_args);
    if (r.status != 1 || !strstr(r.err, "is client CLIENT-ALPHA's") ||
        !strstr(r.err, "for the BPO's operators only") || strstr(r.err, "permission denied"))
        fail_msg("mni dlq list as %s: exit %d: %s%s", alpha, r.status, r.out, r.err);
    runcmd_free(&r);

    /* The BPO role sees the total as before. */
    r = run_as(bpo, cases_args);
    if (r.status != 0 || !strstr(r.out, "9999") || !strstr(r.out, "INC-2"))
        fail_msg("mni cases as %s: exit %d: %s%s", bpo, r.status, r.out, r.err);
    runcmd_free(&r);

    /* A role that is neither: one line that says what it is not. */
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN", nobody);
    assert_int_equal(pgx_exec(db.conn, "nobody", sql, err, sizeof err), 0);
    for (int i = 0; i < 2; i++) {
        r = run_as(nobody, i ? case_args : cases_args);
        if (r.status != 1 || !strstr(r.err, "is neither a client role") ||
            strstr(r.err, "permission denied"))
            fail_msg("mni %s as %s: exit %d: %s%s", i ? "case" : "cases", nobody, r.status, r.out,
                     r.err);
        runcmd_free(&r);
    }
    assert_int_equal(pgx_exec(db.conn, "cleanup",
                              "DELETE FROM client_exposure WHERE incident_id = 'INC-2';"
                              " DELETE FROM cases WHERE incident_id = 'INC-2'",
                              err, sizeof err),
                     0);
}

static void app_roles_least_privilege(void **state)
{
    testenv_db_from_state(state);
    /* Append-only tables are those with the mni_refuse_change trigger. The DELETEs a worker
     * has are on queues whose rows point at what stays: ingest's on waiting_events (rows
     * leave when their incident opens; the events stay in event_log) and the relays' (assess,
     * notify) on outbox_queue (rows leave when Kafka acknowledged them; the outbox row stays,
     * migration 0125). */
    const char *sql =
        "SELECT r.rolname || ' may ' || p.priv || ' ' || c.relname"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " CROSS JOIN (VALUES ('mni_ingest'), ('mni_assess'), ('mni_notify'), ('mni_reader'),"
        "   ('mni_client')) r(rolname)"
        " CROSS JOIN (VALUES ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('TRIGGER'), ('INSERT')) p(priv)"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        " AND has_table_privilege(r.rolname, c.oid, p.priv)"
        " AND NOT (r.rolname = 'mni_ingest' AND c.relname = 'waiting_events'"
        "  AND p.priv IN ('DELETE', 'UPDATE', 'INSERT'))"
        " AND NOT (r.rolname IN ('mni_assess', 'mni_notify') AND c.relname = 'outbox_queue'"
        "  AND p.priv = 'DELETE')"
        " AND (p.priv IN ('DELETE', 'TRUNCATE', 'TRIGGER')"
        "  OR r.rolname IN ('mni_reader', 'mni_client')"
        "  OR EXISTS (SELECT FROM pg_trigger g JOIN pg_proc f ON f.oid = g.tgfoid"
        "     WHERE g.tgrelid = c.oid AND f.proname = 'mni_refuse_change'"
        "     AND p.priv = 'UPDATE'))"
        " ORDER BY 1";
    char err[512];
    PGresult *res = pgx_query(db.conn, "privileges", sql, 0, NULL, err, sizeof err);
    if (!res) fail_msg("%s", err);
    for (int i = 0; i < PQntuples(res); i++)
        print_error("too much: %s\n", PQgetvalue(res, i, 0));
    assert_int_equal(PQntuples(res), 0);
    PQclear(res);
    /* And for real, as the worker that writes the audit log. */
    PGconn *c = connect_as("mni_assess");
    assert_int_not_equal(
        pgx_exec(c, "edit", "UPDATE audit_log SET action = 'x' WHERE seq = 1", err, sizeof err), 0);
    assert_string_equal(pgx_last_sqlstate(), "42501");
    assert_int_not_equal(pgx_exec(c, "cut", "DELETE FROM audit_log", err, sizeof err), 0);
    assert_int_not_equal(pgx_exec(c, "trunc", "TRUNCATE audit_log", err, sizeof err), 0);
    assert_int_not_equal(
        pgx_exec(c, "off", "ALTER TABLE audit_log DISABLE TRIGGER USER", err, sizeof err), 0);
    /* Nor number or hash a row itself (the chain trigger skips rows that come with a hash,
     * migration 0096): it appends content only, or through audit_log_append. */
    assert_int_not_equal(pgx_exec(c, "forge",
                                  "INSERT INTO audit_log (seq, at, actor, action, prev_hash, hash) "
                                  "VALUES (99, now(), 'x', 'x', sha256(''), sha256('x'))",
                                  err, sizeof err),
                         0);
    assert_string_equal(pgx_last_sqlstate(), "42501");
    assert_int_equal(pgx_exec(c, "append",
                              "SELECT audit_log_append('mni-assess', '[{\"action\": \"a\"}]')", err,
                              sizeof err),
                     0);
    pgx_close(c);
}

/* ---- mni audit verify ---- */

static char key_path[1024];

/* A fresh database whose audit log has three batches of two rows, each signed as a worker
 * signs it (as mni_notify, with the test key). */
static void signed_chain(testenv_db *d)
{
    testenv_db_create(d, 1);
    testdata_path("audit-test.key", key_path, sizeof key_path);
    char err[512], ci[2048];
    config *cfg = config_new();
    assert_int_equal(config_set(cfg, "audit.key_file", key_path, err, sizeof err), 0);
    assert_int_equal(audit_anchor_configure(cfg, err, sizeof err), 0);
    config_free(cfg);
    assert_int_equal(
        pgx_conninfo_set(d->conninfo, "user", "mni_notify", ci, sizeof ci, err, sizeof err), 0);
    PGconn *w = pgx_connect(ci, "mni test notify", err, sizeof err);
    assert_non_null(w);
    for (int b = 0; b < 3; b++) {
        assert_int_equal(pgx_begin(w, err, sizeof err), 0);
        /* Two rows through the one writer, which signs the new head. */
        if (audit_append(w, "mni-notify", notify_audit_rows, NULL, err, sizeof err) != 0)
            fail_msg("append and sign: %s", err);
        assert_int_equal(pgx_commit(w, err, sizeof err), 0);
    }
    pgx_close(w);
}

/* The database's own checks (--no-anchors-topic: the published anchors are
 * test_audit_anchors.c's; the environment's broker holds none of this database's). */
static runcmd_result verify(testenv_db *d, int with_key)
{
    const char *argv[] = {"mni",        "audit",     "verify",
                          "--conninfo", d->conninfo, "--no-anchors-topic",
                          "--key-file", key_path,    NULL};
    if (!with_key) argv[6] = NULL;
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    return r;
}

static void tamper(testenv_db *d, const char *sql)
{
    char err[512], all[2048];
    snprintf(all, sizeof all,
             "ALTER TABLE audit_log DISABLE TRIGGER USER; %s;"
             " ALTER TABLE audit_log ENABLE TRIGGER USER",
             sql);
    if (pgx_exec(d->conn, "tamper", all, err, sizeof err) != 0) fail_msg("tamper: %s", err);
}

/* Recomputes every hash from seq 3 on, as someone covering an edit would. */
static const char rehash_sql[] =
    "UPDATE audit_log SET payload = '{\"n\": 99}' WHERE seq = 3;"
    "DO $$ DECLARE r record; prev bytea; BEGIN"
    " SELECT hash INTO prev FROM audit_log WHERE seq = 2;"
    " FOR r IN SELECT * FROM audit_log WHERE seq >= 3 ORDER BY seq LOOP"
    "  UPDATE audit_log SET prev_hash = prev, hash = audit_log_hash(prev, r.seq, r.at, r.actor,"
    "   r.action, r.incident_id, r.client_id, r.payload) WHERE seq = r.seq RETURNING hash INTO "
    "prev;"
    " END LOOP; END $$";

static void expect_tampered(testenv_db *d, const char *first, const char *why)
{
    runcmd_result r = verify(d, 1);
    if (r.status != 1 || !strstr(r.out, first) || !strstr(r.out, why))
        fail_msg("mni audit verify: exit %d, want 1 naming '%s' (%s):\n%s%s", r.status, first, why,
                 r.out, r.err);
    runcmd_free(&r);
}

static void audit_verify_intact_and_edited(void **state)
{
    (void)state;
    testenv_db d;
    signed_chain(&d);
    runcmd_result r = verify(&d, 1);
    if (r.status != 0 || !strstr(r.out, "6 rows") || !strstr(r.out, "3 anchors"))
        fail_msg("intact chain: exit %d:\n%s%s", r.status, r.out, r.err);
    runcmd_free(&r);
    tamper(&d, "UPDATE audit_log SET payload = '{\"n\": 99}' WHERE seq = 3");
    expect_tampered(&d, "first row that was edited, deleted or inserted is seq 3", "edited");
    testenv_db_drop(&d);
}

static void audit_verify_rehashed(void **state)
{
    (void)state;
    testenv_db d;
    signed_chain(&d);
    tamper(&d, rehash_sql);
    /* The chain alone holds together again: only the anchors tell. */
    runcmd_result r = verify(&d, 0);
    if (r.status != 0 || !strstr(r.out, "NOT checked"))
        fail_msg("re-hashed chain without the key: exit %d:\n%s%s", r.status, r.out, r.err);
    runcmd_free(&r);
    expect_tampered(&d, "is seq 3", "re-hashed");
    testenv_db_drop(&d);
}

static void audit_verify_tail_cut(void **state)
{
    (void)state;
    testenv_db d;
    signed_chain(&d);
    tamper(&d, "DELETE FROM audit_log WHERE seq > 4");
    expect_tampered(&d, "is seq 5", "tail cut off");
    testenv_db_drop(&d);
}

static void audit_verify_forged_rows_after_anchor(void **state)
{
    (void)state;
    testenv_db d;
    signed_chain(&d);
    /* Appended by the owner (the trigger chains it properly), never signed. */
    char err[256];
    assert_int_equal(pgx_exec(d.conn, "forge",
                              "INSERT INTO audit_log (actor, action) VALUES ('mni-notify', 'x')",
                              err, sizeof err),
                     0);
    expect_tampered(&d, "is seq 7", "after the last anchor");
    testenv_db_drop(&d);
}

int main(void)
{
    const struct CMUnitTest rls[] = {
        cmocka_unit_test(every_table_forced),        cmocka_unit_test(client_sees_its_part),
        cmocka_unit_test(bpo_role_sees_all),         cmocka_unit_test(client_commands),
        cmocka_unit_test(app_roles_least_privilege), cmocka_unit_test(client_cannot_cross),
    };
    const struct CMUnitTest audit[] = {
        cmocka_unit_test(audit_verify_intact_and_edited),
        cmocka_unit_test(audit_verify_rehashed),
        cmocka_unit_test(audit_verify_tail_cut),
        cmocka_unit_test(audit_verify_forged_rows_after_anchor),
    };
    int failed = cmocka_run_group_tests_name("rls", rls, setup, teardown);
    return failed + cmocka_run_group_tests_name("audit", audit, NULL, NULL);
}
