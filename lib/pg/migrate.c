/*
 * migrate: the schema migration runner (pgx_migrate, pgx_migration_status, pgx_migrations_dir);
 * the contract is in migrate.h. Directory scan, sha256 per file, a session advisory lock so
 * that two runners never interleave, one transaction per file together with its row in
 * schema_migrations.
 */
#include "lib/pg/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/digest.h"
#include "lib/base/errbuf.h"
#include "lib/base/monoclock.h"
#include "lib/pg/pgx_int.h"

/* The key of the session advisory lock that serializes migration runners: "mni-migr". */
#define PGX_MIGRATE_LOCK_KEY 0x6d6e692d6d696772LL

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

static int pgx_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        errbuf_fail(err, errlen, "cannot open %s: %s", path, strerror(errno));
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
                errbuf_fail(err, errlen, "%s: out of memory", path);
                rc = -1;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                errbuf_fail(err, errlen, "cannot read %s: %s", path, strerror(errno));
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
        errbuf_fail(err, errlen, "%s: holds a NUL byte; migrations are SQL text", path);
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
        errbuf_fail(err, errlen, "cannot open migrations directory %s: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    size_t cap = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t nlen = strlen(de->d_name), digits;
        if (nlen < 4 || strcmp(de->d_name + nlen - 4, ".sql") != 0) continue;
        if (!pgx_migration_name_ok(de->d_name, &digits) || nlen >= sizeof out->v->file) {
            errbuf_fail(err, errlen,
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
                errbuf_fail(err, errlen, "out of memory listing %s", dir);
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
            errbuf_fail(err, errlen, "%s/%s: path too long", dir, m->file);
            rc = -1;
            break;
        }
        if (pgx_read_file(path, &m->sql, &m->sql_len, err, errlen) != 0) {
            rc = -1;
            break;
        }
        out->n++;
        if (digest_sha256_hex(m->sql, m->sql_len, m->sha256) != 0) {
            errbuf_fail(err, errlen, "%s: sha256 failed", path);
            rc = -1;
        }
    }
    closedir(d);
    if (rc == 0) {
        qsort(out->v, out->n, sizeof *out->v, pgx_migration_cmp);
        for (size_t i = 1; i < out->n; i++)
            if (out->v[i].number == out->v[i - 1].number) {
                errbuf_fail(err, errlen, "%s: %s and %s have the same version", dir,
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
        errbuf_fail(err, errlen, "out of memory reading schema_migrations");
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
            errbuf_fail(err, errlen,
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
        double t0 = monoclock_ms_exact();
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
        if (cb) cb(cb_arg, m->version, m->file, monoclock_ms_exact() - t0);
    }
    free(done);
    return rc;
}

int pgx_migrate(PGconn *conn, const char *dir, pgx_migrate_cb cb, void *cb_arg, int *applied,
                char *err, size_t errlen)
{
    if (applied) *applied = 0;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        errbuf_fail(err, errlen, "migrate: the connection is %s",
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
        errbuf_fail(err, errlen, "%s",
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
            errbuf_fail(err, errlen, "MNI_MIGRATIONS_DIR=%s is not a directory", env);
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
    errbuf_fail(err, errlen,
                "cannot find the migrations: set MNI_MIGRATIONS_DIR, pass --dir, or run from the "
                "repository root (db/migrations)");
    return -1;
}
