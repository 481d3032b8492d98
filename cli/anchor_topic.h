/*
 * anchor_topic: reads the audit chain's anchors back from the compacted topic topic.anchors
 * (written through the outbox by lib/runtime/audit_anchor.c), for `mni audit verify`.
 *
 * The whole topic is read once, from each partition's start to the end it had when the read
 * began (cli/dlq_read.h: no consumer group, nothing committed). Compaction keeps at least each
 * writer's newest anchor; every anchor still there is returned, sorted by seq. A message that is
 * not an anchor (not the JSON object of audit_anchor.h) is counted, not returned: the topic is
 * outside the database, but not beyond the reach of whoever may produce to it.
 *
 * Ownership: the caller frees *out with free().
 */
#ifndef MNI_ANCHOR_TOPIC_H
#define MNI_ANCHOR_TOPIC_H

#include <stddef.h>

#include "lib/runtime/config.h"

typedef struct {
    long long seq;
    char hash[65];   /* 64 lower-case hex digits */
    char key_id[17]; /* 16 hex digits */
    char mac[65];    /* 64 hex digits */
    char signer[64]; /* the writer's role */
} published_anchor;

/* Reads topic (the kafka.* keys of cfg give the connection) within timeout_ms: *out holds *n
 * anchors sorted by seq, *malformed counts the messages that are not anchors. 0, or -1 (err). */
int anchor_topic_read(const config *cfg, const char *topic, int timeout_ms, published_anchor **out,
                      size_t *n, size_t *malformed, char *err, size_t errlen);

#endif
