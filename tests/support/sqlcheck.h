/*
 * sqlcheck: integration tests' questions to PostgreSQL. Each fails the current cmocka test with
 * the statement and the server's message when the query itself fails.
 */
#ifndef MNI_SQLCHECK_H
#define MNI_SQLCHECK_H

#include <libpq-fe.h>

/* The first column of the first row as text ("" when no row or NULL), malloc'd. param (may be
 * NULL) is $1. */
char *sqlcheck_text(PGconn *pg, const char *sql, const char *param);
/* sqlcheck_text(...) read as an integer (0 when no row or NULL). */
long long sqlcheck_int(PGconn *pg, const char *sql, const char *param);
/* Fails the test unless sqlcheck_text(...) equals want, showing both. */
void sqlcheck_equal(PGconn *pg, const char *sql, const char *param, const char *want);

#endif
