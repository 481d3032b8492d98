/*
 * mynumber: recognising raw My Numbers (個人番号) so that they can be refused.
 *
 * A My Number is 12 digits, the last a check digit over the first eleven (My Number Act
 * enforcement ordinance, 総務省令 Art. 5). The pipeline never stores or forwards one: producers
 * send person tokens. A text is suspect when it holds 12 digits with a valid check digit written
 * as one run or as 4-4-4 groups split by one space or hyphen, in ASCII or full-width digits, not
 * touching other digits. Pure: no allocation, no I/O.
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

#endif
