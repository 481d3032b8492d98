/*
 * metrics: each worker's Prometheus metrics and probe endpoints (DESIGN.md "Operations",
 * docs/operators-guide.md "Metrics" lists every series with what to alert on).
 *
 *   GET /metrics  Prometheus text format (every series labelled component="ingest|assess|notify"):
 *                 counters of messages consumed, batches committed and rolled back, outbox rows
 *                 relayed and refused for good (mni_outbox_failed_total: marked failed), failed
 *                 ticks; events by outcome (mni_events_total{outcome}), dead
 *                 letters by reason (mni_dead_letters_total{reason}), PostgreSQL errors by
 *                 SQLSTATE (mni_postgres_errors_total{code}; "connection" when there is none);
 *                 times an output topic waited for the group that reads it (pacing on the
 *                 embedded broker: mni_pace_waits_total{topic}, lib/runtime/pace_gate.h);
 *                 the batch latency histogram (mni_batch_duration_seconds); per partition of
 *                 the input topic, the consumer lag (mni_consumer_lag{topic,partition}: the log
 *                 end from librdkafka's statistics minus the next offset stored in PostgreSQL),
 *                 events found gone from the broker (mni_events_lost_total) and whether it is
 *                 stopped (mni_partition_stopped); gauges read from PostgreSQL by the workers
 *                 that relay or sweep (mni_outbox_unpublished{topic},
 *                 mni_outbox_oldest_age_seconds{topic}, mni_deadlines{state="due_soon|overdue"});
 *                 whether the worker is degraded by unacknowledged loss (mni_degraded), its
 *                 PostgreSQL connection works (mni_database_up), a broker is connected
 *                 (mni_kafka_up); the time of the last commit; mni_up (1 exactly when /healthz
 *                 answers 200) and mni_ready (1 exactly when /readyz does); for ingest, the
 *                 events waiting for their incident to be opened (mni_waiting_events,
 *                 mni_waiting_oldest_seconds, mni_waiting_overdue: longer than
 *                 ingest.waiting.warn.after), shown once metrics_set_waiting was called.
 *   GET /healthz  the alarm: 200 "ok", else 503 with the first reason that applies, one line:
 *                   "database unreachable"   the PostgreSQL connection is broken (reconnecting)
 *                   "starting"               no partition assignment yet
 *                   "stopped: T[P]: why"     a partition is held (a log that is not the one
 *                                            its stored offsets belong to: logcheck.h)
 *                   "failing"                the last batch was rolled back
 *                   "failing: timed work"    the last tick (outbox relay, sweeper) failed
 *                   "degraded: what"         events were lost from the broker and no operator
 *                                            has acknowledged it yet (`mni ack-loss`)
 *   GET /readyz   readiness (Kubernetes readinessProbe): 200 "ready" while the worker has its
 *                 partitions and is connected, else 503 with the first reason: "database
 *                 unreachable", "kafka unreachable" (no broker connection: librdkafka's
 *                 statistics or an all-brokers-down error), "not assigned" (no partitions: a
 *                 member beyond the topic's partition count, or a rebalance under way).
 *   GET /livez    liveness (Kubernetes livenessProbe): 200 "alive" while the worker's loop has
 *                 turned within METRICS_LIVE_TIMEOUT_S, else 503 "stuck: ...". Only a wedged
 *                 loop fails it: a restart cannot mend what /healthz reports (a database
 *                 down, a held partition, an unacknowledged loss) and would cost the whole
 *                 group a rebalance, so /healthz is for alerts, not for restarts.
 *
 * Served by libmicrohttpd on its own thread, on metrics.port (0: no server) at metrics.bind
 * (default 127.0.0.1; 0.0.0.0 to be scraped from elsewhere). Plain counters are C11 atomics; the
 * labelled series and the reason strings sit behind a mutex. The worker thread writes, the
 * server thread reads; the PostgreSQL gauges are written by the worker's tick (worker.h), never
 * queried by a scrape. Labels carry topic names, partition numbers, outcomes, reasons and
 * SQLSTATEs only, never event data.
 */
#ifndef MNI_METRICS_H
#define MNI_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    METRICS_MESSAGES,       /* messages consumed from the input topic */
    METRICS_BATCHES_OK,     /* batches committed */
    METRICS_BATCHES_FAILED, /* batches rolled back (read again) */
    METRICS_OUTBOX_RELAYED, /* outbox rows delivered to Kafka */
    METRICS_OUTBOX_FAILED,  /* outbox rows Kafka refused for good (marked failed) */
    METRICS_TICKS_FAILED,   /* ticks (outbox relay, sweeper, connection check) that failed */
    METRICS_COUNTERS
} metrics_counter;

/* Counters with one label; each label value is a series of its own. */
typedef enum {
    METRICS_EVENTS,       /* mni_events_total{outcome}: committed input by what became of it */
    METRICS_DEAD_LETTERS, /* mni_dead_letters_total{reason} */
    METRICS_PG_ERRORS,    /* mni_postgres_errors_total{code}: SQLSTATE, or "connection" */
    METRICS_PACE_WAITS,   /* mni_pace_waits_total{topic}: an output waited for its reader */
    METRICS_FAMILIES
} metrics_family;

/* /livez fails when the worker's loop has not turned for this long: longer than any batch may
 * take (a flush waits at most 30 s, a statement as long as PostgreSQL lets it). */
#define METRICS_LIVE_TIMEOUT_S 300

typedef struct metrics metrics;

/* Starts the server; *out is NULL (and 0 returned) when port is 0. */
int metrics_start(const char *component, const char *bind, int port, metrics **out, char *err,
                  size_t errlen);
void metrics_stop(metrics *m);
/* All of these accept NULL (no server) and do nothing then. */
void metrics_add(metrics *m, metrics_counter c, uint64_t n);
/* Adds n to family's series label (copied; at most METRICS_LABELS_MAX values per family, the
 * rest are counted under "other"). */
void metrics_count(metrics *m, metrics_family f, const char *label, uint64_t n);
void metrics_set_ready(metrics *m, int assigned);
void metrics_batch_done(metrics *m, int ok);
/* A batch took seconds, from consumed to committed or rolled back. */
void metrics_batch_seconds(metrics *m, double seconds);
/* A tick ended (ok 0 counts METRICS_TICKS_FAILED). */
void metrics_tick_done(metrics *m, int ok);
/* The PostgreSQL connection works (1) or is broken (0). */
void metrics_set_database(metrics *m, int up);
/* A broker connection is up (1) or none is (0). */
void metrics_set_kafka(metrics *m, int up);
/* The worker's loop turned (for /livez). */
void metrics_alive(metrics *m);
/* n events of topic[partition] were found gone from the broker. */
void metrics_events_lost(metrics *m, const char *topic, int32_t partition, uint64_t n);
/* topic[partition] is held for why (copied), or runs again when why is NULL. */
void metrics_partition_stopped(metrics *m, const char *topic, int32_t partition, const char *why);
/* Messages of topic[partition] not yet committed by this group; lag < 0 drops the series. */
void metrics_set_lag(metrics *m, const char *topic, int32_t partition, int64_t lag);
/* Drops every lag series (the partitions were revoked). */
void metrics_clear_lag(metrics *m);
/* Degraded by unacknowledged loss, described by why (copied); NULL: not degraded. */
void metrics_set_degraded(metrics *m, const char *why);
/* Events waiting for their incident to be opened (ingest): how many, the age of the oldest in
 * seconds, how many wait longer than the configured time. */
void metrics_set_waiting(metrics *m, uint64_t events, int64_t oldest_age_s, uint64_t overdue);
/* The outbox rows of logical topic not yet published, and the age of the oldest (0 if none). */
void metrics_set_outbox(metrics *m, const char *topic, long long unpublished, double oldest_s);
/* Open deadlines that end within the next METRICS_DUE_SOON_HOURS, and those already over. */
void metrics_set_deadlines(metrics *m, long long due_soon, long long overdue);

#define METRICS_LABELS_MAX 64
#define METRICS_DUE_SOON_HOURS 24

#endif
