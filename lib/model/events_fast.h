/*
 * events_fast: the exposure manifest read straight from its Avro bytes, for mni-ingest and
 * mni-assess. Avro C's generic read costs thousands of instructions per person token (the
 * checking walk, a value and a string allocated per item, then the copy into the event); a
 * manifest is, on the wire, five strings, a long, a union branch, two strings and an array
 * of strings, which this reads in one pass.
 *
 * It answers only for what it knows exactly: the writer is the current IncidentEvent schema
 * (no resolution into another version), that schema has the expected shape (checked on every
 * call, field by field: names, order, types), the body is an ExposureManifest without
 * client_facts, every token is 64 lowercase hex digits, every string is UTF-8 without NUL,
 * every varint short and in range, and the bytes end exactly with the record. Anything else
 * answers "not mine", and mni_event_decode takes the generic path, which gives the event or
 * the error naming the field. What it fills is then checked by mni_event_check like any
 * decoded event.
 */
#ifndef MNI_EVENTS_FAST_H
#define MNI_EVENTS_FAST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/model/events.h"
#include "lib/serdes/schema_set.h"

/* Fills ev (reset first) from the Avro payload of writer w: 0, or -1 when the message is not
 * one this path reads (ev then reset, nothing reported). */
int mni_event_decode_manifest_fast(const schema_def *w, const uint8_t *payload, size_t len,
                                   mni_event *ev);

#endif
