/*
 * render: see render.h. This file holds the kinds, the dispatch to the document builders
 * (render_ppc.c, render_notice.c, render_alert.c), the Markdown view shared by every document
 * and the ticket texts.
 */
#include "notify/render/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "notify/render/render_int.h"
#include "notify/render/render_md.h"
#include "rules/due_day.h"
#include "rules/jpcal.h"

static const char *const render_kind_names[RENDER_KIND_COUNT] = {
    [RENDER_PPC_PRELIMINARY] = "ppc_preliminary", [RENDER_PPC_FINAL] = "ppc_final",
    [RENDER_CLIENT_NOTICE] = "client_notice",     [RENDER_PERSONS_NOTICE] = "persons_notice",
    [RENDER_PUBLICATION] = "publication",         [RENDER_REMINDER] = "reminder",
    [RENDER_ESCALATION] = "escalation",
};

const char *render_kind_name(render_kind k)
{
    return (unsigned)k < RENDER_KIND_COUNT ? render_kind_names[k] : NULL;
}

int render_kind_parse(const char *name, render_kind *out)
{
    for (unsigned i = 0; name && i < RENDER_KIND_COUNT; i++)
        if (!strcmp(name, render_kind_names[i])) {
            *out = (render_kind)i;
            return 0;
        }
    return -1;
}

int render_due_end_ms(const char *due_date, const char *due_at, long long *out)
{
    int64_t ms;
    char ignored[64];
    jpcal_day d;
    if (due_at && timefmt_parse_rfc3339(due_at, &ms, ignored, sizeof ignored) == 0) {
        *out = rules_due_at_end_ms(ms);
        return 0;
    }
    if (due_date && jpcal_parse(due_date, &d)) {
        *out = rules_due_day_end_ms(d);
        return 0;
    }
    return -1;
}

void render_doc_free(render_doc *doc)
{
    json_decref(doc->json);
    free(doc->markdown);
    doc->json = NULL;
    doc->markdown = NULL;
}

int render_document(render_kind kind, const json_t *snapshot, const json_t *task, render_doc *out,
                    char *err, size_t errlen)
{
    out->json = NULL;
    out->markdown = NULL;
    if (!json_is_object(snapshot)) {
        snprintf(err, errlen, "snapshot: must be a JSON object");
        return -1;
    }
    if (!render__nonempty(snapshot, "incident_id")) {
        snprintf(err, errlen, "snapshot.incident_id: missing");
        return -1;
    }
    if (task && !json_is_object(task)) {
        snprintf(err, errlen, "task: must be a JSON object");
        return -1;
    }
    if (!task &&
        (kind == RENDER_CLIENT_NOTICE || kind == RENDER_REMINDER || kind == RENDER_ESCALATION)) {
        snprintf(err, errlen, "task: required for a %s", render_kind_name(kind));
        return -1;
    }
    char why[256] = "out of memory";
    json_t *doc = NULL;
    switch (kind) {
    case RENDER_PPC_PRELIMINARY:
        doc = render__ppc(snapshot, task, 0, why, sizeof why);
        break;
    case RENDER_PPC_FINAL:
        doc = render__ppc(snapshot, task, 1, why, sizeof why);
        break;
    case RENDER_CLIENT_NOTICE:
        doc = render__client_notice(snapshot, task, why, sizeof why);
        break;
    case RENDER_PERSONS_NOTICE:
        doc = render__persons_notice(snapshot, task, why, sizeof why);
        break;
    case RENDER_PUBLICATION:
        doc = render__publication(snapshot, task, why, sizeof why);
        break;
    case RENDER_REMINDER:
        doc = render__alert(snapshot, task, 0, why, sizeof why);
        break;
    case RENDER_ESCALATION:
        doc = render__alert(snapshot, task, 1, why, sizeof why);
        break;
    default:
        snprintf(why, sizeof why, "kind: unknown document kind %d", (int)kind);
        break;
    }
    if (!doc) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    char *md = render_markdown(doc, err, errlen);
    if (!md) {
        json_decref(doc);
        return -1;
    }
    out->json = doc;
    out->markdown = md;
    return 0;
}

/* ---- the Markdown view ---- */

static int multi_line(const char *s)
{
    return strchr(s, '\n') != NULL;
}

static void md_label(buf *b, const char *label)
{
    buf_puts(b, "**");
    render_md_inline(b, label);
    buf_puts(b, "**");
}

static int md_table(buf *b, const char *label, const json_t *t)
{
    const json_t *cols = json_object_get(t, "columns"), *rows = json_object_get(t, "rows");
    if (!json_is_array(cols) || !json_is_array(rows)) return -1;
    buf_puts(b, "\n");
    md_label(b, label);
    buf_puts(b, "\n\n|");
    size_t i, j;
    const json_t *c, *row;
    json_array_foreach (cols, i, c) {
        buf_puts(b, " ");
        render_md_inline(b, json_string_value(c));
        buf_puts(b, " |");
    }
    buf_puts(b, "\n|");
    for (i = 0; i < json_array_size(cols); i++)
        buf_puts(b, " --- |");
    buf_puts(b, "\n");
    json_array_foreach (rows, i, row) {
        buf_puts(b, "|");
        json_array_foreach (row, j, c) {
            buf_puts(b, " ");
            render_md_inline(b, json_string_value(c));
            buf_puts(b, " |");
        }
        buf_puts(b, "\n");
    }
    buf_puts(b, "\n");
    return 0;
}

static int md_entry(buf *b, const json_t *entry)
{
    const char *label = json_string_value(json_object_get(entry, "label"));
    const json_t *value = json_object_get(entry, "value");
    if (!label) return -1;
    if (json_is_string(value) && !multi_line(json_string_value(value))) {
        buf_puts(b, "- ");
        md_label(b, label);
        buf_puts(b, ": ");
        render_md_inline(b, json_string_value(value));
        buf_puts(b, "\n");
    } else if (json_is_string(value)) {
        buf_puts(b, "\n");
        md_label(b, label);
        buf_puts(b, "\n\n");
        render_md_block(b, json_string_value(value));
        buf_puts(b, "\n");
    } else if (json_is_array(value)) {
        buf_puts(b, "- ");
        md_label(b, label);
        buf_puts(b, ":\n");
        size_t i;
        const json_t *v;
        json_array_foreach (value, i, v) {
            buf_puts(b, "  - ");
            render_md_inline(b, json_string_value(v));
            buf_puts(b, "\n");
        }
    } else if (json_is_object(value)) {
        return md_table(b, label, value);
    } else {
        return -1;
    }
    return 0;
}

static int md_entries(buf *b, const json_t *entries)
{
    size_t i;
    const json_t *e;
    if (!json_is_array(entries)) return -1;
    json_array_foreach (entries, i, e)
        if (md_entry(b, e) != 0) return -1;
    return 0;
}

static void md_disclaimer(buf *b, const json_t *doc)
{
    buf_puts(b, "> **法的助言ではありません / Not legal advice**\n>\n");
    const char *ja = json_string_value(json_object_get(doc, "disclaimer_ja"));
    const char *en = json_string_value(json_object_get(doc, "disclaimer"));
    buf_puts(b, "> ");
    render_md_inline(b, ja ? ja : RENDER_DISCLAIMER_JA);
    buf_puts(b, "\\\n> ");
    render_md_inline(b, en ? en : "");
    buf_puts(b, "\n");
}

char *render_markdown(const json_t *doc, char *err, size_t errlen)
{
    const char *title = json_string_value(json_object_get(doc, "title"));
    const json_t *header = json_object_get(doc, "header"), *blocks = json_object_get(doc, "blocks");
    if (!title || !json_is_array(header) || !json_is_array(blocks)) {
        snprintf(err, errlen, "document: title, header or blocks missing");
        return NULL;
    }
    buf b;
    buf_init(&b, RENDER_MAX_BYTES);
    buf_puts(&b, "# ");
    render_md_inline(&b, title);
    buf_puts(&b, "\n\n");
    md_disclaimer(&b, doc);
    buf_puts(&b, "\n");
    const json_t *from = json_object_get(doc, "rendered_from");
    if (json_is_object(from)) {
        buf_puts(&b, "*");
        render_md_inline(&b, json_string_value(json_object_get(from, "ja")));
        buf_puts(&b, "*\\\n*");
        render_md_inline(&b, json_string_value(json_object_get(from, "en")));
        buf_puts(&b, "*\n\n");
    }
    int rc = md_entries(&b, header);
    size_t i;
    const json_t *block;
    json_array_foreach (blocks, i, block) {
        const char *heading = json_string_value(json_object_get(block, "heading"));
        if (rc != 0 || !heading) {
            rc = -1;
            break;
        }
        buf_puts(&b, "\n## ");
        render_md_inline(&b, heading);
        buf_puts(&b, "\n\n");
        rc = md_entries(&b, json_object_get(block, "entries"));
    }
    if (rc != 0) {
        buf_free(&b);
        snprintf(err, errlen, "document: an entry is not {label, value} of a known shape");
        return NULL;
    }
    buf_puts(&b, "\n---\n\n");
    md_disclaimer(&b, doc);
    char *out = buf_take(&b);
    if (!out) snprintf(err, errlen, "out of memory");
    return out;
}

/* ---- ticket texts ---- */

static void due_words(const json_t *task, char *out, size_t n)
{
    const char *due_at = render__str(task, "due_at"), *due_date = render__str(task, "due_date");
    char words[64];
    if (due_at)
        snprintf(out, n, "期限 %s", render__time_ja(due_at, words));
    else if (due_date)
        snprintf(out, n, "期限 %s", render__date_ja(due_date, words));
    else
        snprintf(out, n, "期限の定めなし（速やかに）");
}

int render_ticket_text(render_kind kind, const json_t *doc, const json_t *task, char **title,
                       char **summary, char *err, size_t errlen)
{
    const char *incident = render__str(doc, "incident_id"),
               *client = render__str(task, "client_id");
    const char *task_id = render__str(task, "task_id");
    char what[512], due[128], t[768], s[1536];
    *title = *summary = NULL;
    if (!incident) {
        snprintf(err, errlen, "document.incident_id: missing");
        return -1;
    }
    due_words(task, due, sizeof due);
    switch (kind) {
    case RENDER_PPC_PRELIMINARY:
    case RENDER_PPC_FINAL:
        snprintf(what, sizeof what, "個人情報保護委員会への報告（%s）案の確認と提出",
                 render__str(doc, "stage_ja") ? render__str(doc, "stage_ja") : "");
        break;
    case RENDER_CLIENT_NOTICE:
        snprintf(what, sizeof what, "委託元 %s への通知の確認と送付", client ? client : "");
        break;
    case RENDER_PERSONS_NOTICE:
        snprintf(what, sizeof what, "本人への通知（困難な場合は公表）の確認と実施");
        break;
    case RENDER_PUBLICATION:
        snprintf(what, sizeof what, "公表文の確認と公表");
        break;
    case RENDER_REMINDER:
    case RENDER_ESCALATION: {
        const char *label = render__str(doc, "deadline_label");
        const json_t *h =
            json_object_get(doc, kind == RENDER_REMINDER ? "hours_left" : "hours_overdue");
        char hours[96] = "";
        if (json_is_integer(h))
            snprintf(hours, sizeof hours,
                     kind == RENDER_REMINDER ? "（残り%lld時間）" : "（%lld時間超過）",
                     (long long)json_integer_value(h));
        snprintf(what, sizeof what, "%s: %s%s%s%s",
                 kind == RENDER_REMINDER ? "期限のお知らせ" : "期限超過", label ? label : "",
                 client ? "（委託元 " : "", client ? client : "", client ? "）" : "");
        snprintf(due + strlen(due), sizeof due - strlen(due), "%s", hours);
        break;
    }
    default:
        snprintf(err, errlen, "kind: unknown document kind %d", (int)kind);
        return -1;
    }
    snprintf(t, sizeof t, "[%s] %s", incident, what);
    snprintf(s, sizeof s,
             "%s。%s。下書きは notify の deliveries（task %s）にあります。判定は自動的な読み取り"
             "であり法的助言ではありません。",
             what, due, task_id ? task_id : "-");
    *title = strdup(t);
    *summary = strdup(s);
    if (!*title || !*summary) {
        free(*title);
        free(*summary);
        *title = *summary = NULL;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
