/*
 * assess_batch: applies a batch of accepted incident events to their cases, inside the
 * caller's transaction: per batch for everything that touches PostgreSQL, per event for the
 * law.
 *
 * The batch lifecycle (each step names the function that performs it):
 *
 *   decode      every message to a typed event (mni_event_decode); one that does not decode
 *               is UNDECODABLE
 *   de-dup      an event id seen earlier in the batch or applied before (batch_store_seen) is
 *               SKIPPED: a replay changes nothing
 *   load        the batch's cases and their clients, one round trip each (batch_store_load)
 *   merge       the manifests' tokens, all at once, with the exact number of new persons of
 *               each manifest (batch_store_claim, token_merge)
 *   fold        per event in stream order, in memory: its effect on the case
 *               (case_fold_event), the rule core (case_assess), and when the verdict changed a
 *               new version, its obligations, tasks and audit row (emit_version); an event the
 *               core refuses is undone (case_rollback) and REJECTED
 *   write       versions, deadlines, outbox rows and counts with a few set-based statements
 *               (batch_store_write)
 *
 * A rejected manifest whose tokens were already merged sends the batch back to `load` after
 * ROLLBACK TO SAVEPOINT, without it (rare: only facts the core refuses do this).
 *
 * The results do not depend on how batches were cut: every event sees the state the events
 * before it left (the 101st person still starts the clock at its own event), and every
 * statement of `write` gives what applying the events one by one would have given.
 *
 * Re-assessment (DESIGN.md): a version is stored only when the verdict differs from the latest
 * stored one. The latest stored verdict is not read back: the rule core is deterministic, so
 * `load` recomputes it from the stored state (facts, exposure, clock start), in microseconds.
 */
#ifndef MNI_ASSESS_BATCH_H
#define MNI_ASSESS_BATCH_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/arena.h"
#include "lib/serdes/schema_set.h"

typedef enum {
    ASSESS_APPLIED,     /* applied to its case */
    ASSESS_SKIPPED,     /* applied before (or earlier in the batch): a replay */
    ASSESS_UNDECODABLE, /* not an event: dead-letter it as undecodable */
    ASSESS_REJECTED,    /* cannot apply (unknown incident, facts the core refuses) */
} assess_outcome;

typedef struct {
    const void *data;
    size_t len;
} assess_input;

typedef struct assess_batch assess_batch;

/* schemas is borrowed. peer_min: how many tokens new to an incident's set a batch must bring
 * for a peer session to merge them (token_merge.h); 0: never. NULL when out of memory. */
assess_batch *assess_batch_new(const schema_set *schemas, size_t peer_min);
void assess_batch_free(assess_batch *ab);

/* Applies in[0..n) inside the caller's transaction. 0, or -1 when PostgreSQL failed (err):
 * roll the transaction back. peer: a second session for the per-incident token merge, or NULL
 * (token_merge.h). Scratch memory comes from `scratch` (the worker's batch arena), which must
 * live until the transaction ends. */
int assess_batch_run(assess_batch *ab, PGconn *pg, PGconn *peer, mni_arena *scratch,
                     const assess_input *in, size_t n, char *err, size_t errlen);

/* For a message not applied after a run failed (rolled back to before it, dead-lettered):
 * removes, in pg's transaction, what a peer merged for it (token_merge_forget). */
int assess_batch_forget(assess_batch *ab, PGconn *pg, const assess_input *in, char *err,
                        size_t errlen);

/* The outcome of message i of the last run; *reason (may be NULL) says why it was not applied. */
assess_outcome assess_batch_outcome(const assess_batch *ab, size_t i, const char **reason);

#endif
