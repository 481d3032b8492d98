/*
 * facts_json: the `mni assess` input contract (issue 2) <-> rules_facts.
 *
 * Strict on purpose: a legal verdict must not rest on a misspelt field, so unknown fields,
 * wrong types, duplicate keys and missing required fields are errors that name the field path
 * (`clients[2].persons_max: must be an integer >= 0`). Optional fields: clients[].persons_max,
 * clients[].contract_notice_hours, distinct_persons, appi and appi.persons; and (issue 7)
 * actor, notice_2015, reporter.public_body / .local_government / .ordinance_sensitive /
 * .employees, clients[].systems / .appi_persons / .public_body / .local_government /
 * .ordinance_sensitive / .known_at. An absent optional field keeps the old meaning, so facts
 * written before these fields existed read the same. Any text holding a valid My Number is
 * refused.
 *
 * Ownership: facts_doc owns the client array behind doc->facts.clients; facts_doc_free frees it.
 */
#ifndef MNI_FACTS_JSON_H
#define MNI_FACTS_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "rules/rules.h"

typedef struct {
    rules_facts facts;
    rules_client *clients; /* owned; facts.clients points here */
} facts_doc;

int facts_json_parse(const char *text, size_t len, facts_doc *doc, char *err, size_t errlen);
int facts_json_from_object(const json_t *root, facts_doc *doc, char *err, size_t errlen);
void facts_doc_free(facts_doc *doc);

/* The facts in the same JSON shape (new reference), for storing a case's facts. */
json_t *facts_json_build(const rules_facts *f);

/* The names the contract uses for enum values. */
const char *facts_kind_name(unsigned kind_bit);
const char *facts_system_name(unsigned system_bit);
const char *facts_level_name(rules_level l);
const char *facts_viewing_name(rules_viewing v);
const char *facts_certainty_name(rules_certainty c);
const char *facts_role_name(rules_role r);
const char *facts_actor_name(rules_actor a);

#endif
