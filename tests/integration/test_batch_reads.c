/*
 * test_batch_reads: a batch's reads cost what the batch holds, not what the tables hold (issue
 * 6, "cost in proportion to the work"). Each read names the batch's incidents in a JSON
 * parameter; joined on it as a set (guessed at 100 rows), the plans hashed the parameter and
 * read the whole table at every batch once the tables had grown: deadlines, client_exposure,
 * cases, case_steps, case_filings and case_events at full-size W3 (auto_explain). What a read
 * touched is PostgreSQL's own count (pg_stat_user_tables, flushed when the reading connection
 * ends; for the ticket poll, its own transaction's counts).
 *
 *   reads_use_the_incident_index  5,000 other incidents, each with a case, two clients'
 *                    exposure, two deadlines, two events, a step and a filing, analyzed; then
 *                    mni-assess's batch reads (batch_store_load, batch_store_deadlines) and
 *                    mni-notify's (notify_snapshot_load_many, its steps, filings and texts) for
 *                    two incidents: what they return is right, and none of those tables was
 *                    read by a sequential scan.
 *   ticket_poll_skips_published  mni-notify's tick marks published the tickets whose outbox
 *                    row has left the queue (notify_store_tickets_published). 20,000 tickets
 *                    published leave 20,000 entries in the partial index tickets_open until
 *                    vacuum; a bitmap scan fetched every one at every tick (98 ms a poll in a
 *                    full-size W3 for 500 open tickets). Now, with 200,000 other outbox rows and
 *                    statistics taken with 2% of the tickets open, the poll after the one that
 *                    passes them reads fewer than 100 entries and no row by a sequential scan
 *                    (the old poll read all 20,011 tickets here by a sequential scan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "assess/batch_store.h"
#include "assess/case_state.h"
#include "lib/pg/pgx.h"
#include "notify/notify_store.h"
#include "notify/snapshot.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"

#define OTHERS "5000"
/* A case's stored facts but its incident id (assess reads them back). */
#define FACTS                                                                                      \
    "{\"known_at\": \"2026-06-10T10:00:00+09:00\", \"reporter\": {\"role\": \"contractor\", "      \
    "\"number_use_entity\": false, \"public_body_system\": false}, \"kinds\": [\"leak\"], "        \
    "\"certainty\": \"confirmed\", \"improper_purpose\": \"none\", \"systems\": [], "              \
    "\"unspecified_viewing\": \"none\", \"encrypted_protected\": false, "                          \
    "\"recovered_unviewed\": false, \"intact_copy\": false, \"clients\": []}"
#define TABLES                                                                                     \
    "'cases', 'client_exposure', 'deadlines', 'case_events', 'case_steps', 'case_filings'"

static void sql(PGconn *conn, const char *text)
{
    char err[512];
    if (pgx_exec(conn, "test.sql", text, err, sizeof err) != 0) fail_msg("%s: %s", text, err);
}

/* Incidents INC-1 .. INC-n with everything the reads read; version 1 of each. */
static void fill(PGconn *conn, const char *n)
{
    char q[2048];
    snprintf(
        q, sizeof q,
        "INSERT INTO cases (incident_id, tenant, opened_at, version, facts) SELECT 'INC-' || i, "
        "'bpo', '2026-06-10T10:00:00+09:00', 1, jsonb_build_object('incident_id', 'INC-' || i) "
        "|| '" FACTS "'::jsonb FROM generate_series(1, %s) i;"
        "INSERT INTO case_versions (incident_id, version, verdict, cause_event_id) SELECT "
        "'INC-' || i, 1, '{}', 'EV-' || i || '-b' FROM generate_series(1, %s) i;"
        "INSERT INTO client_exposure (incident_id, client_id, persons) SELECT 'INC-' || i, "
        "c, 60 FROM generate_series(1, %s) i, unnest(ARRAY['KAISHA-A', 'KAISHA-B']) c;"
        "INSERT INTO deadlines (incident_id, client_id, kind, due_date) SELECT 'INC-' || i, "
        "c, 'client_notice', date '2026-07-01' FROM generate_series(1, %s) i, "
        "unnest(ARRAY['KAISHA-A', 'KAISHA-B']) c;"
        "INSERT INTO case_events (event_id, incident_id, kind, occurred_at, version_after, "
        "title) SELECT 'EV-' || i || '-' || k, 'INC-' || i, CASE k WHEN 'a' THEN "
        "'incident_opened' ELSE 'response_step' END, '2026-06-10T10:00:00+09:00', 0, "
        "CASE k WHEN 'a' THEN 'title ' || i END FROM generate_series(1, %s) i, "
        "unnest(ARRAY['a', 'b']) k;"
        "INSERT INTO case_steps (incident_id, step, completed_at, event_id) SELECT 'INC-' || "
        "i, 'fact_investigation', '2026-06-11T10:00:00+09:00', 'EV-' || i || '-b' FROM "
        "generate_series(1, %s) i;"
        "INSERT INTO case_filings (event_id, incident_id, report, client_id, filed_at) SELECT "
        "'EV-' || i || '-b', 'INC-' || i, 'client_notice', 'KAISHA-A', "
        "'2026-06-11T10:00:00+09:00' FROM generate_series(1, %s) i",
        n, n, n, n, n, n, n);
    sql(conn, q);
}

/* A column of pg_stat_user_tables summed over the tables: seq_tup_read (rows read by sequential
 * scans) or idx_scan (index scans: they grow once the reader's counts are flushed). */
static long long stat_sum(PGconn *conn, const char *column)
{
    char q[512];
    snprintf(q, sizeof q,
             "SELECT coalesce(sum(%s), 0) FROM pg_stat_user_tables WHERE relname IN (" TABLES ")",
             column);
    sql(conn, "SELECT pg_stat_clear_snapshot()");
    return sqlcheck_int(conn, q, NULL);
}

static size_t find_case(void *ctx, const char *incident_id)
{
    case_state *cases = ctx;
    for (size_t i = 0; i < 2; i++)
        if (!strcmp(cases[i].incident_id, incident_id)) return i;
    return (size_t)-1;
}

static void count_deadline(void *ctx, const char *incident_id, const batch_deadline *d)
{
    (void)d;
    if (!strcmp(incident_id, "INC-7") || !strcmp(incident_id, "INC-4242")) (*(int *)ctx)++;
}

static void reads_use_the_incident_index(void **state)
{
    (void)state;
    char err[512];
    testenv_db db;
    testenv_db_create(&db, 1);
    fill(db.conn, OTHERS);
    sql(db.conn, "ANALYZE");
    sql(db.conn, "SELECT pg_stat_force_next_flush()");
    long long seq0 = stat_sum(db.conn, "seq_tup_read"), idx0 = stat_sum(db.conn, "idx_scan");

    PGconn *reader = pgx_connect(db.conninfo, "test batch reads", err, sizeof err);
    if (!reader) fail_msg("%s", err);
    /* mni-assess: the cases with their clients, then their deadlines. */
    case_state cases[2];
    case_state_init(&cases[0], "INC-7");
    case_state_init(&cases[1], "INC-4242");
    sql(reader, "BEGIN");
    if (batch_store_load(reader, cases, 2, find_case, cases, err, sizeof err) != 0)
        fail_msg("batch_store_load: %s", err);
    sql(reader, "COMMIT");
    for (size_t i = 0; i < 2; i++) {
        assert_true(cases[i].exists);
        assert_int_equal(cases[i].n_clients, 2);
        case_state_free(&cases[i]);
    }
    int deadlines = 0;
    if (batch_store_deadlines(reader, "[\"INC-7\", \"INC-4242\"]", count_deadline, &deadlines, err,
                              sizeof err) != 0)
        fail_msg("batch_store_deadlines: %s", err);
    assert_int_equal(deadlines, 4);
    /* mni-notify: two snapshots, with their steps, filings and texts. */
    notify_snapshot_want wants[2] = {{"INC-7", "KAISHA-A", 1, 0}, {"INC-4242", NULL, 1, 0}};
    json_t *snaps[2] = {NULL, NULL};
    int missing[2] = {0, 0};
    if (notify_snapshot_load_many(reader, wants, 2, snaps, missing, err, sizeof err) != 0)
        fail_msg("notify_snapshot_load_many: %s", err);
    for (size_t i = 0; i < 2; i++) {
        assert_false(missing[i]);
        assert_non_null(snaps[i]);
        json_t *steps = json_object_get(snaps[i], "steps");
        json_t *filings = json_object_get(snaps[i], "filings");
        if (json_array_size(steps) != 1 || json_array_size(filings) != 1)
            fail_msg("snapshot %zu: %zu steps, %zu filings (want 1 and 1)", i,
                     json_array_size(steps), json_array_size(filings));
        json_decref(snaps[i]);
    }
    pgx_close(reader); /* its counts are flushed when it ends */

    long long idx1 = idx0;
    for (int waited = 0; waited < 10000 && idx1 == idx0; waited += 100) {
        usleep(100 * 1000);
        idx1 = stat_sum(db.conn, "idx_scan");
    }
    assert_true(idx1 > idx0);
    long long seq1 = stat_sum(db.conn, "seq_tup_read");
    if (seq1 != seq0) {
        char *which = sqlcheck_text(db.conn,
                                    "SELECT string_agg(relname || ' ' || seq_tup_read, ', ') FROM "
                                    "pg_stat_user_tables WHERE relname IN (" TABLES ")",
                                    NULL);
        print_message("rows read sequentially since the tables were filled: %s\n", which);
        free(which);
    }
    if (seq1 != seq0)
        fail_msg("the batch reads read %lld rows by sequential scans of " TABLES " (want 0)",
                 seq1 - seq0);
    testenv_db_drop(&db);
}

/* Tickets T-<from> .. T-<to>, open, their outbox rows queued and then taken off the queue as a
 * relay does once Kafka has them. */
static void relayed_tickets(PGconn *conn, int from, int to)
{
    char q[1024];
    snprintf(q, sizeof q,
             "INSERT INTO outbox (task_id, topic, incident_id, kind, payload) SELECT 'T-' || i, "
             "'tickets', 'INC-T', 'client_notice', '{}' FROM generate_series(%d, %d) i;"
             "INSERT INTO tickets (ticket_id, task_id, incident_id, kind, title) SELECT 'T-' || "
             "i, 'task-' || i, 'INC-T', 'client_notice', 'ticket' FROM generate_series(%d, %d) i;"
             "DELETE FROM outbox_queue WHERE topic = 'tickets'",
             from, to, from, to);
    sql(conn, q);
}

/* One tick's poll on a connection of its own (its counts are flushed when it ends). */
static long long poll_published(const char *conninfo)
{
    char err[512];
    long long published = -1;
    PGconn *c = pgx_connect(conninfo, "test ticket poll", err, sizeof err);
    if (!c) fail_msg("%s", err);
    if (pgx_begin(c, err, sizeof err) != 0 ||
        notify_store_tickets_published(c, &published, err, sizeof err) != 0 ||
        pgx_commit(c, err, sizeof err) != 0)
        fail_msg("notify_store_tickets_published: %s", err);
    pgx_close(c);
    return published;
}

/* One tick's poll in a transaction of its own on conn, and what it read of tickets: rows by
 * sequential scans and entries of tickets_open, the transaction's own counts
 * (pg_stat_get_xact_tuples_returned), so that nothing waits for another session's statistics
 * to be flushed: waiting for the table's count of updates, a loaded run once counted the 411
 * index entries of the poll before as this one's (the table's and the index's counts are
 * separate entries). Returns the tickets it marked published. */
static long long poll_reading(PGconn *conn, long long *seq_read, long long *open_entries)
{
    char err[512];
    long long published = -1;
    if (pgx_begin(conn, err, sizeof err) != 0 ||
        notify_store_tickets_published(conn, &published, err, sizeof err) != 0)
        fail_msg("notify_store_tickets_published: %s", err);
    char *text = sqlcheck_text(conn,
                               "SELECT pg_stat_get_xact_tuples_returned('tickets'::regclass) || "
                               "' ' || pg_stat_get_xact_tuples_returned('tickets_open'::regclass)",
                               NULL);
    assert_int_equal(sscanf(text, "%lld %lld", seq_read, open_entries), 2);
    free(text);
    if (pgx_commit(conn, err, sizeof err) != 0) fail_msg("commit: %s", err);
    return published;
}

static void ticket_poll_skips_published(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    sql(db.conn, "ALTER TABLE tickets SET (autovacuum_enabled = off)"); /* entries stay */
    /* The outbox holds far more than tickets, as it does in a running pipeline. */
    sql(db.conn, "INSERT INTO outbox (task_id, topic, incident_id, kind, payload) SELECT 'A-' || "
                 "i, 'assessments', 'INC-' || i, 'case_assessment', '{}' FROM "
                 "generate_series(1, 200000) i; DELETE FROM outbox_queue; ANALYZE outbox");
    relayed_tickets(db.conn, 1, 19600);
    assert_int_equal(poll_published(db.conninfo), 19600);
    /* Statistics taken with 2% of the tickets open, as a busy notify's table has them. */
    relayed_tickets(db.conn, 19601, 20000);
    sql(db.conn, "ANALYZE tickets");
    assert_int_equal(poll_published(db.conninfo), 400); /* passes the 19,600 entries */
    relayed_tickets(db.conn, 20001, 20010);
    assert_int_equal(poll_published(db.conninfo), 10);
    relayed_tickets(db.conn, 20011, 20011);
    long long seq = -1, entries = -1;
    assert_int_equal(poll_reading(db.conn, &seq, &entries), 1);
    if (seq != 0 || entries >= 100)
        fail_msg("a poll with one open ticket read %lld rows of tickets by sequential scans and "
                 "%lld entries of tickets_open (want 0 and < 100)",
                 seq, entries);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_use_the_incident_index),
        cmocka_unit_test(ticket_poll_skips_published),
    };
    return cmocka_run_group_tests_name("batch reads", tests, NULL, NULL);
}
