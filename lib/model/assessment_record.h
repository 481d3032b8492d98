/*
 * assessment_record: the CaseAssessment record (records.h) of one case version, made from the
 * rule core's verdict, always within the message limit (WIRE_MAX_MESSAGE), whatever the number
 * of clients.
 *
 * A verdict whose record fits is sent whole: every client in `clients`, the whole verdict
 * document (verdict_json_write) in `verdict_json`, `abridged` false. A verdict too large for
 * one message (from about 2,000 clients: the verdict's text costs ~370-530 bytes per client) is
 * abridged, still as one message keyed by the incident (the topic is compacted by it):
 *   - the headline fields (statuses, regime, rules, route, deadlines, headcount_total, the
 *     exact de-duplicated count) are those of the whole verdict;
 *   - `clients` lists the clients that fit, chosen in ASSESSMENT_RECORD_ORDER (most severe
 *     first, then by client id, so the same verdict always lists the same clients) and listed
 *     in the verdict's own order; `verdict_json` is the verdict cut to the same clients
 *     (verdict_json_write_listed) with an "abridged" object saying so; `clients_total` counts
 *     every client and `full_verdict` says where the whole verdict is (PostgreSQL keeps every
 *     version: `mni case --json --version N INCIDENT`, or SQL case_verdict(incident, N)).
 *
 * Memory: the verdict text is written into a buffer capped at the message size, one client at
 * a time; the abridged form needs, besides, an index, a cost and a flag per client (no JSON
 * tree of the verdict). Errors: 0, or -1 with "field: reason" in err.
 */
#ifndef MNI_ASSESSMENT_RECORD_H
#define MNI_ASSESSMENT_RECORD_H

#include <stdbool.h>

#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"
#include "rules/rules.h"

#define ASSESSMENT_RECORD_ORDER                                                                    \
    "most severe first: My Number Act status (mandatory, voluntary, none), then APPI status, "     \
    "then client id (bytewise)"

typedef struct {
    bool abridged;
    size_t clients_total, clients_listed;
} assessment_record_info;

/* The record of version `version` of incident_id, assessed at assessed_ms from facts f into
 * verdict v, into out (framed). info (may be NULL) says whether it was abridged and how many
 * clients it lists. */
int assessment_record_make(const schema_set *schemas, const char *incident_id, int version,
                           long long assessed_ms, const rules_facts *f, const rules_verdict *v,
                           wire_buf *out, assessment_record_info *info, char *err, size_t errlen);

/* Where the whole verdict of version `version` of an abridged case is (full_verdict): the
 * command that prints it and the SQL, the id quoted. Malloc'd; NULL when out of memory. */
char *assessment_record_full_verdict(const char *incident_id, int version);

/* The record with the clients whose listed[i] is true (listed NULL: every client, the whole
 * form; else abridged, with full_verdict), its verdict_json written by
 * verdict_json_write_listed. What assessment_record_make sends; exposed for the tests of the
 * boundary. */
int assessment_record_listed(const schema_set *schemas, const char *incident_id, int version,
                             long long assessed_ms, const rules_facts *f, const rules_verdict *v,
                             const bool *listed, wire_buf *out, char *err, size_t errlen);

#endif
