/*
 * topics: the pipeline's topics, defined once. Each has a logical name (the suffix of its
 * configuration key topic.<logical>, and the `topic` column of the outbox), a default physical
 * name, the partitions it is created with (the embedded cluster and deploy/create-topics.sh),
 * whether it is compacted, and the record its values carry.
 *
 * Who uses it: the configuration's defaults (lib/runtime/config.c), the embedded cluster's
 * topic list (devenv/mockbroker.c), the outbox relay (which record a logical topic carries).
 * deploy/create-topics.sh, deploy/mni.conf and the docs cannot include a header: a unit test
 * (tests/unit/test_topics.c) reads them and fails when they differ from this table.
 */
#ifndef MNI_TOPICS_H
#define MNI_TOPICS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *logical; /* "events": configuration key topic.events */
    const char *name;    /* default physical name, "incident.events" */
    int partitions;      /* partitions it is created with */
    bool compacted;      /* cleanup.policy=compact (the latest record per key is what matters) */
    const char *record;  /* the Avro record of its values (schemas/); "(any)" for whatever the
                          * original message was (dead letters), "(JSON)" for a JSON object */
} mni_topic;

extern const mni_topic mni_topics[];
extern const size_t mni_topic_count;

/* The topic with this logical name, or NULL. */
const mni_topic *mni_topic_find(const char *logical);

/* Writes "name:partitions,..." of every topic (devenv/mockbroker.c's --topics format) into out;
 * 0, or -1 when out is too small. */
int mni_topics_list(char *out, size_t outlen);

#endif
