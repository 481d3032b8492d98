/*
 * test_pg_tls: PostgreSQL over TLS with sslmode=verify-full against a local CA (issue 8,
 * Security). tests/support/pg-tls.sh makes a throwaway CA, a server certificate for "localhost"
 * only, and a private cluster that accepts hostssl connections only; then:
 *
 *   verify_full_is_accepted   pgx_connect with sslmode=verify-full and the CA as sslrootcert:
 *                             connected, and the server says the session is encrypted;
 *   wrong_ca_is_refused       the same with another CA: "certificate verify failed";
 *   wrong_host_is_refused     host=127.0.0.1 (not a name of the certificate): refused;
 *   plaintext_is_refused      sslmode=disable: the server refuses it (pg_hba);
 *   worker_over_verify_full   the migrations applied over that connection, and mni-ingest run
 *                             with a verify-full conninfo on the demo scenario's first events
 *                             (mock Kafka cluster): it stores them and exits cleanly (the
 *                             server takes nothing but TLS, so its sessions were encrypted).
 *
 * Needs openssl and the PostgreSQL server binaries (scripts/install-deps.sh --test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/pg/migrate.h"
#include "lib/pg/pgx.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

static char dir[64];
static int port;

static void conninfo(char *out, size_t n, const char *host, const char *db, const char *mode,
                     const char *ca)
{
    snprintf(out, n, "host=%s port=%d dbname=%s user=postgres sslmode=%s sslrootcert=%s/%s", host,
             port, db, mode, dir, ca);
}

/* pgx_connect must fail with want in its message. */
static void expect_refused(const char *ci, const char *want)
{
    char err[1024] = "";
    PGconn *c = pgx_connect(ci, "test_pg_tls", err, sizeof err);
    if (c) {
        PQfinish(c);
        fail_msg("%s: connected, want refused with '%s'", ci, want);
    }
    if (!strstr(err, want)) fail_msg("%s: error '%s' does not contain '%s'", ci, err, want);
}

static void verify_full_is_accepted(void **state)
{
    (void)state;
    char ci[512], err[1024];
    conninfo(ci, sizeof ci, "localhost", "postgres", "verify-full", "ca.pem");
    PGconn *c = pgx_connect(ci, "test_pg_tls", err, sizeof err);
    if (!c) fail_msg("verify-full: %s", err);
    assert_int_equal(PQsslInUse(c), 1);
    sqlcheck_equal(c, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", NULL, "t");
    PQfinish(c);
}

static void wrong_ca_is_refused(void **state)
{
    (void)state;
    char ci[512];
    conninfo(ci, sizeof ci, "localhost", "postgres", "verify-full", "other-ca.pem");
    expect_refused(ci, "certificate verify failed");
}

static void wrong_host_is_refused(void **state)
{
    (void)state;
    char ci[512];
    conninfo(ci, sizeof ci, "127.0.0.1", "postgres", "verify-full", "ca.pem");
    expect_refused(ci, "does not match host name \"127.0.0.1\"");
}

static void plaintext_is_refused(void **state)
{
    (void)state;
    char ci[512];
    snprintf(ci, sizeof ci, "host=localhost port=%d dbname=postgres user=postgres sslmode=disable",
             port);
    expect_refused(ci, "no encryption");
}

static void worker_over_verify_full(void **state)
{
    (void)state;
    char ci[512], err[1024];
    conninfo(ci, sizeof ci, "localhost", "postgres", "verify-full", "ca.pem");
    PGconn *admin = pgx_connect(ci, "test_pg_tls", err, sizeof err);
    if (!admin) fail_msg("%s", err);
    PGresult *r = PQexec(admin, "CREATE DATABASE mni_tls");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(admin);

    conninfo(ci, sizeof ci, "localhost", "mni_tls", "verify-full", "ca.pem");
    PGconn *c = pgx_connect(ci, "test_pg_tls", err, sizeof err);
    if (!c) fail_msg("%s", err);
    if (pgx_migrate(c, testenv_migrations_dir(), NULL, NULL, NULL, err, sizeof err) != 0)
        fail_msg("migrations over TLS: %s", err);

    static const mockkafka_topic topics[] = {
        {"incident.events", 1}, {"incident.accepted", 1}, {"incident.dlq", 1}};
    mockkafka *mk = mockkafka_start(1, topics, 3, err, sizeof err);
    if (!mk) fail_msg("%s", err);
    assert_int_equal(topicio_produce_jsonl(mockkafka_bootstraps(mk), "incident.events",
                                           "examples/scenario/01-first-reports.jsonl"),
                     8);
    static const char *const argv[] = {"--exit-when-idle", "3000", NULL};
    workerproc w;
    assert_int_equal(
        workerproc_start(&w, "mni-ingest", ci, mockkafka_bootstraps(mk), "tls", NULL, argv), 0);
    int rc = workerproc_wait(&w, 120000);
    if (rc != 0) workerproc_dump_log(&w);
    assert_int_equal(rc, 0);
    unlink(w.log_path);
    sqlcheck_equal(c, "SELECT count(*) FROM event_log", NULL, "8");
    PQfinish(c);
    mockkafka_stop(mk);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mni-pgtls-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tests/support/pg-tls.sh up %s >/dev/null", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not start the TLS PostgreSQL (%s)\n", cmd);
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/port", dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%d", &port) != 1) return -1;
    fclose(f);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "tests/support/pg-tls.sh down %s; rm -rf %s", dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verify_full_is_accepted), cmocka_unit_test(wrong_ca_is_refused),
        cmocka_unit_test(wrong_host_is_refused),   cmocka_unit_test(plaintext_is_refused),
        cmocka_unit_test(worker_over_verify_full),
    };
    return cmocka_run_group_tests_name("pg_tls", tests, group_setup, group_teardown);
}
