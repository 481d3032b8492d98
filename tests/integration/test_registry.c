/*
 * The embedded schema registry (`mni registry serve`, cli/registry_server.h) on a database of
 * this test's own, through plain HTTP (libcurl, as any client would) and through our client
 * (lib/serdes/registry_client.h): registration is idempotent and tolerant to whitespace, ids
 * are global and survive a restart, lookups and every error answer as Confluent's registry
 * does; a schema set attached to it registers our records under "<topic>-value", frames with
 * the registry's ids, and resolves an id that is not in its local table once (then from its
 * cache), while an id the registry does not know is refused with the registry's answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "lib/model/events.h"
#include "lib/model/records.h"
#include "lib/serdes/registry_client.h"
#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"
#include "tests/support/httprecv.h"
#include "tests/support/registryproc.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"

static testenv_db db;
static registryproc reg;

static const char schema_a[] =
    "{\"type\":\"record\",\"name\":\"A\",\"namespace\":\"t\",\"fields\":[{\"name\":\"x\","
    "\"type\":\"int\"}]}";
/* schema_a again, spaced out and with its keys in another order. */
static const char schema_a_spaced[] =
    "{ \"namespace\": \"t\",\n  \"name\": \"A\", \"type\": \"record\",\n  \"fields\": [ {"
    "\"type\": \"int\", \"name\": \"x\" } ] }";
static const char schema_b[] =
    "{\"type\":\"record\",\"name\":\"A\",\"namespace\":\"t\",\"fields\":[{\"name\":\"x\","
    "\"type\":\"int\"},{\"name\":\"y\",\"type\":\"string\",\"default\":\"\"}]}";

typedef struct {
    long status;
    char *body;
    char content_type[128];
} http_reply;

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    char **body = arg;
    size_t old = *body ? strlen(*body) : 0;
    char *grown = realloc(*body, old + size * n + 1);
    assert_non_null(grown);
    memcpy(grown + old, p, size * n);
    grown[old + size * n] = '\0';
    *body = grown;
    return size * n;
}

/* One request to the test's registry; body NULL for none. */
static http_reply call(const char *method, const char *path, const char *body)
{
    http_reply r = {0};
    char url[512];
    CURL *h = curl_easy_init();
    struct curl_slist *headers =
        curl_slist_append(NULL, "Content-Type: application/vnd.schemaregistry.v1+json");
    snprintf(url, sizeof url, "%s%s", reg.url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r.content_type, sizeof r.content_type, "%s", ct ? ct : "");
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (!r.body) r.body = strdup("");
    return r;
}

/* {"schema": text} */
static char *schema_body(const char *text)
{
    char *b = registry_request_body(text);
    assert_non_null(b);
    return b;
}

static int register_schema(const char *subject, const char *text)
{
    char path[256], *body = schema_body(text);
    snprintf(path, sizeof path, "/subjects/%s/versions", subject);
    http_reply r = call("POST", path, body);
    free(body);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    int id = (int)json_integer_value(json_object_get(j, "id"));
    json_decref(j);
    free(r.body);
    assert_true(id > 0);
    return id;
}

/* Asserts status, the Confluent error code and the content type of a reply, and frees it. */
static void expect_error(http_reply r, long status, int code)
{
    json_t *j = json_loads(r.body, 0, NULL);
    if (r.status != status || json_integer_value(json_object_get(j, "error_code")) != code ||
        !json_is_string(json_object_get(j, "message")))
        fail_msg("want HTTP %ld with error_code %d, got %ld: %s", status, code, r.status, r.body);
    assert_string_equal(r.content_type, REGISTRY_CONTENT_TYPE);
    json_decref(j);
    free(r.body);
}

static void expect_body(http_reply r, const char *want)
{
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, REGISTRY_CONTENT_TYPE);
    assert_string_equal(r.body, want);
    free(r.body);
}

static int setup(void **state)
{
    testenv_db_setup(state, &db, 1);
    if (*state && registryproc_start(&reg, db.conninfo) != 0) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (reg.proc.pid > 0) assert_int_equal(registryproc_stop(&reg), 0);
    memset(&reg, 0, sizeof reg);
    testenv_db_drop(&db);
    return 0;
}

static void test_register_is_idempotent_and_persisted(void **state)
{
    testenv_db *d = testenv_db_from_state(state);
    int a = register_schema("s1-value", schema_a);
    assert_int_equal(register_schema("s1-value", schema_a), a);
    assert_int_equal(register_schema("s1-value", schema_a_spaced), a);
    assert_int_equal(register_schema("s2-value", schema_a_spaced), a); /* ids are global */
    int b = register_schema("s1-value", schema_b);
    assert_int_not_equal(b, a);
    assert_int_equal(register_schema("s1-value", schema_a), a); /* no new version either */

    expect_body(call("GET", "/subjects", NULL), "[\"s1-value\",\"s2-value\"]");
    expect_body(call("GET", "/subjects/s1-value/versions", NULL), "[1,2]");
    expect_body(call("GET", "/subjects/s2-value/versions", NULL), "[1]");
    char want[1024], path[128], *quoted;
    json_t *s = json_string(schema_a);
    quoted = json_dumps(s, JSON_ENCODE_ANY);
    snprintf(want, sizeof want, "{\"subject\":\"s1-value\",\"version\":1,\"id\":%d,\"schema\":%s}",
             a, quoted);
    expect_body(call("GET", "/subjects/s1-value/versions/1", NULL), want);
    snprintf(path, sizeof path, "/schemas/ids/%d", a);
    snprintf(want, sizeof want, "{\"schema\":%s}", quoted);
    expect_body(call("GET", path, NULL), want);
    strcat(path, "/schema");
    expect_body(call("GET", path, NULL), schema_a);
    free(quoted);
    json_decref(s);

    http_reply r = call("GET", "/subjects/s1-value/versions/latest", NULL);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), b);
    json_decref(j);
    free(r.body);

    /* In PostgreSQL, and still there after a restart. */
    sqlcheck_equal(d->conn, "SELECT count(*) FROM registry_schemas", NULL, "2");
    sqlcheck_equal(d->conn,
                   "SELECT string_agg(subject||':'||version, ' ' ORDER BY subject, version) FROM "
                   "registry_versions",
                   NULL, "s1-value:1 s1-value:2 s2-value:1");
    assert_int_equal(registryproc_stop(&reg), 0);
    assert_int_equal(registryproc_start(&reg, d->conninfo), 0);
    snprintf(path, sizeof path, "/schemas/ids/%d/schema", b);
    expect_body(call("GET", path, NULL), schema_b);
    assert_int_equal(register_schema("s1-value", schema_b), b);

    /* Its PostgreSQL connection killed (as by a server restart): the next request still works. */
    sqlcheck_equal(d->conn,
                   "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE "
                   "application_name = 'mni-registry' AND datname = $1",
                   d->name, "1");
    assert_int_equal(register_schema("s2-value", schema_b), b);
    expect_body(call("GET", "/subjects/s2-value/versions", NULL), "[1,2]");
}

static void test_lookup(void **state)
{
    (void)testenv_db_from_state(state);
    int a = register_schema("s1-value", schema_a);
    char *body = schema_body(schema_a_spaced);
    http_reply r = call("POST", "/subjects/s1-value", body);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), a);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_string_equal(json_string_value(json_object_get(j, "subject")), "s1-value");
    assert_string_equal(json_string_value(json_object_get(j, "schema")), schema_a);
    json_decref(j);
    free(r.body);
    expect_error(call("POST", "/subjects/nobody-value", body), 404, 40401);
    free(body);
    body = schema_body(schema_b);
    expect_error(call("POST", "/subjects/s1-value", body), 404, 40403);
    free(body);
}

static void test_errors(void **state)
{
    (void)testenv_db_from_state(state);
    register_schema("s1-value", schema_a);
    expect_error(call("POST", "/subjects/s1-value/versions", "not json"), 422, 422);
    expect_error(call("POST", "/subjects/s1-value/versions", "{\"schemaa\":\"x\"}"), 422, 42201);
    char *bad = schema_body("{\"type\":\"record\",\"name\":");
    expect_error(call("POST", "/subjects/s1-value/versions", bad), 422, 42201);
    free(bad);
    bad = schema_body("{\"type\":\"recrod\",\"name\":\"A\",\"fields\":[]}");
    expect_error(call("POST", "/subjects/s1-value/versions", bad), 422, 42201);
    free(bad);
    char typed[512];
    snprintf(typed, sizeof typed,
             "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax = \\\"proto3\\\";\"}");
    expect_error(call("POST", "/subjects/s1-value/versions", typed), 422, 42201);
    expect_error(call("GET", "/schemas/ids/424242", NULL), 404, 40403);
    expect_error(call("GET", "/schemas/ids/abc", NULL), 404, 40403);
    expect_error(call("GET", "/subjects/nobody-value/versions", NULL), 404, 40401);
    expect_error(call("GET", "/subjects/nobody-value/versions/1", NULL), 404, 40401);
    expect_error(call("GET", "/subjects/s1-value/versions/9", NULL), 404, 40402);
    expect_error(call("GET", "/subjects/s1-value/versions/zero", NULL), 422, 42202);
    expect_error(call("DELETE", "/subjects/s1-value", NULL), 405, 405);
    expect_error(call("GET", "/no/such/path", NULL), 404, 404);
    /* Nothing of the refused requests was stored. */
    expect_body(call("GET", "/subjects", NULL), "[\"s1-value\"]");
}

static const registry_binding bindings[] = {
    {EVENTS_SCHEMA_INCIDENT_EVENT, "incident.events"},
    {EVENTS_SCHEMA_CASE_ASSESSMENT, "case.assessments"},
    {EVENTS_SCHEMA_NOTIFY_TASK, "notify.tasks"},
    {EVENTS_SCHEMA_TICKET, "tickets"},
};

/* A schema set in registry mode on the test's registry. */
static void attach(schema_set **set, registry_client **client)
{
    char err[1024];
    registry_settings s = {.url = reg.url};
    assert_int_equal(schema_set_load_default(set, err, sizeof err), 0);
    *client = registry_client_new(&s, err, sizeof err);
    assert_non_null(*client);
    if (registry_client_attach(*client, *set, bindings, 4, err, sizeof err) != 0)
        fail_msg("%s", err);
}

/* The first line of tests/data/events/valid.v2.hex: an incident_opened framed by an id-2
 * writer (the frozen history/IncidentEvent.v2.avsc). */
static size_t read_v2_event(uint8_t *out, size_t cap)
{
    FILE *f = fopen("tests/data/events/valid.v2.hex", "r");
    assert_non_null(f);
    size_t n = 0;
    unsigned byte;
    int c;
    while (n < cap && fscanf(f, "%2x", &byte) == 1) {
        out[n++] = (uint8_t)byte;
        c = fgetc(f);
        if (c == '\n' || c == EOF) break;
    }
    fclose(f);
    assert_true(n > WIRE_HEADER_SIZE);
    return n;
}

static void test_schema_set_on_the_registry(void **state)
{
    (void)testenv_db_from_state(state);
    char err[1024];
    schema_set *set, *other;
    registry_client *client, *other_client;
    attach(&set, &client);

    /* Our records under the Confluent subjects of their topics, with the registry's ids. */
    expect_body(call("GET", "/subjects", NULL),
                "[\"case.assessments-value\",\"incident.events-value\",\"notify.tasks-value\","
                "\"tickets-value\"]");
    const schema_def *ticket = schema_set_current(set, EVENTS_SCHEMA_TICKET);
    http_reply r = call("GET", "/subjects/tickets-value/versions/latest", NULL);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), ticket->id);
    json_decref(j);
    free(r.body);
    /* A second process gets the same ids. */
    attach(&other, &other_client);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(schema_set_current(other, bindings[i].record)->id,
                         schema_set_current(set, bindings[i].record)->id);

    /* Encoders frame with the registry's id. */
    records_ticket t = {.ticket_id = "T-1",
                        .task_id = "t1",
                        .incident_id = "INC-1",
                        .kind = "client_notice",
                        .title = "title",
                        .summary = "summary",
                        .due_at_ms = RECORDS_NO_TIME,
                        .document_ref = "doc"};
    wire_buf buf;
    wire_buf_init(&buf);
    assert_int_equal(records_ticket_encode(set, &t, &buf, err, sizeof err), 0);
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    assert_int_equal(wire_decode(buf.data, buf.len, &id, &payload, &plen, err, sizeof err), 0);
    assert_int_equal(id, ticket->id);
    wire_buf_free(&buf);

    /* An older writer registered by someone else: not in the local table (registry mode drops
     * the history), fetched once, then read from the set. */
    FILE *f = fopen("schemas/history/IncidentEvent.v2.avsc", "r");
    assert_non_null(f);
    char v2[65536];
    size_t n = fread(v2, 1, sizeof v2 - 1, f);
    fclose(f);
    v2[n] = '\0';
    int32_t v2_id = 0;
    assert_int_equal(registry_client_register(other_client, "incident.events-value", v2, &v2_id,
                                              err, sizeof err),
                     0);
    assert_null(schema_set_by_id(set, v2_id));
    uint8_t msg[8192];
    size_t len = read_v2_event(msg, sizeof msg);
    assert_int_equal(wire_put_header(msg, v2_id, err, sizeof err), 0);
    int fetched_before = workerproc_log_count(&reg.proc, "/schemas/ids/");
    for (int round = 0; round < 2; round++) {
        mni_event ev;
        mni_event_init(&ev);
        if (mni_event_decode(set, msg, len, &ev, err, sizeof err) != 0) fail_msg("%s", err);
        assert_string_equal(ev.event_id, "e1");
        assert_string_equal(ev.incident_id, "INC-2026-001");
        mni_event_free(&ev);
    }
    assert_non_null(schema_set_by_id(set, v2_id));
    assert_int_equal(workerproc_log_count(&reg.proc, "/schemas/ids/") - fetched_before, 1);

    /* An id the registry does not know: refused with its answer, asked once per retry period. */
    assert_int_equal(wire_put_header(msg, 424242, err, sizeof err), 0);
    for (int round = 0; round < 2; round++) {
        mni_event ev;
        mni_event_init(&ev);
        assert_int_equal(mni_event_decode(set, msg, len, &ev, err, sizeof err), -1);
        mni_event_free(&ev);
        assert_non_null(strstr(err, "unknown schema id 424242"));
        assert_non_null(strstr(err, "40403"));
    }
    assert_int_equal(workerproc_log_count(&reg.proc, "/schemas/ids/424242"), 1);

    registry_client_free(other_client);
    schema_set_free(other);
    registry_client_free(client);
    schema_set_free(set);
}

static void test_client_errors_name_the_registry_without_secrets(void **state)
{
    (void)testenv_db_from_state(state);
    char err[1024], url[256], *text = NULL;
    /* Basic auth in the URL and in the settings: neither may show in a message. */
    const char *port = strrchr(reg.url, ':');
    snprintf(url, sizeof url, "http://alice:pw-in-url@127.0.0.1%s", port);
    registry_settings s = {.url = url, .user_info = "alice:pw-in-settings"};
    registry_client *c = registry_client_new(&s, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(registry_client_schema_by_id(c, 99, &text, err, sizeof err), -1);
    assert_null(text);
    assert_non_null(strstr(err, "40403"));
    assert_non_null(strstr(err, "http://127.0.0.1:"));
    assert_null(strstr(err, "pw-in"));
    registry_client_free(c);

    registry_settings down = {.url = "http://127.0.0.1:1", .timeout_ms = 2000};
    c = registry_client_new(&down, err, sizeof err);
    assert_non_null(c);
    int32_t id;
    assert_int_equal(registry_client_register(c, "x-value", schema_a, &id, err, sizeof err), -1);
    assert_non_null(
        strstr(err, "schema registry http://127.0.0.1:1: POST /subjects/x-value/versions"));
    registry_client_free(c);

    registry_settings bad = {.url = "ftp://x"};
    assert_null(registry_client_new(&bad, err, sizeof err));
    assert_non_null(strstr(err, "schema.registry.url"));
}

/* What goes on the wire: basic auth, the content type, the body; and a 401 answered. */
static void test_client_request_on_the_wire(void **state)
{
    (void)state;
    char err[1024], url[128];
    const int script[] = {401};
    httprecv *recv = httprecv_start(script, 1, err, sizeof err);
    assert_non_null(recv);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", httprecv_port(recv));
    registry_settings s = {.url = url, .user_info = "alice:s3cret"};
    registry_client *c = registry_client_new(&s, err, sizeof err);
    assert_non_null(c);
    int32_t id = 0;
    assert_int_equal(registry_client_register(c, "x-value", schema_a, &id, err, sizeof err), -1);
    assert_non_null(strstr(err, "HTTP 401"));
    assert_null(strstr(err, "s3cret"));
    registry_client_free(c);
    httprecv_request *reqs;
    size_t n = httprecv_requests(recv, &reqs);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0].method, "POST");
    assert_string_equal(reqs[0].path, "/subjects/x-value/versions");
    assert_string_equal(reqs[0].authorization, "Basic YWxpY2U6czNjcmV0"); /* alice:s3cret */
    assert_string_equal(reqs[0].content_type, REGISTRY_CONTENT_TYPE);
    char *body = registry_request_body(schema_a);
    assert_string_equal(reqs[0].body, body);
    free(body);
    httprecv_requests_free(reqs, n);
    httprecv_stop(recv);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_is_idempotent_and_persisted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_set_on_the_registry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_errors_name_the_registry_without_secrets, setup,
                                        teardown),
        cmocka_unit_test(test_client_request_on_the_wire),
    };
    int rc = cmocka_run_group_tests_name("embedded schema registry", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
