/*
 * assessment_record: the CaseAssessment record of a verdict of any size fits one message.
 *
 * Verdicts are made client by client from each client's index (so the first n clients of a
 * larger verdict are those of a smaller one) with statuses that vary, and:
 *   - 0 clients: the whole form;
 *   - the boundary: the most clients whose whole record fits (found by bisection) give the
 *     whole form, within a few hundred bytes of the limit; one client more gives an abridged
 *     record under the limit, with every headline field exact;
 *   - 200,000 clients: abridged, under the limit, listing the clients the stated order chooses
 *     (every listed one at least as severe as every unlisted one, ties by client id), in the
 *     verdict's order, with verdict_json cut to the same clients and saying so; the same clients
 *     whatever the order of the verdict's clients;
 *   - a bad client id is refused, never passed off as an abridged record;
 *   - an own-role report (no client verdicts) whose data sets' counts alone exceed the limit:
 *     abridged by leaving the counts out (verdict_json_write_listed), headline exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/base/buf.h"
#include "lib/model/assessment_record.h"
#include "lib/model/records.h"
#include "lib/model/verdict_json.h"
#include "tests/support/testschemas.h"

static const char *const ids[] = {"MN-2-1", "MN-2-4", "MN15-P", "APPI-7-1", "APPI-43-2"};

/* A value from a client's index and a salt (splitmix64), so client i is the same in every
 * verdict. */
static unsigned pick(size_t i, unsigned salt, unsigned n)
{
    uint64_t z = (uint64_t)i * 0x9e3779b97f4a7c15ULL + salt;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (unsigned)((z ^ (z >> 31)) % n);
}

typedef struct {
    rules_facts f;
    rules_verdict v;
    rules_client_verdict *clients;
    char (*names)[RULES_ID_MAX];
} sample;

static void act(rules_act_verdict *a, size_t i, unsigned salt)
{
    a->status = (rules_status)pick(i, salt, 3);
    a->n_fired = a->status == RULES_STATUS_NONE ? 0 : 1 + pick(i, salt + 1, 3);
    for (size_t k = 0; k < a->n_fired; k++)
        a->fired[k] = ids[pick(i, salt + 2 + (unsigned)k, 5)];
}

static void make(sample *s, size_t n)
{
    memset(s, 0, sizeof *s);
    s->clients = calloc(n + 1, sizeof *s->clients);
    s->names = calloc(n + 1, sizeof *s->names);
    assert_non_null(s->clients);
    assert_non_null(s->names);
    snprintf(s->f.incident_id, sizeof s->f.incident_id, "INC-BIG-%zu", n);
    for (size_t i = 0; i < n; i++) {
        snprintf(s->names[i], sizeof s->names[i], "client-%07zu", i);
        rules_client_verdict *c = &s->clients[i];
        c->client_id = s->names[i];
        c->headcount = pick(i, 1, 5000);
        c->headcount_known = c->headcount / 2;
        c->appi_persons = pick(i, 2, 1000);
        act(&c->my_number, i, 10);
        act(&c->appi, i, 20);
        c->involved = true;
        c->notice_due = pick(i, 3, 2) ? RULES_ABSENT : 1777600000 + (int64_t)pick(i, 4, 100000);
        c->known_day = 20000 + (int32_t)pick(i, 5, 400);
        c->deadlines = (rules_deadlines){20410, 20412, 20440, 30, RULES_ABSENT, RULES_ABSENT};
    }
    rules_verdict *v = &s->v;
    v->regime = RULES_REGIME_2022;
    v->known_day = 20400;
    v->my_number = (rules_act_verdict){
        .status = RULES_STATUS_MANDATORY, .n_fired = 2, .fired = {"MN-2-1", "MN-2-4"}};
    v->appi = (rules_act_verdict){.status = RULES_STATUS_VOLUNTARY};
    v->headcount_total = 123456789;
    v->headcount_known = 100000000;
    v->preliminary_target = 20403;
    v->preliminary_latest = 20405;
    v->final_due = 20430;
    v->final_days = 30;
    v->appi_final_due = RULES_ABSENT;
    v->appi_final_days = RULES_ABSENT;
    v->route = RULES_ROUTE_DIRECT_REPORT;
    v->appi_route = RULES_ROUTE_NONE;
    v->clients = s->clients;
    v->n_clients = n;
}

static void release(sample *s)
{
    free(s->clients);
    free(s->names);
}

static int append(const char *text, size_t n, void *b)
{
    return buf_putn(b, text, n);
}

/* The record of s decoded into a (in arena), with what assessment_record_make said. */
static void make_and_decode(const sample *s, wire_buf *out, assessment_record_info *info,
                            mni_arena *arena, records_case_assessment *a)
{
    char err[512];
    if (assessment_record_make(testschemas, s->f.incident_id, 7, 1777600000123LL, &s->f, &s->v, out,
                               info, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_true(out->len <= WIRE_MAX_MESSAGE);
    if (records_case_assessment_decode(testschemas, out->data, out->len, arena, a, err,
                                       sizeof err) != 0)
        fail_msg("%s", err);
}

/* The headline fields are those of the whole verdict, abridged or not. */
static void assert_headline(const sample *s, const records_case_assessment *a)
{
    assert_string_equal(a->incident_id, s->f.incident_id);
    assert_int_equal(a->version, 7);
    assert_string_equal(a->regime, "2022");
    assert_string_equal(a->my_number_status, "mandatory");
    assert_string_equal(a->appi_status, "voluntary");
    assert_int_equal(a->n_rules, 2);
    assert_string_equal(a->rules[1], "MN-2-4");
    assert_int_equal(a->headcount_total, 123456789);
    assert_string_equal(a->route, "direct_report");
    char final[11];
    jpcal_format(s->v.final_due, final);
    assert_string_equal(a->deadlines.final, final);
    assert_null(a->deadlines.appi_final);
    assert_int_equal(a->clients_total, (int64_t)s->v.n_clients);
}

static void test_no_clients(void **state)
{
    (void)state;
    sample s;
    make(&s, 0);
    wire_buf out;
    wire_buf_init(&out);
    mni_arena arena;
    arena_init(&arena);
    assessment_record_info info;
    records_case_assessment a;
    make_and_decode(&s, &out, &info, &arena, &a);
    assert_false(info.abridged);
    assert_false(a.abridged);
    assert_int_equal(a.n_clients, 0);
    assert_null(a.full_verdict);
    assert_headline(&s, &a);
    arena_free(&arena);
    wire_buf_free(&out);
    release(&s);
}

/* Whether the whole record of the first n clients fits. */
static bool whole_fits(size_t n)
{
    sample s;
    make(&s, n);
    wire_buf out;
    wire_buf_init(&out);
    char err[512];
    int rc = assessment_record_listed(testschemas, s.f.incident_id, 7, 1777600000123LL, &s.f, &s.v,
                                      NULL, &out, err, sizeof err);
    wire_buf_free(&out);
    release(&s);
    return rc == 0;
}

static void test_boundary(void **state)
{
    (void)state;
    size_t lo = 1, hi = 8000; /* fits, does not */
    assert_true(whole_fits(lo));
    assert_false(whole_fits(hi));
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        *(whole_fits(mid) ? &lo : &hi) = mid;
    }
    mni_arena arena;
    arena_init(&arena);
    wire_buf out;
    wire_buf_init(&out);
    assessment_record_info info;
    records_case_assessment a;

    /* Just under the limit: the whole form, every client, the whole verdict text. */
    sample s;
    make(&s, lo);
    make_and_decode(&s, &out, &info, &arena, &a);
    assert_true(out.len > WIRE_MAX_MESSAGE - 1024);
    assert_false(info.abridged);
    assert_false(a.abridged);
    assert_null(a.full_verdict);
    assert_int_equal(a.n_clients, lo);
    assert_headline(&s, &a);
    buf text;
    buf_init(&text, BUF_NO_LIMIT);
    assert_int_equal(verdict_json_write(&s.f, &s.v, append, &text), 0);
    assert_string_equal(a.verdict_json, text.data);
    buf_free(&text);
    release(&s);
    arena_reset(&arena);

    /* Just over: abridged, under the limit, most clients still listed. */
    make(&s, lo + 1);
    make_and_decode(&s, &out, &info, &arena, &a);
    assert_true(info.abridged);
    assert_true(a.abridged);
    assert_int_equal(info.clients_total, lo + 1);
    assert_int_equal(info.clients_listed, a.n_clients);
    assert_true(a.n_clients < lo + 1);
    assert_true(a.n_clients > lo * 9 / 10);
    assert_non_null(a.full_verdict);
    assert_non_null(strstr(a.full_verdict, "case_verdict('INC-BIG-"));
    assert_headline(&s, &a);
    release(&s);
    arena_free(&arena);
    wire_buf_free(&out);
}

static int severity(const char *status)
{
    return !strcmp(status, "mandatory") ? 2 : !strcmp(status, "voluntary") ? 1 : 0;
}

/* What the stated order puts first: a the more severe (My Number Act, then APPI), then the
 * smaller id. */
static bool before(const rules_client_verdict *x, const rules_client_verdict *y)
{
    int dx = severity(rules_status_name(x->my_number.status)),
        dy = severity(rules_status_name(y->my_number.status));
    if (dx != dy) return dx > dy;
    dx = severity(rules_status_name(x->appi.status));
    dy = severity(rules_status_name(y->appi.status));
    if (dx != dy) return dx > dy;
    return strcmp(x->client_id, y->client_id) < 0;
}

static size_t index_of(const char *client_id)
{
    return (size_t)strtoul(client_id + strlen("client-"), NULL, 10);
}

static void test_200000_clients(void **state)
{
    (void)state;
    const size_t n = 200000;
    sample s;
    make(&s, n);
    mni_arena arena;
    arena_init(&arena);
    wire_buf out;
    wire_buf_init(&out);
    assessment_record_info info;
    records_case_assessment a;
    make_and_decode(&s, &out, &info, &arena, &a);
    assert_true(a.abridged);
    assert_true(out.len > WIRE_MAX_MESSAGE - 4096); /* the budget is used */
    assert_headline(&s, &a);
    assert_true(a.n_clients > 1000);

    /* Listed in the verdict's order; each listed one before each unlisted one. */
    bool *listed = calloc(n, sizeof *listed);
    assert_non_null(listed);
    const rules_client_verdict *last_listed = NULL;
    for (size_t k = 0; k < a.n_clients; k++) {
        size_t i = index_of(a.clients[k].client_id);
        assert_true(i < n);
        if (k > 0) assert_true(i > index_of(a.clients[k - 1].client_id));
        listed[i] = true;
        const rules_client_verdict *c = &s.clients[i];
        assert_int_equal(a.clients[k].persons, c->headcount);
        assert_string_equal(a.clients[k].status, rules_status_name(c->my_number.status));
        if (!last_listed || before(last_listed, c)) last_listed = c;
    }
    for (size_t i = 0; i < n; i++)
        if (!listed[i]) assert_true(before(last_listed, &s.clients[i]));

    /* verdict_json: the same clients, the exact total, and the note. */
    json_error_t jerr;
    json_t *doc = json_loads(a.verdict_json, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "clients")), a.n_clients);
    json_t *hc = json_object_get(doc, "headcount");
    assert_int_equal(json_integer_value(json_object_get(hc, "total")), 123456789);
    assert_int_equal(json_object_size(json_object_get(hc, "clients")), a.n_clients);
    assert_int_equal(json_object_size(json_object_get(hc, "clients_known")), a.n_clients);
    for (size_t k = 0; k < a.n_clients; k++)
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(doc, "clients"), k), "client_id")),
                            a.clients[k].client_id);
    json_t *note = json_object_get(doc, "abridged");
    assert_int_equal(json_integer_value(json_object_get(note, "clients_total")), n);
    assert_int_equal(json_integer_value(json_object_get(note, "clients_listed")), a.n_clients);
    assert_string_equal(json_string_value(json_object_get(note, "order")), ASSESSMENT_RECORD_ORDER);
    assert_string_equal(json_string_value(json_object_get(note, "full_verdict")), a.full_verdict);
    json_decref(doc);

    /* The same clients whatever order the verdict holds them in. */
    size_t first_n = a.n_clients;
    for (size_t i = 0; i < n / 2; i++) {
        rules_client_verdict t = s.clients[i];
        s.clients[i] = s.clients[n - 1 - i];
        s.clients[n - 1 - i] = t;
    }
    arena_reset(&arena);
    make_and_decode(&s, &out, &info, &arena, &a);
    assert_int_equal(a.n_clients, first_n);
    for (size_t k = 0; k < a.n_clients; k++)
        assert_true(listed[index_of(a.clients[k].client_id)]);

    free(listed);
    arena_free(&arena);
    wire_buf_free(&out);
    release(&s);
}

static void test_bad_client_refused(void **state)
{
    (void)state;
    sample s;
    make(&s, 5000);
    snprintf(s.names[4321], sizeof s.names[4321], "bad\tid");
    wire_buf out;
    wire_buf_init(&out);
    char err[512] = "";
    assert_int_equal(assessment_record_make(testschemas, s.f.incident_id, 7, 1777600000123LL, &s.f,
                                            &s.v, &out, NULL, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "clients[4321].client_id"));
    wire_buf_free(&out);
    release(&s);
}

/* An own-role report has no client verdicts; its data sets only add their counts to
 * headcount.clients and .clients_known. 20,000 data sets with long ids: the counts alone are
 * larger than a message, so the record leaves them out and says so. */
static void test_own_report_counts_dropped(void **state)
{
    (void)state;
    const size_t n = 20000;
    sample s;
    make(&s, 0);
    rules_client *sets = calloc(n, sizeof *sets);
    assert_non_null(sets);
    for (size_t i = 0; i < n; i++) {
        snprintf(sets[i].client_id, sizeof sets[i].client_id,
                 "data-set-%07zu-payroll-and-withholding-records", i);
        sets[i].persons = (int64_t)pick(i, 1, 5000);
        sets[i].persons_max = i % 2 ? RULES_ABSENT : sets[i].persons + 7;
    }
    s.f.role = RULES_ROLE_OWN;
    s.f.clients = sets;
    s.f.n_clients = n;
    buf text;
    buf_init(&text, BUF_NO_LIMIT);
    assert_int_equal(verdict_json_write(&s.f, &s.v, append, &text), 0);
    assert_true(text.len > WIRE_MAX_MESSAGE); /* the whole verdict cannot be sent */
    buf_free(&text);

    mni_arena arena;
    arena_init(&arena);
    wire_buf out;
    wire_buf_init(&out);
    assessment_record_info info;
    records_case_assessment a;
    make_and_decode(&s, &out, &info, &arena, &a);
    assert_true(info.abridged);
    assert_int_equal(info.clients_total, 0);
    assert_int_equal(info.clients_listed, 0);
    assert_true(a.abridged);
    assert_int_equal(a.n_clients, 0);
    assert_headline(&s, &a);
    assert_non_null(a.full_verdict);
    assert_non_null(strstr(a.full_verdict, "case_verdict('INC-BIG-0', 7)"));

    json_error_t jerr;
    json_t *doc = json_loads(a.verdict_json, 0, &jerr);
    assert_non_null(doc);
    json_t *hc = json_object_get(doc, "headcount");
    assert_int_equal(json_integer_value(json_object_get(hc, "total")), 123456789);
    assert_int_equal(json_integer_value(json_object_get(hc, "known")), 100000000);
    assert_int_equal(json_object_size(json_object_get(hc, "clients")), 0);
    assert_int_equal(json_object_size(json_object_get(hc, "clients_known")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "clients")), 0);
    json_t *note = json_object_get(doc, "abridged");
    assert_int_equal(json_integer_value(json_object_get(note, "clients_total")), 0);
    assert_int_equal(json_integer_value(json_object_get(note, "clients_listed")), 0);
    assert_string_equal(json_string_value(json_object_get(note, "full_verdict")), a.full_verdict);
    json_decref(doc);

    arena_free(&arena);
    wire_buf_free(&out);
    free(sets);
    release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_clients),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_200000_clients),
        cmocka_unit_test(test_bad_client_refused),
        cmocka_unit_test(test_own_report_counts_dropped),
    };
    return cmocka_run_group_tests_name("assessment_record", tests, testschemas_setup,
                                       testschemas_teardown);
}
