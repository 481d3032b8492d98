/*
 * mni produce: sends incident events, written as JSON lines (lib/model/events_json.h), to Kafka
 * as Avro in the Confluent framing, the way a producer system would. For the demo, tests and
 * operators replaying a file; with --follow, for producer systems that pipe their events in.
 *
 * All or nothing per input (the default). The whole input is read and every line is parsed and
 * encoded BEFORE anything is sent: a bad line is reported with its line number and the field
 * (`events.jsonl line 3: body.persons: missing`), every bad line is reported (up to
 * PRODUCE_MAX_ERRORS), and then the command exits 2 without sending anything, so a half-sent
 * file never has to be untangled on the topic. The encoded messages are held in memory until
 * then (Avro is compact; a message is at most WIRE_MAX_MESSAGE bytes).
 *
 * Each message: value = the encoded event (current IncidentEvent schema, schema id of the local
 * table or registry), key = incident_id (so one incident's events stay in order on one
 * partition: kq's murmur2_random partitioner is the Java client's), header mni.event_id.
 * Blank lines are skipped in every mode.
 *
 * --follow: a stream, not a file. For a producer system that writes each event as it happens
 * into a pipe (`producer | mni produce --follow -`, or a named pipe as FILE). Each line is
 * parsed, encoded and sent as soon as it is read (cli/line_stream.h reads the descriptor
 * itself, nothing is read ahead), with linger.ms 1 (PRODUCE_FOLLOW_LINGER_MS: a burst of lines
 * still travels in few requests); whenever the input pauses (no complete line, nothing to
 * read), what was sent is flushed and its delivery checked, so an event waits for the next
 * line in no buffer and a failed delivery is reported at once, by line numbers ("lines 5 to 9:
 * not all delivered": the lines sent since the last check). A bad line is reported like in the
 * default mode and skipped, the others go on. A line the broker refuses for what it is (too
 * large) is reported and skipped too; pacing that gives up, a read error or a fatal producer
 * error stops the run (the line is named). The run ends at the end of the input (the writer
 * closes the pipe): what was read is delivered, a summary goes to stderr. Pacing applies as
 * below, per line. Exit status: 0 every line delivered; 1 a line not delivered, or the run
 * stopped; 2 every line sent was delivered but some lines were bad (skipped).
 *
 * --raw sends each line's bytes as they are (the line end, LF or CRLF, removed), without
 * parsing: for tests and demos of the dead-letter path. Raw messages have no key unless --key
 * gives one, and no mni.event_id header.
 *
 * My Numbers. This tool does not refuse events whose text holds a raw My Number: the gate is
 * the ingest worker (dead letter raw_my_number), and the demo needs to show it. It warns on
 * stderr, naming the line and the field only. Input text is never echoed: should a parse
 * error message quote a value that looks like a My Number, the value is withheld.
 *
 * Configuration: the workers' module (lib/runtime/config.h): defaults, then --config FILE or
 * $MNI_CONFIG, then the environment (MNI_KAFKA_BOOTSTRAP, MNI_TOPIC_EVENTS, MNI_KAFKA_*).
 * The topic is topic.events unless --topic names one. Delivery is checked: every message must
 * be acknowledged (kq_producer_flush_checked), else exit 1.
 *
 * Pacing (cli/produce_pace.h), on by default: before each message, wait while the ingest
 * worker's consumer group (--pace-group, default mni-ingest) has not consumed the bytes already
 * on that message's partition (limit --pace-limit, default 2 MiB), so the embedded broker, which
 * drops the oldest data beyond ~5 MiB per partition, never drops an event not yet ingested. It
 * reads the group's progress from PostgreSQL (consumer_offsets; pg.conninfo / MNI_PG_CONNINFO,
 * else .mni-env/env). --no-pace turns it off: real Kafka keeps data for its retention time.
 * So does pace.limit.bytes = 0 in the configuration (deploy/mni.conf, MNI_PACE_LIMIT_BYTES),
 * the key the workers pace their own outputs by; another value of it is the limit, unless
 * --pace-limit gives one.
 *
 * Exit status (default mode; --follow above): 0 all sent; 1 runtime failure (input unreadable,
 * schemas missing, Kafka delivery failed, pacing gave up or could not read PostgreSQL); 2 usage,
 * configuration or a bad line (nothing sent).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/line_stream.h"
#include "cli/produce_pace.h"
#include "lib/kafka/kq.h"
#include "lib/model/events.h"
#include "lib/model/events_json.h"
#include "lib/runtime/config.h"
#include "lib/runtime/pace_gate.h"
#include "lib/runtime/schema_source.h"
#include "lib/serdes/wire.h"
#include "rules/mynumber.h"

#define PRODUCE_MAX_ERRORS 20
#define PRODUCE_MAX_PROPS 64
#define PRODUCE_FLUSH_MS 60000
#define PRODUCE_FOLLOW_LINGER_MS "1"

/* One message ready to send; all three strings malloc'd and owned by the batch. */
typedef struct {
    void *value;
    size_t len;
    char *key;      /* or NULL */
    char *event_id; /* or NULL (--raw) */
} produce_msg;

typedef struct {
    produce_msg *msgs;
    size_t n, cap;
} produce_batch;

typedef struct {
    const char *config_path;
    const char *topic; /* --topic, or NULL for topic.events */
    const char *key;   /* --key, or NULL */
    const char *input; /* file name or "-" */
    int raw;
    int follow;
    int no_pace;
    const char *pace_group;
    long long pace_limit;
    int pace_limit_given; /* --pace-limit: it wins over pace.limit.bytes */
    int pace_timeout_s;
} produce_opts;

static void produce_usage(FILE *out)
{
    fprintf(out,
            "usage: mni produce [--follow] [--topic NAME] [--raw] [--key KEY] [--config FILE]\n"
            "                   [--no-pace | --pace-group GROUP --pace-limit BYTES\n"
            "                    --pace-timeout SECONDS] [FILE|-]\n"
            "\n"
            "Sends incident events, one JSON object per line of FILE (default: standard input),\n"
            "to Kafka as Avro (Confluent framing), keyed by incident_id, with header\n"
            "mni.event_id. The whole input is checked first: if any line does not parse, each\n"
            "bad line is reported with its number and field and NOTHING is sent.\n"
            "Blank lines are skipped.\n"
            "\n"
            "  --follow       a stream instead, for a producer system that pipes events in as\n"
            "                 they happen (`producer | mni produce --follow -`, or a named pipe):\n"
            "                 each line is sent as soon as it is read, and delivered whenever\n"
            "                 the input pauses; a bad line is reported (number and field) and\n"
            "                 skipped, a line not delivered is reported by number; it ends when\n"
            "                 the input ends. Exit status: 0 all delivered; 1 a line not\n"
            "                 delivered or the run stopped (pacing gave up, read error); 2 all\n"
            "                 sent lines delivered, some lines bad\n"
            "  --topic NAME   topic to send to (default: the topic.events key, incident.events)\n"
            "  --raw          send each line's bytes as they are, not parsed nor encoded (to\n"
            "                 exercise the dead-letter path); no key unless --key\n"
            "  --key KEY      message key for every line (default: the event's incident_id)\n"
            "  --config FILE  configuration file (default: $MNI_CONFIG; see deploy/mni.conf)\n"
            "  -h, --help     this text\n"
            "\n"
            "Pacing (on by default). The embedded broker (librdkafka's mock cluster) keeps only\n"
            "about 5 MiB per partition and drops the oldest data, read or not. So before each\n"
            "message, mni produce waits while the ingest worker's consumer group has not yet\n"
            "read LIMIT bytes on that message's partition: it delivers what it sent, then\n"
            "compares each partition's end offset with the group's next offset, which the\n"
            "workers keep in PostgreSQL (table consumer_offsets), every 50 ms until there is\n"
            "room. It says once on stderr when it waits.\n"
            "  --pace-group GROUP     the consumer group to wait for (default mni-ingest)\n"
            "  --pace-limit BYTES     unconsumed bytes allowed per partition (default: the\n"
            "                         pace.limit.bytes key, 2097152)\n"
            "  --pace-timeout SECONDS give up (exit 1) when the group reads nothing for this\n"
            "                         long while mni produce waits (default 300)\n"
            "  --no-pace              send at once: for real Kafka, whose retention keeps data\n"
            "                         whether read or not (size it to outlast any outage); the\n"
            "                         pace.limit.bytes key at 0 (deploy/mni.conf) does the same\n"
            "\n"
            "Kafka: kafka.bootstrap.servers (MNI_KAFKA_BOOTSTRAP) and any kafka.* key.\n"
            "PostgreSQL (pacing only): pg.conninfo (MNI_PG_CONNINFO), else .mni-env/env.\n"
            "Exit status (without --follow): 0 all sent; 1 input unreadable, delivery failed, or\n"
            "pacing gave up or could not read PostgreSQL; 2 usage, configuration or a bad line\n"
            "(nothing sent).\n");
}

static void produce_batch_free(produce_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->msgs[i].value);
        free(b->msgs[i].key);
        free(b->msgs[i].event_id);
    }
    free(b->msgs);
    memset(b, 0, sizeof *b);
}

static char *produce_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Appends value (malloc'd, len bytes; owned by the batch from now on, even on failure) with
 * key and event id (each may be NULL; copied). */
static int produce_batch_push(produce_batch *b, void *value, size_t len, const char *key,
                              const char *event_id)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        produce_msg *msgs = realloc(b->msgs, cap * sizeof *msgs);
        if (!msgs) {
            free(value);
            return -1;
        }
        b->msgs = msgs;
        b->cap = cap;
    }
    produce_msg m = {value, len, produce_strdup(key), produce_strdup(event_id)};
    if (!m.value || (key && !m.key) || (event_id && !m.event_id)) {
        free(m.value);
        free(m.key);
        free(m.event_id);
        return -1;
    }
    b->msgs[b->n++] = m;
    return 0;
}

/* Appends a copy of value[0..len). */
static int produce_batch_add(produce_batch *b, const void *value, size_t len, const char *key,
                             const char *event_id)
{
    void *copy = malloc(len ? len : 1);
    if (copy && len) memcpy(copy, value, len);
    return produce_batch_push(b, copy, len, key, event_id);
}

/* Appends the message encoded in buf, taking its bytes rather than copying them (a W2 file is
 * megabytes of messages), trimmed to their length; buf is left empty for the next. */
static int produce_batch_take(produce_batch *b, wire_buf *buf, const char *key,
                              const char *event_id)
{
    void *value = buf->data, *trimmed = realloc(value, buf->len ? buf->len : 1);
    size_t len = buf->len;
    wire_buf_init(buf);
    return produce_batch_push(b, trimmed ? trimmed : value, len, key, event_id);
}

typedef struct {
    int line;
    const char *name;
    int warned;
} produce_scan;

/* Warns (line and field only) about a text holding what looks like a raw My Number. */
static int produce_scan_text(const char *field, mni_event_text_kind kind, const char *text,
                             size_t len, void *arg)
{
    produce_scan *scan = arg;
    if (kind == MNI_TEXT_TOKEN ? !mynumber_in_token(text, len) : !mynumber_find(text, len, NULL))
        return 0;
    fprintf(stderr,
            "mni produce: warning: %s line %d: %s holds what looks like a raw My Number; "
            "ingest will refuse this event (dead letter raw_my_number)\n",
            scan->name, scan->line, field);
    scan->warned = 1;
    return 0;
}

/* Prints a parse error without echoing input that may be a My Number. */
static void produce_line_error(const char *name, int line, const char *msg)
{
    if (mynumber_find(msg, strlen(msg), NULL)) {
        const char *colon = strchr(msg, ':');
        int field_len = colon ? (int)(colon - msg) : 0;
        fprintf(stderr,
                "mni produce: %s line %d: %.*s%sinvalid value (withheld: it holds a "
                "number that looks like a My Number)\n",
                name, line, field_len, msg, colon ? ": " : "");
        return;
    }
    fprintf(stderr, "mni produce: %s line %d: %s\n", name, line, msg);
}

/* Parses and encodes one JSON line into ev and buf, warning about look-alike My Numbers in
 * its texts. A bad line is reported with its number (err is scratch space); returns -1. */
static int produce_encode_line(const schema_set *schemas, const char *name, int lineno,
                               const char *line, size_t len, mni_event *ev, wire_buf *buf,
                               char *err, size_t errlen)
{
    if (mni_event_from_json_text(line, len, ev, err, errlen) != 0 ||
        mni_event_encode(schemas, ev, buf, err, errlen) != 0) {
        produce_line_error(name, lineno, err);
        return -1;
    }
    produce_scan scan = {lineno, name, 0};
    (void)mni_event_foreach_text(ev, produce_scan_text, &scan); /* warnings only */
    return 0;
}

/* Reads, parses and encodes every line of in into b. Returns 0, MNI_EXIT_USAGE when a line is
 * bad (reported), MNI_EXIT_FAILURE when the input cannot be read or memory runs out. */
static int produce_read(const produce_opts *o, const schema_set *schemas, FILE *in,
                        const char *name, produce_batch *b)
{
    char *line = NULL, err[512];
    size_t cap = 0;
    ssize_t got;
    int lineno = 0, bad = 0, rc = MNI_EXIT_OK;
    mni_event ev;
    wire_buf buf;

    mni_event_init(&ev);
    wire_buf_init(&buf);
    while ((got = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)got;
        lineno++;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        size_t blank = strspn(line, " \t\r");
        if (blank >= len) continue;
        if (o->raw) {
            if (produce_batch_add(b, line, len, o->key, NULL) != 0) {
                rc = MNI_EXIT_FAILURE;
                break;
            }
            continue;
        }
        if (produce_encode_line(schemas, name, lineno, line, len, &ev, &buf, err, sizeof err) !=
            0) {
            if (++bad >= PRODUCE_MAX_ERRORS) {
                fprintf(stderr, "mni produce: %s: stopping after %d bad lines\n", name, bad);
                break;
            }
            continue;
        }
        if (bad == 0 &&
            produce_batch_take(b, &buf, o->key ? o->key : ev.incident_id, ev.event_id) != 0) {
            rc = MNI_EXIT_FAILURE;
            break;
        }
    }
    if (rc == MNI_EXIT_FAILURE)
        fprintf(stderr, "mni produce: %s: out of memory at line %d\n", name, lineno);
    else if (ferror(in)) {
        fprintf(stderr, "mni produce: %s: read failed after line %d\n", name, lineno);
        rc = MNI_EXIT_FAILURE;
    } else if (bad > 0) {
        fprintf(stderr, "mni produce: %d bad line%s in %s; nothing sent\n", bad,
                bad == 1 ? "" : "s", name);
        rc = MNI_EXIT_USAGE;
    }
    if (line) memset(line, 0, cap); /* it may have held a My Number */
    free(line);
    mni_event_free(&ev);
    wire_buf_free(&buf);
    return rc;
}

static int produce_flush(void *arg, char *err, size_t errlen)
{
    return kq_producer_flush_checked(arg, PRODUCE_FLUSH_MS, err, errlen);
}

/* Says how long pacing waited, when it did. */
static void produce_pace_report(const produce_opts *o, const produce_pace *pace)
{
    long waits = 0;
    double waited_s = 0;
    produce_pace_stats(pace, &waits, &waited_s);
    if (waits > 0)
        fprintf(stderr, "mni produce: pacing waited %ld time%s, %.1f s in all, for group %s\n",
                waits, waits == 1 ? "" : "s", waited_s, o->pace_group);
}

/* The configuration's pace.limit.bytes, the workers' limit on the same broker, unless
 * --no-pace or --pace-limit said otherwise: 0 turns pacing off (deploy/mni.conf, for real
 * Kafka), another value is the limit. 0, or -1 with err when the key does not parse. */
static int produce_pace_config(produce_opts *o, const config *cfg, char *err, size_t errlen)
{
    long long limit = 0;
    if (o->no_pace || o->pace_limit_given) return 0;
    if (pace_limit_bytes(cfg, &limit, err, errlen) != 0) return -1;
    if (limit == 0)
        o->no_pace = 1;
    else
        o->pace_limit = limit;
    return 0;
}

/* The pacing of o for producer p (NULL with *failed 0 when --no-pace); flush delivers what p
 * has sent when pacing needs to measure. */
static produce_pace *produce_pace_for(const produce_opts *o, const config *cfg, kq_producer *p,
                                      const char *topic, produce_pace_flush_fn flush,
                                      void *flush_arg, int *failed)
{
    char err[1024];
    *failed = 0;
    if (o->no_pace) return NULL;
    const produce_pace_opts po = {
        .rk = kq_producer_handle(p),
        .topic = topic,
        .group = o->pace_group,
        .conninfo = config_get(cfg, "pg.conninfo"),
        .partitioner = config_get(cfg, "kafka.partitioner"),
        .limit_bytes = o->pace_limit,
        .timeout_s = o->pace_timeout_s,
        .flush = flush,
        .flush_arg = flush_arg,
    };
    produce_pace *pace = produce_pace_new(&po, err, sizeof err);
    if (!pace) {
        fprintf(stderr, "mni produce: %s\n", err);
        *failed = 1;
    }
    return pace;
}

/* The producer: mni produce's defaults, then every kafka.* key. NULL when reported. */
static kq_producer *produce_producer(const produce_opts *o, const config *cfg)
{
    char err[1024];
    /* A CLI should not wait librdkafka's default five minutes for a broker that is down; a
     * kafka.message.timeout.ms key, which comes after, overrides this. --follow sends each line
     * as it arrives: a short linger (librdkafka's default is 5 ms) still lets a burst of lines
     * travel together, and the input's pauses are flushed at once (produce_follow). */
    kq_prop props[PRODUCE_MAX_PROPS + 2] = {{"message.timeout.ms", "30000"}};
    size_t n = 1;
    if (o->follow) props[n++] = (kq_prop){"linger.ms", PRODUCE_FOLLOW_LINGER_MS};
    config_iter it = config_iter_prefix(cfg, "kafka.");
    while (config_iter_next(&it)) {
        if (n > PRODUCE_MAX_PROPS) {
            fprintf(stderr, "mni produce: more than %d kafka.* keys\n", PRODUCE_MAX_PROPS);
            return NULL;
        }
        props[n++] = (kq_prop){it.name, it.value};
    }
    kq_producer *p = kq_producer_new(props, n, err, sizeof err);
    if (!p) fprintf(stderr, "mni produce: %s\n", err);
    return p;
}

/* Sends every message of b to topic, paced unless --no-pace, and checks every delivery. The
 * producer borrows each message's bytes (kq_produce_borrowed): b outlives it. */
static int produce_send(const produce_opts *o, const config *cfg, const char *topic,
                        const produce_batch *b)
{
    char err[1024];
    if (b->n == 0) return MNI_EXIT_OK;
    kq_producer *p = produce_producer(o, cfg);
    if (!p) return MNI_EXIT_USAGE;
    int pace_failed;
    produce_pace *pace = produce_pace_for(o, cfg, p, topic, produce_flush, p, &pace_failed);
    int rc = pace_failed ? MNI_EXIT_FAILURE : MNI_EXIT_OK;
    for (size_t i = 0; i < b->n && rc == MNI_EXIT_OK; i++) {
        const produce_msg *m = &b->msgs[i];
        size_t keylen = m->key ? strlen(m->key) : 0, idlen = m->event_id ? strlen(m->event_id) : 0;
        kq_header h = {"mni.event_id", m->event_id, idlen};
        /* Key, value and header, plus the record's and batch's framing. */
        size_t bytes = m->len + keylen + idlen + 100;
        if (pace && produce_pace_admit(pace, m->key, keylen, bytes, err, sizeof err) != 0) {
            fprintf(stderr, "mni produce: message %zu of %zu: %s\n", i + 1, b->n, err);
            rc = MNI_EXIT_FAILURE;
        } else if (kq_produce_borrowed(p, topic, m->key, keylen, m->value, m->len, &h,
                                       m->event_id ? 1 : 0, err, sizeof err) != 0) {
            fprintf(stderr, "mni produce: message %zu of %zu: %s\n", i + 1, b->n, err);
            rc = MNI_EXIT_FAILURE;
        }
    }
    produce_pace_report(o, pace);
    produce_pace_free(pace);
    if (rc == MNI_EXIT_OK && kq_producer_flush_checked(p, PRODUCE_FLUSH_MS, err, sizeof err) != 0) {
        fprintf(stderr, "mni produce: delivery to %s failed: %s\n", topic, err);
        rc = MNI_EXIT_FAILURE;
    }
    if (kq_producer_close(p, rc == MNI_EXIT_OK ? PRODUCE_FLUSH_MS : 0, err, sizeof err) != 0 &&
        rc == MNI_EXIT_OK) {
        fprintf(stderr, "mni produce: delivery to %s failed: %s\n", topic, err);
        rc = MNI_EXIT_FAILURE;
    }
    return rc;
}

/* ---- --follow: each line sent as it arrives ------------------------------------------------ */

typedef struct {
    const produce_opts *o;
    const char *name, *topic;
    kq_producer *p;
    long first_unchecked, last_sent; /* lines sent since the last delivery check (0: none) */
    long unchecked;                  /* how many messages that is */
    long delivered, undelivered, bad;
    int stopped; /* a failure that ends the run (read, pacing, a fatal producer error) */
} produce_follow;

/* Delivers what was sent since the last check and reports the lines whose delivery failed.
 * 0, or -1 when the producer cannot go on (a fatal error). */
static int follow_check(produce_follow *f)
{
    char err[1024];
    if (f->unchecked == 0) return 0;
    int rc = kq_producer_flush_checked(f->p, PRODUCE_FLUSH_MS, err, sizeof err);
    if (rc == 0) {
        f->delivered += f->unchecked;
    } else {
        fprintf(stderr, "mni produce: %s lines %ld to %ld: not all delivered to %s: %s\n", f->name,
                f->first_unchecked, f->last_sent, f->topic, err);
        f->undelivered += f->unchecked;
    }
    f->first_unchecked = f->last_sent = f->unchecked = 0;
    if (rc != 0 && rd_kafka_fatal_error(kq_producer_handle(f->p), err, sizeof err) !=
                       RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    return 0;
}

/* Pacing's flush: a delivery check whose failures are reported and counted, not fatal. */
static int follow_pace_flush(void *arg, char *err, size_t errlen)
{
    produce_follow *f = arg;
    if (follow_check(f) == 0) return 0;
    snprintf(err, errlen, "fatal producer error");
    return -1;
}

/* Parses, encodes and sends one line (blank lines skipped); a bad line is reported and
 * counted. 0, or -1 when the run must stop (reported). */
static int follow_line(produce_follow *f, produce_pace *pace, const schema_set *schemas,
                       mni_event *ev, wire_buf *buf, const char *line, size_t len, long lineno)
{
    const produce_opts *o = f->o;
    char err[1024];
    if (strspn(line, " \t\r") >= len) return 0;
    const void *value = line;
    size_t vlen = len;
    const char *key = o->key, *event_id = NULL;
    if (!o->raw) {
        if (produce_encode_line(schemas, f->name, (int)lineno, line, len, ev, buf, err,
                                sizeof err) != 0) {
            f->bad++;
            return 0;
        }
        value = buf->data;
        vlen = buf->len;
        key = o->key ? o->key : ev->incident_id;
        event_id = ev->event_id;
    }
    size_t keylen = key ? strlen(key) : 0, idlen = event_id ? strlen(event_id) : 0;
    kq_header h = {"mni.event_id", event_id, idlen};
    if (pace &&
        produce_pace_admit(pace, key, keylen, vlen + keylen + idlen + 100, err, sizeof err) != 0) {
        fprintf(stderr, "mni produce: %s line %ld: not sent: %s\n", f->name, lineno, err);
        f->undelivered++;
        return -1;
    }
    if (kq_produce(f->p, f->topic, key, keylen, value, vlen, &h, event_id ? 1 : 0, err,
                   sizeof err) != 0) {
        fprintf(stderr, "mni produce: %s line %ld: not sent: %s\n", f->name, lineno, err);
        f->undelivered++;
        /* A message refused for what it is (too large) spoils nothing else. */
        return kq_producer_take_refused(f->p) ? 0 : -1;
    }
    if (f->unchecked++ == 0) f->first_unchecked = lineno;
    f->last_sent = lineno;
    return 0;
}

/* Reads fd line by line and sends each line as it arrives; whenever the input pauses (no
 * complete line, nothing to read), what was sent is delivered and checked. */
static int produce_follow_run(const produce_opts *o, const config *cfg, const schema_set *schemas,
                              const char *topic, int fd, const char *name)
{
    char err[1024];
    produce_follow f = {.o = o, .name = name, .topic = topic};
    f.p = produce_producer(o, cfg);
    if (!f.p) return MNI_EXIT_USAGE;
    int pace_failed;
    produce_pace *pace = produce_pace_for(o, cfg, f.p, topic, follow_pace_flush, &f, &pace_failed);
    line_stream *in = line_stream_open(fd);
    mni_event ev;
    wire_buf buf;
    mni_event_init(&ev);
    wire_buf_init(&buf);
    f.stopped = pace_failed;
    if (!in) {
        fprintf(stderr, "mni produce: out of memory\n");
        f.stopped = 1;
    }
    int wait = 0;
    while (!f.stopped) {
        const char *line;
        size_t len;
        long lineno = 0;
        line_stream_result r = line_stream_next(in, wait, &line, &len, &lineno);
        wait = r == LINE_STREAM_IDLE;
        if (r == LINE_STREAM_IDLE) {
            f.stopped = follow_check(&f) != 0;
        } else if (r == LINE_STREAM_END) {
            break;
        } else if (r == LINE_STREAM_ERROR) {
            fprintf(stderr, "mni produce: %s: read failed after line %ld: %m\n", name, lineno);
            f.stopped = 1;
        } else if (r == LINE_STREAM_TOO_LONG) {
            fprintf(stderr, "mni produce: %s line %ld: longer than %u bytes; skipped\n", name,
                    lineno, LINE_STREAM_MAX_LINE);
            f.bad++;
        } else {
            f.stopped = follow_line(&f, pace, schemas, &ev, &buf, line, len, lineno) != 0;
        }
    }
    (void)follow_check(&f);
    produce_pace_report(o, pace);
    produce_pace_free(pace);
    if (kq_producer_close(f.p, 0, err, sizeof err) != 0 && f.undelivered == 0) {
        fprintf(stderr, "mni produce: delivery to %s failed: %s\n", topic, err);
        f.stopped = 1;
    }
    line_stream_close(in);
    mni_event_free(&ev);
    wire_buf_free(&buf);
    fprintf(stderr, "mni produce: %ld %s%s delivered to %s", f.delivered,
            o->raw ? "message" : "event", f.delivered == 1 ? "" : "s", topic);
    if (f.bad) fprintf(stderr, "; %ld bad line%s skipped", f.bad, f.bad == 1 ? "" : "s");
    if (f.undelivered) fprintf(stderr, "; %ld not delivered", f.undelivered);
    if (f.stopped) fprintf(stderr, "; stopped before the end of %s", name);
    fputc('\n', stderr);
    if (f.stopped || f.undelivered) return MNI_EXIT_FAILURE;
    return f.bad ? MNI_EXIT_USAGE : MNI_EXIT_OK;
}

/* 0 with o filled, 1 when --help was printed, -1 on a usage error (reported). */
static int produce_parse_args(int argc, char **argv, produce_opts *o)
{
    memset(o, 0, sizeof *o);
    o->input = "-";
    o->pace_group = "mni-ingest";
    o->pace_limit = PRODUCE_PACE_DEFAULT_LIMIT;
    o->pace_timeout_s = PRODUCE_PACE_DEFAULT_TIMEOUT_S;
    int have_input = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            produce_usage(stdout);
            return 1;
        } else if (!strcmp(a, "--raw")) {
            o->raw = 1;
        } else if (!strcmp(a, "--follow")) {
            o->follow = 1;
        } else if (!strcmp(a, "--no-pace")) {
            o->no_pace = 1;
        } else if (!strcmp(a, "--pace-limit") || !strcmp(a, "--pace-timeout")) {
            char *end = NULL;
            long long v = i + 1 < argc ? strtoll(argv[i + 1], &end, 10) : 0;
            int limit = a[7] == 'l';
            if (!end || *end || end == argv[i + 1] || v < (limit ? 4096 : 1) ||
                v > (limit ? 1LL << 40 : 86400)) {
                fprintf(stderr, "mni produce: %s needs %s\n", a,
                        limit ? "a number of bytes, at least 4096"
                              : "a number of seconds, 1 to 86400");
                return -1;
            }
            i++;
            if (limit) {
                o->pace_limit = v;
                o->pace_limit_given = 1;
            } else
                o->pace_timeout_s = (int)v;
        } else if (!strcmp(a, "--pace-group")) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "mni produce: %s needs a value\n", a);
                return -1;
            }
            o->pace_group = argv[++i];
        } else if (!strcmp(a, "--topic") || !strcmp(a, "--key") || !strcmp(a, "--config")) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "mni produce: %s needs a value\n", a);
                return -1;
            }
            const char **slot = a[2] == 't' ? &o->topic : a[2] == 'k' ? &o->key : &o->config_path;
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "mni produce: unknown option '%s' (see mni produce --help)\n", a);
            return -1;
        } else if (have_input++) {
            fprintf(stderr, "mni produce: one input only ('%s' is extra)\n", a);
            return -1;
        } else {
            o->input = a;
        }
    }
    return 0;
}

int cmd_produce(int argc, char **argv)
{
    produce_opts o;
    int parsed = produce_parse_args(argc, argv, &o);
    if (parsed != 0) return parsed > 0 ? MNI_EXIT_OK : MNI_EXIT_USAGE;

    char err[1024];
    const char *topic = o.topic, *bootstrap = NULL;
    config *cfg = config_new();
    if (!cfg) {
        fprintf(stderr, "mni produce: out of memory\n");
        return MNI_EXIT_FAILURE;
    }
    if (config_load(cfg, o.config_path, err, sizeof err) != 0 ||
        produce_pace_config(&o, cfg, err, sizeof err) != 0 ||
        (!topic && config_get_str(cfg, "topic.events", &topic, err, sizeof err) != 0) ||
        config_get_str(cfg, "kafka.bootstrap.servers", &bootstrap, err, sizeof err) != 0) {
        fprintf(stderr, "mni produce: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_USAGE;
    }

    schema_set *schemas = NULL;
    registry_client *registry = NULL;
    if (!o.raw && schema_source_open_writer(cfg, EVENTS_SCHEMA_INCIDENT_EVENT, &schemas, &registry,
                                            err, sizeof err) != 0) {
        fprintf(stderr, "mni produce: schemas: %s\n", err);
        config_free(cfg);
        return MNI_EXIT_FAILURE;
    }

    int from_stdin = !strcmp(o.input, "-");
    const char *name = from_stdin ? "(stdin)" : o.input;
    FILE *in = from_stdin ? stdin : fopen(o.input, "r");
    int rc;
    produce_batch batch = {0};
    if (!in) {
        fprintf(stderr, "mni produce: %s: cannot open: %m\n", o.input);
        rc = MNI_EXIT_FAILURE;
    } else if (o.follow) {
        rc = produce_follow_run(&o, cfg, schemas, topic, fileno(in), name);
        if (!from_stdin) fclose(in);
        schema_source_close(schemas, registry);
        config_free(cfg);
        return rc;
    } else {
        rc = produce_read(&o, schemas, in, name, &batch);
        if (!from_stdin) fclose(in);
    }
    if (rc == MNI_EXIT_OK) {
        rc = produce_send(&o, cfg, topic, &batch);
        if (rc == MNI_EXIT_OK)
            fprintf(stderr, "mni produce: %zu %s%s sent to %s\n", batch.n,
                    o.raw ? "message" : "event", batch.n == 1 ? "" : "s", topic);
    }
    produce_batch_free(&batch);
    schema_source_close(schemas, registry);
    config_free(cfg);
    return rc;
}
