/*
 * timefmt: RFC 3339 timestamps at the edges (JSON in, JSON out), and the one rounding of a
 * millisecond instant to its second. Pure.
 */
#ifndef MNI_TIMEFMT_H
#define MNI_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t', 'z' and a space for 'T' are
 * accepted as RFC 3339 §5.6 allows). The offset is required: a time without one is ambiguous
 * about the Japan day it falls on. Writes milliseconds since the epoch. Returns 0, or -1 with
 * the reason in err. */
int timefmt_parse_rfc3339(const char *text, int64_t *epoch_ms, char *err, size_t errlen);
/* Writes the instant in Japan time, "YYYY-MM-DDTHH:MM:SS+09:00" (26 bytes with the NUL). */
void timefmt_format_jst(int64_t epoch_seconds, char out[32]);
/* The same of a millisecond instant: the second that holds it (timefmt_ms_to_s). */
void timefmt_format_jst_ms(int64_t epoch_ms, char out[32]);
/* The second (since the epoch) that holds a millisecond instant: rounded down, before 1970
 * too, so that 23:59:59.9 stays on its day. Clocks and Japan days count whole seconds. */
int64_t timefmt_ms_to_s(int64_t epoch_ms);
/* Writes the instant in UTC with milliseconds, "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void timefmt_format_utc_ms(int64_t epoch_ms, char out[32]);

#endif
