/*
 * test_big_case: an incident of more clients than one message can hold the verdict of (issue
 * 6, "their worst day") still has its newest version on the compacted assessments topic. The
 * real mni-assess reads an incident opened by a contractor and one manifest of person tokens
 * for each of BIG_CLIENTS clients (each client one token of its own and one shared with other
 * clients, so the total is de-duplicated) from the mock Kafka cluster, keeps the case in a real
 * PostgreSQL and relays its outbox. Then:
 *   - the topic's newest record for the incident is the case's newest version, abridged, under
 *     the message limit, with every client counted (clients_total), the exact de-duplicated
 *     headcount (incident_persons), some clients listed, and where the whole verdict is;
 *   - the clients listed are the first ones of the stated order over the whole verdict
 *     (case_verdict(): My Number Act status, then APPI status, then client id);
 *   - verdict_json is the verdict cut to the same clients, and says so; the command named by
 *     full_verdict (`mni case --json --version N`) prints the whole one;
 *   - no outbox row is failed or left queued;
 *   - the case's last two versions queued again without their records (as rows written before
 *     abridged records were): the relay sends the newest abridged, made from PostgreSQL
 *     (assessment_rebuild), with the same clients listed, and passes over the older one;
 *   - the older one queued again alone: its case is at a newer version, so the claim passes
 *     over it, unsent, not failed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/base/arena.h"
#include "lib/base/digest.h"
#include "lib/model/records.h"
#include "lib/pg/pgx.h"
#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define BIG_CLIENTS 5000
#define SHARED_TOKENS 100
#define INCIDENT "INC-BIG-0001"
#define WORKER_TIMEOUT_MS 900000

static mockkafka *kafka;

/* A person token (the SHA-256 of a name, as a producer's tokeniser would give it). */
static void token(char out[DIGEST_SHA256_HEX_LEN], const char *kind, int n)
{
    char name[64];
    snprintf(name, sizeof name, "big-case-person-%s-%d", kind, n);
    assert_int_equal(digest_sha256_hex(name, strlen(name), out), 0);
}

/* The incident's events as JSON lines in path: opened, then one manifest per client. */
static void write_events(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"event_id\": \"EV-BIG-0\", \"incident_id\": \"%s\", \"tenant\": \"bpo-big\", "
            "\"occurred_at\": \"2026-11-18T10:05:00+09:00\", \"producer\": \"helpdesk\", "
            "\"type\": \"incident_opened\", \"body\": {\"known_at\": "
            "\"2026-11-18T10:00:00+09:00\", \"title\": \"misconfigured share\", \"reporter\": "
            "{\"role\": \"contractor\", \"number_use_entity\": false, \"public_body_system\": "
            "false}, \"kinds\": [\"leak\"], \"certainty\": \"possible\", \"improper_purpose\": "
            "\"none\", \"systems\": [], \"unspecified_viewing\": \"none\", "
            "\"encrypted_protected\": false, \"recovered_unviewed\": false, \"intact_copy\": "
            "false, \"appi_sensitive\": false, \"appi_financial_risk\": false, \"description\": "
            "\"a share open to the internet\"}}\n",
            INCIDENT);
    for (int i = 0; i < BIG_CLIENTS; i++) {
        char own[DIGEST_SHA256_HEX_LEN], shared[DIGEST_SHA256_HEX_LEN];
        token(own, "own", i);
        token(shared, "shared", i % SHARED_TOKENS);
        fprintf(f,
                "{\"event_id\": \"EV-BIG-%d\", \"incident_id\": \"%s\", \"tenant\": "
                "\"bpo-big\", \"occurred_at\": \"2026-11-18T15:00:00+09:00\", \"producer\": "
                "\"manifest\", \"type\": \"exposure_manifest\", \"body\": {\"client_id\": "
                "\"CL-%05d\", \"batch_id\": \"b-%d\", \"tokens\": [\"%s\", \"%s\"]}}\n",
                i + 1, INCIDENT, i, i, own, shared);
    }
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"big.accepted", 1}, {"big.dlq", 1}, {"big.assessments", 3}, {"big.tasks", 3}};
    return mockkafka_setup(&kafka, topics, sizeof topics / sizeof *topics);
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *const worker_env[] = {"MNI_TOPIC_ACCEPTED=big.accepted", "MNI_TOPIC_DLQ=big.dlq",
                                         "MNI_TOPIC_ASSESSMENTS=big.assessments",
                                         "MNI_TOPIC_TASKS=big.tasks", NULL};

/* Runs mni-assess until every event is applied and the outbox relayed (--exit-when-idle would
 * count a long batch as idle time), then stops it; the log lines holding needle. */
static int run_assess(testenv_db *db, const char *needle)
{
    const char *argv[] = {NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-assess", db->conninfo, mockkafka_bootstraps(kafka),
                                      "big-assess", worker_env, argv),
                     0);
    char want[32];
    snprintf(want, sizeof want, "%d 0", BIG_CLIENTS + 1);
    bool done = false;
    for (int waited = 0; waited < WORKER_TIMEOUT_MS && !done; waited += 200) {
        char *now = sqlcheck_text(db->conn,
                                  "SELECT (SELECT count(*) FROM case_events) || ' ' || "
                                  "(SELECT count(*) FROM outbox_queue)",
                                  NULL);
        done = !strcmp(now, want);
        free(now);
        if (!done) usleep(200 * 1000);
    }
    workerproc_signal(&w, SIGTERM);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (!done || rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("mni-assess: %s, exit %d", done ? "done" : "never done", rc);
    }
    int count = workerproc_log_count(&w, needle);
    unlink(w.log_path);
    return count;
}

/* The topic's newest record of the incident, decoded into a (arena); *offset its offset (the
 * mock cluster keeps the last ~5 MiB of a partition: older offsets are gone). */
static void newest_record(const schema_set *schemas, topicio_messages *m, mni_arena *arena,
                          records_case_assessment *a, int64_t *offset)
{
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "big.assessments", 3,
                                         WORKER_TIMEOUT_MS, m),
                     0);
    const topicio_message *newest = NULL;
    for (size_t i = 0; i < m->n; i++)
        if (m->msgs[i].key_len == strlen(INCIDENT) &&
            !memcmp(m->msgs[i].key, INCIDENT, strlen(INCIDENT)))
            newest = &m->msgs[i]; /* one key, one partition: in order */
    assert_non_null(newest);
    *offset = newest->offset;
    assert_true(newest->value_len <= WIRE_MAX_MESSAGE);
    char err[512];
    if (records_case_assessment_decode(schemas, newest->value, newest->value_len, arena, a, err,
                                       sizeof err) != 0)
        fail_msg("the newest assessment: %s", err);
}

/* a is the case's newest version (the text `version`), abridged: the headline as the whole
 * verdict says it, the exact total, the clients listed the first of the stated order over the
 * whole verdict, verdict_json cut to them and saying so. */
static void assert_abridged(PGconn *pg, const records_case_assessment *a, const char *version)
{
    assert_int_equal(a->version, atoll(version));
    assert_true(a->abridged);
    assert_int_equal(a->clients_total, BIG_CLIENTS);
    assert_int_equal(a->headcount_total, BIG_CLIENTS + SHARED_TOKENS);
    assert_true(a->n_clients > 100 && a->n_clients < BIG_CLIENTS);
    assert_non_null(a->full_verdict);
    assert_non_null(strstr(a->full_verdict, "case_verdict('" INCIDENT "', "));

    char k[24];
    snprintf(k, sizeof k, "%zu", a->n_clients);
    const char *params[] = {INCIDENT, version, k};
    PGresult *res = PQexecParams(
        pg,
        "WITH v AS (SELECT case_verdict($1, $2::integer) AS d), "
        "c AS (SELECT e->>'client_id' AS id, e->>'status' AS mn, e->>'appi_status' AS appi "
        "FROM v, jsonb_array_elements(v.d->'clients') e), "
        "listed AS (SELECT id FROM c ORDER BY CASE mn WHEN 'mandatory' THEN 0 WHEN 'voluntary' "
        "THEN 1 ELSE 2 END, CASE appi WHEN 'mandatory' THEN 0 WHEN 'voluntary' THEN 1 ELSE 2 "
        "END, id COLLATE \"C\" LIMIT $3::integer) "
        "SELECT (SELECT string_agg(id, ',' ORDER BY id COLLATE \"C\") FROM listed), "
        "(SELECT d->'my_number'->>'status' FROM v), (SELECT d->>'route' FROM v), "
        "(SELECT (d->'headcount'->>'total') FROM v)",
        3, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(a->my_number_status, PQgetvalue(res, 0, 1));
    assert_string_equal(a->route, PQgetvalue(res, 0, 2));
    assert_int_equal(a->headcount_total, atoll(PQgetvalue(res, 0, 3)));
    const char **ids = calloc(a->n_clients, sizeof *ids);
    assert_non_null(ids);
    size_t len = 0;
    for (size_t i = 0; i < a->n_clients; i++) {
        ids[i] = a->clients[i].client_id;
        len += strlen(ids[i]) + 1;
    }
    qsort(ids, a->n_clients, sizeof *ids, by_id);
    char *got = calloc(len + 1, 1);
    assert_non_null(got);
    for (size_t i = 0; i < a->n_clients; i++) {
        if (i > 0) strcat(got, ",");
        strcat(got, ids[i]);
    }
    assert_string_equal(got, PQgetvalue(res, 0, 0));
    free(got);
    free(ids);
    PQclear(res);

    json_error_t jerr;
    json_t *doc = json_loads(a->verdict_json, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "clients")), a->n_clients);
    json_t *hc = json_object_get(doc, "headcount");
    assert_int_equal(json_integer_value(json_object_get(hc, "total")), BIG_CLIENTS + SHARED_TOKENS);
    assert_int_equal(json_object_size(json_object_get(hc, "clients")), a->n_clients);
    json_t *note = json_object_get(doc, "abridged");
    assert_int_equal(json_integer_value(json_object_get(note, "clients_total")), BIG_CLIENTS);
    assert_int_equal(json_integer_value(json_object_get(note, "clients_listed")), a->n_clients);
    assert_string_equal(json_string_value(json_object_get(note, "full_verdict")), a->full_verdict);
    json_decref(doc);
}

static void newest_version_abridged_on_topic(void **state)
{
    (void)state;
    char path[] = "/tmp/mni-big-case-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_events(path);
    const char *bootstrap = mockkafka_bootstraps(kafka);
    assert_int_equal(topicio_produce_jsonl(bootstrap, "big.accepted", path), BIG_CLIENTS + 1);
    unlink(path);

    testenv_db db;
    testenv_db_create(&db, 1);
    int abridged_logged = run_assess(&db, "assessment record abridged");

    /* Every token merged, every client assessed, nothing failed or left queued. */
    char want[32];
    snprintf(want, sizeof want, "%d %d", BIG_CLIENTS + SHARED_TOKENS, BIG_CLIENTS);
    sqlcheck_equal(db.conn,
                   "SELECT (SELECT count(*) FROM incident_persons WHERE incident_id = $1) || ' ' "
                   "|| (SELECT count(*) FROM client_exposure WHERE incident_id = $1)",
                   INCIDENT, want);
    const char *no_failed = "SELECT (SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL) + "
                            "(SELECT count(*) FROM outbox_queue)";
    sqlcheck_equal(db.conn, no_failed, NULL, "0");
    char *version =
        sqlcheck_text(db.conn, "SELECT version FROM cases WHERE incident_id = $1", INCIDENT);

    schema_set *schemas;
    char err[512];
    if (schema_set_load_default(&schemas, err, sizeof err) != 0) fail_msg("schemas: %s", err);
    mni_arena arena;
    arena_init(&arena);
    topicio_messages m;
    records_case_assessment a;
    int64_t before;
    newest_record(schemas, &m, &arena, &a, &before);
    assert_abridged(db.conn, &a, version);
    assert_true(abridged_logged >= 1);

    /* The command full_verdict names prints the whole verdict of that version. */
    assert_non_null(strstr(a.full_verdict, "mni case --json --version "));
    const char *cmd[] = {"mni",       "case",  "--conninfo", db.conninfo, "--json",
                         "--version", version, INCIDENT,     NULL};
    runcmd_result r;
    assert_int_equal(runcmd(cmd, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni case exited %d: %s", r.status, r.err);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "clients")), BIG_CLIENTS);
    assert_null(json_object_get(doc, "abridged"));
    json_decref(doc);
    runcmd_free(&r);
    cmd[6] = "999999";
    assert_int_equal(runcmd(cmd, NULL, &r), 0);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "no version 999999"));
    runcmd_free(&r);
    topicio_messages_free(&m);

    /* The last two versions queued again without their records, as rows written before
     * abridged records were: the relay sends the newest abridged, made from PostgreSQL, once,
     * and passes over the older one (superseded on a compacted topic). */
    char sql[512];
    snprintf(sql, sizeof sql,
             "WITH r AS (UPDATE outbox SET record = NULL WHERE task_id IN ('A-%s-%s', "
             "'A-%s-%d') RETURNING created_at, task_id, topic, client_id) "
             "INSERT INTO outbox_queue (created_at, task_id, topic, client_id) SELECT * FROM r",
             INCIDENT, version, INCIDENT, atoi(version) - 1);
    assert_int_equal(pgx_exec(db.conn, "test.requeue", sql, err, sizeof err), 0);
    assert_int_equal(run_assess(&db, "abridged by the relay"), 1);
    sqlcheck_equal(db.conn, no_failed, NULL, "0");
    int64_t after;
    arena_reset(&arena);
    newest_record(schemas, &m, &arena, &a, &after);
    assert_true(after > before); /* a record the relay made, no longer the one assess made */
    assert_abridged(db.conn, &a, version);
    topicio_messages_free(&m);

    /* The older of the two queued again alone, its newer version sent already: its case is at
     * a newer version, so the claim passes over it, marked published without being sent. */
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox_queue (created_at, task_id, topic, client_id) SELECT created_at, "
             "task_id, topic, client_id FROM outbox WHERE task_id = 'A-%s-%d'",
             INCIDENT, atoi(version) - 1);
    assert_int_equal(pgx_exec(db.conn, "test.requeue_older", sql, err, sizeof err), 0);
    /* Passed over by the claim itself: the relay does not ask PostgreSQL for a newer version. */
    assert_int_equal(run_assess(&db, "superseded by a newer version"), 0);
    sqlcheck_equal(db.conn, no_failed, NULL, "0");
    int64_t last;
    arena_reset(&arena);
    newest_record(schemas, &m, &arena, &a, &last);
    assert_int_equal(last, after); /* nothing sent */
    topicio_messages_free(&m);

    arena_free(&arena);
    schema_set_free(schemas);
    free(version);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(newest_version_abridged_on_topic),
    };
    return cmocka_run_group_tests_name("big case", tests, group_setup, group_teardown);
}
