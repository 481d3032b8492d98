/*
 * event_store: ingest's access to the event_log table (db/migrations/0001_events_cases.sql).
 *
 * Both inside the worker's batch transaction (worker.h), so the rows commit atomically with
 * the consumer offsets:
 *
 *   event_store_load_opened  which of a batch's incident ids already have an incident_opened
 *                            row (validate.h, test 4). One query per batch.
 *   event_store_insert       the accepted events, idempotently: COPY into the session's
 *                            staging table ingest_events (CREATE TEMP TABLE IF NOT
 *                            EXISTS each time: a rollback or a reconnect drops it), then
 *                              WITH staged AS (DELETE FROM ingest_events RETURNING *)
 *                              INSERT ... SELECT FROM staged
 *                              ON CONFLICT DO NOTHING RETURNING event_id
 *                            (COPY's text escaping carries every string; a manifest's tokens,
 *                            validated hex digits, go as one string, decoded by the INSERT;
 *                            no SQL text is built from data). The event ids the server returns
 *                            are the rows that are new; a replayed event id returns nothing.
 *                            A row can also be refused because its origin (src_topic,
 *                            src_partition, src_epoch, src_offset) already holds another event:
 *                            the partition's log is not the one event_log was read from (a
 *                            topic or broker recreated under a group that has no stored offsets
 *                            to tell). Only when some rows were not inserted, one more query
 *                            looks for such a clash and reports the first one (event_store_clash)
 *                            so that ingest stops the partition instead of retrying the batch
 *                            forever or dropping the event.
 *                            Otherwise, for the rows that were not inserted (their event id is
 *                            stored), one more query compares the stored body with the new
 *                            one: the same content is a replay; other content under the same
 *                            id (a producer bug or a forgery) is reported in `conflicting`, and
 *                            ingest dead-letters it as conflicting_duplicate.
 *
 * Row contents: event_id, incident_id, tenant, kind (the type symbol, "facts_updated"),
 * occurred_at (UTC), client_id for the client-scoped kinds (exposure manifest, exposure count,
 * and report_filed when it names a client), where the event was read (src_topic,
 * src_partition, src_epoch, src_offset; the epoch counts the logs an operator accepted on the
 * partition, lib/runtime/logcheck.h) and body = the whole event as mni_event_to_json writes it
 * (envelope and body: self-contained evidence), except an exposure manifest's tokens, which go
 * to the column tokens as 32 bytes each, in order (migration 0070: a jsonb of 64-hex strings
 * cost PostgreSQL far more to parse, build and store than the bytes). They travel to the server
 * as one string of hex digits per row, decoded there. event_log_event(body, tokens) gives the
 * whole event back, parseable into the same event with mni_event_from_json, and the replay
 * comparison compares those. Only events that passed validate.h reach here, so no raw My
 * Number is ever written.
 *
 * The caller de-duplicates event ids within one call (a producer retry inside a batch): two
 * rows with one event id in the same INSERT would leave which source position is stored to
 * the executor.
 *
 * State: two counters of the staging table's use, for its truncation (one batch connection
 * per worker process). Errors: 0 or -1 with pgx's message (statement name, server message,
 * SQLSTATE) in err.
 */
#ifndef MNI_INGEST_EVENT_STORE_H
#define MNI_INGEST_EVENT_STORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/strset.h"
#include "lib/model/events.h"

/* One accepted event and where it was read. */
typedef struct {
    const mni_event *ev;
    const char *src_topic;
    int32_t src_partition;
    int32_t src_epoch;
    int64_t src_offset;
} event_store_row;

/* Adds to known each of ids[0..n) that has an incident_opened row in event_log. */
int event_store_load_opened(PGconn *pg, const char *const *ids, size_t n, strset *known, char *err,
                            size_t errlen);

/* An event whose origin already holds another event in event_log. */
typedef struct {
    int found;
    int32_t partition;
    int64_t offset;
    char event_id[128];  /* the event read there now (truncated) */
    char stored_id[128]; /* the event event_log holds from there (truncated) */
} event_store_clash;

/* Inserts rows[0..n) (ON CONFLICT DO NOTHING) and adds the event id of each row actually
 * inserted to inserted, and of each row whose id event_log holds with other content to
 * conflicting; clash->found is set when a row was refused because its origin holds another
 * event (see above): the caller must then not commit the batch. */
int event_store_insert(PGconn *pg, const event_store_row *rows, size_t n, strset *inserted,
                       strset *conflicting, event_store_clash *clash, char *err, size_t errlen);

#endif
