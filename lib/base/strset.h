/*
 * strset: a set of identifier strings for the span of one batch (event ids, incident ids),
 * each with an optional size_t value; and strset_hash, the one string hash of lib/ and the
 * workers (the rule core keeps its own: rules/ depends on nothing).
 *
 * What it is for. Ingest answers three per-batch questions by id: which incidents are known
 * (an incident_opened is stored or came earlier in the batch), which event ids the batch has
 * already seen (a producer retry inside one batch), and which rows the INSERT really added;
 * assess maps each event id of a batch to the message that carries it first.
 * A batch may hold up to batch.size (100,000) messages, so these are hash lookups, not scans.
 *
 * Shape: open addressing with linear probing over a power-of-two table kept at most half full;
 * FNV-1a hashes. Each entry owns a malloc'd copy of its key and a `taken` mark
 * (strset_take), which lets "the first occurrence claims it" be answered without
 * deleting entries.
 *
 * Ownership and lifetime: strset_init makes an empty set without memory;
 * strset_clear frees the keys but keeps the table for the next batch (steady state: no
 * table reallocation); strset_free releases everything. Keys are copied on add, so the
 * caller's strings need not outlive the call. Not thread-safe (the worker is one thread).
 *
 * Errors: strset_add returns -1 only when out of memory; the set is unchanged then.
 */
#ifndef MNI_STRSET_H
#define MNI_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *key;    /* NULL: empty slot */
    bool taken;   /* set by strset_take */
    size_t value; /* set by strset_put, 0 after strset_add */
} strset_entry;

typedef struct {
    strset_entry *slots;
    size_t cap;   /* 0 or a power of two */
    size_t count; /* keys present */
} strset;

/* 64-bit FNV-1a of a NUL-terminated string. */
uint64_t strset_hash(const char *key);

void strset_init(strset *s);
/* Removes every key; keeps the table. */
void strset_clear(strset *s);
void strset_free(strset *s);

/* Adds a copy of key (no-op when present). 0, or -1 when out of memory. */
int strset_add(strset *s, const char *key);
/* Adds a copy of key with value; a key already present keeps its first value. *added (may be
 * NULL) says whether this call added it. 0, or -1 when out of memory. */
int strset_put(strset *s, const char *key, size_t value, bool *added);
/* True when key is present; *value (may be NULL) receives its value. */
bool strset_get(const strset *s, const char *key, size_t *value);
bool strset_contains(const strset *s, const char *key);
/* True the first time it is called for a key that is present (and marks it taken); false when
 * the key is absent or was already taken. */
bool strset_take(strset *s, const char *key);
size_t strset_count(const strset *s);

#endif
