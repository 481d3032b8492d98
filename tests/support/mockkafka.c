/*
 * mockkafka: see mockkafka.h. The cluster needs an rd_kafka_t for its bookkeeping; a producer
 * handle that never produces serves, and is destroyed after the cluster.
 */
#include "tests/support/mockkafka.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mockkafka {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mcluster;
    char *bootstraps;
};

static void mockkafka_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void mockkafka_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

mockkafka *mockkafka_start(int brokers, const mockkafka_topic *topics, size_t ntopics, char *err,
                           size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf;
    rd_kafka_resp_err_t e;
    mockkafka *m = calloc(1, sizeof *m);
    size_t i;

    if (!m) {
        mockkafka_errf(err, errlen, "mock kafka: out of memory");
        return NULL;
    }
    conf = rd_kafka_conf_new();
    /* The handle never talks to a broker; keep it from logging that it has none. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        mockkafka_errf(err, errlen, "mock kafka: log_level: %s", errstr);
        rd_kafka_conf_destroy(conf);
        free(m);
        return NULL;
    }
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!m->rk) {
        mockkafka_errf(err, errlen, "mock kafka: %s", errstr);
        rd_kafka_conf_destroy(conf);
        free(m);
        return NULL;
    }
    m->mcluster = rd_kafka_mock_cluster_new(m->rk, brokers);
    if (!m->mcluster) {
        mockkafka_errf(err, errlen, "mock kafka: cannot start a cluster of %d brokers", brokers);
        goto fail;
    }
    m->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(m->mcluster));
    if (!m->bootstraps) {
        mockkafka_errf(err, errlen, "mock kafka: out of memory");
        goto fail;
    }
    for (i = 0; i < ntopics; i++) {
        e = rd_kafka_mock_topic_create(m->mcluster, topics[i].name, topics[i].partitions, 1);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            mockkafka_errf(err, errlen, "mock kafka: topic %s (%d partitions): %s", topics[i].name,
                           topics[i].partitions, rd_kafka_err2str(e));
            goto fail;
        }
    }
    return m;
fail:
    mockkafka_stop(m);
    return NULL;
}

const char *mockkafka_bootstraps(const mockkafka *m)
{
    return m->bootstraps;
}

rd_kafka_mock_cluster_t *mockkafka_cluster(mockkafka *m)
{
    return m->mcluster;
}

int mockkafka_setup(mockkafka **out, const mockkafka_topic *topics, size_t ntopics)
{
    char err[512];
    *out = mockkafka_start(1, topics, ntopics, err, sizeof err);
    if (!*out) fprintf(stderr, "mock kafka: %s\n", err);
    return *out ? 0 : -1;
}

void mockkafka_stop(mockkafka *m)
{
    if (!m) return;
    if (m->mcluster) rd_kafka_mock_cluster_destroy(m->mcluster);
    rd_kafka_destroy(m->rk);
    free(m->bootstraps);
    free(m);
}
