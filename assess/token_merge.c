/*
 * token_merge: see token_merge.h.
 */
#include "assess/token_merge.h"
#include "lib/base/strset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/digest.h"
#include "lib/base/log.h"
#include "lib/pg/pgx.h"

int token_merge_prepare(PGconn *pg, char *err, size_t errlen)
{
    return pgx_exec(pg, "merge.staging",
                    "CREATE TEMP TABLE IF NOT EXISTS assess_tokens (incident_id text NOT NULL, "
                    "client_id text NOT NULL, token bytea NOT NULL, "
                    "first_in_incident boolean NOT NULL, added_by bigint NOT NULL)",
                    err, errlen);
}

#define TOKEN_BYTES (MNI_EVENT_TOKEN_LEN / 2)

/* One token of one manifest of items[item], decoded once into its 32 bytes, which every comparison,
 * hash and sort below uses (as hex text, the tables, the sort and the crediting of the rows
 * then returned cost ~0.6 CPU-s more per 500,000 tokens; bench/README.md). The bytes order as
 * the hex digits do, lower-case hex being order-preserving. */
typedef struct {
    uint32_t item;
    unsigned char key[TOKEN_BYTES];
} token_ref;

/* Two open-addressing sets of token refs: by (case, client, token) and by (case, token).
 * A slot holds a ref index + 1 (0: empty). */
typedef struct {
    token_merge_item *items;
    const int64_t *added_by; /* per item: the added_by of the rows it adds to either set */
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
 * initialises with --locale=C): the per-client merge's ORDER BY. */
static int staged_cmp(const void *a, const void *b)
{
    const staged_row *x = a, *y = b;
    int c = strcmp(x->incident, y->incident);
    if (c == 0) c = strcmp(x->client, y->client);
    return c != 0 ? c : memcmp(x->key, y->key, TOKEN_BYTES);
}

/* (token, incident): the per-incident merge's ORDER BY, its primary key's order (0110). */
static int persons_cmp(const void *a, const void *b)
{
    const staged_row *x = a, *y = b;
    int c = memcmp(x->key, y->key, TOKEN_BYTES);
    return c != 0 ? c : strcmp(x->incident, y->incident);
}

/* The rows to stage: each token at its first occurrence in the batch per (incident, client),
 * flagged when also the first per incident. Decided in stream order (it decides which
 * manifest is credited). *n_first: how many are flagged. */
static size_t stage_rows(token_table *t, size_t n_refs, staged_row *rows, size_t *n_first)
{
    size_t n_rows = 0;
    uint64_t client_hash = 0;
    uint32_t last_item = UINT32_MAX;
    *n_first = 0;
    for (uint32_t r = 0; r < n_refs; r++) {
        if (t->refs[r].item != last_item) {
            last_item = t->refs[r].item;
            client_hash = strset_hash(ref_client(t, r));
        }
        if (!table_add(t, t->by_client, r, 1, client_hash)) continue; /* seen in this batch */
        int first = table_add(t, t->by_incident, r, 0, 0);
        *n_first += (size_t)first;
        rows[n_rows++] = (staged_row){t->items[t->refs[r].item].ev->incident_id, ref_client(t, r),
                                      t->refs[r].key, t->refs[r].item, first};
    }
    return n_rows;
}

/* Binary COPY of rows[0..n) into the session's staging table: the server stores each value as
 * sent, where the text format had it unescape and parse 66 characters of hex per token (about
 * 12% less PostgreSQL CPU for the whole merge in a W2-shaped run; bench/README.md "The
 * manifest path"). The caller sorts the rows in the order of the merge that reads them, keys
 * being unique: PostgreSQL's quicksort finds presorted input in one pass, where sorting
 * 20,000 random rows cost it ~60 ms of a ~300 ms merge (bench/README.md). */
static int copy_rows(PGconn *pg, const token_table *t, const staged_row *rows, size_t n, char *err,
                     size_t errlen)
{
    pgx_copy cp;
    if (pgx_copy_begin_binary(
            &cp, pg, "merge.copy",
            "COPY assess_tokens (incident_id, client_id, token, first_in_incident, "
            "added_by) FROM STDIN (FORMAT binary)",
            err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const staged_row *row = &rows[i];
        pgx_copy_bin_row(&cp, 5);
        pgx_copy_bin_bytes(&cp, row->incident, strlen(row->incident));
        pgx_copy_bin_bytes(&cp, row->client, strlen(row->client));
        pgx_copy_bin_bytes(&cp, row->key, TOKEN_BYTES);
        pgx_copy_bin_bool(&cp, row->first);
        pgx_copy_bin_int8(&cp, t->added_by[row->item]);
    }
    return pgx_copy_end(&cp, NULL, err, errlen);
}

static int64_t get_int8(const PGresult *res, int r, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, r, col);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

/* Credits a merge's (added_by, count) rows (binary) to the manifests, as tokens new to the
 * client's set (per_client) or to the incident's: added_by is unique within the items merged
 * together (token_merge cuts them so). */
static int credit(token_table *t, const PGresult *res, int per_client, const char *name, char *err,
                  size_t errlen)
{
    for (int r = 0; r < PQntuples(res); r++) {
        if (PQgetlength(res, r, 0) != 8 || PQgetlength(res, r, 1) != 8) {
            snprintf(err, errlen, "%s: a returned count is not a bigint", name);
            return -1;
        }
        int64_t by = get_int8(res, r, 0);
        size_t i = 0;
        while (i < t->n_items && t->added_by[i] != by)
            i++;
        if (i == t->n_items) {
            snprintf(err, errlen, "%s: returned rows added by no manifest of this batch", name);
            return -1;
        }
        int64_t *added = per_client ? &t->items[i].new_client : &t->items[i].new_persons;
        *added += get_int8(res, r, 1);
    }
    return 0;
}

/* The merges. Rows go in in key order (every merge takes its index locks in one order;
 * neighbours share pages). The per-incident merge also counts, as new, a row the same
 * manifest added before (a peer's commit whose batch then rolled back: token_merge.h); that
 * takes a row lock on each person it finds already there. The staging table is emptied now,
 * not at commit (a savepoint-per-event retry merges again in the same transaction): ON COMMIT
 * DELETE ROWS would truncate it once more at every commit (batch_store_prepare says what that
 * costs). */
static const char MERGE_CLIENTS_SQL[] =
    "WITH added AS (INSERT INTO exposure_tokens (incident_id, client_id, token, added_by) "
    "SELECT incident_id, client_id, token, added_by FROM assess_tokens "
    "ORDER BY incident_id, client_id, token "
    "ON CONFLICT DO NOTHING RETURNING added_by) "
    "SELECT added_by, count(*) FROM added GROUP BY added_by";
static const char MERGE_PERSONS_SQL[] =
    "WITH added AS (INSERT INTO incident_persons (incident_id, token, added_by) "
    "SELECT incident_id, token, added_by FROM assess_tokens WHERE first_in_incident "
    "ORDER BY token, incident_id "
    "ON CONFLICT (token, incident_id) DO UPDATE SET added_by = EXCLUDED.added_by "
    "WHERE incident_persons.added_by = EXCLUDED.added_by RETURNING added_by) "
    "SELECT added_by, count(*) FROM added GROUP BY added_by";
static const char MERGE_CLEAR_SQL[] = "TRUNCATE assess_tokens";

/* Takes the results of a pipeline of merge statements in order: kinds[i] 'c' per-client, 'p'
 * per-incident, '-' no rows to credit. Ends the pipeline whatever happened. */
static int take_results(pgx_pipeline *pl, token_table *t, size_t n, const char *const *names,
                        const char *kinds, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        PGresult *res = pgx_pipeline_next(pl, names[i], err, errlen);
        if (!res) {
            rc = -1;
            break;
        }
        if (kinds[i] != '-') rc = credit(t, res, kinds[i] == 'c', names[i], err, errlen);
        PQclear(res);
    }
    char end_err[256];
    if (pgx_pipeline_end(pl, end_err, sizeof end_err) != 0 && rc == 0) {
        snprintf(err, errlen, "merge: %s", end_err);
        rc = -1;
    }
    return rc;
}

/* Both merges on the batch's session, in one pipeline (pgx_pipeline_send): the server goes
 * from one to the next without a round trip, and runs the second while C credits the counts
 * of the first; in order and in the batch's transaction, exactly as one by one. */
static int merge_alone(PGconn *pg, token_table *t, staged_row *rows, size_t n_rows, char *err,
                       size_t errlen)
{
    qsort(rows, n_rows, sizeof *rows, staged_cmp);
    static const char *const sqls[] = {MERGE_CLIENTS_SQL, MERGE_PERSONS_SQL, MERGE_CLEAR_SQL};
    static const char *const names[] = {"merge.client_tokens", "merge.persons", "merge.clear"};
    static const int binary[] = {1, 1, 0};
    if (copy_rows(pg, t, rows, n_rows, err, errlen) != 0) return -1;
    pgx_pipeline pl;
    if (pgx_pipeline_send(&pl, pg, 3, sqls, binary, err, errlen) != 0) {
        char end_err[256];
        pgx_pipeline_end(&pl, end_err, sizeof end_err);
        return -1;
    }
    return take_results(&pl, t, 3, names, "cp-", err, errlen);
}

/* The per-incident merge on the peer, in a transaction of its own that the pipeline commits,
 * sent without waiting for it: *pl is then in flight. rows: the staged rows flagged first. */
static int peer_send(PGconn *peer, pgx_pipeline *pl, const token_table *t, staged_row *rows,
                     size_t n_rows, char *err, size_t errlen)
{
    static const char *const sqls[] = {MERGE_PERSONS_SQL, MERGE_CLEAR_SQL, "COMMIT"};
    static const int binary[] = {1, 0, 0};
    qsort(rows, n_rows, sizeof *rows, persons_cmp);
    if (token_merge_prepare(peer, err, errlen) != 0 || pgx_begin(peer, err, errlen) != 0) return -1;
    if (copy_rows(peer, t, rows, n_rows, err, errlen) == 0 &&
        pgx_pipeline_send(pl, peer, 3, sqls, binary, err, errlen) == 0)
        return 0;
    char end_err[256];
    if (pl->conn) pgx_pipeline_end(pl, end_err, sizeof end_err);
    pgx_rollback(peer, end_err, sizeof end_err);
    return -1;
}

/* The two merges at once: the per-incident one on the peer, the per-client one on the batch's
 * session (with the staging table's TRUNCATE), then the peer's count. The peer's transaction
 * is ended (committed, or rolled back on failure) whatever happens on the batch's session. */
static int merge_with_peer(PGconn *pg, PGconn *peer, token_table *t, staged_row *rows,
                           size_t n_rows, size_t n_first, char *err, size_t errlen)
{
    staged_row *first = malloc((n_first ? n_first : 1) * sizeof *first);
    if (!first) {
        snprintf(err, errlen, "token merge: out of memory for %zu tokens", n_first);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].first) first[k++] = rows[i];
    pgx_pipeline peer_pl = {0};
    int rc = peer_send(peer, &peer_pl, t, first, k, err, errlen);
    free(first);
    if (rc != 0) return -1;

    static const char *const sqls[] = {MERGE_CLIENTS_SQL, MERGE_CLEAR_SQL};
    static const char *const names[] = {"merge.client_tokens", "merge.clear"};
    static const int binary[] = {1, 0};
    qsort(rows, n_rows, sizeof *rows, staged_cmp);
    pgx_pipeline pl = {0};
    rc = copy_rows(pg, t, rows, n_rows, err, errlen);
    if (rc == 0) {
        rc = pgx_pipeline_send(&pl, pg, 2, sqls, binary, err, errlen);
        if (rc == 0)
            rc = take_results(&pl, t, 2, names, "c-", err, errlen);
        else if (pl.conn) {
            char end_err[256];
            pgx_pipeline_end(&pl, end_err, sizeof end_err);
        }
    }

    static const char *const peer_names[] = {"merge.peer_persons", "merge.peer_clear",
                                             "merge.peer_commit"};
    char peer_err[512];
    int peer_rc = take_results(&peer_pl, t, 3, peer_names, "p--", peer_err, sizeof peer_err);
    if (peer_rc != 0) {
        char rb_err[256];
        pgx_rollback(peer, rb_err, sizeof rb_err);
        if (rc == 0) snprintf(err, errlen, "%s", peer_err);
        return -1;
    }
    log_debug("persons merged on the peer session", LOG_UINT("tokens", n_first), LOG_END);
    return rc;
}

/* Merges items[0..n), whose added_by are distinct. */
static int merge_items(PGconn *pg, PGconn *peer, size_t peer_min, token_merge_item *items,
                       const int64_t *added_by, size_t n, char *err, size_t errlen)
{
    size_t n_refs = 0;
    for (size_t i = 0; i < n; i++)
        n_refs += items[i].ev->body.manifest.n_tokens;
    if (n_refs == 0) return 0;
    size_t cap = 16;
    while (cap < n_refs * 2)
        cap <<= 1;
    token_table t = {.items = items,
                     .added_by = added_by,
                     .n_items = n,
                     .refs = malloc(n_refs * sizeof(token_ref)),
                     .by_client = calloc(cap, sizeof(uint32_t)),
                     .by_incident = calloc(cap, sizeof(uint32_t)),
                     .mask = cap - 1};
    staged_row *rows = malloc(n_refs * sizeof *rows);
    int rc = -1;
    if (!t.refs || !t.by_client || !t.by_incident || !rows) {
        snprintf(err, errlen, "token merge: out of memory for %zu tokens", n_refs);
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < items[i].ev->body.manifest.n_tokens; j++, k++) {
            t.refs[k].item = (uint32_t)i;
            token_bytes(items[i].ev->body.manifest.tokens[j], t.refs[k].key);
        }
    size_t n_first;
    size_t n_rows = stage_rows(&t, n_refs, rows, &n_first);
    if (token_merge_prepare(pg, err, errlen) != 0) goto done;
    if (peer && peer_min > 0 && n_first >= peer_min)
        rc = merge_with_peer(pg, peer, &t, rows, n_rows, n_first, err, errlen);
    else
        rc = merge_alone(pg, &t, rows, n_rows, err, errlen);
done:
    free(rows);
    free(t.refs);
    free(t.by_client);
    free(t.by_incident);
    return rc;
}

/* incident_persons.added_by of a manifest (migration 0146). */
static int added_by_of(const mni_event *ev, int64_t *out, char *err, size_t errlen)
{
    if (digest_sha256_int64(ev->event_id, strlen(ev->event_id), out) == 0) return 0;
    snprintf(err, errlen, "token merge: cannot hash event id %s (out of memory)", ev->event_id);
    return -1;
}

int token_merge(PGconn *pg, PGconn *peer, size_t peer_min, token_merge_item *items, size_t n,
                char *err, size_t errlen)
{
    if (n == 0) return 0;
    int64_t *added_by = malloc(n * sizeof *added_by);
    if (!added_by) {
        snprintf(err, errlen, "token merge: out of memory for %zu manifests", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].new_client = items[i].new_persons = 0;
        if (added_by_of(items[i].ev, &added_by[i], err, errlen) != 0) {
            free(added_by);
            return -1;
        }
    }
    /* Both merges credit by added_by: items are merged in runs whose added_by are
     * distinct (two event ids of one batch sharing 64 bits of SHA-256 would be cut apart;
     * merging runs one after another is what merging them at once gives). Such a batch merges
     * without the peer: a later run's peer could wait for rows an earlier run inserted. */
    size_t runs = 0, *ends = malloc(n * sizeof *ends);
    if (!ends) {
        free(added_by);
        snprintf(err, errlen, "token merge: out of memory for %zu manifests", n);
        return -1;
    }
    for (size_t start = 0, end; start < n; start = end) {
        for (end = start + 1; end < n; end++) {
            size_t j = start;
            while (j < end && added_by[j] != added_by[end])
                j++;
            if (j < end) break;
        }
        ends[runs++] = end;
    }
    if (runs > 1) peer = NULL;
    int rc = 0;
    for (size_t r = 0, start = 0; r < runs && rc == 0; start = ends[r++])
        rc = merge_items(pg, peer, peer_min, items + start, added_by + start, ends[r] - start, err,
                         errlen);
    free(ends);
    free(added_by);
    return rc;
}

int token_merge_forget(PGconn *pg, const mni_event *ev, char *err, size_t errlen)
{
    const mni_event_exposure_manifest *m = &ev->body.manifest;
    if (ev->type != MNI_EVENT_EXPOSURE_MANIFEST || m->n_tokens == 0) return 0;
    int64_t by;
    if (added_by_of(ev, &by, err, errlen) != 0) return -1;
    char *hex = mni_event_manifest_hex(m);
    if (!hex) {
        snprintf(err, errlen, "token merge: out of memory for %zu tokens", m->n_tokens);
        return -1;
    }
    char by_text[24];
    snprintf(by_text, sizeof by_text, "%lld", (long long)by);
    /* By its tokens, the primary key's leading column: the set has no index by incident. */
    const char *params[] = {ev->incident_id, by_text, hex};
    PGresult *res =
        pgx_query(pg, "merge.forget", "SELECT incident_persons_forget($1, $2::bigint, $3)", 3,
                  params, err, errlen);
    PQclear(res);
    int rc = res ? 0 : -1;
    free(hex);
    return rc;
}
