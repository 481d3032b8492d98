/*
 * test_json_text: json_text_indent2 and json_text_compact write what jansson's
 * json_dumps(JSON_INDENT(2)) and json_dumps(JSON_COMPACT) write, byte for byte (the stored
 * documents' bytes and hashes depend on it).
 *
 *   fixed_cases      empty containers, nesting, every escape, keys with escapes and a NUL,
 *                    integer extremes, reals, literals.
 *   generated_trees  5,000 random trees (seeded: the same every run) of every JSON type, with
 *                    strings drawn from ASCII, control bytes, quotes, backslashes, slashes, DEL
 *                    and two-, three- and four-byte UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/model/json_text.h"
#include "tests/support/testrand.h"

static void assert_same_text(json_t *json)
{
    assert_non_null(json);
    for (int compact = 0; compact < 2; compact++) {
        char *ours = compact ? json_text_compact(json) : json_text_indent2(json);
        char *theirs = json_dumps(json, compact ? JSON_COMPACT : JSON_INDENT(2));
        assert_non_null(ours);
        assert_non_null(theirs);
        if (strcmp(ours, theirs) != 0) fail_msg("json_text:\n%s\njansson:\n%s", ours, theirs);
        free(ours);
        free(theirs);
    }
    json_decref(json);
}

static void test_fixed_cases(void **state)
{
    (void)state;
    assert_same_text(json_object());
    assert_same_text(json_array());
    assert_same_text(json_pack("{s:{}, s:[], s:[[], {}], s:{s:{s:[i, i, {s:n}]}}}", "a", "b", "c",
                               "d", "e", "f", 1, 2, "g"));
    assert_same_text(json_pack("[s, s, s, s]", "\"quoted\" \\back\\ /slash/",
                               "\b\f\n\r\t\x01\x1f\x7f", "日本語 ✓ 😀", ""));
    json_t *keys = json_object();
    json_object_set_new(keys, "k\"ey\n", json_true());
    json_object_set_new(keys, "", json_false());
    json_object_setn_new(keys, "nul\0inside", 10, json_null());
    json_object_set_new(keys, "日本", json_integer(-1));
    assert_same_text(keys);
    assert_same_text(json_pack("[I, I, I, f, f, f, f]", (json_int_t)INT64_MAX,
                               (json_int_t)INT64_MIN, (json_int_t)0, 0.1, -2.5e-300, 1e21, 3.0));
    json_t *nul = json_array();
    json_array_append_new(nul, json_stringn("a\0b", 3));
    assert_same_text(nul);
}

static uint64_t rng = 0x6d6e692d6a736f6eULL;

static unsigned next(unsigned n)
{
    return testrand_below(&rng, n);
}

static json_t *random_string(void)
{
    static const char *const pieces[] = {"a",    "Z",  "0",  " ",  "\"", "\\", "/", "\x7f", "\x01",
                                         "\x1f", "\n", "\t", "\r", "\b", "\f", "é", "日",   "本",
                                         "😀",    "<",  "&",  "*",  "{",  "]",  ",", ":"};
    char text[64] = "";
    size_t len = 0, n = next(12);
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[next(sizeof pieces / sizeof pieces[0])];
        size_t k = strlen(p);
        if (len + k >= sizeof text) break;
        memcpy(text + len, p, k);
        len += k;
    }
    return json_stringn(text, len);
}

static json_t *random_value(int depth)
{
    switch (next(depth > 4 ? 6 : 8)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(next(2));
    case 2:
        return json_integer((json_int_t)(rng >> 1) * (next(2) ? 1 : -1) >> next(63));
    case 3:
        return json_real((double)(int64_t)rng / (double)(1 + next(1000000)));
    case 4:
    case 5:
        return random_string();
    case 6: {
        json_t *a = json_array();
        for (unsigned i = next(5); i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = next(5); i > 0; i--) {
            json_t *key = random_string();
            json_object_setn_new(o, json_string_value(key), json_string_length(key),
                                 random_value(depth + 1));
            json_decref(key);
        }
        return o;
    }
    }
}

static void test_generated_trees(void **state)
{
    (void)state;
    for (int i = 0; i < 5000; i++) {
        json_t *top = next(2) ? json_array() : json_object();
        for (unsigned k = next(6); k > 0; k--) {
            if (json_is_array(top))
                json_array_append_new(top, random_value(1));
            else {
                char key[16];
                snprintf(key, sizeof key, "k%u", k);
                json_object_set_new(top, key, random_value(1));
            }
        }
        assert_same_text(top);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_cases),
        cmocka_unit_test(test_generated_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
