/*
 * case_fold: see case_fold.h.
 */
#include "assess/case_fold.h"

#include <stdio.h>
#include <string.h>

/* The facts an event body may carry, with the same name in the stored facts; the APPI flags
 * are flat in events and nested in the facts. */
static const char *const fact_fields[] = {
    "known_at",
    "reporter",
    "kinds",
    "certainty",
    "improper_purpose",
    "systems",
    "unspecified_viewing",
    "encrypted_protected",
    "recovered_unviewed",
    "intact_copy",
};

static int copy_fact(json_t *facts, const json_t *body, const char *field, int required, char *err,
                     size_t errlen)
{
    json_t *v = json_object_get(body, field);
    if (v == NULL || json_is_null(v)) {
        if (required) {
            snprintf(err, errlen, "body.%s: required field is missing", field);
            return -1;
        }
        return 0;
    }
    return json_object_set(facts, field, v);
}

static int copy_appi(json_t *facts, const json_t *body, int required, char *err, size_t errlen)
{
    static const struct {
        const char *event_field, *fact_field;
    } map[] = {{"appi_sensitive", "sensitive"}, {"appi_financial_risk", "financial_risk"}};
    json_t *appi = json_object_get(facts, "appi");
    if (!appi) {
        appi = json_pack("{s:b, s:b}", "sensitive", 0, "financial_risk", 0);
        json_object_set_new(facts, "appi", appi);
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        json_t *v = json_object_get(body, map[i].event_field);
        if (v == NULL || json_is_null(v)) {
            if (required) {
                snprintf(err, errlen, "body.%s: required field is missing", map[i].event_field);
                return -1;
            }
            continue;
        }
        json_object_set(appi, map[i].fact_field, v);
    }
    return 0;
}

json_t *case_fold_opened(const char *incident_id, const json_t *body, char *err, size_t errlen)
{
    json_t *facts = json_pack("{s:s}", "incident_id", incident_id);
    for (size_t i = 0; i < sizeof fact_fields / sizeof fact_fields[0]; i++)
        if (copy_fact(facts, body, fact_fields[i], 1, err, errlen) != 0) {
            json_decref(facts);
            return NULL;
        }
    if (copy_appi(facts, body, 0, err, errlen) != 0) { /* flags default to false */
        json_decref(facts);
        return NULL;
    }
    return facts;
}

int case_fold_update(json_t *facts, const json_t *body, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof fact_fields / sizeof fact_fields[0]; i++)
        if (copy_fact(facts, body, fact_fields[i], 0, err, errlen) != 0) return -1;
    return copy_appi(facts, body, 0, err, errlen);
}
