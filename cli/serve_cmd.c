/*
 * serve_cmd: see serve_cmd.h.
 */
#include "cli/serve_cmd.h"

#include <pthread.h>
#include <string.h>

#include "cli/cli_pg.h"
#include "cli/commands.h"
#include "lib/base/log.h"

int serve_cmd_args(const serve_cmd *c, int argc, char **argv, serve_args *a, int *status)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            c->usage(stdout);
            *status = MNI_EXIT_OK;
            return 1;
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            a->config_path = argv[++i];
        } else if (!strcmp(argv[i], "--bind") && i + 1 < argc) {
            a->bind = argv[++i];
        } else if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            a->port = argv[++i];
        } else if (c->url_file && !strcmp(argv[i], "--url-file") && i + 1 < argc) {
            a->url_file = argv[++i];
        } else if (!strcmp(argv[i], "--print-config")) {
            a->print_config = true;
        } else {
            fprintf(stderr, "%s: unexpected argument '%s' (see %s)\n", c->name, argv[i], c->help);
            *status = MNI_EXIT_USAGE;
            return 1;
        }
    }
    return 0;
}

config *serve_cmd_config(const serve_cmd *c, const serve_args *a, long long *port, int *status)
{
    char err[1024], key[64];
    config *cfg = config_new();
    if (!cfg) {
        fprintf(stderr, "%s: out of memory\n", c->name);
        *status = MNI_EXIT_FAILURE;
        return NULL;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->n_defaults; i++)
        rc = config_set_default(cfg, c->defaults[i][0], c->defaults[i][1], err, sizeof err);
    if (rc == 0) rc = config_load(cfg, a->config_path, err, sizeof err);
    snprintf(key, sizeof key, "%s.bind", c->prefix);
    if (rc == 0 && a->bind) rc = config_set(cfg, key, a->bind, err, sizeof err);
    snprintf(key, sizeof key, "%s.port", c->prefix);
    if (rc == 0 && a->port) rc = config_set(cfg, key, a->port, err, sizeof err);
    if (rc == 0) rc = config_get_int(cfg, key, 0, 65535, port, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", c->name, err);
        config_free(cfg);
        *status = MNI_EXIT_USAGE;
        return NULL;
    }
    return cfg;
}

int serve_cmd_conninfo(const serve_cmd *c, const config *cfg, char *out, size_t outlen)
{
    char err[1024], key[64];
    snprintf(key, sizeof key, "%s.conninfo", c->prefix);
    const char *v = config_get(cfg, key);
    if (cli_pg_conninfo(v && *v ? v : config_get(cfg, "pg.conninfo"), out, outlen, err,
                        sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", c->name, err);
        return -1;
    }
    return 0;
}

void serve_cmd_block_stop(sigset_t *stop)
{
    sigemptyset(stop);
    sigaddset(stop, SIGTERM);
    sigaddset(stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop, NULL);
}

void serve_cmd_wait_stop(const sigset_t *stop)
{
    int sig = 0;
    sigwait(stop, &sig);
    log_info("stopping", LOG_STR("signal", sig == SIGINT ? "SIGINT" : "SIGTERM"), LOG_END);
}
