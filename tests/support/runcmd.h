/*
 * runcmd: runs one of our programs the way a user would (argv, optional stdin file) and keeps
 * its exit status, stdout and stderr, for tests of command-line contracts.
 */
#ifndef MNI_RUNCMD_H
#define MNI_RUNCMD_H

#include <stddef.h>

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

#endif
