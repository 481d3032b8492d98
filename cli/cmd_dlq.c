/*
 * mni dlq: the dead-letter topic for operators.
 *
 *   mni dlq list     every dead letter (or those the filters keep): where it sits, its age, the
 *                    reason and detail, its origin, the incident (key) and event id, and whether
 *                    and when it was replayed
 *   mni dlq replay   sends the dead letters the filters keep back to the events topic, once
 *                    each, so that ingest judges them again: with their original key, value and
 *                    headers (the dead letter's mni.reason, mni.detail, mni.withheld and
 *                    mni.origin.* left out) plus `mni.replay: <dlq topic>/<partition>/<offset>`.
 * Typical causes fixed meanwhile: manifests that arrived before their incident was opened
 *                    (unknown_incident), a schema added after its events were produced
 *                    (malformed). Ingest treats a replayed event like any other; an event id it
 *                    already stored changes nothing.
 *
 * Filters: --reason R (mni.reason), --incident ID (the message key), --since T (RFC 3339: dead
 * letters written at or after T). Replay sends only dead letters that came from the events
 * topic (mni.origin.topic = topic.events: the workers after ingest dead-letter messages that
 * ingest had accepted, and replaying those would change nothing) and that carry their whole
 * message: a letter with mni.withheld (lib/runtime/dlq.h: a part held a raw My Number or was over
 * its bound; raw_my_number letters always) is not a copy of its original, which stays on its
 * topic at its origin; the producer must send that event again.
 *
 * Once each: PostgreSQL keeps a row per replayed dead letter (migration 0022, dlq_replays),
 * inserted in the same transaction that is committed only after the broker acknowledged every
 * replayed message (see the migration for the crash window).
 *
 * For the BPO's operators only: dead letters are not sorted by client (a message that does not
 * decode has none, and the topic holds every client's), so a client role of `mni db
 * client-role` is refused with one line saying so, before the topic is read.
 *
 * Configuration: the workers' (lib/runtime/config.h): --config FILE or $MNI_CONFIG, then
 * MNI_KAFKA_BOOTSTRAP, MNI_TOPIC_DLQ, MNI_TOPIC_EVENTS, MNI_PG_CONNINFO.
 * Exit status: 0 done, 1 Kafka or PostgreSQL failed (nothing half-recorded), 2 usage.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_pg.h"
#include "cli/commands.h"
#include "cli/dlq_read.h"
#include "lib/base/timefmt.h"
#include "lib/kafka/kq.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/config.h"
#include "lib/runtime/logcheck.h"

#define DLQ_READ_MS 30000
#define DLQ_FLUSH_MS 60000
#define DLQ_MAX_HEADERS 64

typedef struct {
    const char *config_path, *reason, *incident, *since;
    long long since_ms;
    int json, dry_run;
} dlq_opts;

/* One dead letter as the commands see it (strings copied out of its headers). */
typedef struct {
    const rd_kafka_message_t *m;
    char reason[64], detail[512], origin_topic[256], origin_partition[16], origin_offset[24];
    char event_id[128], incident[256], digest[LOGCHECK_DIGEST_LEN], replayed_at[40];
    char withheld[256]; /* mni.withheld: what of the original the letter does not carry */
    long long at_ms;
    int replayed;
} dlq_letter;

static void dlq_usage(FILE *out)
{
    fprintf(
        out,
        "usage: mni dlq list   [--reason R] [--incident ID] [--since TIME] [--json]\n"
        "       mni dlq replay [--reason R] [--incident ID] [--since TIME] [--dry-run]\n"
        "       (both: [--config FILE])\n"
        "\n"
        "list: each dead letter with reason, detail, origin, incident, event id, age, and\n"
        "when it was replayed. replay: sends the dead letters that came from the events\n"
        "topic back to it, once each, with their original key and headers plus\n"
        "mni.replay: <dlq topic>/<partition>/<offset>; ingest judges them again.\n"
        "  --reason R      only dead letters with this reason (unknown_incident, malformed...)\n"
        "  --incident ID   only those keyed by this incident id\n"
        "  --since TIME    only those written at or after this RFC 3339 time\n"
        "  --dry-run       replay: say what would be sent, send nothing\n"
        "Kafka and the topics from the configuration (MNI_KAFKA_BOOTSTRAP, MNI_TOPIC_DLQ,\n"
        "MNI_TOPIC_EVENTS); PostgreSQL (MNI_PG_CONNINFO) keeps what was replayed.\n");
}

static void letter_fill(dlq_letter *l, const rd_kafka_message_t *m)
{
    memset(l, 0, sizeof *l);
    l->m = m;
    dlq_header(m, "mni.reason", l->reason, sizeof l->reason);
    dlq_header(m, "mni.detail", l->detail, sizeof l->detail);
    dlq_header(m, "mni.origin.topic", l->origin_topic, sizeof l->origin_topic);
    dlq_header(m, "mni.origin.partition", l->origin_partition, sizeof l->origin_partition);
    dlq_header(m, "mni.origin.offset", l->origin_offset, sizeof l->origin_offset);
    dlq_header(m, "mni.event_id", l->event_id, sizeof l->event_id);
    dlq_header(m, "mni.withheld", l->withheld, sizeof l->withheld);
    size_t klen = m->key_len < sizeof l->incident ? m->key_len : sizeof l->incident - 1;
    if (m->key) memcpy(l->incident, m->key, klen);
    l->incident[klen] = '\0';
    rd_kafka_timestamp_type_t type;
    l->at_ms = rd_kafka_message_timestamp(m, &type);
    logcheck_digest(m, l->digest);
}

static int letter_kept(const dlq_letter *l, const dlq_opts *o)
{
    if (o->reason && strcmp(l->reason, o->reason) != 0) return 0;
    if (o->incident && strcmp(l->incident, o->incident) != 0) return 0;
    if (o->since && l->at_ms < o->since_ms) return 0;
    return 1;
}

/* Marks the letters already replayed (dlq_replays), in one query. */
static int mark_replayed(PGconn *pg, const char *dlq_topic, dlq_letter *v, size_t n, char *err,
                         size_t errlen)
{
    json_t *keys = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(keys, json_pack("{s:I, s:i, s:I, s:s}", "i", (json_int_t)i, "p",
                                              (int)v[i].m->partition, "o",
                                              (json_int_t)v[i].m->offset, "d", v[i].digest));
    char *text = json_dumps(keys, JSON_COMPACT);
    json_decref(keys);
    if (!text) {
        snprintf(err, errlen, "dlq: out of memory");
        return -1;
    }
    const char *p[] = {dlq_topic, text};
    PGresult *res = pgx_query(pg, "dlq.replayed",
                              "SELECT k.i, to_char(r.replayed_at AT TIME ZONE INTERVAL '+09:00', "
                              "'YYYY-MM-DD HH24:MI') FROM json_to_recordset($2::json) AS k(i "
                              "integer, p integer, o bigint, d text) JOIN dlq_replays r ON "
                              "r.dlq_topic = $1 AND r.dlq_partition = k.p AND r.dlq_offset = k.o "
                              "AND r.digest = k.d",
                              2, p, err, errlen);
    free(text);
    if (!res) return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        size_t i = (size_t)atoll(PQgetvalue(res, r, 0));
        if (i >= n) continue;
        v[i].replayed = 1;
        snprintf(v[i].replayed_at, sizeof v[i].replayed_at, "%s", PQgetvalue(res, r, 1));
    }
    PQclear(res);
    return 0;
}

static void age_text(long long at_ms, char *out, size_t n)
{
    long long s = ((long long)time(NULL) * 1000 - at_ms) / 1000;
    if (s < 0) s = 0;
    if (s < 3600)
        snprintf(out, n, "%lldm", s / 60);
    else if (s < 86400)
        snprintf(out, n, "%lldh%02lldm", s / 3600, s % 3600 / 60);
    else
        snprintf(out, n, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
}

static void print_list(const dlq_letter *v, size_t n, int have_pg, const char *dlq_topic)
{
    static const char *const head[] = {"dlq",      "age",   "reason",   "origin",
                                       "incident", "event", "replayed", "detail"};
    enum { COLS = 8 };
    size_t width[COLS];
    char(*cells)[COLS][600] = calloc(n ? n : 1, sizeof *cells);
    if (!cells) return;
    for (int c = 0; c < COLS; c++)
        width[c] = strlen(head[c]);
    for (size_t i = 0; i < n; i++) {
        const dlq_letter *l = &v[i];
        snprintf(cells[i][0], 600, "%" PRId32 "/%" PRId64, l->m->partition, l->m->offset);
        age_text(l->at_ms, cells[i][1], 600);
        snprintf(cells[i][2], 600, "%s", l->reason[0] ? l->reason : "-");
        snprintf(cells[i][3], 600, "%s[%s]@%s", l->origin_topic[0] ? l->origin_topic : "?",
                 l->origin_partition, l->origin_offset);
        snprintf(cells[i][4], 600, "%s", l->incident[0] ? l->incident : "-");
        snprintf(cells[i][5], 600, "%s", l->event_id[0] ? l->event_id : "-");
        snprintf(cells[i][6], 600, "%s", !have_pg ? "?" : l->replayed ? l->replayed_at : "-");
        snprintf(cells[i][7], 600, "%s", l->detail[0] ? l->detail : "-");
        for (int c = 0; c < COLS - 1; c++)
            if (strlen(cells[i][c]) > width[c]) width[c] = strlen(cells[i][c]);
    }
    printf("%zu dead letter%s on %s\n", n, n == 1 ? "" : "s", dlq_topic);
    /* The last column (detail) is not padded. */
    for (int c = 0; c < COLS; c++)
        printf("%-*s%s", c < COLS - 1 ? (int)width[c] : 0, head[c], c < COLS - 1 ? "  " : "\n");
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < COLS; c++)
            printf("%-*s%s", c < COLS - 1 ? (int)width[c] : 0, cells[i][c],
                   c < COLS - 1 ? "  " : "\n");
    free(cells);
}

static void print_json(const dlq_letter *v, size_t n, int have_pg)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const dlq_letter *l = &v[i];
        char at[32];
        timefmt_format_jst(l->at_ms / 1000, at);
        json_array_append_new(
            arr,
            json_pack("{s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:o}",
                      "partition", (int)l->m->partition, "offset", (json_int_t)l->m->offset, "at",
                      at, "reason", l->reason, "detail", l->detail, "origin_topic", l->origin_topic,
                      "origin_partition", l->origin_partition, "origin_offset", l->origin_offset,
                      "incident_id", l->incident, "event_id", l->event_id, "replayed_at",
                      !have_pg || !l->replayed ? json_null() : json_string(l->replayed_at), "bytes",
                      (json_int_t)l->m->len, "withheld",
                      l->withheld[0] ? json_string(l->withheld) : json_null()));
    }
    char *text = json_dumps(arr, JSON_INDENT(2));
    if (text) puts(text);
    free(text);
    json_decref(arr);
}

/* The headers a replayed message carries: the original ones (without the dead letter's own and
 * an earlier replay's) and mni.replay. Pointers into m (valid while the reader is open). */
static size_t replay_headers(const rd_kafka_message_t *m, const char *replay, kq_header *out,
                             size_t cap)
{
    static const char *const dropped[] = {"mni.reason", "mni.detail", "mni.withheld", "mni.replay"};
    rd_kafka_headers_t *h = NULL;
    size_t n = 0;
    if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *value;
        size_t size;
        for (size_t i = 0; n + 1 < cap && !rd_kafka_header_get_all(h, i, &name, &value, &size);
             i++) {
            int drop = !strncmp(name, "mni.origin.", 11);
            for (size_t d = 0; d < sizeof dropped / sizeof dropped[0]; d++)
                drop |= !strcmp(name, dropped[d]);
            if (!drop) out[n++] = (kq_header){name, value, size};
        }
    }
    out[n++] = (kq_header){"mni.replay", replay, strlen(replay)};
    return n;
}

typedef struct {
    size_t replayed, already, other_origin, withheld;
} replay_counts;

static int replay(PGconn *pg, const config *cfg, const char *dlq_topic, const char *events_topic,
                  dlq_letter *v, size_t n, const dlq_opts *o, replay_counts *c, char *err,
                  size_t errlen)
{
    /* The candidates: from the events topic, with their message, not replayed yet. */
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        if (v[i].replayed) {
            c->already++;
        } else if (strcmp(v[i].origin_topic, events_topic) != 0) {
            c->other_origin++;
        } else if (v[i].withheld[0] || !v[i].m->payload || v[i].m->len == 0) {
            c->withheld++;
        } else {
            json_array_append_new(
                rows,
                json_pack(
                    "{s:I, s:i, s:I, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "i", (json_int_t)i, "p",
                    (int)v[i].m->partition, "o", (json_int_t)v[i].m->offset, "d", v[i].digest,
                    "reason", v[i].reason, "ot", v[i].origin_topic, "op",
                    v[i].origin_partition[0] ? json_string(v[i].origin_partition) : json_null(),
                    "oo", v[i].origin_offset[0] ? json_string(v[i].origin_offset) : json_null(),
                    "inc", v[i].incident, "ev", v[i].event_id));
        }
    }
    size_t candidates = json_array_size(rows);
    if (o->dry_run || candidates == 0) {
        c->replayed = o->dry_run ? candidates : 0;
        json_decref(rows);
        return 0;
    }
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    if (!text || pgx_begin(pg, err, errlen) != 0) {
        if (!text) snprintf(err, errlen, "dlq: out of memory");
        free(text);
        return -1;
    }
    /* Claim: a row per dead letter; one another run holds (or has) is not ours to send. */
    const char *p[] = {dlq_topic, events_topic, text};
    PGresult *res = pgx_query(
        pg, "dlq.claim",
        "INSERT INTO dlq_replays (dlq_topic, dlq_partition, dlq_offset, digest, reason, "
        "origin_topic, origin_partition, origin_offset, incident_id, event_id, target_topic) "
        "SELECT $1, k.p, k.o, k.d, k.reason, k.ot, k.op::integer, k.oo::bigint, "
        "nullif(k.inc, ''), nullif(k.ev, ''), $2 FROM json_to_recordset($3::json) AS k(i "
        "integer, p integer, o bigint, d text, reason text, ot text, op text, oo text, inc text, "
        "ev text) ORDER BY k.i ON CONFLICT DO NOTHING RETURNING dlq_partition, dlq_offset",
        3, p, err, errlen);
    free(text);
    if (!res) {
        pgx_rollback(pg, NULL, 0);
        return -1;
    }
    kq_prop props[64];
    size_t np = dlq_kafka_props(cfg, props, 64);
    kq_producer *prod = kq_producer_new(props, np, err, errlen);
    int rc = prod ? 0 : -1;
    for (int r = 0; rc == 0 && r < PQntuples(res); r++) {
        int32_t part = atoi(PQgetvalue(res, r, 0));
        int64_t off = atoll(PQgetvalue(res, r, 1));
        const dlq_letter *l = NULL;
        for (size_t i = 0; i < n && !l; i++)
            if (v[i].m->partition == part && v[i].m->offset == off) l = &v[i];
        if (!l) continue;
        char mark[400];
        snprintf(mark, sizeof mark, "%s/%" PRId32 "/%" PRId64, dlq_topic, part, off);
        kq_header hdrs[DLQ_MAX_HEADERS];
        size_t nh = replay_headers(l->m, mark, hdrs, DLQ_MAX_HEADERS);
        rc = kq_produce(prod, events_topic, l->m->key, l->m->key_len, l->m->payload, l->m->len,
                        hdrs, nh, err, errlen);
        if (rc == 0) c->replayed++;
    }
    /* Those another run claimed meanwhile were replayed by it. */
    c->already += candidates - (size_t)PQntuples(res);
    PQclear(res);
    /* Committed only when every message was acknowledged: else nothing is recorded. */
    if (rc == 0) rc = kq_producer_flush_checked(prod, DLQ_FLUSH_MS, err, errlen);
    if (prod) kq_producer_close(prod, DLQ_FLUSH_MS, NULL, 0);
    if (rc == 0) rc = pgx_commit(pg, err, errlen);
    if (rc != 0) {
        pgx_rollback(pg, NULL, 0);
        c->replayed = 0;
        return -1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, dlq_opts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp(a, "--reason")     ? &o->reason
                            : !strcmp(a, "--incident") ? &o->incident
                            : !strcmp(a, "--since")    ? &o->since
                            : !strcmp(a, "--config")   ? &o->config_path
                                                       : NULL;
        if (slot && i + 1 < argc) {
            *slot = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = 1;
        } else {
            fprintf(stderr, "mni dlq: unexpected argument '%s' (see mni dlq --help)\n", a);
            return -1;
        }
    }
    if (o->since) {
        int64_t ms;
        char why[128];
        if (timefmt_parse_rfc3339(o->since, &ms, why, sizeof why) != 0) {
            fprintf(stderr, "mni dlq: --since: %s\n", why);
            return -1;
        }
        o->since_ms = ms;
    }
    return 0;
}

int cmd_dlq(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        dlq_usage(stdout);
        return MNI_EXIT_OK;
    }
    int list = argc >= 2 && !strcmp(argv[1], "list");
    int replay_cmd = argc >= 2 && !strcmp(argv[1], "replay");
    dlq_opts o = {0};
    if ((!list && !replay_cmd) || parse_args(argc, argv, &o) != 0 || (list && o.dry_run) ||
        (replay_cmd && o.json)) {
        if (!list && !replay_cmd) dlq_usage(stderr);
        return MNI_EXIT_USAGE;
    }
    char err[1024];
    config *cfg = config_new();
    const char *dlq_topic = NULL, *events_topic = NULL;
    if (!cfg || config_load(cfg, o.config_path, err, sizeof err) != 0 ||
        config_get_str(cfg, "topic.dlq", &dlq_topic, err, sizeof err) != 0 ||
        config_get_str(cfg, "topic.events", &events_topic, err, sizeof err) != 0 ||
        !config_get(cfg, "kafka.bootstrap.servers")) {
        if (cfg && !config_get(cfg, "kafka.bootstrap.servers"))
            snprintf(err, sizeof err,
                     "kafka.bootstrap.servers is not set (MNI_KAFKA_BOOTSTRAP, or the config "
                     "file)");
        fprintf(stderr, "mni dlq: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }
    /* PostgreSQL: required to replay; for a list, only to say what was replayed. */
    PGconn *pg = cli_pg_connect(config_get(cfg, "pg.conninfo"), err, sizeof err);
    if (!pg && replay_cmd) {
        fprintf(stderr, "mni dlq: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_FAILURE;
    }
    if (!pg) fprintf(stderr, "mni dlq: replays unknown (%s)\n", err);
    char client[256], role[256];
    if (pg &&
        cli_pg_client_of(pg, client, sizeof client, role, sizeof role, err, sizeof err) == 1) {
        fprintf(stderr,
                "mni dlq: role %s is client %s's (mni db client-role): the dead-letter topic "
                "holds every client's refused messages, not sorted by client, so it is for the "
                "BPO's operators only\n",
                role, client);
        pgx_close(pg);
        config_free(cfg);
        return MNI_EXIT_FAILURE;
    }

    int rc = MNI_EXIT_OK;
    dlq_reader rd;
    dlq_letter *v = NULL;
    size_t n = 0;
    if (dlq_read(&rd, cfg, dlq_topic, DLQ_READ_MS, err, sizeof err) != 0) {
        fprintf(stderr, "mni dlq: %s\n", err);
        rc = MNI_EXIT_FAILURE;
    } else {
        v = calloc(rd.n ? rd.n : 1, sizeof *v);
        for (size_t i = 0; v && i < rd.n; i++) {
            letter_fill(&v[n], rd.msgs[i]);
            if (letter_kept(&v[n], &o)) n++;
        }
        if (!v) {
            fprintf(stderr, "mni dlq: out of memory\n");
            rc = MNI_EXIT_FAILURE;
        } else if (pg && mark_replayed(pg, dlq_topic, v, n, err, sizeof err) != 0) {
            fprintf(stderr, "mni dlq: %s\n", err);
            rc = MNI_EXIT_FAILURE;
        }
    }
    if (rc == MNI_EXIT_OK && list) {
        if (o.json)
            print_json(v, n, pg != NULL);
        else
            print_list(v, n, pg != NULL, dlq_topic);
    } else if (rc == MNI_EXIT_OK) {
        replay_counts c = {0};
        if (replay(pg, cfg, dlq_topic, events_topic, v, n, &o, &c, err, sizeof err) != 0) {
            fprintf(stderr, "mni dlq: replay failed, nothing recorded: %s\n", err);
            rc = MNI_EXIT_FAILURE;
        } else {
            printf("%s %zu dead letter%s to %s; skipped: %zu already replayed, %zu from other "
                   "topics, %zu withheld\n",
                   o.dry_run ? "would replay" : "replayed", c.replayed, c.replayed == 1 ? "" : "s",
                   events_topic, c.already, c.other_origin, c.withheld);
        }
    }
    free(v);
    dlq_reader_close(&rd);
    pgx_close(pg);
    config_free(cfg);
    return rc;
}
