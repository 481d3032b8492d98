/*
 * outbox_pace: the outbox relay (outbox.h) paced against the consumer groups that read what it
 * sends, so that the embedded broker never drops a task mni-notify has not read (issue 6 item
 * 5: a full-scale run lost 38,000 notify tasks that way). One pace_gate (pace_gate.h) per
 * logical topic with a pace.group.<logical> (by default tasks -> mni-notify; assessments and
 * tickets are read by ops and downstream systems, not by our groups: not paced unless set).
 *
 * How the relay uses it: before each claim, outbox_pace_refresh measures the closed topics (at
 * most every PACE_GATE_POLL_MS) and opens those whose group has read enough; the claim leaves
 * out the rows of the topics still closed (outbox_pace_closed_list), so they simply stay
 * queued in outbox_queue, durable in PostgreSQL, and the rows of the other topics are not held
 * behind them (nor does the claim read them: it reads the queue by topic, migration 0145).
 * Each message is admitted before it is produced (outbox_pace_admit); one that does not fit
 * closes its topic, and it and the claim's later rows of that topic are put back
 * in the queue (with their created_at: the order they leave in is unchanged). No transaction or
 * claim stays open while a topic waits. A topic waits as a whole: the claim cannot tell a row's
 * partition (the producer's partitioner computes it from the key), so a topic waits while any
 * of its partitions is full, which with one group reading every partition is the same wait.
 *
 * Every relay keeps its own estimate (mni-assess's relayer and mni-notify's tick both relay the
 * queue, and both pace tasks against mni-notify): each measures what is unread, but what the
 * other sent since its last measure it sees only at its next one, so with both sending at once
 * the bound holds per relay (the default 2 MiB is well under the mock's 5 MiB for that).
 *
 * The relay's caller wakes every PACE_GATE_POLL_MS while outbox_pace_waiting, to refresh.
 * NULL (nothing paced: pace.limit.bytes = 0, or no topic with a group) is accepted everywhere.
 * Threads: one relay's; it borrows the rd_kafka_t and PGconn given.
 */
#ifndef MNI_OUTBOX_PACE_H
#define MNI_OUTBOX_PACE_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "lib/runtime/config.h"
#include "lib/runtime/metrics.h"

typedef struct outbox_pace outbox_pace;

/* The relay's gates for a producer whose handle is rk; *out NULL (0 returned) when nothing is
 * paced. -1 with err when a pace.* key does not parse. */
int outbox_pace_open(const config *cfg, rd_kafka_t *rk, metrics *m, outbox_pace **out, char *err,
                     size_t errlen);
void outbox_pace_free(outbox_pace *op);
/* Before a claim (everything produced delivered): measures the closed topics when due and opens
 * those with room, and measures an open one whose estimate is half used (pace_gate_freshen).
 * 1 when one opened, 0 when none did, -1 with err when measuring failed. */
int outbox_pace_refresh(outbox_pace *op, PGconn *pg, char *err, size_t errlen);
/* The logical topics closed now, as a PostgreSQL text[] literal ("{tasks}"; "{}" for none). */
const char *outbox_pace_closed_list(outbox_pace *op);
/* 1 when a message of bytes with key on logical topic may be produced now (counted), 0 when it
 * must stay queued, -1 with err when measuring failed. */
int outbox_pace_admit(outbox_pace *op, const char *logical, const char *key, size_t keylen,
                      size_t bytes, char *err, size_t errlen);
/* The message just admitted was refused by kq_produce at once: not counted after all (a message
 * refused for good would otherwise fill the estimate at every try). */
void outbox_pace_uncount(outbox_pace *op, const char *logical, const char *key, size_t keylen,
                         size_t bytes);
/* 1 while a topic is closed. */
int outbox_pace_waiting(const outbox_pace *op);

#endif
