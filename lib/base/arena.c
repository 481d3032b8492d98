/* arena: chunked bump allocation (see arena.h). */
#include "lib/base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK 4096

struct arena_chunk {
    arena_chunk *next; /* the chunk allocated before this one */
    size_t size;       /* usable bytes in data */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

void arena_init(mni_arena *a)
{
    a->head = NULL;
}

/* The first chunk ever allocated is the last of the list. */
void arena_reset(mni_arena *a)
{
    arena_chunk *c = a->head;

    while (c != NULL && c->next != NULL) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    if (c != NULL) c->used = 0;
    a->head = c;
}

void arena_free(mni_arena *a)
{
    arena_reset(a);
    free(a->head);
    a->head = NULL;
}

void *arena_alloc(mni_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    arena_chunk *c = a->head;
    size_t need, size;
    void *p;

    if (n > SIZE_MAX - align - sizeof(arena_chunk)) return NULL;
    need = (n + align - 1) & ~(align - 1);
    if (c == NULL || c->size - c->used < need) {
        size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        c = malloc(sizeof(*c) + size);
        if (c == NULL) return NULL;
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += need;
    memset(p, 0, n);
    return p;
}

void *arena_array(mni_arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    return arena_alloc(a, count * size);
}

char *arena_strndup(mni_arena *a, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX) return NULL;
    p = arena_alloc(a, n + 1);
    if (p == NULL) return NULL;
    if (n > 0) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
