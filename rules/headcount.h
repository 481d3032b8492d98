/*
 * headcount: how many persons a client's exposure counts, defined once (DESIGN.md "Person
 * tokens"). A client reports a count (exposure_count: persons and a possible maximum) and sends
 * manifests of person tokens; the tokens prove a floor. Its persons are the larger of the two;
 * its possible maximum is the reported maximum when that is at least those persons, and absent
 * otherwise (a maximum below what the tokens prove is stale: the count is then exact). The
 * 100-person line of the PPC rule Art. 2 (RULES.md §1) is drawn on these numbers.
 *
 * The SQL twin is mni_client_persons / mni_client_persons_max (db/migrations/0081_headcount.sql),
 * used by the views of notify and `mni report`; tests/integration/test_headcount_sql.c keeps
 * the two equal. Pure.
 */
#ifndef MNI_HEADCOUNT_H
#define MNI_HEADCOUNT_H

#include <stdint.h>

/* reported: the reported persons (0 when never counted); tokens: distinct tokens. */
int64_t rules_client_persons(int64_t reported, int64_t tokens);
/* reported_max: the reported maximum or RULES_ABSENT; persons: rules_client_persons. */
int64_t rules_client_persons_max(int64_t reported_max, int64_t persons);

#endif
