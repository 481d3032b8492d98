/*
 * assessment_rebuild: the relay's abridged CaseAssessment of a case version that reached the
 * outbox without its record and whose whole verdict does not fit a message (rows queued before
 * abridged records, schema id 7, when the relay could not send them at all; or by an assess
 * that could not make the record). Assess makes the abridged record itself from the verdict in
 * hand (lib/model/assessment_record.h); this is the same form made from PostgreSQL without the
 * whole verdict: the case's own part (case_versions.verdict, without clients) and, from
 * client_verdicts, the latest entry of each client as of the version, taken in the order of
 * ASSESSMENT_RECORD_ORDER while a running sum of their text (an over-estimate of what they add)
 * stays within the message, listed by client id as case_verdict() lists them. Only those
 * entries are read into memory, never the whole verdict.
 *
 * The verdict_json text is that of the parsed documents (PostgreSQL's key order, like every
 * record the relay makes from case_verdict()), with the "abridged" note of assessment_record.
 * Runs inside the relay's transaction; a failed statement fails the claim (err).
 */
#ifndef MNI_ASSESSMENT_REBUILD_H
#define MNI_ASSESSMENT_REBUILD_H

#include <libpq-fe.h>

#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"

/* The abridged record of version `version` of incident_id, assessed at created_ms, into out.
 * 0, or -1 (err). */
int assessment_rebuild_abridged(PGconn *pg, const schema_set *schemas, const char *incident_id,
                                int version, long long created_ms, wire_buf *out, char *err,
                                size_t errlen);

#endif
