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

/* A separator allowed between 4-digit groups: one space or hyphen, ASCII, or the full-width
 * hyphen-minus (U+FF0D) or ideographic space (U+3000). */
static size_t separator_at(const char *text, size_t len, size_t i)
{
    const unsigned char *s = (const unsigned char *)text;
    if (i < len && (s[i] == ' ' || s[i] == '-')) return 1;
    if (i + 2 < len && s[i] == 0xEF && s[i + 1] == 0xBC && s[i + 2] == 0x8D) return 3;
    if (i + 2 < len && s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x80) return 3;
    return 0;
}

/* Tries to read a My Number starting at `start`, either as 12 digits in a row or as 4-4-4
 * groups with one separator between groups (the same separator both times). Returns true when
 * 12 digits were read and no digit follows them. */
static bool read_number(const char *text, size_t len, size_t start, int d[MYNUMBER_DIGITS])
{
    for (int grouped = 0; grouped <= 1; grouped++) {
        size_t i = start;
        int n = 0;
        size_t first_sep = 0;
        bool ok = true;
        while (n < MYNUMBER_DIGITS && ok) {
            if (grouped && n > 0 && n % 4 == 0) {
                size_t sep = separator_at(text, len, i);
                if (sep == 0 || (first_sep && memcmp(text + i, text + first_sep, sep) != 0))
                    ok = false;
                if (!first_sep) first_sep = i;
                i += sep;
                if (!ok) break;
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
