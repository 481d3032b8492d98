/*
 * test_dlq_replay: dead letters come back. The real mni-ingest dead-letters what it must refuse;
 * `mni dlq list` shows each letter; once the cause is fixed (the incident opened), `mni dlq replay`
 * sends the letters back to the events topic, once each, and ingest accepts them like any
 * other event. PostgreSQL and the mock Kafka cluster are real; events go in through `mni
 * produce`, as a producer system's would.
 *
 * The story (one case, in order):
 *   1. Before INC-D is opened, two exposure counts for it arrive (unknown_incident: ingest runs
 *      with ingest.waiting.max = 0, so they may not wait), one for
 *      INC-E which is never opened (unknown_incident), a line that is not an event
 *      (malformed) and an opening whose title holds a valid My Number, built at run time
 *      (raw_my_number: value and headers withheld).
 *   2. `mni dlq list` shows the five with reason, detail, origin (the events topic, partition,
 *      offset), incident, event id and age; --json the same as data; filters narrow it.
 *   3. INC-D is opened. `mni dlq replay --reason unknown_incident --incident INC-D` sends its
 *      two letters back: original key, value and headers (mni.event_id kept), the dead letter's
 *      mni.* headers gone, mni.replay naming the letter. Ingest accepts both: event_log holds
 *      them with their new origin, nothing new on the dead-letter topic.
 *   4. The same replay again sends nothing (two already replayed); --since in the future keeps
 *      nothing; a dry run sends nothing.
 *   5. `mni dlq replay` without filters sends INC-E's letter and the malformed one (both
 *      refused again by ingest: new dead letters, nothing lost), skips the withheld one and the
 *      two already replayed; the list marks the four replayed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/pg/pgx.h"
#include "rules/mynumber.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

static mockkafka *kafka;
static testenv_db db;

static int setup(void **state)
{
    static const mockkafka_topic topics[] = {{"d.events", 2}, {"d.accepted", 2}, {"d.dlq", 1}};
    if (mockkafka_setup(&kafka, topics, 3) != 0) return -1;
    testenv_db_setup(state, &db, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    testenv_db_drop(&db);
    mockkafka_stop(kafka);
    return 0;
}

/* Runs `mni ARGS` with the case's Kafka, topics and database in its environment; the test's own
 * environment is restored afterwards (testenv reads MNI_PG_CONNINFO to drop databases). */
static runcmd_result mni(const char *const *argv)
{
    char *saved = getenv("MNI_PG_CONNINFO") ? strdup(getenv("MNI_PG_CONNINFO")) : NULL;
    setenv("MNI_PG_CONNINFO", db.conninfo, 1);
    setenv("MNI_KAFKA_BOOTSTRAP", mockkafka_bootstraps(kafka), 1);
    setenv("MNI_TOPIC_EVENTS", "d.events", 1);
    setenv("MNI_TOPIC_DLQ", "d.dlq", 1);
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (saved)
        setenv("MNI_PG_CONNINFO", saved, 1);
    else
        unsetenv("MNI_PG_CONNINFO");
    free(saved);
    return r;
}

static void mni_ok(const char *const *argv, char **out)
{
    runcmd_result r = mni(argv);
    if (r.status != 0) fail_msg("mni %s: exit %d: %s", argv[1], r.status, r.err);
    if (out) *out = strdup(r.out);
    runcmd_free(&r);
}

static void produce(const char *text, int raw)
{
    char path[] = "/tmp/mni-test-dlq-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    const char *argv[] = {"mni", "produce", "--no-pace", raw ? "--raw" : path, raw ? path : NULL,
                          NULL};
    mni_ok(argv, NULL);
    unlink(path);
}

/* With ingest.waiting.max = 0 no event may wait for its incident's opening (ingest/main.c
 * "Waiting"): an update of an incident not open is dead-lettered at once as unknown_incident, as
 * beyond the bound (and as before events could wait), which is what this story replays. */
static void run_ingest(void)
{
    const char *env[] = {"MNI_TOPIC_EVENTS=d.events", "MNI_TOPIC_ACCEPTED=d.accepted",
                         "MNI_TOPIC_DLQ=d.dlq", "MNI_INGEST_WAITING_MAX=0", NULL};
    const char *argv[] = {"--exit-when-idle", "1500", NULL};
    workerproc w;
    assert_int_equal(workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(kafka),
                                      "mni-ingest-dlq", env, argv),
                     0);
    int rc = workerproc_wait(&w, 90000);
    if (rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("mni-ingest exited %d", rc);
    }
    unlink(w.log_path);
}

static json_t *list_json(const char *const *filters)
{
    const char *argv[16] = {"mni", "dlq", "list", "--json"};
    size_t n = 4;
    for (size_t i = 0; filters && filters[i]; i++)
        argv[n++] = filters[i];
    argv[n] = NULL;
    char *out;
    mni_ok(argv, &out);
    json_error_t jerr;
    json_t *arr = json_loads(out, 0, &jerr);
    if (!json_is_array(arr)) fail_msg("mni dlq list --json: %s\n%s", jerr.text, out);
    free(out);
    return arr;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static size_t count_reason(const json_t *arr, const char *reason)
{
    size_t i, n = 0;
    const json_t *e;
    json_array_foreach (arr, i, e)
        n += !strcmp(jstr(e, "reason"), reason);
    return n;
}

#define COUNT(id, inc, persons)                                                                    \
    "{\"event_id\":\"" id "\",\"incident_id\":\"" inc "\",\"tenant\":\"bpo\","                     \
    "\"occurred_at\":\"2026-05-02T08:00:00+09:00\",\"producer\":\"loader\","                       \
    "\"type\":\"exposure_count\",\"body\":{\"client_id\":\"A\",\"persons\":" persons "}}\n"

#define OPENED_FMT                                                                                 \
    "{\"event_id\":\"%s\",\"incident_id\":\"%s\",\"tenant\":\"bpo\","                              \
    "\"occurred_at\":\"2026-05-01T10:00:00+09:00\",\"producer\":\"dlp\","                          \
    "\"type\":\"incident_opened\",\"body\":{\"known_at\":\"2026-05-01T09:30:00+09:00\","           \
    "\"title\":\"%s\",\"reporter\":{\"role\":\"contractor\",\"number_use_entity\":false,"          \
    "\"public_body_system\":false},\"kinds\":[\"leak\"],\"certainty\":\"confirmed\","              \
    "\"improper_purpose\":\"none\",\"systems\":[],\"unspecified_viewing\":\"none\","               \
    "\"encrypted_protected\":false,\"recovered_unviewed\":false,\"intact_copy\":false,"            \
    "\"appi_sensitive\":false,\"appi_financial_risk\":false}}\n"

static void test_replay_story(void **state)
{
    (void)testenv_db_from_state(state);
    /* 1. What ingest must refuse. */
    produce(COUNT("EV-D-2", "INC-D", "40") COUNT("EV-D-3", "INC-D", "70")
                COUNT("EV-E-1", "INC-E", "5"),
            0);
    produce("this is not an event\n", 1);
    int digits[11] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
    char number[13], title[64], line[2048];
    for (int i = 0; i < 11; i++)
        number[i] = (char)('0' + digits[i]);
    number[11] = (char)('0' + mynumber_check_digit(digits));
    number[12] = '\0';
    assert_true(mynumber_is_valid(number));
    snprintf(title, sizeof title, "番号 %s を含む", number);
    snprintf(line, sizeof line, OPENED_FMT, "EV-R-1", "INC-R", title);
    produce(line, 0);
    run_ingest();

    /* 2. The list. */
    json_t *all = list_json(NULL);
    assert_int_equal(json_array_size(all), 5);
    assert_int_equal(count_reason(all, "unknown_incident"), 3);
    assert_int_equal(count_reason(all, "malformed"), 1);
    assert_int_equal(count_reason(all, "raw_my_number"), 1);
    size_t i;
    const json_t *e;
    json_array_foreach (all, i, e) {
        assert_string_equal(jstr(e, "origin_topic"), "d.events");
        assert_true(strlen(jstr(e, "origin_offset")) > 0);
        assert_true(strlen(jstr(e, "detail")) > 0);
        assert_true(json_is_null(json_object_get(e, "replayed_at")));
        if (!strcmp(jstr(e, "reason"), "raw_my_number")) {
            assert_int_equal(json_integer_value(json_object_get(e, "bytes")), 0);
            assert_non_null(jstr(e, "withheld"));
        } else {
            assert_true(json_is_null(json_object_get(e, "withheld")));
        }
        if (!strcmp(jstr(e, "reason"), "unknown_incident"))
            assert_true(!strcmp(jstr(e, "incident_id"), "INC-D") ||
                        !strcmp(jstr(e, "incident_id"), "INC-E"));
    }
    json_decref(all);
    const char *only_d[] = {"--incident", "INC-D", NULL};
    json_t *d = list_json(only_d);
    assert_int_equal(json_array_size(d), 2);
    json_decref(d);
    const char *table[] = {"mni", "dlq", "list", NULL};
    char *out;
    mni_ok(table, &out);
    assert_non_null(strstr(out, "5 dead letters on d.dlq"));
    assert_non_null(strstr(out, "unknown_incident"));
    assert_non_null(strstr(out, "d.events["));
    assert_null(strstr(out, number)); /* never the number, not even in a detail */
    free(out);

    /* 3. The cause fixed: INC-D opened. Its two letters replayed. */
    snprintf(line, sizeof line, OPENED_FMT, "EV-D-1", "INC-D", "INC-D opened late");
    produce(line, 0);
    run_ingest();
    sqlcheck_equal(db.conn, "SELECT count(*) FROM event_log WHERE incident_id = 'INC-D'", NULL,
                   "1");
    const char *replay_d[] = {"mni",        "dlq",   "replay", "--reason", "unknown_incident",
                              "--incident", "INC-D", NULL};
    mni_ok(replay_d, &out);
    assert_string_equal(out, "replayed 2 dead letters to d.events; skipped: 0 already replayed, 0 "
                             "from other topics, 0 withheld\n");
    free(out);
    /* On the events topic: original key and headers, plus mni.replay; no dead-letter headers. */
    topicio_messages m;
    assert_int_equal(topicio_read_all(mockkafka_bootstraps(kafka), "d.events", 2, 99, 1500, &m), 0);
    int replayed = 0;
    for (size_t k = 0; k < m.n; k++) {
        char mark[128], ev[64], reason[64];
        topicio_header(&m.msgs[k], "mni.replay", mark, sizeof mark);
        if (!mark[0]) continue;
        replayed++;
        topicio_header(&m.msgs[k], "mni.event_id", ev, sizeof ev);
        topicio_header(&m.msgs[k], "mni.reason", reason, sizeof reason);
        assert_true(!strcmp(ev, "EV-D-2") || !strcmp(ev, "EV-D-3"));
        assert_string_equal(reason, "");
        assert_int_equal(strncmp(mark, "d.dlq/0/", 8), 0);
        assert_int_equal(m.msgs[k].key_len, 5);
        assert_memory_equal(m.msgs[k].key, "INC-D", 5);
    }
    topicio_messages_free(&m);
    assert_int_equal(replayed, 2);
    run_ingest();
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM event_log WHERE "
                   "incident_id = 'INC-D'",
                   NULL, "EV-D-1,EV-D-2,EV-D-3");
    all = list_json(NULL);
    assert_int_equal(json_array_size(all), 5); /* accepted: no new dead letter */
    json_decref(all);

    /* 4. Once each; filters; a dry run. */
    mni_ok(replay_d, &out);
    assert_string_equal(out, "replayed 0 dead letters to d.events; skipped: 2 already replayed, 0 "
                             "from other topics, 0 withheld\n");
    free(out);
    const char *future[] = {"mni", "dlq", "replay", "--since", "2999-01-01T00:00:00Z", NULL};
    mni_ok(future, &out);
    assert_non_null(strstr(out, "replayed 0 dead letters"));
    assert_non_null(strstr(out, "skipped: 0 already replayed"));
    free(out);
    const char *dry[] = {"mni", "dlq", "replay", "--dry-run", NULL};
    mni_ok(dry, &out);
    assert_string_equal(out, "would replay 2 dead letters to d.events; skipped: 2 already "
                             "replayed, 0 from other topics, 1 withheld\n");
    free(out);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM dlq_replays", NULL, "2");

    /* 5. Everything else: refused again by ingest, and so dead letters again. */
    const char *replay_all[] = {"mni", "dlq", "replay", NULL};
    mni_ok(replay_all, &out);
    assert_string_equal(out, "replayed 2 dead letters to d.events; skipped: 2 already replayed, 0 "
                             "from other topics, 1 withheld\n");
    free(out);
    run_ingest();
    all = list_json(NULL);
    assert_int_equal(json_array_size(all), 7);
    size_t marked = 0;
    json_array_foreach (all, i, e)
        marked += json_is_string(json_object_get(e, "replayed_at"));
    assert_int_equal(marked, 4);
    json_decref(all);
    sqlcheck_equal(
        db.conn,
        "SELECT string_agg(reason || ':' || coalesce(incident_id, '-') || ':' || "
        "coalesce(event_id, '-'), ',' ORDER BY coalesce(event_id, '~')) FROM dlq_replays",
        NULL,
        "unknown_incident:INC-D:EV-D-2,unknown_incident:INC-D:EV-D-3,"
        "unknown_incident:INC-E:EV-E-1,malformed:-:-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_story),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
