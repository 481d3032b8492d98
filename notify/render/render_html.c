/*
 * render_html: see render_html.h. This file: escaping, the page frame and style sheet, the
 * pieces every page shares (state and status marks, times, days and counts in words), the case
 * list and the message page.
 */
#include "notify/render/render_html.h"

#include <stdio.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/model/verdict_json.h"
#include "notify/render/render_html_int.h"
#include "notify/render/render_int.h"

/* ---- escaping ---- */

void render_html_escape(buf *b, const char *s)
{
    if (!s) return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *entity = NULL;
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            /* Control characters have no business in a page (and some are invalid in HTML). */
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) entity = "";
        }
        if (!entity) continue;
        buf_putn(b, run, (size_t)(p - run));
        buf_puts(b, entity);
        run = p + 1;
    }
    buf_puts(b, run);
}

void render_html_url(buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf_putn(b, (const char *)p, 1);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            buf_putn(b, enc, 3);
        }
    }
}

/* ---- the page frame ---- */

/* One style sheet for every page: readable on screen, plain on paper (A4), no web fonts. */
static const char page_style[] =
    "body{font-family:\"Noto Sans CJK JP\",\"Hiragino Sans\",\"Yu Gothic\",\"Meiryo\","
    "sans-serif;color:#1a1a1a;line-height:1.55;max-width:1100px;margin:1.5em auto;"
    "padding:0 1em}"
    "h1{font-size:1.45em;margin:.2em 0}h2{font-size:1.15em;border-bottom:2px solid #333;"
    "margin-top:1.8em;padding-bottom:.15em}h3{font-size:1em;margin:1.2em 0 .3em}"
    ".en{color:#5f6368;font-size:.82em;font-weight:normal;margin-left:.35em}"
    "table{border-collapse:collapse;width:100%;margin:.4em 0 .8em;font-size:.9em}"
    "th,td{border:1px solid #b8b8b8;padding:.28em .5em;text-align:left;vertical-align:top}"
    "th{background:#eef0f2;font-weight:600}th a{color:inherit}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tr.total td{font-weight:700;background:#f6f6f6}"
    "tr.overdue td{background:#fdecea}tr.failed td{background:#fdecea}"
    ".mark{display:inline-block;padding:0 .45em;border-radius:3px;font-size:.85em;"
    "font-weight:700;white-space:nowrap}"
    ".mark.overdue,.mark.failed{background:#c62828;color:#fff}"
    ".mark.met,.mark.delivered{background:#2e7d32;color:#fff}"
    ".mark.met_late{background:#e65100;color:#fff}"
    ".mark.open,.mark.pending{background:#1565c0;color:#fff}"
    ".mark.closed{background:#757575;color:#fff}"
    ".mark.mandatory{background:#b71c1c;color:#fff}.mark.voluntary{background:#f9a825}"
    ".mark.none{background:#e0e0e0}"
    "dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.6em 0}"
    "dl.summary dt{color:#444}dl.summary dd{margin:0}"
    ".hash,code{font-family:\"DejaVu Sans Mono\",monospace;font-size:.82em;"
    "word-break:break-all}"
    ".text{white-space:pre-wrap;border-left:3px solid #ccc;padding-left:.6em}"
    ".note{color:#555;font-size:.85em}"
    "figure{margin:.5em 0}svg{max-width:100%;height:auto}"
    ".disclaimer{border:2px solid #c62828;background:#fff7f7;padding:.8em 1em;margin-top:2em}"
    "nav{margin-bottom:1em}"
    "@page{size:A4;margin:15mm}"
    "@media print{nav{display:none}body{max-width:none;margin:0;padding:0;font-size:10pt}"
    "section{break-inside:auto}tr,figure{break-inside:avoid}a{color:inherit;"
    "text-decoration:none}}";

void render_html__open(buf *b, const char *title, const render_html_opts *opts)
{
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                "'none'; style-src 'unsafe-inline'; img-src data:\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta name=\"generator\" content=\"mni\">\n<title>");
    render_html_escape(b, title);
    buf_puts(b, "</title>\n<style>");
    buf_puts(b, page_style);
    buf_puts(b, "</style>\n</head>\n<body>\n");
    if (opts && opts->list_href) {
        buf_puts(b, "<nav><a href=\"");
        render_html_escape(b, opts->list_href);
        buf_puts(b, "\">← 事案一覧<span class=\"en\">All cases</span></a></nav>\n");
    }
}

void render_html__close(buf *b)
{
    buf_puts(b, "</body>\n</html>\n");
}

/* ---- shared pieces ---- */

static const struct {
    const char *state, *ja, *en;
} state_words[] = {
    {"overdue", "期限超過", "OVERDUE"},          {"met", "履行済み", "met"},
    {"met_late", "期限後に履行", "met late"},    {"open", "期限前", "open"},
    {"closed", "対象外（終結）", "case closed"}, {"pending", "送信待ち", "pending"},
    {"delivered", "送信済み", "delivered"},      {"failed", "送信失敗", "FAILED"},
};

void render_html__mark(buf *b, const char *state)
{
    for (size_t i = 0; state && i < sizeof state_words / sizeof state_words[0]; i++)
        if (!strcmp(state_words[i].state, state)) {
            buf_printf(b, "<span class=\"mark %s\">%s %s</span>", state_words[i].state,
                       state_words[i].ja, state_words[i].en);
            return;
        }
    render_html_escape(b, state ? state : "—");
}

const char *render_html__obligation(const char *kind)
{
    const char *ja = render__report_ja(kind);
    return strcmp(ja, RENDER_UNKNOWN) != 0 ? ja : kind;
}

void render_html__time(buf *b, const char *rfc3339)
{
    char words[64];
    render_html_escape(b, rfc3339 ? render__time_ja(rfc3339, words) : "—");
}

void render_html__date(buf *b, const char *date)
{
    char words[64];
    render_html_escape(b, date ? render__date_ja(date, words) : "—");
}

void render_html__status(buf *b, const char *status, int words)
{
    if (!status) {
        buf_puts(b, "—");
        return;
    }
    buf_puts(b, "<span class=\"mark ");
    render_html_escape(b, status);
    buf_puts(b, "\">");
    if (words) {
        render_html_escape(b, render__status_ja(status));
        buf_puts(b, " ");
    }
    render_html_escape(b, status);
    buf_puts(b, "</span>");
}

void render_html__persons(buf *b, const json_t *count)
{
    if (!json_is_integer(count)) {
        buf_puts(b, "—");
        return;
    }
    long long n = (long long)json_integer_value(count);
    char digits[32], grouped[48];
    int len = snprintf(digits, sizeof digits, "%lld", n < 0 ? -n : n);
    size_t o = 0;
    if (n < 0) grouped[o++] = '-';
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0) grouped[o++] = ',';
        grouped[o++] = digits[i];
    }
    grouped[o] = '\0';
    buf_printf(b, "%s名", grouped);
}

int render_html__ms(const char *rfc3339, long long *out)
{
    int64_t ms;
    char why[64];
    if (!rfc3339 || timefmt_parse_rfc3339(rfc3339, &ms, why, sizeof why) != 0) return -1;
    *out = (long long)ms;
    return 0;
}

/* ---- the case list ---- */

typedef struct {
    const char *key; /* case_report_sort_keys, or NULL: not sortable */
    const char *ja, *en;
} list_column;

static const list_column list_columns[] = {
    {"incident", "事案ID", "Incident"}, {"tenant", "テナント", "Tenant"},
    {"status", "状態", "Status"},       {NULL, "番号法", "My Number Act"},
    {NULL, "個人情報保護法", "APPI"},   {NULL, "報告経路", "Route"},
    {"persons", "本人の数", "Persons"}, {"next_due", "次の期限", "Next deadline"},
    {"overdue", "期限超過", "Overdue"}, {"opened", "受付", "Opened"},
};

static void list_header(buf *b, const json_t *list)
{
    const char *sort = render__str(list, "sort"), *order = render__str(list, "order");
    buf_puts(b, "<thead><tr>");
    for (size_t i = 0; i < sizeof list_columns / sizeof list_columns[0]; i++) {
        const list_column *c = &list_columns[i];
        buf_puts(b, "<th>");
        if (c->key) {
            int current = sort && !strcmp(sort, c->key);
            int desc_next = current && order && !strcmp(order, "asc");
            buf_puts(b, "<a href=\"?sort=");
            render_html_url(b, c->key);
            buf_printf(b, "&amp;order=%s\">", desc_next ? "desc" : "asc");
        }
        buf_printf(b, "%s<span class=\"en\">%s</span>", c->ja, c->en);
        if (c->key) {
            if (sort && !strcmp(sort, c->key))
                buf_puts(b, order && !strcmp(order, "desc") ? " ▼" : " ▲");
            buf_puts(b, "</a>");
        }
        buf_puts(b, "</th>");
    }
    buf_puts(b, "</tr></thead>\n");
}

static void list_row(buf *b, const json_t *c, const render_html_opts *opts)
{
    const char *id = render__str(c, "incident_id"), *next_state = render__str(c, "next_state");
    json_int_t overdue = json_integer_value(json_object_get(c, "overdue"));
    buf_puts(b, overdue > 0 ? "<tr class=\"overdue\"" : "<tr");
    buf_puts(b, " data-incident=\"");
    render_html_escape(b, id);
    buf_puts(b, "\"><td><a href=\"");
    render_html_escape(b, opts && opts->case_href_prefix ? opts->case_href_prefix : "");
    render_html_url(b, id);
    buf_puts(b, "\">");
    render_html_escape(b, id);
    buf_puts(b, "</a></td><td>");
    render_html_escape(b, render__str(c, "tenant"));
    buf_puts(b, "</td><td>");
    render_html_escape(b, render__str(c, "status"));
    buf_puts(b, "</td><td>");
    render_html__status(b, render__str(c, "my_number"), 0);
    buf_puts(b, "</td><td>");
    render_html__status(b, render__str(c, "appi"), 0);
    buf_puts(b, "</td><td>");
    render_html_escape(b, render__str(c, "route") ? render__str(c, "route") : "—");
    buf_puts(b, "</td><td class=\"num\">");
    render_html__persons(b, json_object_get(c, "persons_known"));
    buf_puts(b, " / ");
    render_html__persons(b, json_object_get(c, "persons_max"));
    buf_puts(b, "</td><td data-state=\"");
    render_html_escape(b, next_state ? next_state : "none");
    buf_puts(b, "\">");
    if (render__str(c, "next_kind")) {
        render_html_escape(b, render_html__obligation(render__str(c, "next_kind")));
        if (render__str(c, "next_client_id")) {
            buf_puts(b, "（");
            render_html_escape(b, render__str(c, "next_client_id"));
            buf_puts(b, "）");
        }
        buf_puts(b, "<br>");
        /* A due day ("2026-11-21") or a due instant (RFC 3339), in words. */
        const char *due = render__str(c, "next_due");
        if (due && strlen(due) == 10)
            render_html__date(b, due);
        else
            render_html__time(b, due);
        buf_puts(b, " ");
        render_html__mark(b, next_state);
    } else {
        buf_puts(b, "—");
    }
    buf_printf(b, "</td><td class=\"num\">%lld</td><td>", (long long)overdue);
    render_html__time(b, render__str(c, "opened_at"));
    buf_puts(b, "</td></tr>\n");
}

char *render_html_case_list(const json_t *list, const render_html_opts *opts, char *err,
                            size_t errlen)
{
    const json_t *cases = json_object_get(list, "cases");
    if (!json_is_array(cases)) {
        snprintf(err, errlen, "list.cases: missing");
        return NULL;
    }
    buf b;
    buf_init(&b, RENDER_MAX_BYTES);
    render_html_opts no_back = opts ? *opts : (render_html_opts){0};
    no_back.list_href = NULL; /* this is the list */
    render_html__open(&b, "事案一覧 Cases — mni", &no_back);
    buf_puts(&b, "<header><h1>事案一覧<span class=\"en\">Cases</span></h1>"
                 "<p class=\"note\">作成時点<span class=\"en\">as of</span> ");
    render_html__time(&b, render__str(list, "as_of"));
    buf_printf(&b,
               " ・ %zu件<span class=\"en\">cases</span> ・ "
               "本人の数は把握済み / 最大（おそれを含む）"
               "<span class=\"en\">persons: known / possible maximum</span></p>"
               "</header>\n<main>\n<table id=\"cases\">",
               json_array_size(cases));
    list_header(&b, list);
    buf_puts(&b, "<tbody>\n");
    size_t i;
    const json_t *c;
    json_array_foreach (cases, i, c)
        list_row(&b, c, opts);
    if (json_array_size(cases) == 0)
        buf_puts(&b, "<tr><td colspan=\"10\">事案はありません<span class=\"en\">no "
                     "cases</span></td></tr>\n");
    buf_puts(&b, "</tbody></table>\n</main>\n<footer class=\"disclaimer\"><p>");
    render_html_escape(&b, RENDER_DISCLAIMER_JA);
    buf_puts(&b, "</p><p lang=\"en\">");
    render_html_escape(&b, VERDICT_DISCLAIMER);
    buf_puts(&b, "</p></footer>\n");
    render_html__close(&b);
    char *page = buf_take(&b);
    if (!page) snprintf(err, errlen, "render_html: out of memory");
    return page;
}

char *render_html_message(const char *title, const char *text, const render_html_opts *opts)
{
    buf b;
    buf_init(&b, RENDER_MAX_BYTES);
    render_html__open(&b, title, opts);
    buf_puts(&b, "<main><h1>");
    render_html_escape(&b, title);
    buf_puts(&b, "</h1><p>");
    render_html_escape(&b, text);
    buf_puts(&b, "</p></main>\n");
    render_html__close(&b);
    return buf_take(&b);
}
