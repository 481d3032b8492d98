/*
 * Our topics read by clients nobody here wrote. The demo scenario runs through the three
 * workers with the environment's schema registry ($MNI_SCHEMA_REGISTRY_URL, the one
 * `scripts/mni-env up` starts), produced by `mni produce` in registry mode, plus one event
 * framed by an older writer that only the registry knows (the frozen IncidentEvent v2, as a
 * producer still on it would send it). Then:
 *   - ingest read that event through the registry (an id not in its local table);
 *   - every record on case.assessments, notify.tasks and tickets carries the registry's id of
 *     its subject "<topic>-value";
 *   - a Node consumer built on the npm packages kafkajs and @kafkajs/confluent-schema-registry
 *     (tests/node/consume.js, versions pinned in tests/node/package-lock.json, installed by
 *     scripts/install-deps.sh --test) decodes every record of the three topics through the
 *     registry, and what it decodes is what we wrote: each record's incident_id is its key,
 *     the tickets are the tickets table's.
 * The Kafka side is librdkafka's mock cluster (in this process), which kafkajs 2.2.4 talks to
 * like any broker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/kafka/kq.h"
#include "lib/serdes/registry_client.h"
#include "lib/serdes/schema_set.h"
#include "lib/serdes/wire.h"
#include "tests/support/mockkafka.h"
#include "tests/support/runcmd.h"
#include "tests/support/sqlcheck.h"
#include "tests/support/testenv.h"
#include "tests/support/topicio.h"
#include "tests/support/workerproc.h"

#define WORKERS 3
#define WORKER_TIMEOUT_MS 120000
#define NODE_DIR "tests/node"

static const char *const workers[WORKERS] = {"mni-ingest", "mni-assess", "mni-notify"};
static const mockkafka_topic topics[] = {
    {"incident.events", 3},  {"incident.accepted", 3}, {"incident.dlq", 1},
    {"case.assessments", 3}, {"notify.tasks", 3},      {"tickets", 1},
};
static const struct {
    const char *topic, *record;
    int partitions;
} outputs[] = {
    {"case.assessments", EVENTS_SCHEMA_CASE_ASSESSMENT, 3},
    {"notify.tasks", EVENTS_SCHEMA_NOTIFY_TASK, 3},
    {"tickets", EVENTS_SCHEMA_TICKET, 1},
};
#define N_OUTPUTS (sizeof outputs / sizeof outputs[0])

static void produce_bytes(const char *bootstrap, const char *key, const void *value, size_t len)
{
    char err[512];
    kq_prop props[] = {{"bootstrap.servers", bootstrap}};
    kq_producer *p = kq_producer_new(props, 1, err, sizeof err);
    assert_non_null(p);
    assert_int_equal(
        kq_produce(p, "incident.events", key, strlen(key), value, len, NULL, 0, err, sizeof err),
        0);
    assert_int_equal(kq_producer_close(p, 10000, err, sizeof err), 0);
}

/* `mni produce --no-pace FILE` in registry mode; the count it reports must be want. */
static void mni_produce(const char *path, int want)
{
    const char *argv[] = {"mni", "produce", "--no-pace", path, NULL};
    runcmd_result r;
    assert_int_equal(runcmd(argv, NULL, &r), 0);
    if (r.status != 0) fail_msg("mni produce %s: exit %d: %s", path, r.status, r.err);
    char sent[64];
    snprintf(sent, sizeof sent, "%d events sent", want);
    assert_non_null(strstr(r.err, sent));
    assert_non_null(strstr(r.err, "schema registry in use"));
    runcmd_free(&r);
}

/* The first line of tests/data/events/valid.v2.hex, framed again with the registry's id of
 * the v2 schema (registered here, as the old producer's serializer would have). */
static size_t old_writer_event(registry_client *client, uint8_t *out, size_t cap)
{
    char err[1024], schema[65536];
    FILE *f = fopen("schemas/history/IncidentEvent.v2.avsc", "r");
    assert_non_null(f);
    size_t n = fread(schema, 1, sizeof schema - 1, f);
    fclose(f);
    schema[n] = '\0';
    int32_t id = 0;
    if (registry_client_register(client, "incident.events-value", schema, &id, err, sizeof err))
        fail_msg("%s", err);
    f = fopen("tests/data/events/valid.v2.hex", "r");
    assert_non_null(f);
    unsigned byte;
    n = 0;
    while (n < cap && fscanf(f, "%2x", &byte) == 1) {
        out[n++] = (uint8_t)byte;
        int c = fgetc(f);
        if (c == '\n' || c == EOF) break;
    }
    fclose(f);
    assert_true(n > WIRE_HEADER_SIZE);
    assert_int_equal(wire_put_header(out, id, err, sizeof err), 0);
    return n;
}

/* Runs the Node consumer; its stdout (one JSON line per record), malloc'd. */
static char *run_node(const char *bootstrap, const char *registry_url, const size_t *counts)
{
    char cmd[2048];
    int n =
        snprintf(cmd, sizeof cmd, "cd %s && timeout 300 node consume.js '%s'", NODE_DIR, bootstrap);
    for (size_t i = 0; i < N_OUTPUTS; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " %s:%zu", outputs[i].topic, counts[i]);
    setenv("MNI_SCHEMA_REGISTRY_URL", registry_url, 1);
    fflush(NULL);
    FILE *p = popen(cmd, "r");
    unsetenv("MNI_SCHEMA_REGISTRY_URL");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t got;
    while ((got = fread(out + len, 1, cap - len - 1, p)) > 0) {
        len += got;
        if (cap - len < 4096) {
            out = realloc(out, cap *= 2);
            assert_non_null(out);
        }
    }
    out[len] = '\0';
    int status = pclose(p);
    if (status != 0) fail_msg("node consume.js exited with status %d (its error is above)", status);
    return out;
}

static void test_node_consumer_decodes_our_topics(void **state)
{
    (void)state;
    char err[1024];
    const char *registry_url = testenv_registry_url();
    if (!registry_url)
        fail_msg("no schema registry in the environment: scripts/mni-env up starts one and "
                 "writes MNI_SCHEMA_REGISTRY_URL into its env file");
    if (access(NODE_DIR "/node_modules/kafkajs/package.json", R_OK) != 0 ||
        access(NODE_DIR "/node_modules/@kafkajs/confluent-schema-registry/package.json", R_OK) !=
            0 ||
        system("node --version >/dev/null 2>&1") != 0)
        fail_msg("node or the npm packages of " NODE_DIR " are missing: run "
                 "scripts/install-deps.sh --test (make test does)");

    mockkafka *kafka =
        mockkafka_start(1, topics, sizeof topics / sizeof topics[0], err, sizeof err);
    assert_non_null(kafka);
    const char *bootstrap = mockkafka_bootstraps(kafka);
    testenv_db db;
    testenv_db_create(&db, 1);

    /* Our ids, as the workers will get them (same schema, same id). */
    schema_set *set;
    registry_client *client;
    registry_settings rs = {.url = registry_url};
    const registry_binding bindings[] = {
        {EVENTS_SCHEMA_INCIDENT_EVENT, "incident.events"},
        {EVENTS_SCHEMA_CASE_ASSESSMENT, "case.assessments"},
        {EVENTS_SCHEMA_NOTIFY_TASK, "notify.tasks"},
        {EVENTS_SCHEMA_TICKET, "tickets"},
    };
    assert_int_equal(schema_set_load_default(&set, err, sizeof err), 0);
    client = registry_client_new(&rs, err, sizeof err);
    assert_non_null(client);
    if (registry_client_attach(client, set, bindings, 4, err, sizeof err) != 0) fail_msg("%s", err);

    char url_env[600];
    snprintf(url_env, sizeof url_env, "MNI_SCHEMA_REGISTRY_URL=%s", registry_url);
    const char *env[] = {"MNI_NOTIFY_CLOCK=2026-11-22T09:00:00+09:00", url_env, NULL};
    const char *argv[] = {"--exit-when-idle", "8000", NULL};
    workerproc w[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        assert_int_equal(
            workerproc_start(&w[i], workers[i], db.conninfo, bootstrap, NULL, env, argv), 0);

    setenv("MNI_KAFKA_BOOTSTRAP", bootstrap, 1);
    setenv("MNI_SCHEMA_REGISTRY_URL", registry_url, 1);
    mni_produce("examples/scenario/01-first-reports.jsonl", 8);
    uint8_t old[8192];
    size_t old_len = old_writer_event(client, old, sizeof old);
    produce_bytes(bootstrap, "INC-2026-001", old, old_len);
    mni_produce("examples/scenario/02-later-updates.jsonl", 3);
    unsetenv("MNI_SCHEMA_REGISTRY_URL");

    for (int i = 0; i < WORKERS; i++) {
        int rc = workerproc_wait(&w[i], WORKER_TIMEOUT_MS);
        if (rc != 0) {
            workerproc_dump_log(&w[i]);
            fail_msg("%s exited %d", workers[i], rc);
        }
    }
    PGconn *pg = db.conn;
    /* Ingest stored every event, the old writer's too, and dead-lettered none. */
    sqlcheck_equal(pg, "SELECT count(*) FROM event_log", NULL, "12");
    sqlcheck_equal(pg, "SELECT count(*) FROM event_log WHERE event_id = 'e1'", NULL, "1");
    sqlcheck_equal(pg,
                   "SELECT string_agg(incident_id||':'||version, ' ' ORDER BY incident_id) FROM "
                   "cases WHERE incident_id LIKE 'INC-2026-01%'",
                   NULL, "INC-2026-0101:3 INC-2026-0102:2 INC-2026-0103:1");
    assert_true(workerproc_log_count(&w[0], "schema registry in use") == 1);

    /* Every record framed with the registry's id of its subject. */
    size_t counts[N_OUTPUTS];
    for (size_t i = 0; i < N_OUTPUTS; i++) {
        topicio_messages m;
        int32_t want = schema_set_current(set, outputs[i].record)->id;
        assert_int_equal(
            topicio_read_to_end(bootstrap, outputs[i].topic, outputs[i].partitions, 60000, &m), 0);
        assert_true(m.n > 0);
        for (size_t k = 0; k < m.n; k++) {
            int32_t id;
            const uint8_t *payload;
            size_t plen;
            assert_int_equal(wire_decode(m.msgs[k].value, m.msgs[k].value_len, &id, &payload, &plen,
                                         err, sizeof err),
                             0);
            assert_int_equal(id, want);
        }
        counts[i] = m.n;
        topicio_messages_free(&m);
    }

    /* The Node consumer decodes every record, and gets what we wrote. */
    char *out = run_node(bootstrap, registry_url, counts);
    size_t seen[N_OUTPUTS] = {0};
    json_t *tickets = json_array();
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t jerr;
        json_t *rec = json_loads(line, 0, &jerr);
        if (!rec) fail_msg("consume.js printed a line that is not JSON: %.200s", line);
        const char *topic = json_string_value(json_object_get(rec, "topic"));
        json_t *value = json_object_get(rec, "value");
        size_t i = 0;
        while (i < N_OUTPUTS && (!topic || strcmp(topic, outputs[i].topic) != 0))
            i++;
        assert_true(i < N_OUTPUTS);
        seen[i]++;
        assert_int_equal(json_integer_value(json_object_get(rec, "schema_id")),
                         schema_set_current(set, outputs[i].record)->id);
        assert_string_equal(json_string_value(json_object_get(value, "incident_id")),
                            json_string_value(json_object_get(rec, "key")));
        if (!strcmp(topic, "tickets"))
            json_array_append(tickets, json_object_get(value, "ticket_id"));
        json_decref(rec);
    }
    for (size_t i = 0; i < N_OUTPUTS; i++)
        assert_int_equal(seen[i], counts[i]);
    char *ticket_ids = json_dumps(tickets, JSON_COMPACT);
    sqlcheck_equal(
        pg,
        "SELECT (SELECT array_agg(x ORDER BY x) FROM jsonb_array_elements_text($1::jsonb) "
        "x) = (SELECT array_agg(ticket_id ORDER BY ticket_id) FROM tickets)",
        ticket_ids, "t");
    free(ticket_ids);
    json_decref(tickets);
    free(out);

    registry_client_free(client);
    schema_set_free(set);
    for (int i = 0; i < WORKERS; i++)
        unlink(w[i].log_path);
    testenv_db_drop(&db);
    mockkafka_stop(kafka);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_consumer_decodes_our_topics),
    };
    return cmocka_run_group_tests_name("registry: a Node consumer reads our topics", tests, NULL,
                                       NULL);
}
