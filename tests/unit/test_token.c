/*
 * Person tokens: HMAC-SHA256 known answers (computed independently with Python's hmac module
 * for the key 00 01 02 ... 1f), key-file parsing and its errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/model/token.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char *write_temp(const char *content)
{
    char *path = strdup("/tmp/mni-token-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    close(fd);
    return path;
}

static void test_known_answers(void **state)
{
    (void)state;
    char *path = write_temp("  " KEY_HEX "\n");
    token_key key;
    char err[256], out[TOKEN_HEX_LEN + 1];
    assert_int_equal(token_key_load(path, &key, err, sizeof err), 0);
    assert_int_equal(key.len, 32);
    assert_int_equal(token_make(&key, "person-0001", 11, out), 0);
    assert_string_equal(out, "b56353c9fb3e04df037a0b95f789948e89ced3808f8ae1c62fbfb0dd57737cd3");
    const char *jp = "山田太郎#1980-01-01";
    assert_int_equal(token_make(&key, jp, strlen(jp), out), 0);
    assert_string_equal(out, "74a42d50acb495875c9a21385e64dea6419089191e12f69f26365132259fd033");
    assert_true(token_is_wellformed(out, strlen(out)));
    unlink(path);
    free(path);
}

static void test_key_file_errors(void **state)
{
    (void)state;
    static const struct {
        const char *content, *error;
    } cases[] = {
        {"abcd\n", "want 32 to 128 bytes as hex digits (got 4 characters)"},
        {KEY_HEX "0\n", "(got 65 characters)"},
        {"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
         "not hex at character 1"},
        {"", "(got 0 characters)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *path = write_temp(cases[i].content);
        token_key key;
        char err[256] = "";
        assert_int_equal(token_key_load(path, &key, err, sizeof err), -1);
        if (!strstr(err, cases[i].error) || !strstr(err, path))
            fail_msg("case %zu: '%s' lacks '%s' or the path", i, err, cases[i].error);
        unlink(path);
        free(path);
    }
    token_key key;
    char err[256];
    assert_int_equal(token_key_load("/nonexistent/key", &key, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_generated_key_is_fresh_and_private(void **state)
{
    (void)state;
    char path[] = "/tmp/mni-token-gen-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    char err[256];
    assert_int_equal(token_key_generate(path, err, sizeof err), 0);
    /* Never overwrites an existing key. */
    assert_int_equal(token_key_generate(path, err, sizeof err), -1);
    assert_non_null(strstr(err, "never overwritten"));
    assert_int_equal(access(path, R_OK), 0);
    token_key a;
    assert_int_equal(token_key_load(path, &a, err, sizeof err), 0);
    assert_int_equal(a.len, 32);
    unlink(path);
    assert_int_equal(token_key_generate(path, err, sizeof err), 0);
    token_key b;
    assert_int_equal(token_key_load(path, &b, err, sizeof err), 0);
    assert_memory_not_equal(a.bytes, b.bytes, 32);
    unlink(path);
}

static void test_wellformed(void **state)
{
    (void)state;
    assert_false(token_is_wellformed(KEY_HEX "0", 65));
    assert_false(token_is_wellformed(
        "ABCDEF060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000000", 64)); /* upper case */
    assert_true(token_is_wellformed(KEY_HEX, 64));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_key_file_errors),
        cmocka_unit_test(test_generated_key_is_fresh_and_private),
        cmocka_unit_test(test_wellformed),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
