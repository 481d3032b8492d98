/*
 * fuzz_event: an incident event from bytes on incident.events (mni_event_decode: framing,
 * schema lookup, the Avro pre-check, Avro C, resolution of older writers, the contract check),
 * then what the ingest worker does with a decoded event (mni_event_foreach_text).
 *
 * Invariants: a refusal has a message and leaves the event empty; an accepted event passes
 * mni_event_check, re-encodes (with the current schema), and decoding that encoding gives an
 * event that encodes to the same bytes. One event is reused across inputs, as the worker does.
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/model/events.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_text(const char *field, mni_event_text_kind kind, const char *text, size_t len,
                      void *ctx)
{
    FUZZ_CHECK(field != NULL && text != NULL, "a text without field or value");
    FUZZ_CHECK(strlen(text) == len, "%s: length %zu, NUL at %zu", field, len, strlen(text));
    (void)kind;
    ++*(size_t *)ctx;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mni_event ev, again;
    static wire_buf first, second;
    static int ready;
    const schema_set *set = fuzz_schemas();
    char err[512] = "";

    if (!ready) {
        mni_event_init(&ev);
        mni_event_init(&again);
        wire_buf_init(&first);
        wire_buf_init(&second);
        ready = 1;
    }
    if (mni_event_decode(set, data, size, &ev, err, sizeof err) != 0) {
        fuzz_check_error(err);
        FUZZ_CHECK(ev.type == MNI_EVENT_NONE && ev.event_id == NULL, "refused but not empty");
        return 0;
    }
    FUZZ_CHECK(ev.type != MNI_EVENT_NONE, "accepted without a type");
    FUZZ_CHECK(mni_event_check(&ev, err, sizeof err) == 0, "accepted, then: %s", err);
    size_t texts = 0;
    FUZZ_CHECK(mni_event_foreach_text(&ev, count_text, &texts) == 0, "text walk stopped");
    FUZZ_CHECK(texts >= 4, "only %zu texts (the envelope has four ids)", texts);

    FUZZ_CHECK(mni_event_encode(set, &ev, &first, err, sizeof err) == 0, "re-encode: %s", err);
    FUZZ_CHECK(mni_event_decode(set, first.data, first.len, &again, err, sizeof err) == 0,
               "decode of the re-encoding: %s", err);
    FUZZ_CHECK(mni_event_encode(set, &again, &second, err, sizeof err) == 0, "%s", err);
    FUZZ_CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0,
               "the encoding does not round-trip");
    return 0;
}
