/*
 * pgx: the thin libpq layer every worker and the CLI use: connect, run statements, transactions,
 * prepared statements, COPY, pipelines (libpq pipeline mode), and the schema migration runner.
 *
 * Error idiom: every function returns 0 on success and -1 on failure (pointer-returning ones
 * NULL), and writes one line into the caller's buffer (err, errlen): the statement's name, the
 * server's primary message, its detail and hint when present, and the SQLSTATE, e.g.
 *
 *   "offsets.advance: duplicate key value violates unique constraint "consumer_offsets_pkey"
 *    (Key (group_id, topic, partition)=(g, t, 0) already exists.) [SQLSTATE 23505]"
 *
 * The SQLSTATE of the last failure on this thread is also kept (pgx_last_sqlstate) so a caller
 * can tell a retryable conflict (40001 serialization failure, 40P01 deadlock) from a bug
 * without parsing text. Every libpq result is checked and cleared here; callers only ever own
 * the PGresult that pgx_query returns (PQclear it).
 *
 * Statement names: each call takes a short name ("ingest.insert_events") that appears in
 * errors and logs; with pgx_prepare it is also the prepared statement's name.
 *
 * Transactions: pgx_begin/pgx_commit/pgx_rollback. pgx_commit fails when the server turned the
 * COMMIT into a ROLLBACK (a statement in the transaction had failed), which plain PQexec would
 * report as success. pgx_rollback outside a transaction is a no-op.
 *
 * Statements with parameters (pgx_exec_params, pgx_query, pgx_query_binary) are prepared once
 * per server session and SQL text, behind the caller's back, and executed by name afterwards
 * (pgx_query_replanned is the exception: planned at every execution);
 * the cache is per thread and notices a reset connection by its new backend. (Behind a
 * transaction-pooling proxy such as PgBouncer in transaction mode, use session pooling.)
 *
 * Connections are not thread-safe (libpq); one PGconn per thread. Session state a caller may
 * rely on after pgx_connect: client_encoding UTF8, application_name as given, and notices
 * (RAISE NOTICE, warnings) routed to the structured log instead of raw stderr lines.
 *
 * Migrations: lib/pg/migrate.h.
 */
#ifndef MNI_PGX_H
#define MNI_PGX_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* ---- connections ---- */

/* Connects; NULL on failure with a message that names the target (host, port, dbname, user;
 * never the password) and libpq's reason. application_name may be NULL ("mni"). */
PGconn *pgx_connect(const char *conninfo, const char *application_name, char *err, size_t errlen);
/* pgx_connect with server settings for the session, in libpq's `options` form ("-c
 * synchronous_commit=off"; NULL or "" for none), added after the connection string's own
 * options so that they win over them. Sent at every connection, PQreset's included. */
PGconn *pgx_connect_with(const char *conninfo, const char *application_name, const char *settings,
                         char *err, size_t errlen);
/* PQfinish; NULL is fine. */
void pgx_close(PGconn *conn);
/* Writes "host=... port=... dbname=... user=..." of conninfo (password left out) into out;
 * -1 if conninfo does not parse. For messages. */
int pgx_conninfo_describe(const char *conninfo, char *out, size_t outlen);
/* Rewrites conninfo with keyword `key` set to value (e.g. dbname), into out as a keyword=value
 * string with values quoted as libpq requires; works for both the keyword and the URI form. */
int pgx_conninfo_set(const char *conninfo, const char *key, const char *value, char *out,
                     size_t outlen, char *err, size_t errlen);
/* The SQLSTATE of this thread's last failed pgx call ("" when the failure had none, e.g. a
 * lost connection). */
const char *pgx_last_sqlstate(void);
/* True when the last failure was a serialization failure or deadlock: retry the transaction. */
int pgx_last_retryable(void);
/* Called on the failing thread with the SQLSTATE of every failed statement ("" when there is
 * none: a lost connection, no answer) and of every failed connection attempt (""): for counting
 * errors (the workers' mni_postgres_errors_total). Process-wide; set it once at start, before
 * other threads use pgx. NULL (the default): nothing is called. */
typedef void (*pgx_error_hook)(void *arg, const char *sqlstate);
void pgx_set_error_hook(pgx_error_hook hook, void *arg);

/* ---- statements ---- */

/* Runs sql (one or more statements, no parameters) and discards the result. */
int pgx_exec(PGconn *conn, const char *name, const char *sql, char *err, size_t errlen);
/* Runs one statement with text parameters ($1..$n; NULL is SQL NULL). *rows (may be NULL)
 * receives the number of rows affected or returned, e.g. 0 for a fenced compare-and-set. */
int pgx_exec_params(PGconn *conn, const char *name, const char *sql, int nparams,
                    const char *const *params, long long *rows, char *err, size_t errlen);
/* Runs one query with text parameters; returns its result (PGRES_TUPLES_OK; the caller
 * PQclears it) or NULL. */
/* pgx_query with every result column in binary (bytea as its raw bytes; text as its bytes,
 * NUL-terminated by libpq): for large results that C reads field by field. */
PGresult *pgx_query_binary(PGconn *conn, const char *name, const char *sql, int nparams,
                           const char *const *params, char *err, size_t errlen);
PGresult *pgx_query(PGconn *conn, const char *name, const char *sql, int nparams,
                    const char *const *params, char *err, size_t errlen);

/* pgx_query for a statement run once per batch or tick that joins tables which grow: sent
 * unnamed, so PostgreSQL plans it at every execution with the tables' sizes of the moment. A
 * prepared statement keeps the plan it got first, made while the tables were empty (a
 * nested loop over a sequential scan that took seconds once the tables were full). */
PGresult *pgx_query_replanned(PGconn *conn, const char *name, const char *sql, int nparams,
                              const char *const *params, char *err, size_t errlen);

/* Prepares sql as statement `name` on this connection (again after every reconnect). */
int pgx_prepare(PGconn *conn, const char *name, const char *sql, int nparams, char *err,
                size_t errlen);
/* pgx_exec_params / pgx_query for a prepared statement. */
int pgx_exec_prepared(PGconn *conn, const char *name, int nparams, const char *const *params,
                      long long *rows, char *err, size_t errlen);
PGresult *pgx_query_prepared(PGconn *conn, const char *name, int nparams, const char *const *params,
                             char *err, size_t errlen);

/* ---- transactions ---- */

int pgx_begin(PGconn *conn, char *err, size_t errlen);
int pgx_commit(PGconn *conn, char *err, size_t errlen);
int pgx_rollback(PGconn *conn, char *err, size_t errlen);

/* ---- COPY FROM STDIN (text format) ----
 *
 *   pgx_copy cp;
 *   if (pgx_copy_begin(&cp, conn, "ingest.copy_tokens",
 *                      "COPY stage_tokens (incident_id, token) FROM STDIN", err, len)) fail;
 *   for each row: pgx_copy_field(&cp, incident); pgx_copy_field(&cp, "\\x0a1b...");
 *                 pgx_copy_end_row(&cp);
 *   if (pgx_copy_end(&cp, &rows, err, len)) fail;      (or pgx_copy_abort on the way out)
 *
 * Fields are escaped for the text format (backslash, tab, newline, carriage return), so any
 * UTF-8 string goes through unchanged; NULL is SQL NULL. A bytea value is written as its text
 * form ("\x" + hex), which the escaping carries through. Data is buffered (64 KiB) between
 * PQputCopyData calls. The first failure is sticky: later field/row calls do nothing and
 * return -1, and pgx_copy_end reports it. pgx_copy_end or pgx_copy_abort must be called
 * exactly once after a successful begin; they free the buffer. */
typedef struct {
    PGconn *conn;
    const char *name;
    char *buf;
    size_t len, cap;
    long long rows;
    int fields_in_row;
    int failed;
    int binary; /* pgx_copy_begin_binary: rows of pgx_copy_bin_* fields */
    char msg[512];
} pgx_copy;

int pgx_copy_begin(pgx_copy *cp, PGconn *conn, const char *name, const char *sql, char *err,
                   size_t errlen);
int pgx_copy_field(pgx_copy *cp, const char *value);
int pgx_copy_field_len(pgx_copy *cp, const char *value, size_t len);
int pgx_copy_field_int(pgx_copy *cp, long long value);
int pgx_copy_end_row(pgx_copy *cp);
/* Ends the COPY; *rows (may be NULL) receives the rows the server stored. */
int pgx_copy_end(pgx_copy *cp, long long *rows, char *err, size_t errlen);
/* Abandons the COPY (the server discards it and the transaction is left failed). */
int pgx_copy_abort(pgx_copy *cp, const char *reason, char *err, size_t errlen);

/* ---- COPY FROM STDIN (binary format) ----
 *
 * The same pgx_copy for a "COPY ... FROM STDIN (FORMAT binary)": no text escaping and no
 * parsing of each value on the server (a bytea goes as its bytes, an integer as 4 bytes), for
 * staging many rows. Each row is pgx_copy_bin_row(n) then exactly n fields; values travel in
 * network byte order as PostgreSQL's binary send functions define them. pgx_copy_end writes
 * the trailer. */
int pgx_copy_begin_binary(pgx_copy *cp, PGconn *conn, const char *name, const char *sql, char *err,
                          size_t errlen);
int pgx_copy_bin_row(pgx_copy *cp, int n_fields);
int pgx_copy_bin_bytes(pgx_copy *cp, const void *data, size_t len); /* bytea, text */
int pgx_copy_bin_int4(pgx_copy *cp, int32_t value);                 /* integer */
int pgx_copy_bin_int8(pgx_copy *cp, int64_t value);                 /* bigint */
int pgx_copy_bin_bool(pgx_copy *cp, int value);                     /* boolean */

/* ---- pipelines (libpq pipeline mode) ----
 *
 *   pgx_pipeline pl;
 *   if (pgx_pipeline_send(&pl, conn, n, sqls, binary, err, len) == 0)
 *       for each statement i: res = pgx_pipeline_next(&pl, names[i], err, len);
 *                             if (!res) break; ...; PQclear(res);
 *   if (pgx_pipeline_end(&pl, err, len)) fail;          (always, whatever happened before)
 *
 * Statements without parameters are sent at once, with a sync point after them: the server
 * runs each as soon as the one before has finished, without a round trip, while the caller
 * handles the results before. They run in order and in the caller's transaction, as one by
 * one would run them; the first that fails makes the server skip the rest (the transaction is
 * then failed, as after any failed statement). pgx_pipeline_next returns the next statement's
 * result checked like pgx_query's (NULL: err and pgx_last_sqlstate say why; a statement that
 * was skipped or never sent is a failure too). pgx_pipeline_end reads what is left up to the
 * sync point and leaves pipeline mode, so the connection takes ordinary calls again. */
typedef struct {
    PGconn *conn;
    size_t sent, taken; /* statements sent; results handed out or failed */
    int synced;         /* the sync point went out */
} pgx_pipeline;

int pgx_pipeline_send(pgx_pipeline *pl, PGconn *conn, size_t n, const char *const *sqls,
                      const int *binary, char *err, size_t errlen);
PGresult *pgx_pipeline_next(pgx_pipeline *pl, const char *name, char *err, size_t errlen);
int pgx_pipeline_end(pgx_pipeline *pl, char *err, size_t errlen);

#endif
