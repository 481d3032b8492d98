/*
 * buf: see buf.h.
 */
#include "lib/base/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void buf_free(buf *b)
{
    free(b->data);
    buf_init(b, b->limit);
}

/* Room for `more` bytes and the NUL; marks the buffer failed when it cannot be had. */
static int reserve(buf *b, size_t more)
{
    if (b->failed) return -1;
    if (more > b->limit || b->len > b->limit - more) {
        b->failed = true;
        return -1;
    }
    if (b->len + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = true;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

int buf_putn(buf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0) return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_puts(buf *b, const char *s)
{
    return buf_putn(b, s, strlen(s));
}

int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) b->failed = true;
    if (n < 0 || reserve(b, (size_t)n) != 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *buf_take(buf *b)
{
    if (!b->failed && !b->data) reserve(b, 0);
    if (b->failed) {
        buf_free(b);
        return NULL;
    }
    char *out = b->data;
    out[b->len] = '\0';
    buf_init(b, b->limit);
    return out;
}
