/*
 * test_registry_client: the pure parts of lib/serdes/registry_client (subject naming, URL
 * redaction, canonical form, request body, response parsing) and how lib/runtime/schema_source
 * reads the schema.registry.* keys: secrets masked by --print-config, bad settings refused
 * with the key named, before any request is made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/runtime/config.h"
#include "lib/runtime/schema_source.h"
#include "lib/serdes/registry_client.h"

static void test_subject_naming(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(registry_subject("case.assessments", false, out, sizeof out), 0);
    assert_string_equal(out, "case.assessments-value");
    assert_int_equal(registry_subject("tickets", true, out, sizeof out), 0);
    assert_string_equal(out, "tickets-key");
    assert_int_equal(registry_subject("", false, out, sizeof out), -1);
    assert_int_equal(registry_subject(NULL, false, out, sizeof out), -1);
    char tiny[8];
    assert_int_equal(registry_subject("tickets", false, tiny, sizeof tiny), -1);
}

static void test_url_redaction(void **state)
{
    (void)state;
    char out[128];
    registry_url_redact("https://user:secret@sr.example:8081/base", out, sizeof out);
    assert_string_equal(out, "https://sr.example:8081/base");
    registry_url_redact("http://127.0.0.1:8081", out, sizeof out);
    assert_string_equal(out, "http://127.0.0.1:8081");
    /* An '@' after the authority (in the path) is not a user part. */
    registry_url_redact("http://h:1/a@b", out, sizeof out);
    assert_string_equal(out, "http://h:1/a@b");
    /* A password holding '@': everything up to the last '@' of the authority goes. */
    registry_url_redact("http://u:p@ss@h:1/", out, sizeof out);
    assert_string_equal(out, "http://h:1/");
}

static void test_canonical_form(void **state)
{
    (void)state;
    char err[256];
    char *a =
        registry_canonical("{\"type\":\"record\",\"name\":\"A\",\"fields\":[]}", err, sizeof err);
    char *b = registry_canonical("{\n  \"name\" : \"A\",\t\"fields\": [ ],\n \"type\":\"record\"}",
                                 err, sizeof err);
    char *c =
        registry_canonical("{\"type\":\"record\",\"name\":\"B\",\"fields\":[]}", err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_equal(a, "{\"fields\":[],\"name\":\"A\",\"type\":\"record\"}");
    free(a);
    free(b);
    free(c);
    char *s = registry_canonical("\"string\"", err, sizeof err); /* a primitive schema */
    assert_string_equal(s, "\"string\"");
    free(s);
    assert_null(registry_canonical("{\"type\":", err, sizeof err));
    assert_non_null(strstr(err, "invalid JSON"));
}

static void test_request_body(void **state)
{
    (void)state;
    char *body = registry_request_body("{\"type\":\"string\"}");
    assert_string_equal(body, "{\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}");
    char *back = NULL, err[128];
    assert_int_equal(registry_parse_schema(body, &back, err, sizeof err), 0);
    assert_string_equal(back, "{\"type\":\"string\"}");
    free(back);
    free(body);
}

static void test_parse_id(void **state)
{
    (void)state;
    char err[128];
    int32_t id = 0;
    assert_int_equal(registry_parse_id("{\"id\":42}", &id, err, sizeof err), 0);
    assert_int_equal(id, 42);
    assert_int_equal(registry_parse_id("{\"id\":2147483647}", &id, err, sizeof err), 0);
    assert_int_equal(id, INT32_MAX);
    const char *bad[] = {"{\"id\":0}",
                         "{\"id\":-3}",
                         "{\"id\":2147483648}",
                         "{\"id\":\"7\"}",
                         "{}",
                         "[1]",
                         "not json",
                         "",
                         "{\"id\":1.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(registry_parse_id(bad[i], &id, err, sizeof err), -1);
        assert_non_null(strstr(err, "\"id\""));
    }
}

static void test_parse_schema(void **state)
{
    (void)state;
    char err[128], *text = NULL;
    assert_int_equal(registry_parse_schema("{\"schema\":\"\\\"int\\\"\",\"schemaType\":\"AVRO\"}",
                                           &text, err, sizeof err),
                     0);
    assert_string_equal(text, "\"int\"");
    free(text);
    assert_int_equal(registry_parse_schema("{\"schema\":\"x\",\"schemaType\":\"PROTOBUF\"}", &text,
                                           err, sizeof err),
                     -1);
    assert_null(text);
    assert_non_null(strstr(err, "AVRO"));
    assert_int_equal(registry_parse_schema("{\"schema\":7}", &text, err, sizeof err), -1);
    assert_int_equal(registry_parse_schema("<html>", &text, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"schema\""));
}

static void test_parse_error(void **state)
{
    (void)state;
    char out[128];
    registry_parse_error("{\"error_code\":40403,\"message\":\"Schema not found\"}", out,
                         sizeof out);
    assert_string_equal(out, "40403: Schema not found");
    registry_parse_error("<html>502 Bad Gateway</html>", out, sizeof out);
    assert_string_equal(out, "not a registry error body: \"<html>502 Bad Gateway</html>\"");
}

/* ---- the configuration keys ---- */

static config *registry_config(const char *const *kv)
{
    char err[256];
    config *c = config_new();
    assert_non_null(c);
    for (size_t i = 0; kv[i]; i += 2)
        assert_int_equal(config_set(c, kv[i], kv[i + 1], err, sizeof err), 0);
    return c;
}

static void test_print_config_masks_registry_secrets(void **state)
{
    (void)state;
    const char *kv[] = {"schema.registry.url",
                        "https://ops:url-secret@sr.example:8081",
                        "schema.registry.basic.auth.user.info",
                        "ops:info-secret",
                        "schema.registry.ssl.key.password",
                        "key-secret",
                        "schema.registry.basic.auth.user.info.file",
                        "/run/secrets/sr",
                        NULL};
    config *c = registry_config(kv);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(config_dump(c, f), 0);
    fclose(f);
    assert_null(strstr(buf, "secret@"));
    assert_null(strstr(buf, "info-secret"));
    assert_null(strstr(buf, "key-secret"));
    assert_non_null(strstr(buf, "schema.registry.url = https://ops:****@sr.example:8081"));
    assert_non_null(strstr(buf, "schema.registry.basic.auth.user.info.file = /run/secrets/sr"));
    assert_true(config_key_is_secret("schema.registry.basic.auth.user.info"));
    assert_false(config_key_is_secret("schema.registry.basic.auth.user.info.file"));
    free(buf);
    config_free(c);
}

/* schema_source_open must refuse these before any request (the URL points nowhere). */
static void expect_refused(const char *const *kv, const char *want)
{
    char err[512] = "";
    schema_set *set = (schema_set *)1;
    registry_client *client = (registry_client *)1;
    config *c = registry_config(kv);
    assert_int_equal(schema_source_open(c, &set, &client, err, sizeof err), -1);
    assert_null(set);
    assert_null(client);
    if (!strstr(err, want)) fail_msg("error '%s' does not say '%s'", err, want);
    assert_null(strstr(err, "hunter2"));
    config_free(c);
}

static void test_bad_registry_settings(void **state)
{
    (void)state;
    const char *both[] = {"schema.registry.url",
                          "http://127.0.0.1:1",
                          "schema.registry.basic.auth.user.info",
                          "u:hunter2",
                          "schema.registry.basic.auth.user.info.file",
                          "/nonexistent",
                          NULL};
    expect_refused(both, "set one");
    const char *no_colon[] = {"schema.registry.url", "http://127.0.0.1:1",
                              "schema.registry.basic.auth.user.info", "hunter2", NULL};
    expect_refused(no_colon, "user:password");
    const char *missing_file[] = {"schema.registry.url", "http://127.0.0.1:1",
                                  "schema.registry.basic.auth.user.info.file",
                                  "/nonexistent/sr-secret", NULL};
    expect_refused(missing_file, "schema.registry.basic.auth.user.info.file = '/nonexistent/");
    const char *scheme[] = {"schema.registry.url", "ftp://u:hunter2@h/", NULL};
    expect_refused(scheme, "not an http:// or https:// URL");
    const char *timeout[] = {"schema.registry.url", "http://127.0.0.1:1",
                             "schema.registry.timeout.ms", "soon", NULL};
    expect_refused(timeout, "schema.registry.timeout.ms");
}

static void test_no_registry_keeps_local_ids(void **state)
{
    (void)state;
    const char *kv[] = {NULL};
    char err[512];
    schema_set *set = NULL;
    registry_client *client = (registry_client *)1;
    config *c = registry_config(kv);
    unsetenv("MNI_SCHEMA_REGISTRY_URL");
    assert_int_equal(schema_source_open(c, &set, &client, err, sizeof err), 0);
    assert_null(client);
    /* The local table's ids: 6 is the current IncidentEvent, 2 a frozen older writer. */
    assert_int_equal(schema_set_current(set, "jp.mni.IncidentEvent")->id, 6);
    assert_non_null(schema_set_by_id(set, 2));
    schema_source_close(set, client);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject_naming),
        cmocka_unit_test(test_url_redaction),
        cmocka_unit_test(test_canonical_form),
        cmocka_unit_test(test_request_body),
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_parse_schema),
        cmocka_unit_test(test_parse_error),
        cmocka_unit_test(test_print_config_masks_registry_secrets),
        cmocka_unit_test(test_bad_registry_settings),
        cmocka_unit_test(test_no_registry_keeps_local_ids),
    };
    return cmocka_run_group_tests_name("registry client", tests, NULL, NULL);
}
