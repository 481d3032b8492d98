/*
 * offsets: see offsets.h.
 */
#include "lib/runtime/offsets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"

static const char OFFSETS_ADVANCE_SQL[] =
    "SELECT consumer_offset_advance($1, $2, $3::integer, $4::bigint, $5::bigint, $6)";

int offsets_advance(PGconn *pg, const char *group, const char *topic, int32_t partition,
                    int64_t expected, int64_t next, const char *digest, char *err, size_t errlen)
{
    char part[16], expected_s[32], next_s[32];
    snprintf(part, sizeof part, "%d", (int)partition);
    snprintf(expected_s, sizeof expected_s, "%lld", (long long)expected);
    snprintf(next_s, sizeof next_s, "%lld", (long long)next);
    const char *p[] = {group,  topic,
                       part,   expected < 0 ? NULL : expected_s,
                       next_s, digest && digest[0] ? digest : NULL};
    PGresult *res = pgx_query(pg, "offsets.advance", OFFSETS_ADVANCE_SQL, 6, p, err, errlen);
    if (!res) return -1;
    int moved = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    return moved;
}
