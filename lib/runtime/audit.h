/*
 * audit: the one writer of the audit log (migration 0005; db/README.md).
 *
 * Every audit row enters through this module, in the caller's transaction, late in it (the
 * chain's lock serialises appends until COMMIT: 0005_audit_log.sql), and once per batch rather
 * than per row. Writers give (actor, action, incident_id, client_id, payload) only;
 * audit_log_append() (migration 0096, the owner's) reads the chain's head once and numbers and
 * hashes the rows in the order given, exactly as the row trigger of 0005 would. After an
 * append that added rows, the chain's new head is signed in the same transaction
 * (audit_anchor_sign, migration 0041).
 *
 * Payloads hold identifiers, digests and outcomes, never free text from events.
 *
 * Errors: 0/-1 with a message in the caller's buffer. Threads: a connection per thread.
 */
#ifndef MNI_AUDIT_H
#define MNI_AUDIT_H

#include <libpq-fe.h>
#include <stddef.h>

/* Appends the rows of rows_json, a JSON array of {action, incident_id, client_id, payload}
 * (client_id may be null), in array order, all with one actor. *appended (may be NULL) gets
 * how many rows went in. */
int audit_append(PGconn *pg, const char *actor, const char *rows_json, long long *appended,
                 char *err, size_t errlen);

#endif
