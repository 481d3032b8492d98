/*
 * mni report ID: one case as a document to file or print. --html writes the self-contained
 * HTML page (notify/render/render_html.h) that `mni web` serves for the same case; without it, the
 * page's model as JSON (cli/case_report.h), for other tools. --output writes the file whole
 * or not at all (a temporary file renamed into place).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/case_report.h"
#include "cli/cli_pg.h"
#include "cli/commands.h"
#include "lib/base/timefmt.h"
#include "lib/pg/pgx.h"
#include "notify/render/render_html.h"

static void report_usage(FILE *out)
{
    fprintf(out, "usage: mni report [--conninfo STR] [--html] [--output FILE] [--as-of TIME] "
                 "INCIDENT_ID\n"
                 "\n"
                 "Writes one case as a document: with --html a self-contained HTML page (no\n"
                 "external fetches) to file or print: the verdict under each act with each rule\n"
                 "id, its article and why it fired; per-client and de-duplicated headcounts;\n"
                 "a timeline of every deadline and what was done, overdue items marked; the\n"
                 "documents produced with their SHA-256; the disclaimer. Without --html, the\n"
                 "same content as JSON.\n"
                 "  --html           HTML instead of JSON\n"
                 "  --output FILE    write to FILE (default: standard output)\n"
                 "  --as-of TIME     judge deadlines as of this RFC 3339 time (default: now)\n"
                 "  --conninfo STR   PostgreSQL (default: $MNI_PG_CONNINFO, else .mni-env/env)\n"
                 "Exit status: 0 written, 1 no such case or a failure, 2 usage.\n");
}

/* Writes text to path through a temporary file in the same directory. */
static int write_file(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "--output: path too long");
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "--output %.400s: cannot create its temporary file: %m", path);
        return -1;
    }
    int ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "--output %.400s: cannot write: %m", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cmd_report(int argc, char **argv)
{
    const char *conninfo = NULL, *id = NULL, *output = NULL, *as_of = NULL;
    int html = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            report_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--html")) {
            html = 1;
        } else if (!strcmp(argv[i], "--conninfo") && i + 1 < argc) {
            conninfo = argv[++i];
        } else if ((!strcmp(argv[i], "--output") || !strcmp(argv[i], "-o")) && i + 1 < argc) {
            output = argv[++i];
        } else if (!strcmp(argv[i], "--as-of") && i + 1 < argc) {
            as_of = argv[++i];
        } else if (argv[i][0] == '-' || id) {
            fprintf(stderr, "mni report: unexpected argument '%s' (see mni report --help)\n",
                    argv[i]);
            return MNI_EXIT_USAGE;
        } else {
            id = argv[i];
        }
    }
    if (!id) {
        report_usage(stderr);
        return MNI_EXIT_USAGE;
    }
    char err[1024];
    int64_t ms;
    if (as_of && timefmt_parse_rfc3339(as_of, &ms, err, sizeof err) != 0) {
        fprintf(stderr, "mni report: --as-of: %s\n", err);
        return MNI_EXIT_USAGE;
    }
    PGconn *pg = cli_pg_connect(conninfo, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "mni report: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    int missing = 0;
    json_t *model = case_report_load(pg, id, as_of, &missing, err, sizeof err);
    pgx_close(pg);
    if (!model) {
        fprintf(stderr, "mni report: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    render_html_opts opts = {0};
    char *text =
        html ? render_html_case(model, &opts, err, sizeof err) : json_dumps(model, JSON_INDENT(2));
    json_decref(model);
    if (text && !html) { /* a text file ends with a newline */
        size_t len = strlen(text);
        char *grown = realloc(text, len + 2);
        if (grown)
            memcpy(grown + len, "\n", 2);
        else
            free(text);
        text = grown;
    }
    if (!text) {
        fprintf(stderr, "mni report: %s\n", html ? err : "cannot serialise the model");
        return MNI_EXIT_FAILURE;
    }
    int rc = MNI_EXIT_OK;
    if (output) {
        if (write_file(output, text, err, sizeof err) != 0) {
            fprintf(stderr, "mni report: %s\n", err);
            rc = MNI_EXIT_FAILURE;
        }
    } else if (fputs(text, stdout) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "mni report: cannot write to standard output\n");
        rc = MNI_EXIT_FAILURE;
    }
    free(text);
    return rc;
}
