/*
 * The `mni assess` and `mni token` command-line contracts (issue 2), through the real binary:
 * exit codes, what goes to stdout and stderr, --help.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "rules/mynumber.h"
#include "tests/support/runcmd.h"

static void run(const char *const *argv, const char *in, runcmd_result *r)
{
    if (runcmd(argv, in, r) != 0)
        fail_msg("could not run %s/%s (build it: make SAN=1 build-tests)", runcmd_bin_dir(),
                 argv[0]);
}

static char *temp_with(const char *content)
{
    char *path = strdup("/tmp/mni-cli-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void test_assess_file_prints_verdict(void **state)
{
    (void)state;
    runcmd_result r;
    const char *argv[] = {"mni", "assess", "examples/incidents/01-misdirected-mailing.json", NULL};
    run(argv, NULL, &r);
    assert_int_equal(r.status, 0);
    json_error_t jerr;
    json_t *v = json_loads(r.out, 0, &jerr);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "incident_id")), "INC-2026-0042");
    assert_string_equal(json_string_value(json_object_get(v, "route")), "direct_report");
    assert_string_equal(r.err, "");
    json_decref(v);
    runcmd_free(&r);
}

static void test_assess_stdin_compact(void **state)
{
    (void)state;
    runcmd_result r;
    const char *argv[] = {"mni", "assess", "--compact", "-", NULL};
    run(argv, "examples/incidents/02-insider-takeout.json", &r);
    assert_int_equal(r.status, 0);
    /* one line of JSON */
    assert_non_null(strchr(r.out, '\n'));
    assert_ptr_equal(strchr(r.out, '\n'), r.out + r.out_len - 1);
    assert_non_null(strstr(r.out, "\"MN-2-2\""));
    runcmd_free(&r);
}

static void test_assess_invalid_exits_2_with_field(void **state)
{
    (void)state;
    char *path = temp_with("{\"incident_id\": \"X\", \"kinds\": [\"lek\"]}");
    runcmd_result r;
    const char *argv[] = {"mni", "assess", path, NULL};
    run(argv, NULL, &r);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.out_len, 0); /* nothing on stdout */
    assert_non_null(strstr(r.err, "mni assess: known_at: required field is missing"));
    runcmd_free(&r);
    unlink(path);
    free(path);
}

static void test_assess_refuses_my_number_without_echo(void **state)
{
    (void)state;
    int d[11] = {2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4};
    char number[13];
    for (int i = 0; i < 11; i++)
        number[i] = (char)('0' + d[i]);
    number[11] = (char)('0' + mynumber_check_digit(d));
    number[12] = '\0';
    char doc[256];
    snprintf(doc, sizeof doc, "{\"incident_id\": \"%s\"}", number);
    char *path = temp_with(doc);
    runcmd_result r;
    const char *argv[] = {"mni", "assess", path, NULL};
    run(argv, NULL, &r);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.out_len, 0);
    assert_non_null(strstr(r.err, "incident_id: holds a My Number"));
    assert_null(strstr(r.err, number));
    runcmd_free(&r);
    unlink(path);
    free(path);
}

static void test_assess_usage_errors(void **state)
{
    (void)state;
    static const struct {
        const char *argv[5];
        int status;
        const char *err;
    } cases[] = {
        {{"mni", "assess", NULL}, 2, "usage: mni assess"},
        {{"mni", "assess", "--bogus", NULL}, 2, "unknown option '--bogus'"},
        {{"mni", "assess", "a.json", "b.json", NULL}, 2, "one input only"},
        {{"mni", "assess", "/nonexistent/facts.json", NULL}, 1, "cannot open"},
        {{"mni", "nosuch", NULL}, 2, "unknown command 'nosuch'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        runcmd_result r;
        run(cases[i].argv, NULL, &r);
        if (r.status != cases[i].status || !strstr(r.err, cases[i].err))
            fail_msg("case %zu: exit %d stderr '%s'", i, r.status, r.err);
        assert_int_equal(r.out_len, 0);
        runcmd_free(&r);
    }
}

static void test_help_goes_to_stdout(void **state)
{
    (void)state;
    const char *const *const helps[] = {
        (const char *const[]){"mni", "--help", NULL},
        (const char *const[]){"mni", "assess", "--help", NULL},
        (const char *const[]){"mni", "token", "--help", NULL},
        (const char *const[]){"mni", "calendar", "--help", NULL},
    };
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        runcmd_result r;
        run(helps[i], NULL, &r);
        if (r.status != 0 || !strstr(r.out, "usage"))
            fail_msg("%s %s --help: exit %d, stdout '%s'", helps[i][0], helps[i][1], r.status,
                     r.out);
        runcmd_free(&r);
    }
}

/* `mni assess --help` states the whole contract (issue 7): every input field and every rule id
 * with its article. */
static void test_assess_help_lists_the_contract(void **state)
{
    (void)state;
    static const char *const words[] = {
        /* input fields */
        "incident_id", "known_at", "reporter", "role", "number_use_entity", "public_body_system",
        "public_body", "local_government", "ordinance_sensitive", "employees", "kinds", "certainty",
        "improper_purpose", "actor", "systems", "unspecified_viewing", "encrypted_protected",
        "recovered_unviewed", "intact_copy", "clients", "client_id", "persons_max",
        "contract_notice_hours", "appi_persons", "distinct_persons", "appi", "sensitive",
        "financial_risk", "notice_2015", "all_persons_contacted", "no_external_leak",
        "investigation_done",
        /* rule ids and their articles */
        "MN-2-1", "MN-2-2", "MN-2-3", "MN-2-4", "Art. 29-4(1)", "APPI-7-1", "APPI-7-2", "APPI-7-3",
        "APPI-7-4", "Art. 26(1)", "APPI-43-1", "APPI-43-2", "APPI-43-3", "APPI-43-4", "APPI-43-5",
        "Art. 68(1)", "rule Art. 43", "MN15-1", "MN15-2", "MN15-3", "MN15-4", "MN15-P",
        "2015 notice 3(2)",
        /* output fields */
        "headcount_known", "clients_known", "direct_rules", "appi_direct_rules", "possible",
        "known_date", "deadlines"};
    runcmd_result r;
    const char *argv[] = {"mni", "assess", "--help", NULL};
    run(argv, NULL, &r);
    assert_int_equal(r.status, 0);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strstr(r.out, words[i])) fail_msg("mni assess --help does not mention %s", words[i]);
    runcmd_free(&r);
}

static void test_token_stream(void **state)
{
    (void)state;
    char *key = temp_with("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
    char *input = temp_with("person-0001\r\n  person-0002\nperson-0001\n");
    runcmd_result r;
    const char *argv[] = {"mni", "token", "--key", key, "-", NULL};
    run(argv, input, &r);
    assert_int_equal(r.status, 0);
    /* Same person key, same token; the known answer of test_token.c. */
    assert_int_equal(r.out_len, 3 * 65);
    assert_memory_equal(r.out, "b56353c9fb3e04df037a0b95f789948e89ced3808f8ae1c62fbfb0dd57737cd3\n",
                        65);
    assert_memory_equal(r.out, r.out + 130, 65);
    assert_memory_not_equal(r.out, r.out + 65, 64);
    runcmd_free(&r);

    char *blank = temp_with("person-0001\n\n");
    const char *argv2[] = {"mni", "token", "--key", key, blank, NULL};
    run(argv2, NULL, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "line 2: empty person key"));
    runcmd_free(&r);

    const char *argv3[] = {"mni", "token", NULL};
    char *saved = getenv("MNI_TOKEN_KEY_FILE");
    assert_null(saved);
    run(argv3, NULL, &r);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--key FILE is required"));
    runcmd_free(&r);
    unlink(key);
    unlink(input);
    unlink(blank);
    free(key);
    free(input);
    free(blank);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assess_file_prints_verdict),
        cmocka_unit_test(test_assess_stdin_compact),
        cmocka_unit_test(test_assess_invalid_exits_2_with_field),
        cmocka_unit_test(test_assess_refuses_my_number_without_echo),
        cmocka_unit_test(test_assess_usage_errors),
        cmocka_unit_test(test_help_goes_to_stdout),
        cmocka_unit_test(test_assess_help_lists_the_contract),
        cmocka_unit_test(test_token_stream),
    };
    return cmocka_run_group_tests_name("mni command line", tests, NULL, NULL);
}
