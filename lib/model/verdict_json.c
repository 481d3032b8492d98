/*
 * verdict_json: see verdict_json.h. Dates are YYYY-MM-DD (Japan days); instants are RFC 3339
 * in Japan time; absent deadlines are null.
 *
 * Headcounts come in pairs: `total` / `headcount` is the possible maximum the rules count
 * (PPC rule Art. 2(4): persons whose data leaked or may have leaked), `known` /
 * `headcount_known` the persons known so far, so a report can show both side by side.
 */
#include "lib/model/verdict_json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/model/json_text.h"

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

static json_t *ids_json(const char *const *ids, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(ids[i]));
    return arr;
}

/* The 2016 rule's items that may have occurred, as ids in item order. */
static json_t *possible_json(unsigned possible)
{
    json_t *arr = json_array();
    for (int item = 1; item <= 4; item++)
        if (possible & (1u << (item - 1)))
            json_array_append_new(arr, json_string(rules_mn15_id(item)));
    return arr;
}

static json_t *act_json(const rules_act_verdict *a)
{
    return json_pack("{s:s, s:o}", "status", rules_status_name(a->status), "rules",
                     ids_json(a->fired, a->n_fired));
}

static json_t *deadlines_json(const rules_deadlines *d)
{
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:o, s:o}", "preliminary_target", day_or_null(d->preliminary_target),
        "preliminary_latest", day_or_null(d->preliminary_latest), "final",
        day_or_null(d->final_due), "final_days", int_or_null(d->final_days), "appi_final",
        day_or_null(d->appi_final_due), "appi_final_days", int_or_null(d->appi_final_days));
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
    json_object_set_new(o, "possible", possible_json(c->my_number.possible));
    json_object_set_new(o, "headcount_known", json_integer(c->headcount_known));
    json_object_set_new(o, "appi_persons", json_integer(c->appi_persons));
    json_object_set_new(o, "public_body", json_boolean(c->public_body));
    json_object_set_new(o, "known_date", day_or_null(c->known_day));
    json_object_set_new(o, "deadlines", deadlines_json(&c->deadlines));
    return o;
}

static json_t *clients_json(const rules_verdict *v, json_t *headcounts, json_t *known)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < v->n_clients; i++) {
        const rules_client_verdict *c = &v->clients[i];
        json_array_append_new(arr, verdict_json_client(c));
        json_object_set_new(headcounts, c->client_id, json_integer(c->headcount));
        json_object_set_new(known, c->client_id, json_integer(c->headcount_known));
    }
    return arr;
}

json_t *verdict_json_build(const rules_facts *f, const rules_verdict *v)
{
    json_t *headcounts = json_object(), *known = json_object();
    json_t *clients = clients_json(v, headcounts, known);
    /* An own-role report has no client verdicts, but its data sets still have counts. */
    if (v->n_clients == 0)
        for (size_t i = 0; i < f->n_clients; i++) {
            const rules_client *c = &f->clients[i];
            json_object_set_new(
                headcounts, c->client_id,
                json_integer(c->persons_max != RULES_ABSENT ? c->persons_max : c->persons));
            json_object_set_new(known, c->client_id, json_integer(c->persons));
        }
    const char *notice_by = NULL;
    if (v->principal_notice) notice_by = v->principal_notice_by_self ? "self" : "clients";
    rules_deadlines top = {v->preliminary_target, v->preliminary_latest, v->final_due,
                           v->final_days,         v->appi_final_due,     v->appi_final_days};
    json_t *my_number = act_json(&v->my_number);
    json_object_set_new(my_number, "possible", possible_json(v->my_number.possible));
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:{s:I, s:I, s:o, s:o, s:I}, s:o, s:s, s:s, s:o, s:o, s:b, "
        "s:o, s:o, s:s}",
        "incident_id", f->incident_id, "regime", rules_regime_name(v->regime), "known_date",
        day_or_null(v->known_day), "my_number", my_number, "appi", act_json(&v->appi), "headcount",
        "total", (json_int_t)v->headcount_total, "known", (json_int_t)v->headcount_known, "clients",
        headcounts, "clients_known", known, "appi_persons", (json_int_t)v->appi_persons,
        "deadlines", deadlines_json(&top), "route", rules_route_name(v->route), "appi_route",
        rules_route_name(v->appi_route), "direct_rules", ids_json(v->direct.ids, v->direct.n),
        "appi_direct_rules", ids_json(v->appi_direct.ids, v->appi_direct.n), "principal_notice",
        v->principal_notice, "principal_notice_by",
        notice_by ? json_string(notice_by) : json_null(), "clients", clients, "disclaimer",
        VERDICT_DISCLAIMER);
}

json_t *verdict_json_case(const rules_facts *f, const rules_verdict *v)
{
    rules_verdict top = *v;
    top.n_clients = 0;
    rules_facts facts = *f;
    if (v->n_clients > 0) facts.n_clients = 0; /* the clients' counts are in their entries */
    json_t *doc = verdict_json_build(&facts, &top);
    json_object_del(doc, "clients");
    /* Each client's known count is in its entry too (headcount_known); an empty object here
     * would claim none. */
    if (v->n_clients > 0) json_object_del(json_object_get(doc, "headcount"), "clients_known");
    return doc;
}

/* ---- the same text, written one client at a time ---- */

typedef struct {
    json_dump_callback_t write;
    void *data;
} sink;

static int put(const sink *out, const char *text)
{
    return out->write(text, strlen(text), out->data);
}

/* A value (or a key, as a JSON string) in the compact form of json_dumps (json_text: the same
 * bytes without jansson's per-call loop-check table). */
static int put_json(const sink *out, const json_t *value)
{
    char *text = json_text_compact(value);
    int rc = !text || out->write(text, strlen(text), out->data) != 0 ? -1 : 0;
    free(text);
    return rc;
}

static int put_key(const sink *out, const char *key, bool first)
{
    json_t *k = json_string(key);
    int rc = !k || (!first && put(out, ",") != 0) || put_json(out, k) != 0 || put(out, ":") != 0;
    json_decref(k);
    return rc ? -1 : 0;
}

/* {"client":count,...} over the listed clients: their possible maxima, or their known counts. */
static int put_counts(const sink *out, const rules_verdict *v, const bool *listed, bool known)
{
    bool first = true;
    if (put(out, "{") != 0) return -1;
    for (size_t i = 0; i < v->n_clients; i++) {
        const rules_client_verdict *c = &v->clients[i];
        if (listed && !listed[i]) continue;
        char n[32];
        snprintf(n, sizeof n, "%" JSON_INTEGER_FORMAT,
                 (json_int_t)(known ? c->headcount_known : c->headcount));
        if (put_key(out, c->client_id, first) != 0 || put(out, n) != 0) return -1;
        first = false;
    }
    return put(out, "}");
}

static int put_headcount(const sink *out, json_t *headcount, const rules_verdict *v,
                         const bool *listed)
{
    const char *key;
    json_t *value;
    bool first = true;
    if (put(out, "{") != 0) return -1;
    json_object_foreach (headcount, key, value) {
        if (put_key(out, key, first) != 0) return -1;
        first = false;
        int rc = !strcmp(key, "clients")         ? put_counts(out, v, listed, false)
                 : !strcmp(key, "clients_known") ? put_counts(out, v, listed, true)
                                                 : put_json(out, value);
        if (rc != 0) return -1;
    }
    return put(out, "}");
}

static int put_clients(const sink *out, const rules_verdict *v, const bool *listed)
{
    bool first = true;
    if (put(out, "[") != 0) return -1;
    for (size_t i = 0; i < v->n_clients; i++) {
        if (listed && !listed[i]) continue;
        json_t *entry = verdict_json_client(&v->clients[i]);
        int rc = !entry || (!first && put(out, ",") != 0) || put_json(out, entry) != 0;
        json_decref(entry);
        if (rc) return -1;
        first = false;
    }
    return put(out, "]");
}

int verdict_json_write(const rules_facts *f, const rules_verdict *v, json_dump_callback_t write,
                       void *data)
{
    return verdict_json_write_listed(f, v, NULL, NULL, write, data);
}

int verdict_json_write_listed(const rules_facts *f, const rules_verdict *v, const bool *listed,
                              const json_t *note, json_dump_callback_t write, void *data)
{
    const sink out = {write, data};
    if (v->n_clients == 0) { /* an own-role report: only its data sets' counts */
        rules_facts facts = *f;
        if (listed) facts.n_clients = 0;
        json_t *doc = verdict_json_build(&facts, v);
        if (doc && note) json_object_set(doc, "abridged", (json_t *)note);
        int rc = !doc || put_json(&out, doc) != 0 ? -1 : 0;
        json_decref(doc);
        return rc;
    }
    /* The document without its clients, in its keys' order; the per-client parts are written
     * where verdict_json_build puts them. */
    rules_verdict top = *v;
    top.n_clients = 0;
    rules_facts facts = *f;
    facts.n_clients = 0; /* the clients' counts come from their verdicts */
    json_t *doc = verdict_json_build(&facts, &top);
    if (!doc) return -1;
    const char *key;
    json_t *value;
    bool first = true;
    int rc = put(&out, "{");
    json_object_foreach (doc, key, value) {
        if (rc != 0) break;
        rc = put_key(&out, key, first);
        first = false;
        if (rc == 0)
            rc = !strcmp(key, "headcount") ? put_headcount(&out, value, v, listed)
                 : !strcmp(key, "clients") ? put_clients(&out, v, listed)
                                           : put_json(&out, value);
    }
    json_decref(doc);
    if (rc == 0 && note) rc = put_key(&out, "abridged", false) || put_json(&out, note) ? -1 : 0;
    return rc == 0 ? put(&out, "}") : -1;
}

static int count_bytes(const char *text, size_t n, void *total)
{
    (void)text;
    *(size_t *)total += n;
    return 0;
}

size_t verdict_json_client_cost(const rules_client_verdict *c)
{
    size_t entry = 0, key = 0;
    const sink entry_counter = {count_bytes, &entry}, key_counter = {count_bytes, &key};
    json_t *e = verdict_json_client(c), *k = json_string(c->client_id);
    int rc = !e || !k || put_json(&entry_counter, e) != 0 || put_json(&key_counter, k) != 0;
    json_decref(e);
    json_decref(k);
    if (rc) return SIZE_MAX;
    /* the entry and its comma; "id":headcount, and "id":known, in the two maps */
    char counts[64];
    int digits =
        snprintf(counts, sizeof counts, ",:%" JSON_INTEGER_FORMAT ",:%" JSON_INTEGER_FORMAT,
                 (json_int_t)c->headcount, (json_int_t)c->headcount_known);
    return entry + 1 + 2 * key + (size_t)digits;
}
