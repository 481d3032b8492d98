/*
 * test_vocabulary: the rule core's names (rules/vocabulary.h) are the ones the event model and
 * the facts JSON use, value for value: each name parses to its enum value or bit, and each
 * value prints as its name, in both codecs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/model/events.h"
#include "lib/model/facts_json.h"
#include "rules/rules.h"
#include "rules/vocabulary.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void check_set(mni_event_sym set, const char *const *names, size_t n, int bits)
{
    for (size_t i = 0; i < n; i++) {
        int want = bits ? 1 << i : (int)i, got = -1;
        assert_int_equal(mni_event_sym_parse(set, names[i], &got), 0);
        assert_int_equal(got, want);
        assert_string_equal(mni_event_sym_name(set, want), names[i]);
    }
    int ignored;
    assert_int_equal(mni_event_sym_parse(set, "nope", &ignored), -1);
}

static void event_model_uses_the_core_names(void **state)
{
    (void)state;
    check_set(MNI_SYM_ROLE, rules_role_names, N(rules_role_names), 0);
    check_set(MNI_SYM_KIND, rules_kind_names, N(rules_kind_names), 1);
    check_set(MNI_SYM_CERTAINTY, rules_certainty_names, N(rules_certainty_names), 0);
    check_set(MNI_SYM_LEVEL, rules_level_names, N(rules_level_names), 0);
    check_set(MNI_SYM_SYSTEM, rules_system_names, N(rules_system_names), 1);
    check_set(MNI_SYM_VIEWING, rules_viewing_names, N(rules_viewing_names), 0);
    check_set(MNI_SYM_ACTOR, rules_actor_names, N(rules_actor_names), 0);
}

static void names_match_the_enums(void **state)
{
    (void)state;
    assert_string_equal(facts_kind_name(RULES_KIND_LEAK), "leak");
    assert_string_equal(facts_kind_name(RULES_KIND_UNLAWFUL_PROVISION), "unlawful_provision");
    assert_string_equal(facts_system_name(RULES_SYS_PUBLIC_RELATED), "public_related_system");
    assert_string_equal(facts_role_name(RULES_ROLE_CONTRACTOR), "contractor");
    assert_string_equal(facts_certainty_name(RULES_CERTAINTY_POSSIBLE), "possible");
    assert_string_equal(facts_level_name(RULES_LEVEL_CONFIRMED), "confirmed");
    assert_string_equal(facts_viewing_name(RULES_VIEW_VIEWED), "viewed");
    assert_string_equal(facts_actor_name(RULES_ACTOR_BUSINESS), "business");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_model_uses_the_core_names),
        cmocka_unit_test(names_match_the_enums),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
