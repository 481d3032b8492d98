/*
 * test_events_encode_fast: mni_event_encode writes a manifest of the current schema straight as
 * bytes (lib/model/events_fast.h) and everything else through Avro C. Whatever the event, it
 * must give what the generic path gives (mni_event_encode_generic): the same bytes, framing
 * included, or the same error. Compared on every line of tests/data/events (every kind, the
 * optional fields), on manifests of 0 tokens to the largest that fits a message and one over
 * (varint boundaries of the count), with and without contract hours and client facts, with short
 * and 63-byte ids, a missing producer, times at both ends of the range, a Japanese client id
 * (refused by both); and on schema sets where the direct writer must stand aside: an older
 * version of the record, a manifest with one more field, registry mode before binding (no id).
 * Each comparison also says whether the direct writer took the event, so a writer that always
 * declines fails here too.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/model/events.h"
#include "lib/model/events_fast.h"
#include "lib/model/events_json.h"
#include "tests/support/testdata.h"
#include "tests/support/testschemas.h"

#define T1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define T2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID63 "C-123456789012345678901234567890123456789012345678901234567890"

/* Both encoders on ev with set: the same return, error and bytes. Returns whether the direct
 * writer wrote it (its own bytes then compared too). */
static bool same_with(const schema_set *set, const mni_event *ev)
{
    char ea[512] = "", eb[512] = "";
    wire_buf a, b, direct;
    wire_buf_init(&a);
    wire_buf_init(&b);
    wire_buf_init(&direct);
    int ra = mni_event_encode(set, ev, &a, ea, sizeof ea);
    int rb = mni_event_encode_generic(set, ev, &b, eb, sizeof eb);
    if (ra != rb) fail_msg("encode %d (%s), generic %d (%s)", ra, ea, rb, eb);
    if (ra != 0) {
        assert_string_equal(ea, eb);
    } else {
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
    }
    const schema_def *s = schema_set_current(set, EVENTS_SCHEMA_INCIDENT_EVENT);
    bool wrote = ra == 0 && s != NULL && mni_event_encode_manifest_fast(s, ev, &direct) == 0;
    if (wrote) {
        assert_int_equal(direct.len, b.len);
        assert_memory_equal(direct.data, b.data, b.len);
    }
    wire_buf_free(&a);
    wire_buf_free(&b);
    wire_buf_free(&direct);
    return wrote;
}

static bool same(const mni_event *ev)
{
    return same_with(testschemas, ev);
}

/* ev from a JSON line (which must parse). */
static void parse_line(const char *line, mni_event *ev)
{
    char err[512];
    if (mni_event_from_json_text(line, strlen(line), ev, err, sizeof err) != 0)
        fail_msg("%.200s: %s", line, err);
}

static void every_test_data_event(void **state)
{
    (void)state;
    char path[4096], *save = NULL;
    size_t len, lines = 0, direct = 0;
    testdata_path("events/valid.jsonl", path, sizeof path);
    char *text = testdata_read(path, &len);
    assert_non_null(text);
    mni_event ev;
    mni_event_init(&ev);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        parse_line(line, &ev);
        bool manifest =
            ev.type == MNI_EVENT_EXPOSURE_MANIFEST && !ev.body.manifest.client_facts.present;
        assert_int_equal(same(&ev), manifest);
        direct += manifest;
        lines++;
    }
    assert_true(lines >= 16);
    assert_true(direct >= 1);
    mni_event_free(&ev);
    free(text);
}

/* A manifest of n tokens built in C (shares ev's arena for the token array). */
static void manifest(mni_event *ev, size_t n, const char *client, const char *producer,
                     int64_t at_ms, int64_t hours)
{
    mni_event_reset(ev);
    ev->event_id = "E-1";
    ev->incident_id = "INC-1";
    ev->tenant = "bpo";
    ev->producer = producer;
    ev->occurred_at_ms = at_ms;
    ev->type = MNI_EVENT_EXPOSURE_MANIFEST;
    mni_event_exposure_manifest *m = &ev->body.manifest;
    m->client_id = client;
    m->batch_id = "b-1";
    const char **tokens = mni_event_alloc(ev, (n + 1) * sizeof *tokens);
    assert_non_null(tokens);
    for (size_t i = 0; i < n; i++)
        tokens[i] = i % 3 ? T1 : T2;
    m->tokens = tokens;
    m->n_tokens = n;
    m->contract_notice_hours = hours;
}

static void manifests_of_every_shape(void **state)
{
    (void)state;
    /* The count's varint grows at 64 and 8,192; 15,000 tokens fit a message, 16,000 do not. */
    static const size_t sizes[] = {0, 1, 2, 63, 64, 65, 500, 8191, 8192, 15000, 16000};
    static const int64_t hours[] = {MNI_EVENT_ABSENT, 0, 1, 63, 64, 8191, 8192, 87600};
    static const int64_t times[] = {
        0, -1, 1, MNI_EVENT_TIME_MIN, MNI_EVENT_TIME_MAX, 1795302060000LL};
    static const char *const clients[] = {"C", "C-0001", ID63};
    static const char *const producers[] = {NULL, "p", ID63};
    mni_event ev;
    mni_event_init(&ev);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (size_t h = 0; h < sizeof hours / sizeof hours[0]; h++) {
            manifest(&ev, sizes[s], clients[s % 3], producers[h % 3], times[(s + h) % 6], hours[h]);
            /* Over the limit both report it; the direct writer leaves it to Avro C. */
            assert_int_equal(same(&ev), sizes[s] <= 15000);
        }
    for (size_t t = 0; t < sizeof times / sizeof times[0]; t++)
        for (size_t c = 0; c < 3; c++) {
            manifest(&ev, 3, clients[c], producers[(c + t) % 3], times[t], MNI_EVENT_ABSENT);
            assert_true(same(&ev));
        }
    /* Client facts are Avro C's to write. */
    manifest(&ev, 2, "C-1", "p", 0, 24);
    ev.body.manifest.client_facts.present = true;
    ev.body.manifest.client_facts.appi_persons_given = true;
    ev.body.manifest.client_facts.appi_persons = 3;
    assert_false(same(&ev));
    /* Refused by the check before either writer: the same error. */
    manifest(&ev, 1, "顧客-1", "p", 0, MNI_EVENT_ABSENT);
    assert_false(same(&ev));
    static const char *const short_token[] = {"0123"};
    manifest(&ev, 1, "C-1", "p", 0, MNI_EVENT_ABSENT);
    ev.body.manifest.tokens = short_token;
    assert_false(same(&ev));
    mni_event_free(&ev);
}

/* Every other kind, with texts in Japanese, goes through Avro C. */
static void other_kinds_fall_back(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{\"event_id\":\"E-2\",\"incident_id\":\"INC-1\",\"tenant\":\"bpo\",\"occurred_at\":"
        "\"2026-11-18T10:01:00+09:00\",\"type\":\"exposure_count\",\"body\":{\"client_id\":"
        "\"C-1\",\"persons\":120,\"persons_max\":200,\"contract_notice_hours\":24}}",
        "{\"event_id\":\"E-3\",\"incident_id\":\"INC-1\",\"tenant\":\"bpo\",\"occurred_at\":"
        "\"2026-11-18T10:01:00+09:00\",\"type\":\"response_step_completed\",\"body\":{\"step\":"
        "\"fact_investigation\",\"completed_at\":\"2026-11-18T11:00:00+09:00\",\"note\":"
        "\"調査完了\"}}",
        "{\"event_id\":\"E-4\",\"incident_id\":\"INC-1\",\"tenant\":\"bpo\",\"occurred_at\":"
        "\"2026-11-18T10:01:00+09:00\",\"type\":\"incident_closed\",\"body\":{\"reason\":"
        "\"withdrawn\",\"note\":\"誤報\"}}",
    };
    mni_event ev;
    mni_event_init(&ev);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        parse_line(lines[i], &ev);
        assert_false(same(&ev));
    }
    mni_event_free(&ev);
}

/* Copies the schemas directory into a new temporary one, replacing `from` by `to` in file
 * `file`; returns the directory (static storage). */
static const char *schemas_copy(const char *file, const char *from, const char *to)
{
    static char tmp[64];
    char src[4096], path[8192];
    strcpy(tmp, "/tmp/mni-encode-fast-XXXXXX");
    assert_non_null(mkdtemp(tmp));
    assert_int_equal(schema_set_find_dir(src, sizeof src, path, sizeof path), 0);
    DIR *d = opendir(src);
    assert_non_null(d);
    snprintf(path, sizeof path, "%s/history", tmp);
    assert_int_equal(mkdir(path, 0700), 0);
    struct dirent *de;
    static const char *const subdirs[] = {"", "history/"};
    for (size_t k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", src, subdirs[k]);
        DIR *sd = k == 0 ? d : opendir(path);
        assert_non_null(sd);
        while ((de = readdir(sd)) != NULL) {
            size_t len, n = strlen(de->d_name);
            if (!(n > 5 && !strcmp(de->d_name + n - 5, ".avsc")) && strcmp(de->d_name, "ids.tsv"))
                continue;
            snprintf(path, sizeof path, "%s/%s%s", src, subdirs[k], de->d_name);
            char *text = testdata_read(path, &len);
            assert_non_null(text);
            char *at = !strcmp(de->d_name, file) ? strstr(text, from) : NULL;
            if (!strcmp(de->d_name, file)) assert_non_null(at);
            snprintf(path, sizeof path, "%s/%s%s", tmp, subdirs[k], de->d_name);
            FILE *f = fopen(path, "w");
            assert_non_null(f);
            if (at) {
                fwrite(text, 1, (size_t)(at - text), f);
                fputs(to, f);
                fputs(at + strlen(from), f);
            } else {
                fwrite(text, 1, len, f);
            }
            assert_int_equal(fclose(f), 0);
            free(text);
        }
        closedir(sd);
    }
    return tmp;
}

static void remove_copy(const char *dir)
{
    char path[8192];
    static const char *const subdirs[] = {"history/", ""};
    for (size_t k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, subdirs[k]);
        DIR *d = opendir(path);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || !strcmp(de->d_name, "history")) continue;
            snprintf(path, sizeof path, "%s/%s%s", dir, subdirs[k], de->d_name);
            unlink(path);
        }
        closedir(d);
    }
    snprintf(path, sizeof path, "%s/history", dir);
    rmdir(path);
    rmdir(dir);
}

/* Schemas where the direct writer must stand aside, and one (docs changed) where it must not. */
static void other_schemas(void **state)
{
    (void)state;
    mni_event ev;
    mni_event_init(&ev);
    manifest(&ev, 3, "C-1", "p", 0, 24);
    wire_buf out;
    wire_buf_init(&out);

    /* An older version of the record (id 2) is not the schema it writes. */
    const schema_def *v2 = schema_set_by_id(testschemas, 2);
    assert_non_null(v2);
    assert_int_equal(mni_event_encode_manifest_fast(v2, &ev, &out), -1);

    /* Registry mode before binding: no id; both report it. */
    schema_set *set;
    char err[512];
    assert_int_equal(schema_set_load_default(&set, err, sizeof err), 0);
    schema_set_registry_mode(set);
    assert_false(same_with(set, &ev));
    schema_set_free(set);

    /* A manifest with one more field: Avro C writes it, the direct writer declines. */
    static const struct {
        const char *from, *to;
        bool direct;
    } variants[] = {
        {"{\"name\": \"client_facts\",",
         "{\"name\": \"extra\", \"type\": \"long\", \"default\": 0},\n{\"name\": \"client_facts\",",
         false},
        {"\"doc\": \"The client business", "\"doc\": \"Another text for the client business", true},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        const char *dir = schemas_copy("ExposureManifest.avsc", variants[i].from, variants[i].to);
        if (schema_set_load(dir, &set, err, sizeof err) != 0) fail_msg("%s", err);
        remove_copy(dir);
        assert_int_equal(same_with(set, &ev), variants[i].direct);
        manifest(&ev, 0, "C-1", NULL, -1, MNI_EVENT_ABSENT);
        assert_int_equal(same_with(set, &ev), variants[i].direct);
        manifest(&ev, 3, "C-1", "p", 0, 24);
        schema_set_free(set);
    }
    wire_buf_free(&out);
    mni_event_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_test_data_event),
        cmocka_unit_test(manifests_of_every_shape),
        cmocka_unit_test(other_kinds_fall_back),
        cmocka_unit_test(other_schemas),
    };
    return cmocka_run_group_tests_name("events_encode_fast", tests, testschemas_setup,
                                       testschemas_teardown);
}
