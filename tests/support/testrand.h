/*
 * testrand: the tests' one pseudo-random generator (xorshift64, shifts 13, 7, 17). Each test
 * keeps its own state, seeded with a constant, so its generated data is the same every run.
 */
#ifndef MNI_TESTRAND_H
#define MNI_TESTRAND_H

#include <stdint.h>

/* Advances *state and returns it: the number drawn. */
uint64_t testrand_next(uint64_t *state);

/* A number in [0, n), n > 0. */
unsigned testrand_below(uint64_t *state, unsigned n);

#endif
