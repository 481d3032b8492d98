/*
 * sweeper: see sweeper.h.
 */
#include "notify/sweeper.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"
#include "lib/base/timefmt.h"
#include "lib/model/task_id.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/outbox.h"
#include "notify/notify_store.h"

/* The sweep's "now" in milliseconds: notify.clock, else the server's now(). */
static int sweep_now(PGconn *pg, const sweeper_config *cfg, long long *now_ms, char *err,
                     size_t errlen)
{
    if (cfg->clock) {
        int64_t ms;
        char why[128];
        if (timefmt_parse_rfc3339(cfg->clock, &ms, why, sizeof why) != 0) {
            snprintf(err, errlen, "notify.clock = '%s': %s", cfg->clock, why);
            return -1;
        }
        *now_ms = ms;
        return 0;
    }
    PGresult *res =
        pgx_query(pg, "sweeper.now", "SELECT (extract(epoch FROM now()) * 1000)::bigint", 0, NULL,
                  err, errlen);
    if (!res) return -1;
    *now_ms = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* Queues one reminder or escalation; *queued = 1 when the row is new. */
static int queue_task(PGconn *pg, PGresult *res, int r, const char *kind, const char *as_of,
                      json_t *audit, int *queued, char *err, size_t errlen)
{
    const char *incident_id = PQgetvalue(res, r, 1);
    const char *client_id = PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2);
    const char *deadline_kind = PQgetvalue(res, r, 3);
    const char *due_date = PQgetisnull(res, r, 4) ? NULL : PQgetvalue(res, r, 4);
    char due_at[32] = "";
    if (!PQgetisnull(res, r, 5)) timefmt_format_jst_ms(atoll(PQgetvalue(res, r, 5)), due_at);
    const char *due = due_at[0] ? due_at : due_date;
    char task_id[33];
    mni_reminder_task_id(incident_id, kind, client_id, deadline_kind, due, task_id);
    json_t *payload = json_pack(
        "{s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:s, s:s}", "task_id", task_id, "incident_id",
        incident_id, "kind", kind, "client_id", client_id ? json_string(client_id) : json_null(),
        "due_date", due_date && !due_at[0] ? json_string(due_date) : json_null(), "due_at",
        due_at[0] ? json_string(due_at) : json_null(), "case_version",
        (json_int_t)atoll(PQgetvalue(res, r, 6)), "deadline_kind", deadline_kind, "as_of", as_of);
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!text) {
        snprintf(err, errlen,
                 "sweeper: deadline %s: cannot build the task (not UTF-8 or out "
                 "of memory)",
                 PQgetvalue(res, r, 0));
        return -1;
    }
    /* outbox_enqueue stamps created_at with the statement's clock: a reminder queued with its
     * escalation is relayed first. */
    bool is_new = false;
    int rc = outbox_enqueue(pg, task_id, "tasks", incident_id, client_id, kind, text, &is_new, err,
                            errlen);
    free(text);
    if (rc != 0) return -1;
    *queued = is_new;
    if (*queued)
        notify_audit_add(audit, !strcmp(kind, "reminder") ? "reminder_queued" : "escalation_queued",
                         incident_id, client_id,
                         json_pack("{s:s, s:s, s:s, s:s}", "task_id", task_id, "deadline_kind",
                                   deadline_kind, "due", due, "as_of", as_of));
    return 0;
}

static int sweep(PGconn *pg, const sweeper_config *cfg, const char *now_utc, const char *as_of,
                 json_t *audit, long *reminders, long *escalations, char *err, size_t errlen)
{
    char hours[24], limit[16];
    snprintf(hours, sizeof hours, "%lld", cfg->remind_before_hours);
    snprintf(limit, sizeof limit, "%d", cfg->batch);
    const char *p[] = {now_utc, hours, limit};
    /* An index scan of deadlines_sweep (migration 0126) up to the horizon, now + the reminder
     * lead: its condition and order spelled as the index's expression and predicate. */
    PGresult *res = pgx_query(
        pg, "sweeper.scan",
        "SELECT d.deadline_id, d.incident_id, d.client_id, d.kind, "
        "to_char(d.due_date, 'YYYY-MM-DD'), (extract(epoch FROM d.due_at) * 1000)::bigint, "
        "greatest(c.version, 1), "
        "d.reminded_at IS NULL AND $1::timestamptz >= mni_due_end(d.due_date, d.due_at) - "
        "make_interval(hours => $2::int), "
        "d.escalated_at IS NULL AND $1::timestamptz >= mni_due_end(d.due_date, d.due_at) "
        "FROM deadlines d JOIN cases c ON c.incident_id = d.incident_id "
        "WHERE d.met_at IS NULL AND (d.reminded_at IS NULL OR d.escalated_at IS NULL) "
        "AND mni_due_end(d.due_date, d.due_at) <= $1::timestamptz + "
        "make_interval(hours => $2::int) AND c.status = 'open' AND ("
        "(d.reminded_at IS NULL AND $1::timestamptz >= mni_due_end(d.due_date, d.due_at) - "
        "make_interval(hours => $2::int)) "
        "OR (d.escalated_at IS NULL AND $1::timestamptz >= mni_due_end(d.due_date, d.due_at))) "
        "ORDER BY mni_due_end(d.due_date, d.due_at), d.deadline_id LIMIT $3::int "
        "FOR UPDATE OF d SKIP LOCKED",
        3, p, err, errlen);
    if (!res) return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        int remind = !strcmp(PQgetvalue(res, r, 7), "t");
        int escalate = !strcmp(PQgetvalue(res, r, 8), "t");
        int queued = 0;
        if (remind) {
            rc = queue_task(pg, res, r, "reminder", as_of, audit, &queued, err, errlen);
            *reminders += queued;
        }
        if (rc == 0 && escalate) {
            rc = queue_task(pg, res, r, "escalation", as_of, audit, &queued, err, errlen);
            *escalations += queued;
        }
        if (rc == 0) {
            const char *ps[] = {PQgetvalue(res, r, 0), now_utc, remind ? "t" : "f",
                                escalate ? "t" : "f"};
            rc = pgx_exec_params(pg, "sweeper.stamp",
                                 "UPDATE deadlines SET "
                                 "reminded_at = CASE WHEN $3::boolean THEN $2::timestamptz "
                                 "ELSE reminded_at END, "
                                 "escalated_at = CASE WHEN $4::boolean THEN $2::timestamptz "
                                 "ELSE escalated_at END, updated_at = now() "
                                 "WHERE deadline_id = $1",
                                 4, ps, NULL, err, errlen);
        }
    }
    PQclear(res);
    return rc;
}

int sweeper_run(PGconn *pg, const sweeper_config *cfg, long *reminders, long *escalations,
                char *err, size_t errlen)
{
    long long now_ms;
    *reminders = *escalations = 0;
    if (sweep_now(pg, cfg, &now_ms, err, errlen) != 0) return -1;
    char now_utc[32], as_of[32];
    timefmt_format_utc_ms(now_ms, now_utc);
    timefmt_format_jst_ms(now_ms, as_of);
    json_t *audit = json_array();
    if (!audit) {
        snprintf(err, errlen, "sweeper: out of memory");
        return -1;
    }
    int rc = pgx_begin(pg, err, errlen);
    if (rc == 0) rc = sweep(pg, cfg, now_utc, as_of, audit, reminders, escalations, err, errlen);
    if (rc == 0) rc = notify_audit_flush(pg, audit, err, errlen);
    if (rc == 0)
        rc = pgx_commit(pg, err, errlen);
    else
        (void)pgx_rollback(pg, NULL, 0); /* best effort: the error that matters is in err */
    json_decref(audit);
    if (rc != 0)
        *reminders = *escalations = 0;
    else if (*reminders || *escalations)
        log_info("deadlines swept", LOG_INT("reminders", *reminders),
                 LOG_INT("escalations", *escalations), LOG_STR("as_of", as_of), LOG_END);
    return rc;
}
