/*
 * audit_anchor: signs the head of the audit chain with a key the database never sees
 * (migration 0041, issue 8 item 5), and checks such signatures for `mni audit verify`.
 *
 * A worker that appended audit rows calls audit_anchor_sign in the same transaction, after its
 * last insert: it reads the chain's head (audit_log_head(), which is the worker's own last row
 * while the chain trigger's lock is held) and inserts (seq, hash, key id, HMAC-SHA256) into
 * audit_anchors. Whoever can write the table can re-hash the chain, but cannot make an anchor
 * for the new hashes without the key.
 *
 *   mac = HMAC-SHA256(key, "mni-audit-anchor-v1" || seq as 8 bytes big-endian || hash)
 *   key id = the first 16 hex digits of SHA-256(key)
 *
 * The same anchor is also queued in the outbox (lib/runtime/outbox.h), in the same transaction,
 * for the compacted topic topic.anchors (default audit.anchors, lib/model/topics.c): a copy
 * the database's owner cannot take back once relayed. Whoever deletes the chain's tail together
 * with its anchors, or re-hashes it, is then caught by `mni audit verify`, which reads the
 * topic. The message: key "audit_log/<signer>" (the writer's role: compaction keeps each
 * writer's newest), value the JSON object
 *   {"hash": 64 hex, "key_id": 16 hex, "mac": 64 hex, "seq": N, "signer": role}
 * outbox task id "audit-anchor:<seq>", kind "audit_anchor". A head already anchored (the
 * insert conflicts) is not queued again.
 *
 * The key is the file named by the config key audit.key_file (hex, as a token key file:
 * lib/model/token.h); the workers load it once at start (audit_anchor_configure, called by
 * worker_main). Without it nothing is signed and audit_anchor_sign does nothing: anchoring is
 * off, and `mni audit verify` then checks the chain only.
 *
 * State: one key per process, set before the worker's threads start, read-only afterwards.
 * Errors: 0/-1 with a message in the caller's buffer.
 */
#ifndef MNI_AUDIT_ANCHOR_H
#define MNI_AUDIT_ANCHOR_H

#include <libpq-fe.h>
#include <stddef.h>

#include "lib/model/token.h"
#include "lib/runtime/config.h"

#define AUDIT_ANCHOR_MAC_LEN 32
#define AUDIT_ANCHOR_KEY_ID_LEN 16
/* The logical topic (outbox.topic, config key topic.anchors). */
#define AUDIT_ANCHOR_TOPIC "anchors"

/* Loads audit.key_file when it is set (the worker's key from then on); 0 when it is unset. */
int audit_anchor_configure(const config *cfg, char *err, size_t errlen);
/* True when a key is loaded. */
int audit_anchor_enabled(void);
/* Signs the chain's head inside the caller's transaction and queues it for topic.anchors; does
 * nothing without a key. */
int audit_anchor_sign(PGconn *pg, char *err, size_t errlen);

/* The MAC of (seq, hash) under key, and the key's id (16 hex digits and a NUL). */
void audit_anchor_mac(const token_key *key, long long seq, const unsigned char hash[32],
                      unsigned char mac[AUDIT_ANCHOR_MAC_LEN]);
void audit_anchor_key_id(const token_key *key, char id[AUDIT_ANCHOR_KEY_ID_LEN + 1]);
/* The topic message key of a writer's anchors, "audit_log/<signer>"; -1 when out is too small. */
int audit_anchor_message_key(const char *signer, char *out, size_t outlen);

#endif
