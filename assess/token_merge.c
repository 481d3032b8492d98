/*
 * token_merge: see token_merge.h.
 */
#include "assess/token_merge.h"
#include "lib/base/strset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"

int token_merge_prepare(PGconn *pg, char *err, size_t errlen)
{
    return pgx_exec(pg, "merge.staging",
                    "CREATE TEMP TABLE IF NOT EXISTS assess_tokens (seq integer NOT NULL, "
                    "incident_id text NOT NULL, client_id text NOT NULL, token bytea NOT NULL, "
                    "first_in_incident boolean NOT NULL)",
                    err, errlen);
}

#define TOKEN_BYTES (MNI_EVENT_TOKEN_LEN / 2)

/* One token of one manifest of items[item], decoded once into its 32 bytes, which every comparison,
 * hash and sort below uses (as hex text, the tables, the sort and the crediting of returned rows
 * cost ~0.6 CPU-s per 500,000 tokens; bench/README.md). The bytes order as the hex digits do,
 * lower-case hex being order-preserving. */
typedef struct {
    uint32_t item;
    unsigned char key[TOKEN_BYTES];
} token_ref;

/* Two open-addressing sets of token refs: by (case, client, token) and by (case, token).
 * A slot holds a ref index + 1 (0: empty). */
typedef struct {
    token_merge_item *items;
    size_t n_items;
    token_ref *refs;
    uint32_t *by_client, *by_incident;
    size_t mask;
} token_table;

static const char *ref_client(const token_table *t, uint32_t r)
{
    return t->items[t->refs[r].item].ev->body.manifest.client_id;
}

static size_t ref_case(const token_table *t, uint32_t r)
{
    return t->items[t->refs[r].item].case_index;
}

/* The slot hash of a key: its token's leading 64 bits, the case and (per client) the client. */
static uint64_t key_hash(const unsigned char *key, size_t case_index, uint64_t client_hash)
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    h ^= (case_index * 0x9e3779b97f4a7c15ULL) ^ client_hash;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* The ref holding the key (case, client or NULL, token bytes), or -1 when absent; *slot
 * receives where it is or would go. */
static int64_t table_find(const token_table *t, const uint32_t *slots, size_t case_index,
                          const char *client, uint64_t client_hash, const unsigned char *key,
                          size_t *slot)
{
    size_t s = key_hash(key, case_index, client ? client_hash : 0) & t->mask;
    for (;; s = (s + 1) & t->mask) {
        uint32_t o = slots[s];
        if (o == 0) break;
        uint32_t r = o - 1;
        if (memcmp(t->refs[r].key, key, TOKEN_BYTES) == 0 && ref_case(t, r) == case_index &&
            (!client || strcmp(ref_client(t, r), client) == 0)) {
            *slot = s;
            return r;
        }
    }
    *slot = s;
    return -1;
}

/* Adds ref r unless its key is there: 1 when it was new. */
static int table_add(token_table *t, uint32_t *slots, uint32_t r, int per_client,
                     uint64_t client_hash)
{
    size_t s;
    if (table_find(t, slots, ref_case(t, r), per_client ? ref_client(t, r) : NULL, client_hash,
                   t->refs[r].key, &s) >= 0)
        return 0;
    slots[s] = r + 1;
    return 1;
}

static unsigned hex_digit(char ch)
{
    return (unsigned)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
}

/* A token's 64 lower-case hex digits (checked when the event was decoded) as 32 bytes. */
static void token_bytes(const char *hex, unsigned char out[TOKEN_BYTES])
{
    for (size_t b = 0; b < TOKEN_BYTES; b++)
        out[b] = (unsigned char)(hex_digit(hex[2 * b]) << 4 | hex_digit(hex[2 * b + 1]));
}

/* A staged row: its key's strings and bytes and its flags, sorted before the COPY. */
typedef struct {
    const char *incident, *client;
    const unsigned char *key;
    uint32_t item;
    int first;
} staged_row;

/* (incident, client, token) in the byte order of the database's C collation (scripts/mni-env
 * initialises with --locale=C): the first merge's ORDER BY. */
static int staged_cmp(const void *a, const void *b)
{
    const staged_row *x = a, *y = b;
    int c = strcmp(x->incident, y->incident);
    if (c == 0) c = strcmp(x->client, y->client);
    return c != 0 ? c : memcmp(x->key, y->key, TOKEN_BYTES);
}

/* Binary COPY: the server stores each value as sent, where the text format had it unescape
 * and parse 66 characters of hex per token (about 12% less PostgreSQL CPU for the whole merge
 * in a W2-shaped run; bench/README.md "The manifest path").
 * Which rows are staged, and which is first in its incident, is decided in stream order (it
 * decides which manifest is credited); the rows are then sent sorted in the first merge's
 * order, keys being unique: PostgreSQL's quicksort finds presorted input in one pass, where
 * sorting 20,000 random rows cost it ~60 ms of a ~300 ms merge (bench/README.md). */
static int copy_tokens(PGconn *pg, token_table *t, size_t n_refs, char *err, size_t errlen)
{
    staged_row *rows = malloc(n_refs * sizeof *rows);
    if (!rows) {
        snprintf(err, errlen, "token merge: out of memory for %zu tokens", n_refs);
        return -1;
    }
    size_t n_rows = 0;
    uint64_t client_hash = 0;
    uint32_t last_item = UINT32_MAX;
    for (uint32_t r = 0; r < n_refs; r++) {
        if (t->refs[r].item != last_item) {
            last_item = t->refs[r].item;
            client_hash = strset_hash(ref_client(t, r));
        }
        if (!table_add(t, t->by_client, r, 1, client_hash)) continue; /* seen in this batch */
        int first = table_add(t, t->by_incident, r, 0, 0);
        rows[n_rows++] = (staged_row){t->items[t->refs[r].item].ev->incident_id, ref_client(t, r),
                                      t->refs[r].key, t->refs[r].item, first};
    }
    qsort(rows, n_rows, sizeof *rows, staged_cmp);
    pgx_copy cp;
    if (pgx_copy_begin_binary(&cp, pg, "merge.copy",
                              "COPY assess_tokens (seq, incident_id, client_id, token, "
                              "first_in_incident) FROM STDIN (FORMAT binary)",
                              err, errlen) != 0) {
        free(rows);
        return -1;
    }
    for (size_t i = 0; i < n_rows; i++) {
        const staged_row *row = &rows[i];
        pgx_copy_bin_row(&cp, 5);
        pgx_copy_bin_int4(&cp, (int32_t)row->item);
        pgx_copy_bin_bytes(&cp, row->incident, strlen(row->incident));
        pgx_copy_bin_bytes(&cp, row->client, strlen(row->client));
        pgx_copy_bin_bytes(&cp, row->key, TOKEN_BYTES);
        pgx_copy_bin_bool(&cp, row->first);
    }
    free(rows);
    return pgx_copy_end(&cp, NULL, err, errlen);
}

/* The case index of an incident id of the batch, through the merge's map (rows come back in
 * token order, so incidents interleave); consecutive rows of one incident skip the lookup. */
static size_t case_of(const strset *cases, const char *incident_id, const char **last,
                      size_t *last_case)
{
    if (*last && !strcmp(*last, incident_id)) return *last_case;
    if (!strset_get(cases, incident_id, last_case)) return (size_t)-1;
    *last = incident_id;
    return *last_case;
}

/* Credits each row of an INSERT ... RETURNING incident_id[, client_id], token (binary) to the
 * manifest that staged it, found in C's own sets. */
static int credit_rows(token_table *t, const strset *cases, const PGresult *res, const char *name,
                       int per_client, char *err, size_t errlen)
{
    const char *last_incident = NULL, *last_client = NULL;
    size_t last_case = 0;
    uint64_t client_hash = 0;
    int token_col = per_client ? 2 : 1;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *incident = PQgetvalue(res, r, 0);
        const char *client = per_client ? PQgetvalue(res, r, 1) : NULL;
        const unsigned char *key = (const unsigned char *)PQgetvalue(res, r, token_col);
        if (PQgetlength(res, r, token_col) != TOKEN_BYTES) {
            snprintf(err, errlen, "%s: a returned token is not 32 bytes", name);
            return -1;
        }
        if (client && (!last_client || strcmp(last_client, client) != 0)) {
            last_client = client;
            client_hash = strset_hash(client);
        }
        size_t slot, c = case_of(cases, incident, &last_incident, &last_case);
        int64_t ref = c == (size_t)-1 ? -1
                                      : table_find(t, per_client ? t->by_client : t->by_incident, c,
                                                   client, client_hash, key, &slot);
        if (ref < 0) {
            snprintf(err, errlen, "%s: a returned row was not staged by this batch", name);
            return -1;
        }
        token_merge_item *item = &t->items[t->refs[ref].item];
        if (per_client)
            item->new_client++;
        else
            item->new_persons++;
    }
    return 0;
}

/* The statements after the COPY. Rows go in in key order (every merge takes its index locks in
 * one order; neighbours share pages); RETURNING says which were new. The staging table is
 * emptied now, not at commit (a savepoint-per-event retry merges again in the same
 * transaction): ON COMMIT DELETE ROWS would truncate it once more at every commit
 * (batch_store_prepare says what that costs). */
static const struct {
    const char *name, *sql;
    int credits; /* 1: per client, 0: per incident, -1: no rows */
} merge_steps[] = {
    {"merge.client_tokens",
     "INSERT INTO exposure_tokens (incident_id, client_id, token) "
     "SELECT incident_id, client_id, token FROM assess_tokens "
     "ORDER BY incident_id, client_id, token "
     "ON CONFLICT DO NOTHING RETURNING incident_id, client_id, token",
     1},
    {"merge.persons",
     "INSERT INTO incident_persons (incident_id, token) "
     "SELECT incident_id, token FROM assess_tokens WHERE first_in_incident "
     "ORDER BY token, incident_id ON CONFLICT DO NOTHING "
     "RETURNING incident_id, token",
     0},
    {"merge.clear", "TRUNCATE assess_tokens", -1},
};
#define MERGE_STEPS (sizeof merge_steps / sizeof merge_steps[0])

/* Runs merge_steps in one pipeline (pgx_pipeline_send): the server goes from one to the next
 * without a round trip, and runs the second merge while C credits the rows of the first; in
 * order and in the batch's transaction, exactly as one by one. */
static int run_merges(PGconn *pg, token_table *t, const strset *cases, char *err, size_t errlen)
{
    const char *sqls[MERGE_STEPS];
    int binary[MERGE_STEPS];
    for (size_t i = 0; i < MERGE_STEPS; i++) {
        sqls[i] = merge_steps[i].sql;
        binary[i] = merge_steps[i].credits >= 0;
    }
    pgx_pipeline pl;
    int rc = pgx_pipeline_send(&pl, pg, MERGE_STEPS, sqls, binary, err, errlen);
    for (size_t i = 0; i < MERGE_STEPS && rc == 0; i++) {
        PGresult *res = pgx_pipeline_next(&pl, merge_steps[i].name, err, errlen);
        if (!res) {
            rc = -1;
            break;
        }
        if (merge_steps[i].credits >= 0)
            rc = credit_rows(t, cases, res, merge_steps[i].name, merge_steps[i].credits, err,
                             errlen);
        PQclear(res);
    }
    char end_err[256];
    if (pgx_pipeline_end(&pl, end_err, sizeof end_err) != 0 && rc == 0) {
        snprintf(err, errlen, "merge: %s", end_err);
        rc = -1;
    }
    return rc;
}

int token_merge(PGconn *pg, token_merge_item *items, size_t n, char *err, size_t errlen)
{
    size_t n_refs = 0;
    for (size_t i = 0; i < n; i++) {
        items[i].new_client = items[i].new_persons = 0;
        n_refs += items[i].ev->body.manifest.n_tokens;
    }
    if (n_refs == 0) return 0;
    size_t cap = 16;
    while (cap < n_refs * 2)
        cap <<= 1;
    strset cases; /* incident id -> case index */
    strset_init(&cases);
    token_table t = {.items = items,
                     .n_items = n,
                     .refs = malloc(n_refs * sizeof(token_ref)),
                     .by_client = calloc(cap, sizeof(uint32_t)),
                     .by_incident = calloc(cap, sizeof(uint32_t)),
                     .mask = cap - 1};
    int rc = -1;
    if (!t.refs || !t.by_client || !t.by_incident) {
        snprintf(err, errlen, "token merge: out of memory for %zu tokens", n_refs);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (strset_put(&cases, items[i].ev->incident_id, items[i].case_index, NULL) != 0) {
            snprintf(err, errlen, "token merge: out of memory for %zu incidents", n);
            goto done;
        }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < items[i].ev->body.manifest.n_tokens; j++, k++) {
            t.refs[k].item = (uint32_t)i;
            token_bytes(items[i].ev->body.manifest.tokens[j], t.refs[k].key);
        }
    if (token_merge_prepare(pg, err, errlen) != 0 ||
        copy_tokens(pg, &t, n_refs, err, errlen) != 0 ||
        run_merges(pg, &t, &cases, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    strset_free(&cases);
    free(t.refs);
    free(t.by_client);
    free(t.by_incident);
    return rc;
}
