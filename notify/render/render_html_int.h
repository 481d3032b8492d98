/*
 * render_html_int: what the render_html*.c files share and nobody else uses (not an API).
 *
 *   render_html.c           escaping, the page frame and its style sheet, state and status
 *                           marks, times, days and counts in words, the case list, the
 *                           message page
 *   render_html_case.c      the case page's sections
 *   render_html_timeline.c  the timeline picture (inline SVG)
 *
 * Every helper that takes text from a model escapes it; the literal markup passed to
 * buf_puts is ours.
 */
#ifndef MNI_RENDER_HTML_INT_H
#define MNI_RENDER_HTML_INT_H

#include <jansson.h>

#include "notify/render/render_html.h"
#include "notify/render/render_md.h"

/* <!DOCTYPE html> ... <body>, with the page title (escaped) and, when opts has one, the link
 * back to the list. */
void render_html__open(buf *b, const char *title, const render_html_opts *opts);
/* </body></html>. */
void render_html__close(buf *b);

/* <span class="mark STATE">Japanese English</span> for a deadline state (case_report.h). */
void render_html__mark(buf *b, const char *state);
/* The Japanese name of an obligation (deadlines.kind), e.g. 個人情報保護委員会への報告（速報）. */
const char *render_html__obligation(const char *kind);
/* An RFC 3339 instant in Japan-time words (escaped), or "—" when absent. */
void render_html__time(buf *b, const char *rfc3339);
/* A "YYYY-MM-DD" Japan day in words (escaped), or "—" when absent. */
void render_html__date(buf *b, const char *date);
/* <span class="mark STATUS">STATUS</span> for a verdict status (mandatory, voluntary, none),
 * with words: its Japanese words before it; "—" when absent. */
void render_html__status(buf *b, const char *status, int words);
/* A count with thousands separators and 名, or "—" when not an integer. */
void render_html__persons(buf *b, const json_t *count);
/* Milliseconds since the epoch of an RFC 3339 instant into *out: 0, or -1 when absent or
 * unparseable. */
int render_html__ms(const char *rfc3339, long long *out);

/* The timeline picture of a case model. */
void render_html__timeline(buf *b, const json_t *model);

#endif
