/*
 * wire: the Confluent framing. Header layout (magic 0, big-endian id), every refusal of
 * wire_decode (short, wrong magic, id 0 or above INT32_MAX, oversized before anything else),
 * and the size limit on encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/serdes/wire.h"

static void test_header_layout(void **state)
{
    (void)state;
    wire_buf b;
    char err[256];
    const uint8_t payload[] = {0x02, 0x61};
    int32_t id;
    const uint8_t *p;
    size_t plen;

    wire_buf_init(&b);
    assert_int_equal(wire_encode(0x01020304, payload, sizeof payload, &b, err, sizeof err), 0);
    assert_int_equal(b.len, 7);
    const uint8_t want[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x02, 0x61};
    assert_memory_equal(b.data, want, sizeof want);
    assert_int_equal(wire_decode(b.data, b.len, &id, &p, &plen, err, sizeof err), 0);
    assert_int_equal(id, 0x01020304);
    assert_int_equal(plen, 2);
    assert_ptr_equal(p, b.data + 5);

    /* Re-encoding reuses the buffer and replaces its content. */
    assert_int_equal(wire_encode(7, NULL, 0, &b, err, sizeof err), 0);
    assert_int_equal(b.len, 5);
    assert_int_equal(wire_decode(b.data, b.len, &id, &p, &plen, err, sizeof err), 0);
    assert_int_equal(id, 7);
    assert_int_equal(plen, 0);
    wire_buf_free(&b);
    assert_null(b.data);
}

static void expect_decode_error(const uint8_t *msg, size_t len, const char *reason)
{
    char err[256] = "";
    int32_t id = -5;
    const uint8_t *p = NULL;
    size_t plen = 99;

    assert_int_equal(wire_decode(msg, len, &id, &p, &plen, err, sizeof err), -1);
    if (strstr(err, reason) == NULL) fail_msg("error \"%s\" does not contain \"%s\"", err, reason);
    assert_int_equal(id, -5); /* outputs untouched on error */
    assert_null(p);
}

static void test_decode_errors(void **state)
{
    (void)state;
    const uint8_t magic[] = {0x01, 0, 0, 0, 1, 0};
    const uint8_t zero_id[] = {0, 0, 0, 0, 0, 0};
    const uint8_t high_id[] = {0, 0x80, 0, 0, 1, 0};
    const uint8_t ok[] = {0, 0, 0, 0, 2};

    expect_decode_error(magic, sizeof magic, "wrong magic byte 0x01");
    expect_decode_error(zero_id, sizeof zero_id, "schema id 0 is out of range");
    expect_decode_error(high_id, sizeof high_id, "schema id 2147483649 is out of range");
    for (size_t len = 0; len < WIRE_HEADER_SIZE; len++)
        expect_decode_error(ok, len, "shorter than the 5-byte header");
    expect_decode_error(NULL, 0, "shorter than the 5-byte header");
}

static void test_size_limit(void **state)
{
    (void)state;
    uint8_t *big = calloc(1, WIRE_MAX_MESSAGE + 1);
    wire_buf b;
    char err[256];
    int32_t id;
    const uint8_t *p;
    size_t plen;

    assert_non_null(big);
    big[4] = 2;
    /* The limit is checked before the header: even a valid frame is refused when too long. */
    expect_decode_error(big, WIRE_MAX_MESSAGE + 1, "exceeds the 1048576-byte limit");
    assert_int_equal(wire_decode(big, WIRE_MAX_MESSAGE, &id, &p, &plen, err, sizeof err), 0);
    assert_int_equal(plen, WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE);

    wire_buf_init(&b);
    assert_int_equal(wire_encode(2, big, WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE, &b, err, sizeof err),
                     0);
    assert_int_equal(b.len, WIRE_MAX_MESSAGE);
    assert_int_equal(
        wire_encode(2, big, WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE + 1, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "message of 1048577 bytes exceeds the 1048576-byte limit"));
    assert_int_equal(wire_encode(0, big, 1, &b, err, sizeof err), -1);
    assert_non_null(strstr(err, "schema id 0 is not positive"));
    wire_buf_free(&b);
    free(big);
}

static void test_put_header(void **state)
{
    (void)state;
    uint8_t h[WIRE_HEADER_SIZE];
    char err[128];

    assert_int_equal(wire_put_header(h, INT32_MAX, err, sizeof err), 0);
    const uint8_t want[] = {0, 0x7f, 0xff, 0xff, 0xff};
    assert_memory_equal(h, want, sizeof want);
    assert_int_equal(wire_put_header(h, -3, err, sizeof err), -1);
    assert_string_equal(err, "schema id -3 is not positive");
    /* A NULL or empty error buffer is allowed. */
    assert_int_equal(wire_put_header(h, 0, NULL, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_put_header),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
