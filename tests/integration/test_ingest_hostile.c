/*
 * test_ingest_hostile: the ingest worker (bin/mni-ingest) against input written to hurt it
 * (issue 8): each case produces its messages to incident.events, runs the worker until it is
 * idle, and reads incident.accepted and incident.dlq up to their high watermarks. One mock
 * cluster (one partition per topic, so that "the partition goes on" is one partition) and one
 * database; the cases run in order under one consumer group, each on incidents of its own.
 *
 *   no_number_reaches_the_dlq  a number in the incident id (the dead letter's key), in an
 *                              undecodable message (written with ー between the groups), in a
 *                              header of an otherwise refused event, in a token padded with
 *                              zeros, and with − between groups in a description: every one
 *                              is refused or dead-lettered, and no byte of any dead letter (key,
 *                              value, header) holds a number in any written form; the good
 *                              event after them is forwarded.
 *
 * No valid My Number is written in this file: they are made at run time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/events.h"
#include "common/events_json.h"
#include "common/kq.h"
#include "rules/mynumber.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define T_EVENTS "incident.events"
#define T_ACCEPTED "incident.accepted"
#define T_DLQ "incident.dlq"
#define GROUP "ingest-hostile"
#define WORKER_TIMEOUT_MS 120000
#define READ_TIMEOUT_MS 60000

static mockkafka *mk;
static testenv_db db;
static events_schema_set *schemas;
static char number[13]; /* a valid My Number, made at run time */

/* ---- helpers ---------------------------------------------------------------------------- */

static void make_number(char out[13])
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 8;
    int d[11];
    for (int i = 0; i < 11; i++) {
        seed = seed * 1103515245u + 12345u;
        d[i] = (int)((seed >> 16) % 10);
        out[i] = (char)('0' + d[i]);
    }
    out[11] = (char)('0' + mynumber_check_digit(d));
    out[12] = '\0';
}

/* Produces one message to incident.events and waits for its delivery. extra_props are more
 * producer properties ({NULL} ends them; may be NULL). */
static void produce_raw(const char *key, const void *value, size_t len, const kq_header *headers,
                        size_t nheaders, const kq_prop *extra, size_t nextra)
{
    kq_prop props[8] = {{"bootstrap.servers", mockkafka_bootstraps(mk)}, {"linger.ms", "1"}};
    size_t n = 2;
    for (size_t i = 0; i < nextra; i++)
        props[n++] = extra[i];
    char err[512];
    kq_producer *p = kq_producer_new(props, n, err, sizeof err);
    if (!p) fail_msg("producer: %s", err);
    if (kq_produce(p, T_EVENTS, key, key ? strlen(key) : 0, value, len, headers, nheaders, err,
                   sizeof err) != 0 ||
        kq_producer_flush_checked(p, 60000, err, sizeof err) != 0)
        fail_msg("produce: %s", err);
    if (kq_producer_close(p, 10000, err, sizeof err) != 0) fail_msg("producer close: %s", err);
}

/* Encodes one JSON event as `mni produce` would; the caller frees buf. */
static void encode_json(const char *json, wire_buf *buf, char *incident, size_t incident_len)
{
    char err[512];
    mni_event ev;
    mni_event_init(&ev);
    wire_buf_init(buf);
    if (mni_event_from_json_text(json, strlen(json), &ev, err, sizeof err) != 0 ||
        mni_event_encode(schemas, &ev, buf, err, sizeof err) != 0)
        fail_msg("test event: %s", err);
    snprintf(incident, incident_len, "%s", ev.incident_id);
    mni_event_free(&ev);
}

/* Produces one JSON event keyed by its incident, with headers (may be none). */
static void produce_json_with(const char *json, const kq_header *headers, size_t nheaders)
{
    wire_buf buf;
    char incident[64];
    encode_json(json, &buf, incident, sizeof incident);
    produce_raw(incident, buf.data, buf.len, headers, nheaders, NULL, 0);
    wire_buf_free(&buf);
}

static void produce_json(const char *json)
{
    produce_json_with(json, NULL, 0);
}

/* An incident_opened of incident id with description text (a contractor's leak). */
static void opened_json(char *out, size_t n, const char *event_id, const char *incident,
                        const char *description)
{
    snprintf(out, n,
             "{\"event_id\":\"%s\",\"incident_id\":\"%s\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2026-05-03T10:00:00+09:00\",\"producer\":\"helpdesk\","
             "\"type\":\"incident_opened\",\"body\":{\"known_at\":\"2026-05-03T09:00:00+09:00\","
             "\"title\":\"Hostile input\",\"reporter\":{\"role\":\"contractor\","
             "\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":[\"leak\"],"
             "\"certainty\":\"confirmed\",\"improper_purpose\":\"none\",\"systems\":[],"
             "\"unspecified_viewing\":\"none\",\"encrypted_protected\":false,"
             "\"recovered_unviewed\":false,\"intact_copy\":false,\"description\":\"%s\"}}",
             event_id, incident, description);
}

/* Runs mni-ingest until it is idle for 3 s; asserts a clean exit. env: extra settings. */
static void run_ingest(const char *const *env)
{
    static const char *const argv[] = {"--exit-when-idle", "3000", NULL};
    workerproc w;
    assert_int_equal(
        workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(mk), GROUP, env, argv),
        0);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0) {
        workerproc_dump_log(&w);
        fail_msg("mni-ingest exited with %d", rc);
    }
    if (getenv("INGEST_TEST_LOG")) workerproc_dump_log(&w);
    unlink(w.log_path);
}

static void read_topic(const char *topic, topicio_messages *out)
{
    assert_int_equal(topicio_read_to_end(mockkafka_bootstraps(mk), topic, 1, READ_TIMEOUT_MS, out),
                     0);
}

/* The message of m whose header name equals value, or NULL. */
static const topicio_message *find_by_header(const topicio_messages *m, const char *name,
                                             const char *value)
{
    for (size_t i = 0; i < m->n; i++) {
        char buf[256];
        topicio_header(&m->msgs[i], name, buf, sizeof buf);
        if (!strcmp(buf, value)) return &m->msgs[i];
    }
    return NULL;
}

/* The dead letter of the message at offset of incident.events, or NULL. */
static const topicio_message *dead_letter_of(const topicio_messages *dlq, int64_t offset)
{
    char off[24];
    snprintf(off, sizeof off, "%lld", (long long)offset);
    return find_by_header(dlq, "mni.origin.offset", off);
}

/* The end of incident.events: the offset the next message produced gets. */
static int64_t events_end(void)
{
    topicio_messages m;
    read_topic(T_EVENTS, &m);
    int64_t end = m.n ? m.msgs[m.n - 1].offset + 1 : 0;
    topicio_messages_free(&m);
    return end;
}

static void header_of(const topicio_message *m, const char *name, char *buf, size_t n)
{
    assert_non_null(m);
    topicio_header(m, name, buf, n);
}

/* ---- cases ------------------------------------------------------------------------------ */

static void no_number_reaches_the_dlq(void **state)
{
    (void)state;
    char json[2048], text[256];
    int64_t first = events_end();

    /* 0: the number in the incident id, which keys the message (and its dead letter). */
    char incident[64];
    snprintf(incident, sizeof incident, "INC-%s", number);
    opened_json(json, sizeof json, "hx-key", incident, "clean text");
    produce_json(json);
    /* 1: an undecodable message holding the number written with ー between the groups. */
    int len = snprintf(text, sizeof text, "not avro; caller said %.4s\u30FC%.4s\u30FC%.4s", number,
                       number + 4, number + 8);
    produce_raw("INC-HX-1", text, (size_t)len, NULL, 0, NULL, 0);
    /* 2: an update of an incident no one opened (unknown_incident), the number in a header. */
    const kq_header h[] = {{"x-caller-note", number, 12}};
    produce_json_with("{\"event_id\":\"hx-hdr\",\"incident_id\":\"INC-HX-NONE\",\"tenant\":"
                      "\"bpo-tokyo\",\"occurred_at\":\"2026-05-03T11:00:00+09:00\",\"type\":"
                      "\"facts_updated\",\"body\":{\"note\":\"follow-up\"}}",
                      h, 1);
    /* 3: an opened incident, then 4: its manifest with a token that is the number followed by
     * zeros. */
    opened_json(json, sizeof json, "hx-open", "INC-HX-2", "clean");
    produce_json(json);
    char token[65];
    snprintf(token, sizeof token, "%s%052d", number, 0);
    snprintf(json, sizeof json,
             "{\"event_id\":\"hx-token\",\"incident_id\":\"INC-HX-2\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2026-05-03T12:00:00+09:00\",\"type\":\"exposure_manifest\","
             "\"body\":{\"client_id\":\"client-a\",\"batch_id\":\"b-1\",\"tokens\":[\"%s\"]}}",
             token);
    produce_json(json);
    /* 5: the number with minus signs between the groups in a description. */
    snprintf(text, sizeof text, "row 7: %.4s \u2212 %.4s \u2212 %.4s", number, number + 4,
             number + 8);
    opened_json(json, sizeof json, "hx-minus", "INC-HX-3", text);
    produce_json(json);
    /* 6: a good event after all of them. */
    opened_json(json, sizeof json, "hx-good", "INC-HX-4", "clean");
    produce_json(json);

    run_ingest(NULL);

    topicio_messages dlq, accepted, events;
    read_topic(T_DLQ, &dlq);
    read_topic(T_ACCEPTED, &accepted);
    read_topic(T_EVENTS, &events);
    char buf[512];
    static const struct {
        int64_t at;
        const char *reason, *withheld;
    } want[] = {
        {0, "raw_my_number", "value (by the reason), key (a raw My Number)"},
        {1, "malformed", "value (a raw My Number)"},
        {2, "unknown_incident", "headers (a raw My Number)"},
        {4, "raw_my_number", "value (by the reason)"},
        {5, "raw_my_number", "value (by the reason)"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const topicio_message *d = dead_letter_of(&dlq, first + want[i].at);
        if (!d) fail_msg("no dead letter for message %lld", (long long)want[i].at);
        header_of(d, "mni.reason", buf, sizeof buf);
        assert_string_equal(buf, want[i].reason);
        header_of(d, "mni.withheld", buf, sizeof buf);
        if (strcmp(buf, want[i].withheld) != 0)
            fail_msg("message %lld: withheld '%s', want '%s'", (long long)want[i].at, buf,
                     want[i].withheld);
    }
    header_of(dead_letter_of(&dlq, first + 4), "mni.detail", buf, sizeof buf);
    assert_string_equal(buf, "body.tokens[0]");
    /* No byte of any dead letter holds a number, in any written form. */
    for (size_t i = 0; i < dlq.n; i++) {
        const topicio_message *d = &dlq.msgs[i];
        assert_false(d->key && mynumber_find(d->key, d->key_len, NULL));
        assert_false(d->value && mynumber_find(d->value, d->value_len, NULL));
        const char *name;
        const void *value;
        size_t vlen;
        for (size_t k = 0;
             d->headers && rd_kafka_header_get_all(d->headers, k, &name, &value, &vlen) == 0; k++) {
            assert_false(mynumber_find(name, strlen(name), NULL));
            assert_false(value && mynumber_find(value, vlen, NULL));
        }
    }
    /* ... while the input holds them all (the search works). */
    size_t with_number = 0;
    for (size_t i = 0; i < events.n; i++) {
        const topicio_message *e = &events.msgs[i];
        with_number += (e->key && mynumber_find(e->key, e->key_len, NULL)) ||
                       (e->value && mynumber_find(e->value, e->value_len, NULL));
    }
    assert_int_equal(with_number, 3); /* key of 0, values of 1 and 5 */
    size_t with_token = 0;
    for (size_t i = 0; i < events.n; i++)
        with_token += events.msgs[i].value &&
                      memmem(events.msgs[i].value, events.msgs[i].value_len, token, 64) != NULL;
    assert_int_equal(with_token, 1);
    /* The partition went on: the opened incident and the good event were forwarded. */
    assert_non_null(find_by_header(&accepted, "mni.event_id", "hx-open"));
    assert_non_null(find_by_header(&accepted, "mni.event_id", "hx-good"));
    assert_null(find_by_header(&accepted, "mni.event_id", "hx-token"));
    sqlcheck_equal(db.conn, "SELECT count(*) FROM event_log WHERE event_id LIKE 'hx-%'", NULL, "2");
    topicio_messages_free(&dlq);
    topicio_messages_free(&accepted);
    topicio_messages_free(&events);
}

/* ---- setup ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    static const mockkafka_topic topics[] = {{T_EVENTS, 1}, {T_ACCEPTED, 1}, {T_DLQ, 1}};
    char err[512];
    (void)state;
    make_number(number);
    testenv_db_create(&db, 1);
    mk = mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    if (!mk) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    if (events_schema_load_default(&schemas, err, sizeof err) != 0) {
        fprintf(stderr, "schemas: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    events_schema_free(schemas);
    mockkafka_stop(mk);
    testenv_db_drop(&db);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_number_reaches_the_dlq),
    };
    return cmocka_run_group_tests_name("ingest_hostile", tests, group_setup, group_teardown);
}
