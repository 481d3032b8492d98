/*
 * due_day: when a deadline is over. One answer for all of mni: the rule core's clocks, the
 * outbox, the renderers, the sweeper and `mni cases` (the last two through the SQL functions
 * mni_due_day_end and mni_due_end of db/migrations/0010_due_day_end.sql, which
 * tests/integration/test_due_day_sql.c keeps equal to these).
 *
 * The law counts whole days: a period in days ends when its last day ends (民法 Art. 141, which
 * governs the periods of the PPC rule Art. 3 and of RULES.md §2), so a report filed at any
 * moment of its due day, up to 23:59:59.999 Japan time, is on time. Convention: a due day ends
 * at the first instant of the next day in Japan time, 00:00:00.000 JST, and that end is
 * exclusive: a deadline is overdue when now >= its end. Japan time is UTC+9 without daylight
 * saving time (none since 1951), so the end is always 24 h after the due day began.
 *
 * A deadline given as an instant (due_at: a contract's clock in hours, or the policy's notice
 * written as notice_due) names the last whole second that is still on time, the way a document
 * prints it ("2026-06-12T23:59:59+09:00", "23:59まで"); it ends one second later. A due date D
 * and the instant D 23:59:59 JST therefore end at the same moment.
 *
 * Pure: no allocation, no I/O. Defined for every day number and every int64 instant.
 */
#ifndef MNI_DUE_DAY_H
#define MNI_DUE_DAY_H

#include <stdint.h>

#include "rules/jpcal.h"

/* The instant (ms since the epoch) at which Japan day `due` is over: 00:00 JST of the next day.
 * Overdue when now_ms >= this. */
int64_t rules_due_day_end_ms(jpcal_day due);

/* The last whole second (seconds since the epoch) of Japan day `due`, 23:59:59 JST: the form
 * in which an instant deadline on that day is written. Equals rules_due_day_end_ms / 1000 - 1. */
int64_t rules_due_day_last_second(jpcal_day due);

/* The instant (ms) at which a deadline written as the instant due_at_ms is over: the end of
 * its second. */
int64_t rules_due_at_end_ms(int64_t due_at_ms);

#endif
