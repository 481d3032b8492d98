/*
 * waiting_store: ingest's access to waiting_events (db/migrations/0050_waiting_events.sql), the
 * events that wait in PostgreSQL for their incident to be opened (issue 8, "Out of order is
 * normal"; the policy is in main.c and validate.h).
 *
 * Inside the worker's batch transaction (worker.h), with the consumer offsets:
 *   waiting_store_count    how many events wait (the bound ingest.waiting.max)
 *   waiting_store_load     the events waiting for some incidents, in release order
 *   waiting_store_park     new waiting events (ON CONFLICT (event_id) DO NOTHING), their rows
 *                          as one JSON array parameter per chunk of about
 *                          WAITING_STORE_CHUNK_BYTES (payloads travel as hex)
 *   waiting_store_release  deletes the rows of events that were forwarded
 * Outside any transaction, from the worker's tick:
 *   waiting_store_summary  how many wait, the age of the oldest, how many waited too long
 *   waiting_store_overdue  marks reported_at on events that waited longer than the limit and
 *                          were not reported yet, and hands each one back once (to be logged)
 *
 * Release order: occurred_at, then where the event was read (src_epoch, src_partition,
 * src_offset), then event id; waiting_event_cmp is the same order in C, so that events loaded
 * from PostgreSQL and events of the current batch are merged into one sequence.
 *
 * Errors: 0 or -1 with pgx's message (statement name, server message, SQLSTATE) in err.
 */
#ifndef MNI_INGEST_WAITING_STORE_H
#define MNI_INGEST_WAITING_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define WAITING_STORE_CHUNK_BYTES (8u * 1024 * 1024)

/* One waiting event. Strings and payload are borrowed (from the batch or a waiting_loaded). */
typedef struct {
    const char *event_id;
    const char *incident_id;
    const char *kind;
    int64_t occurred_at_ms;
    int32_t src_epoch;
    int32_t src_partition;
    int64_t src_offset;
    const void *payload;
    size_t len;
} waiting_event;

/* The release order (see above), for qsort over waiting_event. */
int waiting_event_cmp(const void *a, const void *b);

/* Events loaded by waiting_store_load; rows point into res. */
typedef struct {
    PGresult *res;
    waiting_event *v;
    size_t n;
} waiting_loaded;

void waiting_loaded_free(waiting_loaded *l);
/* The rows of l waiting for incident_id: l->v[*first .. *first + return value). */
size_t waiting_loaded_find(const waiting_loaded *l, const char *incident_id, size_t *first);

int waiting_store_count(PGconn *pg, long long *n, char *err, size_t errlen);

/* The events waiting for the incidents ids[0..n), ordered by incident id (byte order, as
 * strcmp), then release order. out is emptied first; free it with waiting_loaded_free. */
int waiting_store_load(PGconn *pg, const char *const *ids, size_t n, waiting_loaded *out, char *err,
                       size_t errlen);

int waiting_store_park(PGconn *pg, const waiting_event *rows, size_t n, char *err, size_t errlen);

int waiting_store_release(PGconn *pg, const char *const *event_ids, size_t n, char *err,
                          size_t errlen);

typedef struct {
    long long events;
    long long oldest_age_s; /* 0 when none waits */
    long long overdue;      /* waiting longer than warn_after_s */
} waiting_summary;

int waiting_store_summary(PGconn *pg, long long warn_after_s, waiting_summary *out, char *err,
                          size_t errlen);

/* Calls report(ctx, event_id, incident_id, kind, age_s) for at most limit events that wait
 * longer than warn_after_s and were not reported before, and marks them reported. */
int waiting_store_overdue(PGconn *pg, long long warn_after_s, int limit,
                          void (*report)(void *ctx, const char *event_id, const char *incident_id,
                                         const char *kind, long long age_s),
                          void *ctx, char *err, size_t errlen);

#endif
