/*
 * json_tokens: the fast path of `mni produce` for a manifest's tokens. Parsing a JSON line with
 * jansson costs about 10,000 instructions per person token (a 64-character string object
 * each); this finds the array body.tokens in the text itself and reads it, when it is plain:
 * every item a string of exactly 64 lowercase hex digits, no escapes, any JSON whitespace.
 *
 * json_tokens_find locates the value of the first key "tokens" of the object that is the value
 * of the first key "body" of the top-level object (keys written without escapes), and checks
 * that value as above. It reads only as far as that array and trusts nothing else of the text:
 * the caller parses the rest (the text with the array replaced by []) with jansson, which
 * refuses what is not JSON, duplicate keys included. Where the text is valid JSON, the span
 * found is exactly the array jansson would read there; where it is not, the rest does not
 * parse either (the text before the array is unchanged), and the caller takes the generic path,
 * which reports the error. Anything else (an escaped key, a token with an upper-case digit, a
 * token of another length, no such array) answers false: the generic path again, with its
 * errors naming the field. Pure, no allocation.
 */
#ifndef MNI_JSON_TOKENS_H
#define MNI_JSON_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    size_t start, end; /* the array, '[' to ']' included: text[start..end) */
    size_t n;          /* its tokens */
} json_tokens_span;

/* True with *span set when text[0..len) holds a plain body.tokens array (see above). */
bool json_tokens_find(const char *text, size_t len, json_tokens_span *span);

/* Copies the span's tokens, NUL-terminated, into chars (span->n * 65 bytes) and points
 * tokens[0..n) at them. Only after json_tokens_find said true for the same text. */
void json_tokens_copy(const char *text, const json_tokens_span *span, char *chars,
                      const char **tokens);

#endif
