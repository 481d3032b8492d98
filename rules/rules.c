/*
 * rules_assess: validates one incident's facts, counts heads, runs the rule set of the regime in
 * force on the knowledge day for the reporter and for each client, then derives the route and
 * the clocks (RULES.md §1-§3).
 *
 * Headcounts (RULES.md §1 "Headcount", §3): each client counts only its own persons, its
 * possible maximum `max_i` (persons_max, else persons) when the count is uncertain. PPC rule
 * Art. 2(4) counts the persons whose data leaked *or may have leaked*, so the reporter's count
 * is a possible maximum too: the distinct persons known across clients (`distinct_persons`,
 * tokens plus counted persons without tokens) plus every client's possible extra persons
 * Σ(max_i − persons_i), never above Σ max_i and never below the largest max_i (one client's
 * persons are all the reporter's persons). Without `distinct_persons` it is Σ max_i, which can
 * only overstate. The known count is reported next to it.
 *
 * Facts per client (issue 7): a client's `systems`, `appi_persons` and kind of body override
 * the incident's for its own verdict; the reporter's verdict is over all its data, so its
 * systems are the union of its involved clients' systems.
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
    /* An employee who hands data to a third party against the business's will leaks it (APPI
     * guideline 3-5-1-1 and the PPC My Number guideline: 従業者による持ち出し); a provision the
     * business itself decided is not a leak, only a provision in breach of Art. 19. */
    bool insider_provision =
        f->actor == RULES_ACTOR_INSIDER && (f->kinds & RULES_KIND_UNLAWFUL_PROVISION);
    out->leak_etc = leak || loss || damage || insider_provision;
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

/* A local government is a public body; 条例要配慮個人情報 exists only under a local
 * government's ordinance. Names the flag set without the one it needs, or returns false. */
static bool body_inconsistent(const rules_body *b, const char **flag, const char **needs)
{
    if (b->local_government && !b->public_body) {
        *flag = "local_government";
        *needs = "public_body";
        return true;
    }
    if (b->ordinance_sensitive && !b->local_government) {
        *flag = "ordinance_sensitive";
        *needs = "local_government";
        return true;
    }
    return false;
}

/* Whether the core assesses a knowledge time; compared as instants, not as day numbers: a day
 * number does not fit every instant. */
static bool known_at_supported(int64_t t)
{
    return t >= day_start(RULES_FIRST_KNOWN_DAYNUM) && t < day_start(RULES_LAST_KNOWN_DAYNUM + 1);
}

/* The facts that differ per client (issue 7), the reporter's kind of body and the 2015
 * notice's facts. */
static int validate_entity_facts(const rules_facts *f, char *err, size_t errlen)
{
    const char *flag, *needs;
    if (body_inconsistent(&f->body, &flag, &needs))
        return fail(err, errlen, "reporter.%s: needs reporter.%s", flag, needs);
    if (f->employees_given && f->employees < 0)
        return fail(err, errlen, "reporter.employees: must be >= 0 (got %lld)",
                    (long long)f->employees);
    for (size_t i = 0; i < f->n_clients; i++) {
        const rules_client *c = &f->clients[i];
        if (c->systems_given &&
            (c->systems & ~(unsigned)(RULES_SYS_INFO_PROVISION_NETWORK | RULES_SYS_NUMBER_USE |
                                      RULES_SYS_PUBLIC_RELATED)))
            return fail(err, errlen, "clients[%zu].systems: unknown system bits (0x%x)", i,
                        c->systems);
        if (c->appi_persons_given) {
            if (c->appi_persons < 0)
                return fail(err, errlen, "clients[%zu].appi_persons: must be >= 0 (got %lld)", i,
                            (long long)c->appi_persons);
            if (c->appi_persons > RULES_MAX_PERSONS)
                return fail(err, errlen,
                            "clients[%zu].appi_persons: more than %lld persons is not believable",
                            i, RULES_MAX_PERSONS);
            /* 特定個人情報 is personal data too: its persons are among the APPI count. */
            if (c->appi_persons < c->persons)
                return fail(err, errlen,
                            "clients[%zu].appi_persons: smaller than persons (%lld < %lld); "
                            "My Number data is personal data too",
                            i, (long long)c->appi_persons, (long long)c->persons);
            if (f->appi.persons != RULES_ABSENT && f->appi.persons < c->appi_persons)
                return fail(err, errlen,
                            "appi.persons: smaller than clients[%zu].appi_persons (%lld < %lld); "
                            "the reporter handles every client's data",
                            i, (long long)f->appi.persons, (long long)c->appi_persons);
        }
        if (body_inconsistent(&c->body, &flag, &needs))
            return fail(err, errlen, "clients[%zu].%s: needs clients[%zu].%s", i, flag, i, needs);
        /* An own report lists data sets, not other entities: no client has a verdict. */
        if (f->role == RULES_ROLE_OWN && c->body.public_body)
            return fail(err, errlen,
                        "clients[%zu].public_body: only a contractor's clients are entities "
                        "(a public body reporting its own incident sets reporter.public_body)",
                        i);
        if (f->role == RULES_ROLE_OWN && c->known_at_given)
            return fail(err, errlen,
                        "clients[%zu].known_at: only a contractor's clients have their own clocks",
                        i);
        if (c->known_at_given && !known_at_supported(c->known_at))
            return fail(err, errlen,
                        "clients[%zu].known_at: outside the supported range 2015-10-05 .. "
                        "2099-10-31 (Japan time)",
                        i);
    }
    return 0;
}

static int validate(const rules_facts *f, rules_client_verdict *scratch, char *err, size_t errlen)
{
    if (f->incident_id[RULES_ID_MAX - 1] != '\0' &&
        memchr(f->incident_id, '\0', RULES_ID_MAX) == NULL)
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
    if (validate_entity_facts(f, err, errlen) != 0) return -1;

    if (!known_at_supported(f->known_at))
        return fail(err, errlen,
                    "known_at: outside the supported range 2015-10-05 .. 2099-10-31 (Japan time)");

    if (f->distinct_persons != RULES_ABSENT) {
        /* It counts known persons only: at most their sum (the possible extra persons of each
         * client are added by the core, not given here). */
        int64_t sum = 0, largest = 0;
        size_t largest_at = 0;
        for (size_t i = 0; i < f->n_clients; i++) {
            sum = add_counts(sum, f->clients[i].persons);
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
                        "distinct_persons: larger than the clients' counts added up (%lld > %lld); "
                        "it counts known persons (persons), not possible maxima",
                        (long long)f->distinct_persons, (long long)sum);
        if (f->distinct_persons < largest)
            return fail(err, errlen,
                        "distinct_persons: smaller than clients[%zu].persons (%lld < %lld)",
                        largest_at, (long long)f->distinct_persons, (long long)largest);
    }
    return 0;
}

/* The reporter's possible maximum and known count (see the head comment). Sums saturate
 * (add_counts): each count is bounded, the number of clients is not. */
static void reporter_headcount(const rules_facts *f, int64_t *total, int64_t *known)
{
    int64_t sum_max = 0, sum_known = 0, extra = 0, largest = 0;
    for (size_t i = 0; i < f->n_clients; i++) {
        int64_t n = client_headcount(&f->clients[i]);
        sum_max = add_counts(sum_max, n);
        sum_known = add_counts(sum_known, f->clients[i].persons);
        extra = add_counts(extra, n - f->clients[i].persons);
        if (n > largest) largest = n;
    }
    if (f->distinct_persons == RULES_ABSENT) {
        *total = sum_max;
        *known = sum_known;
        return;
    }
    *known = f->distinct_persons;
    /* distinct <= Σ persons (validated), so this never exceeds Σ max. */
    int64_t n = add_counts(f->distinct_persons, extra);
    *total = n > largest ? n : largest;
}

/* A client's APPI count: its own when given; the incident's when it is the only client. */
static int64_t client_appi_persons(const rules_facts *f, size_t i)
{
    const rules_client *c = &f->clients[i];
    if (c->appi_persons_given) return c->appi_persons;
    if (f->n_clients == 1 && f->appi.persons != RULES_ABSENT) return f->appi.persons;
    return client_headcount(c);
}

/* The reporter's APPI count: appi.persons when given, else its My Number count plus the
 * persons that some client counts for APPI beyond its My Number maximum (possibly distinct). */
static int64_t reporter_appi_persons(const rules_facts *f, int64_t headcount_total)
{
    if (f->appi.persons != RULES_ABSENT) return f->appi.persons;
    int64_t n = headcount_total;
    for (size_t i = 0; i < f->n_clients; i++) {
        const rules_client *c = &f->clients[i];
        if (c->appi_persons_given && c->appi_persons > client_headcount(c))
            n = add_counts(n, c->appi_persons - client_headcount(c));
    }
    return n;
}

static unsigned client_systems(const rules_facts *f, const rules_client *c)
{
    return c->systems_given ? c->systems : f->systems;
}

/* The reporter's data is all its clients' data: the systems that held any involved client's
 * persons. With no client involved, the incident's systems. */
static unsigned reporter_systems(const rules_facts *f)
{
    unsigned all = 0;
    bool any = false;
    for (size_t i = 0; i < f->n_clients; i++) {
        const rules_client *c = &f->clients[i];
        if (client_headcount(c) == 0) continue;
        all |= client_systems(f, c);
        any = true;
    }
    return any ? all : f->systems;
}

typedef void (*rules_evaluator)(const rules_exposure *, rules_act_verdict *, rules_act_verdict *);

static const rules_act_verdict *act_of(const rules_client_verdict *c, bool my_number)
{
    return my_number ? &c->my_number : &c->appi;
}

/* Whether client `c` holds data that makes up item `id` of the reporter: MN-2-1 and MN15-1
 * rest on the systems that held the data; every other item on facts shared by all the data
 * (purpose, viewing, encryption) or on the total count, to which every involved client adds. */
static bool client_contributes(const rules_facts *f, size_t i, const rules_client_verdict *c,
                               bool my_number, const char *id)
{
    if (my_number ? c->headcount == 0 : c->appi_persons == 0) return false;
    if (rules_is_rule(id, RULE_MN_2_1) || rules_is_rule(id, RULE_MN15_1))
        return client_systems(f, &f->clients[i]) != 0;
    return true;
}

/* A route for one act (RULES.md §3). Current regime: a contractor is discharged of an item by
 * notifying its clients when every involved client whose data makes up that item bears a duty
 * itself (Art. 29-4(1) proviso; APPI Art. 26(1) proviso, which names 行政機関等 too). An item
 * that fires only on the total across clients none of which is bound (MN-2-4 over several
 * small clients), or one that a client not bound contributes to, is reported directly, listing
 * every client with its headcount; the items discharged are not in `direct`. Earlier regime:
 * the proviso did not exist; a contractor, itself a 個人番号関係事務実施者, reported its own
 * serious situation (seed 002: a multi-client contractor's direct report 「妨げない」). */
static rules_route act_route(const rules_facts *f, const rules_verdict *v, bool my_number,
                             rules_id_list *direct)
{
    const rules_act_verdict *own = my_number ? &v->my_number : &v->appi;
    memset(direct, 0, sizeof *direct);
    if (own->status != RULES_STATUS_MANDATORY) return RULES_ROUTE_NONE;
    bool contractor = v->clients != NULL && v->n_clients > 0;
    for (size_t k = 0; k < own->n_fired; k++) {
        bool discharged = contractor && v->regime == RULES_REGIME_2022;
        for (size_t i = 0; discharged && i < v->n_clients; i++) {
            const rules_client_verdict *c = &v->clients[i];
            if (client_contributes(f, i, c, my_number, own->fired[k]) &&
                act_of(c, my_number)->status != RULES_STATUS_MANDATORY)
                discharged = false;
        }
        if (!discharged) direct->ids[direct->n++] = own->fired[k];
    }
    if (!contractor) return RULES_ROUTE_OWN_REPORT;
    return direct->n == 0 ? RULES_ROUTE_NOTIFY_CLIENTS : RULES_ROUTE_DIRECT_REPORT;
}

static void assess_client(const rules_facts *f, size_t i, const rules_exposure *reporter,
                          rules_evaluator evaluate, rules_client_verdict *c)
{
    const rules_client *in = &f->clients[i];
    /* Every field is set here (no memset of the whole slot: see rules_act_clear); the
     * deadlines are rules_clocks_fill's. */
    c->client_id = in->client_id;
    c->headcount = client_headcount(in);
    c->headcount_known = in->persons;
    c->appi_persons = client_appi_persons(f, i);
    c->public_body = in->body.public_body;
    rules_act_clear(&c->my_number);
    rules_act_clear(&c->appi);
    c->involved = c->headcount > 0 || c->appi_persons > 0;
    c->notice_due = RULES_ABSENT;
    c->known_day = in->known_at_given ? rules_japan_day(in->known_at) : reporter->known_day;
    c->deadlines = (rules_deadlines){0};
    if (!c->involved) return; /* none of its persons: nothing of its to report */
    rules_exposure mine = *reporter;
    mine.systems = client_systems(f, in);
    mine.headcount = c->headcount;
    mine.headcount_known = c->headcount_known;
    mine.appi_persons = c->appi_persons;
    mine.body = in->body;
    mine.is_reporter = false;
    evaluate(&mine, &c->my_number, &c->appi);
    /* A client with no My Number persons has only an APPI side, and the other way round. */
    if (c->headcount == 0) rules_act_clear(&c->my_number);
    if (c->appi_persons == 0) rules_act_clear(&c->appi);
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

/* The empty verdict that rules_assess fills: what a memset to zero gave, set field by field
 * (see rules_act_clear). The assertions (sizes on LP64, the project's targets) stop the build
 * when a field is added or resized, so that it is added here too. */
_Static_assert(sizeof(rules_verdict) == 408, "a field of rules_verdict changed: set it below");
_Static_assert(sizeof(rules_client_verdict) == 264,
               "a field of rules_client_verdict changed: set it in assess_client");
static void verdict_start(rules_verdict *v)
{
    v->regime = RULES_REGIME_2015;
    v->known_day = 0;
    rules_act_clear(&v->my_number);
    rules_act_clear(&v->appi);
    v->headcount_total = v->headcount_known = v->appi_persons = 0;
    v->preliminary_target = v->preliminary_latest = 0;
    v->final_due = v->final_days = v->appi_final_due = v->appi_final_days = 0;
    v->route = v->appi_route = RULES_ROUTE_NONE;
    v->direct.n = v->appi_direct.n = 0;
    memset(v->direct.ids, 0, sizeof v->direct.ids);
    memset(v->appi_direct.ids, 0, sizeof v->appi_direct.ids);
    v->principal_notice = v->principal_notice_by_self = false;
    v->clients = NULL;
    v->n_clients = 0;
}

int rules_assess(const rules_facts *f, const rules_policy *policy, rules_verdict *v,
                 rules_client_verdict *clients, char *err, size_t errlen)
{
    if (policy == NULL) policy = &rules_policy_default;
    if (validate_policy(policy, err, errlen) != 0 || validate(f, clients, err, errlen) != 0) {
        memset(v, 0, sizeof *v); /* a refused assessment leaves an empty verdict */
        return -1;
    }
    verdict_start(v);

    v->known_day = rules_japan_day(f->known_at);
    v->regime =
        v->known_day >= RULES_REGIME_2022_START_DAYNUM ? RULES_REGIME_2022 : RULES_REGIME_2015;
    rules_evaluator evaluate =
        v->regime == RULES_REGIME_2022 ? rules_2022_evaluate : rules_2015_evaluate;

    rules_exposure reporter = {.facts = f,
                               .known_day = v->known_day,
                               .systems = reporter_systems(f),
                               .body = f->body,
                               .is_reporter = true};
    rules_events_derive(f, &reporter.events);
    reporter_headcount(f, &reporter.headcount, &reporter.headcount_known);
    reporter.appi_persons = reporter_appi_persons(f, reporter.headcount);
    v->headcount_total = reporter.headcount;
    v->headcount_known = reporter.headcount_known;
    v->appi_persons = reporter.appi_persons;
    evaluate(&reporter, &v->my_number, &v->appi);

    /* Each client's own verdict, from its own data (RULES.md §3). Clients matter only for a
     * contractor: an entity reporting its own incident lists data sets, not other entities. */
    if (f->role == RULES_ROLE_CONTRACTOR) {
        v->clients = clients;
        v->n_clients = f->n_clients;
        for (size_t i = 0; i < f->n_clients; i++)
            assess_client(f, i, &reporter, evaluate, &clients[i]);
    }

    v->route = act_route(f, v, true, &v->direct);
    v->appi_route = act_route(f, v, false, &v->appi_direct);
    /* Notice to the persons (Art. 29-4(2), APPI Art. 26(2), for a public body Art. 68(2))
     * exists only in the current regime. A contractor that notified clients bound to report is
     * exempt from it. */
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
