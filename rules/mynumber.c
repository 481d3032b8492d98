/*
 * mynumber: see mynumber.h. The check digit follows the ordinance (行政手続における特定の個人を
 * 識別するための番号の利用等に関する法律の規定による通知カード及び個人番号カード並びに情報
 * 提供ネットワークシステムによる特定個人情報の提供等に関する省令 Art. 5): with P(n) the n-th
 * digit counted from the right of the first eleven and Q(n) = n + 1 for n <= 6, n - 5 for
 * n >= 7, the check digit is 0 when the sum of P(n)Q(n) mod 11 is 0 or 1, else 11 minus it.
 */
#include "rules/mynumber.h"

#include <string.h>

#define MYNUMBER_DIGITS 12
#define MYNUMBER_SEPARATORS_MAX 3 /* characters between two groups */

int mynumber_check_digit(const int digits[11])
{
    int sum = 0;
    for (int n = 1; n <= 11; n++) {
        int p = digits[11 - n];
        int q = n <= 6 ? n + 1 : n - 5;
        sum += p * q;
    }
    int r = sum % 11;
    return r <= 1 ? 0 : 11 - r;
}

static bool digits_valid(const int d[MYNUMBER_DIGITS])
{
    return mynumber_check_digit(d) == d[11];
}

bool mynumber_is_valid(const char *text)
{
    int d[MYNUMBER_DIGITS];
    if (strlen(text) != MYNUMBER_DIGITS) return false;
    for (int i = 0; i < MYNUMBER_DIGITS; i++) {
        if (text[i] < '0' || text[i] > '9') return false;
        d[i] = text[i] - '0';
    }
    return digits_valid(d);
}

/* Reads one digit at text[i]: ASCII, or full-width (U+FF10..U+FF19, EF BC 90..99 in UTF-8).
 * Returns its byte length, 0 when there is none. */
static size_t digit_at(const char *text, size_t len, size_t i, int *value)
{
    const unsigned char *s = (const unsigned char *)text;
    if (i < len && s[i] >= '0' && s[i] <= '9') {
        *value = s[i] - '0';
        return 1;
    }
    if (i + 2 < len && s[i] == 0xEF && s[i + 1] == 0xBC && s[i + 2] >= 0x90 && s[i + 2] <= 0x99) {
        *value = s[i + 2] - 0x90;
        return 3;
    }
    return 0;
}

/* The characters a person types between the 4-digit groups (UTF-8), besides ASCII space, tab,
 * '-', '.', ',', '/' and '_': kana input's long vowel mark (the usual slip for a hyphen), every
 * Unicode hyphen and dash and the minus sign, full-width and small forms, no-break and other
 * spaces, zero-width characters (invisible: they must not hide a number), middle dots, and the
 * ideographic comma. */
static const char *const mynumber_separators[] = {
    "\u00A0", /* no-break space */
    "\u00B7", /* middle dot */
    "\u2000", "\u2001", "\u2002", "\u2003", "\u2004", "\u2005",
    "\u2006", "\u2007", "\u2008", "\u2009", "\u200A",           /* en quad .. hair space */
    "\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF",           /* zero-width, word joiner, BOM */
    "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2015", /* hyphen .. bar */
    "\u2212",                                                   /* minus sign */
    "\u202F", "\u205F", /* narrow no-break space, medium mathematical space */
    "\u2500",           /* box drawing horizontal (an IME's conversion of a dash) */
    "\u3000",           /* ideographic space */
    "\u3001",           /* ideographic comma */
    "\u30FB",           /* katakana middle dot */
    "\u30FC",           /* katakana-hiragana prolonged sound mark */
    "\uFE58", "\uFE63", /* small em dash, small hyphen-minus */
    "\uFF0C", "\uFF0D", "\uFF0E", "\uFF0F", /* full-width , - . / */
    "\uFF3F",                               /* full-width low line */
    "\uFF65", "\uFF70", /* half-width middle dot, half-width prolonged sound mark */
};

/* Reads one separator character at text[i]; returns its byte length, 0 when there is none. */
static size_t separator_at(const char *text, size_t len, size_t i)
{
    if (i >= len) return 0;
    if (strchr(" \t-.,/_", text[i]) && text[i] != '\0') return 1;
    for (size_t k = 0; k < sizeof mynumber_separators / sizeof mynumber_separators[0]; k++) {
        size_t n = strlen(mynumber_separators[k]);
        if (i + n <= len && memcmp(text + i, mynumber_separators[k], n) == 0) return n;
    }
    return 0;
}

/* Tries to read a My Number starting at `start`, either as 12 digits in a row or as 4-4-4
 * groups with one to MYNUMBER_SEPARATORS_MAX separator characters between groups (any mix:
 * "1234 - 5678"). Returns true when 12 digits were read and no digit follows them. */
static bool read_number(const char *text, size_t len, size_t start, int d[MYNUMBER_DIGITS])
{
    for (int grouped = 0; grouped <= 1; grouped++) {
        size_t i = start;
        int n = 0;
        bool ok = true;
        while (n < MYNUMBER_DIGITS && ok) {
            if (grouped && n > 0 && n % 4 == 0) {
                size_t seps = 0, w;
                while (seps < MYNUMBER_SEPARATORS_MAX && (w = separator_at(text, len, i)) > 0) {
                    i += w;
                    seps++;
                }
                if (seps == 0) break;
            }
            size_t w = digit_at(text, len, i, &d[n]);
            if (w == 0) ok = false;
            i += w;
            n++;
        }
        int next;
        if (ok && n == MYNUMBER_DIGITS && digit_at(text, len, i, &next) == 0) return true;
    }
    return false;
}

bool mynumber_find(const char *text, size_t len, size_t *at)
{
    int d[MYNUMBER_DIGITS];
    bool after_digit = false;
    for (size_t i = 0; i < len;) {
        int v;
        size_t w = digit_at(text, len, i, &v);
        if (w == 0) {
            after_digit = false;
            i++;
            continue;
        }
        /* Only a run that does not continue earlier digits can start a number. */
        if (!after_digit && read_number(text, len, i, d) && digits_valid(d)) {
            if (at) *at = i;
            return true;
        }
        after_digit = true;
        i += w;
    }
    return false;
}

/* True when every character of the token is a decimal digit. */
static bool token_all_digits(const char *token, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (token[i] < '0' || token[i] > '9') return false;
    return true;
}

/* True when the characters around the run at token[at..at+12) take at most two values. */
static bool token_padded(const char *token, size_t len, size_t at)
{
    char seen[2];
    size_t kinds = 0;
    for (size_t i = 0; i < len; i++) {
        if (i >= at && i < at + MYNUMBER_DIGITS) continue;
        if ((kinds > 0 && token[i] == seen[0]) || (kinds > 1 && token[i] == seen[1])) continue;
        if (kinds == 2) return false;
        seen[kinds++] = token[i];
    }
    return true;
}

/* One pass over the token: a window is looked at only when its twelve characters are digits
 * (the run of digits ending at i is twelve long or more), which a random token seldom has, so
 * the scan costs one test per character (ingest and mni produce run it on every token of every
 * manifest). The run is counted without a branch: in random hex, digit or not is a coin toss
 * that a branch predictor misses about every third character, which cost more than the rest. */
bool mynumber_in_token(const char *token, size_t len)
{
    size_t run = 0; /* digits ending at token[i] */
    for (size_t i = 0; i < len; i++) {
        size_t digit = (unsigned char)(token[i] - '0') <= 9;
        run = (run + 1) & (0 - digit);
        if (run < MYNUMBER_DIGITS) continue;
        size_t at = i + 1 - MYNUMBER_DIGITS;
        int d[MYNUMBER_DIGITS];
        bool same = true;
        for (size_t k = 0; k < MYNUMBER_DIGITS; k++) {
            d[k] = token[at + k] - '0';
            same = same && d[k] == d[0];
        }
        if (same || !digits_valid(d)) continue;
        if (token_all_digits(token, len) || token_padded(token, len, at)) return true;
    }
    return false;
}
