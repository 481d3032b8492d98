/*
 * events: bad input never crashes, leaks or passes. Every path ends in an error that names the
 * field and the reason (ASan and UBSan watch the rest):
 *
 *   - frames: wrong magic byte, unknown schema id, another record's id, oversized, short;
 *   - every prefix of every fixture message (tests/data/events/valid.jsonl) is refused;
 *   - 2000 random mutations (flips, overwrites, cuts, growths) from a fixed seed: each decode
 *     either fails with a message or yields an event that passes the contract and re-encodes;
 *   - hand-made Avro: negative and oversized lengths and counts, long varints, out-of-range
 *     unions and enums, non-0/1 booleans, bad UTF-8, NUL bytes, leftovers, legal negative
 *     array blocks (with a byte size that must match), contract violations in valid Avro;
 *   - JSON errors, table-driven from tests/data/events/json_errors.tsv;
 *   - schema sets that must not load (incompatible history, bad defaults, unknown names, ...),
 *     and the generic resolver on a schema that uses what ours do not (promotions, maps,
 *     record and union defaults, an enum default).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/serdes/avro_codec.h"
#include "lib/serdes/schema_set.h"
#include "tests/support/testdata.h"
#include "tests/support/testrand.h"

#define TOK1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TOK2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static schema_set *S;

/* The fixture messages, encoded once. */
static wire_buf fixtures[32];
static size_t n_fixtures;

static int setup(void **state)
{
    char err[512], path[4096], *save = NULL;
    size_t len;
    mni_event ev;

    (void)state;
    if (schema_set_load_default(&S, err, sizeof err) != 0) {
        fprintf(stderr, "cannot load the schemas: %s\n", err);
        return -1;
    }
    testdata_path("events/valid.jsonl", path, sizeof path);
    char *text = testdata_read(path, &len);
    if (text == NULL) return -1;
    mni_event_init(&ev);
    for (char *line = strtok_r(text, "\n", &save); line != NULL && n_fixtures < 32;
         line = strtok_r(NULL, "\n", &save)) {
        wire_buf_init(&fixtures[n_fixtures]);
        if (mni_event_from_json_text(line, strlen(line), &ev, err, sizeof err) != 0 ||
            mni_event_encode(S, &ev, &fixtures[n_fixtures], err, sizeof err) != 0) {
            fprintf(stderr, "fixture: %s\n", err);
            return -1;
        }
        n_fixtures++;
    }
    mni_event_free(&ev);
    free(text);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < n_fixtures; i++)
        wire_buf_free(&fixtures[i]);
    schema_set_free(S);
    return 0;
}

/* Decoding msg must fail with reason in the message, and leave the event empty. */
static void expect_error(const uint8_t *msg, size_t len, const char *reason)
{
    mni_event ev;
    char err[512] = "";

    mni_event_init(&ev);
    ev.type = MNI_EVENT_INCIDENT_CLOSED; /* decode must reset it */
    assert_int_equal(mni_event_decode(S, msg, len, &ev, err, sizeof err), -1);
    if (strstr(err, reason) == NULL) fail_msg("error \"%s\" does not contain \"%s\"", err, reason);
    assert_int_equal(ev.type, MNI_EVENT_NONE);
    assert_null(ev.event_id);
    mni_event_free(&ev);
}

/* ---- frames ---- */

static void test_frames(void **state)
{
    (void)state;
    wire_buf *f = &fixtures[0];
    uint8_t *copy = malloc(WIRE_MAX_MESSAGE + 1);

    memcpy(copy, f->data, f->len);
    copy[0] = 0x7b; /* '{': a JSON message on an Avro topic */
    expect_error(copy, f->len, "wrong magic byte 0x7b (expected 0x00)");
    memcpy(copy, f->data, f->len);
    copy[4] = 99;
    expect_error(copy, f->len, "unknown schema id 99");
    copy[4] = 3;
    expect_error(copy, f->len,
                 "schema id 3 is jp.mni.CaseAssessment, not the expected "
                 "jp.mni.IncidentEvent");
    copy[4] = 0;
    expect_error(copy, f->len, "schema id 0 is out of range");
    expect_error(f->data, 3, "shorter than the 5-byte header");
    memset(copy, 0, WIRE_MAX_MESSAGE + 1);
    memcpy(copy, f->data, f->len);
    expect_error(copy, WIRE_MAX_MESSAGE + 1,
                 "message of 1048577 bytes exceeds the 1048576-byte limit");
    /* A valid message followed by junk is refused, not half read. */
    expect_error(copy, f->len + 1, "1 byte(s) left over after the record");
    free(copy);
}

/* ---- every prefix ---- */

static void test_truncated_every_prefix(void **state)
{
    (void)state;
    size_t tried = 0;

    for (size_t i = 0; i < n_fixtures; i++) {
        wire_buf *f = &fixtures[i];
        for (size_t len = 0; len < f->len; len++) {
            /* A copy of exactly len bytes, so that ASan sees any read past the end. */
            uint8_t *cut = malloc(len ? len : 1);
            mni_event ev;
            char err[512] = "";
            memcpy(cut, f->data, len);
            mni_event_init(&ev);
            assert_int_equal(mni_event_decode(S, cut, len, &ev, err, sizeof err), -1);
            assert_true(err[0] != '\0');
            if (len >= WIRE_HEADER_SIZE && strstr(err, "truncated") == NULL &&
                strstr(err, "exceeds the") == NULL)
                fail_msg("fixture %zu cut at %zu: \"%s\" does not say it is cut short", i, len,
                         err);
            assert_int_equal(ev.type, MNI_EVENT_NONE);
            mni_event_free(&ev);
            free(cut);
            tried++;
        }
    }
    print_message("%zu prefixes refused\n", tried);
    assert_true(tried > 1000);
}

/* ---- random mutations ---- */

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
    return testrand_next(&rng_state);
}

static void test_random_mutations(void **state)
{
    (void)state;
    size_t failed = 0, passed = 0;
    wire_buf again;
    mni_event ev;

    wire_buf_init(&again);
    mni_event_init(&ev);
    for (int m = 0; m < 2000; m++) {
        const wire_buf *f = &fixtures[rng() % n_fixtures];
        size_t len = f->len;
        uint8_t *buf = malloc(f->len + 16);
        char err[512] = "";
        memcpy(buf, f->data, f->len);
        int edits = 1 + (int)(rng() % 4);
        for (int e = 0; e < edits; e++) {
            /* Leave the 5-byte header alone most of the time: the payload is the target. */
            size_t at = (rng() % 8 == 0) ? rng() % len
                                         : WIRE_HEADER_SIZE + rng() % (len - WIRE_HEADER_SIZE);
            switch (rng() % 5) {
            case 0:
                buf[at] ^= (uint8_t)(1u << (rng() % 8));
                break;
            case 1:
                buf[at] = (uint8_t)rng();
                break;
            case 2:
                buf[at] = (rng() & 1) ? 0xff : 0x01; /* long varints, -1 lengths */
                break;
            case 3:
                len = WIRE_HEADER_SIZE + rng() % (len - WIRE_HEADER_SIZE + 1);
                if (len == WIRE_HEADER_SIZE) len++;
                break;
            default:
                if (len < f->len + 16) buf[len++] = (uint8_t)rng();
                break;
            }
        }
        uint8_t *exact = malloc(len);
        memcpy(exact, buf, len);
        if (mni_event_decode(S, exact, len, &ev, err, sizeof err) != 0) {
            assert_true(err[0] != '\0');
            assert_int_equal(ev.type, MNI_EVENT_NONE);
            failed++;
        } else {
            /* Whatever got through is a valid event. */
            assert_int_equal(mni_event_check(&ev, err, sizeof err), 0);
            if (mni_event_encode(S, &ev, &again, err, sizeof err) != 0)
                fail_msg("mutation %d decoded but does not re-encode: %s", m, err);
            passed++;
        }
        free(exact);
        free(buf);
    }
    print_message("2000 mutations: %zu refused, %zu still valid events\n", failed, passed);
    assert_int_equal(failed + passed, 2000);
    assert_true(failed > 1000);
    mni_event_free(&ev);
    wire_buf_free(&again);
}

/* ---- hand-made Avro ---- */

typedef struct {
    uint8_t b[4096];
    size_t n;
} mb;

static void mb_byte(mb *m, uint8_t x)
{
    assert_true(m->n < sizeof m->b);
    m->b[m->n++] = x;
}

static void mb_raw(mb *m, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mb_byte(m, ((const uint8_t *)p)[i]);
}

static void mb_long(mb *m, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (v < 0 ? ~(uint64_t)0 : 0);
    while (z & ~(uint64_t)0x7f) {
        mb_byte(m, (uint8_t)((z & 0x7f) | 0x80));
        z >>= 7;
    }
    mb_byte(m, (uint8_t)z);
}

static void mb_str(mb *m, const char *s)
{
    mb_long(m, (int64_t)strlen(s));
    mb_raw(m, s, strlen(s));
}

static void mb_header(mb *m, int id)
{
    m->n = 0;
    mb_byte(m, 0);
    mb_byte(m, 0);
    mb_byte(m, 0);
    mb_byte(m, 0);
    mb_byte(m, (uint8_t)id);
}

/* The current envelope up to and including the body's union branch. */
static void mb_envelope(mb *m, int64_t branch)
{
    mb_header(m, 2);
    mb_str(m, "e1");
    mb_str(m, "INC-1");
    mb_str(m, "bpo");
    mb_long(m, 1777597200000LL);
    mb_str(m, "hand");
    mb_long(m, branch);
}

static void mb_manifest_head(mb *m)
{
    mb_envelope(m, 2);
    mb_str(m, "client-a");
    mb_str(m, "b1");
}

static void test_hand_made_avro(void **state)
{
    (void)state;
    mb m;
    mni_event ev;
    char err[512];

    mni_event_init(&ev);

    /* A well-formed manifest, to show the builder is right. */
    mb_manifest_head(&m);
    mb_long(&m, 2);
    mb_str(&m, TOK1);
    mb_str(&m, TOK2);
    mb_long(&m, 0);
    mb_long(&m, 1); /* contract_notice_hours: the int branch */
    mb_long(&m, 36);
    if (mni_event_decode(S, m.b, m.n, &ev, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(ev.body.manifest.n_tokens, 2);
    assert_int_equal(ev.body.manifest.contract_notice_hours, 36);

    /* A negative block count is legal Avro: -count, then the block's byte size. */
    mb_manifest_head(&m);
    mb_long(&m, -2);
    mb_long(&m, 132);
    mb_str(&m, TOK1);
    mb_str(&m, TOK2);
    mb_long(&m, 0);
    mb_long(&m, 0);
    if (mni_event_decode(S, m.b, m.n, &ev, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(ev.body.manifest.n_tokens, 2);
    assert_int_equal(ev.body.manifest.contract_notice_hours, MNI_EVENT_ABSENT);

    /* ... but its byte size must be right. */
    mb_manifest_head(&m);
    mb_long(&m, -2);
    mb_long(&m, 100);
    mb_str(&m, TOK1);
    mb_str(&m, TOK2);
    mb_long(&m, 0);
    mb_long(&m, 0);
    expect_error(m.b, m.n, "body.tokens: block size 100 does not match its 132 bytes of items");

    mb_manifest_head(&m);
    mb_long(&m, -1);
    mb_long(&m, -5);
    expect_error(m.b, m.n, "body.tokens: negative block size -5");

    mb_manifest_head(&m);
    mb_long(&m, INT64_MIN);
    expect_error(m.b, m.n, "body.tokens: block count out of range");

    mb_manifest_head(&m);
    mb_long(&m, 1000000);
    mb_str(&m, TOK1);
    expect_error(m.b, m.n, "body.tokens: block count 1000000 exceeds the");

    /* Negative, oversized, and over-long string lengths. */
    mb_header(&m, 2);
    mb_long(&m, -1);
    expect_error(m.b, m.n, "event_id: negative string length -1");
    mb_header(&m, 2);
    mb_long(&m, (int64_t)1 << 40);
    mb_str(&m, "x");
    expect_error(m.b, m.n, "event_id: string length 1099511627776 exceeds the 2 bytes left");
    mb_header(&m, 2);
    for (int i = 0; i < 10; i++)
        mb_byte(&m, 0xff);
    mb_byte(&m, 0x01);
    expect_error(m.b, m.n, "event_id: string length: varint longer than 10 bytes");
    mb_header(&m, 2);
    for (int i = 0; i < 9; i++)
        mb_byte(&m, 0xfe);
    mb_byte(&m, 0x02);
    expect_error(m.b, m.n, "event_id: string length: varint overflows 64 bits");
    mb_header(&m, 2);
    expect_error(m.b, m.n, "event_id: truncated string length (no bytes left)");

    /* Text must be UTF-8 without NUL. */
    mb_manifest_head(&m);
    mb_long(&m, 1);
    mb_str(&m, "\xc3\x28");
    mb_long(&m, 0);
    mb_long(&m, 0);
    expect_error(m.b, m.n, "body.tokens[0]: string is not valid UTF-8 text without NUL");
    mb_envelope(&m, 6); /* IncidentClosed */
    mb_long(&m, 0);
    mb_long(&m, 3);
    mb_raw(&m, "a\0b", 3);
    expect_error(m.b, m.n, "body.note: string is not valid UTF-8 text without NUL");

    /* Union branches and enum indexes within the schema. */
    mb_envelope(&m, 7);
    expect_error(m.b, m.n, "body: union branch 7 out of range (7 branches)");
    mb_envelope(&m, -1);
    expect_error(m.b, m.n, "body: union branch -1 out of range (7 branches)");
    mb_envelope(&m, 4); /* ResponseStepCompleted */
    mb_long(&m, 6);
    expect_error(m.b, m.n, "body.step: enum index 6 out of range (6 symbols)");
    mb_envelope(&m, 4);
    mb_long(&m, -1);
    expect_error(m.b, m.n, "body.step: enum index -1 out of range (6 symbols)");

    /* Booleans are one byte, 0 or 1. */
    mb_envelope(&m, 0); /* IncidentOpened */
    mb_long(&m, 1777597200000LL);
    mb_str(&m, "title");
    mb_long(&m, 1);    /* role contractor */
    mb_byte(&m, 0x02); /* number_use_entity */
    expect_error(m.b, m.n,
                 "body.reporter.number_use_entity: boolean byte 0x02 is neither 0 "
                 "nor 1");

    /* Ints fit 32 bits. */
    mb_manifest_head(&m);
    mb_long(&m, 0);
    mb_long(&m, 1);
    mb_raw(&m, "\xff\xff\xff\xff\x7f", 5);
    expect_error(m.b, m.n, "body.contract_notice_hours: int: varint overflows 32 bits");
    mb_manifest_head(&m);
    mb_long(&m, 0);
    mb_long(&m, 1);
    mb_raw(&m, "\x80\x80\x80\x80\x80\x00", 6);
    expect_error(m.b, m.n, "body.contract_notice_hours: int: varint longer than 5 bytes");

    /* Valid Avro that breaks the contract. */
    mb_manifest_head(&m);
    mb_long(&m, 1);
    mb_str(&m, "not-a-token");
    mb_long(&m, 0);
    mb_long(&m, 0);
    expect_error(m.b, m.n, "body.tokens[0]: not 64 lowercase hex digits");
    mb_envelope(&m, 3); /* ExposureCount */
    mb_str(&m, "client-a");
    mb_long(&m, 5);
    mb_long(&m, 1);
    mb_long(&m, 1);
    mb_long(&m, 0);
    expect_error(m.b, m.n, "body.persons_max: 1 is below persons (5)");
    mb_envelope(&m, 3);
    mb_str(&m, "client with spaces");
    mb_long(&m, 5);
    mb_long(&m, 0);
    mb_long(&m, 0);
    expect_error(m.b, m.n, "body.client_id: byte 6 is not printable ASCII");

    /* The check follows the WRITER's schema: id 1 had three body kinds. */
    mb_header(&m, 1);
    mb_str(&m, "e1");
    mb_str(&m, "INC-1");
    mb_str(&m, "bpo");
    mb_long(&m, 0);
    mb_long(&m, 3);
    expect_error(m.b, m.n, "body: union branch 3 out of range (3 branches)");

    mni_event_free(&ev);
}

/* The generic check on types our schemas do not use: maps, fixed, float, double, bytes. */
static void test_check_other_types(void **state)
{
    (void)state;
    const char *js = "{\"type\":\"record\",\"name\":\"T\",\"fields\":["
                     "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"null\"}},"
                     "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}},"
                     "{\"name\":\"x\",\"type\":\"float\"},{\"name\":\"d\",\"type\":\"double\"},"
                     "{\"name\":\"b\",\"type\":\"bytes\"}]}";
    avro_schema_t s;
    char err[256];
    mb m;

    assert_int_equal(avro_schema_from_json_length(js, strlen(js), &s), 0);
    m.n = 0;
    mb_long(&m, 1);
    mb_str(&m, "k");
    mb_long(&m, 0);
    mb_raw(&m, "abcd", 4);
    mb_raw(&m, "1234", 4);
    mb_raw(&m, "12345678", 8);
    mb_long(&m, 2);
    mb_raw(&m, "\xff\x00", 2); /* bytes need not be text */
    assert_int_equal(avro_codec_check(s, m.b, m.n, err, sizeof err), 0);
    for (size_t len = 0; len < m.n; len++)
        assert_int_equal(avro_codec_check(s, m.b, len, err, sizeof err), -1);
    assert_int_equal(avro_codec_check(s, m.b, 7, err, sizeof err), -1);
    assert_string_equal(err, "f: truncated fixed (4 bytes needed, 3 left)");
    assert_int_equal(avro_codec_check(s, m.b, 9, err, sizeof err), -1);
    assert_string_equal(err, "x: truncated float (4 bytes needed, 1 left)");

    m.n = 0;
    mb_long(&m, 1);
    mb_str(&m, "\xc0\xaf"); /* an overlong '/' */
    assert_int_equal(avro_codec_check(s, m.b, m.n, err, sizeof err), -1);
    assert_string_equal(err, "m[0]: map key is not valid UTF-8 text");
    avro_schema_decref(s);

    /* Text rules: overlong forms, surrogates, beyond U+10FFFF, truncated sequences. */
    assert_true(avro_codec_text_ok("", 0));
    assert_true(avro_codec_text_ok("個人番号 \xf0\x9f\x98\x80", 17));
    assert_false(avro_codec_text_ok("\xe0\x80\xaf", 3));
    assert_false(avro_codec_text_ok("\xed\xa0\x80", 3));
    assert_false(avro_codec_text_ok("\xf4\x90\x80\x80", 4));
    assert_false(avro_codec_text_ok("\xe3\x81", 2));
    assert_false(avro_codec_text_ok("\x80", 1));
}

/* ---- JSON errors, from the data file ---- */

static void test_json_errors(void **state)
{
    (void)state;
    char path[4096], *save = NULL;
    size_t len;
    int n = 0;
    mni_event ev;

    testdata_path("events/json_errors.tsv", path, sizeof path);
    char *text = testdata_read(path, &len);
    assert_non_null(text);
    mni_event_init(&ev);
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char err[512] = "", *tab = strchr(line, '\t');
        if (line[0] == '#') continue;
        assert_non_null(tab);
        *tab = '\0';
        n++;
        if (mni_event_from_json_text(tab + 1, strlen(tab + 1), &ev, err, sizeof err) == 0)
            fail_msg("json_errors.tsv case %d was accepted: %s", n, tab + 1);
        if (strstr(err, line) == NULL)
            fail_msg("json_errors.tsv case %d: \"%s\" does not contain \"%s\"", n, err, line);
        assert_int_equal(ev.type, MNI_EVENT_NONE);
    }
    print_message("%d JSON error cases\n", n);
    assert_true(n >= 40);

    /* jansson's parser refuses \u0000; a json_t built in C can still hold a NUL. */
    json_t *obj = json_loads("{\"event_id\":\"e\",\"incident_id\":\"I\",\"tenant\":\"t\","
                             "\"occurred_at\":\"2026-05-01T10:00:00Z\",\"type\":"
                             "\"incident_closed\",\"body\":{\"reason\":\"closed\"}}",
                             0, NULL);
    char err[256];
    assert_non_null(obj);
    json_object_set_new(json_object_get(obj, "body"), "note", json_stringn("a\0b", 3));
    assert_int_equal(mni_event_from_json(obj, &ev, err, sizeof err), -1);
    assert_string_equal(err, "body.note: contains a NUL character");
    json_object_set_new(json_object_get(obj, "body"), "note", json_string("fine"));
    assert_int_equal(mni_event_from_json(obj, &ev, err, sizeof err), 0);
    assert_string_equal(ev.body.closed.note, "fine");
    json_decref(obj);
    mni_event_free(&ev);
    free(text);
}

/* ---- schema sets that must not load ---- */

typedef struct {
    const char *name, *content;
} file_spec;

/* Writes the files into a fresh temporary directory (with history/), loads it and returns the
 * result; *set is freed. */
static int load_dir(const file_spec *files, size_t n, char *err, size_t errlen, schema_set **out)
{
    char dir[] = "/tmp/mni-schemas-XXXXXX", path[512];
    int rc;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/history", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(files[i].content, f);
        fclose(f);
    }
    rc = schema_set_load(dir, out, err, errlen);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/history", dir);
    rmdir(path);
    rmdir(dir);
    return rc;
}

#define REC(fields)                                                                                \
    "{\"type\":\"record\",\"name\":\"X\",\"namespace\":\"t\",\"fields\":[" fields "]}"

static void expect_load_error(const file_spec *files, size_t n, const char *reason)
{
    schema_set *set = NULL;
    char err[1024] = "";
    assert_int_equal(load_dir(files, n, err, sizeof err, &set), -1);
    assert_null(set);
    if (strstr(err, reason) == NULL) fail_msg("error \"%s\" does not contain \"%s\"", err, reason);
}

static void test_schema_load_errors(void **state)
{
    (void)state;
    const char *ids12 = "1\thistory/X.v1.avsc\tt.X\n2\tX.avsc\tt.X\n";
    const char *ids2 = "# a comment\n\n2\tX.avsc\tt.X\n";

    {
        file_spec f[] = {{"ids.tsv", ids12},
                         {"history/X.v1.avsc", REC("{\"name\":\"a\",\"type\":\"string\"}")},
                         {"X.avsc", REC("{\"name\":\"a\",\"type\":\"string\"},"
                                        "{\"name\":\"b\",\"type\":\"int\"}")}};
        expect_load_error(f, 3,
                          "schema id 1 (history/X.v1.avsc) cannot be read with id 2 "
                          "(X.avsc): b: not in the writer's schema and has no default");
    }
    {
        file_spec f[] = {{"ids.tsv", ids12},
                         {"history/X.v1.avsc", REC("{\"name\":\"a\",\"type\":\"string\"}")},
                         {"X.avsc", REC("{\"name\":\"a\",\"type\":\"int\"}")}};
        expect_load_error(f, 3, "a: the writer's string cannot be read as int");
    }
    {
        file_spec f[] = {{"ids.tsv", ids12},
                         {"history/X.v1.avsc", REC("{\"name\":\"e\",\"type\":{\"type\":\"enum\","
                                                   "\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}}")},
                         {"X.avsc", REC("{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":"
                                        "\"E\",\"symbols\":[\"A\"]}}")}};
        expect_load_error(f, 3,
                          "e: the writer's symbol B is unknown to the reader, whose enum "
                          "has no default");
    }
    {
        file_spec f[] = {{"ids.tsv", ids2},
                         {"X.avsc", REC("{\"name\":\"b\",\"type\":\"int\",\"default\":\"zero\"}")}};
        expect_load_error(f, 2, "X.avsc (id 2): b: default of an int must be a 32-bit integer");
    }
    {
        file_spec f[] = {
            {"ids.tsv", ids2},
            {"X.avsc", REC("{\"name\":\"u\",\"type\":[\"null\",\"int\"],\"default\":3}")}};
        expect_load_error(f, 2, "u: default of a null must be null");
    }
    {
        file_spec f[] = {
            {"ids.tsv", ids2},
            {"X.avsc", REC("{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
                           "\"symbols\":[\"A\"],\"default\":\"Z\"}}")}};
        expect_load_error(f, 2, "e: the default of enum E is not one of its symbols");
    }
    {
        file_spec f[] = {{"ids.tsv", ids2},
                         {"X.avsc", REC("{\"name\":\"y\",\"type\":\"t.Nope\"}")}};
        expect_load_error(f, 2, "X.avsc: unknown type t.Nope");
    }
    {
        /* A history file may not borrow from the current files. */
        file_spec f[] = {{"ids.tsv", ids12},
                         {"history/X.v1.avsc", REC("{\"name\":\"y\",\"type\":\"t.Y\"}")},
                         {"X.avsc", REC("{\"name\":\"y\",\"type\":\"t.Y\"}")},
                         {"Y.avsc", "{\"type\":\"fixed\",\"name\":\"t.Y\",\"size\":2}"}};
        expect_load_error(f, 4, "history/X.v1.avsc: unknown type t.Y");
    }
    {
        file_spec f[] = {{"ids.tsv", "2\tX.avsc\tt.X\n2\tX.avsc\tt.X\n"}, {"X.avsc", REC("")}};
        expect_load_error(f, 2, "schema id 2 is listed twice");
    }
    {
        file_spec f[] = {{"ids.tsv", "2\tX.avsc\tt.X\n3\tX.avsc\tt.X\n"}, {"X.avsc", REC("")}};
        expect_load_error(f, 2, "two current versions of t.X: ids 2 and 3");
    }
    {
        file_spec f[] = {{"ids.tsv", "2\tZ.avsc\tt.X\n"}, {"X.avsc", REC("")}};
        expect_load_error(f, 2, "Z.avsc: no such schema file");
    }
    {
        file_spec f[] = {{"ids.tsv", "2 X.avsc t.X\n"}, {"X.avsc", REC("")}};
        expect_load_error(f, 2, "ids.tsv:1: expected id<TAB>file<TAB>subject");
    }
    {
        file_spec f[] = {{"ids.tsv", "0\tX.avsc\tt.X\n"}, {"X.avsc", REC("")}};
        expect_load_error(f, 2, "ids.tsv:1: bad schema id \"0\"");
    }
    {
        file_spec f[] = {{"ids.tsv", "2\t../X.avsc\tt.X\n"}, {"X.avsc", REC("")}};
        expect_load_error(f, 2, "file must be relative and inside");
    }
    {
        file_spec f[] = {{"ids.tsv", "# nothing\n"}, {"X.avsc", REC("")}};
        expect_load_error(f, 2, "ids.tsv: no schema listed");
    }
    {
        file_spec f[] = {{"ids.tsv", ids2}, {"X.avsc", "{\"type\": \"record\",\n"}};
        expect_load_error(f, 2, "X.avsc:2:");
    }
    {
        file_spec f[] = {{"ids.tsv", ids2},
                         {"X.avsc", "{\"type\":\"enum\",\"name\":\"t.X\",\"symbols\":[\"A\"]}"}};
        expect_load_error(f, 2, "X.avsc (id 2): the top level is not a named record");
    }
    {
        file_spec f[] = {{"ids.tsv", ids2}, {"X.avsc", REC("")}, {"Y.avsc", REC("")}};
        expect_load_error(f, 3, "type t.X is defined twice");
    }
    {
        file_spec f[] = {{"X.avsc", REC("")}};
        expect_load_error(f, 1, "ids.tsv");
    }
}

static void set_field_long(avro_value_t *rec, const char *name, int64_t x, int is_int)
{
    avro_value_t v;
    assert_int_equal(avro_value_get_by_name(rec, name, &v, NULL), 0);
    if (is_int)
        assert_int_equal(avro_value_set_int(&v, (int32_t)x), 0);
    else
        assert_int_equal(avro_value_set_long(&v, x), 0);
}

/* The resolver on what our event schemas do not exercise. */
static void test_generic_resolution(void **state)
{
    (void)state;
    file_spec f[] = {
        {"ids.tsv", "1\thistory/X.v1.avsc\tt.X\n2\tX.avsc\tt.X\n"},
        {"history/X.v1.avsc",
         REC("{\"name\":\"gone\",\"type\":\"string\"},{\"name\":\"a\",\"type\":\"int\"},"
             "{\"name\":\"x\",\"type\":\"int\"},{\"name\":\"s\",\"type\":\"string\"},"
             "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\","
             "\"C\"]}},"
             "{\"name\":\"o\",\"type\":\"long\"}")},
        {"X.avsc", REC("{\"name\":\"a\",\"type\":\"long\"},{\"name\":\"x\",\"type\":\"double\"},"
                       "{\"name\":\"s\",\"type\":\"bytes\"},"
                       "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":["
                       "\"A\",\"B\"],\"default\":\"A\"}},"
                       "{\"name\":\"o\",\"type\":[\"null\",\"long\"]},"
                       "{\"name\":\"d\",\"type\":\"string\",\"default\":\"dflt\"},"
                       "{\"name\":\"u\",\"type\":[\"null\",\"int\"],\"default\":null},"
                       "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"R\",\"fields\":[{"
                       "\"name\":\"q\",\"type\":\"boolean\",\"default\":true},{\"name\":\"f\","
                       "\"type\":\"float\",\"default\":1.5}]},\"default\":{}},"
                       "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"long\"},"
                       "\"default\":{\"k\":7}},"
                       "{\"name\":\"l\",\"type\":{\"type\":\"array\",\"items\":\"string\"},"
                       "\"default\":[\"x\",\"y\"]}")},
    };
    schema_set *set;
    char err[512];
    avro_value_t rec, v, out, child;
    wire_buf buf;
    const schema_def *w;
    int64_t l = 0;
    double d = 0;
    const void *bytes = NULL;
    const char *str = NULL;
    size_t size = 0;
    int i = 0;

    if (load_dir(f, 3, err, sizeof err, &set) != 0) fail_msg("%s", err);
    assert_int_equal(avro_generic_value_new(schema_set_by_id(set, 1)->iface, &rec), 0);
    assert_int_equal(avro_value_get_by_name(&rec, "gone", &v, NULL), 0);
    assert_int_equal(avro_value_set_string(&v, "skipped"), 0);
    set_field_long(&rec, "a", -5, 1);
    set_field_long(&rec, "x", 3, 1);
    assert_int_equal(avro_value_get_by_name(&rec, "s", &v, NULL), 0);
    assert_int_equal(avro_value_set_string(&v, "text"), 0);
    assert_int_equal(avro_value_get_by_name(&rec, "e", &v, NULL), 0);
    assert_int_equal(avro_value_set_enum(&v, 2), 0); /* C: unknown to the reader */
    set_field_long(&rec, "o", 99, 0);
    wire_buf_init(&buf);
    assert_int_equal(avro_codec_encode(schema_set_by_id(set, 1), &rec, &buf, err, sizeof err), 0);
    avro_value_decref(&rec);
    if (avro_codec_decode(set, buf.data, buf.len, "t.X", &out, &w, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(w->id, 1);
    assert_int_equal(avro_value_get_by_name(&out, "gone", &v, NULL), EINVAL);
    assert_int_equal(avro_value_get_by_name(&out, "a", &v, NULL), 0);
    assert_int_equal(avro_value_get_long(&v, &l), 0);
    assert_int_equal(l, -5);
    assert_int_equal(avro_value_get_by_name(&out, "x", &v, NULL), 0);
    assert_int_equal(avro_value_get_double(&v, &d), 0);
    assert_true(d == 3.0);
    assert_int_equal(avro_value_get_by_name(&out, "s", &v, NULL), 0);
    assert_int_equal(avro_value_get_bytes(&v, &bytes, &size), 0);
    assert_int_equal(size, 4);
    assert_memory_equal(bytes, "text", 4);
    assert_int_equal(avro_value_get_by_name(&out, "e", &v, NULL), 0);
    assert_int_equal(avro_value_get_enum(&v, &i), 0);
    assert_int_equal(i, 0); /* the default, A */
    assert_int_equal(avro_value_get_by_name(&out, "o", &v, NULL), 0);
    assert_int_equal(avro_value_get_current_branch(&v, &child), 0);
    assert_int_equal(avro_value_get_long(&child, &l), 0);
    assert_int_equal(l, 99);
    assert_int_equal(avro_value_get_by_name(&out, "d", &v, NULL), 0);
    assert_int_equal(avro_value_get_string(&v, &str, &size), 0);
    assert_string_equal(str, "dflt");
    assert_int_equal(avro_value_get_by_name(&out, "u", &v, NULL), 0);
    assert_int_equal(avro_value_get_current_branch(&v, &child), 0);
    assert_int_equal(avro_value_get_type(&child), AVRO_NULL);
    assert_int_equal(avro_value_get_by_name(&out, "r", &v, NULL), 0);
    assert_int_equal(avro_value_get_by_name(&v, "q", &child, NULL), 0);
    assert_int_equal(avro_value_get_boolean(&child, &i), 0);
    assert_true(i);
    assert_int_equal(avro_value_get_by_name(&out, "m", &v, NULL), 0);
    assert_int_equal(avro_value_get_by_name(&v, "k", &child, NULL), 0);
    assert_int_equal(avro_value_get_long(&child, &l), 0);
    assert_int_equal(l, 7);
    assert_int_equal(avro_value_get_by_name(&out, "l", &v, NULL), 0);
    assert_int_equal(avro_value_get_size(&v, &size), 0);
    assert_int_equal(size, 2);
    avro_value_decref(&out);

    /* Decoding as another record is refused before any Avro work. */
    assert_int_equal(
        avro_codec_decode(set, buf.data, buf.len, "t.Other", &out, NULL, err, sizeof err), -1);
    assert_string_equal(err, "schema id 1 is t.X, not the expected t.Other");
    wire_buf_free(&buf);
    schema_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_truncated_every_prefix),
        cmocka_unit_test(test_random_mutations),
        cmocka_unit_test(test_hand_made_avro),
        cmocka_unit_test(test_check_other_types),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_schema_load_errors),
        cmocka_unit_test(test_generic_resolution),
    };
    return cmocka_run_group_tests_name("events_malformed", tests, setup, teardown);
}
