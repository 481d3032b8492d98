/*
 * sweeper: turns deadlines that are near or past into reminder and escalation tasks
 * (RULES.md §2 clocks; DESIGN.md "reminders and overdue escalations").
 *
 * Runs in the notify worker's tick, in a transaction of its own (not the batch's), then the
 * relay publishes what it queued. One pass:
 *
 *   now      = notify.clock when set (an RFC 3339 time, for tests and demos), else the
 *              PostgreSQL server's now()
 *   end      = mni_due_end(due_date, due_at) (db/migrations/0010, the SQL twin of
 *              rules/due_day.h): for a due date 00:00 JST of the next day, for a due_at the
 *              end of its second; a deadline is overdue from its end on
 *   scan     deadlines with met_at NULL of open cases where
 *              reminded_at IS NULL AND now >= end - notify.remind_before_hours, or
 *              escalated_at IS NULL AND now >= end
 *            locked FOR UPDATE SKIP LOCKED, so two notify members never queue the same row
 *            and neither waits for the other; read through the index deadlines_sweep
 *            (migration 0126: the rows not met and not both stamped, by end), from the oldest
 *            end up to now + notify.remind_before_hours, so a pass reads what is due, not
 *            every open deadline
 *   queue    an outbox row on topic 'tasks' per reminder and escalation:
 *              {task_id, incident_id, kind, client_id, due_date | due_at, case_version,
 *               deadline_kind, as_of}
 *            with task_id = the first 32 hex digits of
 *              sha256("incident|kind|client|deadline kind|due")
 *            (ON CONFLICT DO NOTHING: even a lost stamp cannot queue a second task), the
 *            pass's tasks in one statement and their stamps in another. A deadline
 *            found already overdue and never reminded gets its reminder first, then its
 *            escalation (created_at in that order, which the relay follows).
 *   stamp    reminded_at / escalated_at = now, so the next pass (or a restarted worker)
 *            passes over it
 *   audit    'reminder_queued' / 'escalation_queued' (task id, deadline kind, due, as_of)
 *
 * The queued tasks come back to notify through the tasks topic and are rendered like any task
 * (reminder and escalation documents, tickets).
 */
#ifndef MNI_NOTIFY_SWEEPER_H
#define MNI_NOTIFY_SWEEPER_H

#include <libpq-fe.h>
#include <stddef.h>

#include "lib/serdes/schema_set.h"

typedef struct {
    long long remind_before_hours; /* notify.remind_before_hours */
    const char *clock;             /* notify.clock, or NULL for the server's now() */
    int batch;                     /* deadlines per pass at most */
    const schema_set *schemas;     /* to encode the tasks' messages */
} sweeper_config;

/* One pass in its own transaction; *reminders and *escalations count what it queued. */
int sweeper_run(PGconn *pg, const sweeper_config *cfg, long *reminders, long *escalations,
                char *err, size_t errlen);

#endif
