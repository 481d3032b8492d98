/*
 * due_day: see due_day.h.
 */
#include "rules/due_day.h"

#include "rules/rules.h"

#define MS_PER_SECOND 1000
#define SECONDS_PER_DAY 86400

int64_t rules_due_day_last_second(jpcal_day due)
{
    /* Midnight UTC of the next day, less the nine hours by which Japan is ahead, less one
     * second. int32 days times 86,400 s stay far inside int64. */
    return ((int64_t)due + 1) * SECONDS_PER_DAY - RULES_JST_OFFSET_SECONDS - 1;
}

int64_t rules_due_day_end_ms(jpcal_day due)
{
    return (rules_due_day_last_second(due) + 1) * MS_PER_SECOND;
}

int64_t rules_due_at_end_ms(int64_t due_at_ms)
{
    /* Floor to the second (instants before 1970 too), then the whole second counts. */
    int64_t second = due_at_ms / MS_PER_SECOND;
    if (due_at_ms % MS_PER_SECOND < 0) second--;
    if (second >= INT64_MAX / MS_PER_SECOND) return INT64_MAX; /* never over */
    return (second + 1) * MS_PER_SECOND;
}
