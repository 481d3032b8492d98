/*
 * worker: see worker.h.
 */
#include "lib/runtime/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/arena.h"
#include "lib/base/log.h"
#include "lib/base/monoclock.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/audit_anchor.h"
#include "lib/runtime/dlq.h"
#include "lib/runtime/logcheck.h"
#include "lib/runtime/metrics.h"
#include "lib/runtime/offsets.h"
#include "lib/runtime/pace_gate.h"
#include "lib/runtime/relayer.h"

#define WORKER_MAX_PROPS 64
#define WORKER_FLUSH_MS 30000
#define WORKER_BACKOFF_MAX_MS 5000
#define WORKER_WATERMARK_MS 10000
#define WORKER_TALLY_MAX 32

/* What a batch counted, kept aside until it commits (worker.h "Metrics"). */
typedef struct {
    metrics_family family;
    char label[48];
    uint64_t n;
} worker_tally;

/* What this member knows of each partition of its input topic: loaded at assignment, advanced
 * at each commit (logcheck.h for the checks against the broker's log). */
typedef struct {
    int32_t partition;
    int64_t expected;   /* the stored next offset, the compare-and-set key; -1: no row yet */
    int64_t position;   /* offset of the next message the fetcher should deliver */
    int64_t verify;     /* offset of the message to compare with digest first; -1: none */
    int32_t epoch;      /* consumer_offsets.log_epoch */
    int held;           /* stopped: another log than the stored offsets' */
    int64_t lost_until; /* end of the last gap said aloud (said once even if recorded later) */
    int reset_pending;  /* the broker refused a fetch: plan after the batch */
    double retry_at;    /* planning it failed: not before this (monotonic ms) */
    char digest[LOGCHECK_DIGEST_LEN]; /* of the message at expected - 1; "" none */
    /* The batch in hand: */
    int64_t next;                   /* the batch's new value, before COMMIT */
    int64_t first;                  /* the batch's first offset on this partition */
    const rd_kafka_message_t *last; /* the batch's message at next - 1 */
    char next_digest[LOGCHECK_DIGEST_LEN];
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
    int assigned;         /* a partition assignment arrived (the idle clock runs from then) */
    int degraded;         /* events were lost and not every loss is acknowledged yet */
    int fenced;           /* the last batch's compare-and-set found its offsets moved */
    metrics *metrics;     /* NULL when metrics.port is 0 */
    relayer *relay;       /* the outbox relay's thread (worker_start_relay), or NULL */
    char pg_settings[64]; /* pgx_connect_with's settings (worker_pg_settings) */
    double next_tick_at;  /* monotonic ms */
    int tick_backoff_ms;  /* 0 while ticks succeed */
    long long metrics_port;
    long long batch_size, batch_ms, batch_bytes, tick_ms, exit_when_idle_ms;
    long long pause_before_commit_ms; /* fault injection for crash tests; 0 in production */
    long long gauges_ms;              /* metrics.gauges_ms */
    double next_gauges_at;            /* monotonic ms */
    worker_tally tally[WORKER_TALLY_MAX];
    size_t n_tally;
    uint64_t classified;   /* messages of the batch in hand with an outcome already */
    mni_arena batch_arena; /* scratch of the batch in hand (worker_batch_arena) */
    worker_gate_fn gate;   /* worker_set_input_gate; NULL: none */
    void *gate_arg;
    int input_paused; /* the gate paused the input partitions */
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

PGconn *worker_pg_connect(worker *w, const char *role, char *err, size_t errlen)
{
    char app[64];
    snprintf(app, sizeof app, "mni-%s-%s", w->spec->component, role);
    return pgx_connect_with(config_get(w->cfg, "pg.conninfo"), app, w->pg_settings, err, errlen);
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
metrics *worker_metrics(worker *w)
{
    return w->metrics;
}
mni_arena *worker_batch_arena(worker *w)
{
    return &w->batch_arena;
}

void worker_count(worker *w, metrics_counter c, uint64_t n)
{
    metrics_add(w->metrics, c, n);
}

/* Keeps n of family's label aside for the batch in hand (the last slot takes the overflow). */
static void tally(worker *w, metrics_family family, const char *label, uint64_t n)
{
    size_t i = 0;
    while (i < w->n_tally && !(w->tally[i].family == family && !strcmp(w->tally[i].label, label)))
        i++;
    if (i == w->n_tally) {
        if (w->n_tally == WORKER_TALLY_MAX) {
            i = WORKER_TALLY_MAX - 1;
            label = "other";
        } else {
            w->n_tally++;
        }
        w->tally[i].family = family;
        w->tally[i].n = 0;
        snprintf(w->tally[i].label, sizeof w->tally[i].label, "%s", label);
    }
    w->tally[i].n += n;
}

void worker_outcome(worker *w, const char *outcome, uint64_t n)
{
    tally(w, METRICS_EVENTS, outcome, n);
    w->classified += n;
}

/* The batch of n messages committed: what it counted becomes visible. */
static void tally_commit(worker *w, size_t n)
{
    if (n > w->classified) tally(w, METRICS_EVENTS, "processed", n - w->classified);
    for (size_t i = 0; i < w->n_tally; i++)
        metrics_count(w->metrics, w->tally[i].family, w->tally[i].label, w->tally[i].n);
    w->n_tally = 0;
    w->classified = 0;
}

/* Every failed PostgreSQL statement or connection attempt (pgx_set_error_hook). */
static void on_pg_error(void *arg, const char *sqlstate)
{
    metrics_count(arg, METRICS_PG_ERRORS, *sqlstate ? sqlstate : "connection", 1);
}

int worker_stopping(const worker *w)
{
    (void)w;
    return worker_signal != 0;
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
    *o = (worker_offset){.partition = partition,
                         .expected = -1,
                         .position = -1,
                         .verify = -1,
                         .next = -1,
                         .first = -1};
    return o;
}

/* Refreshes the degraded state from consumer_gaps: degraded while any gap of the group is not
 * acknowledged (`mni ack-loss`). */
static int check_losses(worker *w, char *err, size_t errlen)
{
    long long open = 0;
    char summary[200], why[256];
    if (logcheck_unacknowledged(w->pg, w->group, &open, summary, sizeof summary, err, errlen) != 0)
        return -1;
    if (open > 0) {
        snprintf(why, sizeof why, "%s%s; acknowledge with mni ack-loss", summary,
                 open > 1 ? " and more" : "");
        metrics_set_degraded(w->metrics, why);
    } else {
        if (w->degraded) log_info("event loss acknowledged; no longer degraded", LOG_END);
        metrics_set_degraded(w->metrics, NULL);
    }
    w->degraded = open > 0;
    return 0;
}

/* The broker's log start and end of one partition, retried a few times. */
static int watermarks(worker *w, int32_t partition, int64_t *lo, int64_t *hi)
{
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 3 && !worker_signal; attempt++) {
        e = rd_kafka_query_watermark_offsets(kq_consumer_handle(w->consumer), w->topic, partition,
                                             lo, hi, WORKER_WATERMARK_MS);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
        log_warn("cannot read the partition's log start and end; retrying",
                 LOG_STR("topic", w->topic), LOG_INT("partition", partition),
                 LOG_STR("error", rd_kafka_err2str(e)), LOG_INT("attempt", attempt), LOG_END);
    }
    log_error("cannot read the partition's log start and end", LOG_STR("topic", w->topic),
              LOG_INT("partition", partition), LOG_STR("error", rd_kafka_err2str(e)), LOG_END);
    return -1;
}

/* Events [first, end) of o's partition are gone from the broker: says so loudly (log line,
 * counter, degraded health) and records it, moving the stored offset to end. */
static int report_gap(worker *w, worker_offset *o, int64_t first, int64_t end)
{
    char err[512];
    if (end > o->lost_until) {
        int64_t from = first > o->lost_until ? first : o->lost_until;
        log_error("events lost: gone from the broker before this group consumed them",
                  LOG_STR("topic", w->topic), LOG_INT("partition", o->partition),
                  LOG_STR("group", w->group), LOG_INT("first_offset", first),
                  LOG_INT("last_offset", end - 1), LOG_INT("count", end - first),
                  LOG_STR("action", "acknowledge with mni ack-loss (deploy/RUNBOOK.md)"), LOG_END);
        metrics_events_lost(w->metrics, w->topic, o->partition, (uint64_t)(end - from));
        o->lost_until = end;
    }
    w->degraded = 1;
    metrics_set_degraded(w->metrics, "events lost from the broker; acknowledge with mni ack-loss");
    int rc = logcheck_record_gap(w->pg, w->group, w->topic, o->partition, o->epoch, o->expected,
                                 first, end, err, sizeof err);
    if (rc != 0 && PQstatus(w->pg) != CONNECTION_OK) {
        PQreset(w->pg);
        rc = logcheck_record_gap(w->pg, w->group, w->topic, o->partition, o->epoch, o->expected,
                                 first, end, err, sizeof err);
    }
    if (rc != 0) {
        log_error("cannot record the lost events; trying again", LOG_STR("error", err), LOG_END);
        return -1;
    }
    o->expected = end;
    o->digest[0] = '\0';
    if (check_losses(w, err, sizeof err) != 0)
        log_warn("cannot read the open losses", LOG_STR("error", err), LOG_END);
    return 0;
}

/* o's partition is read from another log than its stored offsets come from: stop it. lo and
 * hi are the log's start and end when measured, -1 when not. */
static void hold_partition(worker *w, worker_offset *o, const char *why, int64_t lo, int64_t hi)
{
    static const char msg[] = "partition stopped: its log is not the one the stored offsets "
                              "belong to";
    static const char action[] = "see deploy/RUNBOOK.md (mni accept-new-log)";
    o->held = 1;
    o->reset_pending = 0;
    if (lo >= 0)
        log_error(msg, LOG_STR("topic", w->topic), LOG_INT("partition", o->partition),
                  LOG_STR("group", w->group), LOG_INT("stored_offset", o->expected),
                  LOG_INT("log_start", lo), LOG_INT("log_end", hi), LOG_STR("reason", why),
                  LOG_STR("action", action), LOG_END);
    else
        log_error(msg, LOG_STR("topic", w->topic), LOG_INT("partition", o->partition),
                  LOG_STR("group", w->group), LOG_INT("stored_offset", o->expected),
                  LOG_STR("reason", why), LOG_STR("action", action), LOG_END);
    metrics_partition_stopped(w->metrics, w->topic, o->partition, why);
}

/* Plans where one newly assigned partition starts (logcheck_plan_start). */
static int plan_partition(worker *w, worker_offset *o, rd_kafka_topic_partition_t *tp)
{
    int64_t lo = 0, hi = 0;
    if (watermarks(w, o->partition, &lo, &hi) != 0) return -1;
    logcheck_plan plan = logcheck_plan_start(o->expected, o->digest[0] != '\0', lo, hi);
    switch (plan.action) {
    case LOGCHECK_MISMATCH: {
        char why[256];
        snprintf(why, sizeof why,
                 "stored offset %lld is beyond the end of the log (%lld): the topic or broker was "
                 "recreated",
                 (long long)o->expected, (long long)hi);
        hold_partition(w, o, why, lo, hi);
        tp->err = RD_KAFKA_RESP_ERR__STATE; /* held: kq assigns it paused */
        return 0;
    }
    case LOGCHECK_GAP:
        if (report_gap(w, o, plan.gap_first, plan.gap_end) != 0) return -1;
        break;
    case LOGCHECK_VERIFY:
        o->verify = plan.from;
        break;
    case LOGCHECK_RESUME:
        break;
    }
    tp->offset = o->position = plan.from;
    log_info("partition assigned", LOG_STR("topic", tp->topic), LOG_INT("partition", o->partition),
             LOG_INT("offset", plan.from), LOG_INT("log_start", lo), LOG_INT("log_end", hi),
             LOG_BOOL("verify_last_message", plan.action == LOGCHECK_VERIFY), LOG_END);
    return 0;
}

/* Rebalance: the partitions start at the offsets PostgreSQL holds, once checked against the
 * broker's log (logcheck.h). */
static int load_offsets(void *arg, rd_kafka_topic_partition_list_t *parts)
{
    worker *w = arg;
    char err[512];
    w->n_offsets = 0;
    w->assigned = 1;
    w->input_paused = 0; /* kq resumes every partition it assigns (held ones excepted) */
    metrics_set_ready(w->metrics, 1);
    metrics_set_kafka(w->metrics, 1); /* the group coordinator answered */
    const char *params[] = {w->group, w->topic};
    int backoff_ms = 100;
    for (int attempt = 0;; attempt++) {
        PGresult *res = pgx_query(w->pg, "worker.load_offsets",
                                  "SELECT partition, next_offset, coalesce(last_digest, ''), "
                                  "log_epoch FROM consumer_offsets "
                                  "WHERE group_id = $1 AND topic = $2",
                                  2, params, err, sizeof err);
        if (res) {
            for (int r = 0; r < PQntuples(res); r++) {
                int32_t p = (int32_t)atoi(PQgetvalue(res, r, 0));
                worker_offset *o = offset_slot(w, p);
                if (!o) continue;
                o->expected = atoll(PQgetvalue(res, r, 1));
                snprintf(o->digest, sizeof o->digest, "%s", PQgetvalue(res, r, 2));
                o->epoch = (int32_t)atoi(PQgetvalue(res, r, 3));
            }
            PQclear(res);
            break;
        }
        /* PostgreSQL down during a rebalance (a restart, an outage): wait for it, as a batch
         * does; giving up would stop the consumer for good and the worker with it. */
        log_warn("cannot load consumer offsets; retrying", LOG_STR("error", err),
                 LOG_INT("attempt", attempt), LOG_INT("retry_in_ms", backoff_ms), LOG_END);
        if (worker_signal) return -1;
        usleep((useconds_t)backoff_ms * 1000);
        backoff_ms =
            backoff_ms * 2 > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS : backoff_ms * 2;
        PQreset(w->pg);
        metrics_set_database(w->metrics, PQstatus(w->pg) == CONNECTION_OK);
    }
    metrics_set_database(w->metrics, 1);
    for (int i = 0; i < parts->cnt; i++) {
        worker_offset *o = offset_slot(w, parts->elems[i].partition);
        if (!o || plan_partition(w, o, &parts->elems[i]) != 0) return -1;
    }
    return 0;
}

static void on_revoke(void *arg, const rd_kafka_topic_partition_list_t *parts, int lost)
{
    worker *w = arg;
    log_info("partitions revoked", LOG_INT("count", parts->cnt), LOG_BOOL("lost", lost), LOG_END);
    /* Whoever gets a held partition next checks it again and reports it. */
    for (size_t i = 0; i < w->n_offsets; i++)
        if (w->offsets[i].held)
            metrics_partition_stopped(w->metrics, w->topic, w->offsets[i].partition, NULL);
    w->n_offsets = 0;
    metrics_set_ready(w->metrics, 0);
    metrics_clear_lag(w->metrics);
}

/* librdkafka's statistics (kq_stats): the lag of each partition this member holds, measured
 * from the next offset stored in PostgreSQL (or the log start when none is stored yet), and
 * whether any broker is connected. */
static void on_stats(void *arg, const kq_stats *stats)
{
    worker *w = arg;
    metrics_set_kafka(w->metrics, stats->brokers_up > 0);
    for (size_t i = 0; i < stats->n; i++) {
        const kq_partition_stats *p = &stats->parts[i];
        if (strcmp(p->topic, w->topic) != 0 || p->log_end < 0) continue;
        for (size_t k = 0; k < w->n_offsets; k++) {
            const worker_offset *o = &w->offsets[k];
            if (o->partition != p->partition) continue;
            int64_t from = o->expected >= 0 ? o->expected : p->log_start > 0 ? p->log_start : 0;
            metrics_set_lag(w->metrics, w->topic, p->partition,
                            p->log_end > from ? p->log_end - from : 0);
        }
    }
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
    worker *w = arg;
    if (code == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && topic && !strcmp(topic, w->topic)) {
        /* The fetch stopped (auto.offset.reset=error); decided once the batch in hand is
         * done (handle_resets), since every message before this error is in it. */
        worker_offset *o = offset_slot(w, partition);
        log_warn("the broker no longer has this position; checking the log",
                 LOG_STR("topic", topic), LOG_INT("partition", partition),
                 LOG_INT("position", o ? o->position : -1), LOG_STR("reason", reason), LOG_END);
        if (o) o->reset_pending = 1;
        return;
    }
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) metrics_set_kafka(w->metrics, 0);
    log_warn("kafka error", LOG_STR("code", rd_kafka_err2name(code)), LOG_STR("topic", topic),
             LOG_INT("partition", partition), LOG_STR("reason", reason), LOG_END);
}

/* Starts partition again at offset after the broker refused its position (kq_reassign: every
 * other assigned partition starts again at the next offset this member expects of it). Every
 * assigned partition has its slot since the assignment, so offset_slot allocates nothing here. */
static int restart_at(worker *w, int32_t partition, int64_t offset, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(kq_consumer_handle(w->consumer), &assigned);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "reading the assignment: %s", rd_kafka_err2str(e));
        return -1;
    }
    for (int i = 0; i < assigned->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &assigned->elems[i];
        const worker_offset *other = offset_slot(w, tp->partition);
        if (!other) {
            snprintf(err, errlen, "out of memory");
            rd_kafka_topic_partition_list_destroy(assigned);
            return -1;
        }
        tp->offset = tp->partition == partition ? offset
                     : other->position >= 0     ? other->position
                     : other->expected >= 0     ? other->expected
                                                : RD_KAFKA_OFFSET_BEGINNING;
    }
    int rc = kq_reassign(w->consumer, assigned, err, errlen);
    rd_kafka_topic_partition_list_destroy(assigned);
    for (size_t i = 0; rc == 0 && i < w->n_offsets; i++)
        if (w->offsets[i].held) kq_pause(w->consumer, w->topic, w->offsets[i].partition, NULL, 0);
    return rc;
}

/* Plans each partition whose fetch the broker refused (logcheck_plan_reset). Runs between
 * batches, outside any transaction. */
static void handle_resets(worker *w)
{
    char err[512];
    for (size_t i = 0; i < w->n_offsets; i++) {
        worker_offset *o = &w->offsets[i];
        if (!o->reset_pending || o->held || monoclock_ms_exact() < o->retry_at) continue;
        o->retry_at = monoclock_ms_exact() + WORKER_BACKOFF_MAX_MS; /* when it fails below */
        int64_t lo = 0, hi = 0, position = o->position >= 0 ? o->position : o->expected;
        /* Refused while re-reading the message before the stored offset: that one was read. */
        if (o->verify >= 0) position = o->verify + 1;
        if (watermarks(w, o->partition, &lo, &hi) != 0) continue; /* tried again next time */
        logcheck_plan plan = logcheck_plan_reset(position < 0 ? 0 : position, lo, hi);
        if (plan.action == LOGCHECK_MISMATCH) {
            char why[256];
            snprintf(why, sizeof why,
                     "position %lld is beyond the end of the log (%lld): the topic or broker was "
                     "recreated",
                     (long long)position, (long long)hi);
            hold_partition(w, o, why, lo, hi);
            continue;
        }
        if (plan.action == LOGCHECK_GAP && report_gap(w, o, plan.gap_first, plan.gap_end) != 0)
            continue;
        if (restart_at(w, o->partition, plan.from, err, sizeof err) != 0) {
            log_warn("cannot start the partition again; trying again", LOG_STR("error", err),
                     LOG_END);
            continue;
        }
        o->position = plan.from;
        o->reset_pending = 0;
        o->retry_at = 0;
        o->verify = -1;
        if (plan.action == LOGCHECK_RESUME)
            log_warn("the broker refused a position that its log holds; reading on from it",
                     LOG_STR("topic", w->topic), LOG_INT("partition", o->partition),
                     LOG_INT("offset", plan.from), LOG_END);
    }
}

/* Drops the messages that must not be processed and checks each partition's first ones against
 * what this member expects; returns how many are left in msgs[0..). */
static size_t screen_batch(worker *w, rd_kafka_message_t **msgs, size_t n)
{
    size_t kept = 0;
    char digest[LOGCHECK_DIGEST_LEN], why[256];
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = msgs[i];
        worker_offset *o = offset_slot(w, m->partition);
        if (!o) { /* out of memory: unchecked, and run_batch fails on it and reads it again */
            msgs[kept++] = m;
            continue;
        }
        int keep = !o->held;
        if (keep && o->verify >= 0) {
            if (m->offset == o->verify) {
                logcheck_digest(m, digest);
                keep = 0; /* read again only to compare */
                if (strcmp(digest, o->digest) != 0) {
                    snprintf(why, sizeof why,
                             "the message at offset %lld is not the one this group read there: "
                             "the topic or broker was recreated",
                             (long long)m->offset);
                    hold_partition(w, o, why, -1, -1);
                    kq_pause(w->consumer, w->topic, o->partition, NULL, 0);
                } else {
                    log_debug("last message read again and matched",
                              LOG_INT("partition", o->partition), LOG_INT("offset", m->offset),
                              LOG_END);
                    o->position = m->offset + 1;
                }
            } else {
                log_info("cannot compare the last message read: it is gone from the broker",
                         LOG_STR("topic", w->topic), LOG_INT("partition", o->partition),
                         LOG_INT("offset", o->verify), LOG_END);
            }
            o->verify = -1;
        }
        if (keep && m->offset < o->position) {
            /* Offsets of one log only grow: an older one means another log. */
            snprintf(why, sizeof why,
                     "offset %lld arrived where %lld was expected: the topic or broker was "
                     "recreated",
                     (long long)m->offset, (long long)o->position);
            hold_partition(w, o, why, -1, -1);
            kq_pause(w->consumer, w->topic, o->partition, NULL, 0);
            keep = 0;
        }
        if (keep) {
            o->position = m->offset + 1;
            msgs[kept++] = m;
        } else {
            rd_kafka_message_destroy(m);
        }
    }
    /* A partition held half-way through drops what was kept of it, too. */
    size_t left = 0;
    for (size_t i = 0; i < kept; i++) {
        worker_offset *o = offset_slot(w, msgs[i]->partition);
        if (o && o->held)
            rd_kafka_message_destroy(msgs[i]);
        else
            msgs[left++] = msgs[i];
    }
    for (size_t i = left; i < n; i++)
        msgs[i] = NULL;
    return left;
}

/* Compare-and-set of each partition's next offset (and the digest of the message before it);
 * 0 rows means another member moved it. */
static int advance_offsets(worker *w, char *err, size_t errlen)
{
    for (size_t i = 0; i < w->n_offsets; i++) {
        worker_offset *o = &w->offsets[i];
        if (o->next < 0) continue;
        int moved = offsets_advance(w->pg, w->group, w->topic, o->partition, o->expected, o->next,
                                    o->next_digest, err, errlen);
        if (moved < 0) return -1;
        if (!moved) {
            w->fenced = 1;
            snprintf(err, errlen,
                     "consumer offsets of %s[%d] moved under this member (expected %lld): fenced",
                     w->topic, o->partition, (long long)o->expected);
            return -1;
        }
    }
    return 0;
}

/* After a fenced batch: another member committed this member's partitions meanwhile (one
 * that Kafka had already counted out of the group, or this one is stale). The stored offsets
 * are the truth: take them and read on from there, instead of retrying the batch against an
 * offset that will never match again (which only the next rebalance would end). What lies
 * below a stored offset was applied by the member that moved it. */
static void take_stored_offsets(worker *w)
{
    char err[512];
    const char *params[] = {w->group, w->topic};
    w->fenced = 0;
    PGresult *res = pgx_query(w->pg, "worker.fenced_offsets",
                              "SELECT partition, next_offset, coalesce(last_digest, '') FROM "
                              "consumer_offsets WHERE group_id = $1 AND topic = $2",
                              2, params, err, sizeof err);
    if (!res) {
        log_warn("fenced: cannot read the stored offsets; retrying the batch",
                 LOG_STR("error", err), LOG_END);
        return;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        int32_t partition = (int32_t)atoi(PQgetvalue(res, r, 0));
        int64_t stored = atoll(PQgetvalue(res, r, 1));
        worker_offset *o = NULL;
        for (size_t i = 0; i < w->n_offsets && !o; i++)
            if (w->offsets[i].partition == partition) o = &w->offsets[i];
        if (!o || o->held || o->expected == stored) continue;
        log_warn("fenced: another member committed this partition; reading on from its stored "
                 "offset",
                 LOG_STR("topic", w->topic), LOG_INT("partition", partition),
                 LOG_INT("expected", o->expected), LOG_INT("stored", stored), LOG_END);
        if (kq_seek(w->consumer, w->topic, partition, stored, err, sizeof err) != 0) {
            log_warn("fenced: seek failed; retrying the batch", LOG_STR("error", err), LOG_END);
            continue;
        }
        o->expected = o->position = stored;
        snprintf(o->digest, sizeof o->digest, "%s", PQgetvalue(res, r, 2));
    }
    PQclear(res);
}

typedef int (*worker_process_fn)(worker *w, void *ctx, rd_kafka_message_t **msgs, size_t n,
                                 char *err, size_t errlen);

/* One batch: process (the worker's own, or process_undeliverable) inside a transaction with the
 * offsets' compare-and-set; 0 when committed. */
static int run_batch_with(worker *w, worker_process_fn process, void *ctx,
                          rd_kafka_message_t **msgs, size_t n, char *err, size_t errlen)
{
    kq_producer_take_refused(w->producer); /* a refusal counts for this batch only */
    w->n_tally = 0; /* what an earlier, rolled back attempt counted is void */
    w->classified = 0;
    for (size_t i = 0; i < w->n_offsets; i++)
        w->offsets[i].next = w->offsets[i].first = -1;
    for (size_t i = 0; i < n; i++) {
        worker_offset *o = offset_slot(w, msgs[i]->partition);
        if (!o) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (o->first < 0) o->first = msgs[i]->offset;
        if (msgs[i]->offset + 1 > o->next) {
            o->next = msgs[i]->offset + 1;
            o->last = msgs[i];
        }
    }
    /* Identifies the log at each new stored offset (logcheck.h, VERIFY). */
    for (size_t i = 0; i < w->n_offsets; i++)
        if (w->offsets[i].next >= 0) logcheck_digest(w->offsets[i].last, w->offsets[i].next_digest);
    if (pgx_begin(w->pg, err, errlen) != 0) return -1;
    int failed = process(w, ctx, msgs, n, err, errlen) != 0 ||
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
        arena_reset(&w->batch_arena);
        return -1;
    }
    arena_reset(&w->batch_arena);
    tally_commit(w, n);
    for (size_t i = 0; i < w->n_offsets; i++) {
        worker_offset *o = &w->offsets[i];
        if (o->next < 0) continue;
        o->expected = o->next;
        memcpy(o->digest, o->next_digest, sizeof o->digest);
    }
    return 0;
}

static int run_batch(worker *w, rd_kafka_message_t **msgs, size_t n, char *err, size_t errlen)
{
    return run_batch_with(w, w->spec->process, w->ctx, msgs, n, err, errlen);
}

/* The process of a batch of one whose output Kafka refuses for what it is: the message is
 * dead-lettered (undeliverable), without its value and headers (they may be what was too
 * large), and nothing of it is applied. why is the refusal. */
static int process_undeliverable(worker *w, void *why, rd_kafka_message_t **msgs, size_t n,
                                 char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (worker_dead_letter(w, msgs[i], "undeliverable", why, KQ_DLQ_REDACT, err, errlen) != 0)
            return -1;
    return 0;
}

/* After a batch failed because Kafka refused a message it produced (kq_producer_take_refused):
 * any one message may only cost itself, so the batch is applied again message by message, each
 * in a transaction of its own, and the message whose own output is refused is dead-lettered
 * alone. Returns how many messages are done (committed or dead-lettered); fewer than n when
 * one failed for another reason (err), and the rest is then read again. */
static size_t run_one_by_one(worker *w, rd_kafka_message_t **msgs, size_t n, char *err,
                             size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (run_batch(w, &msgs[i], 1, err, errlen) == 0) continue;
        if (!kq_producer_take_refused(w->producer)) return i;
        char why[DLQ_DETAIL_MAX];
        snprintf(why, sizeof why, "Kafka refused what this message produced: %.600s", err);
        log_error("message dead-lettered: Kafka refuses its output", LOG_STR("error", err),
                  LOG_INT("partition", msgs[i]->partition), LOG_INT("offset", msgs[i]->offset),
                  LOG_END);
        if (run_batch_with(w, process_undeliverable, why, &msgs[i], 1, err, errlen) != 0) return i;
    }
    return n;
}

/* After a rolled-back batch: each partition of msgs[0..n) (what is left of the batch) is read
 * again from its first offset there (kq_seek_batch), which also restarts a fetch the broker had
 * refused. */
static void rewind_positions(worker *w, rd_kafka_message_t *const *msgs, size_t n)
{
    for (size_t i = 0; i < w->n_offsets; i++)
        w->offsets[i].first = -1;
    for (size_t i = 0; i < n; i++) {
        worker_offset *o = offset_slot(w, msgs[i]->partition);
        if (o && (o->first < 0 || msgs[i]->offset < o->first)) o->first = msgs[i]->offset;
    }
    for (size_t i = 0; i < w->n_offsets; i++) {
        worker_offset *o = &w->offsets[i];
        if (o->first < 0) continue;
        o->position = o->first;
        o->reset_pending = 0;
    }
}

void worker_hold_partition(worker *w, int32_t partition, const char *why)
{
    worker_offset *o = offset_slot(w, partition);
    char copy[256];
    snprintf(copy, sizeof copy, "%s", why); /* why may be the caller's err buffer */
    if (o && !o->held) {
        hold_partition(w, o, copy, -1, -1);
        kq_pause(w->consumer, w->topic, partition, NULL, 0);
    }
}

int32_t worker_log_epoch(const worker *w, int32_t partition)
{
    for (size_t i = 0; i < w->n_offsets; i++)
        if (w->offsets[i].partition == partition) return w->offsets[i].epoch;
    return 0;
}

int worker_dead_letter(worker *w, const rd_kafka_message_t *m, const char *reason,
                       const char *detail, unsigned flags, char *err, size_t errlen)
{
    rd_kafka_headers_t *headers = NULL;
    if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) headers = NULL;
    dlq_screened s;
    dlq_screen(m->key, m->key_len, m->payload, m->payload ? m->len : 0, headers, flags, detail, &s);
    tally(w, METRICS_DEAD_LETTERS, reason, 1);
    worker_outcome(w, "dead_lettered", 1);
    log_warn("dead letter", LOG_STR("reason", reason), LOG_STR("detail", s.detail),
             LOG_STR("withheld", s.withheld), LOG_STR("topic", rd_kafka_topic_name(m->rkt)),
             LOG_INT("partition", m->partition), LOG_INT("offset", m->offset), LOG_END);
    return kq_produce_dlq(w->producer, worker_topic(w, "topic.dlq"), m, reason, s.detail, s.flags,
                          s.withheld[0] ? s.withheld : NULL, err, errlen);
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

/* pg.synchronous_commit: one of PostgreSQL's values, or "" for the server's own setting. Off
 * by default: why that loses nothing is in deploy/mni.conf and deploy/RUNBOOK.md. */
static int check_synchronous_commit(const config *cfg, char *err, size_t errlen)
{
    static const char *const allowed[] = {"", "off", "local", "remote_write", "remote_apply", "on"};
    const char *v = config_get(cfg, "pg.synchronous_commit");
    for (size_t i = 0; v && i < sizeof allowed / sizeof allowed[0]; i++)
        if (!strcmp(v, allowed[i])) return 0;
    snprintf(err, errlen,
             "pg.synchronous_commit = '%s' (%s): not one of off, local, remote_write, "
             "remote_apply, on (or empty: the server's setting)",
             v ? v : "", config_source(cfg, "pg.synchronous_commit"));
    return -1;
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
    long long pace_limit = 0;
    snprintf(group, sizeof group, "mni-%s", w->spec->component);
    for (size_t i = 0; w->spec->defaults && w->spec->defaults[i][0]; i++)
        if (config_set_default(w->cfg, w->spec->defaults[i][0], w->spec->defaults[i][1], err,
                               errlen) != 0)
            return -1;
    if (config_set_default(w->cfg, "group.id", group, err, errlen) != 0 ||
        config_set_default(w->cfg, "tick.ms", "1000", err, errlen) != 0 ||
        config_set_default(w->cfg, "test.pause_before_commit_ms", "0", err, errlen) != 0 ||
        config_set_default(w->cfg, "metrics.bind", "127.0.0.1", err, errlen) != 0 ||
        config_set_default(w->cfg, "metrics.gauges_ms", "15000", err, errlen) != 0 ||
        config_set_default(w->cfg, "audit.key_file", NULL, err, errlen) != 0 ||
        config_set_default(w->cfg, "pg.synchronous_commit", "off", err, errlen) != 0 ||
        config_load(w->cfg, config_path, err, errlen) != 0 ||
        audit_anchor_configure(w->cfg, err, errlen) != 0 ||
        config_get_int(w->cfg, "batch.size", 1, 100000, &w->batch_size, err, errlen) != 0 ||
        config_get_int(w->cfg, "batch.ms", 1, 600000, &w->batch_ms, err, errlen) != 0 ||
        config_get_int(w->cfg, "batch.bytes", 1024, 1LL << 31, &w->batch_bytes, err, errlen) != 0 ||
        pace_limit_bytes(w->cfg, &pace_limit, err, errlen) != 0 ||
        config_get_int(w->cfg, "tick.ms", 10, 3600000, &w->tick_ms, err, errlen) != 0 ||
        config_get_int(w->cfg, "test.pause_before_commit_ms", 0, 600000, &w->pause_before_commit_ms,
                       err, errlen) != 0 ||
        config_get_int(w->cfg, "metrics.port", 0, 65535, &w->metrics_port, err, errlen) != 0 ||
        config_get_int(w->cfg, "metrics.gauges_ms", 100, 3600000, &w->gauges_ms, err, errlen) != 0)
        return -1;
    w->batch_bytes = pace_batch_bytes(w->batch_bytes, pace_limit);
    const char *reset = config_get(w->cfg, "kafka.auto.offset.reset");
    if (reset && strcmp(reset, "error") != 0) {
        snprintf(err, errlen,
                 "kafka.auto.offset.reset = '%s' (%s): the workers set it to error, so that the "
                 "broker never moves a position silently (lost events are reported instead; see "
                 "deploy/RUNBOOK.md); remove the key",
                 reset, config_source(w->cfg, "kafka.auto.offset.reset"));
        return -1;
    }
    const char *group_id, *topic;
    if (config_get_str(w->cfg, "group.id", &group_id, err, errlen) != 0 ||
        config_get_str(w->cfg, w->spec->input_topic, &topic, err, errlen) != 0)
        return -1;
    snprintf(w->group, sizeof w->group, "%s", group_id);
    w->topic = topic;
    return check_synchronous_commit(w->cfg, err, errlen);
}

/* The first connection to PostgreSQL. A database that is unreachable when the worker starts
 * (restarting, or the worker restarted during an outage) is waited for like one lost later:
 * retried with backoff, each failure logged, until it answers or a signal stops the worker. */
static PGconn *connect_pg(const char *conninfo, const char *app, const char *settings, char *err,
                          size_t errlen)
{
    int backoff_ms = 100;
    for (int attempt = 1;; attempt++) {
        PGconn *pg = pgx_connect_with(conninfo, app, settings, err, errlen);
        if (pg || worker_signal) return pg;
        log_warn("cannot connect to PostgreSQL; retrying", LOG_STR("error", err),
                 LOG_INT("attempt", attempt), LOG_INT("retry_in_ms", backoff_ms), LOG_END);
        usleep((useconds_t)backoff_ms * 1000);
        backoff_ms =
            backoff_ms * 2 > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS : backoff_ms * 2;
    }
}

/* spec.start (prepared statements and the like); a connection lost meanwhile is reconnected
 * and start tried again, with backoff, as above. */
static int start_spec(worker *w, char *err, size_t errlen)
{
    int backoff_ms = 100;
    for (int attempt = 1;; attempt++) {
        if (w->spec->start(w, w->ctx, err, errlen) == 0) return 0;
        if (PQstatus(w->pg) == CONNECTION_OK || worker_signal) return -1;
        log_warn("PostgreSQL connection lost while starting; retrying", LOG_STR("error", err),
                 LOG_INT("attempt", attempt), LOG_INT("retry_in_ms", backoff_ms), LOG_END);
        usleep((useconds_t)backoff_ms * 1000);
        backoff_ms =
            backoff_ms * 2 > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS : backoff_ms * 2;
        PQreset(w->pg);
    }
}

void worker_pg_settings(const char *synchronous_commit, char *out, size_t outlen)
{
    if (synchronous_commit && *synchronous_commit)
        snprintf(out, outlen, "-c jit=off -c synchronous_commit=%s", synchronous_commit);
    else
        snprintf(out, outlen, "-c jit=off");
}

static int connect_all(worker *w, char *err, size_t errlen)
{
    const char *conninfo;
    if (config_get_str(w->cfg, "pg.conninfo", &conninfo, err, errlen) != 0) return -1;
    char app[64];
    snprintf(app, sizeof app, "mni-%s", w->spec->component);
    worker_pg_settings(config_get(w->cfg, "pg.synchronous_commit"), w->pg_settings,
                       sizeof w->pg_settings);
    w->pg = connect_pg(conninfo, app, w->pg_settings, err, errlen);
    if (!w->pg) return -1;
    kq_set_log(on_kafka_log);
    kq_prop props[WORKER_MAX_PROPS + 2];
    size_t n = kafka_props(w->cfg, props, WORKER_MAX_PROPS);
    w->producer = kq_producer_new(props, n, err, errlen);
    if (!w->producer) return -1;
    props[n++] = (kq_prop){"group.id", w->group};
    props[n++] = (kq_prop){"auto.offset.reset", "error"}; /* logcheck.h */
    kq_consumer_cbs cbs = {.ctx = w,
                           .load_offsets = load_offsets,
                           .on_revoke = on_revoke,
                           .on_error = on_kafka_error,
                           .on_stats = w->metrics ? on_stats : NULL};
    w->consumer = kq_consumer_new(props, n, &cbs, err, errlen);
    if (!w->consumer) return -1;
    kq_consumer_set_batch_bytes(w->consumer, (size_t)w->batch_bytes);
    const char *topics[] = {w->topic};
    return kq_subscribe(w->consumer, topics, 1, err, errlen);
}

/* The PostgreSQL gauges spec.gauges asks for (worker.h "Metrics"); one query each, on the
 * unpublished outbox rows (the queue of migration 0125 and the failed rows) and the partial
 * indexes of open deadlines. */
static int read_gauges(worker *w, char *err, size_t errlen)
{
    if (w->spec->gauges & WORKER_GAUGE_OUTBOX) {
        static const char *const logical[] = {"tasks", "assessments", "tickets"};
        long long unpublished[3] = {0};
        double oldest[3] = {0};
        PGresult *res =
            pgx_query(w->pg, "worker.gauge_outbox",
                      "SELECT topic, count(*), extract(epoch FROM now() - min(created_at)) "
                      "FROM (SELECT topic, created_at FROM outbox_queue UNION ALL "
                      "SELECT topic, created_at FROM outbox WHERE failed_at IS NOT NULL) u "
                      "GROUP BY topic",
                      0, NULL, err, errlen);
        if (!res) return -1;
        for (int r = 0; r < PQntuples(res); r++) {
            const char *topic = PQgetvalue(res, r, 0);
            size_t i = 0;
            while (i < 3 && strcmp(logical[i], topic) != 0)
                i++;
            if (i == 3) {
                metrics_set_outbox(w->metrics, topic, atoll(PQgetvalue(res, r, 1)),
                                   atof(PQgetvalue(res, r, 2)));
                continue;
            }
            unpublished[i] = atoll(PQgetvalue(res, r, 1));
            oldest[i] = atof(PQgetvalue(res, r, 2));
        }
        PQclear(res);
        for (size_t i = 0; i < 3; i++)
            metrics_set_outbox(w->metrics, logical[i], unpublished[i], oldest[i]);
    }
    if (w->spec->gauges & WORKER_GAUGE_DEADLINES) {
        char hours[16];
        snprintf(hours, sizeof hours, "%d", METRICS_DUE_SOON_HOURS);
        const char *params[] = {hours};
        PGresult *res =
            pgx_query(w->pg, "worker.gauge_deadlines",
                      "SELECT count(*) FILTER (WHERE due_end > now() AND "
                      "due_end <= now() + make_interval(hours => $1::int)), "
                      "count(*) FILTER (WHERE due_end <= now()) "
                      "FROM (SELECT mni_due_end(due_date, due_at) AS due_end FROM deadlines "
                      "WHERE met_at IS NULL) d",
                      1, params, err, errlen);
        if (!res) return -1;
        metrics_set_deadlines(w->metrics, atoll(PQgetvalue(res, 0, 0)),
                              atoll(PQgetvalue(res, 0, 1)));
        PQclear(res);
    }
    return 0;
}

int worker_start_relay(worker *w, const schema_set *schemas, int batch, char *err, size_t errlen)
{
    char app[64];
    snprintf(app, sizeof app, "mni-%s-relay", w->spec->component);
    kq_prop props[WORKER_MAX_PROPS];
    relayer_spec spec = {
        .conninfo = config_get(w->cfg, "pg.conninfo"),
        .app = app,
        .pg_settings = w->pg_settings,
        .kafka_props = props,
        .n_kafka_props = kafka_props(w->cfg, props, WORKER_MAX_PROPS),
        .cfg = w->cfg,
        .schemas = schemas,
        .batch = batch,
        .tick_ms = w->tick_ms,
        .metrics = w->metrics,
    };
    w->relay = relayer_start(&spec, err, errlen);
    return w->relay ? 0 : -1;
}

/* The timed work: reconnects PostgreSQL when the connection broke (a restart while idle),
 * follows acknowledgements of lost events while degraded, then runs spec.tick, or, for a worker
 * without one, checks the connection when idle. A failure is counted and retried with backoff
 * (100 ms doubling to WORKER_BACKOFF_MAX_MS), as batches are; /healthz shows it meanwhile. */
static void run_tick(worker *w, int idle)
{
    char err[512] = "";
    int ok = 1;
    if (PQstatus(w->pg) != CONNECTION_OK) {
        PQreset(w->pg);
        if (PQstatus(w->pg) == CONNECTION_OK) {
            log_info("reconnected to PostgreSQL", LOG_END);
        } else {
            snprintf(err, sizeof err, "PostgreSQL connection lost; reconnecting failed: %s",
                     PQerrorMessage(w->pg));
            err[strcspn(err, "\n")] = '\0';
            ok = 0;
        }
    }
    if (ok && w->degraded) ok = check_losses(w, err, sizeof err) == 0;
    if (ok && w->spec->tick)
        ok = w->spec->tick(w, w->ctx, err, sizeof err) == 0;
    else if (ok && idle)
        ok = pgx_exec(w->pg, "worker.ping", "SELECT 1", err, sizeof err) == 0;
    if (ok && w->relay) ok = relayer_ok(w->relay, err, sizeof err); /* its failures show here */
    if (!ok && PQstatus(w->pg) == CONNECTION_OK && PQtransactionStatus(w->pg) != PQTRANS_IDLE) {
        char ignored[256];
        pgx_rollback(w->pg, ignored, sizeof ignored);
    }
    /* Read even when the tick failed: a relay that cannot deliver is when the backlog counts. */
    if (w->metrics && w->spec->gauges && monoclock_ms_exact() >= w->next_gauges_at &&
        PQstatus(w->pg) == CONNECTION_OK && PQtransactionStatus(w->pg) == PQTRANS_IDLE) {
        char why[512];
        w->next_gauges_at = monoclock_ms_exact() + (double)w->gauges_ms;
        if (read_gauges(w, why, sizeof why) != 0)
            log_warn("cannot read the PostgreSQL gauges; will retry", LOG_STR("error", why),
                     LOG_END);
    }
    metrics_set_database(w->metrics, PQstatus(w->pg) == CONNECTION_OK);
    metrics_tick_done(w->metrics, ok);
    if (ok) {
        if (w->tick_backoff_ms) log_info("tick succeeded again", LOG_END);
        w->tick_backoff_ms = 0;
        w->next_tick_at = monoclock_ms_exact() + (double)w->tick_ms;
        return;
    }
    w->tick_backoff_ms = w->tick_backoff_ms == 0                          ? 100
                         : w->tick_backoff_ms * 2 > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS
                                                                          : w->tick_backoff_ms * 2;
    w->next_tick_at = monoclock_ms_exact() + w->tick_backoff_ms;
    log_warn("tick failed; will retry", LOG_STR("error", err),
             LOG_BOOL("database_up", PQstatus(w->pg) == CONNECTION_OK),
             LOG_INT("retry_in_ms", w->tick_backoff_ms), LOG_END);
}

void worker_set_input_gate(worker *w, worker_gate_fn gate, void *arg)
{
    w->gate = gate;
    w->gate_arg = arg;
}

/* Pauses (or resumes) every assigned partition of the input that is not held. */
static void pause_input(worker *w, int pause)
{
    rd_kafka_t *rk = kq_consumer_handle(w->consumer);
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(rk, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
    rd_kafka_topic_partition_list_t *list =
        rd_kafka_topic_partition_list_new(assigned->cnt > 0 ? assigned->cnt : 1);
    for (int i = 0; i < assigned->cnt; i++) {
        const worker_offset *o = offset_slot(w, assigned->elems[i].partition);
        if (!o || !o->held)
            rd_kafka_topic_partition_list_add(list, assigned->elems[i].topic,
                                              assigned->elems[i].partition);
    }
    char err[256] = "";
    int rc = 0;
    if (pause) {
        rd_kafka_resp_err_t e = rd_kafka_pause_partitions(rk, list);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, sizeof err, "%s", rd_kafka_err2str(e));
            rc = -1;
        }
    } else {
        rc = kq_resume(w->consumer, list, err, sizeof err);
    }
    if (rc == 0) {
        w->input_paused = pause;
        log_debug(pause ? "input paused" : "input resumed", LOG_INT("partitions", list->cnt),
                  LOG_END);
    } else {
        log_warn("cannot pause or resume the input", LOG_STR("error", err), LOG_END);
    }
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_topic_partition_list_destroy(assigned);
}

/* The input gate (worker_set_input_gate): 1 when the loop may take a batch. */
static int input_open(worker *w)
{
    if (!w->gate) return 1;
    int open = w->gate(w, w->gate_arg);
    if (open != w->input_paused) return open; /* already as it should be */
    pause_input(w, !open);
    return open;
}

static int loop(worker *w)
{
    rd_kafka_message_t **msgs = calloc((size_t)w->batch_size, sizeof *msgs);
    if (!msgs) return 1;
    char err[1024];
    int backoff_ms = 100, rc = 0;
    double last_input = monoclock_ms_exact();
    while (!worker_signal) {
        size_t n = 0;
        metrics_alive(w->metrics);
        if (!input_open(w)) last_input = monoclock_ms_exact(); /* waiting downstream is not idle */
        if (kq_consume_batch(w->consumer, (size_t)w->batch_size, (int)w->batch_ms, msgs, &n, err,
                             sizeof err) != 0) {
            log_error("consumer failed", LOG_STR("error", err), LOG_END);
            rc = 1;
            break;
        }
        if (n > 0 || !w->assigned) {
            last_input = monoclock_ms_exact();
        }
        n = screen_batch(w, msgs, n);
        if (n > 0) {
            double t0 = monoclock_ms_exact();
            metrics_add(w->metrics, METRICS_MESSAGES, n);
            int failed = run_batch(w, msgs, n, err, sizeof err) != 0;
            size_t done = 0;
            if (failed && kq_producer_take_refused(w->producer)) {
                log_warn("Kafka refused a message of the batch; applying it message by message",
                         LOG_STR("error", err), LOG_UINT("messages", n), LOG_END);
                done = run_one_by_one(w, msgs, n, err, sizeof err);
                failed = done < n;
            }
            metrics_batch_done(w->metrics, !failed);
            metrics_batch_seconds(w->metrics, (monoclock_ms_exact() - t0) / 1e3);
            /* Idle counts from the batch's end: a long batch is work. */
            last_input = monoclock_ms_exact();
            if (failed) {
                char seek_err[256];
                log_warn("batch rolled back; reading it again", LOG_STR("error", err),
                         LOG_UINT("messages", n - done), LOG_INT("retry_in_ms", backoff_ms),
                         LOG_END);
                if (kq_seek_batch(w->consumer, msgs + done, n - done, seek_err, sizeof seek_err) !=
                    0)
                    log_warn("rewind failed", LOG_STR("error", seek_err), LOG_END);
                rewind_positions(w, msgs + done, n - done);
                if (w->fenced) take_stored_offsets(w);
                kq_messages_destroy(msgs, n);
                if (PQstatus(w->pg) != CONNECTION_OK) PQreset(w->pg);
                metrics_set_database(w->metrics, PQstatus(w->pg) == CONNECTION_OK);
                handle_resets(w);
                usleep((useconds_t)backoff_ms * 1000);
                backoff_ms =
                    backoff_ms * 2 > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS : backoff_ms * 2;
                continue;
            }
            backoff_ms = 100;
            metrics_set_database(w->metrics, 1);
            metrics_set_kafka(w->metrics, 1); /* it delivered and flushed */
            log_debug("batch committed", LOG_UINT("messages", n),
                      LOG_F64("ms", monoclock_ms_exact() - t0), LOG_END);
            kq_messages_destroy(msgs, n);
            relayer_kick(w->relay); /* the batch's outbox rows leave beside the next batch */
            handle_resets(w);
            run_tick(w, 0);
        } else {
            handle_resets(w);
            if (monoclock_ms_exact() >= w->next_tick_at) run_tick(w, 1);
        }
        if (w->exit_when_idle_ms > 0 &&
            monoclock_ms_exact() - last_input >= (double)w->exit_when_idle_ms) {
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
    arena_init(&w.batch_arena);
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

    int metrics_ok = metrics_start(spec->component, config_get(w.cfg, "metrics.bind"),
                                   (int)w.metrics_port, &w.metrics, err, sizeof err) == 0;
    if (metrics_ok) pgx_set_error_hook(on_pg_error, w.metrics);
    if (!metrics_ok || connect_all(&w, err, sizeof err) != 0) {
        log_error("cannot start", LOG_STR("error", err), LOG_END);
        rc = 1;
    } else if (spec->start && start_spec(&w, err, sizeof err) != 0) {
        log_error("cannot start", LOG_STR("error", err), LOG_END);
        rc = 1;
    } else {
        log_info("started", LOG_STR("group", w.group), LOG_STR("topic", w.topic),
                 LOG_INT("batch_size", w.batch_size), LOG_INT("batch_bytes", w.batch_bytes),
                 LOG_STR("synchronous_commit", config_get(w.cfg, "pg.synchronous_commit")),
                 LOG_END);
        metrics_set_database(w.metrics, 1);
        if (check_losses(&w, err, sizeof err) != 0)
            log_warn("cannot read the open losses", LOG_STR("error", err), LOG_END);
        rc = loop(&w);
        run_tick(&w, 0); /* relay what the last batch left in the outbox */
    }
    if (relayer_stop(w.relay, err, sizeof err) != 0) /* its last pass: the same */
        log_warn("the outbox relay's last pass failed; its rows stay unpublished",
                 LOG_STR("error", err), LOG_END);
    if (kq_consumer_close(w.consumer, err, sizeof err) != 0)
        log_warn("consumer close reported an error", LOG_STR("error", err), LOG_END);
    if (kq_producer_close(w.producer, WORKER_FLUSH_MS, err, sizeof err) != 0) {
        log_error("producer close: undelivered messages", LOG_STR("error", err), LOG_END);
        rc = rc ? rc : 1;
    }
    pgx_close(w.pg);
    pgx_set_error_hook(NULL, NULL);
    metrics_stop(w.metrics);
    free(w.offsets);
    arena_free(&w.batch_arena);
    config_free(w.cfg);
    log_info("stopped", LOG_INT("exit_code", rc), LOG_END);
    return rc;
}
