/*
 * rules_assess: validates one incident's facts, counts heads, runs the rule set of the regime in
 * force on the knowledge day for the reporter and for each client, then derives the route and
 * the clocks (RULES.md §1-§3).
 *
 * Headcounts (RULES.md §1 "Headcount", §3): each client counts only its own persons, its
 * possible maximum when the count is uncertain. The reporter counts the distinct persons across
 * clients: `distinct_persons` when given (the pipeline knows it exactly from person tokens),
 * else the sum of the clients' counts, which can only overstate. It is never below the largest
 * client's count, since one client's persons are all the reporter's persons.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rules/rules_internal.h"

const rules_policy rules_policy_default = {
    .preliminary_target_day = 3,
    .preliminary_latest_day = 5,
    .client_notice_day = 3,
};

#define SECONDS_PER_DAY 86400

const char *rules_status_name(rules_status s)
{
    switch (s) {
    case RULES_STATUS_MANDATORY:
        return "mandatory";
    case RULES_STATUS_VOLUNTARY:
        return "voluntary";
    case RULES_STATUS_NONE:
        break;
    }
    return "none";
}

const char *rules_route_name(rules_route r)
{
    switch (r) {
    case RULES_ROUTE_OWN_REPORT:
        return "own_report";
    case RULES_ROUTE_NOTIFY_CLIENTS:
        return "notify_clients";
    case RULES_ROUTE_DIRECT_REPORT:
        return "direct_report";
    case RULES_ROUTE_NONE:
        break;
    }
    return "none";
}

const char *rules_regime_name(rules_regime r)
{
    return r == RULES_REGIME_2015 ? "2015" : "2022";
}

jpcal_day rules_japan_day(int64_t epoch_seconds)
{
    /* Floor division first and the offset added to the remainder, so that no sum can leave
     * int64: instants before 1970 belong to the day that contains them. */
    int64_t day = epoch_seconds / SECONDS_PER_DAY, rem = epoch_seconds % SECONDS_PER_DAY;
    if (rem < 0) {
        rem += SECONDS_PER_DAY;
        day--;
    }
    if (rem + RULES_JST_OFFSET_SECONDS >= SECONDS_PER_DAY) day++;
    if (day > INT32_MAX) return INT32_MAX;
    if (day < INT32_MIN) return INT32_MIN;
    return (jpcal_day)day;
}

void rules_fire(rules_act_verdict *v, const char *id)
{
    if (v->n_fired < RULES_MAX_FIRED) v->fired[v->n_fired++] = id;
}

bool rules_has_fired(const rules_act_verdict *v, const char *id)
{
    for (size_t i = 0; i < v->n_fired; i++)
        if (!strcmp(v->fired[i], id)) return true;
    return false;
}

void rules_settle(rules_act_verdict *v, bool something_happened)
{
    if (v->n_fired > 0)
        v->status = RULES_STATUS_MANDATORY;
    else
        v->status = something_happened ? RULES_STATUS_VOLUNTARY : RULES_STATUS_NONE;
}

void rules_events_derive(const rules_facts *f, rules_events *out)
{
    /* "Not a leak" when recovered before any third party could view it; recovered data is not
     * lost either. "Not a loss or damage" when an intact copy exists (PPC guideline 第3-6 and
     * its Q&A). Unlawful use or provision is not undone by either. */
    bool leak = (f->kinds & RULES_KIND_LEAK) && !f->recovered_unviewed;
    bool loss = (f->kinds & RULES_KIND_LOSS) && !f->recovered_unviewed && !f->intact_copy;
    bool damage = (f->kinds & RULES_KIND_DAMAGE) && !f->intact_copy;
    out->leak_etc = leak || loss || damage;
    out->unlawful_use = (f->kinds & RULES_KIND_UNLAWFUL_USE) != 0;
    out->unlawful_provision = (f->kinds & RULES_KIND_UNLAWFUL_PROVISION) != 0;
    out->viewing = f->unspecified_viewing == RULES_VIEW_VIEWED ||
                   (f->unspecified_viewing == RULES_VIEW_POSSIBLE && !f->recovered_unviewed);
    out->any = out->leak_etc || out->unlawful_use || out->unlawful_provision || out->viewing;
}

/* The first second of a Japan day, seconds since the epoch. */
static int64_t day_start(jpcal_day d)
{
    return (int64_t)d * SECONDS_PER_DAY - RULES_JST_OFFSET_SECONDS;
}

/* a + b for counts >= 0, held at INT64_MAX: each count is bounded, their number is not. */
static int64_t add_counts(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static int64_t client_headcount(const rules_client *c)
{
    return c->persons_max != RULES_ABSENT ? c->persons_max : c->persons;
}

/* Writes "field: reason" into the caller's buffer and returns -1. */
__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* One client's own checks; -1 with the message when it fails. */
static int validate_client(const rules_client *c, size_t i, char *err, size_t errlen)
{
    /* Ids are compared as strings; a caller filling the struct by hand could leave one
     * unterminated. (A NUL in the last byte settles it without a search.) */
    if (c->client_id[RULES_ID_MAX - 1] != '\0' && memchr(c->client_id, '\0', RULES_ID_MAX) == NULL)
        return fail(err, errlen, "clients[%zu].client_id: longer than %d bytes", i,
                    RULES_ID_MAX - 1);
    if (c->client_id[0] == '\0')
        return fail(err, errlen, "clients[%zu].client_id: must not be empty", i);
    if (c->persons < 0)
        return fail(err, errlen, "clients[%zu].persons: must be >= 0 (got %lld)", i,
                    (long long)c->persons);
    if (c->persons > RULES_MAX_PERSONS ||
        (c->persons_max != RULES_ABSENT && c->persons_max > RULES_MAX_PERSONS))
        return fail(err, errlen, "clients[%zu].%s: more than %lld persons is not believable", i,
                    c->persons > RULES_MAX_PERSONS ? "persons" : "persons_max", RULES_MAX_PERSONS);
    if (c->persons_max != RULES_ABSENT && c->persons_max < c->persons)
        return fail(err, errlen, "clients[%zu].persons_max: must be >= persons (%lld < %lld)", i,
                    (long long)c->persons_max, (long long)c->persons);
    if (c->contract_notice_hours != RULES_ABSENT && c->contract_notice_hours < 0)
        return fail(err, errlen, "clients[%zu].contract_notice_hours: must be >= 0 (got %lld)", i,
                    (long long)c->contract_notice_hours);
    if (c->contract_notice_hours > RULES_MAX_NOTICE_HOURS)
        return fail(err, errlen,
                    "clients[%zu].contract_notice_hours: more than %lld hours (10 years) is not "
                    "believable (got %lld)",
                    i, RULES_MAX_NOTICE_HOURS, (long long)c->contract_notice_hours);
    return 0;
}

/* The first error in facts order, as a scan that checks each client and then compares its id
 * with the earlier ones would find it: the first client with an error of its own, unless an
 * id repeats before it. */
static int validate_clients(const rules_facts *f, rules_client_verdict *scratch, char *err,
                            size_t errlen)
{
    size_t bad = f->n_clients;
    for (size_t i = 0; i < f->n_clients && bad == f->n_clients; i++)
        if (validate_client(&f->clients[i], i, NULL, 0) != 0) bad = i;
    size_t dup, first;
    if (rules_find_duplicate_client(f->clients, bad, scratch, &dup, &first))
        return fail(err, errlen, "clients[%zu].client_id: duplicate of clients[%zu]", dup, first);
    if (bad < f->n_clients) return validate_client(&f->clients[bad], bad, err, errlen);
    return 0;
}

static int validate(const rules_facts *f, rules_client_verdict *scratch, char *err, size_t errlen)
{
    if (memchr(f->incident_id, '\0', RULES_ID_MAX) == NULL)
        return fail(err, errlen, "incident_id: longer than %d bytes", RULES_ID_MAX - 1);
    if (f->incident_id[0] == '\0') return fail(err, errlen, "incident_id: must not be empty");
    if (f->kinds == 0) return fail(err, errlen, "kinds: at least one kind is required");
    if (f->recovered_unviewed && f->unspecified_viewing == RULES_VIEW_VIEWED)
        return fail(err, errlen,
                    "recovered_unviewed: contradicts unspecified_viewing \"viewed\" "
                    "(data that was viewed was not recovered unviewed)");
    if (f->role == RULES_ROLE_CONTRACTOR && f->n_clients == 0)
        return fail(err, errlen, "clients: a contractor's incident needs at least one client");
    if (f->appi.persons > RULES_MAX_PERSONS || f->distinct_persons > RULES_MAX_PERSONS)
        return fail(err, errlen, "%s: more than %lld persons is not believable",
                    f->appi.persons > RULES_MAX_PERSONS ? "appi.persons" : "distinct_persons",
                    RULES_MAX_PERSONS);
    if (f->appi.persons != RULES_ABSENT && f->appi.persons < 0)
        return fail(err, errlen, "appi.persons: must be >= 0 (got %lld)",
                    (long long)f->appi.persons);
    if (f->n_clients > 0 && (f->clients == NULL || scratch == NULL))
        return fail(err, errlen, "clients: %zu clients but no %s array", f->n_clients,
                    f->clients == NULL ? "client" : "verdict");
    if (validate_clients(f, scratch, err, errlen) != 0) return -1;

    /* Compared as instants, not as day numbers: a day number does not fit every instant. */
    int64_t first = day_start(RULES_FIRST_KNOWN_DAYNUM);
    int64_t end = day_start(RULES_LAST_KNOWN_DAYNUM + 1);
    if (f->known_at < first || f->known_at >= end)
        return fail(err, errlen,
                    "known_at: outside the supported range 2015-10-05 .. 2099-10-31 (Japan time)");

    if (f->distinct_persons != RULES_ABSENT) {
        int64_t sum = 0, largest = 0;
        size_t largest_at = 0;
        for (size_t i = 0; i < f->n_clients; i++) {
            sum = add_counts(sum, client_headcount(&f->clients[i]));
            if (f->clients[i].persons > largest) {
                largest = f->clients[i].persons;
                largest_at = i;
            }
        }
        if (f->distinct_persons < 0)
            return fail(err, errlen, "distinct_persons: must be >= 0 (got %lld)",
                        (long long)f->distinct_persons);
        if (f->n_clients > 0 && f->distinct_persons > sum)
            return fail(err, errlen,
                        "distinct_persons: larger than the clients' counts added up (%lld > %lld)",
                        (long long)f->distinct_persons, (long long)sum);
        if (f->distinct_persons < largest)
            return fail(err, errlen,
                        "distinct_persons: smaller than clients[%zu].persons (%lld < %lld)",
                        largest_at, (long long)f->distinct_persons, (long long)largest);
    }
    return 0;
}

static int64_t reporter_headcount(const rules_facts *f)
{
    int64_t sum = 0, largest = 0;
    for (size_t i = 0; i < f->n_clients; i++) {
        int64_t n = client_headcount(&f->clients[i]);
        sum = add_counts(sum, n);
        if (n > largest) largest = n;
    }
    if (f->distinct_persons == RULES_ABSENT) return sum;
    /* A client's possible maximum can exceed the distinct persons known so far; the reporter's
     * possible maximum is then at least that client's. */
    return f->distinct_persons > largest ? f->distinct_persons : largest;
}

typedef void (*rules_evaluator)(const rules_exposure *, rules_act_verdict *, rules_act_verdict *);

/* A route for one act (RULES.md §3): a contractor whose clients all bear the duty themselves
 * discharges its own by notifying them (Art. 29-4(1) proviso); if any client involved does not,
 * the contractor reports directly, listing every client with its headcount. */
static rules_route act_route(const rules_verdict *v, bool my_number)
{
    const rules_act_verdict *own = my_number ? &v->my_number : &v->appi;
    if (own->status != RULES_STATUS_MANDATORY) return RULES_ROUTE_NONE;
    if (v->clients == NULL || v->n_clients == 0) return RULES_ROUTE_OWN_REPORT;
    bool all_clients_bound = true;
    for (size_t i = 0; i < v->n_clients; i++) {
        const rules_client_verdict *c = &v->clients[i];
        const rules_act_verdict *cv = my_number ? &c->my_number : &c->appi;
        if (c->involved && cv->status != RULES_STATUS_MANDATORY) all_clients_bound = false;
    }
    return all_clients_bound ? RULES_ROUTE_NOTIFY_CLIENTS : RULES_ROUTE_DIRECT_REPORT;
}

/* The clocks add policy days to the knowledge day; each must be a day of a prompt report. */
static int validate_policy(const rules_policy *p, char *err, size_t errlen)
{
    const struct {
        const char *name;
        int day;
    } days[] = {{"preliminary_target_day", p->preliminary_target_day},
                {"preliminary_latest_day", p->preliminary_latest_day},
                {"client_notice_day", p->client_notice_day}};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++)
        if (days[i].day < 1 || days[i].day > RULES_MAX_POLICY_DAY)
            return fail(err, errlen, "policy.%s: must be a day from 1 to %d (got %d)", days[i].name,
                        RULES_MAX_POLICY_DAY, days[i].day);
    if (p->preliminary_latest_day < p->preliminary_target_day)
        return fail(err, errlen,
                    "policy.preliminary_latest_day: must be >= preliminary_target_day (%d < %d)",
                    p->preliminary_latest_day, p->preliminary_target_day);
    return 0;
}

int rules_assess(const rules_facts *f, const rules_policy *policy, rules_verdict *v,
                 rules_client_verdict *clients, char *err, size_t errlen)
{
    if (policy == NULL) policy = &rules_policy_default;
    memset(v, 0, sizeof *v);
    if (validate_policy(policy, err, errlen) != 0 || validate(f, clients, err, errlen) != 0)
        return -1;

    v->known_day = rules_japan_day(f->known_at);
    v->regime =
        v->known_day >= RULES_REGIME_2022_START_DAYNUM ? RULES_REGIME_2022 : RULES_REGIME_2015;
    rules_evaluator evaluate =
        v->regime == RULES_REGIME_2022 ? rules_2022_evaluate : rules_2015_evaluate;

    rules_exposure reporter = {.facts = f, .headcount = reporter_headcount(f)};
    rules_events_derive(f, &reporter.events);
    reporter.appi_persons = f->appi.persons != RULES_ABSENT ? f->appi.persons : reporter.headcount;
    v->headcount_total = reporter.headcount;
    v->appi_persons = reporter.appi_persons;
    evaluate(&reporter, &v->my_number, &v->appi);

    /* Each client's own verdict, from its own headcount (RULES.md §3). Clients matter only for
     * a contractor: an entity reporting its own incident lists data sets, not other entities. */
    if (f->role == RULES_ROLE_CONTRACTOR) {
        v->clients = clients;
        v->n_clients = f->n_clients;
        for (size_t i = 0; i < f->n_clients; i++) {
            rules_client_verdict *c = &clients[i];
            memset(c, 0, sizeof *c);
            c->client_id = f->clients[i].client_id;
            c->headcount = client_headcount(&f->clients[i]);
            c->involved = c->headcount > 0;
            c->notice_due = RULES_ABSENT;
            if (!c->involved) continue; /* none of its persons: nothing of its to report */
            rules_exposure mine = reporter;
            mine.headcount = c->headcount;
            mine.appi_persons = c->headcount;
            evaluate(&mine, &c->my_number, &c->appi);
        }
    }

    v->route = act_route(v, true);
    v->appi_route = act_route(v, false);
    /* Notice to the persons (Art. 29-4(2), APPI Art. 26(2)) exists only in the current regime.
     * A contractor that notified clients bound to report is exempt from it. */
    if (v->regime == RULES_REGIME_2022) {
        v->principal_notice = v->my_number.status == RULES_STATUS_MANDATORY ||
                              v->appi.status == RULES_STATUS_MANDATORY;
        v->principal_notice_by_self =
            (v->route == RULES_ROUTE_OWN_REPORT || v->route == RULES_ROUTE_DIRECT_REPORT) ||
            (v->appi_route == RULES_ROUTE_OWN_REPORT || v->appi_route == RULES_ROUTE_DIRECT_REPORT);
    }
    rules_clocks_fill(f, policy, v);
    return 0;
}
