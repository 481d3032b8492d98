/*
 * render_html_case: the case page (render_html.h "The case page"), one function per section.
 * Every value from the model is escaped; the verdict is read as stored (the rule ids that
 * fired, statuses, routes, deadlines); nothing here decides anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/model/verdict_json.h"
#include "notify/render/render_html.h"
#include "notify/render/render_html_int.h"
#include "notify/render/render_int.h"

static void put_text(buf *b, const char *s)
{
    render_html_escape(b, s ? s : "—");
}

/* Free text typed by people: screened (render__free_text), then escaped. */
static void put_free_text(buf *b, const char *s)
{
    json_t *screened = render__free_text(s);
    render_html_escape(b, json_string_value(screened));
    json_decref(screened);
}

/* Table cells: <td>, the value, </td>. */
static void td_text(buf *b, const char *s)
{
    buf_puts(b, "<td>");
    put_text(b, s);
    buf_puts(b, "</td>");
}

static void td_time(buf *b, const char *rfc3339)
{
    buf_puts(b, "<td>");
    render_html__time(b, rfc3339);
    buf_puts(b, "</td>");
}

static void td_persons(buf *b, const json_t *count)
{
    buf_puts(b, "<td class=\"num\">");
    render_html__persons(b, count);
    buf_puts(b, "</td>");
}

static void heading(buf *b, const char *id, const char *ja, const char *en)
{
    buf_printf(b, "<section id=\"%s\">\n<h2>%s<span class=\"en\">%s</span></h2>\n", id, ja, en);
}

static void columns(buf *b, const char *const *names)
{
    buf_puts(b, "<thead><tr>");
    for (size_t i = 0; names[i]; i += 2)
        buf_printf(b, "<th>%s<span class=\"en\">%s</span></th>", names[i], names[i + 1]);
    buf_puts(b, "</tr></thead>\n<tbody>\n");
}

static long long count_state(const json_t *deadlines, const char *state)
{
    long long n = 0;
    size_t i;
    const json_t *d;
    json_array_foreach (deadlines, i, d) {
        const char *s = render__str(d, "state");
        n += s && !strcmp(s, state);
    }
    return n;
}

/* ---- header ---- */

static void section_header(buf *b, const json_t *m)
{
    buf_puts(b, "<header>\n<h1>個人番号の漏えい等事案 報告書<span class=\"en\">Incident "
                "report</span></h1>\n<dl class=\"summary\">\n");
    buf_puts(b, "<dt>事案ID<span class=\"en\">Incident</span></dt><dd><code "
                "id=\"incident-id\">");
    put_text(b, render__str(m, "incident_id"));
    buf_puts(b, "</code></dd>\n<dt>件名<span class=\"en\">Title</span></dt><dd>");
    put_free_text(b, render__str(m, "title"));
    buf_puts(b, "</dd>\n<dt>テナント<span class=\"en\">Tenant</span></dt><dd>");
    put_text(b, render__str(m, "tenant"));
    buf_puts(b, "</dd>\n<dt>状態<span class=\"en\">Status</span></dt><dd>");
    put_text(b, render__str(m, "status"));
    if (render__str(m, "closed_at")) {
        buf_puts(b, "（");
        render_html__time(b, render__str(m, "closed_at"));
        buf_puts(b, "）");
    }
    buf_printf(b, "</dd>\n<dt>判定の版<span class=\"en\">Version</span></dt><dd>%lld</dd>\n",
               (long long)json_integer_value(json_object_get(m, "version")));
    buf_puts(b, "<dt>把握日時<span class=\"en\">Known at</span></dt><dd>");
    render_html__time(b, render__str(m, "known_at"));
    buf_puts(b, "</dd>\n<dt>期限の起算<span class=\"en\">Clocks from</span></dt><dd>");
    render_html__time(b, render__str(m, "mandatory_since"));
    buf_puts(b, "</dd>\n<dt>作成時点<span class=\"en\">As of</span></dt><dd id=\"as-of\">");
    render_html__time(b, render__str(m, "as_of"));
    long long overdue = count_state(json_object_get(m, "deadlines"), "overdue");
    buf_printf(b,
               "</dd>\n<dt>期限超過<span class=\"en\">Overdue</span></dt><dd "
               "id=\"overdue-count\">%lld件",
               overdue);
    if (overdue > 0) {
        buf_puts(b, " ");
        render_html__mark(b, "overdue");
    }
    buf_puts(b, "</dd>\n</dl>\n</header>\n");
}

/* ---- verdict ---- */

/* Splits a rule meaning "condition（article）" at its last bracketed part. */
static void split_meaning(const char *meaning, char *reason, size_t rn, char *article, size_t an)
{
    static const char open[] = "（", close[] = "）";
    size_t len = strlen(meaning), cl = strlen(close), ol = strlen(open);
    snprintf(reason, rn, "%s", meaning);
    snprintf(article, an, "—");
    if (len < cl || strcmp(meaning + len - cl, close) != 0) return;
    /* Walk back to the bracket that opens the last one, minding nested brackets. */
    int depth = 0;
    for (size_t i = len - cl + 1; i-- > 0;) {
        if (!strncmp(meaning + i, close, cl)) {
            depth++;
        } else if (!strncmp(meaning + i, open, ol) && --depth == 0) {
            if (i == 0) return; /* the whole text is bracketed: no condition to split off */
            snprintf(reason, rn, "%.*s", (int)i, meaning);
            snprintf(article, an, "%.*s", (int)(len - cl - i - ol), meaning + i + ol);
            return;
        }
    }
}

/* Adds the rule ids of arr to rules ({id: {act, case, possible, clients[]}}, in order). */
static void collect(json_t *rules, const json_t *arr, const char *act, const char *client,
                    int possible)
{
    size_t i;
    const json_t *id;
    json_array_foreach (arr, i, id) {
        const char *s = json_string_value(id);
        if (!s) continue;
        json_t *r = json_object_get(rules, s);
        if (!r) {
            r = json_pack("{s:s, s:b, s:b, s:[]}", "act", act, "case", 0, "possible", 0, "clients");
            json_object_set_new(rules, s, r);
        }
        if (client)
            json_array_append_new(json_object_get(r, "clients"), json_string(client));
        else
            json_object_set_new(r, possible ? "possible" : "case", json_true());
    }
}

static void rules_table(buf *b, const json_t *v)
{
    json_t *rules = json_object();
    collect(rules, json_object_get(json_object_get(v, "my_number"), "rules"), "番号法", NULL, 0);
    collect(rules, json_object_get(json_object_get(v, "my_number"), "possible"), "番号法", NULL, 1);
    collect(rules, json_object_get(json_object_get(v, "appi"), "rules"), "個人情報保護法", NULL, 0);
    size_t i;
    const json_t *c;
    json_array_foreach (json_object_get(v, "clients"), i, c) {
        collect(rules, json_object_get(c, "rules"), "番号法", render__str(c, "client_id"), 0);
        collect(rules, json_object_get(c, "appi_rules"), "個人情報保護法",
                render__str(c, "client_id"), 0);
    }
    buf_puts(b, "<h3>該当した規則<span class=\"en\">Rules that fired</span></h3>\n"
                "<table id=\"rules\">");
    static const char *const cols[] = {
        "法令",   "Act",  "規則ID",     "Rule", "条文", "Article", "該当した要件（理由）",
        "Reason", "対象", "Applies to", NULL};
    columns(b, cols);
    const char *id;
    json_t *r;
    json_object_foreach (rules, id, r) {
        char reason[1024], article[512];
        split_meaning(render__rule_meaning(id), reason, sizeof reason, article, sizeof article);
        buf_puts(b, "<tr data-rule=\"");
        render_html_escape(b, id);
        buf_puts(b, "\"><td>");
        render_html_escape(b, render__str(r, "act"));
        buf_puts(b, "</td><td><code>");
        render_html_escape(b, id);
        buf_puts(b, "</code></td><td>");
        render_html_escape(b, article);
        buf_puts(b, "</td><td>");
        render_html_escape(b, reason);
        buf_puts(b, "</td><td>");
        const char *sep = "";
        if (json_is_true(json_object_get(r, "case"))) {
            buf_puts(b, "事案全体<span class=\"en\">whole case</span>");
            sep = "<br>";
        }
        if (json_is_true(json_object_get(r, "possible"))) {
            buf_printf(b, "%sおそれ<span class=\"en\">possible</span>", sep);
            sep = "<br>";
        }
        const json_t *clients = json_object_get(r, "clients");
        if (json_array_size(clients) > 0) {
            buf_printf(b, "%s委託元<span class=\"en\">clients</span>: ", sep);
            size_t k;
            const json_t *cid;
            json_array_foreach (clients, k, cid) {
                if (k) buf_puts(b, ", ");
                render_html_escape(b, json_string_value(cid));
            }
        }
        buf_puts(b, "</td></tr>\n");
    }
    if (json_object_size(rules) == 0)
        buf_puts(b, "<tr><td colspan=\"5\">該当する規則はありません<span class=\"en\">no "
                    "rule fired</span></td></tr>\n");
    buf_puts(b, "</tbody></table>\n");
    json_decref(rules);
}

/* One act's row: its status, its route and its final report's due day (final: the deadlines'
 * member, and final + "_days" its number of days). */
static void act_row(buf *b, const char *act, const json_t *verdict_act, const char *route,
                    const json_t *deadlines, const char *final)
{
    char days_key[32];
    snprintf(days_key, sizeof days_key, "%s_days", final);
    const json_t *days = json_object_get(deadlines, days_key);
    buf_printf(b, "<tr><td>%s</td><td>", act);
    render_html__status(b, render__str(verdict_act, "status"), 1);
    buf_puts(b, "</td><td>");
    put_text(b, route ? render__route_ja(route) : NULL);
    buf_puts(b, "</td><td>");
    render_html__date(b, render__str(deadlines, final));
    if (json_is_integer(days)) buf_printf(b, "（%lld日）", (long long)json_integer_value(days));
    buf_puts(b, "</td></tr>\n");
}

static void section_verdict(buf *b, const json_t *m)
{
    const json_t *v = json_object_get(m, "verdict");
    heading(b, "verdict", "判定", "Verdict");
    if (!json_is_object(v)) {
        buf_puts(b, "<p>まだ判定されていません<span class=\"en\">not yet "
                    "assessed</span></p>\n</section>\n");
        return;
    }
    const json_t *dl = json_object_get(v, "deadlines");
    buf_puts(b, "<table id=\"acts\">");
    static const char *const cols[] = {
        "法令", "Act", "判定", "Status", "報告経路", "Route", "確報期限", "Final report due", NULL};
    columns(b, cols);
    act_row(b, "番号法<span class=\"en\">My Number Act</span>", json_object_get(v, "my_number"),
            render__str(v, "route"), dl, "final");
    act_row(b, "個人情報保護法<span class=\"en\">APPI</span>", json_object_get(v, "appi"),
            render__str(v, "appi_route"), dl, "appi_final");
    buf_puts(b, "</tbody></table>\n");
    rules_table(b, v);
    buf_puts(b, "<dl class=\"summary\">\n<dt>速報の目安<span class=\"en\">Preliminary "
                "report, target</span></dt><dd>");
    render_html__date(b, render__str(dl, "preliminary_target"));
    buf_puts(b, "</dd>\n<dt>速報の期限<span class=\"en\">Preliminary report, "
                "latest</span></dt><dd>");
    render_html__date(b, render__str(dl, "preliminary_latest"));
    buf_puts(b, "</dd>\n<dt>本人への通知<span class=\"en\">Notice to the persons</span></dt>"
                "<dd>");
    const json_t *pn = json_object_get(v, "principal_notice");
    const char *by = render__str(v, "principal_notice_by");
    if (!json_is_boolean(pn))
        buf_puts(b, "—");
    else if (json_is_false(pn))
        buf_puts(b, "不要<span class=\"en\">not required</span>");
    else
        buf_printf(b, "要<span class=\"en\">required</span>（%s）",
                   by && !strcmp(by, "clients") ? "委託元が行う by the clients"
                                                : "自ら行う by the reporter");
    buf_puts(b, "</dd>\n</dl>\n</section>\n");
}

/* ---- headcount ---- */

static void section_headcount(buf *b, const json_t *m)
{
    const json_t *v = json_object_get(m, "verdict");
    const json_t *hc = json_object_get(v, "headcount");
    heading(b, "headcount", "本人の数", "Persons affected");
    buf_puts(b, "<table id=\"persons\">");
    static const char *const cols[] = {"委託元",
                                       "Client",
                                       "把握済み",
                                       "Known",
                                       "最大（おそれを含む）",
                                       "Possible maximum",
                                       "トークン",
                                       "Tokens",
                                       "番号法の判定",
                                       "Status",
                                       NULL};
    columns(b, cols);
    size_t i;
    const json_t *c;
    json_array_foreach (json_object_get(m, "clients"), i, c) {
        const json_t *vc = render__find_by(json_object_get(v, "clients"), "client_id",
                                           render__str(c, "client_id"));
        const json_t *known = json_object_get(vc, "headcount_known");
        if (!json_is_integer(known)) known = json_object_get(c, "known");
        json_t *max = NULL;
        if (json_is_integer(json_object_get(vc, "headcount"))) {
            max = json_incref(json_object_get(vc, "headcount"));
        } else {
            json_int_t k = json_integer_value(known);
            json_int_t pm = json_integer_value(json_object_get(c, "persons_max"));
            max = json_integer(pm > k ? pm : k);
        }
        buf_puts(b, "<tr data-client=\"");
        render_html_escape(b, render__str(c, "client_id"));
        buf_puts(b, "\">");
        td_text(b, render__str(c, "client_id"));
        td_persons(b, known);
        td_persons(b, max);
        td_persons(b, json_object_get(c, "token_count"));
        buf_puts(b, "<td>");
        render_html__status(b, render__str(vc, "status"), 1);
        buf_puts(b, "</td></tr>\n");
        json_decref(max);
    }
    buf_puts(b, "<tr class=\"total\" id=\"persons-total\"><td>合計（重複を除く）<span "
                "class=\"en\">de-duplicated total</span></td>");
    td_persons(b, json_object_get(hc, "known"));
    td_persons(b, json_object_get(hc, "total"));
    td_persons(b, json_object_get(m, "distinct_tokens"));
    buf_puts(b, "<td>");
    render_html__status(b, render__str(json_object_get(v, "my_number"), "status"), 1);
    buf_puts(b, "</td></tr>\n</tbody></table>\n<p class=\"note\">個人情報保護法の本人の数"
                "<span class=\"en\">APPI persons</span>: ");
    render_html__persons(b, json_object_get(hc, "appi_persons"));
    buf_puts(b, "。同じ本人が複数の委託元にいるときは1名と数えます（トークンの照合）。"
                "最大は漏えい等のおそれがある本人を含みます。<span class=\"en\">A person "
                "under several clients counts once (matched by person token); the maximum "
                "includes persons whose data may have leaked.</span></p>\n</section>\n");
}

/* ---- timeline ---- */

static void due_words(buf *b, const json_t *d)
{
    if (render__str(d, "due_at"))
        render_html__time(b, render__str(d, "due_at"));
    else
        render_html__date(b, render__str(d, "due_date"));
}

static void deadline_table(buf *b, const json_t *m)
{
    buf_puts(b, "<h3>期限<span class=\"en\">Deadlines</span></h3>\n<table id=\"deadlines\">");
    static const char *const cols[] = {"義務",
                                       "Obligation",
                                       "委託元",
                                       "Client",
                                       "期限",
                                       "Due",
                                       "状態",
                                       "State",
                                       "履行",
                                       "Met",
                                       "督促",
                                       "Reminded",
                                       "エスカレーション",
                                       "Escalated",
                                       NULL};
    columns(b, cols);
    size_t i;
    const json_t *d;
    json_array_foreach (json_object_get(m, "deadlines"), i, d) {
        const char *state = render__str(d, "state");
        buf_puts(b, "<tr");
        if (state && !strcmp(state, "overdue")) buf_puts(b, " class=\"overdue\"");
        buf_puts(b, " data-kind=\"");
        render_html_escape(b, render__str(d, "kind"));
        buf_puts(b, "\" data-state=\"");
        render_html_escape(b, state);
        buf_puts(b, "\">");
        td_text(b, render_html__obligation(render__str(d, "kind")));
        td_text(b, render__str(d, "client_id"));
        buf_puts(b, "<td>");
        due_words(b, d);
        buf_puts(b, "</td><td>");
        render_html__mark(b, state);
        buf_puts(b, "</td>");
        td_time(b, render__str(d, "met_at"));
        td_time(b, render__str(d, "reminded_at"));
        td_time(b, render__str(d, "escalated_at"));
        buf_puts(b, "</tr>\n");
    }
    if (json_array_size(json_object_get(m, "deadlines")) == 0)
        buf_puts(b, "<tr><td colspan=\"7\">期限はありません<span class=\"en\">no "
                    "deadlines</span></td></tr>\n");
    buf_puts(b, "</tbody></table>\n");
}

typedef struct {
    long long ms;
    const char *at, *what_ja, *what_en;
    const json_t *item;
    int kind; /* 0 step, 1 filing, 2 document sent */
} action;

static int action_cmp(const void *a, const void *b)
{
    const action *x = a, *y = b;
    if (x->ms != y->ms) return x->ms < y->ms ? -1 : 1;
    return x->kind - y->kind;
}

static size_t collect_actions(const json_t *m, action **out)
{
    const json_t *steps = json_object_get(m, "steps"), *filings = json_object_get(m, "filings");
    const json_t *docs = json_object_get(m, "documents");
    size_t cap = json_array_size(steps) + json_array_size(filings) + json_array_size(docs), n = 0;
    action *a = calloc(cap ? cap : 1, sizeof *a);
    if (!a) return 0;
    size_t i;
    const json_t *e;
    json_array_foreach (steps, i, e)
        a[n++] = (action){0, render__str(e, "completed_at"), "対応", "response step", e, 0};
    json_array_foreach (filings, i, e)
        a[n++] = (action){0, render__str(e, "filed_at"), "報告・通知", "filed", e, 1};
    json_array_foreach (docs, i, e) {
        /* A document counts as done when it was sent, and once (its JSON twin is the same). */
        const char *st = render__str(e, "status"), *fmt = render__str(e, "format");
        if (st && !strcmp(st, "sent") && fmt && !strcmp(fmt, "text"))
            a[n++] = (action){0, render__str(e, "sent_at"), "送付", "sent", e, 2};
    }
    for (size_t k = 0; k < n; k++)
        if (render_html__ms(a[k].at, &a[k].ms) != 0) a[k].ms = 0;
    qsort(a, n, sizeof *a, action_cmp);
    *out = a;
    return n;
}

static void action_table(buf *b, const json_t *m)
{
    buf_puts(b, "<h3>対応の記録<span class=\"en\">What was done</span></h3>\n"
                "<table id=\"actions\">");
    static const char *const cols[] = {"日時", "When", "種類", "What", "内容", "Detail", NULL};
    columns(b, cols);
    action *a = NULL;
    size_t n = collect_actions(m, &a);
    for (size_t i = 0; i < n; i++) {
        buf_puts(b, "<tr>");
        td_time(b, a[i].at);
        buf_printf(b, "<td>%s<span class=\"en\">%s</span></td><td>", a[i].what_ja, a[i].what_en);
        const json_t *e = a[i].item;
        if (a[i].kind == 0) {
            put_text(b, render__step_ja(render__str(e, "step")));
        } else if (a[i].kind == 1) {
            put_text(b, render_html__obligation(render__str(e, "report")));
            if (render__str(e, "client_id")) {
                buf_puts(b, "（");
                render_html_escape(b, render__str(e, "client_id"));
                buf_puts(b, "）");
            }
            const char *ref = render__str(e, "reference");
            if (ref && *ref) {
                buf_puts(b, " 参照<span class=\"en\">ref</span>: ");
                put_free_text(b, ref);
            }
        } else {
            put_text(b, render__str(e, "channel"));
        }
        buf_puts(b, "</td></tr>\n");
    }
    if (n == 0)
        buf_puts(b, "<tr><td colspan=\"3\">記録はありません<span class=\"en\">nothing "
                    "recorded yet</span></td></tr>\n");
    buf_puts(b, "</tbody></table>\n");
    free(a);
}

static void section_timeline(buf *b, const json_t *m)
{
    heading(b, "timeline", "期限と対応の経過", "Timeline");
    render_html__timeline(b, m);
    deadline_table(b, m);
    action_table(b, m);
    buf_puts(b, "</section>\n");
}

/* ---- facts ---- */

typedef struct {
    const char *key, *ja, *en;
} fact_label;

static const fact_label fact_labels[] = {
    {"known_at", "把握日時", "known at"},
    {"reporter", "報告者", "reporter"},
    {"kinds", "事態の種類", "kinds"},
    {"certainty", "発生の確実性", "certainty"},
    {"improper_purpose", "不正の目的", "improper purpose"},
    {"systems", "対象システム", "systems"},
    {"unspecified_viewing", "不特定多数の閲覧", "viewing"},
    {"encrypted_protected", "高度な暗号化等の保護", "encrypted"},
    {"recovered_unviewed", "閲覧前に回収", "recovered unviewed"},
    {"intact_copy", "復元できる写しがある", "intact copy"},
    {"appi", "個人情報保護法の事実", "APPI facts"},
};

/* A fact's value in words where the vocabulary has them, else its JSON. */
static void fact_value(buf *b, const char *key, const json_t *v)
{
    const char *(*words)(const char *) = NULL;
    if (!strcmp(key, "kinds")) words = render__kind_ja;
    if (!strcmp(key, "systems")) words = render__system_ja;
    if (!strcmp(key, "certainty")) words = render__certainty_ja;
    if (!strcmp(key, "improper_purpose")) words = render__improper_ja;
    if (!strcmp(key, "unspecified_viewing")) words = render__viewing_ja;
    if (json_is_boolean(v)) {
        buf_puts(b, json_is_true(v) ? "はい<span class=\"en\">yes</span>"
                                    : "いいえ<span class=\"en\">no</span>");
    } else if (json_is_string(v) && !strcmp(key, "known_at")) {
        render_html__time(b, json_string_value(v));
    } else if (json_is_string(v) && words) {
        render_html_escape(b, words(json_string_value(v)));
    } else if (json_is_array(v) && words) {
        size_t i;
        const json_t *e;
        json_array_foreach (v, i, e) {
            if (i) buf_puts(b, "、");
            render_html_escape(b, words(json_string_value(e)));
        }
        if (json_array_size(v) == 0) buf_puts(b, "なし<span class=\"en\">none</span>");
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        buf_puts(b, "<code>");
        render_html_escape(b, text);
        buf_puts(b, "</code>");
        free(text);
    }
}

static void section_facts(buf *b, const json_t *m)
{
    heading(b, "facts", "判断に用いた事実", "Facts assessed");
    buf_puts(b, "<table id=\"facts-table\">");
    static const char *const cols[] = {"事実", "Fact", "内容", "Value", NULL};
    columns(b, cols);
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)json_object_get(m, "facts"), key, v) {
        if (!strcmp(key, "incident_id")) continue;
        const char *ja = NULL, *en = key;
        for (size_t i = 0; i < sizeof fact_labels / sizeof fact_labels[0]; i++)
            if (!strcmp(fact_labels[i].key, key)) {
                ja = fact_labels[i].ja;
                en = fact_labels[i].en;
            }
        buf_puts(b, "<tr><td>");
        if (ja) buf_puts(b, ja);
        buf_puts(b, "<span class=\"en\">");
        render_html_escape(b, en);
        buf_puts(b, "</span></td><td>");
        fact_value(b, key, v);
        buf_puts(b, "</td></tr>\n");
    }
    buf_puts(b, "</tbody></table>\n<h3>事案の概要<span class=\"en\">Description</span>"
                "</h3>\n<p class=\"text\">");
    put_free_text(b, render__str(m, "description"));
    buf_puts(b, "</p>\n</section>\n");
}

/* ---- versions, documents, tickets ---- */

static void section_versions(buf *b, const json_t *m)
{
    heading(b, "versions", "判定の履歴", "Verdict history");
    buf_puts(b, "<table id=\"versions-table\">");
    static const char *const cols[] = {
        "版",   "Version", "日時",  "At",   "番号法", "My Number",        "個人情報保護法",
        "APPI", "経路",    "Route", "規則", "Rules",  "契機となった事象", "Cause event",
        NULL};
    columns(b, cols);
    size_t i;
    const json_t *v;
    json_array_foreach (json_object_get(m, "versions"), i, v) {
        buf_printf(b, "<tr><td class=\"num\">%lld</td>",
                   (long long)json_integer_value(json_object_get(v, "version")));
        td_time(b, render__str(v, "created_at"));
        td_text(b, render__str(v, "my_number"));
        td_text(b, render__str(v, "appi"));
        td_text(b, render__str(v, "route"));
        buf_puts(b, "<td>");
        size_t k;
        const json_t *id;
        json_array_foreach (json_object_get(v, "rules"), k, id) {
            if (k) buf_puts(b, ", ");
            buf_puts(b, "<code>");
            render_html_escape(b, json_string_value(id));
            buf_puts(b, "</code>");
        }
        buf_puts(b, "</td><td><code>");
        put_text(b, render__str(v, "cause_event_id"));
        buf_puts(b, "</code></td></tr>\n");
    }
    buf_puts(b, "</tbody></table>\n</section>\n");
}

static const struct {
    const char *channel, *ja;
} channel_words[] = {
    {"ppc_draft", "個人情報保護委員会への報告（下書き）"},
    {"persons", "本人への通知"},
    {"publication", "公表文"},
    {"reminder", "期限の督促"},
    {"escalation", "期限超過のエスカレーション"},
};

static void channel_name(buf *b, const char *channel)
{
    if (channel && !strncmp(channel, "client:", 7)) {
        buf_puts(b, "委託元への通知（");
        render_html_escape(b, channel + 7);
        buf_puts(b, "）");
        return;
    }
    for (size_t i = 0; channel && i < sizeof channel_words / sizeof channel_words[0]; i++)
        if (!strcmp(channel_words[i].channel, channel)) {
            buf_puts(b, channel_words[i].ja);
            buf_puts(b, "<span class=\"en\">");
            render_html_escape(b, channel);
            buf_puts(b, "</span>");
            return;
        }
    put_text(b, channel);
}

static void section_documents(buf *b, const json_t *m)
{
    heading(b, "documents", "作成した文書", "Documents produced");
    buf_puts(b, "<table id=\"documents-table\">");
    static const char *const cols[] = {"作成",   "Rendered", "文書",  "Document", "形式",
                                       "Format", "バイト",   "Bytes", "SHA-256",  "",
                                       "状態",   "State",    NULL};
    columns(b, cols);
    size_t i;
    const json_t *d;
    json_array_foreach (json_object_get(m, "documents"), i, d) {
        buf_puts(b, "<tr>");
        td_time(b, render__str(d, "rendered_at"));
        buf_puts(b, "<td>");
        channel_name(b, render__str(d, "channel"));
        buf_puts(b, "</td>");
        td_text(b, render__str(d, "format"));
        buf_printf(b, "<td class=\"num\">%lld</td><td class=\"hash\">",
                   (long long)json_integer_value(json_object_get(d, "bytes")));
        put_text(b, render__str(d, "sha256"));
        buf_puts(b, "</td>");
        td_text(b, render__str(d, "status"));
        buf_puts(b, "</tr>\n");
    }
    if (json_array_size(json_object_get(m, "documents")) == 0)
        buf_puts(b, "<tr><td colspan=\"6\">まだありません<span class=\"en\">none "
                    "yet</span></td></tr>\n");
    buf_puts(b, "</tbody></table>\n<p class=\"note\">SHA-256 は保存された文書そのものの"
                "ハッシュです（監査ログにも記録）。<span class=\"en\">Each hash is the "
                "SHA-256 of the stored document, also written to the audit "
                "log.</span></p>\n</section>\n");
}

static void section_tickets(buf *b, const json_t *m)
{
    heading(b, "tickets", "チケット", "Tickets");
    buf_puts(b, "<table id=\"tickets-table\">");
    static const char *const cols[] = {"チケット", "Ticket", "種類",       "Kind",        "委託元",
                                       "Client",   "件名",   "Title",      "Kafka",       "",
                                       "Webhook",  "",       "最後の応答", "Last answer", NULL};
    columns(b, cols);
    size_t i;
    const json_t *t;
    json_array_foreach (json_object_get(m, "tickets"), i, t) {
        const char *ws = render__str(t, "webhook_state");
        buf_puts(b, ws && !strcmp(ws, "failed") ? "<tr class=\"failed\"" : "<tr");
        buf_puts(b, " data-webhook=\"");
        render_html_escape(b, ws ? ws : "none");
        buf_puts(b, "\"><td><code>");
        put_text(b, render__str(t, "ticket_id"));
        buf_puts(b, "</code></td>");
        td_text(b, render_html__obligation(render__str(t, "kind")));
        td_text(b, render__str(t, "client_id"));
        td_text(b, render__str(t, "title"));
        td_text(b, render__str(t, "status"));
        buf_puts(b, "<td>");
        if (ws) {
            render_html__mark(b, ws);
            buf_printf(b, " %lld回<span class=\"en\">attempts</span>",
                       (long long)json_integer_value(json_object_get(t, "webhook_attempts")));
        } else {
            buf_puts(b, "—");
        }
        buf_puts(b, "</td><td>");
        const json_t *code = json_object_get(t, "webhook_last_status");
        if (json_is_integer(code)) buf_printf(b, "HTTP %lld", (long long)json_integer_value(code));
        if (render__str(t, "webhook_last_error")) {
            buf_puts(b, json_is_integer(code) ? " " : "");
            render_html_escape(b, render__str(t, "webhook_last_error"));
        } else if (!json_is_integer(code)) {
            buf_puts(b, "—");
        }
        buf_puts(b, "</td></tr>\n");
    }
    if (json_array_size(json_object_get(m, "tickets")) == 0)
        buf_puts(b, "<tr><td colspan=\"7\">まだありません<span class=\"en\">none "
                    "yet</span></td></tr>\n");
    buf_puts(b, "</tbody></table>\n</section>\n");
}

char *render_html_case(const json_t *model, const render_html_opts *opts, char *err, size_t errlen)
{
    const char *id = render__str(model, "incident_id");
    if (!id) {
        snprintf(err, errlen, "model.incident_id: missing");
        return NULL;
    }
    buf b;
    buf_init(&b, RENDER_MAX_BYTES);
    buf title;
    buf_init(&title, RENDER_MAX_BYTES);
    buf_printf(&title, "%s — 事案報告 Incident report — mni", id);
    char *title_text = buf_take(&title);
    render_html__open(&b, title_text ? title_text : "mni", opts);
    free(title_text);
    section_header(&b, model);
    buf_puts(&b, "<main>\n");
    section_verdict(&b, model);
    section_headcount(&b, model);
    section_timeline(&b, model);
    section_facts(&b, model);
    section_versions(&b, model);
    section_documents(&b, model);
    section_tickets(&b, model);
    buf_puts(&b, "</main>\n<footer class=\"disclaimer\" id=\"disclaimer\">\n<p>");
    const char *en = render__str(json_object_get(model, "verdict"), "disclaimer");
    render_html_escape(&b, RENDER_DISCLAIMER_JA);
    buf_puts(&b, "</p>\n<p lang=\"en\">");
    render_html_escape(&b, en ? en : VERDICT_DISCLAIMER);
    buf_puts(&b, "</p>\n</footer>\n");
    render_html__close(&b);
    char *page = buf_take(&b);
    if (!page) snprintf(err, errlen, "render_html: out of memory");
    return page;
}
