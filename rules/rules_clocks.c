/*
 * Clocks (RULES.md §2), counted in Japan time with the knowledge day as day 1.
 *
 * Current regime: preliminary report (速報, PPC rule Art. 3(1)) "promptly", policy target the
 * end of day 3 and hard limit day 5, calendar days; final report (確報, Art. 3(2)) within 30
 * days, 60 when MN-2-2 fired (APPI: when APPI-7-3 fired), moved to the next day the government
 * is open when it falls on a closed day (民法 Art. 142 read with 行政機関の休日に関する法律
 * Art. 1). Earlier regime: a first report at once (knowledge day), no fixed final day.
 * Contractor's notice to each client (Art. 4): promptly, end of day 3 by policy, or the
 * contract's clock in hours from the knowledge time when that is earlier.
 *
 * Each client's own reports run on its own clocks from its own knowledge day (RULES.md §2:
 * its known_at when given, else the reporter's day, the earliest it can know, so the dates err
 * on the safe side). A public body's APPI report follows APPI rule Art. 44: the same 30 days,
 * 60 when APPI-43-3 fired.
 *
 * Deadlines are due days (a report is on time at any moment of its due day: 民法 Art. 141);
 * when a due day is over, for every caller, is due_day.h's answer.
 *
 * The reporter and its clients usually share one knowledge day, so the same final due day
 * would be looked up in the calendar once per entity; a memo that lives for one call of
 * rules_clocks_fill (on its stack: the core keeps no state) answers the repeats.
 */
#include "rules/due_day.h"
#include "rules/rules_internal.h"

#define SECONDS_PER_HOUR 3600
#define FINAL_DAYS 30
#define FINAL_DAYS_IMPROPER 60

/* The last second of day `n` (1-based) of a clock started on `first`, Japan time: the form in
 * which notice_due is written (due_day.h: it ends one second later, when the day ends). */
static int64_t end_of_day(jpcal_day first, int n)
{
    return rules_due_day_last_second(first + n - 1);
}

/* Next open days already looked up in this assessment: a few entries cover the usual case
 * (one knowledge day, a 30- and a 60-day clock); further days are looked up each time. */
#define OPEN_MEMO_SIZE 4
typedef struct {
    int n;
    jpcal_day from[OPEN_MEMO_SIZE];
    jpcal_day open[OPEN_MEMO_SIZE];
} open_memo;

static jpcal_day next_open(open_memo *m, jpcal_day d)
{
    for (int i = 0; i < m->n; i++)
        if (m->from[i] == d) return m->open[i];
    jpcal_day open = jpcal_next_open(d);
    if (m->n < OPEN_MEMO_SIZE) {
        m->from[m->n] = d;
        m->open[m->n++] = open;
    }
    return open;
}

static void final_due(open_memo *m, jpcal_day known, bool long_clock, int32_t *due, int32_t *days)
{
    *days = long_clock ? FINAL_DAYS_IMPROPER : FINAL_DAYS;
    *due = next_open(m, known + *days - 1);
}

static void client_notices_fill(const rules_facts *f, const rules_policy *p, rules_verdict *v)
{
    /* The contract's notice duty does not wait for the law's: every client whose persons are
     * touched is owed notice whenever something happened at all. */
    if (v->my_number.status == RULES_STATUS_NONE && v->appi.status == RULES_STATUS_NONE) return;
    int64_t by_policy = end_of_day(v->known_day, p->client_notice_day);
    for (size_t i = 0; i < v->n_clients; i++) {
        rules_client_verdict *c = &v->clients[i];
        if (!c->involved) continue;
        /* The contract's clock wins when it ends first. Compared in whole hours before the
         * instant is formed, so that no clock, however long, can overflow the sum. */
        int64_t hours = f->clients[i].contract_notice_hours;
        bool contract_first = hours != RULES_ABSENT && hours >= 0 &&
                              hours <= (by_policy - f->known_at - 1) / SECONDS_PER_HOUR;
        c->notice_due = contract_first ? f->known_at + hours * SECONDS_PER_HOUR : by_policy;
    }
}

/* Deadlines of one entity's verdicts, counted from `known_day` as day 1. */
static void deadlines_fill(open_memo *m, rules_regime regime, jpcal_day known_day,
                           const rules_act_verdict *mn, const rules_act_verdict *appi,
                           const rules_policy *p, rules_deadlines *out)
{
    out->preliminary_target = out->preliminary_latest = RULES_ABSENT;
    out->final_due = out->final_days = RULES_ABSENT;
    out->appi_final_due = out->appi_final_days = RULES_ABSENT;
    bool mn_due = mn->status == RULES_STATUS_MANDATORY;
    bool appi_due = appi->status == RULES_STATUS_MANDATORY;

    if (regime == RULES_REGIME_2015) {
        /* 第一報 at once; the final report after the investigation has no day count. Only a
         * mandatory verdict gets a date: a possible serious situation (MN15-P) is best effort. */
        if (mn_due) out->preliminary_target = out->preliminary_latest = known_day;
        return;
    }
    if (mn_due || appi_due) {
        out->preliminary_target = known_day + p->preliminary_target_day - 1;
        out->preliminary_latest = known_day + p->preliminary_latest_day - 1;
    }
    if (mn_due)
        final_due(m, known_day, rules_has_fired(mn, RULE_MN_2_2), &out->final_due,
                  &out->final_days);
    /* APPI rule Art. 8(2) and, for a public body, Art. 44(2): 60 days for item 3. */
    if (appi_due)
        final_due(m, known_day,
                  rules_has_fired(appi, RULE_APPI_7_3) || rules_has_fired(appi, RULE_APPI_43_3),
                  &out->appi_final_due, &out->appi_final_days);
}

void rules_clocks_fill(const rules_facts *f, const rules_policy *p, rules_verdict *v)
{
    open_memo memo = {.n = 0};
    rules_deadlines d;
    deadlines_fill(&memo, v->regime, v->known_day, &v->my_number, &v->appi, p, &d);
    v->preliminary_target = d.preliminary_target;
    v->preliminary_latest = d.preliminary_latest;
    v->final_due = d.final_due;
    v->final_days = d.final_days;
    v->appi_final_due = d.appi_final_due;
    v->appi_final_days = d.appi_final_days;
    for (size_t i = 0; i < v->n_clients; i++) {
        rules_client_verdict *c = &v->clients[i];
        deadlines_fill(&memo, v->regime, c->known_day, &c->my_number, &c->appi, p, &c->deadlines);
    }
    client_notices_fill(f, p, v);
}
