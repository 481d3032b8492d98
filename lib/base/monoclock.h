/*
 * monoclock: the programs' reading of CLOCK_MONOTONIC, for intervals, timeouts and pacing (never
 * for what a person reads: that is the wall clock, timefmt). Immune to the wall clock being
 * stepped.
 */
#ifndef MNI_MONOCLOCK_H
#define MNI_MONOCLOCK_H

#include <stdint.h>

/* Whole milliseconds since an unspecified start (the machine's boot). */
int64_t monoclock_ms(void);
/* The same with the fraction: for durations shorter than a millisecond (a batch's statements,
 * a pacing wait). */
double monoclock_ms_exact(void);

#endif
