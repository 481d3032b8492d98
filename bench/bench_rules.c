/*
 * Benchmark of the rule core: assessments per second on one core (issue 2 target: at least
 * 5 million). Each iteration assesses a different knowledge day (so the calendar and the
 * closed-day walk are exercised, not cached) and a varying headcount. The baseline, measured in
 * the same run, is the cost of writing a verdict-sized struct per iteration; figures are printed
 * as rates and as the ratio to that baseline. Mixes: an own incident with one data set, a
 * contractor with 2 clients, a contractor with 10 clients. Also the JSON path of `mni assess`
 * (parse, assess, serialise) for context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/facts_json.h"
#include "common/verdict_json.h"
#include "rules/rules.h"

#define TARGET_PER_SECOND 5e6

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
    rules_client clients[16];
    rules_client_verdict out[16];
    for (size_t c = 0; c < n_clients; c++) {
        clients[c] = (rules_client){
            .systems = RULES_ABSENT, .appi_persons = RULES_ABSENT, .known_at = RULES_ABSENT};
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
        .employees = RULES_ABSENT,
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
    printf("rule core benchmark, one thread, %ld iterations per mix\n", n);
    double base = bench_baseline(n);
    printf("  %-34s %8.1f ns/op\n", "baseline (write a verdict struct)", base * 1e9);
    struct {
        const char *name;
        size_t clients;
    } mixes[] = {{"own incident, 1 data set", 1},
                 {"contractor, 2 clients", 2},
                 {"contractor, 10 clients", 10}};
    int below = 0;
    for (size_t i = 0; i < sizeof mixes / sizeof mixes[0]; i++) {
        double t = bench_core(n, mixes[i].clients);
        printf("  %-34s %8.1f ns/op  %6.2f M assessments/s  %5.1fx baseline\n", mixes[i].name,
               t * 1e9, 1e-6 / t, t / base);
        if (i == 1 && 1.0 / t < TARGET_PER_SECOND) below = 1;
    }
    long nj = n / 50 > 1000 ? n / 50 : 1000;
    double tj = bench_json(nj);
    printf("  %-34s %8.1f ns/op  %6.2f k docs/s      %5.1fx baseline\n",
           "JSON in -> verdict JSON out", tj * 1e9, 1e-3 / tj, tj / base);
    printf("target: >= %.0f M assessments/s (contractor, 2 clients): %s\n", TARGET_PER_SECOND / 1e6,
           below ? "MISSED" : "met");
    return below;
}
