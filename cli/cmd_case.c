/*
 * mni case ID: everything PostgreSQL holds about one case: its facts, every version with the
 * rules that fired, per-client headcounts (counts and distinct tokens), the de-duplicated total
 * (each version's known count next to its possible maximum), deadlines and their state, the
 * tasks queued, the documents rendered and the tickets (with their webhook delivery: pending,
 * delivered or failed, attempts and the last answer), and the events that wait for the
 * incident to be opened (waiting_events, ingest/main.c "Waiting") with their age. An incident
 * not opened yet has no case; when events wait for it, they are shown (exit 0).
 *
 * Run as a client role (`mni db client-role`), it shows that client's part only, read through
 * what row-level security and the views of migration 0040 give it: the case's state, each
 * version as the client's verdict (case_versions_shown), its own headcount, its deadlines,
 * tasks, documents and tickets; never another client's count nor the de-duplicated total, and
 * no waiting events (not sorted by client before their incident opens). A role that may read
 * neither gets one line saying so, not PostgreSQL's "permission denied".
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
    fprintf(out, "usage: mni case [--conninfo STR] [--json [--version N]] INCIDENT_ID\n"
                 "\n"
                 "Shows one case: facts, versions, headcounts, deadlines, tasks, documents,\n"
                 "tickets, and events waiting for the incident to be opened. --json prints the\n"
                 "latest verdict document only, whole (every client, also when the record on\n"
                 "case.assessments was abridged); --version N that of version N.\n"
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
     "CASE WHEN failed_at IS NOT NULL THEN 'failed: ' || left(failure, 120) WHEN EXISTS (SELECT "
     "FROM outbox_queue q WHERE q.created_at = o.created_at AND q.task_id = o.task_id) THEN "
     "'pending' ELSE 'published' END AS state "
     "FROM outbox o WHERE incident_id = $1 ORDER BY created_at, task_id"},
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

/* The client's part: case_overview and case_versions_shown hide what is over all clients;
 * the client-owned tables show its rows only (row-level security). */
static const case_section client_sections[] = {
    {"Case", "SELECT incident_id AS incident, tenant, status, version, to_char(known_at AT TIME "
             "ZONE 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI') AS known_jst, mni_client_id() AS client "
             "FROM case_overview WHERE incident_id = $1"},
    {"Versions (this client's verdict)",
     "SELECT version, to_char(created_at AT TIME ZONE 'Asia/Tokyo', 'MM-DD HH24:MI:SS') AS at, "
     "verdict->'my_number'->>'status' AS my_number, verdict->'appi'->>'status' AS appi, "
     "array_to_string(rules, ',') AS rules, verdict->'headcount'->'clients'->>mni_client_id() AS "
     "headcount, verdict->'headcount'->'clients_known'->>mni_client_id() AS known, "
     "cause_event_id AS cause FROM case_versions_shown WHERE incident_id = $1 ORDER BY version"},
    {"Headcount (this client)",
     "WITH cv AS (SELECT v.verdict->'clients'->0 AS c FROM case_versions_shown v JOIN "
     "case_overview o ON o.incident_id = v.incident_id AND o.version = v.version WHERE "
     "v.incident_id = $1) "
     "SELECT e.client_id AS client, e.persons AS counted, e.persons_max AS possible_max, "
     "e.token_count AS tokens, c->>'status' AS status, c->>'rules' AS rules, c->>'notice_due' AS "
     "notice_due FROM client_exposure e LEFT JOIN cv ON true WHERE e.incident_id = $1"},
};

/* Deadlines, tasks, documents and tickets: the same queries for both (row-level security
 * keeps a client role to its rows). */
#define CASE_SHARED_FIRST 4
#define CASE_SHARED_COUNT 4
#define CASE_WAITING_SECTION (sizeof case_sections / sizeof *case_sections - 1)

/* How one kind of role reads a case. */
typedef struct {
    const char *exists_sql; /* (cases, waiting events) */
    const char *json_sql;   /* the verdict of version $2, or the latest when $2 is null */
} case_reader;

static const case_reader bpo_reader = {
    "SELECT (SELECT count(*) FROM cases WHERE incident_id = $1), "
    "(SELECT count(*) FROM waiting_events WHERE incident_id = $1)",
    "SELECT coalesce(jsonb_pretty(case_verdict(c.incident_id, coalesce($2::integer, "
    "c.version))), 'null') FROM cases c WHERE c.incident_id = $1"};
static const case_reader client_reader = {
    "SELECT (SELECT count(*) FROM case_overview WHERE incident_id = $1), 0",
    "SELECT coalesce(jsonb_pretty(v.verdict), 'null') FROM case_overview o LEFT JOIN "
    "case_versions_shown v ON v.incident_id = o.incident_id AND v.version = "
    "coalesce($2::integer, o.version) WHERE o.incident_id = $1"};

static int print_section(PGconn *pg, const case_section *s, const char *const *params, int first,
                         const char *role, char *err, size_t errlen)
{
    PGresult *res = pgx_query(pg, s->title, s->sql, 1, params, err, errlen);
    if (!res) {
        cli_pg_explain_denied(role, "this case", err, errlen);
        return -1;
    }
    printf("%s== %s\n", first ? "" : "\n", s->title);
    cli_print_table(stdout, res, "(none)");
    PQclear(res);
    return 0;
}

int cmd_case(int argc, char **argv)
{
    const char *conninfo = NULL, *id = NULL, *version = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            case_usage(stdout);
            return MNI_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--version") && i + 1 < argc) {
            version = argv[++i];
            if (version[0] == '\0' || strspn(version, "0123456789") != strlen(version) ||
                strlen(version) > 9) {
                fprintf(stderr, "mni case: --version: '%s' is not a version number\n", version);
                return MNI_EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--conninfo") && i + 1 < argc) {
            conninfo = argv[++i];
        } else if (argv[i][0] == '-' || id) {
            fprintf(stderr, "mni case: unexpected argument '%s' (see mni case --help)\n", argv[i]);
            return MNI_EXIT_USAGE;
        } else {
            id = argv[i];
        }
    }
    if (!id || (version && !json)) {
        if (version && !json) fprintf(stderr, "mni case: --version goes with --json\n");
        case_usage(stderr);
        return MNI_EXIT_USAGE;
    }
    char err[1024];
    PGconn *pg = cli_pg_connect(conninfo, err, sizeof err);
    if (!pg) {
        fprintf(stderr, "mni case: %s\n", err);
        return MNI_EXIT_FAILURE;
    }
    char client[256], role[256];
    int is_client = cli_pg_client_of(pg, client, sizeof client, role, sizeof role, err, sizeof err);
    if (is_client < 0) {
        fprintf(stderr, "mni case: %s\n", err);
        pgx_close(pg);
        return MNI_EXIT_FAILURE;
    }
    const case_reader *reader = is_client ? &client_reader : &bpo_reader;
    const char *params[] = {id};
    PGresult *res = pgx_query(pg, "case.exists", reader->exists_sql, 1, params, err, sizeof err);
    int rc = MNI_EXIT_OK;
    size_t first = 0;
    if (!res) {
        cli_pg_explain_denied(role, "the cases", err, sizeof err);
        fprintf(stderr, "mni case: %s\n", err);
        rc = MNI_EXIT_FAILURE;
    } else if (atoi(PQgetvalue(res, 0, 0)) == 0 && atoi(PQgetvalue(res, 0, 1)) > 0 && !json) {
        /* Not opened yet, but its events wait: show them. */
        printf("== Case\n%s: not opened yet; %s events wait for its incident_opened\n\n", id,
               PQgetvalue(res, 0, 1));
        first = CASE_WAITING_SECTION;
    } else if (atoi(PQgetvalue(res, 0, 0)) == 0) {
        fprintf(stderr, "mni case: %s: no such case%s%s%s\n", id,
                atoi(PQgetvalue(res, 0, 1)) > 0 ? " (not opened yet; events wait for it)" : "",
                is_client ? " for client " : "", is_client ? client : "");
        rc = MNI_EXIT_FAILURE;
    }
    PQclear(res);
    if (rc == MNI_EXIT_OK && json) {
        const char *json_params[] = {id, version};
        res = pgx_query(pg, "case.verdict", reader->json_sql, 2, json_params, err, sizeof err);
        if (res && version && !strcmp(PQgetvalue(res, 0, 0), "null")) {
            fprintf(stderr, "mni case: %s: no version %s\n", id, version);
            PQclear(res);
            rc = MNI_EXIT_FAILURE;
        } else if (res) {
            puts(PQgetvalue(res, 0, 0));
            PQclear(res);
        } else {
            cli_pg_explain_denied(role, "this case", err, sizeof err);
            fprintf(stderr, "mni case: %s\n", err);
            rc = MNI_EXIT_FAILURE;
        }
    }
    if (rc == MNI_EXIT_OK && !json) {
        /* The client's own sections, then the shared ones; for the others every section. */
        const case_section *order[sizeof case_sections / sizeof *case_sections];
        size_t n = 0;
        if (is_client) {
            for (size_t s = 0; s < sizeof client_sections / sizeof *client_sections; s++)
                order[n++] = &client_sections[s];
            for (size_t s = CASE_SHARED_FIRST; s < CASE_SHARED_FIRST + CASE_SHARED_COUNT; s++)
                order[n++] = &case_sections[s];
        } else {
            for (size_t s = first; s < sizeof case_sections / sizeof *case_sections; s++)
                order[n++] = &case_sections[s];
        }
        for (size_t s = 0; s < n; s++)
            if (print_section(pg, order[s], params, s == 0, role, err, sizeof err) != 0) {
                fprintf(stderr, "mni case: %s\n", err);
                rc = MNI_EXIT_FAILURE;
                break;
            }
    }
    pgx_close(pg);
    return rc;
}
