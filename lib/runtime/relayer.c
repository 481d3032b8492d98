/*
 * relayer: see relayer.h.
 *
 * The thread waits on a condition variable until a pass is due: at once after a kick, else
 * tick_ms after the last pass, and while failing not before the backoff ends. A pass is
 * outbox_relay on the relayer's own connection and producer, outside the mutex.
 *
 * Pacing (outbox_pace.h): while a topic waits for its reader, the thread also wakes every
 * PACE_GATE_POLL_MS to measure again, and makes a pass only when that opened the topic (kicks
 * and ticks make theirs as before, leaving the waiting topic's rows queued).
 */
#include "lib/runtime/relayer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/log.h"
#include "lib/base/monoclock.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"
#include "lib/runtime/outbox_pace.h"
#include "lib/runtime/pace_gate.h"

#define RELAYER_FLUSH_MS 30000
#define RELAYER_BACKOFF_MIN_MS 100
#define RELAYER_BACKOFF_MAX_MS 5000

struct relayer {
    relayer_spec spec;
    PGconn *pg;
    kq_producer *producer;
    outbox_pace *pace; /* NULL: not paced; the thread's alone */
    pthread_t thread;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t wake;
    int kicked, stop, failing;
    int backoff_ms;
    char last_err[512];
};

/* One pass, outside the mutex: reconnects when the connection broke, then relays everything
 * unpublished. 0, or -1 with err. */
static int relayer_pass(relayer *r, char *err, size_t errlen)
{
    if (PQstatus(r->pg) != CONNECTION_OK) {
        PQreset(r->pg);
        if (PQstatus(r->pg) != CONNECTION_OK) {
            snprintf(err, errlen, "relay: PostgreSQL connection lost; reconnecting failed");
            return -1;
        }
        log_info("relay reconnected to PostgreSQL", LOG_END);
    }
    long relayed = 0, failed = 0;
    int rc = outbox_relay_paced(r->pg, r->producer, r->spec.cfg, r->spec.schemas, r->pace,
                                r->spec.batch, &relayed, &failed, err, errlen);
    metrics_add(r->spec.metrics, METRICS_OUTBOX_RELAYED, (uint64_t)relayed);
    metrics_add(r->spec.metrics, METRICS_OUTBOX_FAILED, (uint64_t)failed);
    if (relayed > 0) log_info("outbox relayed", LOG_INT("rows", relayed), LOG_END);
    return rc;
}

static void *relayer_main(void *arg)
{
    relayer *r = arg;
    double last_pass = 0, retry_at = 0; /* the first pass at once: rows left from before */
    double last_measure = 0;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        int measure_only = 0;
        while (!r->stop) {
            double now = monoclock_ms_exact();
            double due = r->failing  ? retry_at
                         : r->kicked ? now
                                     : last_pass + (double)r->spec.tick_ms;
            if (now >= due) break;
            /* A topic waits for its reader: measure again soon (the head comment). */
            double measure_at = last_measure + PACE_GATE_POLL_MS;
            if (!r->failing && outbox_pace_waiting(r->pace) && now >= measure_at) {
                measure_only = 1;
                break;
            }
            if (!r->failing && outbox_pace_waiting(r->pace) && measure_at < due) due = measure_at;
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            double wait_ms = due - now;
            until.tv_sec += (time_t)(wait_ms / 1000);
            until.tv_nsec += (long)((wait_ms - (double)(long long)(wait_ms / 1000) * 1000) * 1e6);
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&r->wake, &r->lock, &until);
        }
        int stopping = r->stop;
        if (!measure_only) r->kicked = 0;
        pthread_mutex_unlock(&r->lock);

        char err[512] = "";
        if (measure_only) {
            int opened = outbox_pace_refresh(r->pace, r->pg, err, sizeof err);
            last_measure = monoclock_ms_exact();
            pthread_mutex_lock(&r->lock);
            if (opened == 0) continue; /* still waiting; nothing to relay for it */
            pthread_mutex_unlock(&r->lock);
        }
        int rc = relayer_pass(r, err, sizeof err);
        last_pass = last_measure = monoclock_ms_exact();
        if (rc != 0 && PQstatus(r->pg) == CONNECTION_OK &&
            PQtransactionStatus(r->pg) != PQTRANS_IDLE)
            pgx_rollback(r->pg, NULL, 0);

        pthread_mutex_lock(&r->lock);
        if (rc == 0) {
            if (r->failing) log_info("outbox relay succeeded again", LOG_END);
            r->failing = 0;
            r->backoff_ms = 0;
        } else {
            r->failing = 1;
            r->backoff_ms = r->backoff_ms == 0                           ? RELAYER_BACKOFF_MIN_MS
                            : r->backoff_ms * 2 > RELAYER_BACKOFF_MAX_MS ? RELAYER_BACKOFF_MAX_MS
                                                                         : r->backoff_ms * 2;
            retry_at = last_pass + r->backoff_ms;
            snprintf(r->last_err, sizeof r->last_err, "%s", err);
            log_warn("outbox relay failed; will retry", LOG_STR("error", err),
                     LOG_INT("retry_in_ms", r->backoff_ms), LOG_BOOL("stopping", stopping),
                     LOG_END);
        }
        if (stopping) break;
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

relayer *relayer_start(const relayer_spec *spec, char *err, size_t errlen)
{
    relayer *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "relay: out of memory");
        return NULL;
    }
    r->spec = *spec;
    r->pg = pgx_connect_with(spec->conninfo, spec->app, spec->pg_settings, err, errlen);
    if (!r->pg) {
        free(r);
        return NULL;
    }
    r->producer = kq_producer_new(spec->kafka_props, spec->n_kafka_props, err, errlen);
    if (!r->producer) {
        pgx_close(r->pg);
        free(r);
        return NULL;
    }
    if (outbox_pace_open(spec->cfg, kq_producer_handle(r->producer), spec->metrics, &r->pace, err,
                         errlen) != 0) {
        kq_producer_close(r->producer, 0, NULL, 0);
        pgx_close(r->pg);
        free(r);
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* waits immune to clock steps */
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, &attr);
    pthread_condattr_destroy(&attr);
    int e = pthread_create(&r->thread, NULL, relayer_main, r);
    if (e != 0) {
        snprintf(err, errlen, "relay: cannot start its thread: %s", strerror(e));
        pthread_cond_destroy(&r->wake);
        pthread_mutex_destroy(&r->lock);
        outbox_pace_free(r->pace);
        kq_producer_close(r->producer, 0, NULL, 0);
        pgx_close(r->pg);
        free(r);
        return NULL;
    }
    return r;
}

void relayer_kick(relayer *r)
{
    if (!r) return;
    pthread_mutex_lock(&r->lock);
    r->kicked = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

int relayer_ok(relayer *r, char *err, size_t errlen)
{
    if (!r) return 1;
    pthread_mutex_lock(&r->lock);
    int ok = !r->failing;
    if (!ok) snprintf(err, errlen, "%s", r->last_err);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

int relayer_stop(relayer *r, char *err, size_t errlen)
{
    if (!r) return 0;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_signal(&r->wake);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    int rc = r->failing ? -1 : 0;
    if (rc != 0) snprintf(err, errlen, "%s", r->last_err);
    char close_err[512];
    if (kq_producer_close(r->producer, RELAYER_FLUSH_MS, close_err, sizeof close_err) != 0 &&
        rc == 0) {
        snprintf(err, errlen, "relay producer close: %s", close_err);
        rc = -1;
    }
    outbox_pace_free(r->pace);
    pgx_close(r->pg);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return rc;
}
