/*
 * faultstream: see faultstream.h.
 */
#include "tests/support/faultstream.h"

#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/model/events_json.h"
#include "rules/mynumber.h"

#define FS_CLIENTS 8
#define FS_LINE_MAX 16384
/* 2026-11-18T10:00:00+09:00 */
#define FS_T0_MS 1794963600000LL
#define FS_MINUTE_MS 60000LL

typedef struct {
    char **lines;
    size_t n, cap, next;
} fs_incident;

/* xorshift64*: the stream depends on the seed only. */
static uint64_t fs_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int fs_between(uint64_t *state, int lo, int hi)
{
    return lo + (int)(fs_rand(state) % (uint64_t)(hi - lo + 1));
}

static void fs_time(long long ms, char out[MNI_EVENT_TIME_LEN])
{
    if (mni_event_time_format(ms, out) != 0) snprintf(out, MNI_EVENT_TIME_LEN, "invalid");
}

static int fs_add(fs_incident *inc, const char *line)
{
    if (inc->n == inc->cap) {
        size_t cap = inc->cap ? inc->cap * 2 : 16;
        char **grown = realloc(inc->lines, cap * sizeof *grown);
        if (!grown) return -1;
        inc->lines = grown;
        inc->cap = cap;
    }
    inc->lines[inc->n] = strdup(line);
    return inc->lines[inc->n++] ? 0 : -1;
}

static void fs_token(int incident, int person, char out[65])
{
    char key[64];
    unsigned char d[SHA256_DIGEST_LENGTH];
    int n = snprintf(key, sizeof key, "faults-person-%d-%d", incident, person);
    SHA256((const unsigned char *)key, (size_t)n, d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A valid My Number, made at run time from the seed (never in the source). */
static void fs_number(uint64_t *state, char out[13])
{
    int d[11];
    for (int i = 0; i < 11; i++) {
        d[i] = fs_between(state, 0, 9);
        out[i] = (char)('0' + d[i]);
    }
    out[11] = (char)('0' + mynumber_check_digit(d));
    out[12] = '\0';
}

static const char fs_opened_body[] =
    "{\"known_at\":\"%s\",\"title\":\"faults incident %d\",\"reporter\":{\"role\":\"contractor\","
    "\"number_use_entity\":false,\"public_body_system\":false},\"kinds\":[\"%s\"],"
    "\"certainty\":\"%s\",\"improper_purpose\":\"%s\",\"systems\":[],\"unspecified_viewing\":"
    "\"%s\",\"encrypted_protected\":false,\"recovered_unviewed\":%s,\"intact_copy\":false,"
    "\"appi_sensitive\":false,\"appi_financial_risk\":false,\"description\":\"generated\"}";

/* Appends one event line: envelope around body. */
static int fs_event(fs_incident *inc, const char *event_id, const char *incident_id,
                    long long at_ms, const char *type, const char *body)
{
    char at[MNI_EVENT_TIME_LEN], *line = malloc(FS_LINE_MAX);
    if (!line) return -1;
    fs_time(at_ms, at);
    snprintf(line, FS_LINE_MAX,
             "{\"event_id\":\"%s\",\"incident_id\":\"%s\",\"tenant\":\"bpo-faults\","
             "\"occurred_at\":\"%s\",\"producer\":\"faults\",\"type\":\"%s\",\"body\":%s}",
             event_id, incident_id, at, type, body);
    int rc = fs_add(inc, line);
    free(line);
    return rc;
}

/* All events of incident i (1-based) into inc. */
static int fs_incident_events(faultstream *s, uint64_t *st, int i, fs_incident *inc)
{
    char id[32], ev[64], at[MNI_EVENT_TIME_LEN], tok[65];
    char *body = malloc(FS_LINE_MAX);
    if (!body) return -1;
    snprintf(id, sizeof id, "INC-F-%04d", i);
    long long t = FS_T0_MS + (long long)i * 40 * FS_MINUTE_MS;
    int seq = 0, rc = 0;
    fs_time(t - 10 * FS_MINUTE_MS, at);
    snprintf(body, FS_LINE_MAX, fs_opened_body, at, i, fs_between(st, 0, 3) ? "leak" : "loss",
             fs_between(st, 0, 2) ? "possible" : "confirmed",
             fs_between(st, 0, 4) ? "none" : "confirmed", "none", "false");
    snprintf(ev, sizeof ev, "%s-%02d", id, ++seq);
    rc |= fs_event(inc, ev, id, t, "incident_opened", body);

    /* Manifests: two to four clients drawing persons from one pool, so they overlap. */
    int clients = fs_between(st, 2, 4), first_client = fs_between(st, 1, FS_CLIENTS);
    int pool = fs_between(st, 20, 160);
    for (int c = 0; c < clients && rc == 0; c++) {
        int client = (first_client + c - 1) % FS_CLIENTS + 1;
        int manifests = fs_between(st, 1, 2);
        for (int m = 0; m < manifests && rc == 0; m++) {
            int tokens = fs_between(st, 3, 60);
            size_t len = (size_t)snprintf(body, FS_LINE_MAX,
                                          "{\"client_id\":\"C-%02d\",\"batch_id\":\"b-%d-%d-%d\","
                                          "\"tokens\":[",
                                          client, i, c, m);
            for (int k = 0; k < tokens; k++) {
                fs_token(i, fs_between(st, 0, pool - 1), tok);
                len +=
                    (size_t)snprintf(body + len, FS_LINE_MAX - len, "%s\"%s\"", k ? "," : "", tok);
            }
            snprintf(body + len, FS_LINE_MAX - len, "]%s}",
                     m == 0 && c == 0 ? ",\"contract_notice_hours\":24" : "");
            snprintf(ev, sizeof ev, "%s-%02d", id, ++seq);
            rc |= fs_event(inc, ev, id, t + seq * 30 * FS_MINUTE_MS, "exposure_manifest", body);
        }
    }
    /* A client of its own: counts are for clients whose tokens are unknown. */
    snprintf(body, FS_LINE_MAX, "{\"client_id\":\"C-%02d\",\"persons\":%d}",
             (first_client - 1 + clients) % FS_CLIENTS + 1, fs_between(st, 1, 150));
    snprintf(ev, sizeof ev, "%s-%02d", id, ++seq);
    rc |= fs_event(inc, ev, id, t + seq * 30 * FS_MINUTE_MS, "exposure_count", body);

    if (fs_between(st, 0, 7) == 0) {
        char number[13];
        fs_number(st, number);
        snprintf(body, FS_LINE_MAX, "{\"description\":\"番号 %s を含む報告\"}", number);
        snprintf(ev, sizeof ev, "%s-%02d", id, ++seq);
        rc |= fs_event(inc, ev, id, t + seq * 30 * FS_MINUTE_MS, "facts_updated", body);
        s->expect_raw_my_number++;
    }
    snprintf(body, FS_LINE_MAX, "{\"certainty\":\"confirmed\"}");
    snprintf(ev, sizeof ev, "%s-%02d", id, ++seq);
    rc |= fs_event(inc, ev, id, t + seq * 30 * FS_MINUTE_MS, "facts_updated", body);

    fs_time(t + 20 * FS_MINUTE_MS, at);
    snprintf(body, FS_LINE_MAX,
             "{\"step\":\"internal_report_containment\",\"completed_at\":\"%s\",\"note\":\"done\"}",
             at);
    char step_id[64];
    snprintf(step_id, sizeof step_id, "%s-%02d", id, ++seq);
    rc |= fs_event(inc, step_id, id, t + seq * 30 * FS_MINUTE_MS, "response_step_completed", body);
    if (fs_between(st, 0, 5) == 0) { /* the same id again, other content */
        snprintf(body, FS_LINE_MAX,
                 "{\"step\":\"internal_report_containment\",\"completed_at\":\"%s\",\"note\":"
                 "\"forged\"}",
                 at);
        rc |= fs_event(inc, step_id, id, t + seq * 30 * FS_MINUTE_MS, "response_step_completed",
                       body);
        s->expect_conflicting++;
    }
    fs_time(t + (seq + 1) * 30 * FS_MINUTE_MS, at);
    snprintf(body, FS_LINE_MAX,
             "{\"report\":\"client_notice\",\"client_id\":\"C-%02d\",\"filed_at\":\"%s\","
             "\"reference\":\"N-%d\"}",
             first_client, at, i);
    snprintf(ev, sizeof ev, "%s-%02d", id, ++seq);
    rc |= fs_event(inc, ev, id, t + seq * 30 * FS_MINUTE_MS, "report_filed", body);
    if (fs_between(st, 0, 3) == 0) {
        snprintf(ev, sizeof ev, "%s-%02d", id, ++seq);
        rc |= fs_event(inc, ev, id, t + seq * 30 * FS_MINUTE_MS, "incident_closed",
                       "{\"reason\":\"closed\",\"note\":\"\"}");
    }
    s->incidents++;
    free(body);
    return rc;
}

/* An incident_opened whose facts the core refuses: recovered unviewed, yet viewed. */
static int fs_invalid_incident(faultstream *s, int i, fs_incident *inc)
{
    char id[32], ev[64], at[MNI_EVENT_TIME_LEN], body[2048];
    snprintf(id, sizeof id, "INC-FX-%04d", i);
    snprintf(ev, sizeof ev, "%s-01", id);
    long long t = FS_T0_MS + (long long)i * 40 * FS_MINUTE_MS;
    fs_time(t - 10 * FS_MINUTE_MS, at);
    snprintf(body, sizeof body, fs_opened_body, at, i, "leak", "possible", "none", "viewed",
             "true");
    s->expect_invalid_facts++;
    return fs_event(inc, ev, id, t, "incident_opened", body);
}

void faultstream_path(const faultstream *s, int k, int raw, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s-%03d.%s", s->dir, raw ? "raw" : "events", k,
             raw ? "txt" : "jsonl");
}

static int fs_write_chunks(faultstream *s, uint64_t *st, fs_incident *incs, int n, long total)
{
    long per_chunk = (total + s->chunks - 1) / s->chunks, written = 0;
    char path[512];
    FILE *f = NULL;
    int k = -1, rc = 0;
    for (;;) {
        /* A random incident with events left: order within an incident is kept. */
        int left = 0;
        for (int i = 0; i < n; i++)
            left += incs[i].next < incs[i].n;
        if (left == 0) break;
        int pick = fs_between(st, 0, left - 1), i = 0;
        for (;; i++)
            if (incs[i].next < incs[i].n && pick-- == 0) break;
        if (!f || written >= per_chunk * (k + 1)) {
            if (f && fclose(f) != 0) rc = -1;
            faultstream_path(s, ++k, 0, path, sizeof path);
            if (!(f = fopen(path, "w"))) return -1;
        }
        fprintf(f, "%s\n", incs[i].lines[incs[i].next++]);
        written++;
    }
    if (f && fclose(f) != 0) rc = -1;
    s->chunks = k + 1;
    /* Junk lines in every third chunk, each unique. */
    for (int c = 0; c < s->chunks && rc == 0; c += 3) {
        faultstream_path(s, c, 1, path, sizeof path);
        if (!(f = fopen(path, "w"))) return -1;
        for (int j = 0; j < 2; j++, s->raw_lines++)
            fprintf(f, "faults: this is not an event (chunk %d, line %d)\n", c, j);
        s->has_raw[c] = 1;
        if (fclose(f) != 0) rc = -1;
    }
    return rc;
}

int faultstream_write(faultstream *s, unsigned seed, int incidents, int chunks)
{
    memset(s, 0, sizeof *s);
    if (chunks < 1 || chunks > FAULTSTREAM_MAX_CHUNKS) return -1;
    s->chunks = chunks;
    snprintf(s->dir, sizeof s->dir, "/tmp/mni-faults-XXXXXX");
    if (!mkdtemp(s->dir)) {
        perror("faultstream: mkdtemp");
        return -1;
    }
    uint64_t st = 0x9E3779B97F4A7C15ULL ^ seed;
    int n = incidents + incidents / 10;
    fs_incident *incs = calloc((size_t)n, sizeof *incs);
    int rc = incs ? 0 : -1;
    long total = 0;
    for (int i = 0; i < incidents && rc == 0; i++)
        rc = fs_incident_events(s, &st, i + 1, &incs[i]);
    for (int i = incidents; i < n && rc == 0; i++)
        rc = fs_invalid_incident(s, i + 1, &incs[i]);
    for (int i = 0; i < n && rc == 0; i++)
        total += (long)incs[i].n;
    s->events = total;
    if (rc == 0) rc = fs_write_chunks(s, &st, incs, n, total);
    for (int i = 0; incs && i < n; i++) {
        for (size_t j = 0; j < incs[i].n; j++)
            free(incs[i].lines[j]);
        free(incs[i].lines);
    }
    free(incs);
    if (rc != 0) fprintf(stderr, "faultstream: cannot write the stream into %s\n", s->dir);
    return rc;
}

void faultstream_remove(faultstream *s)
{
    char path[512];
    for (int k = 0; k < s->chunks; k++)
        for (int raw = 0; raw < 2; raw++) {
            faultstream_path(s, k, raw, path, sizeof path);
            unlink(path);
        }
    if (s->dir[0]) rmdir(s->dir);
    s->dir[0] = '\0';
}
