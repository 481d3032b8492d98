/*
 * eventcheck: cmocka assertions on decoded events, for tests that hold a fast path against
 * the generic one (test_events_json_fast, test_events_decode_fast).
 */
#ifndef MNI_TESTS_EVENTCHECK_H
#define MNI_TESTS_EVENTCHECK_H

#include "lib/model/events.h"

/* a and b are the same event: the same JSON text, type, and for a manifest the same tokens in
 * the same order and the same contract hours. Fails the running test otherwise. */
void eventcheck_assert_same(const mni_event *a, const mni_event *b);

#endif
