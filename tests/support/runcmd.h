/*
 * runcmd: runs one of our programs the way a user would (argv, optional stdin file) and keeps
 * its exit status, stdout and stderr, for tests of command-line contracts.
 */
#ifndef MNI_RUNCMD_H
#define MNI_RUNCMD_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int status; /* exit code, or 128 + signal */
    char *out;  /* malloc'd, NUL-terminated */
    char *err;
    size_t out_len;
} runcmd_result;

/* The directory of our binaries: $MNI_BIN, else build/san/bin. */
const char *runcmd_bin_dir(void);
/* argv[0] is a program name in runcmd_bin_dir(); stdin_path may be NULL (/dev/null). */
int runcmd(const char *const *argv, const char *stdin_path, runcmd_result *r);
void runcmd_free(runcmd_result *r);

/* A program left running with a pipe on its standard input, for commands that act on input as
 * it arrives: write to in_fd, read its standard error so far with runcmd_err_so_far. */
typedef struct {
    pid_t pid;
    int in_fd;
    char out_path[64], err_path[64];
} runcmd_proc;

/* Starts argv (as runcmd) with its stdin a pipe. 0, or -1 when it could not be started. */
int runcmd_start(const char *const *argv, runcmd_proc *p);
/* What the program has written on stderr so far (malloc'd, NUL-terminated; NULL on error). */
char *runcmd_err_so_far(const runcmd_proc *p);
/* Closes its stdin (if still open), waits for it to exit and collects as runcmd does. */
int runcmd_finish(runcmd_proc *p, runcmd_result *r);

#endif
