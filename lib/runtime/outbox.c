/*
 * outbox: see outbox.h.
 */
#include "lib/runtime/outbox.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/digest.h"
#include "lib/base/errbuf.h"
#include "lib/base/log.h"
#include "lib/base/timefmt.h"
#include "lib/model/records.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/assessment_rebuild.h"
#include "lib/runtime/outbox_pace.h"
#include "rules/due_day.h"
#include "rules/rules.h"

#define OUTBOX_FLUSH_MS 30000

long long outbox_due_ms(const char *due_date, const char *due_at)
{
    int64_t ms;
    char ignored[64];
    if (due_at && timefmt_parse_rfc3339(due_at, &ms, ignored, sizeof ignored) == 0) return ms;
    jpcal_day d;
    if (due_date && jpcal_parse(due_date, &d)) return rules_due_day_last_second(d) * 1000;
    return RECORDS_NO_TIME;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int outbox_task_encode(const schema_set *schemas, const outbox_task *task, wire_buf *out, char *err,
                       size_t errlen)
{
    records_notify_task t = {
        .task_id = task->task_id,
        .incident_id = task->incident_id,
        .client_id = task->client_id,
        .due_at_ms = outbox_due_ms(task->due_date, task->due_at),
        .case_version = task->case_version,
        .created_at_ms = task->created_ms,
        .payload_json = task->payload_json,
    };
    if (records_task_kind_parse(task->kind, &t.kind) != 0)
        return errbuf_fail(err, errlen, "outbox %s: payload.kind: unknown task kind %s",
                           task->task_id, task->kind ? task->kind : "(none)");
    return records_notify_task_encode(schemas, &t, out, err, errlen);
}

static int encode_task(const schema_set *schemas, const char *task_id, const char *incident_id,
                       long long created_ms, const json_t *payload, const char *payload_text,
                       wire_buf *out, char *err, size_t errlen)
{
    outbox_task t = {
        .task_id = task_id,
        .incident_id = incident_id,
        .client_id = jstr(payload, "client_id"),
        .kind = jstr(payload, "kind"),
        .due_date = jstr(payload, "due_date"),
        .due_at = jstr(payload, "due_at"),
        .case_version = json_integer_value(json_object_get(payload, "case_version")),
        .created_ms = created_ms,
        .payload_json = payload_text,
    };
    return outbox_task_encode(schemas, &t, out, err, errlen);
}

/* The length of jsonb text (PostgreSQL writes ", " and ": ") once the space after each comma
 * and colon outside strings is dropped, as in the compact text a record carries. */
static size_t compact_length(const char *text)
{
    size_t n = 0;
    bool in_string = false, escaped = false;
    for (const char *p = text; *p; p++, n++) {
        if (in_string) {
            in_string = escaped || *p != '"';
            escaped = !escaped && *p == '\\';
        } else if (*p == '"') {
            in_string = true;
        } else if ((*p == ',' || *p == ':') && p[1] == ' ') {
            p++;
        }
    }
    return n;
}

/* The verdict of an assessments row: in its payload (rows queued before migration 0009), else
 * the case version it names, put back together by case_verdict() in the claim (column 8). A
 * new reference. */
static json_t *assessment_verdict(PGresult *res, int r, const json_t *payload, char *err,
                                  size_t errlen)
{
    json_t *v = json_object_get(payload, "verdict");
    if (v) return json_incref(v);
    /* A verdict whose text alone cannot fit in a message makes no record here: refused before
     * it is parsed, since a tree of thousands of clients costs ~10 times its text (tens of MB,
     * which the allocator keeps); row_record abridges it from PostgreSQL instead. */
    size_t text = PQgetisnull(res, r, 8) ? 0 : compact_length(PQgetvalue(res, r, 8));
    if (text > WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE) {
        snprintf(err, errlen,
                 "assessment %s: a verdict of %zu bytes exceeds the %d-byte message limit",
                 PQgetvalue(res, r, 0), text, WIRE_MAX_MESSAGE);
        return NULL;
    }
    json_error_t jerr;
    v = PQgetisnull(res, r, 8) ? NULL : json_loads(PQgetvalue(res, r, 8), 0, &jerr);
    if (!v) snprintf(err, errlen, "assessment %s: no such case version", PQgetvalue(res, r, 0));
    return v;
}

int outbox_assessment_record(const schema_set *schemas, const char *incident_id, int version,
                             long long created_ms, const json_t *v, wire_buf *out, char *err,
                             size_t errlen)
{
    return outbox_assessment_record_abridged(schemas, incident_id, version, created_ms, v, 0, NULL,
                                             out, err, errlen);
}

int outbox_assessment_record_abridged(const schema_set *schemas, const char *incident_id,
                                      int version, long long created_ms, const json_t *v,
                                      long long clients_total, const char *full_verdict,
                                      wire_buf *out, char *err, size_t errlen)
{
    const json_t *clients = json_object_get(v, "clients");
    size_t n = json_array_size(clients), n_rules = 0;
    records_client *rc = calloc(n + 1, sizeof *rc);
    const char **rules = calloc(RULES_MAX_FIRED * 2 + 1, sizeof *rules);
    const char **client_rules = calloc(n * RULES_MAX_FIRED + 1, sizeof *client_rules);
    if (!rc || !rules || !client_rules) {
        free(rc);
        free(rules);
        free(client_rules);
        snprintf(err, errlen, "assessment of %s: out of memory for %zu clients", incident_id, n);
        return -1;
    }
    const char *acts[] = {"my_number", "appi"};
    for (size_t a = 0; a < 2; a++) {
        size_t i;
        const json_t *id;
        json_array_foreach (json_object_get(json_object_get(v, acts[a]), "rules"), i, id)
            if (n_rules < RULES_MAX_FIRED * 2) rules[n_rules++] = json_string_value(id);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(clients, i);
        const json_t *ids = json_object_get(c, "rules");
        rc[i].client_id = jstr(c, "client_id");
        rc[i].persons = json_integer_value(json_object_get(c, "headcount"));
        rc[i].status = jstr(c, "status");
        rc[i].rules = client_rules + i * RULES_MAX_FIRED;
        for (size_t k = 0; k < json_array_size(ids) && k < RULES_MAX_FIRED; k++)
            client_rules[i * RULES_MAX_FIRED + rc[i].n_rules++] =
                json_string_value(json_array_get(ids, k));
    }
    const json_t *d = json_object_get(v, "deadlines");
    char *verdict_text = json_dumps(v, JSON_COMPACT);
    records_case_assessment rec = {
        .incident_id = incident_id,
        .version = version,
        .assessed_at_ms = created_ms,
        .regime = jstr(v, "regime"),
        .my_number_status = jstr(json_object_get(v, "my_number"), "status"),
        .appi_status = jstr(json_object_get(v, "appi"), "status"),
        .rules = rules,
        .n_rules = n_rules,
        .headcount_total =
            json_integer_value(json_object_get(json_object_get(v, "headcount"), "total")),
        .clients = rc,
        .n_clients = n,
        .route = jstr(v, "route"),
        .deadlines = {jstr(d, "preliminary_target"), jstr(d, "preliminary_latest"),
                      jstr(d, "final"), jstr(d, "appi_final")},
        .verdict_json = verdict_text,
        .abridged = full_verdict != NULL,
        .clients_total = full_verdict ? clients_total : 0,
        .full_verdict = full_verdict,
    };
    int result = records_case_assessment_encode(schemas, &rec, out, err, errlen);
    free(verdict_text);
    free(rc);
    free(rules);
    free(client_rules);
    return result;
}

static int encode_ticket(const schema_set *schemas, const char *incident_id, const json_t *payload,
                         wire_buf *out, char *err, size_t errlen)
{
    records_ticket t = {
        .ticket_id = jstr(payload, "ticket_id"),
        .task_id = jstr(payload, "task_id"),
        .incident_id = incident_id,
        .client_id = jstr(payload, "client_id"),
        .kind = jstr(payload, "kind"),
        .title = jstr(payload, "title"),
        .summary = jstr(payload, "summary"),
        .due_at_ms = outbox_due_ms(jstr(payload, "due_date"), jstr(payload, "due_at")),
        .document_ref = jstr(payload, "document_ref"),
    };
    return records_ticket_encode(schemas, &t, out, err, errlen);
}

/* An anchors row: its payload as compact JSON (lib/runtime/audit_anchor.h). */
static int encode_json(const json_t *payload, wire_buf *out, char *err, size_t errlen)
{
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    size_t n = text ? strlen(text) : 0;
    int rc = text && wire_buf_reserve(out, n, err, errlen) == 0 ? 0 : -1;
    if (rc == 0) {
        memcpy(out->data, text, n);
        out->len = n;
    } else if (!text) {
        snprintf(err, errlen, "anchor: out of memory");
    }
    free(text);
    return rc;
}

static int encode_row(const schema_set *schemas, PGresult *res, int r, wire_buf *out, char *err,
                      size_t errlen)
{
    const char *task_id = PQgetvalue(res, r, 0), *topic = PQgetvalue(res, r, 1);
    const char *incident_id = PQgetvalue(res, r, 2), *text = PQgetvalue(res, r, 3);
    long long created_ms = atoll(PQgetvalue(res, r, 4));
    json_error_t jerr;
    json_t *payload = json_loads(text, 0, &jerr);
    int rc = -1;
    if (!payload)
        snprintf(err, errlen, "outbox %s: payload is not JSON", task_id);
    else if (!strcmp(topic, "tasks"))
        rc =
            encode_task(schemas, task_id, incident_id, created_ms, payload, text, out, err, errlen);
    else if (!strcmp(topic, "assessments")) {
        json_t *v = assessment_verdict(res, r, payload, err, errlen);
        if (v)
            rc = outbox_assessment_record(
                schemas, incident_id, (int)json_integer_value(json_object_get(payload, "version")),
                created_ms, v, out, err, errlen);
        json_decref(v);
    } else if (!strcmp(topic, "tickets"))
        rc = encode_ticket(schemas, incident_id, payload, out, err, errlen);
    else if (!strcmp(topic, "anchors"))
        rc = encode_json(payload, out, err, errlen);
    else
        snprintf(err, errlen, "outbox %s: unknown topic '%s'", task_id, topic);
    json_decref(payload);
    return rc;
}

/* The row's record: the message as the row's writer encoded it (migration 0014), copied into
 * out. 0 when the row has none (the relay encodes it from the payload). */
static int ready_record(PGresult *res, int r, wire_buf *out)
{
    if (PQgetisnull(res, r, 7)) return 0;
    size_t n = 0;
    unsigned char *bytes = PQunescapeBytea((const unsigned char *)PQgetvalue(res, r, 7), &n);
    int ok = bytes && n > 0 && wire_buf_reserve(out, n, NULL, 0) == 0;
    if (ok) {
        memcpy(out->data, bytes, n);
        out->len = n;
    }
    PQfreemem(bytes);
    return ok;
}

/* A stale assessments row (column 9: the claim holds a newer version of its case, or the case
 * is at a newer version already, OUTBOX_CLAIM): the topic is compacted by incident, so only the
 * newest is produced (every version stays in case_versions); the older is marked published
 * without being sent. */
static int superseded(PGresult *res, int r)
{
    return PQgetvalue(res, r, 9)[0] == 't';
}

/* newer_version not asked yet for a row (it answers 0, a version, or -1 on error). */
#define NEWER_UNASKED (-2)

/* When row r is an assessment: the newest version of its case in the outbox, if newer than
 * r's. The newest of its case in the claim may still be superseded by a row claimed later or
 * sent already (assess stores a large case's record only with the newest version of its
 * batch). 0 when there is none, -1 on error (err). */
static long long newer_version(PGconn *pg, PGresult *res, int r, char *err, size_t errlen)
{
    if (strcmp(PQgetvalue(res, r, 1), "assessments") != 0) return 0;
    const char *p[] = {PQgetvalue(res, r, 2), PQgetvalue(res, r, 6)};
    PGresult *q = pgx_query(pg, "outbox.newer_version",
                            "SELECT max((payload->>'version')::integer) FROM outbox WHERE "
                            "incident_id = $1 AND topic = 'assessments' AND "
                            "(payload->>'version')::integer > $2::integer",
                            2, p, err, errlen);
    if (!q) return -1;
    long long v = PQgetisnull(q, 0, 0) ? 0 : atoll(PQgetvalue(q, 0, 0));
    PQclear(q);
    return v;
}

/* Row r could not be encoded (why). An assessment superseded by a newer version of its case
 * goes to sent unsent, as a superseded row of the claim does (the topic is compacted: only the
 * newest version matters; every version stays in case_versions). Any other row would fail
 * the same way at every claim: into failed ({task_id, failure}), logged, so it is marked
 * failed like a row Kafka refuses for good (never claimed again, counted in
 * mni_outbox_failed_total, shown by `mni case`), and the others go on. newer: newer_version's
 * answer when row_record asked it already, else NEWER_UNASKED (asked here). 0, or -1 (err). */
static int set_aside(PGconn *pg, PGresult *res, int r, const char *why, long long newer,
                     json_t *sent, json_t *failed, char *err, size_t errlen)
{
    const char *task_id = PQgetvalue(res, r, 0);
    if (newer == NEWER_UNASKED) newer = newer_version(pg, res, r, err, errlen);
    if (newer < 0) return -1;
    if (newer > 0) {
        log_info("outbox assessment superseded by a newer version: not sent",
                 LOG_STR("task_id", task_id), LOG_INT("newer_version", newer), LOG_END);
        json_array_append_new(sent, json_string(task_id));
        return 0;
    }
    log_error("outbox row not encodable: marked failed", LOG_STR("task_id", task_id),
              LOG_STR("topic", PQgetvalue(res, r, 1)),
              LOG_STR("incident_id", PQgetvalue(res, r, 2)), LOG_STR("error", why), LOG_END);
    char failure[600];
    snprintf(failure, sizeof failure, "not encodable: %s", why);
    json_array_append_new(failed, json_pack("{s:s, s:s}", "task_id", task_id, "failure", failure));
    return 0;
}

/* Whether row r is an assessment that came without its record and whose verdict, put back
 * together by case_verdict(), is too large for a message (encode_row refused it). */
static bool verdict_too_large(PGresult *res, int r)
{
    return !strcmp(PQgetvalue(res, r, 1), "assessments") && !PQgetisnull(res, r, 8) &&
           compact_length(PQgetvalue(res, r, 8)) > WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE;
}

/* The record of row r into buf: the one its writer stored, else encoded from its payload, else
 * (an assessment too large for a message, the newest of its case) abridged from PostgreSQL
 * (assessment_rebuild). 0; 1 not encodable (why; *newer: newer_version's answer when it was
 * asked, for set_aside, else NEWER_UNASKED); -1 on a failed statement (err). */
static int row_record(PGconn *pg, const schema_set *schemas, PGresult *res, int r, wire_buf *buf,
                      long long *newer, char *why, size_t whylen, char *err, size_t errlen)
{
    *newer = NEWER_UNASKED;
    if (ready_record(res, r, buf) || encode_row(schemas, res, r, buf, why, whylen) == 0) return 0;
    if (!verdict_too_large(res, r)) return 1;
    *newer = newer_version(pg, res, r, err, errlen);
    if (*newer != 0) return *newer < 0 ? -1 : 1; /* superseded: set_aside says so */
    if (assessment_rebuild_abridged(pg, schemas, PQgetvalue(res, r, 2), atoi(PQgetvalue(res, r, 6)),
                                    atoll(PQgetvalue(res, r, 4)), buf, why, whylen) != 0)
        return 1;
    log_info("outbox assessment too large for a message: abridged by the relay",
             LOG_STR("task_id", PQgetvalue(res, r, 0)), LOG_END);
    return 0;
}

/* Produces row r of the claim (superseded rows excepted) keyed by incident id with headers
 * mni.task_id and mni.kind. 0 produced; 1 not encodable (why, and *newer for set_aside:
 * row_record); 2 held by pacing (outbox_pace.h: it goes back to the queue); -1 a failed
 * statement, kq_produce failed, or pacing cannot read the topic's partitions (err). */
static int produce_row(PGconn *pg, kq_producer *producer, const config *cfg,
                       const schema_set *schemas, outbox_pace *pace, PGresult *res, int r,
                       wire_buf *buf, long long *newer, char *why, size_t whylen, char *err,
                       size_t errlen)
{
    char key[64];
    int made = row_record(pg, schemas, res, r, buf, newer, why, whylen, err, errlen);
    if (made != 0) return made;
    snprintf(key, sizeof key, "topic.%s", PQgetvalue(res, r, 1));
    const char *topic = config_get(cfg, key);
    const char *task_id = PQgetvalue(res, r, 0), *kind = PQgetvalue(res, r, 5);
    kq_header headers[] = {{"mni.task_id", task_id, strlen(task_id)},
                           {"mni.kind", kind, strlen(kind)}};
    const char *incident_id = PQgetvalue(res, r, 2);
    size_t bytes = strlen(incident_id) + buf->len + sizeof "mni.task_id" + strlen(task_id) +
                   sizeof "mni.kind" + strlen(kind) - 2;
    int admitted = outbox_pace_admit(pace, PQgetvalue(res, r, 1), incident_id, strlen(incident_id),
                                     bytes, err, errlen);
    if (admitted <= 0) return admitted < 0 ? -1 : 2;
    int rc = kq_produce(producer, topic ? topic : PQgetvalue(res, r, 1), incident_id,
                        strlen(incident_id), buf->data, buf->len, headers, 2, err, errlen);
    if (rc != 0)
        outbox_pace_uncount(pace, PQgetvalue(res, r, 1), incident_id, strlen(incident_id), bytes);
    return rc;
}

/* Before a claim that produced gives its rows back: waits until librdkafka has given up every
 * message it has not delivered (kq_producer_settle), so that none of them is written after the
 * next claim of the same rows, which could be another relay's with a newer version on a
 * compacted topic. Bounded by message.timeout.ms (25 s by default, within the claim's flush:
 * usually nothing is left by then). */
static void settle(kq_producer *producer)
{
    char why[256];
    if (kq_producer_settle(producer, why, sizeof why) != 0)
        log_error("outbox claim given back with messages still in the producer; they may be "
                  "written after a later claim's",
                  LOG_STR("error", why), LOG_END);
}

/* The fallback after Kafka refused a message of the batch for what it is: each row alone,
 * produced and flush-checked; a row refused for good goes to failed ({task_id, failure}), the
 * others to sent. -1 (err) when a row fails for another reason (the broker down): the whole
 * claim is then rolled back and tried again later, like any failed batch. */
static int relay_one_by_one(PGconn *pg, kq_producer *producer, const config *cfg,
                            const schema_set *schemas, outbox_pace *pace, PGresult *res,
                            wire_buf *buf, bool *aside, json_t *sent, json_t *held, json_t *failed,
                            char *err, size_t errlen)
{
    for (int r = 0; r < PQntuples(res); r++) {
        if (superseded(res, r)) continue; /* already in sent */
        char why[512];
        long long newer;
        int rc = produce_row(pg, producer, cfg, schemas, pace, res, r, buf, &newer, why, sizeof why,
                             err, errlen);
        if (rc == 2) { /* held by pacing: back to the queue */
            json_array_append_new(held, json_string(PQgetvalue(res, r, 0)));
            continue;
        }
        if (rc == 1 && !aside[r] &&
            set_aside(pg, res, r, why, newer, sent, failed, err, errlen) != 0)
            return -1;
        if (rc == 1) { /* unless the batch's pass did it already */
            aside[r] = true;
            continue;
        }
        if (rc == 0) rc = kq_producer_flush_checked(producer, OUTBOX_FLUSH_MS, err, errlen);
        const char *task_id = PQgetvalue(res, r, 0);
        if (rc == 0) {
            json_array_append_new(sent, json_string(task_id));
            continue;
        }
        if (!kq_producer_take_refused(producer)) return -1;
        log_error("outbox row refused by Kafka for good: marked failed",
                  LOG_STR("task_id", task_id), LOG_STR("topic", PQgetvalue(res, r, 1)),
                  LOG_STR("error", err), LOG_END);
        json_array_append_new(failed, json_pack("{s:s, s:s}", "task_id", task_id, "failure", err));
    }
    return 0;
}

/* The claim takes every row it claims off the queue (relay_batch); a row it did not send was
 * not encodable or refused by Kafka for good (failed: {task_id, failure}) and is marked failed,
 * never queued again. Rare, so the common batch costs the claim's one statement. */
static int mark_failed(PGconn *pg, const json_t *failed, char *err, size_t errlen)
{
    if (json_array_size(failed) == 0) return 0;
    char *rows = json_dumps(failed, JSON_COMPACT);
    const char *pm[] = {rows};
    int rc = pgx_exec_params(pg, "outbox.mark_failed",
                             "UPDATE outbox o SET failed_at = now(), failure = f.failure FROM "
                             "jsonb_to_recordset($1::jsonb) AS f(task_id text, failure text) "
                             "WHERE o.task_id = f.task_id",
                             1, pm, NULL, err, errlen);
    free(rows);
    return rc;
}

/* Rows that pacing held (held: task ids) go back to the queue with their first created_at, so
 * that they keep their place in the order. */
static int requeue_held(PGconn *pg, const json_t *held, char *err, size_t errlen)
{
    if (json_array_size(held) == 0) return 0;
    char *ids = json_dumps(held, JSON_COMPACT);
    const char *pm[] = {ids};
    int rc = pgx_exec_params(pg, "outbox.requeue_held",
                             "INSERT INTO outbox_queue (created_at, task_id, topic, client_id) "
                             "SELECT created_at, task_id, topic, client_id FROM outbox WHERE "
                             "task_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))",
                             1, pm, NULL, err, errlen);
    free(ids);
    return rc;
}

/* The claim's statement. One round trip: the queue rows taken off (oldest first, FOR UPDATE
 * SKIP LOCKED, so that two relays never take the same row and neither waits; migration 0125),
 * their outbox rows read by key and never rewritten, which assessments are stale (ranked on
 * narrow rows: sorting the wide ones cost more than the rest of the claim), and the verdict of
 * each newest one that came without its record (case_verdict, migration 0009). An assessment
 * is stale when the claim holds a newer version of its case, or when its case is at a newer
 * version already (cases.version: mni-assess writes a version's assessment with it): the rows
 * of one batch share created_at, and their task ids ("A-<incident>-<version>") sort as text,
 * version 10 before 9, so a claim's limit could fall between them and send 9 after 10.
 * OUTBOX_CLAIM(take) puts the queue rows to take (their ctids) in front. */
#define OUTBOX_CLAIM(take)                                                                         \
    "WITH taken AS (DELETE FROM outbox_queue WHERE ctid = ANY (ARRAY(" take                        \
    ")) RETURNING created_at, task_id), "                                                          \
    "ranked AS (SELECT t.created_at, t.task_id, o.topic, o.incident_id, "                          \
    "(o.payload->>'version')::integer AS version, CASE WHEN o.topic = 'assessments' THEN "         \
    "row_number() OVER (PARTITION BY o.topic, o.incident_id ORDER BY "                             \
    "(o.payload->>'version')::integer DESC) > 1 OR coalesce((o.payload->>'version')::integer < "   \
    "(SELECT c.version FROM cases c WHERE c.incident_id = o.incident_id), false) "                 \
    "ELSE false END AS stale "                                                                     \
    "FROM taken t JOIN outbox o ON o.task_id = t.task_id) "                                        \
    "SELECT r.task_id, r.topic, r.incident_id, o.payload::text, "                                  \
    "(extract(epoch FROM r.created_at) * 1000)::bigint, o.kind, r.version, o.record, "             \
    "CASE WHEN r.topic = 'assessments' AND NOT r.stale AND o.record IS NULL "                      \
    "AND NOT o.payload ? 'verdict' THEN case_verdict(r.incident_id, r.version)::text END, "        \
    "r.stale "                                                                                     \
    "FROM ranked r JOIN outbox o ON o.task_id = r.task_id ORDER BY r.created_at, r.task_id"

/* Every topic may be sent: the oldest $1 rows in the primary key's order. */
static const char outbox_claim_all[] =
    OUTBOX_CLAIM("SELECT ctid FROM outbox_queue ORDER BY created_at, task_id LIMIT $1 "
                 "FOR UPDATE SKIP LOCKED");

/* Some topics wait ($2, outbox_pace.h): their rows stay queued, and are not read either. In the
 * primary key's order the claim read every held row to find the others, tens of thousands while
 * mni-notify was behind at full size (a third of PostgreSQL's statement time in W3, migration
 * 0145). By topic instead (outbox_queue_topic): the topics present, one index probe each (a skip
 * scan), then the oldest $1 rows of each topic not held, of which the oldest $1. The rows beyond
 * those stay locked until the claim commits, so another relay skips them meanwhile: they wait
 * for its next claim at most. */
static const char outbox_claim_skipping[] = OUTBOX_CLAIM(
    "WITH RECURSIVE present (topic) AS ((SELECT topic FROM outbox_queue ORDER BY topic LIMIT 1) "
    "UNION ALL SELECT (SELECT q.topic FROM outbox_queue q WHERE q.topic > p.topic "
    "ORDER BY q.topic LIMIT 1) FROM present p WHERE p.topic IS NOT NULL) "
    "SELECT c.ctid FROM present p CROSS JOIN LATERAL (SELECT ctid, created_at, task_id "
    "FROM outbox_queue q WHERE q.topic = p.topic ORDER BY created_at, task_id LIMIT $1 "
    "FOR UPDATE SKIP LOCKED) c WHERE p.topic <> ALL ($2::text[]) "
    "ORDER BY c.created_at, c.task_id LIMIT $1");

/* The same, each open topic ($2) read from its floor on ($3: epoch seconds; outbox_pace_cursor),
 * not from the start of its dead index entries. */
static const char outbox_claim_cursor[] =
    OUTBOX_CLAIM("SELECT c.ctid FROM unnest($2::text[], $3::float8[]) AS t(topic, floor) "
                 "CROSS JOIN LATERAL (SELECT ctid, created_at, task_id FROM outbox_queue q "
                 "WHERE q.topic = t.topic AND q.created_at >= to_timestamp(t.floor) "
                 "ORDER BY created_at, task_id LIMIT $1 FOR UPDATE SKIP LOCKED) c "
                 "ORDER BY c.created_at, c.task_id LIMIT $1");

/* Whether this claim's transaction holds the compacted topics (OUTBOX_COMPACTED_LOCK, the head
 * comment of outbox.h): 1, 0 when another relay holds them, -1 on error. */
static int own_compacted(PGconn *pg, char *err, size_t errlen)
{
    PGresult *res = pgx_query(pg, "outbox.compacted_lock",
                              "SELECT pg_try_advisory_xact_lock(" OUTBOX_COMPACTED_LOCK ")", 0,
                              NULL, err, errlen);
    if (!res) return -1;
    int own = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return own;
}

/* One claimed batch: claim (off the queue), produce, wait for delivery, mark failed what could
 * not be sent, put back what pacing held (requeue_held), commit. *rows receives how many were
 * claimed. When Kafka refuses a message of the batch for what it is (kq_producer_take_refused: too
 * large, invalid), producing the batch again would fail again forever: the batch is relayed row by
 * row instead (relay_one_by_one), the culprit marked failed and the others published. Rows
 * delivered by the failed try may be sent a second time (consumers de-duplicate by task id). A row
 * that cannot be encoded is set aside (set_aside): superseded, or failed. */
static int relay_batch(PGconn *pg, kq_producer *producer, const config *cfg,
                       const schema_set *schemas, outbox_pace *pace, int batch, int *rows,
                       long *relayed, long *failures, char *err, size_t errlen)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", batch);
    /* $2: the topics whose readers are behind (outbox_pace.h): their rows stay queued. */
    const char *closed = outbox_pace_closed_list(pace);
    if (pgx_begin(pg, err, errlen) != 0) return -1;
    int compacted = own_compacted(pg, err, errlen);
    if (compacted < 0) {
        pgx_rollback(pg, NULL, 0);
        return -1;
    }
    /* Without the lock the compacted topics wait like paced ones, for this claim only: their
     * floors are neither used nor moved by it (outbox_pace_claimed would take their missing
     * rows for none). */
    char closed_here[160];
    if (!compacted) {
        size_t n = strlen(closed) - 1; /* without its closing brace */
        snprintf(closed_here, sizeof closed_here, "%.*s%sassessments,anchors}", (int)n, closed,
                 n > 1 ? "," : "");
        closed = closed_here;
    }
    bool skipping = strcmp(closed, "{}") != 0;
    const char *open = NULL, *floors = NULL;
    bool cursor = skipping && outbox_pace_cursor(pace, compacted, &open, &floors);
    const char *p[] = {limit, cursor ? open : closed, floors};
    /* Taking a topic's oldest rows, a bitmap scan of outbox_queue_topic fetches every entry the
     * queue's deletions left until vacuum, at every claim, and sorts them all; a plain index
     * scan in the index's order stops at $1 rows and marks the dead entries as it passes (as
     * the ticket poll, notify_store.c). For this transaction only. With it, the database's
     * clock, for the cursor's floors. */
    long long db_now_ms = 0;
    if (skipping) {
        PGresult *plan = pgx_query(pg, "outbox.claim_plan",
                                   "SELECT set_config('enable_bitmapscan', 'off', true), "
                                   "(extract(epoch FROM statement_timestamp()) * 1000)::bigint",
                                   0, NULL, err, errlen);
        if (!plan) {
            pgx_rollback(pg, NULL, 0);
            outbox_pace_forget(pace);
            return -1;
        }
        db_now_ms = atoll(PQgetvalue(plan, 0, 1));
        PQclear(plan);
    }
    /* The transaction commits only after Kafka acknowledged every message and rolls back
     * otherwise, which puts the rows back in the queue. Planned each time: a plan prepared on an
     * empty queue would keep a sequential scan. */
    static const struct {
        const char *name, *sql;
        int nparams;
    } claims[] = {{"outbox.claim", outbox_claim_all, 1},
                  {"outbox.claim_skipping", outbox_claim_skipping, 2},
                  {"outbox.claim_cursor", outbox_claim_cursor, 3}};
    int k = cursor ? 2 : skipping ? 1 : 0;
    PGresult *res =
        pgx_query_replanned(pg, claims[k].name, claims[k].sql, claims[k].nparams, p, err, errlen);
    if (!res) {
        pgx_rollback(pg, NULL, 0);
        outbox_pace_forget(pace);
        return -1;
    }
    *rows = PQntuples(res);
    json_t *sent = json_array(), *produced = json_array(), *failed = json_array(),
           *held = json_array();
    wire_buf buf;
    wire_buf_init(&buf);
    bool *aside = calloc((size_t)*rows + 1, sizeof *aside); /* rows not encodable, set aside */
    int rc = aside ? 0 : errbuf_fail(err, errlen, "outbox: out of memory");
    for (int r = 0; r < *rows && rc == 0; r++) {
        if (superseded(res, r)) { /* compacted topic: only the newest version matters */
            json_array_append_new(sent, json_string(PQgetvalue(res, r, 0)));
            continue;
        }
        char why[512];
        long long newer;
        rc = produce_row(pg, producer, cfg, schemas, pace, res, r, &buf, &newer, why, sizeof why,
                         err, errlen);
        if (rc == 2) { /* held by pacing: back to the queue, not produced */
            json_array_append_new(held, json_string(PQgetvalue(res, r, 0)));
            rc = 0;
            continue;
        }
        if (rc == 0) json_array_append_new(produced, json_string(PQgetvalue(res, r, 0)));
        if (rc == 1) {
            aside[r] = true;
            rc = set_aside(pg, res, r, why, newer, sent, failed, err, errlen);
        }
    }
    if (rc == 0) rc = kq_producer_flush_checked(producer, OUTBOX_FLUSH_MS, err, errlen);
    if (rc == 0)
        json_array_extend(sent, produced);
    else {
        /* Let whatever the failed try still has in flight report first, so that the row by
         * row pass blames each row for its own delivery only. */
        int refused = kq_producer_take_refused(producer);
        settle(producer);
        refused |= kq_producer_take_refused(producer);
        if (refused) {
            log_warn("outbox batch refused by Kafka; relaying it row by row", LOG_STR("error", err),
                     LOG_INT("rows", *rows), LOG_END);
            json_array_clear(held); /* the row by row pass decides each row again */
            rc = relay_one_by_one(pg, producer, cfg, schemas, pace, res, &buf, aside, sent, held,
                                  failed, err, errlen);
        }
    }
    wire_buf_free(&buf);
    free(aside);
    if (rc == 0 && skipping)
        outbox_pace_claimed(pace, !cursor, compacted, db_now_ms, res, 1, 4, *rows == batch);
    PQclear(res);
    if (rc == 0) rc = mark_failed(pg, failed, err, errlen);
    if (rc == 0) rc = requeue_held(pg, held, err, errlen);
    if (rc == 0)
        rc = pgx_commit(pg, err, errlen);
    else {
        settle(producer); /* none of the claim's messages arrives after a later claim's */
        pgx_rollback(pg, NULL, 0);
    }
    if (rc != 0) outbox_pace_forget(pace); /* the rows are back under the floors */
    if (rc == 0) {
        *relayed += (long)json_array_size(sent);
        *failures += (long)json_array_size(failed);
    }
    /* Rows that pacing held would be claimed again at once: stop this round. */
    if (rc == 0 && json_array_size(held) > 0) *rows = 0;
    json_decref(held);
    json_decref(sent);
    json_decref(produced);
    json_decref(failed);
    return rc;
}

int outbox_enqueue(PGconn *pg, const char *task_id, const char *topic, const char *incident_id,
                   const char *client_id, const char *kind, const char *payload_json,
                   const char *record_hex, bool *queued, char *err, size_t errlen)
{
    const char *p[] = {task_id, topic, incident_id, client_id, kind, payload_json, record_hex};
    long long rows = 0;
    int rc = pgx_exec_params(pg, "outbox.enqueue",
                             "INSERT INTO outbox (task_id, topic, incident_id, client_id, kind, "
                             "payload, record, created_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, "
                             "$7::bytea, clock_timestamp()) ON CONFLICT DO NOTHING",
                             7, p, &rows, err, errlen);
    if (queued) *queued = rc == 0 && rows == 1;
    return rc;
}

char *outbox_record_hex(const wire_buf *record)
{
    char *hex = malloc(2 * record->len + 3);
    if (!hex) return NULL;
    memcpy(hex, "\\x", 2);
    digest_hex(record->data, record->len, hex + 2);
    return hex;
}

/* Whether a staging table's name may be written into SQL as it is. */
static bool plain_identifier(const char *name)
{
    return strspn(name, "abcdefghijklmnopqrstuvwxyz_") == strlen(name);
}

int outbox_enqueue_staged(PGconn *pg, const char *staging_table, char *err, size_t errlen)
{
    if (!plain_identifier(staging_table))
        return errbuf_fail(err, errlen, "outbox: staging table %s: not a plain identifier",
                           staging_table);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox (task_id, topic, incident_id, client_id, kind, payload, record) "
             "SELECT task_id, topic, incident_id, client_id, kind, payload, record FROM %s "
             "ON CONFLICT DO NOTHING",
             staging_table);
    return pgx_exec(pg, "outbox.enqueue_staged", sql, err, errlen);
}

int outbox_enqueue_staged_ordered(PGconn *pg, const char *staging_table, char *err, size_t errlen)
{
    if (!plain_identifier(staging_table))
        return errbuf_fail(err, errlen, "outbox: staging table %s: not a plain identifier",
                           staging_table);
    char sql[640];
    /* clock_timestamp() is volatile, so it is computed after the sort, row by row in seq
     * order; adding seq microseconds keeps two rows of the same microsecond apart. */
    snprintf(sql, sizeof sql,
             "INSERT INTO outbox (task_id, topic, incident_id, client_id, kind, payload, record, "
             "created_at) SELECT task_id, topic, incident_id, client_id, kind, payload::jsonb, "
             "record, clock_timestamp() + seq * interval '1 microsecond' FROM %s ORDER BY seq "
             "ON CONFLICT DO NOTHING",
             staging_table);
    return pgx_exec(pg, "outbox.enqueue_staged_ordered", sql, err, errlen);
}

int outbox_relay(PGconn *pg, kq_producer *producer, const config *cfg, const schema_set *schemas,
                 int batch, long *relayed, long *failed, char *err, size_t errlen)
{
    return outbox_relay_paced(pg, producer, cfg, schemas, NULL, batch, relayed, failed, err,
                              errlen);
}

int outbox_relay_paced(PGconn *pg, kq_producer *producer, const config *cfg,
                       const schema_set *schemas, outbox_pace *pace, int batch, long *relayed,
                       long *failed, char *err, size_t errlen)
{
    *relayed = 0;
    *failed = 0;
    int rows;
    if (outbox_pace_refresh(pace, pg, err, errlen) < 0) return -1;
    do {
        if (relay_batch(pg, producer, cfg, schemas, pace, batch, &rows, relayed, failed, err,
                        errlen) != 0)
            return -1;
    } while (rows == batch);
    return 0;
}
