/*
 * rules_duplicates: finds a client id that appears twice among an incident's clients, in
 * O(n log n) and without memory of its own.
 *
 * A contractor's incident can list hundreds of thousands of clients; comparing each with every
 * earlier one (n^2 / 2 string comparisons) took 70 s for 200,000 clients. Instead the clients
 * are heap-sorted by a key of their id and equal ids become neighbours. Heap sort, not
 * quicksort: n log n in the worst case, in place, no recursion.
 *
 * Memory: the rule core allocates nothing, so the sort runs in the caller's verdict array,
 * which rules_assess is given with one slot per client anyway and overwrites afterwards. The
 * array is used as raw bytes (memcpy, which C allows over any object) holding one 16-byte
 * entry per client: a 64-bit hash of the id and the client's index. Sixteen bytes instead of a
 * whole verdict slot keep the sort inside the processor's caches: 3.2 MB for 200,000 clients.
 *
 * Hash collisions cannot give a wrong answer: entries are ordered by hash, then by the id's
 * text, then by index, so equal ids are always neighbours and ids crafted to collide cost
 * string comparisons, not correctness.
 *
 * Small incidents (up to DUP_SCAN_MAX clients, the usual case) keep the plain scan: a bounded
 * number of comparisons, cheaper than hashing and sorting.
 *
 * The answer is the one a plain scan in facts order would give: the first client whose id
 * already appeared, and the first client with that id. Within a run of equal ids the entries
 * are in index order, so the run's first entry is the earliest client and its second entry is
 * the earliest repetition; the answer is the run whose second entry comes first.
 */
#include <string.h>

#include "rules/rules_internal.h"

/* Up to this many clients (at most 120 comparisons) the plain scan is cheaper than sorting. */
#define DUP_SCAN_MAX 16

typedef struct {
    uint64_t key;   /* FNV-1a of the id */
    uint64_t index; /* the client's position in the facts */
} dup_entry;

_Static_assert(sizeof(dup_entry) <= sizeof(rules_client_verdict),
               "each verdict slot must hold one sort entry");

typedef struct {
    unsigned char *bytes; /* the caller's verdict array */
    const rules_client *clients;
} dup_table;

static dup_entry entry_get(const dup_table *t, size_t i)
{
    dup_entry e;
    memcpy(&e, t->bytes + i * sizeof e, sizeof e);
    return e;
}

static void entry_put(const dup_table *t, size_t i, dup_entry e)
{
    memcpy(t->bytes + i * sizeof e, &e, sizeof e);
}

static uint64_t id_key(const char *id)
{
    uint64_t h = 14695981039346656037u;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

/* Whether both entries name the same id. */
static bool same_id(const dup_table *t, dup_entry a, dup_entry b)
{
    return a.key == b.key && !strcmp(t->clients[a.index].client_id, t->clients[b.index].client_id);
}

/* Orders entries by key, then by id, then by client index. */
static int entry_cmp(const dup_table *t, dup_entry a, dup_entry b)
{
    if (a.key != b.key) return a.key < b.key ? -1 : 1;
    int c = strcmp(t->clients[a.index].client_id, t->clients[b.index].client_id);
    if (c != 0) return c;
    return (a.index > b.index) - (a.index < b.index);
}

/* Restores the max-heap property below `root` in entries [0, n). */
static void sift_down(const dup_table *t, size_t root, size_t n)
{
    dup_entry top = entry_get(t, root);
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) break;
        dup_entry c = entry_get(t, child);
        if (child + 1 < n) {
            dup_entry right = entry_get(t, child + 1);
            if (entry_cmp(t, right, c) > 0) {
                child++;
                c = right;
            }
        }
        if (entry_cmp(t, c, top) <= 0) break;
        entry_put(t, root, c);
        root = child;
    }
    entry_put(t, root, top);
}

static void heap_sort(const dup_table *t, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(t, i, n);
    for (size_t end = n; end-- > 1;) {
        dup_entry largest = entry_get(t, 0);
        entry_put(t, 0, entry_get(t, end));
        entry_put(t, end, largest);
        sift_down(t, 0, end);
    }
}

/* Whether two client ids are equal. Both are RULES_ID_MAX-byte arrays holding a NUL (the
 * callers validated them), so they are compared eight bytes at a time: a word without a NUL
 * must match whole; in the word with the first NUL of `a`, the bytes up to that NUL must. Ids
 * are short and often share a prefix ("CLIENT-0001"): this is a few instructions where strcmp
 * was a call and a byte loop. The word trick reads bytes in memory order, so it needs a
 * little-endian machine (x86-64 and arm64, where the project runs); others take strcmp. */
static bool ids_equal(const char *a, const char *b)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    for (size_t at = 0; at < RULES_ID_MAX; at += sizeof(uint64_t)) {
        uint64_t x, y;
        memcpy(&x, a + at, sizeof x);
        memcpy(&y, b + at, sizeof y);
        /* The lowest set bit is the top bit of the first zero byte of x, exactly (bits above
         * it may be false alarms, and are never looked at); the bits up to it cover the bytes
         * up to and including that NUL. */
        uint64_t zero = (x - ones) & ~x & highs;
        if (zero) return ((x ^ y) & (zero ^ (zero - 1))) == 0;
        if (x != y) return false;
    }
    return false; /* not reached: a validated id holds a NUL */
#else
    return strcmp(a, b) == 0;
#endif
}

/* The plain scan: fewer comparisons than hashing and sorting while n is small. */
static bool scan_small(const rules_client *clients, size_t n, size_t *dup, size_t *first)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (ids_equal(clients[i].client_id, clients[j].client_id)) {
                *dup = i;
                *first = j;
                return true;
            }
    return false;
}

bool rules_find_duplicate_client(const rules_client *clients, size_t n,
                                 rules_client_verdict *scratch, size_t *dup, size_t *first)
{
    if (n <= DUP_SCAN_MAX) return scan_small(clients, n, dup, first);
    dup_table t = {.bytes = (unsigned char *)scratch, .clients = clients};
    for (size_t i = 0; i < n; i++)
        entry_put(&t, i, (dup_entry){.key = id_key(clients[i].client_id), .index = i});
    heap_sort(&t, n);
    bool found = false;
    dup_entry before = {0}, prev = entry_get(&t, 0);
    for (size_t k = 1; k < n; k++) {
        dup_entry cur = entry_get(&t, k);
        /* cur is the earliest repetition of its id only when prev starts the run. */
        bool repeats = same_id(&t, prev, cur) && (k < 2 || !same_id(&t, before, cur));
        if (repeats && (!found || cur.index < *dup)) {
            *dup = (size_t)cur.index;
            *first = (size_t)prev.index;
            found = true;
        }
        before = prev;
        prev = cur;
    }
    return found;
}
