/*
 * test_task_id: the deterministic ids (lib/model/task_id.h) and the digest helpers
 * (lib/base/digest.h). The expected values are the contract with downstream systems, computed
 * independently with coreutils (`printf 'INC-1|client_notice|C-1' | sha256sum`), so a change of
 * formula fails here before it re-sends every task.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/digest.h"
#include "lib/model/task_id.h"

static void obligation_ids(void **state)
{
    (void)state;
    char id[MNI_TASK_ID_LEN];
    mni_task_id("INC-1", "client_notice", "C-1", id);
    assert_string_equal(id, "a3f223346643dec253b869bb46f93490");
    mni_task_id("INC-1", "ppc_preliminary", NULL, id); /* incident-wide: client "" */
    assert_string_equal(id, "0d5b101de4ffcabe8ee7593cf92aead2");
}

static void reminder_ids(void **state)
{
    (void)state;
    char id[MNI_TASK_ID_LEN];
    mni_reminder_task_id("INC-1", "reminder", "C-1", "client_notice", "2026-12-01", id);
    assert_string_equal(id, "b0dfecaf1238017400eadc640329e85c");
    char other[MNI_TASK_ID_LEN];
    mni_reminder_task_id("INC-1", "reminder", "C-1", "client_notice", "2026-12-02", other);
    assert_string_not_equal(id, other); /* another due day is another reminder */
}

static void ticket_ids(void **state)
{
    (void)state;
    char t[MNI_TICKET_ID_LEN];
    mni_ticket_id("a3f223346643dec253b869bb46f93490", t);
    assert_string_equal(t, "T-a3f223346643dec253b869bb46f93490");
    char long_id[71];
    memset(long_id, 'x', 70);
    long_id[70] = '\0';
    mni_ticket_id(long_id, t); /* would not fit 63 characters: hashed */
    assert_string_equal(t, "T-c71bd109227e23434ecf71fd0a344a20");
}

static void sha256_hex(void **state)
{
    (void)state;
    char hex[DIGEST_SHA256_HEX_LEN];
    assert_int_equal(digest_sha256_hex("", 0, hex), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(digest_sha256_hex("abc", 3, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *parts[] = {"a", "b"};
    char two[DIGEST_SHA256_HEX_LEN], joined[DIGEST_SHA256_HEX_LEN];
    assert_int_equal(digest_sha256_parts_hex(parts, 2, 32, two), 0);
    assert_int_equal(digest_sha256_hex("a|b", 3, joined), 0);
    assert_string_equal(two, joined);
    assert_int_equal(digest_sha256_parts_hex(parts, 2, 33, two), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(obligation_ids),
        cmocka_unit_test(reminder_ids),
        cmocka_unit_test(ticket_ids),
        cmocka_unit_test(sha256_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
