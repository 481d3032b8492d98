/*
 * kq: the Kafka layer every worker shares (producer, consumer, dead letters, headers).
 *
 * What it is for. The workers read one topic, write PostgreSQL, and produce to others. kq wraps
 * librdkafka (Debian's 2.0.2) so that the guarantees of DESIGN.md "How it stays correct" hold in
 * one place instead of three:
 *
 *   - PostgreSQL is the consumer's offset store. kq never commits offsets to Kafka: auto commit
 *     and the automatic offset store are off and cannot be switched on. On every assignment the
 *     rebalance callback asks the worker for the next offset of each partition (load_offsets,
 *     which reads PostgreSQL) and assigns the partitions at exactly those offsets. A batch whose
 *     PostgreSQL transaction failed is rewound with kq_seek_batch() and consumed again.
 *   - The eager "range" assignor only: cooperative rebalancing had several bugs fixed only after
 *     2.0.2, and with eager rebalancing a revocation always takes every partition, which keeps the
 *     rule below simple.
 *   - A batch never spans a revocation. When partitions are revoked while kq_consume_batch() is
 *     collecting, the messages collected so far are destroyed (their offsets were not stored, so
 *     whoever owns the partitions next reads them again from PostgreSQL's offsets). A batch can
 *     therefore never hold the same offset twice.
 *   - Every delivery is checked. The producer is idempotent with acks=all; its delivery-report
 *     callback counts successes and failures, and kq_producer_flush_checked() returns -1 unless
 *     every message produced since the previous check was delivered. Nothing is assumed.
 *   - The producer's default partitioner is murmur2_random, the Java client's hash, so that an
 *     incident's events land on the same partition whichever client (ours or an ops tool)
 *     produced them. librdkafka's own default (consistent_random, CRC32) would split them.
 *   - Bad input goes to a dead-letter topic with its origin in headers (kq_produce_dlq()).
 *
 * Configuration. The caller passes librdkafka properties as key/value pairs (its `kafka.*`
 * config keys with the prefix stripped). kq applies its defaults first, then the caller's pairs,
 * then checks the properties its guarantees rest on; an error names the property:
 *
 *   consumer: enable.auto.commit=false (fixed), enable.auto.offset.store=false (fixed),
 *             partition.assignment.strategy=range (range or roundrobin; no cooperative-sticky),
 *             auto.offset.reset=earliest (the workers set error: lib/runtime/logcheck.h),
 *             isolation.level=read_committed, queued.max.messages.kbytes=16384,
 *             queued.min.messages=10000, fetch.max.bytes=8388608 (memory bounded on
 *             purpose: a lagging consumer's backlog stays in Kafka), fetch.wait.max.ms=20
 *             (the embedded broker holds an empty fetch that long: kq.c),
 *             socket.nagle.disable=true; group.id is required.
 *   producer: enable.idempotence=true (fixed), acks=all (fixed), partitioner=murmur2_random,
 *             queue.buffering.max.kbytes=65536, message.max.bytes=KQ_MESSAGE_MAX_BYTES,
 *             socket.nagle.disable=true (a request over one TCP segment is not held up to
 *             40 ms by Nagle's algorithm and delayed ACKs: kq.c).
 *
 * Message sizes, set together (README "Limits", deploy/mni.conf): a framed event is at most
 * WIRE_MAX_MESSAGE (1 MiB, wire.h); what the workers send is at most that plus a key and
 * headers (a dead letter's parts are bounded by dlq.h to fit), so the producer may send
 * KQ_MESSAGE_MAX_BYTES = 1 MiB + 64 KiB, and the topics must accept at least that plus the
 * record batch's framing: max.message.bytes = KQ_TOPIC_MAX_MESSAGE_BYTES (1 MiB + 128 KiB,
 * deploy/create-topics.sh). The producer refuses a larger message itself, at once, rather than
 * the broker after sending it.
 *
 * Threads. A kq_producer or kq_consumer belongs to one thread at a time: delivery reports and
 * rebalance callbacks run inside kq_* calls on the calling thread (never on librdkafka's threads),
 * so load_offsets may use the worker's PostgreSQL connection.
 *
 * Errors. Functions return 0 or -1 and write a message into the caller's err buffer (errlen
 * bytes, always NUL-terminated when errlen > 0; err may be NULL). Constructors return NULL.
 *
 * Ownership. kq_producer_new/kq_producer_close and kq_consumer_new/kq_consumer_close pair up.
 * Messages returned by kq_consume_batch() belong to the caller until kq_messages_destroy().
 * kq_produce() copies key, value and headers; the caller keeps its buffers.
 * kq_produce_borrowed() copies key and headers but only points at value: the caller keeps it
 * valid and unchanged until kq_producer_close() has returned.
 */
#ifndef MNI_KQ_H
#define MNI_KQ_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* ---- configuration (kq.c) -------------------------------------------------------------------- */

#define KQ_MESSAGE_MAX_BYTES 1114112       /* 1 MiB + 64 KiB: the producer's message.max.bytes */
#define KQ_TOPIC_MAX_MESSAGE_BYTES 1179648 /* 1 MiB + 128 KiB: each topic's max.message.bytes */
#define KQ_STR_(x) #x
#define KQ_STR(x) KQ_STR_(x)

/* One librdkafka property, e.g. {"bootstrap.servers", "localhost:9092"}. */
typedef struct kq_prop {
    const char *key;
    const char *value;
} kq_prop;

typedef enum kq_role { KQ_PRODUCER, KQ_CONSUMER } kq_role;

/* Where librdkafka's own log lines (connection failures, broker state, ...) go: level is a
 * syslog level (3 error ... 7 debug), facility librdkafka's tag ("FAIL", "REQTMOUT"). librdkafka
 * calls it from its internal threads, so fn must be thread-safe. Process-wide: set it once at
 * start, before creating any client; NULL (the default) leaves librdkafka printing to stderr. */
typedef void (*kq_log_fn)(int level, const char *facility, const char *message);
void kq_set_log(kq_log_fn fn);

/* A librdkafka configuration: kq's defaults for role, then props[0..nprops), then the checks
 * above. The caller owns the result (rd_kafka_conf_destroy, or pass it to rd_kafka_new). Used
 * by the constructors below; public for tools that need a bare rd_kafka_t. */
rd_kafka_conf_t *kq_conf_new(kq_role role, const kq_prop *props, size_t nprops, char *err,
                             size_t errlen);

/* ---- producer (kq_producer.c) ---------------------------------------------------------------- */

typedef struct kq_producer kq_producer;

/* One header of a produced message. value may be NULL (a null header); len is its size. */
typedef struct kq_header {
    const char *name;
    const void *value;
    size_t len;
} kq_header;

kq_producer *kq_producer_new(const kq_prop *props, size_t nprops, char *err, size_t errlen);

/* Queues one message on topic, partitioned by key (key may be NULL). When librdkafka's queue is
 * full it serves delivery reports and waits until there is room (bounded by
 * message.timeout.ms, after which queued messages fail and free their room). 0 when queued; the
 * delivery itself is known only after kq_producer_flush_checked(). */
int kq_produce(kq_producer *p, const char *topic, const void *key, size_t keylen, const void *value,
               size_t vlen, const kq_header *headers, size_t nheaders, char *err, size_t errlen);
/* kq_produce without the copy of value (see Ownership above): for a caller that holds every
 * message until the producer is closed anyway (mni produce's batch), one copy of each message
 * less; librdkafka still copies a small message (up to message.copy.max.bytes) into its request. */
int kq_produce_borrowed(kq_producer *p, const char *topic, const void *key, size_t keylen,
                        const void *value, size_t vlen, const kq_header *headers, size_t nheaders,
                        char *err, size_t errlen);

/* Waits up to timeout_ms for every message queued since the previous check to be delivered or to
 * fail. Returns 0 only when all of them were delivered; -1 when any failed, when some are still
 * outstanding at the timeout, or when the producer hit a fatal error. Either way the window is
 * reset: the next check covers messages produced after this one returns (and any that were
 * still outstanding). After -1 treat the whole batch as unpublished and produce it again
 * (consumers de-duplicate by task id). */
int kq_producer_flush_checked(kq_producer *p, int timeout_ms, char *err, size_t errlen);

/* After a failed check: waits until every message produced so far has its final delivery
 * report, which librdkafka gives within the producer's message.timeout.ms (a queued message
 * that times out is never sent: not persisted), so that nothing the caller gives up on is
 * written to Kafka after it has given up (the outbox relay rolls its claim back next). Waits at
 * most message.timeout.ms plus KQ_SETTLE_MARGIN_MS; 0 when nothing is outstanding any more, -1
 * when something still is. Resets the window as a check does. A message already in flight when
 * it timed out may still have been written (librdkafka's "possibly persisted"), at that moment,
 * not later. */
#define KQ_SETTLE_MARGIN_MS 5000
int kq_producer_settle(kq_producer *p, char *err, size_t errlen);

/* Messages produced whose delivery report has not been served yet. */
size_t kq_producer_outstanding(const kq_producer *p);

/* Dead-letter flags: parts of the original that must not travel (a raw My Number in them, or
 * too large); the origin headers below are the reference to the original bytes. */
#define KQ_DLQ_NO_VALUE 1u   /* an empty value */
#define KQ_DLQ_NO_HEADERS 2u /* none of the original headers */
#define KQ_DLQ_NO_KEY 4u     /* a null key */
#define KQ_DLQ_REDACT (KQ_DLQ_NO_VALUE | KQ_DLQ_NO_HEADERS)

/* Produces the original message (key, value, headers, less what flags withhold) to dlq_topic
 * with these headers added: mni.reason, mni.detail (may be NULL: empty), mni.origin.topic,
 * mni.origin.partition and mni.origin.offset (decimal text), mni.origin.bytes (the original
 * value's size), and mni.withheld (what was withheld and why) when withheld is not NULL. The
 * caller then flush-checks before storing the advanced offset, so a dead letter is never lost.
 * detail and withheld must not quote a My Number (worker_dead_letter scans every byte). */
int kq_produce_dlq(kq_producer *p, const char *dlq_topic, const rd_kafka_message_t *orig,
                   const char *reason, const char *detail, unsigned flags, const char *withheld,
                   char *err, size_t errlen);

/* True when a message was refused for what it is (too large, an invalid record: librdkafka's or
 * the broker's MSG_SIZE_TOO_LARGE, RECORD_LIST_TOO_LARGE, INVALID_RECORD, INVALID_MSG,
 * INVALID_MSG_SIZE) since the last call, by kq_produce or in a delivery report: producing it
 * again fails again, unlike a time-out or a broker that is down. Clears the mark. */
int kq_producer_take_refused(kq_producer *p);

/* Flush-checks with timeout_ms, purges whatever is still undelivered, destroys the producer.
 * Returns the flush check's result. NULL is a no-op returning 0. */
int kq_producer_close(kq_producer *p, int timeout_ms, char *err, size_t errlen);

/* The underlying handle (for metrics or rd_kafka_* calls kq does not wrap). Owned by p. */
rd_kafka_t *kq_producer_handle(kq_producer *p);

/* ---- consumer (kq_consumer.c) ---------------------------------------------------------------- */

typedef struct kq_consumer kq_consumer;
struct kq_stats;

typedef struct kq_consumer_cbs {
    void *ctx; /* passed to each callback */
    /* Called on every assignment, before the partitions are assigned. Each parts->elems[i].offset
     * arrives as RD_KAFKA_OFFSET_BEGINNING; set it to the next offset stored for that partition
     * and leave it alone when there is none. Set parts->elems[i].err to any non-zero code to
     * hold that partition: it is assigned but paused at once, and never fetched until the next
     * rebalance (a log that is not the one its stored offsets belong to, lib/runtime/logcheck.h).
     * Return 0, or -1 to refuse: nothing is assigned and
     * the next kq_consume_batch() returns -1 (the worker should close and exit, which hands the
     * partitions to another member). Retry transient database errors inside the callback.
     * NULL: every partition starts at its beginning. */
    int (*load_offsets)(void *ctx, rd_kafka_topic_partition_list_t *parts);
    /* Called when partitions are revoked, before they are unassigned; lost is non-zero when the
     * member lost them without a clean handover (session timeout, fencing). May be NULL. */
    void (*on_revoke)(void *ctx, const rd_kafka_topic_partition_list_t *parts, int lost);
    /* Non-fatal consumer errors (broker down, unknown topic, ...): librdkafka retries them by
     * itself. topic may be NULL and partition -1 when the error is not about one partition.
     * NULL: they are printed on stderr. */
    void (*on_error)(void *ctx, rd_kafka_resp_err_t code, const char *topic, int32_t partition,
                     const char *reason);
    /* librdkafka's statistics, parsed (kq_stats below), every statistics.interval.ms: set, the
     * consumer emits them (KQ_STATS_INTERVAL_MS unless the caller sets the property; 0 turns
     * them off). Runs inside kq_consume_batch on the caller's thread. May be NULL. */
    void (*on_stats)(void *ctx, const struct kq_stats *stats);
} kq_consumer_cbs;

/* props must include group.id. cbs may be NULL (no callbacks); it is copied. */
kq_consumer *kq_consumer_new(const kq_prop *props, size_t nprops, const kq_consumer_cbs *cbs,
                             char *err, size_t errlen);

int kq_subscribe(kq_consumer *c, const char *const *topics, size_t ntopics, char *err,
                 size_t errlen);

/* Collects up to max_msgs messages into out[0..*n) within max_ms milliseconds: it waits up to
 * max_ms for a first message (*n may be 0), then returns as soon as max_msgs are there, or
 * nothing more is queued locally while no partition it read from has more at the broker, else
 * at the deadline (kq_consumer.c "When a batch ends"); max_msgs 0 returns at once without
 * serving anything. Call it at least every max.poll.interval.ms, or the member is expelled.
 * Partition-EOF events are skipped; other non-fatal errors go to on_error. Rebalance callbacks run
 * in here. Returns -1 (and *n = 0, nothing left to destroy) on a fatal librdkafka error or when an
 * assignment failed. */
int kq_consume_batch(kq_consumer *c, size_t max_msgs, int max_ms, rd_kafka_message_t **out,
                     size_t *n, char *err, size_t errlen);

/* Bounds a batch by bytes as well: kq_consume_batch returns as soon as the values it collected
 * reach bytes (the message that reaches it included, so a batch always holds at least one).
 * 0, the default, bounds by count only. */
void kq_consumer_set_batch_bytes(kq_consumer *c, size_t bytes);

/* Destroys msgs[0..n) (NULL entries are skipped) and sets them to NULL. */
void kq_messages_destroy(rd_kafka_message_t **msgs, size_t n);

/* Moves one assigned partition's position to offset; messages already fetched beyond it are
 * dropped. Waits for the seek to take effect. */
int kq_seek(kq_consumer *c, const char *topic, int32_t partition, int64_t offset, char *err,
            size_t errlen);

/* Rewinds every partition present in msgs[0..n) to the lowest offset the batch holds for it, so
 * the batch is consumed again (after its PostgreSQL transaction failed). Partitions that are no
 * longer assigned are skipped: their new owner reads PostgreSQL's offsets. Call it before
 * destroying the messages. */
int kq_seek_batch(kq_consumer *c, rd_kafka_message_t *const *msgs, size_t n, char *err,
                  size_t errlen);

/* Assigns the partitions of positions again, each at its .offset, outside a rebalance: every
 * fetch starts again there (messages already fetched are dropped and fetched again). This is
 * how a partition whose fetch stopped because the broker refused its position
 * (auto.offset.reset=error) is started again: kq_seek cannot move a stopped fetch, and the eager
 * protocol has no way to restart one partition alone, so positions must hold every assigned
 * partition. A paused partition stays paused. */
int kq_reassign(kq_consumer *c, const rd_kafka_topic_partition_list_t *positions, char *err,
                size_t errlen);

/* Holds one assigned partition: paused, nothing more is fetched from it (messages already
 * fetched may still arrive; the caller drops them) until the next rebalance. */
int kq_pause(kq_consumer *c, const char *topic, int32_t partition, char *err, size_t errlen);

/* Resumes the partitions of list (paused by the caller) and has them fetched at once.
 * librdkafka 2.0.2 decides to fetch a resumed partition only when its leader's broker thread
 * next wakes up, up to 1 s later (rd_kafka_max_block_ms; the resume itself does not wake it):
 * a gate that paused and resumed its input every second left the worker idle for half of each
 * second (W2, bench/README.md). A request to each leader wakes it: one offsets-for-times query
 * (end offsets), whose answer is not waited for beyond KQ_WAKE_TIMEOUT_MS. -1 with err when the
 * resume fails. */
#define KQ_WAKE_TIMEOUT_MS 5
int kq_resume(kq_consumer *c, const rd_kafka_topic_partition_list_t *list, char *err,
              size_t errlen);

/* Leaves the group (revoke callback, unassign), closes and destroys the consumer; nothing is
 * committed to Kafka. Every message it returned must have been destroyed first: a live message
 * holds a reference that rd_kafka_destroy waits for, forever. Returns -1 when the close reported
 * an error (the consumer is destroyed either way). NULL is a no-op returning 0. */
int kq_consumer_close(kq_consumer *c, char *err, size_t errlen);

/* The underlying handle. Owned by c. */
rd_kafka_t *kq_consumer_handle(kq_consumer *c);

/* ---- statistics (kq_stats.c) ----------------------------------------------------------------- */

/* How often a consumer with on_stats emits statistics when the caller does not say. */
#define KQ_STATS_INTERVAL_MS 5000

/* One partition as librdkafka's statistics see it. Its log's start and end are those of the last
 * fetch response (or watermark query); -1 while unknown. The end is the last stable offset (what
 * a read_committed consumer may read), the high watermark when the statistics have none. */
typedef struct kq_partition_stats {
    char topic[250]; /* Kafka allows 249 characters */
    int32_t partition;
    int64_t log_start, log_end;
} kq_partition_stats;

/* What the workers take from one statistics JSON document (librdkafka's STATISTICS.md). */
typedef struct kq_stats {
    int brokers_up;            /* brokers (with a node id) whose connection state is UP */
    kq_partition_stats *parts; /* every real partition (not the internal -1) of each topic */
    size_t n;
} kq_stats;

/* Parses librdkafka's statistics JSON; 0, or -1 with the reason (not JSON, not an object). The
 * parts are malloc'd: kq_stats_free. */
int kq_stats_parse(const char *json, size_t len, kq_stats *out, char *err, size_t errlen);
void kq_stats_free(kq_stats *s);

/* ---- message headers (kq_header.c) ----------------------------------------------------------- */

/* The last header called name: *value and *len point into the message (valid until it is
 * destroyed); *value is NULL for a null header. 0 when found, -1 when absent. */
int kq_header_get(const rd_kafka_message_t *m, const char *name, const void **value, size_t *len);

/* Copies the header's value as a NUL-terminated string. -1 when absent, null, holding a NUL
 * byte, or longer than bufsize - 1. */
int kq_header_str(const rd_kafka_message_t *m, const char *name, char *buf, size_t bufsize);

/* Parses the header's value as a decimal int64 (the whole value). -1 when absent or not one. */
int kq_header_i64(const rd_kafka_message_t *m, const char *name, int64_t *out);

#endif
