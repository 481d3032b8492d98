/*
 * faultstream: the long mixed stream of the fault test (tests/integration/test_faults.c),
 * generated from a seed into chunk files for `mni produce`.
 *
 * Incidents (INC-F-0001, ...) of tenant bpo-faults, each: incident_opened; exposure manifests of
 * 3 to 60 person tokens for two to four clients (C-01..C-08) whose persons overlap, so that the
 * de-duplicated total differs from the sum and some incidents pass 100 persons (a clock starts);
 * an exposure count; a facts update; a response step; a client notice filed; some closed. Each
 * incident's events keep their order; incidents are interleaved at random. Besides, and
 * counted by the dead-letter reason ingest must give them:
 *   - raw_my_number: a facts update whose description holds a valid My Number computed here
 *     (mynumber_check_digit), never written in the source; at most one per incident;
 *   - conflicting_duplicate: an event id used again with other content;
 *   - invalid_facts: an incident_opened of an incident of its own whose facts the core refuses
 *     (recovered unviewed yet viewed);
 *   - malformed: a line of bytes that is not an event, sent with `mni produce --raw` (raw files).
 * Person tokens are sha256("faults-person-<incident>-<n>") in hex, not numbers.
 *
 * Chunk k is events-KKK.jsonl (events) and, for some k, raw-KKK.txt (junk lines): the
 * harness sends a chunk's files in that order, and sends a file again when `mni produce` was
 * killed (a replay: same event ids, same bytes).
 */
#ifndef MNI_FAULTSTREAM_H
#define MNI_FAULTSTREAM_H

#include <stddef.h>

#define FAULTSTREAM_MAX_CHUNKS 256

typedef struct {
    char dir[256];                       /* where the chunk files are */
    int chunks;                          /* chunk files 0..chunks-1 */
    int has_raw[FAULTSTREAM_MAX_CHUNKS]; /* raw-KKK.txt exists */
    long events;                         /* event lines (distinct events and conflicts) */
    long incidents;                      /* opened and valid */
    long raw_lines;                      /* junk messages */
    long expect_raw_my_number, expect_conflicting, expect_invalid_facts; /* dead letters */
} faultstream;

/* Writes the stream of `incidents` incidents into a new temporary directory, `chunks` chunks.
 * 0, or -1 with a message on stderr. */
int faultstream_write(faultstream *s, unsigned seed, int incidents, int chunks);
/* The path of chunk k's events (raw = 0) or junk (raw = 1) file. */
void faultstream_path(const faultstream *s, int k, int raw, char *out, size_t outlen);
/* Removes the files and the directory. */
void faultstream_remove(faultstream *s);

#endif
