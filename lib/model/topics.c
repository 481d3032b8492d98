/*
 * topics: see topics.h. Partition counts: 6 for the topics every event or task passes through
 * (up to six members per consumer group), 3 for the dead letters and tickets, 1 for the audit
 * anchors (a few a second at most).
 */
#include "lib/model/topics.h"

#include <stdio.h>
#include <string.h>

const mni_topic mni_topics[] = {
    {"events", "incident.events", 6, false, "IncidentEvent"},
    {"accepted", "incident.accepted", 6, false, "IncidentEvent"},
    {"dlq", "incident.dlq", 3, false, "(any)"},
    {"assessments", "case.assessments", 6, true, "CaseAssessment"},
    {"tasks", "notify.tasks", 6, false, "NotifyTask"},
    {"tickets", "tickets", 3, false, "Ticket"},
    /* The audit chain's signed heads, outside the database (lib/runtime/audit_anchor.h): one
     * partition, so that a reader sees them in the order they were sent. */
    {"anchors", "audit.anchors", 1, true, "(JSON)"},
};
const size_t mni_topic_count = sizeof mni_topics / sizeof mni_topics[0];

const mni_topic *mni_topic_find(const char *logical)
{
    for (size_t i = 0; i < mni_topic_count; i++)
        if (!strcmp(mni_topics[i].logical, logical)) return &mni_topics[i];
    return NULL;
}

int mni_topics_list(char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < mni_topic_count; i++) {
        int w = snprintf(out + n, outlen - n, "%s%s:%d", i ? "," : "", mni_topics[i].name,
                         mni_topics[i].partitions);
        if (w < 0 || (size_t)w >= outlen - n) return -1;
        n += (size_t)w;
    }
    return 0;
}
