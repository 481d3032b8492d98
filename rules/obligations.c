/*
 * obligations: see obligations.h.
 */
#include "rules/obligations.h"

#include <string.h>

static const char *const kind_names[] = {
    [RULES_OB_CLIENT_NOTICE] = "client_notice",
    [RULES_OB_PPC_PRELIMINARY] = "ppc_preliminary",
    [RULES_OB_PPC_FINAL] = "ppc_final",
    [RULES_OB_PRINCIPAL_NOTICE] = "principal_notice",
};

const char *rules_obligation_kind_name(rules_obligation_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : NULL;
}

int rules_obligation_kind_parse(const char *name, rules_obligation_kind *out)
{
    for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++)
        if (name && !strcmp(name, kind_names[i])) {
            *out = (rules_obligation_kind)i;
            return 0;
        }
    return -1;
}

bool rules_is_mandatory(const rules_verdict *v)
{
    return v->my_number.status == RULES_STATUS_MANDATORY ||
           v->appi.status == RULES_STATUS_MANDATORY;
}

/* The reporter files with the PPC itself: an own report, or a contractor's direct report
 * (My Number Act Art. 29-4(1) proviso; APPI Art. 26(1) proviso for the APPI side). */
static bool files_itself(const rules_act_verdict *act, rules_route route)
{
    return act->status == RULES_STATUS_MANDATORY &&
           (route == RULES_ROUTE_OWN_REPORT || route == RULES_ROUTE_DIRECT_REPORT);
}

size_t rules_case_obligations(const rules_verdict *v,
                              rules_obligation out[RULES_CASE_OBLIGATIONS_MAX])
{
    size_t n = 0;
    if (files_itself(&v->my_number, v->route) || files_itself(&v->appi, v->appi_route)) {
        out[n++] =
            (rules_obligation){RULES_OB_PPC_PRELIMINARY, v->preliminary_target, RULES_ABSENT};
        /* The My Number final report, else the APPI one, whichever has a day count. */
        int32_t final = v->final_due != RULES_ABSENT ? v->final_due : v->appi_final_due;
        if (final != RULES_ABSENT)
            out[n++] = (rules_obligation){RULES_OB_PPC_FINAL, final, RULES_ABSENT};
    }
    /* Art. 29-4(2): the reporter notifies the persons itself unless its clients do. */
    if (v->principal_notice && v->principal_notice_by_self)
        out[n++] = (rules_obligation){RULES_OB_PRINCIPAL_NOTICE, RULES_ABSENT, RULES_ABSENT};
    return n;
}

int rules_client_obligation(const rules_client_verdict *c, rules_obligation *out)
{
    if (c->notice_due == RULES_ABSENT) return 0;
    *out = (rules_obligation){RULES_OB_CLIENT_NOTICE, RULES_ABSENT, c->notice_due};
    return 1;
}

int64_t rules_clock_start(int64_t started, bool first, int64_t known_at, int64_t event_at,
                          const rules_verdict *v)
{
    if (started != RULES_ABSENT) return started;
    if (!rules_is_mandatory(v)) return RULES_ABSENT;
    if (first) return known_at;
    return event_at > known_at ? event_at : known_at;
}
