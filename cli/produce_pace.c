/*
 * produce_pace: see produce_pace.h. The measure is lib/runtime/pace_meter's; what is mni
 * produce's own is here: deliver before measuring, wait (saying so once), give up.
 */
#include "cli/produce_pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_pg.h"
#include "lib/base/monoclock.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/pace_meter.h"

#define PACE_POLL_MS 50

struct produce_pace {
    produce_pace_opts o;
    pace_meter *meter;
    PGconn *pg;
    double last_progress_ms;
    int said_waiting;
    long waits;
    double waited_ms;
};

produce_pace *produce_pace_new(const produce_pace_opts *opts, char *err, size_t errlen)
{
    produce_pace *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "pacing: out of memory");
        return NULL;
    }
    p->o = *opts;
    p->meter = pace_meter_new(opts->rk, opts->topic, opts->group, opts->limit_bytes, err, errlen);
    if (!p->meter) {
        free(p);
        return NULL;
    }
    pace_meter_use_partitioner(p->meter, opts->partitioner);
    return p;
}

void produce_pace_free(produce_pace *p)
{
    if (!p) return;
    pace_meter_free(p->meter);
    pgx_close(p->pg);
    free(p);
}

void produce_pace_stats(const produce_pace *p, long *waits, double *waited_s)
{
    *waits = p ? p->waits : 0;
    *waited_s = p ? p->waited_ms / 1e3 : 0;
}

/* Delivers what was produced, so that the broker's end offsets count it, then measures what
 * the group has not consumed (pace_meter_measure); notes when the group made progress. */
static int pace_measure(produce_pace *p, char *err, size_t errlen)
{
    if (p->o.flush(p->o.flush_arg, err, errlen) != 0) return -1;
    if (!p->pg) {
        char why[1024];
        p->pg = cli_pg_connect(p->o.conninfo, why, sizeof why);
        if (!p->pg) {
            snprintf(err, errlen,
                     "pacing needs the PostgreSQL database of the workers, to watch group %s's "
                     "progress (consumer_offsets): %s; or pass --no-pace (real Kafka)",
                     p->o.group, why);
            return -1;
        }
    }
    int first = pace_meter_measured_at(p->meter) == 0;
    int64_t before = pace_meter_position_sum(p->meter);
    if (pace_meter_measure(p->meter, p->pg, err, errlen) != 0) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used,
                 " (pacing reads the workers' consumer_offsets and the broker's end offsets; "
                 "--no-pace turns it off)");
        return -1;
    }
    if (first || pace_meter_position_sum(p->meter) > before)
        p->last_progress_ms = monoclock_ms_exact();
    return 0;
}

int produce_pace_admit(produce_pace *p, const void *key, size_t keylen, size_t bytes, char *err,
                       size_t errlen)
{
    pace_meter *m = p->meter;
    int32_t target = pace_meter_partition(m, key, keylen), full;
    double started = 0;
    /* Measured before the first message: what is unread already counts. */
    if (pace_meter_measured_at(m) == 0 && pace_measure(p, err, errlen) != 0) return -1;
    while ((full = pace_meter_full(m, target, bytes)) >= 0) {
        if (started == 0) {
            /* The timeout counts from the start of this wait or the group's last progress. */
            started = monoclock_ms_exact();
            if (p->last_progress_ms < started) p->last_progress_ms = started;
            p->waits++;
        }
        if (pace_measure(p, err, errlen) != 0) return -1;
        if ((full = pace_meter_full(m, target, bytes)) < 0) break;
        if (!p->said_waiting) {
            p->said_waiting = 1;
            fprintf(stderr,
                    "mni produce: pacing: waiting for consumer group %s to read %s[%d] "
                    "(%.1f MiB not consumed yet, limit %.1f MiB; --no-pace turns this off)\n",
                    p->o.group, p->o.topic, (int)full,
                    (double)pace_meter_pending(m, full) / 1048576.0,
                    (double)p->o.limit_bytes / 1048576.0);
        }
        if (monoclock_ms_exact() - p->last_progress_ms > p->o.timeout_s * 1e3) {
            snprintf(err, errlen,
                     "pacing: consumer group %s has read nothing of %s for %d s (is mni-ingest "
                     "running against this broker and database?); %.1f MiB wait on partition %d",
                     p->o.group, p->o.topic, p->o.timeout_s,
                     (double)pace_meter_pending(m, full) / 1048576.0, (int)full);
            return -1;
        }
        usleep(PACE_POLL_MS * 1000);
    }
    if (started > 0) p->waited_ms += monoclock_ms_exact() - started;
    pace_meter_count(m, target, bytes);
    return 0;
}
