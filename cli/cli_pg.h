/*
 * cli_pg: how the `mni` subcommands that read PostgreSQL find it: --conninfo, else
 * MNI_PG_CONNINFO, else the env file the embedded environment writes ($MNI_ENV_DIR/env, else
 * .mni-env/env), so `mni cases` works right after `make demo` without exporting anything.
 */
#ifndef MNI_CLI_PG_H
#define MNI_CLI_PG_H

#include <libpq-fe.h>
#include <stddef.h>

/* Connects; NULL with a message naming where it looked. */
PGconn *cli_pg_connect(const char *conninfo_option, char *err, size_t errlen);

#endif
