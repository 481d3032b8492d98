/*
 * serve_cmd: the start the commands that serve over HTTP share (`mni web`, `mni registry
 * serve`): their options, their configuration, their database and how they stop.
 *
 *   options   [--config FILE] [--bind ADDR] [--port N] [--print-config] [-h|--help], and
 *             --url-file PATH where the command takes it
 *   config    the command's defaults, then the file and the environment (lib/runtime/config.h),
 *             then --bind and --port as <prefix>.bind and <prefix>.port, which is then read as
 *             a port number (0 = any free port)
 *   database  <prefix>.conninfo, else pg.conninfo, found as every mni command finds it
 *             (cli/cli_pg.h)
 *   stop      SIGTERM or SIGINT, waited for on the main thread
 *
 * Messages go to stderr as "<command>: <reason>"; each function returns the exit status the
 * command should end with when it cannot go on.
 */
#ifndef MNI_CLI_SERVE_CMD_H
#define MNI_CLI_SERVE_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/runtime/config.h"

typedef struct {
    const char *name;   /* "mni web": the prefix of every message */
    const char *help;   /* how an unexpected argument's message points to the help */
    const char *prefix; /* "web": the configuration keys' prefix */
    const char *const (*defaults)[2];
    size_t n_defaults;
    bool url_file; /* takes --url-file PATH */
    void (*usage)(FILE *out);
} serve_cmd;

typedef struct {
    const char *config_path, *bind, *port, *url_file; /* NULL when not given */
    bool print_config;
} serve_args;

/* Reads the options into *a: 0 to go on, 1 when the command is done (help printed) with
 * *status its exit status. */
int serve_cmd_args(const serve_cmd *c, int argc, char **argv, serve_args *a, int *status);

/* The configuration, with *port read; NULL with the reason printed and *status set. */
config *serve_cmd_config(const serve_cmd *c, const serve_args *a, long long *port, int *status);

/* The conninfo of the command's database into out: 0, or -1 with the reason printed. */
int serve_cmd_conninfo(const serve_cmd *c, const config *cfg, char *out, size_t outlen);

/* Blocks SIGTERM and SIGINT in the calling thread, into *stop, before the server starts: its
 * threads inherit the mask, so the signals are left for serve_cmd_wait_stop. */
void serve_cmd_block_stop(sigset_t *stop);

/* Waits for one of the signals of serve_cmd_block_stop and logs which ("stopping"). */
void serve_cmd_wait_stop(const sigset_t *stop);

#endif
