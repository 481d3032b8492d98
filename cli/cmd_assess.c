/*
 * mni assess FILE|-: reads one incident's facts as JSON, prints the verdict as JSON.
 * Exit 0 with the verdict on stdout; exit 2 with "mni assess: FIELD: reason" on stderr and
 * nothing on stdout when the input is invalid; exit 1 when the file cannot be read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "common/facts_json.h"
#include "common/verdict_json.h"

/* Facts files are small; a bound keeps a wrong file (a disk image, /dev/zero) from eating
 * memory before the JSON parser can refuse it. */
#define ASSESS_MAX_INPUT (64u * 1024 * 1024)

static void assess_usage(FILE *out)
{
    fprintf(out,
            "usage: mni assess [--compact] FILE|-\n"
            "\n"
            "Reads one incident's facts as JSON (FILE, or - for standard input) and prints what\n"
            "the My Number Act and APPI require: statuses, rule ids that fired, headcounts,\n"
            "deadlines (Japan time), the contractor's route and each client's verdict.\n"
            "\n"
            "  --compact   one line of JSON instead of indented output\n"
            "  -h, --help  this text\n"
            "\n"
            "Exit status: 0 verdict printed; 1 the file could not be read; 2 invalid input\n"
            "(the message names the field and the reason). Not legal advice.\n");
}

/* Reads the whole stream; returns a NUL-terminated buffer the caller frees, or NULL. */
static char *read_all(FILE *in, size_t *len, const char *name)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n - 1, in);
        n += got;
        if (got == 0) break;
        if (n + 1 == cap) {
            if (cap >= ASSESS_MAX_INPUT) {
                fprintf(stderr, "mni assess: %s: larger than %u bytes\n", name, ASSESS_MAX_INPUT);
                free(buf);
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    if (!buf || ferror(in)) {
        fprintf(stderr, "mni assess: %s: read failed\n", name);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cmd_assess(int argc, char **argv)
{
    const char *path = NULL;
    size_t flags = JSON_INDENT(2);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            assess_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--compact")) {
            flags = JSON_COMPACT;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "mni assess: unknown option '%s' (see mni assess --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        } else if (path) {
            fprintf(stderr, "mni assess: one input only (got '%s' and '%s')\n", path, argv[i]);
            return MNI_EXIT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        assess_usage(stderr);
        return MNI_EXIT_USAGE;
    }

    FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!in) {
        fprintf(stderr, "mni assess: %s: cannot open: %m\n", path);
        return MNI_EXIT_FAILURE;
    }
    size_t len = 0;
    char *text = read_all(in, &len, path);
    if (in != stdin) fclose(in);
    if (!text) return MNI_EXIT_FAILURE;

    char err[512];
    facts_doc doc;
    int rc = facts_json_parse(text, len, &doc, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "mni assess: %s\n", err);
        return MNI_EXIT_USAGE;
    }
    rules_client_verdict *clients =
        calloc(doc.facts.n_clients ? doc.facts.n_clients : 1, sizeof *clients);
    rules_verdict verdict;
    if (!clients || rules_assess(&doc.facts, NULL, &verdict, clients, err, sizeof err) != 0) {
        fprintf(stderr, "mni assess: %s\n", clients ? err : "out of memory");
        free(clients);
        facts_doc_free(&doc);
        return clients ? MNI_EXIT_USAGE : MNI_EXIT_FAILURE;
    }
    json_t *out = verdict_json_build(&doc.facts, &verdict);
    rc = json_dumpf(out, stdout, flags | JSON_PRESERVE_ORDER) == 0 && fputc('\n', stdout) != EOF
             ? MNI_EXIT_OK
             : MNI_EXIT_FAILURE;
    json_decref(out);
    free(clients);
    facts_doc_free(&doc);
    return rc;
}
