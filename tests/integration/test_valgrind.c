/*
 * test_valgrind: the three workers (mni-ingest, mni-assess, mni-notify) of the release build
 * (bin/, or $MNI_REL_BIN) under valgrind memcheck on the demo scenario (examples/scenario, with a
 * message that is not an event, so the dead-letter path runs too), against a real PostgreSQL
 * and the mock Kafka cluster (issue 8, "Bad input"): no invalid access, no use of uninitialised
 * memory, no definite leak. Each worker exits by itself when idle; memcheck's errors and
 * definite leaks give it a nonzero exit (WORKERPROC_VALGRIND_EXIT), and its report is read too.
 *
 * The release build, because the sanitizers of the test build and valgrind do not mix; make test
 * builds it before running the tests. The scenario's end state is checked as in test_pipeline,
 * so that a worker that did nothing under valgrind cannot pass.
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
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKERS 3
/* Memcheck runs a program some 20-50 times slower: generous, and a bound all the same. */
#define WORKER_TIMEOUT_MS 170000

static const char *const workers[WORKERS] = {"mni-ingest", "mni-assess", "mni-notify"};
static const mockkafka_topic topics[] = {
    {"incident.events", 1},  {"incident.accepted", 1}, {"incident.dlq", 1},
    {"case.assessments", 1}, {"notify.tasks", 1},      {"tickets", 1},
};
#define N_TOPICS (sizeof topics / sizeof topics[0])

static const char *release_bin(void)
{
    const char *dir = getenv("MNI_REL_BIN");
    return dir && *dir ? dir : "bin";
}

static void produce_junk(const char *bootstrap)
{
    char err[512];
    static const char junk[] = "this line is not an Avro message";
    kq_prop props[] = {{"bootstrap.servers", bootstrap}};
    kq_producer *p = kq_producer_new(props, 1, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(kq_produce(p, "incident.events", "junk", 4, junk, sizeof junk - 1, NULL, 0,
                                err, sizeof err),
                     0);
    assert_int_equal(kq_producer_close(p, 10000, err, sizeof err), 0);
}

static void test_workers_under_memcheck(void **state)
{
    (void)state;
    char path[1024], err[512];
    if (access("/usr/bin/valgrind", X_OK) != 0)
        fail_msg("valgrind is not installed (scripts/install-deps.sh --test)");
    for (int i = 0; i < WORKERS; i++) {
        snprintf(path, sizeof path, "%s/%s", release_bin(), workers[i]);
        if (access(path, X_OK) != 0) fail_msg("%s: no release build (make)", path);
    }
    mockkafka *kafka = mockkafka_start(1, topics, N_TOPICS, err, sizeof err);
    assert_non_null(kafka);
    const char *bootstrap = mockkafka_bootstraps(kafka);
    testenv_db db;
    testenv_db_create(&db, 1);

    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events",
                                           "examples/scenario/01-first-reports.jsonl"),
                     8);
    produce_junk(bootstrap);
    assert_int_equal(topicio_produce_jsonl(bootstrap, "incident.events",
                                           "examples/scenario/02-later-updates.jsonl"),
                     3);

    const char *env[] = {"MNI_NOTIFY_CLOCK=2026-11-22T09:00:00+09:00", NULL};
    const char *argv[] = {"--exit-when-idle", "10000", NULL};
    workerproc w[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(workerproc_start_valgrind(&w[i], release_bin(), workers[i], db.conninfo,
                                                   bootstrap, NULL, env, argv),
                         0);
    int failed = 0;
    for (int i = 0; i < WORKERS; i++) {
        int rc = workerproc_wait(&w[i], WORKER_TIMEOUT_MS);
        char why[4096];
        int clean = workerproc_valgrind_check(&w[i], why, sizeof why);
        if (rc != 0 || clean != 0) {
            workerproc_dump_log(&w[i]);
            FILE *f = fopen(w[i].valgrind_log, "r");
            char line[4096];
            while (f && fgets(line, sizeof line, f))
                fputs(line, stderr);
            if (f) fclose(f);
            print_error("%s: exit %d%s; memcheck: %s\n", workers[i], rc,
                        rc == WORKERPROC_VALGRIND_EXIT ? " (memcheck found errors)" : "", why);
            failed++;
        }
    }
    assert_int_equal(failed, 0);

    /* The scenario went through all three: the same end state as test_pipeline. */
    sqlcheck_equal(db.conn, "SELECT count(*) FROM event_log", NULL, "11");
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(incident_id||':'||version||':'||persons_total, ' ' ORDER BY "
                   "incident_id) FROM cases",
                   NULL, "INC-2026-0101:3:115 INC-2026-0102:2:15 INC-2026-0103:1:2400");
    sqlcheck_equal(db.conn,
                   "SELECT (SELECT count(*) FROM outbox WHERE topic = 'tasks') = (SELECT "
                   "count(DISTINCT task_id) FROM deliveries) AND (SELECT count(*) FROM "
                   "outbox_queue) + (SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL) = 0",
                   NULL, "t");
    topicio_messages dlq;
    assert_int_equal(topicio_read_to_end(bootstrap, "incident.dlq", 1, 60000, &dlq), 0);
    assert_int_equal(dlq.n, 1);
    topicio_messages_free(&dlq);

    for (int i = 0; i < WORKERS; i++) {
        unlink(w[i].log_path);
        unlink(w[i].valgrind_log);
    }
    testenv_db_drop(&db);
    mockkafka_stop(kafka);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_workers_under_memcheck),
    };
    return cmocka_run_group_tests_name("workers under valgrind", tests, NULL, NULL);
}
