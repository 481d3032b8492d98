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
 *   large_events_within_and_over_the_limit  an event of 1,040,000 bytes is forwarded whole;
 *                              one over 1 MiB is dead-lettered (malformed) with its value
 *                              withheld and its size as the reference.
 *   refused_forward_costs_only_itself  with the worker's producer limited to 1,000,000 bytes,
 *                              the 1,040,000-byte event's forward is refused: the batch is
 *                              applied message by message, the event dead-lettered alone
 *                              (undeliverable), the others forwarded (one before it at most
 *                              twice: the failed try may have sent it).
 *
 *   duplicate_id_with_other_content  the same bytes again are a replay (nothing new); the same
 *                              event id with other content, stored or earlier in the batch, is
 *                              dead-lettered as conflicting_duplicate; the first one stays.
 *   impossible_facts_and_control_characters  an incident_opened with no kind, or known after
 *                              2099-10-31, is refused as invalid_facts with the core's reason
 *                              (and its update waits for an opening: waiting_events); an ESC
 *                              in a title is malformed; the good event after them is forwarded.
 *
 *   every_bad_event_has_its_reason  one table, one row per kind of bad event: oversized, wrong
 *                              magic byte, unknown schema id, header only, truncated, unknown
 *                              event kind, time stamps far in the future or before 2015-10-05,
 *                              counts negative or above 10^10, invalid UTF-8, control characters
 *                              in an id and in free text; each is dead-lettered with its reason
 *                              and a detail of its own, and the valid event produced after each
 *                              is stored and forwarded.
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

#include "lib/kafka/kq.h"
#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/runtime/dlq.h"
#include "rules/mynumber.h"
#include "tests/support/mockkafka.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/testrand.h"
#include "tests/support/testschemas.h"
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
static schema_set *schemas;
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
    /* 2: an update of an incident no one opened, the number in a header: with
     * ingest.waiting.max = 0 (below) it may not wait, so it is refused as unknown_incident. */
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

    static const char *const no_waiting[] = {"MNI_INGEST_WAITING_MAX=0", NULL};
    run_ingest(no_waiting);

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

/* A manifest of incident for client-a with n random-looking tokens, as JSON (malloc'd). */
static char *manifest_json(const char *event_id, const char *incident, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t cap = 512 + n * 67;
    char *json = malloc(cap);
    assert_non_null(json);
    size_t len = (size_t)snprintf(json, cap,
                                  "{\"event_id\":\"%s\",\"incident_id\":\"%s\",\"tenant\":"
                                  "\"bpo-tokyo\",\"occurred_at\":\"2026-05-03T12:00:00+09:00\","
                                  "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":"
                                  "\"client-a\",\"batch_id\":\"%s\",\"tokens\":[",
                                  event_id, incident, event_id);
    uint64_t x = 0x2545F4914F6CDD1Du ^ (uint64_t)n;
    for (size_t t = 0; t < n; t++) {
        json[len++] = t ? ',' : ' ';
        json[len++] = '"';
        for (int i = 0; i < 64; i++) {
            testrand_next(&x);
            json[len++] = hex[x >> 60];
        }
        json[len++] = '"';
    }
    snprintf(json + len, cap - len, "]}}");
    return json;
}

/* Produces a manifest of about `bytes` framed bytes (66 per token); returns its size. */
static size_t produce_manifest(const char *event_id, const char *incident, size_t bytes)
{
    char *json = manifest_json(event_id, incident, (bytes - 200) / 66);
    wire_buf buf;
    char key[64];
    encode_json(json, &buf, key, sizeof key);
    size_t len = buf.len;
    produce_raw(key, buf.data, buf.len, NULL, 0, NULL, 0);
    wire_buf_free(&buf);
    free(json);
    return len;
}

/* Issue 8 item 1(a): an event between 1,000,000 and 1,048,576 bytes passed ingest's limit but
 * could not be forwarded (librdkafka's default message.max.bytes); one over 1 MiB could not
 * even be dead-lettered. Now the first is forwarded and the second dead-lettered with its
 * value withheld; the partition goes on. */
static void large_events_within_and_over_the_limit(void **state)
{
    (void)state;
    char json[2048], buf[256];
    int64_t first = events_end();
    opened_json(json, sizeof json, "big-open", "INC-BIG-1", "a large manifest follows");
    produce_json(json);                                               /* first + 0 */
    size_t big = produce_manifest("big-1040k", "INC-BIG-1", 1040000); /* + 1 */
    assert_true(big > 1000000 && big <= WIRE_MAX_MESSAGE);
    /* + 2: over 1 MiB (framed like an event: magic byte, schema id), sent by a producer that
     * allows it, as a producer outside mni may. */
    size_t over = WIRE_MAX_MESSAGE + 20000;
    uint8_t *junk = calloc(1, over);
    assert_non_null(junk);
    junk[4] = 1;
    const kq_prop allow[] = {{"message.max.bytes", "2000000"}};
    produce_raw("INC-BIG-1", junk, over, NULL, 0, allow, 1);
    free(junk);
    opened_json(json, sizeof json, "big-after", "INC-BIG-2", "after the large ones");
    produce_json(json); /* + 3 */

    run_ingest(NULL);

    topicio_messages dlq, accepted;
    read_topic(T_DLQ, &dlq);
    read_topic(T_ACCEPTED, &accepted);
    const topicio_message *fwd = find_by_header(&accepted, "mni.event_id", "big-1040k");
    assert_non_null(fwd);
    assert_int_equal(fwd->value_len, big);
    assert_non_null(find_by_header(&accepted, "mni.event_id", "big-after"));
    const topicio_message *d = dead_letter_of(&dlq, first + 2);
    assert_non_null(d);
    header_of(d, "mni.reason", buf, sizeof buf);
    assert_string_equal(buf, "malformed");
    assert_int_equal(d->value_len, 0);
    header_of(d, "mni.origin.bytes", buf, sizeof buf);
    assert_int_equal(strtoull(buf, NULL, 10), over);
    header_of(d, "mni.withheld", buf, sizeof buf);
    char want[128];
    snprintf(want, sizeof want, "value (%zu bytes, over the %d-byte limit)", over,
             WIRE_MAX_MESSAGE);
    assert_string_equal(buf, want);
    assert_null(dead_letter_of(&dlq, first + 1));
    topicio_messages_free(&dlq);
    topicio_messages_free(&accepted);
}

/* Issue 8 item 1: a batch whose forward Kafka refuses is applied message by message, and only
 * the culprit is dead-lettered (undeliverable, its value withheld): here the worker's producer
 * is set to librdkafka's default message.max.bytes (1,000,000), below the 1,040,000-byte event.
 * The good events of the batch are forwarded once each, and the worker does not stop. */
static void refused_forward_costs_only_itself(void **state)
{
    (void)state;
    char json[2048], buf[DLQ_DETAIL_MAX];
    int64_t first = events_end();
    opened_json(json, sizeof json, "ref-open", "INC-REF-1", "before");
    produce_json(json);                                             /* first + 0 */
    size_t big = produce_manifest("ref-big", "INC-REF-1", 1040000); /* + 1 */
    opened_json(json, sizeof json, "ref-after", "INC-REF-2", "after");
    produce_json(json); /* + 2 */

    static const char *const env[] = {"MNI_KAFKA_MESSAGE_MAX_BYTES=1000000", "MNI_BATCH_MS=2000",
                                      NULL};
    workerproc w;
    static const char *const argv[] = {"--exit-when-idle", "3000", NULL};
    assert_int_equal(
        workerproc_start(&w, "mni-ingest", db.conninfo, mockkafka_bootstraps(mk), GROUP, env, argv),
        0);
    int rc = workerproc_wait(&w, WORKER_TIMEOUT_MS);
    if (rc != 0) workerproc_dump_log(&w);
    assert_int_equal(rc, 0);
    assert_true(workerproc_log_count(&w, "applying it message by message") >= 1);
    assert_int_equal(workerproc_log_count(&w, "message dead-lettered: Kafka refuses its output"),
                     1);
    unlink(w.log_path);

    topicio_messages dlq, accepted;
    read_topic(T_DLQ, &dlq);
    read_topic(T_ACCEPTED, &accepted);
    size_t opens = 0, afters = 0;
    for (size_t i = 0; i < accepted.n; i++) {
        topicio_header(&accepted.msgs[i], "mni.event_id", buf, sizeof buf);
        opens += !strcmp(buf, "ref-open");
        afters += !strcmp(buf, "ref-after");
    }
    /* A message before the culprit may have been forwarded by the failed try too (consumers
     * de-duplicate by mni.event_id); never more. One after it, exactly once. */
    assert_true(opens == 1 || opens == 2);
    assert_int_equal(afters, 1);
    assert_null(find_by_header(&accepted, "mni.event_id", "ref-big"));
    const topicio_message *d = dead_letter_of(&dlq, first + 1);
    assert_non_null(d);
    header_of(d, "mni.reason", buf, sizeof buf);
    assert_string_equal(buf, "undeliverable");
    header_of(d, "mni.detail", buf, sizeof buf);
    assert_non_null(strstr(buf, "Message size too large"));
    assert_int_equal(d->value_len, 0);
    header_of(d, "mni.origin.bytes", buf, sizeof buf);
    assert_int_equal(strtoull(buf, NULL, 10), big);
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM event_log WHERE "
                   "event_id LIKE 'ref-%'",
                   NULL, "ref-after,ref-open");
    topicio_messages_free(&dlq);
    topicio_messages_free(&accepted);
}

/* The reason of the dead letter of the message at offset ("" when there is none). */
static void reason_at(const topicio_messages *dlq, int64_t offset, char *buf, size_t n)
{
    const topicio_message *d = dead_letter_of(dlq, offset);
    buf[0] = '\0';
    if (d) topicio_header(d, "mni.reason", buf, n);
}

/* Issue 8 item 7: the same event id with other content was dropped silently. The same bytes
 * are a replay; other content is dead-lettered as conflicting_duplicate, whether the first one
 * is stored or came earlier in the same batch. */
static void duplicate_id_with_other_content(void **state)
{
    (void)state;
    char json[2048], buf[256];
    int64_t first = events_end();
    opened_json(json, sizeof json, "dup-1", "INC-DUP-1", "the first");
    produce_json(json); /* + 0 */
    run_ingest(NULL);   /* stored */
    produce_json(json); /* + 1: the same bytes: a replay */
    run_ingest(NULL);
    opened_json(json, sizeof json, "dup-1", "INC-DUP-1", "someone else's");
    produce_json(json); /* + 2: other content under a stored id */
    opened_json(json, sizeof json, "dup-2", "INC-DUP-2", "in one batch");
    produce_json(json); /* + 3 */
    produce_json(json); /* + 4: replay inside the batch */
    opened_json(json, sizeof json, "dup-2", "INC-DUP-2", "changed in the same batch");
    produce_json(json); /* + 5: other content inside the batch */
    opened_json(json, sizeof json, "dup-3", "INC-DUP-3", "after them");
    produce_json(json); /* + 6 */
    static const char *const env[] = {"MNI_BATCH_MS=2000", NULL};
    run_ingest(env);

    topicio_messages dlq, accepted;
    read_topic(T_DLQ, &dlq);
    read_topic(T_ACCEPTED, &accepted);
    static const char *const want[] = {
        "", "", "conflicting_duplicate", "", "", "conflicting_duplicate", ""};
    for (int i = 0; i < 7; i++) {
        reason_at(&dlq, first + i, buf, sizeof buf);
        if (strcmp(buf, want[i]) != 0)
            fail_msg("message %d: dead letter '%s', want '%s'", i, buf, want[i]);
    }
    header_of(dead_letter_of(&dlq, first + 2), "mni.detail", buf, sizeof buf);
    assert_string_equal(buf, "event_id: dup-1 is stored with other content; the first stays");
    size_t forwarded[3] = {0};
    for (size_t i = 0; i < accepted.n; i++) {
        topicio_header(&accepted.msgs[i], "mni.event_id", buf, sizeof buf);
        for (int k = 0; k < 3; k++) {
            char id[16];
            snprintf(id, sizeof id, "dup-%d", k + 1);
            forwarded[k] += !strcmp(buf, id);
        }
    }
    assert_int_equal(forwarded[0], 1);
    assert_int_equal(forwarded[1], 1);
    assert_int_equal(forwarded[2], 1);
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(body->'body'->>'description', '|' ORDER BY event_id) FROM "
                   "event_log WHERE event_id LIKE 'dup-%'",
                   NULL, "the first|in one batch|after them");
    topicio_messages_free(&dlq);
    topicio_messages_free(&accepted);
}

/* Issue 8 item 11: an incident_opened with impossible facts was accepted and the error blamed
 * on later events; control characters in free text were stored. Both are refused at ingest. */
static void impossible_facts_and_control_characters(void **state)
{
    (void)state;
    char json[2048], buf[512];
    int64_t first = events_end();
    /* + 0: no kind at all. */
    produce_json("{\"event_id\":\"imp-1\",\"incident_id\":\"INC-IMP-1\",\"tenant\":\"bpo-tokyo\","
                 "\"occurred_at\":\"2026-05-03T10:00:00+09:00\",\"type\":\"incident_opened\","
                 "\"body\":{\"known_at\":\"2026-05-03T09:00:00+09:00\",\"title\":\"t\","
                 "\"reporter\":{\"role\":\"own\",\"number_use_entity\":false,"
                 "\"public_body_system\":false},\"kinds\":[],\"certainty\":\"confirmed\","
                 "\"improper_purpose\":\"none\",\"systems\":[],\"unspecified_viewing\":\"none\","
                 "\"encrypted_protected\":false,\"recovered_unviewed\":false,"
                 "\"intact_copy\":false}}");
    /* + 1: its update: the incident is not open, so it waits for an opening, rather than being
     * blamed for the refused one. */
    produce_json("{\"event_id\":\"imp-1b\",\"incident_id\":\"INC-IMP-1\",\"tenant\":"
                 "\"bpo-tokyo\",\"occurred_at\":\"2026-05-03T11:00:00+09:00\",\"type\":"
                 "\"facts_updated\",\"body\":{\"note\":\"more\"}}");
    /* + 2: known after the last day the core assesses (2099-10-31), a contractor's. */
    snprintf(json, sizeof json,
             "{\"event_id\":\"imp-2\",\"incident_id\":\"INC-IMP-2\",\"tenant\":\"bpo-tokyo\","
             "\"occurred_at\":\"2100-01-02T10:00:00+09:00\",\"type\":\"incident_opened\","
             "\"body\":{\"known_at\":\"2100-01-01T09:00:00+09:00\",\"title\":\"t\","
             "\"reporter\":{\"role\":\"contractor\",\"number_use_entity\":false,"
             "\"public_body_system\":false},\"kinds\":[\"leak\"],\"certainty\":\"confirmed\","
             "\"improper_purpose\":\"none\",\"systems\":[],\"unspecified_viewing\":\"none\","
             "\"encrypted_protected\":false,\"recovered_unviewed\":false,\"intact_copy\":false}}");
    produce_json(json);
    /* + 3: an escape sequence in the title. The encoder refuses it, so the bytes are patched
     * after encoding, as a producer of its own would send them. */
    opened_json(json, sizeof json, "imp-3", "INC-IMP-3", "clean");
    char *at = strstr(json, "Hostile input");
    assert_non_null(at);
    memcpy(at, "Xred text    ", 13);
    wire_buf wb;
    char key[64];
    encode_json(json, &wb, key, sizeof key);
    uint8_t *x = memmem(wb.data, wb.len, "Xred", 4);
    assert_non_null(x);
    x[0] = 0x1b;
    produce_raw(key, wb.data, wb.len, NULL, 0, NULL, 0);
    wire_buf_free(&wb);
    /* + 4: a good one after them. */
    opened_json(json, sizeof json, "imp-good", "INC-IMP-4", "line one\\nline two");
    produce_json(json);

    run_ingest(NULL);

    topicio_messages dlq, accepted;
    read_topic(T_DLQ, &dlq);
    read_topic(T_ACCEPTED, &accepted);
    static const struct {
        const char *reason, *detail;
    } want[] = {
        {"invalid_facts", "body.kinds: at least one kind is required"},
        {NULL, NULL}, /* waits */
        {"invalid_facts", "body.known_at: outside the supported range 2015-10-05 .. 2099-10-31"},
        {"malformed", "body.title: control character U+001B at byte 0"},
    };
    for (int i = 0; i < 4; i++) {
        const topicio_message *d = dead_letter_of(&dlq, first + i);
        if (!want[i].reason) {
            assert_null(d);
            continue;
        }
        if (!d) fail_msg("no dead letter for message %d", i);
        header_of(d, "mni.reason", buf, sizeof buf);
        assert_string_equal(buf, want[i].reason);
        header_of(d, "mni.detail", buf, sizeof buf);
        if (!strstr(buf, want[i].detail))
            fail_msg("message %d: detail '%s', want '%s'", i, buf, want[i].detail);
    }
    assert_null(dead_letter_of(&dlq, first + 4));
    assert_non_null(find_by_header(&accepted, "mni.event_id", "imp-good"));
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM event_log WHERE "
                   "event_id LIKE 'imp-%'",
                   NULL, "imp-1b,imp-good");
    sqlcheck_equal(db.conn,
                   "SELECT string_agg(event_id, ',') FROM waiting_events WHERE event_id LIKE "
                   "'imp-%'",
                   NULL, "imp-1b");
    assert_null(find_by_header(&accepted, "mni.event_id", "imp-1b"));
    topicio_messages_free(&dlq);
    topicio_messages_free(&accepted);
}

/* ---- every kind of bad event, one table ------------------------------------------------ */

/* How a row's bad message is made from the row's JSON event (encoded as `mni produce` would). */
typedef enum {
    BAD_AS_IS,          /* the encoding of the JSON (valid Avro; ingest's own checks refuse it) */
    BAD_OVERSIZED,      /* a framed message over WIRE_MAX_MESSAGE */
    BAD_MAGIC,          /* byte 0 is '{' (a JSON message on an Avro topic) */
    BAD_SCHEMA_ID,      /* an id no schema has */
    BAD_HEADER_ONLY,    /* the 5-byte header and nothing else */
    BAD_TRUNCATED,      /* the first half of the message */
    BAD_UNKNOWN_KIND,   /* the body's union branch one past the last kind */
    BAD_NEGATIVE_COUNT, /* persons 63 (zigzag 0x7e) after "client-a" patched to -64 (0x7f) */
    BAD_UTF8,           /* "Xbad" of the text patched to an invalid UTF-8 sequence */
    BAD_CONTROL_IN_ID,  /* the 'X' of "Xid" patched to BEL (0x07) */
    BAD_CONTROL_IN_TEXT /* the 'X' of "Xred" patched to ESC (0x1b) */
} bad_make;

#define ENVELOPE(id, type, when)                                                                   \
    "{\"event_id\":\"" id "\",\"incident_id\":\"INC-TBL-" id "\",\"tenant\":\"bpo-tokyo\","        \
    "\"occurred_at\":\"" when "\",\"type\":\"" type "\",\"body\":"
#define NOW "2026-05-03T10:00:00+09:00"

static const struct bad_row {
    const char *name;
    bad_make make;
    const char *json; /* the event it starts from (NULL: none needed) */
    const char *reason, *detail;
} bad_rows[] = {
    {"oversized", BAD_OVERSIZED, NULL, "malformed",
     "message of 1048577 bytes exceeds the 1048576-byte limit"},
    {"wrong magic byte", BAD_MAGIC,
     ENVELOPE("tb-magic", "incident_closed", NOW) "{\"reason\":\"closed\",\"note\":\"n\"}}",
     "malformed", "wrong magic byte 0x7b (expected 0x00)"},
    {"unknown schema id", BAD_SCHEMA_ID,
     ENVELOPE("tb-schema", "incident_closed", NOW) "{\"reason\":\"closed\",\"note\":\"n\"}}",
     "malformed", "unknown schema id 99"},
    {"header only", BAD_HEADER_ONLY,
     ENVELOPE("tb-header", "incident_closed", NOW) "{\"reason\":\"closed\",\"note\":\"n\"}}",
     "malformed", "event_id: truncated string length (no bytes left)"},
    {"truncated", BAD_TRUNCATED,
     ENVELOPE(
         "tb-trunc", "incident_closed",
         NOW) "{\"reason\":\"closed\",\"note\":\"a note long enough to be cut in the middle\"}}",
     "malformed", "exceeds the 2 bytes left (truncated, or a wrong length)"},
    {"unknown event kind", BAD_UNKNOWN_KIND,
     ENVELOPE("tb-kind", "incident_closed", NOW) "{\"reason\":\"closed\",\"note\":\"n\"}}",
     "malformed", "union branch 7 out of range"},
    {"occurred_at far in the future", BAD_AS_IS,
     ENVELOPE("tb-future", "incident_closed",
              "2100-01-01T10:00:00+09:00") "{\"reason\":\"closed\",\"note\":\"n\"}}",
     "invalid_facts",
     "occurred_at: 2100-01-01T01:00:00.000Z is after the Japan days the pipeline handles"},
    {"known_at far in the future", BAD_AS_IS,
     ENVELOPE("tb-future-known", "facts_updated",
              NOW) "{\"known_at\":\"2100-01-01T09:00:00+09:00\",\"note\":\"n\"}}",
     "invalid_facts",
     "body.known_at: 2100-01-01T00:00:00.000Z is after the Japan days the pipeline handles"},
    {"step completed before 2015", BAD_AS_IS,
     ENVELOPE(
         "tb-past", "response_step_completed",
         NOW) "{\"step\":\"fact_investigation\",\"completed_at\":\"2014-12-31T10:00:00+09:00\"}}",
     "invalid_facts", "body.completed_at: 2014-12-31T01:00:00.000Z is before the Japan days"},
    {"occurred_at before 2015", BAD_AS_IS,
     ENVELOPE("tb-past-env", "incident_closed",
              "2015-10-04T23:59:59+09:00") "{\"reason\":\"closed\",\"note\":\"n\"}}",
     "invalid_facts",
     "occurred_at: 2015-10-04T14:59:59.000Z is before the Japan days the pipeline handles "
     "(2015-10-05 "
     ".. 2099-10-31)"},
    {"count negative", BAD_NEGATIVE_COUNT,
     ENVELOPE("tb-neg", "exposure_count", NOW) "{\"client_id\":\"client-a\",\"persons\":63}}",
     "malformed", "body.persons: -64"},
    {"count above 10^10", BAD_AS_IS,
     ENVELOPE("tb-big", "exposure_count",
              NOW) "{\"client_id\":\"client-a\",\"persons\":10000000001}}",
     "invalid_facts", "body.persons: 10000000001 is more than 10000000000 persons"},
    {"persons_max above 10^10", BAD_AS_IS,
     ENVELOPE("tb-bigmax", "exposure_count",
              NOW) "{\"client_id\":\"client-a\",\"persons\":5,\"persons_max\":99999999999}}",
     "invalid_facts", "body.persons_max: 99999999999 is more than 10000000000 persons"},
    {"invalid UTF-8", BAD_UTF8,
     ENVELOPE("tb-utf8", "incident_closed", NOW) "{\"reason\":\"closed\",\"note\":\"Xbad text\"}}",
     "malformed", "not valid UTF-8"},
    {"control character in an id", BAD_CONTROL_IN_ID,
     ENVELOPE("Xid-ctl", "incident_closed", NOW) "{\"reason\":\"closed\",\"note\":\"n\"}}",
     "malformed", "event_id: byte 0 is not printable ASCII"},
    {"control character in free text", BAD_CONTROL_IN_TEXT,
     ENVELOPE("tb-esc", "incident_closed", NOW) "{\"reason\":\"closed\",\"note\":\"Xred\"}}",
     "malformed", "body.note: control character U+001B at byte 0"},
};

/* Replaces the first `from` in b with `to` (same length). */
static void patch(wire_buf *b, const char *from, const char *to)
{
    uint8_t *at = memmem(b->data, b->len, from, strlen(from));
    if (!at) fail_msg("'%s' is not in the encoding", from);
    memcpy(at, to, strlen(to));
}

/* The offset of the body's union branch: the first byte where the encodings of the same
 * envelope with two kinds differ. */
static size_t union_branch_at(const char *json)
{
    const char *closed = strstr(json, "\"incident_closed\"");
    assert_non_null(closed);
    char other[2048];
    snprintf(other, sizeof other, "%.*s\"facts_updated\",\"body\":{\"note\":\"n\"}}",
             (int)(closed - json), json);
    wire_buf a, b;
    char key[64];
    encode_json(json, &a, key, sizeof key);
    encode_json(other, &b, key, sizeof key);
    size_t i = 0;
    while (i < a.len && i < b.len && a.data[i] == b.data[i])
        i++;
    wire_buf_free(&a);
    wire_buf_free(&b);
    return i;
}

/* The bad message of row r into b (its key: the row's incident). */
static void make_bad(const struct bad_row *r, wire_buf *b, char *key, size_t keylen)
{
    if (r->make == BAD_OVERSIZED) {
        wire_buf_init(b);
        char err[256];
        size_t over = WIRE_MAX_MESSAGE + 1;
        assert_int_equal(wire_buf_reserve(b, over, err, sizeof err), 0);
        memset(b->data, 0, over);
        b->data[4] = 6;
        b->len = over;
        snprintf(key, keylen, "INC-TBL-oversized");
        return;
    }
    encode_json(r->json, b, key, keylen);
    switch (r->make) {
    case BAD_MAGIC:
        b->data[0] = '{';
        break;
    case BAD_SCHEMA_ID:
        b->data[4] = 99;
        break;
    case BAD_HEADER_ONLY:
        b->len = WIRE_HEADER_SIZE;
        break;
    case BAD_TRUNCATED:
        b->len /= 2;
        break;
    case BAD_UNKNOWN_KIND: {
        size_t at = union_branch_at(r->json);
        assert_int_equal(b->data[at], 6 * 2); /* incident_closed: branch 6, zigzag */
        b->data[at] = 7 * 2;
        break;
    }
    case BAD_NEGATIVE_COUNT:
        patch(b, "client-a\x7e", "client-a\x7f");
        break;
    case BAD_UTF8:
        patch(b, "Xbad", "\xff\xfe\xfd\xfc");
        break;
    case BAD_CONTROL_IN_ID:
        patch(b, "Xid", "\x07id");
        break;
    case BAD_CONTROL_IN_TEXT:
        patch(b, "Xred", "\x1bred");
        break;
    case BAD_AS_IS:
    case BAD_OVERSIZED:
        break;
    }
}

/* Issue 8, "Bad input": every kind of bad event gets its own dead letter, with a reason and a
 * detail that name what is wrong with it (the field and the bound), and a valid event after each
 * is still applied (stored and forwarded). One row per kind; one run of the worker over all. */
static void every_bad_event_has_its_reason(void **state)
{
    (void)state;
    const size_t n = sizeof bad_rows / sizeof bad_rows[0];
    char json[2048], buf[DLQ_DETAIL_MAX];
    int64_t first = events_end();
    const kq_prop allow[] = {{"message.max.bytes", "2000000"}};
    for (size_t i = 0; i < n; i++) {
        wire_buf b;
        char key[64], id[32], incident[32];
        make_bad(&bad_rows[i], &b, key, sizeof key);
        produce_raw(key, b.data, b.len, NULL, 0, allow, 1); /* first + 2i */
        wire_buf_free(&b);
        snprintf(id, sizeof id, "tb-good-%zu", i);
        snprintf(incident, sizeof incident, "INC-TBL-GOOD-%zu", i);
        opened_json(json, sizeof json, id, incident, "after a bad one");
        produce_json(json); /* first + 2i + 1 */
    }

    run_ingest(NULL);

    topicio_messages dlq, accepted;
    read_topic(T_DLQ, &dlq);
    read_topic(T_ACCEPTED, &accepted);
    int wrong = 0;
    for (size_t i = 0; i < n; i++) {
        const struct bad_row *r = &bad_rows[i];
        const topicio_message *d = dead_letter_of(&dlq, first + 2 * (int64_t)i);
        char reason[64] = "";
        buf[0] = '\0';
        if (d) {
            topicio_header(d, "mni.reason", reason, sizeof reason);
            topicio_header(d, "mni.detail", buf, sizeof buf);
        }
        if (!d || strcmp(reason, r->reason) != 0 || !strstr(buf, r->detail)) {
            print_error("%s: dead letter %s, reason '%s', detail '%s'; want '%s', '%s'\n", r->name,
                        d ? "present" : "missing", reason, buf, r->reason, r->detail);
            wrong++;
        }
        char id[32];
        snprintf(id, sizeof id, "tb-good-%zu", i);
        if (dead_letter_of(&dlq, first + 2 * (int64_t)i + 1) ||
            !find_by_header(&accepted, "mni.event_id", id)) {
            print_error("%s: the valid event after it was not forwarded\n", r->name);
            wrong++;
        }
    }
    /* Each detail is its own: no two rows share one. */
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            char a[DLQ_DETAIL_MAX] = "", b[DLQ_DETAIL_MAX] = "";
            const topicio_message *da = dead_letter_of(&dlq, first + 2 * (int64_t)i);
            const topicio_message *db_ = dead_letter_of(&dlq, first + 2 * (int64_t)k);
            if (da) topicio_header(da, "mni.detail", a, sizeof a);
            if (db_) topicio_header(db_, "mni.detail", b, sizeof b);
            if (a[0] && !strcmp(a, b)) {
                print_error("%s and %s have the same detail '%s'\n", bad_rows[i].name,
                            bad_rows[k].name, a);
                wrong++;
            }
        }
    topicio_messages_free(&dlq);
    topicio_messages_free(&accepted);
    assert_int_equal(wrong, 0);
    char count[32];
    snprintf(count, sizeof count, "%zu", n);
    sqlcheck_equal(db.conn, "SELECT count(*) FROM event_log WHERE event_id LIKE 'tb-good-%'", NULL,
                   count);
    sqlcheck_equal(db.conn,
                   "SELECT count(*) FROM event_log WHERE event_id LIKE 'tb-%' AND event_id NOT "
                   "LIKE 'tb-good-%'",
                   NULL, "0");
}

/* ---- setup ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    static const mockkafka_topic topics[] = {{T_EVENTS, 1}, {T_ACCEPTED, 1}, {T_DLQ, 1}};
    (void)state;
    make_number(number);
    testenv_db_create(&db, 1);
    if (mockkafka_setup(&mk, topics, sizeof topics / sizeof topics[0]) != 0) return -1;
    return testschemas_load(&schemas);
}

static int group_teardown(void **state)
{
    (void)state;
    schema_set_free(schemas);
    mockkafka_stop(mk);
    testenv_db_drop(&db);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_number_reaches_the_dlq),
        cmocka_unit_test(large_events_within_and_over_the_limit),
        cmocka_unit_test(refused_forward_costs_only_itself),
        cmocka_unit_test(duplicate_id_with_other_content),
        cmocka_unit_test(impossible_facts_and_control_characters),
        cmocka_unit_test(every_bad_event_has_its_reason),
    };
    return cmocka_run_group_tests_name("ingest_hostile", tests, group_setup, group_teardown);
}
