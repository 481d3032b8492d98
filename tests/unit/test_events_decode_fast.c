/*
 * test_events_decode_fast: mni_event_decode reads a manifest of the current schema straight
 * from its bytes (lib/model/events_fast.h) and everything else through Avro C. Whatever the
 * bytes, it must give what the generic path gives (mni_event_decode_generic): the same event or
 * the same error. Compared on every line of tests/data/events (every kind, the optional fields,
 * the pinned encodings of id 6 and of the older id 2), on manifests of 0, 1, 500 and 15,000
 * tokens with and without contract hours, on arrays written as several blocks with byte sizes
 * (legal Avro, which Avro C's writer does not produce), and on every truncation and many byte
 * flips of a manifest message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/model/events.h"
#include "lib/model/events_fast.h"
#include "lib/model/events_json.h"
#include "tests/support/eventcheck.h"
#include "tests/support/testdata.h"
#include "tests/support/testschemas.h"

#define T1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* Whether the fast path reads msg (so the comparisons are known to exercise it). */
static bool fast_reads(const uint8_t *msg, size_t len)
{
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    char err[256];
    const schema_def *w;
    mni_event ev;
    mni_event_init(&ev);
    bool yes = wire_decode(msg, len, &id, &payload, &plen, err, sizeof err) == 0 &&
               (w = schema_set_resolve(testschemas, id, err, sizeof err)) != NULL &&
               mni_event_decode_manifest_fast(w, payload, plen, &ev) == 0;
    mni_event_free(&ev);
    return yes;
}

/* Both paths on msg: same return, same error, same event. Returns whether the fast path read
 * it. */
static bool same(const uint8_t *msg, size_t len)
{
    mni_event a, b;
    char ea[512] = "", eb[512] = "";
    mni_event_init(&a);
    mni_event_init(&b);
    int ra = mni_event_decode(testschemas, msg, len, &a, ea, sizeof ea);
    int rb = mni_event_decode_generic(testschemas, msg, len, &b, eb, sizeof eb);
    if (ra != rb) fail_msg("fast %d (%s), generic %d (%s)", ra, ea, rb, eb);
    if (ra != 0) {
        assert_string_equal(ea, eb);
    } else {
        eventcheck_assert_same(&a, &b);
        assert_int_equal(a.schema_id, b.schema_id);
    }
    mni_event_free(&a);
    mni_event_free(&b);
    return fast_reads(msg, len);
}

/* Encodes a JSON line with the generic encoder into out. */
static void encode_line(const char *line, wire_buf *out)
{
    mni_event ev;
    char err[512];
    mni_event_init(&ev);
    if (mni_event_from_json_text(line, strlen(line), &ev, err, sizeof err) != 0 ||
        mni_event_encode_generic(testschemas, &ev, out, err, sizeof err) != 0)
        fail_msg("%s: %s", line, err);
    mni_event_free(&ev);
}

static void every_test_data_event(void **state)
{
    (void)state;
    static const char *const hex_files[] = {"events/valid.hex", "events/valid.v2.hex"};
    char path[4096], *save = NULL;
    size_t len, lines = 0;
    testdata_path("events/valid.jsonl", path, sizeof path);
    char *text = testdata_read(path, &len);
    assert_non_null(text);
    wire_buf w;
    wire_buf_init(&w);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        encode_line(line, &w);
        same(w.data, w.len);
        lines++;
    }
    assert_true(lines >= 16);
    free(text);
    for (size_t f = 0; f < 2; f++) {
        testdata_path(hex_files[f], path, sizeof path);
        text = testdata_read(path, &len);
        assert_non_null(text);
        save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            uint8_t bytes[4096];
            size_t n = 0;
            for (char *p = line; *p && n < sizeof bytes; p += 3)
                bytes[n++] = (uint8_t)strtoul(p, NULL, 16);
            same(bytes, n);
        }
        free(text);
    }
    wire_buf_free(&w);
}

/* A manifest line with n tokens and the given extra body keys. */
static char *manifest_line(size_t n, const char *extra)
{
    size_t cap = n * 70 + 1024, at = 0;
    char *line = malloc(cap);
    assert_non_null(line);
    at += (size_t)snprintf(line, cap,
                           "{\"event_id\":\"E-1\",\"incident_id\":\"INC-1\",\"tenant\":\"bpo\","
                           "\"occurred_at\":\"2026-11-18T10:01:00+09:00\",\"producer\":\"p\","
                           "\"type\":\"exposure_manifest\",\"body\":{\"client_id\":\"C-1\","
                           "\"batch_id\":\"b\"%s,\"tokens\":[",
                           extra);
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(line + at, cap - at, "%s\"%s\"", i ? "," : "", i % 2 ? T1 : T2);
    snprintf(line + at, cap - at, "]}}");
    return line;
}

static void manifests_of_every_size(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 500, 15000};
    static const char *const extras[] = {"", ",\"contract_notice_hours\":0",
                                         ",\"contract_notice_hours\":87600",
                                         ",\"client_facts\":{\"appi_persons\":3}"};
    wire_buf w;
    wire_buf_init(&w);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t e = 0; e < sizeof extras / sizeof extras[0]; e++) {
            char *line = manifest_line(sizes[s], extras[e]);
            encode_line(line, &w);
            /* Client facts are the generic path's; the rest is read directly. */
            assert_int_equal(same(w.data, w.len), e < 3);
            free(line);
        }
    wire_buf_free(&w);
}

/* The same two-token manifest with its array as two blocks, each with a byte size (a negative
 * count), and with wrong sizes: legal Avro the generic path reads, and errors it reports. */
static void arrays_in_blocks(void **state)
{
    (void)state;
    wire_buf w;
    wire_buf_init(&w);
    char *line = manifest_line(2, "");
    encode_line(line, &w);
    free(line);
    /* Avro C writes the array as count 2 (04), the items, then 00: find that count. */
    size_t at = 0;
    while (at + 2 < w.len &&
           !(w.data[at] == 0x04 && w.data[at + 1] == 0x80 && w.data[at + 2] == 0x01))
        at++;
    assert_true(at + 2 < w.len);
    static const uint8_t sizes[] = {0x84, 0x82}; /* 66 zig-zagged (right), 65 (wrong) */
    for (size_t k = 0; k < 2; k++) {
        uint8_t msg[512];
        size_t n = 0;
        memcpy(msg, w.data, at);
        n = at;
        for (int item = 0; item < 2; item++) {
            msg[n++] = 0x01; /* count -1 */
            msg[n++] = sizes[k];
            msg[n++] = 0x01;
            memcpy(msg + n, w.data + at + 1 + 66 * item, 66);
            n += 66;
        }
        memcpy(msg + n, w.data + at + 1 + 132, w.len - at - 1 - 132);
        n += w.len - at - 1 - 132;
        assert_int_equal(same(msg, n), k == 0);
    }
    wire_buf_free(&w);
}

static void truncations_and_flips(void **state)
{
    (void)state;
    wire_buf w;
    wire_buf_init(&w);
    char *line = manifest_line(2, ",\"contract_notice_hours\":24");
    encode_line(line, &w);
    free(line);
    uint8_t *copy = malloc(w.len);
    assert_non_null(copy);
    assert_true(same(w.data, w.len));
    for (size_t cut = 0; cut < w.len; cut++)
        assert_false(same(w.data, cut));
    static const uint8_t flips[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff, 'A', 'g', '0', 0x41};
    for (size_t at = 0; at < w.len; at++)
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(copy, w.data, w.len);
            copy[at] = flips[f];
            same(copy, w.len);
        }
    free(copy);
    wire_buf_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_test_data_event),
        cmocka_unit_test(manifests_of_every_size),
        cmocka_unit_test(arrays_in_blocks),
        cmocka_unit_test(truncations_and_flips),
    };
    return cmocka_run_group_tests_name("events_decode_fast", tests, testschemas_setup,
                                       testschemas_teardown);
}
