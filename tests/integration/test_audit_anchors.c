/*
 * test_audit_anchors: the audit chain's anchors published outside the database (issue 8,
 * found item 5: a tail cut together with its anchors, a chain re-hashed), against a real
 * PostgreSQL and the mock Kafka cluster.
 *
 * The scenario: three batches of two audit rows, each signed as a worker signs it
 * (audit_anchor_sign, logged in as mni_notify, with the test key), which queues each anchor in
 * the outbox; the real relay (outbox_relay) sends them to a topic of this case's own. Then the
 * owner tampers, as only the owner can (triggers disabled), and `mni audit verify` is run as
 * an operator would.
 *
 *   truncated_tail_and_anchors  intact, with the 3 published anchors agreeing; the owner
 *                               deletes rows 5-6 and their anchors: the database alone still
 *                               looks intact (--no-anchors-topic: the gap this closes), the
 *                               topic shows the chain truncated at seq 5 (exit 1).
 *   rehashed_without_key        the owner edits row 3, re-hashes the chain from there and
 *                               deletes the anchors it no longer matches: the chain alone holds
 *                               together, the published anchors' hashes do not (named from
 *                               seq 3, with and without the key).
 *   forged_published_anchor     a message on the topic with a MAC the key does not make, and one
 *                               that is no anchor: the first is named forged (exit 1), the
 *                               second counted and ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/kafka/kq.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/audit.h"
#include "lib/runtime/audit_anchor.h"
#include "lib/runtime/config.h"
#include "lib/runtime/outbox.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testdata.h"
#include "tests/support/testenv.h"

/* Two audit rows of a notify batch, as lib/runtime/audit.h takes them. */
static const char notify_audit_rows[] =
    "[{\"action\": \"document_rendered\", \"incident_id\": \"INC-1\", \"client_id\": \"C\", "
    "\"payload\": {\"n\": 1}}, {\"action\": \"delivery_sent\", \"incident_id\": \"INC-1\", "
    "\"client_id\": \"C\", \"payload\": {\"n\": 2}}]";

static mockkafka *kafka;
static char key_path[1024];

static int group_setup(void **state)
{
    (void)state;
    static const mockkafka_topic topics[] = {
        {"anchors.truncated", 1}, {"anchors.rehashed", 1}, {"anchors.forged", 1}};
    if (mockkafka_setup(&kafka, topics, sizeof topics / sizeof *topics) != 0) return -1;
    /* `mni audit verify` finds the broker the way an operator's shell gives it. */
    setenv("MNI_KAFKA_BOOTSTRAP", mockkafka_bootstraps(kafka), 1);
    testdata_path("audit-test.key", key_path, sizeof key_path);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    mockkafka_stop(kafka);
    return 0;
}

static kq_producer *producer(void)
{
    kq_prop props[] = {{"bootstrap.servers", mockkafka_bootstraps(kafka)}, {"linger.ms", "1"}};
    char err[512];
    kq_producer *p = kq_producer_new(props, 2, err, sizeof err);
    if (!p) fail_msg("producer: %s", err);
    return p;
}

/* The scenario above, on a fresh database, its anchors relayed to topic. */
static void scenario(testenv_db *d, const char *topic)
{
    testenv_db_create(d, 1);
    char err[512], ci[2048];
    config *cfg = config_new();
    assert_non_null(cfg);
    assert_int_equal(config_set(cfg, "audit.key_file", key_path, err, sizeof err), 0);
    assert_int_equal(config_set(cfg, "topic.anchors", topic, err, sizeof err), 0);
    assert_int_equal(audit_anchor_configure(cfg, err, sizeof err), 0);
    assert_int_equal(
        pgx_conninfo_set(d->conninfo, "user", "mni_notify", ci, sizeof ci, err, sizeof err), 0);
    PGconn *w = pgx_connect(ci, "mni test notify", err, sizeof err);
    if (!w) fail_msg("log in as mni_notify: %s", err);
    for (int b = 0; b < 3; b++) {
        assert_int_equal(pgx_begin(w, err, sizeof err), 0);
        /* Two rows through the one writer, which signs the new head. */
        if (audit_append(w, "mni-notify", notify_audit_rows, NULL, err, sizeof err) != 0)
            fail_msg("append and sign: %s", err);
        /* Signing the same head again (another writer's later call) queues nothing twice. */
        if (audit_anchor_sign(w, err, sizeof err) != 0) fail_msg("sign again: %s", err);
        assert_int_equal(pgx_commit(w, err, sizeof err), 0);
    }
    sqlcheck_equal(d->conn,
                   "SELECT string_agg(task_id || ' ' || incident_id || ' ' || kind, ', ' ORDER BY "
                   "task_id) FROM outbox WHERE topic = 'anchors'",
                   NULL,
                   "audit-anchor:2 audit_log/mni_notify audit_anchor, audit-anchor:4 "
                   "audit_log/mni_notify audit_anchor, audit-anchor:6 audit_log/mni_notify "
                   "audit_anchor");
    kq_producer *p = producer();
    long relayed = 0, failed = 0;
    if (outbox_relay(w, p, cfg, NULL, 100, &relayed, &failed, err, sizeof err) != 0)
        fail_msg("relay: %s", err);
    assert_int_equal(relayed, 3);
    assert_int_equal(failed, 0);
    assert_int_equal(kq_producer_close(p, 10000, err, sizeof err), 0);
    pgx_close(w);
    config_free(cfg);
}

/* mni audit verify on d; topic NULL: --no-anchors-topic. */
static runcmd_result verify(testenv_db *d, const char *topic, int with_key)
{
    const char *argv[10] = {"mni", "audit", "verify", "--conninfo", d->conninfo};
    int n = 5;
    if (topic) {
        argv[n++] = "--anchors-topic";
        argv[n++] = topic;
    } else {
        argv[n++] = "--no-anchors-topic";
    }
    if (with_key) {
        argv[n++] = "--key-file";
        argv[n++] = key_path;
    }
    argv[n] = NULL;
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    return r;
}

static void expect(testenv_db *d, const char *topic, int with_key, int status, const char *a,
                   const char *b)
{
    runcmd_result r = verify(d, topic, with_key);
    if (r.status != status || !strstr(r.out, a) || (b && !strstr(r.out, b)))
        fail_msg("mni audit verify (topic %s, %s key): exit %d, want %d with '%s' and '%s':\n%s%s",
                 topic ? topic : "none", with_key ? "with" : "no", r.status, status, a, b ? b : "",
                 r.out, r.err);
    runcmd_free(&r);
}

/* As the owner, with the append-only triggers off, as only the owner can. */
static void tamper(testenv_db *d, const char *sql)
{
    char err[512], all[2048];
    snprintf(all, sizeof all,
             "ALTER TABLE audit_log DISABLE TRIGGER USER;"
             " ALTER TABLE audit_anchors DISABLE TRIGGER USER; %s;"
             " ALTER TABLE audit_anchors ENABLE TRIGGER USER;"
             " ALTER TABLE audit_log ENABLE TRIGGER USER",
             sql);
    if (pgx_exec(d->conn, "tamper", all, err, sizeof err) != 0) fail_msg("tamper: %s", err);
}

static void truncated_tail_and_anchors(void **state)
{
    (void)state;
    testenv_db d;
    scenario(&d, "anchors.truncated");
    expect(&d, "anchors.truncated", 1, 0, "intact: 6 rows up to seq 6, 3 anchors",
           "3 anchors published on anchors.truncated agree (newest seq 6)");
    tamper(&d, "DELETE FROM audit_log WHERE seq > 4; DELETE FROM audit_anchors WHERE seq > 4");
    /* The database alone cannot tell. */
    expect(&d, NULL, 1, 0, "intact: 4 rows up to seq 4, 2 anchors", "NOT read");
    expect(&d, "anchors.truncated", 1, 1, "first row that was edited, deleted or inserted is seq 5",
           "the chain was truncated: it ends at seq 4, but mni_notify published an anchor for "
           "seq 6 on anchors.truncated; rows 5 to 6 were deleted");
    expect(&d, "anchors.truncated", 0, 1, "is seq 5", "truncated");
    testenv_db_drop(&d);
}

/* Recomputes every hash from seq 3 on, as someone covering an edit would, and removes the
 * anchors that no longer match. */
static const char rehash_sql[] =
    "UPDATE audit_log SET payload = '{\"n\": 99}' WHERE seq = 3;"
    "DO $$ DECLARE r record; prev bytea; BEGIN"
    " SELECT hash INTO prev FROM audit_log WHERE seq = 2;"
    " FOR r IN SELECT * FROM audit_log WHERE seq >= 3 ORDER BY seq LOOP"
    "  UPDATE audit_log SET prev_hash = prev, hash = audit_log_hash(prev, r.seq, r.at, r.actor,"
    "   r.action, r.incident_id, r.client_id, r.payload) WHERE seq = r.seq RETURNING hash INTO "
    "prev;"
    " END LOOP; END $$;"
    "DELETE FROM audit_anchors WHERE seq >= 3";

static void rehashed_without_key(void **state)
{
    (void)state;
    testenv_db d;
    scenario(&d, "anchors.rehashed");
    tamper(&d, rehash_sql);
    /* Without the key and without the topic, nothing tells. */
    expect(&d, NULL, 0, 0, "chain intact: 6 rows", "NOT checked");
    expect(&d, "anchors.rehashed", 0, 1, "is seq 3",
           "the anchor published on anchors.rehashed for seq 4 (mni_notify) holds another hash; "
           "rows 3 to 4 were rewritten");
    expect(&d, "anchors.rehashed", 1, 1, "is seq 3", "re-hashed");
    testenv_db_drop(&d);
}

static void forged_published_anchor(void **state)
{
    (void)state;
    testenv_db d;
    scenario(&d, "anchors.forged");
    /* An anchor for a row that is there, with its right hash, but a MAC of someone without
     * the key; and a message that is no anchor. */
    char *hash =
        sqlcheck_text(d.conn, "SELECT encode(hash, 'hex') FROM audit_log WHERE seq = 5", NULL);
    char key_id[AUDIT_ANCHOR_KEY_ID_LEN + 1];
    token_key key;
    char err[512], forged[512];
    assert_int_equal(token_key_load(key_path, &key, err, sizeof err), 0);
    audit_anchor_key_id(&key, key_id);
    snprintf(forged, sizeof forged,
             "{\"hash\":\"%s\",\"key_id\":\"%s\",\"mac\":\"%064d\",\"seq\":5,\"signer\":"
             "\"mni_notify\"}",
             hash, key_id, 0);
    free(hash);
    kq_producer *p = producer();
    const char *junk = "not an anchor";
    if (kq_produce(p, "anchors.forged", "audit_log/x", 11, forged, strlen(forged), NULL, 0, err,
                   sizeof err) != 0 ||
        kq_produce(p, "anchors.forged", "audit_log/x", 11, junk, strlen(junk), NULL, 0, err,
                   sizeof err) != 0 ||
        kq_producer_flush_checked(p, 60000, err, sizeof err) != 0)
        fail_msg("produce: %s", err);
    assert_int_equal(kq_producer_close(p, 10000, err, sizeof err), 0);
    expect(&d, "anchors.forged", 1, 1,
           "anchor published on anchors.forged by mni_notify does "
           "not verify: forged",
           "note: 1 messages on anchors.forged are not anchors");
    /* Without the key the forged anchor's hash is the row's: nothing to see but the note. */
    expect(&d, "anchors.forged", 0, 0, "4 anchors published on anchors.forged agree",
           "note: 1 messages");
    testenv_db_drop(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncated_tail_and_anchors),
        cmocka_unit_test(rehashed_without_key),
        cmocka_unit_test(forged_published_anchor),
    };
    return cmocka_run_group_tests_name("audit anchors", tests, group_setup, group_teardown);
}
