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
#include <stdbool.h>
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

/* The cursor. While a topic waits, each claim reads the other topics' oldest queue rows; every
 * row relayed since the last vacuum leaves a dead entry before them in outbox_queue_topic, and a
 * claim from the start of a topic walks them all (a full-size W3: 3,700 to 3,900 index pages, 8
 * to 10 ms a claim, bench/README.md). So the relay remembers, per open topic, a floor: the
 * oldest created_at its last claim took, or the database's clock when it found none, less
 * OUTBOX_PACE_MARGIN_MS; the next claims read each topic from its floor on. A row under its
 * floor that was not taken is one whose transaction committed more than the margin after its
 * created_at, one another relay's claim held and then put back, or one pacing put back: every
 * OUTBOX_PACE_FULL_MS, and whenever the closed topics change or a claim rolled back, the claim
 * reads from the start again (as before: topics present by a skip scan), so such a row waits
 * that long at most and none is left behind. Unknown topics, too, are seen by those claims. A
 * claim without the compacted topics' lock (outbox.h) reads the other topics from their floors
 * and leaves the compacted ones' floors as they were; one of its from the start drops them, so
 * the next claim with the lock reads those topics from the start. */
#define OUTBOX_PACE_MARGIN_MS 5000
#define OUTBOX_PACE_FULL_MS 1000
/* 1 with the open topics (a text[] literal) and their floors (epoch seconds, a float8[]
 * literal, in the same order) when the next claim may read from the floors; 0 when it must
 * read from the start. compacted: the claim holds the compacted topics' lock (outbox.h);
 * without it they are left out. */
int outbox_pace_cursor(outbox_pace *op, bool compacted, const char **open, const char **floors);
/* After a claim (commit pending): full when it read from the start; compacted as above;
 * db_now_ms the database's clock before it; res its rows, with each row's logical topic and
 * created_at (ms) in the columns given; cut when it took its whole batch (a topic without rows
 * may have had some). Only the floors of the topics the claim read move. */
void outbox_pace_claimed(outbox_pace *op, int full, bool compacted, long long db_now_ms,
                         PGresult *res, int topic_col, int created_ms_col, int cut);
/* After a claim rolled back: the next one reads from the start. */
void outbox_pace_forget(outbox_pace *op);

#endif
