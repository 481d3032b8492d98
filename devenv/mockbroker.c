/*
 * mni-mockbroker: the embedded Kafka of the development environment, the demo and the tests:
 * librdkafka's mock cluster (rdkafka_mock.h) in a process of its own, on loopback.
 *
 *   mni-mockbroker [--brokers N] [--topics name:partitions,...] [--bootstrap-file PATH]
 *
 * It creates the cluster (N brokers, default 1) and the pipeline's topics, prints the
 * bootstrap servers ("127.0.0.1:PORT,...") on stdout, writes them to --bootstrap-file when
 * given (atomically: a reader sees the whole list or no file), then runs until SIGTERM or
 * SIGINT, removes the bootstrap file and destroys the cluster. scripts/mni-env runs it.
 *
 * Ports: librdkafka 2.0.2 binds every mock broker to 127.0.0.1 port 0, i.e. a port the kernel
 * picks (rd_kafka_mock_broker_new in rdkafka_mock.c); there is no API nor configuration
 * property to choose it (test.mock.num.brokers only creates such a cluster inside a client,
 * test.mock.broker.rtt only adds latency). So the ports differ on every start, and the
 * bootstrap file (or MNI_KAFKA_BOOTSTRAP in mni-env's env file) is how clients find them.
 *
 * Limits of the mock cluster (librdkafka 2.0.2), to size tests, the demo and benchmarks for:
 *  - each partition keeps about 5 MiB and at most 100,000 message sets; older ones are dropped
 *    silently (rd_kafka_mock_msgset_new: whole message sets, the newest always kept), read or
 *    not, so a consumer lagging behind loses data. `mni produce` therefore paces itself by the
 *    ingest group's progress (cli/produce_pace.h), and a worker that finds its next offset
 *    below a partition's log start reports the lost range (lib/runtime/logcheck.h). The limits are
 *    fixed in librdkafka 2.0.2 (no API or property changes them);
 *  - a consumer group's first join takes 3 s (the initial rebalance delay); a later rebalance
 *    waits until every member rejoined or session.timeout.ms runs out;
 *  - a fetch returns one message set per partition, so consumption is slower than real Kafka;
 *  - no CreateTopics API (topics come from --topics, or are auto-created with 4 partitions when
 *    a client asks for an unknown one);
 *  - transactions are only partly simulated;
 *  - its sockets leave Nagle's algorithm on (a Kafka broker sets TCP_NODELAY on every
 *    connection), so a response that ends in a partial TCP segment waited for the client's
 *    delayed ACK, up to 40 ms (a flush of a batch to it often took 43 ms). This process sets
 *    TCP_NODELAY on every TCP socket it holds (mockbroker_nodelay) before the bootstrap servers
 *    are published: connections accepted later inherit it from the listener (Linux); every
 *    tick repeats it for any socket made since;
 *  - everything is in memory: a restart loses all topics, messages and group offsets. The
 *    pipeline keeps its offsets in PostgreSQL, which then belong to logs that are gone: the
 *    workers hold those partitions until an operator runs `mni accept-new-log`
 *    (deploy/RUNBOOK.md); `scripts/mni-env down` starts everything afresh instead.
 * Figures measured against it are the mock's, not Kafka's; say so next to them.
 */
#include <dirent.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "lib/model/topics.h"

#define MOCKBROKER_MAX_BROKERS 16
#define MOCKBROKER_MAX_TOPICS 64
#define MOCKBROKER_MAX_PARTITIONS 1000

/* The pipeline's topics (lib/model/topics.h), as --topics would list them. */
static char mockbroker_default_topics[512];

typedef struct {
    char name[250]; /* Kafka allows 249 characters */
    int partitions;
} mockbroker_topic;

static void mockbroker_usage(FILE *out)
{
    fprintf(out,
            "usage: mni-mockbroker [--brokers N] [--topics name:partitions,...]\n"
            "                      [--bootstrap-file PATH]\n"
            "\n"
            "Runs librdkafka's mock Kafka cluster on 127.0.0.1 until SIGTERM or SIGINT and\n"
            "prints its bootstrap servers. Ports are chosen by the kernel on every start.\n"
            "\n"
            "  --brokers N            brokers in the cluster, 1..%d (default 1)\n"
            "  --topics LIST          topics to create (default %s)\n"
            "  --bootstrap-file PATH  also write the bootstrap servers to PATH once ready\n"
            "                         (removed again at exit)\n"
            "\n"
            "Limits: ~5 MiB kept per partition (oldest dropped, read or not: mni produce\n"
            "paces itself for it), first group join 3 s, one message set per fetch, state in\n"
            "memory only (after a restart the workers hold their partitions: see\n"
            "deploy/RUNBOOK.md).\n",
            MOCKBROKER_MAX_BROKERS, mockbroker_default_topics);
}

static int mockbroker_parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

/* Parses "name:partitions,..." into topics; -1 with a message naming the bad item. */
static int mockbroker_parse_topics(const char *list, mockbroker_topic *topics, int *n, char *err,
                                   size_t errlen)
{
    char *copy = strdup(list);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    *n = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *colon = strrchr(item, ':');
        size_t nlen = colon ? (size_t)(colon - item) : 0;
        if (!colon || nlen == 0 || nlen >= sizeof topics->name ||
            strspn(item, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                nlen) {
            snprintf(err, errlen,
                     "--topics: '%s' is not name:partitions (name of letters, digits, . _ -)",
                     item);
            rc = -1;
            break;
        }
        if (*n == MOCKBROKER_MAX_TOPICS) {
            snprintf(err, errlen, "--topics: more than %d topics", MOCKBROKER_MAX_TOPICS);
            rc = -1;
            break;
        }
        if (mockbroker_parse_int(colon + 1, 1, MOCKBROKER_MAX_PARTITIONS, &topics[*n].partitions) !=
            0) {
            snprintf(err, errlen, "--topics: '%s': partitions must be 1..%d", item,
                     MOCKBROKER_MAX_PARTITIONS);
            rc = -1;
            break;
        }
        memcpy(topics[*n].name, item, nlen);
        topics[*n].name[nlen] = '\0';
        (*n)++;
    }
    if (rc == 0 && *n == 0) {
        snprintf(err, errlen, "--topics: no topic given");
        rc = -1;
    }
    free(copy);
    return rc;
}

/* Writes text to path through a temporary file and rename, so readers never see a part. */
static int mockbroker_write_file(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s (its temporary file): %s", path, strerror(errno));
        return -1;
    }
    int ok = fprintf(f, "%s\n", text) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* librdkafka's own log lines, as structured lines of ours. */
static void mockbroker_rdkafka_log(const rd_kafka_t *rk, int level, const char *fac,
                                   const char *buf)
{
    (void)rk;
    /* The handle that hosts the cluster has no bootstrap.servers of its own, by design. */
    if (!strcmp(fac, "CONFWARN") && strstr(buf, "bootstrap.servers")) return;
    log_level l = level <= 3   ? LOG_LEVEL_ERROR
                  : level <= 4 ? LOG_LEVEL_WARN
                  : level <= 6 ? LOG_LEVEL_INFO
                               : LOG_LEVEL_DEBUG;
    log_write(l, "librdkafka", LOG_STR("facility", fac), LOG_STR("message", buf), LOG_END);
}

/* Sets TCP_NODELAY on every TCP socket of this process: the mock cluster's listeners and the
 * connections they accepted (see the head comment). A descriptor that is not a TCP socket, or
 * that librdkafka closes meanwhile, is left alone: the calls just fail. */
static void mockbroker_nodelay(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name), type = 0, domain = 0, on = 1;
        socklen_t len = sizeof type;
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d) ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
            continue;
        len = sizeof domain;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
            (domain != AF_INET && domain != AF_INET6))
            continue;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    int brokers = 1, ntopics = 0;
    const char *topics_arg = mockbroker_default_topics, *bootstrap_file = NULL;
    static mockbroker_topic topics[MOCKBROKER_MAX_TOPICS];
    char err[512];
    if (mni_topics_list(mockbroker_default_topics, sizeof mockbroker_default_topics) != 0) {
        fprintf(stderr, "mni-mockbroker: the topic table does not fit its list\n");
        return 1;
    }

    log_init("mockbroker");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            mockbroker_usage(stdout);
            return 0;
        }
        if ((!strcmp(a, "--brokers") || !strcmp(a, "--topics") || !strcmp(a, "--bootstrap-file")) &&
            i + 1 >= argc) {
            fprintf(stderr, "mni-mockbroker: %s needs a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--brokers")) {
            if (mockbroker_parse_int(argv[++i], 1, MOCKBROKER_MAX_BROKERS, &brokers) != 0) {
                fprintf(stderr, "mni-mockbroker: --brokers '%s': expected 1..%d\n", argv[i],
                        MOCKBROKER_MAX_BROKERS);
                return 2;
            }
        } else if (!strcmp(a, "--topics")) {
            topics_arg = argv[++i];
        } else if (!strcmp(a, "--bootstrap-file")) {
            bootstrap_file = argv[++i];
        } else {
            fprintf(stderr, "mni-mockbroker: unknown option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (mockbroker_parse_topics(topics_arg, topics, &ntopics, err, sizeof err) != 0) {
        fprintf(stderr, "mni-mockbroker: %s\n", err);
        return 2;
    }

    /* Block the stop signals before librdkafka starts its threads (they inherit the mask),
     * then wait for them synchronously in the main loop: no handler runs on a librdkafka
     * thread and no blocking call of theirs is interrupted. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
        log_error("cannot block SIGTERM/SIGINT", LOG_END);
        return 1;
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, mockbroker_rdkafka_log);
    char errstr[512];
    if (rd_kafka_conf_set(conf, "client.id", "mni-mockbroker", errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        log_error("librdkafka configuration refused", LOG_STR("error", errstr), LOG_END);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    /* The producer handle only hosts the cluster (rd_kafka_mock_cluster_new needs one); it
     * produces nothing. rd_kafka_new owns conf from here on when it succeeds. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        log_error("cannot create the librdkafka handle", LOG_STR("error", errstr), LOG_END);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        log_error("cannot create the mock cluster (see librdkafka lines above)",
                  LOG_INT("brokers", brokers), LOG_END);
        rd_kafka_destroy(rk);
        return 1;
    }
    int rc = 0;
    int replication = brokers < 3 ? brokers : 3;
    for (int i = 0; i < ntopics && rc == 0; i++) {
        rd_kafka_resp_err_t e =
            rd_kafka_mock_topic_create(mc, topics[i].name, topics[i].partitions, replication);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            log_error("cannot create topic", LOG_STR("topic", topics[i].name),
                      LOG_STR("error", rd_kafka_err2str(e)), LOG_END);
            rc = 1;
        }
    }
    mockbroker_nodelay(); /* the listeners, before any client knows where they are */
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    if (rc == 0 && bootstrap_file &&
        mockbroker_write_file(bootstrap_file, bootstraps, err, sizeof err) != 0) {
        log_error("cannot write the bootstrap file", LOG_STR("error", err), LOG_END);
        rc = 1;
    }
    if (rc == 0) {
        if (printf("%s\n", bootstraps) < 0 || fflush(stdout) != 0) {
            /* stdout closed (e.g. a pipe reader gone): the file and the log still say it. */
            log_warn("cannot print the bootstrap servers on stdout", LOG_END);
        }
        log_info("ready", LOG_STR("bootstrap", bootstraps), LOG_INT("brokers", brokers),
                 LOG_INT("topics", ntopics), LOG_STR("bootstrap_file", bootstrap_file), LOG_END);

        struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
        for (;;) {
            int sig = sigtimedwait(&stop, NULL, &tick);
            if (sig == SIGTERM || sig == SIGINT) {
                log_info("stopping", LOG_STR("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"),
                         LOG_END);
                break;
            }
            /* Serves the handle's queue (logs, errors); the cluster runs on its own thread. */
            rd_kafka_poll(rk, 0);
            mockbroker_nodelay(); /* any socket made since the last tick */
        }
        if (bootstrap_file && unlink(bootstrap_file) != 0 && errno != ENOENT)
            log_warn("cannot remove the bootstrap file", LOG_STR("path", bootstrap_file),
                     LOG_STR("error", strerror(errno)), LOG_END);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    if (rc == 0) log_info("stopped", LOG_END);
    return rc;
}
