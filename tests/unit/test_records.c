/*
 * records: CaseAssessment, NotifyTask and Ticket through Avro and back (with and without their
 * nullable fields; an abridged CaseAssessment; one written with schema id 3, before abridged
 * records, read by the current version), the checks on encoding, a message of another record
 * refused, every prefix of every message refused, and 1000 random mutations from a fixed seed that
 * either fail with a message or decode to a record that passes the checks.
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
#include "lib/model/records.h"
#include "lib/serdes/avro_codec.h"
#include "tests/support/testrand.h"
#include "tests/support/testschemas.h"

static const char *const top_rules[] = {"MN-1", "MN-3", "APPI-2"};
static const char *const a_rules[] = {"MN-1"};
static const records_client clients[] = {
    {.client_id = "client-a", .persons = 3, .status = "mandatory", .rules = a_rules, .n_rules = 1},
    {.client_id = "client-b", .persons = 0, .status = "none", .rules = NULL, .n_rules = 0},
};

static records_case_assessment sample_assessment(void)
{
    records_case_assessment a = {
        .incident_id = "INC-2026-001",
        .version = 3,
        .assessed_at_ms = 1777600000000LL,
        .regime = "2022",
        .my_number_status = "mandatory",
        .appi_status = "voluntary",
        .rules = top_rules,
        .n_rules = 3,
        .headcount_total = 101,
        .clients = clients,
        .n_clients = 2,
        .route = "direct_report",
        .deadlines = {.preliminary_target = "2026-05-04",
                      .preliminary_latest = "2026-05-06",
                      .final = "2026-05-31",
                      .appi_final = NULL},
        .verdict_json = "{\"status\":\"mandatory\",\"note\":\"速報は3日以内\"}",
    };
    return a;
}

static records_notify_task sample_task(void)
{
    records_notify_task t = {
        .task_id = "task-0001",
        .incident_id = "INC-2026-001",
        .client_id = "client-a",
        .kind = RECORDS_TASK_CLIENT_NOTICE,
        .due_at_ms = 1777800000000LL,
        .case_version = 3,
        .created_at_ms = 1777600000001LL,
        .payload_json = "{}",
    };
    return t;
}

static records_ticket sample_ticket(void)
{
    records_ticket t = {
        .ticket_id = "TCK-1",
        .task_id = "task-0001",
        .incident_id = "INC-2026-001",
        .client_id = NULL,
        .kind = "ppc_preliminary",
        .title = "PPC preliminary report due",
        .summary = "File the preliminary report (速報) by 2026-05-06.",
        .due_at_ms = RECORDS_NO_TIME,
        .document_ref = "doc:42",
    };
    return t;
}

static void assert_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_rules(const char *const *a, size_t na, const char *const *b, size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_string_equal(a[i], b[i]);
}

static void assert_assessment(const records_case_assessment *a, const records_case_assessment *b)
{
    assert_str(a->incident_id, b->incident_id);
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->assessed_at_ms, b->assessed_at_ms);
    assert_str(a->regime, b->regime);
    assert_str(a->my_number_status, b->my_number_status);
    assert_str(a->appi_status, b->appi_status);
    assert_rules(a->rules, a->n_rules, b->rules, b->n_rules);
    assert_int_equal(a->headcount_total, b->headcount_total);
    assert_int_equal(a->n_clients, b->n_clients);
    for (size_t i = 0; i < a->n_clients; i++) {
        assert_str(a->clients[i].client_id, b->clients[i].client_id);
        assert_int_equal(a->clients[i].persons, b->clients[i].persons);
        assert_str(a->clients[i].status, b->clients[i].status);
        assert_rules(a->clients[i].rules, a->clients[i].n_rules, b->clients[i].rules,
                     b->clients[i].n_rules);
    }
    assert_str(a->route, b->route);
    assert_str(a->deadlines.preliminary_target, b->deadlines.preliminary_target);
    assert_str(a->deadlines.preliminary_latest, b->deadlines.preliminary_latest);
    assert_str(a->deadlines.final, b->deadlines.final);
    assert_str(a->deadlines.appi_final, b->deadlines.appi_final);
    assert_str(a->verdict_json, b->verdict_json);
    assert_int_equal(a->abridged, b->abridged);
    /* An encoder takes 0 for "every client listed"; a decoder says how many. */
    assert_int_equal(a->abridged ? a->clients_total : (int64_t)a->n_clients, b->clients_total);
    assert_str(a->full_verdict, b->full_verdict);
}

static void assert_task(const records_notify_task *a, const records_notify_task *b)
{
    assert_str(a->task_id, b->task_id);
    assert_str(a->incident_id, b->incident_id);
    assert_str(a->client_id, b->client_id);
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->due_at_ms, b->due_at_ms);
    assert_int_equal(a->case_version, b->case_version);
    assert_int_equal(a->created_at_ms, b->created_at_ms);
    assert_str(a->payload_json, b->payload_json);
}

static void assert_ticket(const records_ticket *a, const records_ticket *b)
{
    assert_str(a->ticket_id, b->ticket_id);
    assert_str(a->task_id, b->task_id);
    assert_str(a->incident_id, b->incident_id);
    assert_str(a->client_id, b->client_id);
    assert_str(a->kind, b->kind);
    assert_str(a->title, b->title);
    assert_str(a->summary, b->summary);
    assert_int_equal(a->due_at_ms, b->due_at_ms);
    assert_str(a->document_ref, b->document_ref);
}

static void test_assessment_roundtrip(void **state)
{
    (void)state;
    records_case_assessment in = sample_assessment(), out;
    mni_arena arena;
    wire_buf buf;
    char err[512];

    wire_buf_init(&buf);
    arena_init(&arena);
    if (records_case_assessment_encode(testschemas, &in, &buf, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(buf.data[4], 7);
    if (records_case_assessment_decode(testschemas, buf.data, buf.len, &arena, &out, err,
                                       sizeof err) != 0)
        fail_msg("%s", err);
    assert_assessment(&in, &out);

    /* No clients, no rules, no deadlines. */
    in.n_clients = 0;
    in.clients = NULL;
    in.n_rules = 0;
    in.rules = NULL;
    in.deadlines.preliminary_target = in.deadlines.preliminary_latest = in.deadlines.final = NULL;
    arena_reset(&arena);
    assert_int_equal(records_case_assessment_encode(testschemas, &in, &buf, err, sizeof err), 0);
    assert_int_equal(records_case_assessment_decode(testschemas, buf.data, buf.len, &arena, &out,
                                                    err, sizeof err),
                     0);
    assert_assessment(&in, &out);
    arena_free(&arena);
    wire_buf_free(&buf);
}

/* An abridged record (lib/model/assessment_record.h) says so, with the count of every client
 * and where the whole verdict is. */
static void test_abridged_roundtrip(void **state)
{
    (void)state;
    records_case_assessment in = sample_assessment(), out;
    in.abridged = true;
    in.clients_total = 5000;
    in.full_verdict = "PostgreSQL: SELECT case_verdict('INC-2026-001', 3)";
    mni_arena arena;
    wire_buf buf;
    char err[512];
    wire_buf_init(&buf);
    arena_init(&arena);
    if (records_case_assessment_encode(testschemas, &in, &buf, err, sizeof err) != 0)
        fail_msg("%s", err);
    if (records_case_assessment_decode(testschemas, buf.data, buf.len, &arena, &out, err,
                                       sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(out.abridged);
    assert_int_equal(out.clients_total, 5000);
    assert_int_equal(out.n_clients, 2);
    assert_assessment(&in, &out);

    /* A record that is not abridged but counts other than it lists is refused: the message
     * ends with abridged (false), clients_total (branch 1, zig-zag 2 = 0x04), full_verdict
     * (null); 0x04 made 0x00 claims no client. */
    in = sample_assessment();
    assert_int_equal(records_case_assessment_encode(testschemas, &in, &buf, err, sizeof err), 0);
    assert_memory_equal(buf.data + buf.len - 4, "\x00\x02\x04\x00", 4);
    buf.data[buf.len - 2] = 0x00;
    assert_int_equal(records_case_assessment_decode(testschemas, buf.data, buf.len, &arena, &out,
                                                    err, sizeof err),
                     -1);
    assert_string_equal(err,
                        "clients_total: 0, but the record is not abridged and lists 2 clients");
    arena_free(&arena);
    wire_buf_free(&buf);
}

static void set_str(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t v;
    assert_int_equal(avro_value_get_by_name(rec, name, &v, NULL), 0);
    assert_int_equal(avro_value_set_string(&v, s), 0);
}

static void set_long(avro_value_t *rec, const char *name, int64_t x)
{
    avro_value_t v;
    assert_int_equal(avro_value_get_by_name(rec, name, &v, NULL), 0);
    assert_int_equal(avro_value_set_long(&v, x), 0);
}

static void set_strings(avro_value_t *rec, const char *name, const char *const *items, size_t n)
{
    avro_value_t arr, item;
    assert_int_equal(avro_value_get_by_name(rec, name, &arr, NULL), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(avro_value_append(&arr, &item, NULL), 0);
        assert_int_equal(avro_value_set_string(&item, items[i]), 0);
    }
}

static void set_day(avro_value_t *rec, const char *name, const char *day)
{
    avro_value_t u, b;
    assert_int_equal(avro_value_get_by_name(rec, name, &u, NULL), 0);
    assert_int_equal(avro_value_set_branch(&u, day ? 1 : 0, &b), 0);
    assert_int_equal(day ? avro_value_set_string(&b, day) : avro_value_set_null(&b), 0);
}

/* A record written by a writer of schema id 3 (before abridged records: every client listed),
 * built field by field with that schema, reads with the current one as not abridged, every
 * client listed, nowhere else to look. */
static void test_id3_record_read_by_current(void **state)
{
    (void)state;
    const schema_def *v1 = schema_set_by_id(testschemas, 3);
    assert_non_null(v1);
    assert_false(v1->current);
    records_case_assessment in = sample_assessment(), out;
    avro_value_t rec, arr, item, dl;
    assert_int_equal(avro_generic_value_new(v1->iface, &rec), 0);
    set_str(&rec, "incident_id", in.incident_id);
    set_long(&rec, "version", in.version);
    set_long(&rec, "assessed_at", in.assessed_at_ms);
    set_str(&rec, "regime", in.regime);
    set_str(&rec, "my_number_status", in.my_number_status);
    set_str(&rec, "appi_status", in.appi_status);
    set_strings(&rec, "rules", in.rules, in.n_rules);
    set_long(&rec, "headcount_total", in.headcount_total);
    assert_int_equal(avro_value_get_by_name(&rec, "clients", &arr, NULL), 0);
    for (size_t i = 0; i < in.n_clients; i++) {
        assert_int_equal(avro_value_append(&arr, &item, NULL), 0);
        set_str(&item, "client_id", in.clients[i].client_id);
        set_long(&item, "persons", in.clients[i].persons);
        set_str(&item, "status", in.clients[i].status);
        set_strings(&item, "rules", in.clients[i].rules, in.clients[i].n_rules);
    }
    set_str(&rec, "route", in.route);
    assert_int_equal(avro_value_get_by_name(&rec, "deadlines", &dl, NULL), 0);
    set_day(&dl, "preliminary_target", in.deadlines.preliminary_target);
    set_day(&dl, "preliminary_latest", in.deadlines.preliminary_latest);
    set_day(&dl, "final", in.deadlines.final);
    set_day(&dl, "appi_final", in.deadlines.appi_final);
    set_str(&rec, "verdict_json", in.verdict_json);
    wire_buf buf;
    wire_buf_init(&buf);
    char err[512];
    if (avro_codec_encode(v1, &rec, &buf, err, sizeof err) != 0) fail_msg("%s", err);
    avro_value_decref(&rec);
    assert_int_equal(buf.data[4], 3);

    mni_arena arena;
    arena_init(&arena);
    if (records_case_assessment_decode(testschemas, buf.data, buf.len, &arena, &out, err,
                                       sizeof err) != 0)
        fail_msg("%s", err);
    assert_false(out.abridged);
    assert_int_equal(out.clients_total, 2);
    assert_null(out.full_verdict);
    assert_assessment(&in, &out);
    arena_free(&arena);
    wire_buf_free(&buf);
}

static void test_task_and_ticket_roundtrip(void **state)
{
    (void)state;
    records_notify_task t = sample_task(), t2;
    records_ticket k = sample_ticket(), k2;
    mni_arena arena;
    wire_buf buf;
    char err[512];

    wire_buf_init(&buf);
    arena_init(&arena);
    for (int kind = RECORDS_TASK_CLIENT_NOTICE; kind <= RECORDS_TASK_ESCALATION; kind++) {
        t.kind = (records_task_kind)kind;
        t.client_id = kind % 2 ? NULL : "client-a";
        t.due_at_ms = kind % 3 ? RECORDS_NO_TIME : -1000;
        assert_int_equal(records_notify_task_encode(testschemas, &t, &buf, err, sizeof err), 0);
        assert_int_equal(buf.data[4], 4);
        if (records_notify_task_decode(testschemas, buf.data, buf.len, &arena, &t2, err,
                                       sizeof err) != 0)
            fail_msg("%s", err);
        assert_task(&t, &t2);
    }
    assert_int_equal(records_ticket_encode(testschemas, &k, &buf, err, sizeof err), 0);
    assert_int_equal(buf.data[4], 5);
    assert_int_equal(
        records_ticket_decode(testschemas, buf.data, buf.len, &arena, &k2, err, sizeof err), 0);
    assert_ticket(&k, &k2);
    k.client_id = "client-z";
    k.due_at_ms = 0;
    assert_int_equal(records_ticket_encode(testschemas, &k, &buf, err, sizeof err), 0);
    assert_int_equal(
        records_ticket_decode(testschemas, buf.data, buf.len, &arena, &k2, err, sizeof err), 0);
    assert_ticket(&k, &k2);

    /* A ticket is not a task: refused by id before any Avro work. */
    assert_int_equal(
        records_notify_task_decode(testschemas, buf.data, buf.len, &arena, &t2, err, sizeof err),
        -1);
    assert_string_equal(err, "schema id 5 is jp.mni.Ticket, not the expected jp.mni.NotifyTask");
    assert_null(t2.task_id);

    assert_string_equal(records_task_kind_name(RECORDS_TASK_ESCALATION), "escalation");
    assert_null(records_task_kind_name((records_task_kind)7));
    records_task_kind kk;
    assert_int_equal(records_task_kind_parse("reminder", &kk), 0);
    assert_int_equal(kk, RECORDS_TASK_REMINDER);
    assert_int_equal(records_task_kind_parse("remind", &kk), -1);
    arena_free(&arena);
    wire_buf_free(&buf);
}

static void test_checks(void **state)
{
    (void)state;
    wire_buf buf;
    char err[512];
    const char *const bad_rules[] = {"MN-1", "\xff"};
    records_client bad_clients[] = {clients[0], clients[1]};

    wire_buf_init(&buf);
#define EXPECT_A(mutate, reason)                                                                   \
    do {                                                                                           \
        records_case_assessment a = sample_assessment();                                           \
        mutate;                                                                                    \
        assert_int_equal(records_case_assessment_encode(testschemas, &a, &buf, err, sizeof err),   \
                         -1);                                                                      \
        if (strstr(err, reason) == NULL) fail_msg("\"%s\" does not contain \"%s\"", err, reason);  \
    } while (0)
    EXPECT_A(a.incident_id = NULL, "incident_id: missing");
    EXPECT_A(a.version = 0, "version: 0 is not >= 1");
    EXPECT_A(a.assessed_at_ms = INT64_MAX, "assessed_at: time");
    EXPECT_A(a.regime = NULL, "regime: missing");
    EXPECT_A(a.rules = bad_rules; a.n_rules = 2, "rules[1]: not valid UTF-8 text");
    EXPECT_A(a.n_rules = 1; a.rules = NULL, "rules: 1 rules but no array");
    EXPECT_A(a.headcount_total = -1, "headcount_total: -1 is negative");
    EXPECT_A(bad_clients[1].client_id = "b b";
             a.clients = bad_clients, "clients[1].client_id: byte 1 is not printable ASCII");
    EXPECT_A(bad_clients[1].client_id = "client-b"; bad_clients[1].persons = -2;
             a.clients = bad_clients, "clients[1].persons: -2 is negative");
    EXPECT_A(a.deadlines.final = "2026-02-30", "deadlines.final: \"2026-02-30\" is not a date");
    EXPECT_A(a.deadlines.appi_final = "2026-5-1", "deadlines.appi_final: \"2026-5-1\" is not");
    EXPECT_A(a.verdict_json = NULL, "verdict_json: missing");
    EXPECT_A(a.full_verdict = "elsewhere", "full_verdict: set on a record that is not abridged");
    EXPECT_A(a.clients_total = 5, "clients_total: 5, but the record is not abridged and lists 2");
    EXPECT_A(a.abridged = true; a.clients_total = 1;
             a.full_verdict = "elsewhere", "clients_total: 1 is fewer than the 2 clients listed");
    EXPECT_A(a.abridged = true; a.clients_total = 9, "full_verdict: missing");
#undef EXPECT_A

    records_notify_task t = sample_task();
    t.kind = (records_task_kind)9;
    assert_int_equal(records_notify_task_encode(testschemas, &t, &buf, err, sizeof err), -1);
    assert_string_equal(err, "kind: unknown value 9");
    t = sample_task();
    t.case_version = 0;
    assert_int_equal(records_notify_task_encode(testschemas, &t, &buf, err, sizeof err), -1);
    assert_string_equal(err, "case_version: 0 is not >= 1");
    t = sample_task();
    t.client_id = "";
    assert_int_equal(records_notify_task_encode(testschemas, &t, &buf, err, sizeof err), -1);
    assert_string_equal(err, "client_id: empty");

    records_ticket k = sample_ticket();
    k.summary = NULL;
    assert_int_equal(records_ticket_encode(testschemas, &k, &buf, err, sizeof err), -1);
    assert_string_equal(err, "summary: missing");
    k = sample_ticket();
    k.due_at_ms = MNI_EVENT_TIME_MIN - 1;
    assert_int_equal(records_ticket_encode(testschemas, &k, &buf, err, sizeof err), -1);
    assert_non_null(strstr(err, "due_at: time"));
    wire_buf_free(&buf);
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rng(void)
{
    return testrand_next(&rng_state);
}

typedef int (*decode_fn)(const uint8_t *msg, size_t len, mni_arena *arena, char *err,
                         size_t errlen);

static int dec_assessment(const uint8_t *msg, size_t len, mni_arena *arena, char *err,
                          size_t errlen)
{
    records_case_assessment a;
    wire_buf again;
    int rc = records_case_assessment_decode(testschemas, msg, len, arena, &a, err, errlen);
    if (rc == 0) {
        /* What decodes is a valid record again. */
        wire_buf_init(&again);
        assert_int_equal(records_case_assessment_encode(testschemas, &a, &again, err, errlen), 0);
        wire_buf_free(&again);
    } else {
        assert_null(a.incident_id);
    }
    return rc;
}

static int dec_task(const uint8_t *msg, size_t len, mni_arena *arena, char *err, size_t errlen)
{
    records_notify_task t;
    return records_notify_task_decode(testschemas, msg, len, arena, &t, err, errlen);
}

static int dec_ticket(const uint8_t *msg, size_t len, mni_arena *arena, char *err, size_t errlen)
{
    records_ticket t;
    return records_ticket_decode(testschemas, msg, len, arena, &t, err, errlen);
}

static void test_malformed(void **state)
{
    (void)state;
    wire_buf bufs[3];
    decode_fn decs[3] = {dec_assessment, dec_task, dec_ticket};
    records_case_assessment a = sample_assessment();
    records_notify_task t = sample_task();
    records_ticket k = sample_ticket();
    mni_arena arena;
    char err[512];
    size_t refused = 0;

    for (int i = 0; i < 3; i++)
        wire_buf_init(&bufs[i]);
    assert_int_equal(records_case_assessment_encode(testschemas, &a, &bufs[0], err, sizeof err), 0);
    assert_int_equal(records_notify_task_encode(testschemas, &t, &bufs[1], err, sizeof err), 0);
    assert_int_equal(records_ticket_encode(testschemas, &k, &bufs[2], err, sizeof err), 0);
    arena_init(&arena);

    for (int i = 0; i < 3; i++) {
        for (size_t len = 0; len < bufs[i].len; len++) {
            uint8_t *cut = malloc(len ? len : 1);
            memcpy(cut, bufs[i].data, len);
            err[0] = '\0';
            assert_int_equal(decs[i](cut, len, &arena, err, sizeof err), -1);
            assert_true(err[0] != '\0');
            free(cut);
            arena_reset(&arena);
        }
    }
    for (int m = 0; m < 1000; m++) {
        int i = (int)(rng() % 3);
        size_t len = bufs[i].len;
        uint8_t *copy = malloc(len);
        memcpy(copy, bufs[i].data, len);
        for (int e = 0; e < 1 + (int)(rng() % 3); e++) {
            size_t at = WIRE_HEADER_SIZE + rng() % (len - WIRE_HEADER_SIZE);
            copy[at] = (rng() & 1) ? (uint8_t)rng() : copy[at] ^ (uint8_t)(1u << (rng() % 8));
        }
        err[0] = '\0';
        if (decs[i](copy, len, &arena, err, sizeof err) != 0) {
            assert_true(err[0] != '\0');
            refused++;
        }
        free(copy);
        arena_reset(&arena);
    }
    print_message("1000 mutations: %zu refused\n", refused);
    assert_true(refused > 500);

    /* Wrong magic, unknown id. */
    bufs[1].data[0] = 1;
    assert_int_equal(dec_task(bufs[1].data, bufs[1].len, &arena, err, sizeof err), -1);
    assert_string_equal(err, "wrong magic byte 0x01 (expected 0x00)");
    bufs[1].data[0] = 0;
    bufs[1].data[4] = 42;
    assert_int_equal(dec_task(bufs[1].data, bufs[1].len, &arena, err, sizeof err), -1);
    assert_string_equal(err, "unknown schema id 42");

    arena_free(&arena);
    for (int i = 0; i < 3; i++)
        wire_buf_free(&bufs[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assessment_roundtrip),
        cmocka_unit_test(test_abridged_roundtrip),
        cmocka_unit_test(test_id3_record_read_by_current),
        cmocka_unit_test(test_task_and_ticket_roundtrip),
        cmocka_unit_test(test_checks),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests_name("records", tests, testschemas_setup, testschemas_teardown);
}
