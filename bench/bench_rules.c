/*
 * Benchmark of the rule core: assessments per second on one core (issue 6 target: at least
 * 7 million for a contractor with 2 clients; issue 2 asked for 5). Each iteration assesses a
 * different knowledge day (so the calendar and the closed-day walk are exercised, not cached)
 * and a varying headcount. The baseline, measured in the same run, is the cost of writing a
 * verdict-sized struct per iteration; figures are printed as rates and as the ratio to that
 * baseline. Mixes: an own incident with one data set, a contractor with 2 clients, a
 * contractor with 10 clients. The iterations are split into rounds that alternate the baseline
 * and the mixes, and each figure is its best round: the machine is shared, a busy spell then
 * lands on one round of each figure, not on one whole figure. Times are CPU time of the
 * benchmark's thread (see now()). Also the JSON path of `mni assess` (parse, assess,
 * serialise) for context.
 *
 * Large incidents: one contractor incident of 20,000 and of 200,000 clients (ids in scrambled
 * order, so the duplicate-id sort has work to do), through the core and through the JSON path.
 * The figure that matters is the ratio of the two times: n log n predicts 10 x log(200,000) /
 * log(20,000) = 12.3, a quadratic step 100. The target is missed above 35, the geometric middle of
 * the two (issue 6: nothing in the core worse than n log n in the number of clients): measured
 * 12 on an idle machine, up to 24 on this shared one, where the 200,000-client verdict array
 * (38 MB) falls out of the caches that hold the 20,000-client one. The JSON path (jansson: parse,
 * build, serialise) is printed for context, without a target: its cost is allocation, not the core.
 *
 * Usage: bench_rules [ITERATIONS [quick]]; quick (make bench-quick) leaves out the JSON path's
 * 200,000-client run, seconds of the quick run's two minutes for a figure without a target.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/model/facts_json.h"
#include "lib/model/verdict_json.h"
#include "rules/rules.h"

#define TARGET_PER_SECOND 7e6
#define SMALL_ROUNDS 5
#define LARGE_SMALL 20000
#define LARGE_BIG 200000
#define LARGE_RATIO_LIMIT 35.0

/* The thread's CPU time, not the wall clock: the figures are per core, and on a shared machine
 * the time a preempted thread waits for a core is someone else's work. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile int64_t sink;

static double bench_baseline(long n)
{
    rules_verdict v;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        memset(&v, (int)(i & 0x7f), sizeof v);
        sink += v.headcount_total;
    }
    return (now() - t0) / n;
}

static double bench_core(long n, size_t n_clients)
{
    rules_client clients[16] = {0}; /* facts not set below keep their default (absent) */
    rules_client_verdict out[16];
    for (size_t c = 0; c < n_clients; c++) {
        snprintf(clients[c].client_id, sizeof clients[c].client_id, "C-%zu", c);
        clients[c].persons = 40;
        clients[c].persons_max = RULES_ABSENT;
        clients[c].contract_notice_hours = c % 2 ? 24 : RULES_ABSENT;
    }
    rules_facts f = {
        .incident_id = "BENCH",
        .role = n_clients > 1 ? RULES_ROLE_CONTRACTOR : RULES_ROLE_OWN,
        .kinds = RULES_KIND_LEAK,
        .certainty = RULES_CERTAINTY_POSSIBLE,
        .clients = clients,
        .n_clients = n_clients,
        .distinct_persons = RULES_ABSENT,
        .appi = {.persons = RULES_ABSENT},
    };
    const int64_t start = 1648771200; /* 2022-04-01 in Japan, roughly */
    rules_verdict v;
    char err[128];
    double t0 = now();
    for (long i = 0; i < n; i++) {
        f.known_at = start + (i % 3000) * 86400 + 3600;
        clients[0].persons = 60 + (i & 63); /* crosses 100 often */
        f.improper_purpose = (i & 7) == 0 ? RULES_LEVEL_POSSIBLE : RULES_LEVEL_NONE;
        if (rules_assess(&f, NULL, &v, out, err, sizeof err) != 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        sink += v.final_due + v.route;
    }
    return (now() - t0) / n;
}

/* A contractor's incident with n clients of 1 to 7 persons, ids in scrambled order. */
static rules_client *large_clients(size_t n)
{
    rules_client *clients = calloc(n, sizeof *clients);
    if (!clients) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(clients[i].client_id, sizeof clients[i].client_id, "CLIENT-%07zu", (i * 7919) % n);
        clients[i].persons = 1 + (int64_t)(i % 7);
        clients[i].persons_max = RULES_ABSENT;
        clients[i].contract_notice_hours = i % 2 ? 24 : RULES_ABSENT;
    }
    return clients;
}

/* One n-client incident ready for the core, with its verdict array. */
typedef struct {
    rules_client *clients;
    rules_client_verdict *out;
    rules_facts facts;
} large_incident;

static void large_incident_init(large_incident *li, size_t n)
{
    li->clients = large_clients(n);
    li->out = calloc(n, sizeof *li->out);
    if (!li->out) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    li->facts = (rules_facts){
        .incident_id = "BENCH-LARGE",
        .known_at = 1781053200, /* 2026-06-10T10:00:00+09:00 */
        .role = RULES_ROLE_CONTRACTOR,
        .kinds = RULES_KIND_LEAK,
        .certainty = RULES_CERTAINTY_CONFIRMED,
        .clients = li->clients,
        .n_clients = n,
        .distinct_persons = RULES_ABSENT,
        .appi = {.persons = RULES_ABSENT},
    };
}

static double large_assess_once(large_incident *li)
{
    rules_verdict v;
    char err[256];
    double t0 = now();
    if (rules_assess(&li->facts, NULL, &v, li->out, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    double t = now() - t0;
    sink += v.route + (int64_t)v.n_clients;
    return t;
}

/* Seconds per assessment of the small and the big incident through the core: rounds that
 * alternate the two sizes, best time of each (the machine is shared; alternating keeps a busy
 * spell from landing on one size only, the best run is the least disturbed). */
static void bench_large_core(int rounds, double *small, double *big)
{
    large_incident s, b;
    large_incident_init(&s, LARGE_SMALL);
    large_incident_init(&b, LARGE_BIG);
    *small = *big = 1e9;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 4; k++) {
            double t = large_assess_once(&s);
            if (t < *small) *small = t;
        }
        double t = large_assess_once(&b);
        if (t < *big) *big = t;
    }
    free(s.out);
    free(s.clients);
    free(b.out);
    free(b.clients);
}

/* Seconds for the `mni assess` path of one n-client document: parse, assess, serialise. */
static double bench_large_json(size_t n)
{
    rules_client *clients = large_clients(n);
    rules_facts f = {
        .incident_id = "BENCH-LARGE",
        .known_at = 1781053200,
        .role = RULES_ROLE_CONTRACTOR,
        .kinds = RULES_KIND_LEAK,
        .certainty = RULES_CERTAINTY_CONFIRMED,
        .clients = clients,
        .n_clients = n,
        .distinct_persons = RULES_ABSENT,
        .appi = {.persons = RULES_ABSENT},
    };
    json_t *facts = facts_json_build(&f);
    char *text = json_dumps(facts, JSON_COMPACT);
    json_decref(facts);
    free(clients);
    char err[256];
    facts_doc doc;
    double t0 = now();
    if (!text || facts_json_parse(text, strlen(text), &doc, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", text ? err : "out of memory");
        exit(1);
    }
    rules_client_verdict *out = calloc(n, sizeof *out);
    rules_verdict v;
    if (!out || rules_assess(&doc.facts, NULL, &v, out, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", out ? err : "out of memory");
        exit(1);
    }
    json_t *j = verdict_json_build(&doc.facts, &v);
    char *s = json_dumps(j, JSON_COMPACT);
    double t = now() - t0;
    sink += (int64_t)strlen(s);
    free(s);
    json_decref(j);
    free(out);
    facts_doc_free(&doc);
    free(text);
    return t;
}

/* Prints the big size and the ratio of the two (the small size is the baseline); returns the
 * ratio. */
static double report_scaling(const char *what, double small, double big)
{
    double ratio = big / small;
    double nlogn = (double)LARGE_BIG / LARGE_SMALL * log((double)LARGE_BIG) / log(LARGE_SMALL);
    printf("  %-34s %8.2f ms  %6.1f per s  %6.0f ns/client\n", what, big * 1e3, 1.0 / big,
           big / LARGE_BIG * 1e9);
    printf("  %-34s %8.1f  (n log n: %.1f, linear: %.0f, quadratic: %.0f)\n",
           "  time ratio 200,000 / 20,000", ratio, nlogn, (double)LARGE_BIG / LARGE_SMALL,
           ((double)LARGE_BIG / LARGE_SMALL) * ((double)LARGE_BIG / LARGE_SMALL));
    return ratio;
}

static double bench_json(long n)
{
    FILE *f = fopen("examples/incidents/01-misdirected-mailing.json", "rb");
    if (!f) {
        fprintf(stderr, "bench: run from the repository root\n");
        exit(1);
    }
    char text[8192];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[len] = '\0';
    char err[256];
    double t0 = now();
    for (long i = 0; i < n; i++) {
        facts_doc doc;
        rules_client_verdict out[8];
        rules_verdict v;
        if (facts_json_parse(text, len, &doc, err, sizeof err) != 0 ||
            rules_assess(&doc.facts, NULL, &v, out, err, sizeof err) != 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        json_t *j = verdict_json_build(&doc.facts, &v);
        char *s = json_dumps(j, JSON_COMPACT);
        sink += (int64_t)strlen(s);
        free(s);
        json_decref(j);
        facts_doc_free(&doc);
    }
    return (now() - t0) / n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 5000000;
    long per_round = n / SMALL_ROUNDS > 1 ? n / SMALL_ROUNDS : 1;
    printf("rule core benchmark, one thread, %ld iterations per mix in %d alternating rounds "
           "(best round of each)\n",
           per_round * SMALL_ROUNDS, SMALL_ROUNDS);
    struct {
        const char *name;
        size_t clients;
        double best;
    } mixes[] = {{"own incident, 1 data set", 1, 1e9},
                 {"contractor, 2 clients", 2, 1e9},
                 {"contractor, 10 clients", 10, 1e9}};
    enum { N_MIXES = sizeof mixes / sizeof mixes[0] };
    double base = 1e9;
    for (int r = 0; r < SMALL_ROUNDS; r++) {
        double t = bench_baseline(per_round);
        if (t < base) base = t;
        for (size_t i = 0; i < N_MIXES; i++) {
            t = bench_core(per_round, mixes[i].clients);
            if (t < mixes[i].best) mixes[i].best = t;
        }
    }
    printf("  %-34s %8.1f ns/op\n", "baseline (write a verdict struct)", base * 1e9);
    int below = 0;
    for (size_t i = 0; i < N_MIXES; i++) {
        double t = mixes[i].best;
        printf("  %-34s %8.1f ns/op  %6.2f M assessments/s  %5.1fx baseline\n", mixes[i].name,
               t * 1e9, 1e-6 / t, t / base);
        if (i == 1 && 1.0 / t < TARGET_PER_SECOND) below = 1;
    }
    long nj = n / 50 > 1000 ? n / 50 : 1000;
    double tj = bench_json(nj);
    printf("  %-34s %8.1f ns/op  %6.2f k docs/s      %5.1fx baseline\n",
           "JSON in -> verdict JSON out", tj * 1e9, 1e-3 / tj, tj / base);
    printf("target: >= %.0f M assessments/s (contractor, 2 clients): %s\n", TARGET_PER_SECOND / 1e6,
           below ? "MISS" : "PASS");

    printf("large contractor incidents (core: best of rounds alternating the two sizes; JSON: best "
           "of 3 and one run)\n");
    double small, big;
    bench_large_core(7, &small, &big);
    int worse = report_scaling("core, 200,000 clients", small, big) > LARGE_RATIO_LIMIT;
    if (argc > 2 && !strcmp(argv[2], "quick")) {
        printf("    JSON path (mni assess), 200,000: not run in quick mode\n");
    } else {
        double json_small = bench_large_json(LARGE_SMALL);
        for (int r = 0; r < 2; r++) {
            double t = bench_large_json(LARGE_SMALL);
            if (t < json_small) json_small = t;
        }
        report_scaling("JSON path (mni assess), 200,000", json_small, bench_large_json(LARGE_BIG));
    }
    printf("target: core time ratio 200,000 / 20,000 clients <= %.0f (n log n, not quadratic): "
           "%s\n",
           LARGE_RATIO_LIMIT, worse ? "MISS" : "PASS");
    return 0; /* a missed target is a figure, not a failure of the build */
}
