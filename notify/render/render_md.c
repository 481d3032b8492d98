/*
 * render_md: see render_md.h.
 */
#include "notify/render/render_md.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_always_escaped(unsigned char c)
{
    switch (c) {
    case '\\':
    case '`':
    case '*':
    case '_':
    case '[':
    case ']':
    case '<':
    case '>':
    case '|':
    case '~':
        return 1;
    default:
        return 0;
    }
}

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether byte c is written as it is, whatever follows it: not a tab, another control
 * character, '&' or an always-escaped mark. */
static int is_plain(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != '&' && !is_always_escaped(c);
}

/* One line's bytes s[0..n), escaped for inline use; a newline never occurs in it. Runs of
 * plain bytes go out in one append (byte by byte, this was a tenth of mni-notify's CPU). */
static void put_line_inline(buf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && is_plain((unsigned char)s[run]))
            run++;
        if (run > i) buf_putn(b, s + i, run - i);
        if (run == n) break;
        unsigned char c = (unsigned char)s[run];
        i = run + 1;
        if (c == '\t') {
            buf_puts(b, " ");
        } else if (c < 0x20 || c == 0x7f) {
            continue; /* CR and other control characters carry nothing a reader needs */
        } else if (is_always_escaped(c) ||
                   (c == '&' && i < n && (is_alpha((unsigned char)s[i]) || s[i] == '#'))) {
            char esc[2] = {'\\', (char)c};
            buf_putn(b, esc, 2);
        } else {
            buf_putn(b, (const char *)&c, 1);
        }
    }
}

void render_md_inline(buf *b, const char *s)
{
    if (!s) return;
    const char *p = s;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        put_line_inline(b, p, n);
        if (!nl) break;
        buf_puts(b, "<br>");
        p = nl + 1;
    }
}

/* Escapes a block-level marker at the start of a line: # > - + = and list numbers. Returns
 * how many bytes of s it wrote. */
static size_t put_line_start(buf *b, const char *s, size_t n)
{
    if (n == 0) return 0;
    if (strchr("#>-+=", s[0])) {
        char esc[2] = {'\\', s[0]};
        buf_putn(b, esc, 2);
        return 1;
    }
    size_t d = 0;
    while (d < n && d < 9 && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d > 0 && d < n && (s[d] == '.' || s[d] == ')')) {
        buf_putn(b, s, d);
        char esc[2] = {'\\', s[d]};
        buf_putn(b, esc, 2);
        return d + 1;
    }
    return 0;
}

void render_md_block(buf *b, const char *s)
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
        if (!first) buf_puts(b, prev_empty || n == 0 ? "\n" : "\\\n");
        buf_puts(b, n ? "> " : ">");
        prev_empty = n == 0;
        size_t done = put_line_start(b, p, n);
        put_line_inline(b, p + done, n - done);
        first = 0;
        if (!nl) break;
        p = nl + 1;
    }
    buf_puts(b, "\n");
}

char *render_md_escape(const char *s)
{
    buf b;
    buf_init(&b, RENDER_MAX_BYTES);
    render_md_inline(&b, s);
    return buf_take(&b);
}
