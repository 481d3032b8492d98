/*
 * mni cases: one line per case from PostgreSQL: status, verdicts, route, de-duplicated
 * headcount, the next open deadline and how many tasks were published.
 *
 * Run as a client role (`mni db client-role`): the cases its client is part of, each with the
 * client's own verdict and headcount (case_overview, case_versions_shown: migration 0040), its own
 * next deadline and tasks; never the de-duplicated total nor another client's count. A role that
 * may read neither gets one line saying so.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli_pg.h"
#include "cli/cli_table.h"
#include "cli/commands.h"
#include "lib/pg/pgx.h"

static void cases_usage(FILE *out)
{
    fprintf(out, "usage: mni cases [--conninfo STR] [--json]\n"
                 "\n"
                 "Lists the cases the assess worker keeps: incident, tenant, status, version,\n"
                 "My Number and APPI status, route, distinct persons, next open deadline, tasks.\n"
                 "As a client role (mni db client-role): its cases, its verdict and its count.\n"
                 "  --conninfo STR  PostgreSQL (default: $MNI_PG_CONNINFO, else .mni-env/env)\n"
                 "  --json          one JSON array instead of a table\n");
}

static const char *const cases_sql =
    "SELECT c.incident_id AS incident, c.tenant, c.status, c.version AS ver, "
    "v.verdict->'my_number'->>'status' AS my_number, v.verdict->'appi'->>'status' AS appi, "
    "v.verdict->>'route' AS route, c.persons_total AS persons, "
    "coalesce((SELECT d.kind || ' ' || coalesce(d.due_date::text, to_char(d.due_at AT TIME ZONE "
    "'Asia/Tokyo', 'YYYY-MM-DD HH24:MI')) FROM deadlines d WHERE d.incident_id = c.incident_id "
    "AND d.met_at IS NULL ORDER BY mni_due_end(d.due_date, d.due_at), d.kind LIMIT 1), '-') AS "
    "next_deadline, "
    "(SELECT count(*) FILTER (WHERE o.failed_at IS NULL AND NOT EXISTS (SELECT FROM "
    "outbox_queue q WHERE q.created_at = o.created_at AND q.task_id = o.task_id)) || '/' || "
    "count(*) FROM outbox o WHERE o.incident_id = c.incident_id AND o.topic = 'tasks') AS "
    "tasks_published "
    "FROM cases c LEFT JOIN case_versions v ON v.incident_id = c.incident_id AND v.version = "
    "c.version ORDER BY c.opened_at, c.incident_id";

/* A client role's view: its verdict and its headcount (client_persons: the count of its own
 * verdict, never the de-duplicated total). */
static const char *const client_cases_sql =
    "SELECT o.incident_id AS incident, o.tenant, o.status, o.version AS ver, "
    "v.verdict->'my_number'->>'status' AS my_number, v.verdict->'appi'->>'status' AS appi, "
    "(v.verdict->'headcount'->'clients'->>mni_client_id())::bigint AS client_persons, "
    "coalesce((SELECT d.kind || ' ' || coalesce(d.due_date::text, to_char(d.due_at AT TIME ZONE "
    "'Asia/Tokyo', 'YYYY-MM-DD HH24:MI')) FROM deadlines d WHERE d.incident_id = o.incident_id "
    "AND d.met_at IS NULL ORDER BY mni_due_end(d.due_date, d.due_at), d.kind LIMIT 1), '-') AS "
    "next_deadline, "
    "(SELECT count(*) FILTER (WHERE t.failed_at IS NULL AND NOT EXISTS (SELECT FROM "
    "outbox_queue q WHERE q.created_at = t.created_at AND q.task_id = t.task_id)) || '/' || "
    "count(*) FROM outbox t WHERE t.incident_id = o.incident_id AND t.topic = 'tasks') AS "
    "tasks_published "
    "FROM case_overview o LEFT JOIN case_versions_shown v ON v.incident_id = o.incident_id AND "
    "v.version = o.version ORDER BY o.opened_at, o.incident_id";

static const char *const client_cases_json_sql =
    "SELECT coalesce(json_agg(row_to_json(t)), '[]') FROM (SELECT o.incident_id, o.tenant, "
    "o.status, o.version, mni_client_id() AS client_id, (v.verdict->'headcount'->'clients'->>"
    "mni_client_id())::bigint AS client_persons, v.verdict FROM case_overview o LEFT JOIN "
    "case_versions_shown v ON v.incident_id = o.incident_id AND v.version = o.version "
    "ORDER BY o.opened_at, o.incident_id) t";

static const char *const cases_json_sql = "SELECT coalesce(json_agg(row_to_json(t)), '[]') FROM ("
                                          "SELECT c.incident_id, c.tenant, c.status, c.version, "
                                          "c.persons_total, c.mandatory_since, "
                                          "case_verdict(c.incident_id, c.version) AS verdict "
                                          "FROM cases c ORDER BY c.opened_at) t";

int cmd_cases(int argc, char **argv)
{
    const char *conninfo = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cases_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--conninfo") && i + 1 < argc) {
            conninfo = argv[++i];
        } else {
            fprintf(stderr, "mni cases: unknown option '%s' (see mni cases --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        }
    }
    char err[1024];
    PGconn *pg = cli_pg_connect(conninfo, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "mni cases: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    char client[256], role[256];
    int is_client = cli_pg_client_of(pg, client, sizeof client, role, sizeof role, err, sizeof err);
    PGresult *res = NULL;
    if (is_client >= 0) {
        const char *sql = is_client ? (json ? client_cases_json_sql : client_cases_sql)
                                    : (json ? cases_json_sql : cases_sql);
        res = pgx_query(pg, json ? "cases.list_json" : "cases.list", sql, 0, NULL, err, sizeof err);
        if (!res) cli_pg_explain_denied(role, "the cases", err, sizeof err);
    }
    if (!res) {
        fprintf(stderr, "mni cases: %s\n", err);
        pgx_close(pg);
        return MNI_EXIT_FAILURE;
    }
    if (json)
        puts(PQgetvalue(res, 0, 0));
    else
        cli_print_table(stdout, res, "(no cases)");
    PQclear(res);
    pgx_close(pg);
    return MNI_EXIT_OK;
}
