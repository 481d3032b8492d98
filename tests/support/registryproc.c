/* registryproc: see registryproc.h. */
#include "tests/support/registryproc.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int registryproc_start(registryproc *r, const char *conninfo)
{
    static int seq;
    memset(r, 0, sizeof *r);
    snprintf(r->url_file, sizeof r->url_file, "/tmp/mni-registry-%d-%d.url", (int)getpid(), seq++);
    unlink(r->url_file);
    const char *argv[] = {"registry", "serve", "--port", "0", "--url-file", r->url_file, NULL};
    if (workerproc_start(&r->proc, "mni", conninfo, "", NULL, NULL, argv) != 0) return -1;
    struct timespec step = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 1500; i++) {
        FILE *f = fopen(r->url_file, "r");
        if (f) {
            size_t n = fread(r->url, 1, sizeof r->url - 1, f);
            fclose(f);
            r->url[n] = '\0';
            if (n > 0) return 0;
        }
        if (waitpid(r->proc.pid, NULL, WNOHANG) == r->proc.pid) { /* it exited */
            workerproc_dump_log(&r->proc);
            return -1;
        }
        nanosleep(&step, NULL);
    }
    fprintf(stderr, "mni registry serve did not start:\n");
    workerproc_dump_log(&r->proc);
    workerproc_signal(&r->proc, SIGKILL);
    workerproc_wait(&r->proc, 5000);
    return -1;
}

int registryproc_stop(registryproc *r)
{
    workerproc_signal(&r->proc, SIGTERM);
    int rc = workerproc_wait(&r->proc, 30000);
    if (rc != 0) workerproc_dump_log(&r->proc);
    unlink(r->proc.log_path);
    return rc;
}
