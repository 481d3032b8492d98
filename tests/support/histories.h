/*
 * histories: the generated incident histories of the tests that feed one stream to the pipeline
 * in several ways and compare what it decided (test_assess: batch cuts; test_out_of_order: the
 * stream reversed). One JSON line an event (tenant bpo-test, occurred_at on 2026-11-20 JST),
 * kept in memory so that a test can reorder them before producing.
 *
 * A contractor incident's history, step by step (histories_step; minute = step * 7 + incident,
 * so occurred_at grows along each incident and incidents interleave):
 *
 *   0  incident_opened (HISTORIES_OPENED)
 *   1  a manifest of 40 persons                 client of step 1, batch b-1
 *   2  a manifest of 40, half of them shared    client of step 2, batch b-2
 *   3  batch b-1 again with 40 other persons: counts once          client of step 1
 *   4  a manifest of 50: the distinct count passes 100 (110)       client of step 4, b-4
 *   5  an exposure count of client C-X<n> (20n known, 30n at most); incident 4's client is a
 *      municipality with facts of its own (issue 7)
 *   6  odd incidents: facts_updated (improper purpose confirmed); even ones: the PPC
 *      preliminary report filed
 *   7  incident 3 is closed; the others complete a response step
 *
 * Event ids are EV-<tag>-<incident>-<step>, incidents INC-<tag>-<incident> (two digits each);
 * person tokens are sha256("<token_prefix><n>") in hex, n = incident * 1000 + step * 20 + k for
 * the manifests of steps 1, 2 and 4, incident * 1000 + 500 + k for step 3. A test adds its own
 * extras (replays, events after the closing, an incident never opened) with histories_event
 * and histories_manifest.
 */
#ifndef MNI_TEST_HISTORIES_H
#define MNI_TEST_HISTORIES_H

#include <stddef.h>

/* The facts of every generated opening: a contractor's confirmed leak, nothing aggravating. */
#define HISTORIES_OPENED                                                                           \
    "{\"known_at\":\"2026-11-20T08:30:00+09:00\",\"title\":\"t\",\"reporter\":{\"role\":"          \
    "\"contractor\",\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":"          \
    "[\"leak\"],\"certainty\":\"confirmed\",\"improper_purpose\":\"none\",\"systems\":[],"         \
    "\"unspecified_viewing\":\"none\",\"encrypted_protected\":false,"                              \
    "\"recovered_unviewed\":false,\"intact_copy\":false}"

typedef struct {
    char **line; /* owned */
    size_t n, cap;
} histories_stream;

/* How a test's histories differ: the tag of its ids, the prefix of its person tokens, and the
 * client that sends the manifest of a step (1, 2 or 4) of an incident. */
typedef struct {
    const char *tag;
    const char *token_prefix;
    void (*client)(int step, int incident, char out[16]);
} histories_shape;

/* Appends a copy of one line (fails the current test when out of memory). */
void histories_add(histories_stream *s, const char *line);
/* Appends an event of incident at 2026-11-20 09:00 JST + minute. */
void histories_event(histories_stream *s, const char *id, const char *incident, int minute,
                     const char *type, const char *body);
/* Appends an exposure manifest of count persons first, first + 1, ... */
void histories_manifest(histories_stream *s, const histories_shape *shape, const char *id,
                        const char *incident, int minute, const char *client, const char *batch,
                        int first, int count);
/* Appends step (0..7) of incident's history (see above). */
void histories_step(histories_stream *s, const histories_shape *shape, int step, int incident);
void histories_free(histories_stream *s);

/* Writes the lines (reverse: last to first) to a temporary file and produces them to topic with
 * topicio_produce_jsonl; fails the current test unless every line was sent. */
void histories_produce(const histories_stream *s, int reverse, const char *bootstrap,
                       const char *topic);

#endif
