/*
 * fuzz_case_assessment: a CaseAssessment (case.assessments) record from bytes
 * (records_case_assessment_decode: framing, schema lookup, the Avro pre-check, Avro C, resolution,
 * the record's checks), as the notify worker and the `mni` tool read them.
 *
 * Invariants: those of FUZZ_RECORD_ROUNDTRIP_TARGET (tests/fuzz/fuzz.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "lib/model/records.h"
#include "tests/fuzz/fuzz.h"

FUZZ_RECORD_ROUNDTRIP_TARGET(case_assessment)
