/*
 * test_db: the schema (db/migrations) and the libpq layer (lib/pg/pgx) against the development
 * PostgreSQL. Each case gets a fresh database (tests/support/testenv), so cases are independent
 * and can run in any order.
 *
 * What each case establishes:
 *   migrate_idempotent        every file is applied once, in order, and recorded with its
 *                             sha256; a second run applies nothing; status says all applied.
 *   migrate_changed_refused   a file edited after it was applied stops the runner with a
 *                             message naming it; status reports it as changed.
 *   migrate_failure_rolls_back  a failing file is rolled back whole, not recorded, and the
 *                             error names the file and line; earlier files stay applied.
 *   audit_chain_links         seq runs 1, 2, 3; the first prev_hash is zeros; each prev_hash is
 *                             the previous hash; each hash is sha256(prev || the documented
 *                             JSON text), recomputed here independently; audit_log_verify()
 *                             finds nothing, then finds a row tampered with behind the trigger.
 *                             Rows appended as a set (audit_log_append) continue the chain.
 *   audit_append_large_batch  600 rows appended with one audit_log_append: each row is its
 *                             array element in order (client_id and payload defaulted), links
 *                             to its predecessor with the documented hash, at never goes back;
 *                             an empty array adds nothing. A second append waits for the
 *                             first's lock until it commits, then follows it in the chain.
 *   audit_refuses_changes     UPDATE, DELETE and TRUNCATE on audit_log fail; a row without a
 *                             hash is numbered by the trigger; a forged one shows in the chain.
 *   append_only_tables        case_versions and event_log refuse UPDATE and DELETE; cases
 *                             refuses moving mandatory_since once set or lowering version.
 *   offsets_compare_and_set   UPDATE ... WHERE next_offset = expected fences a stale writer (0
 *                             rows), and consumer_offset_advance() does the same, also between
 *                             two concurrent transactions.
 *   deadlines_one_clock       one row per (incident, client, kind), NULL client included.
 *   commit_after_error        pgx_commit reports a transaction the server rolled back.
 *   copy_roundtrip            pgx_copy carries tabs, newlines, backslashes, "\N" text, NULL,
 *                             UTF-8 and bytea unchanged; a bad row fails at pgx_copy_end; a
 *                             NUL byte is refused locally; pgx_exec refuses COPY statements
 *                             and the connection stays usable.
 *   copy_binary_roundtrip     pgx_copy in binary format carries every byte value, integers of
 *                             every width and sign, booleans; a short row fails at pgx_copy_end.
 *   pipeline_in_order         pgx_pipeline runs its statements in order in the caller's
 *                             transaction and hands out each result (binary where asked); a
 *                             failing statement reports its SQLSTATE, the ones after it are
 *                             skipped, and the connection takes ordinary calls again after
 *                             pgx_pipeline_end (the transaction rolls back to a savepoint).
 *   connect_with_settings     pgx_connect_with's server settings hold for the session, after
 *                             PQreset too, and win over the connection string's own options,
 *                             which are kept otherwise (pg.synchronous_commit of the workers).
 *   worker_sessions_settings  a worker's sessions (worker_pg_settings) run with jit off and
 *                             pg.synchronous_commit, else the server's synchronous_commit.
 *   conninfo_helpers          pgx_conninfo_set rewrites dbname in keyword and URI forms;
 *                             pgx_conninfo_describe leaves the password out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/pg/migrate.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/worker.h"
#include "tests/support/testenv.h"

/* ---- helpers ---- */

/* One test runs at a time; static storage so that a setup that fails (and so gets no
 * teardown) leaks nothing. */
static testenv_db test_db;

static int setup_db(void **state)
{
    testenv_db_setup(state, &test_db, 1);
    return 0;
}

static int setup_empty_db(void **state)
{
    testenv_db_setup(state, &test_db, 0);
    return 0;
}

static int teardown_db(void **state)
{
    (void)state;
    testenv_db_drop(&test_db);
    return 0;
}

/* Runs sql and asserts success. */
static void exec_ok(PGconn *c, const char *sql)
{
    char err[1024];
    if (pgx_exec(c, "test", sql, err, sizeof err) != 0) fail_msg("%s\n  in: %s", err, sql);
}

/* Runs sql, asserts failure, and returns the message (static buffer). */
static const char *exec_fails(PGconn *c, const char *sql)
{
    static char err[1024];
    if (pgx_exec(c, "test", sql, err, sizeof err) == 0)
        fail_msg("succeeded but should have failed: %s", sql);
    return err;
}

/* The single value of a one-row, one-column query (static buffer; "(null)" for NULL). */
static const char *query_value(PGconn *c, const char *sql)
{
    static char out[4096];
    char err[1024];
    PGresult *r = pgx_query(c, "test", sql, 0, NULL, err, sizeof err);
    if (!r) fail_msg("%s\n  in: %s", err, sql);
    if (PQntuples(r) != 1 || PQnfields(r) != 1) {
        PQclear(r);
        fail_msg("expected one value from: %s", sql);
    }
    snprintf(out, sizeof out, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return out;
}

static long query_long(PGconn *c, const char *sql)
{
    return atol(query_value(c, sql));
}

static void count_applied(void *arg, const char *version, const char *file, double ms)
{
    (void)version;
    (void)file;
    (void)ms;
    (*(int *)arg)++;
}

typedef struct {
    int n;
    int states[64];
    char files[64][64];
} status_log;

static void record_status(void *arg, const char *version, const char *file,
                          pgx_migration_state state, const char *applied_at)
{
    (void)version;
    (void)applied_at;
    status_log *s = arg;
    if (s->n < 64) {
        s->states[s->n] = (int)state;
        snprintf(s->files[s->n], sizeof s->files[0], "%s", file);
        s->n++;
    }
}

/* The .sql files of dir, sorted, as one comma-separated string; returns the count. */
static int list_sql_files(const char *dir, char *out, size_t outlen)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), count = 0;
    assert_true(n >= 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);
        if (len > 4 && !strcmp(names[i]->d_name + len - 4, ".sql")) {
            size_t used = strlen(out);
            snprintf(out + used, outlen - used, "%s%s", count ? "," : "", names[i]->d_name);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void remove_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            unlink(path);
        }
        free(names[i]);
    }
    free(names);
    rmdir(dir);
}

/* ---- migrations ---- */

static void migrate_idempotent(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    const char *dir = testenv_migrations_dir();
    char err[1024], files[2048];
    int expected = list_sql_files(dir, files, sizeof files);
    assert_true(expected >= 5);

    int applied = -1, calls = 0;
    if (pgx_migrate(db->conn, dir, count_applied, &calls, &applied, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(applied, expected);
    assert_int_equal(calls, expected);

    if (pgx_migrate(db->conn, dir, count_applied, &calls, &applied, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(applied, 0);
    assert_int_equal(calls, expected);

    /* One row per file, in file order, each with a sha256. */
    assert_string_equal(query_value(db->conn, "SELECT string_agg(name, ',' ORDER BY version) "
                                              "FROM schema_migrations"),
                        files);
    assert_int_equal(query_long(db->conn, "SELECT count(*) FROM schema_migrations "
                                          "WHERE sha256 ~ '^[0-9a-f]{64}$'"),
                     expected);

    status_log s = {0};
    int pending = -1;
    if (pgx_migration_status(db->conn, dir, record_status, &s, &pending, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(pending, 0);
    assert_int_equal(s.n, expected);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.states[i], PGX_MIGRATION_APPLIED);

    /* The tables the workers rely on exist. */
    static const char *const tables[] = {
        "event_log",        "cases",           "case_versions",
        "client_exposure",  "exposure_tokens", "incident_persons",
        "exposure_batches", "deadlines",       "outbox",
        "deliveries",       "tickets",         "consumer_offsets",
        "audit_log",
    };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT to_regclass('%s') IS NOT NULL", tables[i]);
        if (strcmp(query_value(db->conn, sql), "t") != 0)
            fail_msg("table %s is missing", tables[i]);
    }
}

static void migrate_changed_refused(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char dir[] = "/tmp/mni-test-migrations.XXXXXX", err[1024];
    assert_non_null(mkdtemp(dir));
    write_file(dir, "0001_first.sql", "CREATE TABLE t1 (x integer);\n");
    write_file(dir, "README", "not a migration\n");
    int applied = 0;
    if (pgx_migrate(db->conn, dir, NULL, NULL, &applied, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(applied, 1);

    write_file(dir, "0001_first.sql", "CREATE TABLE t1 (x bigint);\n");
    assert_int_equal(pgx_migrate(db->conn, dir, NULL, NULL, &applied, err, sizeof err), -1);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(err, "0001_first.sql"));
    assert_non_null(strstr(err, "immutable"));

    status_log s = {0};
    int pending = 0;
    if (pgx_migration_status(db->conn, dir, record_status, &s, &pending, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.states[0], PGX_MIGRATION_CHANGED);
    assert_int_equal(pending, 1);

    /* A badly named .sql file is refused before anything runs. */
    write_file(dir, "2_bad-name.sql", "SELECT 1;\n");
    assert_int_equal(pgx_migrate(db->conn, dir, NULL, NULL, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "2_bad-name.sql"));
    remove_dir(dir);
}

static void migrate_failure_rolls_back(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char dir[] = "/tmp/mni-test-migrations.XXXXXX", err[1024];
    assert_non_null(mkdtemp(dir));
    write_file(dir, "0001_ok.sql", "CREATE TABLE t1 (x integer);\n");
    write_file(dir, "0002_bad.sql",
               "-- a comment line\nCREATE TABLE t2 (x integer);\nSELECT no_such_column FROM t2;\n");
    int applied = 0;
    assert_int_equal(pgx_migrate(db->conn, dir, NULL, NULL, &applied, err, sizeof err), -1);
    assert_int_equal(applied, 1);
    if (!strstr(err, "0002_bad.sql line 3") || !strstr(err, "no_such_column") ||
        !strstr(err, "SQLSTATE 42703"))
        fail_msg("unexpected message: %s", err);
    assert_string_equal(query_value(db->conn, "SELECT string_agg(version, ',') "
                                              "FROM schema_migrations"),
                        "0001");
    assert_string_equal(query_value(db->conn, "SELECT to_regclass('t2') IS NULL"), "t");
    assert_int_equal(PQtransactionStatus(db->conn), PQTRANS_IDLE);
    /* The advisory lock was released: another session can take it at once. */
    assert_string_equal(query_value(db->conn, "SELECT count(*) FROM pg_locks l "
                                              "JOIN pg_database d ON d.oid = l.database "
                                              "WHERE l.locktype = 'advisory' "
                                              "AND d.datname = current_database()"),
                        "0");
    remove_dir(dir);
}

/* ---- audit log ---- */

static void audit_chain_links(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    exec_ok(db->conn, "INSERT INTO audit_log (actor, action, incident_id, payload) "
                      "VALUES ('assess', 'case.version', 'inc-1', '{\"version\": 1}')");
    exec_ok(db->conn, "BEGIN");
    exec_ok(db->conn, "INSERT INTO audit_log (actor, action, incident_id, client_id, payload) "
                      "VALUES ('notify', 'document.rendered', 'inc-1', 'client-7', "
                      "'{\"sha256\": \"ab\", \"note\": \"日本語 \\\" quote\"}')");
    exec_ok(db->conn, "INSERT INTO audit_log (actor, action) VALUES ('notify', 'noop')");
    exec_ok(db->conn, "COMMIT");
    /* A batch's rows appended as a set (migration 0096) continue the same chain. */
    exec_ok(db->conn, "SELECT audit_log_append('assess', '[{\"action\": \"event_applied\", "
                      "\"incident_id\": \"inc-2\", \"client_id\": null, \"payload\": "
                      "{\"kind\": \"x\"}}, {\"action\": \"case_version\", \"incident_id\": "
                      "\"inc-2\", \"client_id\": \"client-8\", \"payload\": {\"note\": "
                      "\"日本語\"}}]')");
    exec_ok(db->conn, "INSERT INTO audit_log (actor, action) VALUES ('notify', 'after')");

    assert_string_equal(query_value(db->conn, "SELECT string_agg(seq::text, ',' ORDER BY seq) "
                                              "FROM audit_log"),
                        "1,2,3,4,5,6");
    assert_string_equal(query_value(db->conn,
                                    "SELECT string_agg(action || '/' || "
                                    "coalesce(client_id, '-') || '/' || payload::text, "
                                    "' ' ORDER BY seq) FROM audit_log WHERE seq IN (4, 5)"),
                        "event_applied/-/{\"kind\": \"x\"} case_version/client-8/{\"note\": "
                        "\"日本語\"}");
    assert_string_equal(query_value(db->conn, "SELECT prev_hash = decode(repeat('00', 32), "
                                              "'hex') FROM audit_log WHERE seq = 1"),
                        "t");
    /* Each row links to its predecessor. */
    assert_int_equal(query_long(db->conn, "SELECT count(*) FROM audit_log a "
                                          "JOIN audit_log p ON p.seq = a.seq - 1 "
                                          "WHERE a.prev_hash = p.hash"),
                     5);
    /* The hash is the documented formula, written out here rather than calling the
     * migration's own function. */
    assert_int_equal(
        query_long(db->conn,
                   "SELECT count(*) FROM audit_log WHERE hash = sha256(prev_hash || convert_to("
                   "jsonb_build_array(seq, to_char(at AT TIME ZONE 'UTC', "
                   "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, action, incident_id, "
                   "client_id, payload)::text, 'UTF8'))"),
        6);
    assert_string_equal(query_value(db->conn, "SELECT audit_log_verify()"), "(null)");

    /* Tampering behind the trigger's back (the owner may disable it) shows in the chain. */
    exec_ok(db->conn, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only");
    exec_ok(db->conn, "UPDATE audit_log SET payload = '{\"version\": 2}' WHERE seq = 1");
    exec_ok(db->conn, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only");
    assert_string_equal(query_value(db->conn, "SELECT audit_log_verify()"), "1");
}

/* The documented row formula (0005), written out here rather than calling the migrations'
 * functions: how many rows of audit_log it holds for. */
#define AUDIT_FORMULA_ROWS                                                                         \
    "SELECT count(*) FROM audit_log WHERE hash = sha256(prev_hash || convert_to("                  \
    "jsonb_build_array(seq, to_char(at AT TIME ZONE 'UTC', "                                       \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, action, incident_id, "                           \
    "client_id, payload)::text, 'UTF8'))"

/* 600 rows of W3's kinds, some without client_id or payload, some with JSON null, as one
 * array (audit_log_append's input). */
#define AUDIT_BATCH_SQL                                                                            \
    "(SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object('action', (ARRAY['event_applied', "    \
    "'case_version', 'document_rendered'])[1 + i % 3], 'incident_id', 'INC-' || (i / 6), "         \
    "'client_id', CASE WHEN i % 4 = 0 THEN 'C-' || i END, 'payload', CASE WHEN i % 5 <> 0 "        \
    "THEN jsonb_build_object('version', i, 'note', '日本語 \"' || i, 'rules', "                 \
    "jsonb_build_array('a', i)) END)) || CASE WHEN i % 7 = 0 THEN '{\"client_id\": null}' "        \
    "ELSE '{}' END::jsonb ORDER BY i) FROM generate_series(1, 600) i)"

/* A large batch appended as a set continues the chain row for row in array order; an empty
 * one adds nothing. Then two appends at once: the second waits for the first's lock until it
 * commits and follows it. */
static void audit_append_large_batch(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char err[512];
    exec_ok(db->conn, "INSERT INTO audit_log (actor, action) VALUES ('notify', 'first')");
    exec_ok(db->conn, "CREATE TABLE batch AS SELECT " AUDIT_BATCH_SQL " AS rows");
    assert_string_equal(query_value(db->conn, "SELECT audit_log_append('mni-assess', rows) "
                                              "FROM batch"),
                        "601");
    assert_string_equal(query_value(db->conn, "SELECT audit_log_append('mni-assess', '[]')"),
                        "(null)");
    assert_string_equal(query_value(db->conn, "SELECT min(seq) || '-' || max(seq) || '/' || "
                                              "count(*) FROM audit_log"),
                        "1-601/601");
    /* Each row is its array element, in order, with the defaults the trigger gives. */
    assert_string_equal(
        query_value(db->conn,
                    "SELECT (SELECT jsonb_agg(jsonb_build_object('action', action, "
                    "'incident_id', incident_id, 'client_id', client_id, 'payload', payload) "
                    "ORDER BY seq) FROM audit_log WHERE seq > 1 AND actor = 'mni-assess') = "
                    "(SELECT jsonb_agg(jsonb_build_object('action', e ->> 'action', "
                    "'incident_id', e ->> 'incident_id', 'client_id', e ->> 'client_id', "
                    "'payload', coalesce(e -> 'payload', '{}')) ORDER BY n) "
                    "FROM batch, jsonb_array_elements(rows) WITH ORDINALITY AS x(e, n))"),
        "t");
    assert_int_equal(query_long(db->conn, AUDIT_FORMULA_ROWS), 601);
    assert_int_equal(query_long(db->conn, "SELECT count(*) FROM audit_log a "
                                          "JOIN audit_log p ON p.seq = a.seq - 1 "
                                          "WHERE a.prev_hash = p.hash AND a.at >= p.at"),
                     600);
    assert_string_equal(query_value(db->conn, "SELECT audit_log_verify()"), "(null)");

    PGconn *other = pgx_connect(db->conninfo, "mni test audit b", err, sizeof err);
    if (!other) fail_msg("%s", err);
    exec_ok(db->conn, "BEGIN");
    assert_string_equal(query_value(db->conn, "SELECT audit_log_append('a', "
                                              "'[{\"action\": \"x\"}, {\"action\": \"y\"}]')"),
                        "603");
    assert_int_equal(PQsendQuery(other, "SELECT audit_log_append('b', rows) FROM batch"), 1);
    /* Wait until B is blocked on A's lock (a condition, not a time). */
    for (int i = 0; i < 5000; i++) {
        if (!strcmp(query_value(db->conn, "SELECT count(*) FROM pg_stat_activity WHERE "
                                          "application_name = 'mni test audit b' AND "
                                          "wait_event_type = 'Lock'"),
                    "1"))
            break;
        usleep(2000);
    }
    assert_string_equal(query_value(db->conn, "SELECT count(*) FROM pg_stat_activity WHERE "
                                              "application_name = 'mni test audit b' AND "
                                              "wait_event_type = 'Lock'"),
                        "1");
    exec_ok(db->conn, "COMMIT");
    PGresult *r = PQgetResult(other);
    assert_non_null(r);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "1203");
    PQclear(r);
    while ((r = PQgetResult(other)) != NULL)
        PQclear(r);
    pgx_close(other);
    assert_string_equal(query_value(db->conn, "SELECT string_agg(DISTINCT actor || ':' || "
                                              "(SELECT min(seq) FROM audit_log b WHERE b.actor "
                                              "= a.actor), ',') FROM audit_log a "
                                              "WHERE seq > 601"),
                        "a:602,b:604");
    assert_int_equal(query_long(db->conn, AUDIT_FORMULA_ROWS), 1203);
    assert_string_equal(query_value(db->conn, "SELECT audit_log_verify()"), "(null)");
}

static void audit_refuses_changes(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    exec_ok(db->conn, "INSERT INTO audit_log (actor, action) VALUES ('test', 'one')");
    const char *e = exec_fails(db->conn, "UPDATE audit_log SET actor = 'x'");
    assert_non_null(strstr(e, "append-only"));
    assert_string_equal(pgx_last_sqlstate(), "42501");
    e = exec_fails(db->conn, "DELETE FROM audit_log");
    assert_non_null(strstr(e, "append-only"));
    e = exec_fails(db->conn, "TRUNCATE audit_log");
    assert_non_null(strstr(e, "append-only"));
    /* A row without a hash gets seq and hash from the trigger, whatever seq it names. */
    exec_ok(db->conn, "INSERT INTO audit_log (seq, actor, action) VALUES (99, 'test', 'two')");
    assert_string_equal(query_value(db->conn, "SELECT max(seq) FROM audit_log"), "2");
    assert_string_equal(query_value(db->conn, "SELECT audit_log_verify()"), "(null)");
    /* A row with its own hash skips the trigger (audit_log_append computes them, migration
     * 0096). Only the owner may supply one (the workers' roles may not: test_rls), as the
     * owner may disable the trigger anyway; a forged row breaks the chain where it stands. */
    exec_ok(db->conn, "INSERT INTO audit_log (seq, at, actor, action, prev_hash, hash) "
                      "VALUES (99, now(), 'test', 'forged', sha256(''), sha256('x'))");
    assert_string_equal(query_value(db->conn, "SELECT audit_log_verify()"), "99");
}

/* ---- the whole verdict of a version ---- */

/* case_verdict(incident, version) puts back, for each client, its newest entry at or before
 * the version (migration 0111: a loose index scan); a client whose entries all come later is
 * left out. Checked against the plain DISTINCT ON formulation for every version, and spelled
 * out for one. */
static void case_verdict_latest_entries(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    exec_ok(db->conn, "INSERT INTO event_log (event_id, incident_id, tenant, kind, occurred_at, "
                      "src_topic, src_partition, src_offset, body) VALUES ('ev-v', 'inc-v', "
                      "'t1', 'incident_opened', now(), 'incident.events', 0, 0, '{}')");
    exec_ok(db->conn, "INSERT INTO cases (incident_id, tenant, opened_at) "
                      "VALUES ('inc-v', 't1', now())");
    exec_ok(db->conn, "INSERT INTO case_versions (incident_id, version, verdict, rules, "
                      "cause_event_id) SELECT 'inc-v', v, '{\"headcount\": {\"total\": 1}}', "
                      "'{r1}', 'ev-v' FROM generate_series(1, 5) v");
    /* C-B sorts before C-a in "C"; C-c only from version 4. */
    exec_ok(db->conn,
            "INSERT INTO client_verdicts (incident_id, client_id, version, entry) "
            "SELECT 'inc-v', c, v, jsonb_build_object('client_id', c, 'headcount', v * 10, "
            "'headcount_known', v) FROM (VALUES ('C-a', 1), ('C-a', 3), ('C-b', 2), "
            "('C-b', 5), ('C-c', 4), ('C-B', 1)) t(c, v)");
    assert_int_equal(
        query_long(db->conn,
                   "SELECT count(*) FROM generate_series(1, 5) n, LATERAL (SELECT "
                   "jsonb_agg(entry ORDER BY client_id COLLATE \"C\") AS entries, "
                   "jsonb_object_agg(client_id, entry -> 'headcount') AS counts FROM (SELECT "
                   "DISTINCT ON (client_id) client_id, entry FROM client_verdicts WHERE "
                   "incident_id = 'inc-v' AND version <= n ORDER BY client_id, version DESC) l) r "
                   "WHERE case_verdict('inc-v', n) -> 'clients' = r.entries "
                   "AND case_verdict('inc-v', n) -> 'headcount' -> 'clients' = r.counts"),
        5);
    assert_string_equal(
        query_value(db->conn,
                    "SELECT string_agg((c ->> 'client_id') || '@' || (c ->> 'headcount'), ' ') "
                    "FROM jsonb_array_elements(case_verdict('inc-v', 3) -> 'clients') c"),
        "C-B@10 C-a@30 C-b@20");
    assert_string_equal(query_value(db->conn, "SELECT case_verdict('inc-v', 3) -> 'headcount' "
                                              "->> 'clients_known'"),
                        "{\"C-B\": 1, \"C-a\": 3, \"C-b\": 2}");
}

/* ---- append-only tables and case invariants ---- */

static void append_only_tables(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    exec_ok(db->conn, "INSERT INTO event_log (event_id, incident_id, tenant, kind, occurred_at, "
                      "src_topic, src_partition, src_offset, body) VALUES ('ev-1', 'inc-1', "
                      "'t1', 'incident_opened', now(), 'incident.events', 0, 0, '{}')");
    exec_ok(db->conn, "INSERT INTO cases (incident_id, tenant, opened_at) "
                      "VALUES ('inc-1', 't1', now())");
    exec_ok(db->conn, "INSERT INTO case_versions (incident_id, version, verdict, rules, "
                      "cause_event_id) VALUES ('inc-1', 1, '{}', '{r1}', 'ev-1')");
    exec_ok(db->conn, "UPDATE cases SET version = 1 WHERE incident_id = 'inc-1'");

    assert_non_null(strstr(exec_fails(db->conn, "UPDATE case_versions SET verdict = '{}'"),
                           "case_versions is append-only"));
    assert_non_null(strstr(exec_fails(db->conn, "DELETE FROM case_versions"), "append-only"));
    assert_non_null(strstr(exec_fails(db->conn, "UPDATE event_log SET body = '{}'"),
                           "event_log is append-only"));
    assert_non_null(strstr(exec_fails(db->conn, "DELETE FROM event_log"), "append-only"));

    /* Clocks start once: mandatory_since can be set, not moved or cleared. */
    exec_ok(db->conn, "UPDATE cases SET mandatory_since = '2024-04-01T10:00:00+09' "
                      "WHERE incident_id = 'inc-1'");
    assert_non_null(strstr(exec_fails(db->conn, "UPDATE cases SET mandatory_since = now() "
                                                "WHERE incident_id = 'inc-1'"),
                           "mandatory_since is fixed"));
    exec_fails(db->conn, "UPDATE cases SET mandatory_since = NULL WHERE incident_id = 'inc-1'");
    assert_non_null(strstr(exec_fails(db->conn, "UPDATE cases SET version = 0 "
                                                "WHERE incident_id = 'inc-1'"),
                           "version cannot decrease"));
    /* A closed case carries closed_at. */
    exec_fails(db->conn, "UPDATE cases SET status = 'closed' WHERE incident_id = 'inc-1'");
    exec_ok(db->conn, "UPDATE cases SET status = 'closed', closed_at = now() "
                      "WHERE incident_id = 'inc-1'");
}

/* ---- consumer offsets ---- */

static void offsets_compare_and_set(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char err[1024];
    long long rows = -1;
    static const char *const cas =
        "UPDATE consumer_offsets SET next_offset = $5, updated_at = now() "
        "WHERE group_id = $1 AND topic = $2 AND partition = $3 AND next_offset = $4";

    exec_ok(db->conn, "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) "
                      "VALUES ('g', 'incident.events', 0, 0)");
    /* Member A read 0..9 and moves 0 -> 10. */
    const char *a[] = {"g", "incident.events", "0", "0", "10"};
    if (pgx_exec_params(db->conn, "offsets.cas", cas, 5, a, &rows, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(rows, 1);
    /* Member B, stale, also read from 0: fenced, nothing changes. */
    const char *b[] = {"g", "incident.events", "0", "0", "7"};
    if (pgx_exec_params(db->conn, "offsets.cas", cas, 5, b, &rows, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(rows, 0);
    assert_string_equal(query_value(db->conn, "SELECT next_offset FROM consumer_offsets"), "10");

    /* The function: the first batch of a partition creates its row. */
    assert_string_equal(query_value(db->conn, "SELECT consumer_offset_advance('g', "
                                              "'incident.events', 1, 0, 5)"),
                        "t");
    assert_string_equal(query_value(db->conn, "SELECT consumer_offset_advance('g', "
                                              "'incident.events', 1, 0, 3)"),
                        "f");
    assert_string_equal(query_value(db->conn, "SELECT consumer_offset_advance('g', "
                                              "'incident.events', 1, 5, 9)"),
                        "t");
    exec_fails(db->conn, "SELECT consumer_offset_advance('g', 'incident.events', 1, 9, 8)");
    /* expected NULL: the member found no row; it inserts, or is fenced when a row exists. */
    assert_string_equal(query_value(db->conn, "SELECT consumer_offset_advance('g', "
                                              "'incident.events', 2, NULL, 4, "
                                              "'0123456789abcdef0123456789abcdef')"),
                        "t");
    assert_string_equal(query_value(db->conn, "SELECT last_digest FROM consumer_offsets WHERE "
                                              "partition = 2 AND next_offset = 4"),
                        "0123456789abcdef0123456789abcdef");
    assert_string_equal(query_value(db->conn, "SELECT consumer_offset_advance('g', "
                                              "'incident.events', 2, NULL, 6)"),
                        "f");

    /* Two members at once: A holds its uncommitted move 9 -> 12 while B tries 9 -> 11; B
     * waits for A, then finds the offset moved and is fenced. */
    PGconn *other = pgx_connect(db->conninfo, "mni test b", err, sizeof err);
    if (!other) fail_msg("%s", err);
    exec_ok(db->conn, "BEGIN");
    assert_string_equal(query_value(db->conn, "SELECT consumer_offset_advance('g', "
                                              "'incident.events', 1, 9, 12)"),
                        "t");
    assert_int_equal(PQsendQuery(other, "SELECT consumer_offset_advance('g', "
                                        "'incident.events', 1, 9, 11)"),
                     1);
    /* Wait until B is blocked on A's row lock (a condition, not a time). */
    for (int i = 0; i < 5000; i++) {
        if (!strcmp(query_value(db->conn, "SELECT count(*) FROM pg_stat_activity WHERE "
                                          "application_name = 'mni test b' AND "
                                          "wait_event_type = 'Lock'"),
                    "1"))
            break;
        usleep(2000);
    }
    exec_ok(db->conn, "COMMIT");
    PGresult *r = PQgetResult(other);
    assert_non_null(r);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "f");
    PQclear(r);
    while ((r = PQgetResult(other)) != NULL)
        PQclear(r);
    pgx_close(other);
    assert_string_equal(query_value(db->conn, "SELECT next_offset FROM consumer_offsets "
                                              "WHERE partition = 1"),
                        "12");
}

static void deadlines_one_clock(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    exec_ok(db->conn, "INSERT INTO cases (incident_id, tenant, opened_at) "
                      "VALUES ('inc-1', 't1', now())");
    exec_ok(db->conn, "INSERT INTO deadlines (incident_id, client_id, kind, due_date) "
                      "VALUES ('inc-1', NULL, 'ppc_preliminary', '2024-04-05')");
    exec_fails(db->conn, "INSERT INTO deadlines (incident_id, client_id, kind, due_date) "
                         "VALUES ('inc-1', NULL, 'ppc_preliminary', '2024-04-06')");
    assert_string_equal(pgx_last_sqlstate(), "23505");
    exec_ok(db->conn, "INSERT INTO deadlines (incident_id, client_id, kind, due_at) "
                      "VALUES ('inc-1', 'c1', 'client_notice', now())");
    exec_fails(db->conn, "INSERT INTO deadlines (incident_id, client_id, kind) "
                         "VALUES ('inc-1', 'c2', 'client_notice')");
}

/* ---- pgx itself ---- */

static void commit_after_error(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char err[1024];
    assert_int_equal(pgx_begin(db->conn, err, sizeof err), 0);
    exec_fails(db->conn, "SELECT 1/0");
    assert_string_equal(pgx_last_sqlstate(), "22012");
    assert_int_equal(pgx_commit(db->conn, err, sizeof err), -1);
    assert_non_null(strstr(err, "rolled back"));
    assert_int_equal(PQtransactionStatus(db->conn), PQTRANS_IDLE);
    assert_int_equal(pgx_commit(db->conn, err, sizeof err), -1);  /* none in progress */
    assert_int_equal(pgx_rollback(db->conn, err, sizeof err), 0); /* no-op */

    /* A unique violation names the statement and the key, with its SQLSTATE. */
    exec_ok(db->conn, "CREATE TABLE u (k text PRIMARY KEY)");
    const char *p[] = {"key-1"};
    assert_int_equal(pgx_exec_params(db->conn, "u.insert", "INSERT INTO u VALUES ($1)", 1, p, NULL,
                                     err, sizeof err),
                     0);
    assert_int_equal(pgx_exec_params(db->conn, "u.insert", "INSERT INTO u VALUES ($1)", 1, p, NULL,
                                     err, sizeof err),
                     -1);
    if (strncmp(err, "u.insert: ", 10) != 0 || !strstr(err, "key-1") ||
        !strstr(err, "[SQLSTATE 23505]"))
        fail_msg("unexpected message: %s", err);
    assert_false(pgx_last_retryable());

    /* Prepared statements. */
    assert_int_equal(
        pgx_prepare(db->conn, "u.count", "SELECT count(*) FROM u WHERE k = $1", 1, err, sizeof err),
        0);
    PGresult *r = pgx_query_prepared(db->conn, "u.count", 1, p, err, sizeof err);
    assert_non_null(r);
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
}

static void copy_roundtrip(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char err[1024];
    static const char *const values[] = {
        "plain", "tab\there", "line\nbreak\r\n",  "back\\slash",
        "\\N",   "\\.",       "日本語のテキスト", "",
    };
    const size_t n = sizeof values / sizeof values[0];
    exec_ok(db->conn, "CREATE TABLE c (i integer, s text, b bytea)");
    pgx_copy cp;
    if (pgx_copy_begin(&cp, db->conn, "c.copy", "COPY c (i, s, b) FROM STDIN", err, sizeof err) !=
        0)
        fail_msg("%s", err);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pgx_copy_field_int(&cp, (long long)i), 0);
        assert_int_equal(pgx_copy_field(&cp, values[i]), 0);
        assert_int_equal(pgx_copy_field(&cp, "\\x00ff0a09"), 0);
        assert_int_equal(pgx_copy_end_row(&cp), 0);
    }
    assert_int_equal(pgx_copy_field_int(&cp, 99), 0);
    assert_int_equal(pgx_copy_field(&cp, NULL), 0);
    assert_int_equal(pgx_copy_field(&cp, NULL), 0);
    assert_int_equal(pgx_copy_end_row(&cp), 0);
    long long rows = 0;
    if (pgx_copy_end(&cp, &rows, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(rows, (long long)n + 1);

    PGresult *r =
        pgx_query(db->conn, "c.read", "SELECT s, encode(b, 'hex'), s IS NULL FROM c ORDER BY i", 0,
                  NULL, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), (int)n + 1);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(PQgetvalue(r, (int)i, 0), values[i]);
        assert_string_equal(PQgetvalue(r, (int)i, 1), "00ff0a09");
    }
    assert_string_equal(PQgetvalue(r, (int)n, 2), "t");
    PQclear(r);

    /* A row the server refuses fails the COPY at its end, naming the statement. */
    if (pgx_copy_begin(&cp, db->conn, "c.copy_bad", "COPY c (i, s) FROM STDIN", err, sizeof err) !=
        0)
        fail_msg("%s", err);
    pgx_copy_field(&cp, "not a number");
    pgx_copy_field(&cp, "x");
    pgx_copy_end_row(&cp);
    assert_int_equal(pgx_copy_end(&cp, &rows, err, sizeof err), -1);
    assert_non_null(strstr(err, "c.copy_bad"));
    assert_string_equal(pgx_last_sqlstate(), "22P02");
    assert_string_equal(query_value(db->conn, "SELECT count(*) FROM c"), "9");

    /* A NUL byte cannot travel in text: refused locally, the COPY is abandoned. */
    assert_int_equal(
        pgx_copy_begin(&cp, db->conn, "c.copy_nul", "COPY c (s) FROM STDIN", err, sizeof err), 0);
    assert_int_equal(pgx_copy_field_len(&cp, "a\0b", 3), -1);
    assert_int_equal(pgx_copy_end_row(&cp), -1);
    assert_int_equal(pgx_copy_end(&cp, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "NUL"));
    assert_string_equal(query_value(db->conn, "SELECT count(*) FROM c"), "9");

    assert_string_equal(pgx_last_sqlstate(), "");

    /* pgx_exec refuses a COPY either way and leaves the connection usable. */
    exec_fails(db->conn, "COPY c (s) FROM STDIN");
    assert_string_equal(query_value(db->conn, "SELECT 1"), "1");
    exec_fails(db->conn, "COPY c TO STDOUT");
    assert_string_equal(query_value(db->conn, "SELECT 2"), "2");
}

static void copy_binary_roundtrip(void **state)
{
    testenv_db *db = *state;
    char err[512];
    exec_ok(db->conn, "CREATE TABLE cb (i integer, b bytea, f boolean, s text)");
    pgx_copy cp;
    if (pgx_copy_begin_binary(&cp, db->conn, "cb.copy",
                              "COPY cb (i, b, f, s) FROM STDIN (FORMAT binary)", err,
                              sizeof err) != 0)
        fail_msg("%s", err);
    /* Every byte value, tabs, newlines and NULs included, and integers of both signs and of
     * every byte width (network byte order); 3,000 rows cross the 64 KiB flush. */
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    const int32_t ints[] = {0, 1, -1, 255, 256, 65536, -2147483647 - 1, 2147483647};
    for (int r = 0; r < 3000; r++) {
        assert_int_equal(pgx_copy_bin_row(&cp, 4), 0);
        assert_int_equal(pgx_copy_bin_int4(&cp, r < 8 ? ints[r] : 100000 + r), 0);
        assert_int_equal(pgx_copy_bin_bytes(&cp, bytes, (size_t)(r % 257)), 0);
        assert_int_equal(pgx_copy_bin_bool(&cp, r % 2), 0);
        assert_int_equal(pgx_copy_bin_bytes(&cp, "t\tx\n", 4), 0);
    }
    long long rows = 0;
    if (pgx_copy_end(&cp, &rows, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(rows, 3000);
    assert_string_equal(query_value(db->conn, "SELECT string_agg(i::text, ',' ORDER BY i) FROM cb "
                                              "WHERE i < 100000 OR i = 2147483647"),
                        "-2147483648,-1,0,1,255,256,65536,2147483647");
    assert_string_equal(
        query_value(db->conn, "SELECT count(*) FROM cb, (SELECT decode(string_agg(lpad(to_hex(g), "
                              "2, '0'), '' ORDER BY g), 'hex') AS all_bytes FROM "
                              "generate_series(0, 255) g) a "
                              "WHERE b = substr(a.all_bytes, 1, length(b)) "
                              "AND s = E't\\tx\\n' AND (i < 100000 OR f = (i % 2 = 1))"),
        "3000");
    assert_string_equal(query_value(db->conn, "SELECT count(*) FROM cb WHERE length(b) = 256"),
                        "11");

    /* A row the server refuses (a field too few) fails the COPY at its end, naming it. */
    if (pgx_copy_begin_binary(&cp, db->conn, "cb.copy_bad",
                              "COPY cb (i, b) FROM STDIN (FORMAT binary)", err, sizeof err) != 0)
        fail_msg("%s", err);
    pgx_copy_bin_row(&cp, 1);
    pgx_copy_bin_int4(&cp, 7);
    assert_int_equal(pgx_copy_end(&cp, &rows, err, sizeof err), -1);
    assert_non_null(strstr(err, "cb.copy_bad"));
    assert_string_equal(query_value(db->conn, "SELECT count(*) FROM cb"), "3000");
}

static void pipeline_in_order(void **state)
{
    testenv_db *db = *state;
    char err[512];
    exec_ok(db->conn, "CREATE TABLE pl (k integer PRIMARY KEY, b bytea)");
    exec_ok(db->conn, "BEGIN");
    const char *sqls[] = {"INSERT INTO pl VALUES (1, '\\x0102'), (2, '\\x03') RETURNING k, b",
                          "INSERT INTO pl SELECT k + 10, b FROM pl ORDER BY k RETURNING k",
                          "SELECT count(*) FROM pl"};
    const int binary[] = {1, 0, 0};
    pgx_pipeline pl;
    assert_int_equal(pgx_pipeline_send(&pl, db->conn, 3, sqls, binary, err, sizeof err), 0);
    PGresult *res = pgx_pipeline_next(&pl, "pl.first", err, sizeof err);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 2);
    assert_int_equal(PQfformat(res, 1), 1); /* binary: the bytea's own bytes */
    assert_int_equal(PQgetlength(res, 0, 1), 2);
    assert_memory_equal(PQgetvalue(res, 0, 1), "\x01\x02", 2);
    PQclear(res);
    res = pgx_pipeline_next(&pl, "pl.second", err, sizeof err);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 2); /* it saw the first statement's rows */
    assert_string_equal(PQgetvalue(res, 0, 0), "11");
    PQclear(res);
    res = pgx_pipeline_next(&pl, "pl.third", err, sizeof err);
    assert_non_null(res);
    assert_string_equal(PQgetvalue(res, 0, 0), "4");
    PQclear(res);
    assert_int_equal(pgx_pipeline_end(&pl, err, sizeof err), 0);
    exec_ok(db->conn, "SAVEPOINT s");

    /* The second statement fails: its SQLSTATE is reported, the third is skipped. */
    const char *bad[] = {"INSERT INTO pl VALUES (20, NULL)", "INSERT INTO pl VALUES (1, NULL)",
                         "INSERT INTO pl VALUES (21, NULL)"};
    const int text[] = {0, 0, 0};
    assert_int_equal(pgx_pipeline_send(&pl, db->conn, 3, bad, text, err, sizeof err), 0);
    res = pgx_pipeline_next(&pl, "pl.ok", err, sizeof err);
    assert_non_null(res);
    PQclear(res);
    assert_null(pgx_pipeline_next(&pl, "pl.duplicate", err, sizeof err));
    assert_non_null(strstr(err, "pl.duplicate"));
    assert_string_equal(pgx_last_sqlstate(), "23505");
    assert_int_equal(pgx_pipeline_end(&pl, err, sizeof err), 0);
    /* Ended early or not, the connection is out of pipeline mode and usable. */
    exec_ok(db->conn, "ROLLBACK TO SAVEPOINT s");
    exec_ok(db->conn, "COMMIT");
    assert_string_equal(query_value(db->conn, "SELECT string_agg(k::text, ',' ORDER BY k) FROM pl"),
                        "1,2,11,12");

    /* Not a statement of the pipeline: every result taken, or none. */
    assert_int_equal(pgx_pipeline_send(&pl, db->conn, 1, &sqls[2], text, err, sizeof err), 0);
    assert_int_equal(pgx_pipeline_end(&pl, err, sizeof err), 0);
    assert_null(pgx_pipeline_next(&pl, "pl.none", err, sizeof err));
    assert_string_equal(query_value(db->conn, "SELECT count(*) FROM pl"), "4");
}

static void conninfo_helpers(void **state)
{
    (void)state;
    char out[1024], err[512];
    assert_int_equal(pgx_conninfo_set("host=/tmp/x port=5 dbname=mni user=mni", "dbname", "other",
                                      out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "dbname='other'"));
    assert_non_null(strstr(out, "host='/tmp/x'"));
    assert_null(strstr(out, "dbname='mni'"));
    assert_int_equal(pgx_conninfo_set("postgresql://u:secret@localhost:5432/mni", "dbname", "it's",
                                      out, sizeof out, err, sizeof err),
                     0);
    assert_non_null(strstr(out, "dbname='it\\'s'"));
    assert_non_null(strstr(out, "port='5432'"));
    assert_int_equal(pgx_conninfo_set("host=x", "nonsense", "1", out, sizeof out, err, sizeof err),
                     -1);
    assert_int_equal(
        pgx_conninfo_set("host='unterminated", "dbname", "1", out, sizeof out, err, sizeof err),
        -1);

    assert_int_equal(
        pgx_conninfo_describe("host=h port=1 dbname=d user=u password=secret", out, sizeof out), 0);
    assert_string_equal(out, "host=h port=1 dbname=d user=u");
    assert_null(strstr(out, "secret"));

    /* A refused connection names the target, not the password. */
    PGconn *c = pgx_connect("host=/nonexistent port=1 dbname=d user=u password=secret", NULL, err,
                            sizeof err);
    assert_null(c);
    assert_non_null(strstr(err, "cannot connect to PostgreSQL (host=/nonexistent"));
    assert_null(strstr(err, "secret"));
}

/* The value of one setting in conn's session. */
static void assert_setting(PGconn *conn, const char *name, const char *want)
{
    char err[512];
    const char *params[] = {name};
    PGresult *res =
        pgx_query(conn, "test.setting", "SELECT current_setting($1)", 1, params, err, sizeof err);
    if (!res) fail_msg("%s", err);
    assert_string_equal(PQgetvalue(res, 0, 0), want);
    PQclear(res);
}

static void connect_with_settings(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char err[1024], conninfo[2200];
    /* The connection string's own options: one kept, one overridden. */
    snprintf(conninfo, sizeof conninfo, "%s options='-c work_mem=5MB -c synchronous_commit=on'",
             db->conninfo);
    PGconn *c =
        pgx_connect_with(conninfo, "mni test", "-c synchronous_commit=off", err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_setting(c, "synchronous_commit", "off");
    assert_setting(c, "work_mem", "5MB");
    PQreset(c);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_setting(c, "synchronous_commit", "off");
    pgx_close(c);
    /* None given: the server's own. */
    c = pgx_connect_with(db->conninfo, "mni test", "", err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_setting(c, "synchronous_commit", "on");
    pgx_close(c);
    /* A setting the server refuses fails the connection, with the server's reason. */
    assert_null(pgx_connect_with(db->conninfo, "mni test", "-c synchronous_commit=sometimes", err,
                                 sizeof err));
    assert_non_null(strstr(err, "synchronous_commit"));
}

/* The sessions of a worker: jit off whatever the server's default, synchronous_commit as
 * pg.synchronous_commit says, else the server's. */
static void worker_sessions_settings(void **state)
{
    testenv_db *db = testenv_db_from_state(state);
    char err[1024], settings[64];
    PGconn *c = pgx_connect_with(db->conninfo, "mni test", "", err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_setting(c, "jit", "on"); /* the server's default, which the workers turn off */
    pgx_close(c);
    worker_pg_settings("off", settings, sizeof settings);
    c = pgx_connect_with(db->conninfo, "mni test", settings, err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_setting(c, "jit", "off");
    assert_setting(c, "synchronous_commit", "off");
    pgx_close(c);
    worker_pg_settings(NULL, settings, sizeof settings);
    c = pgx_connect_with(db->conninfo, "mni test", settings, err, sizeof err);
    if (!c) fail_msg("%s", err);
    assert_setting(c, "jit", "off");
    assert_setting(c, "synchronous_commit", "on");
    pgx_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrate_idempotent, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(migrate_changed_refused, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(migrate_failure_rolls_back, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(audit_chain_links, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(audit_append_large_batch, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(audit_refuses_changes, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(case_verdict_latest_entries, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(append_only_tables, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(offsets_compare_and_set, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(deadlines_one_clock, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(commit_after_error, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(copy_roundtrip, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(copy_binary_roundtrip, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(pipeline_in_order, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(connect_with_settings, setup_empty_db, teardown_db),
        cmocka_unit_test_setup_teardown(worker_sessions_settings, setup_empty_db, teardown_db),
        cmocka_unit_test(conninfo_helpers),
    };
    return cmocka_run_group_tests_name("db", tests, NULL, NULL);
}
