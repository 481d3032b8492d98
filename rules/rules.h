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
 * after 2022-04-01; My Number Act Art. 29-4, PPC rule Art. 2-5; APPI Art. 26, rule Art. 7) in
 * rules_2022.c, and the earlier one (2015 notice, 2016 重大事態 rule) in rules_2015.c.
 *
 * Status values: MANDATORY (an item fired: a report is owed), VOLUNTARY (a leak or breach
 * happened but no item fired: best-effort report), NONE (nothing to report: encrypted, recovered
 * unviewed, intact copy, or no event at all).
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

typedef struct {
    char client_id[RULES_ID_MAX];
    int64_t persons;               /* known persons of this client, >= 0 */
    int64_t persons_max;           /* possible maximum, >= persons, or RULES_ABSENT */
    int64_t contract_notice_hours; /* contract clock for the notice to this client, or ABSENT */
} rules_client;

typedef struct {
    char incident_id[RULES_ID_MAX];
    int64_t known_at; /* knowledge time, seconds since the epoch (UTC) */
    rules_role role;
    bool number_use_entity;  /* the reporter is a 個人番号利用事務実施者 */
    bool public_body_system; /* the reporter runs a public body's system (or is its contractor) */
    unsigned kinds;          /* enum rules_kind bits, at least one */
    rules_certainty certainty;
    rules_level improper_purpose;
    unsigned systems; /* enum rules_system bits */
    rules_viewing unspecified_viewing;
    bool encrypted_protected; /* 高度な暗号化等: excludes every item */
    bool recovered_unviewed;  /* recovered before any third party could view: not a leak */
    bool intact_copy;         /* an intact copy exists: not a loss or damage */
    const rules_client *clients;
    size_t n_clients;
    int64_t distinct_persons; /* de-duplicated total across clients, or RULES_ABSENT */
    struct {
        bool sensitive;      /* 要配慮個人情報 */
        bool financial_risk; /* misuse may cause financial loss */
        int64_t persons;     /* RULES_ABSENT = the total headcount */
    } appi;
} rules_facts;

/* The rule ids that fired for one act, in the order of RULES.md. */
typedef struct {
    rules_status status;
    size_t n_fired;
    const char *fired[RULES_MAX_FIRED]; /* static strings */
} rules_act_verdict;

typedef struct {
    const char *client_id; /* points into the facts' client */
    int64_t headcount;     /* this client's own count (possible maximum when uncertain) */
    rules_act_verdict my_number;
    rules_act_verdict appi;
    bool involved;      /* headcount > 0: the incident touches this client's persons */
    int64_t notice_due; /* seconds since the epoch, or RULES_ABSENT when no notice is owed */
} rules_client_verdict;

typedef struct {
    rules_regime regime;
    jpcal_day known_day; /* knowledge day in Japan time (day 1 of every clock) */
    rules_act_verdict my_number;
    rules_act_verdict appi;
    int64_t headcount_total; /* the reporter's count: distinct persons across clients */
    int64_t appi_persons;
    /* Deadlines as day numbers, or RULES_ABSENT when not mandatory. */
    int32_t preliminary_target;
    int32_t preliminary_latest;
    int32_t final_due;
    int32_t final_days;
    int32_t appi_final_due;
    int32_t appi_final_days;
    rules_route route;             /* the My Number Act report's route */
    rules_route appi_route;        /* the same logic over the APPI verdicts */
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
