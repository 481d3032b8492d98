/*
 * metrics: each worker's Prometheus metrics and health endpoint (DESIGN.md "Operations").
 *
 *   GET /metrics  Prometheus text format: counters of messages consumed, batches committed and
 *                 rolled back, dead letters, outbox rows relayed; the time of the last commit;
 *                 mni_up.
 *   GET /healthz  200 "ok" once the worker holds a partition assignment and its last batch did
 *                 not fail, else 503 with the reason ("starting", "failing").
 *
 * Served by libmicrohttpd on its own thread, on metrics.port (0: no server) at metrics.bind
 * (default 127.0.0.1; 0.0.0.0 to be scraped from elsewhere). Counters are C11 atomics: the
 * worker thread adds, the server thread reads. No label carries event data.
 */
#ifndef MNI_METRICS_H
#define MNI_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    METRICS_MESSAGES,        /* messages consumed from the input topic */
    METRICS_BATCHES_OK,      /* batches committed */
    METRICS_BATCHES_FAILED,  /* batches rolled back (read again) */
    METRICS_DEAD_LETTERS,    /* messages sent to the dead-letter topic */
    METRICS_OUTBOX_RELAYED,  /* outbox rows delivered to Kafka */
    METRICS_COUNTERS
} metrics_counter;

typedef struct metrics metrics;

/* Starts the server; *out is NULL (and 0 returned) when port is 0. */
int metrics_start(const char *component, const char *bind, int port, metrics **out, char *err,
                  size_t errlen);
void metrics_stop(metrics *m);
/* All of these accept NULL (no server) and do nothing then. */
void metrics_add(metrics *m, metrics_counter c, uint64_t n);
void metrics_set_ready(metrics *m, int assigned);
void metrics_batch_done(metrics *m, int ok);

#endif
