/*
 * Benchmark of the assess worker's manifest merge (assess/token_merge.c) against a real
 * PostgreSQL: how fast person tokens are merged per client and across clients, exactly and
 * incrementally, compared with a baseline measured in the same run on the same server: plain
 * PostgreSQL merging the same tokens once (COPY into a staging table, then INSERT ... SELECT
 * ON CONFLICT DO NOTHING into one table with a primary key), which is the floor any exact
 * de-duplication pays. Ours merges each token twice (per client and across clients, the
 * latter on a second session at the same time, as mni-assess does for a batch of 4,096 new
 * persons or more: assess.merge_peer_min) and keeps the counts. Two clients whose persons overlap
 * by half; batches of 10,000 tokens (a manifest event's size); one transaction per batch as in the
 * worker. Prints tokens/s, the ratio to the baseline, and the process's peak memory before and
 * after (flat: one batch at a time).
 *
 * Needs MNI_PG_CONNINFO (scripts/mni-env); makes and drops a database of its own.
 * usage: bench_manifest [TOKENS_PER_CLIENT]   (default 200000)
 */
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "assess/token_merge.h"
#include "lib/base/monoclock.h"
#include "lib/pg/migrate.h"
#include "lib/pg/pgx.h"

#define BATCH 10000

/* Seconds on the monotonic clock. */
static double now(void)
{
    return monoclock_ms_exact() / 1e3;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Person n's token: 64 hex digits of sha256("bench-person-n"). */
static void token_of(long n, char out[65])
{
    char key[48];
    unsigned char d[SHA256_DIGEST_LENGTH];
    int len = snprintf(key, sizeof key, "bench-person-%ld", n);
    SHA256((const unsigned char *)key, (size_t)len, d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_manifest: %s: %s\n", what, err);
    exit(1);
}

static void exec_or_die(PGconn *pg, const char *sql)
{
    char err[1024];
    if (pgx_exec(pg, "bench", sql, err, sizeof err) != 0) die(sql, err);
}

/* Persons of client c (0 or 1): client 0 has 0..n-1, client 1 has n/2..n/2+n-1. */
static long person(int c, long i, long n)
{
    return c == 0 ? i : n / 2 + i;
}

static double bench_baseline(PGconn *pg, long n)
{
    char err[1024], tok[65], hex[68] = "\\x";
    exec_or_die(pg, "CREATE TABLE base_persons (token bytea PRIMARY KEY)");
    exec_or_die(pg, "CREATE TEMP TABLE base_stage (token bytea NOT NULL) ON COMMIT DELETE ROWS");
    double t0 = now();
    for (int c = 0; c < 2; c++)
        for (long start = 0; start < n; start += BATCH) {
            exec_or_die(pg, "BEGIN");
            pgx_copy cp;
            if (pgx_copy_begin(&cp, pg, "base.copy", "COPY base_stage (token) FROM STDIN", err,
                               sizeof err) != 0)
                die("copy", err);
            for (long i = start; i < start + BATCH && i < n; i++) {
                token_of(person(c, i, n), tok);
                memcpy(hex + 2, tok, 65);
                pgx_copy_field(&cp, hex);
                pgx_copy_end_row(&cp);
            }
            if (pgx_copy_end(&cp, NULL, err, sizeof err) != 0) die("copy end", err);
            exec_or_die(pg, "INSERT INTO base_persons SELECT DISTINCT token FROM base_stage "
                            "ON CONFLICT DO NOTHING");
            exec_or_die(pg, "COMMIT");
        }
    return now() - t0;
}

/* What the merges attributed: new persons of the incident, and new tokens of each client. */
static long long attributed_persons, attributed_client[2];

static double bench_merge(PGconn *pg, PGconn *peer, long n, long *rss_mid)
{
    char err[1024];
    static char toks[BATCH][65];
    static const char *ptrs[BATCH];
    exec_or_die(pg, "INSERT INTO cases (incident_id, tenant, opened_at, facts) "
                    "VALUES ('BENCH', 'bench', now(), '{}')");
    double t0 = now();
    for (int c = 0; c < 2; c++)
        for (long start = 0; start < n; start += BATCH) {
            size_t k = 0;
            for (long i = start; i < start + BATCH && i < n; i++, k++) {
                token_of(person(c, i, n), toks[k]);
                ptrs[k] = toks[k];
            }
            mni_event ev;
            memset(&ev, 0, sizeof ev);
            char event_id[48];
            snprintf(event_id, sizeof event_id, "EV-BENCH-%d-%ld", c, start);
            ev.event_id = event_id;
            ev.type = MNI_EVENT_EXPOSURE_MANIFEST;
            ev.incident_id = "BENCH";
            ev.body.manifest.client_id = c ? "C-B" : "C-A";
            ev.body.manifest.tokens = ptrs;
            ev.body.manifest.n_tokens = k;
            token_merge_item item = {.ev = &ev, .case_index = 0};
            exec_or_die(pg, "BEGIN");
            if (token_merge(pg, peer, 1, &item, 1, err, sizeof err) != 0) die("manifest", err);
            attributed_persons += item.new_persons;
            attributed_client[c] += item.new_client;
            exec_or_die(pg, "COMMIT");
            if (c == 0 && start == 0) *rss_mid = peak_rss_kb();
        }
    return now() - t0;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    const char *base = getenv("MNI_PG_CONNINFO");
    char err[1024], dbname[64], conninfo[2048];
    if (!base || n < BATCH)
        die("setup", "set MNI_PG_CONNINFO (scripts/mni-env up) and give >= 10000 tokens");
    PGconn *admin = pgx_connect(base, "bench", err, sizeof err);
    if (!admin) die("connect", err);
    snprintf(dbname, sizeof dbname, "mni_bench_%d", (int)getpid());
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname);
    exec_or_die(admin, sql);
    if (pgx_conninfo_set(base, "dbname", dbname, conninfo, sizeof conninfo, err, sizeof err) != 0)
        die("conninfo", err);
    PGconn *pg = pgx_connect(conninfo, "bench", err, sizeof err);
    if (!pg || pgx_migrate(pg, "db/migrations", NULL, NULL, NULL, err, sizeof err) != 0)
        die("migrate (run from the repository root)", err);

    long tokens = 2 * n, rss_mid = 0;
    printf("manifest merge benchmark, PostgreSQL on this machine (local socket), %ld tokens in\n"
           "batches of %d, two clients overlapping by half (%ld distinct persons)\n",
           tokens, BATCH, n + n / 2);
    double tb = bench_baseline(pg, n);
    printf("  %-44s %8.0f tokens/s\n", "baseline: COPY + one ON CONFLICT merge", tokens / tb);
    long rss_before = peak_rss_kb();
    PGconn *peer = pgx_connect(conninfo, "bench-peer", err, sizeof err);
    if (!peer) die("connect", err);
    double tm = bench_merge(pg, peer, n, &rss_mid);
    pgx_close(peer);
    printf("  %-44s %8.0f tokens/s  %.2fx the baseline's time\n",
           "mni: per client + across clients, attributed", tokens / tm, tm / tb);
    printf("  peak memory: %ld KiB after the first batch, %ld KiB after all %ld\n", rss_mid,
           peak_rss_kb(), tokens / BATCH);
    (void)rss_before;

    char *check = NULL;
    PGresult *res = pgx_query(pg, "bench.check",
                              "SELECT (SELECT count(*) FROM incident_persons) || ' ' || "
                              "(SELECT string_agg(n::text, ',' ORDER BY client_id) FROM (SELECT "
                              "client_id, count(*) AS n FROM exposure_tokens GROUP BY "
                              "client_id) t)",
                              0, NULL, err, sizeof err);
    if (!res) die("check", err);
    char attributed[128];
    snprintf(attributed, sizeof attributed, "%lld %s %lld,%lld", attributed_persons,
             PQgetvalue(res, 0, 0), attributed_client[0], attributed_client[1]);
    check = strdup(attributed);
    PQclear(res);
    char want[128]; /* attributed persons, stored persons, stored per client, attributed */
    snprintf(want, sizeof want, "%ld %ld %ld,%ld %ld,%ld", n + n / 2, n + n / 2, n, n, n, n);
    int exact = !strcmp(check, want);
    printf("  exact: distinct %s (want %s): %s\n", check, want, exact ? "yes" : "NO");
    free(check);
    pgx_close(pg);
    /* Not WITH (FORCE): that needs the right to signal an autovacuum worker (the superuser's),
     * while a plain DROP DATABASE stops one by itself. */
    snprintf(sql, sizeof sql, "DROP DATABASE %s", dbname);
    exec_or_die(admin, sql);
    pgx_close(admin);
    return exact ? 0 : 1;
}
