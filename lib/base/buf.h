/*
 * buf: the growable text buffer, with a size limit built in (curl's dynbuf habit). Appends
 * never fail loudly one by one: the first allocation failure or append past the limit marks
 * the buffer failed, later appends are dropped, and buf_take returns NULL, so a writer checks
 * once at the end instead of after every line.
 *
 * Ownership: buf_init makes an empty buffer (no memory); buf_free releases it; buf_take hands
 * the NUL-terminated text to the caller and leaves the buffer empty (same limit). The data is
 * always NUL-terminated when len > 0 and the buffer has not failed.
 *
 * Users: the document renderers (notify/render/) and the HTTP bodies of the schema registry
 * (lib/serdes/registry_client.c's answers, cli/registry_server.c's requests). The Avro framing
 * buffer (lib/serdes/wire.h, bytes with an error message per failure), the COPY buffer
 * (lib/pg/pgx.c, flushed to the server as it fills) and the log line builder (lib/base/log.c,
 * a stack buffer that truncates a line rather than drop it) keep their own shapes on purpose.
 */
#ifndef MNI_BUF_H
#define MNI_BUF_H

#include <stdbool.h>
#include <stddef.h>

#define BUF_NO_LIMIT ((size_t)-1)

typedef struct {
    char *data;
    size_t len, cap;
    size_t limit; /* the most bytes the text may hold (without its NUL) */
    bool failed;  /* out of memory or over the limit; everything after it was dropped */
} buf;

void buf_init(buf *b, size_t limit);
void buf_free(buf *b);
/* Appends n bytes of s. 0, or -1 once the buffer has failed. */
int buf_putn(buf *b, const char *s, size_t n);
int buf_puts(buf *b, const char *s);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The NUL-terminated text (ownership moves to the caller), or NULL when the buffer failed; the
 * buffer is empty afterwards either way. */
char *buf_take(buf *b);

#endif
