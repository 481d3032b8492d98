/*
 * test_render_html: the case page and the case list (notify/render/render_html.h) from models as
 * cli/case_report.c builds them (tests/data/report/case-direct-report.json was printed by
 * `mni report --as-of` after `make demo`, then trimmed; its "_comment" says what it holds).
 *
 * What each case establishes:
 *   escape_table       & < > " ' become entities, control characters but tab and newline go,
 *                      UTF-8 passes; percent-encoding keeps only RFC 3986 unreserved bytes.
 *   case_page          what a compliance officer checks: the rule id with its article and
 *                      condition, per-client known and possible maximum counts and the
 *                      de-duplicated total, every deadline with its state (the two overdue ones
 *                      marked 期限超過 OVERDUE, the met one not), the timeline picture with its
 *                      overdue lanes, the filing in the actions, each document's whole SHA-256,
 *                      the failed webhook marked, both disclaimers.
 *   self_contained     no script, no external reference of any kind (src, link, url(),
 *                      @import, http(s) outside the SVG namespace), a CSP that forbids fetches.
 *   hostile_strings    markup in the incident id, title, description, client ids, rule ids
 *                      and filing reference comes out as text, in attributes and in the SVG
 *                      too; a description holding a valid My Number (built at run time) is
 *                      withheld.
 *   many_clients       1,000 client notices due at one instant are one lane in the picture
 *                      and 1,000 rows in the table.
 *   list_page          sortable headers link to ?sort=&order= (the current column toggles),
 *                      case links are percent-encoded, a case with overdue deadlines is
 *                      marked.
 *   errors             a model without incident_id or a list without cases fails, naming it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "notify/render/render_html.h"
#include "notify/render/render_md.h"
#include "rules/mynumber.h"
#include "tests/support/testdata.h"

static json_t *fixture(void)
{
    char path[1024];
    testdata_path("report/case-direct-report.json", path, sizeof path);
    size_t len;
    char *text = testdata_read(path, &len);
    if (!text) fail_msg("cannot read %s", path);
    json_error_t jerr;
    json_t *m = json_loads(text, 0, &jerr);
    free(text);
    if (!m) fail_msg("%s: %s", path, jerr.text);
    return m;
}

static char *page_of(const json_t *m)
{
    char err[256] = "";
    render_html_opts opts = {0};
    char *page = render_html_case(m, &opts, err, sizeof err);
    if (!page) fail_msg("render_html_case: %s", err);
    return page;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The text between the first occurrence of start and the next occurrence of end after it. */
static char *between(const char *hay, const char *start, const char *end)
{
    const char *a = strstr(hay, start);
    if (!a) fail_msg("'%s' not found", start);
    const char *b = strstr(a, end);
    if (!b) fail_msg("'%s' not found after '%s'", end, start);
    return strndup(a, (size_t)(b - a) + strlen(end));
}

static void assert_holds(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("missing: %s", needle);
}

static void test_escape_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *html, *url;
    } rows[] = {
        {"plain", "plain", "plain"},
        {"a&b", "a&amp;b", "a%26b"},
        {"<script>", "&lt;script&gt;", "%3Cscript%3E"},
        {"\"q\" 'a'", "&quot;q&quot; &#39;a&#39;", "%22q%22%20%27a%27"},
        {"tab\tnl\ncr\rbell\a", "tab\tnl\ncrbell", "tab%09nl%0Acr%0Dbell%07"},
        {"事案/1?x=#", "事案/1?x=#", "%E4%BA%8B%E6%A1%88%2F1%3Fx%3D%23"},
        {"INC-2026_0.1~", "INC-2026_0.1~", "INC-2026_0.1~"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        buf b;
        buf_init(&b, RENDER_MAX_BYTES);
        render_html_escape(&b, rows[i].in);
        char *html = buf_take(&b);
        assert_string_equal(html, rows[i].html);
        free(html);
        buf_init(&b, RENDER_MAX_BYTES);
        render_html_url(&b, rows[i].in);
        char *url = buf_take(&b);
        assert_string_equal(url, rows[i].url);
        free(url);
    }
}

static void test_case_page(void **state)
{
    (void)state;
    json_t *m = fixture();
    char *page = page_of(m);

    /* The verdict: the rule id, its article and its condition, for the whole case. */
    char *rule = between(page, "<tr data-rule=\"MN-2-4\">", "</tr>");
    assert_holds(rule, "規則第2条第4号");
    assert_holds(rule, "本人の数が100人を超える");
    assert_holds(rule, "事案全体");
    free(rule);
    assert_holds(page, "報告義務あり mandatory");
    assert_holds(page, "委託先として個人情報保護委員会へ直接報告する");

    /* Headcounts: each client's known and possible maximum, then the de-duplicated total. */
    char *acme = between(page, "<tr data-client=\"C-ACME\">", "</tr>");
    assert_int_equal(count(acme, ">60名<"), 3); /* known, maximum, tokens */
    free(acme);
    char *total = between(page, "<tr class=\"total\" id=\"persons-total\">", "</tr>");
    assert_int_equal(count(total, ">115名<"), 2); /* possible maximum and distinct tokens */
    free(total);

    /* Deadlines: two overdue, one met in time, one still open; the header counts two. */
    char *table = between(page, "<table id=\"deadlines\">", "</table>");
    assert_int_equal(count(table, "data-state=\"overdue\""), 2);
    assert_int_equal(count(table, "<tr class=\"overdue\""), 2);
    assert_int_equal(count(table, "期限超過 OVERDUE"), 2);
    assert_int_equal(count(table, "data-state=\"met\""), 1);
    assert_int_equal(count(table, "data-state=\"open\""), 1);
    free(table);
    assert_holds(page, "<dd id=\"overdue-count\">2件");

    /* The picture: a lane per deadline here, the two overdue ones with their red stretch. */
    char *svg = between(page, "<svg", "</svg>");
    assert_int_equal(count(svg, "<g data-state=\"overdue\">"), 2);
    assert_int_equal(count(svg, ">期限超過</text>"), 2);
    assert_int_equal(count(svg, "<g data-state=\"met\">"), 1);
    assert_holds(svg, "作成時点 as of");
    free(svg);

    /* What was done: the step, the filing with its reference, the document sent. */
    char *actions = between(page, "<table id=\"actions\">", "</table>");
    assert_holds(actions, "事業者内部における報告、被害の拡大防止");
    assert_holds(actions, "委託元への通知（C-ACME）");
    assert_holds(actions, "NOTICE-7");
    free(actions);

    /* Documents with their whole digests; the failed webhook marked. */
    const json_t *doc = json_array_get(json_object_get(m, "documents"), 0);
    assert_holds(page, json_string_value(json_object_get(doc, "sha256")));
    char *tickets = between(page, "<table id=\"tickets-table\">", "</table>");
    assert_int_equal(count(tickets, "<tr class=\"failed\""), 1);
    assert_holds(tickets, "送信失敗 FAILED");
    assert_holds(tickets, "HTTP 503");
    assert_holds(tickets, "送信済み delivered");
    free(tickets);

    assert_holds(page, "法的助言ではありません");
    assert_holds(page, "Not legal advice");
    free(page);
    json_decref(m);
}

static void test_self_contained(void **state)
{
    (void)state;
    json_t *m = fixture();
    char *page = page_of(m);
    static const char *const forbidden[] = {"<script", " src=",   "<link",   "url(",  "@import",
                                            "https:",  "<iframe", "<object", "<embed"};
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++)
        if (strstr(page, forbidden[i])) fail_msg("the page holds '%s'", forbidden[i]);
    /* The one http: is the SVG namespace name, which is never fetched. */
    assert_int_equal(count(page, "http:"), 1);
    assert_int_equal(count(page, "xmlns=\"http://www.w3.org/2000/svg\""), 1);
    assert_holds(page, "Content-Security-Policy\" content=\"default-src 'none'");
    free(page);
    json_decref(m);
}

static void test_hostile_strings(void **state)
{
    (void)state;
    int digits[11] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9};
    char number[13];
    for (int i = 0; i < 11; i++)
        number[i] = (char)('0' + digits[i]);
    number[11] = (char)('0' + mynumber_check_digit(digits));
    number[12] = '\0';
    assert_true(mynumber_is_valid(number));
    char description[128];
    snprintf(description, sizeof description, "番号 %s を含む書類", number);

    static const char evil[] = "<script>alert(1)</script>\"'&";
    json_t *m = fixture();
    json_object_set_new(m, "incident_id", json_string(evil));
    json_object_set_new(m, "title", json_string("<img src=x onerror=alert(1)>"));
    json_object_set_new(m, "description", json_string(description));
    json_t *client = json_array_get(json_object_get(m, "clients"), 0);
    json_object_set_new(client, "client_id", json_string("C-<b onmouseover=x>"));
    json_t *deadline = json_array_get(json_object_get(m, "deadlines"), 1);
    json_object_set_new(deadline, "client_id", json_string("C-<svg onload=x>"));
    json_object_set_new(deadline, "kind", json_string("<text>kind</text>"));
    json_t *filing = json_array_get(json_object_get(m, "filings"), 0);
    json_object_set_new(filing, "reference", json_string("</td><script>x</script>"));
    json_t *mn = json_object_get(json_object_get(m, "verdict"), "my_number");
    json_array_append_new(json_object_get(mn, "rules"), json_string("X\"><script>"));

    char *page = page_of(m);
    /* Only our own markup: none of the injected tags or attributes survive as markup. */
    static const char *const injected[] = {"<script",     "<img",       "<b ",
                                           "<svg onload", "<text>kind", "onerror=alert(1)>"};
    for (size_t i = 0; i < sizeof injected / sizeof injected[0]; i++)
        if (strstr(page, injected[i])) fail_msg("markup from the model survived: %s", injected[i]);
    assert_holds(page, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;");
    assert_holds(page, "&lt;img src=x onerror=alert(1)&gt;");
    assert_holds(page, "C-&lt;b onmouseover=x&gt;");
    assert_holds(page, "C-&lt;svg onload=x&gt;");
    assert_holds(page, "data-rule=\"X&quot;&gt;&lt;script&gt;\"");
    /* A valid My Number is never shown, not even escaped. */
    assert_null(strstr(page, number));
    assert_holds(page, "個人番号と思われる数字を含むため");
    free(page);
    json_decref(m);
}

static void test_many_clients(void **state)
{
    (void)state;
    json_t *m = fixture();
    json_t *deadlines = json_array();
    for (int i = 0; i < 1000; i++) {
        char id[32];
        snprintf(id, sizeof id, "C-%04d", i);
        json_array_append_new(
            deadlines, json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", "client_notice", "client_id",
                                 id, "due_at", "2026-11-20T23:59:59+09:00", "due_end",
                                 "2026-11-21T00:00:00+09:00", "state", "overdue"));
    }
    json_object_set_new(m, "deadlines", deadlines);
    char *page = page_of(m);
    char *svg = between(page, "<svg", "</svg>");
    assert_int_equal(count(svg, "<g data-state=\"overdue\">"), 1);
    assert_holds(svg, "委託元への通知 ×1000");
    free(svg);
    char *table = between(page, "<table id=\"deadlines\">", "</table>");
    assert_int_equal(count(table, "data-state=\"overdue\""), 1000);
    free(table);
    free(page);
    json_decref(m);
}

static void test_list_page(void **state)
{
    (void)state;
    json_t *list = json_pack(
        "{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:I, "
        "s:s}, {s:s, s:s, s:s, s:n, s:n, s:n, s:I, s:I, s:n, s:n, s:n, s:n, s:I, s:s}]}",
        "as_of", "2026-11-30T09:00:00+09:00", "sort", "next_due", "order", "asc", "cases",
        "incident_id", "INC/1 <x>", "tenant", "bpo", "status", "open", "my_number", "mandatory",
        "appi", "voluntary", "route", "direct_report", "persons_known", (json_int_t)1234,
        "persons_max", (json_int_t)2345, "next_kind", "ppc_preliminary", "next_due", "2026-11-21",
        "next_due_end", "2026-11-22T00:00:00+09:00", "next_state", "overdue", "overdue",
        (json_int_t)2, "opened_at", "2026-11-18T10:05:00+09:00", "incident_id", "INC-2", "tenant",
        "bpo", "status", "open", "my_number", "appi", "route", "persons_known", (json_int_t)0,
        "persons_max", (json_int_t)0, "next_kind", "next_due", "next_due_end", "next_state",
        "overdue", (json_int_t)0, "opened_at", "2026-11-19T10:05:00+09:00");
    assert_non_null(list);
    char err[256];
    render_html_opts opts = {.list_href = "/", .case_href_prefix = "/cases/"};
    char *page = render_html_case_list(list, &opts, err, sizeof err);
    assert_non_null(page);
    /* The current column toggles to descending; the others sort ascending. */
    assert_holds(page, "<a href=\"?sort=next_due&amp;order=desc\">次の期限");
    assert_holds(page, "<a href=\"?sort=incident&amp;order=asc\">事案ID");
    assert_holds(page, "次の期限<span class=\"en\">Next deadline</span> ▲");
    assert_holds(page, "<a href=\"/cases/INC%2F1%20%3Cx%3E\">INC/1 &lt;x&gt;</a>");
    assert_holds(page, "1,234名 / 2,345名");
    assert_int_equal(count(page, "<tr class=\"overdue\""), 1);
    assert_int_equal(count(page, "期限超過 OVERDUE"), 1);
    assert_null(strstr(page, "<nav>")); /* the list links to itself nowhere */
    free(page);
    json_decref(list);
}

static void test_errors(void **state)
{
    (void)state;
    char err[256] = "";
    json_t *m = json_object();
    assert_null(render_html_case(m, NULL, err, sizeof err));
    assert_string_equal(err, "model.incident_id: missing");
    assert_null(render_html_case_list(m, NULL, err, sizeof err));
    assert_string_equal(err, "list.cases: missing");
    json_decref(m);
    /* A model with nothing but its id still renders: every part says it has nothing. */
    m = json_pack("{s:s}", "incident_id", "INC-EMPTY");
    char *page = render_html_case(m, NULL, err, sizeof err);
    assert_non_null(page);
    assert_holds(page, "まだ判定されていません");
    assert_null(strstr(page, "(null)"));
    free(page);
    json_decref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),   cmocka_unit_test(test_case_page),
        cmocka_unit_test(test_self_contained), cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_many_clients),   cmocka_unit_test(test_list_page),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
