/*
 * cli_pg: see cli_pg.h.
 */
#include "cli/cli_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"

/* Reads `export MNI_PG_CONNINFO=...` (optionally single-quoted) from an env file. */
static int from_env_file(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[2048];
    int found = -1;
    const char *key = "export MNI_PG_CONNINFO=";
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, strlen(key)) != 0) continue;
        char *v = line + strlen(key);
        v[strcspn(v, "\n")] = '\0';
        size_t len = strlen(v);
        if (len >= 2 && v[0] == '\'' && v[len - 1] == '\'') {
            v[len - 1] = '\0';
            v++;
        }
        snprintf(out, n, "%s", v);
        found = 0;
    }
    fclose(f);
    return found;
}

int cli_pg_conninfo(const char *conninfo_option, char *out, size_t outlen, char *err, size_t errlen)
{
    char path[1024];
    const char *conninfo = conninfo_option;
    if (!conninfo || !*conninfo) conninfo = getenv("MNI_PG_CONNINFO");
    if (conninfo && *conninfo) {
        snprintf(out, outlen, "%s", conninfo);
        return 0;
    }
    const char *dir = getenv("MNI_ENV_DIR");
    snprintf(path, sizeof path, "%s/env", dir && *dir ? dir : ".mni-env");
    if (from_env_file(path, out, outlen) == 0 && *out) return 0;
    snprintf(err, errlen,
             "no database: pass --conninfo, set MNI_PG_CONNINFO, or start the embedded "
             "environment (scripts/mni-env up, or make demo)");
    return -1;
}

PGconn *cli_pg_connect(const char *conninfo_option, char *err, size_t errlen)
{
    char conninfo[2048];
    if (cli_pg_conninfo(conninfo_option, conninfo, sizeof conninfo, err, errlen) != 0) return NULL;
    return pgx_connect(conninfo, "mni-cli", err, errlen);
}

int cli_pg_client_of(PGconn *pg, char *client, size_t clientlen, char *role, size_t rolelen,
                     char *err, size_t errlen)
{
    /* A role that may not read mni_client_roles is no client's (a client reads its own row). */
    PGresult *res = pgx_query(pg, "cli.role",
                              "SELECT current_user::text, has_table_privilege("
                              "'mni_client_roles', 'SELECT')",
                              0, NULL, err, errlen);
    if (!res) return -1;
    snprintf(role, rolelen, "%s", PQgetvalue(res, 0, 0));
    int may_read = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    client[0] = '\0';
    if (!may_read) return 0;
    if (!(res = pgx_query(pg, "cli.client_of", "SELECT mni_client_id()", 0, NULL, err, errlen)))
        return -1;
    int is_client = !PQgetisnull(res, 0, 0);
    if (is_client) snprintf(client, clientlen, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return is_client;
}

int cli_pg_explain_denied(const char *role, const char *what, char *err, size_t errlen)
{
    const char *state = pgx_last_sqlstate();
    if (!state || strcmp(state, "42501") != 0) return 0;
    snprintf(err, errlen,
             "role %s may not read %s: it is neither a client role (mni db client-role) nor one "
             "that sees every client (mni db bpo-role, mni_reader, the owner)",
             role, what);
    return 1;
}
