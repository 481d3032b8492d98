/*
 * vocabulary: see vocabulary.h. The order follows the enums of rules.h; test_vocabulary checks
 * each name against its value.
 */
#include "rules/vocabulary.h"

const char *const rules_role_names[2] = {"own", "contractor"};
const char *const rules_kind_names[5] = {"leak", "loss", "damage", "unlawful_use",
                                         "unlawful_provision"};
const char *const rules_certainty_names[2] = {"confirmed", "possible"};
const char *const rules_level_names[3] = {"none", "possible", "confirmed"};
const char *const rules_system_names[3] = {"info_provision_network", "number_use_system",
                                           "public_related_system"};
const char *const rules_viewing_names[3] = {"none", "possible", "viewed"};
const char *const rules_actor_names[4] = {"unknown", "outsider", "insider", "business"};
