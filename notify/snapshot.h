/*
 * snapshot: one case as PostgreSQL holds it, in the JSON shape the renderers take
 * (notify/render/render.h "Input"). Read inside the caller's transaction (the batch's), so every
 * document of a task sees the same state.
 *
 *   cases           tenant, status, facts, known_at, version
 *   case_versions   the verdict of the version the task names (case_version), or the latest
 *                   when it names none: documents reproduce from the evidence they rest on
 *   client_exposure each client's persons (the larger of its count and its distinct tokens,
 *                   as assess counts them) and possible maximum
 *
 * A task about one client (client_id set) reads that client's view only: the verdict with
 * its own entry (case_verdict_of_client, migration 0012) and its own exposure row. Its cost
 * does not grow with the incident's other clients, and it shows none of them.
 *   case_steps      the response steps done, oldest first
 *   case_filings    reports and notices filed, oldest first
 *   event_log       title and description: the incident_opened body, then each facts_updated
 *                   body that carries a new one, in event order. These texts were screened
 *                   by ingest for raw My Numbers before they were stored.
 *
 * Times are written as RFC 3339 in Japan time. Nothing here is logged: the snapshot holds
 * free text.
 */
#ifndef MNI_NOTIFY_SNAPSHOT_H
#define MNI_NOTIFY_SNAPSHOT_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* The snapshot of incident_id (new reference), or NULL: with *missing = 1 when there is no
 * such case, else an error in err. */
json_t *notify_snapshot_load(PGconn *pg, const char *incident_id, const char *client_id,
                             int version, int *missing, char *err, size_t errlen);

#endif
