/*
 * cli_pg: how the `mni` subcommands that read PostgreSQL find it: --conninfo, else
 * MNI_PG_CONNINFO, else the env file the embedded environment writes ($MNI_ENV_DIR/env, else
 * .mni-env/env), so `mni cases` works right after `make demo` without exporting anything.
 * And who the connection is: a client role sees its client's part of a case (cli_pg_client_of).
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

/* Who the connection is (migration 0040): 1 a client role of `mni db client-role` (its client
 * id into client, its role name into role), 0 any other role (its name into role), -1 (err).
 * Commands that read a case show a client role only its client's part of it. */
int cli_pg_client_of(PGconn *pg, char *client, size_t clientlen, char *role, size_t rolelen,
                     char *err, size_t errlen);

/* After a query failed: when PostgreSQL refused it for lack of privilege (SQLSTATE 42501),
 * rewrites err into one line naming the role and what it may do instead, and returns 1; 0
 * (err untouched) for any other failure. what: what was read, "the cases". */
int cli_pg_explain_denied(const char *role, const char *what, char *err, size_t errlen);

#endif
