/*
 * events: the incident event contract, end to end.
 *
 *   - the schema set: ids, current versions, composition, fingerprints of every id (a changed
 *     schema under an existing id fails here: schemas/EVOLUTION.md);
 *   - every event kind through Avro and back, and through JSON and back (samples built in C and
 *     the fixture tests/data/events/valid.jsonl, whose Avro bytes are pinned in valid.hex);
 *   - evolution: events written with schema id 1 (schemas/history) read by the current
 *     reader with the defaults filled; a newer writer (added as a registry would) read with an
 *     unknown enum symbol mapped to the enum's default and an unknown field skipped;
 *   - the contract checks on encoding, the text walk, RFC 3339 times, arena reuse, the size
 *     limit on a large manifest.
 * Malformed input is in test_events_malformed.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/serdes/avro_codec.h"
#include "lib/serdes/schema_set.h"
#include "tests/support/testdata.h"
#include "tests/support/testrand.h"
#include "tests/support/testschemas.h"

/* Person tokens for the samples: 64 lowercase hex digits, never a run of 12 decimal digits. */
#define TOK1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TOK2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define TOK3 "a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8"

/* The current IncidentEvent id (schemas/ids.tsv): 2 was version 2, now frozen under history/. */
#define CURRENT_EVENT_ID 6

/* ---- samples ---- */

static const char *const sample_tokens[] = {TOK1, TOK2, TOK3};

static void envelope(mni_event *ev, mni_event_type t, const char *id)
{
    mni_event_init(ev);
    ev->event_id = id;
    ev->incident_id = "INC-2026-001";
    ev->tenant = "bpo-tokyo";
    ev->occurred_at_ms = 1777597200000LL; /* 2026-05-01T01:00:00Z */
    ev->producer = "unit-test";
    ev->type = t;
}

static void full_facts(mni_event_facts *f)
{
    f->known_at_ms = 1777595400123LL;
    f->title = "誤送信 (misdirected payroll file)";
    f->reporter.role = RULES_ROLE_CONTRACTOR;
    f->reporter.number_use_entity = true;
    f->reporter.public_body_system = false;
    f->kinds = RULES_KIND_LEAK | RULES_KIND_UNLAWFUL_PROVISION;
    f->certainty = RULES_CERTAINTY_POSSIBLE;
    f->improper_purpose = RULES_LEVEL_CONFIRMED;
    f->systems = RULES_SYS_NUMBER_USE | RULES_SYS_PUBLIC_RELATED;
    f->unspecified_viewing = RULES_VIEW_VIEWED;
    f->encrypted_protected = false;
    f->recovered_unviewed = true;
    f->intact_copy = false;
    f->appi_sensitive = true;
    f->appi_financial_risk = false;
    f->description = "A ledger page with ids 1234-5678-9012 was photographed.";
    /* Schema version 3. */
    f->reporter.body.public_body = true;
    f->reporter.body.local_government = true;
    f->reporter.employees_given = true;
    f->reporter.employees = 80;
    f->actor = RULES_ACTOR_INSIDER;
    f->notice2015_given = true;
    f->notice2015.all_persons_contacted = true;
    f->notice2015.investigation_done = true;
}

/* Sample number i (0 .. N_SAMPLES-1): every kind, and the variants of optional fields. */
#define N_SAMPLES 14

static void sample(mni_event *ev, int i)
{
    switch (i) {
    case 0:
        envelope(ev, MNI_EVENT_INCIDENT_OPENED, "e-open");
        full_facts(&ev->body.opened);
        break;
    case 1:
        envelope(ev, MNI_EVENT_FACTS_UPDATED, "e-upd-all");
        full_facts(&ev->body.facts_updated.facts);
        ev->body.facts_updated.present = MNI_FACT_ALL;
        ev->body.facts_updated.note = "everything restated";
        break;
    case 2:
        envelope(ev, MNI_EVENT_FACTS_UPDATED, "e-upd-some");
        full_facts(&ev->body.facts_updated.facts);
        ev->body.facts_updated.present =
            MNI_FACT_CERTAINTY | MNI_FACT_KINDS | MNI_FACT_REPORTER | MNI_FACT_DESCRIPTION;
        ev->body.facts_updated.note = "";
        break;
    case 3:
        envelope(ev, MNI_EVENT_FACTS_UPDATED, "e-upd-none");
        ev->body.facts_updated.present = 0;
        ev->body.facts_updated.note = "nothing changed, a note only";
        break;
    case 4:
        envelope(ev, MNI_EVENT_EXPOSURE_MANIFEST, "e-man");
        ev->body.manifest.client_id = "client-a";
        ev->body.manifest.batch_id = "batch-0001";
        ev->body.manifest.tokens = sample_tokens;
        ev->body.manifest.n_tokens = 3;
        ev->body.manifest.contract_notice_hours = 24;
        break;
    case 5:
        envelope(ev, MNI_EVENT_EXPOSURE_MANIFEST, "e-man-empty");
        ev->body.manifest.client_id = "client-b";
        ev->body.manifest.batch_id = "batch-0002";
        ev->body.manifest.contract_notice_hours = MNI_EVENT_ABSENT;
        break;
    case 6:
        envelope(ev, MNI_EVENT_EXPOSURE_COUNT, "e-count");
        ev->body.count.client_id = "client-c";
        ev->body.count.persons = 120;
        ev->body.count.persons_max = 4500000000LL;
        ev->body.count.contract_notice_hours = 0;
        break;
    case 7:
        envelope(ev, MNI_EVENT_EXPOSURE_COUNT, "e-count-min");
        ev->body.count.client_id = "client-d";
        ev->body.count.persons = 0;
        ev->body.count.persons_max = MNI_EVENT_ABSENT;
        ev->body.count.contract_notice_hours = MNI_EVENT_ABSENT;
        break;
    case 8:
        envelope(ev, MNI_EVENT_RESPONSE_STEP_COMPLETED, "e-step");
        ev->body.step.step = MNI_STEP_PREVENTIVE_MEASURES;
        ev->body.step.completed_at_ms = -1; /* 1969-12-31T23:59:59.999Z: negative times work */
        ev->body.step.note = "training planned and recorded";
        break;
    case 9:
        envelope(ev, MNI_EVENT_REPORT_FILED, "e-rep");
        ev->body.report.report = MNI_REPORT_CLIENT_NOTICE;
        ev->body.report.client_id = "client-a";
        ev->body.report.filed_at_ms = 1777600000000LL;
        ev->body.report.reference = "NOTICE/A/1";
        break;
    case 10:
        envelope(ev, MNI_EVENT_REPORT_FILED, "e-rep-ppc");
        ev->body.report.report = MNI_REPORT_PPC_FINAL;
        ev->body.report.client_id = NULL;
        ev->body.report.filed_at_ms = MNI_EVENT_TIME_MAX;
        ev->body.report.reference = "PPC-77";
        break;
    case 12:
        envelope(ev, MNI_EVENT_EXPOSURE_COUNT, "e-count-facts");
        ev->body.count.client_id = "city-e";
        ev->body.count.persons = 60;
        ev->body.count.persons_max = MNI_EVENT_ABSENT;
        ev->body.count.contract_notice_hours = MNI_EVENT_ABSENT;
        ev->body.count.client_facts = (mni_event_client_facts){
            .present = true,
            .systems_given = true,
            .systems = RULES_SYS_PUBLIC_RELATED,
            .appi_persons_given = true,
            .appi_persons = 140,
            .body = {.public_body = true, .local_government = true, .ordinance_sensitive = true}};
        break;
    case 13:
        envelope(ev, MNI_EVENT_EXPOSURE_MANIFEST, "e-man-facts");
        ev->body.manifest.client_id = "agency-f";
        ev->body.manifest.batch_id = "batch-0003";
        ev->body.manifest.tokens = sample_tokens;
        ev->body.manifest.n_tokens = 1;
        ev->body.manifest.contract_notice_hours = MNI_EVENT_ABSENT;
        /* Stated, with an empty set of systems (not the incident's) and no APPI count. */
        ev->body.manifest.client_facts = (mni_event_client_facts){
            .present = true, .systems_given = true, .body = {.public_body = true}};
        break;
    default:
        envelope(ev, MNI_EVENT_INCIDENT_CLOSED, "e-close");
        ev->body.closed.reason = MNI_CLOSE_WITHDRAWN;
        ev->body.closed.note = "opened in error";
        ev->occurred_at_ms = MNI_EVENT_TIME_MIN;
        break;
    }
}

static void assert_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_facts(const mni_event_facts *a, const mni_event_facts *b, unsigned present)
{
    if (present & MNI_FACT_KNOWN_AT) assert_int_equal(a->known_at_ms, b->known_at_ms);
    if (present & MNI_FACT_TITLE) assert_str(a->title, b->title);
    if (present & MNI_FACT_REPORTER) {
        assert_int_equal(a->reporter.role, b->reporter.role);
        assert_int_equal(a->reporter.number_use_entity, b->reporter.number_use_entity);
        assert_int_equal(a->reporter.public_body_system, b->reporter.public_body_system);
        assert_memory_equal(&a->reporter.body, &b->reporter.body, sizeof a->reporter.body);
        assert_int_equal(a->reporter.employees_given, b->reporter.employees_given);
        if (a->reporter.employees_given)
            assert_int_equal(a->reporter.employees, b->reporter.employees);
    }
    if (present & MNI_FACT_KINDS) assert_int_equal(a->kinds, b->kinds);
    if (present & MNI_FACT_CERTAINTY) assert_int_equal(a->certainty, b->certainty);
    if (present & MNI_FACT_IMPROPER_PURPOSE)
        assert_int_equal(a->improper_purpose, b->improper_purpose);
    if (present & MNI_FACT_SYSTEMS) assert_int_equal(a->systems, b->systems);
    if (present & MNI_FACT_UNSPECIFIED_VIEWING)
        assert_int_equal(a->unspecified_viewing, b->unspecified_viewing);
    if (present & MNI_FACT_ENCRYPTED_PROTECTED)
        assert_int_equal(a->encrypted_protected, b->encrypted_protected);
    if (present & MNI_FACT_RECOVERED_UNVIEWED)
        assert_int_equal(a->recovered_unviewed, b->recovered_unviewed);
    if (present & MNI_FACT_INTACT_COPY) assert_int_equal(a->intact_copy, b->intact_copy);
    if (present & MNI_FACT_APPI_SENSITIVE) assert_int_equal(a->appi_sensitive, b->appi_sensitive);
    if (present & MNI_FACT_APPI_FINANCIAL_RISK)
        assert_int_equal(a->appi_financial_risk, b->appi_financial_risk);
    if (present & MNI_FACT_DESCRIPTION) assert_str(a->description, b->description);
    if (present & MNI_FACT_ACTOR) assert_int_equal(a->actor, b->actor);
    if (present & MNI_FACT_NOTICE_2015) {
        /* In an update the bit itself says "stated"; in IncidentOpened the flag does. */
        if (present != MNI_FACT_ALL || a->notice2015_given)
            assert_memory_equal(&a->notice2015, &b->notice2015, sizeof a->notice2015);
    }
}

static void assert_client_facts(const mni_event_client_facts *a, const mni_event_client_facts *b)
{
    assert_int_equal(a->present, b->present);
    if (!a->present) return;
    assert_int_equal(a->systems_given, b->systems_given);
    if (a->systems_given) assert_int_equal(a->systems, b->systems);
    assert_int_equal(a->appi_persons_given, b->appi_persons_given);
    if (a->appi_persons_given) assert_int_equal(a->appi_persons, b->appi_persons);
    assert_memory_equal(&a->body, &b->body, sizeof a->body);
}

static void assert_events_equal(const mni_event *a, const mni_event *b)
{
    assert_str(a->event_id, b->event_id);
    assert_str(a->incident_id, b->incident_id);
    assert_str(a->tenant, b->tenant);
    assert_int_equal(a->occurred_at_ms, b->occurred_at_ms);
    assert_str(a->producer, b->producer);
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case MNI_EVENT_INCIDENT_OPENED:
        assert_facts(&a->body.opened, &b->body.opened, MNI_FACT_ALL);
        assert_int_equal(a->body.opened.notice2015_given, b->body.opened.notice2015_given);
        break;
    case MNI_EVENT_FACTS_UPDATED:
        assert_int_equal(a->body.facts_updated.present, b->body.facts_updated.present);
        assert_facts(&a->body.facts_updated.facts, &b->body.facts_updated.facts,
                     a->body.facts_updated.present);
        assert_str(a->body.facts_updated.note, b->body.facts_updated.note);
        break;
    case MNI_EVENT_EXPOSURE_MANIFEST:
        assert_str(a->body.manifest.client_id, b->body.manifest.client_id);
        assert_str(a->body.manifest.batch_id, b->body.manifest.batch_id);
        assert_int_equal(a->body.manifest.n_tokens, b->body.manifest.n_tokens);
        for (size_t i = 0; i < a->body.manifest.n_tokens; i++)
            assert_str(a->body.manifest.tokens[i], b->body.manifest.tokens[i]);
        assert_int_equal(a->body.manifest.contract_notice_hours,
                         b->body.manifest.contract_notice_hours);
        assert_client_facts(&a->body.manifest.client_facts, &b->body.manifest.client_facts);
        break;
    case MNI_EVENT_EXPOSURE_COUNT:
        assert_str(a->body.count.client_id, b->body.count.client_id);
        assert_int_equal(a->body.count.persons, b->body.count.persons);
        assert_int_equal(a->body.count.persons_max, b->body.count.persons_max);
        assert_int_equal(a->body.count.contract_notice_hours, b->body.count.contract_notice_hours);
        assert_client_facts(&a->body.count.client_facts, &b->body.count.client_facts);
        break;
    case MNI_EVENT_RESPONSE_STEP_COMPLETED:
        assert_int_equal(a->body.step.step, b->body.step.step);
        assert_int_equal(a->body.step.completed_at_ms, b->body.step.completed_at_ms);
        assert_str(a->body.step.note, b->body.step.note);
        break;
    case MNI_EVENT_REPORT_FILED:
        assert_int_equal(a->body.report.report, b->body.report.report);
        assert_str(a->body.report.client_id, b->body.report.client_id);
        assert_int_equal(a->body.report.filed_at_ms, b->body.report.filed_at_ms);
        assert_str(a->body.report.reference, b->body.report.reference);
        break;
    case MNI_EVENT_INCIDENT_CLOSED:
        assert_int_equal(a->body.closed.reason, b->body.closed.reason);
        assert_str(a->body.closed.note, b->body.closed.note);
        break;
    default:
        fail_msg("unexpected event type %d", (int)a->type);
    }
}

/* ---- the schema set ---- */

static void test_schema_set(void **state)
{
    (void)state;
    const schema_def *v1 = schema_set_by_id(testschemas, 1), *v2 = schema_set_by_id(testschemas, 2),
                     *v3 = schema_set_by_id(testschemas, CURRENT_EVENT_ID);
    char dir[4096], err[512];

    assert_int_equal(schema_set_count(testschemas), 7);
    assert_non_null(v1);
    assert_non_null(v2);
    assert_non_null(v3);
    assert_string_equal(v1->name, EVENTS_SCHEMA_INCIDENT_EVENT);
    assert_string_equal(v1->file, "history/IncidentEvent.v1.avsc");
    assert_false(v1->current);
    assert_ptr_equal(v1->reader, v3);
    assert_string_equal(v2->file, "history/IncidentEvent.v2.avsc");
    assert_false(v2->current);
    assert_ptr_equal(v2->reader, v3);
    assert_true(v3->current);
    assert_ptr_equal(v3->reader, v3);
    assert_string_equal(v3->subject, "jp.mni.IncidentEvent");
    assert_ptr_equal(schema_set_current(testschemas, EVENTS_SCHEMA_INCIDENT_EVENT), v3);
    assert_int_equal(schema_set_current(testschemas, EVENTS_SCHEMA_CASE_ASSESSMENT)->id, 7);
    assert_string_equal(schema_set_by_id(testschemas, 3)->file, "history/CaseAssessment.v1.avsc");
    assert_false(schema_set_by_id(testschemas, 3)->current);
    assert_ptr_equal(schema_set_by_id(testschemas, 3)->reader, schema_set_by_id(testschemas, 7));
    assert_int_equal(schema_set_current(testschemas, EVENTS_SCHEMA_NOTIFY_TASK)->id, 4);
    assert_int_equal(schema_set_current(testschemas, EVENTS_SCHEMA_TICKET)->id, 5);
    assert_null(schema_set_by_id(testschemas, 8));
    assert_null(schema_set_current(testschemas, "jp.mni.Nope"));

    /* The composed envelope is self-contained: each kind defined once, inline, and the types
     * of version 3 with it. */
    char *text = schema_set_text(v3);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"jp.mni.ClientFacts\""));
    assert_non_null(strstr(text, "\"jp.mni.Notice2015\""));
    assert_non_null(strstr(text, "\"jp.mni.Actor\""));
    const char *names[] = {"\"jp.mni.IncidentOpened\"", "\"jp.mni.FactsUpdated\"",
                           "\"jp.mni.ExposureManifest\"", "\"jp.mni.IncidentClosed\""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *at = strstr(text, names[i]);
        assert_non_null(at);
        assert_null(strstr(at + 1, names[i]));
    }
    free(text);

    /* The directory lookup honours MNI_SCHEMAS_DIR, and refuses a wrong one. */
    assert_int_equal(schema_set_find_dir(dir, sizeof dir, err, sizeof err), 0);
    char *old = getenv(EVENTS_SCHEMA_ENV) ? strdup(getenv(EVENTS_SCHEMA_ENV)) : NULL;
    setenv(EVENTS_SCHEMA_ENV, "/nonexistent/schemas", 1);
    assert_int_equal(schema_set_find_dir(dir, sizeof dir, err, sizeof err), -1);
    assert_non_null(strstr(err, "MNI_SCHEMAS_DIR=/nonexistent/schemas: no readable ids.tsv"));
    if (old != NULL) {
        setenv(EVENTS_SCHEMA_ENV, old, 1);
        free(old);
    } else {
        unsetenv(EVENTS_SCHEMA_ENV);
    }
}

/* A writer's set (mni produce): the current envelope alone, the same schema under the same id
 * as in the whole set, so what it encodes is what the full set encodes. */
static void test_schema_set_writer(void **state)
{
    (void)state;
    char dir[4096], err[512];
    schema_set *w;
    assert_int_equal(schema_set_find_dir(dir, sizeof dir, err, sizeof err), 0);
    assert_int_equal(
        schema_set_load_default_writer(EVENTS_SCHEMA_INCIDENT_EVENT, &w, err, sizeof err), 0);
    assert_int_equal(schema_set_count(w), 1);
    const schema_def *cur = schema_set_current(w, EVENTS_SCHEMA_INCIDENT_EVENT);
    assert_non_null(cur);
    assert_int_equal(cur->id, CURRENT_EVENT_ID);
    assert_ptr_equal(cur->reader, cur);
    assert_null(schema_set_by_id(w, 2));
    assert_null(schema_set_current(w, EVENTS_SCHEMA_TICKET));
    char *a = schema_set_text(cur),
         *b = schema_set_text(schema_set_by_id(testschemas, CURRENT_EVENT_ID));
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    mni_event ev;
    mni_event_init(&ev);
    wire_buf x, y;
    wire_buf_init(&x);
    wire_buf_init(&y);
    for (int i = 0; i < N_SAMPLES; i++) {
        sample(&ev, i);
        assert_int_equal(mni_event_encode(w, &ev, &x, err, sizeof err), 0);
        assert_int_equal(mni_event_encode(testschemas, &ev, &y, err, sizeof err), 0);
        assert_int_equal(x.len, y.len);
        assert_memory_equal(x.data, y.data, x.len);
    }
    wire_buf_free(&x);
    wire_buf_free(&y);
    mni_event_free(&ev);
    schema_set_free(w);
    assert_int_equal(schema_set_load_writer(dir, "jp.mni.Nope", &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "no current version of jp.mni.Nope listed"));
    assert_null(w);
}

/* Removes "doc" attributes everywhere: documentation may change under an id, nothing else. */
static void strip_docs(json_t *j)
{
    const char *key;
    json_t *v;
    size_t i;
    void *tmp;

    if (json_is_object(j)) {
        json_object_del(j, "doc");
        json_object_foreach_safe (j, tmp, key, v)
            strip_docs(v);
    } else if (json_is_array(j)) {
        json_array_foreach (j, i, v)
            strip_docs(v);
    }
}

static void fingerprint(const schema_def *s, char out[65])
{
    json_t *copy = json_deep_copy(s->json);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    strip_docs(copy);
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    assert_int_equal(EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
    free(text);
    json_decref(copy);
}

/* tests/data/events/fingerprints.tsv pins what every schema id means. */
static void test_schema_fingerprints(void **state)
{
    (void)state;
    char path[4096];
    size_t len;
    testdata_path("events/fingerprints.tsv", path, sizeof path);
    char *pinned = testdata_read(path, &len);
    assert_non_null(pinned);
    for (size_t i = 0; i < schema_set_count(testschemas); i++) {
        const schema_def *s = schema_set_at(testschemas, i);
        char fp[65], line[128];
        fingerprint(s, fp);
        snprintf(line, sizeof line, "%d\t%s\n", (int)s->id, fp);
        if (strstr(pinned, line) == NULL)
            fail_msg("schema id %d (%s) is not the schema pinned in fingerprints.tsv: a schema "
                     "under an existing id must never change (schemas/EVOLUTION.md: freeze the "
                     "old version under history/ and give the new one a new id). Its "
                     "fingerprint now: %s",
                     (int)s->id, s->file, fp);
    }
    free(pinned);
}

/* ---- round trips ---- */

static void test_avro_roundtrip_all_kinds(void **state)
{
    (void)state;
    wire_buf buf, again;
    char err[512];
    int seen[MNI_EVENT_INCIDENT_CLOSED + 1] = {0};

    wire_buf_init(&buf);
    wire_buf_init(&again);
    for (int i = 0; i < N_SAMPLES; i++) {
        mni_event in, out;
        sample(&in, i);
        mni_event_init(&out);
        if (mni_event_encode(testschemas, &in, &buf, err, sizeof err) != 0)
            fail_msg("sample %d: %s", i, err);
        assert_int_equal(buf.data[0], 0);
        assert_int_equal(buf.data[4], CURRENT_EVENT_ID); /* the current envelope */
        if (mni_event_decode(testschemas, buf.data, buf.len, &out, err, sizeof err) != 0)
            fail_msg("sample %d: %s", i, err);
        assert_int_equal(out.schema_id, CURRENT_EVENT_ID);
        assert_events_equal(&in, &out);
        seen[out.type] = 1;
        /* The decoded event encodes to the same bytes. */
        assert_int_equal(mni_event_encode(testschemas, &out, &again, err, sizeof err), 0);
        assert_int_equal(again.len, buf.len);
        assert_memory_equal(again.data, buf.data, buf.len);
        mni_event_free(&out);
        mni_event_free(&in);
    }
    for (int t = MNI_EVENT_INCIDENT_OPENED; t <= MNI_EVENT_INCIDENT_CLOSED; t++)
        assert_true(seen[t]);
    wire_buf_free(&buf);
    wire_buf_free(&again);
}

static void test_json_roundtrip_all_kinds(void **state)
{
    (void)state;
    wire_buf buf;
    char err[512];

    wire_buf_init(&buf);
    for (int i = 0; i < N_SAMPLES; i++) {
        mni_event in, out, back;
        sample(&in, i);
        mni_event_init(&out);
        mni_event_init(&back);
        char *text = mni_event_to_json_text(&in, err, sizeof err);
        if (text == NULL) fail_msg("sample %d: %s", i, err);
        if (mni_event_from_json_text(text, strlen(text), &out, err, sizeof err) != 0)
            fail_msg("sample %d: %s\n%s", i, err, text);
        assert_events_equal(&in, &out);
        /* JSON -> Avro -> JSON gives the same text. */
        assert_int_equal(mni_event_encode(testschemas, &out, &buf, err, sizeof err), 0);
        assert_int_equal(mni_event_decode(testschemas, buf.data, buf.len, &back, err, sizeof err),
                         0);
        char *text2 = mni_event_to_json_text(&back, err, sizeof err);
        assert_non_null(text2);
        assert_string_equal(text, text2);
        free(text);
        free(text2);
        mni_event_free(&in);
        mni_event_free(&out);
        mni_event_free(&back);
    }
    wire_buf_free(&buf);
}

static void test_json_shape(void **state)
{
    (void)state;
    mni_event ev;
    char err[256];

    sample(&ev, 6);
    char *text = mni_event_to_json_text(&ev, err, sizeof err);
    assert_string_equal(text, "{\"event_id\":\"e-count\",\"incident_id\":\"INC-2026-001\","
                              "\"tenant\":\"bpo-tokyo\",\"occurred_at\":\"2026-05-01T01:00:00Z\","
                              "\"producer\":\"unit-test\",\"type\":\"exposure_count\",\"body\":{"
                              "\"client_id\":\"client-c\",\"persons\":120,\"persons_max\":"
                              "4500000000,\"contract_notice_hours\":0}}");
    free(text);
    mni_event_free(&ev);

    /* Defaults: producer, description, appi flags and notes may be left out. */
    const char *line =
        "{\"event_id\":\"e\",\"incident_id\":\"I\",\"tenant\":\"t\",\"occurred_at\":"
        "\"2026-05-01T10:00:00+09:00\",\"type\":\"incident_opened\",\"body\":{\"known_at\":"
        "\"2026-05-01T09:30:00.5+09:00\",\"title\":\"x\",\"reporter\":{\"role\":\"own\","
        "\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":[\"loss\",\"loss\"],"
        "\"certainty\":\"confirmed\",\"improper_purpose\":\"none\",\"systems\":[],"
        "\"unspecified_viewing\":\"none\",\"encrypted_protected\":false,\"recovered_unviewed\":"
        "false,\"intact_copy\":false}}";
    mni_event_init(&ev);
    assert_int_equal(mni_event_from_json_text(line, strlen(line), &ev, err, sizeof err), 0);
    assert_string_equal(ev.producer, "unknown");
    assert_string_equal(ev.body.opened.description, "");
    assert_false(ev.body.opened.appi_sensitive);
    assert_int_equal(ev.occurred_at_ms, 1777597200000LL);
    assert_int_equal(ev.body.opened.known_at_ms, 1777595400500LL);
    assert_int_equal(ev.body.opened.kinds, RULES_KIND_LOSS); /* a set: repeats collapse */
    mni_event_free(&ev);
}

/* Every line of valid.jsonl parses, round-trips, and encodes to the bytes pinned in valid.hex. */
static void test_fixture_events(void **state)
{
    (void)state;
    char path[4096], hexpath[4096], err[512];
    size_t len, hexlen;
    wire_buf buf;
    mni_event ev, back;
    int n = 0;

    testdata_path("events/valid.jsonl", path, sizeof path);
    testdata_path("events/valid.hex", hexpath, sizeof hexpath);
    char *text = testdata_read(path, &len);
    char *hex = testdata_read(hexpath, &hexlen);
    assert_non_null(text);
    assert_non_null(hex);
    wire_buf_init(&buf);
    mni_event_init(&ev);
    mni_event_init(&back);
    char *save = NULL, *hsave = NULL;
    char *hline = strtok_r(hex, "\n", &hsave);
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save), hline = strtok_r(NULL, "\n", &hsave)) {
        n++;
        if (mni_event_from_json_text(line, strlen(line), &ev, err, sizeof err) != 0)
            fail_msg("valid.jsonl line %d: %s", n, err);
        assert_int_equal(mni_event_encode(testschemas, &ev, &buf, err, sizeof err), 0);
        /* Bytes as spaced hex pairs: no long digit runs for the My Number scan to trip on. */
        char *got = malloc(buf.len * 3 + 1);
        got[0] = '\0';
        for (size_t i = 0; i < buf.len; i++)
            sprintf(got + 3 * i, i + 1 < buf.len ? "%02x " : "%02x", buf.data[i]);
        if (hline == NULL || strcmp(hline, got) != 0)
            fail_msg("valid.jsonl line %d: the Avro bytes changed (or valid.hex lacks the "
                     "line); now:\n%s",
                     n, got);
        free(got);
        assert_int_equal(mni_event_decode(testschemas, buf.data, buf.len, &back, err, sizeof err),
                         0);
        assert_events_equal(&ev, &back);
    }
    assert_int_equal(n, 16);
    mni_event_free(&ev);
    mni_event_free(&back);
    wire_buf_free(&buf);
    free(text);
    free(hex);
}

static size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p && n < cap; p += p[2] ? 3 : 2)
        out[n++] = (uint8_t)strtoul((char[3]){p[0], p[1], 0}, NULL, 16);
    return n;
}

/* An old writer is still read (schemas/EVOLUTION.md): the bytes an id-2 writer produced for the
 * first twelve lines of valid.jsonl (valid.v2.hex, pinned before version 3 existed) decode with
 * the current reader into the same events, the fields of version 3 at their defaults. */
static void test_history_v2_read_by_current(void **state)
{
    (void)state;
    char path[4096], hexpath[4096], err[512];
    size_t len, hexlen;
    mni_event ev, old;
    static uint8_t bytes[1 << 16];
    int n = 0;

    testdata_path("events/valid.jsonl", path, sizeof path);
    testdata_path("events/valid.v2.hex", hexpath, sizeof hexpath);
    char *text = testdata_read(path, &len);
    char *hex = testdata_read(hexpath, &hexlen);
    assert_non_null(text);
    assert_non_null(hex);
    mni_event_init(&ev);
    mni_event_init(&old);
    char *save = NULL, *hsave = NULL;
    char *line = strtok_r(text, "\n", &save);
    for (char *hline = strtok_r(hex, "\n", &hsave); hline != NULL;
         hline = strtok_r(NULL, "\n", &hsave), line = strtok_r(NULL, "\n", &save)) {
        n++;
        assert_non_null(line);
        size_t nb = hex_to_bytes(hline, bytes, sizeof bytes);
        assert_int_equal(bytes[4], 2);
        if (mni_event_decode(testschemas, bytes, nb, &old, err, sizeof err) != 0)
            fail_msg("valid.v2.hex line %d: %s", n, err);
        assert_int_equal(old.schema_id, 2);
        assert_int_equal(mni_event_from_json_text(line, strlen(line), &ev, err, sizeof err), 0);
        assert_events_equal(&ev, &old);
        const mni_event_facts *f = old.type == MNI_EVENT_INCIDENT_OPENED ? &old.body.opened
                                   : old.type == MNI_EVENT_FACTS_UPDATED
                                       ? &old.body.facts_updated.facts
                                       : NULL;
        if (f != NULL) {
            assert_int_equal(f->actor, RULES_ACTOR_UNKNOWN);
            assert_false(f->notice2015_given);
            assert_false(f->reporter.body.public_body);
            assert_false(f->reporter.employees_given);
        }
        if (old.type == MNI_EVENT_FACTS_UPDATED)
            assert_int_equal(
                old.body.facts_updated.present & (MNI_FACT_ACTOR | MNI_FACT_NOTICE_2015), 0);
        if (old.type == MNI_EVENT_EXPOSURE_COUNT) assert_false(old.body.count.client_facts.present);
        if (old.type == MNI_EVENT_EXPOSURE_MANIFEST)
            assert_false(old.body.manifest.client_facts.present);
    }
    assert_int_equal(n, 12);
    mni_event_free(&ev);
    mni_event_free(&old);
    free(text);
    free(hex);
}

/* ---- evolution ---- */

static void set_str(avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t v;
    assert_int_equal(avro_value_get_by_name(rec, name, &v, NULL), 0);
    assert_int_equal(avro_value_set_string(&v, s), 0);
}

static void set_long(avro_value_t *rec, const char *name, int64_t x)
{
    avro_value_t v;
    assert_int_equal(avro_value_get_by_name(rec, name, &v, NULL), 0);
    assert_int_equal(avro_value_set_long(&v, x), 0);
}

static void set_bool(avro_value_t *rec, const char *name, int b)
{
    avro_value_t v;
    assert_int_equal(avro_value_get_by_name(rec, name, &v, NULL), 0);
    assert_int_equal(avro_value_set_boolean(&v, b), 0);
}

static void set_enum(avro_value_t *rec, const char *name, int idx)
{
    avro_value_t v;
    assert_int_equal(avro_value_get_by_name(rec, name, &v, NULL), 0);
    assert_int_equal(avro_value_set_enum(&v, idx), 0);
}

/* A v1 envelope (schema id 1) with body branch `branch`; *body receives the branch. */
static void v1_envelope(avro_value_t *rec, const char *id, int branch, avro_value_t *body)
{
    const schema_def *v1 = schema_set_by_id(testschemas, 1);
    avro_value_t u;
    assert_int_equal(avro_generic_value_new(v1->iface, rec), 0);
    set_str(rec, "event_id", id);
    set_str(rec, "incident_id", "INC-OLD");
    set_str(rec, "tenant", "bpo");
    set_long(rec, "occurred_at", 1600000000000LL);
    assert_int_equal(avro_value_get_by_name(rec, "body", &u, NULL), 0);
    assert_int_equal(avro_value_set_branch(&u, branch, body), 0);
}

static void decode_v1(avro_value_t *rec, mni_event *ev)
{
    wire_buf buf;
    char err[512];
    wire_buf_init(&buf);
    if (avro_codec_encode(schema_set_by_id(testschemas, 1), rec, &buf, err, sizeof err) != 0)
        fail_msg("%s", err);
    avro_value_decref(rec);
    assert_int_equal(buf.data[4], 1); /* framed with the old id */
    if (mni_event_decode(testschemas, buf.data, buf.len, ev, err, sizeof err) != 0)
        fail_msg("%s", err);
    wire_buf_free(&buf);
    assert_int_equal(ev->schema_id, 1);
    assert_string_equal(ev->incident_id, "INC-OLD");
    assert_int_equal(ev->occurred_at_ms, 1600000000000LL);
    assert_string_equal(ev->producer, "unknown"); /* the v2 default */
}

static void test_history_v1_read_by_current(void **state)
{
    (void)state;
    avro_value_t rec, body, v, item;
    mni_event ev;

    mni_event_init(&ev);

    /* IncidentOpened v1: no appi_sensitive, no appi_financial_risk. */
    v1_envelope(&rec, "old-open", 0, &body);
    set_long(&body, "known_at", 1599999000000LL);
    set_str(&body, "title", "old title");
    assert_int_equal(avro_value_get_by_name(&body, "reporter", &v, NULL), 0);
    set_enum(&v, "role", 0);
    set_bool(&v, "number_use_entity", 1);
    set_bool(&v, "public_body_system", 0);
    assert_int_equal(avro_value_get_by_name(&body, "kinds", &v, NULL), 0);
    assert_int_equal(avro_value_append(&v, &item, NULL), 0);
    assert_int_equal(avro_value_set_enum(&item, 1), 0); /* loss */
    set_enum(&body, "certainty", 1);
    set_enum(&body, "improper_purpose", 0);
    set_enum(&body, "unspecified_viewing", 2);
    set_bool(&body, "encrypted_protected", 0);
    set_bool(&body, "recovered_unviewed", 0);
    set_bool(&body, "intact_copy", 1);
    set_str(&body, "description", "written by an old producer");
    decode_v1(&rec, &ev);
    assert_int_equal(ev.type, MNI_EVENT_INCIDENT_OPENED);
    assert_int_equal(ev.body.opened.known_at_ms, 1599999000000LL);
    assert_int_equal(ev.body.opened.reporter.role, RULES_ROLE_OWN);
    assert_true(ev.body.opened.reporter.number_use_entity);
    assert_int_equal(ev.body.opened.kinds, RULES_KIND_LOSS);
    assert_int_equal(ev.body.opened.systems, 0);
    assert_int_equal(ev.body.opened.certainty, RULES_CERTAINTY_POSSIBLE);
    assert_int_equal(ev.body.opened.unspecified_viewing, RULES_VIEW_VIEWED);
    assert_true(ev.body.opened.intact_copy);
    assert_false(ev.body.opened.appi_sensitive);      /* default */
    assert_false(ev.body.opened.appi_financial_risk); /* default */
    assert_string_equal(ev.body.opened.description, "written by an old producer");

    /* ExposureManifest v1 (branch 1 then, branch 2 now): no contract_notice_hours. */
    v1_envelope(&rec, "old-man", 1, &body);
    set_str(&body, "client_id", "client-old");
    set_str(&body, "batch_id", "b-old");
    assert_int_equal(avro_value_get_by_name(&body, "tokens", &v, NULL), 0);
    assert_int_equal(avro_value_append(&v, &item, NULL), 0);
    assert_int_equal(avro_value_set_string(&item, TOK2), 0);
    decode_v1(&rec, &ev);
    assert_int_equal(ev.type, MNI_EVENT_EXPOSURE_MANIFEST);
    assert_int_equal(ev.body.manifest.n_tokens, 1);
    assert_string_equal(ev.body.manifest.tokens[0], TOK2);
    assert_int_equal(ev.body.manifest.contract_notice_hours, MNI_EVENT_ABSENT); /* default */

    /* IncidentClosed v1: its CloseReason had only "closed". */
    v1_envelope(&rec, "old-close", 2, &body);
    set_enum(&body, "reason", 0);
    set_str(&body, "note", "done");
    decode_v1(&rec, &ev);
    assert_int_equal(ev.type, MNI_EVENT_INCIDENT_CLOSED);
    assert_int_equal(ev.body.closed.reason, MNI_CLOSE_CLOSED);
    assert_string_equal(ev.body.closed.note, "done");

    mni_event_free(&ev);
}

/* Finds the definition object named name (short or full) anywhere in j. */
static json_t *find_def(json_t *j, const char *name)
{
    const char *key;
    json_t *v, *found;
    size_t i;

    if (json_is_object(j)) {
        json_t *n = json_object_get(j, "name");
        if (json_is_string(n) && json_object_get(j, "type") != NULL &&
            (strcmp(json_string_value(n), name) == 0 ||
             (strncmp(json_string_value(n), "jp.mni.", 7) == 0 &&
              strcmp(json_string_value(n) + 7, name) == 0)))
            return j;
        json_object_foreach (j, key, v)
            if ((found = find_def(v, name)) != NULL) return found;
    } else if (json_is_array(j)) {
        json_array_foreach (j, i, v)
            if ((found = find_def(v, name)) != NULL) return found;
    }
    return NULL;
}

/* A NEWER writer than this binary (as a schema registry would hand us): an extra envelope field
 * and a CloseReason symbol we do not know. The field is skipped, the symbol reads as the enum's
 * default. */
static void test_newer_writer(void **state)
{
    (void)state;
    schema_set *set;
    char err[512];
    json_t *j = json_deep_copy(schema_set_by_id(testschemas, CURRENT_EVENT_ID)->json);
    json_t *reason = find_def(j, "CloseReason");

    assert_int_equal(schema_set_load_default(&set, err, sizeof err), 0);
    assert_non_null(reason);
    json_array_append_new(json_object_get(reason, "symbols"), json_string("merged"));
    json_array_append_new(
        json_object_get(j, "fields"),
        json_pack("{s:s, s:s, s:i}", "name", "priority", "type", "long", "default", 0));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (schema_set_add(set, 100, "jp.mni.IncidentEvent", text, err, sizeof err) != 0)
        fail_msg("%s", err);
    free(text);
    const schema_def *w = schema_set_by_id(set, 100);
    assert_non_null(w);
    assert_false(w->current);
    assert_int_equal(w->reader->id, CURRENT_EVENT_ID);

    avro_value_t rec, u, body;
    assert_int_equal(avro_generic_value_new(w->iface, &rec), 0);
    set_str(&rec, "event_id", "new-1");
    set_str(&rec, "incident_id", "INC-NEW");
    set_str(&rec, "tenant", "bpo");
    set_long(&rec, "occurred_at", 1800000000000LL);
    set_str(&rec, "producer", "future");
    set_long(&rec, "priority", 7);
    assert_int_equal(avro_value_get_by_name(&rec, "body", &u, NULL), 0);
    assert_int_equal(avro_value_set_branch(&u, 6, &body), 0);
    set_enum(&body, "reason", 2); /* "merged" */
    set_str(&body, "note", "merged into INC-OTHER");
    wire_buf buf;
    wire_buf_init(&buf);
    assert_int_equal(avro_codec_encode(w, &rec, &buf, err, sizeof err), 0);
    avro_value_decref(&rec);

    mni_event ev;
    mni_event_init(&ev);
    if (mni_event_decode(set, buf.data, buf.len, &ev, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(ev.schema_id, 100);
    assert_string_equal(ev.producer, "future");
    assert_int_equal(ev.type, MNI_EVENT_INCIDENT_CLOSED);
    assert_int_equal(ev.body.closed.reason, MNI_CLOSE_CLOSED); /* CloseReason's default */
    assert_string_equal(ev.body.closed.note, "merged into INC-OTHER");

    /* The set without id 100 refuses the message. */
    assert_int_equal(mni_event_decode(testschemas, buf.data, buf.len, &ev, err, sizeof err), -1);
    assert_string_equal(err, "unknown schema id 100");

    /* A writer that cannot be read is refused when added. */
    assert_int_equal(schema_set_add(set, 101, NULL,
                                    "{\"type\":\"record\",\"name\":\"jp.mni.IncidentEvent\","
                                    "\"fields\":[{\"name\":\"event_id\",\"type\":\"long\"}]}",
                                    err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "schema id 101 ((registry)) cannot be read with id 6"));
    assert_non_null(strstr(err, "event_id: the writer's long cannot be read as string"));
    assert_null(schema_set_by_id(set, 101));
    assert_int_equal(schema_set_add(set, 102, NULL,
                                    "{\"type\":\"record\",\"name\":\"x.Y\","
                                    "\"fields\":[]}",
                                    err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "no current version of x.Y"));
    assert_int_equal(schema_set_add(set, 100, NULL, "{}", err, sizeof err), -1);

    wire_buf_free(&buf);
    mni_event_free(&ev);
    schema_set_free(set);
}

/* Registry mode: local ids dropped, current versions bound to the registry's ids, older
 * writers added by the id the registry gives them. */
static void test_registry_mode(void **state)
{
    (void)state;
    schema_set *set;
    char err[512];
    mni_event ev, out;
    wire_buf buf;

    assert_int_equal(schema_set_load_default(&set, err, sizeof err), 0);
    schema_set_registry_mode(set);
    assert_int_equal(schema_set_count(set), 4);
    assert_null(schema_set_by_id(set, 1));
    assert_null(schema_set_by_id(set, 2));
    assert_null(schema_set_by_id(set, CURRENT_EVENT_ID));
    assert_int_equal(schema_set_current(set, EVENTS_SCHEMA_INCIDENT_EVENT)->id, 0);

    wire_buf_init(&buf);
    mni_event_init(&out);
    sample(&ev, 9);
    assert_int_equal(mni_event_encode(set, &ev, &buf, err, sizeof err), -1);
    assert_string_equal(err, "no schema id bound for jp.mni.IncidentEvent: register it with the "
                             "schema registry first");
    assert_int_equal(schema_set_bind(set, EVENTS_SCHEMA_INCIDENT_EVENT, 1001, err, sizeof err), 0);
    assert_int_equal(schema_set_bind(set, EVENTS_SCHEMA_TICKET, 1001, err, sizeof err), -1);
    assert_string_equal(err,
                        "schema id 1001 already names jp.mni.IncidentEvent (IncidentEvent.avsc)");
    assert_int_equal(schema_set_bind(set, "jp.mni.Nope", 1002, err, sizeof err), -1);
    assert_string_equal(err, "no current version of jp.mni.Nope to bind");
    assert_int_equal(mni_event_encode(set, &ev, &buf, err, sizeof err), 0);
    assert_memory_equal(buf.data, "\x00\x00\x00\x03\xe9", 5);
    assert_int_equal(mni_event_decode(set, buf.data, buf.len, &out, err, sizeof err), 0);
    assert_int_equal(out.schema_id, 1001);
    assert_events_equal(&ev, &out);

    /* The frozen v1 schema, as a registry would return it under its own id. */
    char *v1 = schema_set_text(schema_set_by_id(testschemas, 1));
    assert_int_equal(schema_set_add(set, 77, "jp.mni.IncidentEvent", v1, err, sizeof err), 0);
    free(v1);
    avro_value_t rec, body;
    v1_envelope(&rec, "old-close", 2, &body);
    set_enum(&body, "reason", 0);
    set_str(&body, "note", "");
    assert_int_equal(avro_codec_encode(schema_set_by_id(set, 77), &rec, &buf, err, sizeof err), 0);
    avro_value_decref(&rec);
    assert_int_equal(mni_event_decode(set, buf.data, buf.len, &out, err, sizeof err), 0);
    assert_int_equal(out.schema_id, 77);
    assert_int_equal(out.type, MNI_EVENT_INCIDENT_CLOSED);

    mni_event_free(&ev);
    mni_event_free(&out);
    wire_buf_free(&buf);
    schema_set_free(set);
}

/* ---- contract checks on encoding ---- */

static void expect_encode_error(mni_event *ev, const char *reason)
{
    wire_buf buf;
    char err[512] = "";
    wire_buf_init(&buf);
    assert_int_equal(mni_event_encode(testschemas, ev, &buf, err, sizeof err), -1);
    if (strstr(err, reason) == NULL) fail_msg("error \"%s\" does not contain \"%s\"", err, reason);
    /* JSON output refuses the same events. */
    assert_null(mni_event_to_json(ev, err, sizeof err));
    wire_buf_free(&buf);
    mni_event_free(ev);
}

static void test_contract_on_encode(void **state)
{
    (void)state;
    mni_event ev;
    const char *bad_tokens[] = {TOK1, "ABCDEF"};
    char long_id[80];

    memset(long_id, 'x', 64);
    long_id[64] = '\0';

    sample(&ev, 4);
    ev.body.manifest.tokens = bad_tokens;
    ev.body.manifest.n_tokens = 2;
    expect_encode_error(&ev, "body.tokens[1]: not 64 lowercase hex digits");
    sample(&ev, 4);
    ev.body.manifest.tokens = NULL;
    expect_encode_error(&ev, "body.tokens: 3 tokens but no array");
    sample(&ev, 0);
    ev.incident_id = long_id;
    expect_encode_error(&ev, "incident_id: 64 bytes, longer than the 63 allowed");
    sample(&ev, 0);
    ev.tenant = "bpo\ttokyo";
    expect_encode_error(&ev, "tenant: byte 3 is not printable ASCII");
    sample(&ev, 0);
    ev.event_id = NULL;
    expect_encode_error(&ev, "event_id: missing");
    sample(&ev, 0);
    ev.body.opened.title = NULL;
    expect_encode_error(&ev, "body.title: missing");
    sample(&ev, 0);
    ev.body.opened.description = "\xff\xfe";
    expect_encode_error(&ev, "body.description: not valid UTF-8 text");
    /* Issue 8 item 11: control characters in free text are refused (tab and line feed pass). */
    sample(&ev, 0);
    ev.body.opened.description = "line one\nline\ttwo";
    assert_int_equal(mni_event_check(&ev, NULL, 0), 0);
    static const struct {
        const char *text, *err;
    } controls[] = {
        {"red \x1b[31m text", "body.title: control character U+001B at byte 4"},
        {"ring\a", "body.title: control character U+0007 at byte 4"},
        {"windows\r\nline", "body.title: control character U+000D at byte 7"},
        {"del\x7f", "body.title: control character U+007F at byte 3"},
        {"c1 \xc2\x9b", "body.title: control character U+009B at byte 3"},
    };
    for (size_t i = 0; i < sizeof controls / sizeof controls[0]; i++) {
        sample(&ev, 0);
        ev.body.opened.title = controls[i].text;
        expect_encode_error(&ev, controls[i].err);
    }
    sample(&ev, 1);
    ev.body.facts_updated.note = "esc \x1b";
    expect_encode_error(&ev, "body.note: control character U+001B at byte 4");
    sample(&ev, 0);
    ev.body.opened.kinds = 1u << 9;
    expect_encode_error(&ev, "body.kinds: unknown bits 0x200");
    sample(&ev, 0);
    ev.body.opened.certainty = (rules_certainty)7;
    expect_encode_error(&ev, "body.certainty: unknown value 7");
    sample(&ev, 0);
    ev.occurred_at_ms = MNI_EVENT_TIME_MAX + 1;
    expect_encode_error(&ev, "occurred_at: time 253402300800000 ms is outside years 0001-9999");
    sample(&ev, 1);
    ev.body.facts_updated.present = 1u << 20;
    expect_encode_error(&ev, "body: unknown fact bits 0x100000");
    sample(&ev, 6);
    ev.body.count.persons = -3;
    expect_encode_error(&ev, "body.persons: -3 is negative");
    sample(&ev, 6);
    ev.body.count.persons_max = 5;
    expect_encode_error(&ev, "body.persons_max: 5 is below persons (120)");
    sample(&ev, 6);
    ev.body.count.contract_notice_hours = (int64_t)INT32_MAX + 1;
    expect_encode_error(&ev, "body.contract_notice_hours: 2147483648 is not a number of hours "
                             "from 0 to 87600 (10 years)");
    sample(&ev, 9);
    ev.body.report.client_id = "";
    expect_encode_error(&ev, "body.client_id: empty");
    sample(&ev, 9);
    ev.body.report.reference = NULL;
    expect_encode_error(&ev, "body.reference: missing");
    sample(&ev, 8);
    ev.body.step.step = (mni_event_step)6;
    expect_encode_error(&ev, "body.step: unknown value 6");
    sample(&ev, 11);
    ev.type = MNI_EVENT_NONE;
    expect_encode_error(&ev, "type: no event kind set");
    /* Schema version 3. */
    sample(&ev, 0);
    ev.body.opened.reporter.body.public_body = false;
    expect_encode_error(&ev, "body.reporter.local_government: needs public_body");
    sample(&ev, 0);
    ev.body.opened.reporter.employees = -1;
    expect_encode_error(&ev, "body.reporter.employees: -1 is negative");
    sample(&ev, 0);
    ev.body.opened.actor = (rules_actor)9;
    expect_encode_error(&ev, "body.actor: unknown value 9");
    sample(&ev, 12);
    ev.body.count.client_facts.body.local_government = false;
    expect_encode_error(&ev, "body.client_facts.ordinance_sensitive: needs local_government");
    sample(&ev, 12);
    ev.body.count.client_facts.appi_persons = 59;
    expect_encode_error(&ev, "body.client_facts.appi_persons: 59 is below persons (60)");
    sample(&ev, 13);
    ev.body.manifest.client_facts.systems = 1u << 7;
    expect_encode_error(&ev, "body.client_facts.systems: unknown bits 0x80");
}

/* ---- texts ---- */

typedef struct {
    char fields[16][48];
    mni_event_text_kind kinds[16];
    size_t n;
    size_t stop_at;
} visit_log;

static int visit(const char *field, mni_event_text_kind kind, const char *text, size_t len,
                 void *ctx)
{
    visit_log *log = ctx;
    assert_int_equal(strlen(text), len);
    assert_true(log->n < 16);
    snprintf(log->fields[log->n], sizeof log->fields[0], "%s", field);
    log->kinds[log->n] = kind;
    log->n++;
    return log->n == log->stop_at ? 42 : 0;
}

/* Every token's field is named with its index, as the formatted path would name it. */
static int visit_token_names(const char *field, mni_event_text_kind kind, const char *text,
                             size_t len, void *ctx)
{
    size_t *next = ctx;
    char want[48];
    assert_int_equal(strlen(text), len);
    if (kind != MNI_TEXT_TOKEN) return 0;
    snprintf(want, sizeof want, "body.tokens[%zu]", (*next)++);
    assert_string_equal(field, want);
    return 0;
}

static void test_foreach_text_names_many_tokens(void **state)
{
    (void)state;
    mni_event ev;
    enum { N = 12345 };
    const char **tokens = malloc(N * sizeof *tokens);
    assert_non_null(tokens);
    sample(&ev, 4);
    for (size_t i = 0; i < N; i++)
        tokens[i] = ev.body.manifest.tokens[i % 3];
    ev.body.manifest.tokens = tokens;
    ev.body.manifest.n_tokens = N;
    size_t next = 0;
    assert_int_equal(mni_event_foreach_text(&ev, visit_token_names, &next), 0);
    assert_int_equal(next, N);
    free(tokens);
    mni_event_free(&ev);
}

static void test_foreach_text(void **state)
{
    (void)state;
    mni_event ev;
    visit_log log = {.stop_at = 0};

    sample(&ev, 4);
    assert_int_equal(mni_event_foreach_text(&ev, visit, &log), 0);
    const char *want[] = {"event_id",       "incident_id",    "tenant",
                          "producer",       "body.client_id", "body.batch_id",
                          "body.tokens[0]", "body.tokens[1]", "body.tokens[2]"};
    assert_int_equal(log.n, 9);
    for (size_t i = 0; i < log.n; i++)
        assert_string_equal(log.fields[i], want[i]);
    assert_int_equal(log.kinds[0], MNI_TEXT_ID);
    assert_int_equal(log.kinds[5], MNI_TEXT_ID);
    assert_int_equal(log.kinds[8], MNI_TEXT_TOKEN);
    mni_event_free(&ev);

    /* A free-text field; and the callback's value stops the walk and is returned. */
    memset(&log, 0, sizeof log);
    log.stop_at = 5;
    sample(&ev, 0);
    assert_int_equal(mni_event_foreach_text(&ev, visit, &log), 42);
    assert_int_equal(log.n, 5);
    assert_string_equal(log.fields[4], "body.title");
    assert_int_equal(log.kinds[4], MNI_TEXT_FREE);
    mni_event_free(&ev);

    /* facts_updated: only the texts it carries, then its note. */
    memset(&log, 0, sizeof log);
    sample(&ev, 2);
    assert_int_equal(mni_event_foreach_text(&ev, visit, &log), 0);
    assert_int_equal(log.n, 6);
    assert_string_equal(log.fields[4], "body.description");
    assert_string_equal(log.fields[5], "body.note");
    mni_event_free(&ev);

    /* report_filed: client id (an id) and reference (free text); none without a client. */
    memset(&log, 0, sizeof log);
    sample(&ev, 10);
    assert_int_equal(mni_event_foreach_text(&ev, visit, &log), 0);
    assert_int_equal(log.n, 5);
    assert_string_equal(log.fields[4], "body.reference");
    mni_event_free(&ev);
}

/* ---- times ---- */

static void test_times(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {
        {"2026-05-01T10:00:00+09:00", 1777597200000LL},
        {"2026-05-01T01:00:00Z", 1777597200000LL},
        {"2026-05-01t01:00:00z", 1777597200000LL},
        {"2026-05-01 01:00:00.5Z", 1777597200500LL},
        {"2026-04-30T20:00:00.123999-05:00", 1777597200123LL},
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.999Z", -1},
        {"2024-02-29T00:00:00Z", 1709164800000LL},
        {"0001-01-01T00:00:00Z", MNI_EVENT_TIME_MIN},
        {"9999-12-31T23:59:59.999Z", MNI_EVENT_TIME_MAX},
    };
    static const struct {
        const char *text, *reason;
    } bad[] = {
        {"2026-05-01T10:00:00", "has no offset"},
        {"2026-05-01", "has no time after its date"},
        {"2023-02-29T00:00:00Z", "no such date"},
        {"2026-13-01T00:00:00Z", "no such date"},
        {"2026-05-01T10:60:00Z", "no such time of day"},
        {"2026-05-01T23:59:60Z", "leap seconds are not accepted"},
        {"2026-05-01T10:00:00.Z", "no digits after the decimal point"},
        {"2026-05-01T10:00:00+0900", "bad offset"},
        {"2026-05-01T10:00:00+24:00", "bad offset"},
        {"2026-05-01T10:00:00Z ", "unexpected text after the offset"},
        {"0001-01-01T00:00:00+00:01", "outside years 0001-9999"},
        {"26-05-01T10:00:00Z", "does not start with a date"},
        {"", "does not start with a date"},
    };
    char err[256], buf[MNI_EVENT_TIME_LEN];
    int64_t ms;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (mni_event_time_parse(ok[i].text, &ms, err, sizeof err) != 0)
            fail_msg("%s: %s", ok[i].text, err);
        assert_int_equal(ms, ok[i].ms);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mni_event_time_parse(bad[i].text, &ms, err, sizeof err), -1);
        if (strstr(err, bad[i].reason) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].text, err, bad[i].reason);
    }
    assert_int_equal(mni_event_time_format(0, buf), 0);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    assert_int_equal(mni_event_time_format(-1, buf), 0);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(mni_event_time_format(MNI_EVENT_TIME_MIN, buf), 0);
    assert_string_equal(buf, "0001-01-01T00:00:00Z");
    assert_int_equal(mni_event_time_format(MNI_EVENT_TIME_MAX + 1, buf), -1);

    /* format then parse is the identity over the whole range (a fixed pseudo-random walk). */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 5000; i++) {
        testrand_next(&x);
        int64_t t = MNI_EVENT_TIME_MIN +
                    (int64_t)(x % (uint64_t)(MNI_EVENT_TIME_MAX - MNI_EVENT_TIME_MIN + 1));
        assert_int_equal(mni_event_time_format(t, buf), 0);
        assert_int_equal(mni_event_time_parse(buf, &ms, err, sizeof err), 0);
        assert_int_equal(ms, t);
    }
}

/* ---- memory and size ---- */

/* One event decoded into again and again keeps its arena's first chunk (ASan checks the rest). */
static void test_decode_reuse(void **state)
{
    (void)state;
    wire_buf bufs[N_SAMPLES];
    mni_event ev;
    char err[256];

    for (int i = 0; i < N_SAMPLES; i++) {
        mni_event s;
        sample(&s, i);
        wire_buf_init(&bufs[i]);
        assert_int_equal(mni_event_encode(testschemas, &s, &bufs[i], err, sizeof err), 0);
        mni_event_free(&s);
    }
    mni_event_init(&ev);
    for (int round = 0; round < 300; round++)
        for (int i = 0; i < N_SAMPLES; i++)
            assert_int_equal(
                mni_event_decode(testschemas, bufs[i].data, bufs[i].len, &ev, err, sizeof err), 0);
    assert_non_null(ev.arena.head);
    mni_event_reset(&ev);
    assert_int_equal(ev.type, MNI_EVENT_NONE);
    assert_null(ev.event_id);
    mni_event_free(&ev);
    for (int i = 0; i < N_SAMPLES; i++)
        wire_buf_free(&bufs[i]);
}

/* About 15,800 tokens fit the 1 MiB limit (66 bytes each); 16,000 are refused on encoding. */
static void test_large_manifest(void **state)
{
    (void)state;
    enum { FITS = 15800, TOO_MANY = 16000 }; /* 66 bytes a token: length byte pair + 64 */
    const char **toks = malloc(TOO_MANY * sizeof(*toks));
    char(*store)[MNI_EVENT_TOKEN_LEN + 1] = malloc(TOO_MANY * sizeof(*store));
    mni_event ev, out;
    wire_buf buf;
    char err[256];

    for (int i = 0; i < TOO_MANY; i++) {
        /* Distinct tokens with a letter every 8 characters. */
        for (int k = 0; k < 8; k++)
            snprintf(store[i] + 8 * k, 9, "%c%07x", 'a' + k % 6, (unsigned)i);
        toks[i] = store[i];
    }
    sample(&ev, 4);
    ev.body.manifest.tokens = toks;
    ev.body.manifest.n_tokens = FITS;
    wire_buf_init(&buf);
    mni_event_init(&out);
    if (mni_event_encode(testschemas, &ev, &buf, err, sizeof err) != 0) fail_msg("%s", err);
    assert_true(buf.len <= WIRE_MAX_MESSAGE);
    assert_int_equal(mni_event_decode(testschemas, buf.data, buf.len, &out, err, sizeof err), 0);
    assert_int_equal(out.body.manifest.n_tokens, FITS);
    assert_string_equal(out.body.manifest.tokens[FITS - 1], toks[FITS - 1]);
    ev.body.manifest.n_tokens = TOO_MANY;
    assert_int_equal(mni_event_encode(testschemas, &ev, &buf, err, sizeof err), -1);
    assert_non_null(strstr(err, "exceeds the 1048576-byte limit"));
    mni_event_free(&ev);
    mni_event_free(&out);
    wire_buf_free(&buf);
    free(toks);
    free(store);
}

static void test_symbols(void **state)
{
    (void)state;
    int v;
    assert_string_equal(mni_event_sym_name(MNI_SYM_KIND, RULES_KIND_UNLAWFUL_USE), "unlawful_use");
    assert_string_equal(mni_event_sym_name(MNI_SYM_TYPE, MNI_EVENT_REPORT_FILED), "report_filed");
    assert_null(mni_event_sym_name(MNI_SYM_TYPE, MNI_EVENT_NONE));
    assert_int_equal(mni_event_sym_parse(MNI_SYM_STEP, "contact_persons", &v), 0);
    assert_int_equal(v, MNI_STEP_CONTACT_PERSONS);
    assert_int_equal(mni_event_sym_parse(MNI_SYM_STEP, "contact", &v), -1);
    assert_string_equal(mni_event_type_record(MNI_EVENT_EXPOSURE_COUNT), "ExposureCount");
    assert_null(mni_event_type_record(MNI_EVENT_NONE));
}

/* MNI_SCHEMA_DUMP=<id> prints the composed (self-contained) schema of that id and exits: what
 * to save under schemas/history/ when freezing a version (schemas/EVOLUTION.md). */
static int dump_schema(const char *id)
{
    char err[512];
    schema_set *set;
    if (schema_set_load_default(&set, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const schema_def *s = schema_set_by_id(set, (int32_t)atoi(id));
    char *text = s != NULL ? json_dumps(s->json, JSON_INDENT(2)) : NULL;
    if (text == NULL) {
        fprintf(stderr, "no schema id %s\n", id);
        schema_set_free(set);
        return 1;
    }
    puts(text);
    free(text);
    schema_set_free(set);
    return 0;
}

int main(void)
{
    if (getenv("MNI_SCHEMA_DUMP") != NULL) return dump_schema(getenv("MNI_SCHEMA_DUMP"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_set),
        cmocka_unit_test(test_schema_set_writer),
        cmocka_unit_test(test_schema_fingerprints),
        cmocka_unit_test(test_avro_roundtrip_all_kinds),
        cmocka_unit_test(test_json_roundtrip_all_kinds),
        cmocka_unit_test(test_json_shape),
        cmocka_unit_test(test_fixture_events),
        cmocka_unit_test(test_history_v1_read_by_current),
        cmocka_unit_test(test_history_v2_read_by_current),
        cmocka_unit_test(test_newer_writer),
        cmocka_unit_test(test_registry_mode),
        cmocka_unit_test(test_contract_on_encode),
        cmocka_unit_test(test_foreach_text),
        cmocka_unit_test(test_foreach_text_names_many_tokens),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_decode_reuse),
        cmocka_unit_test(test_large_manifest),
        cmocka_unit_test(test_symbols),
    };
    return cmocka_run_group_tests_name("events", tests, testschemas_setup, testschemas_teardown);
}
