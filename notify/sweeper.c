/*
 * sweeper: see sweeper.h.
 */
#include "notify/sweeper.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/buf.h"
#include "lib/base/errbuf.h"
#include "lib/base/log.h"
#include "lib/base/timefmt.h"
#include "lib/model/json_text.h"
#include "lib/model/task_id.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/audit.h"
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

/* The task's message, ready to send, as bytea text (malloc'd): the relay sends it as it is, as
 * it does assess's tasks. NULL when it cannot be encoded: the relay then encodes it from the
 * payload, or marks the row failed saying why (a task never stops the sweep). */
static char *task_record(const schema_set *schemas, const outbox_task *t)
{
    wire_buf record;
    wire_buf_init(&record);
    char why[256] = "out of memory";
    char *hex = outbox_task_encode(schemas, t, &record, why, sizeof why) == 0
                    ? outbox_record_hex(&record)
                    : NULL;
    wire_buf_free(&record);
    if (!hex)
        log_warn("reminder record not encodable; the relay will try from the payload",
                 LOG_STR("task_id", t->task_id), LOG_STR("error", why), LOG_END);
    return hex;
}

/* Appends one reminder or escalation of scan row r to tasks, in queueing order (seq), with its
 * message (created at created_ms). */
static int add_task(const sweeper_config *cfg, PGresult *res, int r, const char *kind,
                    const char *as_of, long long created_ms, json_t *tasks, char *err,
                    size_t errlen)
{
    const char *deadline_kind = PQgetvalue(res, r, 3);
    char due_at[32] = "", task_id[33];
    if (!PQgetisnull(res, r, 5)) timefmt_format_jst_ms(atoll(PQgetvalue(res, r, 5)), due_at);
    outbox_task t = {
        .task_id = task_id,
        .incident_id = PQgetvalue(res, r, 1),
        .client_id = PQgetisnull(res, r, 2) ? NULL : PQgetvalue(res, r, 2),
        .kind = kind,
        .due_date = due_at[0] || PQgetisnull(res, r, 4) ? NULL : PQgetvalue(res, r, 4),
        .due_at = due_at[0] ? due_at : NULL,
        .case_version = atoll(PQgetvalue(res, r, 6)),
        .created_ms = created_ms,
    };
    const char *due = t.due_at ? t.due_at : t.due_date;
    mni_reminder_task_id(t.incident_id, kind, t.client_id, deadline_kind, due, task_id);
    json_t *client = t.client_id ? json_string(t.client_id) : json_null();
    json_t *payload =
        json_pack("{s:s, s:s, s:s, s:O, s:o, s:o, s:I, s:s, s:s}", "task_id", task_id,
                  "incident_id", t.incident_id, "kind", kind, "client_id", client, "due_date",
                  t.due_date ? json_string(t.due_date) : json_null(), "due_at",
                  t.due_at ? json_string(t.due_at) : json_null(), "case_version",
                  (json_int_t)t.case_version, "deadline_kind", deadline_kind, "as_of", as_of);
    char *payload_text = payload ? json_text_compact(payload) : NULL;
    t.payload_json = payload_text;
    char *record = payload_text ? task_record(cfg->schemas, &t) : NULL;
    json_t *task = payload_text ? json_pack("{s:I, s:s, s:s, s:O, s:s, s:O, s:s, s:s, s:s?}", "seq",
                                            (json_int_t)json_array_size(tasks), "task_id", task_id,
                                            "incident_id", t.incident_id, "client_id", client,
                                            "kind", kind, "payload", payload, "deadline_kind",
                                            deadline_kind, "due", due, "record", record)
                                : NULL;
    json_decref(client);
    json_decref(payload);
    free(payload_text);
    free(record);
    if (!task || json_array_append_new(tasks, task) != 0) {
        snprintf(err, errlen,
                 "sweeper: deadline %s: cannot build the task (not UTF-8 or out of memory)",
                 PQgetvalue(res, r, 0));
        return -1;
    }
    return 0;
}

/* Queues the sweep's tasks in one statement (ON CONFLICT DO NOTHING: even a lost stamp cannot
 * queue a second task) and audits the ones that are new, in one more. created_at follows seq,
 * so a reminder queued with its escalation is relayed first. */
static int queue_tasks(PGconn *pg, json_t *tasks, const char *as_of, long *reminders,
                       long *escalations, char *err, size_t errlen)
{
    if (json_array_size(tasks) == 0) return 0;
    char *text = json_text_compact(tasks);
    if (!text) {
        snprintf(err, errlen, "sweeper: cannot serialise %zu tasks (out of memory)",
                 json_array_size(tasks));
        return -1;
    }
    const char *p[] = {text, as_of};
    PGresult *res = pgx_query(
        pg, "sweeper.queue",
        "WITH src AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS s(seq integer, "
        "task_id text, incident_id text, client_id text, kind text, payload jsonb, "
        "deadline_kind text, due text, record bytea)), "
        "added AS (INSERT INTO outbox (task_id, topic, incident_id, client_id, kind, payload, "
        "record, created_at) SELECT task_id, 'tasks', incident_id, client_id, kind, payload, "
        "record, clock_timestamp() + seq * interval '1 microsecond' FROM src ORDER BY seq "
        "ON CONFLICT DO NOTHING RETURNING task_id) "
        "SELECT count(*) FILTER (WHERE s.kind = 'reminder'), "
        "count(*) FILTER (WHERE s.kind = 'escalation'), "
        "coalesce(jsonb_agg(jsonb_build_object('action', s.kind || '_queued', "
        "'incident_id', s.incident_id, 'client_id', s.client_id, 'payload', "
        "jsonb_build_object('task_id', s.task_id, 'deadline_kind', s.deadline_kind, "
        "'due', s.due, 'as_of', $2::text)) ORDER BY s.seq), '[]')::text "
        "FROM src s JOIN added a ON a.task_id = s.task_id",
        2, p, err, errlen);
    free(text);
    if (!res) return -1;
    long queued_reminders = atol(PQgetvalue(res, 0, 0));
    long queued_escalations = atol(PQgetvalue(res, 0, 1));
    *reminders += queued_reminders;
    *escalations += queued_escalations;
    int rc = queued_reminders + queued_escalations > 0
                 ? audit_append(pg, NOTIFY_ACTOR, PQgetvalue(res, 0, 2), NULL, err, errlen)
                 : 0;
    PQclear(res);
    return rc;
}

/* Stamps every scanned deadline in one statement, so the next pass passes over it. The rows
 * come as array literals: unnest's row estimate is their length, so the plan probes the
 * primary key (a jsonb record set is guessed at 100 rows and joined by reading every
 * deadline). */
static int stamp_deadlines(PGconn *pg, const char *ids, const char *remind, const char *escalate,
                           const char *now_utc, char *err, size_t errlen)
{
    const char *p[] = {ids, remind, escalate, now_utc};
    return pgx_exec_params(pg, "sweeper.stamp",
                           "UPDATE deadlines d SET "
                           "reminded_at = CASE WHEN s.remind THEN $4::timestamptz "
                           "ELSE d.reminded_at END, "
                           "escalated_at = CASE WHEN s.escalate THEN $4::timestamptz "
                           "ELSE d.escalated_at END, updated_at = now() "
                           "FROM unnest($1::bigint[], $2::boolean[], $3::boolean[]) "
                           "AS s(deadline_id, remind, escalate) "
                           "WHERE d.deadline_id = s.deadline_id",
                           4, p, NULL, err, errlen);
}

/* The array literals of the stamps: "{" before the first element, "," before the others. */
static void add_stamp(buf stamps[3], int r, const char *id, const char *remind,
                      const char *escalate)
{
    const char *values[] = {id, remind, escalate};
    for (int i = 0; i < 3; i++)
        buf_printf(&stamps[i], "%s%s", r ? "," : "{", values[i]);
}

static int sweep(PGconn *pg, const sweeper_config *cfg, const char *now_utc, const char *as_of,
                 long *reminders, long *escalations, char *err, size_t errlen)
{
    /* The messages' created_at: the wall clock, as the relay's row clock would be (not
     * notify.clock, which moves only the deadlines' "now"). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long created_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
    json_t *tasks = json_array();
    buf stamps[3]; /* deadline ids, remind flags, escalate flags */
    for (int i = 0; i < 3; i++)
        buf_init(&stamps[i], BUF_NO_LIMIT);
    int rc = tasks ? 0 : errbuf_fail(err, errlen, "sweeper: out of memory");
    int rows = PQntuples(res);
    for (int r = 0; r < rows && rc == 0; r++) {
        const char *remind = PQgetvalue(res, r, 7), *escalate = PQgetvalue(res, r, 8);
        if (!strcmp(remind, "t"))
            rc = add_task(cfg, res, r, "reminder", as_of, created_ms, tasks, err, errlen);
        if (rc == 0 && !strcmp(escalate, "t"))
            rc = add_task(cfg, res, r, "escalation", as_of, created_ms, tasks, err, errlen);
        add_stamp(stamps, r, PQgetvalue(res, r, 0), remind, escalate);
    }
    PQclear(res);
    if (rc == 0) rc = queue_tasks(pg, tasks, as_of, reminders, escalations, err, errlen);
    char *arrays[3];
    for (int i = 0; i < 3; i++) {
        buf_puts(&stamps[i], "}");
        arrays[i] = buf_take(&stamps[i]);
    }
    if (rc == 0 && rows > 0)
        rc = arrays[0] && arrays[1] && arrays[2]
                 ? stamp_deadlines(pg, arrays[0], arrays[1], arrays[2], now_utc, err, errlen)
                 : errbuf_fail(err, errlen, "sweeper: out of memory");
    for (int i = 0; i < 3; i++)
        free(arrays[i]);
    json_decref(tasks);
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
    int rc = pgx_begin(pg, err, errlen);
    if (rc == 0) rc = sweep(pg, cfg, now_utc, as_of, reminders, escalations, err, errlen);
    if (rc == 0)
        rc = pgx_commit(pg, err, errlen);
    else
        (void)pgx_rollback(pg, NULL, 0); /* best effort: the error that matters is in err */
    if (rc != 0)
        *reminders = *escalations = 0;
    else if (*reminders || *escalations)
        log_info("deadlines swept", LOG_INT("reminders", *reminders),
                 LOG_INT("escalations", *escalations), LOG_STR("as_of", as_of), LOG_END);
    return rc;
}
