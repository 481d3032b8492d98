/*
 * workerproc: runs one of our worker programs (mni-ingest, mni-assess, mni-notify) as a child
 * process for integration tests, pointed at a test database and a Kafka bootstrap, with its
 * structured log in a file; stops it with a signal or waits for it to exit by itself
 * (--exit-when-idle).
 *
 * Under valgrind (workerproc_start_valgrind): the program runs under memcheck with its report in
 * a file of its own; memcheck's errors (invalid reads and writes, uses of uninitialised values,
 * invalid frees) and definitely lost blocks make the child exit with WORKERPROC_VALGRIND_EXIT,
 * and workerproc_valgrind_check reads the report to name them.
 */
#ifndef MNI_WORKERPROC_H
#define MNI_WORKERPROC_H

#include <sys/types.h>

typedef struct {
    pid_t pid;
    char log_path[256];     /* the child's stderr */
    char valgrind_log[256]; /* memcheck's report ("" when not under valgrind) */
} workerproc;

#define WORKERPROC_VALGRIND_EXIT 99 /* the exit code of a child in which memcheck found errors */

/* Starts $MNI_BIN/<program> (runcmd_bin_dir) with MNI_PG_CONNINFO=conninfo,
 * MNI_KAFKA_BOOTSTRAP=bootstrap, MNI_GROUP_ID=group (when not NULL), then the extra
 * "NAME=value" settings of env (NULL-terminated, may be NULL), and argv (NULL-terminated extra
 * arguments, may be NULL). 0, or -1 when it could not be started. */
int workerproc_start(workerproc *w, const char *program, const char *conninfo,
                     const char *bootstrap, const char *group, const char *const *env,
                     const char *const *argv);
/* As workerproc_start, but runs bin_dir/<program> under valgrind memcheck (full leak check;
 * errors and definite leaks exit with WORKERPROC_VALGRIND_EXIT). bin_dir: a release build (the
 * sanitizers and valgrind do not mix). */
int workerproc_start_valgrind(workerproc *w, const char *bin_dir, const char *program,
                              const char *conninfo, const char *bootstrap, const char *group,
                              const char *const *env, const char *const *argv);
/* After the child exited: 0 when memcheck's report says no errors and no definitely lost
 * bytes; -1 with what it found (the summary lines) in why, or that the report is missing. */
int workerproc_valgrind_check(const workerproc *w, char *why, size_t whylen);

/* Waits up to timeout_ms for the child to exit; returns its exit code (128 + signal when
 * killed), or -1 on timeout (the child is then killed with SIGKILL and reaped). */
int workerproc_wait(workerproc *w, int timeout_ms);
/* Sends sig (SIGTERM for a graceful stop, SIGKILL for a crash). */
void workerproc_signal(workerproc *w, int sig);
/* Prints the child's log to stderr (on a failed test). */
void workerproc_dump_log(const workerproc *w);
/* Runs program with --exit-when-idle idle_ms until it exits (at most timeout_ms), failing the
 * current cmocka test (with the log shown) unless it exits 0; group and env as
 * workerproc_start's. Returns how many log lines hold needle (0 when needle is NULL). */
int workerproc_run_until_idle(const char *program, const char *conninfo, const char *bootstrap,
                              const char *group, const char *const *env, int idle_ms,
                              int timeout_ms, const char *needle);
/* Counts lines of its log containing needle. */
int workerproc_log_count(const workerproc *w, const char *needle);
/* Waits up to timeout_ms until a line of its log holds needle; else fails the current cmocka
 * test, with the log shown. */
void workerproc_wait_log(const workerproc *w, const char *needle, int timeout_ms);

#endif
