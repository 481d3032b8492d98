/*
 * workerproc: see workerproc.h.
 */
#include "tests/support/workerproc.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/pg/pgx.h"
#include "tests/support/runcmd.h"
#include "tests/support/testdata.h"
#include "tests/support/testenv.h"

static int log_seq;

/* The role a worker program logs in as (migration 0040), NULL for other programs. */
static const char *worker_role(const char *program)
{
    static const char *const roles[][2] = {
        {"mni-ingest", "mni_ingest"}, {"mni-assess", "mni_assess"}, {"mni-notify", "mni_notify"}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (!strcmp(program, roles[i][0])) return roles[i][1];
    return NULL;
}

/* Forks the child: prefix (NULL-terminated, may be NULL) runs first, with path as its program. */
static int start_child(workerproc *w, const char *const *prefix, const char *path,
                       const char *program, const char *conninfo, const char *bootstrap,
                       const char *group, const char *const *env, const char *const *argv)
{
    /* Workers log in as their own roles, as in production, so that every test running one
     * proves its grants suffice (deploy/RUNBOOK.md "Database roles"). */
    char as_role[2048], why[256];
    const char *role = worker_role(program);
    if (role &&
        pgx_conninfo_set(conninfo, "user", role, as_role, sizeof as_role, why, sizeof why) == 0)
        conninfo = as_role;
    char key[1024];
    testdata_path("audit-test.key", key, sizeof key);
    snprintf(w->log_path, sizeof w->log_path, "/tmp/mni-%s-%d-%d.log", program, (int)getpid(),
             log_seq++);
    fflush(NULL);
    w->pid = fork();
    if (w->pid < 0) return -1;
    if (w->pid == 0) {
        /* A test that crashes takes its workers with it (they would run on, orphaned). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(w->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int devnull = open("/dev/null", O_RDONLY);
        if (fd < 0 || devnull < 0) _exit(126);
        dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("MNI_PG_CONNINFO", conninfo, 1);
        setenv("MNI_KAFKA_BOOTSTRAP", bootstrap, 1);
        /* Workers sign the audit chain's head with the test key (migration 0041). */
        setenv("MNI_AUDIT_KEY_FILE", key, 0);
        if (group) setenv("MNI_GROUP_ID", group, 1);
        /* A member killed with SIGKILL never leaves its group: with the default 45 s session
         * the next member would wait that long for its partitions. */
        setenv("MNI_KAFKA_SESSION_TIMEOUT_MS", "6000", 0);
        setenv("MNI_KAFKA_HEARTBEAT_INTERVAL_MS", "500", 0);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        const char *args[64];
        size_t n = 0;
        for (size_t i = 0; prefix && prefix[i] && n < 40; i++)
            args[n++] = prefix[i];
        args[n++] = prefix ? path : program;
        for (size_t i = 0; argv && argv[i] && n < 63; i++)
            args[n++] = argv[i];
        args[n] = NULL;
        execv(prefix ? prefix[0] : path, (char *const *)args);
        _exit(127);
    }
    return 0;
}

int workerproc_start(workerproc *w, const char *program, const char *conninfo,
                     const char *bootstrap, const char *group, const char *const *env,
                     const char *const *argv)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", runcmd_bin_dir(), program);
    w->valgrind_log[0] = '\0';
    return start_child(w, NULL, path, program, conninfo, bootstrap, group, env, argv);
}

int workerproc_start_valgrind(workerproc *w, const char *bin_dir, const char *program,
                              const char *conninfo, const char *bootstrap, const char *group,
                              const char *const *env, const char *const *argv)
{
    char path[1024], log_opt[300], exit_opt[64];
    snprintf(path, sizeof path, "%s/%s", bin_dir, program);
    snprintf(w->valgrind_log, sizeof w->valgrind_log, "/tmp/mni-%s-%d-%d.valgrind", program,
             (int)getpid(), log_seq);
    snprintf(log_opt, sizeof log_opt, "--log-file=%s", w->valgrind_log);
    snprintf(exit_opt, sizeof exit_opt, "--error-exitcode=%d", WORKERPROC_VALGRIND_EXIT);
    /* Definite leaks count as errors (so they set the exit code); possible and reachable ones
     * (librdkafka's and OpenSSL's process-wide state) are reported but do not fail. */
    const char *const prefix[] = {"/usr/bin/valgrind",
                                  "--tool=memcheck",
                                  "--leak-check=full",
                                  "--show-leak-kinds=definite",
                                  "--errors-for-leak-kinds=definite",
                                  "--track-origins=no",
                                  "--num-callers=30",
                                  exit_opt,
                                  log_opt,
                                  NULL};
    return start_child(w, prefix, path, program, conninfo, bootstrap, group, env, argv);
}

int workerproc_valgrind_check(const workerproc *w, char *why, size_t whylen)
{
    FILE *f = w->valgrind_log[0] ? fopen(w->valgrind_log, "r") : NULL;
    if (!f) {
        snprintf(why, whylen, "no valgrind report (%s)", w->valgrind_log);
        return -1;
    }
    char line[4096];
    long errors = -1, lost = -1;
    why[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        const char *at;
        if ((at = strstr(line, "ERROR SUMMARY: ")) != NULL)
            errors = strtol(at + strlen("ERROR SUMMARY: "), NULL, 10);
        if ((at = strstr(line, "definitely lost: ")) != NULL) {
            /* "definitely lost: 1,234 bytes in 5 blocks": any digit but 0 is a leak. */
            lost = 0;
            for (at += strlen("definitely lost: "); *at && *at != ' '; at++)
                if (*at >= '1' && *at <= '9') lost = 1;
        }
        if (strstr(line, "ERROR SUMMARY: ") || strstr(line, "definitely lost: ") ||
            strstr(line, "Invalid ")) {
            size_t used = strlen(why);
            if (used + 1 < whylen) snprintf(why + used, whylen - used, "%s", line);
        }
    }
    fclose(f);
    if (errors < 0 && why[0] == '\0')
        snprintf(why, whylen, "no ERROR SUMMARY in %s", w->valgrind_log);
    /* No leak summary at all means no block was left: valgrind prints "All heap blocks were
     * freed" instead. */
    return errors == 0 && lost <= 0 ? 0 : -1;
}

int workerproc_wait(workerproc *w, int timeout_ms)
{
    struct timespec step = {0, 20 * 1000 * 1000};
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        int status;
        pid_t r = waitpid(w->pid, &status, WNOHANG);
        if (r == w->pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0 && errno != EINTR) return -1;
        nanosleep(&step, NULL);
    }
    kill(w->pid, SIGKILL);
    waitpid(w->pid, NULL, 0);
    return -1;
}

void workerproc_signal(workerproc *w, int sig)
{
    kill(w->pid, sig);
}

void workerproc_dump_log(const workerproc *w)
{
    FILE *f = fopen(w->log_path, "r");
    if (!f) return;
    char line[4096];
    fprintf(stderr, "---- %s\n", w->log_path);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

int workerproc_log_count(const workerproc *w, const char *needle)
{
    FILE *f = fopen(w->log_path, "r");
    if (!f) return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

int workerproc_run_until_idle(const char *program, const char *conninfo, const char *bootstrap,
                              const char *group, const char *const *env, int idle_ms,
                              int timeout_ms, const char *needle)
{
    workerproc w;
    char idle[24];
    snprintf(idle, sizeof idle, "%d", idle_ms);
    const char *argv[] = {"--exit-when-idle", idle, NULL};
    assert_int_equal(workerproc_start(&w, program, conninfo, bootstrap, group, env, argv), 0);
    int rc = workerproc_wait(&w, timeout_ms);
    if (rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("%s exited %d", program, rc);
    }
    int count = needle ? workerproc_log_count(&w, needle) : 0;
    unlink(w.log_path);
    return count;
}

void workerproc_wait_log(const workerproc *w, const char *needle, int timeout_ms)
{
    for (double t0 = testenv_now_ms(); workerproc_log_count(w, needle) == 0; usleep(50 * 1000))
        if (testenv_now_ms() - t0 > timeout_ms) {
            workerproc_dump_log(w);
            fail_msg("%s: no line with %s", w->log_path, needle);
        }
}
