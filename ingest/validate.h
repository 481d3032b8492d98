/*
 * validate: ingest's decision for one message: accept it, or which dead-letter reason.
 *
 * This is the whole admission policy of the pipeline, read in one place. A message is judged
 * by these tests, in this order; the first that fails decides the reason (DESIGN.md
 * "Contracts other people rely on"):
 *
 *   1. malformed         the bytes are not an IncidentEvent we can read: wrong framing, unknown
 *                        schema id, bad Avro, or a decoded event that breaks the contract of
 *                        events.h (ids, tokens, counts, times). Detail: the decoder's message,
 *                        which names the field and the reason and never quotes text; should it
 *                        ever contain what looks like a My Number it is withheld.
 *   2. raw_my_number     a text field holds a 12-digit number with a valid My Number check
 *                        digit (rules/mynumber.h: one run or 4-4-4 groups with whatever a person
 *                        types between them, ASCII or full-width digits), or a person token is
 *                        a number padded into a token's shape. Every text
 *                        mni_event_foreach_text visits is scanned with mynumber_find EXCEPT
 *                        person tokens (MNI_TEXT_TOKEN): they are 64 lowercase hex digits by
 *                        contract, and a random HMAC-SHA256 token holds a valid-looking 12-digit
 *                        run about 0.3% of the time, so that scan would refuse large manifests
 *                        for nothing. Tokens get mynumber_in_token instead: a valid run with
 *                        the rest of the token all digits or at most two repeated characters
 *                        ("<number>" followed by 52 zeros) is refused; a random token never is.
 *                        Detail: the field's path only ("body.description"), never the text. The
 *                        dead letter is redacted (KQ_DLQ_REDACT: empty value, no original
 *                        headers), and the decoded event is emptied at once.
 *   3. invalid_facts     a time stamp of any event (occurred_at, known_at, completed_at,
 *                        filed_at) outside the Japan days the rule core handles (2015-10-05 ..
 *                        2099-10-31: before My Numbers, or so far ahead that no clock can run
 *                        from it), or a headcount above RULES_MAX_PERSONS (persons,
 *                        persons_max, appi_persons, employees). Detail: the field and the
 *                        bound. Or an incident_opened whose facts the rule core refuses, checked
 * here with the core's own validation (rules_assess on the incident's facts alone; a contractor's
 * clients come later, so it runs with one empty placeholder client): no kind, known_at outside
 * 2015-10-05 .. 2099-10-31, recovered_unviewed with viewing "viewed", ... Detail: the core's reason
 * with the field's path ("body.kinds: at least one kind is required"). Refused at the edge, so that
 * the error is not blamed on the events that follow.
 *   4. waiting           an event other than incident_opened whose incident has no
 *                        incident_opened, neither stored in event_log nor accepted earlier in the
 *                        same batch, is not refused: producers are independent systems (a
 *                        manifest exporter may send before the helpdesk opens the incident), so
 *                        it is accepted and WAITS (INGEST_WAITING): stored in event_log, parked in
 *                        waiting_events instead of forwarded, and forwarded right after its
 *                        incident's incident_opened (main.c "Waiting"). Only beyond the bound
 *                        ingest.waiting.max (events waiting in all) is it refused as
 *
 *      unknown_incident  the incident is not open and no more events may wait; detail: the
 *                        incident and the bound. `mni dlq replay --reason unknown_incident`
 *                        sends it back once the incident is open or room is made.
 *
 * Tests 1 to 3 need only the bytes (ingest_validate_message); test 4 needs what is already
 * known (ingest_validate_incident), which the caller prepares per batch: the incident ids
 * that have an incident_opened row in event_log (event_store_load_opened) in a set that
 * ingest_validate_incident then extends, in message order, with each accepted
 * incident_opened. A later message can rely on an earlier one of the same batch; never the
 * other way round (an event before its incident's opening in the same batch waits, and is
 * released at the opening, exactly as if the batch had been cut between them).
 *
 * Replays are not a validation matter: an event whose id is already stored (or came earlier in
 * the batch) with the same content is valid, and is simply not stored or forwarded again (see
 * main.c). The same id with other content is not a replay but a producer bug or a forgery:
 * main.c dead-letters it as
 *
 *   5. conflicting_duplicate  the event id is stored in event_log, or came earlier in the
 *                        batch, with other content (compared as decoded events, so the same
 *                        event under another writer's schema is the same content). The first
 *                        one stays; this one is neither stored nor forwarded.
 */
#ifndef MNI_INGEST_VALIDATE_H
#define MNI_INGEST_VALIDATE_H

#include <stddef.h>

#include "lib/base/strset.h"
#include "lib/model/events.h"

typedef enum {
    INGEST_ACCEPT = 0,
    INGEST_MALFORMED,
    INGEST_RAW_MY_NUMBER,
    INGEST_INVALID_FACTS,
    INGEST_UNKNOWN_INCIDENT,
    INGEST_CONFLICTING_DUPLICATE,
    INGEST_WAITING /* admitted, but its incident is not open yet (test 4) */
} ingest_verdict;

/* ACCEPT or WAITING: the event is admitted (stored in event_log). */
int ingest_verdict_admits(ingest_verdict v);

/* The dead-letter reason ("malformed", "raw_my_number", "unknown_incident",
 * "conflicting_duplicate"); NULL for ACCEPT and WAITING. */
const char *ingest_verdict_reason(ingest_verdict v);
/* The kq_produce_dlq flags of a refused message: KQ_DLQ_REDACT for raw_my_number, else 0. */
unsigned ingest_verdict_dlq_flags(ingest_verdict v);

/* Tests 1 to 3 on msg[0..len) (msg may be NULL when len is 0). On ACCEPT, ev holds the decoded
 * event; otherwise ev is empty and detail (detaillen bytes) says why. */
ingest_verdict ingest_validate_message(const schema_set *schemas, const void *msg, size_t len,
                                       mni_event *ev, char *detail, size_t detaillen);

/* Test 4 on an event that passed tests 1 to 3. known holds the incidents known so far; an
 * accepted incident_opened is added to it. *verdict receives ACCEPT or WAITING (the bound of
 * ingest.waiting.max is the caller's). Returns 0, or -1 when out of memory (err). */
int ingest_validate_incident(const mni_event *ev, strset *known, ingest_verdict *verdict, char *err,
                             size_t errlen);

#endif
