/*
 * events_json: mni_event <-> JSON (jansson), for producers, tests, fixtures and the demo.
 *
 * One event is one JSON object (one line of a JSON-lines file):
 *
 *   {"event_id":"e1","incident_id":"INC-1","tenant":"bpo",
 *    "occurred_at":"2026-05-01T10:00:00+09:00","producer":"dlp","type":"incident_opened",
 *    "body":{...}}
 *
 * "type" is one of incident_opened, facts_updated, exposure_manifest, exposure_count,
 * response_step_completed, report_filed, incident_closed; "body" has the fields of that kind's
 * Avro record (the .avsc files of schemas/) under the same names, enum values as their symbols,
 * kinds and systems as arrays of symbols, times as RFC 3339 strings with an offset or Z (fractions
 * beyond milliseconds are cut). A field that has a default in the schema may be left out (or given
 * as null when its type is nullable); in facts_updated, a fact left out or null is unchanged.
 * Unknown fields are errors, so a misspelt optional field cannot vanish silently.
 *
 * Errors name the field and the reason: `body.kinds[1]: unknown kind "lek"`,
 * `body.persons: missing`, `occurred_at: expected an RFC 3339 time, got number`. A parsed event
 * then passes mni_event_check, like a decoded one.
 *
 * Output (mni_event_to_json) writes times in UTC with Z, leaves absent optional fields out, and
 * lists kinds and systems in schema order; parsing the output gives back the same event.
 * Ownership is that of events.h: parsing resets ev and fills its arena.
 */
#ifndef MNI_EVENTS_JSON_H
#define MNI_EVENTS_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/model/events.h"

#define MNI_EVENT_TIME_LEN 48 /* room for "YYYY-MM-DDTHH:MM:SS.mmmZ" (25 bytes with the NUL) */

int mni_event_from_json(json_t *obj, mni_event *ev, char *err, size_t errlen);
/* Parses text[0..len) holding exactly one JSON object. A manifest's plain token array is read
 * from the text directly (json_tokens.h), the rest with jansson; any other text, and every
 * error, takes the generic path below: the result is the same event or the same error. */
int mni_event_from_json_text(const char *text, size_t len, mni_event *ev, char *err, size_t errlen);
/* The generic path alone (jansson for the whole text): for tests comparing the two. */
int mni_event_from_json_text_generic(const char *text, size_t len, mni_event *ev, char *err,
                                     size_t errlen);
/* A new JSON object (the caller owns the reference), or NULL with err set. */
json_t *mni_event_to_json(const mni_event *ev, char *err, size_t errlen);
/* The same object without a manifest's body.tokens (every other key as mni_event_to_json
 * writes it): what ingest stores as event_log.body, the tokens going to their own column. */
json_t *mni_event_to_json_without_tokens(const mni_event *ev, char *err, size_t errlen);
/* Compact one-line JSON text, malloc'd (the caller frees it), or NULL with err set. */
char *mni_event_to_json_text(const mni_event *ev, char *err, size_t errlen);

/* RFC 3339 date-time with offset (or Z) -> milliseconds since the epoch. */
int mni_event_time_parse(const char *s, int64_t *ms, char *err, size_t errlen);
/* Milliseconds -> "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; 0, or -1 when out of range. */
int mni_event_time_format(int64_t ms, char out[MNI_EVENT_TIME_LEN]);

#endif
