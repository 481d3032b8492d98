/*
 * mockkafka: an in-process Kafka cluster for tests (librdkafka's mock cluster).
 *
 * The mock cluster speaks the real Kafka protocol on loopback ports, so the code under test uses
 * its ordinary bootstrap.servers path. It lives inside a private librdkafka handle that only
 * this module touches. Known limits of librdkafka 2.0.2's mock (rdkafka_mock.c): a consumer
 * group's first join waits 3 s, a later rebalance waits session.timeout.ms - 1 s unless every
 * member has rejoined, each partition keeps about 5 MiB (oldest message sets dropped), one
 * message set per partition per fetch, no CreateTopics API, transactions only partly simulated.
 * Any topic a producer names is auto-created with 4 partitions, even when the producer sets
 * allow.auto.create.topics=false, so "produce to a missing topic" cannot be a failure here: inject
 * errors instead (rd_kafka_mock_push_request_errors on ApiKey 0, Produce). Seen with 2.0.2 and
 * worth knowing in a cluster shared by several cases: rd_kafka_mock_topic_set_error on one topic
 * made an unrelated topic lose its partitions in a producer's metadata; after
 * rd_kafka_mock_broker_set_down/set_up an idempotent producer needs a few seconds (new producer
 * id) before it delivers again, and a message produced meanwhile may stay unconfirmed for longer
 * than message.timeout.ms.
 *
 * Ownership: mockkafka_start returns a cluster the caller stops with mockkafka_stop, after every
 * client connected to it has been closed (else those clients log disconnects while closing).
 */
#ifndef MNI_TESTS_MOCKKAFKA_H
#define MNI_TESTS_MOCKKAFKA_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stddef.h>

typedef struct mockkafka mockkafka;

typedef struct mockkafka_topic {
    const char *name;
    int partitions;
} mockkafka_topic;

/* A cluster of brokers (>= 1) with topics[0..ntopics) created (replication factor 1). NULL with
 * a message in err on failure. */
mockkafka *mockkafka_start(int brokers, const mockkafka_topic *topics, size_t ntopics, char *err,
                           size_t errlen);

/* For a cmocka group or case setup: *out a cluster of one broker with topics (mockkafka_start).
 * 0, or -1 with the reason on stderr (the setup then fails, and cmocka says so). */
int mockkafka_setup(mockkafka **out, const mockkafka_topic *topics, size_t ntopics);

/* "127.0.0.1:port,..." for bootstrap.servers; owned by m. */
const char *mockkafka_bootstraps(const mockkafka *m);

/* The librdkafka mock handle, for error injection (rd_kafka_mock_push_request_errors, ...). */
rd_kafka_mock_cluster_t *mockkafka_cluster(mockkafka *m);

/* Destroys the cluster. NULL is a no-op. */
void mockkafka_stop(mockkafka *m);

#endif
