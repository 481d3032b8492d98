/*
 * The token merge's peer session (assess/token_merge.h), with the real mni-assess, a real
 * PostgreSQL and the mock Kafka cluster. The per-incident person set merged on a second session
 * that commits before the batch must end where one session alone ends, also when the batch
 * then rolls back and is applied again, and when a merged manifest is not applied after all
 * (dead-lettered, or refused by the rule core): each manifest is credited exactly the persons
 * that were new at its place in the stream. Each run is compared, table for table
 * (tests/support/casestate.h), with the same stream merged on one session
 * (assess.merge_peer_min 0), and the counts with what the stream holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/digest.h"
#include "tests/support/casestate.h"
#include "tests/support/histories.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKER_TIMEOUT_MS 90000
#define PEER_LOG "persons merged on the peer session"

static mockkafka *kafka;

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {{"accepted.stream", 3},  {"accepted.poison", 1},
                                             {"accepted.refused", 1}, {"incident.dlq", 1},
                                             {"case.assessments", 3}, {"notify.tasks", 3}};
    return mockkafka_setup(&kafka, topics, 6);
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

/* Runs mni-assess on db over topic with batches of batch_size, the peer from peer_min tokens
 * (0: none) and debug logs; returns how many batches merged on the peer. */
static int run_assess(testenv_db *db, const char *topic, const char *group, int batch_size,
                      int peer_min)
{
    char topic_env[96], batch_env[48], peer_env[48];
    snprintf(topic_env, sizeof topic_env, "MNI_TOPIC_ACCEPTED=%s", topic);
    snprintf(batch_env, sizeof batch_env, "MNI_BATCH_SIZE=%d", batch_size);
    snprintf(peer_env, sizeof peer_env, "MNI_ASSESS_MERGE_PEER_MIN=%d", peer_min);
    const char *env[] = {topic_env, batch_env, peer_env, "MNI_LOG_LEVEL=debug", NULL};
    return workerproc_run_until_idle("mni-assess", db->conninfo, mockkafka_bootstraps(kafka), group,
                                     env, 2500, WORKER_TIMEOUT_MS, PEER_LOG);
}

static void exec_ok(PGconn *pg, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
}

static void assert_same_state(testenv_db *a, testenv_db *b)
{
    char *x = casestate_text(a->conn, 0), *y = casestate_text(b->conn, 0);
    assert_string_equal(x, y);
    free(x);
    free(y);
}

/* Every stored person count agrees with the set: distinct_tokens is the set's size. */
static void assert_counts_match_sets(PGconn *pg)
{
    sqlcheck_equal(pg,
                   "SELECT count(*) FROM cases c WHERE distinct_tokens <> (SELECT count(*) FROM "
                   "incident_persons p WHERE p.incident_id = c.incident_id) OR EXISTS (SELECT "
                   "FROM client_exposure e WHERE e.incident_id = c.incident_id AND "
                   "e.token_count <> (SELECT count(*) FROM exposure_tokens t WHERE "
                   "t.incident_id = e.incident_id AND t.client_id = e.client_id))",
                   NULL, "0");
}

static void stream_client(int step, int incident, char out[16])
{
    snprintf(out, 16, "C-%02d", (step + incident) % 3);
}

static const histories_shape shape = {"P", "peer-person-", stream_client};

static int stream_produced;

/* Six generated contractor incidents (tests/support/histories.h: shared persons, a batch id
 * sent twice, the count passing 100), produced once. */
static void produce_stream_once(void)
{
    if (stream_produced) return;
    histories_stream s = {0};
    for (int step = 0; step < 8; step++)
        for (int inc = 1; inc <= 6; inc++)
            histories_step(&s, &shape, step, inc);
    histories_produce(&s, 0, mockkafka_bootstraps(kafka), "accepted.stream");
    histories_free(&s);
    stream_produced = 1;
}

/* The peer merges every batch's persons: the same rows as one session, in one batch and in
 * batches of 5. */
static void test_peer_same_as_alone(void **state)
{
    (void)state;
    produce_stream_once();
    testenv_db alone, peer, peer_small;
    testenv_db_create(&alone, 1);
    testenv_db_create(&peer, 1);
    testenv_db_create(&peer_small, 1);
    assert_int_equal(run_assess(&alone, "accepted.stream", "peer-alone", 500, 0), 0);
    assert_true(run_assess(&peer, "accepted.stream", "peer-500", 500, 1) >= 1);
    assert_true(run_assess(&peer_small, "accepted.stream", "peer-5", 5, 1) >= 2);
    assert_same_state(&alone, &peer);
    assert_same_state(&alone, &peer_small);
    sqlcheck_equal(peer.conn, "SELECT string_agg(DISTINCT distinct_tokens::text, ',') FROM cases",
                   NULL, "110");
    assert_counts_match_sets(peer.conn);
    /* Every person's added_by names the manifest that brought it first. */
    sqlcheck_equal(peer.conn,
                   "SELECT count(*) FROM incident_persons WHERE added_by IS NULL OR added_by NOT "
                   "IN (SELECT ('x' || left(encode(sha256(convert_to(event_id, 'UTF8')), 'hex'), "
                   "16))::bit(64)::bigint FROM case_events WHERE kind = 'exposure_manifest')",
                   NULL, "0");
    testenv_db_drop(&alone);
    testenv_db_drop(&peer);
    testenv_db_drop(&peer_small);
}

/* A batch that fails after the peer committed its persons (an injected serialization failure
 * on the batch's first write of versions, once) is applied again: the peer finds its own rows
 * there, and counts them for the same manifests. */
static void test_rolled_back_batch_counts_once(void **state)
{
    (void)state;
    produce_stream_once();
    testenv_db alone, peer;
    testenv_db_create(&alone, 1);
    testenv_db_create(&peer, 1);
    exec_ok(peer.conn, "CREATE SEQUENCE test_fail_once; "
                       "CREATE FUNCTION test_fail_once() RETURNS trigger LANGUAGE plpgsql "
                       "SECURITY DEFINER AS $$ BEGIN IF nextval('test_fail_once') = 1 THEN RAISE "
                       "EXCEPTION 'injected failure' USING ERRCODE = '40001'; END IF; RETURN NULL; "
                       "END $$; "
                       "CREATE TRIGGER test_fail_once BEFORE INSERT ON case_versions FOR EACH "
                       "STATEMENT EXECUTE FUNCTION test_fail_once()");
    assert_int_equal(run_assess(&alone, "accepted.stream", "rollback-alone", 500, 0), 0);
    assert_true(run_assess(&peer, "accepted.stream", "rollback-peer", 500, 1) >= 2);
    /* The failure happened (the sequence moved past 1): the batch ran twice. */
    sqlcheck_equal(peer.conn, "SELECT last_value > 1 FROM test_fail_once", NULL, "t");
    assert_same_state(&alone, &peer);
    assert_counts_match_sets(peer.conn);
    testenv_db_drop(&alone);
    testenv_db_drop(&peer);
}

/* A manifest event of incident INC-Q-01 with the tokens of "peer-person-<first>" .. first +
 * count - 1; extra: "" or further body fields, each followed by a comma. */
static void manifest(histories_stream *s, const char *id, int minute, const char *client, int first,
                     int count, const char *extra)
{
    static char body[8192];
    int n =
        snprintf(body, sizeof body, "{\"client_id\":\"%s\",\"batch_id\":\"b-%s\",%s\"tokens\":[",
                 client, id, extra);
    for (int k = 0; k < count; k++) {
        char key[48], tok[DIGEST_SHA256_HEX_LEN];
        int len = snprintf(key, sizeof key, "peer-person-%d", first + k);
        assert_int_equal(digest_sha256_hex(key, (size_t)len, tok), 0);
        n += snprintf(body + n, sizeof body - (size_t)n, "%s\"%s\"", k ? "," : "", tok);
    }
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    histories_event(s, id, "INC-Q-01", minute, "exposure_manifest", body);
}

/* An APPI count below the client's My Number headcount, which the rule core refuses
 * (rules/rules.c: My Number data is personal data too): the manifest is merged, then refused. */
#define REFUSED_FACTS "\"client_facts\":{\"appi_persons\":1},"

/* One incident: persons 1-50 (C-00), a refused manifest of 51-70 (C-02), 60-80 (C-01):
 * 1-50 and 60-80 count, 71 persons; and, when poison is set, first a manifest of 40-90 from
 * a client whose per-client merge PostgreSQL refuses (C-POISON, a trigger of the test): it is
 * dead-lettered, and its persons count for the later manifests. */
static void produce_incident(const char *topic, int poison)
{
    histories_stream s = {0};
    histories_event(&s, "EV-Q-00", "INC-Q-01", 0, "incident_opened", HISTORIES_OPENED);
    manifest(&s, "EV-Q-01", 1, "C-00", 1, 50, "");
    if (poison) manifest(&s, "EV-Q-02", 2, "C-POISON", 40, 51, "");
    manifest(&s, "EV-Q-03", 3, "C-02", 51, 20, REFUSED_FACTS);
    manifest(&s, "EV-Q-04", 4, "C-01", 60, 21, "");
    histories_produce(&s, 0, mockkafka_bootstraps(kafka), topic);
    histories_free(&s);
}

/* The dead letters from topic: the refused manifest's (invalid_facts) and, with poison, the
 * poisoned one's (processing_failed), once from each of the two runs. */
static void assert_dead_letters(const char *topic, int poison)
{
    topicio_messages dlq;
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(kafka), "incident.dlq", 1,
                                         WORKER_TIMEOUT_MS, &dlq),
                     0);
    int refused = 0, failed = 0, other = 0;
    for (size_t i = 0; i < dlq.n; i++) {
        char origin[64], detail[512];
        topicio_header(&dlq.msgs[i], "mni.origin.topic", origin, sizeof origin);
        topicio_header(&dlq.msgs[i], "mni.detail", detail, sizeof detail);
        if (strcmp(origin, topic) != 0) continue;
        if (!strncmp(detail, "invalid_facts", 13))
            refused++;
        else if (!strncmp(detail, "processing_failed", 17))
            failed++;
        else
            other++;
    }
    topicio_messages_free(&dlq);
    assert_int_equal(refused, 2);
    assert_int_equal(failed, poison ? 2 : 0);
    assert_int_equal(other, 0);
}

/* A trigger of the test: PostgreSQL refuses client C-POISON's per-client rows (a check
 * violation: poison, so the batch is applied again event by event). */
static const char POISON_SQL[] =
    "CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF "
    "NEW.client_id = 'C-POISON' THEN RAISE EXCEPTION 'poisoned client' USING ERRCODE = "
    "'23514'; END IF; RETURN NEW; END $$; "
    "CREATE TRIGGER test_poison BEFORE INSERT ON exposure_tokens FOR EACH ROW EXECUTE "
    "FUNCTION test_poison()";

/* produce_incident's stream through one session and through the peer: the same rows, 71
 * persons, the manifests not applied dead-lettered in both. */
static void assert_forgets_its_persons(const char *topic, int poison)
{
    produce_incident(topic, poison);
    testenv_db alone, peer;
    testenv_db_create(&alone, 1);
    testenv_db_create(&peer, 1);
    if (poison) {
        exec_ok(alone.conn, POISON_SQL);
        exec_ok(peer.conn, POISON_SQL);
    }
    char group[64];
    snprintf(group, sizeof group, "%s-alone", topic);
    assert_int_equal(run_assess(&alone, topic, group, 500, 0), 0);
    snprintf(group, sizeof group, "%s-peer", topic);
    assert_true(run_assess(&peer, topic, group, 500, 1) >= 1);
    assert_same_state(&alone, &peer);
    sqlcheck_equal(peer.conn, "SELECT distinct_tokens FROM cases", NULL, "71");
    assert_counts_match_sets(peer.conn);
    sqlcheck_equal(peer.conn, "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM case_events",
                   NULL, "EV-Q-00,EV-Q-01,EV-Q-04");
    assert_dead_letters(topic, poison);
    testenv_db_drop(&alone);
    testenv_db_drop(&peer);
}

static void test_refused_manifest_forgets_its_persons(void **state)
{
    (void)state;
    assert_forgets_its_persons("accepted.refused", 0);
}

static void test_dead_lettered_manifest_forgets_its_persons(void **state)
{
    (void)state;
    assert_forgets_its_persons("accepted.poison", 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_same_as_alone),
        cmocka_unit_test(test_rolled_back_batch_counts_once),
        cmocka_unit_test(test_refused_manifest_forgets_its_persons),
        cmocka_unit_test(test_dead_lettered_manifest_forgets_its_persons),
    };
    return cmocka_run_group_tests_name("token merge peer", tests, group_setup, group_teardown);
}
