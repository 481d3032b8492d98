/*
 * test_render: the documents notify delivers (notify/render/render*), from case snapshots whose
 * verdicts come from the real rule core (facts_json_parse + rules_assess + verdict_json_build).
 *
 * What each case establishes:
 *   fixtures (tests/data/render/NNN-*.json)  per scenario: which strings each document must
 *                         and must not hold (Markdown); the scenario's "why" says the rule.
 *   every_kind_renders    each of the seven kinds renders as JSON and Markdown, with the
 *                         English and Japanese disclaimers in both; its JSON text
 *                         (json_text) is jansson's, byte for byte.
 *   ppc_nine_items        preliminary and final drafts have items 1..9 in order under the
 *                         names of RULES.md §4, JSON blocks and Markdown headings alike.
 *   direct_report_clients a direct report lists every affected client with its own headcount
 *                         and the de-duplicated total (JSON and Markdown table).
 *   persons_notice_private  the persons' notice holds items 1 2 4 5 9 only and no client id or
 *                         any count; the publication no client either.
 *   client_notice_own_only  a client notice carries that client's count, verdict and actions
 *                         and never the other client.
 *   md_escape_table       inline and block escaping of hostile text, row by row.
 *   hostile_text_in_doc   a title and description full of Markdown stay text: no heading, list,
 *                         HTML or link comes from them.
 *   my_number_withheld    a text holding a valid My Number (built at run time, never written
 *                         in a file) is replaced by a notice.
 *   unknown_facts         an empty snapshot renders 「調査中」, never "(null)".
 *   alerts                reminder/escalation hours from as_of, by table.
 *   errors                missing inputs fail with the field named.
 *   tickets               ticket texts carry ids and due times, never the case's free text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/model/facts_json.h"
#include "lib/model/json_text.h"
#include "lib/model/verdict_json.h"
#include "notify/render/render.h"
#include "notify/render/render_md.h"
#include "rules/mynumber.h"
#include "rules/rules.h"
#include "tests/support/testdata.h"

/* ---- building snapshots ---- */

/* The verdict of facts (the `mni assess` input) from the real core. */
static json_t *verdict_of(const json_t *facts)
{
    char *text = json_dumps(facts, JSON_COMPACT);
    char err[512];
    facts_doc doc;
    assert_non_null(text);
    if (facts_json_parse(text, strlen(text), &doc, err, sizeof err) != 0)
        fail_msg("facts: %s", err);
    free(text);
    rules_client_verdict *clients = calloc(doc.facts.n_clients + 1, sizeof *clients);
    rules_verdict v;
    if (rules_assess(&doc.facts, NULL, &v, clients, err, sizeof err) != 0)
        fail_msg("rules_assess: %s", err);
    json_t *out = verdict_json_build(&doc.facts, &v);
    free(clients);
    facts_doc_free(&doc);
    assert_non_null(out);
    return out;
}

/* A snapshot as notify builds it: the fixture's snapshot part, completed from its facts
 * (stored facts without clients, known_at, exposure rows, the core's verdict). */
static json_t *snapshot_from(const json_t *fixture)
{
    json_t *snap = json_deep_copy(json_object_get(fixture, "snapshot"));
    const json_t *facts = json_object_get(fixture, "facts");
    assert_non_null(snap);
    if (json_is_object(facts)) {
        json_t *stored = json_deep_copy(facts);
        json_object_del(stored, "clients");
        json_object_del(stored, "distinct_persons");
        json_object_set_new(snap, "facts", stored);
        json_object_set(snap, "known_at", json_object_get(facts, "known_at"));
        json_object_set(snap, "clients", json_object_get(facts, "clients"));
        json_object_set_new(snap, "verdict", verdict_of(facts));
    }
    return snap;
}

static json_t *load_fixture(const char *name)
{
    char dir[512], path[1024];
    json_error_t jerr;
    testdata_path("render", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
    return root;
}

static json_t *fixture_snapshot(const char *name)
{
    json_t *root = load_fixture(name);
    json_t *snap = snapshot_from(root);
    json_decref(root);
    return snap;
}

/* The task payload a kind is rendered for (what assess or the sweeper would queue). */
static json_t *task_for(render_kind kind, const char *client_id)
{
    switch (kind) {
    case RENDER_CLIENT_NOTICE:
        return json_pack("{s:s, s:s, s:s, s:s, s:i}", "task_id", "t-client", "kind",
                         "client_notice", "client_id", client_id, "due_at",
                         "2026-06-12T23:59:59+09:00", "case_version", 1);
    case RENDER_REMINDER:
    case RENDER_ESCALATION:
        return json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:i}", "task_id", "t-alert", "kind", render_kind_name(kind),
            "deadline_kind", "ppc_preliminary", "due_date", "2026-06-12", "as_of",
            kind == RENDER_REMINDER ? "2026-06-12T09:00:00+09:00" : "2026-06-13T02:30:00+09:00",
            "case_version", 1);
    default:
        return json_pack("{s:s, s:s, s:s, s:i}", "task_id", "t-ppc", "kind", render_kind_name(kind),
                         "due_date", "2026-06-12", "case_version", 1);
    }
}

static void render_ok(render_kind kind, const json_t *snap, const json_t *task, render_doc *doc)
{
    char err[512];
    if (render_document(kind, snap, task, doc, err, sizeof err) != 0)
        fail_msg("render %s: %s", render_kind_name(kind), err);
    assert_non_null(doc->json);
    assert_non_null(doc->markdown);
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

static void assert_contains(const char *hay, const char *needle, const char *what)
{
    if (!strstr(hay, needle))
        fail_msg("%s: expected to contain \"%s\"\n---\n%s", what, needle, hay);
}

static void assert_absent(const char *hay, const char *needle, const char *what)
{
    if (strstr(hay, needle)) fail_msg("%s: must not contain \"%s\"\n---\n%s", what, needle, hay);
}

/* Every '<' is escaped ("\\<") or our own line break "<br>": no HTML from user text. */
static void assert_no_raw_html(const char *md, const char *what)
{
    for (const char *p = strchr(md, '<'); p; p = strchr(p + 1, '<'))
        if (!(p > md && p[-1] == '\\') && strncmp(p, "<br>", 4) != 0)
            fail_msg("%s: raw HTML at \"%.30s\"", what, p);
}

/* ---- fixtures ---- */

static void test_fixture(void **state)
{
    const char *path = *state;
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) fail_msg("%s:%d: %s", path, jerr.line, jerr.text);
    json_t *snap = snapshot_from(root);
    const char *key;
    json_t *expect;
    json_object_foreach (json_object_get(root, "expect"), key, expect) {
        char kind_name[64];
        const char *colon = strchr(key, ':');
        snprintf(kind_name, sizeof kind_name, "%.*s", colon ? (int)(colon - key) : (int)strlen(key),
                 key);
        render_kind kind;
        if (render_kind_parse(kind_name, &kind) != 0)
            fail_msg("%s: unknown kind %s", path, kind_name);
        json_t *task = task_for(kind, colon ? colon + 1 : NULL);
        render_doc doc;
        render_ok(kind, snap, task, &doc);
        size_t i;
        const json_t *s;
        char what[1024];
        snprintf(what, sizeof what, "%s %s", path, key);
        json_array_foreach (json_object_get(expect, "contains"), i, s)
            assert_contains(doc.markdown, json_string_value(s), what);
        json_array_foreach (json_object_get(expect, "absent"), i, s)
            assert_absent(doc.markdown, json_string_value(s), what);
        /* "absent" holds for the JSON too; "absent_md" is about Markdown structure only (the
         * JSON keeps the user's text as typed). */
        json_array_foreach (json_object_get(expect, "absent_md"), i, s)
            assert_absent(doc.markdown, json_string_value(s), what);
        char *text = dump(doc.json);
        json_array_foreach (json_object_get(expect, "absent"), i, s)
            assert_absent(text, json_string_value(s), what);
        free(text);
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
    json_decref(root);
}

/* ---- structure ---- */

static void test_every_kind_renders(void **state)
{
    (void)state;
    static const struct {
        render_kind kind;
        const char *document;
        const char *title_part;
    } rows[] = {
        {RENDER_PPC_PRELIMINARY, "ppc_report", "速報"},
        {RENDER_PPC_FINAL, "ppc_report", "確報"},
        {RENDER_CLIENT_NOTICE, "client_notice", "委託元への通知"},
        {RENDER_PERSONS_NOTICE, "persons_notice", "お知らせ"},
        {RENDER_PUBLICATION, "publication", "公表"},
        {RENDER_REMINDER, "reminder", "期限のお知らせ"},
        {RENDER_ESCALATION, "escalation", "期限超過"},
    };
    json_t *snap = fixture_snapshot("001-direct-report.json");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *task = task_for(rows[i].kind, "KAISHA-ALPHA");
        render_doc doc;
        render_ok(rows[i].kind, snap, task, &doc);
        assert_string_equal(json_string_value(json_object_get(doc.json, "document")),
                            rows[i].document);
        assert_string_equal(json_string_value(json_object_get(doc.json, "incident_id")),
                            "INC-R-001");
        assert_contains(json_string_value(json_object_get(doc.json, "title")), rows[i].title_part,
                        render_kind_name(rows[i].kind));
        assert_string_equal(json_string_value(json_object_get(doc.json, "disclaimer")),
                            VERDICT_DISCLAIMER);
        assert_string_equal(json_string_value(json_object_get(doc.json, "disclaimer_ja")),
                            RENDER_DISCLAIMER_JA);
        /* The stored JSON text: notify writes it with json_text, byte for byte jansson's. */
        char *ours = json_text_indent2(doc.json), *theirs = json_dumps(doc.json, JSON_INDENT(2));
        assert_non_null(ours);
        assert_non_null(theirs);
        assert_string_equal(ours, theirs);
        free(ours);
        free(theirs);
        assert_true(doc.markdown[0] == '#' && doc.markdown[1] == ' ');
        assert_contains(doc.markdown, "Not legal advice", render_kind_name(rows[i].kind));
        assert_contains(doc.markdown, "法的助言ではありません", render_kind_name(rows[i].kind));
        assert_absent(doc.markdown, "(null)", render_kind_name(rows[i].kind));
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
}

static void test_ppc_nine_items(void **state)
{
    (void)state;
    static const char *const labels[] = {"概要",
                                         "特定個人情報の項目",
                                         "本人の数",
                                         "原因",
                                         "二次被害又はそのおそれの有無及びその内容",
                                         "本人への対応の実施状況",
                                         "公表の実施状況",
                                         "再発防止のための措置",
                                         "その他参考となる事項"};
    static const render_kind stages[] = {RENDER_PPC_PRELIMINARY, RENDER_PPC_FINAL};
    json_t *snap = fixture_snapshot("001-direct-report.json");
    for (size_t s = 0; s < 2; s++) {
        json_t *task = task_for(stages[s], NULL);
        render_doc doc;
        render_ok(stages[s], snap, task, &doc);
        assert_string_equal(json_string_value(json_object_get(doc.json, "stage")),
                            s ? "final" : "preliminary");
        int next = 1;
        size_t i;
        const json_t *b;
        json_array_foreach (json_object_get(doc.json, "blocks"), i, b) {
            const json_t *item = json_object_get(b, "item");
            if (!item) continue;
            assert_int_equal(json_integer_value(item), next);
            assert_string_equal(json_string_value(json_object_get(b, "label")), labels[next - 1]);
            assert_true(json_array_size(json_object_get(b, "entries")) > 0);
            char heading[256];
            snprintf(heading, sizeof heading, "\n## %d. %s\n", next, labels[next - 1]);
            assert_contains(doc.markdown, heading, "ppc markdown");
            next++;
        }
        assert_int_equal(next, 10);
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
}

static void test_direct_report_clients(void **state)
{
    (void)state;
    json_t *snap = fixture_snapshot("001-direct-report.json");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(snap, "verdict"), "route")),
        "direct_report");
    json_t *task = task_for(RENDER_PPC_PRELIMINARY, NULL);
    render_doc doc;
    render_ok(RENDER_PPC_PRELIMINARY, snap, task, &doc);
    const json_t *hc = json_object_get(doc.json, "headcount");
    assert_int_equal(json_integer_value(json_object_get(hc, "total")), 120);
    const json_t *clients = json_object_get(hc, "clients");
    assert_int_equal(json_array_size(clients), 2);
    static const struct {
        const char *id;
        int n;
        const char *row;
    } want[] = {{"KAISHA-ALPHA", 80, "| KAISHA-ALPHA | 80名 |"},
                {"KAISHA-BETA", 60, "| KAISHA-BETA | 60名 |"}};
    for (size_t i = 0; i < 2; i++) {
        const json_t *c = json_array_get(clients, i);
        assert_string_equal(json_string_value(json_object_get(c, "client_id")), want[i].id);
        assert_int_equal(json_integer_value(json_object_get(c, "headcount")), want[i].n);
        assert_contains(doc.markdown, want[i].row, "direct report table");
    }
    assert_contains(doc.markdown, "本人の数（重複を除いた人数）**: 120名", "distinct total");
    /* The rule that fired, with its meaning. */
    const json_t *rule = json_array_get(json_object_get(doc.json, "rules"), 0);
    assert_string_equal(json_string_value(json_object_get(rule, "id")), "MN-2-4");
    assert_contains(json_string_value(json_object_get(rule, "meaning")), "100人を超える",
                    "meaning");
    render_doc_free(&doc);
    json_decref(task);
    json_decref(snap);
}

static void test_persons_notice_private(void **state)
{
    (void)state;
    static const char *const fixtures[] = {"001-direct-report.json", "002-client-mandatory.json",
                                           "003-own-improper.json"};
    static const char *const forbidden[] = {"KAISHA", "self\"", "80名",  "60名", "120名",
                                            "150名",  "20名",   "170名", "12名", "本人の数"};
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
        json_t *snap = fixture_snapshot(fixtures[f]);
        render_doc doc;
        render_ok(RENDER_PERSONS_NOTICE, snap, NULL, &doc);
        char *text = dump(doc.json);
        for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
            assert_absent(text, forbidden[i], fixtures[f]);
            assert_absent(doc.markdown, forbidden[i], fixtures[f]);
        }
        const json_t *items = json_object_get(doc.json, "items");
        static const int want[] = {1, 2, 4, 5, 9};
        assert_int_equal(json_array_size(items), 5);
        for (size_t i = 0; i < 5; i++)
            assert_int_equal(json_integer_value(json_array_get(items, i)), want[i]);
        size_t i;
        const json_t *b;
        json_array_foreach (json_object_get(doc.json, "blocks"), i, b) {
            json_int_t no = json_integer_value(json_object_get(b, "item"));
            assert_true(no == 1 || no == 2 || no == 4 || no == 5 || no == 9);
        }
        free(text);
        render_doc_free(&doc);

        render_ok(RENDER_PUBLICATION, snap, NULL, &doc);
        text = dump(doc.json);
        assert_absent(text, "KAISHA", fixtures[f]);
        assert_absent(doc.markdown, "KAISHA", fixtures[f]);
        free(text);
        render_doc_free(&doc);
        json_decref(snap);
    }
}

static void test_client_notice_own_only(void **state)
{
    (void)state;
    static const struct {
        const char *fixture, *client, *other, *own_count, *other_count, *status;
    } rows[] = {
        {"001-direct-report.json", "KAISHA-ALPHA", "KAISHA-BETA", "80名", "60名", "voluntary"},
        {"001-direct-report.json", "KAISHA-BETA", "KAISHA-ALPHA", "60名", "80名", "voluntary"},
        {"002-client-mandatory.json", "KAISHA-GAMMA", "KAISHA-DELTA", "150名", "20名", "mandatory"},
        {"002-client-mandatory.json", "KAISHA-DELTA", "KAISHA-GAMMA", "20名", "150名", "voluntary"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        json_t *snap = fixture_snapshot(rows[r].fixture);
        json_t *task = task_for(RENDER_CLIENT_NOTICE, rows[r].client);
        render_doc doc;
        render_ok(RENDER_CLIENT_NOTICE, snap, task, &doc);
        char *text = dump(doc.json);
        assert_string_equal(json_string_value(json_object_get(doc.json, "client_id")),
                            rows[r].client);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(doc.json, "verdict"), "status")),
            rows[r].status);
        assert_contains(doc.markdown, rows[r].own_count, rows[r].client);
        assert_absent(text, rows[r].other, rows[r].client);
        assert_absent(text, rows[r].other_count, rows[r].client);
        assert_absent(doc.markdown, rows[r].other_count, rows[r].client);
        assert_contains(doc.markdown, "本通知の期限**: 2026年6月12日（金）23:59", rows[r].client);
        free(text);
        render_doc_free(&doc);
        json_decref(task);
        json_decref(snap);
    }
}

/* ---- escaping ---- */

static void test_md_escape_table(void **state)
{
    (void)state;
    static const struct {
        const char *in, *inline_out, *block_out;
    } rows[] = {
        {"plain 日本語", "plain 日本語", "> plain 日本語\n"},
        {"a|b", "a\\|b", "> a\\|b\n"},
        {"*bold* _it_ `code` ~s~", "\\*bold\\* \\_it\\_ \\`code\\` \\~s\\~",
         "> \\*bold\\* \\_it\\_ \\`code\\` \\~s\\~\n"},
        {"<script>x</script>", "\\<script\\>x\\</script\\>", "> \\<script\\>x\\</script\\>\n"},
        {"[l](http://x)", "\\[l\\](http://x)", "> \\[l\\](http://x)\n"},
        {"back\\slash", "back\\\\slash", "> back\\\\slash\n"},
        {"a\nb", "a<br>b", "> a\\\n> b\n"},
        /* Mid-line (after <br>) these markers are text already; at a line start they are not. */
        {"# h\n- li\n+ p\n1. n\n2) m", "# h<br>- li<br>+ p<br>1. n<br>2) m",
         "> \\# h\\\n> \\- li\\\n> \\+ p\\\n> 1\\. n\\\n> 2\\) m\n"},
        {"    code", "    code", "> code\n"},
        {"x\r\n\ny", "x<br><br>y", "> x\n>\n> y\n"},
        {"tab\there\x01", "tab here", "> tab here\n"},
        {"&amp; & x", "\\&amp; & x", "> \\&amp; & x\n"},
        {"&#38;&x&", "\\&#38;\\&x&", "> \\&#38;\\&x&\n"},
        {"del\x7f|end", "del\\|end", "> del\\|end\n"},
        {"> quote\n=== ", "\\> quote<br>=== ", "> \\> quote\\\n> \\===\n"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *got = render_md_escape(rows[i].in);
        assert_non_null(got);
        if (strcmp(got, rows[i].inline_out) != 0)
            fail_msg("row %zu inline: got [%s] want [%s]", i, got, rows[i].inline_out);
        free(got);
        buf b;
        buf_init(&b, RENDER_MAX_BYTES);
        render_md_block(&b, rows[i].in);
        got = buf_take(&b);
        assert_non_null(got);
        if (strcmp(got, rows[i].block_out) != 0)
            fail_msg("row %zu block: got [%s] want [%s]", i, got, rows[i].block_out);
        free(got);
    }
}

/* Every line of the Markdown that is a heading, a list item, a table row or HTML must be
 * one we wrote: user text never starts a line with such a marker, and never opens HTML. */
static void test_hostile_text_in_doc(void **state)
{
    (void)state;
    json_t *snap = fixture_snapshot("001-direct-report.json");
    json_object_set_new(snap, "title", json_string("A|B\n# T1 *x*"));
    json_object_set_new(snap, "description",
                        json_string("| a | b |\n|---|---|\n## H2\n* item\n<img src=x>\n---"));
    static const render_kind kinds[] = {RENDER_PPC_PRELIMINARY, RENDER_PERSONS_NOTICE,
                                        RENDER_PUBLICATION, RENDER_REMINDER};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        json_t *task = task_for(kinds[k], NULL);
        render_doc doc;
        render_ok(kinds[k], snap, task, &doc);
        assert_absent(doc.markdown, "\n# T1", render_kind_name(kinds[k]));
        assert_absent(doc.markdown, "\n## H2", render_kind_name(kinds[k]));
        assert_no_raw_html(doc.markdown, render_kind_name(kinds[k]));
        assert_absent(doc.markdown, "\n| a |", render_kind_name(kinds[k]));
        assert_absent(doc.markdown, "\n* item", render_kind_name(kinds[k]));
        /* A two-line title is a quote block, its second line's '#' escaped. */
        assert_contains(doc.markdown, "> A\\|B\\\n> \\# T1 \\*x\\*", render_kind_name(kinds[k]));
        /* Headings are ours: "# " title, "## " blocks. */
        for (const char *line = doc.markdown; line; line = strchr(line, '\n')) {
            if (*line == '\n') line++;
            if (!strncmp(line, "##", 2) && strncmp(line, "## ", 3) != 0)
                fail_msg("%s: stray heading line: %.40s", render_kind_name(kinds[k]), line);
            if (*line == '<')
                fail_msg("%s: line opens HTML: %.40s", render_kind_name(kinds[k]), line);
        }
        /* The description's own lines are quoted, escaped. */
        if (kinds[k] != RENDER_REMINDER)
            assert_contains(doc.markdown, "> \\| a \\| b \\|\\\n> \\|---\\|---\\|\\\n> \\## H2",
                            render_kind_name(kinds[k]));
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
}

static void test_my_number_withheld(void **state)
{
    (void)state;
    /* Built here so that no file ever holds a valid My Number. */
    int digits[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1};
    char number[13];
    for (int i = 0; i < 11; i++)
        number[i] = (char)('0' + digits[i]);
    number[11] = (char)('0' + mynumber_check_digit(digits));
    number[12] = '\0';
    assert_true(mynumber_is_valid(number));
    char text[128];
    snprintf(text, sizeof text, "番号 %s が記載された書類", number);
    json_t *snap = fixture_snapshot("001-direct-report.json");
    json_object_set_new(snap, "description", json_string(text));
    json_object_set_new(snap, "title", json_string(text));
    static const render_kind kinds[] = {RENDER_PPC_PRELIMINARY, RENDER_PERSONS_NOTICE,
                                        RENDER_CLIENT_NOTICE, RENDER_ESCALATION};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        json_t *task = task_for(kinds[k], "KAISHA-ALPHA");
        render_doc doc;
        render_ok(kinds[k], snap, task, &doc);
        char *dumped = dump(doc.json);
        assert_absent(dumped, number, render_kind_name(kinds[k]));
        assert_absent(doc.markdown, number, render_kind_name(kinds[k]));
        assert_contains(doc.markdown, "個人番号と思われる数字を含むため",
                        render_kind_name(kinds[k]));
        free(dumped);
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
}

static void test_unknown_facts(void **state)
{
    (void)state;
    json_t *snap = json_pack("{s:s}", "incident_id", "INC-EMPTY");
    for (int k = 0; k < RENDER_KIND_COUNT; k++) {
        json_t *task = task_for((render_kind)k, "KAISHA-ALPHA");
        render_doc doc;
        render_ok((render_kind)k, snap, task, &doc);
        char *text = dump(doc.json);
        assert_absent(text, "(null)", render_kind_name((render_kind)k));
        assert_absent(doc.markdown, "(null)", render_kind_name((render_kind)k));
        if (k != RENDER_REMINDER && k != RENDER_ESCALATION)
            assert_contains(text, RENDER_UNKNOWN, render_kind_name((render_kind)k));
        if (k == RENDER_PPC_FINAL)
            assert_true(json_integer_value(json_object_get(doc.json, "open_items")) > 5);
        free(text);
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
}

/* ---- alerts ---- */

static void test_alerts(void **state)
{
    (void)state;
    static const struct {
        render_kind kind;
        const char *due_date, *due_at, *as_of, *field;
        int hours, overdue;
    } rows[] = {
        /* Due date 2026-06-12: over at 2026-06-13 00:00+09:00; a due_at is over when its
         * second ends (rules/due_day.h). */
        {RENDER_REMINDER, "2026-06-12", NULL, "2026-06-11T23:59:59+09:00", "hours_left", 24, 0},
        {RENDER_REMINDER, "2026-06-12", NULL, "2026-06-12T14:30:00Z", "hours_left", 0, 0},
        /* the last millisecond of the due day is still on time */
        {RENDER_REMINDER, "2026-06-12", NULL, "2026-06-12T23:59:59.999+09:00", "hours_left", 0, 0},
        {RENDER_REMINDER, NULL, "2026-06-12T18:00:00+09:00", "2026-06-12T18:00:00.999+09:00",
         "hours_left", 0, 0},
        {RENDER_ESCALATION, NULL, "2026-06-12T18:00:00+09:00", "2026-06-12T18:00:01+09:00",
         "hours_overdue", 1, 1},
        {RENDER_REMINDER, NULL, "2026-06-12T18:00:00+09:00", "2026-06-12T06:00:00+09:00",
         "hours_left", 12, 0},
        {RENDER_REMINDER, NULL, "2026-06-12T18:00:00+09:00", "2026-06-12T19:00:00+09:00",
         "hours_left", 0, 1},
        {RENDER_ESCALATION, "2026-06-12", NULL, "2026-06-13T00:00:00+09:00", "hours_overdue", 1, 1},
        {RENDER_ESCALATION, "2026-06-12", NULL, "2026-06-13T10:00:00+09:00", "hours_overdue", 10,
         1},
        {RENDER_ESCALATION, "2026-06-12", NULL, "2026-06-13T10:00:00.001+09:00", "hours_overdue",
         11, 1},
        {RENDER_ESCALATION, NULL, "2026-06-12T18:00:00+09:00", "2026-06-14T18:00:00+09:00",
         "hours_overdue", 48, 1},
    };
    json_t *snap = fixture_snapshot("002-client-mandatory.json");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *task =
            json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "task_id", "t", "kind",
                      render_kind_name(rows[i].kind), "deadline_kind", "client_notice", "client_id",
                      "KAISHA-GAMMA", "due_date",
                      rows[i].due_date ? json_string(rows[i].due_date) : json_null(), "due_at",
                      rows[i].due_at ? json_string(rows[i].due_at) : json_null());
        json_object_set_new(task, "as_of", json_string(rows[i].as_of));
        render_doc doc;
        render_ok(rows[i].kind, snap, task, &doc);
        json_int_t h = json_integer_value(json_object_get(doc.json, rows[i].field));
        if (h != rows[i].hours)
            fail_msg("row %zu: %s = %lld, want %d", i, rows[i].field, (long long)h, rows[i].hours);
        assert_int_equal(json_is_true(json_object_get(doc.json, "overdue")), rows[i].overdue);
        assert_contains(doc.markdown, "委託元への通知（委託元 KAISHA-GAMMA）", "alert");
        assert_string_equal(json_string_value(json_object_get(doc.json, "deadline_kind")),
                            "client_notice");
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
}

/* ---- errors ---- */

static void test_errors(void **state)
{
    (void)state;
    json_t *snap = json_pack("{s:s}", "incident_id", "INC-E");
    json_t *no_id = json_object();
    json_t *bare = json_pack("{s:s}", "task_id", "t");
    json_t *bad_as_of = json_pack("{s:s, s:s, s:s, s:s}", "task_id", "t", "deadline_kind",
                                  "ppc_final", "due_date", "2026-06-12", "as_of", "tomorrow");
    static const struct {
        render_kind kind;
        int snap, task;
        const char *needle;
    } rows[] = {
        {RENDER_PPC_PRELIMINARY, 0, 0, "snapshot.incident_id"},
        {RENDER_CLIENT_NOTICE, 1, 1, "task.client_id"},
        {RENDER_CLIENT_NOTICE, 1, -1, "task: required"},
        {RENDER_REMINDER, 1, 1, "task.deadline_kind"},
        {RENDER_ESCALATION, 1, 2, "task.as_of"},
        {(render_kind)99, 1, 1, "kind"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        render_doc doc;
        char err[256] = "";
        const json_t *task = rows[i].task == 1 ? bare : rows[i].task == 2 ? bad_as_of : NULL;
        assert_int_equal(
            render_document(rows[i].kind, rows[i].snap ? snap : no_id, task, &doc, err, sizeof err),
            -1);
        assert_null(doc.json);
        assert_contains(err, rows[i].needle, "error message");
    }
    json_t *no_due = json_pack("{s:s, s:s}", "task_id", "t", "deadline_kind", "ppc_final");
    render_doc doc;
    char err[256];
    assert_int_equal(render_document(RENDER_REMINDER, snap, no_due, &doc, err, sizeof err), -1);
    assert_contains(err, "task.due_date", "error message");
    json_decref(no_due);
    json_decref(snap);
    json_decref(no_id);
    json_decref(bare);
    json_decref(bad_as_of);
}

/* ---- tickets ---- */

static void test_tickets(void **state)
{
    (void)state;
    json_t *snap = fixture_snapshot("001-direct-report.json");
    /* task_for: the reminder is queued at 09:00 of its due day, 15 h before the day ends at
     * 00:00 JST; the escalation at 02:30 the next day, in the third hour overdue. */
    static const struct {
        render_kind kind;
        const char *needle;
    } rows[] = {
        {RENDER_PPC_PRELIMINARY, "速報"},       {RENDER_PPC_FINAL, "確報"},
        {RENDER_CLIENT_NOTICE, "KAISHA-ALPHA"}, {RENDER_PERSONS_NOTICE, "本人への通知"},
        {RENDER_PUBLICATION, "公表"},           {RENDER_REMINDER, "残り15時間"},
        {RENDER_ESCALATION, "3時間超過"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *task = task_for(rows[i].kind, "KAISHA-ALPHA");
        render_doc doc;
        render_ok(rows[i].kind, snap, task, &doc);
        char *title, *summary, err[256];
        assert_int_equal(
            render_ticket_text(rows[i].kind, doc.json, task, &title, &summary, err, sizeof err), 0);
        assert_contains(title, "[INC-R-001]", "ticket title");
        char both[4096];
        snprintf(both, sizeof both, "%s\n%s", title, summary);
        assert_contains(both, rows[i].needle, render_kind_name(rows[i].kind));
        assert_absent(both, "給与明細", "ticket"); /* the case title is free text */
        assert_absent(both, "見出し", "ticket");   /* so is the description */
        assert_contains(summary, "法的助言ではありません", "ticket summary");
        free(title);
        free(summary);
        render_doc_free(&doc);
        json_decref(task);
    }
    json_decref(snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_renders),
        cmocka_unit_test(test_ppc_nine_items),
        cmocka_unit_test(test_direct_report_clients),
        cmocka_unit_test(test_persons_notice_private),
        cmocka_unit_test(test_client_notice_own_only),
        cmocka_unit_test(test_md_escape_table),
        cmocka_unit_test(test_hostile_text_in_doc),
        cmocka_unit_test(test_my_number_withheld),
        cmocka_unit_test(test_unknown_facts),
        cmocka_unit_test(test_alerts),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tickets),
    };
    char dir[512];
    int failed = cmocka_run_group_tests_name("render", tests, NULL, NULL);
    testdata_path("render", dir, sizeof dir);
    failed += testdata_run_per_file("render scenarios", dir, ".json", test_fixture);
    return failed ? 1 : 0;
}
