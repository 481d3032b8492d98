/*
 * test_snapshot: a task's documents are the same whenever notify gets to the task (issue 8
 * item 11). They are rendered from the case version the task names, not from the case as it
 * is when notify reads it.
 *
 * The demo scenario through the real mni-assess and mni-notify, twice, each on a database
 * and topics of its own:
 *   early  the first reports only (examples/scenario/01), assessed, then rendered;
 *   late   the same reports and the later updates (02: a second manifest of C-BETA, a
 *          response step, a client notice filed), all assessed before notify starts: a notify
 *          that lagged behind assess.
 * Every task of the early run is rendered in the late run too, from a database where those
 * updates changed the counts, steps and filings the documents show: each of its documents
 * (JSON and Markdown) must be byte for byte the same, and say which version it shows.
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
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define SCENARIO_1 "examples/scenario/01-first-reports.jsonl"
#define SCENARIO_2 "examples/scenario/02-later-updates.jsonl"
#define WORKER_TIMEOUT_MS 90000

static mockkafka *kafka;

/* The topics of one run. */
typedef struct {
    const char *accepted, *assessments, *tasks, *tickets, *dlq;
} run_topics;

static const run_topics EARLY = {"early.accepted", "early.assessments", "early.tasks",
                                 "early.tickets", "early.dlq"};
static const run_topics LATE = {"late.accepted", "late.assessments", "late.tasks", "late.tickets",
                                "late.dlq"};

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"early.accepted", 3},   {"early.assessments", 3}, {"early.tasks", 3},
        {"early.tickets", 3},    {"early.dlq", 1},         {"late.accepted", 3},
        {"late.assessments", 3}, {"late.tasks", 3},        {"late.tickets", 3},
        {"late.dlq", 1},
    };
    if (mockkafka_setup(&kafka, topics, sizeof topics / sizeof topics[0]) != 0) return -1;
    const char *b = mockkafka_bootstraps(kafka);
    return topicio_produce_jsonl(b, EARLY.accepted, SCENARIO_1) == 8 &&
                   topicio_produce_jsonl(b, LATE.accepted, SCENARIO_1) == 8 &&
                   topicio_produce_jsonl(b, LATE.accepted, SCENARIO_2) == 3
               ? 0
               : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

/* Runs one worker until it is idle, with the run's topics; clock: notify.clock, so that the
 * sweeper queues no reminder (its "as of" would differ between the runs). */
static void run_worker(testenv_db *db, const char *program, const run_topics *t, const char *group)
{
    char conf[128], env_conf[160], accepted[96], assessments[96], tasks[96], tickets[96], dlq[96];
    snprintf(conf, sizeof conf, "/tmp/mni-test-snapshot-%d-%s.conf", (int)getpid(), group);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "# written by test_snapshot\nnotify.clock = 2026-01-01T00:00:00Z\n");
    assert_int_equal(fclose(f), 0);
    snprintf(env_conf, sizeof env_conf, "MNI_CONFIG=%s", conf);
    snprintf(accepted, sizeof accepted, "MNI_TOPIC_ACCEPTED=%s", t->accepted);
    snprintf(assessments, sizeof assessments, "MNI_TOPIC_ASSESSMENTS=%s", t->assessments);
    snprintf(tasks, sizeof tasks, "MNI_TOPIC_TASKS=%s", t->tasks);
    snprintf(tickets, sizeof tickets, "MNI_TOPIC_TICKETS=%s", t->tickets);
    snprintf(dlq, sizeof dlq, "MNI_TOPIC_DLQ=%s", t->dlq);
    int notify = !strcmp(program, "mni-notify");
    const char *env[] = {
        accepted, assessments, tasks, tickets, dlq, "MNI_TICK_MS=200", notify ? env_conf : NULL,
        NULL};
    const char *argv[] = {"--exit-when-idle", "3000", NULL};
    workerproc w;
    assert_int_equal(
        workerproc_start(&w, program, db->conninfo, mockkafka_bootstraps(kafka), group, env, argv),
        0);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("%s exited %d", program, rc);
    }
    unlink(w.log_path);
    unlink(conf);
}

/* Every document of the tasks named in task_ids (a text[] literal; NULL: all), one line each:
 * task, channel, format, digest. */
static char *documents(PGconn *pg, const char *task_ids)
{
#define DOCUMENT_LINES                                                                             \
    "SELECT string_agg(task_id||' '||channel||' '||format||' '||encode(document_sha256, 'hex'), "  \
    "E'\\n' ORDER BY task_id, channel, format) FROM deliveries"
    return task_ids
               ? sqlcheck_text(pg, DOCUMENT_LINES " WHERE task_id = ANY ($1::text[])", task_ids)
               : sqlcheck_text(pg, DOCUMENT_LINES, NULL);
#undef DOCUMENT_LINES
}

static void test_documents_reproduce_from_the_version(void **state)
{
    (void)state;
    testenv_db early, late;
    testenv_db_create(&early, 1);
    testenv_db_create(&late, 1);

    run_worker(&early, "mni-assess", &EARLY, "snap-early-assess");
    sqlcheck_equal(early.conn, "SELECT count(*) FROM case_events", NULL, "8");
    run_worker(&early, "mni-notify", &EARLY, "snap-early-notify");

    run_worker(&late, "mni-assess", &LATE, "snap-late-assess");
    sqlcheck_equal(late.conn, "SELECT count(*) FROM case_events", NULL, "11");
    run_worker(&late, "mni-notify", &LATE, "snap-late-notify");

    /* The updates changed what the documents show, in the late database only: a step, a
     * filing, C-BETA's count. */
    const char *changed = "SELECT (SELECT count(*) FROM case_steps)||' '||(SELECT count(*) FROM "
                          "case_filings)||' '||(SELECT token_count FROM client_exposure WHERE "
                          "incident_id = 'INC-2026-0101' AND client_id = 'C-BETA')";
    char *before = sqlcheck_text(early.conn, changed, NULL);
    char *after = sqlcheck_text(late.conn, changed, NULL);
    assert_non_null(before);
    assert_non_null(after);
    assert_true(!strncmp(before, "0 0 ", 4));
    assert_true(!strncmp(after, "1 1 ", 4));
    assert_true(atoll(after + 4) > atoll(before + 4));
    free(before);
    free(after);

    char *tasks = sqlcheck_text(
        early.conn, "SELECT '{'||string_agg(DISTINCT task_id, ',')||'}' FROM deliveries", NULL);
    assert_non_null(tasks);
    assert_true(strlen(tasks) > 2);
    char *want = documents(early.conn, NULL);
    char *got = documents(late.conn, tasks);
    assert_non_null(want);
    assert_non_null(got);
    if (strcmp(want, got) != 0)
        fail_msg("documents differ between the early and the late run:\nearly:\n%s\nlate:\n%s",
                 want, got);
    /* The late run rendered more (the tasks of the updates' version), so the equality above is
     * not that of two empty sets. */
    char *all_late = documents(late.conn, NULL);
    assert_true(strlen(all_late) > strlen(got));

    /* The texts come with the version too (the opening event's title). */
    sqlcheck_equal(late.conn,
                   "SELECT count(*) > 0 FROM deliveries WHERE format = 'text' AND incident_id = "
                   "'INC-2026-0101' AND document LIKE '%源泉徴収票の誤送付%'",
                   NULL, "t");

    /* Each document says which version it shows. */
    sqlcheck_equal(late.conn,
                   "SELECT count(*) FROM deliveries d JOIN outbox o ON o.task_id = d.task_id "
                   "AND o.topic = 'tasks' WHERE (d.format = 'text' AND d.document NOT LIKE "
                   "'%Rendered from case version '||(o.payload->>'case_version')||':%') "
                   "OR (d.format = 'json' AND (d.document::jsonb->'rendered_from'->>"
                   "'case_version') IS DISTINCT FROM o.payload->>'case_version')",
                   NULL, "0");

    free(tasks);
    free(want);
    free(got);
    free(all_late);
    testenv_db_drop(&early);
    testenv_db_drop(&late);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documents_reproduce_from_the_version),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
