/*
 * audit: see audit.h. The statement below is the only insert into audit_log in the code.
 */
#include "lib/runtime/audit.h"

#include <stdlib.h>

#include "lib/pg/pgx.h"
#include "lib/runtime/audit_anchor.h"

/* audit_log_append (migration 0096) reads the chain's head once and chains the rows in array
 * order, as the trigger would row by row; it returns the new head's seq (NULL for no rows). */
static const char *const append_sql =
    "SELECT jsonb_array_length($2::jsonb), audit_log_append($1, $2::jsonb)";

static int signed_after(PGconn *pg, long long rows, long long *appended, char *err, size_t errlen)
{
    if (appended) *appended = rows;
    return rows > 0 ? audit_anchor_sign(pg, err, errlen) : 0;
}

int audit_append(PGconn *pg, const char *actor, const char *rows_json, long long *appended,
                 char *err, size_t errlen)
{
    const char *p[] = {actor, rows_json};
    PGresult *res = pgx_query(pg, "audit.append", append_sql, 2, p, err, errlen);
    if (!res) return -1;
    long long rows = PQgetisnull(res, 0, 1) ? 0 : atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    return signed_after(pg, rows, appended, err, errlen);
}
