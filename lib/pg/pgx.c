/*
 * pgx: thin libpq helpers; the contract is in pgx.h (the migration runner is migrate.c).
 *
 * Two sections: statements and transactions (every PGresult is checked and cleared before
 * returning, except the one pgx_query hands over) and COPY (a growable buffer of escaped text
 * flushed with PQputCopyData).
 *
 * What an error message carries: the statement name, the server's primary message, its DETAIL
 * (unless it is "Failing row contains (...)", which repeats a whole row, free-text columns
 * included, and so must not reach logs), its HINT and the SQLSTATE.
 */
#include "lib/pg/pgx.h"
#include "lib/pg/pgx_int.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/errbuf.h"
#include "lib/base/log.h"

#define PGX_COPY_FLUSH (64 * 1024)
#define PGX_COPY_SLICE (32 * 1024) /* bytes of a long value escaped at a time */

_Thread_local char pgx_sqlstate[6];
static pgx_error_hook pgx_hook;
static void *pgx_hook_arg;

void pgx_set_error_hook(pgx_error_hook hook, void *arg)
{
    pgx_hook = hook;
    pgx_hook_arg = arg;
}

/* Copies s into out with newlines and tabs folded to single spaces and the ends trimmed:
 * libpq messages end in '\n' and some span lines ("...failed: ...\n\tIs the server..."). */
static void pgx_one_line(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    bool space = false;
    if (!outlen) return;
    for (; s && *s && n + 1 < outlen; s++) {
        if (*s == '\n' || *s == '\t' || *s == '\r' || *s == ' ') {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < outlen) out[n++] = ' ';
        space = false;
        out[n++] = *s;
    }
    out[n] = '\0';
}

/* The error of a failed result (res may be NULL: then the connection's message). */
void pgx_result_error(PGconn *conn, const PGresult *res, const char *name, char *err, size_t errlen)
{
    char primary[1024], detail[1024] = "", hint[512] = "";
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(pgx_sqlstate, sizeof pgx_sqlstate, "%s", state ? state : "");
    if (pgx_hook) pgx_hook(pgx_hook_arg, pgx_sqlstate);
    if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
        pgx_one_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), primary, sizeof primary);
        const char *d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        const char *h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        if (d && strncmp(d, "Failing row contains", 20) != 0) {
            char tmp[1000];
            pgx_one_line(d, tmp, sizeof tmp);
            snprintf(detail, sizeof detail, " (%s)", tmp);
        }
        if (h) {
            char tmp[490];
            pgx_one_line(h, tmp, sizeof tmp);
            snprintf(hint, sizeof hint, " hint: %s", tmp);
        }
    } else if (res && PQresultStatus(res) != PGRES_FATAL_ERROR &&
               PQresultStatus(res) != PGRES_NONFATAL_ERROR) {
        snprintf(primary, sizeof primary, "unexpected result %s", PQresStatus(PQresultStatus(res)));
    } else {
        pgx_one_line(PQerrorMessage(conn), primary, sizeof primary);
        if (!*primary) snprintf(primary, sizeof primary, "no result from the server");
    }
    if (*pgx_sqlstate)
        errbuf_fail(err, errlen, "%s: %s%s%s [SQLSTATE %s]", name, primary, detail, hint,
                    pgx_sqlstate);
    else
        errbuf_fail(err, errlen, "%s: %s%s%s", name, primary, detail, hint);
}

const char *pgx_last_sqlstate(void)
{
    return pgx_sqlstate;
}

int pgx_last_retryable(void)
{
    return !strcmp(pgx_sqlstate, "40001") || !strcmp(pgx_sqlstate, "40P01");
}

/* ---- connections ---- */

/* Server notices (RAISE NOTICE, "relation already exists, skipping") go to the log: warnings
 * at warn, the rest at debug. */
static void pgx_notice(void *arg, const PGresult *res)
{
    (void)arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    log_level level = severity && !strcmp(severity, "WARNING") ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG;
    log_write(level, "postgresql notice", LOG_STR("severity", severity), LOG_STR("message", msg),
              LOG_STR("sqlstate", PQresultErrorField(res, PG_DIAG_SQLSTATE)), LOG_END);
}

int pgx_conninfo_describe(const char *conninfo, char *out, size_t outlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    if (!opts) {
        PQfreemem(perr);
        snprintf(out, outlen, "(connection string does not parse)");
        return -1;
    }
    static const char *const shown[] = {"host", "hostaddr", "port", "dbname", "user"};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        for (PQconninfoOption *o = opts; o->keyword; o++)
            if (!strcmp(o->keyword, shown[i]) && o->val && *o->val && n < outlen) {
                int w = snprintf(out + n, outlen - n, "%s%s=%s", n ? " " : "", o->keyword, o->val);
                n = w < 0 ? outlen : n + (size_t)w;
            }
    if (!out[0]) snprintf(out, outlen, "libpq defaults");
    PQconninfoFree(opts);
    return 0;
}

/* Appends keyword='value' with the quoting libpq's keyword form requires. */
static int pgx_conninfo_append(char *out, size_t outlen, size_t *n, const char *key,
                               const char *value)
{
    int w = snprintf(out + *n, outlen - *n, "%s%s='", *n ? " " : "", key);
    if (w < 0 || (size_t)w >= outlen - *n) return -1;
    *n += (size_t)w;
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\') {
            if (*n + 1 >= outlen) return -1;
            out[(*n)++] = '\\';
        }
        if (*n + 1 >= outlen) return -1;
        out[(*n)++] = *p;
    }
    if (*n + 2 > outlen) return -1;
    out[(*n)++] = '\'';
    out[*n] = '\0';
    return 0;
}

int pgx_conninfo_set(const char *conninfo, const char *key, const char *value, char *out,
                     size_t outlen, char *err, size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    if (!opts) {
        char msg[512];
        pgx_one_line(perr, msg, sizeof msg);
        PQfreemem(perr);
        errbuf_fail(err, errlen, "connection string does not parse: %s", msg);
        return -1;
    }
    size_t n = 0;
    int rc = 0;
    bool found = false;
    if (outlen) out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword && rc == 0; o++) {
        const char *v = o->val;
        if (!strcmp(o->keyword, key)) {
            v = value;
            found = true;
        }
        if (v && *v) rc = pgx_conninfo_append(out, outlen, &n, o->keyword, v);
    }
    PQconninfoFree(opts);
    if (rc == 0 && !found) {
        errbuf_fail(err, errlen, "'%s' is not a libpq connection keyword", key);
        return -1;
    }
    if (rc != 0) {
        errbuf_fail(err, errlen, "connection string longer than %zu bytes", outlen);
        return -1;
    }
    return 0;
}

/* The connection string's own libpq `options` (server settings, "-c name=value ...") followed
 * by settings, into out; -1 when conninfo does not parse or out is too small. */
static int pgx_server_options(const char *conninfo, const char *settings, char *out, size_t outlen,
                              char *err, size_t errlen)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    if (!opts) {
        errbuf_fail(err, errlen, "cannot parse the PostgreSQL connection string: %s",
                    perr ? perr : "out of memory");
        PQfreemem(perr);
        return -1;
    }
    const char *own = "";
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "options") && o->val) own = o->val;
    int n = snprintf(out, outlen, "%s%s%s", own, *own ? " " : "", settings);
    PQconninfoFree(opts);
    if (n < 0 || (size_t)n >= outlen) {
        errbuf_fail(err, errlen, "PostgreSQL connection options longer than %zu bytes", outlen);
        return -1;
    }
    return 0;
}

PGconn *pgx_connect(const char *conninfo, const char *application_name, char *err, size_t errlen)
{
    return pgx_connect_with(conninfo, application_name, NULL, err, errlen);
}

PGconn *pgx_connect_with(const char *conninfo, const char *application_name, const char *settings,
                         char *err, size_t errlen)
{
    /* application_name comes before dbname so that the connection string can override it;
     * client_encoding comes after so that it cannot (everything here is UTF-8). The settings
     * come after, too, appended to the string's own options (the last -c of a name wins): libpq
     * sends them at every connection, PQreset's included, so they outlive reconnects, which a
     * SET would not. */
    char options[1024];
    const char *keys[] = {"application_name", "dbname", "client_encoding", NULL, NULL};
    const char *vals[] = {application_name ? application_name : "mni", conninfo ? conninfo : "",
                          "UTF8", NULL, NULL};
    if (settings && *settings) {
        if (pgx_server_options(conninfo, settings, options, sizeof options, err, errlen) != 0)
            return NULL;
        keys[3] = "options";
        vals[3] = options;
    }
    char target[512], reason[1024];
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        errbuf_fail(err, errlen, "cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        pgx_conninfo_describe(conninfo, target, sizeof target);
        pgx_one_line(PQerrorMessage(conn), reason, sizeof reason);
        errbuf_fail(err, errlen, "cannot connect to PostgreSQL (%s): %s", target, reason);
        pgx_sqlstate[0] = '\0';
        if (pgx_hook) pgx_hook(pgx_hook_arg, pgx_sqlstate);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, pgx_notice, NULL);
    return conn;
}

static void pgx_forget_statements(const PGconn *conn);

void pgx_close(PGconn *conn)
{
    if (!conn) return;
    pgx_forget_statements(conn);
    PQfinish(conn);
}

/* ---- statements ---- */

/* Checks res against the wanted statuses; clears it unless keep; 0 or -1. */
int pgx_check(PGconn *conn, PGresult *res, const char *name, bool keep, char *err, size_t errlen)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        if (!keep) PQclear(res);
        return 0;
    }
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        errbuf_fail(err, errlen, "%s: statement started a COPY; use pgx_copy_begin", name);
        pgx_sqlstate[0] = '\0';
        PQclear(res);
        /* Leave the connection usable: end or drain the COPY, then read its results. */
        bool ended = false;
        if (st == PGRES_COPY_IN) {
            ended = PQputCopyEnd(conn, "not expected") == 1;
        } else if (st == PGRES_COPY_OUT) {
            char *row;
            int n;
            while ((n = PQgetCopyData(conn, &row, 0)) > 0)
                PQfreemem(row);
            ended = n == -1;
        }
        if (ended) {
            PGresult *r;
            while ((r = PQgetResult(conn)) != NULL)
                PQclear(r);
        }
        return -1;
    }
    pgx_result_error(conn, res, name, err, errlen);
    PQclear(res);
    return -1;
}

static long long pgx_rows(const PGresult *res)
{
    if (PQresultStatus(res) == PGRES_TUPLES_OK) return PQntuples(res);
    const char *t = PQcmdTuples((PGresult *)res);
    return t && *t ? atoll(t) : 0;
}

int pgx_exec(PGconn *conn, const char *name, const char *sql, char *err, size_t errlen)
{
    return pgx_check(conn, PQexec(conn, sql), name, false, err, errlen);
}

/* Shared tail of the parameterized calls: check, count rows, clear. */
static int pgx_finish_exec(PGconn *conn, PGresult *res, const char *name, long long *rows,
                           char *err, size_t errlen)
{
    if (pgx_check(conn, res, name, true, err, errlen) != 0) return -1;
    if (rows) *rows = pgx_rows(res);
    PQclear(res);
    return 0;
}

/* ---- statements prepared once per connection ----
 *
 * Every parameterized statement is parsed and planned once per server session: the first run
 * of a SQL text on a connection prepares it under a generated name, later runs execute that
 * name. The cache is per thread (a PGconn belongs to one thread) and keyed by the connection,
 * its backend's process id (a reset connection is a new session without the old statements)
 * and the exact SQL text, so a caller never names or invalidates anything. When the cache is
 * full, or the prepare itself fails, the statement runs unnamed as before. */

#define PGX_STMT_CACHE 256

typedef struct {
    const PGconn *conn;
    int backend_pid;
    uint64_t hash;
    char *sql;
    char name[24];
} pgx_stmt;

/* This thread's cache, allocated on first use and freed when the thread exits (a key's
 * destructor: the relay's thread ends before the process). */
static _Thread_local pgx_stmt *pgx_stmts;
/* Names unique in the process: a connection may be handed from one thread to another. */
static _Atomic unsigned pgx_stmt_serial;
static pthread_key_t pgx_stmts_key;
static pthread_once_t pgx_stmts_once = PTHREAD_ONCE_INIT;

static void pgx_stmts_free(void *cache)
{
    pgx_stmt *c = cache;
    for (size_t i = 0; i < PGX_STMT_CACHE; i++)
        free(c[i].sql);
    free(c);
}

static void pgx_stmts_key_init(void)
{
    if (pthread_key_create(&pgx_stmts_key, pgx_stmts_free) != 0) abort();
}

static pgx_stmt *pgx_stmt_cache(void)
{
    if (!pgx_stmts) {
        pthread_once(&pgx_stmts_once, pgx_stmts_key_init);
        pgx_stmts = calloc(PGX_STMT_CACHE, sizeof *pgx_stmts);
        if (pgx_stmts && pthread_setspecific(pgx_stmts_key, pgx_stmts) != 0) {
            free(pgx_stmts);
            pgx_stmts = NULL;
        }
    }
    return pgx_stmts;
}

static uint64_t pgx_sql_hash(const char *sql)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

/* The prepared name of sql on conn (preparing it the first time), or NULL: run it unnamed.
 * A prepare the server refuses (a syntax error, a missing relation) hands its result to
 * *failed: that is the statement's error, as running it would have given. */
static const char *pgx_prepared_name(PGconn *conn, const char *sql, int nparams, PGresult **failed)
{
    *failed = NULL;
    int pid = PQbackendPID(conn);
    if (pid == 0 || PQtransactionStatus(conn) == PQTRANS_INERROR) return NULL;
    pgx_stmt *cache = pgx_stmt_cache();
    if (!cache) return NULL;
    uint64_t h = pgx_sql_hash(sql);
    size_t start = (size_t)(h % PGX_STMT_CACHE), free_slot = PGX_STMT_CACHE;
    for (size_t k = 0; k < PGX_STMT_CACHE; k++) {
        pgx_stmt *st = &cache[(start + k) % PGX_STMT_CACHE];
        if (!st->sql) {
            free_slot = (start + k) % PGX_STMT_CACHE;
            break;
        }
        if (st->conn == conn && st->backend_pid == pid && st->hash == h && !strcmp(st->sql, sql))
            return st->name;
        if (st->conn == conn && st->backend_pid != pid) { /* a session gone: reuse its slot */
            free(st->sql);
            st->sql = NULL;
            free_slot = (start + k) % PGX_STMT_CACHE;
            break;
        }
    }
    if (free_slot == PGX_STMT_CACHE) return NULL;
    pgx_stmt *st = &cache[free_slot];
    snprintf(st->name, sizeof st->name, "mni_%u", ++pgx_stmt_serial);
    PGresult *res = PQprepare(conn, st->name, sql, nparams, NULL);
    if (res && PQresultStatus(res) == PGRES_FATAL_ERROR) {
        *failed = res;
        return NULL;
    }
    int ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok || !(st->sql = strdup(sql))) return NULL; /* run unnamed */
    st->conn = conn;
    st->backend_pid = pid;
    st->hash = h;
    return st->name;
}

/* Forgets the statements of conn (it is being closed: its address may be reused). */
static void pgx_forget_statements(const PGconn *conn)
{
    if (!pgx_stmts) return;
    for (size_t i = 0; i < PGX_STMT_CACHE; i++)
        if (pgx_stmts[i].sql && pgx_stmts[i].conn == conn) {
            free(pgx_stmts[i].sql);
            pgx_stmts[i].sql = NULL;
        }
}

static PGresult *pgx_run(PGconn *conn, const char *sql, int nparams, const char *const *params,
                         int binary)
{
    PGresult *failed;
    const char *name = pgx_prepared_name(conn, sql, nparams, &failed);
    if (failed) return failed;
    if (name) return PQexecPrepared(conn, name, nparams, params, NULL, NULL, binary);
    return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, binary);
}

int pgx_exec_params(PGconn *conn, const char *name, const char *sql, int nparams,
                    const char *const *params, long long *rows, char *err, size_t errlen)
{
    PGresult *res = pgx_run(conn, sql, nparams, params, 0);
    return pgx_finish_exec(conn, res, name, rows, err, errlen);
}

PGresult *pgx_query(PGconn *conn, const char *name, const char *sql, int nparams,
                    const char *const *params, char *err, size_t errlen)
{
    PGresult *res = pgx_run(conn, sql, nparams, params, 0);
    return pgx_check(conn, res, name, true, err, errlen) == 0 ? res : NULL;
}

PGresult *pgx_query_replanned(PGconn *conn, const char *name, const char *sql, int nparams,
                              const char *const *params, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    return pgx_check(conn, res, name, true, err, errlen) == 0 ? res : NULL;
}

PGresult *pgx_query_binary(PGconn *conn, const char *name, const char *sql, int nparams,
                           const char *const *params, char *err, size_t errlen)
{
    PGresult *res = pgx_run(conn, sql, nparams, params, 1);
    return pgx_check(conn, res, name, true, err, errlen) == 0 ? res : NULL;
}

int pgx_prepare(PGconn *conn, const char *name, const char *sql, int nparams, char *err,
                size_t errlen)
{
    return pgx_check(conn, PQprepare(conn, name, sql, nparams, NULL), name, false, err, errlen);
}

int pgx_exec_prepared(PGconn *conn, const char *name, int nparams, const char *const *params,
                      long long *rows, char *err, size_t errlen)
{
    PGresult *res = PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
    return pgx_finish_exec(conn, res, name, rows, err, errlen);
}

PGresult *pgx_query_prepared(PGconn *conn, const char *name, int nparams, const char *const *params,
                             char *err, size_t errlen)
{
    PGresult *res = PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
    return pgx_check(conn, res, name, true, err, errlen) == 0 ? res : NULL;
}

/* ---- transactions ---- */

int pgx_begin(PGconn *conn, char *err, size_t errlen)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        errbuf_fail(err, errlen, "begin: the connection is %s",
                    PQstatus(conn) != CONNECTION_OK ? "broken" : "already in a transaction");
        pgx_sqlstate[0] = '\0';
        return -1;
    }
    return pgx_exec(conn, "begin", "BEGIN", err, errlen);
}

int pgx_commit(PGconn *conn, char *err, size_t errlen)
{
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR) {
        errbuf_fail(err, errlen, "commit: %s",
                    ts == PQTRANS_IDLE ? "no transaction in progress" : "the connection is broken");
        pgx_sqlstate[0] = '\0';
        return -1;
    }
    PGresult *res = PQexec(conn, "COMMIT");
    if (pgx_check(conn, res, "commit", true, err, errlen) != 0) return -1;
    /* The server answers COMMIT in a failed transaction with ROLLBACK, not an error. */
    bool rolled_back = strcmp(PQcmdStatus(res), "COMMIT") != 0;
    PQclear(res);
    if (rolled_back) {
        errbuf_fail(err, errlen, "commit: the transaction had failed and was rolled back");
        snprintf(pgx_sqlstate, sizeof pgx_sqlstate, "25P02");
        return -1;
    }
    return 0;
}

int pgx_rollback(PGconn *conn, char *err, size_t errlen)
{
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    if (ts == PQTRANS_IDLE) return 0;
    if (ts == PQTRANS_UNKNOWN || ts == PQTRANS_ACTIVE) {
        errbuf_fail(err, errlen, "rollback: the connection is %s",
                    ts == PQTRANS_ACTIVE ? "busy" : "broken");
        pgx_sqlstate[0] = '\0';
        return -1;
    }
    return pgx_exec(conn, "rollback", "ROLLBACK", err, errlen);
}

/* ---- COPY ---- */

static int pgx_copy_fail(pgx_copy *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int pgx_copy_fail(pgx_copy *cp, const char *fmt, ...)
{
    if (!cp->failed) {
        va_list ap;
        va_start(ap, fmt);
        errbuf_vfail(cp->msg, sizeof cp->msg, fmt, ap);
        va_end(ap);
        cp->failed = 1;
    }
    return -1;
}

static int pgx_copy_reserve(pgx_copy *cp, size_t more)
{
    if (cp->len + more <= cp->cap) return 0;
    size_t cap = cp->cap;
    while (cap < cp->len + more)
        cap *= 2;
    char *n = realloc(cp->buf, cap);
    if (!n) return pgx_copy_fail(cp, "%s: out of memory buffering COPY data", cp->name);
    cp->buf = n;
    cp->cap = cap;
    return 0;
}

static int pgx_copy_flush(pgx_copy *cp)
{
    if (cp->failed) return -1;
    /* In pieces of at most PGX_COPY_FLUSH: libpq grows its output buffer to the largest piece
     * it is given and keeps it for the connection's life (a row of a large case's record was
     * a megabyte); the server joins COPY data cut anywhere. */
    for (size_t at = 0; at < cp->len; at += PGX_COPY_FLUSH) {
        size_t n = cp->len - at < PGX_COPY_FLUSH ? cp->len - at : PGX_COPY_FLUSH;
        if (PQputCopyData(cp->conn, cp->buf + at, (int)n) != 1) {
            char reason[400];
            pgx_one_line(PQerrorMessage(cp->conn), reason, sizeof reason);
            return pgx_copy_fail(cp, "%s: sending COPY data failed: %s", cp->name, reason);
        }
    }
    cp->len = 0;
    return 0;
}

int pgx_copy_begin(pgx_copy *cp, PGconn *conn, const char *name, const char *sql, char *err,
                   size_t errlen)
{
    memset(cp, 0, sizeof *cp);
    cp->conn = conn;
    cp->name = name;
    PGresult *res = PQexec(conn, sql);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        if (res &&
            (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)) {
            errbuf_fail(err, errlen, "%s: statement is not a COPY ... FROM STDIN", name);
            pgx_sqlstate[0] = '\0';
        } else {
            pgx_result_error(conn, res, name, err, errlen);
        }
        PQclear(res);
        return -1;
    }
    PQclear(res);
    cp->cap = PGX_COPY_FLUSH + 1024;
    cp->buf = malloc(cp->cap);
    if (!cp->buf) {
        /* The server is in COPY mode; end it so the connection stays usable. */
        if (PQputCopyEnd(conn, "out of memory") == 1) {
            PGresult *r;
            while ((r = PQgetResult(conn)) != NULL)
                PQclear(r);
        }
        errbuf_fail(err, errlen, "%s: out of memory", name);
        return -1;
    }
    return 0;
}

/* Appends value[0..len) in COPY's text escaping. */
static int pgx_copy_escape(pgx_copy *cp, const char *value, size_t len)
{
    /* Worst case: every byte escaped to two. */
    if (pgx_copy_reserve(cp, 2 * len) != 0) return -1;
    char *out = cp->buf + cp->len;
    for (size_t i = 0; i < len; i++) {
        char c = value[i];
        switch (c) {
        case '\\':
            *out++ = '\\';
            *out++ = '\\';
            break;
        case '\n':
            *out++ = '\\';
            *out++ = 'n';
            break;
        case '\r':
            *out++ = '\\';
            *out++ = 'r';
            break;
        case '\t':
            *out++ = '\\';
            *out++ = 't';
            break;
        case '\0':
            return pgx_copy_fail(cp, "%s: field %d holds a NUL byte, which text cannot carry",
                                 cp->name, cp->fields_in_row);
        default:
            *out++ = c;
        }
    }
    cp->len = (size_t)(out - cp->buf);
    return 0;
}

int pgx_copy_field_len(pgx_copy *cp, const char *value, size_t len)
{
    if (cp->failed) return -1;
    /* Separator and \N at most; the value follows in slices. */
    if (pgx_copy_reserve(cp, 3) != 0) return -1;
    if (cp->fields_in_row++) cp->buf[cp->len++] = '\t';
    if (!value) {
        memcpy(cp->buf + cp->len, "\\N", 2);
        cp->len += 2;
        return 0;
    }
    /* A long value (a large case's record) is escaped and sent a slice at a time, so the
     * buffer stays near PGX_COPY_FLUSH instead of twice the largest value: COPY data may be
     * cut anywhere, even inside a field. */
    for (size_t at = 0; at < len; at += PGX_COPY_SLICE) {
        size_t n = len - at < PGX_COPY_SLICE ? len - at : PGX_COPY_SLICE;
        if (pgx_copy_escape(cp, value + at, n) != 0) return -1;
        if (len > PGX_COPY_SLICE && cp->len >= PGX_COPY_FLUSH && pgx_copy_flush(cp) != 0) return -1;
    }
    return 0;
}

int pgx_copy_field(pgx_copy *cp, const char *value)
{
    return pgx_copy_field_len(cp, value, value ? strlen(value) : 0);
}

int pgx_copy_field_int(pgx_copy *cp, long long value)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", value);
    return pgx_copy_field(cp, num);
}

int pgx_copy_end_row(pgx_copy *cp)
{
    if (cp->failed || pgx_copy_reserve(cp, 1) != 0) return -1;
    cp->buf[cp->len++] = '\n';
    cp->fields_in_row = 0;
    cp->rows++;
    return cp->len >= PGX_COPY_FLUSH ? pgx_copy_flush(cp) : 0;
}

/* Reads the results that follow the end of a COPY; the first is the COPY's own. */
static int pgx_copy_results(pgx_copy *cp, long long *rows, char *err, size_t errlen)
{
    PGresult *res = PQgetResult(cp->conn);
    int rc = pgx_check(cp->conn, res, cp->name, true, err, errlen);
    if (rc == 0) {
        if (rows) *rows = pgx_rows(res);
        PQclear(res);
    }
    while ((res = PQgetResult(cp->conn)) != NULL)
        PQclear(res);
    return rc;
}

int pgx_copy_begin_binary(pgx_copy *cp, PGconn *conn, const char *name, const char *sql, char *err,
                          size_t errlen)
{
    /* Signature, flags (no OIDs), header extension length: COPY's binary file header. */
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    if (pgx_copy_begin(cp, conn, name, sql, err, errlen) != 0) return -1;
    cp->binary = 1;
    memcpy(cp->buf, header, sizeof header);
    cp->len = sizeof header;
    return 0;
}

static void pgx_put_be(char *out, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        out[i] = (char)(v & 0xff);
}

int pgx_copy_bin_row(pgx_copy *cp, int n_fields)
{
    if (cp->failed || pgx_copy_reserve(cp, 2) != 0) return -1;
    pgx_put_be(cp->buf + cp->len, (uint32_t)n_fields, 2);
    cp->len += 2;
    cp->rows++;
    return 0;
}

int pgx_copy_bin_bytes(pgx_copy *cp, const void *data, size_t len)
{
    if (cp->failed) return -1;
    if (len > INT32_MAX) return pgx_copy_fail(cp, "%s: a COPY value is over 2 GiB", cp->name);
    if (pgx_copy_reserve(cp, 4 + len) != 0) return -1;
    pgx_put_be(cp->buf + cp->len, (uint32_t)len, 4);
    memcpy(cp->buf + cp->len + 4, data, len);
    cp->len += 4 + len;
    return cp->len >= PGX_COPY_FLUSH ? pgx_copy_flush(cp) : 0;
}

int pgx_copy_bin_int4(pgx_copy *cp, int32_t value)
{
    char be[4];
    pgx_put_be(be, (uint32_t)value, 4);
    return pgx_copy_bin_bytes(cp, be, 4);
}

int pgx_copy_bin_int8(pgx_copy *cp, int64_t value)
{
    char be[8];
    pgx_put_be(be, (uint64_t)value, 8);
    return pgx_copy_bin_bytes(cp, be, 8);
}

int pgx_copy_bin_bool(pgx_copy *cp, int value)
{
    char b = value ? 1 : 0;
    return pgx_copy_bin_bytes(cp, &b, 1);
}

int pgx_copy_end(pgx_copy *cp, long long *rows, char *err, size_t errlen)
{
    int rc;
    if (cp->fields_in_row && !cp->failed)
        pgx_copy_fail(cp, "%s: the last row was not ended with pgx_copy_end_row", cp->name);
    if (cp->binary && !cp->failed && pgx_copy_reserve(cp, 2) == 0) {
        pgx_put_be(cp->buf + cp->len, 0xffff, 2); /* the trailer: a field count of -1 */
        cp->len += 2;
    }
    pgx_copy_flush(cp);
    if (cp->failed) {
        /* The server answers the abandoned COPY with an error of its own; ours is the news. */
        char ignored[256];
        if (PQputCopyEnd(cp->conn, cp->msg) == 1)
            pgx_copy_results(cp, NULL, ignored, sizeof ignored);
        errbuf_fail(err, errlen, "%s", cp->msg);
        pgx_sqlstate[0] = '\0';
        rc = -1;
    } else if (PQputCopyEnd(cp->conn, NULL) != 1) {
        pgx_result_error(cp->conn, NULL, cp->name, err, errlen);
        rc = -1;
    } else {
        rc = pgx_copy_results(cp, rows, err, errlen);
    }
    free(cp->buf);
    cp->buf = NULL;
    return rc;
}

int pgx_copy_abort(pgx_copy *cp, const char *reason, char *err, size_t errlen)
{
    int rc = 0;
    char ignored[256];
    if (PQputCopyEnd(cp->conn, reason ? reason : "aborted by the client") != 1) {
        pgx_result_error(cp->conn, NULL, cp->name, err, errlen);
        rc = -1;
    } else {
        /* The server answers an aborted COPY with an error: that is the expected outcome. */
        pgx_copy_results(cp, NULL, ignored, sizeof ignored);
    }
    free(cp->buf);
    cp->buf = NULL;
    return rc;
}

/* ---- pipelines ---- */

int pgx_pipeline_send(pgx_pipeline *pl, PGconn *conn, size_t n, const char *const *sqls,
                      const int *binary, char *err, size_t errlen)
{
    *pl = (pgx_pipeline){.conn = conn};
    pgx_sqlstate[0] = '\0';
    if (PQenterPipelineMode(conn) != 1) {
        pgx_one_line(PQerrorMessage(conn), err, errlen);
        return -1;
    }
    /* A flush request after each statement: the server otherwise keeps a finished statement's
     * last bytes in its output buffer until the next statement's output pushes them out, and
     * the caller would get each result only once the next statement is done. */
    while (pl->sent < n &&
           PQsendQueryParams(conn, sqls[pl->sent], 0, NULL, NULL, NULL, NULL, binary[pl->sent]) ==
               1 &&
           PQsendFlushRequest(conn) == 1)
        pl->sent++;
    pl->synced = PQpipelineSync(conn) == 1;
    if (pl->sent == n && pl->synced) return 0;
    pgx_one_line(PQerrorMessage(conn), err, errlen);
    return -1;
}

PGresult *pgx_pipeline_next(pgx_pipeline *pl, const char *name, char *err, size_t errlen)
{
    if (pl->taken >= pl->sent) {
        errbuf_fail(err, errlen, "%s: not sent", name);
        pgx_sqlstate[0] = '\0';
        return NULL;
    }
    pl->taken++;
    PGresult *res = PQgetResult(pl->conn), *more;
    while ((more = PQgetResult(pl->conn)) != NULL) /* a statement's results end with NULL */
        PQclear(more);
    if (res && PQresultStatus(res) == PGRES_PIPELINE_ABORTED) {
        errbuf_fail(err, errlen, "%s: skipped after an earlier statement of its pipeline failed",
                    name);
        pgx_sqlstate[0] = '\0';
        PQclear(res);
        return NULL;
    }
    return pgx_check(pl->conn, res, name, true, err, errlen) == 0 ? res : NULL;
}

int pgx_pipeline_end(pgx_pipeline *pl, char *err, size_t errlen)
{
    PGconn *conn = pl->conn;
    if (!pl->synced) pl->synced = PQpipelineSync(conn) == 1;
    /* The results of the statements not taken (each ended by a NULL), then the sync point's;
     * PQgetResult waits for them. The bound only guards against a libpq that would answer NULL
     * forever. */
    size_t nulls = 0, bound = 2 * (pl->sent - pl->taken) + 8;
    while (pl->synced && PQstatus(conn) == CONNECTION_OK && nulls <= bound) {
        PGresult *res = PQgetResult(conn);
        if (!res) {
            nulls++;
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        PQclear(res);
        if (st == PGRES_PIPELINE_SYNC) break;
    }
    pl->taken = pl->sent;
    if (PQexitPipelineMode(conn) == 1) return 0;
    errbuf_fail(err, errlen, "leaving pipeline mode: %s; reconnecting",
                PQstatus(conn) == CONNECTION_OK ? "results are still pending"
                                                : "the connection is broken");
    pgx_sqlstate[0] = '\0';
    /* A connection left in pipeline mode would refuse every later call: start a new session
     * (the transaction is lost, as the caller's failure implies anyway). */
    PQreset(conn);
    return -1;
}
