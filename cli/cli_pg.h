/*
 * cli_pg: how the `mni` subcommands that read PostgreSQL find it: --conninfo, else
 * MNI_PG_CONNINFO, else the env file the embedded environment writes ($MNI_ENV_DIR/env, else
 * .mni-env/env), so `mni cases` works right after `make demo` without exporting anything.
 */
#ifndef MNI_CLI_PG_H
#define MNI_CLI_PG_H

#include <libpq-fe.h>
#include <stddef.h>

/* The conninfo to use (the option, else MNI_PG_CONNINFO, else the env file) into out: 0, or -1
 * with a message naming where it looked. */
int cli_pg_conninfo(const char *conninfo_option, char *out, size_t outlen, char *err,
                    size_t errlen);
/* Connects; NULL with a message naming where it looked. */
PGconn *cli_pg_connect(const char *conninfo_option, char *err, size_t errlen);

#endif
