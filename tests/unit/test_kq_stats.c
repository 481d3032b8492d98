/*
 * test_kq_stats: librdkafka's statistics JSON reduced to what the workers report (kq_stats.c):
 * each real partition's log start and end (the last stable offset, else the high watermark),
 * the internal partition -1 left out, brokers counted only with a node id and state UP; input
 * that is not a JSON object refused with a reason. The document is shaped like librdkafka
 * 2.0.2's (STATISTICS.md), trimmed to the fields that matter plus a few that must be ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "lib/kafka/kq.h"

static const char stats_json[] =
    "{\"name\":\"rdkafka#consumer-1\",\"type\":\"consumer\",\"ts\":1,"
    "\"brokers\":{"
    "\"127.0.0.1:9092/bootstrap\":{\"name\":\"127.0.0.1:9092/bootstrap\",\"nodeid\":-1,"
    "\"state\":\"UP\"},"
    "\"GroupCoordinator\":{\"name\":\"GroupCoordinator\",\"nodeid\":-1,\"state\":\"UP\"},"
    "\"127.0.0.1:9092/1\":{\"name\":\"127.0.0.1:9092/1\",\"nodeid\":1,\"state\":\"UP\"},"
    "\"127.0.0.1:9093/2\":{\"name\":\"127.0.0.1:9093/2\",\"nodeid\":2,\"state\":\"TRY_CONNECT\"}},"
    "\"topics\":{\"incident.events\":{\"topic\":\"incident.events\",\"partitions\":{"
    "\"0\":{\"partition\":0,\"lo_offset\":5,\"hi_offset\":42,\"ls_offset\":40,"
    "\"consumer_lag\":-1},"
    "\"1\":{\"partition\":1,\"lo_offset\":-1,\"hi_offset\":7,\"consumer_lag\":-1},"
    "\"-1\":{\"partition\":-1,\"lo_offset\":-1,\"hi_offset\":-1,\"ls_offset\":-1}}},"
    "\"tickets\":{\"topic\":\"tickets\",\"partitions\":{"
    "\"2\":{\"partition\":2,\"lo_offset\":0,\"hi_offset\":3,\"ls_offset\":3}}}}}";

static const kq_partition_stats *find(const kq_stats *s, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->parts[i].partition == partition && !strcmp(s->parts[i].topic, topic))
            return &s->parts[i];
    return NULL;
}

static void partitions_and_brokers(void **state)
{
    (void)state;
    kq_stats s;
    char err[256];
    assert_int_equal(kq_stats_parse(stats_json, strlen(stats_json), &s, err, sizeof err), 0);
    assert_int_equal(s.brokers_up, 1);
    assert_int_equal(s.n, 3);
    const kq_partition_stats *p0 = find(&s, "incident.events", 0);
    assert_non_null(p0);
    assert_int_equal(p0->log_start, 5);
    assert_int_equal(p0->log_end, 40); /* the last stable offset, not the high watermark */
    const kq_partition_stats *p1 = find(&s, "incident.events", 1);
    assert_non_null(p1);
    assert_int_equal(p1->log_start, -1);
    assert_int_equal(p1->log_end, 7); /* no stable offset given: the high watermark */
    assert_non_null(find(&s, "tickets", 2));
    assert_null(find(&s, "incident.events", -1));
    kq_stats_free(&s);
    assert_int_equal(s.n, 0);
}

static void no_brokers_no_topics(void **state)
{
    (void)state;
    static const char json[] = "{\"brokers\":{\"b/1\":{\"nodeid\":1,\"state\":\"DOWN\"}}}";
    kq_stats s;
    assert_int_equal(kq_stats_parse(json, strlen(json), &s, NULL, 0), 0);
    assert_int_equal(s.brokers_up, 0);
    assert_int_equal(s.n, 0);
    kq_stats_free(&s);
}

static void refused(void **state)
{
    (void)state;
    kq_stats s;
    char err[256];
    assert_int_equal(kq_stats_parse("[1,2]", 5, &s, err, sizeof err), -1);
    assert_string_equal(err, "kafka statistics: not a JSON object");
    assert_int_equal(kq_stats_parse("{\"brokers\":", 11, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "kafka statistics: "));
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(partitions_and_brokers),
        cmocka_unit_test(no_brokers_no_topics),
        cmocka_unit_test(refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
