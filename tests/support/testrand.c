/*
 * testrand: see testrand.h.
 */
#include "tests/support/testrand.h"

uint64_t testrand_next(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

unsigned testrand_below(uint64_t *state, unsigned n)
{
    return (unsigned)(testrand_next(state) % n);
}
