/*
 * events_path: the field path that every codec error starts with ("body.kinds[1]: ...").
 *
 * A fixed buffer on the caller's stack; push a field name or an array index before descending
 * and pop back to the saved length after. A path longer than the buffer is cut short (the
 * message stays readable, never overflows). Header-only: the helpers are tiny and inlined into
 * each codec (events_resolve, events_avro, events, events_json, records).
 */
#ifndef MNI_EVENTS_PATH_H
#define MNI_EVENTS_PATH_H

#include <stddef.h>
#include <stdio.h>

#define EVENTS_PATH_MAX 192

typedef struct {
    char s[EVENTS_PATH_MAX];
    size_t n; /* bytes used, < EVENTS_PATH_MAX */
} events_path;

static inline void events_path_init(events_path *p)
{
    p->s[0] = '\0';
    p->n = 0;
}

static inline void events_path_clip(events_path *p, int wrote)
{
    if (wrote < 0) return;
    p->n += (size_t)wrote;
    if (p->n >= EVENTS_PATH_MAX) p->n = EVENTS_PATH_MAX - 1;
}

/* Appends ".name" (or "name" at the top); returns the length to pop back to. */
static inline size_t events_path_field(events_path *p, const char *name)
{
    size_t old = p->n;
    events_path_clip(p,
                     snprintf(p->s + p->n, EVENTS_PATH_MAX - p->n, "%s%s", p->n ? "." : "", name));
    return old;
}

/* Appends "[i]"; returns the length to pop back to. */
static inline size_t events_path_index(events_path *p, size_t i)
{
    size_t old = p->n;
    events_path_clip(p, snprintf(p->s + p->n, EVENTS_PATH_MAX - p->n, "[%zu]", i));
    return old;
}

static inline void events_path_pop(events_path *p, size_t old)
{
    p->n = old;
    p->s[old] = '\0';
}

/* The path for a message: "(top)" when empty. */
static inline const char *events_path_str(const events_path *p)
{
    return p->n ? p->s : "(top)";
}

#endif
