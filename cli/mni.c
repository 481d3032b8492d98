/*
 * mni: the command-line tool. Dispatches to one subcommand per file (cli/cmd_*.c).
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} mni_command;

static const mni_command mni_commands[] = {
    {"assess", cmd_assess, "assess one incident's facts (JSON) and print the verdict (JSON)"},
    {"calendar", cmd_calendar, "list Japanese national holidays or closed days of government"},
    {"token", cmd_token, "turn person keys into HMAC-SHA256 person tokens"},
    {"db", cmd_db, "database administration (migrate)"},
    {"cases", cmd_cases, "list the cases in PostgreSQL"},
    {"case", cmd_case, "show one case: versions, headcounts, deadlines, tasks, documents"},
    {"report", cmd_report, "write one case as a document to file or print (HTML or JSON)"},
    {"web", cmd_web, "serve the case list and case pages over HTTP (read-only)"},
    {"registry", cmd_registry, "serve the embedded schema registry (development and tests)"},
    {"produce", cmd_produce, "send incident events (JSON lines) to Kafka as Avro"},
    {"dlq", cmd_dlq, "list dead letters, or replay them to the events topic once fixed"},
    {"ack-loss", cmd_ack_loss, "list or acknowledge events the workers found gone from Kafka"},
    {"accept-new-log", cmd_accept_new_log,
     "let a group read a recreated topic's new log from its start"},
};

static void mni_usage(FILE *out)
{
    fprintf(out, "usage: mni COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof mni_commands / sizeof mni_commands[0]; i++)
        fprintf(out, "  %-15s %s\n", mni_commands[i].name, mni_commands[i].summary);
    fprintf(out, "\n`mni COMMAND --help` describes each. Verdicts are not legal advice.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        mni_usage(stderr);
        return MNI_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        mni_usage(stdout);
        return MNI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof mni_commands / sizeof mni_commands[0]; i++)
        if (!strcmp(argv[1], mni_commands[i].name)) return mni_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mni: unknown command '%s' (see mni --help)\n", argv[1]);
    return MNI_EXIT_USAGE;
}
