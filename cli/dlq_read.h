/*
 * dlq_read: reads a whole dead-letter topic (or any other: cli/anchor_topic.c) once, from each
 * partition's start to the end it had when the read began, without joining a consumer group
 * (partitions assigned directly, no offset committed anywhere): what `mni dlq list` and `mni dlq
 * replay` look at.
 *
 * Each dead letter as kq_produce_dlq wrote it (lib/kafka/kq.h): the original key and value (no
 * value when redacted, reason raw_my_number), the original headers, then mni.reason,
 * mni.detail, mni.origin.topic, mni.origin.partition, mni.origin.offset. A header lookup takes
 * the LAST header of a name, which is kq's even when the original message was itself a replayed
 * dead letter.
 *
 * Ownership: the reader owns its messages; dlq_reader_close frees them and the consumer.
 */
#ifndef MNI_DLQ_READ_H
#define MNI_DLQ_READ_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "lib/kafka/kq.h"
#include "lib/runtime/config.h"

typedef struct {
    rd_kafka_t *rk;
    rd_kafka_message_t **msgs; /* in partition, then offset order */
    size_t n;
} dlq_reader;

/* Reads topic (the kafka.* keys of cfg give the connection) within timeout_ms. */
int dlq_read(dlq_reader *r, const config *cfg, const char *topic, int timeout_ms, char *err,
             size_t errlen);
void dlq_reader_close(dlq_reader *r);

/* The last header named name of m, as a NUL-terminated copy in out (truncated to outlen - 1);
 * 0, or -1 when m has none of that name (out is then ""). */
int dlq_header(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen);

/* The kafka.* keys of cfg as librdkafka properties (pointers into cfg); returns how many. */
size_t dlq_kafka_props(const config *cfg, kq_prop *props, size_t cap);

#endif
