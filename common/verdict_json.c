/*
 * verdict_json: see verdict_json.h. Dates are YYYY-MM-DD (Japan days); instants are RFC 3339
 * in Japan time; absent deadlines are null.
 */
#include "common/verdict_json.h"

#include "common/timefmt.h"

static json_t *day_or_null(int32_t day)
{
    if (day == RULES_ABSENT) return json_null();
    char text[11];
    jpcal_format(day, text);
    return json_string(text);
}

static json_t *int_or_null(int64_t n)
{
    return n == RULES_ABSENT ? json_null() : json_integer(n);
}

static json_t *act_json(const rules_act_verdict *a)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < a->n_fired; i++)
        json_array_append_new(ids, json_string(a->fired[i]));
    return json_pack("{s:s, s:o}", "status", rules_status_name(a->status), "rules", ids);
}

json_t *verdict_json_client(const rules_client_verdict *c)
{
    json_t *mn = act_json(&c->my_number), *appi = act_json(&c->appi);
    json_t *due = json_null();
    if (c->notice_due != RULES_ABSENT) {
        char when[32];
        timefmt_format_jst(c->notice_due, when);
        due = json_string(when);
    }
    json_t *o = json_pack(
        "{s:s, s:O, s:O, s:I, s:O, s:O, s:b, s:o}", "client_id", c->client_id, "status",
        json_object_get(mn, "status"), "rules", json_object_get(mn, "rules"), "headcount",
        (json_int_t)c->headcount, "appi_status", json_object_get(appi, "status"), "appi_rules",
        json_object_get(appi, "rules"), "involved", c->involved, "notice_due", due);
    json_decref(mn);
    json_decref(appi);
    return o;
}

static json_t *clients_json(const rules_verdict *v, json_t *headcounts)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < v->n_clients; i++) {
        const rules_client_verdict *c = &v->clients[i];
        json_array_append_new(arr, verdict_json_client(c));
        json_object_set_new(headcounts, c->client_id, json_integer(c->headcount));
    }
    return arr;
}

json_t *verdict_json_build(const rules_facts *f, const rules_verdict *v)
{
    json_t *headcounts = json_object();
    json_t *clients = clients_json(v, headcounts);
    /* An own-role report has no client verdicts, but its data sets still have counts. */
    if (v->n_clients == 0)
        for (size_t i = 0; i < f->n_clients; i++) {
            const rules_client *c = &f->clients[i];
            json_object_set_new(
                headcounts, c->client_id,
                json_integer(c->persons_max != RULES_ABSENT ? c->persons_max : c->persons));
        }
    const char *notice_by = NULL;
    if (v->principal_notice) notice_by = v->principal_notice_by_self ? "self" : "clients";
    json_t *deadlines = json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o}", "preliminary_target", day_or_null(v->preliminary_target),
        "preliminary_latest", day_or_null(v->preliminary_latest), "final",
        day_or_null(v->final_due), "final_days", int_or_null(v->final_days), "appi_final",
        day_or_null(v->appi_final_due), "appi_final_days", int_or_null(v->appi_final_days));
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:{s:I, s:o, s:I}, s:o, s:s, s:s, s:b, s:o, "
        "s:o, s:s}",
        "incident_id", f->incident_id, "regime", rules_regime_name(v->regime), "known_date",
        day_or_null(v->known_day), "my_number", act_json(&v->my_number), "appi", act_json(&v->appi),
        "headcount", "total", (json_int_t)v->headcount_total, "clients", headcounts, "appi_persons",
        (json_int_t)v->appi_persons, "deadlines", deadlines, "route", rules_route_name(v->route),
        "appi_route", rules_route_name(v->appi_route), "principal_notice", v->principal_notice,
        "principal_notice_by", notice_by ? json_string(notice_by) : json_null(), "clients", clients,
        "disclaimer", VERDICT_DISCLAIMER);
}

json_t *verdict_json_case(const rules_facts *f, const rules_verdict *v)
{
    rules_verdict top = *v;
    top.n_clients = 0;
    rules_facts facts = *f;
    if (v->n_clients > 0) facts.n_clients = 0; /* the clients' counts are in their entries */
    json_t *doc = verdict_json_build(&facts, &top);
    json_object_del(doc, "clients");
    return doc;
}
