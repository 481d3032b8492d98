/*
 * testenv: finding the development environment and making a database per test; the policy is
 * in testenv.h.
 */
#include "tests/support/testenv.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/monoclock.h"
#include "lib/pg/migrate.h"
#include "lib/pg/pgx.h"

static const char testenv_howto[] =
    "the development environment is not running: start it with `scripts/mni-env up` and "
    "`. .mni-env/env` (or run `make integration`, which does both)";

/* Reads NAME='value' from an `export NAME='value'` line of the env file into out. */
static int testenv_env_value(const char *path, const char *name, char *out, size_t outlen)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    size_t nlen = strlen(name);
    int rc = -1;
    while (rc != 0 && fgets(line, sizeof line, f)) {
        const char *p = line;
        if (strncmp(p, "export ", 7) == 0) p += 7;
        if (strncmp(p, name, nlen) != 0 || p[nlen] != '=') continue;
        p += nlen + 1;
        size_t len = strcspn(p, "\r\n");
        if (len >= 2 && p[0] == '\'' && p[len - 1] == '\'') {
            p++;
            len -= 2;
        }
        if (len < outlen) {
            memcpy(out, p, len);
            out[len] = '\0';
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/* The env file: $MNI_ENV_DIR/env, else .mni-env/env here, else beside the build tree. */
static int testenv_env_file(char *out, size_t outlen)
{
    const char *dir = getenv("MNI_ENV_DIR");
    if (dir && *dir) {
        snprintf(out, outlen, "%s/env", dir);
        return access(out, R_OK) == 0 ? 0 : -1;
    }
    snprintf(out, outlen, ".mni-env/env");
    if (access(out, R_OK) == 0) return 0;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = '\0';
    const char *bindir = dirname(exe);
    static const char *const ups[] = {"/..", "/../..", "/../../.."};
    for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
        snprintf(out, outlen, "%s%s/.mni-env/env", bindir, ups[i]);
        if (access(out, R_OK) == 0) return 0;
    }
    return -1;
}

/* The environment's schema registry, taken out of the environment (see testenv.h). */
static char testenv_registry[512];

static void testenv_take_registry(void)
{
    const char *url = getenv("MNI_SCHEMA_REGISTRY_URL");
    if (url && *url && !testenv_registry[0])
        snprintf(testenv_registry, sizeof testenv_registry, "%s", url);
    unsetenv("MNI_SCHEMA_REGISTRY_URL");
}

const char *testenv_registry_url(void)
{
    char path[PATH_MAX + 32];
    testenv_take_registry();
    if (!testenv_registry[0] && testenv_env_file(path, sizeof path) == 0)
        testenv_env_value(path, "MNI_SCHEMA_REGISTRY_URL", testenv_registry,
                          sizeof testenv_registry);
    return testenv_registry[0] ? testenv_registry : NULL;
}

int testenv_load(char *err, size_t errlen)
{
    testenv_take_registry();
    const char *ci = getenv("MNI_PG_CONNINFO");
    if (ci && *ci) return 0;
    char path[PATH_MAX + 32], value[2048];
    if (testenv_env_file(path, sizeof path) != 0 ||
        testenv_env_value(path, "MNI_PG_CONNINFO", value, sizeof value) != 0) {
        snprintf(err, errlen, "MNI_PG_CONNINFO is not set and no env file was found: %s",
                 testenv_howto);
        return -1;
    }
    setenv("MNI_PG_CONNINFO", value, 1);
    if (!getenv("MNI_KAFKA_BOOTSTRAP") &&
        testenv_env_value(path, "MNI_KAFKA_BOOTSTRAP", value, sizeof value) == 0)
        setenv("MNI_KAFKA_BOOTSTRAP", value, 1);
    return 0;
}

/* True when the developer asked to skip rather than fail, outside CI. */
static int testenv_skip_allowed(void)
{
    const char *skip = getenv("MNI_TEST_SKIP_NO_ENV");
    const char *ci = getenv("CI");
    return skip && !strcmp(skip, "1") && !(ci && !strcmp(ci, "true"));
}

/* Fails the current test, or skips it when the developer asked for that outside CI. */
static void testenv_absent(const char *msg)
{
    if (testenv_skip_allowed()) {
        print_message("[  SKIP    ] %s\n", msg);
        skip();
    }
    fail_msg("%s", msg);
}

const char *testenv_conninfo(void)
{
    char err[1024];
    if (testenv_load(err, sizeof err) != 0) testenv_absent(err);
    return getenv("MNI_PG_CONNINFO");
}

const char *testenv_migrations_dir(void)
{
    static char dir[PATH_MAX];
    char err[512];
    if (!dir[0] && pgx_migrations_dir(dir, sizeof dir, err, sizeof err) != 0) {
        dir[0] = '\0';
        fail_msg("%s", err);
    }
    return dir;
}

/* DROP DATABASE name through the base connection; 0 or -1 with a message. */
static int testenv_drop_database(const char *name, char *err, size_t errlen)
{
    const char *base = getenv("MNI_PG_CONNINFO");
    if (!base) {
        snprintf(err, errlen, "MNI_PG_CONNINFO is not set");
        return -1;
    }
    PGconn *admin = pgx_connect(base, "mni test", err, errlen);
    if (!admin) return -1;
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    int rc = pgx_exec(admin, "testenv.drop_database", sql, err, errlen);
    pgx_close(admin);
    return rc;
}

int testenv_db_open(testenv_db *db, int migrate, char *err, size_t errlen)
{
    static unsigned counter;
    memset(db, 0, sizeof *db);
    if (testenv_load(err, errlen) != 0) return -1;
    const char *base = getenv("MNI_PG_CONNINFO");
    snprintf(db->name, sizeof db->name, "mni_test_%ld_%u", (long)getpid(), ++counter);

    PGconn *admin = pgx_connect(base, "mni test", err, errlen);
    if (!admin) {
        db->name[0] = '\0';
        return -1;
    }
    /* The name is ours (letters, digits and '_'), so it needs no quoting. */
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db->name);
    int rc = pgx_exec(admin, "testenv.create_database", sql, err, errlen);
    pgx_close(admin);
    if (rc != 0) {
        db->name[0] = '\0';
        return -1;
    }
    /* From here on db->name is set: on failure the caller drops it (testenv_db_drop). */
    if (pgx_conninfo_set(base, "dbname", db->name, db->conninfo, sizeof db->conninfo, err,
                         errlen) != 0 ||
        !(db->conn = pgx_connect(db->conninfo, "mni test", err, errlen)))
        return -1;
    if (migrate) {
        char dir[PATH_MAX];
        if (pgx_migrations_dir(dir, sizeof dir, err, errlen) != 0 ||
            pgx_migrate(db->conn, dir, NULL, NULL, NULL, err, errlen) != 0)
            return -1;
    }
    return 0;
}

void testenv_db_create(testenv_db *db, int migrate)
{
    char err[2048];
    if (testenv_load(err, sizeof err) != 0) testenv_absent(err);
    if (testenv_db_open(db, migrate, err, sizeof err) != 0) {
        char drop_err[512];
        pgx_close(db->conn);
        db->conn = NULL;
        if (db->name[0]) testenv_drop_database(db->name, drop_err, sizeof drop_err);
        db->name[0] = '\0';
        fail_msg("testenv: cannot prepare a test database: %s", err);
    }
}

void testenv_db_setup(void **state, testenv_db *db, int migrate)
{
    char err[1024];
    *state = NULL;
    if (testenv_load(err, sizeof err) != 0 && testenv_skip_allowed()) {
        memset(db, 0, sizeof *db);
        print_message("[  SKIP    ] %s\n", err);
        return;
    }
    testenv_db_create(db, migrate);
    *state = db;
}

testenv_db *testenv_db_from_state(void **state)
{
    if (!*state) skip();
    return *state;
}

void testenv_db_drop(testenv_db *db)
{
    pgx_close(db->conn);
    db->conn = NULL;
    if (!db->name[0]) return;
    char err[1024], name[64];
    snprintf(name, sizeof name, "%s", db->name);
    db->name[0] = '\0';
    /* An autovacuum worker may be busy in the database: DROP ... WITH (FORCE) cannot end a
     * superuser's process as our role (SQLSTATE 42501), so wait for it to finish, a while. */
    for (int attempt = 0;; attempt++) {
        if (testenv_drop_database(name, err, sizeof err) == 0) return;
        if (!strstr(err, "42501") || attempt >= 100) break;
        usleep(100 * 1000);
    }
    fail_msg("testenv: cannot drop test database %s: %s", name, err);
}

double testenv_now_ms(void)
{
    return monoclock_ms_exact();
}
