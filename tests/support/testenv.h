/*
 * testenv: the integration tests' access to the development environment (scripts/mni-env) and
 * a database of their own.
 *
 * Where the environment is: MNI_PG_CONNINFO / MNI_KAFKA_BOOTSTRAP when set; else they are read
 * from the env file mni-env writes ($MNI_ENV_DIR/env, else .mni-env/env in the current
 * directory or beside the test program's build tree) and exported into this process, so
 * libraries and child processes see them too.
 *
 * Policy when it is absent: the test FAILS, with a message saying how to start it. An
 * integration test that quietly skips reports green on a machine that never ran it; CI starts
 * the environment (scripts/run-tests.sh does), so absence there is a real failure. A developer
 * who wants to run only what can run may set MNI_TEST_SKIP_NO_ENV=1: the tests are then
 * skipped with the same message, except under CI=true, where that setting is ignored.
 *
 * Databases: testenv_db_create makes a fresh database named mni_test_<pid>_<n> (CREATE
 * DATABASE, which role mni may do), optionally applies db/migrations into it, and connects;
 * testenv_db_drop closes and drops it (WITH (FORCE), so a connection left open by the test
 * does not keep it alive). A crashed test leaves its database behind; `scripts/mni-env down`
 * removes the whole cluster.
 *
 * The asserting calls (testenv_conninfo, testenv_db_create, testenv_db_setup) end the current
 * cmocka test or setup on failure; they must be called from one. cmocka 1.1 counts a skip()
 * inside a setup as a setup failure, so skipping happens in the test body:
 *
 *   static testenv_db db;                 (static: a failed setup gets no teardown)
 *   static int setup(void **state) { testenv_db_setup(state, &db, 1); return 0; }
 *   static int teardown(void **state) { (void)state; testenv_db_drop(&db); return 0; }
 *   static void a_test(void **state) { testenv_db *d = testenv_db_from_state(state); ... }
 */
#ifndef MNI_TESTENV_H
#define MNI_TESTENV_H

#include <libpq-fe.h>
#include <stddef.h>

typedef struct {
    char name[64];       /* mni_test_<pid>_<n> */
    char conninfo[2048]; /* the base conninfo with dbname replaced */
    PGconn *conn;        /* connected to it; owned, closed by testenv_db_drop */
} testenv_db;

/* The schema registry. mni-env's env file exports MNI_SCHEMA_REGISTRY_URL, which would put
 * every worker and command a test starts into registry mode, while most tests encode with the
 * local id table: testenv_load takes it out of this process's environment (children inherit
 * none), and a test of the registry asks for it here and passes it on explicitly. NULL when
 * the environment has no registry. */
const char *testenv_registry_url(void);
/* Loads the environment (see above). 0 when MNI_PG_CONNINFO is now set, -1 with a message
 * saying how to start it. Does not assert. */
int testenv_load(char *err, size_t errlen);
/* The base conninfo; fails (or skips, see the policy) the current test when absent. */
const char *testenv_conninfo(void);
/* The migrations directory (pgx_migrations_dir); fails the current test when not found. */
const char *testenv_migrations_dir(void);

/* Creates, migrates when migrate is non-zero, and connects; fails the current test on error. */
void testenv_db_create(testenv_db *db, int migrate);
/* The same without asserting: 0 or -1 with a message. */
int testenv_db_open(testenv_db *db, int migrate, char *err, size_t errlen);
/* For a cmocka setup: testenv_db_create and *state = db; but when the environment is absent
 * and the policy allows skipping, *state = NULL instead (testenv_db_from_state then skips). */
void testenv_db_setup(void **state, testenv_db *db, int migrate);
/* For a test body: the database its setup made, or skip() when there is none. */
testenv_db *testenv_db_from_state(void **state);
/* Closes db->conn and drops the database; fails the current test if the drop fails. Safe on a
 * zeroed or already dropped db. */
void testenv_db_drop(testenv_db *db);

/* Monotonic milliseconds, for a test's deadlines and waits. */
double testenv_now_ms(void);

#endif
