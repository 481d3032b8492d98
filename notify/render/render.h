/*
 * render: the documents the notify worker delivers, built from a case snapshot (RULES.md §2,
 * §4, §5). Pure: jansson in, jansson and Markdown out; no PostgreSQL, no clock, no I/O.
 *
 *   RENDER_PPC_PRELIMINARY  draft of the report to the PPC, 速報 (第一報 before 2022-04-01)
 *   RENDER_PPC_FINAL        draft of the report to the PPC, 確報 (最終報告 before 2022-04-01)
 *   RENDER_CLIENT_NOTICE    the contractor's notice to one client (委託元への通知, Art. 4)
 *   RENDER_PERSONS_NOTICE   the notice to the persons (本人への通知, Art. 5): items 1 2 4 5 9
 *   RENDER_PUBLICATION      the publication text (公表文) for when notice is impossible
 *   RENDER_REMINDER         a deadline is near (kind, due, hours left)
 *   RENDER_ESCALATION       a deadline has passed (kind, due, hours overdue)
 *
 * Input: the snapshot is one JSON object describing the case as PostgreSQL holds it (notify's
 * snapshot loader builds it; tests write it by hand):
 *
 *   {"incident_id": "INC-1", "tenant": "bpo", "title": "..." | null,
 *    "description": "..." | null, "known_at": RFC 3339 | null, "case_version": 3,
 *    "facts": {the stored facts: kinds, certainty, improper_purpose, systems, ...},
 *    "verdict": {verdict_json's document} | null,
 *    "clients": [{"client_id", "persons", "persons_max" | null}],
 *    "steps": [{"step", "completed_at"}], "filings": [{"report", "client_id", "filed_at"}]}
 *
 * and the task is the NotifyTask's payload: {"task_id", "kind", "client_id" | null,
 * "due_date" | null, "due_at" | null, "case_version"} plus, for reminders and escalations,
 * "deadline_kind" and "as_of" (the sweeper's clock, RFC 3339: hours left are counted from it,
 * so a document renders the same on every replay).
 *
 * Only incident_id is required of the snapshot. Every fact that is missing is rendered as
 * 「調査中」 (under investigation), never guessed. Free text (title, description, filing
 * references) is carried as given, except that a text holding a valid My Number is replaced
 * by a notice (ingest refuses such text; this is the second line of defence).
 *
 * Output: a render_doc holds the document as JSON (what systems read) and as Markdown (what
 * people read), the second derived from the first by render_markdown so the two never
 * disagree. The JSON shape shared by every kind:
 *
 *   {"document": "ppc_report" | "client_notice" | "persons_notice" | "publication" |
 *                "reminder" | "escalation",
 *    "title": "...", "incident_id", "task_id", "case_version",
 *    "header": [entry...],                     key facts, shown first
 *    "blocks": [{"heading", "item"?: 1..9, "key"?, "entries": [entry...]}...],
 *    "disclaimer": VERDICT_DISCLAIMER, "disclaimer_ja": RENDER_DISCLAIMER_JA,
 *    "rendered_from": {"case_version", "ja", "en"},  when case_version > 0: the sentence that
 *                                              the document shows the case as of that version
 *    ...}
 *
 * An entry is {"label", "value"} where value is a string (may span lines), an array of strings
 * (a list) or {"columns": [...], "rows": [[...]...]} (a table). Blocks with "item" are the
 * report items of RULES.md §4 under their numbers (1 概要 ... 9 その他). Each kind adds
 * machine-readable fields of its own (stage, headcount, rules, deadlines, due, hours_left...).
 *
 * Audience rules: the PPC draft of a direct report lists every affected client with its own
 * headcount and the de-duplicated total; a client notice carries that client's own headcount
 * and verdict only, never another client's id or count; the persons' notice carries items
 * 1, 2, 4, 5 and 9 only, with no headcount and no client at all.
 *
 * Errors: 0, or -1 with "field: reason" in err (snapshot.incident_id: missing; task.client_id:
 * required for a client notice; task.due_date: missing ...). Ownership: render_document fills
 * *out with a new JSON reference and a malloc'd string; render_doc_free releases both.
 */
#ifndef MNI_RENDER_H
#define MNI_RENDER_H

#include <jansson.h>
#include <stddef.h>

#define RENDER_DISCLAIMER_JA                                                                                                                  \
    "本書は番号法及び個人情報保護法の規定を機械的に当てはめた下書きであり、法的助言ではありませ" \
    "ん。提出・送付の前に、弁護士又は個人情報保護委員会に確認してください。"

/* What a fact still unknown is rendered as. */
#define RENDER_UNKNOWN "調査中"

typedef enum {
    RENDER_PPC_PRELIMINARY,
    RENDER_PPC_FINAL,
    RENDER_CLIENT_NOTICE,
    RENDER_PERSONS_NOTICE,
    RENDER_PUBLICATION,
    RENDER_REMINDER,
    RENDER_ESCALATION,
} render_kind;

#define RENDER_KIND_COUNT 7

typedef struct {
    json_t *json;   /* owned reference */
    char *markdown; /* malloc'd, NUL-terminated UTF-8 */
} render_doc;

/* "ppc_preliminary", "ppc_final", "client_notice", "persons_notice", "publication",
 * "reminder", "escalation"; NULL when out of range. */
const char *render_kind_name(render_kind k);
int render_kind_parse(const char *name, render_kind *out);

/* Renders one document. task may be NULL for kinds that need nothing of it (the PPC drafts,
 * the persons' notice, the publication). */
int render_document(render_kind kind, const json_t *snapshot, const json_t *task, render_doc *out,
                    char *err, size_t errlen);
void render_doc_free(render_doc *doc);

/* The Markdown view of a rendered JSON document (see the shape above); malloc'd, or NULL with
 * a message when the document does not have that shape or memory ran out. Every string taken
 * from the document is escaped (render_md.h), labels included. */
char *render_markdown(const json_t *doc, char *err, size_t errlen);

/* A ticket's one-line title and summary for a task, from the document rendered for it (doc)
 * and the task: fixed phrases, identifiers, due times and hours only, never free text from
 * events (tickets leave for other systems). malloc'd strings the caller frees; -1 when memory
 * ran out. */
int render_ticket_text(render_kind kind, const json_t *doc, const json_t *task, char **title,
                       char **summary, char *err, size_t errlen);

/* The instant (ms since the epoch) at which a deadline is over, overdue from then on
 * (rules/due_day.h): for a due date, 00:00 JST of the next day; for a due instant (RFC 3339;
 * preferred when both are given), the end of its second. -1 when neither parses. */
int render_due_end_ms(const char *due_date, const char *due_at, long long *out);

#endif
