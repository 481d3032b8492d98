/*
 * make_seeds: writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/,
 * from the test data and encoded records, so that every corpus can be made again from the
 * repository (make fuzz-seeds). Run from the repository root.
 *
 *   event            every event of tests/data/events/valid.jsonl, encoded (current schema),
 *                    and the id-2 writer's bytes of tests/data/events/valid.v2.hex
 *   case_assessment, notify_task, ticket
 *                    a record with every field and one with the nullable fields null
 *   wire             all of the above (every record and schema id), and frames cut short
 *   assess_json      each scenario of tests/data/assess and each invalid input of
 *                    tests/data/assess-invalid, made into the text `mni assess` reads
 *                    (the base facts of _base.json with the file's facts, as the unit tests do)
 *
 * Seeds are named seed-*; inputs the fuzzer adds to a corpus (make fuzz-merge) are named by their
 * SHA-1. No seed holds a valid My Number: the test data does not, and tests/fuzz/README.md
 * says how to check the corpora with the shared find-my-numbers tool.
 *
 *   make_seeds --scrub DIR...   deletes every file of DIR that holds a valid My Number in any
 *                               written form (mynumber_find over its bytes), and names it: the
 *                               fuzzer can make one by chance, and none may be checked in.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/model/records.h"
#include "rules/mynumber.h"

#define OUT "tests/fuzz/corpus"

static const schema_set *S;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "make_seeds: %s: %s\n", what, why);
    exit(1);
}

static void write_seed(const char *target, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, OUT "/%s", target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die(path, strerror(errno));
    snprintf(path, sizeof path, OUT "/%s/seed-%s", target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die(path, "cannot write");
}

/* A framed record goes to its own target and to the framing target. */
static void write_framed(const char *target, const char *name, const wire_buf *b)
{
    char wire_name[256];
    write_seed(target, name, b->data, b->len);
    snprintf(wire_name, sizeof wire_name, "%s-%s", target, name);
    write_seed("wire", wire_name, b->data, b->len);
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die(path, "cannot read");
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void event_seeds(void)
{
    char err[512], name[64], *save = NULL;
    size_t len, n = 0;
    mni_event ev;
    wire_buf b;

    mni_event_init(&ev);
    wire_buf_init(&b);
    char *text = read_text("tests/data/events/valid.jsonl", &len);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (mni_event_from_json_text(line, strlen(line), &ev, err, sizeof err) != 0 ||
            mni_event_encode(S, &ev, &b, err, sizeof err) != 0)
            die("valid.jsonl", err);
        snprintf(name, sizeof name, "valid-%02zu", ++n);
        write_framed("event", name, &b);
    }
    free(text);

    /* Older writer: the pinned bytes of schema id 2, one message per line of hex pairs. */
    text = read_text("tests/data/events/valid.v2.hex", &len);
    n = 0;
    save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        b.len = 0;
        if (wire_buf_reserve(&b, strlen(line) / 2 + 1, err, sizeof err) != 0) die("v2", err);
        for (char *p = line; *p;) {
            char *end;
            unsigned long byte = strtoul(p, &end, 16);
            if (end == p) break;
            b.data[b.len++] = (uint8_t)byte;
            p = end;
        }
        snprintf(name, sizeof name, "v2-%02zu", ++n);
        write_framed("event", name, &b);
    }
    free(text);

    /* Frames cut short and with a wrong magic byte, for the framing target. */
    write_seed("wire", "short-header", "\0\0\0\0", 4);
    write_seed("wire", "json-on-avro-topic", "{\"event_id\":\"e1\"}", 17);
    mni_event_free(&ev);
    wire_buf_free(&b);
}

static void record_seeds(void)
{
    static const char *const top_rules[] = {"MN-2-1", "MN-2-4", "APPI-7-4"};
    static const char *const a_rules[] = {"MN-2-1"};
    static const records_client clients[] = {
        {.client_id = "client-a",
         .persons = 3,
         .status = "mandatory",
         .rules = a_rules,
         .n_rules = 1},
        {.client_id = "client-b", .persons = 0, .status = "none"},
    };
    char err[512];
    wire_buf b;
    wire_buf_init(&b);

    records_case_assessment a = {
        .incident_id = "INC-2026-001",
        .version = 3,
        .assessed_at_ms = 1777600000000LL,
        .regime = "2022",
        .my_number_status = "mandatory",
        .appi_status = "voluntary",
        .rules = top_rules,
        .n_rules = 3,
        .headcount_total = 101,
        .clients = clients,
        .n_clients = 2,
        .route = "direct_report",
        .deadlines = {.preliminary_target = "2026-05-04",
                      .preliminary_latest = "2026-05-06",
                      .final = "2026-05-31",
                      .appi_final = "2026-06-01"},
        .verdict_json = "{\"status\":\"mandatory\",\"note\":\"速報は3日以内\"}",
    };
    if (records_case_assessment_encode(S, &a, &b, err, sizeof err) != 0) die("assessment", err);
    write_framed("case_assessment", "full", &b);
    a.abridged = true; /* a verdict too large for a message (lib/model/assessment_record.h) */
    a.clients_total = 5000;
    a.full_verdict = "mni case --json --version 3 INC-2026-001";
    if (records_case_assessment_encode(S, &a, &b, err, sizeof err) != 0) die("assessment", err);
    write_framed("case_assessment", "abridged", &b);
    a.abridged = false;
    a.clients_total = 0;
    a.full_verdict = NULL;
    a.n_clients = 0;
    a.clients = NULL;
    a.n_rules = 0;
    a.rules = NULL;
    a.deadlines.preliminary_target = a.deadlines.preliminary_latest = NULL;
    a.deadlines.final = a.deadlines.appi_final = NULL;
    a.version = 1;
    if (records_case_assessment_encode(S, &a, &b, err, sizeof err) != 0) die("assessment", err);
    write_framed("case_assessment", "nulls", &b);

    records_notify_task t = {
        .task_id = "task-0001",
        .incident_id = "INC-2026-001",
        .client_id = "client-a",
        .kind = RECORDS_TASK_CLIENT_NOTICE,
        .due_at_ms = 1777800000000LL,
        .case_version = 3,
        .created_at_ms = 1777600000001LL,
        .payload_json = "{\"deadline\":\"2026-05-06\"}",
    };
    if (records_notify_task_encode(S, &t, &b, err, sizeof err) != 0) die("task", err);
    write_framed("notify_task", "full", &b);
    t.client_id = NULL;
    t.due_at_ms = RECORDS_NO_TIME;
    t.kind = RECORDS_TASK_ESCALATION;
    if (records_notify_task_encode(S, &t, &b, err, sizeof err) != 0) die("task", err);
    write_framed("notify_task", "nulls", &b);

    records_ticket k = {
        .ticket_id = "TCK-1",
        .task_id = "task-0001",
        .incident_id = "INC-2026-001",
        .client_id = "client-a",
        .kind = "ppc_preliminary",
        .title = "PPC preliminary report due",
        .summary = "File the preliminary report (速報) by 2026-05-06.",
        .due_at_ms = 1777800000000LL,
        .document_ref = "doc:42",
    };
    if (records_ticket_encode(S, &k, &b, err, sizeof err) != 0) die("ticket", err);
    write_framed("ticket", "full", &b);
    k.client_id = NULL;
    k.due_at_ms = RECORDS_NO_TIME;
    if (records_ticket_encode(S, &k, &b, err, sizeof err) != 0) die("ticket", err);
    write_framed("ticket", "nulls", &b);
    wire_buf_free(&b);
}

/* The facts text of one file of tests/data/assess or assess-invalid (test_rules_scenarios.c). */
static char *assess_text(const json_t *base, const char *path)
{
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    if (!doc) die(path, jerr.text);
    char *text;
    if (json_is_string(json_object_get(doc, "text"))) {
        text = strdup(json_string_value(json_object_get(doc, "text")));
    } else {
        json_t *facts = json_deep_copy(json_object_get(base, "facts"));
        if (json_object_get(doc, "facts")) json_object_update(facts, json_object_get(doc, "facts"));
        size_t i;
        json_t *key;
        json_array_foreach (json_object_get(doc, "remove"), i, key)
            json_object_del(facts, json_string_value(key));
        text = json_dumps(facts, JSON_COMPACT);
        json_decref(facts);
    }
    json_decref(doc);
    return text;
}

static void assess_seeds(const char *dir, const char *prefix)
{
    json_error_t jerr;
    json_t *base = json_load_file("tests/data/assess/_base.json", 0, &jerr);
    if (!base) die("_base.json", jerr.text);
    DIR *d = opendir(dir);
    if (!d) die(dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '_' || e->d_name[0] == '.' || n < 6 ||
            strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[512], name[300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(name, sizeof name, "%s-%.*s", prefix, (int)(n - 5), e->d_name);
        char *text = assess_text(base, path);
        write_seed("assess_json", name, text, strlen(text));
        free(text);
    }
    closedir(d);
    json_decref(base);
}

static int scrub(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) die(dir, strerror(errno));
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        size_t len, at;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *bytes = read_text(path, &len);
        if (mynumber_find(bytes, len, &at)) {
            if (remove(path) != 0) die(path, strerror(errno));
            printf("make_seeds: removed %s: a My Number pattern at byte %zu\n", path, at);
            removed++;
        }
        free(bytes);
    }
    closedir(d);
    return removed;
}

int main(int argc, char **argv)
{
    schema_set *set;
    char err[512];
    if (argc > 1 && !strcmp(argv[1], "--scrub")) {
        for (int i = 2; i < argc; i++)
            scrub(argv[i]);
        return 0;
    }
    if (mkdir(OUT, 0755) != 0 && errno != EEXIST) die(OUT, strerror(errno));
    if (schema_set_load_default(&set, err, sizeof err) != 0) die("schemas", err);
    S = set;
    event_seeds();
    record_seeds();
    assess_seeds("tests/data/assess", "scenario");
    assess_seeds("tests/data/assess-invalid", "invalid");
    schema_set_free(set);
    return 0;
}
