/*
 * dlq: see dlq.h.
 */
#include "lib/runtime/dlq.h"

#include <stdio.h>
#include <string.h>

#include "lib/kafka/kq.h"
#include "rules/mynumber.h"

static int holds_number(const void *bytes, size_t len)
{
    return bytes && len > 0 && mynumber_find(bytes, len, NULL);
}

/* Appends "part (why)" to the withheld list. */
static void note(dlq_screened *out, const char *part, const char *why)
{
    size_t used = strlen(out->withheld);
    snprintf(out->withheld + used, sizeof out->withheld - used, "%s%s (%s)", used ? ", " : "", part,
             why);
}

/* Why the original headers cannot travel, or NULL when they can. */
static const char *headers_problem(const rd_kafka_headers_t *headers)
{
    size_t total = 0;
    const char *name;
    const void *value;
    size_t len;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &len) == RD_KAFKA_RESP_ERR_NO_ERROR;
         i++) {
        total += strlen(name) + len;
        if (holds_number(name, strlen(name)) || holds_number(value, len)) return "a raw My Number";
    }
    return total > DLQ_HEADERS_MAX ? "over the dead-letter limit" : NULL;
}

void dlq_screen(const void *key, size_t key_len, const void *value, size_t len,
                const rd_kafka_headers_t *headers, unsigned flags, const char *detail,
                dlq_screened *out)
{
    char why[64];
    out->flags = flags;
    out->withheld[0] = '\0';
    if (flags & KQ_DLQ_NO_VALUE) {
        if (value && len > 0) note(out, "value", "by the reason");
    } else if (len > DLQ_VALUE_MAX) {
        snprintf(why, sizeof why, "%zu bytes, over the %d-byte limit", len, DLQ_VALUE_MAX);
        note(out, "value", why);
        out->flags |= KQ_DLQ_NO_VALUE;
    } else if (holds_number(value, len)) {
        note(out, "value", "a raw My Number");
        out->flags |= KQ_DLQ_NO_VALUE;
    }
    if (headers) {
        const char *problem =
            flags & KQ_DLQ_NO_HEADERS ? "by the reason" : headers_problem(headers);
        if (problem) {
            note(out, "headers", problem);
            out->flags |= KQ_DLQ_NO_HEADERS;
        }
    }
    if (!(flags & KQ_DLQ_NO_KEY) && key) {
        const char *problem = key_len > DLQ_KEY_MAX        ? "over the dead-letter limit"
                              : holds_number(key, key_len) ? "a raw My Number"
                                                           : NULL;
        if (problem) {
            note(out, "key", problem);
            out->flags |= KQ_DLQ_NO_KEY;
        }
    }
    if (detail && holds_number(detail, strlen(detail)))
        snprintf(out->detail, sizeof out->detail,
                 "(detail withheld: it held what looks like a raw My Number)");
    else
        snprintf(out->detail, sizeof out->detail, "%s", detail ? detail : "");
}
