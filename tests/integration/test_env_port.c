/*
 * test_env_port: a PostgreSQL port that looks free but cannot be bound is moved past, by
 * scripts/mni-env (a new environment's cluster) and by tests/support/pg-tls.sh. Both probe a
 * port with a connect; a socket bound without listening (what an outgoing connection holding
 * the port as its local one looks like) refuses the connect yet keeps PostgreSQL from binding:
 * CI once failed test_pg_tls's setup on exactly that.
 *
 *   env_moves_past_a_bound_port     the port mni-env would pick held by such a socket: `up`
 *                                   succeeds on another port, recorded in pg.port and in the
 *                                   env file's conninfo, and PostgreSQL answers there
 *   pg_tls_moves_past_a_bound_port  the same for pg-tls.sh, its first two ports held
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/pg/pgx.h"
#include "tests/support/runcmd.h"

/* A connect to 127.0.0.1:port is refused (what both scripts take for free). */
static int refused(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0;
    if (fd >= 0) close(fd);
    return ok;
}

/* The first port from `from` a connect is refused on, held by a socket bound to it without
 * listening; its descriptor in *fd. */
static int hold_first_free(int from, int *fd)
{
    for (int port = from; port < from + 100; port++) {
        if (!refused(port)) continue;
        /* Close-on-exec: the scripts' servers must not inherit (and keep) the held port. */
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0) {
            *fd = s;
            return port;
        }
        if (s >= 0) close(s);
    }
    fail_msg("no free port from %d", from);
    return -1;
}

static int read_int(const char *path)
{
    FILE *f = fopen(path, "r");
    int v = -1;
    if (!f || fscanf(f, "%d", &v) != 1) fail_msg("cannot read a number from %s", path);
    fclose(f);
    return v;
}

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static void env_moves_past_a_bound_port(void **state)
{
    (void)state;
    char dir[] = "/tmp/mni-envport-XXXXXX";
    if (!mkdtemp(dir)) fail_msg("mkdtemp failed");
    int held_fd;
    int held = hold_first_free(55432, &held_fd); /* mni-env's first choice (pick_port) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "env -u MNI_PG_PORT MNI_ENV_DIR=%s/env MNI_BIN=%s scripts/mni-env up >%s/up.log 2>&1",
             dir, runcmd_bin_dir(), dir);
    int rc = system(cmd);
    close(held_fd);

    char path[256], needle[64];
    snprintf(path, sizeof path, "%s/env/pg.port", dir);
    int port = rc == 0 ? read_int(path) : -1;
    snprintf(path, sizeof path, "%s/env/env", dir);
    snprintf(needle, sizeof needle, " port=%d ", port);
    int in_env = file_has(path, needle);
    char ci[512];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=postgres connect_timeout=10", port);
    PGconn *c = PQconnectdb(ci);
    /* Any answer from a server on that port will do: a password is asked of TCP logins. */
    int answered = PQstatus(c) == CONNECTION_OK || strstr(PQerrorMessage(c), "password") != NULL;
    PQfinish(c);

    if (rc != 0 || port == held || !in_env || !answered) {
        snprintf(cmd, sizeof cmd, "cat %s/up.log >&2", dir);
        if (system(cmd) != 0) fprintf(stderr, "(no log of mni-env up)\n");
    }
    snprintf(cmd, sizeof cmd,
             "MNI_ENV_DIR=%s/env MNI_BIN=%s scripts/mni-env down >/dev/null 2>&1; rm -rf %s", dir,
             runcmd_bin_dir(), dir);
    int down = system(cmd);
    if (rc != 0 || port == held || !in_env || !answered)
        fail_msg("mni-env up exited %d; port %d (held %d); env file names it: %d; server there: "
                 "%d",
                 rc, port, held, in_env, answered);
    assert_int_equal(down, 0);
}

static void pg_tls_moves_past_a_bound_port(void **state)
{
    (void)state;
    char dir[] = "/tmp/mni-pgtlsport-XXXXXX";
    if (!mkdtemp(dir)) fail_msg("mkdtemp failed");
    int fd1, fd2;
    int held1 = hold_first_free(26432, &fd1); /* pg-tls.sh's first two choices */
    int held2 = hold_first_free(held1 + 1, &fd2);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "tests/support/pg-tls.sh up %s >/dev/null", dir);
    int rc = system(cmd);
    close(fd1);
    close(fd2);
    char path[256];
    snprintf(path, sizeof path, "%s/port", dir);
    int port = rc == 0 ? read_int(path) : -1;
    snprintf(cmd, sizeof cmd, "tests/support/pg-tls.sh down %s; rm -rf %s", dir, dir);
    int down = system(cmd);
    if (rc != 0 || port == held1 || port == held2)
        fail_msg("pg-tls.sh up exited %d; port %d (held %d and %d)", rc, port, held1, held2);
    assert_int_equal(down, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_moves_past_a_bound_port),
        cmocka_unit_test(pg_tls_moves_past_a_bound_port),
    };
    return cmocka_run_group_tests_name("env port", tests, NULL, NULL);
}
