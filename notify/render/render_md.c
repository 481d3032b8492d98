/*
 * render_md: see render_md.h.
 */
#include "notify/render/render_md.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void render_buf_init(render_buf *b)
{
    memset(b, 0, sizeof *b);
}

void render_buf_free(render_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int buf_reserve(render_buf *b, size_t more)
{
    if (b->failed) return -1;
    if (b->len + more + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = 1;
        return -1;
    }
    b->data = grown;
    b->cap = cap;
    return 0;
}

void render_buf_putn(render_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) != 0) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void render_buf_put(render_buf *b, const char *s)
{
    render_buf_putn(b, s, strlen(s));
}

void render_buf_printf(render_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *render_buf_take(render_buf *b)
{
    if (!b->failed && !b->data) buf_reserve(b, 0);
    if (b->failed) {
        render_buf_free(b);
        return NULL;
    }
    char *out = b->data;
    out[b->len] = '\0';
    memset(b, 0, sizeof *b);
    return out;
}

static int is_always_escaped(unsigned char c)
{
    return c && strchr("\\`*_[]<>|~", c) != NULL;
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One line's bytes s[0..n), escaped for inline use; a newline never occurs in it. */
static void put_line_inline(render_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t') {
            render_buf_put(b, " ");
        } else if (c < 0x20 || c == 0x7f) {
            continue; /* CR and other control characters carry nothing a reader needs */
        } else if (is_always_escaped(c) ||
                   (c == '&' && i + 1 < n &&
                    (is_alpha((unsigned char)s[i + 1]) || s[i + 1] == '#'))) {
            char esc[2] = {'\\', (char)c};
            render_buf_putn(b, esc, 2);
        } else {
            render_buf_putn(b, (const char *)&s[i], 1);
        }
    }
}

void render_md_inline(render_buf *b, const char *s)
{
    if (!s) return;
    const char *p = s;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        put_line_inline(b, p, n);
        if (!nl) break;
        render_buf_put(b, "<br>");
        p = nl + 1;
    }
}

/* Escapes a block-level marker at the start of a line: # > - + = and list numbers. Returns
 * how many bytes of s it wrote. */
static size_t put_line_start(render_buf *b, const char *s, size_t n)
{
    if (n == 0) return 0;
    if (strchr("#>-+=", s[0])) {
        char esc[2] = {'\\', s[0]};
        render_buf_putn(b, esc, 2);
        return 1;
    }
    size_t d = 0;
    while (d < n && d < 9 && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d > 0 && d < n && (s[d] == '.' || s[d] == ')')) {
        render_buf_putn(b, s, d);
        char esc[2] = {'\\', s[d]};
        render_buf_putn(b, esc, 2);
        return d + 1;
    }
    return 0;
}

void render_md_block(render_buf *b, const char *s)
{
    if (!s) s = "";
    const char *p = s;
    int first = 1, prev_empty = 0;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        /* Drop trailing blanks and CR, and leading blanks. */
        while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        while (n > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            n--;
        }
        /* A hard break between two lines of one paragraph; an empty line ends a paragraph. */
        if (!first) render_buf_put(b, prev_empty || n == 0 ? "\n" : "\\\n");
        render_buf_put(b, n ? "> " : ">");
        prev_empty = n == 0;
        size_t done = put_line_start(b, p, n);
        put_line_inline(b, p + done, n - done);
        first = 0;
        if (!nl) break;
        p = nl + 1;
    }
    render_buf_put(b, "\n");
}

char *render_md_escape(const char *s)
{
    render_buf b;
    render_buf_init(&b);
    render_md_inline(&b, s);
    return render_buf_take(&b);
}
