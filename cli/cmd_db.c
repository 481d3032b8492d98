/*
 * mni db: database administration.
 *
 *   mni db migrate [--dir DIR] [--conninfo STR] [--config FILE]
 *   mni db status  [--dir DIR] [--conninfo STR] [--config FILE]
 *
 * migrate applies the missing files of the migrations directory (pgx_migrate: in order, each
 * in its own transaction, under an advisory lock, idempotent); status lists every migration as
 * applied, pending, changed (the file differs from what was applied) or missing-file (applied
 * by a newer version of mni), and exits 1 when anything is pending or changed.
 *
 * Where the database is: --conninfo, else pg.conninfo from the configuration (MNI_PG_CONNINFO,
 * MNI_CONFIG or --config; lib/runtime/config.h). Where the migrations are: --dir, else
 * MNI_MIGRATIONS_DIR, else db/migrations in the current directory, else db/migrations next to
 * the program (pgx_migrations_dir).
 *
 * Exit codes (cli/commands.h): 0 done, 1 the database or a file failed, 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "lib/runtime/config.h"
#include "lib/base/log.h"
#include "lib/pg/migrate.h"
#include "lib/pg/pgx.h"

typedef struct {
    const char *dir;
    const char *conninfo;
    const char *config_file;
} db_options;

static void db_usage(FILE *out)
{
    fprintf(out,
            "usage: mni db migrate [--dir DIR] [--conninfo STR] [--config FILE]\n"
            "       mni db status  [--dir DIR] [--conninfo STR] [--config FILE]\n"
            "\n"
            "  migrate   apply the missing migrations (in order, each in its own transaction;\n"
            "            running it again changes nothing)\n"
            "  status    list the migrations: applied, pending, changed, missing-file;\n"
            "            exit 1 when any is pending or changed\n"
            "\n"
            "  --dir DIR        migrations directory (default: $MNI_MIGRATIONS_DIR, else\n"
            "                   ./db/migrations, else db/migrations beside the program)\n"
            "  --conninfo STR   libpq connection string (default: pg.conninfo, i.e.\n"
            "                   $MNI_PG_CONNINFO or the configuration file)\n"
            "  --config FILE    configuration file (default: $MNI_CONFIG)\n"
            "\n"
            "scripts/mni-env up starts a development database; . .mni-env/env sets\n"
            "MNI_PG_CONNINFO.\n");
}

/* Parses the options after the subcommand; -1 on bad usage (message printed). */
static int db_parse(int argc, char **argv, db_options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--dir")        ? &o->dir
                            : !strcmp(a, "--conninfo") ? &o->conninfo
                            : !strcmp(a, "--config")   ? &o->config_file
                                                       : NULL;
        if (!slot) {
            fprintf(stderr, "mni db %s: unknown option '%s' (see mni db --help)\n", argv[0], a);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "mni db %s: %s needs a value\n", argv[0], a);
            return -1;
        }
        *slot = argv[++i];
    }
    return 0;
}

/* Resolves the conninfo and the directory and connects; returns the exit code on failure. */
static int db_open(const char *cmd, const db_options *o, PGconn **conn, char *dir, size_t dirlen)
{
    char err[1024];
    config *cfg = NULL;
    const char *conninfo = o->conninfo;
    if (!conninfo) {
        cfg = config_new();
        if (!cfg) {
            fprintf(stderr, "mni db %s: out of memory\n", cmd);
            return MNI_EXIT_FAILURE;
        }
        if (config_load(cfg, o->config_file, err, sizeof err) != 0) {
            fprintf(stderr, "mni db %s: %s\n", cmd, err);
            config_free(cfg);
            return MNI_EXIT_USAGE;
        }
        if (config_get_str(cfg, "pg.conninfo", &conninfo, err, sizeof err) != 0) {
            fprintf(stderr,
                    "mni db %s: no database: %s; or pass --conninfo (scripts/mni-env up, then "
                    ". .mni-env/env, sets MNI_PG_CONNINFO)\n",
                    cmd, err);
            config_free(cfg);
            return MNI_EXIT_USAGE;
        }
    }
    int rc = MNI_EXIT_OK;
    if (o->dir) {
        snprintf(dir, dirlen, "%s", o->dir);
    } else if (pgx_migrations_dir(dir, dirlen, err, sizeof err) != 0) {
        fprintf(stderr, "mni db %s: %s\n", cmd, err);
        rc = MNI_EXIT_FAILURE;
    }
    if (rc == MNI_EXIT_OK && !(*conn = pgx_connect(conninfo, "mni db", err, sizeof err))) {
        fprintf(stderr, "mni db %s: %s\n", cmd, err);
        rc = MNI_EXIT_FAILURE;
    }
    config_free(cfg);
    return rc;
}

static void db_print_applied(void *arg, const char *version, const char *file, double ms)
{
    (void)arg;
    (void)version;
    printf("applied %s (%.0f ms)\n", file, ms);
    fflush(stdout);
}

static void db_print_status(void *arg, const char *version, const char *file,
                            pgx_migration_state state, const char *applied_at)
{
    (void)arg;
    (void)version;
    static const char *const names[] = {
        [PGX_MIGRATION_APPLIED] = "applied",
        [PGX_MIGRATION_PENDING] = "pending",
        [PGX_MIGRATION_CHANGED] = "CHANGED",
        [PGX_MIGRATION_MISSING_FILE] = "missing-file",
    };
    printf("%-13s %-40s %s\n", names[state], file, applied_at ? applied_at : "");
}

int cmd_db(int argc, char **argv)
{
    if (argc < 2) {
        db_usage(stderr);
        return MNI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        db_usage(stdout);
        return MNI_EXIT_OK;
    }
    int is_migrate = !strcmp(sub, "migrate"), is_status = !strcmp(sub, "status");
    if (!is_migrate && !is_status) {
        fprintf(stderr, "mni db: unknown command '%s' (see mni db --help)\n", sub);
        return MNI_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            db_usage(stdout);
            return MNI_EXIT_OK;
        }
    db_options o = {0};
    if (db_parse(argc - 1, argv + 1, &o) != 0) return MNI_EXIT_USAGE;

    /* Notices and library diagnostics go to stderr as JSON lines tagged "mni". */
    log_init("mni");
    PGconn *conn = NULL;
    char dir[4096], err[1024];
    int rc = db_open(sub, &o, &conn, dir, sizeof dir);
    if (rc != MNI_EXIT_OK) return rc;

    if (is_migrate) {
        int applied = 0;
        if (pgx_migrate(conn, dir, db_print_applied, NULL, &applied, err, sizeof err) != 0) {
            fprintf(stderr, "mni db migrate: %s\n", err);
            rc = MNI_EXIT_FAILURE;
        } else if (applied == 0) {
            printf("up to date (%s)\n", dir);
        } else {
            printf("applied %d migration%s from %s\n", applied, applied == 1 ? "" : "s", dir);
        }
    } else {
        int pending = 0;
        if (pgx_migration_status(conn, dir, db_print_status, NULL, &pending, err, sizeof err) !=
            0) {
            fprintf(stderr, "mni db status: %s\n", err);
            rc = MNI_EXIT_FAILURE;
        } else if (pending) {
            printf("%d migration%s to apply: mni db migrate\n", pending, pending == 1 ? "" : "s");
            rc = MNI_EXIT_FAILURE;
        } else {
            printf("up to date (%s)\n", dir);
        }
    }
    pgx_close(conn);
    return rc;
}
