/*
 * vocabulary: the names of the rule core's facts, defined once beside the types they name
 * (rules.h). They are the strings of every contract: the JSON of `mni assess` and of verdicts
 * (lib/model/facts_json.c), the Avro enums of the events (lib/model/events.c), the documents.
 *
 * Each array is positional: for an enum, the name of value i is names[i]; for a bit set
 * (kinds, systems), the name of bit 1 << i is names[i]. The sizes are part of the declarations,
 * so sizeof gives the count wherever the header is included.
 */
#ifndef MNI_RULES_VOCABULARY_H
#define MNI_RULES_VOCABULARY_H

extern const char *const rules_role_names[2];      /* rules_role */
extern const char *const rules_kind_names[5];      /* rules_kind bits */
extern const char *const rules_certainty_names[2]; /* rules_certainty */
extern const char *const rules_level_names[3];     /* rules_level */
extern const char *const rules_system_names[3];    /* rules_system bits */
extern const char *const rules_viewing_names[3];   /* rules_viewing */
extern const char *const rules_actor_names[4];     /* rules_actor */

#endif
