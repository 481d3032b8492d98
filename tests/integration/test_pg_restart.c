/*
 * test_pg_restart: PostgreSQL restarted while the workers are idle (issue 8 item 4). Before,
 * the timed work (notify's sweeper and outbox relay; ingest has none) kept failing on the dead
 * connection until new input arrived, and /healthz said 200 meanwhile.
 *
 * mni-notify (sweeper + relay every tick), mni-ingest (a connection check every idle tick) and
 * mni-assess (a connection check, and its outbox relay on a thread and connection of its own)
 * run idle against a migrated database and an in-process mock cluster, with tick.ms 200 and
 * their metrics ports. All answer 200 on /healthz; the test environment's PostgreSQL is stopped
 * (`scripts/mni-env pg-stop`: a fast shutdown, which ends their sessions) and each must answer
 * 503 "database unreachable", count failed ticks and show mni_database_up 0; it is started again
 * (`scripts/mni-env pg-start`) and each must answer 200 again, which needs a tick that succeeded
 * after the restart (a failed tick answers "failing: timed work"; mni-assess's tick also reports
 * its relay's last pass, so its relay must have reconnected and relayed again), log that they
 * reconnected, and hold a session in the database again (the relay its own). Nothing waits a fixed
 * time: each step waits for its condition.
 *
 * A second case starts mni-ingest while PostgreSQL is stopped: it must wait (log "cannot
 * connect to PostgreSQL; retrying", never "cannot start") and answer 200 once it is back.
 *
 * A third has a member leave the group while PostgreSQL is stopped: the other's rebalance must
 * wait for the database (load_offsets tried again and again), not fail the consumer.
 *
 * It stops the shared test cluster for a few seconds: the test runner runs test programs one
 * after another, so no other test is affected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/pg/pgx.h"
#include "tests/support/httpget.h"
#include "tests/support/mockkafka.h"
#include "tests/support/promtext.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/workerproc.h"

#define WAIT_MS 60000

/* Runs scripts/mni-env with one command (the repository is the working directory, as under
 * scripts/run-tests.sh). */
static void mni_env(const char *command)
{
    char cmd[256];
    if (!getenv("MNI_ENV_DIR"))
        fail_msg("MNI_ENV_DIR is not set: run under scripts/run-tests.sh, or source the env file "
                 "of scripts/mni-env up");
    snprintf(cmd, sizeof cmd, "scripts/mni-env %s >/dev/null", command);
    int rc = system(cmd);
    if (rc != 0) fail_msg("%s: exit status %d", cmd, rc);
}

static void wait_health(const char *who, int port, int status, const char *body_prefix)
{
    char *body = NULL;
    int got = -1;
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(50 * 1000)) {
        free(body);
        got = httpget(port, "/healthz", &body);
        if (got == status && body && !strncmp(body, body_prefix, strlen(body_prefix))) {
            free(body);
            return;
        }
    }
    fail_msg("%s /healthz: wanted %d %s, last %d %s", who, status, body_prefix, got,
             body ? body : "(none)");
}

static void start(workerproc *w, const char *program, const testenv_db *db, mockkafka *mk, int port)
{
    static char port_env[2][64];
    static int slot;
    char *pe = port_env[slot++ % 2];
    snprintf(pe, 64, "MNI_METRICS_PORT=%d", port);
    const char *env[] = {pe, "MNI_TICK_MS=200", NULL};
    assert_int_equal(
        workerproc_start(w, program, db->conninfo, mockkafka_bootstraps(mk), NULL, env, NULL), 0);
}

static void idle_workers_reconnect(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    static const mockkafka_topic topics[] = {{"notify.tasks", 2},      {"incident.events", 2},
                                             {"incident.accepted", 2}, {"incident.dlq", 1},
                                             {"tickets", 1},           {"case.assessments", 1}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    if (!mk) fail_msg("%s", err);

    struct {
        const char *program, *component;
        int port;
        workerproc w;
    } workers[] = {{"mni-notify", "notify", 0, {0}},
                   {"mni-ingest", "ingest", 0, {0}},
                   {"mni-assess", "assess", 0, {0}}};
    enum { N = sizeof workers / sizeof workers[0] };
    for (int i = 0; i < N; i++) { /* free ports, none twice (none is bound until the start) */
        workers[i].port = httpget_free_port();
        for (int k = 0; k < i; k++)
            if (workers[k].port == workers[i].port) {
                workers[i].port++;
                k = -1;
            }
    }
    for (int i = 0; i < N; i++)
        start(&workers[i].w, workers[i].program, &db, mk, workers[i].port);
    for (int i = 0; i < N; i++)
        wait_health(workers[i].program, workers[i].port, 200, "ok");

    mni_env("pg-stop");
    for (int i = 0; i < N; i++) {
        char series[128];
        wait_health(workers[i].program, workers[i].port, 503, "database unreachable");
        snprintf(series, sizeof series, "mni_ticks_failed_total{component=\"%s\"}",
                 workers[i].component);
        assert_true(promtext_scrape(workers[i].port, series) > 0);
        snprintf(series, sizeof series, "mni_database_up{component=\"%s\"}", workers[i].component);
        assert_int_equal(promtext_scrape(workers[i].port, series), 0);
    }
    mni_env("pg-start");
    for (int i = 0; i < N; i++) {
        char series[128];
        wait_health(workers[i].program, workers[i].port, 200, "ok");
        snprintf(series, sizeof series, "mni_database_up{component=\"%s\"}", workers[i].component);
        assert_int_equal(promtext_scrape(workers[i].port, series), 1);
        assert_true(workerproc_log_count(&workers[i].w, "\"msg\":\"reconnected to PostgreSQL\"") >=
                    1);
        assert_true(workerproc_log_count(&workers[i].w, "\"msg\":\"tick succeeded again\"") >= 1);
    }
    /* mni-assess is ok only once its relay's thread (lib/runtime/relayer.h) succeeded again,
     * on a connection of its own that it had to open again. */
    assert_true(
        workerproc_log_count(&workers[2].w, "\"msg\":\"relay reconnected to PostgreSQL\"") >= 1);
    /* The test's own session ended with the server too. */
    PQreset(db.conn);
    assert_int_equal(PQstatus(db.conn), CONNECTION_OK);
    sqlcheck_equal(db.conn,
                   "SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE datname = "
                   "$1 AND application_name IN ('mni-notify', 'mni-ingest', 'mni-assess', "
                   "'mni-assess-relay')",
                   db.name, "4");

    for (int i = 0; i < N; i++) {
        workerproc_signal(&workers[i].w, SIGTERM);
        int rc = workerproc_wait(&workers[i].w, WAIT_MS);
        if (rc != 0 || getenv("PG_RESTART_TEST_LOG")) workerproc_dump_log(&workers[i].w);
        assert_int_equal(rc, 0);
        unlink(workers[i].w.log_path);
    }
    mockkafka_stop(mk);
    testenv_db_drop(&db);
}

/* A worker (re)started while PostgreSQL is down (found by tests/integration/test_faults.c: a
 * worker killed and restarted during a PostgreSQL restart exited 1 with "cannot start") waits
 * for it with backoff and starts once it is back. */
static void worker_started_while_database_down(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    static const mockkafka_topic topics[] = {
        {"incident.events", 1}, {"incident.accepted", 1}, {"incident.dlq", 1}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    if (!mk) fail_msg("%s", err);
    int port = httpget_free_port();
    workerproc w;
    mni_env("pg-stop");
    start(&w, "mni-ingest", &db, mk, port);
    workerproc_wait_log(&w, "\"msg\":\"cannot connect to PostgreSQL; retrying\"", WAIT_MS);
    assert_int_equal(workerproc_log_count(&w, "\"msg\":\"cannot start\""), 0);
    mni_env("pg-start");
    wait_health("mni-ingest", port, 200, "ok");
    PQreset(db.conn);
    assert_int_equal(PQstatus(db.conn), CONNECTION_OK);
    workerproc_signal(&w, SIGTERM);
    int rc = workerproc_wait(&w, WAIT_MS);
    if (rc != 0) workerproc_dump_log(&w);
    assert_int_equal(rc, 0);
    unlink(w.log_path);
    mockkafka_stop(mk);
    testenv_db_drop(&db);
}

/* A rebalance while PostgreSQL is down (found by test_faults: a member leaving during a
 * PostgreSQL restart made the others' load_offsets give up after six tries, their consumers
 * fail for good and the workers exit 1): the remaining member waits for the database through
 * as many tries as it takes, then reads on. Two members of mni-ingest; PostgreSQL stopped; one
 * leaves (SIGTERM); the other must log its seventh try, then be healthy again once PostgreSQL
 * is started, and stop cleanly. */
static void rebalance_while_database_down(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    static const mockkafka_topic topics[] = {
        {"incident.events", 2}, {"incident.accepted", 2}, {"incident.dlq", 1}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    if (!mk) fail_msg("%s", err);
    int ports[2] = {httpget_free_port(), 0};
    ports[1] = httpget_free_port();
    if (ports[1] == ports[0]) ports[1]++;
    workerproc w[2];
    for (int i = 0; i < 2; i++)
        start(&w[i], "mni-ingest", &db, mk, ports[i]);
    for (int i = 0; i < 2; i++)
        workerproc_wait_log(&w[i], "\"msg\":\"partition assigned\"", WAIT_MS);
    mni_env("pg-stop");
    workerproc_signal(&w[1], SIGTERM);
    assert_int_equal(workerproc_wait(&w[1], WAIT_MS), 0);
    workerproc_wait_log(&w[0], "\"msg\":\"cannot load consumer offsets; retrying\",\"error\"",
                        WAIT_MS);
    workerproc_wait_log(&w[0], "\"attempt\":6,", WAIT_MS);
    mni_env("pg-start");
    wait_health("mni-ingest", ports[0], 200, "ok");
    assert_int_equal(workerproc_log_count(&w[0], "\"msg\":\"consumer failed\""), 0);
    PQreset(db.conn);
    assert_int_equal(PQstatus(db.conn), CONNECTION_OK);
    workerproc_signal(&w[0], SIGTERM);
    int rc = workerproc_wait(&w[0], WAIT_MS);
    if (rc != 0) workerproc_dump_log(&w[0]);
    assert_int_equal(rc, 0);
    for (int i = 0; i < 2; i++)
        unlink(w[i].log_path);
    mockkafka_stop(mk);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_workers_reconnect),
        cmocka_unit_test(worker_started_while_database_down),
        cmocka_unit_test(rebalance_while_database_down),
    };
    return cmocka_run_group_tests_name("pg_restart", tests, NULL, NULL);
}
