/*
 * verdict_json: rules_verdict -> the `mni assess` output contract (issue 2). The assess worker
 * stores the same document as a case version, so the tool and the pipeline say the same thing.
 */
#ifndef MNI_VERDICT_JSON_H
#define MNI_VERDICT_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "rules/rules.h"

#define VERDICT_DISCLAIMER                                                                         \
    "Not legal advice: an automated reading of the My Number Act and APPI rules; confirm "         \
    "with counsel or the PPC."

/* A new reference; the caller decrefs it. */
json_t *verdict_json_build(const rules_facts *f, const rules_verdict *v);

/* The text json_dumps(verdict_json_build(f, v), JSON_COMPACT) gives, but written
 * one client at a time: memory for one client's entry beside the text, not a tree of every
 * client (a tree costs ~10 times its text; a case with thousands of clients made tens of MB of
 * small blocks per record, which the allocator kept). The clients' ids must be distinct, as the
 * rule core makes them (rules_duplicates.c). The text goes to `write` in pieces, as with
 * json_dump_callback. 0, or -1 when out of memory or `write` failed. */
int verdict_json_write(const rules_facts *f, const rules_verdict *v, json_dump_callback_t write,
                       void *data);

/* verdict_json_write cut to some clients, for a record that must fit a message
 * (lib/model/assessment_record.h): only the clients whose listed[i] is true appear in clients[]
 * and in headcount.clients and headcount.clients_known (listed NULL: every client), and note
 * (may be NULL) is written as the document's last key, "abridged". With listed and note NULL
 * the text is verdict_json_write's, byte for byte. An own-role report (no client verdicts) with
 * listed non-NULL leaves out its data sets' counts. 0, or -1 as verdict_json_write. */
int verdict_json_write_listed(const rules_facts *f, const rules_verdict *v, const bool *listed,
                              const json_t *note, json_dump_callback_t write, void *data);

/* The bytes client c adds to verdict_json_write's text: its clients[] entry, its two counts
 * in headcount.clients and .clients_known, and their separators. SIZE_MAX when out of memory. */
size_t verdict_json_client_cost(const rules_client_verdict *c);

/* One entry of the verdict's clients array (new reference). */
json_t *verdict_json_client(const rules_client_verdict *c);

/* The verdict without its per-client parts (clients[], and headcount.clients and
 * headcount.clients_known when there are client verdicts): what a case version stores, so that a
 * version costs what changed, not the number of clients. Each client's entry is stored on its own
 * when it changes; the SQL function case_verdict(incident_id, version) puts the whole document back
 * together. */
json_t *verdict_json_case(const rules_facts *f, const rules_verdict *v);

#endif
