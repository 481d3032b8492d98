/*
 * mni web: serves the case list and the case pages over HTTP, read-only (cli/web_server.h),
 * until SIGTERM or SIGINT.
 *
 * Configuration (lib/runtime/config.h: --config FILE or $MNI_CONFIG, then MNI_<KEY>):
 *   web.bind       address to listen on (default 127.0.0.1; 0.0.0.0 behind a proxy)
 *   web.port       port (default 8080; 0 = any free port, logged)
 *   web.threads    request threads, each with its own PostgreSQL connection (default 4)
 *   web.conninfo   PostgreSQL for the pages (default: pg.conninfo, then MNI_PG_CONNINFO and
 *                  the embedded environment's env file, as every mni command)
 *   web.role       a role to SET ROLE to after connecting (default none): with row-level
 *                  security per client (issue 8), a client's role sees its own part only
 *   web.statement_timeout_ms   per query (default 10000)
 * --bind and --port override the file and the environment.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_pg.h"
#include "cli/commands.h"
#include "cli/web_server.h"
#include "lib/base/log.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/config.h"

static void web_usage(FILE *out)
{
    fprintf(out, "usage: mni web [--config FILE] [--bind ADDR] [--port N] [--print-config]\n"
                 "\n"
                 "Serves the cases read-only over HTTP until SIGTERM or SIGINT:\n"
                 "  GET /              the case list with each case's next deadline, sortable\n"
                 "  GET /cases/ID      the case page (the same as mni report ID --html)\n"
                 "  GET /healthz       200 when PostgreSQL answers\n"
                 "Configuration keys (deploy/mni.conf): web.bind (127.0.0.1), web.port (8080),\n"
                 "web.threads (4), web.conninfo (default pg.conninfo), web.role (SET ROLE after\n"
                 "connecting: a client's role sees what row-level security lets it see),\n"
                 "web.statement_timeout_ms (10000). Environment: MNI_WEB_PORT and so on.\n"
                 "Exit status: 0 stopped by a signal, 1 cannot serve, 2 usage or configuration.\n");
}

static const char *const web_defaults[][2] = {
    {"web.bind", "127.0.0.1"}, {"web.port", "8080"}, {"web.threads", "4"},
    {"web.conninfo", ""},      {"web.role", ""},     {"web.statement_timeout_ms", "10000"},
};

static int web_config(config *cfg, const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof web_defaults / sizeof web_defaults[0]; i++)
        if (config_set_default(cfg, web_defaults[i][0], web_defaults[i][1], err, errlen) != 0)
            return -1;
    return config_load(cfg, path, err, errlen);
}

int cmd_web(int argc, char **argv)
{
    const char *path = NULL, *bind = NULL, *port = NULL;
    int print = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            web_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            path = argv[++i];
        } else if (!strcmp(argv[i], "--bind") && i + 1 < argc) {
            bind = argv[++i];
        } else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = argv[++i];
        } else if (!strcmp(argv[i], "--print-config")) {
            print = 1;
        } else {
            fprintf(stderr, "mni web: unexpected argument '%s' (see mni web --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        }
    }
    log_init("web");
    char err[1024];
    config *cfg = config_new();
    if (!cfg) {
        fprintf(stderr, "mni web: out of memory\n");
        return MNI_EXIT_FAILURE;
    }
    long long port_n = 0, threads = 0, timeout = 0;
    const char *conninfo_key = NULL;
    int rc;
    if (web_config(cfg, path, err, sizeof err) != 0 ||
        (bind && config_set(cfg, "web.bind", bind, err, sizeof err) != 0) ||
        (port && config_set(cfg, "web.port", port, err, sizeof err) != 0) ||
        config_get_int(cfg, "web.port", 0, 65535, &port_n, err, sizeof err) != 0 ||
        config_get_int(cfg, "web.threads", 1, 256, &threads, err, sizeof err) != 0 ||
        config_get_int(cfg, "web.statement_timeout_ms", 0, 3600000, &timeout, err, sizeof err) !=
            0) {
        fprintf(stderr, "mni web: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    if (print) {
        rc = config_dump(cfg, stdout) == 0 ? MNI_EXIT_OK : MNI_EXIT_FAILURE;
        config_free(cfg);
        return rc;
    }
    const char *v = config_get(cfg, "web.conninfo");
    conninfo_key = v && *v ? v : config_get(cfg, "pg.conninfo");
    char conninfo[2048], where[512] = "";
    if (cli_pg_conninfo(conninfo_key, conninfo, sizeof conninfo, err, sizeof err) != 0) {
        fprintf(stderr, "mni web: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    pgx_conninfo_describe(conninfo, where, sizeof where);

    /* The signals are waited for here; the server's threads must not take them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    web_server_config wc = {
        .bind = config_get(cfg, "web.bind"),
        .port = (int)port_n,
        .threads = (int)threads,
        .conninfo = conninfo,
        .role = config_get(cfg, "web.role"),
        .statement_timeout_ms = (int)timeout,
    };
    web_server *s = web_server_start(&wc, err, sizeof err);
    if (!s) {
        log_error("cannot serve", LOG_STR("error", err), LOG_END);
        fprintf(stderr, "mni web: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_FAILURE;
    }
    log_info("listening", LOG_STR("bind", wc.bind), LOG_INT("port", web_server_port(s)),
             LOG_INT("threads", wc.threads), LOG_STR("database", where),
             LOG_STR("role", wc.role && *wc.role ? wc.role : NULL), LOG_END);
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("stopping", LOG_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"), LOG_END);
    web_server_stop(s);
    config_free(cfg);
    return MNI_EXIT_OK;
}
