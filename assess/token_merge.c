/*
 * token_merge: see token_merge.h.
 */
#include "assess/token_merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pgx.h"

int token_merge_prepare(PGconn *pg, char *err, size_t errlen)
{
    return pgx_exec(pg, "merge.staging",
                    "CREATE TEMP TABLE IF NOT EXISTS assess_tokens (seq integer NOT NULL, "
                    "incident_id text NOT NULL, client_id text NOT NULL, token bytea NOT NULL, "
                    "first_in_incident boolean NOT NULL) ON COMMIT DELETE ROWS",
                    err, errlen);
}

/* One token of one manifest: items[item].ev->body.manifest.tokens[tok]. */
typedef struct {
    uint32_t item, tok;
} token_ref;

typedef struct {
    token_merge_item *items;
    token_ref *refs;
    uint32_t *slots; /* 0 empty, else ref index + 1 */
    size_t mask;
} token_table;

static const char *ref_token(const token_table *t, uint32_t r)
{
    return t->items[t->refs[r].item].ev->body.manifest.tokens[t->refs[r].tok];
}

static const char *ref_client(const token_table *t, uint32_t r)
{
    return t->items[t->refs[r].item].ev->body.manifest.client_id;
}

static uint64_t hex64(const char *hex)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char ch = hex[i];
        v = (v << 4) | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
    }
    return v;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Inserts ref r unless an equal key is there; per_client adds the client to the key. Returns
 * 1 when r was new. Keys always share the case: the caller keeps one table per call and the
 * case index is part of the hash and the comparison. */
static int table_add(token_table *t, uint32_t r, int per_client, uint64_t client_hash)
{
    const char *tok = ref_token(t, r);
    size_t case_index = t->items[t->refs[r].item].case_index;
    uint64_t h =
        mix(hex64(tok) ^ (case_index * 0x9e3779b97f4a7c15ULL) ^ (per_client ? client_hash : 0));
    for (size_t s = h & t->mask;; s = (s + 1) & t->mask) {
        uint32_t o = t->slots[s];
        if (o == 0) {
            t->slots[s] = r + 1;
            return 1;
        }
        uint32_t other = o - 1;
        if (t->items[t->refs[other].item].case_index == case_index &&
            memcmp(ref_token(t, other), tok, MNI_EVENT_TOKEN_LEN) == 0 &&
            (!per_client || strcmp(ref_client(t, other), ref_client(t, r)) == 0))
            return 0;
    }
}

/* Reads "seq count" rows into the items' counters. */
static int read_counts(PGconn *pg, const char *name, const char *sql, token_merge_item *items,
                       size_t n, int persons, char *err, size_t errlen)
{
    PGresult *res = pgx_query(pg, name, sql, 0, NULL, err, errlen);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        long seq = atol(PQgetvalue(res, r, 0));
        long long count = atoll(PQgetvalue(res, r, 1));
        if (seq < 0 || (size_t)seq >= n) continue;
        if (persons)
            items[seq].new_persons = count;
        else
            items[seq].new_client = count;
    }
    PQclear(res);
    return 0;
}

static int copy_tokens(PGconn *pg, token_table *t, size_t n_refs, char *err, size_t errlen)
{
    size_t cap = 16;
    while (cap < n_refs * 2)
        cap <<= 1;
    uint32_t *by_client = calloc(cap, sizeof *by_client);
    uint32_t *by_incident = calloc(cap, sizeof *by_incident);
    if (!by_client || !by_incident) {
        free(by_client);
        free(by_incident);
        snprintf(err, errlen, "token merge: out of memory for %zu tokens", n_refs);
        return -1;
    }
    t->mask = cap - 1;
    pgx_copy cp;
    int rc = pgx_copy_begin(&cp, pg, "merge.copy",
                            "COPY assess_tokens (seq, incident_id, client_id, token, "
                            "first_in_incident) FROM STDIN",
                            err, errlen);
    if (rc == 0) {
        char hex[2 + MNI_EVENT_TOKEN_LEN + 1] = "\\x";
        uint64_t client_hash = 0;
        uint32_t last_item = UINT32_MAX;
        for (uint32_t r = 0; r < n_refs; r++) {
            if (t->refs[r].item != last_item) {
                last_item = t->refs[r].item;
                client_hash = str_hash(ref_client(t, r));
            }
            t->slots = by_client;
            if (!table_add(t, r, 1, client_hash)) continue; /* the client had it in this batch */
            t->slots = by_incident;
            int first = table_add(t, r, 0, 0);
            const mni_event *ev = t->items[t->refs[r].item].ev;
            memcpy(hex + 2, ref_token(t, r), MNI_EVENT_TOKEN_LEN);
            pgx_copy_field_int(&cp, (long long)t->refs[r].item);
            pgx_copy_field(&cp, ev->incident_id);
            pgx_copy_field(&cp, ev->body.manifest.client_id);
            pgx_copy_field(&cp, hex);
            pgx_copy_field(&cp, first ? "t" : "f");
            pgx_copy_end_row(&cp);
        }
        rc = pgx_copy_end(&cp, NULL, err, errlen);
    }
    free(by_client);
    free(by_incident);
    t->slots = NULL;
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
    token_table t = {.items = items, .refs = malloc(n_refs * sizeof(token_ref))};
    if (!t.refs) {
        snprintf(err, errlen, "token merge: out of memory for %zu tokens", n_refs);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < items[i].ev->body.manifest.n_tokens; j++)
            t.refs[k++] = (token_ref){(uint32_t)i, (uint32_t)j};
    int rc =
        token_merge_prepare(pg, err, errlen) != 0 || copy_tokens(pg, &t, n_refs, err, errlen) != 0;
    free(t.refs);
    if (rc) return -1;
    return read_counts(pg, "merge.client_tokens",
                       "WITH ins AS (INSERT INTO exposure_tokens (incident_id, client_id, token) "
                       "SELECT incident_id, client_id, token FROM assess_tokens "
                       "ORDER BY incident_id, client_id, token "
                       "ON CONFLICT DO NOTHING RETURNING incident_id, client_id, token) "
                       "SELECT s.seq, count(*) FROM ins JOIN assess_tokens s "
                       "USING (incident_id, client_id, token) GROUP BY s.seq",
                       items, n, 0, err, errlen) != 0 ||
                   read_counts(pg, "merge.persons",
                               "WITH ins AS (INSERT INTO incident_persons (incident_id, token) "
                               "SELECT incident_id, token FROM assess_tokens "
                               "WHERE first_in_incident ORDER BY incident_id, token "
                               "ON CONFLICT DO NOTHING "
                               "RETURNING incident_id, token) "
                               "SELECT s.seq, count(*) FROM ins JOIN assess_tokens s "
                               "USING (incident_id, token) WHERE s.first_in_incident "
                               "GROUP BY s.seq",
                               items, n, 1, err, errlen) != 0 ||
                   /* A savepoint-per-event retry merges again in the same transaction. */
                   pgx_exec(pg, "merge.clear", "TRUNCATE assess_tokens", err, errlen) != 0
               ? -1
               : 0;
}
