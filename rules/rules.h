/*
 * rules: what the law requires when specific personal information (特定個人情報) may have leaked.
 *
 * The pure rule core shared by `mni assess` and the assess worker. It takes the facts of one
 * incident as plain structs and fills a verdict: which rule items fired (ids of RULES.md), the
 * status under the My Number Act and under APPI, the headcounts, the deadlines, the contractor's
 * route and each client's own verdict. No allocation, no I/O, no global state: the caller owns
 * every buffer, including the per-client verdict array (one slot per client of the facts).
 *
 * Two rule sets, chosen by the knowledge date in Japan time: the current regime (known on or
 * after 2022-04-01; My Number Act Art. 29-4, PPC rule Art. 2-5; APPI Art. 26, rule Art. 7, and
 * for public bodies APPI Art. 68, rule Art. 43) in rules_2022.c, and the earlier one (2015
 * notice, 2016 重大事態 rule; nothing mandatory before 2016-01-01) in rules_2015.c.
 *
 * Status values: MANDATORY (an item fired: a report is owed), VOLUNTARY (a leak or breach
 * happened, or a serious situation of the earlier regime is only possible: best-effort report),
 * NONE (nothing to report: encrypted, recovered unviewed, intact copy, no event at all, or the
 * 2015 notice's small-business exemption).
 *
 * Facts that differ per client (clients[].systems, .appi_persons, .public_body, ...) override
 * the incident's value for that client's own verdict; the reporter's verdict is taken over all
 * its data (the union of the clients' systems, the possible maximum of the persons).
 */
#ifndef MNI_RULES_H
#define MNI_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/jpcal.h"

#define RULES_ID_MAX 64   /* bytes of an incident or client id, NUL included */
#define RULES_MAX_FIRED 8 /* rule ids that can fire in one pass of one act */
#define RULES_ABSENT (-1) /* an optional count or clock that was not given */
/* No count above this is believable (more than the world's population); the bound also keeps
 * every sum of counts far from int64 overflow. */
#define RULES_MAX_PERSONS 10000000000LL
/* A contract's notice clock of more than ten years (3,650 days) is a typing error, not a
 * contract. Any clock longer than the policy's few days never wins (the earlier deadline does),
 * so the bound refuses nothing real; it keeps the instant known_at + hours far inside int64. */
#define RULES_MAX_NOTICE_HOURS (3650LL * 24)
/* Policy days (rules_policy) count from 1; a "prompt" report later than the final report's own
 * 30 days is not a policy. */
#define RULES_MAX_POLICY_DAY 30

typedef enum { RULES_ROLE_OWN, RULES_ROLE_CONTRACTOR } rules_role;

enum rules_kind {
    RULES_KIND_LEAK = 1 << 0,               /* 漏えい */
    RULES_KIND_LOSS = 1 << 1,               /* 滅失 */
    RULES_KIND_DAMAGE = 1 << 2,             /* 毀損 */
    RULES_KIND_UNLAWFUL_USE = 1 << 3,       /* use in breach of Art. 9 */
    RULES_KIND_UNLAWFUL_PROVISION = 1 << 4, /* provision in breach of Art. 19 */
};

enum rules_system {
    RULES_SYS_INFO_PROVISION_NETWORK = 1 << 0, /* 情報提供ネットワークシステム */
    RULES_SYS_NUMBER_USE = 1 << 1,             /* 個人番号利用事務 system */
    RULES_SYS_PUBLIC_RELATED = 1 << 2,         /* public body's 個人番号関係事務 system */
};

typedef enum { RULES_CERTAINTY_CONFIRMED, RULES_CERTAINTY_POSSIBLE } rules_certainty;
typedef enum { RULES_LEVEL_NONE, RULES_LEVEL_POSSIBLE, RULES_LEVEL_CONFIRMED } rules_level;
typedef enum { RULES_VIEW_NONE, RULES_VIEW_POSSIBLE, RULES_VIEW_VIEWED } rules_viewing;
typedef enum { RULES_STATUS_NONE, RULES_STATUS_VOLUNTARY, RULES_STATUS_MANDATORY } rules_status;
typedef enum {
    RULES_ROUTE_NONE,
    RULES_ROUTE_OWN_REPORT,
    RULES_ROUTE_NOTIFY_CLIENTS,
    RULES_ROUTE_DIRECT_REPORT
} rules_route;
typedef enum { RULES_REGIME_2015, RULES_REGIME_2022 } rules_regime;
/* Who did the act behind the event. It decides whether a provision is a leak (APPI guideline
 * 3-5-1-1: a business's own provision is not 漏えい, an employee's unauthorised one is) and
 * whether APPI rule Art. 7(3) / Art. 43(3) applies (an act *against* the business). */
typedef enum {
    RULES_ACTOR_UNKNOWN,  /* not known: treated as possibly against the business */
    RULES_ACTOR_OUTSIDER, /* a third party: attacker, thief, a wrong recipient */
    RULES_ACTOR_INSIDER,  /* an employee or worker acting on their own, against the business */
    RULES_ACTOR_BUSINESS  /* the business itself, by its own decision */
} rules_actor;

/* What kind of entity reports: decides which APPI article applies to it. */
typedef struct {
    bool public_body; /* 行政機関等 or 地方公共団体等: APPI Art. 68 and rule Art. 43 */
    bool local_government; /* 地方公共団体等 (implies public_body): Art. 68 from 2023-04-01 */
    bool ordinance_sensitive; /* the data holds 条例要配慮個人情報 of its ordinance (Art. 43(5)) */
} rules_body;

typedef struct {
    char client_id[RULES_ID_MAX];
    int64_t persons;               /* known persons of this client, >= 0 */
    int64_t persons_max;           /* possible maximum, >= persons, or RULES_ABSENT */
    int64_t contract_notice_hours; /* contract clock for the notice to this client, or ABSENT */
    /* Facts of this client alone (issue 7); each overrides the incident's value for its own
     * verdict. Each is stated with a flag, so that a zeroed struct keeps the meaning the facts
     * had before these fields existed. */
    bool systems_given;
    unsigned systems; /* enum rules_system bits of the systems that held its data */
    bool appi_persons_given;
    int64_t appi_persons; /* persons of its personal data leaked etc., >= persons */
    rules_body body;      /* the client is a public body (APPI Art. 68) */
    bool known_at_given;
    int64_t known_at; /* when the client learned: day 1 of its own clocks */
} rules_client;

/* The 2015 notice 2(2) exemption from the best-effort report: a business with at most 100
 * employees, not a 個人番号利用事務実施者, when all of these hold and no 重大事態 occurred. */
typedef struct {
    bool all_persons_contacted; /* ① every affected person contacted (or able to know) */
    bool no_external_leak;      /* ② substantially no leak outside (encryption counts) */
    bool investigation_done;    /* ③ facts investigated, preventive measures decided */
} rules_notice2015;

typedef struct {
    char incident_id[RULES_ID_MAX];
    int64_t known_at; /* knowledge time, seconds since the epoch (UTC) */
    rules_role role;
    bool number_use_entity;  /* the reporter is a 個人番号利用事務実施者 */
    bool public_body_system; /* the reporter runs a public body's system (or is its contractor) */
    rules_body body;         /* the reporter itself is a public body */
    bool employees_given;    /* (flags: a zeroed struct keeps the old meaning) */
    int64_t employees;       /* the reporter's employees (2015 notice 2(2)) */
    rules_actor actor;
    unsigned kinds; /* enum rules_kind bits, at least one */
    rules_certainty certainty;
    rules_level improper_purpose;
    unsigned systems; /* enum rules_system bits */
    rules_viewing unspecified_viewing;
    bool encrypted_protected; /* 高度な暗号化等: excludes every item */
    bool recovered_unviewed;  /* recovered before any third party could view: not a leak */
    bool intact_copy;         /* an intact copy exists: not a loss or damage */
    const rules_client *clients;
    size_t n_clients;
    /* The de-duplicated count of the persons *known* across clients (never more than their
     * `persons` added up), or RULES_ABSENT (then the sum). The reporter's headcount adds each
     * client's possible extra persons to it (rules.c). */
    int64_t distinct_persons;
    struct {
        bool sensitive;      /* 要配慮個人情報 */
        bool financial_risk; /* misuse may cause financial loss */
        int64_t persons;     /* RULES_ABSENT = the total headcount */
    } appi;
    bool notice2015_given; /* the 2015 notice 2(2) conditions below were stated */
    rules_notice2015 notice2015;
} rules_facts;

/* The rule ids that fired for one act, in the order of RULES.md. */
typedef struct {
    rules_status status;
    size_t n_fired;
    const char *fired[RULES_MAX_FIRED]; /* static strings */
    /* Earlier regime only: the 2016 rule's items (一..四, bits 1 << 0 .. 1 << 3) that may have
     * occurred but rest on no established fact; they do not make the verdict mandatory, and
     * MN15-P fires with them. rules_mn15_id names an item. */
    unsigned possible;
} rules_act_verdict;

/* Rule ids of one act that the reporter must report itself (route direct or own). */
typedef struct {
    size_t n;
    const char *ids[RULES_MAX_FIRED];
} rules_id_list;

/* Report deadlines as day numbers, RULES_ABSENT when not mandatory. */
typedef struct {
    int32_t preliminary_target;
    int32_t preliminary_latest;
    int32_t final_due;
    int32_t final_days;
    int32_t appi_final_due;
    int32_t appi_final_days;
} rules_deadlines;

typedef struct {
    const char *client_id;   /* points into the facts' client */
    int64_t headcount;       /* this client's own count (possible maximum when uncertain) */
    int64_t headcount_known; /* its known persons (`persons`) */
    int64_t appi_persons;    /* its APPI count (Art. 7(4) or Art. 43(4)) */
    bool public_body;        /* its facts say it is a public body (APPI-43-* apply) */
    rules_act_verdict my_number;
    rules_act_verdict appi;    /* APPI-7-* or, for a public body, APPI-43-* */
    bool involved;             /* headcount or APPI count > 0: the incident touches its persons */
    int64_t notice_due;        /* seconds since the epoch, or RULES_ABSENT when no notice is owed */
    jpcal_day known_day;       /* day 1 of its own clocks: its known_at, else the reporter's day */
    rules_deadlines deadlines; /* its own reports, counted from known_day */
} rules_client_verdict;

typedef struct {
    rules_regime regime;
    jpcal_day known_day; /* knowledge day in Japan time (day 1 of every clock) */
    rules_act_verdict my_number;
    rules_act_verdict appi;
    /* The reporter's count, its possible maximum: distinct known persons plus each client's
     * possible extra persons, between the largest client's maximum and all maxima added up. */
    int64_t headcount_total;
    int64_t headcount_known; /* the distinct persons known (distinct_persons, else the sum) */
    int64_t appi_persons;
    /* Deadlines as day numbers, or RULES_ABSENT when not mandatory. */
    int32_t preliminary_target;
    int32_t preliminary_latest;
    int32_t final_due;
    int32_t final_days;
    int32_t appi_final_due;
    int32_t appi_final_days;
    rules_route route;      /* the My Number Act report's route */
    rules_route appi_route; /* the same logic over the APPI verdicts */
    /* The fired ids the reporter reports itself; the others are discharged by notifying clients
     * that bear the duty themselves (Art. 29-4(1) proviso, APPI Art. 26(1) proviso). */
    rules_id_list direct;
    rules_id_list appi_direct;
    bool principal_notice;         /* notice to the persons (本人通知) is owed */
    bool principal_notice_by_self; /* ... and the reporter owes it (not exempted via clients) */
    rules_client_verdict *clients; /* caller's array, n_clients slots */
    size_t n_clients;
} rules_verdict;

/* Policy knobs with the defaults of RULES.md §2 (rules_policy_default). */
typedef struct {
    int preliminary_target_day; /* 3: end of day 3 */
    int preliminary_latest_day; /* 5 */
    int client_notice_day;      /* 3 */
} rules_policy;

extern const rules_policy rules_policy_default;

/* Fills *v from *f. `clients` must have room for f->n_clients verdicts; it is also the scratch
 * space of the duplicate-id check (rules_duplicates.c), so its slots are overwritten even when
 * no client verdict is returned. Every step costs at most n log n in the number of clients.
 * Returns 0, or -1 with a message naming the field and the reason in err (errlen bytes) when
 * the facts are inconsistent (for example persons_max below persons). */
int rules_assess(const rules_facts *f, const rules_policy *policy, rules_verdict *v,
                 rules_client_verdict *clients, char *err, size_t errlen);

/* The id of the 2016 rule's item `item` (1..4): "MN15-1" .. "MN15-4", or NULL. */
const char *rules_mn15_id(int item);

/* The contract strings of the JSON interface. */
const char *rules_status_name(rules_status s);
const char *rules_route_name(rules_route r);
const char *rules_regime_name(rules_regime r);

/* The day the current regime starts (2022-04-01). */
#define RULES_REGIME_2022_START_YEAR 2022
#define RULES_REGIME_2022_START_MONTH 4
#define RULES_REGIME_2022_START_DAY 1

/* Knowledge days the core assesses: My Number reporting started with the Act's numbering
 * provisions on 2015-10-05; the calendar (to 2099) and the 60-day clock bound the other end,
 * 2099-10-31. Outside, rules_assess refuses known_at. */
#define RULES_FIRST_KNOWN_YEAR 2015
#define RULES_FIRST_KNOWN_MONTH 10
#define RULES_FIRST_KNOWN_DAY 5
#define RULES_LAST_KNOWN_YEAR 2099
#define RULES_LAST_KNOWN_MONTH 10
#define RULES_LAST_KNOWN_DAY 31

/* The same three days as day numbers (jpcal_day), so that no assessment computes them; a unit
 * test (test_rules_bounds) checks them against jpcal_from_ymd. */
#define RULES_REGIME_2022_START_DAYNUM 19083
#define RULES_FIRST_KNOWN_DAYNUM 16713
#define RULES_LAST_KNOWN_DAYNUM 47420

/* Japan Standard Time offset; Japan has had no daylight saving time since 1951. */
#define RULES_JST_OFFSET_SECONDS (9 * 3600)

/* Knowledge day of an instant, in Japan time. Defined for every int64: instants whose day
 * number does not fit a jpcal_day saturate to INT32_MIN / INT32_MAX. */
jpcal_day rules_japan_day(int64_t epoch_seconds);

#endif
