/*
 * verdict_json_write and assessment_record_make against the tree they replace: for
 * verdicts of 0 to 3,000 clients with every field varied from a fixed seed (ids with quotes,
 * backslashes, control characters and Japanese text; absent and present deadlines, notices,
 * possible items), the streamed text equals json_dumps(verdict_json_build(...), JSON_COMPACT)
 * byte for byte, and the CaseAssessment record made from the verdict equals the one made from
 * the parsed text (a record that fits is never abridged). A write that fails half way (the
 * sink refuses) reports it. The abridged form: tests/unit/test_assessment_record.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/buf.h"
#include "lib/model/assessment_record.h"
#include "lib/model/verdict_json.h"
#include "lib/runtime/outbox.h"
#include "tests/support/testrand.h"
#include "tests/support/testschemas.h"

static uint64_t seed = 0x9e3779b97f4a7c15ULL;

static unsigned next(unsigned n)
{
    return testrand_below(&seed, n);
}

static const char *const ids[] = {"MN-2-1", "MN-2-4", "MN15-P", "APPI-7-1", "APPI-43-2"};

static void act(rules_act_verdict *a)
{
    a->status = (rules_status)next(3);
    a->n_fired = next(4);
    for (size_t i = 0; i < a->n_fired; i++)
        a->fired[i] = ids[next(5)];
    a->possible = next(16);
}

static int32_t day_or_absent(void)
{
    return next(3) == 0 ? RULES_ABSENT : (int32_t)(20000 + next(400));
}

static void deadlines(rules_deadlines *d)
{
    *d = (rules_deadlines){day_or_absent(), day_or_absent(),
                           day_or_absent(), next(2) ? 30 : RULES_ABSENT,
                           day_or_absent(), day_or_absent()};
}

typedef struct {
    rules_facts f;
    rules_verdict v;
    rules_client_verdict *clients;
    rules_client *data_sets;
    char (*names)[RULES_ID_MAX];
} sample;

/* A verdict of n clients (with n == 0, an own-role one whose data sets have counts). */
static void make(sample *s, size_t n)
{
    static const char *const odd[] = {"quote\"d",  "back\\slash", "tab\there",
                                      "顧客-東京", "bell\a",      "plain"};
    memset(s, 0, sizeof *s);
    size_t slots = n ? n : 3;
    s->clients = calloc(slots, sizeof *s->clients);
    s->data_sets = calloc(slots, sizeof *s->data_sets);
    s->names = calloc(slots, sizeof *s->names);
    assert_non_null(s->clients);
    assert_non_null(s->data_sets);
    assert_non_null(s->names);
    snprintf(s->f.incident_id, sizeof s->f.incident_id, "INC-\"%zu\"", n);
    for (size_t i = 0; i < slots; i++) {
        snprintf(s->names[i], sizeof s->names[i], "C-%05zu-%s", i, odd[i % 6]);
        rules_client_verdict *c = &s->clients[i];
        c->client_id = s->names[i];
        c->headcount = next(100000);
        c->headcount_known = next(100000);
        c->appi_persons = next(1000);
        c->public_body = next(2);
        act(&c->my_number);
        act(&c->appi);
        c->involved = next(2);
        c->notice_due = next(2) ? RULES_ABSENT : 1777600000 + (int64_t)next(100000);
        c->known_day = 20000 + (int32_t)next(400);
        deadlines(&c->deadlines);
        snprintf(s->data_sets[i].client_id, RULES_ID_MAX, "%s", s->names[i]);
        s->data_sets[i].persons = next(500);
        s->data_sets[i].persons_max = next(2) ? RULES_ABSENT : 600;
    }
    s->f.clients = s->data_sets;
    s->f.n_clients = slots;
    rules_verdict *v = &s->v;
    v->regime = (rules_regime)next(2);
    v->known_day = 20000 + (int32_t)next(400);
    act(&v->my_number);
    act(&v->appi);
    v->headcount_total = next(1000000);
    v->headcount_known = next(1000000);
    v->appi_persons = next(1000);
    rules_deadlines top;
    deadlines(&top);
    v->preliminary_target = top.preliminary_target;
    v->preliminary_latest = top.preliminary_latest;
    v->final_due = top.final_due;
    v->final_days = top.final_days;
    v->appi_final_due = top.appi_final_due;
    v->appi_final_days = top.appi_final_days;
    v->route = (rules_route)next(4);
    v->appi_route = (rules_route)next(4);
    v->direct.n = next(3);
    for (size_t i = 0; i < v->direct.n; i++)
        v->direct.ids[i] = ids[next(5)];
    v->principal_notice = next(2);
    v->principal_notice_by_self = next(2);
    v->clients = s->clients;
    v->n_clients = n;
}

static void release(sample *s)
{
    free(s->clients);
    free(s->data_sets);
    free(s->names);
}

static int append(const char *text, size_t n, void *b)
{
    return buf_putn(b, text, n);
}

static void same_text_and_record(size_t n)
{
    sample s;
    make(&s, n);
    json_t *doc = verdict_json_build(&s.f, &s.v);
    char *want = json_dumps(doc, JSON_COMPACT);
    assert_non_null(want);
    buf got;
    buf_init(&got, BUF_NO_LIMIT);
    assert_int_equal(verdict_json_write(&s.f, &s.v, append, &got), 0);
    assert_false(got.failed);
    assert_string_equal(got.data, want);

    wire_buf a, b;
    wire_buf_init(&a);
    wire_buf_init(&b);
    char err[256];
    int ra = outbox_assessment_record(testschemas, s.f.incident_id, 7, 1777600000123LL, doc, &a,
                                      err, sizeof err);
    assessment_record_info info;
    int rb = assessment_record_make(testschemas, s.f.incident_id, 7, 1777600000123LL, &s.f, &s.v,
                                    &b, &info, err, sizeof err);
    assert_int_equal(ra, rb); /* both refuse the ids that are not printable ASCII (n >= 3) */
    if (ra == 0) {
        assert_false(info.abridged);
        assert_int_equal(info.clients_listed, n);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
    }
    wire_buf_free(&a);
    wire_buf_free(&b);
    buf_free(&got);
    free(want);
    json_decref(doc);
    release(&s);
}

static void test_same_text_small(void **state)
{
    (void)state;
    for (size_t n = 0; n <= 40; n++)
        same_text_and_record(n);
}

static void test_same_text_large(void **state)
{
    (void)state;
    same_text_and_record(1000);
    same_text_and_record(3000); /* past the 1 MiB message too */
}

static int refuse_after(const char *text, size_t n, void *left)
{
    (void)text;
    size_t *budget = left;
    if (n > *budget) return -1;
    *budget -= n;
    return 0;
}

static void test_failing_sink(void **state)
{
    (void)state;
    sample s;
    make(&s, 50);
    for (size_t budget = 0; budget < 4000; budget += 97) {
        size_t left = budget;
        assert_int_equal(verdict_json_write(&s.f, &s.v, refuse_after, &left), -1);
    }
    release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_text_small),
        cmocka_unit_test(test_same_text_large),
        cmocka_unit_test(test_failing_sink),
    };
    return cmocka_run_group_tests(tests, testschemas_setup, testschemas_teardown);
}
