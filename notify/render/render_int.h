/*
 * render_int: what the render_*.c files share and nobody else uses (not an API).
 *
 *   render_terms.c  the Japanese vocabulary (rule meanings, statuses, routes, kinds, steps,
 *                   reports), time and date wording in Japan time, snapshot accessors and
 *                   the entry/block builders of the document shape (render.h)
 *   render_items.c  the nine report items of RULES.md §4 for one audience
 *   render_ppc.c    the PPC report drafts
 *   render_notice.c the client notice, the persons' notice, the publication text
 *   render_alert.c  reminders and escalations
 *   render.c        kinds, dispatch, the Markdown view, ticket texts
 *
 * Builders return new references and never fail short of memory exhaustion. Under memory
 * exhaustion jansson returns NULL, the json_*_new calls drop it, and a document may come out
 * with an entry missing; render_markdown still refuses one whose title, header or blocks are
 * missing.
 */
#ifndef MNI_RENDER_INT_H
#define MNI_RENDER_INT_H

#include <jansson.h>
#include <stddef.h>

#include "notify/render/render.h"

/* Who reads a document: decides what report items may say (render.h "Audience rules"). */
typedef enum {
    RENDER__TO_PPC,
    RENDER__TO_CLIENT,
    RENDER__TO_PERSONS,
    RENDER__TO_PUBLIC,
} render__audience;

/* ---- snapshot accessors (render_terms.c) ---- */

/* The string member, or NULL (also for an empty string when nonempty is set). */
const char *render__str(const json_t *obj, const char *key);
const char *render__nonempty(const json_t *obj, const char *key);
/* Free text for a document: the text, 「調査中」 when absent or blank, or a notice when it
 * holds a valid My Number. A new string reference. */
json_t *render__free_text(const char *text);
/* The first object of array arr whose string member key is value, or NULL. */
const json_t *render__find_by(const json_t *arr, const char *key, const char *value);
/* The verdict's client object of client_id, or NULL. */
const json_t *render__verdict_client(const json_t *snapshot, const char *client_id);
/* The snapshot's client (exposure) object of client_id, or NULL. */
const json_t *render__exposure(const json_t *snapshot, const char *client_id);
/* The completion time of a response step, or NULL. */
const char *render__step_done(const json_t *snapshot, const char *step);
/* The latest filing of report (and client when not NULL), or NULL. */
const json_t *render__filing(const json_t *snapshot, const char *report, const char *client_id);

/* ---- wording (render_terms.c) ---- */

const char *render__rule_meaning(const char *rule_id);
const char *render__status_ja(const char *status);
const char *render__route_ja(const char *route);
const char *render__kind_ja(const char *kind);
const char *render__certainty_ja(const char *certainty);
const char *render__improper_ja(const char *level);
const char *render__viewing_ja(const char *viewing);
const char *render__system_ja(const char *system);
const char *render__step_ja(const char *step);
/* An obligation or report kind (deadlines.kind, case_filings.report). */
const char *render__report_ja(const char *report);
/* The stage names of the PPC report under the verdict's regime. */
const char *render__stage_ja(const json_t *snapshot, int final);

/* "2026年6月10日（水）10:00" (Japan time) of an RFC 3339 instant; 「調査中」 when NULL or not
 * parseable. out must hold 64 bytes. */
const char *render__time_ja(const char *rfc3339, char out[64]);
/* "2026年6月12日（金）" of a "YYYY-MM-DD" Japan day; 「調査中」 when NULL or bad. */
const char *render__date_ja(const char *date, char out[64]);
/* A headcount as "120名"; 「調査中」 for a missing value. */
json_t *render__persons(const json_t *count);

/* ---- document shape (render_terms.c) ---- */

/* {"label", "value"}; value is stolen (NULL becomes 「調査中」). */
json_t *render__entry(const char *label, json_t *value);
/* Appends render__entry(label, value) to entries. */
void render__add(json_t *entries, const char *label, json_t *value);
/* {"heading", "entries"}; entries is stolen. */
json_t *render__block(const char *heading, json_t *entries);
/* The start of every document: document, title, incident_id, task_id, case_version, header
 * (empty), blocks (empty), disclaimers. */
json_t *render__doc_new(const char *document, const char *title, const json_t *snapshot,
                        const json_t *task);
/* The rule ids of act ("my_number" or "appi") of a verdict object (the case's or a client's
 * one: rules_key "rules" or "appi_rules") as [{"id", "meaning"}]. */
json_t *render__rules(const json_t *verdict_part, const char *rules_key);
/* Appends the elements of b to a and releases b; returns a. */
json_t *render__concat(json_t *a, json_t *b);
/* The same as display lines "MN-2-4: 意味". */
json_t *render__rule_lines(const json_t *rules);

/* ---- the nine items (render_items.c) ---- */

/* Report item no (1..9) for the audience: {"heading": "1. 概要", "item": 1, "key": "summary",
 * "entries": [...]}. client_id is the client a client notice is for (else NULL). */
json_t *render__item(int no, const json_t *snapshot, render__audience to, const char *client_id);
/* The response steps of RULES.md §5 with their completion (a block). */
json_t *render__steps_block(const json_t *snapshot);

/* ---- documents ---- */

json_t *render__ppc(const json_t *snapshot, const json_t *task, int final, char *err,
                    size_t errlen);
json_t *render__client_notice(const json_t *snapshot, const json_t *task, char *err, size_t errlen);
json_t *render__persons_notice(const json_t *snapshot, const json_t *task, char *err,
                               size_t errlen);
json_t *render__publication(const json_t *snapshot, const json_t *task, char *err, size_t errlen);
json_t *render__alert(const json_t *snapshot, const json_t *task, int escalation, char *err,
                      size_t errlen);

#endif
