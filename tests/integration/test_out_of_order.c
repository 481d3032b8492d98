/*
 * test_out_of_order: issue 8, "Out of order is normal". The real mni-ingest and mni-assess on
 * the mock Kafka cluster and a real PostgreSQL.
 *
 *   reverse_equals_in_order  a generated stream of the whole histories of four contractor
 *                            incidents (manifests crossing 100 distinct persons, a batch id sent
 *                            twice, an identical replay, counts with a client's own facts, a
 *                            facts update, a filing that meets a deadline, a step, a closing and
 *                            a count after it) and of one incident never opened, sent once in
 *                            order and once in reverse (every incident's events last to first:
 *                            each update before its opening). Ingest, then assess. The reversed
 *                            stream, with batches of 1 and of 500, ends in the same rows as the
 *                            ordered one: case state, versions and their verdicts, client
 *                            verdicts, headcounts and tokens, deadlines, outbox rows (tasks and
 *                            assessments), events applied, steps, filings, audit payloads, and
 *                            the events still waiting. Nothing is dead-lettered; in the reversed
 *                            runs every opening released its waiting events (ingest's log), and
 *                            on topic.accepted each incident's events follow its opening in
 *                            occurred_at order.
 *   waiting_is_visible       events of an incident not opened yet wait: mni case shows them with
 *                            their age, ingest.waiting.warn.after = 0s reports each once (a log
 *                            line; reported_at) and the gauges mni_waiting_events,
 *                            mni_waiting_overdue say so while the worker runs; the incident's
 *                            opening later releases them, and assess applies them.
 *   bound_dead_letters       with ingest.waiting.max = 1, the second event that would wait is
 *                            dead-lettered as unknown_incident naming the bound; the first waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/pg/pgx.h"
#include "tests/support/casestate.h"
#include "tests/support/histories.h"
#include "tests/support/httpget.h"
#include "tests/support/mockkafka.h"
#include "tests/support/promtext.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKER_TIMEOUT_MS 120000
#define PARTS 3
#define INCIDENTS 4

static mockkafka *kafka;

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"ooo.fwd.events", PARTS},      {"ooo.rev.events", PARTS},
        {"ooo.fwd.accepted", PARTS},    {"ooo.rev1.accepted", PARTS},
        {"ooo.rev500.accepted", PARTS}, {"ooo.wait.events", PARTS},
        {"ooo.wait.accepted", PARTS},   {"ooo.bound.events", PARTS},
        {"ooo.bound.accepted", PARTS},  {"ooo.dlq", 1},
        {"ooo.bound.dlq", 1},           {"case.assessments", PARTS},
        {"notify.tasks", PARTS}};
    return mockkafka_setup(&kafka, topics, sizeof topics / sizeof *topics);
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

/* ---- the stream ---- */

/* Manifests come from C-A, but for the second one, from C-B. */
static void stream_client(int step, int incident, char out[16])
{
    (void)incident;
    snprintf(out, 16, "%s", step == 2 ? "C-B" : "C-A");
}

static const histories_shape stream_shape = {"O", "ooo-person-", stream_client};

/* Every incident's history in the order it happened (tests/support/histories.h: occurred_at
 * grows along each incident), incidents interleaved; then a count after incident 3's closing
 * and an identical replay of incident 2's first manifest, and two events of an incident never
 * opened. */
static void build_stream(histories_stream *s)
{
    char *replay = NULL;
    for (int step = 0; step < 8; step++)
        for (int inc = 1; inc <= INCIDENTS; inc++) {
            histories_step(s, &stream_shape, step, inc);
            if (step == 1 && inc == 2) replay = s->line[s->n - 1];
        }
    histories_add(s, replay); /* an identical replay of incident 2's step 1 */
    histories_event(s, "EV-O-03-08", "INC-O-03", 8 * 7 + 3, "exposure_count",
                    "{\"client_id\":\"C-A\",\"persons\":7}"); /* after the closing */
    histories_event(s, "EV-O-99-01", "INC-O-NEVER", 200, "exposure_count",
                    "{\"client_id\":\"C-A\",\"persons\":3}");
    histories_event(s, "EV-O-99-02", "INC-O-NEVER", 201, "facts_updated",
                    "{\"improper_purpose\":\"confirmed\"}");
}

/* Produces the lines to topic, in order or each incident's last to first (the whole stream
 * reversed). */
static void produce(const histories_stream *s, int reverse, const char *topic)
{
    histories_produce(s, reverse, mockkafka_bootstraps(kafka), topic);
}

/* ---- the workers ---- */

/* Runs program until idle for 2.5 s; returns how many lines of its log hold needle (may be
 * NULL: 0). */
static int run_worker(const char *program, testenv_db *db, const char *group,
                      const char *const *env, const char *needle)
{
    return workerproc_run_until_idle(program, db->conninfo, mockkafka_bootstraps(kafka), group, env,
                                     2500, WORKER_TIMEOUT_MS, needle);
}

/* Ingest from events to accepted, then assess from accepted, each with its batch size; returns
 * how many openings released waiting events. */
static int run_pipeline(testenv_db *db, const char *name, const char *events, const char *accepted,
                        int ingest_batch, int assess_batch)
{
    char group[64], t_events[96], t_accepted[96], b_ingest[48], b_assess[48];
    snprintf(t_events, sizeof t_events, "MNI_TOPIC_EVENTS=%s", events);
    snprintf(t_accepted, sizeof t_accepted, "MNI_TOPIC_ACCEPTED=%s", accepted);
    snprintf(b_ingest, sizeof b_ingest, "MNI_BATCH_SIZE=%d", ingest_batch);
    snprintf(b_assess, sizeof b_assess, "MNI_BATCH_SIZE=%d", assess_batch);
    const char *env_ingest[] = {t_events, t_accepted, b_ingest, "MNI_TOPIC_DLQ=ooo.dlq", NULL};
    const char *env_assess[] = {t_accepted, b_assess, "MNI_TOPIC_DLQ=ooo.dlq", NULL};
    snprintf(group, sizeof group, "ooo-ingest-%s", name);
    int released = run_worker("mni-ingest", db, group, env_ingest, "waiting events released");
    snprintf(group, sizeof group, "ooo-assess-%s", name);
    run_worker("mni-assess", db, group, env_assess, NULL);
    return released;
}

/* On topic, each incident's events after its opening come in occurred_at order (event ids
 * EV-O-II-SS grow with occurred_at within an incident) and its opening comes first. */
static void assert_accepted_order(const char *topic)
{
    topicio_messages m;
    assert_int_equal(
        topicio_read_to_end(mockkafka_bootstraps(kafka), topic, PARTS, WORKER_TIMEOUT_MS, &m), 0);
    char last[INCIDENTS + 1][64] = {{0}};
    size_t seen = 0;
    for (size_t i = 0; i < m.n; i++) {
        char id[64];
        topicio_header(&m.msgs[i], "mni.event_id", id, sizeof id);
        int inc = 0, step = 0;
        if (sscanf(id, "EV-O-%d-%d", &inc, &step) != 2 || inc < 1 || inc > INCIDENTS)
            fail_msg("unexpected event %s on %s", id, topic);
        if (last[inc][0] == '\0' && step != 0)
            fail_msg("%s: %s came before its incident's opening", topic, id);
        if (last[inc][0] != '\0' && strcmp(id, last[inc]) <= 0)
            fail_msg("%s: %s came after %s", topic, id, last[inc]);
        snprintf(last[inc], sizeof last[inc], "%s", id);
        seen++;
    }
    /* Every event once: 8 steps of each incident and the count after the closing; the replay
     * is not forwarded again, and the events of the incident never opened wait. */
    assert_int_equal(seen, INCIDENTS * 8 + 1);
    topicio_messages_free(&m);
}

static void reverse_equals_in_order(void **state)
{
    (void)state;
    histories_stream s = {0};
    build_stream(&s);
    produce(&s, 0, "ooo.fwd.events");
    produce(&s, 1, "ooo.rev.events");
    histories_free(&s);

    testenv_db fwd, rev1, rev500;
    testenv_db_create(&fwd, 1);
    testenv_db_create(&rev1, 1);
    testenv_db_create(&rev500, 1);
    /* In order, nothing waits but the incident never opened. */
    assert_int_equal(run_pipeline(&fwd, "fwd", "ooo.fwd.events", "ooo.fwd.accepted", 500, 500), 0);
    /* Reversed, every opening releases its incident's events. */
    assert_int_equal(run_pipeline(&rev1, "rev1", "ooo.rev.events", "ooo.rev1.accepted", 1, 500),
                     INCIDENTS);
    assert_int_equal(
        run_pipeline(&rev500, "rev500", "ooo.rev.events", "ooo.rev500.accepted", 500, 1),
        INCIDENTS);

    char *a = casestate_text(fwd.conn, CASESTATE_ORDER),
         *b = casestate_text(rev1.conn, CASESTATE_ORDER),
         *c = casestate_text(rev500.conn, CASESTATE_ORDER);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    free(a);
    free(b);
    free(c);
    assert_accepted_order("ooo.fwd.accepted");
    assert_accepted_order("ooo.rev1.accepted");
    assert_accepted_order("ooo.rev500.accepted");

    /* The stream did what it was written to do, so that equality means something. */
    sqlcheck_equal(rev1.conn, "SELECT count(*) FROM cases", NULL, "4");
    sqlcheck_equal(rev1.conn,
                   "SELECT count(*) FROM cases WHERE mandatory_since = "
                   "'2026-11-20T09:28:00+09'::timestamptz + substr(incident_id, 7)::int * "
                   "interval '1 minute'",
                   NULL, "4"); /* each clock started at the manifest that passed 100 (step 4) */
    sqlcheck_equal(rev1.conn, "SELECT distinct_tokens FROM cases WHERE incident_id = 'INC-O-01'",
                   NULL, "110");
    sqlcheck_equal(rev1.conn, "SELECT count(*) FROM exposure_batches WHERE batch_id = 'b-1'", NULL,
                   "4");
    sqlcheck_equal(rev1.conn, "SELECT status FROM cases WHERE incident_id = 'INC-O-03'", NULL,
                   "closed");
    sqlcheck_equal(rev1.conn,
                   "SELECT count(*) FROM deadlines WHERE met_at IS NOT NULL AND kind = "
                   "'ppc_preliminary'",
                   NULL, "2");
    sqlcheck_equal(rev1.conn, "SELECT count(*) FROM case_events", NULL, "33");
    sqlcheck_equal(rev1.conn,
                   "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM waiting_events", NULL,
                   "EV-O-99-01,EV-O-99-02");
    sqlcheck_equal(rev1.conn, "SELECT count(*) FROM event_log", NULL, "35");

    /* Nothing was dead-lettered by any run. */
    topicio_messages dlq;
    assert_int_equal(
        topicio_read_to_end(mockkafka_bootstraps(kafka), "ooo.dlq", 1, WORKER_TIMEOUT_MS, &dlq), 0);
    assert_int_equal(dlq.n, 0);
    topicio_messages_free(&dlq);

    testenv_db_drop(&fwd);
    testenv_db_drop(&rev1);
    testenv_db_drop(&rev500);
}

static void waiting_is_visible(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    histories_stream s = {0};
    histories_event(&s, "EV-W-2", "INC-O-WAIT", 20, "exposure_count",
                    "{\"client_id\":\"C-A\",\"persons\":5}");
    histories_event(&s, "EV-W-1", "INC-O-WAIT", 10, "exposure_count",
                    "{\"client_id\":\"C-A\",\"persons\":150}");
    produce(&s, 0, "ooo.wait.events");
    histories_free(&s);

    int port = httpget_free_port();
    char port_env[64];
    snprintf(port_env, sizeof port_env, "MNI_METRICS_PORT=%d", port);
    const char *env[] = {port_env,
                         "MNI_TOPIC_EVENTS=ooo.wait.events",
                         "MNI_TOPIC_ACCEPTED=ooo.wait.accepted",
                         "MNI_TOPIC_DLQ=ooo.dlq",
                         "MNI_INGEST_WAITING_WARN_AFTER=0s",
                         NULL};
    const char *argv[] = {"--exit-when-idle", "4000", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(kafka),
                                      "ooo-wait-1", env, argv),
                     0);
    /* While it runs, the gauges show both events waiting, both past the limit. */
    char *body = NULL;
    int ok = 0;
    for (int waited = 0; waited < WORKER_TIMEOUT_MS && !ok; waited += 100) {
        if (httpget(port, "/metrics", &body) == 200)
            ok = promtext_component(body, "ingest", "mni_waiting_events") == 2 &&
                 promtext_component(body, "ingest", "mni_waiting_overdue") == 2 &&
                 promtext_component(body, "ingest", "mni_waiting_oldest_seconds") >= 0;
        free(body);
        body = NULL;
        if (!ok) usleep(100 * 1000);
    }
    assert_true(ok);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0) workerproc_dump_log(&w);
    assert_int_equal(rc, 0);
    /* Reported once each, not on every tick. */
    assert_int_equal(workerproc_log_count(&w, "event waits longer than"), 2);
    unlink(w.log_path);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM waiting_events WHERE reported_at IS NOT NULL",
                   NULL, "2");

    /* mni case shows them, oldest occurred_at first, with their age. */
    const char *conn_arg = db.conninfo;
    const char *argv_case[] = {"mni", "case", "--conninfo", conn_arg, "INC-O-WAIT", NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv_case, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni case exited %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "not opened yet; 2 events wait"));
    assert_non_null(strstr(r.out, "== Waiting events"));
    assert_non_null(strstr(r.out, "age_s"));
    const char *e1 = strstr(r.out, "EV-W-1"), *e2 = strstr(r.out, "EV-W-2");
    assert_true(e1 && e2 && e1 < e2);
    runcmd_free(&r);
    const char *argv_none[] = {"mni", "case", "--conninfo", conn_arg, "INC-O-NOWHERE", NULL};
    assert_int_equal(runcmd(argv_none, NULL, &r), 0);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "no such case"));
    runcmd_free(&r);

    /* The opening releases them: assess applies the 150 first, then the 5 (occurred_at order,
     * not the order they arrived in). */
    histories_event(&s, "EV-W-0", "INC-O-WAIT", 30, "incident_opened", HISTORIES_OPENED);
    produce(&s, 0, "ooo.wait.events");
    histories_free(&s);
    const char *env2[] = {"MNI_TOPIC_EVENTS=ooo.wait.events",
                          "MNI_TOPIC_ACCEPTED=ooo.wait.accepted", "MNI_TOPIC_DLQ=ooo.dlq", NULL};
    assert_int_equal(run_worker("mni-ingest", &db, "ooo-wait-1", env2, "waiting events released"),
                     1);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM waiting_events", NULL, "0");
    run_worker("mni-assess", &db, "ooo-wait-assess", env2, NULL);
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(event_id, ',' ORDER BY version_after, event_id) FROM "
                   "case_events WHERE incident_id = 'INC-O-WAIT'",
                   NULL, "EV-W-0,EV-W-1,EV-W-2");
    sqlcheck_equal(db.conn, "SELECT persons FROM client_exposure WHERE incident_id = 'INC-O-WAIT'",
                   NULL, "5");
    /* Arrival order would have left the 150 last; a contractor's first verdict starts the
     * clocks at the knowledge time (rules_clock_start), whenever its events arrived. */
    sqlcheck_equal(db.conn,
                   "SELECT mandatory_since = known_at FROM cases WHERE incident_id = 'INC-O-WAIT'",
                   NULL, "t");
    testenv_db_drop(&db);
}

static void bound_dead_letters(void **state)
{
    (void)state;
    testenv_db db;
    testenv_db_create(&db, 1);
    histories_stream s = {0};
    histories_event(&s, "EV-B-1", "INC-O-BOUND", 10, "exposure_count",
                    "{\"client_id\":\"C-A\",\"persons\":5}");
    histories_event(&s, "EV-B-2", "INC-O-BOUND", 11, "exposure_count",
                    "{\"client_id\":\"C-A\",\"persons\":6}");
    produce(&s, 0, "ooo.bound.events");
    histories_free(&s);
    const char *env[] = {"MNI_TOPIC_EVENTS=ooo.bound.events",
                         "MNI_TOPIC_ACCEPTED=ooo.bound.accepted", "MNI_TOPIC_DLQ=ooo.bound.dlq",
                         "MNI_INGEST_WAITING_MAX=1", NULL};
    run_worker("mni-ingest", &db, "ooo-bound", env, NULL);
    sqlcheck_equal(db.conn, "SELECT string_agg(event_id, ',') FROM waiting_events", NULL, "EV-B-1");
    /* The refused one is not stored, so that its replay is admitted later. */
    sqlcheck_equal(db.conn, "SELECT string_agg(event_id, ',') FROM event_log", NULL, "EV-B-1");
    topicio_messages dlq;
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "ooo.bound.dlq", 1,
                                         WORKER_TIMEOUT_MS, &dlq),
                     0);
    assert_int_equal(dlq.n, 1);
    char reason[64], detail[512], offset[32];
    topicio_header(&dlq.msgs[0], "mni.reason", reason, sizeof reason);
    topicio_header(&dlq.msgs[0], "mni.detail", detail, sizeof detail);
    topicio_header(&dlq.msgs[0], "mni.origin.offset", offset, sizeof offset);
    assert_string_equal(reason, "unknown_incident");
    assert_string_equal(offset, "1"); /* EV-B-2, after EV-B-1 on a fresh topic */
    assert_non_null(strstr(detail, "ingest.waiting.max = 1"));
    topicio_messages_free(&dlq);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reverse_equals_in_order),
        cmocka_unit_test(waiting_is_visible),
        cmocka_unit_test(bound_dead_letters),
    };
    return cmocka_run_group_tests_name("out of order", tests, group_setup, group_teardown);
}
