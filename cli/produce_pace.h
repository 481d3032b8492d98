/*
 * produce_pace: keeps `mni produce` from running so far ahead of the ingest worker that the
 * broker drops events nobody consumed yet.
 *
 * Why. The embedded broker (librdkafka's mock cluster, devenv/mockbroker.c) keeps about 5 MiB
 * per partition and silently drops the oldest message sets beyond that, consumed or not. A file
 * of 100 manifests of 1,000 tokens for one incident is ~6.5 MB on one partition: sent at once,
 * the first third is gone before mni-ingest reads it (issue 6).
 *
 * How. Before each message, pace admits it only while the bytes on its partition that the
 * consumer group (default mni-ingest) has not consumed yet, this message included, stay within
 * a limit (default 2 MiB, well under 5 MiB: the broker drops whole message sets of up to
 * batch.size = 1 MB, and the newest one is always kept), and at most 50,000 messages (the mock
 * keeps at most 100,000 message sets). The partition of a keyed message is the producer's
 * partitioner's (the `partitioner` property, the topic's partition count from metadata); a
 * message without a key is charged to every partition.
 *
 * What is not consumed is lib/runtime/pace_meter.h's measure, the one the workers pace their
 * own outputs by: the broker's end offsets against the group's next offsets in PostgreSQL
 * (consumer_offsets), the lag taken to be this run's last messages, whose sizes the meter
 * remembers. What is mni produce's own: it measures before the first message (what is unread
 * already counts), and whenever a message does not fit, after delivering everything produced
 * so far (flush), so that the end offsets count it; it measures again every 50 ms until the
 * message fits, says once on stderr that it waits and for whom, and gives up (-1) after
 * `timeout_s` seconds in which the group made no progress (is mni-ingest running?).
 *
 * Real Kafka keeps what its retention says, consumed or not: there `mni produce --no-pace`, or
 * pace.limit.bytes = 0 in its configuration (cmd_produce.c), skips all of this.
 *
 * Ownership: produce_pace_new returns an object produce_pace_free destroys; it borrows rk (the
 * producer's handle) and conninfo, which must outlive it.
 */
#ifndef MNI_CLI_PRODUCE_PACE_H
#define MNI_CLI_PRODUCE_PACE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#define PRODUCE_PACE_DEFAULT_LIMIT (2 * 1024 * 1024)
#define PRODUCE_PACE_DEFAULT_TIMEOUT_S 300

typedef struct produce_pace produce_pace;

/* Delivers everything produced so far; 0 when every message was acknowledged. */
typedef int (*produce_pace_flush_fn)(void *arg, char *err, size_t errlen);

typedef struct {
    rd_kafka_t *rk;          /* the producer's handle (metadata, watermarks, partitioner) */
    const char *topic;       /* where the messages go */
    const char *group;       /* the consumer group to wait for */
    const char *conninfo;    /* PostgreSQL; NULL: $MNI_PG_CONNINFO, else .mni-env/env */
    const char *partitioner; /* the producer's partitioner property ("murmur2_random") */
    int64_t limit_bytes;     /* unconsumed bytes allowed per partition */
    int timeout_s;           /* give up after this long without the group's progress */
    produce_pace_flush_fn flush;
    void *flush_arg;
} produce_pace_opts;

produce_pace *produce_pace_new(const produce_pace_opts *opts, char *err, size_t errlen);
void produce_pace_free(produce_pace *p);

/* Waits until a message of `bytes` (key, value, headers) with key (may be NULL) fits, and
 * counts it as produced: call it right before producing the message. -1 with a message when the
 * group made no progress within the timeout, or PostgreSQL or Kafka could not be asked. */
int produce_pace_admit(produce_pace *p, const void *key, size_t keylen, size_t bytes, char *err,
                       size_t errlen);

/* How many times pace had to wait, and for how long in total (for the final report). */
void produce_pace_stats(const produce_pace *p, long *waits, double *waited_s);

#endif
