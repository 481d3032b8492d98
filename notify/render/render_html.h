/*
 * render_html: the case report and the case list as HTML pages that a compliance officer can
 * file or print (`mni report ID --html`) and that `mni web` serves. Pure: the JSON models of
 * cli/case_report.h in, one HTML string out; no PostgreSQL, no clock (the model carries its
 * as_of), no I/O.
 *
 * Self-contained: one file, inline CSS and an inline SVG picture, no script, no image, font or
 * style sheet fetched from anywhere; a Content-Security-Policy meta tag (default-src 'none')
 * makes a browser refuse any fetch even if one slipped in. Japanese, with English labels where
 * an ops team reads along (section headings, column names, states).
 *
 * Escaping: every string taken from a model (ids, free text, client ids, rule ids, hashes) goes
 * through render_html_escape (& < > " ' as entities, control characters but tab and newline
 * dropped), in text and in attributes alike; ids in links are also percent-encoded
 * (render_html_url). Free text (title, description, filing references) passes through
 * render.h's screening first (a text holding a valid My Number is replaced by a notice). Our
 * own markup is the only markup on the page.
 *
 * The case page (sections in this order, each with an id):
 *   header     incident id, tenant, state, version, known at, clocks from, as of, title
 *   verdict    status and route under each act; every rule id that fired (the case's and each
 *              client's) with its article and its condition, which is the reason it fired;
 *              the verdict's deadlines and notice to the persons
 *   headcount  per client: known and possible maximum (and tokens), then the de-duplicated
 *              totals of the case
 *   timeline   a picture (inline SVG) of every deadline from the clock's start to its end,
 *              what was done (response steps, reports filed, notices sent) and the as-of line,
 *              overdue items in red; then the same as tables, overdue rows marked
 *              「期限超過 OVERDUE」
 *   facts      the facts assessed; the incident's description
 *   versions   every verdict the case went through
 *   documents  the documents produced, each with its full SHA-256
 *   tickets    the tickets and their webhook delivery (a failed one marked)
 *   disclaimer in Japanese and in English
 *
 * Machine-checkable marks for tests and scrapers: rows carry data-state (deadline state) and
 * data-rule (rule id) attributes; the overdue mark is <span class="mark overdue">.
 *
 * Errors: NULL with a message in err when the model lacks what the page needs (case:
 * incident_id) or memory ran out. The caller frees the page.
 */
#ifndef MNI_RENDER_HTML_H
#define MNI_RENDER_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "notify/render/render_md.h"

typedef struct {
    /* A link back to the case list ("/"), or NULL for a file that stands alone. */
    const char *list_href;
    /* The list's links to each case: prefix + percent-encoded incident id ("/cases/"). */
    const char *case_href_prefix;
} render_html_opts;

/* The case page of a case model (case_report.h). */
char *render_html_case(const json_t *model, const render_html_opts *opts, char *err, size_t errlen);
/* The case list page of a list model (case_report.h); column headers link to ?sort=&order=. */
char *render_html_case_list(const json_t *list, const render_html_opts *opts, char *err,
                            size_t errlen);
/* A page with a heading and one line of text, for errors (404, 500) over HTTP. */
char *render_html_message(const char *title, const char *text, const render_html_opts *opts);

/* Appends s (may be NULL: nothing) escaped for HTML text and attribute values. */
void render_html_escape(buf *b, const char *s);
/* Appends s percent-encoded for a URL path segment or query value (RFC 3986 unreserved
 * characters kept). */
void render_html_url(buf *b, const char *s);

#endif
