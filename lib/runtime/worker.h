/*
 * worker: the loop the three workers share (DESIGN.md "How it stays correct").
 *
 *   consume a batch -> BEGIN -> spec.process (writes results, produces dead letters or
 *   forwards) -> every produced message flush-checked -> consumer offsets advanced by
 *   compare-and-set -> COMMIT -> spec.tick (outbox relay, sweeper)
 *
 * Batch lifecycle (each edge names the function in worker.c that performs it):
 *
 *   IDLE      --kq_consume_batch, screen_batch------------> IN HAND   (messages read, nothing
 *                                                                       applied)
 *   IN HAND   --pgx_begin (run_batch_with)----------------> OPEN      (transaction open)
 *   OPEN      --spec.process------------------------------> APPLIED   (results written, dead
 *                                                                       letters/forwards queued)
 *   APPLIED   --kq_producer_flush_checked-----------------> DELIVERED (broker acknowledged all)
 *   DELIVERED --advance_offsets (compare-and-set)---------> FENCED?   (0 rows: stale member)
 *   DELIVERED --pgx_commit, arena_reset-------------------> COMMITTED (offsets moved with the
 *                                                                       results)
 *   COMMITTED --run_tick----------------------------------> IDLE
 *   any state before COMMITTED, on failure
 *             --pgx_rollback, arena_reset, kq_seek_batch, rewind_positions, backoff
 *                                                        --> IDLE (same batch again)
 *   failure because Kafka refused a produced message
 *             --run_one_by_one--> one IN HAND..COMMITTED per message; the refused one is
 *                                 dead-lettered alone (process_undeliverable)
 *
 * Memory of a batch: the loop owns one arena (worker_batch_arena) for the scratch memory of the
 * batch in hand; spec.process takes from it what it needs only until the batch ends, and the
 * loop resets it after each commit and each rollback (in run_batch_with, so a message applied
 * alone after a refusal gets it reset too). What lives longer (decoded events reused across
 * batches, prepared state) stays in the worker's own context.
 *
 * Effectively once into PostgreSQL: the consumer's offsets live in consumer_offsets and move
 * in the same transaction as the batch's results. On assignment the loop seeks to the stored
 * offsets. The update is `... SET next_offset = new WHERE next_offset = expected`, with
 * `expected` what this member loaded or last committed: a stale member (its partitions moved
 * on) updates no row and its whole transaction is rolled back. A fenced member then takes the
 * stored offsets as they are and reads on from them (whoever moved them applied what lies
 * below), rather than retrying against an offset that no longer matches. Any failure before COMMIT
 * rolls back and rewinds the consumer to the batch's first offsets, so the batch is read again.
 * Messages produced inside a batch (dead letters, forwards) are delivered before COMMIT, so a
 * crash can repeat them but never lose them; consumers de-duplicate by id.
 * One message only ever costs itself: when a batch fails because Kafka refused a message it
 * produced for what that message is (too large, invalid; kq_producer_take_refused), the batch
 * is applied again message by message, each in its own transaction, and the message whose
 * output is refused is dead-lettered alone (reason undeliverable, without value and headers,
 * its origin as the reference) while the partition goes on. Other failures (PostgreSQL or the
 * broker down) roll back and retry the batch with backoff, never dead-letter.
 *
 * Lifecycle: worker_main parses the command line (--config FILE, --print-config, --help,
 * --exit-when-idle MS), loads the configuration (config.h), connects to PostgreSQL (waiting
 * with backoff, logged, while it is unreachable: a worker restarted during an outage starts
 * once it is back) and Kafka,
 * runs the loop until SIGTERM or SIGINT, then finishes the batch in hand, commits, closes the
 * consumer (leaving the group) and flushes the producer.
 * Configuration it reads: group.id (default mni-<component>), batch.size, batch.ms (a batch
 * ends once nothing more is queued for it; batch.ms caps its wait for more: kq_consume_batch),
 * batch.bytes (at most half of pace.limit.bytes while pacing is on: pace_batch_bytes), tick.ms
 * (default 1000), metrics.port and metrics.bind (metrics.h: /metrics,
 * /healthz, /readyz, /livez),
 * metrics.gauges_ms (default 15000: how often the tick reads the PostgreSQL gauges), the input
 * topic key, pg.conninfo, pg.synchronous_commit (default off, sent with every connection: a
 * lost commit is read again from Kafka, deploy/mni.conf), kafka.* (kafka.auto.offset.reset is
 * refused unless it is "error"), log.level, and the crash-test knob
 * test.pause_before_commit_ms (default 0: never set it in production).
 * The broker's log (lib/runtime/logcheck.h): on every assignment each partition's stored offset is
 * checked against the broker's log start and end and, by re-reading the message before it,
 * against the log it was taken from; the consumer runs with auto.offset.reset=error, so a
 * position the broker no longer has is never moved silently. Events found gone are logged as an
 * error, counted and recorded (consumer_gaps); the worker is then degraded on /healthz until an
 * operator acknowledges them (`mni ack-loss`). A partition whose log is not the one its offsets
 * belong to (a recreated topic or broker) is held: never read, never skipped, shown on /healthz,
 * until an operator decides (deploy/RUNBOOK.md).
 * Timed work (spec.tick, or a connection check for a worker without one) runs every tick.ms
 * when idle and after each commit; it first reconnects PostgreSQL when the connection broke, and
 * a failure is retried with backoff and shown on /healthz (metrics.h).
 * Metrics (metrics.h): what a batch counts (events by outcome, dead letters by reason) is kept
 * aside while it runs and added only when it commits, so a batch read again is counted once.
 * Consumer lag comes from librdkafka's statistics (kq_stats: the log end of each assigned
 * partition) minus the next offset stored in PostgreSQL. With metrics on, the tick reads the
 * gauges spec.gauges asks for from PostgreSQL every metrics.gauges_ms (one indexed query each,
 * between batches, never inside one, also after a failed tick; a failure is logged and counted,
 * the tick goes on).
 * Exit codes: 0 stopped cleanly, 1 runtime failure (PostgreSQL or Kafka lost for good), 2 bad
 * usage or configuration.
 */
#ifndef MNI_WORKER_H
#define MNI_WORKER_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "lib/base/arena.h"
#include "lib/kafka/kq.h"
#include "lib/runtime/config.h"
#include "lib/runtime/metrics.h"
#include "lib/serdes/schema_set.h"

typedef struct worker worker;

/* PostgreSQL gauges a worker publishes (spec.gauges): the outbox's backlog and age (the workers
 * that relay it) and the deadlines due soon and overdue (the one that sweeps them). */
#define WORKER_GAUGE_OUTBOX 1u
#define WORKER_GAUGE_DEADLINES 2u

typedef struct {
    const char *component;   /* "ingest": logs, application_name, group id "mni-ingest" */
    const char *summary;     /* one line for --help */
    const char *input_topic; /* config key of the topic consumed, e.g. "topic.events" */
    /* The worker's own keys with their defaults, {key, value} pairs ending with {NULL}: known
     * before the file and the environment are read, so MNI_<KEY> overrides them and
     * --print-config shows them. May be NULL. */
    const char *const (*defaults)[2];
    /* After connecting, before consuming: prepare statements and the like. May be NULL. */
    int (*start)(worker *w, void *ctx, char *err, size_t errlen);
    /* Handles one batch inside an open transaction. Return 0 to commit, -1 to roll back and
     * read the batch again (after a pause). */
    int (*process)(worker *w, void *ctx, rd_kafka_message_t **msgs, size_t n, char *err,
                   size_t errlen);
    /* After each commit and every tick.ms when idle, outside any transaction (the outbox
     * relay, the sweeper). May be NULL. Return -1 to log the error and try again later. */
    int (*tick)(worker *w, void *ctx, char *err, size_t errlen);
    unsigned gauges; /* WORKER_GAUGE_* */
} worker_spec;

/* Relays the outbox on a thread of its own (relayer.h), kicked after each commit, instead of
 * in the loop; call from spec.start. schemas must outlive the worker. Its failures show as the
 * tick's (/healthz "failing: timed work"); worker_main stops it after a last pass. */
int worker_start_relay(worker *w, const schema_set *schemas, int batch, char *err, size_t errlen);

/* Holds the input while gate(w, arg) answers 0 (pacing: mni-ingest waits for the group that
 * reads what it forwards, lib/runtime/pace_gate.h). The loop asks before each batch, outside
 * any transaction; while it answers 0 the input partitions are paused (rd_kafka_pause_partitions:
 * nothing is fetched; resumed from the next offset the worker expects) and the loop keeps
 * polling the consumer, so the member stays in its group, serves rebalances and runs its timed
 * work; a paused worker does not count as idle (--exit-when-idle). Call from spec.start. */
typedef int (*worker_gate_fn)(worker *w, void *arg);
void worker_set_input_gate(worker *w, worker_gate_fn gate, void *arg);

/* Runs the worker; returns the process exit code. */
int worker_main(int argc, char **argv, const worker_spec *spec, void *ctx);

/* The settings every PostgreSQL session of a worker (its own, its relay's) is opened with:
 * synchronous_commit from pg.synchronous_commit when set (else the server's), and jit off.
 * JIT: once the tables grow, the planner's cost estimates for the batch statements pass
 * jit_above_cost and each execution spent 5-20 ms compiling a statement that runs in a few
 * (full-size W3: 1,575 compiled among the statements over 8 ms; the relay's claim took 22 ms a
 * call on average, 6.7 without JIT and with the reads of d204c29); these statements never run
 * long enough for compiled code to pay back. */
void worker_pg_settings(const char *synchronous_commit, char *out, size_t outlen);

PGconn *worker_pg(worker *w);
/* One more session with the worker's connection string and settings, its application_name
 * "mni-<component>-<role>"; NULL with err set when it cannot connect (not retried). The caller
 * owns it (pgx_close). */
PGconn *worker_pg_connect(worker *w, const char *role, char *err, size_t errlen);
kq_producer *worker_producer(worker *w);
const config *worker_config(worker *w);
/* The physical topic name of a logical config key ("topic.dlq"). */
const char *worker_topic(const worker *w, const char *key);
/* The worker's metrics (NULL when metrics.port is 0; every metrics_* call accepts NULL). */
metrics *worker_metrics(worker *w);
/* The batch arena: scratch memory for spec.process, valid until the batch in hand commits or
 * rolls back (then reset by the loop). Not for anything kept across batches. */
mni_arena *worker_batch_arena(worker *w);
/* Adds to one of the worker's Prometheus counters (metrics.h), e.g. outbox rows relayed. */
void worker_count(worker *w, metrics_counter c, uint64_t n);
/* From spec.process: n messages of the batch had this outcome (a constant such as "accepted",
 * "replayed", "rendered", "duplicate"); counted in mni_events_total if the batch commits.
 * Dead letters count themselves (outcome dead_lettered); the rest of a batch counts as
 * "processed". */
void worker_outcome(worker *w, const char *outcome, uint64_t n);
/* The log epoch of a partition of the input topic (consumer_offsets.log_epoch, 0 for the log
 * the group started on; logcheck.h): ingest records it with each event's origin. */
int32_t worker_log_epoch(const worker *w, int32_t partition);
/* From spec.process: partition of the input topic holds another log than the worker's results
 * came from (ingest: an origin in event_log holds another event). Holds it (logged, /healthz,
 * mni_partition_stopped; logcheck.h) until the next rebalance; process then returns -1, and
 * the batch is read again without that partition's messages. why is copied. */
void worker_hold_partition(worker *w, int32_t partition, const char *why);
/* True once SIGTERM or SIGINT arrived. */
int worker_stopping(const worker *w);

/* Sends m to the dead-letter topic with the reason and its origin (kq_produce_dlq); logs it.
 * Every byte is screened first (dlq.h): a part holding a raw My Number, or too large to send,
 * is withheld and the dead letter says so; flags are the parts the reason itself withholds. */
int worker_dead_letter(worker *w, const rd_kafka_message_t *m, const char *reason,
                       const char *detail, unsigned flags, char *err, size_t errlen);

#endif
