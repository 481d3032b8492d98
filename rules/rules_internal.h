/*
 * Shared between the rule-core files; not part of the public interface.
 *
 * rules.c validates the facts and reduces them to a rules_exposure per entity (the reporter,
 * then each client); a regime file turns one exposure into the two act verdicts; rules_clocks.c
 * turns verdicts into dates.
 */
#ifndef MNI_RULES_INTERNAL_H
#define MNI_RULES_INTERNAL_H

#include <string.h>

#include "rules/rules.h"

/* What happened, after the exclusions that say "this is not a leak / not a loss" (RULES.md §1).
 * Encryption (高度な暗号化等) is not folded in here: it excludes every item, so the regime
 * files check it first. */
typedef struct {
    bool leak_etc;           /* leak, loss or damage that still counts (漏えい等), including an
                                insider's unauthorised provision (APPI guideline 3-5-1-1) */
    bool unlawful_use;       /* use in breach of Art. 9 */
    bool unlawful_provision; /* provision in breach of Art. 19 */
    bool viewing;            /* viewed, or possibly viewed and not disproved, by unspecified
                                persons ("recovered unviewed" answers only the possibility) */
    bool any;                /* any of the above */
} rules_events;

/* One entity's view of the incident: the same events, its own data (systems, headcounts) and
 * its own kind of body. */
typedef struct {
    const rules_facts *facts;
    rules_events events;
    jpcal_day known_day;     /* the incident's knowledge day (chooses the rule set) */
    unsigned systems;        /* enum rules_system bits of the systems that held its data */
    int64_t headcount;       /* persons in the data this entity handles (possible maximum) */
    int64_t headcount_known; /* of them, the persons known (established) */
    int64_t appi_persons;    /* persons counted for APPI-7-4 / APPI-43-4 */
    rules_body body;
    bool is_reporter; /* the reporter's own verdict (the 2015 small-business exemption) */
} rules_exposure;

void rules_events_derive(const rules_facts *f, rules_events *out);

void rules_2022_evaluate(const rules_exposure *e, rules_act_verdict *my_number,
                         rules_act_verdict *appi);
void rules_2015_evaluate(const rules_exposure *e, rules_act_verdict *my_number,
                         rules_act_verdict *appi);

/* The rule items of RULES.md, each fired under the id string rule_ids.c gives it. */
typedef enum {
    RULE_MN_2_1,   /* PPC rule Art. 2(1): the listed systems */
    RULE_MN_2_2,   /* Art. 2(2): improper purpose */
    RULE_MN_2_3,   /* Art. 2(3): viewing by an unspecified number of people */
    RULE_MN_2_4,   /* Art. 2(4): more than 100 persons */
    RULE_APPI_7_1, /* APPI rule Art. 7(1)-(4): a business */
    RULE_APPI_7_2,
    RULE_APPI_7_3,
    RULE_APPI_7_4,
    RULE_APPI_43_1, /* APPI rule Art. 43(1)-(5): a public body */
    RULE_APPI_43_2,
    RULE_APPI_43_3,
    RULE_APPI_43_4,
    RULE_APPI_43_5,
    RULE_MN15_1, /* the 2016 重大事態 rule, items 一..四 */
    RULE_MN15_2,
    RULE_MN15_3,
    RULE_MN15_4,
    RULE_MN15_P, /* a serious situation only possible (2015 notice 3(2)) */
    RULE_COUNT
} rules_rule;

/* An act verdict with nothing fired. Field by field: gcc turns a memset of the whole struct
 * (88 bytes) into `rep stos`, whose start-up cost made the zeroing of verdicts about 15% of an
 * assessment (bench/README.md, W1 profile); a 64-byte memset stays a few vector stores. */
static inline void rules_act_clear(rules_act_verdict *v)
{
    v->status = RULES_STATUS_NONE;
    v->n_fired = 0;
    memset(v->fired, 0, sizeof v->fired);
    v->possible = 0;
}

/* The id string of each rule ("MN-2-1", ...), rule_ids.c. */
extern const char *const rules_rule_ids[RULE_COUNT];

/* Records a fired rule in the act's list. */
static inline void rules_fire(rules_act_verdict *v, rules_rule r)
{
    if (v->n_fired < RULES_MAX_FIRED) v->fired[v->n_fired++] = rules_rule_ids[r];
}

/* Whether `id`, taken from a verdict the core filled, names rule r: a pointer comparison, since
 * rules_fire records only the table's strings. */
static inline bool rules_is_rule(const char *id, rules_rule r)
{
    return id == rules_rule_ids[r];
}

static inline bool rules_has_fired(const rules_act_verdict *v, rules_rule r)
{
    for (size_t i = 0; i < v->n_fired; i++)
        if (rules_is_rule(v->fired[i], r)) return true;
    return false;
}

/* Sets the status from what fired: MANDATORY when any id fired, else VOLUNTARY when
 * something happened, else NONE. */
void rules_settle(rules_act_verdict *v, bool something_happened);

/* The first client (in facts order) whose id repeats an earlier client's: true with *dup its
 * index and *first the earliest client with the same id. O(n log n); `scratch` (n slots, the
 * caller's verdict array) is overwritten. */
bool rules_find_duplicate_client(const rules_client *clients, size_t n,
                                 rules_client_verdict *scratch, size_t *dup, size_t *first);

/* Deadlines of the reporter and of each client, and the notices to the clients. */
void rules_clocks_fill(const rules_facts *f, const rules_policy *p, rules_verdict *v);

/* Days (jpcal_day numbers, like rules.h's) on which what applies changes; test_rules_bounds
 * checks them against jpcal_from_ymd. The current regime starts on
 * RULES_REGIME_2022_START_DAYNUM. */
#define RULES_DUTY_START_DAYNUM 16801 /* 2016-01-01: old Art. 28-4 and the 重大事態 rule */
#define RULES_LOCAL_APPI_DAYNUM 19448 /* 2023-04-01: APPI Art. 68 for local governments */

#endif
