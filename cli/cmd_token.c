/*
 * mni token: turns person keys (one per line) into person tokens (one per line, same order), for
 * producers that build exposure manifests. The person keys may be the numbers themselves: this
 * runs on the producer's side, and only tokens leave it. Input lines are never echoed, not even
 * in error messages, because they may be My Numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "lib/model/token.h"

static void token_usage(FILE *out)
{
    fprintf(out,
            "usage: mni token --key FILE [INPUT|-]\n"
            "       mni token --generate-key FILE\n"
            "\n"
            "Prints HMAC-SHA256 person tokens (64 hex digits), one per input line, in order.\n"
            "A person key is a line of INPUT (default: standard input) without its line end and\n"
            "surrounding white space; use the same person key for a person under every client,\n"
            "so that the contractor's total is de-duplicated.\n"
            "\n"
            "  --key FILE           the secret key: 32 to 128 bytes as hex digits\n"
            "                       (default: $MNI_TOKEN_KEY_FILE)\n"
            "  --generate-key FILE  write a new random 32-byte key (mode 0600, never overwrites)\n"
            "  -h, --help           this text\n"
            "\n"
            "Exit status: 0 done; 1 key or input unreadable; 2 usage or an empty person key.\n");
}

static char *trim(char *s, size_t *len)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    while (*s == ' ' || *s == '\t') {
        s++;
        n--;
    }
    *len = n;
    return s;
}

static int token_stream(const token_key *key, FILE *in, const char *name)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = MNI_EXIT_OK;
    while (getline(&line, &cap, in) >= 0) {
        lineno++;
        size_t len;
        char *person = trim(line, &len);
        char out[TOKEN_HEX_LEN + 1];
        if (len == 0) {
            fprintf(stderr, "mni token: %s line %ld: empty person key\n", name, lineno);
            rc = MNI_EXIT_USAGE;
            break;
        }
        if (token_make(key, person, len, out) != 0) {
            fprintf(stderr, "mni token: HMAC-SHA256 failed in the crypto library\n");
            rc = MNI_EXIT_FAILURE;
            break;
        }
        puts(out);
    }
    if (rc == MNI_EXIT_OK && ferror(in)) {
        fprintf(stderr, "mni token: %s: read failed\n", name);
        rc = MNI_EXIT_FAILURE;
    }
    if (line) memset(line, 0, cap);
    free(line);
    return rc;
}

int cmd_token(int argc, char **argv)
{
    const char *key_path = getenv("MNI_TOKEN_KEY_FILE"), *input = "-", *generate = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            token_usage(stdout);
            return MNI_EXIT_OK;
        } else if ((!strcmp(argv[i], "--key") || !strcmp(argv[i], "--generate-key"))) {
            if (i + 1 >= argc) {
                fprintf(stderr, "mni token: %s needs a file name\n", argv[i]);
                return MNI_EXIT_USAGE;
            }
            if (argv[i][2] == 'k')
                key_path = argv[++i];
            else
                generate = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "mni token: unknown option '%s' (see mni token --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        } else {
            input = argv[i];
        }
    }
    char err[256];
    if (generate) {
        if (token_key_generate(generate, err, sizeof err) != 0) {
            fprintf(stderr, "mni token: %s\n", err);
            return MNI_EXIT_FAILURE;
        }
        fprintf(stderr, "mni token: new key written to %s (keep it secret)\n", generate);
        return MNI_EXIT_OK;
    }
    if (!key_path) {
        fprintf(stderr, "mni token: --key FILE is required (or set MNI_TOKEN_KEY_FILE)\n");
        return MNI_EXIT_USAGE;
    }
    token_key key;
    if (token_key_load(key_path, &key, err, sizeof err) != 0) {
        fprintf(stderr, "mni token: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    FILE *in = strcmp(input, "-") ? fopen(input, "r") : stdin;
    if (!in) {
        fprintf(stderr, "mni token: %s: cannot open: %m\n", input);
        return MNI_EXIT_FAILURE;
    }
    int rc = token_stream(&key, in, strcmp(input, "-") ? input : "(stdin)");
    if (in != stdin) fclose(in);
    memset(&key, 0, sizeof key);
    return rc;
}
