/*
 * rule_ids: the ids of RULES.md that a verdict lists, one string per rules_rule.
 *
 * The regime files name a rule by its enum (rules_rule, rules_internal.h) and rules_fire
 * records the id string of this table, so every id in a verdict of the core is one of these
 * pointers. Checks inside the core (a 60-day clock when MN-2-2 fired, which items rest on the
 * systems) then compare pointers instead of strings; the strings themselves are the contract
 * of the JSON and the documents and stay exactly as RULES.md writes them.
 */
#include "rules/rules_internal.h"

const char *const rules_rule_ids[RULE_COUNT] = {
    [RULE_MN_2_1] = "MN-2-1",       [RULE_MN_2_2] = "MN-2-2",       [RULE_MN_2_3] = "MN-2-3",
    [RULE_MN_2_4] = "MN-2-4",       [RULE_APPI_7_1] = "APPI-7-1",   [RULE_APPI_7_2] = "APPI-7-2",
    [RULE_APPI_7_3] = "APPI-7-3",   [RULE_APPI_7_4] = "APPI-7-4",   [RULE_APPI_43_1] = "APPI-43-1",
    [RULE_APPI_43_2] = "APPI-43-2", [RULE_APPI_43_3] = "APPI-43-3", [RULE_APPI_43_4] = "APPI-43-4",
    [RULE_APPI_43_5] = "APPI-43-5", [RULE_MN15_1] = "MN15-1",       [RULE_MN15_2] = "MN15-2",
    [RULE_MN15_3] = "MN15-3",       [RULE_MN15_4] = "MN15-4",       [RULE_MN15_P] = "MN15-P",
};

const char *rules_mn15_id(int item)
{
    return item >= 1 && item <= 4 ? rules_rule_ids[RULE_MN15_1 + item - 1] : NULL;
}
