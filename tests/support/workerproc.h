/*
 * workerproc: runs one of our worker programs (mni-ingest, mni-assess, mni-notify) as a child
 * process for integration tests, pointed at a test database and a Kafka bootstrap, with its
 * structured log in a file; stops it with a signal or waits for it to exit by itself
 * (--exit-when-idle).
 */
#ifndef MNI_WORKERPROC_H
#define MNI_WORKERPROC_H

#include <sys/types.h>

typedef struct {
    pid_t pid;
    char log_path[256]; /* the child's stderr */
} workerproc;

/* Starts $MNI_BIN/<program> (runcmd_bin_dir) with MNI_PG_CONNINFO=conninfo,
 * MNI_KAFKA_BOOTSTRAP=bootstrap, MNI_GROUP_ID=group (when not NULL), then the extra
 * "NAME=value" settings of env (NULL-terminated, may be NULL), and argv (NULL-terminated extra
 * arguments, may be NULL). 0, or -1 when it could not be started. */
int workerproc_start(workerproc *w, const char *program, const char *conninfo,
                     const char *bootstrap, const char *group, const char *const *env,
                     const char *const *argv);
/* Waits up to timeout_ms for the child to exit; returns its exit code (128 + signal when
 * killed), or -1 on timeout (the child is then killed with SIGKILL and reaped). */
int workerproc_wait(workerproc *w, int timeout_ms);
/* Sends sig (SIGTERM for a graceful stop, SIGKILL for a crash). */
void workerproc_signal(workerproc *w, int sig);
/* Prints the child's log to stderr (on a failed test). */
void workerproc_dump_log(const workerproc *w);
/* Counts lines of its log containing needle. */
int workerproc_log_count(const workerproc *w, const char *needle);

#endif
