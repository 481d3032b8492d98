/*
 * idset: a set of identifier strings for the span of one batch (event ids, incident ids).
 *
 * What it is for. Ingest answers three per-batch questions by id: which incidents are known
 * (an incident_opened is stored or came earlier in the batch), which event ids the batch has
 * already seen (a producer retry inside one batch), and which rows the INSERT really added.
 * A batch may hold up to batch.size (100,000) messages, so these are hash lookups, not scans.
 *
 * Shape: open addressing with linear probing over a power-of-two table kept at most half full;
 * FNV-1a hashes. Each entry owns a malloc'd copy of its key and a `taken` mark
 * (ingest_idset_take), which lets "the first occurrence claims it" be answered without
 * deleting entries.
 *
 * Ownership and lifetime: ingest_idset_init makes an empty set without memory;
 * ingest_idset_clear frees the keys but keeps the table for the next batch (steady state: no
 * table reallocation); ingest_idset_free releases everything. Keys are copied on add, so the
 * caller's strings need not outlive the call. Not thread-safe (the worker is one thread).
 *
 * Errors: ingest_idset_add returns -1 only when out of memory; the set is unchanged then.
 */
#ifndef MNI_INGEST_IDSET_H
#define MNI_INGEST_IDSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *key;  /* NULL: empty slot */
    bool taken; /* set by ingest_idset_take */
} ingest_idset_entry;

typedef struct {
    ingest_idset_entry *slots;
    size_t cap;   /* 0 or a power of two */
    size_t count; /* keys present */
} ingest_idset;

void ingest_idset_init(ingest_idset *s);
/* Removes every key; keeps the table. */
void ingest_idset_clear(ingest_idset *s);
void ingest_idset_free(ingest_idset *s);

/* Adds a copy of key (no-op when present). 0, or -1 when out of memory. */
int ingest_idset_add(ingest_idset *s, const char *key);
bool ingest_idset_contains(const ingest_idset *s, const char *key);
/* True the first time it is called for a key that is present (and marks it taken); false when
 * the key is absent or was already taken. */
bool ingest_idset_take(ingest_idset *s, const char *key);
size_t ingest_idset_count(const ingest_idset *s);

#endif
