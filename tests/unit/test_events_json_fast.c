/*
 * test_events_json_fast: mni_event_from_json_text reads a manifest's plain token array
 * straight from the text (lib/model/json_tokens.h) and the rest with jansson. Whatever the
 * text, it must give what the generic path (jansson for all of it) gives: the same event, or
 * the same error message. Compared on every kind of event, on manifests written every way JSON
 * allows (whitespace, key order, empty arrays, 15,000 tokens), on bad tokens, escaped keys and
 * duplicate keys, and on every truncation and many byte flips of a manifest line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/model/json_tokens.h"
#include "tests/support/eventcheck.h"

#define T1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define HEAD                                                                                       \
    "{\"event_id\":\"E-1\",\"incident_id\":\"INC-1\",\"tenant\":\"bpo\","                          \
    "\"occurred_at\":\"2026-11-18T10:01:00+09:00\",\"producer\":\"loader\","

/* Both paths on text: same return, same error, same event (its JSON and its tokens). Returns
 * whether the fast path found a plain array (so callers can check that it was exercised). */
static bool same_both_ways(const char *text, size_t len)
{
    mni_event a, b;
    char ea[512] = "", eb[512] = "";
    mni_event_init(&a);
    mni_event_init(&b);
    int ra = mni_event_from_json_text(text, len, &a, ea, sizeof ea);
    int rb = mni_event_from_json_text_generic(text, len, &b, eb, sizeof eb);
    if (ra != rb) fail_msg("fast %d, generic %d on %.200s", ra, rb, text);
    if (ra != 0) {
        assert_string_equal(ea, eb);
    } else {
        eventcheck_assert_same(&a, &b);
    }
    mni_event_free(&a);
    mni_event_free(&b);
    json_tokens_span span;
    return json_tokens_find(text, len, &span);
}

static bool same(const char *text)
{
    return same_both_ways(text, strlen(text));
}

static void every_kind_of_event(void **state)
{
    (void)state;
    static const char *const lines[] = {
        HEAD "\"type\":\"incident_opened\",\"body\":{\"known_at\":\"2026-11-18T10:00:00+09:00\","
             "\"title\":\"t\",\"reporter\":{\"role\":\"own\",\"number_use_entity\":true,"
             "\"public_body_system\":false},\"kinds\":[\"leak\"],\"certainty\":\"confirmed\","
             "\"improper_purpose\":\"no\",\"systems\":[],\"unspecified_viewing\":\"no\","
             "\"encrypted_protected\":false,\"recovered_unviewed\":false,\"intact_copy\":false,"
             "\"appi_sensitive\":false,\"appi_financial_risk\":false,\"description\":\"d\"}}",
        HEAD "\"type\":\"facts_updated\",\"body\":{\"certainty\":\"confirmed\",\"note\":\"n\"}}",
        HEAD "\"type\":\"exposure_count\",\"body\":{\"client_id\":\"C-1\",\"persons\":120}}",
        HEAD "\"type\":\"response_step_completed\",\"body\":{\"step\":\"fact_investigation\","
             "\"completed_at\":\"2026-11-18T12:00:00Z\",\"note\":\"\"}}",
        HEAD "\"type\":\"report_filed\",\"body\":{\"report\":\"client_notice\",\"client_id\":"
             "\"C-1\",\"filed_at\":\"2026-11-19T09:00:00Z\",\"reference\":\"R-1\"}}",
        HEAD "\"type\":\"incident_closed\",\"body\":{\"reason\":\"closed\"}}",
        /* Not a manifest but with a tokens key: the same unknown-field error. */
        HEAD "\"type\":\"exposure_count\",\"body\":{\"client_id\":\"C-1\",\"persons\":1,"
             "\"tokens\":[\"" T1 "\"]}}",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        same(lines[i]);
}

static void manifests_written_every_way(void **state)
{
    (void)state;
    static const char *const plain[] = {
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\",\"" T2 "\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\": [ \t\r\n ]}}",
        /* Whitespace everywhere, tokens first, body first, contract hours and client facts. */
        "{ \"body\" : { \"tokens\" :\n[ \"" T1 "\" ,\n\t\"" T2 "\" ] , \"client_id\" : \"C-1\" ,"
        " \"batch_id\" : \"b\", \"contract_notice_hours\": 24, \"client_facts\": {\"systems\":"
        "[\"individual_number_utilization\"], \"appi_persons\": 7} } , \"type\" : "
        "\"exposure_manifest\", \"event_id\":\"E-1\",\"incident_id\":\"INC-1\",\"tenant\":\"bpo\","
        "\"occurred_at\":\"2026-11-18T10:01:00+09:00\"}",
        /* Other keys with nested values before body (skipped structurally). */
        "{\"event_id\":\"E-1\",\"x\":{\"body\":{\"tokens\":[1]}},\"body\":{\"client_id\":\"C\","
        "\"batch_id\":\"b\",\"tokens\":[\"" T1 "\"]}}",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        assert_true(same(plain[i]) || i == 4);
    /* Not plain: the generic path's event or error, and the fast path must not take them. */
    static const char *const other[] = {
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\",\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
             "abcdef\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\",\"0123\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\", 7]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tok\\u0065ns\":[\"" T1 "\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"\\u0030123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
             "\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":null}}",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        assert_false(same(other[i]));
    /* Plain arrays the rest of which jansson refuses, or the event's checks do. */
    static const char *const refused[] = {
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\"],\"tokens\":[\"" T2 "\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\"]},\"body\":{}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C 1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"batch_id\":\"b\",\"tokens\":[\"" T1
             "\"]}}",
        HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\",\"batch_id\":\"b\","
             "\"tokens\":[\"" T1 "\"]}} trailing",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_true(same(refused[i]));
}

/* The largest manifest a message holds (about 15,800 tokens). */
static void a_large_manifest(void **state)
{
    (void)state;
    enum { N = 15000 };
    size_t cap = N * 70 + 512, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n,
                          HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\","
                               "\"batch_id\":\"b\",\"tokens\":[");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"%s\"", i ? "," : "", i % 2 ? T1 : T2);
    n += (size_t)snprintf(text + n, cap - n, "]}}");
    assert_true(same_both_ways(text, n));
    free(text);
}

/* Every prefix of a manifest line, and each byte replaced by characters that matter to JSON. */
static void truncations_and_flips(void **state)
{
    (void)state;
    const char *line = HEAD "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\","
                            "\"batch_id\":\"b\",\"tokens\":[\"" T1 "\", \"" T2 "\"],"
                            "\"contract_notice_hours\":12}}";
    size_t len = strlen(line);
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    for (size_t cut = 0; cut <= len; cut++)
        same_both_ways(line, cut);
    static const char flips[] = "\"\\{}[],: 0aA\x01\xff";
    size_t fast = 0;
    for (size_t at = 0; at < len; at++)
        for (size_t f = 0; f < sizeof flips - 1; f++) {
            memcpy(copy, line, len + 1);
            copy[at] = flips[f];
            fast += same_both_ways(copy, len);
        }
    assert_true(fast > 0);
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_kind_of_event),
        cmocka_unit_test(manifests_written_every_way),
        cmocka_unit_test(a_large_manifest),
        cmocka_unit_test(truncations_and_flips),
    };
    return cmocka_run_group_tests_name("events_json_fast", tests, NULL, NULL);
}
