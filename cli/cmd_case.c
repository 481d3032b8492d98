/*
 * mni case ID: everything PostgreSQL holds about one case: its facts, every version with the
 * rules that fired, per-client headcounts (counts and distinct tokens), the de-duplicated total
 * (each version's known count next to its possible maximum), deadlines and their state, the
 * tasks queued, the documents rendered and the tickets (with their webhook delivery: pending,
 * delivered or failed, attempts and the last answer), and the events that wait for the
 * incident to be opened (waiting_events, ingest/main.c "Waiting") with their age. An incident
 * not opened yet has no case; when events wait for it, they are shown (exit 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_pg.h"
#include "cli/cli_table.h"
#include "cli/commands.h"
#include "lib/pg/pgx.h"

static void case_usage(FILE *out)
{
    fprintf(out, "usage: mni case [--conninfo STR] [--json] INCIDENT_ID\n"
                 "\n"
                 "Shows one case: facts, versions, headcounts, deadlines, tasks, documents,\n"
                 "tickets, and events waiting for the incident to be opened. --json prints the\n"
                 "latest verdict document only.\n"
                 "  --conninfo STR  PostgreSQL (default: $MNI_PG_CONNINFO, else .mni-env/env)\n");
}

typedef struct {
    const char *title;
    const char *sql;
} case_section;

static const case_section case_sections[] = {
    {"Case",
     "SELECT incident_id AS incident, tenant, status, version, to_char(known_at AT TIME ZONE "
     "'Asia/Tokyo', 'YYYY-MM-DD HH24:MI') AS known_jst, to_char(mandatory_since AT TIME ZONE "
     "'Asia/Tokyo', 'YYYY-MM-DD HH24:MI') AS clocks_from_jst, persons_total AS distinct_persons, "
     "reportable, direct_report FROM cases WHERE incident_id = $1"},
    {"Facts", "SELECT f.key AS fact, f.value::text AS value FROM cases, jsonb_each(facts) f "
              "WHERE incident_id = $1 AND f.key NOT IN ('incident_id') ORDER BY f.key"},
    {"Versions",
     "SELECT version, to_char(created_at AT TIME ZONE 'Asia/Tokyo', 'MM-DD HH24:MI:SS') AS at, "
     "verdict->'my_number'->>'status' AS my_number, verdict->'appi'->>'status' AS appi, "
     "array_to_string(rules, ',') AS rules, verdict->>'route' AS route, "
     "verdict->'headcount'->>'known' AS known, verdict->'headcount'->>'total' AS possible_max, "
     "verdict->'deadlines'->>'final' AS final, "
     "cause_event_id AS cause FROM case_versions WHERE incident_id = $1 ORDER BY version"},
    {"Clients",
     "WITH cv AS (SELECT c FROM cases k, jsonb_array_elements(case_verdict(k.incident_id, "
     "k.version)->'clients') c WHERE k.incident_id = $1) "
     "SELECT e.client_id AS client, e.persons AS counted, e.persons_max AS possible_max, "
     "e.token_count AS tokens, c->>'status' AS status, c->>'rules' AS rules, c->>'notice_due' AS "
     "notice_due FROM client_exposure e LEFT JOIN cv ON c->>'client_id' = e.client_id "
     "WHERE e.incident_id = $1 ORDER BY e.client_id"},
    {"Deadlines",
     "SELECT kind, coalesce(client_id, '-') AS client, coalesce(due_date::text, "
     "to_char(due_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI')) AS due_jst, "
     "coalesce(to_char(met_at AT TIME ZONE 'Asia/Tokyo', 'MM-DD HH24:MI'), '-') AS met, "
     "coalesce(to_char(reminded_at AT TIME ZONE 'Asia/Tokyo', 'MM-DD HH24:MI'), '-') AS reminded, "
     "coalesce(to_char(escalated_at AT TIME ZONE 'Asia/Tokyo', 'MM-DD HH24:MI'), '-') AS "
     "escalated FROM deadlines WHERE incident_id = $1 ORDER BY coalesce(due_date, "
     "due_at::date), kind, client_id"},
    {"Tasks (outbox)",
     "SELECT CASE WHEN topic = 'tasks' THEN left(task_id, 12) ELSE task_id END AS task, topic, "
     "kind, coalesce(client_id, '-') AS client, "
     "CASE WHEN published_at IS NOT NULL THEN 'published' WHEN failed_at IS NOT NULL THEN "
     "'failed: ' || left(failure, 120) ELSE 'pending' END AS state "
     "FROM outbox WHERE incident_id = $1 ORDER BY created_at, task_id"},
    {"Documents",
     "SELECT left(task_id, 12) AS task, channel, format, length(document) AS bytes, "
     "left(encode(document_sha256, 'hex'), 16) AS sha256 FROM deliveries WHERE incident_id = $1 "
     "ORDER BY delivery_id"},
    {"Tickets",
     "SELECT ticket_id AS ticket, kind, coalesce(client_id, '-') AS client, title, status, "
     "coalesce(webhook_state, '-') AS webhook, webhook_attempts AS attempts, "
     "coalesce((SELECT coalesce('HTTP ' || a.http_status, '') || CASE WHEN a.http_status IS NOT "
     "NULL AND a.error IS NOT NULL THEN ': ' ELSE '' END || coalesce(a.error, '') FROM "
     "ticket_webhook_attempts a WHERE a.ticket_id = t.ticket_id ORDER BY a.attempt DESC LIMIT 1), "
     "'-') AS last_answer FROM tickets t WHERE incident_id = $1 ORDER BY created_at, ticket_id"},
    {"Waiting events",
     "SELECT event_id AS event, kind, to_char(occurred_at AT TIME ZONE 'Asia/Tokyo', "
     "'YYYY-MM-DD HH24:MI') AS occurred_jst, to_char(waiting_since AT TIME ZONE 'Asia/Tokyo', "
     "'MM-DD HH24:MI:SS') AS waiting_since_jst, floor(extract(epoch FROM now() - "
     "waiting_since))::bigint AS age_s, CASE WHEN reported_at IS NULL THEN '-' ELSE 'overdue' "
     "END AS reported FROM waiting_events WHERE incident_id = $1 "
     "ORDER BY occurred_at, src_epoch, src_partition, src_offset, event_id"},
};

#define CASE_WAITING_SECTION (sizeof case_sections / sizeof *case_sections - 1)

int cmd_case(int argc, char **argv)
{
    const char *conninfo = NULL, *id = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            case_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--conninfo") && i + 1 < argc) {
            conninfo = argv[++i];
        } else if (argv[i][0] == '-' || id) {
            fprintf(stderr, "mni case: unexpected argument '%s' (see mni case --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        } else {
            id = argv[i];
        }
    }
    if (!id) {
        case_usage(stderr);
        return MNI_EXIT_USAGE;
    }
    char err[1024];
    PGconn *pg = cli_pg_connect(conninfo, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "mni case: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    const char *params[] = {id};
    PGresult *res = pgx_query(pg, "case.exists",
                              "SELECT (SELECT count(*) FROM cases WHERE incident_id = $1), "
                              "(SELECT count(*) FROM waiting_events WHERE incident_id = $1)",
                              1, params, err, sizeof err);
    int rc = MNI_EXIT_OK;
    size_t first = 0;
    if (!res) {
        fprintf(stderr, "mni case: %s\n", err);
        rc = MNI_EXIT_FAILURE;
    } else if (atoi(PQgetvalue(res, 0, 0)) == 0 && atoi(PQgetvalue(res, 0, 1)) > 0 && !json) {
        /* Not opened yet, but its events wait: show them. */
        printf("== Case\n%s: not opened yet; %s events wait for its incident_opened\n\n", id,
               PQgetvalue(res, 0, 1));
        first = CASE_WAITING_SECTION;
    } else if (atoi(PQgetvalue(res, 0, 0)) == 0) {
        fprintf(stderr, "mni case: %s: no such case%s\n", id,
                atoi(PQgetvalue(res, 0, 1)) > 0 ? " (not opened yet; events wait for it)" : "");
        rc = MNI_EXIT_FAILURE;
    }
    PQclear(res);
    if (rc == MNI_EXIT_OK && json) {
        res = pgx_query(pg, "case.verdict",
                        "SELECT coalesce(jsonb_pretty(case_verdict(c.incident_id, c.version)), "
                        "'null') FROM cases c WHERE c.incident_id = $1",
                        1, params, err, sizeof err);
        if (res) puts(PQgetvalue(res, 0, 0));
        PQclear(res);
        rc = res ? MNI_EXIT_OK : MNI_EXIT_FAILURE;
    }
    for (size_t s = first;
         rc == MNI_EXIT_OK && !json && s < sizeof case_sections / sizeof *case_sections; s++) {
        res =
            pgx_query(pg, case_sections[s].title, case_sections[s].sql, 1, params, err, sizeof err);
        if (!res) {
            fprintf(stderr, "mni case: %s\n", err);
            rc = MNI_EXIT_FAILURE;
            break;
        }
        printf("%s== %s\n", s > first ? "\n" : "", case_sections[s].title);
        cli_print_table(stdout, res, "(none)");
        PQclear(res);
    }
    pgx_close(pg);
    return rc;
}
