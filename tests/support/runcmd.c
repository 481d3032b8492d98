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

int runcmd(const char *const *argv, const char *stdin_path, runcmd_result *r)
{
    char out_path[64], err_path[64], prog[1024];
    memset(r, 0, sizeof *r);
    int out_fd = temp_fd(out_path), err_fd = temp_fd(err_path);
    if (out_fd < 0 || err_fd < 0) return -1;
    snprintf(prog, sizeof prog, "%s/%s", runcmd_bin_dir(), argv[0]);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open(stdin_path ? stdin_path : "/dev/null", O_RDONLY);
        if (in < 0) _exit(126);
        dup2(in, 0);
        dup2(out_fd, 1);
        dup2(err_fd, 2);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    close(out_fd);
    close(err_fd);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r->out = testdata_read(out_path, &r->out_len);
    r->err = testdata_read(err_path, NULL);
    unlink(out_path);
    unlink(err_path);
    return r->out && r->err ? 0 : -1;
}

void runcmd_free(runcmd_result *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}
