/* events_json: the JSON form of mni_event (see events_json.h). */
#include "lib/model/events_json.h"
#include "lib/base/errbuf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fieldpath.h"
#include "lib/model/fact_fields.h"
#include "lib/model/json_tokens.h"

/* ---- RFC 3339 times ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t ej_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void ej_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned ej_days_in_month(int64_t y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* n decimal digits at *p (advanced); -1 when not digits. */
static int ej_digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    return v;
}

int mni_event_time_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, frac = 0, off = 0;
    int64_t t;

    if (s == NULL) return errbuf_fail(err, errlen, "no time");
    y = ej_digits(&p, 4);
    if (y < 0 || *p++ != '-' || (mo = ej_digits(&p, 2)) < 0 || *p++ != '-' ||
        (d = ej_digits(&p, 2)) < 0)
        return errbuf_fail(err, errlen, "\"%s\" does not start with a date YYYY-MM-DD", s);
    if (*p != 'T' && *p != 't' && *p != ' ')
        return errbuf_fail(err, errlen, "\"%s\" has no time after its date (want THH:MM:SS)", s);
    p++;
    if ((h = ej_digits(&p, 2)) < 0 || *p++ != ':' || (mi = ej_digits(&p, 2)) < 0 || *p++ != ':' ||
        (sec = ej_digits(&p, 2)) < 0)
        return errbuf_fail(err, errlen, "\"%s\" has no time HH:MM:SS", s);
    if (*p == '.') {
        int n = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (n < 3) frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0) return errbuf_fail(err, errlen, "\"%s\": no digits after the decimal point", s);
        for (; n < 3; n++)
            frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if ((oh = ej_digits(&p, 2)) < 0 || *p++ != ':' || (om = ej_digits(&p, 2)) < 0 || oh > 23 ||
            om > 59)
            return errbuf_fail(err, errlen, "\"%s\": bad offset (want +HH:MM, -HH:MM or Z)", s);
        off = sign * (oh * 3600 + om * 60);
    } else {
        return errbuf_fail(err, errlen, "\"%s\" has no offset (add Z or +09:00)", s);
    }
    if (*p != '\0') return errbuf_fail(err, errlen, "\"%s\": unexpected text after the offset", s);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > ej_days_in_month(y, (unsigned)mo))
        return errbuf_fail(err, errlen, "\"%s\": no such date", s);
    if (h > 23 || mi > 59 || sec > 59)
        return errbuf_fail(err, errlen,
                           "\"%s\": no such time of day (leap seconds are not "
                           "accepted)",
                           s);
    t = ej_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec - off;
    t = t * 1000 + frac;
    if (t < MNI_EVENT_TIME_MIN || t > MNI_EVENT_TIME_MAX)
        return errbuf_fail(err, errlen, "\"%s\" is outside years 0001-9999 UTC", s);
    *ms = t;
    return 0;
}

int mni_event_time_format(int64_t ms, char out[MNI_EVENT_TIME_LEN])
{
    int64_t sec, days, sod, y;
    int rem;
    unsigned m, d;

    if (ms < MNI_EVENT_TIME_MIN || ms > MNI_EVENT_TIME_MAX) {
        snprintf(out, MNI_EVENT_TIME_LEN, "(out of range)");
        return -1;
    }
    sec = ms / 1000;
    rem = (int)(ms % 1000);
    if (rem < 0) {
        rem += 1000;
        sec--;
    }
    days = sec / 86400;
    sod = sec % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    ej_civil_from_days(days, &y, &m, &d);
    if (rem != 0)
        snprintf(out, MNI_EVENT_TIME_LEN, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", (int)y, m, d,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), rem);
    else
        snprintf(out, MNI_EVENT_TIME_LEN, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int)y, m, d,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    return 0;
}

/* ---- parsing ---- */

typedef struct {
    mni_event *ev;
    fieldpath path;
    char *err;
    size_t errlen;
    /* The fast path (json_tokens.h): body.tokens was cut out of the text jansson parsed (it
     * reads []) and is read from text[span] instead. NULL: the generic path. */
    const char *text;
    const json_tokens_span *span;
} ej_in;

static int in_fail(ej_in *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int in_fail(ej_in *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fieldpath_vfail(&c->path, c->err, c->errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *ej_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* The noun of a symbol set in messages ("unknown kind \"lek\""). */
static const char *ej_sym_noun(mni_event_sym set)
{
    static const char *const nouns[] = {
        [MNI_SYM_TYPE] = "event type",     [MNI_SYM_ROLE] = "role",   [MNI_SYM_KIND] = "kind",
        [MNI_SYM_CERTAINTY] = "certainty", [MNI_SYM_LEVEL] = "level", [MNI_SYM_SYSTEM] = "system",
        [MNI_SYM_VIEWING] = "viewing",     [MNI_SYM_STEP] = "step",   [MNI_SYM_REPORT] = "report",
        [MNI_SYM_CLOSE] = "reason",        [MNI_SYM_ACTOR] = "actor",
    };
    return nouns[set];
}

/* Refuses a key of obj that is not in allowed (NULL-terminated). */
static int in_known(ej_in *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;

    json_object_foreach (obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            size_t old = fieldpath_field(&c->path, key);
            int rc = in_fail(c, "unknown field");
            fieldpath_pop(&c->path, old);
            return rc;
        }
    }
    return 0;
}

/* The value of obj.key with the path pushed: 1 when there (and not null, unless nullable is
 * false, in which case null is reported as the wrong type by the caller), 0 when absent (or
 * null and nullable), -1 when absent and required. Pops with fieldpath_pop(&c->path, *old). */
static int in_get(ej_in *c, json_t *obj, const char *key, bool required, bool nullable,
                  json_t **out, size_t *old)
{
    *old = fieldpath_field(&c->path, key);
    *out = json_object_get(obj, key);
    if (*out == NULL || (nullable && json_is_null(*out))) {
        if (required) return in_fail(c, "missing");
        fieldpath_pop(&c->path, *old);
        return 0;
    }
    return 1;
}

static int in_string_value(ej_in *c, json_t *v, const char **out)
{
    if (!json_is_string(v)) return in_fail(c, "expected a string, got %s", ej_type_of(v));
    if (strlen(json_string_value(v)) != json_string_length(v))
        return in_fail(c, "contains a NUL character");
    *out = arena_strndup(&c->ev->arena, json_string_value(v), json_string_length(v));
    if (*out == NULL) return in_fail(c, "out of memory");
    return 0;
}

/* The typed readers: 1 when set, 0 when absent (optional), -1 on error. */
static int in_string(ej_in *c, json_t *obj, const char *key, bool required, const char **out)
{
    json_t *v;
    size_t old;
    int has = in_get(c, obj, key, required, !required, &v, &old);

    if (has <= 0) return has;
    if (in_string_value(c, v, out)) return -1;
    fieldpath_pop(&c->path, old);
    return 1;
}

static int in_int64(ej_in *c, json_t *obj, const char *key, bool required, int64_t *out)
{
    json_t *v;
    size_t old;
    int has = in_get(c, obj, key, required, !required, &v, &old);

    if (has <= 0) return has;
    if (!json_is_integer(v)) return in_fail(c, "expected an integer, got %s", ej_type_of(v));
    *out = (int64_t)json_integer_value(v);
    fieldpath_pop(&c->path, old);
    return 1;
}

static int in_bool(ej_in *c, json_t *obj, const char *key, bool required, bool *out)
{
    json_t *v;
    size_t old;
    int has = in_get(c, obj, key, required, !required, &v, &old);

    if (has <= 0) return has;
    if (!json_is_boolean(v)) return in_fail(c, "expected true or false, got %s", ej_type_of(v));
    *out = json_is_true(v);
    fieldpath_pop(&c->path, old);
    return 1;
}

static int in_time(ej_in *c, json_t *obj, const char *key, bool required, int64_t *out)
{
    json_t *v;
    size_t old;
    char sub[200];
    int has = in_get(c, obj, key, required, !required, &v, &old);

    if (has <= 0) return has;
    if (!json_is_string(v)) return in_fail(c, "expected an RFC 3339 time, got %s", ej_type_of(v));
    if (mni_event_time_parse(json_string_value(v), out, sub, sizeof(sub)) != 0)
        return in_fail(c, "%s", sub);
    fieldpath_pop(&c->path, old);
    return 1;
}

static int in_sym_value(ej_in *c, json_t *v, mni_event_sym set, int *out)
{
    if (!json_is_string(v))
        return in_fail(c, "expected a %s name, got %s", ej_sym_noun(set), ej_type_of(v));
    if (mni_event_sym_parse(set, json_string_value(v), out) != 0)
        return in_fail(c, "unknown %s \"%s\"", ej_sym_noun(set), json_string_value(v));
    return 0;
}

static int in_sym(ej_in *c, json_t *obj, const char *key, bool required, mni_event_sym set,
                  int *out)
{
    json_t *v;
    size_t old;
    int has = in_get(c, obj, key, required, !required, &v, &old);

    if (has <= 0) return has;
    if (in_sym_value(c, v, set, out)) return -1;
    fieldpath_pop(&c->path, old);
    return 1;
}

static int in_bits(ej_in *c, json_t *obj, const char *key, bool required, mni_event_sym set,
                   unsigned *out)
{
    json_t *v, *item;
    size_t old, i;
    int has = in_get(c, obj, key, required, !required, &v, &old);

    if (has <= 0) return has;
    if (!json_is_array(v))
        return in_fail(c, "expected an array of %s names, got %s", ej_sym_noun(set), ej_type_of(v));
    *out = 0;
    json_array_foreach (v, i, item) {
        size_t o = fieldpath_index(&c->path, i);
        int bit;
        if (in_sym_value(c, item, set, &bit)) return -1;
        *out |= (unsigned)bit;
        fieldpath_pop(&c->path, o);
    }
    fieldpath_pop(&c->path, old);
    return 1;
}

/* The optional kind-of-body flags of a reporter or a client (schema version 3). */
static int in_body_flags(ej_in *c, json_t *obj, rules_body *b)
{
    return in_bool(c, obj, "public_body", false, &b->public_body) < 0 ||
                   in_bool(c, obj, "local_government", false, &b->local_government) < 0 ||
                   in_bool(c, obj, "ordinance_sensitive", false, &b->ordinance_sensitive) < 0
               ? -1
               : 0;
}

static int in_reporter(ej_in *c, json_t *rep, mni_event_reporter *r)
{
    static const char *const keys[] = {"role",
                                       "number_use_entity",
                                       "public_body_system",
                                       "public_body",
                                       "local_government",
                                       "ordinance_sensitive",
                                       "employees",
                                       NULL};
    int x, has;
    if (!json_is_object(rep)) return in_fail(c, "expected an object, got %s", ej_type_of(rep));
    if (in_known(c, rep, keys) || in_sym(c, rep, "role", true, MNI_SYM_ROLE, &x) < 0 ||
        in_bool(c, rep, "number_use_entity", true, &r->number_use_entity) < 0 ||
        in_bool(c, rep, "public_body_system", true, &r->public_body_system) < 0 ||
        in_body_flags(c, rep, &r->body) ||
        (has = in_int64(c, rep, "employees", false, &r->employees)) < 0)
        return -1;
    r->role = (rules_role)x;
    r->employees_given = has > 0;
    return 0;
}

/* notice_2015: 1 when given, 0 when absent or null, -1 on error. */
static int in_notice2015(ej_in *c, json_t *b, rules_notice2015 *n)
{
    static const char *const keys[] = {"all_persons_contacted", "no_external_leak",
                                       "investigation_done", NULL};
    json_t *v;
    size_t old;
    int has = in_get(c, b, "notice_2015", false, true, &v, &old);
    if (has <= 0) return has;
    if (!json_is_object(v)) return in_fail(c, "expected an object, got %s", ej_type_of(v));
    if (in_known(c, v, keys) ||
        in_bool(c, v, "all_persons_contacted", true, &n->all_persons_contacted) < 0 ||
        in_bool(c, v, "no_external_leak", true, &n->no_external_leak) < 0 ||
        in_bool(c, v, "investigation_done", true, &n->investigation_done) < 0)
        return -1;
    fieldpath_pop(&c->path, old);
    return 1;
}

/* client_facts of an exposure event (schema version 3); absent or null: not stated. */
static int in_client_facts(ej_in *c, json_t *b, mni_event_client_facts *cf)
{
    static const char *const keys[] = {"systems",          "appi_persons",        "public_body",
                                       "local_government", "ordinance_sensitive", NULL};
    json_t *v;
    size_t old;
    int has = in_get(c, b, "client_facts", false, true, &v, &old), sys, appi;
    if (has <= 0) return has;
    if (!json_is_object(v)) return in_fail(c, "expected an object, got %s", ej_type_of(v));
    if (in_known(c, v, keys) ||
        (sys = in_bits(c, v, "systems", false, MNI_SYM_SYSTEM, &cf->systems)) < 0 ||
        (appi = in_int64(c, v, "appi_persons", false, &cf->appi_persons)) < 0 ||
        in_body_flags(c, v, &cf->body))
        return -1;
    cf->present = true;
    cf->systems_given = sys > 0;
    cf->appi_persons_given = appi > 0;
    fieldpath_pop(&c->path, old);
    return 1;
}

/* ---- the facts, one row each (lib/model/fact_fields.h) ---- */

typedef enum { EJ_TIME, EJ_TEXT, EJ_REPORTER, EJ_BITS, EJ_SYM, EJ_BOOL, EJ_NOTICE } ej_kind;

typedef struct {
    const char *key;
    unsigned bit;
    ej_kind kind;
    mni_event_sym vocab;
    size_t offset;  /* in mni_event_facts; a SYM fact is read and written as the int it is
                     * (events.c asserts each one is int-sized) */
    bool in_opened; /* an IncidentOpened must state it (else its schema has a default) */
} ej_fact;

#define EJ_REQ true
#define EJ_OPT false
#define EJ_ROW(key, field, bit, kind, vocab, names, core, opened)                                  \
    {#key, bit, EJ_##kind, vocab, offsetof(mni_event_facts, field), EJ_##opened},
static const ej_fact ej_facts[] = {MNI_FACT_FIELDS(EJ_ROW)};
#undef EJ_ROW

/* The body fields of incident_opened; facts_updated has these and "note" (the last). */
#define EJ_KEY(key, field, bit, kind, vocab, names, core, opened) #key,
static const char *const ej_fact_keys[] = {MNI_FACT_FIELDS(EJ_KEY) NULL};
static const char *const ej_update_keys[] = {MNI_FACT_FIELDS(EJ_KEY) "note", NULL};
#undef EJ_KEY

/* One fact: 1 when given, 0 when absent, -1 on error. */
static int in_fact(ej_in *c, json_t *b, const ej_fact *d, bool required, mni_event_facts *f)
{
    void *at = (char *)f + d->offset;
    json_t *v;
    size_t old;
    int has, x;

    switch (d->kind) {
    case EJ_TIME:
        return in_time(c, b, d->key, required, at);
    case EJ_TEXT:
        return in_string(c, b, d->key, required, at);
    case EJ_REPORTER:
        has = in_get(c, b, d->key, required, true, &v, &old);
        if (has <= 0) return has;
        if (in_reporter(c, v, at)) return -1;
        fieldpath_pop(&c->path, old);
        return 1;
    case EJ_BITS:
        return in_bits(c, b, d->key, required, d->vocab, at);
    case EJ_SYM:
        has = in_sym(c, b, d->key, required, d->vocab, &x);
        if (has > 0) *(int *)at = x;
        return has;
    case EJ_BOOL:
        return in_bool(c, b, d->key, required, at);
    case EJ_NOTICE:
        has = in_notice2015(c, b, at);
        f->notice2015_given = has > 0;
        return has;
    }
    return in_fail(c, "unknown fact kind %d", (int)d->kind);
}

/* The facts; with optional (facts_updated) every fact may be absent, and *present says which
 * were given. An IncidentOpened's text without a value gets its schema default "". */
static int in_facts(ej_in *c, json_t *b, mni_event_facts *f, unsigned *present, bool optional)
{
    *present = 0;
    for (size_t i = 0; i < sizeof ej_facts / sizeof ej_facts[0]; i++) {
        const ej_fact *d = &ej_facts[i];
        int has = in_fact(c, b, d, !optional && d->in_opened, f);
        if (has < 0) return -1;
        if (has) *present |= d->bit;
        const char **text = (const char **)(void *)((char *)f + d->offset);
        if (!optional && d->kind == EJ_TEXT && !d->in_opened && *text == NULL) *text = "";
    }
    return 0;
}

static int in_hours(ej_in *c, json_t *b, int64_t *out)
{
    int has;

    *out = MNI_EVENT_ABSENT;
    has = in_int64(c, b, "contract_notice_hours", false, out);
    if (has > 0 && (*out < 0 || *out > INT32_MAX)) {
        (void)fieldpath_field(&c->path, "contract_notice_hours");
        return in_fail(c, "%lld is not a number of hours", (long long)*out);
    }
    return has < 0 ? -1 : 0;
}

static int in_body(ej_in *c, json_t *b)
{
    mni_event *ev = c->ev;
    int x;

    switch (ev->type) {
    case MNI_EVENT_INCIDENT_OPENED: {
        unsigned present;
        return in_known(c, b, ej_fact_keys) || in_facts(c, b, &ev->body.opened, &present, false)
                   ? -1
                   : 0;
    }
    case MNI_EVENT_FACTS_UPDATED: {
        mni_event_facts_updated *u = &ev->body.facts_updated;
        if (in_known(c, b, ej_update_keys) || in_facts(c, b, &u->facts, &u->present, true) ||
            in_string(c, b, "note", false, &u->note) < 0)
            return -1;
        if (u->note == NULL) u->note = "";
        return 0;
    }
    case MNI_EVENT_EXPOSURE_MANIFEST: {
        static const char *const keys[] = {
            "client_id", "batch_id", "tokens", "contract_notice_hours", "client_facts", NULL};
        mni_event_exposure_manifest *m = &ev->body.manifest;
        json_t *toks, *item;
        size_t old, i;
        const char **arr;
        if (in_known(c, b, keys) || in_string(c, b, "client_id", true, &m->client_id) < 0 ||
            in_string(c, b, "batch_id", true, &m->batch_id) < 0 ||
            in_get(c, b, "tokens", true, false, &toks, &old) < 0)
            return -1;
        if (!json_is_array(toks))
            return in_fail(c, "expected an array of strings, got %s", ej_type_of(toks));
        size_t n = c->span != NULL ? c->span->n : json_array_size(toks);
        arr = arena_array(&ev->arena, n, sizeof(*arr));
        if (arr == NULL && n > 0) return in_fail(c, "out of memory");
        if (c->span != NULL) {
            char *chars = arena_array(&ev->arena, n, MNI_EVENT_TOKEN_LEN + 1);
            if (chars == NULL && n > 0) return in_fail(c, "out of memory");
            if (n > 0) json_tokens_copy(c->text, c->span, chars, arr);
        }
        json_array_foreach (toks, i, item) {
            size_t o = fieldpath_index(&c->path, i);
            if (in_string_value(c, item, &arr[i])) return -1;
            fieldpath_pop(&c->path, o);
        }
        fieldpath_pop(&c->path, old);
        m->tokens = arr;
        m->n_tokens = n;
        return in_hours(c, b, &m->contract_notice_hours) ||
                       in_client_facts(c, b, &m->client_facts) < 0
                   ? -1
                   : 0;
    }
    case MNI_EVENT_EXPOSURE_COUNT: {
        static const char *const keys[] = {
            "client_id", "persons", "persons_max", "contract_notice_hours", "client_facts", NULL};
        mni_event_exposure_count *n = &ev->body.count;
        n->persons_max = MNI_EVENT_ABSENT;
        if (in_known(c, b, keys) || in_string(c, b, "client_id", true, &n->client_id) < 0 ||
            in_int64(c, b, "persons", true, &n->persons) < 0 ||
            in_int64(c, b, "persons_max", false, &n->persons_max) < 0)
            return -1;
        return in_hours(c, b, &n->contract_notice_hours) ||
                       in_client_facts(c, b, &n->client_facts) < 0
                   ? -1
                   : 0;
    }
    case MNI_EVENT_RESPONSE_STEP_COMPLETED: {
        static const char *const keys[] = {"step", "completed_at", "note", NULL};
        mni_event_response_step *s = &ev->body.step;
        if (in_known(c, b, keys) || in_sym(c, b, "step", true, MNI_SYM_STEP, &x) < 0 ||
            in_time(c, b, "completed_at", true, &s->completed_at_ms) < 0 ||
            in_string(c, b, "note", false, &s->note) < 0)
            return -1;
        s->step = (mni_event_step)x;
        if (s->note == NULL) s->note = "";
        return 0;
    }
    case MNI_EVENT_REPORT_FILED: {
        static const char *const keys[] = {"report", "client_id", "filed_at", "reference", NULL};
        mni_event_report_filed *r = &ev->body.report;
        if (in_known(c, b, keys) || in_sym(c, b, "report", true, MNI_SYM_REPORT, &x) < 0 ||
            in_string(c, b, "client_id", false, &r->client_id) < 0 ||
            in_time(c, b, "filed_at", true, &r->filed_at_ms) < 0 ||
            in_string(c, b, "reference", true, &r->reference) < 0)
            return -1;
        r->report = (mni_event_report)x;
        return 0;
    }
    case MNI_EVENT_INCIDENT_CLOSED: {
        static const char *const keys[] = {"reason", "note", NULL};
        mni_event_incident_closed *s = &ev->body.closed;
        if (in_known(c, b, keys) || in_sym(c, b, "reason", true, MNI_SYM_CLOSE, &x) < 0 ||
            in_string(c, b, "note", false, &s->note) < 0)
            return -1;
        s->reason = (mni_event_close_reason)x;
        if (s->note == NULL) s->note = "";
        return 0;
    }
    default:
        return in_fail(c, "no event type");
    }
}

/* mni_event_from_json, with body.tokens read from text[span] when span is not NULL. */
static int ej_from_json(json_t *obj, const char *text, const json_tokens_span *span, mni_event *ev,
                        char *err, size_t errlen)
{
    static const char *const keys[] = {"event_id", "incident_id", "tenant", "occurred_at",
                                       "producer", "type",        "body",   NULL};
    ej_in c = {.ev = ev, .err = err, .errlen = errlen, .text = text, .span = span};
    json_t *body;
    size_t old;
    int x, rc = -1;

    mni_event_reset(ev);
    fieldpath_init(&c.path);
    if (!json_is_object(obj)) {
        errbuf_fail(err, errlen, "event: expected an object, got %s", ej_type_of(obj));
        goto out;
    }
    if (in_known(&c, obj, keys) || in_string(&c, obj, "event_id", true, &ev->event_id) < 0 ||
        in_string(&c, obj, "incident_id", true, &ev->incident_id) < 0 ||
        in_string(&c, obj, "tenant", true, &ev->tenant) < 0 ||
        in_time(&c, obj, "occurred_at", true, &ev->occurred_at_ms) < 0 ||
        in_string(&c, obj, "producer", false, &ev->producer) < 0 ||
        in_sym(&c, obj, "type", true, MNI_SYM_TYPE, &x) < 0)
        goto out;
    ev->type = (mni_event_type)x;
    if (ev->producer == NULL) ev->producer = "unknown";
    if (in_get(&c, obj, "body", true, false, &body, &old) < 0) goto out;
    if (!json_is_object(body)) {
        in_fail(&c, "expected an object, got %s", ej_type_of(body));
        goto out;
    }
    if (in_body(&c, body) != 0) goto out;
    fieldpath_pop(&c.path, old);
    rc = mni_event_check(ev, err, errlen);
out:
    if (rc != 0) mni_event_reset(ev);
    return rc;
}

int mni_event_from_json(json_t *obj, mni_event *ev, char *err, size_t errlen)
{
    return ej_from_json(obj, NULL, NULL, ev, err, errlen);
}

/* The fast path (json_tokens.h): jansson parses the text with its plain body.tokens array
 * replaced by [], and the tokens are read from the text. 0 with ev filled; -1 when the text is
 * not for it or anything fails, errors being the generic path's to report. */
static int ej_from_json_fast(const char *text, size_t len, mni_event *ev, char *err, size_t errlen)
{
    json_tokens_span span;
    if (!json_tokens_find(text, len, &span)) return -1;
    size_t rest = len - (span.end - span.start) + 2;
    char *cut = malloc(rest);
    if (cut == NULL) return -1;
    memcpy(cut, text, span.start);
    memcpy(cut + span.start, "[]", 2);
    memcpy(cut + span.start + 2, text + span.end, len - span.end);
    json_t *obj = json_loadb(cut, rest, JSON_REJECT_DUPLICATES, NULL);
    free(cut);
    int rc = obj != NULL ? ej_from_json(obj, text, &span, ev, err, errlen) : -1;
    json_decref(obj);
    return rc;
}

int mni_event_from_json_text(const char *text, size_t len, mni_event *ev, char *err, size_t errlen)
{
    if (ej_from_json_fast(text, len, ev, err, errlen) == 0) return 0;
    return mni_event_from_json_text_generic(text, len, ev, err, errlen);
}

int mni_event_from_json_text_generic(const char *text, size_t len, mni_event *ev, char *err,
                                     size_t errlen)
{
    json_error_t jerr;
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc;

    if (obj == NULL) {
        mni_event_reset(ev);
        return errbuf_fail(err, errlen, "event: invalid JSON at column %d: %s", jerr.column,
                           jerr.text);
    }
    rc = mni_event_from_json(obj, ev, err, errlen);
    json_decref(obj);
    return rc;
}

/* ---- output ---- */

typedef struct {
    bool ok;
} ej_out;

static void out_set(ej_out *o, json_t *obj, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(obj, key, v) != 0) o->ok = false;
}

static json_t *out_time(int64_t ms)
{
    char buf[MNI_EVENT_TIME_LEN];
    return mni_event_time_format(ms, buf) == 0 ? json_string(buf) : NULL;
}

static json_t *out_sym(mni_event_sym set, int value)
{
    const char *s = mni_event_sym_name(set, value);
    return s != NULL ? json_string(s) : NULL;
}

static json_t *out_bits(mni_event_sym set, unsigned bits)
{
    json_t *arr = json_array();

    for (int i = 0; arr != NULL && i < 32; i++) {
        const char *s = (bits & (1u << i)) ? mni_event_sym_name(set, (int)(1u << i)) : NULL;
        if (s != NULL && json_array_append_new(arr, json_string(s)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Only the flags that are set: absent means false, so older consumers see the old shape. */
static void out_body_flags(ej_out *o, json_t *obj, const rules_body *b)
{
    if (b->public_body) out_set(o, obj, "public_body", json_true());
    if (b->local_government) out_set(o, obj, "local_government", json_true());
    if (b->ordinance_sensitive) out_set(o, obj, "ordinance_sensitive", json_true());
}

static void out_client_facts(ej_out *o, json_t *b, const mni_event_client_facts *c)
{
    if (!c->present) return;
    json_t *cf = json_object();
    if (cf != NULL) {
        if (c->systems_given) out_set(o, cf, "systems", out_bits(MNI_SYM_SYSTEM, c->systems));
        if (c->appi_persons_given) out_set(o, cf, "appi_persons", json_integer(c->appi_persons));
        out_body_flags(o, cf, &c->body);
    }
    out_set(o, b, "client_facts", cf);
}

/* One fact that is present. `all`: an IncidentOpened, which leaves out an optional enum at
 * its default (actor "unknown") and notice_2015 when not stated. */
static void out_fact(ej_out *o, json_t *b, const ej_fact *d, const mni_event_facts *f, bool all)
{
    const void *at = (const char *)f + d->offset;
    const char *text;

    switch (d->kind) {
    case EJ_TIME:
        out_set(o, b, d->key, out_time(*(const int64_t *)at));
        break;
    case EJ_TEXT:
        text = *(const char *const *)at;
        out_set(o, b, d->key, json_string(text == NULL && !d->in_opened ? "" : text));
        break;
    case EJ_REPORTER: {
        const mni_event_reporter *rep = at;
        json_t *r = json_object();
        if (r != NULL) {
            out_set(o, r, "role", out_sym(MNI_SYM_ROLE, (int)rep->role));
            out_set(o, r, "number_use_entity", json_boolean(rep->number_use_entity));
            out_set(o, r, "public_body_system", json_boolean(rep->public_body_system));
            out_body_flags(o, r, &rep->body);
            if (rep->employees_given) out_set(o, r, "employees", json_integer(rep->employees));
        }
        out_set(o, b, d->key, r);
        break;
    }
    case EJ_BITS:
        out_set(o, b, d->key, out_bits(d->vocab, *(const unsigned *)at));
        break;
    case EJ_SYM:
        if (all && !d->in_opened && *(const int *)at == 0) break;
        out_set(o, b, d->key, out_sym(d->vocab, *(const int *)at));
        break;
    case EJ_BOOL:
        out_set(o, b, d->key, json_boolean(*(const bool *)at));
        break;
    case EJ_NOTICE: {
        const rules_notice2015 *n = at;
        if (all && !f->notice2015_given) break;
        out_set(o, b, d->key,
                json_pack("{s:b, s:b, s:b}", "all_persons_contacted", n->all_persons_contacted,
                          "no_external_leak", n->no_external_leak, "investigation_done",
                          n->investigation_done));
        break;
    }
    }
}

static void out_facts(ej_out *o, json_t *b, const mni_event_facts *f, unsigned present, bool all)
{
    for (size_t i = 0; i < sizeof ej_facts / sizeof ej_facts[0]; i++)
        if (present & ej_facts[i].bit) out_fact(o, b, &ej_facts[i], f, all);
}

static void out_body(ej_out *o, json_t *b, const mni_event *ev, bool tokens)
{
    switch (ev->type) {
    case MNI_EVENT_INCIDENT_OPENED:
        out_facts(o, b, &ev->body.opened, MNI_FACT_ALL, true);
        break;
    case MNI_EVENT_FACTS_UPDATED:
        out_facts(o, b, &ev->body.facts_updated.facts, ev->body.facts_updated.present, false);
        out_set(
            o, b, "note",
            json_string(ev->body.facts_updated.note != NULL ? ev->body.facts_updated.note : ""));
        break;
    case MNI_EVENT_EXPOSURE_MANIFEST: {
        const mni_event_exposure_manifest *m = &ev->body.manifest;
        out_set(o, b, "client_id", json_string(m->client_id));
        out_set(o, b, "batch_id", json_string(m->batch_id));
        if (tokens) {
            json_t *arr = json_array();
            for (size_t i = 0; arr != NULL && i < m->n_tokens; i++)
                if (json_array_append_new(arr, json_string(m->tokens[i])) != 0) o->ok = false;
            out_set(o, b, "tokens", arr);
        }
        if (m->contract_notice_hours != MNI_EVENT_ABSENT)
            out_set(o, b, "contract_notice_hours", json_integer(m->contract_notice_hours));
        out_client_facts(o, b, &m->client_facts);
        break;
    }
    case MNI_EVENT_EXPOSURE_COUNT: {
        const mni_event_exposure_count *n = &ev->body.count;
        out_set(o, b, "client_id", json_string(n->client_id));
        out_set(o, b, "persons", json_integer(n->persons));
        if (n->persons_max != MNI_EVENT_ABSENT)
            out_set(o, b, "persons_max", json_integer(n->persons_max));
        if (n->contract_notice_hours != MNI_EVENT_ABSENT)
            out_set(o, b, "contract_notice_hours", json_integer(n->contract_notice_hours));
        out_client_facts(o, b, &n->client_facts);
        break;
    }
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
        out_set(o, b, "step", out_sym(MNI_SYM_STEP, (int)ev->body.step.step));
        out_set(o, b, "completed_at", out_time(ev->body.step.completed_at_ms));
        out_set(o, b, "note", json_string(ev->body.step.note != NULL ? ev->body.step.note : ""));
        break;
    case MNI_EVENT_REPORT_FILED:
        out_set(o, b, "report", out_sym(MNI_SYM_REPORT, (int)ev->body.report.report));
        if (ev->body.report.client_id != NULL)
            out_set(o, b, "client_id", json_string(ev->body.report.client_id));
        out_set(o, b, "filed_at", out_time(ev->body.report.filed_at_ms));
        out_set(o, b, "reference", json_string(ev->body.report.reference));
        break;
    case MNI_EVENT_INCIDENT_CLOSED:
        out_set(o, b, "reason", out_sym(MNI_SYM_CLOSE, (int)ev->body.closed.reason));
        out_set(o, b, "note",
                json_string(ev->body.closed.note != NULL ? ev->body.closed.note : ""));
        break;
    default:
        o->ok = false;
    }
}

static json_t *ej_to_json(const mni_event *ev, bool tokens, char *err, size_t errlen)
{
    ej_out o = {.ok = true};
    json_t *obj, *body;

    if (mni_event_check(ev, err, errlen) != 0) return NULL;
    obj = json_object();
    body = json_object();
    if (obj == NULL || body == NULL) {
        json_decref(obj);
        json_decref(body);
        errbuf_fail(err, errlen, "out of memory");
        return NULL;
    }
    out_set(&o, obj, "event_id", json_string(ev->event_id));
    out_set(&o, obj, "incident_id", json_string(ev->incident_id));
    out_set(&o, obj, "tenant", json_string(ev->tenant));
    out_set(&o, obj, "occurred_at", out_time(ev->occurred_at_ms));
    out_set(&o, obj, "producer", json_string(ev->producer != NULL ? ev->producer : "unknown"));
    out_set(&o, obj, "type", out_sym(MNI_SYM_TYPE, (int)ev->type));
    out_body(&o, body, ev, tokens);
    out_set(&o, obj, "body", body);
    if (!o.ok) {
        json_decref(obj);
        errbuf_fail(err, errlen, "event: cannot build its JSON (out of memory)");
        return NULL;
    }
    return obj;
}

json_t *mni_event_to_json(const mni_event *ev, char *err, size_t errlen)
{
    return ej_to_json(ev, true, err, errlen);
}

json_t *mni_event_to_json_without_tokens(const mni_event *ev, char *err, size_t errlen)
{
    return ej_to_json(ev, false, err, errlen);
}

char *mni_event_to_json_text(const mni_event *ev, char *err, size_t errlen)
{
    json_t *obj = mni_event_to_json(ev, err, errlen);
    char *text;

    if (obj == NULL) return NULL;
    text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (text == NULL) errbuf_fail(err, errlen, "event: cannot write its JSON (out of memory)");
    return text;
}
