/*
 * facts_json: see facts_json.h. Each getter takes the parent object, the key and the path
 * prefix, and writes an error naming the full path on failure.
 */
#include "lib/model/facts_json.h"
#include "lib/base/errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/model/fact_fields.h"
#include "rules/mynumber.h"
#include "rules/vocabulary.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *bit_name(const char *const *names, size_t n, unsigned bit)
{
    for (size_t i = 0; i < n; i++)
        if (bit == 1u << i) return names[i];
    return "?";
}

const char *facts_kind_name(unsigned kind_bit)
{
    return bit_name(rules_kind_names, COUNT(rules_kind_names), kind_bit);
}
const char *facts_system_name(unsigned system_bit)
{
    return bit_name(rules_system_names, COUNT(rules_system_names), system_bit);
}
const char *facts_level_name(rules_level l)
{
    return rules_level_names[l];
}
const char *facts_viewing_name(rules_viewing v)
{
    return rules_viewing_names[v];
}
const char *facts_certainty_name(rules_certainty c)
{
    return rules_certainty_names[c];
}
const char *facts_role_name(rules_role r)
{
    return rules_role_names[r];
}
const char *facts_actor_name(rules_actor a)
{
    return rules_actor_names[a];
}

/* Refuses keys that the contract does not name. */
static int check_keys(const json_t *obj, const char *path, const char *const *allowed, size_t n,
                      char *err, size_t errlen)
{
    const char *key;
    const json_t *value;
    json_object_foreach ((json_t *)obj, key, value) {
        (void)value;
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = !strcmp(key, allowed[i]);
        if (!known)
            return errbuf_fail(err, errlen, "%s%s%s: unknown field", path, *path ? "." : "", key);
    }
    return 0;
}

/* Looks up a member; NULL and no error when optional and absent (or null). */
static const json_t *member(const json_t *obj, const char *path, const char *key, bool required,
                            char *err, size_t errlen, int *rc)
{
    const json_t *v = json_object_get(obj, key);
    *rc = 0;
    if (v == NULL || json_is_null(v)) {
        if (required)
            *rc = errbuf_fail(err, errlen, "%s%s%s: required field is missing", path,
                              *path ? "." : "", key);
        return NULL;
    }
    return v;
}

static int get_text(const json_t *obj, const char *path, const char *key, char *out, size_t size,
                    char *err, size_t errlen)
{
    int rc;
    const json_t *v = member(obj, path, key, true, err, errlen, &rc);
    if (!v) return rc;
    const char *sep = *path ? "." : "";
    if (!json_is_string(v))
        return errbuf_fail(err, errlen, "%s%s%s: must be a string", path, sep, key);
    size_t len = json_string_length(v);
    if (len == 0) return errbuf_fail(err, errlen, "%s%s%s: must not be empty", path, sep, key);
    if (len >= size)
        return errbuf_fail(err, errlen, "%s%s%s: longer than %zu bytes", path, sep, key, size - 1);
    if (mynumber_find(json_string_value(v), len, NULL))
        return errbuf_fail(err, errlen,
                           "%s%s%s: holds a My Number; refused (send person tokens, never numbers)",
                           path, sep, key);
    memcpy(out, json_string_value(v), len + 1);
    return 0;
}

static int get_bool_opt(const json_t *obj, const char *path, const char *key, bool required,
                        bool *out, char *err, size_t errlen)
{
    int rc;
    const json_t *v = member(obj, path, key, required, err, errlen, &rc);
    if (!v) return rc;
    if (!json_is_boolean(v))
        return errbuf_fail(err, errlen, "%s%s%s: must be true or false", path, *path ? "." : "",
                           key);
    *out = json_is_true(v);
    return 0;
}

static int get_bool(const json_t *obj, const char *path, const char *key, bool *out, char *err,
                    size_t errlen)
{
    return get_bool_opt(obj, path, key, true, out, err, errlen);
}

/* An integer >= 0; *out stays RULES_ABSENT when optional and absent. */
static int get_count(const json_t *obj, const char *path, const char *key, bool required,
                     int64_t *out, char *err, size_t errlen)
{
    int rc;
    *out = RULES_ABSENT;
    const json_t *v = member(obj, path, key, required, err, errlen, &rc);
    if (!v) return rc;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return errbuf_fail(err, errlen, "%s%s%s: must be an integer >= 0", path, *path ? "." : "",
                           key);
    *out = json_integer_value(v);
    return 0;
}

/* A contract's clock in hours, bounded as the rule core bounds it (RULES_MAX_NOTICE_HOURS). */
static int get_hours(const json_t *obj, const char *path, const char *key, int64_t *out, char *err,
                     size_t errlen)
{
    if (get_count(obj, path, key, false, out, err, errlen) != 0) return -1;
    if (*out > RULES_MAX_NOTICE_HOURS)
        return errbuf_fail(err, errlen, "%s%s%s: must be at most %lld hours (10 years), got %lld",
                           path, *path ? "." : "", key, RULES_MAX_NOTICE_HOURS, (long long)*out);
    return 0;
}

static int enum_index(const json_t *v, const char *const *names, size_t n)
{
    if (!json_is_string(v)) return -1;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(json_string_value(v), names[i])) return (int)i;
    return -1;
}

static int bad_enum(const char *path, const char *key, const char *const *names, size_t n,
                    char *err, size_t errlen)
{
    char list[256] = "";
    for (size_t i = 0; i < n; i++) {
        strncat(list, i ? "|" : "", sizeof list - strlen(list) - 1);
        strncat(list, names[i], sizeof list - strlen(list) - 1);
    }
    return errbuf_fail(err, errlen, "%s%s%s: must be one of %s", path, *path ? "." : "", key, list);
}

/* *out is left as it is when optional and absent. */
static int get_enum_opt(const json_t *obj, const char *path, const char *key, bool required,
                        const char *const *names, size_t n, int *out, char *err, size_t errlen)
{
    int rc;
    const json_t *v = member(obj, path, key, required, err, errlen, &rc);
    if (!v) return rc;
    int i = enum_index(v, names, n);
    if (i < 0) return bad_enum(path, key, names, n, err, errlen);
    *out = i;
    return 0;
}

static int get_enum(const json_t *obj, const char *path, const char *key, const char *const *names,
                    size_t n, int *out, char *err, size_t errlen)
{
    return get_enum_opt(obj, path, key, true, names, n, out, err, errlen);
}

/* An array of enum names into a bit set; `nonempty` demands at least one. When optional and
 * absent, *given is false and *out untouched. */
static int get_flags_at(const json_t *obj, const char *path, const char *key, bool required,
                        const char *const *names, size_t n, bool nonempty, unsigned *out,
                        bool *given, char *err, size_t errlen)
{
    int rc;
    const char *sep = *path ? "." : "";
    *given = false;
    const json_t *v = member(obj, path, key, required, err, errlen, &rc);
    if (!v) return rc;
    if (!json_is_array(v))
        return errbuf_fail(err, errlen, "%s%s%s: must be an array", path, sep, key);
    if (nonempty && json_array_size(v) == 0)
        return errbuf_fail(err, errlen, "%s%s%s: at least one is required", path, sep, key);
    *out = 0;
    size_t i;
    const json_t *item;
    json_array_foreach (v, i, item) {
        int k = enum_index(item, names, n);
        if (k < 0) {
            char at[96];
            snprintf(at, sizeof at, "%s%s%s[%zu]", path, sep, key, i);
            return bad_enum("", at, names, n, err, errlen);
        }
        *out |= 1u << k;
    }
    *given = true;
    return 0;
}

static int get_flags(const json_t *obj, const char *key, const char *const *names, size_t n,
                     bool nonempty, unsigned *out, char *err, size_t errlen)
{
    bool given;
    return get_flags_at(obj, "", key, true, names, n, nonempty, out, &given, err, errlen);
}

/* An RFC 3339 time with offset into whole seconds since the epoch; ABSENT when optional and
 * absent. */
static int get_time(const json_t *obj, const char *path, const char *key, bool required,
                    int64_t *out, char *err, size_t errlen)
{
    int rc;
    const char *sep = *path ? "." : "";
    *out = RULES_ABSENT;
    const json_t *v = member(obj, path, key, required, err, errlen, &rc);
    if (!v) return rc;
    if (!json_is_string(v))
        return errbuf_fail(err, errlen, "%s%s%s: must be a string (RFC 3339 time with offset)",
                           path, sep, key);
    char why[128];
    int64_t ms;
    if (timefmt_parse_rfc3339(json_string_value(v), &ms, why, sizeof why) != 0)
        return errbuf_fail(err, errlen, "%s%s%s: %s", path, sep, key, why);
    /* A clock counts whole seconds; floor so that 23:59:59.9 stays on its day. */
    *out = timefmt_ms_to_s(ms);
    return 0;
}

/* The optional kind-of-body flags of the reporter or a client (issue 7). */
static int get_body(const json_t *obj, const char *path, rules_body *b, char *err, size_t errlen)
{
    return get_bool_opt(obj, path, "public_body", false, &b->public_body, err, errlen) ||
                   get_bool_opt(obj, path, "local_government", false, &b->local_government, err,
                                errlen) ||
                   get_bool_opt(obj, path, "ordinance_sensitive", false, &b->ordinance_sensitive,
                                err, errlen)
               ? -1
               : 0;
}

static int parse_reporter(const json_t *root, rules_facts *f, char *err, size_t errlen)
{
    static const char *const keys[] = {"role",        "number_use_entity", "public_body_system",
                                       "public_body", "local_government",  "ordinance_sensitive",
                                       "employees"};
    int rc, role;
    const json_t *r = member(root, "", "reporter", true, err, errlen, &rc);
    if (!r) return rc;
    if (!json_is_object(r)) return errbuf_fail(err, errlen, "reporter: must be an object");
    if (check_keys(r, "reporter", keys, COUNT(keys), err, errlen) ||
        get_enum(r, "reporter", "role", rules_role_names, COUNT(rules_role_names), &role, err,
                 errlen) ||
        get_bool(r, "reporter", "number_use_entity", &f->number_use_entity, err, errlen) ||
        get_bool(r, "reporter", "public_body_system", &f->public_body_system, err, errlen) ||
        get_body(r, "reporter", &f->body, err, errlen) ||
        get_count(r, "reporter", "employees", false, &f->employees, err, errlen))
        return -1;
    f->role = (rules_role)role;
    f->employees_given = f->employees != RULES_ABSENT;
    return 0;
}

static int parse_clients(const json_t *root, facts_doc *doc, char *err, size_t errlen)
{
    static const char *const keys[] = {
        "client_id",    "persons",     "persons_max",      "contract_notice_hours", "systems",
        "appi_persons", "public_body", "local_government", "ordinance_sensitive",   "known_at"};
    int rc;
    const json_t *arr = member(root, "", "clients", true, err, errlen, &rc);
    if (!arr) return rc;
    if (!json_is_array(arr)) return errbuf_fail(err, errlen, "clients: must be an array");
    size_t n = json_array_size(arr);
    doc->clients = n ? calloc(n, sizeof *doc->clients) : NULL;
    if (n && !doc->clients)
        return errbuf_fail(err, errlen, "clients: out of memory for %zu clients", n);
    size_t i;
    const json_t *c;
    json_array_foreach (arr, i, c) {
        char path[48];
        snprintf(path, sizeof path, "clients[%zu]", i);
        if (!json_is_object(c)) return errbuf_fail(err, errlen, "%s: must be an object", path);
        rules_client *out = &doc->clients[i];
        if (check_keys(c, path, keys, COUNT(keys), err, errlen) ||
            get_text(c, path, "client_id", out->client_id, sizeof out->client_id, err, errlen) ||
            get_count(c, path, "persons", true, &out->persons, err, errlen) ||
            get_count(c, path, "persons_max", false, &out->persons_max, err, errlen) ||
            get_hours(c, path, "contract_notice_hours", &out->contract_notice_hours, err, errlen) ||
            get_flags_at(c, path, "systems", false, rules_system_names, COUNT(rules_system_names),
                         false, &out->systems, &out->systems_given, err, errlen) ||
            get_count(c, path, "appi_persons", false, &out->appi_persons, err, errlen) ||
            get_body(c, path, &out->body, err, errlen) ||
            get_time(c, path, "known_at", false, &out->known_at, err, errlen))
            return -1;
        out->appi_persons_given = out->appi_persons != RULES_ABSENT;
        out->known_at_given = out->known_at != RULES_ABSENT;
    }
    doc->facts.clients = doc->clients;
    doc->facts.n_clients = n;
    return 0;
}

static int parse_appi(const json_t *root, rules_facts *f, char *err, size_t errlen)
{
    static const char *const keys[] = {"sensitive", "financial_risk", "persons"};
    int rc;
    f->appi.persons = RULES_ABSENT;
    const json_t *a = member(root, "", "appi", false, err, errlen, &rc);
    if (!a) return rc;
    if (!json_is_object(a)) return errbuf_fail(err, errlen, "appi: must be an object");
    return check_keys(a, "appi", keys, COUNT(keys), err, errlen) ||
                   get_bool(a, "appi", "sensitive", &f->appi.sensitive, err, errlen) ||
                   get_bool(a, "appi", "financial_risk", &f->appi.financial_risk, err, errlen) ||
                   get_count(a, "appi", "persons", false, &f->appi.persons, err, errlen)
               ? -1
               : 0;
}

static int parse_notice2015(const json_t *root, rules_facts *f, char *err, size_t errlen)
{
    static const char *const keys[] = {"all_persons_contacted", "no_external_leak",
                                       "investigation_done"};
    int rc;
    const json_t *n = member(root, "", "notice_2015", false, err, errlen, &rc);
    if (!n) return rc;
    if (!json_is_object(n)) return errbuf_fail(err, errlen, "notice_2015: must be an object");
    rules_notice2015 *c = &f->notice2015;
    if (check_keys(n, "notice_2015", keys, COUNT(keys), err, errlen) ||
        get_bool(n, "notice_2015", "all_persons_contacted", &c->all_persons_contacted, err,
                 errlen) ||
        get_bool(n, "notice_2015", "no_external_leak", &c->no_external_leak, err, errlen) ||
        get_bool(n, "notice_2015", "investigation_done", &c->investigation_done, err, errlen))
        return -1;
    f->notice2015_given = true;
    return 0;
}

/* The plain facts every IncidentOpened states (lib/model/fact_fields.h: BITS, SYM and BOOL
 * that are REQ) are top-level members of the document under their own keys, in the table's
 * order. The other facts have shapes of their own here (reporter, appi, actor, notice_2015). */
#define FJ_PLAIN(key, field, bit, kind, vocab, names, core, opened)                                \
    FJ_PLAIN_##kind##_##opened(key, names, core)
#define FJ_NOT_PLAIN(key, names, core)
#define FJ_PLAIN_TIME_REQ FJ_NOT_PLAIN
#define FJ_PLAIN_TEXT_REQ FJ_NOT_PLAIN
#define FJ_PLAIN_REPORTER_REQ FJ_NOT_PLAIN
#define FJ_PLAIN_TEXT_OPT FJ_NOT_PLAIN
#define FJ_PLAIN_BOOL_OPT FJ_NOT_PLAIN
#define FJ_PLAIN_SYM_OPT FJ_NOT_PLAIN
#define FJ_PLAIN_NOTICE_OPT FJ_NOT_PLAIN

/* Their keys, each followed by a comma. */
#define FJ_PLAIN_KEY(key, field, bit, kind, vocab, names, core, opened)                            \
    FJ_PLAIN_KEY_##kind##_##opened(key)
#define FJ_PLAIN_KEY_BITS_REQ(key) #key,
#define FJ_PLAIN_KEY_SYM_REQ(key) #key,
#define FJ_PLAIN_KEY_BOOL_REQ(key) #key,
#define FJ_PLAIN_KEY_TIME_REQ(key)
#define FJ_PLAIN_KEY_TEXT_REQ(key)
#define FJ_PLAIN_KEY_REPORTER_REQ(key)
#define FJ_PLAIN_KEY_TEXT_OPT(key)
#define FJ_PLAIN_KEY_BOOL_OPT(key)
#define FJ_PLAIN_KEY_SYM_OPT(key)
#define FJ_PLAIN_KEY_NOTICE_OPT(key)

/* Reads them; a case has at least one kind, and may have no system. */
static int parse_plain(const json_t *root, rules_facts *f, char *err, size_t errlen)
{
    int v;
#define FJ_PLAIN_BITS_REQ(key, names, core)                                                        \
    if (get_flags(root, #key, names, COUNT(names), &(names)[0] == &rules_kind_names[0], &f->core,  \
                  err, errlen))                                                                    \
        return -1;
#define FJ_PLAIN_SYM_REQ(key, names, core)                                                         \
    if (get_enum(root, "", #key, names, COUNT(names), &v, err, errlen)) return -1;                 \
    f->core = v;
#define FJ_PLAIN_BOOL_REQ(key, names, core)                                                        \
    if (get_bool(root, "", #key, &f->core, err, errlen)) return -1;
    MNI_FACT_FIELDS(FJ_PLAIN)
#undef FJ_PLAIN_BITS_REQ
#undef FJ_PLAIN_SYM_REQ
#undef FJ_PLAIN_BOOL_REQ
    return 0;
}

int facts_json_from_object(const json_t *root, facts_doc *doc, char *err, size_t errlen)
{
    static const char *const keys[] = {
        "incident_id",      "known_at", "reporter", MNI_FACT_FIELDS(FJ_PLAIN_KEY) "clients",
        "distinct_persons", "appi",     "actor",    "notice_2015"};
    memset(doc, 0, sizeof *doc);
    rules_facts *f = &doc->facts;
    int actor = RULES_ACTOR_UNKNOWN;
    if (!json_is_object(root)) return errbuf_fail(err, errlen, "(document): must be a JSON object");
    if (check_keys(root, "", keys, COUNT(keys), err, errlen) ||
        get_text(root, "", "incident_id", f->incident_id, sizeof f->incident_id, err, errlen) ||
        get_time(root, "", "known_at", true, &f->known_at, err, errlen) ||
        parse_reporter(root, f, err, errlen) || parse_plain(root, f, err, errlen) ||
        parse_clients(root, doc, err, errlen) ||
        get_count(root, "", "distinct_persons", false, &f->distinct_persons, err, errlen) ||
        parse_appi(root, f, err, errlen) ||
        get_enum_opt(root, "", "actor", false, rules_actor_names, COUNT(rules_actor_names), &actor,
                     err, errlen) ||
        parse_notice2015(root, f, err, errlen)) {
        facts_doc_free(doc);
        return -1;
    }
    f->actor = (rules_actor)actor;
    return 0;
}

int facts_json_parse(const char *text, size_t len, facts_doc *doc, char *err, size_t errlen)
{
    json_error_t jerr;
    memset(doc, 0, sizeof *doc);
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return errbuf_fail(err, errlen, "(document): not valid JSON at line %d column %d: %s",
                           jerr.line, jerr.column, jerr.text);
    int rc = facts_json_from_object(root, doc, err, errlen);
    json_decref(root);
    return rc;
}

void facts_doc_free(facts_doc *doc)
{
    free(doc->clients);
    doc->clients = NULL;
    doc->facts.clients = NULL;
    doc->facts.n_clients = 0;
}

static json_t *flags_json(unsigned bits, const char *const *names, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if (bits & (1u << i)) json_array_append_new(arr, json_string(names[i]));
    return arr;
}

/* Only the flags that are set: absent means false, and old readers see the old shape. */
static void body_json(json_t *o, const rules_body *b)
{
    if (b->public_body) json_object_set_new(o, "public_body", json_true());
    if (b->local_government) json_object_set_new(o, "local_government", json_true());
    if (b->ordinance_sensitive) json_object_set_new(o, "ordinance_sensitive", json_true());
}

json_t *facts_json_build(const rules_facts *f)
{
    char when[32];
    timefmt_format_jst(f->known_at, when);
    json_t *clients = json_array();
    for (size_t i = 0; i < f->n_clients; i++) {
        const rules_client *c = &f->clients[i];
        json_t *o =
            json_pack("{s:s, s:I}", "client_id", c->client_id, "persons", (json_int_t)c->persons);
        if (c->persons_max != RULES_ABSENT)
            json_object_set_new(o, "persons_max", json_integer(c->persons_max));
        if (c->contract_notice_hours != RULES_ABSENT)
            json_object_set_new(o, "contract_notice_hours", json_integer(c->contract_notice_hours));
        if (c->systems_given)
            json_object_set_new(
                o, "systems",
                flags_json(c->systems, rules_system_names, COUNT(rules_system_names)));
        if (c->appi_persons_given)
            json_object_set_new(o, "appi_persons", json_integer(c->appi_persons));
        body_json(o, &c->body);
        if (c->known_at_given) {
            char at[32];
            timefmt_format_jst(c->known_at, at);
            json_object_set_new(o, "known_at", json_string(at));
        }
        json_array_append_new(clients, o);
    }
    json_t *root =
        json_pack("{s:s, s:s, s:{s:s, s:b, s:b}}", "incident_id", f->incident_id, "known_at", when,
                  "reporter", "role", rules_role_names[f->role], "number_use_entity",
                  f->number_use_entity, "public_body_system", f->public_body_system);
#define FJ_PLAIN_BITS_REQ(key, names, core)                                                        \
    json_object_set_new(root, #key, flags_json(f->core, names, COUNT(names)));
#define FJ_PLAIN_SYM_REQ(key, names, core)                                                         \
    json_object_set_new(root, #key, json_string(names[f->core]));
#define FJ_PLAIN_BOOL_REQ(key, names, core) json_object_set_new(root, #key, json_boolean(f->core));
    MNI_FACT_FIELDS(FJ_PLAIN)
#undef FJ_PLAIN_BITS_REQ
#undef FJ_PLAIN_SYM_REQ
#undef FJ_PLAIN_BOOL_REQ
    json_object_set_new(root, "clients", clients);
    json_t *reporter = json_object_get(root, "reporter");
    body_json(reporter, &f->body);
    if (f->employees_given) json_object_set_new(reporter, "employees", json_integer(f->employees));
    if (f->actor != RULES_ACTOR_UNKNOWN)
        json_object_set_new(root, "actor", json_string(rules_actor_names[f->actor]));
    if (f->notice2015_given)
        json_object_set_new(root, "notice_2015",
                            json_pack("{s:b, s:b, s:b}", "all_persons_contacted",
                                      f->notice2015.all_persons_contacted, "no_external_leak",
                                      f->notice2015.no_external_leak, "investigation_done",
                                      f->notice2015.investigation_done));
    if (f->distinct_persons != RULES_ABSENT)
        json_object_set_new(root, "distinct_persons", json_integer(f->distinct_persons));
    json_t *appi = json_pack("{s:b, s:b}", "sensitive", f->appi.sensitive, "financial_risk",
                             f->appi.financial_risk);
    if (f->appi.persons != RULES_ABSENT)
        json_object_set_new(appi, "persons", json_integer(f->appi.persons));
    json_object_set_new(root, "appi", appi);
    return root;
}
