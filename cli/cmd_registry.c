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
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_pg.h"
#include "cli/commands.h"
#include "cli/registry_server.h"
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

static int registry_serve(int argc, char **argv)
{
    const char *path = NULL, *bind = NULL, *port = NULL, *url_file = NULL;
    int print = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            registry_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--bind") && i + 1 < argc) {
            bind = argv[++i];
        } else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = argv[++i];
        } else if (!strcmp(argv[i], "--url-file") && i + 1 < argc) {
            url_file = argv[++i];
        } else if (!strcmp(argv[i], "--print-config")) {
            print = 1;
        } else {
            fprintf(stderr, "mni registry serve: unexpected argument '%s' (see --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        }
    }
    log_init("registry");
    char err[1024];
    config *cfg = config_new();
    if (!cfg) {
        fprintf(stderr, "mni registry serve: out of memory\n");
        return MNI_EXIT_FAILURE;
    }
    long long port_n = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof registry_defaults / sizeof registry_defaults[0]; i++)
        rc = config_set_default(cfg, registry_defaults[i][0], registry_defaults[i][1], err,
                                sizeof err);
    if (rc != 0 || config_load(cfg, path, err, sizeof err) != 0 ||
        (bind && config_set(cfg, "registry.bind", bind, err, sizeof err) != 0) ||
        (port && config_set(cfg, "registry.port", port, err, sizeof err) != 0) ||
        config_get_int(cfg, "registry.port", 0, 65535, &port_n, err, sizeof err) != 0) {
        fprintf(stderr, "mni registry serve: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    if (print) {
        rc = config_dump(cfg, stdout) == 0 ? MNI_EXIT_OK : MNI_EXIT_FAILURE;
        config_free(cfg);
        return rc;
    }
    const char *v = config_get(cfg, "registry.conninfo");
    char conninfo[2048], where[512] = "", url[128];
    if (cli_pg_conninfo(v && *v ? v : config_get(cfg, "pg.conninfo"), conninfo, sizeof conninfo,
                        err, sizeof err) != 0) {
        fprintf(stderr, "mni registry serve: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    pgx_conninfo_describe(conninfo, where, sizeof where);

    /* The signals are waited for here; the server's thread must not take them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

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
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("stopping", LOG_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"), LOG_END);
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
