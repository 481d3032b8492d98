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
