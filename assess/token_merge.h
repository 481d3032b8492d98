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
 *   2. One binary COPY of (incident, client, token bytes, first_in_incident, added_by)
 *      into a session-local staging table, sorted in C in the first merge's order (its sort in
 *      PostgreSQL then only checks it).
 *   3. Two statements, each an INSERT into one set returning how many rows each manifest
 *      added, by the rows' added_by (the manifest's event id, hashed: migrations 0146 and
 *      0147). They are the rows a manifest brought that neither the stored set nor an earlier
 *      manifest of the batch held.
 *   4. With a batch of many tokens new to the incident's set and a peer session, the
 *      per-incident merge runs there, in a transaction of its own, while the batch's session
 *      runs the per-client one: on the two cores at once, where one backend ran both (80% of
 *      W2's statement time). The peer commits first, so its rows may outlive a batch that
 *      rolls back; applied again, the merge counts a row added by the same manifest as new
 *      again (ON CONFLICT ... WHERE added_by matches), so the credit stays exact, and a
 *      manifest that ends up not applied has its rows removed (token_merge_forget).
 *      Otherwise both run on the batch's session, in one pipeline with the staging table's
 *      TRUNCATE (lib/pg/pgx.h).
 * A manifest is attributed exactly the tokens that were new at its position in the stream,
 * which is what applying the manifests one by one would have found.
 *
 * Runs inside the caller's transaction (the batch's), like every write of the batch; the peer's
 * part in its own.
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

/* Merges items[0..n) in order (their order is the stream's). peer: a second session for the
 * per-incident merge (NULL: none), used when the batch brings at least peer_min tokens new to
 * it. The caller must not pass a peer once its transaction has written the incident's set (a
 * merge without the peer, a forget): the peer would wait for those rows while the caller
 * waits for the peer. */
int token_merge(PGconn *pg, PGconn *peer, size_t peer_min, token_merge_item *items, size_t n,
                char *err, size_t errlen);

/* Deletes, in pg's transaction, the persons the manifest ev added to its incident's set in a
 * peer's transaction: for a manifest merged and then not applied after all (refused by the
 * rule core, or dead-lettered), so that a later manifest counts them as new. */
int token_merge_forget(PGconn *pg, const mni_event *ev, char *err, size_t errlen);

#endif
