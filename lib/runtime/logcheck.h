/*
 * logcheck: is the broker's log of a partition still the one a consumer group's stored offsets
 * belong to, are events missing from it, and what the worker does about either
 * (deploy/RUNBOOK.md has the operator's side).
 *
 * A group keeps, per partition, the next offset to read (consumer_offsets.next_offset, S) and a
 * digest of the message it read last, at S - 1 (last_digest). On every assignment the worker asks
 * the broker for the partition's log start L and end H (its watermarks) and plans:
 *
 *   no stored offset, L = 0        RESUME at 0
 *   no stored offset, L > 0        GAP [0, L): the group's first start on a log that no longer
 *                                  begins at 0; those events are gone for this group
 *   S > H                          MISMATCH: the stored offset is past the end of this log, so
 *                                  the log is not the one S was taken from (topic or broker
 *                                  recreated); hold the partition
 *   S < L                          GAP [S, L): retention (or the mock cluster's ~5 MiB per
 *                                  partition) dropped events this group had not consumed
 *   digest stored, L <= S - 1      VERIFY: read from S - 1 and compare that message with the
 *                                  digest; another message there is a MISMATCH (a recreated log
 *                                  that has grown past S, which offsets alone cannot tell)
 *   otherwise                      RESUME at S
 *
 * While running, the consumer never resets a position by itself (the workers set
 * auto.offset.reset=error): a fetch below the log start surfaces as an error and is planned
 * with logcheck_plan_reset (GAP when the position fell below L, MISMATCH when it is past H,
 * else RESUME there). A jump forward between two messages is never taken for a loss: it is
 * normal with transactional producers (control records) and compacted topics. An offset going
 * backwards is a MISMATCH (offsets of one log only grow).
 *
 * What the worker does (lib/runtime/worker.c): a GAP is logged as an error naming topic, partition
 * and the lost range, counted (mni_events_lost_total), recorded in consumer_gaps together with
 * moving the stored offset past it (logcheck_record_gap, one transaction), and the worker is
 * degraded on /healthz until an operator acknowledges every gap of its group (`mni ack-loss`,
 * logcheck_acknowledge). A MISMATCH is logged as an error, shown on /healthz and as
 * mni_partition_stopped, and the partition is held (assigned, never fetched): nothing of the
 * new log is skipped and nothing is read twice, until an operator decides (`mni
 * accept-new-log`, logcheck_accept_new_log, which starts the group at offset 0 of the new log
 * under a new log epoch). A group without stored offsets cannot tell a recreated log; ingest
 * still does, from event_log (ingest/event_store.h), and holds the partition the same way
 * (worker_hold_partition).
 *
 * Errors: the PostgreSQL functions return 0 or -1 with a message in err (pgx.h's idiom).
 */
#ifndef MNI_LOGCHECK_H
#define MNI_LOGCHECK_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LOGCHECK_RESUME,   /* read from `from` */
    LOGCHECK_VERIFY,   /* read from `from` (S - 1) and compare the message there */
    LOGCHECK_GAP,      /* [gap_first, gap_end) gone: record it, read from gap_end */
    LOGCHECK_MISMATCH, /* another log: hold the partition */
} logcheck_action;

typedef struct {
    logcheck_action action;
    int64_t from;               /* RESUME, VERIFY, GAP: where to read from */
    int64_t gap_first, gap_end; /* GAP only */
} logcheck_plan;

/* At assignment: stored is the group's next offset (-1: none), has_digest whether a digest of
 * the message at stored - 1 is kept, [low, high) the broker's log. */
logcheck_plan logcheck_plan_start(int64_t stored, int has_digest, int64_t low, int64_t high);
/* After the broker refused a fetch at position (auto.offset.reset=error). */
logcheck_plan logcheck_plan_reset(int64_t position, int64_t low, int64_t high);

/* 32 hex digits (and a NUL) identifying a message: SHA-256 over its timestamp, key and value. */
#define LOGCHECK_DIGEST_LEN 33
void logcheck_digest(const rd_kafka_message_t *m, char out[LOGCHECK_DIGEST_LEN]);

/* In one transaction of its own: records the gap [first, end) of (group, topic, partition) at
 * log epoch `epoch` in consumer_gaps and moves the group's stored offset from expected (-1: no
 * row) to end, forgetting the digest. Seeing the same gap again extends the row (and asks for a
 * new acknowledgement when it grew). -1 also when another member moved the offset (fenced). */
int logcheck_record_gap(PGconn *pg, const char *group, const char *topic, int32_t partition,
                        int32_t epoch, int64_t expected, int64_t first, int64_t end, char *err,
                        size_t errlen);

/* How many gaps of group are not acknowledged; summary (may be NULL) receives the oldest one
 * ("31 events of incident.events[2], offsets 0..30") or "" when none. */
int logcheck_unacknowledged(PGconn *pg, const char *group, long long *count, char *summary,
                            size_t summary_len, char *err, size_t errlen);

/* Acknowledges open gaps in the name of `by`: the one with id `id`, or all of group (group NULL:
 * of every group) when id is -1. *acked receives how many. */
int logcheck_acknowledge(PGconn *pg, const char *group, long long id, const char *by,
                         long long *acked, char *err, size_t errlen);

/* The operator's answer to a MISMATCH: (group, topic, partition) starts again at offset 0 of the
 * log the broker holds now, under the next log epoch (past the group's and every epoch
 * event_log holds for the partition), digest forgotten; a partition the group has no row for
 * gets one. partition -1: every stored partition of group and topic. *rows receives how many
 * partitions were reset. */
int logcheck_accept_new_log(PGconn *pg, const char *group, const char *topic, int32_t partition,
                            long long *rows, char *err, size_t errlen);

#endif
