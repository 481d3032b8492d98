/*
 * validate: see validate.h.
 */
#include "ingest/validate.h"

#include <stdio.h>
#include <string.h>

#include "lib/base/timefmt.h"
#include "lib/kafka/kq.h"
#include "rules/mynumber.h"
#include "rules/rules.h"

/* Where the raw My Number scan stopped: the path of the first field that held one. */
typedef struct {
    char field[64];
} validate_scan;

const char *ingest_verdict_reason(ingest_verdict v)
{
    switch (v) {
    case INGEST_MALFORMED:
        return "malformed";
    case INGEST_RAW_MY_NUMBER:
        return "raw_my_number";
    case INGEST_UNKNOWN_INCIDENT:
        return "unknown_incident";
    case INGEST_CONFLICTING_DUPLICATE:
        return "conflicting_duplicate";
    case INGEST_INVALID_FACTS:
        return "invalid_facts";
    case INGEST_ACCEPT:
    case INGEST_WAITING:
        break;
    }
    return NULL;
}

int ingest_verdict_admits(ingest_verdict v)
{
    return v == INGEST_ACCEPT || v == INGEST_WAITING;
}

unsigned ingest_verdict_dlq_flags(ingest_verdict v)
{
    return v == INGEST_RAW_MY_NUMBER ? KQ_DLQ_REDACT : 0u;
}

static int validate_scan_text(const char *field, mni_event_text_kind kind, const char *text,
                              size_t len, void *arg)
{
    validate_scan *scan = arg;
    /* Tokens are 64 lowercase hex digits by contract (mni_event_check): only a number padded
     * into that shape is one (validate.h). */
    if (kind == MNI_TEXT_TOKEN ? !mynumber_in_token(text, len) : !mynumber_find(text, len, NULL))
        return 0;
    snprintf(scan->field, sizeof scan->field, "%s", field);
    return 1;
}

/* Runs the rule core's own checks on the facts of an incident_opened (validate.h, test 3): the
 * facts as rules_assess would see them for this incident alone. Clients come later (manifests,
 * counts); a contractor's incident is checked with one empty placeholder client, since the core
 * requires at least one and an empty one adds nothing. 0, or -1 with the core's reason. */
static int validate_opened_facts(const mni_event *ev, char *why, size_t whylen)
{
    const mni_event_facts *f = &ev->body.opened;
    rules_client placeholder = {.client_id = "-",
                                .persons = 0,
                                .persons_max = RULES_ABSENT,
                                .contract_notice_hours = RULES_ABSENT};
    rules_facts r = {
        .known_at = timefmt_ms_to_s(f->known_at_ms),
        .role = f->reporter.role,
        .number_use_entity = f->reporter.number_use_entity,
        .public_body_system = f->reporter.public_body_system,
        .kinds = f->kinds,
        .certainty = f->certainty,
        .improper_purpose = f->improper_purpose,
        .systems = f->systems,
        .unspecified_viewing = f->unspecified_viewing,
        .encrypted_protected = f->encrypted_protected,
        .recovered_unviewed = f->recovered_unviewed,
        .intact_copy = f->intact_copy,
        .clients = f->reporter.role == RULES_ROLE_CONTRACTOR ? &placeholder : NULL,
        .n_clients = f->reporter.role == RULES_ROLE_CONTRACTOR ? 1 : 0,
        .distinct_persons = RULES_ABSENT,
        .appi = {.sensitive = f->appi_sensitive,
                 .financial_risk = f->appi_financial_risk,
                 .persons = RULES_ABSENT},
    };
    snprintf(r.incident_id, sizeof r.incident_id, "%s", ev->incident_id);
    rules_verdict v;
    rules_client_verdict scratch[1];
    char inner[256];
    if (rules_assess(&r, NULL, &v, scratch, inner, sizeof inner) == 0) return 0;
    snprintf(why, whylen, "body.%s", inner);
    return -1;
}

/* A time stamp outside the Japan days the rule core handles (2015-10-05 .. 2099-10-31): before
 * My Numbers were issued, or so far ahead that no clock could run from it. */
static int validate_time(const char *field, int64_t ms, char *why, size_t whylen)
{
    jpcal_day day = rules_japan_day(timefmt_ms_to_s(ms));
    if (day >= RULES_FIRST_KNOWN_DAYNUM && day <= RULES_LAST_KNOWN_DAYNUM) return 0;
    char when[32];
    timefmt_format_utc_ms(ms, when);
    snprintf(why, whylen,
             "%s: %s is %s the Japan days the pipeline handles (%04d-%02d-%02d .. "
             "%04d-%02d-%02d)",
             field, when, day < RULES_FIRST_KNOWN_DAYNUM ? "before" : "after",
             RULES_FIRST_KNOWN_YEAR, RULES_FIRST_KNOWN_MONTH, RULES_FIRST_KNOWN_DAY,
             RULES_LAST_KNOWN_YEAR, RULES_LAST_KNOWN_MONTH, RULES_LAST_KNOWN_DAY);
    return -1;
}

/* A headcount the rule core would refuse (above RULES_MAX_PERSONS); negative ones never
 * decode (events.h). */
static int validate_count(const char *field, bool given, int64_t n, char *why, size_t whylen)
{
    if (!given || n <= RULES_MAX_PERSONS) return 0;
    snprintf(why, whylen, "%s: %lld is more than %lld persons", field, (long long)n,
             RULES_MAX_PERSONS);
    return -1;
}

static int validate_client_facts(const mni_event_client_facts *c, char *why, size_t whylen)
{
    return validate_count("body.client_facts.appi_persons", c->present && c->appi_persons_given,
                          c->appi_persons, why, whylen);
}

/* Every time stamp and count of any kind of event within what the rule core accepts (validate.h,
 * test 3), so that no event reaches assess only to be refused there. */
static int validate_ranges(const mni_event *ev, char *why, size_t whylen)
{
    if (validate_time("occurred_at", ev->occurred_at_ms, why, whylen)) return -1;
    switch (ev->type) {
    case MNI_EVENT_INCIDENT_OPENED:
        return validate_time("body.known_at", ev->body.opened.known_at_ms, why, whylen) ||
               validate_count("body.reporter.employees", ev->body.opened.reporter.employees_given,
                              ev->body.opened.reporter.employees, why, whylen);
    case MNI_EVENT_FACTS_UPDATED: {
        const mni_event_facts_updated *u = &ev->body.facts_updated;
        return ((u->present & MNI_FACT_KNOWN_AT) &&
                validate_time("body.known_at", u->facts.known_at_ms, why, whylen)) ||
               validate_count("body.reporter.employees",
                              (u->present & MNI_FACT_REPORTER) && u->facts.reporter.employees_given,
                              u->facts.reporter.employees, why, whylen);
    }
    case MNI_EVENT_EXPOSURE_COUNT: {
        const mni_event_exposure_count *c = &ev->body.count;
        return validate_count("body.persons", true, c->persons, why, whylen) ||
               validate_count("body.persons_max", c->persons_max != MNI_EVENT_ABSENT,
                              c->persons_max, why, whylen) ||
               validate_client_facts(&c->client_facts, why, whylen);
    }
    case MNI_EVENT_EXPOSURE_MANIFEST:
        return validate_client_facts(&ev->body.manifest.client_facts, why, whylen);
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
        return validate_time("body.completed_at", ev->body.step.completed_at_ms, why, whylen);
    case MNI_EVENT_REPORT_FILED:
        return validate_time("body.filed_at", ev->body.report.filed_at_ms, why, whylen);
    case MNI_EVENT_INCIDENT_CLOSED:
    case MNI_EVENT_NONE:
        break;
    }
    return 0;
}

ingest_verdict ingest_validate_message(const schema_set *schemas, const void *msg, size_t len,
                                       mni_event *ev, char *detail, size_t detaillen)
{
    static const uint8_t empty[1];
    char why[512] = "";

    if (mni_event_decode(schemas, msg ? msg : empty, msg ? len : 0, ev, why, sizeof why) != 0) {
        /* The decoder names fields and reasons and does not quote text; this guard keeps that
         * promise should a number it prints ever look like a My Number. */
        if (mynumber_find(why, strlen(why), NULL))
            snprintf(detail, detaillen, "undecodable (detail withheld: it held a 12-digit number)");
        else
            snprintf(detail, detaillen, "%s", why[0] ? why : "undecodable");
        mni_event_reset(ev);
        return INGEST_MALFORMED;
    }
    validate_scan scan = {{0}};
    if (mni_event_foreach_text(ev, validate_scan_text, &scan) != 0) {
        snprintf(detail, detaillen, "%s", scan.field);
        mni_event_reset(ev); /* the text must not linger past the decision */
        return INGEST_RAW_MY_NUMBER;
    }
    if ((ev->type == MNI_EVENT_INCIDENT_OPENED &&
         validate_opened_facts(ev, detail, detaillen) != 0) ||
        validate_ranges(ev, detail, detaillen) != 0) {
        mni_event_reset(ev);
        return INGEST_INVALID_FACTS;
    }
    if (detaillen > 0) detail[0] = '\0';
    return INGEST_ACCEPT;
}

int ingest_validate_incident(const mni_event *ev, strset *known, ingest_verdict *verdict, char *err,
                             size_t errlen)
{
    if (ev->type == MNI_EVENT_INCIDENT_OPENED) {
        if (strset_add(known, ev->incident_id) != 0) {
            snprintf(err, errlen, "known incidents: out of memory");
            return -1;
        }
        *verdict = INGEST_ACCEPT;
        return 0;
    }
    *verdict = strset_contains(known, ev->incident_id) ? INGEST_ACCEPT : INGEST_WAITING;
    return 0;
}
