/*
 * audit: see audit.h. The two statements below are the only inserts into audit_log.
 */
#include "lib/runtime/audit.h"

#include <stdio.h>
#include <string.h>

#include "lib/base/errbuf.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/audit_anchor.h"

static const char *const append_sql =
    "INSERT INTO audit_log (actor, action, incident_id, client_id, payload) "
    "SELECT $1, r->>'action', r->>'incident_id', r->>'client_id', r->'payload' "
    "FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS a(r, n) ORDER BY n";

/* %s: the staging table. */
static const char *const append_staged_sql =
    "INSERT INTO audit_log (actor, action, incident_id, client_id, payload) "
    "SELECT actor, action, incident_id, client_id, payload FROM %s ORDER BY n";

/* The head of the chain is signed in the same transaction (migration 0041). */
static int signed_after(PGconn *pg, long long rows, long long *appended, char *err, size_t errlen)
{
    if (appended) *appended = rows;
    return rows > 0 ? audit_anchor_sign(pg, err, errlen) : 0;
}

int audit_append(PGconn *pg, const char *actor, const char *rows_json, long long *appended,
                 char *err, size_t errlen)
{
    const char *p[] = {actor, rows_json};
    long long rows = 0;
    if (pgx_exec_params(pg, "audit.append", append_sql, 2, p, &rows, err, errlen) != 0) return -1;
    return signed_after(pg, rows, appended, err, errlen);
}

int audit_append_staged(PGconn *pg, const char *staging_table, long long *appended, char *err,
                        size_t errlen)
{
    if (strspn(staging_table, "abcdefghijklmnopqrstuvwxyz_") != strlen(staging_table))
        return errbuf_fail(err, errlen, "audit: staging table %s: not a plain identifier",
                           staging_table);
    char sql[256];
    snprintf(sql, sizeof sql, append_staged_sql, staging_table);
    long long rows = 0;
    if (pgx_exec_params(pg, "audit.append_staged", sql, 0, NULL, &rows, err, errlen) != 0)
        return -1;
    return signed_after(pg, rows, appended, err, errlen);
}
