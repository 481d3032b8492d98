/*
 * test_webhook: tickets over HTTP, end to end: the real mni-notify binary renders the tasks of
 * a seeded case, opens a ticket per task and POSTs each to a real local HTTP server
 * (tests/support/httprecv: libmicrohttpd) that fails on purpose; PostgreSQL and the mock Kafka
 * cluster are real. Nothing waits a fixed time: each case polls PostgreSQL until every ticket
 * is delivered or failed.
 *
 * The case is a contractor's direct report (clients A and B) with three tasks queued in the
 * outbox as assess would (A's and B's notices, the PPC 速報); the worker's own relay sends them
 * to its tasks topic and consumes them. Each case has topics and a database of its own.
 *
 * What each case establishes:
 *   retried_then_delivered  the receiver answers 503, 503, then 200 per ticket: every ticket is
 *                   delivered on its third attempt; each attempt carried the ticket id as
 *                   Idempotency-Key, X-Mni-Attempt 1, 2, 3, the same body bytes, a valid
 *                   HMAC-SHA256 signature of the body and the bearer token; the waits between
 *                   attempts grew (at least half of 100 ms, then of 200 ms: jittered backoff);
 *                   PostgreSQL holds one attempt row per attempt (503 retry, 503 retry, 200
 *                   delivered, with latencies) and an audit row per delivered ticket, the chain
 *                   intact; neither the secret nor the token is in the worker's log.
 *   keeps_failing   the receiver answers 500 forever: after notify.webhook.max_attempts (3)
 *                   every ticket is failed, never dropped: `mni case` shows failed with the last
 *                   answer, the case page marks it.
 *   refused_at_once a 400 is not retried: failed after one attempt.
 *   no_answer       nothing listens (connection refused) and a receiver that hangs past
 *                   notify.webhook.timeout_ms: attempts without an HTTP status, the transport
 *                   error recorded, failed after the last attempt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/model/facts_json.h"
#include "lib/model/verdict_json.h"
#include "lib/pg/pgx.h"
#include "rules/rules.h"
#include "tests/support/httpget.h"
#include "tests/support/httprecv.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/workerproc.h"

#define SECRET "s3cr3t-webhook-test"
#define TOKEN "tok-webhook-test"
#define TICKETS 3

static mockkafka *kafka;

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"wh1.tasks", 2},   {"wh1.tickets", 2}, {"wh1.dlq", 1},     {"wh2.tasks", 2},
        {"wh2.tickets", 2}, {"wh2.dlq", 1},     {"wh3.tasks", 2},   {"wh3.tickets", 2},
        {"wh3.dlq", 1},     {"wh4.tasks", 2},   {"wh4.tickets", 2}, {"wh4.dlq", 1},
        {"wh5.tasks", 2},   {"wh5.tickets", 2}, {"wh5.dlq", 1},
    };
    return mockkafka_setup(&kafka, topics, sizeof topics / sizeof topics[0]);
}

static int group_teardown(void **state)
{
    (void)state;
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

static void exec_ok(PGconn *pg, const char *sql, int n, const char *const *params)
{
    char err[1024];
    if (pgx_exec_params(pg, "test", sql, n, params, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void add_task(PGconn *pg, const char *kind, const char *client, const char *due_date,
                     const char *due_at)
{
    char key[256], task_id[33];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    int n = snprintf(key, sizeof key, "INC-WH|%s|%s", kind, client ? client : "");
    SHA256((const unsigned char *)key, (size_t)n, digest);
    for (int i = 0; i < 16; i++)
        snprintf(task_id + 2 * i, 3, "%02x", digest[i]);
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:i}", "task_id", task_id, "incident_id",
                  "INC-WH", "kind", kind, "client_id", client ? json_string(client) : json_null(),
                  "due_date", due_date ? json_string(due_date) : json_null(), "due_at",
                  due_at ? json_string(due_at) : json_null(), "case_version", 1);
    char *text = json_dumps(payload, JSON_COMPACT);
    const char *p[] = {task_id, client, kind, text};
    exec_ok(pg,
            "INSERT INTO outbox (task_id, topic, incident_id, client_id, kind, payload) "
            "VALUES ($1, 'tasks', 'INC-WH', $2, $3, $4::jsonb)",
            4, p);
    free(text);
    json_decref(payload);
}

/* A contractor's direct report (A 80, B 60, 120 distinct) and its three tasks. */
static void seed_case(PGconn *pg)
{
    static const char facts[] =
        "{\"incident_id\":\"INC-WH\",\"known_at\":\"2026-06-10T10:00:00+09:00\","
        "\"reporter\":{\"role\":\"contractor\",\"number_use_entity\":false,"
        "\"public_body_system\":false},\"kinds\":[\"leak\"],\"certainty\":\"confirmed\","
        "\"improper_purpose\":\"none\",\"systems\":[],\"unspecified_viewing\":\"none\","
        "\"encrypted_protected\":false,\"recovered_unviewed\":false,\"intact_copy\":false,"
        "\"clients\":[{\"client_id\":\"A\",\"persons\":80},{\"client_id\":\"B\","
        "\"persons\":60}],\"distinct_persons\":120}";
    char err[512];
    facts_doc doc;
    if (facts_json_parse(facts, strlen(facts), &doc, err, sizeof err) != 0)
        fail_msg("facts: %s", err);
    rules_client_verdict clients[2];
    rules_verdict v;
    if (rules_assess(&doc.facts, NULL, &v, clients, err, sizeof err) != 0) fail_msg("%s", err);
    json_t *verdict = verdict_json_build(&doc.facts, &v);
    assert_string_equal(jstr(verdict, "route"), "direct_report");
    char *verdict_text = json_dumps(verdict, JSON_COMPACT);
    const char *pv[] = {verdict_text};
    exec_ok(pg,
            "INSERT INTO cases (incident_id, tenant, opened_at, known_at, facts, version, "
            "reportable, direct_report, persons_total, mandatory_since) VALUES ('INC-WH', 'bpo', "
            "'2026-06-10T10:00:00+09:00', '2026-06-10T10:00:00+09:00', '{}', 1, true, true, 120, "
            "'2026-06-10T10:00:00+09:00')",
            0, NULL);
    exec_ok(pg,
            "INSERT INTO case_versions (incident_id, version, verdict, rules) "
            "VALUES ('INC-WH', 1, $1::jsonb, '{MN-2-4}')",
            1, pv);
    exec_ok(pg,
            "INSERT INTO client_exposure (incident_id, client_id, persons) "
            "VALUES ('INC-WH', 'A', 80), ('INC-WH', 'B', 60)",
            0, NULL);
    const json_t *c;
    size_t i;
    json_array_foreach (json_object_get(verdict, "clients"), i, c)
        add_task(pg, "client_notice", jstr(c, "client_id"), NULL, jstr(c, "notice_due"));
    add_task(pg, "ppc_preliminary", NULL,
             jstr(json_object_get(verdict, "deadlines"), "preliminary_target"), NULL);
    free(verdict_text);
    json_decref(verdict);
    facts_doc_free(&doc);
}

/* Runs mni-notify against url until every ticket has a final webhook state; returns its log
 * path's worker (stopped). */
static void run_until_settled(testenv_db *db, const char *prefix, const char *url,
                              const char *max_attempts, const char *timeout_ms, workerproc *w)
{
    char env_url[512], env_tasks[64], env_tickets[64], env_dlq[64], env_max[64], env_timeout[64];
    snprintf(env_url, sizeof env_url, "MNI_NOTIFY_WEBHOOK_URL=%s", url);
    snprintf(env_tasks, sizeof env_tasks, "MNI_TOPIC_TASKS=%s.tasks", prefix);
    snprintf(env_tickets, sizeof env_tickets, "MNI_TOPIC_TICKETS=%s.tickets", prefix);
    snprintf(env_dlq, sizeof env_dlq, "MNI_TOPIC_DLQ=%s.dlq", prefix);
    snprintf(env_max, sizeof env_max, "MNI_NOTIFY_WEBHOOK_MAX_ATTEMPTS=%s", max_attempts);
    snprintf(env_timeout, sizeof env_timeout, "MNI_NOTIFY_WEBHOOK_TIMEOUT_MS=%s", timeout_ms);
    const char *env[] = {env_url,
                         env_tasks,
                         env_tickets,
                         env_dlq,
                         env_max,
                         env_timeout,
                         "MNI_NOTIFY_WEBHOOK_SECRET=" SECRET,
                         "MNI_NOTIFY_WEBHOOK_AUTH_TOKEN=" TOKEN,
                         "MNI_NOTIFY_WEBHOOK_BACKOFF_MS=100",
                         "MNI_NOTIFY_WEBHOOK_BACKOFF_MAX_MS=400",
                         "MNI_NOTIFY_CLOCK=2026-06-10T12:00:00+09:00",
                         "MNI_TICK_MS=50",
                         NULL};
    char group[64];
    snprintf(group, sizeof group, "mni-notify-%s", prefix);
    assert_int_equal(workerproc_start(w, "mni-notify", db->conninfo, mockkafka_bootstraps(kafka),
                                      group, env, NULL),
                     0);
    int settled = 0;
    for (int i = 0; i < 6000 && !settled; i++) { /* up to 120 s */
        char *n = sqlcheck_text(db->conn,
                                "SELECT count(*) FROM tickets WHERE webhook_state IN "
                                "('delivered', 'failed')",
                                NULL);
        settled = atoi(n) == TICKETS;
        free(n);
        if (!settled) nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    workerproc_signal(w, SIGTERM);
    int rc = workerproc_wait(w, 60000);
    if (!settled || rc != 0) {
        workerproc_dump_log(w);
        fail_msg("tickets not settled (%d) or mni-notify exited %d", settled, rc);
    }
    /* No credential of the webhook reaches the log. */
    if (workerproc_log_count(w, SECRET) || workerproc_log_count(w, TOKEN) ||
        workerproc_log_count(w, "hook-user:hook-pass")) {
        workerproc_dump_log(w);
        fail_msg("the worker logged a webhook credential");
    }
}

static void verify_signature(const httprecv_request *q)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)q->body, strlen(q->body),
         mac, &len);
    char want[7 + 65] = "sha256=";
    for (unsigned i = 0; i < len; i++)
        snprintf(want + 7 + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(q->signature, want);
}

static void test_retried_then_delivered(void **state)
{
    testenv_db *db = *state;
    seed_case(db->conn);
    char err[256];
    static const int script[] = {503, 503, 200};
    httprecv *recv = httprecv_start(script, 3, err, sizeof err);
    if (!recv) fail_msg("%s", err);
    char url[128];
    snprintf(url, sizeof url, "http://hook-user:hook-pass@127.0.0.1:%d/tickets",
             httprecv_port(recv));
    workerproc w;
    run_until_settled(db, "wh1", url, "5", "5000", &w);
    unlink(w.log_path);

    sqlcheck_equal(db->conn,
                   "SELECT count(*) FILTER (WHERE webhook_state = 'delivered' AND "
                   "webhook_attempts = 3 AND webhook_done_at IS NOT NULL AND webhook_next_at IS "
                   "NULL) FROM tickets",
                   NULL, "3");
    /* One row per attempt: 503 retry, 503 retry, 200 delivered, for every ticket. */
    sqlcheck_equal(db->conn,
                   "SELECT string_agg(DISTINCT x, ' ') FROM (SELECT string_agg(attempt || ':' || "
                   "coalesce(http_status::text, '-') || ':' || outcome || ':' || (next_at IS NOT "
                   "NULL) || ':' || (latency_ms >= 0), ',' ORDER BY attempt) AS x FROM "
                   "ticket_webhook_attempts GROUP BY ticket_id) t",
                   NULL, "1:503:retry:true:true,2:503:retry:true:true,3:200:delivered:false:true");
    sqlcheck_equal(db->conn,
                   "SELECT count(*) FROM audit_log WHERE action = 'ticket_webhook_delivered' AND "
                   "(payload->>'attempts')::int = 3 AND (payload->>'http_status')::int = 200",
                   NULL, "3");
    sqlcheck_equal(db->conn, "SELECT (audit_log_verify() IS NULL)::text", NULL, "true");

    /* What the receiver saw. */
    httprecv_request *q;
    size_t n = httprecv_requests(recv, &q);
    assert_int_equal(n, 3 * TICKETS);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(q[i].method, "POST");
        assert_string_equal(q[i].path, "/tickets");
        assert_string_equal(q[i].content_type, "application/json");
        assert_string_equal(q[i].authorization, "Bearer " TOKEN);
        verify_signature(&q[i]);
        json_error_t jerr;
        json_t *body = json_loads(q[i].body, 0, &jerr);
        assert_non_null(body);
        assert_string_equal(jstr(body, "ticket_id"), q[i].key);
        assert_string_equal(jstr(body, "incident_id"), "INC-WH");
        json_decref(body);
        /* The attempts of this key before this one: same body, numbered in order, and the
         * wait since the previous one at least half the backoff of that attempt. */
        int before = 0;
        long long last_at = -1;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(q[j].key, q[i].key)) {
                before++;
                assert_string_equal(q[j].body, q[i].body);
                last_at = q[j].at_ms;
            }
        assert_int_equal(atoi(q[i].attempt), before + 1);
        assert_int_equal(q[i].status, script[before]);
        if (before > 0) {
            long long min_wait = (100LL << (before - 1)) / 2;
            if (q[i].at_ms - last_at < min_wait)
                fail_msg("attempt %d of %s came %lld ms after the previous one (< %lld)",
                         before + 1, q[i].key, q[i].at_ms - last_at, min_wait);
        }
    }
    httprecv_requests_free(q, n);
    httprecv_stop(recv);
}

/* The tickets' final state and attempts, e.g. "failed:3" for all three. */
static void expect_all(PGconn *pg, const char *state_attempts)
{
    char want[64];
    snprintf(want, sizeof want, "%s", state_attempts);
    sqlcheck_equal(pg,
                   "SELECT string_agg(DISTINCT webhook_state || ':' || webhook_attempts, ' ') "
                   "FROM tickets",
                   NULL, want);
}

static void test_keeps_failing(void **state)
{
    testenv_db *db = *state;
    seed_case(db->conn);
    char err[256];
    static const int script[] = {500};
    httprecv *recv = httprecv_start(script, 1, err, sizeof err);
    if (!recv) fail_msg("%s", err);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", httprecv_port(recv));
    workerproc w;
    run_until_settled(db, "wh2", url, "3", "5000", &w);
    unlink(w.log_path);
    expect_all(db->conn, "failed:3");
    assert_int_equal(httprecv_count(recv), 3 * TICKETS);
    sqlcheck_equal(db->conn,
                   "SELECT string_agg(DISTINCT outcome || ':' || error, ' | ') FROM "
                   "ticket_webhook_attempts WHERE attempt = 3",
                   NULL, "failed:HTTP 500; given up after 3 attempts");
    sqlcheck_equal(db->conn,
                   "SELECT count(*) FROM audit_log WHERE action = 'ticket_webhook_failed'", NULL,
                   "3");
    httprecv_stop(recv);

    /* What an operator sees: mni case and the case page. */
    const char *argv[] = {"mni", "case", "--conninfo", db->conninfo, "INC-WH", NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    assert_int_equal(r.status, 0);
    char *tickets = strstr(r.out, "== Tickets");
    assert_non_null(tickets);
    int failed_lines = 0;
    for (char *p = strstr(tickets, "failed"); p; p = strstr(p + 1, "failed"))
        failed_lines++;
    assert_int_equal(failed_lines, TICKETS);
    assert_non_null(strstr(tickets, "HTTP 500: HTTP 500; given up after 3 attempts"));
    runcmd_free(&r);
    const char *html[] = {"mni", "report", "--conninfo", db->conninfo, "--html", "INC-WH", NULL};
    assert_int_equal(runcmd(html, NULL, &r), 0);
    assert_int_equal(r.status, 0);
    int marks = 0;
    for (char *p = strstr(r.out, "<tr class=\"failed\""); p;
         p = strstr(p + 1, "<tr class=\"failed\""))
        marks++;
    assert_int_equal(marks, TICKETS);
    assert_non_null(strstr(r.out, "送信失敗 FAILED"));
    runcmd_free(&r);
}

static void test_refused_at_once(void **state)
{
    testenv_db *db = *state;
    seed_case(db->conn);
    char err[256];
    static const int script[] = {400};
    httprecv *recv = httprecv_start(script, 1, err, sizeof err);
    if (!recv) fail_msg("%s", err);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", httprecv_port(recv));
    workerproc w;
    run_until_settled(db, "wh3", url, "5", "5000", &w);
    unlink(w.log_path);
    expect_all(db->conn, "failed:1");
    assert_int_equal(httprecv_count(recv), TICKETS);
    sqlcheck_equal(db->conn,
                   "SELECT string_agg(DISTINCT error, ' | ') FROM ticket_webhook_attempts", NULL,
                   "HTTP 400; refused, not retried");
    httprecv_stop(recv);
}

static void test_no_answer(void **state)
{
    testenv_db *db = *state;
    seed_case(db->conn);
    /* Nothing listens on a port that was free a moment ago: connection refused. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", httpget_free_port());
    workerproc w;
    run_until_settled(db, "wh4", url, "2", "5000", &w);
    unlink(w.log_path);
    expect_all(db->conn, "failed:2");
    sqlcheck_equal(db->conn,
                   "SELECT count(*) FROM ticket_webhook_attempts WHERE http_status IS NULL AND "
                   "error LIKE 'Couldn''t connect to server%'",
                   NULL, "6");

    /* A receiver that holds the request past the timeout. */
    char err[256];
    static const int script[] = {HTTPRECV_HANG};
    httprecv *recv = httprecv_start(script, 1, err, sizeof err);
    if (!recv) fail_msg("%s", err);
    testenv_db db2 = {0};
    testenv_db_create(&db2, 1);
    seed_case(db2.conn);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", httprecv_port(recv));
    run_until_settled(&db2, "wh5", url, "1", "300", &w);
    unlink(w.log_path);
    expect_all(db2.conn, "failed:1");
    /* Each request waited for the timeout (not refused at once) and gave up long before the
     * receiver's answer would have come (2 s). */
    char *timed_out = sqlcheck_text(db2.conn,
                                    "SELECT count(*) FROM ticket_webhook_attempts WHERE "
                                    "http_status IS NULL AND error LIKE 'Timeout was reached%' "
                                    "AND latency_ms BETWEEN 250 AND 1900",
                                    NULL);
    if (strcmp(timed_out, "3") != 0) {
        char *rows = sqlcheck_text(db2.conn,
                                   "SELECT string_agg(coalesce(http_status::text, '-') || ' ' || "
                                   "latency_ms || ' ms ' || error, ' | ') FROM "
                                   "ticket_webhook_attempts",
                                   NULL);
        fail_msg("%s of 3 attempts timed out as expected: %s", timed_out, rows);
    }
    free(timed_out);
    testenv_db_drop(&db2);
    httprecv_stop(recv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retried_then_delivered, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_keeps_failing, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_refused_at_once, db_setup, db_teardown),
        cmocka_unit_test_setup_teardown(test_no_answer, db_setup, db_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
