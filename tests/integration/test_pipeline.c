/*
 * The whole pipeline end to end: mni-ingest, mni-assess and mni-notify running together against
 * a real PostgreSQL and the mock Kafka cluster, fed the demo scenario plus two bad inputs (a
 * line that is not an event, and an event whose description holds a raw My Number built here
 * at run time). Checks that every stage did its part (cases, tasks, documents, tickets, dead
 * letters) and that the raw number appears nowhere: not in any PostgreSQL table, not on any
 * topic but the producers' own input topic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/kafka/kq.h"
#include "lib/pg/pgx.h"
#include "rules/mynumber.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testdata.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKERS 3
#define WORKER_TIMEOUT_MS 120000

static const char *const workers[WORKERS] = {"mni-ingest", "mni-assess", "mni-notify"};
static const mockkafka_topic topics[] = {
    {"incident.events", 3},  {"incident.accepted", 3}, {"incident.dlq", 1},
    {"case.assessments", 3}, {"notify.tasks", 3},      {"tickets", 1},
};
#define N_TOPICS (sizeof topics / sizeof topics[0])

/* A valid My Number made from eleven digits and their check digit, never written anywhere. */
static void make_number(char out[13])
{
    int d[11] = {4, 8, 1, 5, 1, 6, 2, 3, 4, 2, 7};
    for (int i = 0; i < 11; i++)
        out[i] = (char)('0' + d[i]);
    out[11] = (char)('0' + mynumber_check_digit(d));
    out[12] = '\0';
}

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/mni-pipeline-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void produce_raw(const char *bootstrap, const char *text)
{
    char err[512];
    kq_prop props[] = {{"bootstrap.servers", bootstrap}};
    kq_producer *p = kq_producer_new(props, 1, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(
        kq_produce(p, "incident.events", "junk", 4, text, strlen(text), NULL, 0, err, sizeof err),
        0);
    assert_int_equal(kq_producer_close(p, 10000, err, sizeof err), 0);
}

/* True when needle occurs in any message value of topic. */
static int topic_holds(const char *bootstrap, const char *topic, int partitions, const char *needle,
                       size_t *count)
{
    topicio_messages m;
    /* Up to the high watermark: a slow read is a failure, never an empty topic. */
    assert_int_equal(topicio_read_to_end(bootstrap, topic, partitions, 60000, &m), 0);
    int found = 0;
    for (size_t i = 0; i < m.n; i++)
        if (m.msgs[i].value && memmem(m.msgs[i].value, m.msgs[i].value_len, needle, strlen(needle)))
            found = 1;
    if (count) *count = m.n;
    topicio_messages_free(&m);
    return found;
}

static void test_pipeline_end_to_end(void **state)
{
    (void)state;
    char err[512], number[13];
    make_number(number);
    assert_true(mynumber_is_valid(number));
    mockkafka *kafka = mockkafka_start(1, topics, N_TOPICS, err, sizeof err);
    assert_non_null(kafka);
    const char *bootstrap = mockkafka_bootstraps(kafka);
    testenv_db db;
    testenv_db_create(&db, 1);

    const char *env[] = {"MNI_NOTIFY_CLOCK=2026-11-22T09:00:00+09:00", NULL};
    const char *argv[] = {"--exit-when-idle", "8000", NULL};
    workerproc w[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(
            workerproc_start(&w[i], workers[i], db.conninfo, bootstrap, NULL, env, argv), 0);

    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events",
                                           "examples/scenario/01-first-reports.jsonl"),
                     8);
    produce_raw(bootstrap, "this line is not an Avro message");
    char line[1024];
    snprintf(line, sizeof line,
             "{\"event_id\":\"EV-RAW-1\",\"incident_id\":\"INC-2026-0101\",\"tenant\":"
             "\"bpo-sakura\",\"occurred_at\":\"2026-11-19T12:00:00+09:00\",\"type\":"
             "\"facts_updated\",\"body\":{\"description\":\"番号 %s を含む報告\"}}\n",
             number);
    char *raw_path = write_temp(line);
    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events", raw_path), 1);
    unlink(raw_path);
    free(raw_path);
    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events",
                                           "examples/scenario/02-later-updates.jsonl"),
                     3);

    for (int i = 0; i < WORKERS; i++) {
        int rc = workerproc_wait(&w[i], WORKER_TIMEOUT_MS);
        if (rc != 0) {
            workerproc_dump_log(&w[i]);
            fail_msg("%s exited %d", workers[i], rc);
        }
    }
    PGconn *pg = db.conn;

    /* Ingest: 11 events stored, two refused. */
    sqlcheck_equal(pg, "SELECT count(*) FROM event_log", NULL, "11");
    size_t dead = 0;
    assert_false(topic_holds(bootstrap, "incident.dlq", 1, number, &dead));
    assert_int_equal(dead, 2);
    /* Assess: the three cases, the mailing a direct report once past 100 distinct persons. */
    sqlcheck_equal(pg,
                   "SELECT string_agg(incident_id||':'||version||':'||persons_total, ' ' ORDER BY "
                   "incident_id) FROM cases",
                   NULL, "INC-2026-0101:3:115 INC-2026-0102:2:15 INC-2026-0103:1:2400");
    /* Notify: every task rendered (the scenario's 7 plus the sweeper's reminders and
     * escalations), each with a ticket, and the tickets on their topic. */
    sqlcheck_equal(
        pg,
        "SELECT (SELECT count(*) FROM outbox WHERE topic = 'tasks') = (SELECT "
        "count(DISTINCT task_id) FROM deliveries) AND (SELECT count(*) FROM outbox_queue) + "
        "(SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL) = 0",
        NULL, "t");
    sqlcheck_equal(pg,
                   "SELECT count(*) >= 7 FROM outbox WHERE topic = 'tasks' AND kind IN "
                   "('client_notice', 'ppc_preliminary', 'ppc_final', 'principal_notice')",
                   NULL, "t");
    sqlcheck_equal(pg, "SELECT count(*) > 0 FROM outbox WHERE kind IN ('reminder', 'escalation')",
                   NULL, "t");
    char *tickets = sqlcheck_text(pg, "SELECT count(*) FROM tickets", NULL);
    size_t on_topic = 0;
    assert_false(topic_holds(bootstrap, "tickets", 1, number, &on_topic));
    assert_int_equal((size_t)atoi(tickets), on_topic);
    free(tickets);
    sqlcheck_equal(pg, "SELECT audit_log_verify() IS NULL", NULL, "t");
    /* Every case change (each applied event), document rendered and delivery (each ticket
     * published) is in the chain, and the workers, logged in as their own roles, signed it
     * with the test key (workerproc): `mni audit verify` finds it intact. */
    sqlcheck_equal(pg,
                   "SELECT (SELECT count(*) FROM case_events) = (SELECT count(*) FROM audit_log "
                   "WHERE action = 'event_applied') AND (SELECT count(*) FROM deliveries) = "
                   "(SELECT count(*) FROM audit_log WHERE action = 'document_rendered') AND "
                   "(SELECT count(*) FROM tickets WHERE status <> 'open') = (SELECT count(*) FROM "
                   "audit_log WHERE action = 'ticket_published') AND (SELECT count(*) FROM "
                   "case_events) > 0 AND (SELECT count(*) FROM audit_anchors) > 0",
                   NULL, "t");
    char key[1024];
    testdata_path("audit-test.key", key, sizeof key);
    /* And the anchors the workers published (topic audit.anchors, through the outbox) agree. */
    const char *verify[] = {"mni",       "audit",      "verify", "--conninfo",
                            db.conninfo, "--key-file", key,      NULL};
    setenv("MNI_KAFKA_BOOTSTRAP", bootstrap, 1);
    runcmd_result vr;
    assert_int_equal(runcmd(verify, NULL, &vr), 0);
    if (vr.status != 0 || !strstr(vr.out, "intact") ||
        !strstr(vr.out, " anchors published on audit.anchors agree") ||
        strstr(vr.out, "; 0 anchors published"))
        fail_msg("mni audit verify after the pipeline: exit %d: %s%s", vr.status, vr.out, vr.err);
    runcmd_free(&vr);
    /* The documents carry what ingest stored: the report draft names the incident by its title. */
    sqlcheck_equal(pg,
                   "SELECT count(*) > 0 FROM deliveries WHERE incident_id = 'INC-2026-0101' AND "
                   "channel = 'ppc_draft' AND format = 'text' AND document LIKE '%'||$1||'%'",
                   "源泉徴収票の誤送付", "t");

    /* The raw number is nowhere downstream. */
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM (SELECT event_log_event(body, tokens)::text t FROM "
                   "event_log UNION ALL SELECT "
                   "facts::text FROM cases UNION ALL SELECT verdict::text FROM case_versions UNION "
                   "ALL SELECT payload::text FROM outbox UNION ALL SELECT document FROM deliveries "
                   "UNION ALL SELECT title||body::text FROM tickets UNION ALL SELECT payload::text "
                   "FROM audit_log) s WHERE t LIKE '%'||$1||'%'",
                   number, "0");
    assert_false(topic_holds(bootstrap, "incident.accepted", 3, number, NULL));
    assert_false(topic_holds(bootstrap, "case.assessments", 3, number, NULL));
    assert_false(topic_holds(bootstrap, "notify.tasks", 3, number, NULL));
    /* ... while it did reach the input topic, so the searches above can find what they seek. */
    assert_true(topic_holds(bootstrap, "incident.events", 3, number, NULL));

    for (int i = 0; i < WORKERS; i++)
        unlink(w[i].log_path);
    testenv_db_drop(&db);
    mockkafka_stop(kafka);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_end_to_end),
    };
    return cmocka_run_group_tests_name("pipeline end to end", tests, NULL, NULL);
}
