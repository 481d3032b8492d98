/*
 * case_report: what `mni report ID` and `mni web` show, read from PostgreSQL as one JSON model
 * per page (notify/render/render_html.h renders it). Each model is built by ONE statement, so it is
 * one consistent snapshot without a transaction, and it costs one round trip.
 *
 * Every part is read through the tables a client's row-level security will filter (issue 8):
 * the verdict only through case_verdict(incident_id, version) (per-client entries come from
 * client_verdicts), per-client counts from client_exposure, deadlines, filings, deliveries and
 * tickets with their client_id. Nothing here decides a legal question: the verdict is the
 * stored one, and a deadline's state compares the clock with mni_due_end (migration 0010, the
 * SQL twin of rules/due_day.h).
 *
 * The case model (times are RFC 3339 in Japan time, "...+09:00", or null):
 *
 *   {incident_id, tenant, status, version, as_of, opened_at, known_at, mandatory_since,
 *    closed_at, persons_total, distinct_tokens, title, description, facts, verdict | null,
 *    versions:  [{version, created_at, rules[], my_number, appi, route, cause_event_id}],
 *    clients:   [{client_id, persons, persons_max, token_count, known}],
 *    deadlines: [{kind, client_id, due_date, due_at, due_end, met_at, reminded_at,
 *                 escalated_at, state}],
 *    steps:     [{step, completed_at}],
 *    filings:   [{report, client_id, filed_at, reference}],
 *    documents: [{task_id, channel, format, bytes, sha256, status, rendered_at, sent_at}],
 *    tickets:   [{ticket_id, kind, client_id, title, status, created_at, webhook_state,
 *                 webhook_attempts, webhook_last_status, webhook_last_error}]}
 *
 * A deadline's state as of as_of: "met" (met before its end), "met_late", "overdue" (unmet,
 * its end passed, the case open), "open" (unmet, not yet due), "closed" (unmet, the case
 * closed or withdrawn: the sweeper no longer chases it either). title and description are the
 * incident's free text (the opening event's, or the latest update's), screened by ingest.
 *
 * The list model: {as_of, sort, order, cases: [{incident_id, tenant, status, version, opened_at,
 * my_number, appi, route, persons_known, persons_max, next_kind, next_client_id, next_due,
 * next_due_end, next_state, overdue}]}; next_* describe the open deadline that ends first
 * (null when none), overdue counts the case's overdue deadlines.
 *
 * as_of: an RFC 3339 time, or NULL for the server's now(). Errors: NULL with "name: reason".
 */
#ifndef MNI_CASE_REPORT_H
#define MNI_CASE_REPORT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* The case model of incident_id (new reference); NULL with *missing = 1 when there is no such
 * case (or the connection's role may not see it), else an error in err. */
json_t *case_report_load(PGconn *pg, const char *incident_id, const char *as_of, int *missing,
                         char *err, size_t errlen);

/* The columns the list sorts by (what ?sort= accepts), first the default. */
extern const char *const case_report_sort_keys[];

/* The list model. sort is one of case_report_sort_keys (NULL: the default, next_due), desc
 * non-zero for descending order. */
json_t *case_report_list(PGconn *pg, const char *as_of, const char *sort, int desc, char *err,
                         size_t errlen);

#endif
