/*
 * headcount: see headcount.h.
 */
#include "rules/headcount.h"

#include "rules/rules.h"

int64_t rules_client_persons(int64_t reported, int64_t tokens)
{
    return reported > tokens ? reported : tokens;
}

int64_t rules_client_persons_max(int64_t reported_max, int64_t persons)
{
    return reported_max != RULES_ABSENT && reported_max >= persons ? reported_max : RULES_ABSENT;
}
