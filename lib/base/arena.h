/*
 * arena: the bump allocator that owns what a decoder produces.
 *
 * A decoded event (or record) holds many small strings and arrays; rather than freeing each,
 * they are carved out of an arena that the event owns and that is reset as a whole before the
 * next decode (PostgreSQL memory contexts, in miniature). Memory is a list of chunks; an
 * allocation larger than a chunk gets a chunk of its own. Reset keeps the first chunk for
 * reuse, so a consumer decoding one event after another reaches a steady state without
 * malloc traffic.
 *
 * Ownership: arena_init makes an empty arena (no memory); everything allocated from it
 * lives until arena_reset or arena_free. An arena may be reset or freed any
 * number of times. Allocations are aligned for any type. Not thread-safe.
 */
#ifndef MNI_ARENA_H
#define MNI_ARENA_H

#include <stddef.h>

typedef struct arena_chunk arena_chunk;

typedef struct {
    arena_chunk *head; /* chunk being filled; older chunks follow */
} mni_arena;

void arena_init(mni_arena *a);
/* Releases everything but the first chunk, which is emptied for reuse. */
void arena_reset(mni_arena *a);
/* Releases everything; the arena is empty (as after init) and may be used again. */
void arena_free(mni_arena *a);

/* n bytes (n may be 0), zeroed; NULL when out of memory. */
void *arena_alloc(mni_arena *a, size_t n);
/* An array of count elements of size bytes, zeroed; NULL on overflow or out of memory. */
void *arena_array(mni_arena *a, size_t count, size_t size);
/* A NUL-terminated copy of s[0..n); NULL when out of memory. */
char *arena_strndup(mni_arena *a, const char *s, size_t n);

#endif
