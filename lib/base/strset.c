/*
 * strset: see strset.h.
 */
#include "lib/base/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define STRSET_MIN_CAP 64

uint64_t strset_hash(const char *key)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a, 64-bit offset basis */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The slot holding key, or the empty slot where it would go. cap must be > 0. */
static strset_entry *strset_find(const strset *s, const char *key)
{
    size_t mask = s->cap - 1, i = (size_t)strset_hash(key) & mask;
    while (s->slots[i].key && strcmp(s->slots[i].key, key) != 0)
        i = (i + 1) & mask;
    return &s->slots[i];
}

static int strset_grow(strset *s)
{
    size_t cap = s->cap ? s->cap * 2 : STRSET_MIN_CAP;
    strset_entry *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    strset old = *s;
    s->slots = slots;
    s->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.slots[i].key) *strset_find(s, old.slots[i].key) = old.slots[i];
    free(old.slots);
    return 0;
}

void strset_init(strset *s)
{
    memset(s, 0, sizeof *s);
}

void strset_clear(strset *s)
{
    if (s->count == 0) return;
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i].key);
        s->slots[i] = (strset_entry){0};
    }
    s->count = 0;
}

void strset_free(strset *s)
{
    strset_clear(s);
    free(s->slots);
    strset_init(s);
}

int strset_put(strset *s, const char *key, size_t value, bool *added)
{
    if (added) *added = false;
    if ((s->count + 1) * 2 > s->cap && strset_grow(s) != 0) return -1;
    strset_entry *e = strset_find(s, key);
    if (e->key) return 0;
    e->key = strdup(key);
    if (!e->key) return -1;
    e->taken = false;
    e->value = value;
    s->count++;
    if (added) *added = true;
    return 0;
}

int strset_add(strset *s, const char *key)
{
    return strset_put(s, key, 0, NULL);
}

bool strset_get(const strset *s, const char *key, size_t *value)
{
    if (s->cap == 0) return false;
    const strset_entry *e = strset_find(s, key);
    if (!e->key) return false;
    if (value) *value = e->value;
    return true;
}

bool strset_contains(const strset *s, const char *key)
{
    return s->cap > 0 && strset_find(s, key)->key != NULL;
}

bool strset_take(strset *s, const char *key)
{
    if (s->cap == 0) return false;
    strset_entry *e = strset_find(s, key);
    if (!e->key || e->taken) return false;
    e->taken = true;
    return true;
}

size_t strset_count(const strset *s)
{
    return s->count;
}
