/*
 * test_web: the pages people look at, loaded in a real browser (Debian's headless Chromium)
 * from the real `mni web` and `mni report --html` against a real PostgreSQL database.
 *
 * Cases are seeded in SQL as assess stores them: the verdict from the real rule core
 * (facts_json_parse + rules_assess), its version without per-client parts
 * (verdict_json_case) and each client's entry in client_verdicts, so the pages read the verdict
 * through case_verdict() as in production. Deadlines are the verdict's, and the clock is the
 * real one: the direct-report case was known 20 days ago, so its client notices and its 速報
 * are past (one client notice was met by a filing) and its 確報 (30 days) is still open.
 *
 * What each case establishes:
 *   report_file_in_browser  `mni report ID --html --output F` loads from file:// and shows what
 *                   a compliance officer checks: rule MN-2-4 with its article, 80/60 persons per
 *                   client and 120 in all, two deadlines marked 期限超過 OVERDUE and one met,
 *                   the timeline picture; it prints to PDF (artifact).
 *   web_pages_in_browser  `mni web`: the list sorted by next deadline (the overdue case
 *                   first, a case without deadlines last) and by incident id descending on the
 *                   header links' URLs; a hostile incident id shown as text and reachable
 *                   through its percent-encoded link; the case page with the same checks as the
 *                   file; a failed webhook marked; screenshots of the list and of the case page
 *                   under build/test-artifacts (printed at the end of the test).
 *   web_http_contract  404 for an unknown case and path, 405 for POST, 400 for an unknown
 *                   sort column, the security headers, /healthz.
 *   web_role        web.role is applied with SET ROLE: the role itself works, a role that does
 *                   not exist makes the pages answer 503 and says why in the log.
 *   web_client_role web.role = a role from `mni db client-role C-ALPHA`: the list holds only
 *                   C-ALPHA's case, another case is 404, and the case page shows C-ALPHA's row
 *                   and its count but neither C-BETA nor the de-duplicated total (row-level
 *                   security and the views of migration 0040).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/timefmt.h"
#include "lib/model/facts_json.h"
#include "lib/model/verdict_json.h"
#include "lib/pg/pgx.h"
#include "rules/rules.h"
#include "tests/support/browser.h"
#include "tests/support/httpget.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/workerproc.h"

#define HOSTILE_ID "INC-<b>3</b>"
#define HOSTILE_PATH "/cases/INC-%3Cb%3E3%3C%2Fb%3E"

static testenv_db db;

static void exec_ok(PGconn *pg, const char *sql, int n, const char *const *params)
{
    char err[1024];
    if (pgx_exec_params(pg, "test", sql, n, params, NULL, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* RFC 3339 (Japan time) of now - days. */
static void days_ago(int days, char out[32])
{
    timefmt_format_jst((int64_t)time(NULL) - (int64_t)days * 86400, out);
}

/* Stores a case as assess would: cases, the version (without per-client parts), each
 * client's verdict entry, exposure counts, the opening event's title, and deadlines from the
 * verdict. Returns the whole verdict (new reference). */
static json_t *seed_case(PGconn *pg, const char *incident, const char *facts_text,
                         const char *title)
{
    char err[512];
    facts_doc doc;
    if (facts_json_parse(facts_text, strlen(facts_text), &doc, err, sizeof err) != 0)
        fail_msg("facts: %s", err);
    rules_client_verdict *clients = calloc(doc.facts.n_clients + 1, sizeof *clients);
    rules_verdict v;
    if (rules_assess(&doc.facts, NULL, &v, clients, err, sizeof err) != 0)
        fail_msg("rules_assess: %s", err);
    json_t *whole = verdict_json_build(&doc.facts, &v);
    json_t *stored = verdict_json_case(&doc.facts, &v);
    char *stored_text = json_dumps(stored, JSON_COMPACT);
    json_error_t jerr;
    json_t *facts = json_loads(facts_text, 0, &jerr);
    json_object_del(facts, "clients");
    json_object_del(facts, "distinct_persons");
    char *facts_stored = json_dumps(facts, JSON_COMPACT);
    const json_t *mn = json_object_get(whole, "my_number");
    int mandatory = !strcmp(jstr(mn, "status"), "mandatory");
    char rules[256] = "{";
    size_t i;
    const json_t *id;
    json_array_foreach (json_object_get(mn, "rules"), i, id) {
        if (i) strcat(rules, ",");
        strcat(rules, json_string_value(id));
    }
    strcat(rules, "}");
    char total[32];
    snprintf(total, sizeof total, "%lld",
             (long long)json_integer_value(
                 json_object_get(json_object_get(whole, "headcount"), "total")));
    const char *known_at = jstr(facts, "known_at");
    const char *pc[] = {incident, facts_stored, known_at, total, mandatory ? "true" : "false"};
    exec_ok(pg,
            "INSERT INTO cases (incident_id, tenant, opened_at, known_at, facts, version, "
            "reportable, direct_report, persons_total, distinct_tokens, mandatory_since) "
            "VALUES ($1, 'bpo', $3::timestamptz + interval '5 minutes', $3::timestamptz, "
            "$2::jsonb, 1, $5::boolean, false, $4::bigint, $4::bigint, "
            "CASE WHEN $5::boolean THEN $3::timestamptz END)",
            5, pc);
    const char *pv[] = {incident, stored_text, rules};
    exec_ok(pg,
            "INSERT INTO case_versions (incident_id, version, verdict, rules, cause_event_id) "
            "VALUES ($1, 1, $2::jsonb, $3::text[], 'EV-' || $1)",
            3, pv);
    for (size_t c = 0; c < v.n_clients; c++) {
        json_t *entry = verdict_json_client(&clients[c]);
        char *entry_text = json_dumps(entry, JSON_COMPACT);
        char persons[32];
        snprintf(persons, sizeof persons, "%lld", (long long)doc.facts.clients[c].persons);
        const char *pe[] = {incident, clients[c].client_id, entry_text};
        exec_ok(pg,
                "INSERT INTO client_verdicts (incident_id, client_id, version, entry) "
                "VALUES ($1, $2, 1, $3::jsonb)",
                3, pe);
        const char *px[] = {incident, clients[c].client_id, persons};
        exec_ok(pg,
                "INSERT INTO client_exposure (incident_id, client_id, persons) "
                "VALUES ($1, $2, $3::bigint)",
                3, px);
        free(entry_text);
        json_decref(entry);
    }
    json_t *opened = json_pack("{s:s}", "title", title);
    char *body = json_dumps(opened, JSON_COMPACT);
    const char *po[] = {incident, body, known_at};
    exec_ok(pg,
            "INSERT INTO event_log (event_id, incident_id, tenant, kind, occurred_at, src_topic, "
            "src_partition, src_offset, body) VALUES ('EV-' || $1, $1, 'bpo', 'incident_opened', "
            "$3, 'incident.events', 0, (SELECT count(*) FROM event_log), "
            "jsonb_build_object('type', 'incident_opened', 'body', $2::jsonb))",
            3, po);
    /* The deadlines of the verdict (assess/obligations.c). */
    json_array_foreach (json_object_get(whole, "clients"), i, id) {
        const char *pd[] = {incident, jstr(id, "client_id"), jstr(id, "notice_due")};
        if (pd[2])
            exec_ok(pg,
                    "INSERT INTO deadlines (incident_id, client_id, kind, due_at) "
                    "VALUES ($1, $2, 'client_notice', $3)",
                    3, pd);
    }
    const json_t *d = json_object_get(whole, "deadlines");
    if (jstr(d, "preliminary_target")) {
        const char *pd[] = {incident, jstr(d, "preliminary_target"), jstr(d, "final")};
        exec_ok(pg,
                "INSERT INTO deadlines (incident_id, kind, due_date) VALUES "
                "($1, 'ppc_preliminary', $2::date), ($1, 'ppc_final', $3::date)",
                3, pd);
    }
    free(stored_text);
    free(facts_stored);
    free(body);
    json_decref(opened);
    json_decref(facts);
    json_decref(stored);
    free(clients);
    facts_doc_free(&doc);
    return whole;
}

static const char *const facts_format =
    "{\"incident_id\":\"%s\",\"known_at\":\"%s\",\"reporter\":{\"role\":\"%s\","
    "\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":[\"%s\"],"
    "\"certainty\":\"confirmed\",\"improper_purpose\":\"none\",\"systems\":[],"
    "\"unspecified_viewing\":\"none\",\"encrypted_protected\":false,\"recovered_unviewed\":false,"
    "\"intact_copy\":false,\"clients\":[%s]%s}";

static void seed_all(PGconn *pg)
{
    char facts[2048], known[32];
    /* 1: a contractor's direct report, known 20 days ago. */
    days_ago(20, known);
    snprintf(facts, sizeof facts, facts_format, "INC-WEB-1", known, "contractor", "leak",
             "{\"client_id\":\"C-ALPHA\",\"persons\":80},{\"client_id\":\"C-BETA\","
             "\"persons\":60}",
             ",\"distinct_persons\":120");
    json_t *v = seed_case(pg, "INC-WEB-1", facts, "給与明細の誤送信");
    assert_string_equal(jstr(v, "route"), "direct_report");
    json_decref(v);
    /* C-BETA's notice was filed in time; a response step is done. */
    exec_ok(pg,
            "WITH d AS (UPDATE deadlines SET met_at = due_at - interval '1 hour' "
            "WHERE incident_id = 'INC-WEB-1' AND client_id = 'C-BETA' RETURNING met_at) "
            "INSERT INTO case_filings (event_id, incident_id, report, client_id, filed_at, "
            "reference) SELECT 'EV-FILE-1', 'INC-WEB-1', 'client_notice', 'C-BETA', met_at, "
            "'N-42' FROM d",
            0, NULL);
    exec_ok(pg,
            "INSERT INTO case_steps (incident_id, step, completed_at, event_id) SELECT "
            "'INC-WEB-1', 'internal_report_containment', known_at + interval '2 hours', "
            "'EV-STEP-1' FROM cases WHERE incident_id = 'INC-WEB-1'",
            0, NULL);
    exec_ok(pg,
            "INSERT INTO deliveries (task_id, incident_id, client_id, channel, recipient, format, "
            "document, document_sha256) VALUES ('task-1', 'INC-WEB-1', 'C-ALPHA', "
            "'client:C-ALPHA', 'C-ALPHA', 'text', 'notice', sha256('notice'::bytea))",
            0, NULL);
    exec_ok(pg,
            "INSERT INTO tickets (ticket_id, task_id, incident_id, client_id, kind, title, "
            "webhook_state, webhook_attempts, webhook_done_at) VALUES ('T-task-1', 'task-1', "
            "'INC-WEB-1', 'C-ALPHA', 'client_notice', '[INC-WEB-1] 委託元 C-ALPHA への通知', "
            "'failed', 1, now())",
            0, NULL);
    exec_ok(pg,
            "INSERT INTO ticket_webhook_attempts (ticket_id, attempt, incident_id, client_id, "
            "started_at, latency_ms, http_status, error, outcome) VALUES ('T-task-1', 1, "
            "'INC-WEB-1', 'C-ALPHA', now(), 12, 400, 'refused: not retried', 'failed')",
            0, NULL);

    /* 2: an own small loss, encrypted: nothing to report, no deadline. */
    days_ago(1, known);
    snprintf(facts, sizeof facts, facts_format, "INC-WEB-2", known, "own", "loss",
             "{\"client_id\":\"OWN\",\"persons\":3}", "");
    v = seed_case(pg, "INC-WEB-2", facts, "USBメモリの紛失");
    json_decref(v);

    /* 3: a hostile id, mandatory (101 persons), known yesterday: its deadlines are ahead. */
    days_ago(1, known);
    snprintf(facts, sizeof facts, facts_format, "INC-<b>3</b>", known, "own", "leak",
             "{\"client_id\":\"OWN\",\"persons\":101}", "");
    v = seed_case(pg, HOSTILE_ID, facts, "<script>document.title='x'</script>");
    assert_string_equal(jstr(json_object_get(v, "my_number"), "status"), "mandatory");
    json_decref(v);
}

static int setup(void **state)
{
    testenv_db_setup(state, &db, 1);
    if (*state) seed_all(db.conn);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testenv_db_drop(&db);
    return 0;
}

/* ---- helpers ---- */

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void assert_holds(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("the page lacks: %s", needle);
}

/* The row of the DOM that starts with start, up to its </tr>. */
static char *row(const char *dom, const char *start)
{
    const char *a = strstr(dom, start);
    if (!a) fail_msg("no row %s", start);
    const char *b = strstr(a, "</tr>");
    assert_non_null(b);
    return strndup(a, (size_t)(b - a));
}

static char *dom_of(const char *url)
{
    char err[512], *dom = NULL;
    if (browser_dump_dom(url, &dom, err, sizeof err) != 0) fail_msg("chromium: %s", err);
    return dom;
}

/* What a person checks on the case page of INC-WEB-1, in the DOM the browser built. */
static void check_case_dom(const char *dom)
{
    char *rule = row(dom, "<tr data-rule=\"MN-2-4\">");
    assert_holds(rule, "規則第2条第4号");
    assert_holds(rule, "本人の数が100人を超える");
    free(rule);
    char *alpha = row(dom, "<tr data-client=\"C-ALPHA\">");
    assert_int_equal(count(alpha, ">80名<"), 2); /* known and possible maximum */
    free(alpha);
    char *beta = row(dom, "<tr data-client=\"C-BETA\">");
    assert_int_equal(count(beta, ">60名<"), 2);
    free(beta);
    char *total = row(dom, "<tr class=\"total\" id=\"persons-total\">");
    assert_holds(total, ">120名<");
    free(total);
    /* C-ALPHA's notice and the 速報 are overdue, C-BETA's notice met, the 確報 open. */
    assert_int_equal(count(dom, "<tr class=\"overdue\" data-kind="), 2);
    assert_holds(dom, "<tr class=\"overdue\" data-kind=\"client_notice\" data-state=\"overdue\">");
    assert_holds(dom,
                 "<tr class=\"overdue\" data-kind=\"ppc_preliminary\" data-state=\"overdue\">");
    assert_holds(dom, "<tr data-kind=\"client_notice\" data-state=\"met\">");
    assert_holds(dom, "<tr data-kind=\"ppc_final\" data-state=\"open\">");
    char *deadlines = strstr(dom, "<table id=\"deadlines\">");
    assert_non_null(deadlines);
    char *deadlines_end = strstr(deadlines, "</table>");
    assert_non_null(deadlines_end);
    char *table = strndup(deadlines, (size_t)(deadlines_end - deadlines));
    assert_int_equal(count(table, "期限超過 OVERDUE"), 2);
    free(table);
    assert_holds(dom, "<dd id=\"overdue-count\">2件 <span class=\"mark overdue\">期限超過 OVERDUE");
    assert_int_equal(count(dom, "<g data-state=\"overdue\">"), 2); /* the picture */
    assert_holds(dom, "N-42");                                     /* the filing */
    assert_holds(dom, "法的助言ではありません");
}

static int png_size(const char *path, unsigned *w, unsigned *h, long *bytes)
{
    unsigned char head[24];
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(head, 1, sizeof head, f);
    fseek(f, 0, SEEK_END);
    *bytes = ftell(f);
    fclose(f);
    if (n != sizeof head || memcmp(head, "\x89PNG\r\n\x1a\n", 8) != 0) return -1;
    *w = (unsigned)head[16] << 24 | (unsigned)head[17] << 16 | (unsigned)head[18] << 8 | head[19];
    *h = (unsigned)head[20] << 24 | (unsigned)head[21] << 16 | (unsigned)head[22] << 8 | head[23];
    return 0;
}

static void screenshot(const char *url, const char *name, int height)
{
    char path[1024], err[512];
    browser_artifact_path(name, path, sizeof path);
    if (browser_screenshot(url, 1280, height, path, err, sizeof err) != 0)
        fail_msg("chromium: %s", err);
    unsigned w, h;
    long bytes;
    if (png_size(path, &w, &h, &bytes) != 0) fail_msg("%s: not a PNG", path);
    assert_int_equal(w, 1280);
    assert_int_equal(h, (unsigned)height);
    /* A blank page compresses to a few kilobytes; a page of tables and text does not. */
    if (bytes < 40000) fail_msg("%s: %ld bytes, the page looks empty", path, bytes);
    fprintf(stderr, "screenshot for review: %s (%ld bytes)\n", path, bytes);
}

static void start_web(workerproc *w, int port, const char *role)
{
    char port_text[16], role_env[128];
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(role_env, sizeof role_env, "MNI_WEB_ROLE=%s", role ? role : "");
    const char *env[] = {role_env, "MNI_WEB_THREADS=2", NULL};
    const char *argv[] = {"web", "--port", port_text, NULL};
    assert_int_equal(workerproc_start(w, "mni", db.conninfo, "127.0.0.1:1", NULL, env, argv), 0);
    /* Wait until it answers at all (any status: /healthz may say 503 on purpose). */
    for (int i = 0; i < 1500; i++) {
        char *body = NULL;
        int status = httpget(port, "/healthz", &body);
        free(body);
        if (status > 0) return;
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    workerproc_dump_log(w);
    fail_msg("mni web did not answer on port %d", port);
}

static void stop_web(workerproc *w)
{
    workerproc_signal(w, SIGTERM);
    int rc = workerproc_wait(w, 30000);
    if (rc != 0) {
        workerproc_dump_log(w);
        fail_msg("mni web exited %d", rc);
    }
}

/* ---- cases ---- */

static void test_report_file_in_browser(void **state)
{
    testenv_db *d = testenv_db_from_state(state);
    char path[1024], abs[2048], url[2100], err[512];
    browser_artifact_path("report-INC-WEB-1.html", path, sizeof path);
    const char *argv[] = {"mni",       "report",   "INC-WEB-1", "--html", "--conninfo",
                          d->conninfo, "--output", path,        NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni report: exit %d: %s", r.status, r.err);
    runcmd_free(&r);
    if (!realpath(path, abs)) fail_msg("%s: not written", path);
    snprintf(url, sizeof url, "file://%s", abs);
    char *dom = dom_of(url);
    check_case_dom(dom);
    assert_null(strstr(dom, "<nav>")); /* a file stands alone */
    free(dom);
    char pdf[1024];
    browser_artifact_path("report-INC-WEB-1.pdf", pdf, sizeof pdf);
    if (browser_print_pdf(url, pdf, err, sizeof err) != 0) fail_msg("chromium: %s", err);
    FILE *f = fopen(pdf, "rb");
    char magic[5] = "";
    assert_non_null(f);
    assert_int_equal(fread(magic, 1, 4, f), 4);
    fclose(f);
    assert_string_equal(magic, "%PDF");
    fprintf(stderr, "printed for review: %s\n", pdf);
}

static void test_web_pages_in_browser(void **state)
{
    (void)testenv_db_from_state(state);
    int port = httpget_free_port();
    workerproc w;
    start_web(&w, port, NULL);
    char url[256];

    /* The list, by next deadline: the overdue case first, the one without deadlines last. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    char *dom = dom_of(url);
    const char *r1 = strstr(dom, "data-incident=\"INC-WEB-1\"");
    const char *r3 = strstr(dom, "data-incident=\"INC-&lt;b&gt;3&lt;/b&gt;\"");
    const char *r2 = strstr(dom, "data-incident=\"INC-WEB-2\"");
    if (!r1 || !r2 || !r3) fail_msg("a case is missing from the list:\n%s", dom);
    assert_true(r1 < r3 && r3 < r2);
    char *first = row(dom, "<tr class=\"overdue\" data-incident=\"INC-WEB-1\">");
    assert_holds(first, "期限超過 OVERDUE");
    assert_holds(first, ">2</td>"); /* two overdue deadlines */
    free(first);
    /* The hostile id is text, and its link is percent-encoded. */
    assert_null(strstr(dom, "<b>3</b>"));
    assert_holds(dom, "href=\"" HOSTILE_PATH "\"");
    assert_holds(dom, "<a href=\"?sort=incident&amp;order=asc\">");
    free(dom);
    screenshot(url, "web-cases.png", 700);

    /* The header link's URL: by incident id, descending ("<" sorts before "W"). */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/?sort=incident&order=desc", port);
    dom = dom_of(url);
    r1 = strstr(dom, "data-incident=\"INC-WEB-1\"");
    r2 = strstr(dom, "data-incident=\"INC-WEB-2\"");
    r3 = strstr(dom, "data-incident=\"INC-&lt;b&gt;3&lt;/b&gt;\"");
    assert_true(r1 && r2 && r3 && r2 < r1 && r1 < r3);
    assert_holds(dom, "事案ID<span class=\"en\">Incident</span> ▼");
    free(dom);

    /* The hostile case's own page, through its link; its title is text too. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, HOSTILE_PATH);
    dom = dom_of(url);
    assert_holds(dom, "<code id=\"incident-id\">INC-&lt;b&gt;3&lt;/b&gt;</code>");
    assert_holds(dom, "&lt;script&gt;document.title='x'&lt;/script&gt;");
    assert_null(strstr(dom, "<script"));
    free(dom);

    /* The direct-report case, with a link back to the list. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/cases/INC-WEB-1", port);
    dom = dom_of(url);
    check_case_dom(dom);
    assert_holds(dom, "<nav><a href=\"/\">");
    char *ticket = row(dom, "<tr class=\"failed\" data-webhook=\"failed\">");
    assert_holds(ticket, "送信失敗 FAILED");
    assert_holds(ticket, "HTTP 400");
    free(ticket);
    free(dom);
    screenshot(url, "web-case-INC-WEB-1.png", 2400);
    stop_web(&w);
}

static void test_web_http_contract(void **state)
{
    (void)testenv_db_from_state(state);
    int port = httpget_free_port();
    workerproc w;
    start_web(&w, port, NULL);
    char *body = NULL;
    assert_int_equal(httpget(port, "/cases/INC-NONE", &body), 404);
    assert_non_null(strstr(body, "INC-NONE: no such case"));
    free(body);
    assert_int_equal(httpget(port, "/nothing-here", &body), 404);
    free(body);
    assert_int_equal(httpget(port, "/?sort=password", &body), 400);
    assert_non_null(strstr(body, "sort: unknown column"));
    free(body);
    assert_int_equal(httpget(port, "/?order=sideways", &body), 400);
    free(body);
    assert_int_equal(httpget(port, "/healthz", &body), 200);
    assert_string_equal(body, "ok\n");
    free(body);
    /* POST, and the headers every page carries (read through curl, a client nobody here
     * wrote). */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "curl -s -o /dev/null -w '%%{http_code}' -X POST http://127.0.0.1:%d/; "
             "curl -s -D - -o /dev/null http://127.0.0.1:%d/cases/INC-WEB-1",
             port, port);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_int_equal(strncmp(out, "405", 3), 0);
    assert_non_null(strstr(out, "Content-Security-Policy: default-src 'none'"));
    assert_non_null(strstr(out, "X-Content-Type-Options: nosniff"));
    assert_non_null(strstr(out, "Cache-Control: no-store"));
    assert_non_null(strstr(out, "Content-Type: text/html; charset=utf-8"));
    stop_web(&w);
}

static void test_web_role(void **state)
{
    (void)testenv_db_from_state(state);
    int port = httpget_free_port();
    workerproc w;
    start_web(&w, port, "mni"); /* the login role itself: SET ROLE works */
    char *body = NULL;
    assert_int_equal(httpget(port, "/cases/INC-WEB-1", &body), 200);
    free(body);
    stop_web(&w);

    port = httpget_free_port();
    start_web(&w, port, "mni_no_such_role");
    assert_int_equal(httpget(port, "/cases/INC-WEB-1", &body), 503);
    assert_non_null(strstr(body, "database unreachable"));
    free(body);
    assert_int_equal(httpget(port, "/healthz", &body), 503);
    free(body);
    stop_web(&w);
    if (workerproc_log_count(&w, "mni_no_such_role") == 0) {
        workerproc_dump_log(&w);
        fail_msg("the log does not say which role failed");
    }
}

static void test_web_client_role(void **state)
{
    (void)testenv_db_from_state(state);
    char role[64], sql[256], err[256];
    snprintf(role, sizeof role, "web_alpha_%d", (int)getpid());
    const char *cr[] = {"mni", "db",         "client-role", "C-ALPHA",
                        role,  "--conninfo", db.conninfo,   NULL};
    runcmd_result r;
    assert_int_equal(runcmd(cr, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni db client-role: %s%s", r.out, r.err);
    runcmd_free(&r);
    /* mni web logs in as the owner and SETs ROLE, which takes membership. */
    snprintf(sql, sizeof sql, "GRANT %s TO CURRENT_USER", role);
    exec_ok(db.conn, sql, 0, NULL);

    int port = httpget_free_port();
    workerproc w;
    start_web(&w, port, role);
    char *body = NULL;
    assert_int_equal(httpget(port, "/", &body), 200);
    assert_non_null(strstr(body, "INC-WEB-1"));
    assert_null(strstr(body, "INC-WEB-2"));
    assert_null(strstr(body, "C-BETA"));
    free(body);
    assert_int_equal(httpget(port, "/cases/INC-WEB-2", &body), 404);
    free(body);
    assert_int_equal(httpget(port, "/cases/INC-WEB-1", &body), 200);
    assert_non_null(strstr(body, "data-client=\"C-ALPHA\""));
    assert_null(strstr(body, "C-BETA"));
    /* Its own count (80) is there; the total row over all clients (120) is blank. */
    const char *total = strstr(body, "id=\"persons-total\"");
    assert_non_null(total);
    const char *end = strstr(total, "</tr>");
    assert_non_null(end);
    char total_row[2048];
    snprintf(total_row, sizeof total_row, "%.*s", (int)(end - total), total);
    if (strstr(total_row, "120") || count(total_row, "—") < 3)
        fail_msg("a client's page shows the total over all clients: %s", total_row);
    const char *own = strstr(body, "data-client=\"C-ALPHA\"");
    end = own ? strstr(own, "</tr>") : NULL;
    assert_non_null(end);
    snprintf(total_row, sizeof total_row, "%.*s", (int)(end - own), own);
    if (!strstr(total_row, ">80名<"))
        fail_msg("the client's own count is not shown: %s", total_row);
    free(body);
    stop_web(&w);

    /* Roles are the cluster's: this one goes with the test (it holds no privilege itself). */
    snprintf(sql, sizeof sql, "DROP ROLE %s", role);
    if (pgx_exec(db.conn, "drop_role", sql, err, sizeof err) != 0) fail_msg("%s", err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_file_in_browser), cmocka_unit_test(test_web_pages_in_browser),
        cmocka_unit_test(test_web_http_contract),      cmocka_unit_test(test_web_role),
        cmocka_unit_test(test_web_client_role),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
