/*
 * metrics: each worker's Prometheus metrics and health endpoint (DESIGN.md "Operations").
 *
 *   GET /metrics  Prometheus text format: counters of messages consumed, batches committed and
 *                 rolled back, dead letters, outbox rows relayed and refused for good (marked
 *                 failed), failed ticks; per partition, events found gone from the broker
 *                 (mni_events_lost_total{topic,partition}) and whether the partition is
 *                 stopped (mni_partition_stopped); whether the
 *                 worker is degraded by unacknowledged loss (mni_degraded), whether its
 *                 PostgreSQL connection works (mni_database_up); the time of the last commit;
 *                 mni_up (1 exactly when /healthz answers 200); for ingest, the events waiting
 *                 for their incident to be opened: mni_waiting_events,
 *                 mni_waiting_oldest_seconds, mni_waiting_overdue (waiting longer than
 *                 ingest.waiting.warn.after), shown once metrics_set_waiting was called.
 *   GET /healthz  200 "ok", else 503 with the first reason that applies, one line:
 *                   "database unreachable"   the PostgreSQL connection is broken (reconnecting)
 *                   "starting"               no partition assignment yet
 *                   "stopped: T[P]: why"     a partition is held (a log that is not the one
 *                                            its stored offsets belong to: logcheck.h)
 *                   "failing"                the last batch was rolled back
 *                   "failing: timed work"    the last tick (outbox relay, sweeper) failed
 *                   "degraded: what"         events were lost from the broker and no operator
 *                                            has acknowledged it yet (`mni ack-loss`)
 *
 * Served by libmicrohttpd on its own thread, on metrics.port (0: no server) at metrics.bind
 * (default 127.0.0.1; 0.0.0.0 to be scraped from elsewhere). Plain counters are C11 atomics; the
 * per-partition series and the reason strings sit behind a mutex. The worker thread writes, the
 * server thread reads. Labels carry topic names and partition numbers only, never event data.
 */
#ifndef MNI_METRICS_H
#define MNI_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    METRICS_MESSAGES,       /* messages consumed from the input topic */
    METRICS_BATCHES_OK,     /* batches committed */
    METRICS_BATCHES_FAILED, /* batches rolled back (read again) */
    METRICS_DEAD_LETTERS,   /* messages sent to the dead-letter topic */
    METRICS_OUTBOX_RELAYED, /* outbox rows delivered to Kafka */
    METRICS_OUTBOX_FAILED,  /* outbox rows Kafka refused for good (marked failed) */
    METRICS_TICKS_FAILED,   /* ticks (outbox relay, sweeper, connection check) that failed */
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
/* A tick ended (ok 0 counts METRICS_TICKS_FAILED). */
void metrics_tick_done(metrics *m, int ok);
/* The PostgreSQL connection works (1) or is broken (0). */
void metrics_set_database(metrics *m, int up);
/* n events of topic[partition] were found gone from the broker. */
void metrics_events_lost(metrics *m, const char *topic, int32_t partition, uint64_t n);
/* topic[partition] is held for why (copied), or runs again when why is NULL. */
void metrics_partition_stopped(metrics *m, const char *topic, int32_t partition, const char *why);
/* Degraded by unacknowledged loss, described by why (copied); NULL: not degraded. */
void metrics_set_degraded(metrics *m, const char *why);
/* Events waiting for their incident to be opened (ingest): how many, the age of the oldest in
 * seconds, how many wait longer than the configured time. */
void metrics_set_waiting(metrics *m, uint64_t events, int64_t oldest_age_s, uint64_t overdue);

#endif
