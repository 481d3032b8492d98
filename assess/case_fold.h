/*
 * case_fold: folds incident events into a case's stored facts (cases.facts, jsonb).
 *
 * The stored facts are the `mni assess` input without the parts PostgreSQL keeps in tables of
 * their own (clients, distinct persons): incident_id, known_at, reporter, kinds, certainty,
 * improper_purpose, systems, unspecified_viewing, encrypted_protected, recovered_unviewed,
 * intact_copy, appi {sensitive, financial_risk}. Free text (title, description, notes) is never
 * folded into the facts: it stays in the event log only.
 *
 * An incident_opened body sets every fact; a facts_updated body replaces the facts it carries
 * (a null field leaves the fact as it was). Pure: jansson values in, jansson values out.
 */
#ifndef MNI_CASE_FOLD_H
#define MNI_CASE_FOLD_H

#include <jansson.h>
#include <stddef.h>

/* A new facts object from an incident_opened event (its envelope incident_id and body). */
json_t *case_fold_opened(const char *incident_id, const json_t *body, char *err, size_t errlen);
/* Applies a facts_updated body to facts in place. */
int case_fold_update(json_t *facts, const json_t *body, char *err, size_t errlen);

#endif
