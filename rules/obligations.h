/*
 * obligations: what a verdict obliges the reporter (the BPO) to do, and when its clocks start.
 * Pure legal decisions, shared by the assess worker, notify and the CLI (RULES.md §1-§3).
 *
 *   client_notice     (per involved client)  the contractor's notice to the client (PPC rule
 *                                            Art. 4; the contract's clock when earlier)
 *   ppc_preliminary                          the preliminary report to the PPC (速報, rule Art.
 * 3(1)) ppc_final                                the final report (確報, rule Art. 3(2)), when a
 * day count applies: the My Number one, else the APPI one principal_notice notice to the persons
 * (本人通知, Art. 29-4(2)) or, when impossible, publication
 *
 * The PPC reports are the reporter's only when it must report itself: an own incident, or a
 * contractor's direct report (Art. 29-4(1) proviso); on the notify_clients route each client
 * reports and the contractor owes them the notice instead.
 *
 * Per client and per case, not per verdict: a 1,000-client verdict yields its case obligations
 * in constant time and each client's in constant time, so callers that diff verdicts pay only
 * for what changed.
 */
#ifndef MNI_RULES_OBLIGATIONS_H
#define MNI_RULES_OBLIGATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/rules.h"

typedef enum {
    RULES_OB_CLIENT_NOTICE,
    RULES_OB_PPC_PRELIMINARY,
    RULES_OB_PPC_FINAL,
    RULES_OB_PRINCIPAL_NOTICE
} rules_obligation_kind;

#define RULES_CASE_OBLIGATIONS_MAX 3 /* ppc_preliminary, ppc_final, principal_notice */

typedef struct {
    rules_obligation_kind kind;
    int32_t due_day; /* a Japan day (jpcal_day), or RULES_ABSENT */
    int64_t due_at;  /* an instant in seconds since the epoch, or RULES_ABSENT */
} rules_obligation;

/* "Mandatory": a report is owed under either act (an item fired under the My Number Act or
 * APPI). The clocks of a case start the first time this holds. */
bool rules_is_mandatory(const rules_verdict *v);

/* The reporter's own obligations of the case (not per client) into out; returns how many. */
size_t rules_case_obligations(const rules_verdict *v,
                              rules_obligation out[RULES_CASE_OBLIGATIONS_MAX]);

/* The contractor's notice to one client: 1 with *out filled when one is owed, else 0. */
int rules_client_obligation(const rules_client_verdict *c, rules_obligation *out);

/* The contract name of a kind ("client_notice", ...); parse returns 0 or -1 when unknown. */
const char *rules_obligation_kind_name(rules_obligation_kind k);
int rules_obligation_kind_parse(const char *name, rules_obligation_kind *out);

/* When the clocks of a case start (RULES.md §1: "from when the business knew of the situation
 * that makes the report mandatory"). All times in milliseconds since the epoch.
 *   started      the start already fixed for this case, or RULES_ABSENT; once fixed it never
 *                moves (a later event cannot restart a running clock);
 *   first        true when this is the case's first verdict (it only now became assessable,
 *                e.g. a contractor's first client exposure arrived): the situation existed
 *                since the knowledge time;
 *   known_at     the knowledge time of the facts;
 *   event_at     the time of the event that produced this verdict;
 *   v            the verdict computed from the knowledge time.
 * Returns the start: `started` when set; RULES_ABSENT when v is not mandatory; known_at for a
 * first verdict; otherwise the later of known_at and event_at (a count that passes 100 in a
 * later update makes MN-2-4 fire from that update, not retroactively). */
int64_t rules_clock_start(int64_t started, bool first, int64_t known_at, int64_t event_at,
                          const rules_verdict *v);

#endif
