/*
 * What of a refused message may travel to the dead-letter topic (lib/runtime/dlq.h): every byte of
 * key, value, headers and detail is scanned for a raw My Number whatever the reason, and every
 * part is bounded. Valid numbers are made at run time from eleven digits and their check digit.
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
#include "lib/runtime/dlq.h"
#include "rules/mynumber.h"

static char number[13]; /* valid, made in main */

static void make_valid(const char *seed, char out[13])
{
    int d[11];
    for (int i = 0; i < 11; i++)
        d[i] = seed[i] - '0';
    memcpy(out, seed, 11);
    out[11] = (char)('0' + mynumber_check_digit(d));
    out[12] = '\0';
}

static void test_clean_message_travels_whole(void **state)
{
    (void)state;
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "mni.event_id", -1, "EV-1", 4);
    dlq_screened s;
    dlq_screen("INC-1", 5, "\0\x02junk", 6, h, 0, "magic byte 0x00", &s);
    assert_int_equal(s.flags, 0);
    assert_string_equal(s.withheld, "");
    assert_string_equal(s.detail, "magic byte 0x00");
    rd_kafka_headers_destroy(h);
}

/* Issue 8 item 2(a): a number in the incident id reached the dead-letter topic as its key. */
static void test_number_in_key_is_withheld(void **state)
{
    (void)state;
    char key[64];
    snprintf(key, sizeof key, "INC-%s", number);
    dlq_screened s;
    dlq_screen(key, strlen(key), "value", 5, NULL, 0, "unknown_incident", &s);
    assert_int_equal(s.flags, KQ_DLQ_NO_KEY);
    assert_string_equal(s.withheld, "key (a raw My Number)");
}

/* Issue 8 item 2(b): an undecodable message was copied byte for byte, number included. */
static void test_number_in_undecodable_value_is_withheld(void **state)
{
    (void)state;
    char value[128];
    /* Written as a person might, in groups split by kana input's long vowel mark. */
    int n = snprintf(value, sizeof value, "\x01not avro: %.4s\u30FC%.4s\u30FC%.4s", number,
                     number + 4, number + 8);
    dlq_screened s;
    dlq_screen("INC-1", 5, value, (size_t)n, NULL, 0, "undecodable", &s);
    assert_int_equal(s.flags, KQ_DLQ_NO_VALUE);
    assert_string_equal(s.withheld, "value (a raw My Number)");
}

static void test_number_in_a_header_withholds_headers(void **state)
{
    (void)state;
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, "note", -1, number, 12);
    dlq_screened s;
    dlq_screen("INC-1", 5, "v", 1, h, 0, NULL, &s);
    assert_int_equal(s.flags, KQ_DLQ_NO_HEADERS);
    assert_string_equal(s.withheld, "headers (a raw My Number)");
    assert_string_equal(s.detail, "");
    rd_kafka_headers_destroy(h);
    /* ... in a header's name, too. */
    h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, number, -1, "x", 1);
    dlq_screen("INC-1", 5, "v", 1, h, 0, NULL, &s);
    assert_int_equal(s.flags, KQ_DLQ_NO_HEADERS);
    rd_kafka_headers_destroy(h);
}

static void test_number_in_detail_is_replaced(void **state)
{
    (void)state;
    char detail[64];
    snprintf(detail, sizeof detail, "field x: bad value %s", number);
    dlq_screened s;
    dlq_screen("INC-1", 5, "v", 1, NULL, 0, detail, &s);
    assert_int_equal(s.flags, 0);
    assert_null(strstr(s.detail, number));
    assert_non_null(strstr(s.detail, "detail withheld"));
}

/* Issue 8 item 1(a): an event over 1 MiB could not be dead-lettered. */
static void test_parts_over_the_limits_are_withheld(void **state)
{
    (void)state;
    size_t big = DLQ_VALUE_MAX + 1;
    char *value = calloc(1, big);
    assert_non_null(value);
    char *key = malloc(DLQ_KEY_MAX + 1);
    assert_non_null(key);
    memset(key, 'k', DLQ_KEY_MAX + 1);
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    char *hv = malloc(DLQ_HEADERS_MAX);
    assert_non_null(hv);
    memset(hv, 'h', DLQ_HEADERS_MAX);
    rd_kafka_header_add(h, "big", -1, hv, DLQ_HEADERS_MAX);
    dlq_screened s;
    dlq_screen(key, DLQ_KEY_MAX + 1, value, big, h, 0, "too large", &s);
    assert_int_equal(s.flags, KQ_DLQ_NO_VALUE | KQ_DLQ_NO_HEADERS | KQ_DLQ_NO_KEY);
    char want[256];
    snprintf(want, sizeof want,
             "value (%zu bytes, over the %d-byte limit), headers (over the dead-letter limit), key "
             "(over the dead-letter limit)",
             big, DLQ_VALUE_MAX);
    assert_string_equal(s.withheld, want);
    /* At the limits, everything travels. */
    dlq_screen(key, DLQ_KEY_MAX, value, DLQ_VALUE_MAX, NULL, 0, NULL, &s);
    assert_int_equal(s.flags, 0);
    rd_kafka_headers_destroy(h);
    free(hv);
    free(key);
    free(value);
}

static void test_reason_redaction_is_said(void **state)
{
    (void)state;
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "a", -1, "b", 1);
    dlq_screened s;
    dlq_screen("INC-1", 5, "v", 1, h, KQ_DLQ_REDACT, "body.note", &s);
    assert_int_equal(s.flags, KQ_DLQ_REDACT);
    assert_string_equal(s.withheld, "value (by the reason), headers (by the reason)");
    rd_kafka_headers_destroy(h);
}

int main(void)
{
    make_valid("31415926535", number);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_message_travels_whole),
        cmocka_unit_test(test_number_in_key_is_withheld),
        cmocka_unit_test(test_number_in_undecodable_value_is_withheld),
        cmocka_unit_test(test_number_in_a_header_withholds_headers),
        cmocka_unit_test(test_number_in_detail_is_replaced),
        cmocka_unit_test(test_parts_over_the_limits_are_withheld),
        cmocka_unit_test(test_reason_redaction_is_said),
    };
    return cmocka_run_group_tests_name("dlq", tests, NULL, NULL);
}
