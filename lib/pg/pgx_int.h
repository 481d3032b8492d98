/*
 * pgx_int: what pgx.c shares with migrate.c and nobody else: the result check, the error
 * text of a failed result, and the SQLSTATE of this thread's last failure.
 */
#ifndef MNI_PGX_INT_H
#define MNI_PGX_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

/* Checks res against the wanted statuses; clears it unless keep; 0 or -1. */
int pgx_check(PGconn *conn, PGresult *res, const char *name, bool keep, char *err, size_t errlen);
/* Writes "NAME: message (DETAIL; HINT; SQLSTATE)" of a failed result into err. */
void pgx_result_error(PGconn *conn, const PGresult *res, const char *name, char *err,
                      size_t errlen);
/* The SQLSTATE of this thread's last failure ("" when the last call succeeded). */
extern _Thread_local char pgx_sqlstate[6];

#endif
