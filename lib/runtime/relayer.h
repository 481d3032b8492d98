/*
 * relayer: the outbox relay (outbox.h) on a thread of its own, off the batch path.
 *
 * Before, a worker relayed its outbox in its own loop after each committed batch: claim, produce,
 * wait for every delivery, mark; the next batch waited for all of it, and so did the delay of
 * every event behind it. The relayer does the same work beside the loop: the worker kicks it
 * after each commit (relayer_kick) and goes on with its next batch at once; the relayer also
 * runs every tick_ms without kicks, so rows another process queued leave too.
 *
 * Delivery guarantees are outbox_relay's, unchanged: rows are claimed FOR UPDATE SKIP LOCKED in
 * the relayer's own transaction, marked published only after every delivery report, and a crash
 * between delivery and mark sends them again (consumers de-duplicate by task id). The relayer
 * has its own PostgreSQL connection (one PGconn per thread, pgx.h) and its own producer, so that
 * the worker's batch, which flushes and checks its producer before it commits (dead letters),
 * neither waits for the relay's messages nor is blamed for one Kafka refuses.
 *
 * Failures: a pass that fails is logged, retried after 100 ms doubling to 5 s (kicks do not
 * shorten the wait), and reported by relayer_ok, which the worker's tick shows on /healthz
 * ("failing: timed work") and in mni_ticks_failed_total. A broken connection is reset before
 * the next pass. relayer_stop makes one last pass (what the last batch queued), then joins.
 *
 * Threads: relayer_kick, relayer_ok and relayer_stop are called from the worker's thread; the
 * relayer's thread touches only its own connection, producer and the state behind its mutex.
 */
#ifndef MNI_RELAYER_H
#define MNI_RELAYER_H

#include <stddef.h>

#include "lib/kafka/kq.h"
#include "lib/runtime/config.h"
#include "lib/runtime/metrics.h"
#include "lib/serdes/schema_set.h"

typedef struct relayer relayer;

typedef struct {
    const char *conninfo;       /* pg.conninfo */
    const char *app;            /* application_name, e.g. "mni-assess-relay" */
    const char *pg_settings;    /* pgx_connect_with's settings, or NULL */
    const kq_prop *kafka_props; /* the producer's librdkafka properties */
    size_t n_kafka_props;
    const config *cfg;         /* topic.* names; must outlive the relayer */
    const schema_set *schemas; /* must outlive the relayer */
    int batch;                 /* rows per claim */
    long long tick_ms;         /* a pass at least this often */
    metrics *metrics;          /* counts METRICS_OUTBOX_RELAYED; may be NULL */
} relayer_spec;

/* Connects, creates the producer and starts the thread; NULL with err set. */
relayer *relayer_start(const relayer_spec *spec, char *err, size_t errlen);
/* Rows were committed: relay them as soon as the thread is free (and not backing off). */
void relayer_kick(relayer *r);
/* 1 when the last pass succeeded (or none ran yet); else 0 with its error in err. */
int relayer_ok(relayer *r, char *err, size_t errlen);
/* One last pass, then stops the thread and closes the connection and the producer (waiting up
 * to 30 s for deliveries). Returns 0, or -1 when the last pass or the producer's close failed.
 * NULL is a no-op returning 0. */
int relayer_stop(relayer *r, char *err, size_t errlen);

#endif
