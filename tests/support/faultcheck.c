/*
 * faultcheck: see faultcheck.h.
 */
#include "tests/support/faultcheck.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/topicio.h"

#define FC_TOPIC_TIMEOUT_MS 120000
#define FC_SHOW 3

/* Each table's rows as (key, content): content leaves out what only says when a row was
 * written, and the source offsets of an event (a replayed send gives it other offsets). */
static const struct {
    const char *cat, *sql;
} fc_tables[] = {
    {"pg:event_log", "SELECT event_id, jsonb_build_array(incident_id, tenant, client_id, kind, "
                     "occurred_at, body)::text FROM event_log"},
    {"pg:cases", "SELECT incident_id, (to_jsonb(t) - 'updated_at')::text FROM cases t"},
    {"pg:case_versions",
     "SELECT incident_id || ' v' || version, (to_jsonb(t) - 'created_at')::text "
     "FROM case_versions t"},
    {"pg:client_verdicts", "SELECT incident_id || ' ' || client_id || ' v' || version, "
                           "to_jsonb(t)::text FROM client_verdicts t"},
    {"pg:client_exposure", "SELECT incident_id || ' ' || client_id, (to_jsonb(t) - "
                           "'updated_at')::text FROM client_exposure t"},
    {"pg:exposure_batches", "SELECT incident_id || ' ' || client_id || ' ' || batch_id, "
                            "(to_jsonb(t) - 'merged_at')::text FROM exposure_batches t"},
    {"pg:exposure_tokens", "SELECT incident_id || ' ' || client_id, count(*) || ' ' || "
                           "md5(string_agg(encode(token, 'hex'), ',' ORDER BY token)) FROM "
                           "exposure_tokens GROUP BY 1"},
    {"pg:incident_persons", "SELECT incident_id, count(*) || ' ' || md5(string_agg(encode(token, "
                            "'hex'), ',' ORDER BY token)) FROM incident_persons GROUP BY 1"},
    {"pg:case_events", "SELECT event_id, (to_jsonb(t) - 'applied_at')::text FROM case_events t"},
    {"pg:case_steps", "SELECT incident_id || ' ' || step, to_jsonb(t)::text FROM case_steps t"},
    {"pg:case_filings", "SELECT event_id, to_jsonb(t)::text FROM case_filings t"},
    {"pg:deadlines", "SELECT incident_id || ' ' || coalesce(client_id, '-') || ' ' || kind, "
                     "(to_jsonb(t) - 'deadline_id' - 'created_at' - 'updated_at')::text FROM "
                     "deadlines t"},
    /* record is the message as sent, with the time it was queued: compared within a run
     * (faultcheck_add_topic: the topic holds the record), not across runs. The audit chain's
     * anchors (topic anchors) sign heads that depend on where batches were cut: left out, the
     * chain itself is compared by pg:audit_log and pg:audit_chain. */
    {"pg:outbox", "SELECT task_id, (to_jsonb(t) - 'created_at' - 'record' || "
                  "jsonb_build_object('published', failed_at IS NULL AND NOT EXISTS (SELECT "
                  "FROM outbox_queue q WHERE q.task_id = t.task_id)))::text FROM outbox t "
                  "WHERE topic <> 'anchors'"},
    {"pg:deliveries", "SELECT task_id || ' ' || channel || ' ' || format, (to_jsonb(t) - "
                      "'delivery_id' - 'rendered_at' - 'sent_at')::text FROM deliveries t"},
    {"pg:tickets", "SELECT ticket_id, (to_jsonb(t) - 'created_at' - 'updated_at')::text FROM "
                   "tickets t"},
    {"pg:audit_log", "SELECT action || ' ' || coalesce(incident_id, '-') || ' ' || "
                     "coalesce(client_id, '-') || ' ' || md5(payload::text), count(*)::text FROM "
                     "audit_log GROUP BY 1"},
    {"pg:audit_chain", "SELECT 'intact', (audit_log_verify() IS NULL)::text"},
    {"pg:consumer_gaps", "SELECT to_jsonb(t)::text, '' FROM consumer_gaps t"},
};

static void fc_digest(const void *data, size_t len, char out[33])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(data, len, d);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static faultcheck_item *fc_add(faultcheck_snapshot *s, const char *cat, const char *key,
                               const void *content, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        faultcheck_item *grown = realloc(s->items, cap * sizeof *grown);
        if (!grown) return NULL;
        s->items = grown;
        s->cap = cap;
    }
    faultcheck_item *it = &s->items[s->n];
    memset(it, 0, sizeof *it);
    snprintf(it->cat, sizeof it->cat, "%s", cat);
    if (!(it->key = strdup(key))) return NULL;
    fc_digest(content, len, it->digest);
    it->copies = 1;
    s->n++;
    return it;
}

int faultcheck_add_pg(faultcheck_snapshot *s, PGconn *pg)
{
    for (size_t t = 0; t < sizeof fc_tables / sizeof fc_tables[0]; t++) {
        PGresult *res = PQexec(pg, fc_tables[t].sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fprintf(stderr, "faultcheck: %s: %s", fc_tables[t].cat, PQerrorMessage(pg));
            PQclear(res);
            return -1;
        }
        for (int r = 0; r < PQntuples(res); r++) {
            const char *content = PQgetvalue(res, r, 1);
            faultcheck_item *it =
                fc_add(s, fc_tables[t].cat, PQgetvalue(res, r, 0), content, strlen(content));
            if (!it || !(it->text = strdup(content))) {
                PQclear(res);
                return -1;
            }
        }
        PQclear(res);
    }
    return 0;
}

static int fc_cmp(const void *a, const void *b)
{
    const faultcheck_item *x = a, *y = b;
    int c = strcmp(x->cat, y->cat);
    return c ? c : strcmp(x->key, y->key);
}

/* The id a topic's messages are de-duplicated by (faultcheck.h). */
static void fc_topic_key(const char *topic, const topicio_message *m, char *key, size_t keylen)
{
    char id[256], reason[64], detail[512], vd[33];
    if (!strcmp(topic, "incident.accepted")) {
        topicio_header(m, "mni.event_id", id, sizeof id);
        snprintf(key, keylen, "%s", id);
    } else if (!strcmp(topic, "incident.dlq")) {
        topicio_header(m, "mni.reason", reason, sizeof reason);
        topicio_header(m, "mni.event_id", id, sizeof id);
        topicio_header(m, "mni.detail", detail, sizeof detail);
        /* A detail may name the offset a message came at, which a replayed send moves. */
        size_t o = 0;
        for (size_t i = 0; detail[i]; i++)
            if (!(detail[i] >= '0' && detail[i] <= '9' && o > 0 && detail[o - 1] == '#'))
                detail[o++] = detail[i] >= '0' && detail[i] <= '9' ? '#' : detail[i];
        detail[o] = '\0';
        fc_digest(m->value ? m->value : "", m->value ? m->value_len : 0, vd);
        if (!strcmp(reason, "conflicting_duplicate"))
            detail[0] = '\0'; /* says whether the first one was in the same batch */
        snprintf(key, keylen, "%s %.*s %s %s %.8s", reason,
                 (int)(m->key_len > 64 ? 64 : m->key_len), m->key ? (const char *)m->key : "", id,
                 detail, vd);
    } else {
        topicio_header(m, "mni.task_id", id, sizeof id);
        snprintf(key, keylen, "%s", id);
    }
}

/* The version at the end of an assessment's task id (A-<incident>-<version>). */
static long fc_version(const char *task_id)
{
    const char *dash = strrchr(task_id, '-');
    return dash ? atol(dash + 1) : -1;
}

int faultcheck_add_topic(faultcheck_snapshot *s, const char *bootstrap, const char *topic,
                         int partitions)
{
    topicio_messages msgs;
    if (topicio_read_to_end(bootstrap, topic, partitions, FC_TOPIC_TIMEOUT_MS, &msgs) != 0)
        return -1;
    /* A partition whose first message is not at offset 0 lost its oldest messages to the
     * mock's ~5 MiB retention: the stream is too large for the comparison to mean anything. */
    for (int p = 0; p < partitions; p++) {
        int64_t lowest = -1;
        for (size_t i = 0; i < msgs.n; i++)
            if (msgs.msgs[i].partition == p && (lowest < 0 || msgs.msgs[i].offset < lowest))
                lowest = msgs.msgs[i].offset;
        if (lowest > 0) {
            fprintf(stderr,
                    "faultcheck: %s [%d] starts at offset %lld: the mock cluster dropped older "
                    "messages (about 5 MiB per partition); make the stream smaller\n",
                    topic, p, (long long)lowest);
            s->conflicting++;
        }
    }
    char cat[40], key[1024];
    snprintf(cat, sizeof cat, "topic:%s", topic);
    size_t first = s->n;
    int rc = 0;
    int compacted = !strcmp(topic, "case.assessments");
    for (size_t i = 0; i < msgs.n && rc == 0; i++) {
        const topicio_message *m = &msgs.msgs[i];
        fc_topic_key(topic, m, key, sizeof key);
        if (compacted) {
            /* Compacted by incident, and the relay skips a version a newer one of the same
             * claim supersedes (lib/runtime/outbox.c): what must match is each incident's
             * newest assessment (task id A-<incident>-<version>), not every version. */
            long version = fc_version(key), newest = version;
            for (size_t j = 0; j < msgs.n; j++) {
                char other[1024];
                fc_topic_key(topic, &msgs.msgs[j], other, sizeof other);
                if (msgs.msgs[j].key_len == m->key_len &&
                    !memcmp(msgs.msgs[j].key, m->key, m->key_len) && fc_version(other) > newest)
                    newest = fc_version(other);
            }
            if (version != newest) continue;
            if (!fc_add(s, cat, key, key, strlen(key))) rc = -1;
            continue;
        }
        if (!fc_add(s, cat, key, m->value ? m->value : "", m->value ? m->value_len : 0)) rc = -1;
    }
    topicio_messages_free(&msgs);
    if (rc != 0) return -1;
    /* Folds the copies of one id into one item. */
    qsort(s->items + first, s->n - first, sizeof *s->items, fc_cmp);
    size_t out = first;
    for (size_t i = first; i < s->n; i++) {
        if (out > first && !strcmp(s->items[out - 1].key, s->items[i].key)) {
            s->items[out - 1].copies++;
            s->redelivered++;
            if (strcmp(s->items[out - 1].digest, s->items[i].digest) != 0) {
                fprintf(stderr, "faultcheck: %s: copies of %s differ\n", topic, s->items[i].key);
                s->conflicting++;
            }
            free(s->items[i].key);
            free(s->items[i].text);
            continue;
        }
        s->items[out++] = s->items[i];
    }
    s->n = out;
    /* An outbox topic's message holds the time its row was queued (created_at): its content
     * is compared across runs through the row's payload (pg:outbox), its id here. */
    int outbox_topic =
        !compacted && strcmp(topic, "incident.accepted") != 0 && strcmp(topic, "incident.dlq") != 0;
    for (size_t i = first; outbox_topic && i < s->n; i++)
        s->items[i].digest[0] = '\0';
    return 0;
}

long faultcheck_count(const faultcheck_snapshot *s, const char *cat, const char *prefix)
{
    long n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += !strcmp(s->items[i].cat, cat) &&
             (!prefix || !strncmp(s->items[i].key, prefix, strlen(prefix)));
    return n;
}

/* Where two rows' contents part, with a little context. */
static void fc_show_difference(FILE *out, const char *a, const char *b)
{
    if (!a || !b) return;
    size_t at = 0;
    while (a[at] && a[at] == b[at])
        at++;
    size_t from = at > 60 ? at - 60 : 0;
    fprintf(out, "faults:     reference ...%.140s\nfaults:     this run  ...%.140s\n", a + from,
            b + from);
}

static int fc_known(const char *const *known, const char *cat, const char *key)
{
    for (size_t i = 0; known && known[i]; i++) {
        size_t clen = strcspn(known[i], " ");
        if (strlen(cat) != clen || strncmp(cat, known[i], clen) != 0) continue;
        const char *prefix = known[i][clen] ? known[i] + clen + 1 : "";
        if (!strncmp(key, prefix, strlen(prefix))) return 1;
    }
    return 0;
}

faultcheck_diff faultcheck_compare(faultcheck_snapshot *ref, faultcheck_snapshot *got,
                                   const char *const *known, FILE *out)
{
    faultcheck_diff total = {0};
    qsort(ref->items, ref->n, sizeof *ref->items, fc_cmp);
    qsort(got->items, got->n, sizeof *got->items, fc_cmp);
    size_t i = 0, j = 0;
    while (i < ref->n || j < got->n) {
        const char *cat =
            i < ref->n && (j >= got->n || strcmp(ref->items[i].cat, got->items[j].cat) <= 0)
                ? ref->items[i].cat
                : got->items[j].cat;
        faultcheck_diff d = {0};
        long n_ref = 0, n_got = 0;
        for (;;) {
            int in_ref = i < ref->n && !strcmp(ref->items[i].cat, cat);
            int in_got = j < got->n && !strcmp(got->items[j].cat, cat);
            if (!in_ref && !in_got) break;
            int c = !in_ref ? 1 : !in_got ? -1 : strcmp(ref->items[i].key, got->items[j].key);
            const faultcheck_item *a = c <= 0 ? &ref->items[i] : NULL;
            const faultcheck_item *b = c >= 0 ? &got->items[j] : NULL;
            if (a) i++, n_ref++;
            if (b) j++, n_got++;
            if (a && b && !strcmp(a->digest, b->digest)) continue;
            const char *key = a ? a->key : b->key;
            long *counter = fc_known(known, cat, key) ? &d.known
                            : !b                      ? &d.lost
                            : !a                      ? &d.duplicated
                                                      : &d.differing;
            if ((*counter)++ >= FC_SHOW) continue;
            fprintf(out, "faults:   %s %s%s: %s\n", cat,
                    !b   ? "lost"
                    : !a ? "extra"
                         : "differs",
                    counter == &d.known ? " (known)" : "", key);
            if (a && b) fc_show_difference(out, a->text, b->text);
        }
        if (d.lost || d.duplicated || d.differing || d.known)
            fprintf(out,
                    "faults: %-26s reference %6ld, this run %6ld: lost %ld, extra %ld, "
                    "differing %ld, known %ld\n",
                    cat, n_ref, n_got, d.lost, d.duplicated, d.differing, d.known);
        total.lost += d.lost;
        total.duplicated += d.duplicated;
        total.differing += d.differing;
        total.known += d.known;
    }
    return total;
}

void faultcheck_free(faultcheck_snapshot *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].key);
        free(s->items[i].text);
    }
    free(s->items);
    memset(s, 0, sizeof *s);
}
