/*
 * pgx: thin libpq helpers and the migration runner; the contract is in pgx.h.
 *
 * Three sections: statements and transactions (every PGresult is checked and cleared before
 * returning, except the one pgx_query hands over), COPY (a growable buffer of escaped text
 * flushed with PQputCopyData), and migrations (directory scan, sha256 per file, advisory lock,
 * one transaction per file).
 *
 * What an error message carries: the statement name, the server's primary message, its DETAIL
 * (unless it is "Failing row contains (...)", which repeats a whole row, free-text columns
 * included, and so must not reach logs), its HINT and the SQLSTATE.
 */
#include "lib/pg/pgx.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/log.h"

/* The key of the session advisory lock that serializes migration runners: "mni-migr". */
#define PGX_MIGRATE_LOCK_KEY 0x6d6e692d6d696772LL
#define PGX_COPY_FLUSH (64 * 1024)

static _Thread_local char pgx_sqlstate[6];
static pgx_error_hook pgx_hook;
static void *pgx_hook_arg;

void pgx_set_error_hook(pgx_error_hook hook, void *arg)
{
    pgx_hook = hook;
    pgx_hook_arg = arg;
}

static void pgx_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pgx_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
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
static void pgx_result_error(PGconn *conn, const PGresult *res, const char *name, char *err,
                             size_t errlen)
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
        pgx_errf(err, errlen, "%s: %s%s%s [SQLSTATE %s]", name, primary, detail, hint,
                 pgx_sqlstate);
    else
        pgx_errf(err, errlen, "%s: %s%s%s", name, primary, detail, hint);
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
        pgx_errf(err, errlen, "connection string does not parse: %s", msg);
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
        pgx_errf(err, errlen, "'%s' is not a libpq connection keyword", key);
        return -1;
    }
    if (rc != 0) {
        pgx_errf(err, errlen, "connection string longer than %zu bytes", outlen);
        return -1;
    }
    return 0;
}

PGconn *pgx_connect(const char *conninfo, const char *application_name, char *err, size_t errlen)
{
    /* application_name comes before dbname so that the connection string can override it;
     * client_encoding comes after so that it cannot (everything here is UTF-8). */
    const char *keys[] = {"application_name", "dbname", "client_encoding", NULL};
    const char *vals[] = {application_name ? application_name : "mni", conninfo ? conninfo : "",
                          "UTF8", NULL};
    char target[512], reason[1024];
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        pgx_errf(err, errlen, "cannot connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        pgx_conninfo_describe(conninfo, target, sizeof target);
        pgx_one_line(PQerrorMessage(conn), reason, sizeof reason);
        pgx_errf(err, errlen, "cannot connect to PostgreSQL (%s): %s", target, reason);
        pgx_sqlstate[0] = '\0';
        if (pgx_hook) pgx_hook(pgx_hook_arg, pgx_sqlstate);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, pgx_notice, NULL);
    return conn;
}

void pgx_close(PGconn *conn)
{
    if (conn) PQfinish(conn);
}

/* ---- statements ---- */

/* Checks res against the wanted statuses; clears it unless keep; 0 or -1. */
static int pgx_check(PGconn *conn, PGresult *res, const char *name, bool keep, char *err,
                     size_t errlen)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        if (!keep) PQclear(res);
        return 0;
    }
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
        pgx_errf(err, errlen, "%s: statement started a COPY; use pgx_copy_begin", name);
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

int pgx_exec_params(PGconn *conn, const char *name, const char *sql, int nparams,
                    const char *const *params, long long *rows, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    return pgx_finish_exec(conn, res, name, rows, err, errlen);
}

PGresult *pgx_query(PGconn *conn, const char *name, const char *sql, int nparams,
                    const char *const *params, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    return pgx_check(conn, res, name, true, err, errlen) == 0 ? res : NULL;
}

PGresult *pgx_query_binary(PGconn *conn, const char *name, const char *sql, int nparams,
                           const char *const *params, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 1);
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
        pgx_errf(err, errlen, "begin: the connection is %s",
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
        pgx_errf(err, errlen, "commit: %s",
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
        pgx_errf(err, errlen, "commit: the transaction had failed and was rolled back");
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
        pgx_errf(err, errlen, "rollback: the connection is %s",
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
        vsnprintf(cp->msg, sizeof cp->msg, fmt, ap);
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
    if (cp->len && PQputCopyData(cp->conn, cp->buf, (int)cp->len) != 1) {
        char reason[400];
        pgx_one_line(PQerrorMessage(cp->conn), reason, sizeof reason);
        return pgx_copy_fail(cp, "%s: sending COPY data failed: %s", cp->name, reason);
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
            pgx_errf(err, errlen, "%s: statement is not a COPY ... FROM STDIN", name);
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
        pgx_errf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    return 0;
}

int pgx_copy_field_len(pgx_copy *cp, const char *value, size_t len)
{
    if (cp->failed) return -1;
    /* Worst case: separator, then every byte escaped to two. */
    if (pgx_copy_reserve(cp, 1 + 2 * len + 2) != 0) return -1;
    char *out = cp->buf + cp->len;
    if (cp->fields_in_row++) *out++ = '\t';
    if (!value) {
        memcpy(out, "\\N", 2);
        out += 2;
    } else {
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
    }
    cp->len = (size_t)(out - cp->buf);
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

int pgx_copy_end(pgx_copy *cp, long long *rows, char *err, size_t errlen)
{
    int rc;
    if (cp->fields_in_row && !cp->failed)
        pgx_copy_fail(cp, "%s: the last row was not ended with pgx_copy_end_row", cp->name);
    pgx_copy_flush(cp);
    if (cp->failed) {
        /* The server answers the abandoned COPY with an error of its own; ours is the news. */
        char ignored[256];
        if (PQputCopyEnd(cp->conn, cp->msg) == 1)
            pgx_copy_results(cp, NULL, ignored, sizeof ignored);
        pgx_errf(err, errlen, "%s", cp->msg);
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

/* ---- migrations ---- */

typedef struct {
    char version[16]; /* the leading digits, e.g. "0003" */
    long number;      /* its value, the sort key */
    char file[256];   /* "0003_work.sql" */
    char sha256[65];  /* of the file's bytes */
    char *sql;        /* the file's content */
    size_t sql_len;
} pgx_migration;

typedef struct {
    pgx_migration *v;
    size_t n;
} pgx_migration_list;

static void pgx_migrations_free(pgx_migration_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].sql);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int pgx_migration_cmp(const void *a, const void *b)
{
    const pgx_migration *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

/* NNNN_name.sql: four or more digits, '_', lowercase letters, digits and '_'. */
static bool pgx_migration_name_ok(const char *name, size_t *digits)
{
    size_t n = strlen(name), d = 0;
    if (n < 5 || strcmp(name + n - 4, ".sql") != 0) return false;
    while (name[d] >= '0' && name[d] <= '9')
        d++;
    if (d < 4 || d > 9 || name[d] != '_' || d + 1 >= n - 4) return false;
    for (size_t i = d + 1; i < n - 4; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_'))
            return false;
    *digits = d;
    return true;
}

static int pgx_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) return -1;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

static int pgx_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pgx_errf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap);
            if (!nb) {
                pgx_errf(err, errlen, "%s: out of memory", path);
                rc = -1;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                pgx_errf(err, errlen, "cannot read %s: %s", path, strerror(errno));
                rc = -1;
            }
            break;
        }
    }
    fclose(f);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    if (memchr(buf, '\0', n)) {
        pgx_errf(err, errlen, "%s: holds a NUL byte; migrations are SQL text", path);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Lists dir's migrations in version order, with content and checksum. Files not ending in
 * .sql are ignored (a README may live there); a .sql file with another name is an error. */
static int pgx_migrations_scan(const char *dir, pgx_migration_list *out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    out->v = NULL;
    out->n = 0;
    if (!d) {
        pgx_errf(err, errlen, "cannot open migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    size_t cap = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t nlen = strlen(de->d_name), digits;
        if (nlen < 4 || strcmp(de->d_name + nlen - 4, ".sql") != 0) continue;
        if (!pgx_migration_name_ok(de->d_name, &digits) || nlen >= sizeof out->v->file) {
            pgx_errf(err, errlen,
                     "%s/%s: migration files are named NNNN_name.sql (digits, '_', lowercase "
                     "letters, digits and '_')",
                     dir, de->d_name);
            rc = -1;
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            pgx_migration *nv = realloc(out->v, cap * sizeof *nv);
            if (!nv) {
                pgx_errf(err, errlen, "out of memory listing %s", dir);
                rc = -1;
                break;
            }
            out->v = nv;
        }
        pgx_migration *m = &out->v[out->n];
        memset(m, 0, sizeof *m);
        memcpy(m->version, de->d_name, digits);
        m->number = strtol(m->version, NULL, 10);
        memcpy(m->file, de->d_name, nlen + 1);
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, m->file) >= (int)sizeof path) {
            pgx_errf(err, errlen, "%s/%s: path too long", dir, m->file);
            rc = -1;
            break;
        }
        if (pgx_read_file(path, &m->sql, &m->sql_len, err, errlen) != 0) {
            rc = -1;
            break;
        }
        out->n++;
        if (pgx_sha256_hex(m->sql, m->sql_len, m->sha256) != 0) {
            pgx_errf(err, errlen, "%s: sha256 failed", path);
            rc = -1;
        }
    }
    closedir(d);
    if (rc == 0) {
        qsort(out->v, out->n, sizeof *out->v, pgx_migration_cmp);
        for (size_t i = 1; i < out->n; i++)
            if (out->v[i].number == out->v[i - 1].number) {
                pgx_errf(err, errlen, "%s: %s and %s have the same version", dir,
                         out->v[i - 1].file, out->v[i].file);
                rc = -1;
                break;
            }
    }
    if (rc != 0) pgx_migrations_free(out);
    return rc;
}

/* The line (1-based) of the 1-based character position pos in sql (UTF-8). */
static long pgx_line_of(const char *sql, long pos)
{
    long line = 1, chars = 0;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue; /* a continuation byte is part of the previous character */
        if (++chars >= pos) break;
        if (*p == '\n') line++;
    }
    return line;
}

/* Runs one migration's SQL, turning a server error into "FILE line N: ...". */
static int pgx_migration_run(PGconn *conn, const pgx_migration *m, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, m->sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        PQclear(res);
        return 0;
    }
    char name[300];
    const char *pos = res ? PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION) : NULL;
    if (pos)
        snprintf(name, sizeof name, "%s line %ld", m->file, pgx_line_of(m->sql, atol(pos)));
    else
        snprintf(name, sizeof name, "%s", m->file);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
        /* pgx_check ends the COPY and explains. */
        return pgx_check(conn, res, name, false, err, errlen);
    }
    pgx_result_error(conn, res, name, err, errlen);
    PQclear(res);
    return -1;
}

typedef struct {
    char version[16];
    char name[256];
    char sha256[65];
    char applied_at[64];
} pgx_applied;

/* Numeric version order, like the files (text order differs once widths differ). */
static int pgx_applied_cmp(const void *a, const void *b)
{
    long x = strtol(((const pgx_applied *)a)->version, NULL, 10);
    long y = strtol(((const pgx_applied *)b)->version, NULL, 10);
    return x < y ? -1 : x > y;
}

/* Reads schema_migrations (absent: zero rows) into a malloc'd array, in version order. */
static int pgx_applied_load(PGconn *conn, pgx_applied **out, size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    PGresult *res =
        pgx_query(conn, "migrate.find_table", "SELECT to_regclass('schema_migrations') IS NOT NULL",
                  0, NULL, err, errlen);
    if (!res) return -1;
    bool exists = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    if (!exists) return 0;
    res = pgx_query(conn, "migrate.load",
                    "SELECT version, name, sha256, applied_at::text FROM schema_migrations "
                    "ORDER BY version",
                    0, NULL, err, errlen);
    if (!res) return -1;
    int rows = PQntuples(res);
    pgx_applied *a = calloc(rows ? (size_t)rows : 1, sizeof *a);
    if (!a) {
        PQclear(res);
        pgx_errf(err, errlen, "out of memory reading schema_migrations");
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        snprintf(a[i].version, sizeof a[i].version, "%s", PQgetvalue(res, i, 0));
        snprintf(a[i].name, sizeof a[i].name, "%s", PQgetvalue(res, i, 1));
        snprintf(a[i].sha256, sizeof a[i].sha256, "%s", PQgetvalue(res, i, 2));
        snprintf(a[i].applied_at, sizeof a[i].applied_at, "%s", PQgetvalue(res, i, 3));
    }
    PQclear(res);
    qsort(a, (size_t)rows, sizeof *a, pgx_applied_cmp);
    *out = a;
    *n = (size_t)rows;
    return 0;
}

static const pgx_applied *pgx_applied_find(const pgx_applied *a, size_t n, const char *version)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(a[i].version, version)) return &a[i];
    return NULL;
}

static bool pgx_applied_matches(const pgx_applied *a, const pgx_migration *m)
{
    return !strcmp(a->name, m->file) && !strcmp(a->sha256, m->sha256);
}

static double pgx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int pgx_migrate_locked(PGconn *conn, const pgx_migration_list *list, pgx_migrate_cb cb,
                              void *cb_arg, int *applied, char *err, size_t errlen)
{
    if (pgx_exec(conn, "migrate.create_table",
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version text PRIMARY KEY,"
                 " name text NOT NULL,"
                 " sha256 text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 err, errlen) != 0)
        return -1;
    pgx_applied *done;
    size_t ndone;
    if (pgx_applied_load(conn, &done, &ndone, err, errlen) != 0) return -1;

    int rc = 0;
    for (size_t i = 0; i < list->n; i++) {
        const pgx_applied *a = pgx_applied_find(done, ndone, list->v[i].version);
        if (a && !pgx_applied_matches(a, &list->v[i])) {
            pgx_errf(err, errlen,
                     "%s: version %s was applied on %s as %s (sha256 %.12s...), but the file "
                     "now differs (sha256 %.12s...); applied migrations are immutable: restore "
                     "the file and add a new migration",
                     list->v[i].file, a->version, a->applied_at, a->name, a->sha256,
                     list->v[i].sha256);
            rc = -1;
            break;
        }
    }
    for (size_t i = 0; rc == 0 && i < list->n; i++) {
        const pgx_migration *m = &list->v[i];
        if (pgx_applied_find(done, ndone, m->version)) continue;
        double t0 = pgx_now_ms();
        const char *params[] = {m->version, m->file, m->sha256};
        if (pgx_begin(conn, err, errlen) != 0 || pgx_migration_run(conn, m, err, errlen) != 0 ||
            pgx_exec_params(conn, "migrate.record",
                            "INSERT INTO schema_migrations (version, name, sha256) "
                            "VALUES ($1, $2, $3)",
                            3, params, NULL, err, errlen) != 0 ||
            pgx_commit(conn, err, errlen) != 0) {
            char ignored[256];
            pgx_rollback(conn, ignored, sizeof ignored);
            rc = -1;
            break;
        }
        if (applied) (*applied)++;
        if (cb) cb(cb_arg, m->version, m->file, pgx_now_ms() - t0);
    }
    free(done);
    return rc;
}

int pgx_migrate(PGconn *conn, const char *dir, pgx_migrate_cb cb, void *cb_arg, int *applied,
                char *err, size_t errlen)
{
    if (applied) *applied = 0;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        pgx_errf(err, errlen, "migrate: the connection is %s",
                 PQstatus(conn) != CONNECTION_OK ? "broken" : "inside a transaction");
        pgx_sqlstate[0] = '\0';
        return -1;
    }
    pgx_migration_list list;
    if (pgx_migrations_scan(dir, &list, err, errlen) != 0) return -1;

    char key[32];
    snprintf(key, sizeof key, "%lld", (long long)PGX_MIGRATE_LOCK_KEY);
    const char *params[] = {key};
    if (pgx_exec_params(conn, "migrate.lock", "SELECT pg_advisory_lock($1::bigint)", 1, params,
                        NULL, err, errlen) != 0) {
        pgx_migrations_free(&list);
        return -1;
    }
    int rc = pgx_migrate_locked(conn, &list, cb, cb_arg, applied, err, errlen);
    pgx_migrations_free(&list);

    /* Release the lock even after a failure (the connection may live on in a worker). */
    char unlock_err[512];
    PGresult *res = pgx_query(conn, "migrate.unlock", "SELECT pg_advisory_unlock($1::bigint)", 1,
                              params, unlock_err, sizeof unlock_err);
    bool released = res && PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);
    if (!released && rc == 0) {
        pgx_errf(err, errlen, "%s",
                 res ? "migrate.unlock: the advisory lock was not held" : unlock_err);
        rc = -1;
    }
    return rc;
}

int pgx_migration_status(PGconn *conn, const char *dir, pgx_status_cb cb, void *cb_arg,
                         int *pending, char *err, size_t errlen)
{
    if (pending) *pending = 0;
    pgx_migration_list list;
    if (pgx_migrations_scan(dir, &list, err, errlen) != 0) return -1;
    pgx_applied *done;
    size_t ndone;
    if (pgx_applied_load(conn, &done, &ndone, err, errlen) != 0) {
        pgx_migrations_free(&list);
        return -1;
    }
    /* Merge the two lists, both sorted by version number; records without a file are
     * reported where their number falls. */
    size_t i = 0, j = 0;
    while (i < list.n || j < ndone) {
        const pgx_migration *m = i < list.n ? &list.v[i] : NULL;
        const pgx_applied *a = j < ndone ? &done[j] : NULL;
        long an = a ? strtol(a->version, NULL, 10) : 0;
        if (m && a && m->number == an) {
            pgx_migration_state st =
                pgx_applied_matches(a, m) ? PGX_MIGRATION_APPLIED : PGX_MIGRATION_CHANGED;
            if (st != PGX_MIGRATION_APPLIED && pending) (*pending)++;
            if (cb) cb(cb_arg, m->version, m->file, st, a->applied_at);
            i++;
            j++;
        } else if (m && (!a || m->number < an)) {
            if (pending) (*pending)++;
            if (cb) cb(cb_arg, m->version, m->file, PGX_MIGRATION_PENDING, NULL);
            i++;
        } else {
            if (cb) cb(cb_arg, a->version, a->name, PGX_MIGRATION_MISSING_FILE, a->applied_at);
            j++;
        }
    }
    free(done);
    pgx_migrations_free(&list);
    return 0;
}

static bool pgx_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pgx_migrations_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *env = getenv("MNI_MIGRATIONS_DIR");
    if (env && *env) {
        if (!pgx_is_dir(env)) {
            pgx_errf(err, errlen, "MNI_MIGRATIONS_DIR=%s is not a directory", env);
            return -1;
        }
        snprintf(out, outlen, "%s", env);
        return 0;
    }
    if (pgx_is_dir("db/migrations")) {
        snprintf(out, outlen, "db/migrations");
        return 0;
    }
    char exe[PATH_MAX], candidate[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *dir = dirname(exe);
        static const char *const ups[] = {"/..", "/../..", "/../../.."};
        for (size_t i = 0; i < sizeof ups / sizeof ups[0]; i++) {
            snprintf(candidate, sizeof candidate, "%s%s/db/migrations", dir, ups[i]);
            char real[PATH_MAX];
            if (pgx_is_dir(candidate) && realpath(candidate, real)) {
                snprintf(out, outlen, "%s", real);
                return 0;
            }
        }
    }
    pgx_errf(err, errlen,
             "cannot find the migrations: set MNI_MIGRATIONS_DIR, pass --dir, or run from the "
             "repository root (db/migrations)");
    return -1;
}
