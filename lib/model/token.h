/*
 * token: person tokens, the only way a person reaches the pipeline (DESIGN.md "Person tokens,
 * never numbers"). A token is HMAC-SHA256(key, person key) in 64 lowercase hex digits. The same
 * person key under two clients gives the same token, so the contractor's total is exact and
 * de-duplicated; without the key a token cannot be turned back into the person.
 *
 * Key files hold the key as hex text (at least 32 bytes, so 64 hex digits), surrounding white
 * space ignored. token_key_generate writes a fresh random one with mode 0600.
 */
#ifndef MNI_TOKEN_H
#define MNI_TOKEN_H

#include <stddef.h>

#define TOKEN_HEX_LEN 64
#define TOKEN_KEY_MIN 32
#define TOKEN_KEY_MAX 128

typedef struct {
    unsigned char bytes[TOKEN_KEY_MAX];
    size_t len;
} token_key;

int token_key_load(const char *path, token_key *key, char *err, size_t errlen);
int token_key_generate(const char *path, char *err, size_t errlen);
/* Writes the token and a NUL into out. Returns 0, or -1 when the crypto library fails. */
int token_make(const token_key *key, const char *person_key, size_t len,
               char out[TOKEN_HEX_LEN + 1]);
/* True when text is exactly 64 lowercase hex digits. */
int token_is_wellformed(const char *text, size_t len);

#endif
