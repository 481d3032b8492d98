/*
 * digest: SHA-256 in the forms the project writes it: 64 lower-case hex digits of a buffer
 * (documents, migration files), and the hex of the first bytes of a digest of several parts
 * joined by '|' (deterministic ids: lib/model/task_id.h). One implementation over OpenSSL's EVP
 * interface; no length limit on the input.
 *
 * Errors: the functions return -1 only when the crypto library fails (out of memory); out is
 * then an empty string.
 */
#ifndef MNI_DIGEST_H
#define MNI_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define DIGEST_SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* out = hex(sha256(data[0..len))). */
int digest_sha256_hex(const void *data, size_t len, char out[DIGEST_SHA256_HEX_LEN]);

/* out = hex of the first `bytes` bytes (1..32) of sha256(parts[0] "|" parts[1] "|" ...); a NULL
 * part counts as "". out holds 2 * bytes + 1 characters. */
int digest_sha256_parts_hex(const char *const *parts, size_t nparts, size_t bytes, char *out);

/* *out = the first 8 bytes of sha256(data[0..len)), big-endian, as a signed integer (what
 * PostgreSQL's ('x' || left(encode(sha256(data), 'hex'), 16))::bit(64)::bigint gives). */
int digest_sha256_int64(const void *data, size_t len, int64_t *out);

/* Writes 2 * n lower-case hex digits of bytes and a NUL into out. */
void digest_hex(const unsigned char *bytes, size_t n, char *out);

#endif
