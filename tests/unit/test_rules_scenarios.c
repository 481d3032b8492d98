/*
 * The legal scenarios of tests/data/assess (facts in, expected verdict fields out; each file
 * cites the rule it exercises) and the invalid inputs of tests/data/assess-invalid (each names
 * the error message expected), run through the same path as `mni assess`: facts_json ->
 * rules_assess -> verdict_json. A scenario's `facts` replace the top-level fields of _base.json;
 * `expect` must match the verdict wherever it speaks (objects by subset, arrays element by
 * element with the same length, scalars exactly).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/model/facts_json.h"
#include "lib/model/verdict_json.h"
#include "rules/mynumber.h"
#include "tests/support/testdata.h"

static json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) fail_msg("%s: %s (line %d)", path, jerr.text, jerr.line);
    return j;
}

static json_t *base_facts(void)
{
    char path[512];
    testdata_path("assess/_base.json", path, sizeof path);
    json_t *doc = load_json(path);
    json_t *facts = json_deep_copy(json_object_get(doc, "facts"));
    json_decref(doc);
    return facts;
}

/* Runs the facts through parse + assess; returns the verdict JSON or NULL with err filled. */
static json_t *assess_json(const char *text, size_t len, char *err, size_t errlen)
{
    facts_doc doc;
    if (facts_json_parse(text, len, &doc, err, errlen) != 0) return NULL;
    rules_client_verdict *clients = calloc(doc.facts.n_clients + 1, sizeof *clients);
    rules_verdict v;
    json_t *out = NULL;
    if (rules_assess(&doc.facts, NULL, &v, clients, err, errlen) == 0)
        out = verdict_json_build(&doc.facts, &v);
    free(clients);
    facts_doc_free(&doc);
    return out;
}

/* Describes the first place where `expect` and `got` differ into why; 0 when they match. */
static int mismatch(const json_t *expect, const json_t *got, const char *path, char *why, size_t n)
{
    if (json_is_object(expect)) {
        if (!json_is_object(got)) return snprintf(why, n, "%s: want an object", path), 1;
        const char *key;
        json_t *value;
        json_object_foreach ((json_t *)expect, key, value) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            const json_t *g = json_object_get(got, key);
            if (!g) return snprintf(why, n, "%s: missing in the verdict", sub), 1;
            if (mismatch(value, g, sub, why, n)) return 1;
        }
        return 0;
    }
    if (json_is_array(expect)) {
        if (!json_is_array(got) || json_array_size(got) != json_array_size(expect)) {
            char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
            snprintf(why, n, "%s: want %zu elements, got %s", path, json_array_size(expect), g);
            free(g);
            return 1;
        }
        for (size_t i = 0; i < json_array_size(expect); i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (mismatch(json_array_get(expect, i), json_array_get(got, i), sub, why, n)) return 1;
        }
        return 0;
    }
    if (!json_equal((json_t *)expect, (json_t *)got)) {
        char *e = json_dumps(expect, JSON_ENCODE_ANY), *g = json_dumps(got, JSON_ENCODE_ANY);
        snprintf(why, n, "%s: want %s, got %s", path, e, g);
        free(e);
        free(g);
        return 1;
    }
    return 0;
}

static void test_scenario(void **state)
{
    const char *path = *state;
    json_t *doc = load_json(path);
    json_t *facts = base_facts();
    assert_non_null(json_object_get(doc, "rule"));
    assert_non_null(json_object_get(doc, "expect"));
    assert_int_equal(json_object_update(facts, json_object_get(doc, "facts")), 0);
    char *text = json_dumps(facts, 0);
    char err[512] = "";
    json_t *verdict = assess_json(text, strlen(text), err, sizeof err);
    if (!verdict) fail_msg("%s: refused: %s", path, err);
    char why[1024];
    if (mismatch(json_object_get(doc, "expect"), verdict, "verdict", why, sizeof why)) {
        char *all = json_dumps(verdict, JSON_INDENT(1));
        print_error("%s\n", all);
        free(all);
        fail_msg("%s: %s", path, why);
    }
    /* Every verdict says it is not legal advice. */
    assert_string_equal(json_string_value(json_object_get(verdict, "disclaimer")),
                        VERDICT_DISCLAIMER);
    json_decref(verdict);
    free(text);
    json_decref(facts);
    json_decref(doc);
}

static void test_invalid(void **state)
{
    const char *path = *state;
    json_t *doc = load_json(path);
    const char *want = json_string_value(json_object_get(doc, "error"));
    assert_non_null(want);
    char *text;
    if (json_is_string(json_object_get(doc, "text"))) {
        text = strdup(json_string_value(json_object_get(doc, "text")));
    } else {
        json_t *facts = base_facts();
        if (json_object_get(doc, "facts")) json_object_update(facts, json_object_get(doc, "facts"));
        size_t i;
        json_t *key;
        json_array_foreach (json_object_get(doc, "remove"), i, key)
            json_object_del(facts, json_string_value(key));
        text = json_dumps(facts, 0);
        json_decref(facts);
    }
    char err[512] = "";
    json_t *verdict = assess_json(text, strlen(text), err, sizeof err);
    if (verdict) {
        json_decref(verdict);
        fail_msg("%s: accepted, but wants the error \"%s\"", path, want);
    }
    if (!strstr(err, want)) fail_msg("%s: error \"%s\" does not contain \"%s\"", path, err, want);
    free(text);
    json_decref(doc);
}

/* Every rule id of RULES.md is expected, as fired (for the reporter or a client), by at least one
 * scenario. */
static void collect_ids(const json_t *j, json_t *seen)
{
    if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach ((json_t *)j, key, v) {
            if ((!strcmp(key, "rules") || !strcmp(key, "appi_rules")) && json_is_array(v)) {
                size_t i;
                json_t *id;
                json_array_foreach (v, i, id)
                    json_object_set_new(seen, json_string_value(id), json_true());
            } else {
                collect_ids(v, seen);
            }
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach (j, i, v)
            collect_ids(v, seen);
    }
}

static void test_every_rule_id_is_exercised(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "MN-2-1",    "MN-2-2",   "MN-2-3",    "MN-2-4",    "APPI-7-1",  "APPI-7-2",
        "APPI-7-3",  "APPI-7-4", "APPI-43-1", "APPI-43-2", "APPI-43-3", "APPI-43-4",
        "APPI-43-5", "MN15-1",   "MN15-2",    "MN15-3",    "MN15-4",    "MN15-P"};
    char dir[512];
    testdata_path("assess", dir, sizeof dir);
    char **paths;
    size_t n = testdata_list(dir, ".json", &paths);
    assert_true(n > 0);
    json_t *seen = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *doc = load_json(paths[i]);
        collect_ids(json_object_get(doc, "expect"), seen);
        json_decref(doc);
    }
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (!json_object_get(seen, ids[i])) fail_msg("no scenario expects rule %s to fire", ids[i]);
    json_decref(seen);
    testdata_free_list(paths, n);
}

/* A valid My Number in a text field is refused; the number is made here, at run time, from
 * eleven digits and their check digit, so none sits in a file. */
static void test_raw_my_number_in_ids_is_refused(void **state)
{
    (void)state;
    int digits[11] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
    char number[13];
    for (int i = 0; i < 11; i++)
        number[i] = (char)('0' + digits[i]);
    number[11] = (char)('0' + mynumber_check_digit(digits));
    number[12] = '\0';
    assert_true(mynumber_is_valid(number));

    json_t *facts = base_facts();
    json_object_set_new(facts, "incident_id", json_sprintf("INC-%s", number));
    char *text = json_dumps(facts, 0);
    char err[512];
    json_t *verdict = assess_json(text, strlen(text), err, sizeof err);
    assert_null(verdict);
    assert_non_null(strstr(err, "incident_id: holds a My Number"));
    assert_null(strstr(err, number)); /* the message never repeats it */
    free(text);

    json_object_set_new(facts, "incident_id", json_string("INC-T"));
    json_object_set_new(json_array_get(json_object_get(facts, "clients"), 0), "client_id",
                        json_string(number));
    text = json_dumps(facts, 0);
    assert_null(assess_json(text, strlen(text), err, sizeof err));
    assert_non_null(strstr(err, "clients[0].client_id: holds a My Number"));
    free(text);
    json_decref(facts);
}

/* facts_json_build writes what facts_json_parse reads: a stored case's facts give the same
 * verdict when read back (the assess worker relies on it). */
static void test_facts_round_trip(void **state)
{
    (void)state;
    char dir[512];
    testdata_path("assess", dir, sizeof dir);
    char **paths;
    size_t n = testdata_list(dir, ".json", &paths);
    for (size_t i = 0; i < n; i++) {
        json_t *doc = load_json(paths[i]);
        json_t *facts = base_facts();
        json_object_update(facts, json_object_get(doc, "facts"));
        char *text = json_dumps(facts, 0);
        char err[512];
        facts_doc parsed;
        assert_int_equal(facts_json_parse(text, strlen(text), &parsed, err, sizeof err), 0);
        json_t *rebuilt = facts_json_build(&parsed.facts);
        char *again = json_dumps(rebuilt, 0);
        json_t *v1 = assess_json(text, strlen(text), err, sizeof err);
        json_t *v2 = assess_json(again, strlen(again), err, sizeof err);
        assert_non_null(v1);
        assert_non_null(v2);
        if (!json_equal(v1, v2)) fail_msg("%s: verdict differs after facts_json_build", paths[i]);
        json_decref(v1);
        json_decref(v2);
        free(again);
        json_decref(rebuilt);
        facts_doc_free(&parsed);
        free(text);
        json_decref(facts);
        json_decref(doc);
    }
    testdata_free_list(paths, n);
}

int main(void)
{
    char dir[512];
    int failed = 0;
    testdata_path("assess", dir, sizeof dir);
    failed += testdata_run_per_file("assess scenarios", dir, ".json", test_scenario);
    testdata_path("assess-invalid", dir, sizeof dir);
    failed += testdata_run_per_file("assess invalid input", dir, ".json", test_invalid);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_rule_id_is_exercised),
        cmocka_unit_test(test_raw_my_number_in_ids_is_refused),
        cmocka_unit_test(test_facts_round_trip),
    };
    failed += cmocka_run_group_tests_name("assess contract", tests, NULL, NULL);
    return failed;
}
