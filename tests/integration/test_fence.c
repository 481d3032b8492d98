/*
 * test_fence: a member whose offset compare-and-set is fenced reads on from the stored offset
 * (issue 8, "a stale member cannot commit").
 *
 * Found with tests/integration/test_faults.c's rebalance fault: when another member of the
 * group commits a partition's batch first (a member Kafka already counted out of the group
 * still commits, and the compare-and-set lets it, being first), the current owner's commit is
 * fenced, rightly, but it then retried the same batch against the same expected offset forever
 * ("fenced" every few seconds) until the next rebalance.
 *
 * Here the test is that other member: it holds the offset row in an open transaction that
 * moves it from 0 to 1, as a member committing message 0 would. mni-ingest reads messages 0
 * and 1, and its compare-and-set (0 -> 2) waits on the row; the test commits, so the worker's
 * update finds 1 and is fenced. It must then take the stored offset 1 and apply message 1 only:
 * event_log ends with the event of message 1 and without that of message 0 (which the other
 * member is trusted to have applied), the stored offset at 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WAIT_MS 60000

static int query_is(PGconn *pg, const char *sql, const char *param, const char *want)
{
    char *got = sqlcheck_text(pg, sql, param);
    int same = !strcmp(got, want);
    free(got);
    return same;
}

static void wait_query(PGconn *pg, const workerproc *w, const char *sql, const char *param,
                       const char *want)
{
    for (double t0 = testenv_now_ms(); testenv_now_ms() - t0 < WAIT_MS; usleep(50 * 1000))
        if (query_is(pg, sql, param, want)) return;
    workerproc_dump_log(w);
    fail_msg("waited in vain for %s = %s", sql, want);
}

static void fenced_member_reads_on(void **state)
{
    (void)state;
    testenv_db db;
    PGconn *other;
    testenv_db_create(&db, 1);
    static const mockkafka_topic topics[] = {
        {"incident.events", 1}, {"incident.accepted", 1}, {"incident.dlq", 1}};
    char err[512];
    mockkafka *mk = mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    if (!mk) fail_msg("%s", err);
    PGconn *pg = db.conn;
    sqlcheck_equal(pg,
                   "INSERT INTO consumer_offsets (group_id, topic, partition, next_offset) VALUES "
                   "('mni-ingest', 'incident.events', 0, 0) RETURNING next_offset",
                   NULL, "0");

    /* The other member: a second session that moves the row 0 -> 1 and holds it. */
    other = PQconnectdb(db.conninfo);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    PGresult *res = PQexec(other, "BEGIN; UPDATE consumer_offsets SET next_offset = 1 WHERE "
                                  "group_id = 'mni-ingest' AND next_offset = 0");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);

    workerproc w;
    const char *env[] = {"MNI_BATCH_MS=1000", NULL};
    assert_int_equal(
        workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(mk), NULL, env, NULL),
        0);
    char path[] = "/tmp/mni-fence-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* Two incidents opened (one partition): message 1 stands on its own. */
    char lines[4096];
    size_t len = 0;
    for (int k = 0; k < 2; k++)
        len += (size_t)snprintf(
            lines + len, sizeof lines - len,
            "{\"event_id\":\"EV-FENCE-%d\",\"incident_id\":\"INC-FENCE-%d\",\"tenant\":\"t\","
            "\"occurred_at\":\"2026-11-18T10:00:00+09:00\",\"type\":\"incident_opened\","
            "\"body\":{\"known_at\":\"2026-11-18T09:00:00+09:00\",\"title\":\"fence\","
            "\"reporter\":{\"role\":\"contractor\",\"number_use_entity\":false,"
            "\"public_body_system\":false},\"kinds\":[\"leak\"],\"certainty\":\"possible\","
            "\"improper_purpose\":\"none\",\"systems\":[],\"unspecified_viewing\":\"none\","
            "\"encrypted_protected\":false,\"recovered_unviewed\":false,\"intact_copy\":false,"
            "\"appi_sensitive\":false,\"appi_financial_risk\":false,\"description\":\"\"}}\n",
            k, k);
    assert_int_equal(write(fd, lines, len), (ssize_t)len);
    close(fd);
    assert_int_equal(topicio_produce_jsonl(mockkafka_bootstraps(mk), "incident.events", path), 2);
    unlink(path);

    /* The worker's compare-and-set waits on the row the other member holds. */
    wait_query(pg, &w,
               "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = "
               "'mni-ingest' AND wait_event_type = 'Lock'",
               db.name, "1");
    res = PQexec(other, "COMMIT");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(other);

    /* Fenced once, then on from offset 1: the event of message 1 only, the offset at 2. */
    wait_query(pg, &w,
               "SELECT next_offset FROM consumer_offsets WHERE group_id = 'mni-ingest' AND topic "
               "= $1",
               "incident.events", "2");
    sqlcheck_equal(pg, "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM event_log", NULL,
                   "EV-FENCE-1");
    assert_true(workerproc_log_count(&w, "fenced") >= 1);
    assert_true(workerproc_log_count(&w, "reading on from its stored offset") == 1);

    workerproc_signal(&w, SIGTERM);
    int rc = workerproc_wait(&w, WAIT_MS);
    if (rc != 0) workerproc_dump_log(&w);
    assert_int_equal(rc, 0);
    unlink(w.log_path);
    mockkafka_stop(mk);
    testenv_db_drop(&db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fenced_member_reads_on),
    };
    return cmocka_run_group_tests_name("fence", tests, NULL, NULL);
}
