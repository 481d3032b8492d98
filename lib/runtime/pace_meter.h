/*
 * pace_meter: how many bytes of one topic's partitions a consumer group has not consumed yet:
 * what the workers' own producers pace themselves by (pace_gate.h), and `mni produce` too
 * (cli/produce_pace.h).
 *
 * Why. The embedded broker (librdkafka's mock cluster, devenv/mockbroker.c) keeps about 5 MiB
 * per partition and drops the oldest, read or not: a producer that runs more than that ahead of
 * the group reading the topic loses events (issue 6 item 5).
 *
 * What is not consumed, per partition: the group's lag in messages is the broker's end offset
 * (high watermark, one request per partition) minus the group's next offset, which the workers
 * keep in PostgreSQL (consumer_offsets; the log start when the group has no row yet). Those
 * last `lag` messages are taken to be this producer's own last ones, whose sizes the meter
 * remembers (the last PACE_METER_RING - 1 of each partition); lag beyond them (another producer,
 * a restart) counts at this producer's average size (1 KiB before the first). Between two
 * measures every message counted is added to its partition: an estimate that only errs high,
 * since the group only moves forward. A message's bytes are its key, value and headers.
 *
 * Partitions: the count comes from the topic's metadata (asked once, at pace_meter_new); a
 * key's partition is the producer's: librdkafka's murmur2_random (kq.h: the workers'
 * partitioner), or the one pace_meter_use_partitioner names. A message whose partition does not
 * follow from its key (no key or an empty one, or the random partitioner) may go to any
 * partition: it is charged to every one (PACE_METER_EVERY), and counts once in the average.
 *
 * Errors: pace_meter_new and pace_meter_measure return NULL / -1 with a message naming the
 * topic and the group. Threads: one meter belongs to one thread (it borrows that thread's
 * rd_kafka_t and PGconn). Ownership: pace_meter_free; it borrows rk, which must outlive every
 * call but pace_meter_free (which touches nothing of librdkafka's).
 */
#ifndef MNI_PACE_METER_H
#define MNI_PACE_METER_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#define PACE_METER_RING 8192          /* message sizes remembered per partition */
#define PACE_METER_MAX_MESSAGES 50000 /* the mock keeps at most 100,000 message sets */

/* The "partition" of a message that may go to any: charged to (and must fit) every one. */
#define PACE_METER_EVERY (-1)

typedef struct pace_meter pace_meter;

/* A meter of topic for group, allowing limit_bytes unconsumed per partition. rk: a producer's
 * handle (metadata, watermarks, partitioner). NULL with err when the topic's partitions cannot
 * be read. */
pace_meter *pace_meter_new(rd_kafka_t *rk, const char *topic, const char *group,
                           int64_t limit_bytes, char *err, size_t errlen);
void pace_meter_free(pace_meter *m);

int32_t pace_meter_partitions(const pace_meter *m);
/* The producer's `partitioner` property (librdkafka's names; NULL or empty: murmur2_random).
 * Under one that ignores keys (random) every message is charged to every partition. */
void pace_meter_use_partitioner(pace_meter *m, const char *name);
/* The partition a message with this key goes to (the producer's partitioner), or
 * PACE_METER_EVERY when it may go to any. */
int32_t pace_meter_partition(const pace_meter *m, const void *key, size_t keylen);
/* A message of bytes was produced to partition (or PACE_METER_EVERY). */
void pace_meter_count(pace_meter *m, int32_t partition, size_t bytes);
/* The last message counted on partition, of bytes, was not produced after all (refused). */
void pace_meter_uncount(pace_meter *m, int32_t partition, size_t bytes);
/* The bytes of partition not consumed yet: the last measure plus what was counted since. */
int64_t pace_meter_pending(const pace_meter *m, int32_t partition);
/* The first partition on which one more message of bytes to partition (PACE_METER_EVERY: to
 * any) does not fit, or -1 when it fits: within the limit in bytes and in messages, or the
 * partition is empty (an empty partition takes any one message). */
int32_t pace_meter_full(const pace_meter *m, int32_t partition, size_t bytes);
/* Measures every partition again (see the head comment): PostgreSQL, then the broker. Call it
 * once what was counted is delivered (the flush before a commit). 0, or -1 with err. */
int pace_meter_measure(pace_meter *m, PGconn *pg, char *err, size_t errlen);
/* Monotonic milliseconds of the last measure (0: never). */
double pace_meter_measured_at(const pace_meter *m);
/* The sum over partitions of the group's position at the last measure: its progress. */
int64_t pace_meter_position_sum(const pace_meter *m);
int64_t pace_meter_limit(const pace_meter *m);
const char *pace_meter_topic(const pace_meter *m);
const char *pace_meter_group(const pace_meter *m);

#endif
