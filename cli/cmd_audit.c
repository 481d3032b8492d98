/*
 * mni audit verify: is the audit log the one the workers wrote?
 *
 *   mni audit verify [--key-file FILE] [--conninfo STR] [--config FILE]
 *                    [--anchors-topic TOPIC | --no-anchors-topic]
 *
 * Three checks, every finding printed with the seq of the row it names, the first (lowest seq)
 * last as the verdict:
 *   1. The hash chain (migration 0005), row by row in SQL: a gap in seq (rows deleted), a row
 *      whose hash does not match its content (edited), a row whose prev_hash is not its
 *      predecessor's hash (a row inserted or removed before it).
 *   2. The anchors (migration 0041) with the workers' key (--key-file, else audit.key_file):
 *      an anchor whose MAC does not verify (forged, or signed with another key: key_id says
 *      which), an anchored row that is gone (the tail cut off), an anchored row holding another
 *      hash (the chain re-hashed from an earlier row on: the rows after the last anchor that
 *      still holds were rewritten), and rows after the last anchor (not appended by a worker).
 *   3. The anchors published to the compacted topic topic.anchors (cli/anchor_topic.h), a copy
 *      the database's owner cannot take back: read whenever a broker is configured
 *      (kafka.bootstrap.servers), unless --no-anchors-topic. The chain is TRUNCATED when it
 *      ends before the newest published anchor (the tail deleted together with its anchors in
 *      the database), re-hashed when a published anchor's hash is not the hash of the row at
 *      its seq, and a published anchor whose MAC does not verify with the key is forged. An
 *      unreadable topic is a failure (exit 1), never a silent pass.
 * Without a key the anchors' signatures are not checked, and the output says so: a chain
 * re-hashed by someone with write access then passes check 1 (and check 2); check 3 still
 * compares the hashes.
 *
 * Run it as the owner or a role that sees every client's rows (row-level security would hide
 * the others' rows, which then look deleted): mni_reader or a `mni db bpo-role`.
 *
 * Exit codes: 0 intact, 1 tampering found or the database failed, 2 bad usage.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/anchor_topic.h"
#include "cli/commands.h"
#include "lib/base/log.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/audit_anchor.h"
#include "lib/runtime/config.h"

/* Each row that breaks the chain, with what is wrong with it (at most 100). */
static const char *const chain_sql =
    "SELECT seq, CASE"
    " WHEN seq <> coalesce(prev_seq, 0) + 1 THEN"
    "  format('follows seq %s: rows %s to %s deleted', coalesce(prev_seq, 0),"
    "         coalesce(prev_seq, 0) + 1, seq - 1)"
    " WHEN hash <> expected THEN 'its hash does not match its content: edited'"
    " ELSE 'its prev_hash is not the hash of the row before it: a row inserted or removed'"
    " END FROM ("
    "  SELECT seq, hash, prev_hash, lag(hash) OVER w AS prev_row_hash, lag(seq) OVER w AS prev_seq,"
    "   audit_log_hash(prev_hash, seq, at, actor, action, incident_id, client_id, payload)"
    "    AS expected"
    "  FROM audit_log WINDOW w AS (ORDER BY seq)) c"
    " WHERE seq <> coalesce(prev_seq, 0) + 1 OR hash <> expected"
    "  OR prev_hash <> coalesce(prev_row_hash, decode(repeat('00', 32), 'hex'))"
    " ORDER BY seq LIMIT 100";

/* Every anchor beside the row it names, then the chain's size. */
static const char *const anchors_sql =
    "SELECT a.seq, encode(a.hash, 'hex'), a.key_id, encode(a.mac, 'hex'), a.signer,"
    " encode(l.hash, 'hex') FROM audit_anchors a LEFT JOIN audit_log l ON l.seq = a.seq"
    " ORDER BY a.seq";
static const char *const size_sql = "SELECT count(*), coalesce(max(seq), 0) FROM audit_log";
/* The hash of the rows at the seqs of $1 (a JSON array). */
static const char *const hashes_sql =
    "SELECT l.seq, encode(l.hash, 'hex') FROM audit_log l"
    " WHERE l.seq IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) ORDER BY l.seq";

#define ANCHORS_TOPIC_MS 30000

/* Where check 3 reads (topic NULL: not done). */
typedef struct {
    const config *cfg;
    const char *topic;
} topic_check;

typedef struct {
    long long seq;
    char *what;
} finding;

typedef struct {
    finding *v;
    size_t n, cap;
} findings;

static void add(findings *f, long long seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add(findings *f, long long seq, const char *fmt, ...)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        finding *v = realloc(f->v, cap * sizeof *v);
        if (!v) return;
        f->v = v;
        f->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *what = NULL;
    if (vasprintf(&what, fmt, ap) < 0) what = NULL;
    va_end(ap);
    if (what) f->v[f->n++] = (finding){seq, what};
}

static int by_seq(const void *a, const void *b)
{
    const finding *x = a, *y = b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int hex32(const char *hex, unsigned char out[32])
{
    if (strlen(hex) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

/* Check 2; *anchored is the seq of the last anchor (0 when none). */
static int check_anchors(PGconn *pg, const token_key *key, long long max_seq, findings *f,
                         long long *anchors, char *err, size_t errlen)
{
    PGresult *res = pgx_query(pg, "audit.anchors", anchors_sql, 0, NULL, err, errlen);
    if (!res) return -1;
    char key_id[AUDIT_ANCHOR_KEY_ID_LEN + 1];
    audit_anchor_key_id(key, key_id);
    long long last = 0, last_good = 0;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        long long seq = atoll(PQgetvalue(res, i, 0));
        const char *hash = PQgetvalue(res, i, 1), *id = PQgetvalue(res, i, 2);
        const char *signer = PQgetvalue(res, i, 4);
        unsigned char h[32], mac[32], want[AUDIT_ANCHOR_MAC_LEN];
        last = seq;
        if (strcmp(id, key_id) != 0) {
            add(f, seq, "anchor signed by %s with key %s, not this key (%s)", signer, id, key_id);
            continue;
        }
        if (hex32(hash, h) != 0 || hex32(PQgetvalue(res, i, 3), mac) != 0) {
            add(f, seq, "anchor is malformed");
            continue;
        }
        audit_anchor_mac(key, seq, h, want);
        if (CRYPTO_memcmp(mac, want, sizeof want) != 0) {
            add(f, seq, "anchor's signature does not verify: forged");
        } else if (PQgetisnull(res, i, 5) && seq > max_seq) {
            add(f, max_seq + 1,
                "rows %lld to %lld deleted (the tail cut off): seq %lld was anchored by %s",
                max_seq + 1, seq, seq, signer);
        } else if (PQgetisnull(res, i, 5)) {
            add(f, seq, "anchored by %s but gone from the chain: deleted", signer);
        } else if (strcmp(PQgetvalue(res, i, 5), hash) != 0) {
            add(f, last_good + 1,
                "the chain was re-hashed: the anchor at seq %lld (%s) signed another hash; rows "
                "%lld to %lld were rewritten",
                seq, signer, last_good + 1, seq);
        } else {
            last_good = seq;
        }
    }
    PQclear(res);
    if (max_seq > last && n > 0)
        add(f, last + 1,
            "rows %lld to %lld come after the last anchor (seq %lld): not appended "
            "by a worker holding the key",
            last + 1, max_seq, last);
    *anchors = n;
    return 0;
}

/* The hashes the chain holds at the seqs of anchors v[0..n) (64 hex digits, "" when the row is
 * gone), in v's order. */
static char (*row_hashes(PGconn *pg, const published_anchor *v, size_t n, char *err,
                         size_t errlen))[65]
{
    char(*rows)[65] = calloc(n ? n : 1, sizeof *rows);
    json_t *seqs = json_array();
    for (size_t i = 0; i < n && seqs; i++)
        json_array_append_new(seqs, json_integer(v[i].seq));
    char *text = seqs ? json_dumps(seqs, JSON_COMPACT) : NULL;
    json_decref(seqs);
    const char *p[] = {text};
    PGresult *res =
        rows && text ? pgx_query(pg, "audit.hashes", hashes_sql, 1, p, err, errlen) : NULL;
    if (!rows || !text) snprintf(err, errlen, "out of memory for %zu anchors", n);
    free(text);
    if (!res) {
        free(rows);
        return NULL;
    }
    /* Both sorted by seq (v may name a seq twice: an anchor sent again): one merge pass. */
    int r = 0, nrows = PQntuples(res);
    for (size_t i = 0; i < n; i++) {
        while (r < nrows && atoll(PQgetvalue(res, r, 0)) < v[i].seq)
            r++;
        if (r < nrows && atoll(PQgetvalue(res, r, 0)) == v[i].seq)
            snprintf(rows[i], sizeof rows[i], "%s", PQgetvalue(res, r, 1));
    }
    PQclear(res);
    return rows;
}

/* Check 3; *checked is how many published anchors held, *newest the newest one's seq. */
static int check_published(PGconn *pg, const token_key *key, const topic_check *tc,
                           long long max_seq, findings *f, size_t *checked, long long *newest,
                           char *err, size_t errlen)
{
    published_anchor *v = NULL;
    size_t n = 0, malformed = 0;
    if (anchor_topic_read(tc->cfg, tc->topic, ANCHORS_TOPIC_MS, &v, &n, &malformed, err, errlen) !=
        0)
        return -1;
    char(*rows)[65] = row_hashes(pg, v, n, err, errlen);
    if (!rows) {
        free(v);
        return -1;
    }
    char key_id[AUDIT_ANCHOR_KEY_ID_LEN + 1] = "";
    if (key) audit_anchor_key_id(key, key_id);
    if (malformed)
        printf("note: %zu messages on %s are not anchors (ignored)\n", malformed, tc->topic);
    long long last_good = 0, rehashed_at = 0;
    const published_anchor *top = NULL;
    *checked = 0;
    for (size_t i = 0; i < n; i++) {
        const published_anchor *a = &v[i];
        if (key) {
            unsigned char h[32], mac[32], want[AUDIT_ANCHOR_MAC_LEN];
            if (strcmp(a->key_id, key_id) != 0) {
                add(f, a->seq, "anchor published on %s by %s with key %s, not this key (%s)",
                    tc->topic, a->signer, a->key_id, key_id);
                continue;
            }
            hex32(a->hash, h);
            hex32(a->mac, mac);
            audit_anchor_mac(key, a->seq, h, want);
            if (CRYPTO_memcmp(mac, want, sizeof want) != 0) {
                add(f, a->seq, "anchor published on %s by %s does not verify: forged", tc->topic,
                    a->signer);
                continue;
            }
        }
        top = a;
        if (a->seq > max_seq) continue; /* the newest tells: below */
        if (!rows[i][0]) {
            add(f, a->seq, "anchor published on %s by %s but the row is gone: deleted", tc->topic,
                a->signer);
        } else if (strcmp(rows[i], a->hash) != 0) {
            if (!rehashed_at)
                add(f, last_good + 1,
                    "the chain was re-hashed: the anchor published on %s for seq %lld (%s) "
                    "holds another hash; rows %lld to %lld were rewritten",
                    tc->topic, a->seq, a->signer, last_good + 1, a->seq);
            rehashed_at = a->seq;
        } else {
            if (!rehashed_at) last_good = a->seq;
            (*checked)++;
        }
    }
    if (top && top->seq > max_seq)
        add(f, max_seq + 1,
            "the chain was truncated: it ends at seq %lld, but %s published an anchor for seq "
            "%lld on %s; rows %lld to %lld were deleted (with their anchors in the database)",
            max_seq, top->signer, top->seq, tc->topic, max_seq + 1, top->seq);
    *newest = top ? top->seq : 0;
    free(rows);
    free(v);
    return 0;
}

static void audit_usage(FILE *out)
{
    fprintf(out,
            "usage: mni audit verify [--key-file FILE] [--conninfo STR] [--config FILE]\n"
            "                        [--anchors-topic TOPIC | --no-anchors-topic]\n"
            "\n"
            "Checks the audit log's hash chain row by row and every anchor the workers signed\n"
            "(HMAC-SHA256 with the key of audit.key_file), in the database and, when a broker\n"
            "is configured, as published to the anchors topic (a chain that ends before the\n"
            "newest published anchor was truncated); prints each row that was edited,\n"
            "deleted or inserted, the first one last. Exit 0 intact, 1 tampered or failed.\n"
            "Run it as the owner, mni_reader or a bpo-role (a client role sees its rows only).\n"
            "\n"
            "  --key-file FILE  the workers' audit key (default: audit.key_file, i.e.\n"
            "                   $MNI_AUDIT_KEY_FILE or the configuration file)\n"
            "  --conninfo STR   libpq connection string (default: pg.conninfo)\n"
            "  --config FILE    configuration file (default: $MNI_CONFIG)\n"
            "  --anchors-topic TOPIC  the topic of the published anchors (default: topic.anchors,\n"
            "                   audit.anchors); read when kafka.bootstrap.servers is set\n"
            "                   ($MNI_KAFKA_BOOTSTRAP or the configuration file)\n"
            "  --no-anchors-topic     check the database only (truncation with the anchors\n"
            "                   deleted too then passes)\n");
}

static int verify(PGconn *pg, const token_key *key, const topic_check *tc, char *err, size_t errlen)
{
    findings f = {0};
    PGresult *res = pgx_query(pg, "audit.size", size_sql, 0, NULL, err, errlen);
    if (!res) return -1;
    long long rows = atoll(PQgetvalue(res, 0, 0)), max_seq = atoll(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!(res = pgx_query(pg, "audit.chain", chain_sql, 0, NULL, err, errlen))) return -1;
    for (int i = 0; i < PQntuples(res); i++)
        add(&f, atoll(PQgetvalue(res, i, 0)), "%s", PQgetvalue(res, i, 1));
    PQclear(res);
    long long anchors = 0;
    size_t published = 0;
    long long newest = 0;
    if ((key && check_anchors(pg, key, max_seq, &f, &anchors, err, errlen) != 0) ||
        (tc->topic &&
         check_published(pg, key, tc, max_seq, &f, &published, &newest, err, errlen) != 0)) {
        for (size_t i = 0; i < f.n; i++)
            free(f.v[i].what);
        free(f.v);
        return -1;
    }
    if (f.n) qsort(f.v, f.n, sizeof *f.v, by_seq);
    for (size_t i = f.n; i-- > 0;)
        printf("seq %lld: %s\n", f.v[i].seq, f.v[i].what);
    int rc = 0;
    char topic_note[256] = "";
    if (tc->topic)
        snprintf(topic_note, sizeof topic_note,
                 "; %zu anchors published on %s agree (newest seq %lld)", published, tc->topic,
                 newest);
    else
        snprintf(topic_note, sizeof topic_note,
                 "; published anchors NOT read (no broker or --no-anchors-topic), so a tail cut "
                 "with its anchors would pass");
    if (f.n) {
        printf("TAMPERED: the first row that was edited, deleted or inserted is seq %lld (%s)\n",
               f.v[0].seq, f.v[0].what);
        rc = 1;
    } else if (key) {
        printf("intact: %lld rows up to seq %lld, %lld anchors verified with the key%s\n", rows,
               max_seq, anchors, topic_note);
    } else {
        printf("chain intact: %lld rows up to seq %lld%s; anchors' signatures NOT checked (no "
               "key: pass --key-file or set audit.key_file), so a re-hashed or cut chain would "
               "pass\n",
               rows, max_seq, topic_note);
    }
    for (size_t i = 0; i < f.n; i++)
        free(f.v[i].what);
    free(f.v);
    return rc;
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        int help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
        audit_usage(help ? stdout : stderr);
        if (!help && argc >= 2) fprintf(stderr, "mni audit: unknown command '%s'\n", argv[1]);
        return help ? MNI_EXIT_OK : MNI_EXIT_USAGE;
    }
    const char *conninfo = NULL, *config_file = NULL, *key_file = NULL, *anchors_topic = NULL;
    int no_topic = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            audit_usage(stdout);
            return MNI_EXIT_OK;
        }
        if (!strcmp(a, "--no-anchors-topic")) {
            no_topic = 1;
            continue;
        }
        const char **slot = !strcmp(a, "--conninfo")        ? &conninfo
                            : !strcmp(a, "--config")        ? &config_file
                            : !strcmp(a, "--key-file")      ? &key_file
                            : !strcmp(a, "--anchors-topic") ? &anchors_topic
                                                            : NULL;
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "mni audit verify: %s '%s' (see mni audit --help)\n",
                    slot ? "needs a value after" : "unknown option", a);
            return MNI_EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    log_init("mni");
    char err[1024];
    config *cfg = config_new();
    if (!cfg || config_set_default(cfg, "audit.key_file", NULL, err, sizeof err) != 0 ||
        config_load(cfg, config_file, err, sizeof err) != 0) {
        fprintf(stderr, "mni audit verify: %s\n", cfg ? err : "out of memory");
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    if (!conninfo && config_get_str(cfg, "pg.conninfo", &conninfo, err, sizeof err) != 0) {
        fprintf(stderr, "mni audit verify: no database: %s; or pass --conninfo\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    if (no_topic && anchors_topic) {
        fprintf(stderr, "mni audit verify: --anchors-topic and --no-anchors-topic exclude each "
                        "other\n");
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    const char *bootstrap = config_get(cfg, "kafka.bootstrap.servers");
    if (anchors_topic && !(bootstrap && *bootstrap)) {
        fprintf(stderr, "mni audit verify: --anchors-topic: kafka.bootstrap.servers is not set "
                        "(MNI_KAFKA_BOOTSTRAP, or the config file)\n");
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    topic_check tc = {cfg, NULL};
    if (!no_topic && bootstrap && *bootstrap)
        tc.topic = anchors_topic ? anchors_topic : config_get(cfg, "topic.anchors");
    if (!key_file) key_file = config_get(cfg, "audit.key_file");
    token_key key;
    int have_key = key_file && *key_file;
    if (have_key && token_key_load(key_file, &key, err, sizeof err) != 0) {
        fprintf(stderr, "mni audit verify: audit key: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    int rc = MNI_EXIT_FAILURE;
    PGconn *pg = pgx_connect(conninfo, "mni audit", err, sizeof err);
    if (pg) {
        int v = verify(pg, have_key ? &key : NULL, &tc, err, sizeof err);
        rc = v == 0 ? MNI_EXIT_OK : MNI_EXIT_FAILURE;
        if (v < 0 && tc.topic && strstr(err, tc.topic))
            fprintf(stderr,
                    "mni audit verify: anchors topic: %s (without it a tail cut together with "
                    "its anchors passes; --no-anchors-topic checks the database only)\n",
                    err);
        else if (v < 0)
            fprintf(stderr, "mni audit verify: %s\n", err);
        pgx_close(pg);
    } else {
        fprintf(stderr, "mni audit verify: %s\n", err);
    }
    OPENSSL_cleanse(&key, sizeof key);
    config_free(cfg);
    return rc;
}
