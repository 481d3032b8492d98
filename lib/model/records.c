/* records: CaseAssessment, NotifyTask and Ticket codecs (see records.h). */
#include "lib/model/records.h"
#include "lib/base/errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/serdes/avro_codec.h"
#include "lib/serdes/avro_resolve.h"

/* Every Avro C call is checked; "prefix" + "name" is the field in the message. */
#define RC_AVRO(call)                                                                              \
    do {                                                                                           \
        if ((call) != 0)                                                                           \
            return errbuf_fail(err, errlen, "%s%s: %s", prefix, name, avro_strerror());            \
    } while (0)

static const char *const rc_task_kinds[] = {
    [RECORDS_TASK_CLIENT_NOTICE] = "client_notice",
    [RECORDS_TASK_PPC_PRELIMINARY] = "ppc_preliminary",
    [RECORDS_TASK_PPC_FINAL] = "ppc_final",
    [RECORDS_TASK_PRINCIPAL_NOTICE] = "principal_notice",
    [RECORDS_TASK_PUBLICATION] = "publication",
    [RECORDS_TASK_REMINDER] = "reminder",
    [RECORDS_TASK_ESCALATION] = "escalation",
};

#define RC_N_KINDS (sizeof(rc_task_kinds) / sizeof(rc_task_kinds[0]))

const char *records_task_kind_name(records_task_kind k)
{
    return (size_t)k < RC_N_KINDS ? rc_task_kinds[k] : NULL;
}

int records_task_kind_parse(const char *name, records_task_kind *out)
{
    for (size_t i = 0; name != NULL && i < RC_N_KINDS; i++)
        if (strcmp(name, rc_task_kinds[i]) == 0) {
            *out = (records_task_kind)i;
            return 0;
        }
    return -1;
}

/* ---- checks ---- */

static int ck_id(const char *prefix, const char *name, const char *s, char *err, size_t errlen)
{
    char field[96];
    snprintf(field, sizeof(field), "%s%s", prefix, name);
    return mni_event_check_id(field, s, err, errlen);
}

static int ck_text(const char *prefix, const char *name, const char *s, char *err, size_t errlen)
{
    if (s == NULL) return errbuf_fail(err, errlen, "%s%s: missing", prefix, name);
    if (!avro_codec_text_ok(s, strlen(s)))
        return errbuf_fail(err, errlen, "%s%s: not valid UTF-8 text", prefix, name);
    return 0;
}

static int ck_time(const char *prefix, const char *name, int64_t ms, bool nullable, char *err,
                   size_t errlen)
{
    if (nullable && ms == RECORDS_NO_TIME) return 0;
    if (ms < MNI_EVENT_TIME_MIN || ms > MNI_EVENT_TIME_MAX)
        return errbuf_fail(err, errlen, "%s%s: time %lld ms is outside years 0001-9999", prefix,
                           name, (long long)ms);
    return 0;
}

static int ck_date(const char *prefix, const char *name, const char *s, char *err, size_t errlen)
{
    char buf[32];
    int64_t ms;

    if (s == NULL) return 0;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", s) >= (int)sizeof(buf) ||
        mni_event_time_parse(buf, &ms, NULL, 0) != 0)
        return errbuf_fail(err, errlen, "%s%s: \"%s\" is not a date YYYY-MM-DD", prefix, name, s);
    return 0;
}

static int ck_rules(const char *prefix, const char *const *rules, size_t n, char *err,
                    size_t errlen)
{
    char name[48];

    if (n > 0 && rules == NULL)
        return errbuf_fail(err, errlen, "%srules: %zu rules but no array", prefix, n);
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "rules[%zu]", i);
        if (ck_text(prefix, name, rules[i], err, errlen)) return -1;
    }
    return 0;
}

/* What an abridged record says of itself agrees with what it lists. */
static int ck_abridged(const records_case_assessment *a, char *err, size_t errlen)
{
    if (!a->abridged) {
        if (a->full_verdict != NULL)
            return errbuf_fail(err, errlen, "full_verdict: set on a record that is not abridged");
        if (a->clients_total != 0 && a->clients_total != (int64_t)a->n_clients)
            return errbuf_fail(err, errlen,
                               "clients_total: %lld, but the record is not abridged and lists "
                               "%zu clients",
                               (long long)a->clients_total, a->n_clients);
        return 0;
    }
    if (a->clients_total < (int64_t)a->n_clients)
        return errbuf_fail(err, errlen, "clients_total: %lld is fewer than the %zu clients listed",
                           (long long)a->clients_total, a->n_clients);
    return ck_text("", "full_verdict", a->full_verdict, err, errlen);
}

static int ck_assessment(const records_case_assessment *a, char *err, size_t errlen)
{
    const char *p = "";

    if (ck_id(p, "incident_id", a->incident_id, err, errlen)) return -1;
    if (a->version < 1)
        return errbuf_fail(err, errlen, "version: %lld is not >= 1", (long long)a->version);
    if (ck_time(p, "assessed_at", a->assessed_at_ms, false, err, errlen) ||
        ck_text(p, "regime", a->regime, err, errlen) ||
        ck_text(p, "my_number_status", a->my_number_status, err, errlen) ||
        ck_text(p, "appi_status", a->appi_status, err, errlen) ||
        ck_rules(p, a->rules, a->n_rules, err, errlen))
        return -1;
    if (a->headcount_total < 0)
        return errbuf_fail(err, errlen, "headcount_total: %lld is negative",
                           (long long)a->headcount_total);
    if (a->n_clients > 0 && a->clients == NULL)
        return errbuf_fail(err, errlen, "clients: %zu clients but no array", a->n_clients);
    for (size_t i = 0; i < a->n_clients; i++) {
        const records_client *c = &a->clients[i];
        char cp[48];
        snprintf(cp, sizeof(cp), "clients[%zu].", i);
        if (ck_id(cp, "client_id", c->client_id, err, errlen)) return -1;
        if (c->persons < 0)
            return errbuf_fail(err, errlen, "%spersons: %lld is negative", cp,
                               (long long)c->persons);
        if (ck_text(cp, "status", c->status, err, errlen) ||
            ck_rules(cp, c->rules, c->n_rules, err, errlen))
            return -1;
    }
    return ck_text(p, "route", a->route, err, errlen) ||
                   ck_date("deadlines.", "preliminary_target", a->deadlines.preliminary_target, err,
                           errlen) ||
                   ck_date("deadlines.", "preliminary_latest", a->deadlines.preliminary_latest, err,
                           errlen) ||
                   ck_date("deadlines.", "final", a->deadlines.final, err, errlen) ||
                   ck_date("deadlines.", "appi_final", a->deadlines.appi_final, err, errlen) ||
                   ck_text(p, "verdict_json", a->verdict_json, err, errlen) ||
                   ck_abridged(a, err, errlen)
               ? -1
               : 0;
}

static int ck_task(const records_notify_task *t, char *err, size_t errlen)
{
    const char *p = "";

    if (ck_id(p, "task_id", t->task_id, err, errlen) ||
        ck_id(p, "incident_id", t->incident_id, err, errlen) ||
        (t->client_id != NULL && ck_id(p, "client_id", t->client_id, err, errlen)))
        return -1;
    if (records_task_kind_name(t->kind) == NULL)
        return errbuf_fail(err, errlen, "kind: unknown value %d", (int)t->kind);
    if (ck_time(p, "due_at", t->due_at_ms, true, err, errlen)) return -1;
    if (t->case_version < 1)
        return errbuf_fail(err, errlen, "case_version: %lld is not >= 1",
                           (long long)t->case_version);
    return ck_time(p, "created_at", t->created_at_ms, false, err, errlen) ||
                   ck_text(p, "payload_json", t->payload_json, err, errlen)
               ? -1
               : 0;
}

static int ck_ticket(const records_ticket *t, char *err, size_t errlen)
{
    const char *p = "";

    return ck_id(p, "ticket_id", t->ticket_id, err, errlen) ||
                   ck_id(p, "task_id", t->task_id, err, errlen) ||
                   ck_id(p, "incident_id", t->incident_id, err, errlen) ||
                   (t->client_id != NULL && ck_id(p, "client_id", t->client_id, err, errlen)) ||
                   ck_text(p, "kind", t->kind, err, errlen) ||
                   ck_text(p, "title", t->title, err, errlen) ||
                   ck_text(p, "summary", t->summary, err, errlen) ||
                   ck_time(p, "due_at", t->due_at_ms, true, err, errlen) ||
                   ck_text(p, "document_ref", t->document_ref, err, errlen)
               ? -1
               : 0;
}

/* ---- writing ---- */

static int w_field(avro_value_t *rec, const char *prefix, const char *name, avro_value_t *out,
                   char *err, size_t errlen)
{
    RC_AVRO(avro_value_get_by_name(rec, name, out, NULL));
    return 0;
}

static int w_str(avro_value_t *rec, const char *prefix, const char *name, const char *s, char *err,
                 size_t errlen)
{
    avro_value_t v;
    if (w_field(rec, prefix, name, &v, err, errlen)) return -1;
    RC_AVRO(avro_value_set_string(&v, s));
    return 0;
}

static int w_long(avro_value_t *rec, const char *prefix, const char *name, int64_t x, char *err,
                  size_t errlen)
{
    avro_value_t v;
    if (w_field(rec, prefix, name, &v, err, errlen)) return -1;
    RC_AVRO(avro_value_set_long(&v, x));
    return 0;
}

/* A ["null", T] field: *branch is the T branch when present (1), else null is set (0). */
static int w_nullable(avro_value_t *rec, const char *prefix, const char *name, bool present,
                      avro_value_t *branch, char *err, size_t errlen)
{
    avro_value_t u;
    if (w_field(rec, prefix, name, &u, err, errlen)) return -1;
    RC_AVRO(avro_value_set_branch(&u, present ? 1 : 0, branch));
    if (!present) RC_AVRO(avro_value_set_null(branch));
    return present ? 1 : 0;
}

static int w_opt_str(avro_value_t *rec, const char *prefix, const char *name, const char *s,
                     char *err, size_t errlen)
{
    avro_value_t b;
    int has = w_nullable(rec, prefix, name, s != NULL, &b, err, errlen);
    if (has > 0) RC_AVRO(avro_value_set_string(&b, s));
    return has < 0 ? -1 : 0;
}

static int w_opt_time(avro_value_t *rec, const char *prefix, const char *name, int64_t ms,
                      char *err, size_t errlen)
{
    avro_value_t b;
    int has = w_nullable(rec, prefix, name, ms != RECORDS_NO_TIME, &b, err, errlen);
    if (has > 0) RC_AVRO(avro_value_set_long(&b, ms));
    return has < 0 ? -1 : 0;
}

static int w_bool(avro_value_t *rec, const char *prefix, const char *name, bool x, char *err,
                  size_t errlen)
{
    avro_value_t v;
    if (w_field(rec, prefix, name, &v, err, errlen)) return -1;
    RC_AVRO(avro_value_set_boolean(&v, x ? 1 : 0));
    return 0;
}

static int w_opt_long(avro_value_t *rec, const char *prefix, const char *name, int64_t x, char *err,
                      size_t errlen)
{
    return w_opt_time(rec, prefix, name, x, err, errlen); /* a count is never RECORDS_NO_TIME */
}

static int w_str_array(avro_value_t *rec, const char *prefix, const char *name,
                       const char *const *items, size_t n, char *err, size_t errlen)
{
    avro_value_t arr;
    if (w_field(rec, prefix, name, &arr, err, errlen)) return -1;
    for (size_t i = 0; i < n; i++) {
        avro_value_t item;
        RC_AVRO(avro_value_append(&arr, &item, NULL));
        RC_AVRO(avro_value_set_string(&item, items[i]));
    }
    return 0;
}

static int w_enum(avro_value_t *rec, const char *prefix, const char *name, const char *sym,
                  char *err, size_t errlen)
{
    avro_value_t v;
    int idx;
    if (w_field(rec, prefix, name, &v, err, errlen)) return -1;
    idx = avro_schema_enum_get_by_name(avro_resolve_deref(avro_value_get_schema(&v)), sym);
    if (idx < 0)
        return errbuf_fail(err, errlen, "%s%s: the schema has no symbol %s", prefix, name, sym);
    RC_AVRO(avro_value_set_enum(&v, idx));
    return 0;
}

/* ---- reading ---- */

static int r_field(avro_value_t *rec, const char *prefix, const char *name, avro_value_t *out,
                   char *err, size_t errlen)
{
    RC_AVRO(avro_value_get_by_name(rec, name, out, NULL));
    return 0;
}

static int r_string_value(avro_value_t *v, mni_arena *arena, const char **out, const char *prefix,
                          const char *name, char *err, size_t errlen)
{
    const char *s;
    size_t size;
    RC_AVRO(avro_value_get_string(v, &s, &size));
    *out = arena_strndup(arena, s, size > 0 ? size - 1 : 0);
    if (*out == NULL) return errbuf_fail(err, errlen, "%s%s: out of memory", prefix, name);
    return 0;
}

static int r_str(avro_value_t *rec, const char *prefix, const char *name, mni_arena *arena,
                 const char **out, char *err, size_t errlen)
{
    avro_value_t v;
    return r_field(rec, prefix, name, &v, err, errlen) ||
                   r_string_value(&v, arena, out, prefix, name, err, errlen)
               ? -1
               : 0;
}

static int r_long(avro_value_t *rec, const char *prefix, const char *name, int64_t *out, char *err,
                  size_t errlen)
{
    avro_value_t v;
    if (r_field(rec, prefix, name, &v, err, errlen)) return -1;
    RC_AVRO(avro_value_get_long(&v, out));
    return 0;
}

static int r_bool(avro_value_t *rec, const char *prefix, const char *name, bool *out, char *err,
                  size_t errlen)
{
    avro_value_t v;
    int x;
    if (r_field(rec, prefix, name, &v, err, errlen)) return -1;
    RC_AVRO(avro_value_get_boolean(&v, &x));
    *out = x != 0;
    return 0;
}

/* A ["null", T] field: 1 with *branch when not null, 0 when null. */
static int r_nullable(avro_value_t *rec, const char *prefix, const char *name, avro_value_t *branch,
                      char *err, size_t errlen)
{
    avro_value_t u;
    if (r_field(rec, prefix, name, &u, err, errlen)) return -1;
    RC_AVRO(avro_value_get_current_branch(&u, branch));
    return avro_value_get_type(branch) == AVRO_NULL ? 0 : 1;
}

static int r_opt_str(avro_value_t *rec, const char *prefix, const char *name, mni_arena *arena,
                     const char **out, char *err, size_t errlen)
{
    avro_value_t b;
    int has = r_nullable(rec, prefix, name, &b, err, errlen);
    *out = NULL;
    if (has > 0) return r_string_value(&b, arena, out, prefix, name, err, errlen);
    return has;
}

static int r_opt_time(avro_value_t *rec, const char *prefix, const char *name, int64_t *out,
                      char *err, size_t errlen)
{
    avro_value_t b;
    int has = r_nullable(rec, prefix, name, &b, err, errlen);
    *out = RECORDS_NO_TIME;
    if (has > 0) RC_AVRO(avro_value_get_long(&b, out));
    return has < 0 ? -1 : 0;
}

/* A ["null", "long"] count: RECORDS_NO_TIME when null (never a count). */
static int r_opt_long(avro_value_t *rec, const char *prefix, const char *name, int64_t *out,
                      char *err, size_t errlen)
{
    return r_opt_time(rec, prefix, name, out, err, errlen);
}

static int r_str_array(avro_value_t *rec, const char *prefix, const char *name, mni_arena *arena,
                       const char *const **out, size_t *n, char *err, size_t errlen)
{
    avro_value_t arr;
    const char **items;
    if (r_field(rec, prefix, name, &arr, err, errlen)) return -1;
    RC_AVRO(avro_value_get_size(&arr, n));
    items = arena_array(arena, *n, sizeof(*items));
    if (items == NULL && *n > 0)
        return errbuf_fail(err, errlen, "%s%s: out of memory", prefix, name);
    for (size_t i = 0; i < *n; i++) {
        avro_value_t item;
        RC_AVRO(avro_value_get_by_index(&arr, i, &item, NULL));
        if (r_string_value(&item, arena, &items[i], prefix, name, err, errlen)) return -1;
    }
    *out = items;
    return 0;
}

/* ---- CaseAssessment ---- */

static int put_assessment(avro_value_t *rec, const records_case_assessment *a, char *err,
                          size_t errlen)
{
    const char *prefix = "", *name = "clients";
    avro_value_t clients, dl;

    if (w_str(rec, "", "incident_id", a->incident_id, err, errlen) ||
        w_long(rec, "", "version", a->version, err, errlen) ||
        w_long(rec, "", "assessed_at", a->assessed_at_ms, err, errlen) ||
        w_str(rec, "", "regime", a->regime, err, errlen) ||
        w_str(rec, "", "my_number_status", a->my_number_status, err, errlen) ||
        w_str(rec, "", "appi_status", a->appi_status, err, errlen) ||
        w_str_array(rec, "", "rules", a->rules, a->n_rules, err, errlen) ||
        w_long(rec, "", "headcount_total", a->headcount_total, err, errlen) ||
        w_field(rec, "", "clients", &clients, err, errlen))
        return -1;
    for (size_t i = 0; i < a->n_clients; i++) {
        const records_client *c = &a->clients[i];
        avro_value_t item;
        char cp[48];
        snprintf(cp, sizeof(cp), "clients[%zu].", i);
        RC_AVRO(avro_value_append(&clients, &item, NULL));
        if (w_str(&item, cp, "client_id", c->client_id, err, errlen) ||
            w_long(&item, cp, "persons", c->persons, err, errlen) ||
            w_str(&item, cp, "status", c->status, err, errlen) ||
            w_str_array(&item, cp, "rules", c->rules, c->n_rules, err, errlen))
            return -1;
    }
    return w_str(rec, "", "route", a->route, err, errlen) ||
                   w_field(rec, "", "deadlines", &dl, err, errlen) ||
                   w_opt_str(&dl, "deadlines.", "preliminary_target",
                             a->deadlines.preliminary_target, err, errlen) ||
                   w_opt_str(&dl, "deadlines.", "preliminary_latest",
                             a->deadlines.preliminary_latest, err, errlen) ||
                   w_opt_str(&dl, "deadlines.", "final", a->deadlines.final, err, errlen) ||
                   w_opt_str(&dl, "deadlines.", "appi_final", a->deadlines.appi_final, err,
                             errlen) ||
                   w_str(rec, "", "verdict_json", a->verdict_json, err, errlen) ||
                   w_bool(rec, "", "abridged", a->abridged, err, errlen) ||
                   w_opt_long(rec, "", "clients_total",
                              a->abridged ? a->clients_total : (int64_t)a->n_clients, err,
                              errlen) ||
                   w_opt_str(rec, "", "full_verdict", a->full_verdict, err, errlen)
               ? -1
               : 0;
}

/* The fields after clients: route, deadlines, verdict_json, and the abridgement (id 7). */
static int get_assessment_tail(avro_value_t *rec, mni_arena *arena, records_case_assessment *a,
                               char *err, size_t errlen)
{
    avro_value_t dl;
    return r_str(rec, "", "route", arena, &a->route, err, errlen) ||
                   r_field(rec, "", "deadlines", &dl, err, errlen) ||
                   r_opt_str(&dl, "deadlines.", "preliminary_target", arena,
                             &a->deadlines.preliminary_target, err, errlen) < 0 ||
                   r_opt_str(&dl, "deadlines.", "preliminary_latest", arena,
                             &a->deadlines.preliminary_latest, err, errlen) < 0 ||
                   r_opt_str(&dl, "deadlines.", "final", arena, &a->deadlines.final, err, errlen) <
                       0 ||
                   r_opt_str(&dl, "deadlines.", "appi_final", arena, &a->deadlines.appi_final, err,
                             errlen) < 0 ||
                   r_str(rec, "", "verdict_json", arena, &a->verdict_json, err, errlen) ||
                   r_bool(rec, "", "abridged", &a->abridged, err, errlen) ||
                   r_opt_long(rec, "", "clients_total", &a->clients_total, err, errlen) ||
                   r_opt_str(rec, "", "full_verdict", arena, &a->full_verdict, err, errlen) < 0
               ? -1
               : 0;
}

static int get_assessment(avro_value_t *rec, mni_arena *arena, records_case_assessment *a,
                          char *err, size_t errlen)
{
    const char *prefix = "", *name = "clients";
    avro_value_t clients;
    records_client *cs;
    size_t n;

    if (r_str(rec, "", "incident_id", arena, &a->incident_id, err, errlen) ||
        r_long(rec, "", "version", &a->version, err, errlen) ||
        r_long(rec, "", "assessed_at", &a->assessed_at_ms, err, errlen) ||
        r_str(rec, "", "regime", arena, &a->regime, err, errlen) ||
        r_str(rec, "", "my_number_status", arena, &a->my_number_status, err, errlen) ||
        r_str(rec, "", "appi_status", arena, &a->appi_status, err, errlen) ||
        r_str_array(rec, "", "rules", arena, &a->rules, &a->n_rules, err, errlen) ||
        r_long(rec, "", "headcount_total", &a->headcount_total, err, errlen) ||
        r_field(rec, "", "clients", &clients, err, errlen))
        return -1;
    RC_AVRO(avro_value_get_size(&clients, &n));
    cs = arena_array(arena, n, sizeof(*cs));
    if (cs == NULL && n > 0) return errbuf_fail(err, errlen, "clients: out of memory");
    for (size_t i = 0; i < n; i++) {
        avro_value_t item;
        char cp[48];
        snprintf(cp, sizeof(cp), "clients[%zu].", i);
        RC_AVRO(avro_value_get_by_index(&clients, i, &item, NULL));
        if (r_str(&item, cp, "client_id", arena, &cs[i].client_id, err, errlen) ||
            r_long(&item, cp, "persons", &cs[i].persons, err, errlen) ||
            r_str(&item, cp, "status", arena, &cs[i].status, err, errlen) ||
            r_str_array(&item, cp, "rules", arena, &cs[i].rules, &cs[i].n_rules, err, errlen))
            return -1;
    }
    a->clients = cs;
    a->n_clients = n;
    if (get_assessment_tail(rec, arena, a, err, errlen) != 0) return -1;
    if (a->clients_total == RECORDS_NO_TIME)
        a->clients_total = (int64_t)n;                       /* id 3: all listed */
    else if (!a->abridged && a->clients_total != (int64_t)n) /* 0 means "unset" to encoders only */
        return errbuf_fail(err, errlen,
                           "clients_total: %lld, but the record is not abridged and lists %zu "
                           "clients",
                           (long long)a->clients_total, n);
    return 0;
}

/* ---- NotifyTask ---- */

static int put_task(avro_value_t *rec, const records_notify_task *t, char *err, size_t errlen)
{
    return w_str(rec, "", "task_id", t->task_id, err, errlen) ||
                   w_str(rec, "", "incident_id", t->incident_id, err, errlen) ||
                   w_opt_str(rec, "", "client_id", t->client_id, err, errlen) ||
                   w_enum(rec, "", "kind", records_task_kind_name(t->kind), err, errlen) ||
                   w_opt_time(rec, "", "due_at", t->due_at_ms, err, errlen) ||
                   w_long(rec, "", "case_version", t->case_version, err, errlen) ||
                   w_long(rec, "", "created_at", t->created_at_ms, err, errlen) ||
                   w_str(rec, "", "payload_json", t->payload_json, err, errlen)
               ? -1
               : 0;
}

static int get_task(avro_value_t *rec, mni_arena *arena, records_notify_task *t, char *err,
                    size_t errlen)
{
    const char *prefix = "", *name = "kind";
    avro_value_t v;
    const char *sym;
    int idx;

    if (r_str(rec, "", "task_id", arena, &t->task_id, err, errlen) ||
        r_str(rec, "", "incident_id", arena, &t->incident_id, err, errlen) ||
        r_opt_str(rec, "", "client_id", arena, &t->client_id, err, errlen) < 0 ||
        r_field(rec, "", "kind", &v, err, errlen))
        return -1;
    RC_AVRO(avro_value_get_enum(&v, &idx));
    sym = avro_schema_enum_get(avro_resolve_deref(avro_value_get_schema(&v)), idx);
    if (records_task_kind_parse(sym, &t->kind) != 0)
        return errbuf_fail(err, errlen, "kind: unknown symbol %s", sym != NULL ? sym : "?");
    return r_opt_time(rec, "", "due_at", &t->due_at_ms, err, errlen) ||
                   r_long(rec, "", "case_version", &t->case_version, err, errlen) ||
                   r_long(rec, "", "created_at", &t->created_at_ms, err, errlen) ||
                   r_str(rec, "", "payload_json", arena, &t->payload_json, err, errlen)
               ? -1
               : 0;
}

/* ---- Ticket ---- */

static int put_ticket(avro_value_t *rec, const records_ticket *t, char *err, size_t errlen)
{
    return w_str(rec, "", "ticket_id", t->ticket_id, err, errlen) ||
                   w_str(rec, "", "task_id", t->task_id, err, errlen) ||
                   w_str(rec, "", "incident_id", t->incident_id, err, errlen) ||
                   w_opt_str(rec, "", "client_id", t->client_id, err, errlen) ||
                   w_str(rec, "", "kind", t->kind, err, errlen) ||
                   w_str(rec, "", "title", t->title, err, errlen) ||
                   w_str(rec, "", "summary", t->summary, err, errlen) ||
                   w_opt_time(rec, "", "due_at", t->due_at_ms, err, errlen) ||
                   w_str(rec, "", "document_ref", t->document_ref, err, errlen)
               ? -1
               : 0;
}

static int get_ticket(avro_value_t *rec, mni_arena *arena, records_ticket *t, char *err,
                      size_t errlen)
{
    return r_str(rec, "", "ticket_id", arena, &t->ticket_id, err, errlen) ||
                   r_str(rec, "", "task_id", arena, &t->task_id, err, errlen) ||
                   r_str(rec, "", "incident_id", arena, &t->incident_id, err, errlen) ||
                   r_opt_str(rec, "", "client_id", arena, &t->client_id, err, errlen) < 0 ||
                   r_str(rec, "", "kind", arena, &t->kind, err, errlen) ||
                   r_str(rec, "", "title", arena, &t->title, err, errlen) ||
                   r_str(rec, "", "summary", arena, &t->summary, err, errlen) ||
                   r_opt_time(rec, "", "due_at", &t->due_at_ms, err, errlen) ||
                   r_str(rec, "", "document_ref", arena, &t->document_ref, err, errlen)
               ? -1
               : 0;
}

/* ---- the public codecs: check, build, frame; unframe, resolve, read, check ---- */

typedef int (*rc_put_fn)(avro_value_t *rec, const void *in, char *err, size_t errlen);
typedef int (*rc_get_fn)(avro_value_t *rec, mni_arena *arena, void *out, char *err, size_t errlen);
typedef int (*rc_check_fn)(const void *in, char *err, size_t errlen);

static int rc_encode(const schema_set *schemas, const char *record, rc_check_fn check,
                     rc_put_fn put, const void *in, wire_buf *out, char *err, size_t errlen)
{
    avro_value_t rec;
    const schema_def *s;
    int rc;

    if (check(in, err, errlen) != 0 || avro_codec_new(schemas, record, &rec, &s, err, errlen) != 0)
        return -1;
    rc = put(&rec, in, err, errlen);
    if (rc == 0) rc = avro_codec_encode(s, &rec, out, err, errlen);
    avro_value_decref(&rec);
    return rc;
}

static int rc_decode(const schema_set *schemas, const char *record, const uint8_t *msg, size_t len,
                     rc_check_fn check, rc_get_fn get, mni_arena *arena, void *out, size_t out_size,
                     char *err, size_t errlen)
{
    avro_value_t rec;
    int rc;

    memset(out, 0, out_size);
    if (avro_codec_decode(schemas, msg, len, record, &rec, NULL, err, errlen) != 0) return -1;
    rc = get(&rec, arena, out, err, errlen);
    avro_value_decref(&rec);
    if (rc == 0) rc = check(out, err, errlen);
    if (rc != 0) memset(out, 0, out_size);
    return rc;
}

/* Adapters from the typed functions to the generic ones above. */
static int rc_check_assessment(const void *in, char *err, size_t errlen)
{
    return ck_assessment(in, err, errlen);
}
static int rc_put_assessment(avro_value_t *rec, const void *in, char *err, size_t errlen)
{
    return put_assessment(rec, in, err, errlen);
}
static int rc_get_assessment(avro_value_t *rec, mni_arena *arena, void *out, char *err,
                             size_t errlen)
{
    return get_assessment(rec, arena, out, err, errlen);
}
static int rc_check_task(const void *in, char *err, size_t errlen)
{
    return ck_task(in, err, errlen);
}
static int rc_put_task(avro_value_t *rec, const void *in, char *err, size_t errlen)
{
    return put_task(rec, in, err, errlen);
}
static int rc_get_task(avro_value_t *rec, mni_arena *arena, void *out, char *err, size_t errlen)
{
    return get_task(rec, arena, out, err, errlen);
}
static int rc_check_ticket(const void *in, char *err, size_t errlen)
{
    return ck_ticket(in, err, errlen);
}
static int rc_put_ticket(avro_value_t *rec, const void *in, char *err, size_t errlen)
{
    return put_ticket(rec, in, err, errlen);
}
static int rc_get_ticket(avro_value_t *rec, mni_arena *arena, void *out, char *err, size_t errlen)
{
    return get_ticket(rec, arena, out, err, errlen);
}

int records_case_assessment_encode(const schema_set *schemas, const records_case_assessment *a,
                                   wire_buf *out, char *err, size_t errlen)
{
    return rc_encode(schemas, EVENTS_SCHEMA_CASE_ASSESSMENT, rc_check_assessment, rc_put_assessment,
                     a, out, err, errlen);
}

int records_case_assessment_decode(const schema_set *schemas, const uint8_t *msg, size_t len,
                                   mni_arena *arena, records_case_assessment *a, char *err,
                                   size_t errlen)
{
    return rc_decode(schemas, EVENTS_SCHEMA_CASE_ASSESSMENT, msg, len, rc_check_assessment,
                     rc_get_assessment, arena, a, sizeof(*a), err, errlen);
}

int records_notify_task_encode(const schema_set *schemas, const records_notify_task *t,
                               wire_buf *out, char *err, size_t errlen)
{
    return rc_encode(schemas, EVENTS_SCHEMA_NOTIFY_TASK, rc_check_task, rc_put_task, t, out, err,
                     errlen);
}

int records_notify_task_decode(const schema_set *schemas, const uint8_t *msg, size_t len,
                               mni_arena *arena, records_notify_task *t, char *err, size_t errlen)
{
    return rc_decode(schemas, EVENTS_SCHEMA_NOTIFY_TASK, msg, len, rc_check_task, rc_get_task,
                     arena, t, sizeof(*t), err, errlen);
}

int records_ticket_encode(const schema_set *schemas, const records_ticket *t, wire_buf *out,
                          char *err, size_t errlen)
{
    return rc_encode(schemas, EVENTS_SCHEMA_TICKET, rc_check_ticket, rc_put_ticket, t, out, err,
                     errlen);
}

int records_ticket_decode(const schema_set *schemas, const uint8_t *msg, size_t len,
                          mni_arena *arena, records_ticket *t, char *err, size_t errlen)
{
    return rc_decode(schemas, EVENTS_SCHEMA_TICKET, msg, len, rc_check_ticket, rc_get_ticket, arena,
                     t, sizeof(*t), err, errlen);
}
