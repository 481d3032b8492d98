/*
 * worker: see worker.h.
 */
#include "common/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/pgx.h"

#define WORKER_MAX_PROPS 64
#define WORKER_FLUSH_MS 30000
#define WORKER_BACKOFF_MAX_MS 5000

/* The next offset this member expects for each partition of its input topic: loaded at
 * assignment, advanced at each commit. -1: no row yet. */
typedef struct {
    int32_t partition;
    int64_t expected;
    int64_t next;  /* the batch's new value, before COMMIT */
    int64_t first; /* the batch's first offset on this partition */
} worker_offset;

struct worker {
    const worker_spec *spec;
    void *ctx;
    config *cfg;
    PGconn *pg;
    kq_producer *producer;
    kq_consumer *consumer;
    char group[128];
    const char *topic;
    worker_offset *offsets;
    size_t n_offsets, cap_offsets;
    int assigned;     /* a partition assignment arrived (the idle clock runs from then) */
    metrics *metrics; /* NULL when metrics.port is 0 */
    long long metrics_port;
    long long batch_size, batch_ms, tick_ms, exit_when_idle_ms;
    long long pause_before_commit_ms; /* fault injection for crash tests; 0 in production */
};

static volatile sig_atomic_t worker_signal;

static void on_signal(int sig)
{
    worker_signal = sig;
}

PGconn *worker_pg(worker *w)
{
    return w->pg;
}
kq_producer *worker_producer(worker *w)
{
    return w->producer;
}
const config *worker_config(worker *w)
{
    return w->cfg;
}
const char *worker_topic(const worker *w, const char *key)
{
    return config_get(w->cfg, key);
}
void worker_count(worker *w, metrics_counter c, uint64_t n)
{
    metrics_add(w->metrics, c, n);
}

int worker_stopping(const worker *w)
{
    (void)w;
    return worker_signal != 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static worker_offset *offset_slot(worker *w, int32_t partition)
{
    for (size_t i = 0; i < w->n_offsets; i++)
        if (w->offsets[i].partition == partition) return &w->offsets[i];
    if (w->n_offsets == w->cap_offsets) {
        size_t cap = w->cap_offsets ? w->cap_offsets * 2 : 16;
        worker_offset *grown = realloc(w->offsets, cap * sizeof *grown);
        if (!grown) return NULL;
        w->offsets = grown;
        w->cap_offsets = cap;
    }
    worker_offset *o = &w->offsets[w->n_offsets++];
    *o = (worker_offset){.partition = partition, .expected = -1, .next = -1, .first = -1};
    return o;
}

/* Rebalance: the partitions start at the offsets PostgreSQL holds. */
static int load_offsets(void *arg, rd_kafka_topic_partition_list_t *parts)
{
    worker *w = arg;
    char err[512];
    w->n_offsets = 0;
    w->assigned = 1;
    metrics_set_ready(w->metrics, 1);
    const char *params[] = {w->group, w->topic};
    for (int attempt = 0;; attempt++) {
        PGresult *res = pgx_query(w->pg, "worker.load_offsets",
                                  "SELECT partition, next_offset FROM consumer_offsets "
                                  "WHERE group_id = $1 AND topic = $2",
                                  2, params, err, sizeof err);
        if (res) {
            for (int r = 0; r < PQntuples(res); r++) {
                int32_t p = (int32_t)atoi(PQgetvalue(res, r, 0));
                worker_offset *o = offset_slot(w, p);
                if (o) o->expected = atoll(PQgetvalue(res, r, 1));
            }
            PQclear(res);
            break;
        }
        log_warn("cannot load consumer offsets; retrying", LOG_STR("error", err),
                 LOG_INT("attempt", attempt), LOG_END);
        if (attempt >= 5 || worker_signal) return -1;
        PQreset(w->pg);
        sleep(1);
    }
    for (int i = 0; i < parts->cnt; i++) {
        worker_offset *o = offset_slot(w, parts->elems[i].partition);
        if (o && o->expected >= 0) parts->elems[i].offset = o->expected;
        log_info("partition assigned", LOG_STR("topic", parts->elems[i].topic),
                 LOG_INT("partition", parts->elems[i].partition),
                 LOG_INT("offset", o ? o->expected : -1), LOG_END);
    }
    return 0;
}

static void on_revoke(void *arg, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    worker *w = arg;
    log_info("partitions revoked", LOG_INT("count", parts->cnt), LOG_BOOL("lost", lost), LOG_END);
    w->n_offsets = 0;
    metrics_set_ready(w->metrics, 0);
}

/* librdkafka's own log lines (syslog levels), as structured log lines. Runs on librdkafka's
 * threads; log.h writes whole lines under the stream lock. */
static void on_kafka_log(int level, const char *facility, const char *message)
{
    log_level l = level <= 3   ? LOG_LEVEL_ERROR
                  : level <= 4 ? LOG_LEVEL_WARN
                  : level <= 6 ? LOG_LEVEL_INFO
                               : LOG_LEVEL_DEBUG;
    log_write(l, "librdkafka", LOG_STR("facility", facility), LOG_STR("message", message), LOG_END);
}

static void on_kafka_error(void *arg, rd_kafka_resp_err_t code, const char *topic,
                           int32_t partition, const char *reason)
{
    (void)arg;
    log_warn("kafka error", LOG_STR("code", rd_kafka_err2name(code)), LOG_STR("topic", topic),
             LOG_INT("partition", partition), LOG_STR("reason", reason), LOG_END);
}

/* Compare-and-set of each partition's next offset; 0 rows means another member moved it. */
static int advance_offsets(worker *w, char *err, size_t errlen)
{
    for (size_t i = 0; i < w->n_offsets; i++) {
        worker_offset *o = &w->offsets[i];
        if (o->next < 0) continue;
        char part[16], next[32], expected[32];
        snprintf(part, sizeof part, "%d", o->partition);
        snprintf(next, sizeof next, "%lld", (long long)o->next);
        snprintf(expected, sizeof expected, "%lld", (long long)o->expected);
        long long rows = 0;
        int rc;
        if (o->expected < 0) {
            const char *p[] = {w->group, w->topic, part, next};
            rc = pgx_exec_params(w->pg, "worker.insert_offset",
                                 "INSERT INTO consumer_offsets (group_id, topic, partition, "
                                 "next_offset) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                 4, p, &rows, err, errlen);
        } else {
            const char *p[] = {w->group, w->topic, part, next, expected};
            rc = pgx_exec_params(w->pg, "worker.advance_offset",
                                 "UPDATE consumer_offsets SET next_offset = $4, updated_at = "
                                 "now() WHERE group_id = $1 AND topic = $2 AND partition = $3 "
                                 "AND next_offset = $5",
                                 5, p, &rows, err, errlen);
        }
        if (rc != 0) return -1;
        if (rows != 1) {
            snprintf(err, errlen,
                     "consumer offsets of %s[%d] moved under this member (expected %lld): fenced",
                     w->topic, o->partition, (long long)o->expected);
            return -1;
        }
    }
    return 0;
}

static int run_batch(worker *w, rd_kafka_message_t **msgs, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < w->n_offsets; i++)
        w->offsets[i].next = w->offsets[i].first = -1;
    for (size_t i = 0; i < n; i++) {
        worker_offset *o = offset_slot(w, msgs[i]->partition);
        if (!o) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (o->first < 0) {
            o->first = msgs[i]->offset;
            /* The broker no longer had the stored offset (retention, a recreated topic) and
             * librdkafka reset the position: say so, the skipped messages are lost to us. */
            if (o->expected >= 0 && o->first > o->expected)
                log_warn("offset gap: messages before this batch are gone from the broker",
                         LOG_STR("topic", w->topic), LOG_INT("partition", o->partition),
                         LOG_INT("expected", o->expected), LOG_INT("first", o->first), LOG_END);
        }
        if (msgs[i]->offset + 1 > o->next) o->next = msgs[i]->offset + 1;
    }
    if (pgx_begin(w->pg, err, errlen) != 0) return -1;
    int failed = w->spec->process(w, w->ctx, msgs, n, err, errlen) != 0 ||
                 kq_producer_flush_checked(w->producer, WORKER_FLUSH_MS, err, errlen) != 0 ||
                 advance_offsets(w, err, errlen) != 0;
    if (!failed && w->pause_before_commit_ms > 0) {
        /* The crash test kills the process here: the batch's work is done but not committed. */
        log_info("pausing before commit", LOG_UINT("messages", n),
                 LOG_INT("ms", w->pause_before_commit_ms), LOG_END);
        usleep((useconds_t)w->pause_before_commit_ms * 1000);
    }
    if (failed || pgx_commit(w->pg, err, errlen) != 0) {
        char ignored[256];
        pgx_rollback(w->pg, ignored, sizeof ignored);
        return -1;
    }
    for (size_t i = 0; i < w->n_offsets; i++)
        if (w->offsets[i].next >= 0) w->offsets[i].expected = w->offsets[i].next;
    return 0;
}

int worker_dead_letter(worker *w, const rd_kafka_message_t *m, const char *reason,
                       const char *detail, unsigned flags, char *err, size_t errlen)
{
    log_warn("dead letter", LOG_STR("reason", reason), LOG_STR("detail", detail),
             LOG_STR("topic", rd_kafka_topic_name(m->rkt)), LOG_INT("partition", m->partition),
             LOG_INT("offset", m->offset), LOG_END);
    return kq_produce_dlq(w->producer, worker_topic(w, "topic.dlq"), m, reason, detail, flags, err,
                          errlen);
}

static void usage(const worker_spec *spec, FILE *out)
{
    fprintf(
        out,
        "usage: mni-%s [--config FILE] [--print-config] [--exit-when-idle MS]\n"
        "\n%s\n\n"
        "  --config FILE        configuration file (default: $MNI_CONFIG; see deploy/mni.conf)\n"
        "  --print-config       print the effective configuration (secrets masked), exit\n"
        "  --exit-when-idle MS  stop cleanly after MS milliseconds without input, counted\n"
        "                       from the first partition assignment (tests, demos)\n"
        "  -h, --help           this text\n"
        "\n"
        "Environment: MNI_<KEY> overrides a key (MNI_BATCH_SIZE for batch.size),\n"
        "MNI_PG_CONNINFO and MNI_KAFKA_BOOTSTRAP the connections. SIGTERM finishes the\n"
        "batch in hand, commits and exits 0. Exit codes: 0 stopped, 1 runtime failure,\n"
        "2 usage or configuration error.\n",
        spec->component, spec->summary);
}

/* Collects the kafka.* keys as librdkafka properties (pointers into the config). */
static size_t kafka_props(const config *cfg, kq_prop *props, size_t cap)
{
    size_t n = 0;
    config_iter it = config_iter_prefix(cfg, "kafka.");
    while (config_iter_next(&it) && n < cap)
        props[n++] = (kq_prop){it.name, it.value};
    return n;
}

static int setup(worker *w, int argc, char **argv, char *err, size_t errlen, int *print_only)
{
    const char *config_path = NULL;
    *print_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(w->spec, stdout);
            *print_only = 2;
            return 0;
        } else if (!strcmp(argv[i], "--print-config")) {
            *print_only = 1;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            config_path = argv[++i];
        } else if (!strcmp(argv[i], "--exit-when-idle") && i + 1 < argc) {
            w->exit_when_idle_ms = atoll(argv[++i]);
        } else {
            snprintf(err, errlen, "unknown or incomplete option '%s' (see --help)", argv[i]);
            return -1;
        }
    }
    w->cfg = config_new();
    if (!w->cfg) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char group[128];
    snprintf(group, sizeof group, "mni-%s", w->spec->component);
    for (size_t i = 0; w->spec->defaults && w->spec->defaults[i][0]; i++)
        if (config_set_default(w->cfg, w->spec->defaults[i][0], w->spec->defaults[i][1], err,
                               errlen) != 0)
            return -1;
    if (config_set_default(w->cfg, "group.id", group, err, errlen) != 0 ||
        config_set_default(w->cfg, "tick.ms", "1000", err, errlen) != 0 ||
        config_set_default(w->cfg, "test.pause_before_commit_ms", "0", err, errlen) != 0 ||
        config_set_default(w->cfg, "metrics.bind", "127.0.0.1", err, errlen) != 0 ||
        config_load(w->cfg, config_path, err, errlen) != 0 ||
        config_get_int(w->cfg, "batch.size", 1, 100000, &w->batch_size, err, errlen) != 0 ||
        config_get_int(w->cfg, "batch.ms", 1, 600000, &w->batch_ms, err, errlen) != 0 ||
        config_get_int(w->cfg, "tick.ms", 10, 3600000, &w->tick_ms, err, errlen) != 0 ||
        config_get_int(w->cfg, "test.pause_before_commit_ms", 0, 600000, &w->pause_before_commit_ms,
                       err, errlen) != 0 ||
        config_get_int(w->cfg, "metrics.port", 0, 65535, &w->metrics_port, err, errlen) != 0)
        return -1;
    const char *group_id, *topic;
    if (config_get_str(w->cfg, "group.id", &group_id, err, errlen) != 0 ||
        config_get_str(w->cfg, w->spec->input_topic, &topic, err, errlen) != 0)
        return -1;
    snprintf(w->group, sizeof w->group, "%s", group_id);
    w->topic = topic;
    return 0;
}

static int connect_all(worker *w, char *err, size_t errlen)
{
    const char *conninfo;
    if (config_get_str(w->cfg, "pg.conninfo", &conninfo, err, errlen) != 0) return -1;
    char app[64];
    snprintf(app, sizeof app, "mni-%s", w->spec->component);
    w->pg = pgx_connect(conninfo, app, err, errlen);
    if (!w->pg) return -1;
    kq_set_log(on_kafka_log);
    kq_prop props[WORKER_MAX_PROPS + 1];
    size_t n = kafka_props(w->cfg, props, WORKER_MAX_PROPS);
    w->producer = kq_producer_new(props, n, err, errlen);
    if (!w->producer) return -1;
    props[n++] = (kq_prop){"group.id", w->group};
    kq_consumer_cbs cbs = {
        .ctx = w, .load_offsets = load_offsets, .on_revoke = on_revoke, .on_error = on_kafka_error};
    w->consumer = kq_consumer_new(props, n, &cbs, err, errlen);
    if (!w->consumer) return -1;
    const char *topics[] = {w->topic};
    return kq_subscribe(w->consumer, topics, 1, err, errlen);
}

static void run_tick(worker *w)
{
    char err[512];
    if (w->spec->tick && w->spec->tick(w, w->ctx, err, sizeof err) != 0)
        log_warn("tick failed; will retry", LOG_STR("error", err), LOG_END);
}

static int loop(worker *w)
{
    rd_kafka_message_t **msgs = calloc((size_t)w->batch_size, sizeof *msgs);
    if (!msgs) return 1;
    char err[1024];
    int backoff_ms = 100, rc = 0;
    double last_input = now_ms(), last_tick = 0;
    while (!worker_signal) {
        size_t n = 0;
        if (kq_consume_batch(w->consumer, (size_t)w->batch_size, (int)w->batch_ms, msgs, &n, err,
                             sizeof err) != 0) {
            log_error("consumer failed", LOG_STR("error", err), LOG_END);
            rc = 1;
            break;
        }
        if (n > 0 || !w->assigned) {
            last_input = now_ms();
        }
        if (n > 0) {
            double t0 = now_ms();
            metrics_add(w->metrics, METRICS_MESSAGES, n);
            int failed = run_batch(w, msgs, n, err, sizeof err) != 0;
            metrics_batch_done(w->metrics, !failed);
            if (failed) {
                char seek_err[256];
                log_warn("batch rolled back; reading it again", LOG_STR("error", err),
                         LOG_UINT("messages", n), LOG_INT("retry_in_ms", backoff_ms), LOG_END);
                if (kq_seek_batch(w->consumer, msgs, n, seek_err, sizeof seek_err) != 0)
                    log_warn("rewind failed", LOG_STR("error", seek_err), LOG_END);
                kq_messages_destroy(msgs, n);
                if (PQstatus(w->pg) != CONNECTION_OK) PQreset(w->pg);
                usleep((useconds_t)backoff_ms * 1000);
                backoff_ms =
                    backoff_ms * 2 > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS : backoff_ms * 2;
                continue;
            }
            backoff_ms = 100;
            log_debug("batch committed", LOG_UINT("messages", n), LOG_F64("ms", now_ms() - t0),
                      LOG_END);
            kq_messages_destroy(msgs, n);
            run_tick(w);
            last_tick = now_ms();
        } else if (now_ms() - last_tick >= (double)w->tick_ms) {
            run_tick(w);
            last_tick = now_ms();
        }
        if (w->exit_when_idle_ms > 0 && now_ms() - last_input >= (double)w->exit_when_idle_ms) {
            log_info("idle; stopping", LOG_INT("idle_ms", w->exit_when_idle_ms), LOG_END);
            break;
        }
    }
    if (worker_signal)
        log_info("signal received; stopping after the batch", LOG_INT("signal", worker_signal),
                 LOG_END);
    free(msgs);
    return rc;
}

int worker_main(int argc, char **argv, const worker_spec *spec, void *ctx)
{
    worker w = {.spec = spec, .ctx = ctx};
    char err[1024];
    int print_only, rc = 0;
    log_init(spec->component);
    if (setup(&w, argc, argv, err, sizeof err, &print_only) != 0) {
        fprintf(stderr, "mni-%s: %s\n", spec->component, err);
        config_free(w.cfg);
        return 2;
    }
    if (print_only) {
        if (print_only == 1) config_dump(w.cfg, stdout);
        config_free(w.cfg);
        return 0;
    }
    const char *level_name = config_get(w.cfg, "log.level");
    log_level level;
    if (level_name && *level_name && log_level_parse(level_name, &level) == 0) log_set_level(level);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (metrics_start(spec->component, config_get(w.cfg, "metrics.bind"), (int)w.metrics_port,
                      &w.metrics, err, sizeof err) != 0 ||
        connect_all(&w, err, sizeof err) != 0) {
        log_error("cannot start", LOG_STR("error", err), LOG_END);
        rc = 1;
    } else if (spec->start && spec->start(&w, ctx, err, sizeof err) != 0) {
        log_error("cannot start", LOG_STR("error", err), LOG_END);
        rc = 1;
    } else {
        log_info("started", LOG_STR("group", w.group), LOG_STR("topic", w.topic),
                 LOG_INT("batch_size", w.batch_size), LOG_END);
        rc = loop(&w);
        run_tick(&w); /* relay what the last batch left in the outbox */
    }
    if (kq_consumer_close(w.consumer, err, sizeof err) != 0)
        log_warn("consumer close reported an error", LOG_STR("error", err), LOG_END);
    if (kq_producer_close(w.producer, WORKER_FLUSH_MS, err, sizeof err) != 0) {
        log_error("producer close: undelivered messages", LOG_STR("error", err), LOG_END);
        rc = rc ? rc : 1;
    }
    pgx_close(w.pg);
    metrics_stop(w.metrics);
    free(w.offsets);
    config_free(w.cfg);
    log_info("stopped", LOG_INT("exit_code", rc), LOG_END);
    return rc;
}
