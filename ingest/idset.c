/*
 * idset: see idset.h.
 */
#include "ingest/idset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define IDSET_MIN_CAP 64

static uint64_t idset_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, 64-bit */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The slot holding key, or the empty slot where it would go. cap must be > 0. */
static ingest_idset_entry *idset_find(const ingest_idset *s, const char *key)
{
    size_t mask = s->cap - 1, i = (size_t)idset_hash(key) & mask;
    while (s->slots[i].key && strcmp(s->slots[i].key, key) != 0)
        i = (i + 1) & mask;
    return &s->slots[i];
}

static int idset_grow(ingest_idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : IDSET_MIN_CAP;
    ingest_idset_entry *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    ingest_idset old = *s;
    s->slots = slots;
    s->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key) *idset_find(s, old.slots[i].key) = old.slots[i];
    free(old.slots);
    return 0;
}

void ingest_idset_init(ingest_idset *s)
{
    memset(s, 0, sizeof *s);
}

void ingest_idset_clear(ingest_idset *s)
{
    if (s->count == 0) return;
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i].key);
        s->slots[i] = (ingest_idset_entry){0};
    }
    s->count = 0;
}

void ingest_idset_free(ingest_idset *s)
{
    ingest_idset_clear(s);
    free(s->slots);
    ingest_idset_init(s);
}

int ingest_idset_add(ingest_idset *s, const char *key)
{
    if ((s->count + 1) * 2 > s->cap && idset_grow(s) != 0) return -1;
    ingest_idset_entry *e = idset_find(s, key);
    if (e->key) return 0;
    e->key = strdup(key);
    if (!e->key) return -1;
    e->taken = false;
    s->count++;
    return 0;
}

bool ingest_idset_contains(const ingest_idset *s, const char *key)
{
    return s->cap > 0 && idset_find(s, key)->key != NULL;
}

bool ingest_idset_take(ingest_idset *s, const char *key)
{
    if (s->cap == 0) return false;
    ingest_idset_entry *e = idset_find(s, key);
    if (!e->key || e->taken) return false;
    e->taken = true;
    return true;
}

size_t ingest_idset_count(const ingest_idset *s)
{
    return s->count;
}
