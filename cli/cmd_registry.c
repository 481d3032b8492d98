/*
 * mni registry serve: the embedded schema registry (cli/registry_server.h) until SIGTERM or
 * SIGINT. scripts/mni-env runs it for the development environment and exports its URL as
 * MNI_SCHEMA_REGISTRY_URL, which every mni program reads as schema.registry.url.
 *
 * Configuration (lib/runtime/config.h: --config FILE or $MNI_CONFIG, then MNI_<KEY>):
 *   registry.bind      address to listen on (default 127.0.0.1)
 *   registry.port      port (default 8081, Confluent's; 0 = any free port)
 *   registry.conninfo  PostgreSQL holding the registry's tables (default: pg.conninfo, then
 *                      MNI_PG_CONNINFO and the embedded environment's env file); `mni db
 *                      migrate` creates them
 * --bind and --port override the file and the environment; --url-file PATH writes
 * "http://ADDR:PORT" there once listening (atomically, removed again at exit).
 * Options, configuration and database: cli/serve_cmd.h (shared with `mni web`).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/registry_server.h"
#include "cli/serve_cmd.h"
#include "lib/base/log.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/config.h"

static void registry_usage(FILE *out)
{
    fprintf(out,
            "usage: mni registry serve [--config FILE] [--bind ADDR] [--port N]\n"
            "                          [--url-file PATH] [--print-config]\n"
            "\n"
            "Serves a schema registry (the Confluent REST API subset producers and consumers\n"
            "use: POST /subjects/S/versions, POST /subjects/S, GET /subjects,\n"
            "GET /subjects/S/versions[/V|latest], GET /schemas/ids/ID[/schema]) kept in\n"
            "PostgreSQL, until SIGTERM or SIGINT. For development and tests; production runs\n"
            "Confluent Schema Registry or Karapace (deploy/docker-compose.yml).\n"
            "Configuration keys (deploy/mni.conf): registry.bind (127.0.0.1), registry.port\n"
            "(8081; 0 = any free port), registry.conninfo (default pg.conninfo; the database\n"
            "must be migrated: mni db migrate). --url-file PATH writes the URL once listening.\n"
            "Exit status: 0 stopped by a signal, 1 cannot serve, 2 usage or configuration.\n");
}

static const char *const registry_defaults[][2] = {
    {"registry.bind", "127.0.0.1"},
    {"registry.port", "8081"},
    {"registry.conninfo", ""},
};

/* Writes text to path through a temporary file, so a reader sees all of it or nothing. */
static int write_atomically(const char *path, const char *text)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof tmp) return -1;
    f = fopen(tmp, "w");
    if (!f) return -1;
    if (fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static const serve_cmd registry_cmd = {
    .name = "mni registry serve",
    .help = "--help",
    .prefix = "registry",
    .defaults = registry_defaults,
    .n_defaults = sizeof registry_defaults / sizeof registry_defaults[0],
    .url_file = true,
    .usage = registry_usage,
};

static int registry_serve(int argc, char **argv)
{
    serve_args args;
    int rc;
    if (serve_cmd_args(&registry_cmd, argc, argv, &args, &rc) != 0) return rc;
    const char *url_file = args.url_file;
    log_init("registry");
    char err[1024];
    long long port_n = 0;
    config *cfg = serve_cmd_config(&registry_cmd, &args, &port_n, &rc);
    if (!cfg) return rc;
    if (args.print_config) {
        rc = config_dump(cfg, stdout) == 0 ? MNI_EXIT_OK : MNI_EXIT_FAILURE;
        config_free(cfg);
        return rc;
    }
    char conninfo[2048], where[512] = "", url[128];
    if (serve_cmd_conninfo(&registry_cmd, cfg, conninfo, sizeof conninfo) != 0) {
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    pgx_conninfo_describe(conninfo, where, sizeof where);

    sigset_t stop; /* waited for here; the server's thread must not take it */
    serve_cmd_block_stop(&stop);

    registry_server_config rc_cfg = {
        .bind = config_get(cfg, "registry.bind"), .port = (int)port_n, .conninfo = conninfo};
    registry_server *s = registry_server_start(&rc_cfg, err, sizeof err);
    if (!s) {
        log_error("cannot serve", LOG_STR("error", err), LOG_END);
        fprintf(stderr, "mni registry serve: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_FAILURE;
    }
    snprintf(url, sizeof url, "http://%s:%d", rc_cfg.bind, registry_server_port(s));
    log_info("listening", LOG_STR("url", url), LOG_STR("database", where), LOG_END);
    printf("%s\n", url);
    fflush(stdout);
    if (url_file && write_atomically(url_file, url) != 0) {
        fprintf(stderr, "mni registry serve: --url-file %s: cannot write: %m\n", url_file);
        registry_server_stop(s);
        config_free(cfg);
        return MNI_EXIT_FAILURE;
    }
    serve_cmd_wait_stop(&stop);
    if (url_file) unlink(url_file);
    registry_server_stop(s);
    config_free(cfg);
    return MNI_EXIT_OK;
}

int cmd_registry(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "serve")) return registry_serve(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        registry_usage(stdout);
        return MNI_EXIT_OK;
    }
    registry_usage(stderr);
    return MNI_EXIT_USAGE;
}
