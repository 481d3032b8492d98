/*
 * faultcheck: what a run of the pipeline left behind, as comparable items, and the comparison
 * of a disturbed run with an undisturbed one (tests/integration/test_faults.c).
 *
 * An item is (category, key, digest of content). PostgreSQL gives one item per row of each
 * table that holds results, keyed by its natural key, its content without what only says when
 * a row was written (created_at, updated_at, received_at, generated serials, the source offset
 * of an event, which differs when a producer sent it twice). Every output topic is read to its
 * high watermark; its messages are de-duplicated by the id the design de-duplicates them by
 * (DESIGN.md: delivery to topics is at least once, "consumers de-duplicate by id"):
 * incident.accepted by mni.event_id, the outbox topics (notify.tasks, tickets) by mni.task_id,
 * incident.dlq by reason, key, event id, detail and value; case.assessments, compacted by
 * incident, by the newest assessment of each incident (the relay skips superseded versions). Copies
 * of one id are counted (redelivered); copies of one id with different content are an error
 * (conflicting), since a redelivery must be the same message.
 *
 * Comparison per category: lost = a key of the reference missing, duplicated = a key the
 * reference does not have (a second task for one obligation, a second event row, ...),
 * differing = the same key with other content.
 */
#ifndef MNI_FAULTCHECK_H
#define MNI_FAULTCHECK_H

#include <libpq-fe.h>
#include <stdio.h>

typedef struct {
    char cat[40];
    char *key;
    char *text; /* PostgreSQL rows: the content, to show a difference */
    char digest[33];
    long copies; /* topics: messages with this key */
} faultcheck_item;

typedef struct {
    faultcheck_item *items;
    size_t n, cap;
    long redelivered; /* topic copies beyond the first of an id */
    long conflicting; /* topic copies of an id with other content */
} faultcheck_snapshot;

typedef struct {
    long lost, duplicated, differing;
    long known; /* differences of the known kind (faultcheck_compare), counted apart */
} faultcheck_diff;

/* Adds the rows of every result table of the database pg. 0, or -1 (message on stderr). */
int faultcheck_add_pg(faultcheck_snapshot *s, PGconn *pg);
/* Adds topic (partitions 0..partitions-1) read to its high watermarks. 0 or -1. */
int faultcheck_add_topic(faultcheck_snapshot *s, const char *bootstrap, const char *topic,
                         int partitions);
/* Items of category cat, and of those whose key starts with prefix (NULL: all). */
long faultcheck_count(const faultcheck_snapshot *s, const char *cat, const char *prefix);
/* Compares got with ref, writing each difference (a few per category) and a line per category
 * to out. Differences in the items known[] names ("category" or "category key-prefix", NULL
 * terminated, may be NULL) are counted in .known instead of lost, duplicated or differing. */
faultcheck_diff faultcheck_compare(faultcheck_snapshot *ref, faultcheck_snapshot *got,
                                   const char *const *known, FILE *out);
void faultcheck_free(faultcheck_snapshot *s);

#endif
