/*
 * registryproc: the embedded schema registry (`mni registry serve`) as a child process of a
 * test, on a database of the test's own (migrated) and a port the kernel picks, so that ids
 * start from 1 and each test sees only what it registered.
 */
#ifndef MNI_REGISTRYPROC_H
#define MNI_REGISTRYPROC_H

#include "tests/support/workerproc.h"

typedef struct {
    workerproc proc;
    char url_file[256];
    char url[128]; /* http://127.0.0.1:PORT once started */
} registryproc;

/* Starts it and waits (up to 30 s) until it listens; 0, or -1 with its log on stderr. */
int registryproc_start(registryproc *r, const char *conninfo);
/* SIGTERM and wait; returns its exit status (0 after a clean stop). */
int registryproc_stop(registryproc *r);

#endif
