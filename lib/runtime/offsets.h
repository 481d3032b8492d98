/*
 * offsets: the one writer of consumer offsets (db/README.md). Every move of a stored offset,
 * the worker's batch commit and the broker-log check's skip past a gap, goes through the SQL
 * function consumer_offset_advance (migration 0080), a compare-and-set inside the caller's
 * transaction: a member whose expected offset is stale moves nothing and is fenced.
 * (`mni accept-new-log`, which starts a new log epoch, lives in logcheck.c: it is not a move
 * along one log.)
 */
#ifndef MNI_OFFSETS_H
#define MNI_OFFSETS_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* Moves (group, topic, partition) from expected (-1: this member found no row) to next, with
 * digest (may be NULL or "") identifying the log at next. 1 moved, 0 fenced, -1 error. */
int offsets_advance(PGconn *pg, const char *group, const char *topic, int32_t partition,
                    int64_t expected, int64_t next, const char *digest, char *err, size_t errlen);

#endif
