/*
 * runcmd: see runcmd.h. Output goes through temporary files so a large output cannot dead-lock
 * a pipe.
 */
#include "tests/support/runcmd.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/testdata.h"

const char *runcmd_bin_dir(void)
{
    const char *dir = getenv("MNI_BIN");
    return dir && *dir ? dir : "build/san/bin";
}

static int temp_fd(char *path)
{
    strcpy(path, "/tmp/mni-runcmd-XXXXXX");
    return mkstemp(path);
}

/* Forks argv with stdin from in (closed in the parent by the caller), stdout and stderr into
 * temporary files named in out_path and err_path. The child's pid, or -1. */
static pid_t runcmd_spawn(const char *const *argv, int in, int close_in_child, char *out_path,
                          char *err_path)
{
    char prog[1024];
    int out_fd = temp_fd(out_path), err_fd = temp_fd(err_path);
    if (out_fd < 0 || err_fd < 0) return -1;
    snprintf(prog, sizeof prog, "%s/%s", runcmd_bin_dir(), argv[0]);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (in < 0) _exit(126);
        dup2(in, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        if (close_in_child >= 0) close(close_in_child);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(out_fd);
    close(err_fd);
    return pid;
}

/* Waits for pid and collects its status and output into r; removes the files. */
static int runcmd_collect(pid_t pid, const char *out_path, const char *err_path, runcmd_result *r)
{
    int status = 0;
    waitpid(pid, &status, 0);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = testdata_read(out_path, &r->out_len);
    r->err = testdata_read(err_path, NULL);
    unlink(out_path);
    unlink(err_path);
    return r->out && r->err ? 0 : -1;
}

int runcmd(const char *const *argv, const char *stdin_path, runcmd_result *r)
{
    char out_path[64], err_path[64];
    memset(r, 0, sizeof *r);
    int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
    pid_t pid = runcmd_spawn(argv, in, -1, out_path, err_path);
    if (in >= 0) close(in);
    if (pid < 0) return -1;
    return runcmd_collect(pid, out_path, err_path, r);
}

int runcmd_start(const char *const *argv, runcmd_proc *p)
{
    int fds[2];
    memset(p, 0, sizeof *p);
    p->in_fd = -1;
    if (pipe2(fds, O_CLOEXEC) != 0) return -1; /* other children must not hold it open */
    p->pid = runcmd_spawn(argv, fds[0], fds[1], p->out_path, p->err_path);
    close(fds[0]);
    if (p->pid < 0) {
        close(fds[1]);
        return -1;
    }
    p->in_fd = fds[1];
    return 0;
}

char *runcmd_err_so_far(const runcmd_proc *p)
{
    return testdata_read(p->err_path, NULL);
}

int runcmd_finish(runcmd_proc *p, runcmd_result *r)
{
    memset(r, 0, sizeof *r);
    if (p->in_fd >= 0) close(p->in_fd);
    p->in_fd = -1;
    return runcmd_collect(p->pid, p->out_path, p->err_path, r);
}

void runcmd_free(runcmd_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}
