/*
 * assessment_record: see assessment_record.h.
 *
 * The abridged form is found in one pass, not by trial: the record with no client listed is
 * encoded first (its size is the fixed part), then each client's exact cost (its JSON entry and
 * counts, verdict_json_client_cost, plus its Avro entry) is added in the listing order while
 * the total stays under the limit less a small margin for the length prefixes that grow with
 * the record. The result is encoded and checked; should it still not fit, fewer are listed.
 */
#include "lib/model/assessment_record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/errbuf.h"
#include "lib/model/events.h"
#include "lib/model/records.h"
#include "lib/model/verdict_json.h"

/* Bytes left for what grows with the listed clients besides their entries: the Avro length
 * prefixes of verdict_json and of the clients array, and the note's clients_listed. */
#define ASSESSMENT_RECORD_MARGIN 64

static int text_append(const char *text, size_t n, void *b)
{
    return buf_putn(b, text, n);
}

static const char *day_text(int32_t day, char text[11])
{
    if (day == RULES_ABSENT) return NULL;
    jpcal_format(day, text);
    return text;
}

char *assessment_record_full_verdict(const char *incident_id, int version)
{
    buf b;
    buf_init(&b, BUF_NO_LIMIT);
    buf_printf(&b, "mni case --json --version %d %s (PostgreSQL: SELECT case_verdict('", version,
               incident_id);
    for (const char *p = incident_id; *p; p++)
        buf_puts(&b, *p == '\'' ? "''" : (char[]){*p, '\0'});
    buf_printf(&b, "', %d))", version);
    return buf_take(&b);
}

static size_t count_listed(const rules_verdict *v, const bool *listed)
{
    size_t k = 0;
    for (size_t i = 0; i < v->n_clients; i++)
        k += listed[i];
    return k;
}

int assessment_record_listed(const schema_set *schemas, const char *incident_id, int version,
                             long long assessed_ms, const rules_facts *f, const rules_verdict *v,
                             const bool *listed, wire_buf *out, char *err, size_t errlen)
{
    size_t k = listed ? count_listed(v, listed) : v->n_clients;
    char *where = listed ? assessment_record_full_verdict(incident_id, version) : NULL;
    json_t *note = listed ? json_pack("{s:I, s:I, s:s, s:s?}", "clients_total",
                                      (json_int_t)v->n_clients, "clients_listed", (json_int_t)k,
                                      "order", ASSESSMENT_RECORD_ORDER, "full_verdict", where)
                          : NULL;
    records_client *rc = calloc(k + 1, sizeof *rc);
    buf text;
    buf_init(&text, WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE);
    int result = -1;
    if (!rc || (listed && (!where || !note))) {
        errbuf_fail(err, errlen, "assessment of %s: out of memory for %zu clients", incident_id,
                    v->n_clients);
        goto done;
    }
    if (verdict_json_write_listed(f, v, listed, note, text_append, &text) != 0 || text.failed) {
        errbuf_fail(err, errlen,
                    "verdict_json: the verdict of %s (%zu clients listed) does not fit the "
                    "%d-byte message limit",
                    incident_id, k, WIRE_MAX_MESSAGE);
        goto done;
    }
    const char *rules[RULES_MAX_FIRED * 2];
    size_t n_rules = 0;
    const rules_act_verdict *acts[] = {&v->my_number, &v->appi};
    for (size_t a = 0; a < 2; a++)
        for (size_t i = 0; i < acts[a]->n_fired && n_rules < RULES_MAX_FIRED * 2; i++)
            rules[n_rules++] = acts[a]->fired[i];
    for (size_t i = 0, j = 0; i < v->n_clients; i++) {
        if (listed && !listed[i]) continue;
        const rules_client_verdict *c = &v->clients[i];
        rc[j++] = (records_client){
            .client_id = c->client_id,
            .persons = c->headcount,
            .status = rules_status_name(c->my_number.status),
            .rules = c->my_number.fired,
            .n_rules =
                c->my_number.n_fired < RULES_MAX_FIRED ? c->my_number.n_fired : RULES_MAX_FIRED,
        };
    }
    char days[4][11];
    records_case_assessment rec = {
        .incident_id = incident_id,
        .version = version,
        .assessed_at_ms = assessed_ms,
        .regime = rules_regime_name(v->regime),
        .my_number_status = rules_status_name(v->my_number.status),
        .appi_status = rules_status_name(v->appi.status),
        .rules = rules,
        .n_rules = n_rules,
        .headcount_total = v->headcount_total,
        .clients = rc,
        .n_clients = k,
        .route = rules_route_name(v->route),
        .deadlines = {day_text(v->preliminary_target, days[0]),
                      day_text(v->preliminary_latest, days[1]), day_text(v->final_due, days[2]),
                      day_text(v->appi_final_due, days[3])},
        .verdict_json = text.len > 0 ? text.data : "",
        .abridged = listed != NULL,
        .clients_total = (int64_t)v->n_clients,
        .full_verdict = where,
    };
    result = records_case_assessment_encode(schemas, &rec, out, err, errlen);
done:
    buf_free(&text);
    json_decref(note);
    free(rc);
    free(where);
    return result;
}

/* ---- the listing order and the cost of a client ---- */

static int severity(rules_status s)
{
    return s == RULES_STATUS_MANDATORY ? 2 : s == RULES_STATUS_VOLUNTARY ? 1 : 0;
}

static int by_listing_order(const void *a, const void *b, void *verdict)
{
    const rules_client_verdict *cs = ((const rules_verdict *)verdict)->clients;
    const rules_client_verdict *x = &cs[*(const size_t *)a], *y = &cs[*(const size_t *)b];
    int d = severity(y->my_number.status) - severity(x->my_number.status);
    if (d == 0) d = severity(y->appi.status) - severity(x->appi.status);
    return d != 0 ? d : strcmp(x->client_id, y->client_id);
}

/* The bytes of an Avro long (zig-zag varint). */
static size_t varint_size(int64_t x)
{
    uint64_t z = ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
    size_t n = 1;
    while (z >= 0x80) {
        z >>= 7;
        n++;
    }
    return n;
}

static size_t avro_string_size(const char *s)
{
    size_t n = strlen(s);
    return varint_size((int64_t)n) + n;
}

/* The bytes of the client's ClientAssessment entry. */
static size_t avro_client_size(const rules_client_verdict *c)
{
    size_t n = avro_string_size(c->client_id) + varint_size(c->headcount) +
               avro_string_size(rules_status_name(c->my_number.status)) + 1;
    size_t n_rules =
        c->my_number.n_fired < RULES_MAX_FIRED ? c->my_number.n_fired : RULES_MAX_FIRED;
    if (n_rules > 0) n += varint_size((int64_t)n_rules);
    for (size_t i = 0; i < n_rules; i++)
        n += avro_string_size(c->my_number.fired[i]);
    return n;
}

int assessment_record_make(const schema_set *schemas, const char *incident_id, int version,
                           long long assessed_ms, const rules_facts *f, const rules_verdict *v,
                           wire_buf *out, assessment_record_info *info, char *err, size_t errlen)
{
    char why[512];
    size_t n = v->n_clients;
    assessment_record_info got = {false, n, n};
    if (assessment_record_listed(schemas, incident_id, version, assessed_ms, f, v, NULL, out, why,
                                 sizeof why) == 0)
        goto done;
    /* Too large, or not encodable at all (then the record without clients, or a client's id,
     * says why: a bad record is never passed off as an abridged one). */
    size_t *order = malloc((n + 1) * sizeof *order);
    bool *listed = calloc(n + 1, sizeof *listed);
    int rc = -1;
    if (!order || !listed) {
        errbuf_fail(err, errlen, "assessment of %s: out of memory for %zu clients", incident_id, n);
        goto abridged;
    }
    /* Whatever is wrong besides the size shows without clients, or in a client's id. */
    if (assessment_record_listed(schemas, incident_id, version, assessed_ms, f, v, listed, out, err,
                                 errlen) != 0)
        goto abridged;
    for (size_t i = 0; i < n; i++) {
        char field[48];
        snprintf(field, sizeof field, "clients[%zu].client_id", i);
        if (mni_event_check_id(field, v->clients[i].client_id, err, errlen) != 0) goto abridged;
    }
    size_t budget = WIRE_MAX_MESSAGE - out->len;
    budget = budget > ASSESSMENT_RECORD_MARGIN ? budget - ASSESSMENT_RECORD_MARGIN : 0;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, by_listing_order, (void *)v);
    size_t k = 0, used = 0;
    for (; k < n; k++) {
        size_t c = verdict_json_client_cost(&v->clients[order[k]]);
        if (c == SIZE_MAX) {
            errbuf_fail(err, errlen, "assessment of %s: out of memory", incident_id);
            goto abridged;
        }
        c += avro_client_size(&v->clients[order[k]]);
        if (c > budget - used) break;
        used += c;
    }
    /* The costs are exact but for the margin: should the record still not fit, list fewer. */
    for (;;) {
        memset(listed, 0, n * sizeof *listed);
        for (size_t i = 0; i < k; i++)
            listed[order[i]] = true;
        rc = assessment_record_listed(schemas, incident_id, version, assessed_ms, f, v, listed, out,
                                      err, errlen);
        if (rc == 0 || k == 0) break;
        k -= k / 16 + 1;
    }
    got = (assessment_record_info){true, n, k};
abridged:
    free(order);
    free(listed);
    if (rc != 0) return -1;
done:
    if (info) *info = got;
    return 0;
}
