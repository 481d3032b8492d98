/*
 * workerproc: see workerproc.h.
 */
#include "tests/support/workerproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/runcmd.h"

static int log_seq;

int workerproc_start(workerproc *w, const char *program, const char *conninfo,
                     const char *bootstrap, const char *group, const char *const *env,
                     const char *const *argv)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", runcmd_bin_dir(), program);
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
        if (group) setenv("MNI_GROUP_ID", group, 1);
        /* A member killed with SIGKILL never leaves its group: with the default 45 s session
         * the next member would wait that long for its partitions. */
        setenv("MNI_KAFKA_SESSION_TIMEOUT_MS", "6000", 0);
        setenv("MNI_KAFKA_HEARTBEAT_INTERVAL_MS", "500", 0);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        const char *args[32] = {program};
        size_t n = 1;
        for (size_t i = 0; argv && argv[i] && n < 31; i++)
            args[n++] = argv[i];
        args[n] = NULL;
        execv(path, (char *const *)args);
        _exit(127);
    }
    return 0;
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
