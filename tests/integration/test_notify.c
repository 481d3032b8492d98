/*
 * test_notify: the notify worker end to end, with the real mni-notify binary against a real
 * PostgreSQL database of its own and the mock Kafka cluster.
 *
 * Cases are seeded directly in SQL (cases, case_versions with a verdict from the real rule
 * core: facts_json_parse + rules_assess + verdict_json_build and the facts it rests on,
 * client_exposure, event_log's incident_opened body and its case_events row with the texts,
 * deadlines) together with the outbox task rows assess would write; the worker's own relay
 * publishes them to the tasks topic. Other tasks are produced directly as NotifyTask records.
 *
 * What each case establishes:
 *   tasks_render_and_ticket  five tasks of a direct-report case (two client notices, the PPC
 *                    速報 and 確報, the principal notice): deliveries for each task and format
 *                    (JSON and Markdown; persons' notice and publication for the principal
 *                    notice), digests that match, one ticket per task on the tickets topic and
 *                    in PostgreSQL (published), audit rows with ids and digests only, the chain
 *                    intact. Producing the same five tasks again adds nothing. Each ticket's
 *                    outbox row holds its message, saying what its payload says.
 *   dead_letters     an undecodable message and a task whose payload is not JSON go to the
 *                    dead-letter topic with reason malformed, a task of an unknown incident
 *                    with reason unknown_incident, each with its origin; the task after them is
 *                    still handled.
 *   sweeper_once     with notify.clock inside the reminder window, one reminder per near
 *                    deadline; at the last millisecond of the due day no escalation, at the
 *                    first instant of the next day one per deadline of that day; with the clock
 *                    past every due time, one escalation per deadline
 *                    (the far deadline's reminder queued before it); a third run queues
 *                    nothing. Task ids are sha256("incident|kind|client|deadline kind|due");
 *                    the reminders and escalations come back as documents and tickets (those of
 *                    the preliminary report naming its latest day, from the version's verdict);
 *                    a closed case's deadline is never swept. The reminders, escalations and
 *                    tickets are queued with their messages, which say what their payloads say.
 *
 *   batch_cut_does_not_matter  one stream of tasks (client notices of two incidents, PPC drafts,
 *                    principal notices, a repeated task, an unknown incident, two malformed
 *                    tasks) handled with batch.size 1 and 500 into two databases: deliveries,
 *                    tickets, ticket outbox rows (and their messages) and audit rows the same
 *                    row for row, the same dead letters (notify_batch.h against one task per
 *                    batch).
 *   one_task_path_matches_batch  one client notice handled by the per-task path (where
 *                    mni-notify falls back when a batch fails in PostgreSQL) and by the
 *                    set-based path, in two databases: the same rows, the ticket's outbox row
 *                    with its message in both.
 *
 * Each case has topics of its own (topic.* through MNI_TOPIC_*), so one case's messages never
 * reach another's worker. notify.* keys are set through a config file (MNI_CONFIG): worker.h
 * has no hook to make them known keys, so the environment cannot set them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/arena.h"
#include "lib/kafka/kq.h"
#include "lib/model/facts_json.h"
#include "lib/model/records.h"
#include "lib/model/task_id.h"
#include "lib/model/verdict_json.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"
#include "lib/serdes/schema_set.h"
#include "notify/notify_batch.h"
#include "notify/notify_store.h"
#include "notify/notify_task.h"
#include "rules/rules.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/testschemas.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKER_TIMEOUT_MS 90000

static mockkafka *kafka;
static schema_set *schemas;

/* The topics of one case. */
typedef struct {
    const char *tasks, *tickets, *dlq;
} case_topics;

static const case_topics T1 = {"notify.tasks", "tickets", "incident.dlq"};
static const case_topics T2 = {"t2.notify.tasks", "t2.tickets", "t2.incident.dlq"};
static const case_topics T3 = {"t3.notify.tasks", "t3.tickets", "t3.incident.dlq"};

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"notify.tasks", 3},    {"tickets", 3},          {"incident.dlq", 1},
        {"t2.notify.tasks", 3}, {"t2.tickets", 3},       {"t2.incident.dlq", 1},
        {"t3.notify.tasks", 3}, {"t3.tickets", 3},       {"t3.incident.dlq", 1},
        {"t4.notify.tasks", 3}, {"t4a.tickets", 3},      {"t4a.incident.dlq", 1},
        {"t4b.tickets", 3},     {"t4b.incident.dlq", 1},
    };
    if (mockkafka_setup(&kafka, topics, sizeof topics / sizeof topics[0]) != 0) return -1;
    return testschemas_load(&schemas);
}

static int group_teardown(void **state)
{
    (void)state;
    schema_set_free(schemas);
    mockkafka_stop(kafka);
    return 0;
}

static int db_setup(void **state)
{
    testenv_db *db = calloc(1, sizeof *db);
    testenv_db_create(db, 1);
    *state = db;
    return 0;
}

static int db_teardown(void **state)
{
    testenv_db *db = *state;
    testenv_db_drop(db);
    free(db);
    return 0;
}

/* ---- SQL helpers ---- */

static void exec_ok(PGconn *pg, const char *sql, int n, const char *const *params)
{
    char err[1024];
    if (pgx_exec_params(pg, "test", sql, n, params, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
}

/* ---- seeding a case ---- */

static json_t *verdict_of(const char *facts_text)
{
    char err[512];
    facts_doc doc;
    if (facts_json_parse(facts_text, strlen(facts_text), &doc, err, sizeof err) != 0)
        fail_msg("facts: %s", err);
    rules_client_verdict *clients = calloc(doc.facts.n_clients + 1, sizeof *clients);
    rules_verdict v;
    if (rules_assess(&doc.facts, NULL, &v, clients, err, sizeof err) != 0)
        fail_msg("rules_assess: %s", err);
    json_t *out = verdict_json_build(&doc.facts, &v);
    free(clients);
    facts_doc_free(&doc);
    assert_non_null(out);
    return out;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void add_deadline(PGconn *pg, const char *incident, const char *client, const char *kind,
                         const char *due_date, const char *due_at)
{
    const char *p[] = {incident, client, kind, due_date, due_at};
    exec_ok(pg,
            "INSERT INTO deadlines (incident_id, client_id, kind, due_date, due_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            5, p);
}

static void add_task(PGconn *pg, const char *incident, const char *kind, const char *client,
                     const char *due_date, const char *due_at, const json_t *verdict)
{
    char task_id[MNI_TASK_ID_LEN];
    mni_task_id(incident, kind, client, task_id);
    json_t *payload = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:O}", "task_id", task_id, "incident_id", incident,
        "kind", kind, "client_id", client ? json_string(client) : json_null(), "due_date",
        due_date ? json_string(due_date) : json_null(), "due_at",
        due_at ? json_string(due_at) : json_null(), "case_version", 1, "verdict", verdict);
    char *text = json_dumps(payload, JSON_COMPACT);
    const char *p[] = {task_id, incident, client, kind, text};
    exec_ok(pg,
            "INSERT INTO outbox (task_id, topic, incident_id, client_id, kind, payload) "
            "VALUES ($1, 'tasks', $2, $3, $4, $5::jsonb)",
            5, p);
    free(text);
    json_decref(payload);
}

#define TITLE_TEXT "給与明細の誤送信 | 2社"
#define DESCRIPTION_TEXT "委託元2社分の明細を\n別の宛先に送信した。"

/* A contractor incident with clients A (80) and B (60), 20 persons in both: 120 distinct,
 * a direct report (RULES.md §3). With tasks, the outbox rows assess would write for it; the
 * deadlines are always written. */
static json_t *seed_case(PGconn *pg, const char *incident, int with_tasks)
{
    char facts_text[2048];
    snprintf(facts_text, sizeof facts_text,
             "{\"incident_id\":\"%s\",\"known_at\":\"2026-06-10T10:00:00+09:00\","
             "\"reporter\":{\"role\":\"contractor\",\"number_use_entity\":false,"
             "\"public_body_system\":false},\"kinds\":[\"leak\"],\"certainty\":\"confirmed\","
             "\"improper_purpose\":\"none\",\"systems\":[],\"unspecified_viewing\":\"none\","
             "\"encrypted_protected\":false,\"recovered_unviewed\":false,\"intact_copy\":false,"
             "\"clients\":[{\"client_id\":\"A\",\"persons\":80},{\"client_id\":\"B\","
             "\"persons\":60}],\"distinct_persons\":120}",
             incident);
    json_t *verdict = verdict_of(facts_text);
    assert_string_equal(jstr(verdict, "route"), "direct_report");
    json_error_t jerr;
    json_t *stored = json_loads(facts_text, 0, &jerr);
    json_object_del(stored, "clients");
    json_object_del(stored, "distinct_persons");
    char *stored_text = json_dumps(stored, JSON_COMPACT);
    char *verdict_text = json_dumps(verdict, JSON_COMPACT);
    json_t *opened = json_pack("{s:s, s:s, s:s}", "known_at", "2026-06-10T01:00:00Z", "title",
                               TITLE_TEXT, "description", DESCRIPTION_TEXT);
    char *body = json_dumps(opened, JSON_COMPACT);
    json_decref(opened);
    const char *pc[] = {incident, stored_text};
    exec_ok(pg,
            "INSERT INTO cases (incident_id, tenant, opened_at, known_at, facts, version, "
            "reportable, direct_report, persons_total, mandatory_since) VALUES ($1, 'bpo', "
            "'2026-06-10T10:00:00+09:00', '2026-06-10T10:00:00+09:00', $2::jsonb, 1, true, "
            "true, 120, '2026-06-10T10:00:00+09:00')",
            2, pc);
    /* Version 1, caused by the opening event, with the facts it was assessed from: notify
     * renders from the version (notify/snapshot.h). */
    const char *pv[] = {incident, verdict_text, stored_text};
    exec_ok(pg,
            "INSERT INTO case_versions (incident_id, version, verdict, rules, cause_event_id, "
            "facts) VALUES ($1, 1, $2::jsonb, '{MN-2-4}', 'ev-open-'||$1, $3::jsonb)",
            3, pv);
    exec_ok(pg,
            "INSERT INTO client_exposure (incident_id, client_id, persons) "
            "VALUES ($1, 'A', 80), ($1, 'B', 60)",
            1, pc);
    char event_id[96];
    snprintf(event_id, sizeof event_id, "ev-open-%s", incident);
    const char *pe[] = {event_id, incident, body};
    exec_ok(pg,
            "INSERT INTO event_log (event_id, incident_id, tenant, kind, occurred_at, src_topic, "
            "src_partition, src_offset, body) VALUES ($1, $2, 'bpo', 'incident_opened', "
            "'2026-06-10T10:00:00+09:00', 'incident.events', 0, "
            "(SELECT count(*) FROM event_log), jsonb_build_object('type', 'incident_opened', "
            "'body', $3::jsonb))",
            3, pe);
    const char *pl[] = {event_id, incident, TITLE_TEXT, DESCRIPTION_TEXT};
    exec_ok(pg,
            "INSERT INTO case_events (event_id, incident_id, kind, occurred_at, version_after, "
            "title, description) VALUES ($1, $2, 'incident_opened', "
            "'2026-06-10T10:00:00+09:00', 1, $3, $4)",
            4, pl);

    /* The obligations of the verdict (assess/obligations.c), deadlines and tasks alike. */
    const json_t *d = json_object_get(verdict, "deadlines");
    size_t i;
    const json_t *c;
    json_array_foreach (json_object_get(verdict, "clients"), i, c) {
        const char *due = jstr(c, "notice_due");
        assert_non_null(due);
        add_deadline(pg, incident, jstr(c, "client_id"), "client_notice", NULL, due);
        if (with_tasks)
            add_task(pg, incident, "client_notice", jstr(c, "client_id"), NULL, due, verdict);
    }
    add_deadline(pg, incident, NULL, "ppc_preliminary", jstr(d, "preliminary_target"), NULL);
    add_deadline(pg, incident, NULL, "ppc_final", jstr(d, "final"), NULL);
    if (with_tasks) {
        add_task(pg, incident, "ppc_preliminary", NULL, jstr(d, "preliminary_target"), NULL,
                 verdict);
        add_task(pg, incident, "ppc_final", NULL, jstr(d, "final"), NULL, verdict);
        assert_true(json_is_true(json_object_get(verdict, "principal_notice")));
        add_task(pg, incident, "principal_notice", NULL, NULL, NULL, verdict);
    }
    free(stored_text);
    free(verdict_text);
    free(body);
    json_decref(stored);
    return verdict;
}

/* ---- running the worker ---- */

/* Writes a config file with the notify.* keys; path receives its name. */
static void write_config(char *path, size_t n, const char *clock)
{
    static int seq;
    snprintf(path, n, "/tmp/mni-test-notify-%d-%d.conf", (int)getpid(), seq++);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# written by test_notify\nnotify.remind_before_hours = 24\nnotify.clock = %s\n",
            clock);
    assert_int_equal(fclose(f), 0);
}

static void run_notify_with(testenv_db *db, const case_topics *t, const char *group,
                            const char *clock, const char *extra_env)
{
    char conf[256], env_conf[300], env_tasks[128], env_tickets[128], env_dlq[128];
    write_config(conf, sizeof conf, clock);
    snprintf(env_conf, sizeof env_conf, "MNI_CONFIG=%s", conf);
    snprintf(env_tasks, sizeof env_tasks, "MNI_TOPIC_TASKS=%s", t->tasks);
    snprintf(env_tickets, sizeof env_tickets, "MNI_TOPIC_TICKETS=%s", t->tickets);
    snprintf(env_dlq, sizeof env_dlq, "MNI_TOPIC_DLQ=%s", t->dlq);
    const char *env[] = {env_conf,          env_tasks, env_tickets, env_dlq,
                         "MNI_TICK_MS=200", extra_env, NULL};
    const char *argv[] = {"--exit-when-idle", "3000", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-notify", db->conninfo, mockkafka_bootstraps(kafka),
                                      group, env, argv),
                     0);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("mni-notify exited %d", rc);
    }
    /* The log carries ids and counts only: never the case's free text. */
    if (workerproc_log_count(&w, "給与明細") != 0 || workerproc_log_count(&w, "別の宛先") != 0) {
        workerproc_dump_log(&w);
        fail_msg("the worker logged free text of the case");
    }
    if (getenv("MNI_TEST_KEEP_LOGS")) /* for a look at what the worker says */
        fprintf(stderr, "mni-notify log: %s\n", w.log_path);
    else
        unlink(w.log_path);
    unlink(conf);
}

static void run_notify(testenv_db *db, const case_topics *t, const char *group, const char *clock)
{
    run_notify_with(db, t, group, clock, NULL);
}

/* Produces raw bytes to topic keyed by key. */
static void produce_raw(const char *topic, const char *key, const void *value, size_t len)
{
    char err[512];
    kq_prop props[] = {{"bootstrap.servers", mockkafka_bootstraps(kafka)}};
    kq_producer *p = kq_producer_new(props, 1, err, sizeof err);
    if (!p) fail_msg("%s", err);
    if (kq_produce(p, topic, key, strlen(key), value, len, NULL, 0, err, sizeof err) != 0 ||
        kq_producer_close(p, 10000, err, sizeof err) != 0)
        fail_msg("produce to %s: %s", topic, err);
}

/* Produces a NotifyTask record. */
static void produce_task(const char *topic, const records_notify_task *t)
{
    char err[512];
    wire_buf buf;
    wire_buf_init(&buf);
    if (records_notify_task_encode(schemas, t, &buf, err, sizeof err) != 0)
        fail_msg("encode task %s: %s", t->task_id, err);
    produce_raw(topic, t->incident_id, buf.data, buf.len);
    wire_buf_free(&buf);
}

/* Every outbox task row of the database, produced again as NotifyTask records. */
static int replay_outbox_tasks(PGconn *pg, const char *topic)
{
    char err[512];
    PGresult *res = pgx_query(pg, "test.replay",
                              "SELECT task_id, incident_id, client_id, kind, payload::text, "
                              "payload->>'due_date', payload->>'due_at' FROM outbox "
                              "WHERE topic = 'tasks' ORDER BY created_at, task_id",
                              0, NULL, err, sizeof err);
    if (!res) fail_msg("%s", err);
    int n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        records_notify_task t = {
            .task_id = PQgetvalue(res, r, 0),
            .incident_id = PQgetvalue(res, r, 1),
            .client_id = PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2),
            .due_at_ms = outbox_due_ms(PQgetisnull(res, r, 5) ? NULL : PQgetvalue(res, r, 5),
                                       PQgetisnull(res, r, 6) ? NULL : PQgetvalue(res, r, 6)),
            .case_version = 1,
            .created_at_ms = 1781053200000LL,
            .payload_json = PQgetvalue(res, r, 4),
        };
        assert_int_equal(records_task_kind_parse(PQgetvalue(res, r, 3), &t.kind), 0);
        produce_task(topic, &t);
    }
    PQclear(res);
    return n;
}

/* A JSON field of a row's payload as C text (NULL when null or absent). */
static const char *payload_str(const json_t *payload, const char *key)
{
    return json_string_value(json_object_get(payload, key));
}

/* Whether two strings, either NULL, are the same. */
static int same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Every outbox row mni-notify wrote (its tickets, the sweeper's reminders and escalations)
 * carries its message ready to send, and the message says what the row's payload says (the
 * relay used to encode it from the payload; now it sends the record as it is). How many rows
 * were checked. */
static size_t assert_notify_rows_carry_records(PGconn *pg)
{
    char err[512];
    PGresult *res = pgx_query(pg, "test.records",
                              "SELECT task_id, topic, incident_id, client_id, kind, payload::text, "
                              "record FROM outbox WHERE topic = 'tickets' OR (topic = 'tasks' "
                              "AND kind IN ('reminder', 'escalation')) ORDER BY task_id",
                              0, NULL, err, sizeof err);
    if (!res) fail_msg("%s", err);
    mni_arena arena;
    arena_init(&arena);
    size_t rows = (size_t)PQntuples(res);
    for (size_t r = 0; r < rows; r++) {
        const char *task_id = PQgetvalue(res, (int)r, 0), *topic = PQgetvalue(res, (int)r, 1);
        const char *client = PQgetisnull(res, (int)r, 3) ? NULL : PQgetvalue(res, (int)r, 3);
        json_t *payload = json_loads(PQgetvalue(res, (int)r, 5), 0, NULL);
        assert_non_null(payload);
        if (PQgetisnull(res, (int)r, 6)) fail_msg("outbox row %s has no record", task_id);
        size_t n = 0;
        unsigned char *bytes =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, (int)r, 6), &n);
        assert_non_null(bytes);
        arena_reset(&arena);
        long long due_ms =
            outbox_due_ms(payload_str(payload, "due_date"), payload_str(payload, "due_at"));
        if (!strcmp(topic, "tickets")) {
            records_ticket t;
            if (records_ticket_decode(schemas, bytes, n, &arena, &t, err, sizeof err) != 0)
                fail_msg("ticket %s: %s", task_id, err);
            assert_string_equal(t.ticket_id, task_id);
            assert_string_equal(t.task_id, payload_str(payload, "task_id"));
            assert_string_equal(t.kind, payload_str(payload, "kind"));
            assert_string_equal(t.title, payload_str(payload, "title"));
            assert_string_equal(t.summary, payload_str(payload, "summary"));
            assert_string_equal(t.document_ref, payload_str(payload, "document_ref"));
            assert_true(same_text(t.client_id, client));
            assert_string_equal(t.incident_id, PQgetvalue(res, (int)r, 2));
            assert_true(t.due_at_ms == due_ms);
        } else {
            records_notify_task t;
            if (records_notify_task_decode(schemas, bytes, n, &arena, &t, err, sizeof err) != 0)
                fail_msg("task %s: %s", task_id, err);
            assert_string_equal(t.task_id, task_id);
            assert_string_equal(records_task_kind_name(t.kind), PQgetvalue(res, (int)r, 4));
            assert_true(same_text(t.client_id, client));
            assert_string_equal(t.incident_id, PQgetvalue(res, (int)r, 2));
            assert_true(t.due_at_ms == due_ms);
            assert_int_equal(t.case_version,
                             json_integer_value(json_object_get(payload, "case_version")));
            json_t *carried = json_loads(t.payload_json, 0, NULL);
            assert_true(json_equal(carried, payload));
            json_decref(carried);
        }
        PQfreemem(bytes);
        json_decref(payload);
    }
    arena_free(&arena);
    PQclear(res);
    return rows;
}

/* The tickets on topic: their task ids, sorted, comma-separated (malloc'd). */
static char *ticket_task_ids(const char *topic, size_t expect)
{
    topicio_messages m;
    assert_int_equal(topicio_read_all(mockkafka_bootstraps(kafka), topic, 3, expect + 1, 2000, &m),
                     0);
    mni_arena arena;
    arena_init(&arena);
    json_t *ids = json_array();
    for (size_t i = 0; i < m.n; i++) {
        records_ticket t;
        char err[512];
        arena_reset(&arena);
        if (records_ticket_decode(schemas, m.msgs[i].value, m.msgs[i].value_len, &arena, &t, err,
                                  sizeof err) != 0)
            fail_msg("ticket %zu: %s", i, err);
        assert_non_null(strstr(t.title, t.incident_id));
        assert_null(strstr(t.summary, "給与明細")); /* no free text leaves in a ticket */
        json_array_append_new(ids, json_string(t.task_id));
    }
    topicio_messages_free(&m);
    arena_free(&arena);
    /* sort */
    size_t n = json_array_size(ids);
    const char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(ids, i));
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            const char *tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *out = calloc(len, 1);
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(out, ",");
        strcat(out, v[i]);
    }
    free(v);
    json_decref(ids);
    return out;
}

static void assert_audit_intact(PGconn *pg)
{
    sqlcheck_equal(pg, "SELECT (audit_log_verify() IS NULL)::text", NULL, "true");
    /* Payloads are ids, channels and digests: no document text, no case text. */
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM audit_log WHERE payload::text LIKE '%給与明細%' "
                   "OR payload::text LIKE '%調査中%' OR payload ? 'document'",
                   NULL, "0");
}

/* ---- cases ---- */

static void test_tasks_render_and_ticket(void **state)
{
    testenv_db *db = *state;
    PGconn *pg = db->conn;
    json_t *verdict = seed_case(pg, "INC-N1", 1);
    json_decref(verdict);
    sqlcheck_equal(pg, "SELECT count(*) FROM outbox WHERE topic = 'tasks'", NULL, "5");

    /* Before any reminder window: the sweeper must stay out of this case. */
    run_notify(db, &T1, "notify-t1", "2026-06-10T11:00:00+09:00");

    sqlcheck_equal(pg,
                   "SELECT string_agg(kind || ':' || channel || ':' || format, ' ' ORDER BY kind, "
                   "channel, format) FROM deliveries d JOIN outbox o USING (task_id)",
                   NULL,
                   "client_notice:client:A:json client_notice:client:A:text "
                   "client_notice:client:B:json client_notice:client:B:text "
                   "ppc_final:ppc_draft:json ppc_final:ppc_draft:text "
                   "ppc_preliminary:ppc_draft:json ppc_preliminary:ppc_draft:text "
                   "principal_notice:persons:json principal_notice:persons:text "
                   "principal_notice:publication:json principal_notice:publication:text");
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM deliveries WHERE document_sha256 <> "
                   "sha256(convert_to(document, 'UTF8')) OR status <> 'rendered'",
                   NULL, "0");
    /* A client's notice is rendered from that client's view of the case (notify's snapshot of
     * a client task, case_verdict_of_client): its own entry and count, none of the other's. */
    sqlcheck_equal(pg,
                   "SELECT count(*) FILTER (WHERE document LIKE '%\"A\"%') || '/' || "
                   "count(*) FILTER (WHERE document LIKE '%\"B\"%') FROM deliveries d JOIN outbox "
                   "o USING (task_id) WHERE o.kind = 'client_notice' AND o.client_id = 'A' AND "
                   "format = 'json'",
                   NULL, "1/0");
    sqlcheck_equal(pg,
                   "SELECT jsonb_array_length(v -> 'clients') || ':' || (v -> 'clients' -> 0 ->> "
                   "'client_id') || ':' || (v -> 'headcount' -> 'clients')::text || ':' || "
                   "(v -> 'headcount' ->> 'total') FROM (SELECT case_verdict_of_client("
                   "'INC-N1', 1, 'B') AS v) s",
                   NULL, "1:B:{\"B\": 60}:120");
    sqlcheck_equal(pg,
                   "SELECT jsonb_array_length(v -> 'clients') || ':' || (v -> 'headcount' -> "
                   "'clients')::text FROM (SELECT case_verdict_of_client('INC-N1', 1, 'Z') AS v) s",
                   NULL, "0:{}");
    /* The documents themselves: the case's text, escaped in Markdown; the disclaimer. */
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM deliveries WHERE format = 'text' AND document LIKE "
                   "'%給与明細の誤送信 \\\\| 2社%' AND document LIKE '%Not legal advice%'",
                   NULL, "6");
    sqlcheck_equal(pg,
                   "SELECT (document::jsonb -> 'headcount' ->> 'total') || '/' || "
                   "jsonb_array_length(document::jsonb -> 'headcount' -> 'clients') FROM "
                   "deliveries d JOIN outbox o USING (task_id) WHERE o.kind = 'ppc_preliminary' "
                   "AND format = 'json'",
                   NULL, "120/2");
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM deliveries WHERE channel = 'persons' AND "
                   "(document LIKE '%120名%' OR document LIKE '%80名%' OR document LIKE "
                   "'%\"client_id\"%')",
                   NULL, "0");

    /* One ticket per task, published through the outbox to the tickets topic. */
    sqlcheck_equal(pg,
                   "SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'published') || '/' "
                   "|| count(DISTINCT task_id) FROM tickets",
                   NULL, "5/5/5");
    sqlcheck_equal(
        pg,
        "SELECT count(*) FROM outbox o WHERE topic = 'tickets' AND (failed_at IS NOT NULL "
        "OR EXISTS (SELECT FROM outbox_queue q WHERE q.task_id = o.task_id))",
        NULL, "0");
    char *want = sqlcheck_text(pg,
                               "SELECT string_agg(task_id, ',' ORDER BY task_id) FROM outbox "
                               "WHERE topic = 'tasks'",
                               NULL);
    char *got = ticket_task_ids(T1.tickets, 5);
    assert_string_equal(got, want);
    free(got);
    assert_int_equal(assert_notify_rows_carry_records(pg), 5);

    sqlcheck_equal(pg,
                   "SELECT count(*) FILTER (WHERE action = 'document_rendered') || '/' || "
                   "count(*) FILTER (WHERE action = 'ticket_created') || '/' || "
                   "count(*) FILTER (WHERE action = 'ticket_published') || '/' || "
                   "count(*) FILTER (WHERE actor = 'mni-notify') FROM audit_log",
                   NULL, "12/5/5/22");
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM audit_log a JOIN deliveries d ON d.task_id = "
                   "a.payload->>'task_id' AND d.channel = a.payload->>'channel' AND d.format = "
                   "a.payload->>'format' WHERE a.action = 'document_rendered' AND "
                   "a.payload->>'sha256' = encode(d.document_sha256, 'hex')",
                   NULL, "12");
    assert_audit_intact(pg);

    /* The same five tasks again: nothing new anywhere. */
    char *before = sqlcheck_text(
        pg,
        "SELECT (SELECT count(*) FROM deliveries) || '/' || (SELECT "
        "count(*) FROM tickets) || '/' || (SELECT count(*) FROM outbox WHERE topic <> 'anchors') "
        "|| '/' || (SELECT count(*) FROM audit_log)",
        NULL);
    assert_string_equal(before, "12/5/10/22"); /* audit: 12 documents, 5 tickets, 5 published */
    assert_int_equal(replay_outbox_tasks(pg, T1.tasks), 5);
    run_notify(db, &T1, "notify-t1", "2026-06-10T11:00:00+09:00");
    sqlcheck_equal(pg,
                   "SELECT (SELECT count(*) FROM deliveries) || '/' || (SELECT count(*) FROM "
                   "tickets) || '/' || (SELECT count(*) FROM outbox WHERE topic <> 'anchors') || "
                   "'/' || (SELECT count(*) "
                   "FROM audit_log)",
                   NULL, before);
    got = ticket_task_ids(T1.tickets, 5);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(before);
    assert_audit_intact(pg);
}

static void test_dead_letters(void **state)
{
    testenv_db *db = *state;
    PGconn *pg = db->conn;
    json_decref(seed_case(pg, "INC-N2", 0));

    static const uint8_t garbage[] = {0, 0, 0, 0, 7, 'n', 'o', 't', ' ', 'a', 'v', 'r', 'o'};
    produce_raw(T2.tasks, "INC-N2", garbage, sizeof garbage);
    records_notify_task bad_payload = {.task_id = "t2-bad-payload",
                                       .incident_id = "INC-N2",
                                       .kind = RECORDS_TASK_PPC_FINAL,
                                       .due_at_ms = RECORDS_NO_TIME,
                                       .case_version = 1,
                                       .created_at_ms = 1781053200000LL,
                                       .payload_json = "this is not json"};
    produce_task(T2.tasks, &bad_payload);
    records_notify_task unknown = {.task_id = "t2-unknown",
                                   .incident_id = "INC-NOPE",
                                   .kind = RECORDS_TASK_PPC_FINAL,
                                   .due_at_ms = RECORDS_NO_TIME,
                                   .case_version = 1,
                                   .created_at_ms = 1781053200000LL,
                                   .payload_json = "{\"due_date\":\"2026-07-09\"}"};
    produce_task(T2.tasks, &unknown);
    records_notify_task no_client = {.task_id = "t2-no-client",
                                     .incident_id = "INC-N2",
                                     .kind = RECORDS_TASK_CLIENT_NOTICE,
                                     .due_at_ms = RECORDS_NO_TIME,
                                     .case_version = 1,
                                     .created_at_ms = 1781053200000LL,
                                     .payload_json = "{}"};
    produce_task(T2.tasks, &no_client);
    records_notify_task good = {.task_id = "t2-good",
                                .incident_id = "INC-N2",
                                .kind = RECORDS_TASK_PPC_PRELIMINARY,
                                .due_at_ms = RECORDS_NO_TIME,
                                .case_version = 1,
                                .created_at_ms = 1781053200000LL,
                                .payload_json =
                                    "{\"due_date\":\"2026-06-12\",\"kind\":\"ppc_preliminary\"}"};
    produce_task(T2.tasks, &good);

    run_notify(db, &T2, "notify-t2", "2026-06-10T11:00:00+09:00");

    topicio_messages m;
    assert_int_equal(topicio_read_all(mockkafka_bootstraps(kafka), T2.dlq, 1, 5, 2000, &m), 0);
    assert_int_equal(m.n, 4);
    /* The tasks were keyed by incident, so partitions (and the order between them) differ:
     * count reasons rather than expect an order. */
    int malformed = 0, unknown_incident = 0, garbage_seen = 0;
    for (size_t i = 0; i < m.n; i++) {
        char reason[64], origin[64], detail[512];
        topicio_header(&m.msgs[i], "mni.reason", reason, sizeof reason);
        topicio_header(&m.msgs[i], "mni.origin.topic", origin, sizeof origin);
        topicio_header(&m.msgs[i], "mni.detail", detail, sizeof detail);
        malformed += !strcmp(reason, "malformed");
        unknown_incident += !strcmp(reason, "unknown_incident");
        assert_string_equal(origin, T2.tasks);
        assert_true(detail[0] != '\0');
        /* The undecodable message travels as it came, for inspection. */
        if (m.msgs[i].value_len == sizeof garbage &&
            !memcmp(m.msgs[i].value, garbage, sizeof garbage)) {
            garbage_seen++;
            assert_string_equal(reason, "malformed");
        }
    }
    assert_int_equal(malformed, 3);
    assert_int_equal(unknown_incident, 1);
    assert_int_equal(garbage_seen, 1);
    topicio_messages_free(&m);

    /* The task after them was handled. */
    sqlcheck_equal(pg,
                   "SELECT string_agg(task_id || ':' || format, ' ' ORDER BY format) FROM "
                   "deliveries",
                   NULL, "t2-good:json t2-good:text");
    sqlcheck_equal(pg, "SELECT task_id || ':' || status FROM tickets", NULL, "t2-good:published");
    char *got = ticket_task_ids(T2.tickets, 1);
    assert_string_equal(got, "t2-good");
    free(got);
    assert_audit_intact(pg);
}

static void test_sweeper_once(void **state)
{
    testenv_db *db = *state;
    PGconn *pg = db->conn;
    json_t *verdict = seed_case(pg, "INC-N3", 0);
    /* A closed case with an overdue deadline: never swept. */
    exec_ok(pg,
            "INSERT INTO cases (incident_id, tenant, opened_at, status, closed_at) VALUES "
            "('INC-N3-CLOSED', 'bpo', '2026-06-01T10:00:00+09:00', 'closed', "
            "'2026-06-02T10:00:00+09:00')",
            0, NULL);
    add_deadline(pg, "INC-N3-CLOSED", NULL, "ppc_final", "2026-06-05", NULL);
    /* A met deadline: never swept either. */
    add_deadline(pg, "INC-N3", "C", "client_notice", NULL, "2026-06-11T10:00:00+09:00");
    exec_ok(pg, "UPDATE deadlines SET met_at = '2026-06-10T12:00:00+09:00' WHERE client_id = 'C'",
            0, NULL);

    static const char *const counts_sql =
        "SELECT count(*) FILTER (WHERE kind = 'reminder') || '/' || "
        "count(*) FILTER (WHERE kind = 'escalation') FROM outbox WHERE topic = 'tasks'";

    /* 1. Inside the 24-hour window of the notices and the preliminary report (all due at the
     *    end of 2026-06-12), weeks before the final report. */
    run_notify(db, &T3, "notify-t3", "2026-06-12T12:00:00+09:00");
    sqlcheck_equal(pg, counts_sql, NULL, "3/0");
    sqlcheck_equal(pg,
                   "SELECT string_agg(kind || ':' || coalesce(client_id, '-') || ':' || "
                   "(reminded_at = '2026-06-12T12:00:00+09:00')::text || ':' || "
                   "(escalated_at IS NULL)::text, ' ' ORDER BY kind, client_id) FROM deadlines "
                   "WHERE incident_id = 'INC-N3' AND met_at IS NULL AND reminded_at IS NOT NULL",
                   NULL,
                   "client_notice:A:true:true client_notice:B:true:true "
                   "ppc_preliminary:-:true:true");

    /* 1b. The last millisecond of the due day: nothing is overdue yet (a report is on time at
     *     any moment of its due day; the notices' due_at 23:59:59 counts its whole second). */
    run_notify(db, &T3, "notify-t3", "2026-06-12T23:59:59.999+09:00");
    sqlcheck_equal(pg, counts_sql, NULL, "3/0");
    /* 1c. The first instant of the next day: the notices and the preliminary report are
     *     overdue (rules/due_day.h, mni_due_end in SQL). */
    run_notify(db, &T3, "notify-t3", "2026-06-13T00:00:00+09:00");
    sqlcheck_equal(pg, counts_sql, NULL, "3/3");

    /* 2. Past every due time: the final report's reminder and escalation, reminder first. */
    run_notify(db, &T3, "notify-t3", "2026-08-01T09:00:00+09:00");
    sqlcheck_equal(pg, counts_sql, NULL, "4/4");
    /* 3. Again at the same time: nothing new. */
    run_notify(db, &T3, "notify-t3", "2026-08-01T09:00:00+09:00");
    sqlcheck_equal(pg, counts_sql, NULL, "4/4");

    sqlcheck_equal(
        pg,
        "SELECT string_agg(d.kind || ':' || coalesce(d.client_id, '-') || ':' || "
        "(SELECT count(*) FROM outbox o WHERE o.topic = 'tasks' AND o.kind = 'reminder' "
        "AND o.payload->>'deadline_kind' = d.kind AND o.client_id IS NOT DISTINCT FROM "
        "d.client_id) || ':' || (SELECT count(*) FROM outbox o WHERE o.topic = 'tasks' "
        "AND o.kind = 'escalation' AND o.payload->>'deadline_kind' = d.kind AND "
        "o.client_id IS NOT DISTINCT FROM d.client_id), ' ' ORDER BY d.kind, "
        "d.client_id) FROM deadlines d WHERE d.incident_id = 'INC-N3' AND met_at IS NULL",
        NULL,
        "client_notice:A:1:1 client_notice:B:1:1 ppc_final:-:1:1 "
        "ppc_preliminary:-:1:1");
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM outbox WHERE incident_id = 'INC-N3-CLOSED' OR "
                   "client_id = 'C'",
                   NULL, "0");
    sqlcheck_equal(pg,
                   "SELECT (r.created_at < e.created_at)::text FROM outbox r, outbox e WHERE "
                   "r.kind = 'reminder' AND e.kind = 'escalation' AND r.payload->>'deadline_kind' "
                   "= 'ppc_final' AND e.payload->>'deadline_kind' = 'ppc_final'",
                   NULL, "true");

    /* Deterministic task ids. */
    const json_t *d = json_object_get(verdict, "deadlines");
    const char *final = jstr(d, "final"), *prelim = jstr(d, "preliminary_target");
    const char *a_due = jstr(json_array_get(json_object_get(verdict, "clients"), 0), "notice_due");
    struct {
        const char *kind, *client, *deadline_kind, *due;
    } want[] = {
        {"reminder", "A", "client_notice", a_due},
        {"escalation", "A", "client_notice", a_due},
        {"reminder", NULL, "ppc_preliminary", prelim},
        {"escalation", NULL, "ppc_final", final},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char id[33];
        mni_reminder_task_id("INC-N3", want[i].kind, want[i].client, want[i].deadline_kind,
                             want[i].due, id);
        sqlcheck_equal(pg, "SELECT count(*) FROM outbox WHERE task_id = $1 AND topic = 'tasks'", id,
                       "1");
    }

    /* They came back as documents and tickets. */
    sqlcheck_equal(pg,
                   "SELECT count(*) FILTER (WHERE channel = 'reminder') || '/' || count(*) "
                   "FILTER (WHERE channel = 'escalation') FROM deliveries",
                   NULL, "8/8");
    sqlcheck_equal(pg,
                   "SELECT count(*) FILTER (WHERE kind = 'reminder') || '/' || count(*) FILTER "
                   "(WHERE kind = 'escalation') || '/' || count(*) FILTER (WHERE status = "
                   "'published') FROM tickets",
                   NULL, "4/4/8");
    /* A reminder or an escalation reads the version's own verdict document, not a client's
     * view of it (notify_snapshot_want.case_part): the preliminary report's name the latest
     * day the verdict gives for it. */
    const char *latest = jstr(d, "preliminary_latest");
    assert_non_null(latest);
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM deliveries d JOIN outbox o USING (task_id) WHERE "
                   "o.kind IN ('reminder', 'escalation') AND o.payload->>'deadline_kind' = "
                   "'ppc_preliminary' AND d.format = 'json' AND d.document LIKE '%速報は遅くとも%'",
                   NULL, "2");
    /* Hours overdue from the end of the due day: the preliminary report's escalation was
     * queued at the very instant its day ended (overdue from then on: 1 hour begun); the final
     * report's (due 2026-07-09, over at 2026-07-10 00:00+09:00) at 2026-08-01 09:00, 537 h
     * later exactly. */
    assert_string_equal(final, "2026-07-09");
    static const char *const overdue_sql =
        "SELECT document::jsonb ->> 'hours_overdue' FROM deliveries d JOIN outbox o "
        "USING (task_id) WHERE o.kind = 'escalation' AND o.payload->>'deadline_kind' = $1 "
        "AND d.format = 'json'";
    sqlcheck_equal(pg, overdue_sql, "ppc_preliminary", "1");
    sqlcheck_equal(pg, overdue_sql, "ppc_final", "537");
    char *got = ticket_task_ids(T3.tickets, 8);
    char *want_ids = sqlcheck_text(pg,
                                   "SELECT string_agg(task_id, ',' ORDER BY task_id) FROM outbox "
                                   "WHERE topic = 'tasks'",
                                   NULL);
    assert_string_equal(got, want_ids);
    free(got);
    free(want_ids);
    sqlcheck_equal(pg,
                   "SELECT count(*) FILTER (WHERE action = 'reminder_queued') || '/' || count(*) "
                   "FILTER (WHERE action = 'escalation_queued') FROM audit_log",
                   NULL, "4/4");
    /* 8 reminders and escalations, their 8 tickets. */
    assert_int_equal(assert_notify_rows_carry_records(pg), 16);
    assert_audit_intact(pg);
    json_decref(verdict);
}

/* A NotifyTask as assess queues it (payload with the deadline), produced to topic. */
static void produce_cut_task(const char *topic, const char *task_id, const char *incident,
                             records_task_kind kind, const char *client, const char *due_date,
                             const char *due_at, int version)
{
    json_t *payload =
        json_pack("{s:o, s:o}", "due_date", due_date ? json_string(due_date) : json_null(),
                  "due_at", due_at ? json_string(due_at) : json_null());
    char *text = json_dumps(payload, JSON_COMPACT);
    records_notify_task t = {.task_id = task_id,
                             .incident_id = incident,
                             .client_id = client,
                             .kind = kind,
                             .due_at_ms = outbox_due_ms(due_date, due_at),
                             .case_version = version,
                             .created_at_ms = 1781053200000LL,
                             .payload_json = text};
    produce_task(topic, &t);
    free(text);
    json_decref(payload);
}

/* What notify wrote, table for table, in an order that does not depend on how the
 * partitions' messages interleaved (malloc'd). Processing timestamps are left out. */
static char *notify_state(PGconn *pg)
{
    return sqlcheck_text(
        pg,
        "SELECT concat_ws(E'\\n', "
        "(SELECT string_agg(concat_ws('|', task_id, incident_id, client_id, channel, recipient, "
        "format, status, encode(document_sha256, 'hex'), md5(document)), E'\\n' ORDER BY task_id, "
        "channel, format) FROM deliveries), "
        "(SELECT string_agg(concat_ws('|', ticket_id, task_id, incident_id, client_id, kind, "
        "title, body::text, status, webhook_state), E'\\n' ORDER BY ticket_id) FROM tickets), "
        "(SELECT string_agg(concat_ws('|', task_id, topic, incident_id, client_id, kind, "
        "payload::text, encode(record, 'hex'), failed_at IS NULL AND NOT EXISTS (SELECT FROM "
        "outbox_queue q "
        "WHERE q.task_id = o.task_id)), E'\\n' ORDER BY task_id) FROM outbox o "
        "WHERE topic = 'tickets'), "
        "(SELECT string_agg(concat_ws('|', actor, action, incident_id, client_id, payload::text), "
        "E'\\n' ORDER BY action, payload::text) FROM audit_log WHERE actor = 'mni-notify'))",
        NULL);
}

/* The same stream of tasks handled with batch.size 1 and with batch.size 500 ends in the same
 * deliveries, tickets, outbox rows and audit rows, and the same dead letters: one task at a
 * time against the set-based batch (notify_batch.h), with duplicates, an unknown incident, a
 * malformed payload and a client the case does not have among them. */
static void test_batch_cut_does_not_matter(void **state)
{
    (void)state;
    static const case_topics one_t = {"t4.notify.tasks", "t4a.tickets", "t4a.incident.dlq"};
    static const case_topics many_t = {"t4.notify.tasks", "t4b.tickets", "t4b.incident.dlq"};
    testenv_db one, many;
    testenv_db_create(&one, 1);
    testenv_db_create(&many, 1);
    static const char *const incidents[] = {"INC-N4", "INC-N5"};
    for (size_t c = 0; c < 2; c++) {
        json_decref(seed_case(one.conn, incidents[c], 0));
        json_t *verdict = seed_case(many.conn, incidents[c], 0);
        const char *inc = incidents[c];
        const json_t *d = json_object_get(verdict, "deadlines");
        const char *pre = jstr(d, "preliminary_target"), *fin = jstr(d, "final");
        char id[64];
        size_t i;
        const json_t *cl;
        json_array_foreach (json_object_get(verdict, "clients"), i, cl) {
            snprintf(id, sizeof id, "cut-%s-notice-%s", inc, jstr(cl, "client_id"));
            produce_cut_task(one_t.tasks, id, inc, RECORDS_TASK_CLIENT_NOTICE,
                             jstr(cl, "client_id"), NULL, jstr(cl, "notice_due"), 1);
        }
        snprintf(id, sizeof id, "cut-%s-pre", inc);
        produce_cut_task(one_t.tasks, id, inc, RECORDS_TASK_PPC_PRELIMINARY, NULL, pre, NULL, 1);
        snprintf(id, sizeof id, "cut-%s-final", inc);
        produce_cut_task(one_t.tasks, id, inc, RECORDS_TASK_PPC_FINAL, NULL, fin, NULL, 1);
        snprintf(id, sizeof id, "cut-%s-principal", inc);
        produce_cut_task(one_t.tasks, id, inc, RECORDS_TASK_PRINCIPAL_NOTICE, NULL, NULL, NULL, 1);
        snprintf(id, sizeof id, "cut-%s-notice-Z", inc);
        produce_cut_task(one_t.tasks, id, inc, RECORDS_TASK_CLIENT_NOTICE, "Z", NULL,
                         "2026-06-20T10:00:00+09:00", 1);
        snprintf(id, sizeof id, "cut-%s-notice-A", inc); /* again: a duplicate */
        produce_cut_task(one_t.tasks, id, inc, RECORDS_TASK_CLIENT_NOTICE, "A", NULL,
                         "2026-06-20T10:00:00+09:00", 1);
        json_decref(verdict);
    }
    produce_cut_task(one_t.tasks, "cut-unknown", "INC-NOPE", RECORDS_TASK_PPC_FINAL, NULL,
                     "2026-07-09", NULL, 1);
    records_notify_task not_json = {.task_id = "cut-not-json",
                                    .incident_id = "INC-N5",
                                    .kind = RECORDS_TASK_PPC_FINAL,
                                    .due_at_ms = RECORDS_NO_TIME,
                                    .case_version = 1,
                                    .created_at_ms = 1781053200000LL,
                                    .payload_json = "not json"};
    produce_task(one_t.tasks, &not_json);
    produce_cut_task(one_t.tasks, "cut-no-client", "INC-N4", RECORDS_TASK_CLIENT_NOTICE, NULL, NULL,
                     NULL, 1);

    run_notify_with(&one, &one_t, "notify-cut-1", "2026-06-10T11:00:00+09:00", "MNI_BATCH_SIZE=1");
    run_notify_with(&many, &many_t, "notify-cut-500", "2026-06-10T11:00:00+09:00",
                    "MNI_BATCH_SIZE=500");
    char *a = notify_state(one.conn), *b = notify_state(many.conn);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(assert_notify_rows_carry_records(one.conn), 12);
    assert_int_equal(assert_notify_rows_carry_records(many.conn), 12);
    /* The stream did what it was written to do (so that equality means something): 2 x 6
     * tasks (client notices to A, B and Z, the PPC drafts, the principal notice) with their
     * documents (the principal notice has two), the unknown incident's task and the two
     * malformed ones dead-lettered, the repeated task added nothing. */
    sqlcheck_equal(many.conn, "SELECT count(*) || '/' || count(DISTINCT task_id) FROM deliveries",
                   NULL, "28/12");
    sqlcheck_equal(many.conn, "SELECT count(*) FROM tickets WHERE status = 'published'", NULL,
                   "12");
    /* Each client's notice shows its own count: the batch read each client's view. */
    sqlcheck_equal(many.conn,
                   "SELECT string_agg(client_id || ':' || (document LIKE '%\"A\"%')::int || "
                   "(document LIKE '%\"B\"%')::int, ',' ORDER BY task_id) FROM deliveries "
                   "WHERE format = 'json' AND channel LIKE 'client:%' AND incident_id = 'INC-N4'",
                   NULL, "A:10,B:01,Z:00");
    for (int r = 0; r < 2; r++) {
        topicio_messages m;
        const char *dlq = r ? many_t.dlq : one_t.dlq;
        assert_int_equal(topicio_read_all(mockkafka_bootstraps(kafka), dlq, 1, 4, 2000, &m), 0);
        assert_int_equal(m.n, 3);
        topicio_messages_free(&m);
    }
    assert_audit_intact(many.conn);
    testenv_db_drop(&one);
    testenv_db_drop(&many);
}

/* Handles one task of incident's seeded case by the per-task path (one_at_a_time) or the
 * set-based one, in a transaction of its own, with the audit rows appended as mni-notify
 * appends them. */
static void handle_directly(PGconn *pg, const records_notify_task *t, json_t *payload,
                            int one_at_a_time)
{
    char err[1024], why[512];
    json_t *audit = json_array();
    exec_ok(pg, "BEGIN", 0, NULL);
    if (one_at_a_time) {
        notify_task_outcome out =
            notify_task_handle(pg, schemas, t, payload, 0, audit, why, sizeof why, err, sizeof err);
        if (out != NOTIFY_TASK_DONE) fail_msg("per task: outcome %d: %s %s", out, why, err);
    } else {
        notify_batch_item item = {.decoded = 1, .task = *t, .payload = payload};
        if (notify_batch_handle(pg, schemas, &item, 1, 0, audit, err, sizeof err) != 0)
            fail_msg("batch: %s", err);
        if (item.outcome != NOTIFY_TASK_DONE)
            fail_msg("batch: outcome %d: %s", item.outcome, item.why);
    }
    if (notify_audit_flush(pg, audit, err, sizeof err) != 0) fail_msg("audit: %s", err);
    exec_ok(pg, "COMMIT", 0, NULL);
    json_decref(audit);
}

/* The per-task path, where mni-notify goes when a batch fails in PostgreSQL, writes what the
 * set-based path writes for the same task: deliveries, ticket, the ticket's outbox row with
 * its message, audit rows. */
static void test_one_task_path_matches_batch(void **state)
{
    (void)state;
    testenv_db per_task, batched;
    testenv_db_create(&per_task, 1);
    testenv_db_create(&batched, 1);
    json_t *verdict = seed_case(per_task.conn, "INC-N5", 0);
    json_decref(seed_case(batched.conn, "INC-N5", 0));
    const char *due = jstr(json_array_get(json_object_get(verdict, "clients"), 0), "notice_due");
    assert_non_null(due);
    int at = strchr(due, 'T') != NULL;
    json_t *payload =
        json_pack("{s:s?, s:s?}", "due_date", at ? NULL : due, "due_at", at ? due : NULL);
    char *text = json_dumps(payload, JSON_COMPACT);
    records_notify_task t = {.task_id = "one-path-A",
                             .incident_id = "INC-N5",
                             .client_id = "A",
                             .kind = RECORDS_TASK_CLIENT_NOTICE,
                             .due_at_ms = outbox_due_ms(at ? NULL : due, at ? due : NULL),
                             .case_version = 1,
                             .created_at_ms = 1781053200000LL,
                             .payload_json = text};
    handle_directly(per_task.conn, &t, payload, 1);
    handle_directly(batched.conn, &t, payload, 0);
    char *a = notify_state(per_task.conn), *b = notify_state(batched.conn);
    assert_string_equal(a, b);
    free(a);
    free(b);
    sqlcheck_equal(per_task.conn, "SELECT count(*) FROM deliveries", NULL, "2");
    assert_int_equal(assert_notify_rows_carry_records(per_task.conn), 1);
    assert_int_equal(assert_notify_rows_carry_records(batched.conn), 1);
    free(text);
    json_decref(payload);
    json_decref(verdict);
    testenv_db_drop(&per_task);
    testenv_db_drop(&batched);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tasks_render_and_ticket, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_dead_letters, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_sweeper_once, db_setup, db_teardown),
        cmocka_unit_test(test_batch_cut_does_not_matter),
        cmocka_unit_test(test_one_task_path_matches_batch),
    };
    return cmocka_run_group_tests_name("notify", tests, group_setup, group_teardown);
}
