/*
 * test_secrets_in_logs: passwords and other secrets given in the configuration never appear in
 * any worker's output (issue 8, Security: "a test greps every log line").
 *
 * Secrets, made at run time (so no fixed string can pass by luck): the PostgreSQL password in
 * pg.conninfo (keyword form and URI form), kafka.sasl.password (from the environment),
 * kafka.sasl.oauthbearer.config and kafka.ssl.key.password (from the configuration file), and
 * notify.webhook.secret (notify only). For each of mni-ingest, mni-assess and mni-notify:
 *
 *   print_config_masks       --print-config names every secret key, shows `****`, and holds
 *                            no secret;
 *   run_logs_no_secret       a run at log.level debug over the demo scenario (the workers do
 *                            real work: events stored, cases assessed, tasks rendered): every
 *                            line of its log is searched for every secret;
 *   failing_database_logs_no_secret  a run whose PostgreSQL cannot be reached (its connection
 *                            errors are logged, with the conninfo's password in it), stopped
 *                            with SIGTERM once it has logged the failure: every line searched.
 *
 *   kafka_tls_sasl_pass_through  kafka.security.protocol, kafka.ssl.ca.location and
 *                            kafka.sasl.mechanisms (from the environment) reach librdkafka: a
 *                            CA file that does not exist and a SASL mechanism librdkafka does not
 *                            have stop the worker at start with librdkafka's own error naming
 *                            them; the SASL password given with them is not in the log either.
 *
 * The searches can fail: each run's log is checked to hold what it should (lines, the
 * failure), and the secrets are checked to be in the inputs the workers got.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKERS 3
#define N_SECRETS 5

static const char *const workers[WORKERS] = {"mni-ingest", "mni-assess", "mni-notify"};
static const mockkafka_topic topics[] = {
    {"incident.events", 1},  {"incident.accepted", 1}, {"incident.dlq", 1},
    {"case.assessments", 1}, {"notify.tasks", 1},      {"tickets", 1},
};

static char secrets[N_SECRETS][48]; /* pg, sasl, oauthbearer, ssl key, webhook */
static char config_path[64];
static char env_conninfo[2300], env_sasl[128], env_webhook[128];
static mockkafka *mk;
static testenv_db db;

/* Every line of path; fails naming the first line that holds a secret. Returns the lines. */
static int grep_secrets(const char *what, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("%s: no output at %s", what, path);
    char line[16384];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        for (int s = 0; s < N_SECRETS; s++)
            if (strstr(line, secrets[s])) {
                fclose(f);
                fail_msg("%s: line %d holds secret %d: %s", what, lines, s, line);
            }
    }
    fclose(f);
    return lines;
}

/* The environment of a worker: the conninfo (with its password), the SASL password, the file. */
static void worker_env(const char **env, const char *conninfo_setting)
{
    size_t n = 0;
    env[n++] = conninfo_setting;
    env[n++] = env_sasl;
    env[n++] = env_webhook;
    env[n++] = "MNI_LOG_LEVEL=debug";
    env[n++] = "MNI_NOTIFY_CLOCK=2026-11-22T09:00:00+09:00";
    env[n] = NULL;
}

static void print_config_masks(void **state)
{
    (void)state;
    const char *env[8];
    worker_env(env, env_conninfo);
    for (int i = 0; i < WORKERS; i++) {
        const char *args[] = {"--config", config_path, "--print-config", NULL};
        workerproc w;
        assert_int_equal(
            workerproc_start(&w, workers[i], "", mockkafka_bootstraps(mk), NULL, env, args), 0);
        int rc = workerproc_wait(&w, 60000);
        if (rc != 0) workerproc_dump_log(&w);
        assert_int_equal(rc, 0);
        assert_true(grep_secrets(workers[i], w.log_path) > 5);
        /* Every secret key is there, masked (so the grep above looked at them). */
        static const char *const keys[] = {"pg.conninfo", "kafka.sasl.password",
                                           "kafka.sasl.oauthbearer.config",
                                           "kafka.ssl.key.password"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (workerproc_log_count(&w, keys[k]) < 1) {
                workerproc_dump_log(&w);
                fail_msg("%s --print-config: no %s", workers[i], keys[k]);
            }
        assert_true(workerproc_log_count(&w, "****") >= 4);
        unlink(w.log_path);
    }
}

static void run_logs_no_secret(void **state)
{
    (void)state;
    const char *b = mockkafka_bootstraps(mk);
    assert_int_equal(
        topicio_produce_jsonl(b, "incident.events", "examples/scenario/01-first-reports.jsonl"), 8);
    const char *env[8];
    worker_env(env, env_conninfo);
    const char *argv[] = {"--config", config_path, "--exit-when-idle", "6000", NULL};
    workerproc w[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(workerproc_start(&w[i], workers[i], "", b, NULL, env, argv), 0);
    for (int i = 0; i < WORKERS; i++) {
        int rc = workerproc_wait(&w[i], 120000);
        if (rc != 0) {
            workerproc_dump_log(&w[i]);
            fail_msg("%s exited %d", workers[i], rc);
        }
    }
    for (int i = 0; i < WORKERS; i++) {
        int lines = grep_secrets(workers[i], w[i].log_path);
        if (lines < 3) {
            workerproc_dump_log(&w[i]);
            fail_msg("%s logged only %d lines at debug level", workers[i], lines);
        }
        unlink(w[i].log_path);
    }
    /* They did work while logging: the events were stored and assessed. */
    PGresult *r = PQexec(db.conn, "SELECT (SELECT count(*) FROM event_log), "
                                  "(SELECT count(*) FROM cases)");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), 8);
    assert_true(atoi(PQgetvalue(r, 0, 1)) >= 1);
    PQclear(r);
}

static void failing_database_logs_no_secret(void **state)
{
    (void)state;
    /* Port 1 on the loopback: nothing listens, the connection is refused at once. Both forms. */
    char keyword[256], uri[256];
    snprintf(keyword, sizeof keyword,
             "MNI_PG_CONNINFO=host=127.0.0.1 port=1 dbname=mni user=mni password=%s "
             "connect_timeout=2",
             secrets[0]);
    snprintf(uri, sizeof uri, "MNI_PG_CONNINFO=postgresql://mni:%s@127.0.0.1:1/mni", secrets[0]);
    const char *const settings[] = {keyword, uri};
    for (int form = 0; form < 2; form++)
        for (int i = 0; i < WORKERS; i++) {
            const char *env[8];
            worker_env(env, settings[form]);
            const char *argv[] = {"--config", config_path, NULL};
            workerproc w;
            assert_int_equal(
                workerproc_start(&w, workers[i], "", mockkafka_bootstraps(mk), NULL, env, argv), 0);
            /* Wait for the failure to be logged (a condition, not a time), then stop it. */
            int logged = 0;
            for (int waited = 0; waited < 60000 && !logged; waited += 50) {
                logged = workerproc_log_count(&w, "127.0.0.1") > 0 ||
                         workerproc_log_count(&w, "onnection refused") > 0;
                if (!logged) {
                    struct timespec step = {0, 50 * 1000 * 1000};
                    nanosleep(&step, NULL);
                }
            }
            workerproc_signal(&w, SIGTERM);
            int rc = workerproc_wait(&w, 30000);
            if (!logged) {
                workerproc_dump_log(&w);
                fail_msg("%s (form %d): no connection failure logged (exit %d)", workers[i], form,
                         rc);
            }
            grep_secrets(workers[i], w.log_path);
            unlink(w.log_path);
        }
}

/* Runs a worker with the extra settings until it exits by itself; returns its exit code and
 * leaves its log in w. */
static int run_until_exit(workerproc *w, const char *program, const char *a, const char *b)
{
    const char *env[10];
    worker_env(env, env_conninfo);
    size_t n = 0;
    while (env[n])
        n++;
    env[n++] = a;
    env[n++] = b;
    env[n] = NULL;
    const char *argv[] = {"--config", config_path, "--exit-when-idle", "3000", NULL};
    assert_int_equal(workerproc_start(w, program, "", mockkafka_bootstraps(mk), NULL, env, argv),
                     0);
    return workerproc_wait(w, 60000);
}

static void kafka_tls_sasl_pass_through(void **state)
{
    (void)state;
    for (int i = 0; i < WORKERS; i++) {
        workerproc w;
        int rc = run_until_exit(&w, workers[i], "MNI_KAFKA_SECURITY_PROTOCOL=ssl",
                                "MNI_KAFKA_SSL_CA_LOCATION=/nonexistent/mni-test-ca.pem");
        if (rc == 0 || workerproc_log_count(&w, "ssl.ca.location") < 1) {
            workerproc_dump_log(&w);
            fail_msg("%s: exit %d, librdkafka did not get ssl.ca.location", workers[i], rc);
        }
        grep_secrets(workers[i], w.log_path);
        unlink(w.log_path);
        rc = run_until_exit(&w, workers[i], "MNI_KAFKA_SECURITY_PROTOCOL=sasl_ssl",
                            "MNI_KAFKA_SASL_MECHANISMS=NO-SUCH-MECHANISM");
        if (rc == 0 ||
            workerproc_log_count(&w, "Unsupported SASL mechanism: NO-SUCH-MECHANISM") < 1) {
            workerproc_dump_log(&w);
            fail_msg("%s: exit %d, librdkafka did not get sasl.mechanisms", workers[i], rc);
        }
        grep_secrets(workers[i], w.log_path);
        unlink(w.log_path);
    }
}

static int group_setup(void **state)
{
    (void)state;
    char err[512];
    unsigned seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 12);
    static const char *const names[N_SECRETS] = {"pg", "sasl", "oauth", "sslkey", "webhook"};
    for (int s = 0; s < N_SECRETS; s++) {
        seed = seed * 1103515245u + 12345u;
        snprintf(secrets[s], sizeof secrets[s], "Zq%s%08x", names[s], seed);
    }
    testenv_db_create(&db, 1);
    mk = mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    if (!mk) return -1;
    snprintf(env_conninfo, sizeof env_conninfo, "MNI_PG_CONNINFO=%s password=%s", db.conninfo,
             secrets[0]);
    snprintf(env_sasl, sizeof env_sasl, "MNI_KAFKA_SASL_PASSWORD=%s", secrets[1]);
    snprintf(env_webhook, sizeof env_webhook, "MNI_NOTIFY_WEBHOOK_SECRET=%s", secrets[4]);
    snprintf(config_path, sizeof config_path, "/tmp/mni-secrets-XXXXXX");
    int fd = mkstemp(config_path);
    if (fd < 0) return -1;
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "# secrets of test_secrets_in_logs\n"
            "kafka.sasl.username = mni\n"
            "kafka.sasl.oauthbearer.config = principal=mni scope=x secret=%s\n"
            "kafka.ssl.key.password = %s\n",
            secrets[2], secrets[3]);
    fclose(f);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(config_path);
    mockkafka_stop(mk);
    testenv_db_drop(&db);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(print_config_masks),
        cmocka_unit_test(run_logs_no_secret),
        cmocka_unit_test(failing_database_logs_no_secret),
        cmocka_unit_test(kafka_tls_sasl_pass_through),
    };
    return cmocka_run_group_tests_name("secrets_in_logs", tests, group_setup, group_teardown);
}
