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
 * Options, configuration and database: cli/serve_cmd.h (shared with `mni registry serve`).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/serve_cmd.h"
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

static const serve_cmd web_cmd = {
    .name = "mni web",
    .help = "mni web --help",
    .prefix = "web",
    .defaults = web_defaults,
    .n_defaults = sizeof web_defaults / sizeof web_defaults[0],
    .usage = web_usage,
};

int cmd_web(int argc, char **argv)
{
    serve_args args;
    int rc;
    if (serve_cmd_args(&web_cmd, argc, argv, &args, &rc) != 0) return rc;
    log_init("web");
    char err[1024];
    long long port_n = 0, threads = 0, timeout = 0;
    config *cfg = serve_cmd_config(&web_cmd, &args, &port_n, &rc);
    if (!cfg) return rc;
    if (config_get_int(cfg, "web.threads", 1, 256, &threads, err, sizeof err) != 0 ||
        config_get_int(cfg, "web.statement_timeout_ms", 0, 3600000, &timeout, err, sizeof err) !=
            0) {
        fprintf(stderr, "mni web: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    if (args.print_config) {
        rc = config_dump(cfg, stdout) == 0 ? MNI_EXIT_OK : MNI_EXIT_FAILURE;
        config_free(cfg);
        return rc;
    }
    char conninfo[2048], where[512] = "";
    if (serve_cmd_conninfo(&web_cmd, cfg, conninfo, sizeof conninfo) != 0) {
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    pgx_conninfo_describe(conninfo, where, sizeof where);

    sigset_t stop; /* waited for here; the server's threads must not take it */
    serve_cmd_block_stop(&stop);

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
    serve_cmd_wait_stop(&stop);
    web_server_stop(s);
    config_free(cfg);
    return MNI_EXIT_OK;
}
