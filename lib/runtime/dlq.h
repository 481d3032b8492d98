/*
 * dlq: what of a refused message may travel to the dead-letter topic.
 *
 * A dead letter carries the original key, value and headers (kq_produce_dlq) so that an
 * operator can see what was refused. Two things must never travel with it, whatever the reason
 * the message was refused for (issue 8 items 1 and 2):
 *
 *   - a raw My Number (rules/mynumber.h), in any byte of the key, the value, a header's name or
 *     value, or the detail text. A message that does not decode is scanned as raw bytes (an
 *     Avro string is its UTF-8 bytes, so a number in it is found; a false match in binary only
 *     withholds a little more than needed);
 *   - more bytes than the producer may send: the value is at most DLQ_VALUE_MAX (the largest
 *     event the pipeline accepts, WIRE_MAX_MESSAGE), the key DLQ_KEY_MAX, the original headers
 *     DLQ_HEADERS_MAX together, so that a dead letter always fits the producer's
 *     message.max.bytes (kq.h) with room for kq's own headers. An event over 1 MiB can be
 *     dead-lettered.
 *
 * A part that fails either test is withheld (kq's KQ_DLQ_NO_* flags); the dead letter then
 * says what was withheld and why in mni.withheld, and its origin headers (topic, partition,
 * offset, bytes) are the reference to the original, which stays on its topic. A detail holding
 * a number is replaced by a notice. Pure: no allocation, no I/O.
 */
#ifndef MNI_DLQ_H
#define MNI_DLQ_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "lib/serdes/wire.h"

#define DLQ_VALUE_MAX WIRE_MAX_MESSAGE
#define DLQ_KEY_MAX 1024
#define DLQ_HEADERS_MAX (16 * 1024)
#define DLQ_DETAIL_MAX 768

typedef struct {
    unsigned flags;              /* KQ_DLQ_* for kq_produce_dlq */
    char detail[DLQ_DETAIL_MAX]; /* the detail to send and log */
    char withheld[256];          /* "" when nothing is withheld, else what and why */
} dlq_screened;

/* Decides what of a refused message may travel. flags are the caller's own KQ_DLQ_* (a part
 * the reason itself withholds: raw_my_number withholds value and headers); headers may be
 * NULL; detail may be NULL. */
void dlq_screen(const void *key, size_t key_len, const void *value, size_t len,
                const rd_kafka_headers_t *headers, unsigned flags, const char *detail,
                dlq_screened *out);

#endif
