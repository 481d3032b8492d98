/*
 * token_merge: merges the person tokens of every manifest of a batch into the per-client set
 * (exposure_tokens) and the per-incident set (incident_persons) at once, and says exactly how
 * many persons each manifest added to each set, so that the manifest that pushes a count past
 * 100 is still the one that starts the clock, whatever the batch cut.
 *
 * How (DESIGN.md "Set-based per batch"):
 *   1. In C, each token is kept only at its first occurrence in the batch per (incident,
 *      client), and flagged when it is also the first per incident (an open-addressing hash
 *      over the token's leading bits: HMAC tokens are uniformly distributed).
 *   2. One binary COPY of (seq, incident, client, token bytes, first_in_incident) into a
 *      session-local staging table, sorted in C in the first merge's order (its sort in
 *      PostgreSQL then only checks it).
 *   3. Two statements, each an INSERT ... ON CONFLICT DO NOTHING RETURNING into one set, whose
 *      rows C credits to the manifest that staged them (found in its sets of step 1): the rows
 *      a manifest brought that neither the stored set nor an earlier manifest of the batch
 *      held. Both go in one pipeline with the staging table's TRUNCATE (lib/pg/pgx.h): the
 *      server runs the second merge while C credits the first one's rows, with no round trip
 *      between them (bench/README.md "Where W2's time goes inside mni-assess").
 * A manifest is attributed exactly the tokens that were new at its position in the stream,
 * which is what applying the manifests one by one would have found.
 *
 * Runs inside the caller's transaction (the batch's), like every write of the batch.
 */
#ifndef MNI_ASSESS_TOKEN_MERGE_H
#define MNI_ASSESS_TOKEN_MERGE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/model/events.h"

typedef struct {
    const mni_event *ev; /* an exposure_manifest */
    size_t case_index;   /* the same index for every manifest of one incident */
    int64_t new_client;  /* out: tokens new to the client's set */
    int64_t new_persons; /* out: tokens new to the incident's set */
} token_merge_item;

/* Creates the staging table when missing (a reconnect drops session-local tables). */
int token_merge_prepare(PGconn *pg, char *err, size_t errlen);

/* Merges items[0..n) in order (their order is the stream's). */
int token_merge(PGconn *pg, token_merge_item *items, size_t n, char *err, size_t errlen);

#endif
