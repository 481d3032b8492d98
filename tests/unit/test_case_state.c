/*
 * The assess worker's pure fold (assess/case_state.h), without PostgreSQL or Kafka.
 *
 *   unknown_incident      an update before incident_opened is refused and changes nothing
 *   headcounts            a client's persons are the larger of its count and its tokens; its
 *                         maximum only when it is at least that; the distinct total given to
 *                         the core is the distinct tokens plus what clients counted beyond
 *                         their tokens (kept incrementally, checked against a recount)
 *   clients_sorted        clients stay in byte order of their ids, found by bisection
 *   rollback              a refused event is taken back out: facts, counts, an inserted client
 *   waiting_then_clock    a contractor without clients is not assessable; the first verdict
 *                         that is mandatory starts the clocks at the knowledge time; a later
 *                         one at its event, with the notice to clients still from known_at
 *   verdict_changes       only a differing verdict is a new version; one client's change is
 *                         seen by index
 *   closed_case           closing keeps the record; a second close changes nothing
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "assess/case_state.h"
#include "lib/model/events.h"
#include "rules/obligations.h"

#define T0 1781226000000LL /* 2026-06-12T10:00:00+09:00 in ms */
#define HOUR 3600000LL

static mni_event opened(void)
{
    mni_event ev;
    memset(&ev, 0, sizeof ev);
    ev.event_id = "EV-1";
    ev.incident_id = "INC-1";
    ev.tenant = "bpo";
    ev.occurred_at_ms = T0 + HOUR;
    ev.type = MNI_EVENT_INCIDENT_OPENED;
    ev.body.opened.known_at_ms = T0;
    ev.body.opened.reporter.role = RULES_ROLE_CONTRACTOR;
    ev.body.opened.kinds = RULES_KIND_LEAK;
    return ev;
}

static mni_event count_event(const char *client, int64_t persons, int64_t max, int64_t at)
{
    mni_event ev = opened();
    ev.type = MNI_EVENT_EXPOSURE_COUNT;
    ev.occurred_at_ms = at;
    ev.body.count.client_id = client;
    ev.body.count.persons = persons;
    ev.body.count.persons_max = max;
    ev.body.count.contract_notice_hours = MNI_EVENT_ABSENT;
    return ev;
}

static mni_event manifest_event(const char *client)
{
    mni_event ev = opened();
    ev.type = MNI_EVENT_EXPOSURE_MANIFEST;
    ev.body.manifest.client_id = client;
    ev.body.manifest.batch_id = "b";
    ev.body.manifest.contract_notice_hours = MNI_EVENT_ABSENT;
    return ev;
}

static void fold_ok(case_state *c, const mni_event *ev, int64_t new_client, int64_t new_persons)
{
    char reason[256];
    if (case_fold_event(c, ev, new_client, new_persons, reason, sizeof reason) != 0)
        fail_msg("refused: %s", reason);
}

static int64_t untokened_recount(const case_state *c)
{
    int64_t sum = 0;
    for (size_t i = 0; i < c->n_clients; i++)
        sum += c->clients[i].persons - c->extra[i].tokens;
    return sum;
}

static void test_unknown_incident(void **state)
{
    (void)state;
    case_state c;
    case_state_init(&c, "INC-1");
    mni_event ev = count_event("C-A", 5, MNI_EVENT_ABSENT, T0);
    char reason[256];
    assert_int_equal(case_fold_event(&c, &ev, 0, 0, reason, sizeof reason), 1);
    assert_non_null(strstr(reason, "unknown_incident"));
    assert_int_equal(c.n_clients, 0);
    assert_false(c.exists);
    case_state_free(&c);
}

static void test_headcounts(void **state)
{
    (void)state;
    case_state c;
    case_state_init(&c, "INC-1");
    mni_event ev = opened();
    fold_ok(&c, &ev, 0, 0);
    ev = count_event("C-A", 30, 80, T0);
    fold_ok(&c, &ev, 0, 0);
    assert_int_equal(c.clients[0].persons, 30);
    assert_int_equal(c.clients[0].persons_max, 80);
    assert_int_equal(c.untokened, 30);
    ev = manifest_event("C-A"); /* 50 tokens: more than counted */
    fold_ok(&c, &ev, 50, 50);
    assert_int_equal(c.clients[0].persons, 50);
    assert_int_equal(c.clients[0].persons_max, 80);
    assert_int_equal(c.untokened, 0);
    ev = manifest_event("C-B"); /* 40 tokens, 10 of them persons C-A already had */
    fold_ok(&c, &ev, 40, 30);
    assert_int_equal(c.distinct_tokens, 80);
    ev = count_event("C-B", 45, 30, T0); /* a maximum below the count is stale */
    fold_ok(&c, &ev, 0, 0);
    assert_int_equal(c.clients[1].persons, 45);
    assert_int_equal(c.clients[1].persons_max, RULES_ABSENT);
    assert_int_equal(c.untokened, 5);
    assert_int_equal(c.untokened, untokened_recount(&c));
    rules_verdict v;
    int64_t since;
    char why[256];
    assert_int_equal(case_assess(&c, T0 + HOUR, &v, &since, why, sizeof why), CASE_ASSESSED);
    assert_int_equal(c.facts.distinct_persons, 85); /* 80 tokens + 5 counted beyond */
    case_state_free(&c);
}

static void test_clients_sorted(void **state)
{
    (void)state;
    case_state c;
    case_state_init(&c, "INC-1");
    mni_event ev = opened();
    fold_ok(&c, &ev, 0, 0);
    const char *ids[] = {"C-M", "C-A", "C-Z", "C-B", "c-a", "C-AA"};
    for (size_t i = 0; i < 6; i++) {
        ev = count_event(ids[i], (int64_t)i + 1, MNI_EVENT_ABSENT, T0);
        fold_ok(&c, &ev, 0, 0);
    }
    const char *sorted[] = {"C-A", "C-AA", "C-B", "C-M", "C-Z", "c-a"};
    assert_int_equal(c.n_clients, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(c.clients[i].client_id, sorted[i]);
        bool found;
        assert_int_equal(case_client_find(&c, sorted[i], &found), i);
        assert_true(found);
    }
    assert_int_equal(c.clients[3].persons, 1); /* C-M kept its own count through the moves */
    case_state_free(&c);
}

static void test_rollback(void **state)
{
    (void)state;
    case_state c;
    case_state_init(&c, "INC-1");
    mni_event ev = opened();
    fold_ok(&c, &ev, 0, 0);
    ev = count_event("C-B", 10, MNI_EVENT_ABSENT, T0);
    fold_ok(&c, &ev, 0, 0);
    /* A new client, inserted before C-B, then taken back out. */
    mni_event bad = manifest_event("C-A");
    case_undo u;
    case_checkpoint(&c, &bad, &u);
    fold_ok(&c, &bad, 7, 7);
    assert_int_equal(c.n_clients, 2);
    case_rollback(&c, &u);
    assert_int_equal(c.n_clients, 1);
    assert_string_equal(c.clients[0].client_id, "C-B");
    assert_int_equal(c.distinct_tokens, 0);
    assert_int_equal(c.untokened, 10);
    /* An existing client's count, taken back. */
    mni_event recount = count_event("C-B", 99, MNI_EVENT_ABSENT, T0);
    case_checkpoint(&c, &recount, &u);
    fold_ok(&c, &recount, 0, 0);
    case_rollback(&c, &u);
    assert_int_equal(c.clients[0].persons, 10);
    assert_int_equal(c.untokened, 10);
    case_state_free(&c);
}

static void test_waiting_then_clock(void **state)
{
    (void)state;
    case_state c;
    case_state_init(&c, "INC-1");
    mni_event ev = opened();
    fold_ok(&c, &ev, 0, 0);
    rules_verdict v;
    int64_t since;
    char why[256];
    assert_int_equal(case_assess(&c, T0 + HOUR, &v, &since, why, sizeof why), CASE_WAITING);
    /* 60 persons: not mandatory yet; the first verdict is remembered as version 1. */
    ev = count_event("C-A", 60, MNI_EVENT_ABSENT, T0 + 2 * HOUR);
    fold_ok(&c, &ev, 0, 0);
    assert_int_equal(case_assess(&c, T0 + 2 * HOUR, &v, &since, why, sizeof why), CASE_ASSESSED);
    assert_false(rules_is_mandatory(&v));
    assert_int_equal(since, RULES_ABSENT);
    assert_true(case_verdict_changed(&c, &v));
    int64_t notice_before = v.clients[0].notice_due;
    case_remember_verdict(&c, &v);
    /* A second client passes 100 in total two days later: the clocks start at that event. */
    int64_t later = T0 + 48 * HOUR;
    ev = count_event("C-B", 50, MNI_EVENT_ABSENT, later);
    fold_ok(&c, &ev, 0, 0);
    assert_int_equal(case_assess(&c, later, &v, &since, why, sizeof why), CASE_ASSESSED);
    assert_true(rules_is_mandatory(&v));
    assert_int_equal(since, later);
    assert_int_equal(v.known_day, rules_japan_day(later / 1000));
    /* The notice to the first client still runs from the knowledge time. */
    assert_int_equal(v.clients[0].notice_due, notice_before);
    case_state_free(&c);
}

static void test_verdict_changes(void **state)
{
    (void)state;
    case_state c;
    case_state_init(&c, "INC-1");
    mni_event ev = opened();
    fold_ok(&c, &ev, 0, 0);
    ev = count_event("C-A", 10, MNI_EVENT_ABSENT, T0);
    fold_ok(&c, &ev, 0, 0);
    ev = count_event("C-B", 10, MNI_EVENT_ABSENT, T0);
    fold_ok(&c, &ev, 0, 0);
    rules_verdict v;
    int64_t since;
    char why[256];
    assert_int_equal(case_assess(&c, T0, &v, &since, why, sizeof why), CASE_ASSESSED);
    case_remember_verdict(&c, &v);
    assert_int_equal(case_assess(&c, T0, &v, &since, why, sizeof why), CASE_ASSESSED);
    assert_false(case_verdict_changed(&c, &v)); /* the same facts: no new version */
    /* C-B's maximum changes only C-B's entry and the total. */
    ev = count_event("C-B", 10, 20, T0);
    fold_ok(&c, &ev, 0, 0);
    assert_int_equal(case_assess(&c, T0, &v, &since, why, sizeof why), CASE_ASSESSED);
    assert_true(case_verdict_changed(&c, &v));
    assert_true(case_client_verdict_equal(&v.clients[0], &c.extra[0].prev));
    assert_false(case_client_verdict_equal(&v.clients[1], &c.extra[1].prev));
    case_state_free(&c);
}

static void test_closed_case(void **state)
{
    (void)state;
    case_state c;
    case_state_init(&c, "INC-1");
    mni_event ev = opened();
    fold_ok(&c, &ev, 0, 0);
    ev.type = MNI_EVENT_INCIDENT_CLOSED;
    ev.occurred_at_ms = T0 + 5 * HOUR;
    ev.body.closed.reason = MNI_CLOSE_WITHDRAWN;
    fold_ok(&c, &ev, 0, 0);
    assert_int_equal(c.status, CASE_WITHDRAWN);
    assert_int_equal(c.closed_at_ms, T0 + 5 * HOUR);
    ev.body.closed.reason = MNI_CLOSE_CLOSED;
    ev.occurred_at_ms = T0 + 9 * HOUR;
    fold_ok(&c, &ev, 0, 0);
    assert_int_equal(c.status, CASE_WITHDRAWN);
    assert_int_equal(c.closed_at_ms, T0 + 5 * HOUR);
    case_state_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_incident),   cmocka_unit_test(test_headcounts),
        cmocka_unit_test(test_clients_sorted),     cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_waiting_then_clock), cmocka_unit_test(test_verdict_changes),
        cmocka_unit_test(test_closed_case),
    };
    return cmocka_run_group_tests_name("assess case state", tests, NULL, NULL);
}
