/*
 * verdict_json: rules_verdict -> the `mni assess` output contract (issue 2). The assess worker
 * stores the same document as a case version, so the tool and the pipeline say the same thing.
 */
#ifndef MNI_VERDICT_JSON_H
#define MNI_VERDICT_JSON_H

#include <jansson.h>

#include "rules/rules.h"

#define VERDICT_DISCLAIMER                                                                         \
    "Not legal advice: an automated reading of the My Number Act and APPI rules; confirm "         \
    "with counsel or the PPC."

/* A new reference; the caller decrefs it. */
json_t *verdict_json_build(const rules_facts *f, const rules_verdict *v);

#endif
