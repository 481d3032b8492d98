/*
 * mynumber: recognising raw My Numbers (個人番号) so that they can be refused.
 *
 * A My Number is 12 digits, the last a check digit over the first eleven (My Number Act
 * enforcement ordinance, 総務省令 Art. 5). The pipeline never stores or forwards one: producers
 * send person tokens. A text is suspect when it holds 12 digits with a valid check digit, in
 * ASCII or full-width digits (U+FF10..U+FF19), not touching other digits, written as one run or
 * as 4-4-4 groups with one to three separator characters between groups: anything a person
 * types there (space, tab, no-break and ideographic spaces, '-', '.', ',', '/', '_', every
 * Unicode hyphen and dash, the minus sign, kana input's ー, middle dots, full-width forms,
 * zero-width characters; the list is in mynumber.c), mixed or not.
 *
 * Person tokens are a separate question (mynumber_in_token): they are 64 hex digits, and a
 * random HMAC-SHA256 token holds a 12-digit run with a valid check digit about 0.28% of the
 * time, so a run alone proves nothing. A number padded into the token's shape does: a token is
 * refused when a valid 12-digit run sits in it and either every character of the token is a
 * decimal digit or the other 52 characters take at most two values ("<number>000...0",
 * "fff...<number>", "0<number>0..."); twelve equal digits are padding, not a number. For a random
 * token either happens with a probability below 10^-13. Pure: no allocation, no I/O.
 */
#ifndef MNI_MYNUMBER_H
#define MNI_MYNUMBER_H

#include <stdbool.h>
#include <stddef.h>

/* The check digit of the first eleven digits (each 0..9). */
int mynumber_check_digit(const int digits[11]);
/* True when text holds exactly 12 ASCII digits whose last is the right check digit. */
bool mynumber_is_valid(const char *text);
/* True when a valid My Number appears anywhere in text[0..len) in one of the written forms
 * above; *at (may be NULL) receives the byte offset of its first digit. */
bool mynumber_find(const char *text, size_t len, size_t *at);
/* True when the person token token[0..len) is a valid My Number padded into a token's shape
 * (see above). */
bool mynumber_in_token(const char *token, size_t len);

#endif
