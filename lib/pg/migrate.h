/*
 * migrate: the schema migration runner.
 *
 * pgx_migrate applies db/migrations/NNNN_name.sql files (plain SQL) in version
 * order, each in its own transaction together with its row in schema_migrations (version,
 * name, sha256 of the file, applied_at). A session advisory lock serializes concurrent
 * runners (several workers starting at once), so each file is applied exactly once. A file
 * already applied whose content changed is an error (migrations are immutable once shipped:
 * write a new one). Files must not contain transaction control (BEGIN/COMMIT) nor statements
 * that cannot run in a transaction block (CREATE INDEX CONCURRENTLY, VACUUM).
 */
#ifndef MNI_MIGRATE_H
#define MNI_MIGRATE_H

#include "lib/pg/pgx.h"

typedef enum {
    PGX_MIGRATION_APPLIED,      /* recorded and the file is unchanged */
    PGX_MIGRATION_PENDING,      /* file present, not applied */
    PGX_MIGRATION_CHANGED,      /* applied, but the file's sha256 differs from the record */
    PGX_MIGRATION_MISSING_FILE, /* recorded in the database, no such file (a newer schema) */
} pgx_migration_state;

/* Called by pgx_migrate for each file it applies (version "0003", file "0003_work.sql",
 * elapsed milliseconds). */
typedef void (*pgx_migrate_cb)(void *arg, const char *version, const char *file, double ms);
/* Called by pgx_migration_status once per migration, in version order; applied_at is the
 * server's text form, or NULL when not applied. */
typedef void (*pgx_status_cb)(void *arg, const char *version, const char *file,
                              pgx_migration_state state, const char *applied_at);

/* Applies the missing migrations of dir; *applied (may be NULL) receives how many. The
 * connection must not be inside a transaction. */
int pgx_migrate(PGconn *conn, const char *dir, pgx_migrate_cb cb, void *cb_arg, int *applied,
                char *err, size_t errlen);
/* Reports every migration (files and records) without changing anything; *pending (may be
 * NULL) receives the number not applied or changed. */
int pgx_migration_status(PGconn *conn, const char *dir, pgx_status_cb cb, void *cb_arg,
                         int *pending, char *err, size_t errlen);
/* Finds the migrations directory: $MNI_MIGRATIONS_DIR, else ./db/migrations, else
 * db/migrations beside the running program: <exe dir>/../db/migrations, then one and two
 * levels further up (build/san/bin, build/san/tests). */
int pgx_migrations_dir(char *out, size_t outlen, char *err, size_t errlen);

#endif
