/*
 * Recognising raw My Numbers. Valid numbers are built here at run time from eleven digits and
 * their computed check digit; no valid number is written in this file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules/mynumber.h"
#include "tests/support/testrand.h"

/* Writes a valid My Number for the eleven digits of `seed` into out (13 bytes). */
static void make_valid(const char *seed, char out[13])
{
    int d[11];
    for (int i = 0; i < 11; i++)
        d[i] = seed[i] - '0';
    memcpy(out, seed, 11);
    out[11] = (char)('0' + mynumber_check_digit(d));
    out[12] = '\0';
}

/* The same number with a wrong check digit. */
static void make_invalid(const char *seed, char out[13])
{
    make_valid(seed, out);
    out[11] = (char)('0' + (out[11] - '0' + 1) % 10);
}

static void test_check_digit_matches_the_ordinance(void **state)
{
    (void)state;
    /* Hand-computed: digits 1..9,0,1 -> from the right P1=1 Q=2, P2=0 Q=3, P3=9 Q=4, P4=8 Q=5,
     * P5=7 Q=6, P6=6 Q=7, P7=5 Q=2, P8=4 Q=3, P9=3 Q=4, P10=2 Q=5, P11=1 Q=6:
     * 2+0+36+40+42+42+10+12+12+10+6 = 212; 212 mod 11 = 3; check = 11 - 3 = 8. */
    int d[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1};
    assert_int_equal(mynumber_check_digit(d), 8);
    /* Remainders 0 and 1 give 0: all zeros sum to 0. */
    int z[11] = {0};
    assert_int_equal(mynumber_check_digit(z), 0);
}

static void test_is_valid(void **state)
{
    (void)state;
    char valid[13], invalid[13];
    make_valid("27182818284", valid);
    make_invalid("27182818284", invalid);
    assert_true(mynumber_is_valid(valid));
    assert_false(mynumber_is_valid(invalid));
    assert_false(mynumber_is_valid("12345678901"));  /* 11 digits */
    assert_false(mynumber_is_valid("12345678901a")); /* not a digit */
    assert_false(mynumber_is_valid(""));
}

static void test_every_check_digit_is_the_only_valid_one(void **state)
{
    (void)state;
    char base[13];
    make_valid("16180339887", base);
    int valid_count = 0;
    for (char c = '0'; c <= '9'; c++) {
        base[11] = c;
        valid_count += mynumber_is_valid(base);
    }
    assert_int_equal(valid_count, 1);
}

typedef struct {
    const char *before, *after; /* text around the number */
    const char *sep;            /* NULL: one run; else the 4-4-4 separator */
    bool full_width;
    bool expect;
} find_case;

static void build(const find_case *c, const char *number, char *out, size_t n, size_t *at)
{
    char digits[64] = "";
    for (int i = 0; i < 12; i++) {
        if (c->sep && i > 0 && i % 4 == 0) strcat(digits, c->sep);
        if (c->full_width) {
            char fw[4] = {(char)0xEF, (char)0xBC, (char)(0x90 + number[i] - '0'), 0};
            strcat(digits, fw);
        } else {
            strncat(digits, &number[i], 1);
        }
    }
    snprintf(out, n, "%s%s%s", c->before, digits, c->after);
    *at = strlen(c->before);
}

static void test_find_in_text(void **state)
{
    (void)state;
    static const find_case cases[] = {
        {"", "", NULL, false, true},
        {"番号は", "です", NULL, false, true},
        {"id ", ", next", "-", false, true},
        {"id ", " end", " ", false, true},
        {"x", "y", NULL, true, true},            /* full-width digits */
        {"x", "y", "\xEF\xBC\x8D", true, true},  /* full-width hyphen */
        {"x", "y", "\xE3\x80\x80", false, true}, /* ideographic space */
        {"9", "", NULL, false, false},           /* a longer run of digits is not a number */
        {"", "0", NULL, false, false},
        /* Issue 8 item 2(c): what people type between the groups. */
        {"x", "y", "\u30FC", false, true}, /* ー, kana input's slip for a hyphen */
        {"x", "y", "\u30FC", true, true},  /* ... with full-width digits */
        {"x", "y", "\u2212", false, true}, /* − minus sign */
        {"x", "y", "\u2010", false, true}, /* ‐ hyphen */
        {"x", "y", "\u2013", true, true},  /* – en dash */
        {"x", "y", "\u2014", false, true}, /* — em dash */
        {"x", "y", ".", false, true},      /* . */
        {"x", "y", "\uFF0E", true, true},  /* ． full-width full stop */
        {"x", "y", "\u00A0", false, true}, /* no-break space */
        {"x", "y", "\t", false, true},     /* tab */
        {"x", "y", "\uFF70", false, true}, /* ｰ half-width prolonged sound mark */
        {"x", "y", "\u30FB", false, true}, /* ・ */
        {"x", "y", "/", false, true},      /* / */
        {"x", "y", "\u200B", false, true}, /* zero-width space: invisible */
        {"", "", "--", false, true},       /* two separators */
        {"", "", " - ", false, true},      /* spaced dash */
        {"", "", " \u30FC ", true, true},  /* spaced ー, full-width digits */
        {"", "", "    ", false, false},    /* four separators: not one number */
        {"", "", "a", false, false},       /* a letter is not a separator */
        {"", "", "\u4E00", false, false},  /* nor a kanji */
    };
    char valid[13];
    make_valid("14142135623", valid);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[256];
        size_t want_at, at = 999;
        build(&cases[i], valid, text, sizeof text, &want_at);
        bool found = mynumber_find(text, strlen(text), &at);
        if (found != cases[i].expect)
            fail_msg("case %zu: found=%d, want %d", i, found, cases[i].expect);
        if (found) assert_int_equal(at, want_at);
    }
}

static void test_find_ignores_wrong_check_digits(void **state)
{
    (void)state;
    char invalid[13], text[128];
    make_invalid("14142135623", invalid);
    snprintf(text, sizeof text, "order %s and %.4s-%.4s-%.4s", invalid, invalid, invalid + 4,
             invalid + 8);
    assert_false(mynumber_find(text, strlen(text), NULL));
    assert_false(mynumber_find("", 0, NULL));
    /* A cut-off full-width digit at the end of the buffer is read safely. */
    assert_false(mynumber_find("\xEF\xBC", 2, NULL));
}

static void test_find_after_a_near_miss(void **state)
{
    (void)state;
    char valid[13], invalid[13], text[128];
    make_valid("30000000001", valid);
    make_invalid("30000000001", invalid);
    snprintf(text, sizeof text, "%s %s", invalid, valid);
    size_t at;
    assert_true(mynumber_find(text, strlen(text), &at));
    assert_int_equal(at, 13);
}

/* Different separators in one number ("1234-5678 9012") are still one number. */
static void test_find_mixed_separators(void **state)
{
    (void)state;
    char valid[13], text[128];
    make_valid("57721566490", valid);
    snprintf(text, sizeof text, "tel %.4s\u30FC%.4s %.4s.", valid, valid + 4, valid + 8);
    size_t at;
    assert_true(mynumber_find(text, strlen(text), &at));
    assert_int_equal(at, 4);
}

/* A token built around a number: <number> then padding, padding then <number>, or inside. */
static void pad_token(char out[65], const char *number, size_t at, char fill1, char fill2)
{
    for (size_t i = 0; i < 64; i++)
        out[i] = i % 2 ? fill2 : fill1;
    memcpy(out + at, number, 12);
    out[64] = '\0';
}

/* Issue 8 item 2(d): a token that is a number followed by zeros is a raw number. */
static void test_token_holding_a_padded_number(void **state)
{
    (void)state;
    char valid[13], invalid[13], token[65];
    make_valid("69314718055", valid);
    make_invalid("69314718055", invalid);
    static const size_t places[] = {0, 1, 26, 52};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        pad_token(token, valid, places[i], '0', '0');
        assert_true(mynumber_in_token(token, 64));
        pad_token(token, valid, places[i], 'f', 'f');
        assert_true(mynumber_in_token(token, 64));
        pad_token(token, valid, places[i], 'a', '0'); /* two values alternating */
        assert_true(mynumber_in_token(token, 64));
        pad_token(token, invalid, places[i], 'f', 'e'); /* a wrong check digit */
        assert_false(mynumber_in_token(token, 64));
    }
    /* Twelve equal digits are padding, not a number: an all-zero token is not refused. */
    memset(token, '0', 64);
    assert_false(mynumber_in_token(token, 64));
    /* All decimal digits, the number somewhere inside. */
    pad_token(token, valid, 20, '1', '7');
    token[0] = '3';
    assert_true(mynumber_in_token(token, 64));
    /* Three padding values and a hex letter: a token's shape, not a padded number. */
    pad_token(token, valid, 0, 'a', '0');
    token[40] = 'b';
    assert_false(mynumber_in_token(token, 64));
}

/* Random tokens (what HMAC-SHA256 gives) hold valid-looking runs often, and are never refused:
 * 200,000 from a fixed-seed generator, of which a few hundred hold such a run. */
static void test_random_tokens_are_not_refused(void **state)
{
    (void)state;
    static const char hex[] = "0123456789abcdef";
    uint64_t x = 0x9E3779B97F4A7C15u;
    size_t with_run = 0;
    for (int t = 0; t < 200000; t++) {
        char token[65];
        for (int i = 0; i < 64; i++) {
            testrand_next(&x);
            token[i] = hex[x >> 60];
        }
        token[64] = '\0';
        with_run += mynumber_find(token, 64, NULL);
        if (mynumber_in_token(token, 64)) fail_msg("random token %d refused: %s", t, token);
    }
    /* The runs are there (so the test could fail): about 0.28% of random tokens. */
    assert_true(with_run > 100);
}

/* The first implementation of mynumber_in_token (every window of twelve looked at), kept as the
 * reference that the one-pass scan must agree with. */
static bool reference_in_token(const char *token, size_t len)
{
    bool all_digits = true;
    for (size_t i = 0; i < len; i++)
        if (token[i] < '0' || token[i] > '9') all_digits = false;
    for (size_t at = 0; at + 12 <= len; at++) {
        int d[12];
        bool run = true;
        for (size_t k = 0; k < 12 && run; k++) {
            run = token[at + k] >= '0' && token[at + k] <= '9';
            d[k] = token[at + k] - '0';
        }
        if (!run) continue;
        bool same = true;
        for (size_t k = 1; k < 12; k++)
            same = same && d[k] == d[0];
        if (same || mynumber_check_digit(d) != d[11]) continue;
        if (all_digits) return true;
        char seen[2];
        size_t kinds = 0;
        bool padding = true;
        for (size_t i = 0; i < len && padding; i++) {
            if (i >= at && i < at + 12) continue;
            if ((kinds > 0 && token[i] == seen[0]) || (kinds > 1 && token[i] == seen[1])) continue;
            if (kinds == 2)
                padding = false;
            else
                seen[kinds++] = token[i];
        }
        if (padding) return true;
    }
    return false;
}

/* The one-pass scan answers as the reference on tokens made to hold many digit runs: alphabets
 * of mostly digits, valid numbers planted at every place over two-value paddings, lengths
 * around twelve. */
static void test_token_scan_matches_the_reference(void **state)
{
    (void)state;
    static const char *const alphabets[] = {
        "0123456789abcdef", "0123456789a", "0123456789", "01", "0f", "7"};
    uint64_t x = 0x2545F4914F6CDD1Du;
    size_t refused = 0, total = 0;
    char valid[13];
    make_valid("69314718055", valid);
    for (size_t a = 0; a < sizeof alphabets / sizeof alphabets[0]; a++) {
        size_t n = strlen(alphabets[a]);
        for (int t = 0; t < 20000; t++) {
            char token[65];
            size_t len = t % 7 == 0 ? (size_t)(t / 7 % 20) : 64; /* short ones too */
            for (size_t i = 0; i < len; i++) {
                testrand_next(&x);
                token[i] = alphabets[a][(x >> 33) % n];
            }
            if (t % 3 == 0 && len >= 12) memcpy(token + (x >> 40) % (len - 11), valid, 12);
            token[len] = '\0';
            bool want = reference_in_token(token, len);
            if (mynumber_in_token(token, len) != want)
                fail_msg("token \"%s\": scan says %d, reference %d", token, !want, want);
            refused += want;
            total++;
        }
    }
    /* Both answers occur (so the comparison could fail either way). */
    assert_true(refused > 1000 && refused < total - 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_digit_matches_the_ordinance),
        cmocka_unit_test(test_is_valid),
        cmocka_unit_test(test_every_check_digit_is_the_only_valid_one),
        cmocka_unit_test(test_find_in_text),
        cmocka_unit_test(test_find_ignores_wrong_check_digits),
        cmocka_unit_test(test_find_after_a_near_miss),
        cmocka_unit_test(test_find_mixed_separators),
        cmocka_unit_test(test_token_holding_a_padded_number),
        cmocka_unit_test(test_random_tokens_are_not_refused),
        cmocka_unit_test(test_token_scan_matches_the_reference),
    };
    return cmocka_run_group_tests_name("mynumber", tests, NULL, NULL);
}
