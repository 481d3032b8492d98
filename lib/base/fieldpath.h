/*
 * fieldpath: the field path that every codec error starts with ("body.kinds[1]: ...").
 *
 * A fixed buffer on the caller's stack; push a field name or an array index before descending
 * and pop back to the saved length after. A path longer than the buffer is cut short (the
 * message stays readable, never overflows). Header-only: the helpers are tiny and inlined into
 * each codec (lib/serdes/avro_resolve.c, lib/serdes/avro_codec.c, lib/model/events_json.c).
 */
#ifndef MNI_FIELDPATH_H
#define MNI_FIELDPATH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/errbuf.h"

#define FIELDPATH_MAX 192

typedef struct {
    char s[FIELDPATH_MAX];
    size_t n; /* bytes used, < FIELDPATH_MAX */
} fieldpath;

static inline void fieldpath_init(fieldpath *p)
{
    p->s[0] = '\0';
    p->n = 0;
}

/* Appends s[0..len), cut short as snprintf would cut it. Codecs push a path element for every
 * array item (a manifest's thousands of tokens), so this copies by hand rather than format. */
static inline void fieldpath_append(fieldpath *p, const char *s, size_t len)
{
    size_t room = FIELDPATH_MAX - 1 - p->n;
    memcpy(p->s + p->n, s, len < room ? len : room);
    p->n += len < room ? len : room;
    p->s[p->n] = '\0';
}

/* Appends ".name" (or "name" at the top); returns the length to pop back to. */
static inline size_t fieldpath_field(fieldpath *p, const char *name)
{
    size_t old = p->n;
    if (p->n) fieldpath_append(p, ".", 1);
    fieldpath_append(p, name, strlen(name));
    return old;
}

/* Appends "[i]"; returns the length to pop back to. */
static inline size_t fieldpath_index(fieldpath *p, size_t i)
{
    char digits[24];
    size_t at = sizeof digits;
    size_t old = p->n;
    digits[--at] = ']';
    do {
        digits[--at] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    digits[--at] = '[';
    fieldpath_append(p, digits + at, sizeof digits - at);
    return old;
}

static inline void fieldpath_pop(fieldpath *p, size_t old)
{
    p->n = old;
    p->s[old] = '\0';
}

/* The path for a message: "(top)" when empty. */
static inline const char *fieldpath_str(const fieldpath *p)
{
    return p->n ? p->s : "(top)";
}

/* "<path>: <message>" into err (errbuf_fail); returns -1. The body of a codec's own
 * fail(ctx, fmt, ...). */
static inline int fieldpath_vfail(const fieldpath *p, char *err, size_t errlen, const char *fmt,
                                  va_list ap) __attribute__((format(printf, 4, 0)));
static inline int fieldpath_vfail(const fieldpath *p, char *err, size_t errlen, const char *fmt,
                                  va_list ap)
{
    char msg[256];
    errbuf_vfail(msg, sizeof msg, fmt, ap);
    return errbuf_fail(err, errlen, "%s: %s", fieldpath_str(p), msg);
}

#endif
