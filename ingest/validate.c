/*
 * validate: see validate.h.
 */
#include "ingest/validate.h"

#include <stdio.h>
#include <string.h>

#include "common/kq.h"
#include "rules/mynumber.h"

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
    case INGEST_ACCEPT:
        break;
    }
    return NULL;
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

ingest_verdict ingest_validate_message(const events_schema_set *schemas, const void *msg,
                                       size_t len, mni_event *ev, char *detail, size_t detaillen)
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
    if (detaillen > 0) detail[0] = '\0';
    return INGEST_ACCEPT;
}

int ingest_validate_incident(const mni_event *ev, ingest_idset *known, ingest_verdict *verdict,
                             char *detail, size_t detaillen, char *err, size_t errlen)
{
    if (ev->type == MNI_EVENT_INCIDENT_OPENED) {
        if (ingest_idset_add(known, ev->incident_id) != 0) {
            snprintf(err, errlen, "known incidents: out of memory");
            return -1;
        }
        *verdict = INGEST_ACCEPT;
        return 0;
    }
    if (ingest_idset_contains(known, ev->incident_id)) {
        *verdict = INGEST_ACCEPT;
        return 0;
    }
    /* Ids passed the raw My Number scan, so naming the incident is safe. */
    snprintf(detail, detaillen,
             "incident_id: no incident_opened for %s in event_log or earlier in the batch",
             ev->incident_id);
    *verdict = INGEST_UNKNOWN_INCIDENT;
    return 0;
}
