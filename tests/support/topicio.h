/*
 * topicio: test-side Kafka I/O. Producing incident events from their JSON-lines form (encoded
 * exactly as `mni produce` does: Avro with the shipped schemas, keyed by incident id), and
 * reading a whole topic back from the beginning of every partition (a plain assigned consumer,
 * no group, so no 3-second group join).
 */
#ifndef MNI_TOPICIO_H
#define MNI_TOPICIO_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* Produces every JSON line of path to topic; returns the count sent, -1 on error (message on
 * stderr). */
int topicio_produce_jsonl(const char *bootstrap, const char *topic, const char *path);

/* A copy of one message: librdkafka's own messages must all be destroyed before their
 * consumer is, so the reader keeps copies. */
typedef struct {
    int32_t partition;
    int64_t offset;
    void *key, *value; /* owned; value NULL for a null value */
    size_t key_len, value_len;
    rd_kafka_headers_t *headers; /* owned, may be NULL */
} topicio_message;

typedef struct {
    topicio_message *msgs; /* owned */
    size_t n;
} topicio_messages;

/* Reads all messages of topic (partitions 0..partitions-1) until `expect` are read or idle_ms
 * pass without new ones. */
int topicio_read_all(const char *bootstrap, const char *topic, int partitions, size_t expect,
                     int idle_ms, topicio_messages *out);
/* Reads every message of topic (partitions 0..partitions-1) up to each partition's high
 * watermark, measured first: a read that returns has seen everything produced before it was
 * called, however slow the machine. -1 (message on stderr) when the watermarks cannot be read
 * or the messages below them do not all arrive within timeout_ms: never a silent short read. */
int topicio_read_to_end(const char *bootstrap, const char *topic, int partitions, int timeout_ms,
                        topicio_messages *out);
void topicio_messages_free(topicio_messages *m);
/* Copies header name of m into buf ("" when absent). */
void topicio_header(const topicio_message *m, const char *name, char *buf, size_t n);

#endif
