/*
 * sqlcheck: see sqlcheck.h.
 */
#include "tests/support/sqlcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/pg/pgx.h"

char *sqlcheck_text(PGconn *pg, const char *sql, const char *param)
{
    char err[1024];
    const char *p[] = {param};
    PGresult *res = pgx_query(pg, "test", sql, param ? 1 : 0, param ? p : NULL, err, sizeof err);
    if (!res) fail_msg("%s\n  in: %s", err, sql);
    char *out = strdup(PQntuples(res) && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return out;
}

void sqlcheck_equal(PGconn *pg, const char *sql, const char *param, const char *want)
{
    char *got = sqlcheck_text(pg, sql, param);
    if (strcmp(got, want) != 0)
        fail_msg("%s [%s]\n  want: %s\n  got:  %s", sql, param ? param : "", want, got);
    free(got);
}

long long sqlcheck_int(PGconn *pg, const char *sql, const char *param)
{
    char *text = sqlcheck_text(pg, sql, param);
    long long v = atoll(text);
    free(text);
    return v;
}
