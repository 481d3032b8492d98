/*
 * snapshot: one case as of one case version, in the JSON shape the renderers take
 * (notify/render/render.h "Input"). A pure function of (incident, version[, client]): every
 * row it reads was written by assess with or before that version and is append-only (or, for
 * a step, never changed once written), so a task's documents are the same byte for byte
 * whenever notify gets to the task, however far assess has gone on meanwhile (issue 8 item 11).
 * Read inside the caller's transaction (the batch's).
 *
 *   case_versions   the version the task names (case_version; the latest when it names none):
 *                   its verdict, its facts (migration 0075: kinds, certainty, known_at ...)
 *                   and its cause event
 *   cases           tenant and opened_at (set once, when the incident opened)
 *   case_events     which events the version rests on: those applied before its cause event
 *                   (version_after < version: an event is stamped with the version current
 *                   after it, and the cause is the first event stamped with its version) and
 *                   the cause itself; events applied after it are left out, whether or not
 *                   they made a version of their own
 *   case_steps      the response steps those events completed, oldest first
 *   case_filings    the reports and notices those events filed, oldest first
 *                   and title and description: the incident_opened event's, then each
 *                   facts_updated that carries a new one, of those events, in event order
 *                   (assess records them with the event; event_log is not read: ingest may
 *                   commit it after assess applied the event). These texts were screened by
 *                   ingest for raw My Numbers.
 *   clients         each client's persons and possible maximum as the version's verdict has
 *                   them (headcount.clients_known, headcount.clients: the client's entry in
 *                   client_verdicts at or before the version), not client_exposure, which
 *                   later counts overwrite
 *   status          "open": assess makes a version only while the case is open, and a closed
 *                   case never reopens
 *
 * A task about one client (client_id set) reads that client's view only: the verdict with
 * its own entry (case_verdict_of_client, migration 0012), hence its own counts. Its cost
 * does not grow with the incident's other clients, and it shows none of them.
 *
 * A case with no such version (none assessed yet) is read as it is now: cases.facts and
 * status, every step, filing and text, client_exposure; "case_version" is then 0. A version
 * stored before migration 0075 has no facts of its own: cases.facts stands in for them.
 *
 * Times are written as RFC 3339 in Japan time. Nothing here is logged: the snapshot holds
 * free text.
 */
#ifndef MNI_NOTIFY_SNAPSHOT_H
#define MNI_NOTIFY_SNAPSHOT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* The snapshot of incident_id as of version (0: the latest) (new reference), or NULL: with
 * *missing = 1 when there is no such case, else an error in err. */
json_t *notify_snapshot_load(PGconn *pg, const char *incident_id, const char *client_id,
                             int version, int *missing, char *err, size_t errlen);

/* One snapshot a batch needs. */
typedef struct {
    const char *incident_id;
    const char *client_id; /* or NULL: the whole case */
    int version;           /* 0: the latest */
    /* Non-zero: a document that reads no client's part of the verdict (a reminder or an
     * escalation: render_alert.c reads the case's deadlines only) gets the version's own
     * verdict document as stored, read once for the (incident, version) group instead of a
     * per-task case_verdict_of_client; its "clients" are then what that document holds. */
    int case_part;
} notify_snapshot_want;

/* The snapshots of a batch's tasks, the same documents as notify_snapshot_load gives each, read
 * set-wise: the tasks are grouped by (incident, version) and each group's case row, steps,
 * filings and texts are read once, all groups in one statement per table; every task's verdict
 * (whole, or one client's: case_verdict_of_client) in one statement for the batch, but for a
 * want of case_part, the group's stored verdict, read with its case row. The pieces a
 * group shares are shared JSON references: renderers take the snapshot const. A case without
 * the version (none assessed yet) is read per task with notify_snapshot_load.
 * snaps[i]: a new reference, or NULL with missing[i] = 1 when there is no such case.
 * 0, or -1 with err (then every snaps[i] is NULL). */
int notify_snapshot_load_many(PGconn *pg, const notify_snapshot_want *w, size_t n, json_t **snaps,
                              int *missing, char *err, size_t errlen);

#endif
