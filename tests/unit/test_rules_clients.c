/*
 * The rule core's checks over an incident's clients, called directly (no JSON): a repeated
 * client id is refused naming the client that repeats it and the first one with that id,
 * wherever the two stand (first and last, neighbours, runs of three, several repeated ids), in
 * the same order of errors as a scan in facts order; the sorted duplicate check leaves the
 * client verdicts in facts order. Rows are data; a seeded random table is also checked against
 * the plain quadratic scan that the sort replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/rules.h"

/* A contractor's leak, known on 2026-06-10 10:00 JST, with n clients of 10 persons each. */
static rules_facts facts_with(rules_client *clients, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        clients[i].persons = 10;
        clients[i].persons_max = RULES_ABSENT;
        clients[i].contract_notice_hours = RULES_ABSENT;
    }
    rules_facts f = {
        .incident_id = "INC-T",
        .known_at = 1781053200, /* 2026-06-10T10:00:00+09:00 */
        .role = RULES_ROLE_CONTRACTOR,
        .kinds = RULES_KIND_LEAK,
        .certainty = RULES_CERTAINTY_CONFIRMED,
        .clients = clients,
        .n_clients = n,
        .distinct_persons = RULES_ABSENT,
        .appi = {.persons = RULES_ABSENT},
    };
    return f;
}

/* Runs the core; returns the error text, or "" when it accepted the facts. */
static const char *assess(const rules_facts *f, rules_client_verdict *out, char *err, size_t errlen)
{
    rules_verdict v;
    err[0] = '\0';
    if (rules_assess(f, NULL, &v, out, err, errlen) == 0) return "";
    return err;
}

/* Ids written as one letter per client ("abcda": clients 0 and 4 share "a"). */
static const struct {
    const char *ids;
    const char *error; /* "" = accepted */
} rows[] = {
    {"a", ""},
    {"ab", ""},
    {"abcdefgh", ""},
    {"aa", "clients[1].client_id: duplicate of clients[0]"},
    {"abcdefga", "clients[7].client_id: duplicate of clients[0]"}, /* first and last */
    {"abcdefgg", "clients[7].client_id: duplicate of clients[6]"}, /* the last two */
    {"abcdbefg", "clients[4].client_id: duplicate of clients[1]"},
    {"abacadaa", "clients[2].client_id: duplicate of clients[0]"}, /* a run of five */
    {"xyzyqxqz", "clients[3].client_id: duplicate of clients[1]"}, /* four ids repeated */
    {"qrstuvts", "clients[6].client_id: duplicate of clients[3]"}, /* the later-sorted id first */
    {"hgfedcbah", "clients[8].client_id: duplicate of clients[0]"},
};

static void test_duplicate_rows(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        size_t n = strlen(rows[r].ids);
        rules_client clients[16] = {0};
        rules_client_verdict out[16];
        for (size_t i = 0; i < n; i++)
            snprintf(clients[i].client_id, sizeof clients[i].client_id, "C-%c", rows[r].ids[i]);
        rules_facts f = facts_with(clients, n);
        char err[256];
        const char *got = assess(&f, out, err, sizeof err);
        if (strcmp(got, rows[r].error) != 0)
            fail_msg("ids \"%s\": got \"%s\", want \"%s\"", rows[r].ids, got, rows[r].error);
    }
}

/* Errors come in facts order: a client's own error before a later repetition, a repetition
 * before a later client's own error. */
static void test_errors_in_facts_order(void **state)
{
    (void)state;
    rules_client clients[6] = {0};
    rules_client_verdict out[6];
    char err[256];
    for (size_t i = 0; i < 6; i++)
        snprintf(clients[i].client_id, sizeof clients[i].client_id, "C-%zu", i);
    rules_facts f = facts_with(clients, 6);
    strcpy(clients[4].client_id, "C-1");
    clients[5].persons = -1;
    assert_string_equal(assess(&f, out, err, sizeof err),
                        "clients[4].client_id: duplicate of clients[1]");
    clients[5].persons = 10;
    clients[2].persons_max = 3; /* below persons */
    assert_string_equal(assess(&f, out, err, sizeof err),
                        "clients[2].persons_max: must be >= persons (3 < 10)");
}

/* The sort works in the verdict array; the verdicts that come back are in facts order. */
static void test_verdicts_keep_facts_order(void **state)
{
    (void)state;
    enum { N = 50 };
    rules_client clients[N] = {0};
    rules_client_verdict out[N];
    for (size_t i = 0; i < N; i++) /* descending ids: the sort moves every slot */
        snprintf(clients[i].client_id, sizeof clients[i].client_id, "C-%03zu", N - i);
    rules_facts f = facts_with(clients, N);
    clients[7].persons = 0;
    char err[256];
    rules_verdict v;
    assert_int_equal(rules_assess(&f, NULL, &v, out, err, sizeof err), 0);
    assert_int_equal(v.n_clients, N);
    for (size_t i = 0; i < N; i++) {
        assert_ptr_equal(v.clients[i].client_id, clients[i].client_id);
        assert_int_equal(v.clients[i].headcount, i == 7 ? 0 : 10);
        assert_int_equal(v.clients[i].involved, i != 7);
    }
}

/* The plain scan the sort replaced: the reference answer. */
static int naive_duplicate(const rules_client *c, size_t n, size_t *dup, size_t *first)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(c[i].client_id, c[j].client_id)) {
                *dup = i;
                *first = j;
                return 1;
            }
    return 0;
}

static void test_random_tables_match_the_plain_scan(void **state)
{
    (void)state;
    unsigned seed = 20260610;
    for (int round = 0; round < 2000; round++) {
        rules_client clients[40] = {0};
        rules_client_verdict out[40];
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 40;
        size_t alphabet = 1 + (seed >> 8) % 60; /* few letters: many repeats; many: few */
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            snprintf(clients[i].client_id, sizeof clients[i].client_id, "K%zu",
                     (size_t)(seed >> 16) % alphabet);
        }
        rules_facts f = facts_with(clients, n);
        char want[256] = "", err[256];
        size_t dup, first;
        if (naive_duplicate(clients, n, &dup, &first))
            snprintf(want, sizeof want, "clients[%zu].client_id: duplicate of clients[%zu]", dup,
                     first);
        const char *got = assess(&f, out, err, sizeof err);
        if (strcmp(got, want) != 0)
            fail_msg("round %d (%zu clients): got \"%s\", want \"%s\"", round, n, got, want);
    }
}

/* A large incident: the first and the last of 20,000 clients share an id. */
static void test_first_and_last_of_many(void **state)
{
    (void)state;
    enum { N = 20000 };
    rules_client *clients = calloc(N, sizeof *clients);
    rules_client_verdict *out = calloc(N, sizeof *out);
    assert_non_null(clients);
    assert_non_null(out);
    for (size_t i = 0; i < N; i++)
        snprintf(clients[i].client_id, sizeof clients[i].client_id, "CLIENT-%06zu", i * 7919 % N);
    rules_facts f = facts_with(clients, N);
    char err[256];
    assert_string_equal(assess(&f, out, err, sizeof err), "");
    strcpy(clients[N - 1].client_id, clients[0].client_id);
    assert_string_equal(assess(&f, out, err, sizeof err),
                        "clients[19999].client_id: duplicate of clients[0]");
    free(clients);
    free(out);
}

/* Each client's final reports are due from its own knowledge day: twelve clients with
 * different days (more than the core's memo of due days holds) around Golden Week and the year
 * end, a 60-day My Number clock (MN-2-2: improper purpose, by the business itself) and a
 * 30-day APPI one (APPI-7-1 without APPI-7-3), each against the calendar directly. */
static void test_client_final_days_from_their_own_days(void **state)
{
    (void)state;
    static const char *const days[] = {"2026-03-05", "2026-03-06", "2026-03-07", "2026-04-04",
                                       "2026-04-05", "2026-11-01", "2026-11-02", "2026-11-03",
                                       "2026-03-05", "2026-04-04", "2026-11-29", "2026-11-30"};
    enum { N = sizeof days / sizeof days[0] };
    rules_client clients[N] = {0};
    rules_client_verdict out[N];
    for (size_t i = 0; i < N; i++)
        snprintf(clients[i].client_id, sizeof clients[i].client_id, "C-%zu", i);
    rules_facts f = facts_with(clients, N);
    f.known_at = 1772668800; /* 2026-03-05T09:00:00+09:00, on or before every client's day */
    f.improper_purpose = RULES_LEVEL_POSSIBLE;
    f.actor = RULES_ACTOR_BUSINESS;
    f.appi.sensitive = true;
    for (size_t i = 0; i < N; i++) {
        jpcal_day d;
        assert_true(jpcal_parse(days[i], &d));
        clients[i].known_at_given = true;
        clients[i].known_at = (int64_t)d * 86400 + 3600; /* 10:00 in Japan */
    }
    char err[256];
    rules_verdict v;
    assert_int_equal(rules_assess(&f, NULL, &v, out, err, sizeof err), 0);
    assert_int_equal(v.final_days, 60);
    assert_int_equal(v.final_due, jpcal_next_open(v.known_day + 59));
    assert_int_equal(v.appi_final_days, 30);
    assert_int_equal(v.appi_final_due, jpcal_next_open(v.known_day + 29));
    for (size_t i = 0; i < N; i++) {
        const rules_client_verdict *c = &v.clients[i];
        jpcal_day d;
        assert_true(jpcal_parse(days[i], &d));
        assert_int_equal(c->known_day, d);
        assert_int_equal(c->deadlines.final_days, 60);
        assert_int_equal(c->deadlines.appi_final_days, 30);
        if (c->deadlines.final_due != jpcal_next_open(d + 59) ||
            c->deadlines.appi_final_due != jpcal_next_open(d + 29))
            fail_msg("client %zu (known %s): final due %d and %d, want %d and %d", i, days[i],
                     c->deadlines.final_due, c->deadlines.appi_final_due, jpcal_next_open(d + 59),
                     jpcal_next_open(d + 29));
    }
}

/* Every field of two verdicts, the fired ids and the list slots past their counts included. */
static void act_equal(const rules_act_verdict *a, const rules_act_verdict *b, const char *what)
{
    if (a->status != b->status || a->n_fired != b->n_fired || a->possible != b->possible)
        fail_msg("%s: status, count or possible items differ", what);
    for (size_t i = 0; i < RULES_MAX_FIRED; i++)
        if (a->fired[i] != b->fired[i] &&
            (i >= a->n_fired || !a->fired[i] || !b->fired[i] || strcmp(a->fired[i], b->fired[i])))
            fail_msg("%s: fired[%zu] differs", what, i);
}

static void ids_equal_lists(const rules_id_list *a, const rules_id_list *b, const char *what)
{
    if (a->n != b->n) fail_msg("%s: counts differ", what);
    for (size_t i = 0; i < RULES_MAX_FIRED; i++)
        if (a->ids[i] != b->ids[i]) fail_msg("%s: ids[%zu] differs", what, i);
}

static void verdicts_equal(const rules_verdict *a, const rules_verdict *b)
{
    assert_int_equal(a->regime, b->regime);
    assert_int_equal(a->known_day, b->known_day);
    act_equal(&a->my_number, &b->my_number, "my_number");
    act_equal(&a->appi, &b->appi, "appi");
    assert_int_equal(a->headcount_total, b->headcount_total);
    assert_int_equal(a->headcount_known, b->headcount_known);
    assert_int_equal(a->appi_persons, b->appi_persons);
    assert_int_equal(a->preliminary_target, b->preliminary_target);
    assert_int_equal(a->preliminary_latest, b->preliminary_latest);
    assert_int_equal(a->final_due, b->final_due);
    assert_int_equal(a->final_days, b->final_days);
    assert_int_equal(a->appi_final_due, b->appi_final_due);
    assert_int_equal(a->appi_final_days, b->appi_final_days);
    assert_int_equal(a->route, b->route);
    assert_int_equal(a->appi_route, b->appi_route);
    ids_equal_lists(&a->direct, &b->direct, "direct");
    ids_equal_lists(&a->appi_direct, &b->appi_direct, "appi_direct");
    assert_int_equal(a->principal_notice, b->principal_notice);
    assert_int_equal(a->principal_notice_by_self, b->principal_notice_by_self);
    assert_int_equal(a->n_clients, b->n_clients);
    assert_true((a->clients == NULL) == (b->clients == NULL));
    for (size_t i = 0; i < a->n_clients; i++) {
        const rules_client_verdict *x = &a->clients[i], *y = &b->clients[i];
        assert_ptr_equal(x->client_id, y->client_id);
        assert_int_equal(x->headcount, y->headcount);
        assert_int_equal(x->headcount_known, y->headcount_known);
        assert_int_equal(x->appi_persons, y->appi_persons);
        assert_int_equal(x->public_body, y->public_body);
        act_equal(&x->my_number, &y->my_number, "client my_number");
        act_equal(&x->appi, &y->appi, "client appi");
        assert_int_equal(x->involved, y->involved);
        assert_int_equal(x->notice_due, y->notice_due);
        assert_int_equal(x->known_day, y->known_day);
        assert_memory_equal(&x->deadlines, &y->deadlines, sizeof x->deadlines);
    }
}

/* The core sets every field of the verdicts it writes (it no longer zeroes them whole first):
 * verdicts written over zeroed memory and over garbage are the same, for both regimes, an own
 * incident, a client that is not involved, APPI items, and a refused assessment. */
static void test_verdicts_do_not_depend_on_the_memory_they_are_written_to(void **state)
{
    (void)state;
    enum { N = 3 };
    static const int64_t known[] = {1781053200 /* 2026 */, 1600000000 /* 2020-09 */};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        for (int variant = 0; variant < 4; variant++) {
            rules_client clients[N] = {0};
            for (size_t i = 0; i < N; i++)
                snprintf(clients[i].client_id, sizeof clients[i].client_id, "C-%zu", i);
            rules_facts f = facts_with(clients, N);
            f.known_at = known[k];
            clients[0].persons = 150; /* MN-2-4 for the reporter and client 0 */
            clients[1].persons = 0;   /* not involved */
            f.certainty = variant & 1 ? RULES_CERTAINTY_POSSIBLE : RULES_CERTAINTY_CONFIRMED;
            f.appi.sensitive = variant & 2;
            if (variant == 3) f.role = RULES_ROLE_OWN;
            if (k == 1 && variant == 2) clients[2].persons = -1; /* refused */
            rules_verdict zeroed, dirty;
            rules_client_verdict out_zeroed[N], out_dirty[N];
            memset(&zeroed, 0, sizeof zeroed);
            memset(out_zeroed, 0, sizeof out_zeroed);
            memset(&dirty, 0xa5, sizeof dirty);
            memset(out_dirty, 0xa5, sizeof out_dirty);
            char err[256];
            int rc = rules_assess(&f, NULL, &zeroed, out_zeroed, err, sizeof err);
            assert_int_equal(rules_assess(&f, NULL, &dirty, out_dirty, err, sizeof err), rc);
            verdicts_equal(&zeroed, &dirty);
        }
}

/* Two clients whose ids are written over different bytes (the arrays' bytes after the NUL are
 * not part of the id): duplicates exactly when the texts are equal, as strcmp says. Every
 * length and every position of a difference, so that each place of the NUL and of the change
 * within the eight-byte words of the small-incident comparison is covered, with bytes such as
 * 0x01, 0x80 and 0xff that word tricks for finding a NUL can mistake. */
static void test_ids_compared_by_text_only(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {'C', 0x80, 0x01, 0xff, '-', '9', 0x7f, 0x81, 0xfe};
    char text[RULES_ID_MAX];
    for (size_t len = 1; len < RULES_ID_MAX; len++) {
        for (size_t i = 0; i < len; i++)
            text[i] = (char)bytes[(i * 5 + len) % sizeof bytes];
        text[len] = '\0';
        /* edit: -1 the same text, 0..len-1 one byte changed, len one byte longer, len+1 one
         * byte shorter */
        for (size_t edit = 0; edit <= len + 2; edit++) {
            rules_client clients[2] = {0};
            rules_client_verdict out[2];
            memset(clients[0].client_id, 'x', sizeof clients[0].client_id);
            memset(clients[1].client_id, 'y', sizeof clients[1].client_id);
            memcpy(clients[0].client_id, text, len + 1);
            memcpy(clients[1].client_id, text, len + 1);
            char *b = clients[1].client_id;
            if (edit < len)
                b[edit] = (char)(b[edit] ^ 0x20);
            else if (edit == len && len + 1 < RULES_ID_MAX) {
                b[len] = 'z';
                b[len + 1] = '\0';
            } else if (edit == len + 1 && len > 1)
                b[len - 1] = '\0';
            rules_facts f = facts_with(clients, 2);
            char err[256];
            bool want = strcmp(clients[0].client_id, clients[1].client_id) == 0;
            const char *got = assess(&f, out, err, sizeof err);
            if (want != (strcmp(got, "clients[1].client_id: duplicate of clients[0]") == 0))
                fail_msg("length %zu, edit %zu: got \"%s\", want %s", len, edit, got,
                         want ? "a duplicate" : "accepted");
        }
    }
}

/* Hand-filled facts: an id without its NUL, or clients without a verdict array. */
static void test_unterminated_id_and_missing_array(void **state)
{
    (void)state;
    rules_client clients[2] = {0};
    rules_client_verdict out[2];
    rules_facts f = facts_with(clients, 2);
    strcpy(clients[0].client_id, "A");
    memset(clients[1].client_id, 'B', sizeof clients[1].client_id);
    char err[256];
    assert_string_equal(assess(&f, out, err, sizeof err),
                        "clients[1].client_id: longer than 63 bytes");
    strcpy(clients[1].client_id, "B");
    assert_string_equal(assess(&f, NULL, err, sizeof err),
                        "clients: 2 clients but no verdict array");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_rows),
        cmocka_unit_test(test_errors_in_facts_order),
        cmocka_unit_test(test_verdicts_keep_facts_order),
        cmocka_unit_test(test_random_tables_match_the_plain_scan),
        cmocka_unit_test(test_first_and_last_of_many),
        cmocka_unit_test(test_unterminated_id_and_missing_array),
        cmocka_unit_test(test_client_final_days_from_their_own_days),
        cmocka_unit_test(test_verdicts_do_not_depend_on_the_memory_they_are_written_to),
        cmocka_unit_test(test_ids_compared_by_text_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
