/*
 * pace_gate: one output topic of a worker, paced against the consumer group that reads it, so
 * that the embedded broker never drops what that group has not consumed (issue 6 item 5). The
 * measurement is pace_meter.h's; the gate adds when to measure, when to wait and when to go on,
 * and says so (log, metric).
 *
 * Two ways to use it:
 *   - per message (the outbox relay, outbox_pace.h): pace_gate_admit before producing each
 *     message; a message that does not fit closes the gate, and the caller keeps it (and every
 *     later message of the topic) for later. Unconsumed bytes stay within the limit, or one
 *     message when the partition was empty.
 *   - per batch (mni-ingest's forwards to topic.accepted): pace_gate_count after producing each
 *     message, and pace_gate_room before taking the next batch: no room while any partition's
 *     unconsumed bytes exceed the limit. Unconsumed bytes stay within the limit plus one batch.
 *
 * When it measures: only when the estimate (pace_meter.h: the last measure plus what was
 * produced since, which only errs high) says no or nearly, at most every PACE_GATE_POLL_MS,
 * and only between batches or claims, when everything produced has been delivered; and once
 * before the first message, so that a restarted worker counts what it finds unread already.
 * When a closed gate opens again: once every partition that was full has room for half the
 * limit and for the message that did not fit (or is empty), so that a gate under steady
 * pressure opens for a good share of the window, not for every message.
 *
 * Says so: a log line (warn) when it starts waiting, naming the topic, partition, group and
 * bytes (again at most once a minute while it keeps waiting, with the count of waits), one
 * (debug) when it goes on; each wait counts in mni_pace_waits_total{topic} (metrics.h).
 *
 * Configuration (pace_gate_open): pace.limit.bytes (0 turns pacing off) and
 * pace.group.<logical>, the group that reads topic.<logical> (empty: not paced).
 *
 * Threads: a gate belongs to one thread; it borrows the rd_kafka_t, PGconn and metrics given.
 */
#ifndef MNI_PACE_GATE_H
#define MNI_PACE_GATE_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/runtime/config.h"
#include "lib/runtime/metrics.h"

#define PACE_GATE_POLL_MS 50

typedef struct pace_gate pace_gate;

/* The gate of topic.<logical> from the configuration, for a producer whose handle is rk; *out
 * is NULL (and 0 returned) when it is not paced. The topic's partitions are read on first use.
 * -1 with err when a key does not parse. */
int pace_gate_open(const config *cfg, const char *logical, rd_kafka_t *rk, metrics *m,
                   pace_gate **out, char *err, size_t errlen);
void pace_gate_free(pace_gate *g);

/* Per message: 1 when a message of bytes with key fits by the estimate (it is counted as
 * produced), 0 when it must wait (the gate closes, or was closed); -1 with err when the topic's
 * partitions cannot be read. It never measures: messages produced but not yet delivered are
 * not at the broker yet, so a measure in the middle of a claim would miss them; the caller
 * measures between claims (pace_gate_freshen, pace_gate_room). */
int pace_gate_admit(pace_gate *g, const void *key, size_t keylen, size_t bytes, char *err,
                    size_t errlen);
/* Between claims, everything produced delivered: measures an open gate when the estimate has
 * used half the limit on some partition (at most every PACE_GATE_POLL_MS), so that an estimate
 * which only errs high does not close the gate while the reader keeps up. 0, or -1 with err. */
int pace_gate_freshen(pace_gate *g, PGconn *pg, char *err, size_t errlen);
/* Per message: the message just admitted was refused at once (kq_produce failed): not counted. */
void pace_gate_uncount(pace_gate *g, const void *key, size_t keylen, size_t bytes);
/* Per batch: a message of bytes with key was produced. */
void pace_gate_count(pace_gate *g, const void *key, size_t keylen, size_t bytes);
/* Per batch (and for a closed gate of the relay): 1 when no partition holds more than the limit
 * unconsumed (measuring at most every PACE_GATE_POLL_MS when the estimate says it might), 0
 * when the caller must wait; -1 with err when measuring failed. A closed gate opens here again
 * (head comment). Call it when everything produced is delivered (after a commit). */
int pace_gate_room(pace_gate *g, PGconn *pg, char *err, size_t errlen);
/* 1 while closed: the caller waits, and asks pace_gate_room again after PACE_GATE_POLL_MS. */
int pace_gate_closed(const pace_gate *g);
const char *pace_gate_logical(const pace_gate *g);

/* The configuration's pace.limit.bytes (0: pacing off), the one reading of the key that the
 * gates, the workers' batches and `mni produce` share. 0, or -1 with err when it does not
 * parse. */
int pace_limit_bytes(const config *cfg, long long *limit, char *err, size_t errlen);

/* The bytes one batch of a paced input may hold: batch_bytes, or half of pace_limit when
 * pacing is on (pace_limit > 0) and that is less. Whoever feeds the input (mni produce,
 * mni-ingest's gate) stops at pace_limit unconsumed bytes, counted from the committed offsets:
 * a batch that took all of them left nothing to forward until it committed, and the worker
 * then waited for the whole hop before its next batch (W2: a sixth of the run, both processes
 * asleep). At half, the next half arrives while this batch is written. At least 1: one message
 * of any size still makes a batch. */
long long pace_batch_bytes(long long batch_bytes, long long pace_limit);

#endif
