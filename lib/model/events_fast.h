/*
 * events_fast: the exposure manifest read and written straight as Avro bytes. Avro C's
 * generic read costs thousands of instructions per person token (the checking walk, a value
 * and a string allocated per item, then the copy into the event), and its generic write over a
 * thousand (a value appended and a string copied per item, then the walk that writes it); a
 * manifest is, on the wire, five strings, a long, a union branch, two strings and an array of
 * strings, which this reads or writes in one pass.
 *
 * Both answer only for what they know exactly: the schema is the current IncidentEvent schema
 * (no resolution into another version) and has the expected shape (checked on every call,
 * field by field: names, order, types), and the body is an ExposureManifest without
 * client_facts. Anything else answers "not mine", and the generic path takes it.
 *
 * Reading (mni_event_decode): every token is 64 lowercase hex digits, every string is UTF-8
 * without NUL, every varint short and in range, and the bytes end exactly with the record;
 * else mni_event_decode takes the generic path, which gives the event or the error naming the
 * field. What it fills is then checked by mni_event_check like any decoded event.
 *
 * Writing (mni_event_encode, after mni_event_check): the bytes Avro C writes for the same
 * event, byte for byte (tests/unit/test_events_encode_fast.c holds the two against each
 * other): the record's fields in order, strings as a length and their bytes, longs and ints
 * zig-zag varints, the token array as one block (its count, the items, then 0) as Avro C
 * writes it, the Confluent frame (magic byte, schema id) in front. A schema without an id
 * (registry mode before binding) or a message over WIRE_MAX_MESSAGE is left to the generic
 * path, which reports it.
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

/* Writes ev, a checked exposure manifest (mni_event_check), with the current schema s into out,
 * framed: 0, or -1 when this path does not write it (out then unchanged, nothing reported). */
int mni_event_encode_manifest_fast(const schema_def *s, const mni_event *ev, wire_buf *out);

#endif
