/*
 * test_metrics_http: the metrics server as a scraper and a prober see it (lib/runtime/metrics.h),
 * driven through its API without a worker: /readyz's reasons in their order, /livez, the batch
 * latency histogram (cumulative buckets, +Inf, sum, count), labelled counters (a label value
 * beyond METRICS_LABELS_MAX counted under "other", characters outside [A-Za-z0-9_.-] written as
 * '_'), lag series dropped on revocation, the PostgreSQL gauges absent until first read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/runtime/metrics.h"
#include "tests/support/httpget.h"

static int port;
static metrics *m;

static int setup(void **state)
{
    (void)state;
    char err[256];
    port = httpget_free_port();
    return metrics_start("unit", "127.0.0.1", port, &m, err, sizeof err);
}

static int teardown(void **state)
{
    (void)state;
    metrics_stop(m);
    return 0;
}

static void expect(const char *path, int status, const char *body_want)
{
    char *body = NULL;
    assert_int_equal(httpget(port, path, &body), status);
    assert_string_equal(body, body_want);
    free(body);
}

/* The sample of series ("name{labels}") in a fresh scrape; -1 when absent. */
static double sample(const char *series)
{
    char *body = NULL, key[256];
    assert_int_equal(httpget(port, "/metrics", &body), 200);
    snprintf(key, sizeof key, "\n%s ", series);
    const char *at = strstr(body, key);
    double v = at ? atof(at + strlen(key)) : -1;
    free(body);
    return v;
}

static void readiness_reasons_in_order(void **state)
{
    (void)state;
    metrics_set_database(m, 0);
    metrics_set_kafka(m, 0);
    expect("/readyz", 503, "database unreachable\n");
    metrics_set_database(m, 1);
    expect("/readyz", 503, "kafka unreachable\n");
    metrics_set_kafka(m, 1);
    expect("/readyz", 503, "not assigned\n");
    assert_int_equal(sample("mni_ready{component=\"unit\"}"), 0);
    metrics_set_ready(m, 1);
    expect("/readyz", 200, "ready\n");
    assert_int_equal(sample("mni_ready{component=\"unit\"}"), 1);
    /* Readiness is not health: a failed batch alarms /healthz only. */
    metrics_batch_done(m, 0);
    expect("/readyz", 200, "ready\n");
    expect("/healthz", 503, "failing\n");
    metrics_batch_done(m, 1);
    expect("/healthz", 200, "ok\n");
    expect("/livez", 200, "alive\n");
    expect("/nope", 404, "not found: try /metrics, /healthz, /readyz or /livez\n");
}

static void histogram(void **state)
{
    (void)state;
    metrics_batch_seconds(m, 0.003);
    metrics_batch_seconds(m, 0.2);
    metrics_batch_seconds(m, 0.2);
    metrics_batch_seconds(m, 99);
    assert_int_equal(sample("mni_batch_duration_seconds_bucket{component=\"unit\",le=\"0.005\"}"),
                     1);
    assert_int_equal(sample("mni_batch_duration_seconds_bucket{component=\"unit\",le=\"0.1\"}"), 1);
    assert_int_equal(sample("mni_batch_duration_seconds_bucket{component=\"unit\",le=\"0.25\"}"),
                     3);
    assert_int_equal(sample("mni_batch_duration_seconds_bucket{component=\"unit\",le=\"30\"}"), 3);
    assert_int_equal(sample("mni_batch_duration_seconds_bucket{component=\"unit\",le=\"+Inf\"}"),
                     4);
    assert_int_equal(sample("mni_batch_duration_seconds_count{component=\"unit\"}"), 4);
    double sum = sample("mni_batch_duration_seconds_sum{component=\"unit\"}");
    assert_true(sum > 99.402 && sum < 99.404);
}

static void labelled_counters(void **state)
{
    (void)state;
    metrics_count(m, METRICS_DEAD_LETTERS, "malformed", 2);
    metrics_count(m, METRICS_DEAD_LETTERS, "malformed", 1);
    metrics_count(m, METRICS_EVENTS, "malformed", 5); /* another family, another series */
    metrics_count(m, METRICS_PG_ERRORS, "a\"b}c", 1);
    assert_int_equal(sample("mni_dead_letters_total{component=\"unit\",reason=\"malformed\"}"), 3);
    assert_int_equal(sample("mni_events_total{component=\"unit\",outcome=\"malformed\"}"), 5);
    assert_int_equal(sample("mni_postgres_errors_total{component=\"unit\",code=\"a_b_c\"}"), 1);
    char label[32], series[128];
    for (int i = 0; i < METRICS_LABELS_MAX + 10; i++) {
        snprintf(label, sizeof label, "r%d", i);
        metrics_count(m, METRICS_DEAD_LETTERS, label, 1);
    }
    /* "malformed" and r0 .. r61 have series of their own; the last slot, "other", takes the rest.
     */
    snprintf(series, sizeof series, "mni_dead_letters_total{component=\"unit\",reason=\"r%d\"}",
             METRICS_LABELS_MAX - 3);
    assert_int_equal(sample(series), 1);
    snprintf(series, sizeof series, "mni_dead_letters_total{component=\"unit\",reason=\"r%d\"}",
             METRICS_LABELS_MAX - 2);
    assert_int_equal(sample(series), -1);
    assert_int_equal(sample("mni_dead_letters_total{component=\"unit\",reason=\"other\"}"), 12);
}

static void lag_and_gauges(void **state)
{
    (void)state;
    const char *lag = "mni_consumer_lag{component=\"unit\",topic=\"t\",partition=\"2\"}";
    assert_int_equal(sample(lag), -1);
    metrics_set_lag(m, "t", 2, 7);
    assert_int_equal(sample(lag), 7);
    metrics_clear_lag(m);
    assert_int_equal(sample(lag), -1);
    assert_int_equal(sample("mni_deadlines{component=\"unit\",state=\"overdue\"}"), -1);
    metrics_set_deadlines(m, 3, 4);
    assert_int_equal(sample("mni_deadlines{component=\"unit\",state=\"due_soon\"}"), 3);
    assert_int_equal(sample("mni_deadlines{component=\"unit\",state=\"overdue\"}"), 4);
    metrics_set_outbox(m, "tasks", 5, 60.5);
    metrics_set_outbox(m, "tasks", 6, 61.5);
    assert_int_equal(sample("mni_outbox_unpublished{component=\"unit\",topic=\"tasks\"}"), 6);
    assert_true(sample("mni_outbox_oldest_age_seconds{component=\"unit\",topic=\"tasks\"}") ==
                61.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readiness_reasons_in_order),
        cmocka_unit_test(histogram),
        cmocka_unit_test(labelled_counters),
        cmocka_unit_test(lag_and_gauges),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
