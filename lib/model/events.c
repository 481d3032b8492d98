/* events: mni_event, its contract checks, its Avro mapping and its text walk (see events.h). */
#include "lib/model/events.h"
#include "lib/base/errbuf.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/model/events_fast.h"
#include "lib/model/fact_fields.h"
#include "lib/serdes/avro_codec.h"
#include "lib/serdes/avro_resolve.h"
#include "rules/vocabulary.h"

/* ---- symbols ---- */

typedef struct {
    const char *name;
    int value;
} ev_sym;

static const ev_sym ev_sym_type[] = {
    {"incident_opened", MNI_EVENT_INCIDENT_OPENED},
    {"facts_updated", MNI_EVENT_FACTS_UPDATED},
    {"exposure_manifest", MNI_EVENT_EXPOSURE_MANIFEST},
    {"exposure_count", MNI_EVENT_EXPOSURE_COUNT},
    {"response_step_completed", MNI_EVENT_RESPONSE_STEP_COMPLETED},
    {"report_filed", MNI_EVENT_REPORT_FILED},
    {"incident_closed", MNI_EVENT_INCIDENT_CLOSED},
};
static const ev_sym ev_sym_step[] = {
    {"internal_report_containment", MNI_STEP_INTERNAL_REPORT_CONTAINMENT},
    {"fact_investigation", MNI_STEP_FACT_INVESTIGATION},
    {"scope_of_impact", MNI_STEP_SCOPE_OF_IMPACT},
    {"preventive_measures", MNI_STEP_PREVENTIVE_MEASURES},
    {"contact_persons", MNI_STEP_CONTACT_PERSONS},
    {"publication", MNI_STEP_PUBLICATION},
};
static const ev_sym ev_sym_report[] = {
    {"ppc_preliminary", MNI_REPORT_PPC_PRELIMINARY},
    {"ppc_final", MNI_REPORT_PPC_FINAL},
    {"client_notice", MNI_REPORT_CLIENT_NOTICE},
    {"principal_notice", MNI_REPORT_PRINCIPAL_NOTICE},
    {"publication", MNI_REPORT_PUBLICATION},
};
static const ev_sym ev_sym_close[] = {
    {"closed", MNI_CLOSE_CLOSED},
    {"withdrawn", MNI_CLOSE_WITHDRAWN},
};

#define EV_N(a) (sizeof(a) / sizeof((a)[0]))

/* A set is either a table of its own (the event model's names) or one of the rule core's
 * positional name arrays (rules/vocabulary.h): value i, or bit 1 << i for a bit set. */
static const struct {
    const ev_sym *v;
    const char *const *names;
    size_t n;
    bool bits;
} ev_syms[] = {
    [MNI_SYM_TYPE] = {ev_sym_type, NULL, EV_N(ev_sym_type), false},
    [MNI_SYM_ROLE] = {NULL, rules_role_names, EV_N(rules_role_names), false},
    [MNI_SYM_KIND] = {NULL, rules_kind_names, EV_N(rules_kind_names), true},
    [MNI_SYM_CERTAINTY] = {NULL, rules_certainty_names, EV_N(rules_certainty_names), false},
    [MNI_SYM_LEVEL] = {NULL, rules_level_names, EV_N(rules_level_names), false},
    [MNI_SYM_SYSTEM] = {NULL, rules_system_names, EV_N(rules_system_names), true},
    [MNI_SYM_VIEWING] = {NULL, rules_viewing_names, EV_N(rules_viewing_names), false},
    [MNI_SYM_STEP] = {ev_sym_step, NULL, EV_N(ev_sym_step), false},
    [MNI_SYM_REPORT] = {ev_sym_report, NULL, EV_N(ev_sym_report), false},
    [MNI_SYM_CLOSE] = {ev_sym_close, NULL, EV_N(ev_sym_close), false},
    [MNI_SYM_ACTOR] = {NULL, rules_actor_names, EV_N(rules_actor_names), false},
};

/* Avro record names of the body kinds, in mni_event_type order. */
static const char *const ev_records[] = {
    [MNI_EVENT_INCIDENT_OPENED] = "IncidentOpened",
    [MNI_EVENT_FACTS_UPDATED] = "FactsUpdated",
    [MNI_EVENT_EXPOSURE_MANIFEST] = "ExposureManifest",
    [MNI_EVENT_EXPOSURE_COUNT] = "ExposureCount",
    [MNI_EVENT_RESPONSE_STEP_COMPLETED] = "ResponseStepCompleted",
    [MNI_EVENT_REPORT_FILED] = "ReportFiled",
    [MNI_EVENT_INCIDENT_CLOSED] = "IncidentClosed",
};

/* The i-th name and value of a set. */
static const char *ev_sym_at(mni_event_sym set, size_t i, int *value)
{
    if (ev_syms[set].v) {
        *value = ev_syms[set].v[i].value;
        return ev_syms[set].v[i].name;
    }
    *value = ev_syms[set].bits ? 1 << i : (int)i;
    return ev_syms[set].names[i];
}

const char *mni_event_sym_name(mni_event_sym set, int value)
{
    if ((size_t)set >= EV_N(ev_syms)) return NULL;
    for (size_t i = 0; i < ev_syms[set].n; i++) {
        int v;
        const char *name = ev_sym_at(set, i, &v);
        if (v == value) return name;
    }
    return NULL;
}

int mni_event_sym_parse(mni_event_sym set, const char *name, int *value)
{
    if ((size_t)set >= EV_N(ev_syms) || name == NULL) return -1;
    for (size_t i = 0; i < ev_syms[set].n; i++) {
        int v;
        if (strcmp(ev_sym_at(set, i, &v), name) == 0) {
            *value = v;
            return 0;
        }
    }
    return -1;
}

const char *mni_event_type_record(mni_event_type t)
{
    return t > MNI_EVENT_NONE && (size_t)t < EV_N(ev_records) ? ev_records[t] : NULL;
}

char *mni_event_manifest_hex(const mni_event_exposure_manifest *m)
{
    char *hex = malloc(m->n_tokens * MNI_EVENT_TOKEN_LEN + 1);
    if (!hex) return NULL;
    for (size_t i = 0; i < m->n_tokens; i++)
        memcpy(hex + i * MNI_EVENT_TOKEN_LEN, m->tokens[i], MNI_EVENT_TOKEN_LEN);
    hex[m->n_tokens * MNI_EVENT_TOKEN_LEN] = '\0';
    return hex;
}

const char *mni_event_client_id(const mni_event *ev)
{
    switch (ev->type) {
    case MNI_EVENT_EXPOSURE_MANIFEST:
        return ev->body.manifest.client_id;
    case MNI_EVENT_EXPOSURE_COUNT:
        return ev->body.count.client_id;
    case MNI_EVENT_REPORT_FILED:
        return ev->body.report.client_id;
    default:
        return NULL;
    }
}

static unsigned ev_bits_mask(mni_event_sym set)
{
    unsigned m = 0;
    for (size_t i = 0; i < ev_syms[set].n; i++) {
        int v;
        ev_sym_at(set, i, &v);
        m |= (unsigned)v;
    }
    return m;
}

/* ---- lifetime ---- */

void mni_event_init(mni_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    arena_init(&ev->arena);
}

void mni_event_reset(mni_event *ev)
{
    mni_arena arena = ev->arena;

    arena_reset(&arena);
    memset(ev, 0, sizeof(*ev));
    ev->arena = arena;
}

void mni_event_free(mni_event *ev)
{
    arena_free(&ev->arena);
    mni_event_init(ev);
}

char *mni_event_strdup(mni_event *ev, const char *s)
{
    return s != NULL ? arena_strndup(&ev->arena, s, strlen(s)) : NULL;
}

void *mni_event_alloc(mni_event *ev, size_t n)
{
    return arena_alloc(&ev->arena, n);
}

/* ---- the facts, one row each (lib/model/fact_fields.h): checks and Avro ---- */

typedef enum { EV_TIME, EV_TEXT, EV_REPORTER, EV_BITS, EV_SYM, EV_BOOL, EV_NOTICE } ev_fact_kind;

typedef struct {
    const char *key;   /* the Avro field */
    const char *field; /* its path in an error */
    unsigned bit;
    ev_fact_kind kind;
    mni_event_sym vocab;
    size_t offset; /* in mni_event_facts */
    bool required; /* an IncidentOpened must state it (TEXT: and not leave it out) */
} ev_fact;

#define EV_REQ true
#define EV_OPT false
#define EV_ROW(key, field, bit, kind, vocab, names, core, opened)                                  \
    {#key, "body." #key, bit, EV_##kind, vocab, offsetof(mni_event_facts, field), EV_##opened},
static const ev_fact ev_facts[] = {MNI_FACT_FIELDS(EV_ROW)};
#undef EV_ROW

/* A SYM fact is an enum, read and written here and in events_json.c as the int it is. */
#define EV_ENUM_IS_INT(key, field, bit, kind, vocab, names, core, opened)                          \
    _Static_assert(sizeof(((mni_event_facts *)0)->field) == sizeof(int) || EV_##kind != EV_SYM,    \
                   #key " is not int-sized");
MNI_FACT_FIELDS(EV_ENUM_IS_INT)
#undef EV_ENUM_IS_INT

/* ---- contract checks ---- */

int mni_event_check_id(const char *field, const char *s, char *err, size_t errlen)
{
    size_t len;

    if (s == NULL) return errbuf_fail(err, errlen, "%s: missing", field);
    len = strlen(s);
    if (len == 0) return errbuf_fail(err, errlen, "%s: empty", field);
    if (len > MNI_EVENT_ID_MAX)
        return errbuf_fail(err, errlen, "%s: %zu bytes, longer than the %d allowed", field, len,
                           MNI_EVENT_ID_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
            return errbuf_fail(err, errlen,
                               "%s: byte %zu is not printable ASCII (ids have no "
                               "spaces)",
                               field, i);
    return 0;
}

/* The first control character of UTF-8 text s that free text may not hold, or -1: C0 controls
 * but tab and line feed (ESC, BEL, CR, ...), DEL, and the C1 controls U+0080..U+009F (C2 80..9F).
 * *at receives its byte offset. */
static long ck_control(const char *s, size_t *at)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; u[i]; i++) {
        if ((u[i] < 0x20 && u[i] != '\t' && u[i] != '\n') || u[i] == 0x7F) {
            *at = i;
            return u[i];
        }
        if (u[i] == 0xC2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
            *at = i;
            return u[i + 1];
        }
    }
    return -1;
}

static int ck_text(const char *field, const char *s, bool required, char *err, size_t errlen)
{
    if (s == NULL) return required ? errbuf_fail(err, errlen, "%s: missing", field) : 0;
    if (!avro_codec_text_ok(s, strlen(s)))
        return errbuf_fail(err, errlen, "%s: not valid UTF-8 text", field);
    size_t at;
    long c = ck_control(s, &at);
    if (c >= 0)
        return errbuf_fail(err, errlen,
                           "%s: control character U+%04lX at byte %zu (free text may hold tab and "
                           "line feed, no other control character)",
                           field, (unsigned long)c, at);
    return 0;
}

static int ck_time(const char *field, int64_t ms, char *err, size_t errlen)
{
    if (ms < MNI_EVENT_TIME_MIN || ms > MNI_EVENT_TIME_MAX)
        return errbuf_fail(err, errlen, "%s: time %lld ms is outside years 0001-9999", field,
                           (long long)ms);
    return 0;
}

static int ck_sym(const char *field, mni_event_sym set, int value, char *err, size_t errlen)
{
    if (mni_event_sym_name(set, value) == NULL)
        return errbuf_fail(err, errlen, "%s: unknown value %d", field, value);
    return 0;
}

static int ck_bits(const char *field, mni_event_sym set, unsigned bits, char *err, size_t errlen)
{
    if (bits & ~ev_bits_mask(set))
        return errbuf_fail(err, errlen, "%s: unknown bits 0x%x", field, bits & ~ev_bits_mask(set));
    return 0;
}

/* Bounded as the rule core bounds it (rules.h), so that a clock the core would refuse is refused
 * here, at the edge, with the field named. (Counts above RULES_MAX_PERSONS still pass: the assess
 * worker dead-letters them with the core's reason, tests/integration/test_assess.c.) */
static int ck_hours(const char *field, int64_t h, char *err, size_t errlen)
{
    if (h != MNI_EVENT_ABSENT && (h < 0 || h > RULES_MAX_NOTICE_HOURS))
        return errbuf_fail(err, errlen,
                           "%s: %lld is not a number of hours from 0 to %lld (10 years)", field,
                           (long long)h, RULES_MAX_NOTICE_HOURS);
    return 0;
}

/* 64 lowercase hex digits and the end, through a table: every token of every manifest is
 * checked at each encode and decode. A NUL fails the table, so nothing past it is read. */
static bool ck_is_token(const char *s)
{
    static const bool hex[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
        ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1};
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0; i < MNI_EVENT_TOKEN_LEN; i++)
        if (!hex[u[i]]) return false;
    return u[MNI_EVENT_TOKEN_LEN] == '\0';
}

/* A local government is a public body; 条例要配慮個人情報 exists only under its ordinance. */
static int ck_body(const char *field, const rules_body *b, char *err, size_t errlen)
{
    if (b->local_government && !b->public_body)
        return errbuf_fail(err, errlen, "%s.local_government: needs public_body", field);
    if (b->ordinance_sensitive && !b->local_government)
        return errbuf_fail(err, errlen, "%s.ordinance_sensitive: needs local_government", field);
    return 0;
}

static int ck_client_facts(const mni_event_client_facts *c, int64_t persons, char *err,
                           size_t errlen)
{
    if (!c->present) return 0;
    if (c->systems_given &&
        ck_bits("body.client_facts.systems", MNI_SYM_SYSTEM, c->systems, err, errlen))
        return -1;
    if (c->appi_persons_given && c->appi_persons < 0)
        return errbuf_fail(err, errlen, "body.client_facts.appi_persons: %lld is negative",
                           (long long)c->appi_persons);
    /* My Number data is personal data too: the APPI count holds the counted persons. */
    if (c->appi_persons_given && c->appi_persons < persons)
        return errbuf_fail(err, errlen,
                           "body.client_facts.appi_persons: %lld is below persons (%lld)",
                           (long long)c->appi_persons, (long long)persons);
    return ck_body("body.client_facts", &c->body, err, errlen);
}

/* One fact that is present. */
static int ck_fact(const ev_fact *d, const mni_event_facts *f, char *err, size_t errlen)
{
    const void *at = (const char *)f + d->offset;

    switch (d->kind) {
    case EV_TIME:
        return ck_time(d->field, *(const int64_t *)at, err, errlen);
    case EV_TEXT:
        return ck_text(d->field, *(const char *const *)at, d->required, err, errlen);
    case EV_REPORTER: {
        const mni_event_reporter *r = at;
        if (ck_sym("body.reporter.role", MNI_SYM_ROLE, (int)r->role, err, errlen) ||
            ck_body("body.reporter", &r->body, err, errlen))
            return -1;
        if (r->employees_given && r->employees < 0)
            return errbuf_fail(err, errlen, "body.reporter.employees: %lld is negative",
                               (long long)r->employees);
        return 0;
    }
    case EV_BITS:
        return ck_bits(d->field, d->vocab, *(const unsigned *)at, err, errlen);
    case EV_SYM:
        return ck_sym(d->field, d->vocab, *(const int *)at, err, errlen);
    case EV_BOOL:
    case EV_NOTICE:
        return 0;
    }
    return errbuf_fail(err, errlen, "%s: unknown fact kind %d", d->field, (int)d->kind);
}

static int ck_facts(const mni_event_facts *f, unsigned present, char *err, size_t errlen)
{
    if (present & ~(unsigned)MNI_FACT_ALL)
        return errbuf_fail(err, errlen, "body: unknown fact bits 0x%x",
                           present & ~(unsigned)MNI_FACT_ALL);
    for (size_t i = 0; i < EV_N(ev_facts); i++)
        if ((present & ev_facts[i].bit) && ck_fact(&ev_facts[i], f, err, errlen)) return -1;
    return 0;
}

int mni_event_check(const mni_event *ev, char *err, size_t errlen)
{
    if (mni_event_check_id("event_id", ev->event_id, err, errlen) ||
        mni_event_check_id("incident_id", ev->incident_id, err, errlen) ||
        mni_event_check_id("tenant", ev->tenant, err, errlen) ||
        ck_time("occurred_at", ev->occurred_at_ms, err, errlen) ||
        (ev->producer != NULL && mni_event_check_id("producer", ev->producer, err, errlen)))
        return -1;
    switch (ev->type) {
    case MNI_EVENT_INCIDENT_OPENED:
        return ck_facts(&ev->body.opened, MNI_FACT_ALL, err, errlen);
    case MNI_EVENT_FACTS_UPDATED:
        if (ck_facts(&ev->body.facts_updated.facts, ev->body.facts_updated.present, err, errlen))
            return -1;
        return ck_text("body.note", ev->body.facts_updated.note, false, err, errlen);
    case MNI_EVENT_EXPOSURE_MANIFEST: {
        const mni_event_exposure_manifest *m = &ev->body.manifest;
        if (mni_event_check_id("body.client_id", m->client_id, err, errlen) ||
            mni_event_check_id("body.batch_id", m->batch_id, err, errlen) ||
            ck_hours("body.contract_notice_hours", m->contract_notice_hours, err, errlen))
            return -1;
        if (m->n_tokens > 0 && m->tokens == NULL)
            return errbuf_fail(err, errlen, "body.tokens: %zu tokens but no array", m->n_tokens);
        for (size_t i = 0; i < m->n_tokens; i++)
            if (m->tokens[i] == NULL || !ck_is_token(m->tokens[i]))
                return errbuf_fail(err, errlen, "body.tokens[%zu]: not %d lowercase hex digits", i,
                                   MNI_EVENT_TOKEN_LEN);
        /* A batch is not the client's count: appi_persons is checked against none. */
        return ck_client_facts(&m->client_facts, 0, err, errlen);
    }
    case MNI_EVENT_EXPOSURE_COUNT: {
        const mni_event_exposure_count *c = &ev->body.count;
        if (mni_event_check_id("body.client_id", c->client_id, err, errlen) ||
            ck_hours("body.contract_notice_hours", c->contract_notice_hours, err, errlen))
            return -1;
        if (c->persons < 0)
            return errbuf_fail(err, errlen, "body.persons: %lld is negative",
                               (long long)c->persons);
        if (c->persons_max != MNI_EVENT_ABSENT && c->persons_max < c->persons)
            return errbuf_fail(err, errlen, "body.persons_max: %lld is below persons (%lld)",
                               (long long)c->persons_max, (long long)c->persons);
        return ck_client_facts(&c->client_facts, c->persons, err, errlen);
    }
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
        if (ck_sym("body.step", MNI_SYM_STEP, (int)ev->body.step.step, err, errlen) ||
            ck_time("body.completed_at", ev->body.step.completed_at_ms, err, errlen))
            return -1;
        return ck_text("body.note", ev->body.step.note, false, err, errlen);
    case MNI_EVENT_REPORT_FILED:
        if (ck_sym("body.report", MNI_SYM_REPORT, (int)ev->body.report.report, err, errlen) ||
            (ev->body.report.client_id != NULL &&
             mni_event_check_id("body.client_id", ev->body.report.client_id, err, errlen)) ||
            ck_time("body.filed_at", ev->body.report.filed_at_ms, err, errlen))
            return -1;
        return ck_text("body.reference", ev->body.report.reference, true, err, errlen);
    case MNI_EVENT_INCIDENT_CLOSED:
        if (ck_sym("body.reason", MNI_SYM_CLOSE, (int)ev->body.closed.reason, err, errlen))
            return -1;
        return ck_text("body.note", ev->body.closed.note, false, err, errlen);
    default:
        return errbuf_fail(err, errlen, "type: no event kind set");
    }
}

/* ---- Avro: writing ---- */

/* Every Avro C call is checked; field names the place, avro_strerror the cause. */
#define EV_AVRO(call, field)                                                                       \
    do {                                                                                           \
        if ((call) != 0) return errbuf_fail(err, errlen, "%s: %s", (field), avro_strerror());      \
    } while (0)

static int put_field(avro_value_t *rec, const char *name, avro_value_t *out, const char *field,
                     char *err, size_t errlen)
{
    EV_AVRO(avro_value_get_by_name(rec, name, out, NULL), field);
    return 0;
}

static int put_string(avro_value_t *v, const char *s, const char *field, char *err, size_t errlen)
{
    EV_AVRO(avro_value_set_string(v, s != NULL ? s : ""), field);
    return 0;
}

static int put_sym(avro_value_t *v, mni_event_sym set, int value, const char *field, char *err,
                   size_t errlen)
{
    const char *sym = mni_event_sym_name(set, value);
    avro_schema_t es = avro_resolve_deref(avro_value_get_schema(v));
    int idx = sym != NULL && es != NULL ? avro_schema_enum_get_by_name(es, sym) : -1;

    if (idx < 0)
        return errbuf_fail(err, errlen, "%s: value %d has no symbol in the schema", field, value);
    EV_AVRO(avro_value_set_enum(v, idx), field);
    return 0;
}

/* A set of bits as an array of symbols, in table order. */
static int put_bits(avro_value_t *arr, mni_event_sym set, unsigned bits, const char *field,
                    char *err, size_t errlen)
{
    for (size_t i = 0; i < ev_syms[set].n; i++) {
        avro_value_t item;
        int v;
        ev_sym_at(set, i, &v);
        if (!(bits & (unsigned)v)) continue;
        EV_AVRO(avro_value_append(arr, &item, NULL), field);
        if (put_sym(&item, set, v, field, err, errlen)) return -1;
    }
    return 0;
}

/* The slot of a fact: the field itself, or for an optional field the non-null branch when the
 * fact is present (after setting null when absent). 1: write *out; 0: nothing to write. */
static int put_slot(avro_value_t *rec, const char *name, bool optional, bool present,
                    avro_value_t *out, const char *field, char *err, size_t errlen)
{
    avro_value_t f;

    if (put_field(rec, name, optional ? &f : out, field, err, errlen)) return -1;
    if (!optional) return 1;
    if (!present) {
        EV_AVRO(avro_value_set_branch(&f, 0, out), field);
        EV_AVRO(avro_value_set_null(out), field);
        return 0;
    }
    EV_AVRO(avro_value_set_branch(&f, 1, out), field);
    return 1;
}

/* A ["null", T] field: *out is the T branch when present. */
static int put_nullable(avro_value_t *rec, const char *name, bool present, avro_value_t *out,
                        const char *field, char *err, size_t errlen)
{
    return put_slot(rec, name, true, present, out, field, err, errlen);
}

static int put_bool(avro_value_t *rec, const char *name, bool b, const char *field, char *err,
                    size_t errlen)
{
    avro_value_t v;
    if (put_field(rec, name, &v, field, err, errlen)) return -1;
    EV_AVRO(avro_value_set_boolean(&v, b), field);
    return 0;
}

/* A ["null", "long"] field. */
static int put_opt_long(avro_value_t *rec, const char *name, bool given, int64_t x,
                        const char *field, char *err, size_t errlen)
{
    avro_value_t v;
    int has = put_nullable(rec, name, given, &v, field, err, errlen);
    if (has < 0) return -1;
    if (has) EV_AVRO(avro_value_set_long(&v, x), field);
    return 0;
}

static int put_body_flags(avro_value_t *rec, const rules_body *b, const char *at, char *err,
                          size_t errlen)
{
    char field[64];
    snprintf(field, sizeof field, "%s.public_body", at);
    if (put_bool(rec, "public_body", b->public_body, field, err, errlen)) return -1;
    snprintf(field, sizeof field, "%s.local_government", at);
    if (put_bool(rec, "local_government", b->local_government, field, err, errlen)) return -1;
    snprintf(field, sizeof field, "%s.ordinance_sensitive", at);
    return put_bool(rec, "ordinance_sensitive", b->ordinance_sensitive, field, err, errlen);
}

static int put_reporter(avro_value_t *v, const mni_event_reporter *r, char *err, size_t errlen)
{
    avro_value_t sub;
    if (put_field(v, "role", &sub, "body.reporter.role", err, errlen) ||
        put_sym(&sub, MNI_SYM_ROLE, (int)r->role, "body.reporter.role", err, errlen) ||
        put_bool(v, "number_use_entity", r->number_use_entity, "body.reporter.number_use_entity",
                 err, errlen) ||
        put_bool(v, "public_body_system", r->public_body_system, "body.reporter.public_body_system",
                 err, errlen) ||
        put_body_flags(v, &r->body, "body.reporter", err, errlen))
        return -1;
    return put_opt_long(v, "employees", r->employees_given, r->employees, "body.reporter.employees",
                        err, errlen);
}

static int put_notice2015(avro_value_t *v, const rules_notice2015 *n, char *err, size_t errlen)
{
    return put_bool(v, "all_persons_contacted", n->all_persons_contacted,
                    "body.notice_2015.all_persons_contacted", err, errlen) ||
                   put_bool(v, "no_external_leak", n->no_external_leak,
                            "body.notice_2015.no_external_leak", err, errlen) ||
                   put_bool(v, "investigation_done", n->investigation_done,
                            "body.notice_2015.investigation_done", err, errlen)
               ? -1
               : 0;
}

static int put_client_facts(avro_value_t *rec, const mni_event_client_facts *c, char *err,
                            size_t errlen)
{
    avro_value_t v, sys;
    int has = put_nullable(rec, "client_facts", c->present, &v, "body.client_facts", err, errlen);
    if (has <= 0) return has;
    has = put_nullable(&v, "systems", c->systems_given, &sys, "body.client_facts.systems", err,
                       errlen);
    if (has < 0 ||
        (has &&
         put_bits(&sys, MNI_SYM_SYSTEM, c->systems, "body.client_facts.systems", err, errlen)) ||
        put_opt_long(&v, "appi_persons", c->appi_persons_given, c->appi_persons,
                     "body.client_facts.appi_persons", err, errlen))
        return -1;
    return put_body_flags(&v, &c->body, "body.client_facts", err, errlen);
}

/* One fact's value into its slot v. */
static int put_fact(avro_value_t *v, const ev_fact *d, const mni_event_facts *f, char *err,
                    size_t errlen)
{
    const void *at = (const char *)f + d->offset;

    switch (d->kind) {
    case EV_TIME:
        EV_AVRO(avro_value_set_long(v, *(const int64_t *)at), d->field);
        return 0;
    case EV_TEXT:
        return put_string(v, *(const char *const *)at, d->field, err, errlen);
    case EV_REPORTER:
        return put_reporter(v, at, err, errlen);
    case EV_BITS:
        return put_bits(v, d->vocab, *(const unsigned *)at, d->field, err, errlen);
    case EV_SYM:
        return put_sym(v, d->vocab, *(const int *)at, d->field, err, errlen);
    case EV_BOOL:
        EV_AVRO(avro_value_set_boolean(v, *(const bool *)at), d->field);
        return 0;
    case EV_NOTICE:
        return put_notice2015(v, at, err, errlen);
    }
    return errbuf_fail(err, errlen, "%s: unknown fact kind %d", d->field, (int)d->kind);
}

/* The facts of an IncidentOpened (every one, each its own field) or, optional, of a
 * FactsUpdated (each ["null", T], null when not in present). notice_2015 is nullable in both
 * kinds: null when not stated, in an update unchanged. */
static int put_facts(avro_value_t *rec, const mni_event_facts *f, unsigned present, bool optional,
                     char *err, size_t errlen)
{
    for (size_t i = 0; i < EV_N(ev_facts); i++) {
        const ev_fact *d = &ev_facts[i];
        bool notice = d->kind == EV_NOTICE;
        bool given = notice && !optional ? f->notice2015_given : (present & d->bit) != 0;
        avro_value_t v;
        int has = put_slot(rec, d->key, optional || notice, given, &v, d->field, err, errlen);

        if (has < 0 || (has && put_fact(&v, d, f, err, errlen))) return -1;
    }
    return 0;
}

static int put_hours(avro_value_t *rec, int64_t hours, char *err, size_t errlen)
{
    avro_value_t v;
    int has = put_nullable(rec, "contract_notice_hours", hours != MNI_EVENT_ABSENT, &v,
                           "body.contract_notice_hours", err, errlen);
    if (has < 0) return -1;
    if (has) EV_AVRO(avro_value_set_int(&v, (int32_t)hours), "body.contract_notice_hours");
    return 0;
}

static int put_body(avro_value_t *b, const mni_event *ev, char *err, size_t errlen)
{
    avro_value_t v;
    int has;

    switch (ev->type) {
    case MNI_EVENT_INCIDENT_OPENED:
        return put_facts(b, &ev->body.opened, MNI_FACT_ALL, false, err, errlen);
    case MNI_EVENT_FACTS_UPDATED:
        if (put_facts(b, &ev->body.facts_updated.facts, ev->body.facts_updated.present, true, err,
                      errlen) ||
            put_field(b, "note", &v, "body.note", err, errlen))
            return -1;
        return put_string(&v, ev->body.facts_updated.note, "body.note", err, errlen);
    case MNI_EVENT_EXPOSURE_MANIFEST: {
        const mni_event_exposure_manifest *m = &ev->body.manifest;
        if (put_field(b, "client_id", &v, "body.client_id", err, errlen) ||
            put_string(&v, m->client_id, "body.client_id", err, errlen) ||
            put_field(b, "batch_id", &v, "body.batch_id", err, errlen) ||
            put_string(&v, m->batch_id, "body.batch_id", err, errlen) ||
            put_field(b, "tokens", &v, "body.tokens", err, errlen))
            return -1;
        for (size_t i = 0; i < m->n_tokens; i++) {
            avro_value_t item;
            EV_AVRO(avro_value_append(&v, &item, NULL), "body.tokens");
            if (put_string(&item, m->tokens[i], "body.tokens", err, errlen)) return -1;
        }
        if (put_hours(b, m->contract_notice_hours, err, errlen)) return -1;
        return put_client_facts(b, &m->client_facts, err, errlen);
    }
    case MNI_EVENT_EXPOSURE_COUNT: {
        const mni_event_exposure_count *c = &ev->body.count;
        if (put_field(b, "client_id", &v, "body.client_id", err, errlen) ||
            put_string(&v, c->client_id, "body.client_id", err, errlen) ||
            put_field(b, "persons", &v, "body.persons", err, errlen))
            return -1;
        EV_AVRO(avro_value_set_long(&v, c->persons), "body.persons");
        has = put_nullable(b, "persons_max", c->persons_max != MNI_EVENT_ABSENT, &v,
                           "body.persons_max", err, errlen);
        if (has < 0) return -1;
        if (has) EV_AVRO(avro_value_set_long(&v, c->persons_max), "body.persons_max");
        if (put_hours(b, c->contract_notice_hours, err, errlen)) return -1;
        return put_client_facts(b, &c->client_facts, err, errlen);
    }
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
        if (put_field(b, "step", &v, "body.step", err, errlen) ||
            put_sym(&v, MNI_SYM_STEP, (int)ev->body.step.step, "body.step", err, errlen) ||
            put_field(b, "completed_at", &v, "body.completed_at", err, errlen))
            return -1;
        EV_AVRO(avro_value_set_long(&v, ev->body.step.completed_at_ms), "body.completed_at");
        if (put_field(b, "note", &v, "body.note", err, errlen)) return -1;
        return put_string(&v, ev->body.step.note, "body.note", err, errlen);
    case MNI_EVENT_REPORT_FILED: {
        const mni_event_report_filed *r = &ev->body.report;
        if (put_field(b, "report", &v, "body.report", err, errlen) ||
            put_sym(&v, MNI_SYM_REPORT, (int)r->report, "body.report", err, errlen))
            return -1;
        has = put_nullable(b, "client_id", r->client_id != NULL, &v, "body.client_id", err, errlen);
        if (has < 0 || (has && put_string(&v, r->client_id, "body.client_id", err, errlen)) ||
            put_field(b, "filed_at", &v, "body.filed_at", err, errlen))
            return -1;
        EV_AVRO(avro_value_set_long(&v, r->filed_at_ms), "body.filed_at");
        if (put_field(b, "reference", &v, "body.reference", err, errlen)) return -1;
        return put_string(&v, r->reference, "body.reference", err, errlen);
    }
    case MNI_EVENT_INCIDENT_CLOSED:
        if (put_field(b, "reason", &v, "body.reason", err, errlen) ||
            put_sym(&v, MNI_SYM_CLOSE, (int)ev->body.closed.reason, "body.reason", err, errlen) ||
            put_field(b, "note", &v, "body.note", err, errlen))
            return -1;
        return put_string(&v, ev->body.closed.note, "body.note", err, errlen);
    default:
        return errbuf_fail(err, errlen, "type: no event kind set");
    }
}

static int put_event(avro_value_t *rec, const mni_event *ev, char *err, size_t errlen)
{
    avro_value_t v, body;
    avro_schema_t us;
    int branch;

    if (put_field(rec, "event_id", &v, "event_id", err, errlen) ||
        put_string(&v, ev->event_id, "event_id", err, errlen) ||
        put_field(rec, "incident_id", &v, "incident_id", err, errlen) ||
        put_string(&v, ev->incident_id, "incident_id", err, errlen) ||
        put_field(rec, "tenant", &v, "tenant", err, errlen) ||
        put_string(&v, ev->tenant, "tenant", err, errlen) ||
        put_field(rec, "occurred_at", &v, "occurred_at", err, errlen))
        return -1;
    EV_AVRO(avro_value_set_long(&v, ev->occurred_at_ms), "occurred_at");
    if (put_field(rec, "producer", &v, "producer", err, errlen) ||
        put_string(&v, ev->producer != NULL ? ev->producer : "unknown", "producer", err, errlen) ||
        put_field(rec, "body", &v, "body", err, errlen))
        return -1;
    us = avro_resolve_deref(avro_value_get_schema(&v));
    if (mni_event_type_record(ev->type) == NULL || us == NULL ||
        avro_schema_union_branch_by_name(us, &branch, mni_event_type_record(ev->type)) == NULL)
        return errbuf_fail(err, errlen, "body: the schema has no branch for event type %d",
                           (int)ev->type);
    EV_AVRO(avro_value_set_branch(&v, branch, &body), "body");
    return put_body(&body, ev, err, errlen);
}

/* ev, already checked, through Avro C. */
static int ev_encode_avro(const schema_set *schemas, const mni_event *ev, wire_buf *out, char *err,
                          size_t errlen)
{
    avro_value_t rec;
    const schema_def *s;
    int rc;

    if (avro_codec_new(schemas, EVENTS_SCHEMA_INCIDENT_EVENT, &rec, &s, err, errlen) != 0)
        return -1;
    rc = put_event(&rec, ev, err, errlen);
    if (rc == 0) rc = avro_codec_encode(s, &rec, out, err, errlen);
    avro_value_decref(&rec);
    return rc;
}

int mni_event_encode(const schema_set *schemas, const mni_event *ev, wire_buf *out, char *err,
                     size_t errlen)
{
    if (mni_event_check(ev, err, errlen) != 0) return -1;
    /* A manifest of the current schema is written straight as bytes (events_fast.h), the same
     * bytes Avro C writes; any other event, and every one that path does not take, goes through
     * Avro C. */
    const schema_def *s = schema_set_current(schemas, EVENTS_SCHEMA_INCIDENT_EVENT);
    if (s != NULL && mni_event_encode_manifest_fast(s, ev, out) == 0) return 0;
    return ev_encode_avro(schemas, ev, out, err, errlen);
}

int mni_event_encode_generic(const schema_set *schemas, const mni_event *ev, wire_buf *out,
                             char *err, size_t errlen)
{
    if (mni_event_check(ev, err, errlen) != 0) return -1;
    return ev_encode_avro(schemas, ev, out, err, errlen);
}

/* ---- Avro: reading (a value of the current schema, already checked and resolved) ---- */

static int get_field(avro_value_t *rec, const char *name, avro_value_t *out, const char *field,
                     char *err, size_t errlen)
{
    EV_AVRO(avro_value_get_by_name(rec, name, out, NULL), field);
    return 0;
}

static int get_string(mni_event *ev, avro_value_t *v, const char **out, const char *field,
                      char *err, size_t errlen)
{
    const char *s;
    size_t size;

    EV_AVRO(avro_value_get_string(v, &s, &size), field);
    *out = arena_strndup(&ev->arena, s, size > 0 ? size - 1 : 0);
    if (*out == NULL) return errbuf_fail(err, errlen, "%s: out of memory", field);
    return 0;
}

static int get_bool(avro_value_t *v, bool *out, const char *field, char *err, size_t errlen)
{
    int b;

    EV_AVRO(avro_value_get_boolean(v, &b), field);
    *out = b != 0;
    return 0;
}

static int get_sym(avro_value_t *v, mni_event_sym set, int *out, const char *field, char *err,
                   size_t errlen)
{
    int idx;
    const char *sym;

    EV_AVRO(avro_value_get_enum(v, &idx), field);
    sym = avro_schema_enum_get(avro_resolve_deref(avro_value_get_schema(v)), idx);
    if (sym == NULL || mni_event_sym_parse(set, sym, out) != 0)
        return errbuf_fail(err, errlen, "%s: unknown symbol %s", field, sym != NULL ? sym : "?");
    return 0;
}

static int get_bits(avro_value_t *arr, mni_event_sym set, unsigned *out, const char *field,
                    char *err, size_t errlen)
{
    size_t n;

    *out = 0;
    EV_AVRO(avro_value_get_size(arr, &n), field);
    for (size_t i = 0; i < n; i++) {
        avro_value_t item;
        int bit;
        EV_AVRO(avro_value_get_by_index(arr, i, &item, NULL), field);
        if (get_sym(&item, set, &bit, field, err, errlen)) return -1;
        *out |= (unsigned)bit; /* a set: order and repeats carry no meaning */
    }
    return 0;
}

/* The slot of a fact to read: 1 with *out set when the value is there, 0 when null. */
static int get_slot(avro_value_t *rec, const char *name, bool optional, avro_value_t *out,
                    const char *field, char *err, size_t errlen)
{
    avro_value_t f;

    if (get_field(rec, name, optional ? &f : out, field, err, errlen)) return -1;
    if (!optional) return 1;
    EV_AVRO(avro_value_get_current_branch(&f, out), field);
    return avro_value_get_type(out) == AVRO_NULL ? 0 : 1;
}

static int get_named_bool(avro_value_t *rec, const char *name, bool *out, const char *field,
                          char *err, size_t errlen)
{
    avro_value_t v;
    return get_field(rec, name, &v, field, err, errlen) || get_bool(&v, out, field, err, errlen)
               ? -1
               : 0;
}

/* A ["null", "long"] field: *given says whether it was there. */
static int get_opt_long(avro_value_t *rec, const char *name, bool *given, int64_t *x,
                        const char *field, char *err, size_t errlen)
{
    avro_value_t v;
    int has = get_slot(rec, name, true, &v, field, err, errlen);
    *given = has > 0;
    if (has < 0) return -1;
    if (has) EV_AVRO(avro_value_get_long(&v, x), field);
    return 0;
}

static int get_body_flags(avro_value_t *rec, rules_body *b, const char *at, char *err,
                          size_t errlen)
{
    char field[64];
    snprintf(field, sizeof field, "%s.public_body", at);
    if (get_named_bool(rec, "public_body", &b->public_body, field, err, errlen)) return -1;
    snprintf(field, sizeof field, "%s.local_government", at);
    if (get_named_bool(rec, "local_government", &b->local_government, field, err, errlen))
        return -1;
    snprintf(field, sizeof field, "%s.ordinance_sensitive", at);
    return get_named_bool(rec, "ordinance_sensitive", &b->ordinance_sensitive, field, err, errlen);
}

static int get_reporter(avro_value_t *v, mni_event_reporter *r, char *err, size_t errlen)
{
    avro_value_t sub;
    int x;
    if (get_field(v, "role", &sub, "body.reporter.role", err, errlen) ||
        get_sym(&sub, MNI_SYM_ROLE, &x, "body.reporter.role", err, errlen))
        return -1;
    r->role = (rules_role)x;
    return get_named_bool(v, "number_use_entity", &r->number_use_entity,
                          "body.reporter.number_use_entity", err, errlen) ||
                   get_named_bool(v, "public_body_system", &r->public_body_system,
                                  "body.reporter.public_body_system", err, errlen) ||
                   get_body_flags(v, &r->body, "body.reporter", err, errlen) ||
                   get_opt_long(v, "employees", &r->employees_given, &r->employees,
                                "body.reporter.employees", err, errlen)
               ? -1
               : 0;
}

static int get_notice2015(avro_value_t *v, rules_notice2015 *n, char *err, size_t errlen)
{
    return get_named_bool(v, "all_persons_contacted", &n->all_persons_contacted,
                          "body.notice_2015.all_persons_contacted", err, errlen) ||
                   get_named_bool(v, "no_external_leak", &n->no_external_leak,
                                  "body.notice_2015.no_external_leak", err, errlen) ||
                   get_named_bool(v, "investigation_done", &n->investigation_done,
                                  "body.notice_2015.investigation_done", err, errlen)
               ? -1
               : 0;
}

static int get_client_facts(avro_value_t *rec, mni_event_client_facts *c, char *err, size_t errlen)
{
    avro_value_t v, sys;
    int has = get_slot(rec, "client_facts", true, &v, "body.client_facts", err, errlen);
    memset(c, 0, sizeof *c);
    if (has <= 0) return has;
    c->present = true;
    has = get_slot(&v, "systems", true, &sys, "body.client_facts.systems", err, errlen);
    c->systems_given = has > 0;
    if (has < 0 ||
        (has &&
         get_bits(&sys, MNI_SYM_SYSTEM, &c->systems, "body.client_facts.systems", err, errlen)) ||
        get_opt_long(&v, "appi_persons", &c->appi_persons_given, &c->appi_persons,
                     "body.client_facts.appi_persons", err, errlen))
        return -1;
    return get_body_flags(&v, &c->body, "body.client_facts", err, errlen);
}

/* One fact's value from its slot v. */
static int get_fact(mni_event *ev, avro_value_t *v, const ev_fact *d, mni_event_facts *f, char *err,
                    size_t errlen)
{
    void *at = (char *)f + d->offset;

    switch (d->kind) {
    case EV_TIME:
        EV_AVRO(avro_value_get_long(v, at), d->field);
        return 0;
    case EV_TEXT:
        return get_string(ev, v, at, d->field, err, errlen);
    case EV_REPORTER:
        return get_reporter(v, at, err, errlen);
    case EV_BITS:
        return get_bits(v, d->vocab, at, d->field, err, errlen);
    case EV_SYM:
        return get_sym(v, d->vocab, at, d->field, err, errlen);
    case EV_BOOL:
        return get_bool(v, at, d->field, err, errlen);
    case EV_NOTICE:
        return get_notice2015(v, at, err, errlen);
    }
    return errbuf_fail(err, errlen, "%s: unknown fact kind %d", d->field, (int)d->kind);
}

/* The facts, as put_facts wrote them; *present says which an update states. In an update, a
 * stated notice_2015 is a fact that changes; in IncidentOpened every fact is there,
 * notice_2015_given telling whether it was stated. */
static int get_facts(mni_event *ev, avro_value_t *rec, mni_event_facts *f, unsigned *present,
                     bool optional, char *err, size_t errlen)
{
    *present = 0;
    for (size_t i = 0; i < EV_N(ev_facts); i++) {
        const ev_fact *d = &ev_facts[i];
        bool notice = d->kind == EV_NOTICE;
        avro_value_t v;
        int has = get_slot(rec, d->key, optional || notice, &v, d->field, err, errlen);

        if (has < 0) return -1;
        if (notice) f->notice2015_given = has > 0;
        if (has || !optional) *present |= d->bit;
        if (has && get_fact(ev, &v, d, f, err, errlen)) return -1;
    }
    return 0;
}

static int get_hours(avro_value_t *rec, int64_t *out, char *err, size_t errlen)
{
    avro_value_t v;
    int32_t h;
    int has =
        get_slot(rec, "contract_notice_hours", true, &v, "body.contract_notice_hours", err, errlen);

    *out = MNI_EVENT_ABSENT;
    if (has < 0) return -1;
    if (has) {
        EV_AVRO(avro_value_get_int(&v, &h), "body.contract_notice_hours");
        *out = h;
    }
    return 0;
}

static int get_body(mni_event *ev, avro_value_t *b, char *err, size_t errlen)
{
    avro_value_t v;
    int has, x;

    switch (ev->type) {
    case MNI_EVENT_INCIDENT_OPENED: {
        unsigned present;
        return get_facts(ev, b, &ev->body.opened, &present, false, err, errlen);
    }
    case MNI_EVENT_FACTS_UPDATED:
        if (get_facts(ev, b, &ev->body.facts_updated.facts, &ev->body.facts_updated.present, true,
                      err, errlen) ||
            get_field(b, "note", &v, "body.note", err, errlen))
            return -1;
        return get_string(ev, &v, &ev->body.facts_updated.note, "body.note", err, errlen);
    case MNI_EVENT_EXPOSURE_MANIFEST: {
        mni_event_exposure_manifest *m = &ev->body.manifest;
        const char **tokens;
        size_t n;
        if (get_field(b, "client_id", &v, "body.client_id", err, errlen) ||
            get_string(ev, &v, &m->client_id, "body.client_id", err, errlen) ||
            get_field(b, "batch_id", &v, "body.batch_id", err, errlen) ||
            get_string(ev, &v, &m->batch_id, "body.batch_id", err, errlen) ||
            get_field(b, "tokens", &v, "body.tokens", err, errlen))
            return -1;
        EV_AVRO(avro_value_get_size(&v, &n), "body.tokens");
        tokens = arena_array(&ev->arena, n, sizeof(*tokens));
        if (tokens == NULL && n > 0) return errbuf_fail(err, errlen, "body.tokens: out of memory");
        for (size_t i = 0; i < n; i++) {
            avro_value_t item;
            EV_AVRO(avro_value_get_by_index(&v, i, &item, NULL), "body.tokens");
            if (get_string(ev, &item, &tokens[i], "body.tokens", err, errlen)) return -1;
        }
        m->tokens = tokens;
        m->n_tokens = n;
        if (get_hours(b, &m->contract_notice_hours, err, errlen)) return -1;
        return get_client_facts(b, &m->client_facts, err, errlen) < 0 ? -1 : 0;
    }
    case MNI_EVENT_EXPOSURE_COUNT: {
        mni_event_exposure_count *c = &ev->body.count;
        if (get_field(b, "client_id", &v, "body.client_id", err, errlen) ||
            get_string(ev, &v, &c->client_id, "body.client_id", err, errlen) ||
            get_field(b, "persons", &v, "body.persons", err, errlen))
            return -1;
        EV_AVRO(avro_value_get_long(&v, &c->persons), "body.persons");
        c->persons_max = MNI_EVENT_ABSENT;
        has = get_slot(b, "persons_max", true, &v, "body.persons_max", err, errlen);
        if (has < 0) return -1;
        if (has) EV_AVRO(avro_value_get_long(&v, &c->persons_max), "body.persons_max");
        if (get_hours(b, &c->contract_notice_hours, err, errlen)) return -1;
        return get_client_facts(b, &c->client_facts, err, errlen) < 0 ? -1 : 0;
    }
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
        if (get_field(b, "step", &v, "body.step", err, errlen) ||
            get_sym(&v, MNI_SYM_STEP, &x, "body.step", err, errlen))
            return -1;
        ev->body.step.step = (mni_event_step)x;
        if (get_field(b, "completed_at", &v, "body.completed_at", err, errlen)) return -1;
        EV_AVRO(avro_value_get_long(&v, &ev->body.step.completed_at_ms), "body.completed_at");
        if (get_field(b, "note", &v, "body.note", err, errlen)) return -1;
        return get_string(ev, &v, &ev->body.step.note, "body.note", err, errlen);
    case MNI_EVENT_REPORT_FILED: {
        mni_event_report_filed *r = &ev->body.report;
        if (get_field(b, "report", &v, "body.report", err, errlen) ||
            get_sym(&v, MNI_SYM_REPORT, &x, "body.report", err, errlen))
            return -1;
        r->report = (mni_event_report)x;
        has = get_slot(b, "client_id", true, &v, "body.client_id", err, errlen);
        if (has < 0 || (has && get_string(ev, &v, &r->client_id, "body.client_id", err, errlen)) ||
            get_field(b, "filed_at", &v, "body.filed_at", err, errlen))
            return -1;
        EV_AVRO(avro_value_get_long(&v, &r->filed_at_ms), "body.filed_at");
        if (get_field(b, "reference", &v, "body.reference", err, errlen)) return -1;
        return get_string(ev, &v, &r->reference, "body.reference", err, errlen);
    }
    case MNI_EVENT_INCIDENT_CLOSED:
        if (get_field(b, "reason", &v, "body.reason", err, errlen) ||
            get_sym(&v, MNI_SYM_CLOSE, &x, "body.reason", err, errlen))
            return -1;
        ev->body.closed.reason = (mni_event_close_reason)x;
        if (get_field(b, "note", &v, "body.note", err, errlen)) return -1;
        return get_string(ev, &v, &ev->body.closed.note, "body.note", err, errlen);
    default:
        return errbuf_fail(err, errlen, "body: unknown event kind");
    }
}

static int get_event(mni_event *ev, avro_value_t *rec, char *err, size_t errlen)
{
    avro_value_t v, body;
    const char *name;

    if (get_field(rec, "event_id", &v, "event_id", err, errlen) ||
        get_string(ev, &v, &ev->event_id, "event_id", err, errlen) ||
        get_field(rec, "incident_id", &v, "incident_id", err, errlen) ||
        get_string(ev, &v, &ev->incident_id, "incident_id", err, errlen) ||
        get_field(rec, "tenant", &v, "tenant", err, errlen) ||
        get_string(ev, &v, &ev->tenant, "tenant", err, errlen) ||
        get_field(rec, "occurred_at", &v, "occurred_at", err, errlen))
        return -1;
    EV_AVRO(avro_value_get_long(&v, &ev->occurred_at_ms), "occurred_at");
    if (get_field(rec, "producer", &v, "producer", err, errlen) ||
        get_string(ev, &v, &ev->producer, "producer", err, errlen) ||
        get_field(rec, "body", &v, "body", err, errlen))
        return -1;
    EV_AVRO(avro_value_get_current_branch(&v, &body), "body");
    name = avro_schema_name(avro_resolve_deref(avro_value_get_schema(&body)));
    for (int t = MNI_EVENT_INCIDENT_OPENED; t <= MNI_EVENT_INCIDENT_CLOSED; t++)
        if (name != NULL && strcmp(name, ev_records[t]) == 0) ev->type = (mni_event_type)t;
    if (ev->type == MNI_EVENT_NONE)
        return errbuf_fail(err, errlen, "body: unknown event kind %s", name != NULL ? name : "?");
    return get_body(ev, &body, err, errlen);
}

int mni_event_decode(const schema_set *schemas, const uint8_t *msg, size_t len, mni_event *ev,
                     char *err, size_t errlen)
{
    const schema_def *writer;

    /* A manifest of the current schema is read straight from its bytes (events_fast.h); any
     * other message, and every one that path does not take, goes through Avro C. */
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    if (wire_decode(msg, len, &id, &payload, &plen, err, errlen) == 0 &&
        (writer = schema_set_resolve(schemas, id, err, errlen)) != NULL &&
        mni_event_decode_manifest_fast(writer, payload, plen, ev) == 0) {
        if (mni_event_check(ev, err, errlen) == 0) return 0;
    }
    return mni_event_decode_generic(schemas, msg, len, ev, err, errlen);
}

int mni_event_decode_generic(const schema_set *schemas, const uint8_t *msg, size_t len,
                             mni_event *ev, char *err, size_t errlen)
{
    avro_value_t rec;
    const schema_def *writer;
    int rc;

    mni_event_reset(ev);
    if (avro_codec_decode(schemas, msg, len, EVENTS_SCHEMA_INCIDENT_EVENT, &rec, &writer, err,
                          errlen) != 0)
        return -1;
    rc = get_event(ev, &rec, err, errlen);
    avro_value_decref(&rec);
    if (rc == 0) {
        ev->schema_id = writer->id;
        rc = mni_event_check(ev, err, errlen);
    }
    if (rc != 0) mni_event_reset(ev);
    return rc;
}

/* ---- texts ---- */

int mni_event_foreach_text(const mni_event *ev, mni_event_text_fn fn, void *ctx)
{
    int rc;

#define EV_VISIT(field, kind, s)                                                                   \
    if ((s) != NULL && (rc = fn((field), (kind), (s), strlen(s), ctx)) != 0) return rc;

    EV_VISIT("event_id", MNI_TEXT_ID, ev->event_id);
    EV_VISIT("incident_id", MNI_TEXT_ID, ev->incident_id);
    EV_VISIT("tenant", MNI_TEXT_ID, ev->tenant);
    EV_VISIT("producer", MNI_TEXT_ID, ev->producer);
    switch (ev->type) {
    case MNI_EVENT_INCIDENT_OPENED:
        EV_VISIT("body.title", MNI_TEXT_FREE, ev->body.opened.title);
        EV_VISIT("body.description", MNI_TEXT_FREE, ev->body.opened.description);
        break;
    case MNI_EVENT_FACTS_UPDATED: {
        const mni_event_facts_updated *u = &ev->body.facts_updated;
        if (u->present & MNI_FACT_TITLE) EV_VISIT("body.title", MNI_TEXT_FREE, u->facts.title);
        if (u->present & MNI_FACT_DESCRIPTION)
            EV_VISIT("body.description", MNI_TEXT_FREE, u->facts.description);
        EV_VISIT("body.note", MNI_TEXT_FREE, u->note);
        break;
    }
    case MNI_EVENT_EXPOSURE_MANIFEST: {
        const mni_event_exposure_manifest *m = &ev->body.manifest;
        EV_VISIT("body.client_id", MNI_TEXT_ID, m->client_id);
        EV_VISIT("body.batch_id", MNI_TEXT_ID, m->batch_id);
        /* "body.tokens[i]", written by hand: a manifest has thousands of tokens. */
        char field[48] = "body.tokens[";
        const size_t prefix = sizeof "body.tokens[" - 1;
        for (size_t i = 0; m->tokens != NULL && i < m->n_tokens; i++) {
            char digits[24];
            size_t at = sizeof digits, k = i;
            do {
                digits[--at] = (char)('0' + k % 10);
                k /= 10;
            } while (k > 0);
            memcpy(field + prefix, digits + at, sizeof digits - at);
            memcpy(field + prefix + sizeof digits - at, "]", 2);
            EV_VISIT(field, MNI_TEXT_TOKEN, m->tokens[i]);
        }
        break;
    }
    case MNI_EVENT_EXPOSURE_COUNT:
        EV_VISIT("body.client_id", MNI_TEXT_ID, ev->body.count.client_id);
        break;
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
        EV_VISIT("body.note", MNI_TEXT_FREE, ev->body.step.note);
        break;
    case MNI_EVENT_REPORT_FILED:
        EV_VISIT("body.client_id", MNI_TEXT_ID, ev->body.report.client_id);
        EV_VISIT("body.reference", MNI_TEXT_FREE, ev->body.report.reference);
        break;
    case MNI_EVENT_INCIDENT_CLOSED:
        EV_VISIT("body.note", MNI_TEXT_FREE, ev->body.closed.note);
        break;
    default:
        break;
    }
#undef EV_VISIT
    return 0;
}
