/*
 * mni ack-loss, mni accept-new-log: the operator's two answers when a worker finds the broker's
 * log of a partition is not what its group's stored offsets expect (lib/runtime/logcheck.h,
 * deploy/RUNBOOK.md).
 *
 *   mni ack-loss                 lists the losses not yet acknowledged (consumer_gaps)
 *   mni ack-loss --all | ID      acknowledges them, in the name of --by (default $USER); a
 *                                worker is degraded on /healthz until every loss of its group
 *                                is acknowledged, and notices within one tick
 *   mni accept-new-log --group G --topic T [--partition P]
 *                                the group starts at offset 0 of the log the broker holds now,
 *                                under a new log epoch (a partition stopped because its topic or
 *                                broker was recreated); restart the worker afterwards
 *
 * Both only write PostgreSQL; the workers read it. Acknowledging is recorded (who, when) and
 * never deletes the record of a loss.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_pg.h"
#include "cli/cli_table.h"
#include "cli/commands.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/logcheck.h"

static void ack_loss_usage(FILE *out)
{
    fprintf(
        out,
        "usage: mni ack-loss [--conninfo STR] [--group GROUP] [--by NAME] [--all | ID]\n"
        "\n"
        "Without --all or ID: lists the events the workers found gone from the broker\n"
        "(retention, or the embedded broker's ~5 MiB per partition) and no one has\n"
        "acknowledged yet. A worker reports itself degraded on /healthz (503 \"degraded: ...\")\n"
        "until every loss of its consumer group is acknowledged. The events themselves\n"
        "cannot be read back from the broker: replay them from their producer if they\n"
        "matter (event ids make a replay harmless), then acknowledge.\n"
        "\n"
        "  --all            acknowledge every open loss (of --group, when given)\n"
        "  ID               acknowledge the loss with this id (first column of the list)\n"
        "  --group GROUP    only this consumer group (e.g. mni-ingest)\n"
        "  --by NAME        who acknowledges (default: $USER), recorded with the time\n"
        "  --conninfo STR   PostgreSQL (default: $MNI_PG_CONNINFO, else .mni-env/env)\n"
        "\n"
        "Exit status: 0 done; 1 database unreachable; 2 usage, or no open loss with ID.\n");
}

static void accept_usage(FILE *out)
{
    fprintf(
        out,
        "usage: mni accept-new-log --group GROUP --topic TOPIC [--partition N]\n"
        "                          [--conninfo STR]\n"
        "\n"
        "A worker stops a partition (log line \"partition stopped\", /healthz \"stopped: ...\")\n"
        "when the broker's log is not the one its group's stored offsets belong to: the\n"
        "topic or the broker was recreated, or the worker points at another cluster. If\n"
        "the old log is gone for good, this makes GROUP read TOPIC (one partition, or\n"
        "every partition it has stored offsets for) from offset 0 of the log the broker\n"
        "holds now, under a new log epoch (ingest records it with each event, so offsets of\n"
        "the new log do not clash with the old one's). Name the partition for a group that\n"
        "has no stored offsets there (the log line names it). Events already applied are\n"
        "recognised by their ids. Restart the worker afterwards. If the old log still\n"
        "exists elsewhere, fix kafka.bootstrap.servers instead (deploy/RUNBOOK.md).\n"
        "\n"
        "Exit status: 0 done; 1 database unreachable; 2 usage, or nothing stored for it.\n");
}

static int ack_loss_list(PGconn *pg, const char *group)
{
    char err[1024];
    const char *params[] = {group};
    PGresult *res = pgx_query(
        pg, "ack_loss.list",
        "SELECT id, group_id AS group, topic, partition, log_epoch AS epoch, first_offset AS "
        "first, end_offset - 1 AS last, end_offset - first_offset AS events, "
        "to_char(detected_at, 'YYYY-MM-DD HH24:MI:SSOF') AS detected FROM consumer_gaps "
        "WHERE acknowledged_at IS NULL AND ($1::text IS NULL OR group_id = $1) ORDER BY id",
        1, params, err, sizeof err);
    if (!res) {
        fprintf(stderr, "mni ack-loss: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    cli_print_table(stdout, res, "(no unacknowledged losses)");
    PQclear(res);
    return MNI_EXIT_OK;
}

int cmd_ack_loss(int argc, char **argv)
{
    const char *conninfo = NULL, *group = NULL, *by = NULL;
    long long id = -1;
    int all = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            ack_loss_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(a, "--all")) {
            all = 1;
        } else if ((!strcmp(a, "--conninfo") || !strcmp(a, "--group") || !strcmp(a, "--by")) &&
                   i + 1 < argc && argv[i + 1][0]) {
            const char **slot = a[2] == 'c' ? &conninfo : a[2] == 'g' ? &group : &by;
            *slot = argv[++i];
        } else if (a[0] != '-' && id < 0) {
            char *end;
            id = strtoll(a, &end, 10);
            if (*end || id < 0) {
                fprintf(stderr, "mni ack-loss: '%s': an id is a number (see mni ack-loss)\n", a);
                return MNI_EXIT_USAGE;
            }
        } else {
            fprintf(stderr, "mni ack-loss: unknown or incomplete option '%s' (see --help)\n", a);
            return MNI_EXIT_USAGE;
        }
    }
    if (all && id >= 0) {
        fprintf(stderr, "mni ack-loss: --all or an id, not both\n");
        return MNI_EXIT_USAGE;
    }
    if (!by) by = getenv("USER");
    if (!by || !*by) by = "unknown";
    char err[1024];
    PGconn *pg = cli_pg_connect(conninfo, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "mni ack-loss: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    int rc = MNI_EXIT_OK;
    long long acked = 0;
    if (!all && id < 0) {
        rc = ack_loss_list(pg, group);
    } else if (logcheck_acknowledge(pg, group, id, by, &acked, err, sizeof err) != 0) {
        fprintf(stderr, "mni ack-loss: %s\n", err);
        rc = MNI_EXIT_FAILURE;
    } else if (id >= 0 && acked == 0) {
        fprintf(stderr, "mni ack-loss: no unacknowledged loss with id %lld%s%s\n", id,
                group ? " in group " : "", group ? group : "");
        rc = MNI_EXIT_USAGE;
    } else {
        printf("acknowledged %lld loss%s (by %s)\n", acked, acked == 1 ? "" : "es", by);
    }
    pgx_close(pg);
    return rc;
}

int cmd_accept_new_log(int argc, char **argv)
{
    const char *conninfo = NULL, *group = NULL, *topic = NULL;
    long partition = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            accept_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(a, "--partition") && i + 1 < argc) {
            char *end;
            partition = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || partition < 0 || partition > INT32_MAX) {
                fprintf(stderr, "mni accept-new-log: --partition '%s': not a partition number\n",
                        argv[i]);
                return MNI_EXIT_USAGE;
            }
        } else if ((!strcmp(a, "--conninfo") || !strcmp(a, "--group") || !strcmp(a, "--topic")) &&
                   i + 1 < argc && argv[i + 1][0]) {
            const char **slot = a[2] == 'c' ? &conninfo : a[2] == 'g' ? &group : &topic;
            *slot = argv[++i];
        } else {
            fprintf(stderr, "mni accept-new-log: unknown or incomplete option '%s' (see --help)\n",
                    a);
            return MNI_EXIT_USAGE;
        }
    }
    if (!group || !topic) {
        fprintf(stderr, "mni accept-new-log: --group and --topic are required (see --help)\n");
        return MNI_EXIT_USAGE;
    }
    char err[1024];
    PGconn *pg = cli_pg_connect(conninfo, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "mni accept-new-log: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    long long rows = 0;
    int rc = MNI_EXIT_OK;
    if (logcheck_accept_new_log(pg, group, topic, (int32_t)partition, &rows, err, sizeof err) !=
        0) {
        fprintf(stderr, "mni accept-new-log: %s\n", err);
        rc = MNI_EXIT_FAILURE;
    } else if (rows == 0) {
        fprintf(stderr, "mni accept-new-log: group %s has no stored offsets for %s", group, topic);
        if (partition >= 0) fprintf(stderr, "[%ld]", partition);
        fprintf(stderr, "\n");
        rc = MNI_EXIT_USAGE;
    } else {
        printf("group %s: %lld partition%s of %s will be read from offset 0 of the broker's "
               "current log, under a new log epoch; restart the worker\n",
               group, rows, rows == 1 ? "" : "s", topic);
    }
    pgx_close(pg);
    return rc;
}
