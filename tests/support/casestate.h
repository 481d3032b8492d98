/*
 * casestate: everything the pipeline decided in a test database as one canonical text, for the
 * tests that run the same events twice and compare (test_assess: replays, crashes, batch cuts;
 * test_rebuild: a rebuild from the event log; test_out_of_order: any arrival order). One row of
 * text per stored fact, sorted; timestamps of processing are left out, since they differ between
 * any two runs.
 */
#ifndef MNI_TEST_CASESTATE_H
#define MNI_TEST_CASESTATE_H

#include <libpq-fe.h>

/* What a test adds to the base text. */
#define CASESTATE_EVENT_LOG 1u /* the event log's bodies (what a rebuild reads back) */
/* The order-sensitive details: a case's closing, distinct tokens and last event, each ledger
 * event's version, each step's event, the waiting events; and assess's audit rows only (the
 * order test runs ingest, whose own rows differ with the order). */
#define CASESTATE_ORDER 2u

/* The text (malloc'd); fails the current test when the query fails. */
char *casestate_text(PGconn *pg, unsigned with);

#endif
