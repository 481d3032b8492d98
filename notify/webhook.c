/*
 * webhook: see webhook.h. The SQL is kept as named constants at the top.
 */
#include "notify/webhook.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/base/digest.h"
#include "lib/base/log.h"
#include "lib/base/monoclock.h"
#include "lib/model/json_text.h"
#include "lib/pg/pgx.h"
#include "lib/runtime/audit.h"
#include "notify/notify_store.h"

/* $1 how many, $2 the lease in ms. The body is the ticket as the tickets topic carries it,
 * plus its incident, case version and channels. */
static const char *const claim_sql =
    "UPDATE tickets t SET webhook_next_at = now() + $2::bigint * interval '1 millisecond'"
    " FROM (SELECT ticket_id FROM tickets WHERE webhook_state = 'pending'"
    "   AND webhook_next_at <= now() ORDER BY webhook_next_at, ticket_id LIMIT $1::integer"
    "   FOR UPDATE SKIP LOCKED) due"
    " WHERE t.ticket_id = due.ticket_id"
    " RETURNING t.ticket_id, t.webhook_attempts + 1,"
    " json_build_object('ticket_id', t.ticket_id, 'task_id', t.task_id,"
    "   'incident_id', t.incident_id, 'client_id', t.client_id, 'kind', t.kind,"
    "   'title', t.title, 'summary', t.body->'summary', 'due_date', t.body->'due_date',"
    "   'due_at', t.body->'due_at', 'document_ref', t.body->'document_ref',"
    "   'case_version', t.body->'case_version', 'channels', t.body->'channels',"
    "   'created_at', mni_jst(t.created_at))::text";

/* $1: [{ticket_id, attempt, started_ms, latency_ms, http_status, error, outcome, next_ms}].
 * Only tickets still at attempt - 1 move (compare-and-set); their attempts are recorded.
 * Returns how many were recorded and the audit rows (lib/runtime/audit.h) of the tickets done,
 * delivered or failed. */
static const char *const record_sql =
    "WITH r AS (SELECT * FROM json_to_recordset($1::json) AS x(ticket_id text, attempt integer,"
    "   started_ms bigint, latency_ms integer, http_status integer, error text, outcome text,"
    "   next_ms bigint)),"
    " moved AS (UPDATE tickets t SET webhook_attempts = r.attempt,"
    "   webhook_state = CASE r.outcome WHEN 'retry' THEN 'pending' ELSE r.outcome END,"
    "   webhook_next_at = CASE WHEN r.outcome = 'retry'"
    "     THEN now() + r.next_ms * interval '1 millisecond' END,"
    "   webhook_done_at = CASE WHEN r.outcome <> 'retry' THEN now() END, updated_at = now()"
    "   FROM r WHERE t.ticket_id = r.ticket_id AND t.webhook_state = 'pending'"
    "   AND t.webhook_attempts = r.attempt - 1"
    "   RETURNING t.ticket_id, t.incident_id, t.client_id, t.webhook_next_at, r.attempt,"
    "   r.started_ms, r.latency_ms, r.http_status, r.error, r.outcome),"
    " attempts AS (INSERT INTO ticket_webhook_attempts (ticket_id, attempt, incident_id,"
    "   client_id, started_at, latency_ms, http_status, error, outcome, next_at)"
    "   SELECT ticket_id, attempt, incident_id, client_id,"
    "   to_timestamp(started_ms / 1000.0), latency_ms, http_status, error, outcome,"
    "   webhook_next_at FROM moved RETURNING ticket_id)"
    " SELECT (SELECT count(*) FROM attempts),"
    "   (SELECT coalesce(jsonb_agg(jsonb_build_object('action', 'ticket_webhook_' || outcome,"
    "   'incident_id', incident_id, 'client_id', client_id,"
    "   'payload', jsonb_build_object('ticket_id', ticket_id, 'attempts', attempt,"
    "   'http_status', http_status)) ORDER BY ticket_id), '[]')"
    "   FROM moved WHERE outcome <> 'retry')::text";

webhook_outcome webhook_judge(int http_status, int attempt, long long max_attempts)
{
    if (http_status >= 200 && http_status < 300) return WEBHOOK_DELIVERED;
    int transient = http_status == 0 || http_status == 408 || http_status == 425 ||
                    http_status == 429 || (http_status >= 500 && http_status < 600);
    if (!transient) return WEBHOOK_FAILED;
    return attempt < max_attempts ? WEBHOOK_RETRY : WEBHOOK_FAILED;
}

long long webhook_backoff_ms(int attempt, long long base, long long max, uint32_t random)
{
    if (base < 1) base = 1;
    if (max < base) max = base;
    long long d = base;
    for (int i = 1; i < attempt && d < max; i++)
        d = d > max / 2 ? max : d * 2;
    if (d > max) d = max;
    long long half = d / 2;
    return (d - half) + (long long)(random % (uint64_t)(half + 1));
}

/* ---- one request ---- */

typedef struct {
    char *ticket_id, *body;
    int attempt;
    long long started_ms;   /* wall clock, for the record */
    long long started_mono; /* monotonic, for the latency */
    struct curl_slist *headers;
    CURL *easy;
    long long retry_after_ms; /* from a Retry-After header in seconds, else 0 */
    /* The outcome. */
    int http_status;
    long long latency_ms;
    char error[256];
} webhook_item;

/* The wall clock: when the delivery was tried, as a person reads it (its duration is
 * monoclock's). */
static long long wall_clock_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static size_t discard_body(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n; /* the receiver's body is not ours to keep */
}

static size_t read_header(char *line, size_t size, size_t n, void *arg)
{
    webhook_item *it = arg;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof name && !strncasecmp(line, name, sizeof name - 1)) {
        char value[32];
        size_t v = len - (sizeof name - 1);
        if (v >= sizeof value) v = sizeof value - 1;
        memcpy(value, line + sizeof name - 1, v);
        value[v] = '\0';
        char *end;
        long long secs = strtoll(value, &end, 10);
        if (end != value && secs > 0 && secs < 86400) it->retry_after_ms = secs * 1000;
    }
    return len;
}

/* "sha256=" + hex HMAC-SHA256 of body under secret. */
static void signature(const char *secret, const char *body, char out[7 + 65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, strlen(body), mac,
         &len);
    memcpy(out, "sha256=", 7);
    digest_hex(mac, len < 32 ? len : 32, out + 7);
}

/* A header value must not carry a line break or other control character. */
static int header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
    return 1;
}

static int item_prepare(webhook_item *it, const webhook_config *cfg)
{
    char line[512], sig[7 + 65];
    it->easy = curl_easy_init();
    if (!it->easy) return -1;
    snprintf(line, sizeof line, "Idempotency-Key: %s", it->ticket_id);
    it->headers = curl_slist_append(it->headers, "Content-Type: application/json");
    it->headers = curl_slist_append(it->headers, line);
    snprintf(line, sizeof line, "X-Mni-Attempt: %d", it->attempt);
    it->headers = curl_slist_append(it->headers, line);
    if (cfg->secret && *cfg->secret) {
        signature(cfg->secret, it->body, sig);
        snprintf(line, sizeof line, "X-Mni-Signature: %s", sig);
        it->headers = curl_slist_append(it->headers, line);
    }
    if (cfg->auth_token && *cfg->auth_token) {
        char *auth = NULL;
        if (asprintf(&auth, "Authorization: Bearer %s", cfg->auth_token) < 0) return -1;
        it->headers = curl_slist_append(it->headers, auth);
        free(auth);
    }
    /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
    it->headers = curl_slist_append(it->headers, "Expect:");
    if (!it->headers) return -1;
    CURL *h = it->easy;
    curl_easy_setopt(h, CURLOPT_URL, cfg->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(it->body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, it->headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "mni-notify");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, read_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, it);
    curl_easy_setopt(h, CURLOPT_PRIVATE, it);
    if (cfg->ca_file && *cfg->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    return 0;
}

static void item_done(webhook_item *it, CURLcode rc)
{
    long code = 0;
    curl_easy_getinfo(it->easy, CURLINFO_RESPONSE_CODE, &code);
    /* Measured here rather than with CURLINFO_TOTAL_TIME, which a transfer that timed out
     * while connecting leaves at 0. */
    it->latency_ms = monoclock_ms() - it->started_mono;
    if (rc != CURLE_OK) {
        it->http_status = 0;
        snprintf(it->error, sizeof it->error, "%s", curl_easy_strerror(rc));
    } else {
        it->http_status = code >= 100 && code <= 599 ? (int)code : 0;
        if (!it->http_status) snprintf(it->error, sizeof it->error, "no HTTP status");
    }
}

/* Sends every item at once; returns when each has an outcome. */
static int send_all(webhook_item *items, size_t n, const webhook_config *cfg, char *err,
                    size_t errlen)
{
    CURLM *multi = curl_multi_init();
    if (!multi) {
        snprintf(err, errlen, "webhook: curl_multi_init failed");
        return -1;
    }
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        items[i].started_ms = wall_clock_ms();
        items[i].started_mono = monoclock_ms();
        if (!header_safe(items[i].ticket_id)) {
            snprintf(items[i].error, sizeof items[i].error,
                     "ticket_id: holds a control character, cannot be a header value");
            items[i].http_status = -1; /* refused here: failed, never sent */
            continue;
        }
        if (item_prepare(&items[i], cfg) != 0 ||
            curl_multi_add_handle(multi, items[i].easy) != CURLM_OK) {
            snprintf(items[i].error, sizeof items[i].error, "out of memory preparing the request");
            continue; /* counted as no answer: tried again later */
        }
        added++;
    }
    int running = (int)added;
    while (running > 0) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                char *priv = NULL;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
                if (priv) item_done((webhook_item *)priv, msg->data.result);
            }
        if (running > 0 && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK) break;
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].easy) curl_multi_remove_handle(multi, items[i].easy);
    curl_multi_cleanup(multi);
    return 0;
}

/* ---- the pass ---- */

static const char *outcome_name(webhook_outcome o)
{
    return o == WEBHOOK_DELIVERED ? "delivered" : o == WEBHOOK_RETRY ? "retry" : "failed";
}

static json_t *attempt_row(const webhook_item *it, const webhook_config *cfg, webhook_counts *c)
{
    webhook_outcome o = it->http_status < 0
                            ? WEBHOOK_FAILED
                            : webhook_judge(it->http_status, it->attempt, cfg->max_attempts);
    long long next = 0;
    char error[320] = "";
    if (it->http_status > 0 && o != WEBHOOK_DELIVERED)
        snprintf(error, sizeof error, "HTTP %d", it->http_status);
    else if (it->error[0])
        snprintf(error, sizeof error, "%s", it->error);
    if (o == WEBHOOK_RETRY) {
        next = webhook_backoff_ms(it->attempt, cfg->backoff_ms, cfg->backoff_max_ms, arc4random());
        long long cap =
            cfg->backoff_max_ms > cfg->backoff_ms ? cfg->backoff_max_ms : cfg->backoff_ms;
        if (it->retry_after_ms > next) next = it->retry_after_ms < cap ? it->retry_after_ms : cap;
        c->retried++;
    } else if (o == WEBHOOK_FAILED) {
        if (it->http_status >= 0 &&
            (it->http_status == 0 || webhook_judge(it->http_status, 1, 2) == WEBHOOK_RETRY)) {
            size_t len = strlen(error);
            snprintf(error + len, sizeof error - len, "%sgiven up after %d attempts",
                     len ? "; " : "", it->attempt);
        } else if (it->http_status > 0) {
            size_t len = strlen(error);
            snprintf(error + len, sizeof error - len, "; refused, not retried");
        }
        c->failed++;
    } else {
        c->delivered++;
    }
    log_info("webhook attempt", LOG_STR("ticket_id", it->ticket_id),
             LOG_INT("attempt", it->attempt),
             LOG_INT("http_status", it->http_status > 0 ? it->http_status : 0),
             LOG_INT("latency_ms", it->latency_ms), LOG_STR("outcome", outcome_name(o)),
             LOG_STR("error", error[0] ? error : NULL), LOG_INT("next_ms", next), LOG_END);
    json_t *row =
        json_pack("{s:s, s:i, s:I, s:I, s:o, s:o, s:s, s:o}", "ticket_id", it->ticket_id, "attempt",
                  it->attempt, "started_ms", (json_int_t)it->started_ms, "latency_ms",
                  (json_int_t)it->latency_ms, "http_status",
                  it->http_status > 0 ? json_integer(it->http_status) : json_null(), "error",
                  error[0] ? json_string(error) : json_null(), "outcome", outcome_name(o),
                  "next_ms", o == WEBHOOK_RETRY ? json_integer(next) : json_null());
    return row;
}

static void items_free(webhook_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].easy) curl_easy_cleanup(items[i].easy);
        curl_slist_free_all(items[i].headers);
        free(items[i].ticket_id);
        free(items[i].body);
    }
    free(items);
}

int webhook_run(PGconn *pg, const webhook_config *cfg, webhook_counts *counts, char *err,
                size_t errlen)
{
    memset(counts, 0, sizeof *counts);
    if (!cfg->url || !*cfg->url) return 0;
    char batch[16], lease[32];
    snprintf(batch, sizeof batch, "%d", cfg->batch > 0 ? cfg->batch : 1);
    snprintf(lease, sizeof lease, "%lld", cfg->timeout_ms + 5000);
    const char *p[] = {batch, lease};
    PGresult *res = pgx_query(pg, "webhook.claim", claim_sql, 2, p, err, errlen);
    if (!res) return -1;
    size_t n = (size_t)PQntuples(res);
    if (n == 0) {
        PQclear(res);
        return 0;
    }
    webhook_item *items = calloc(n, sizeof *items);
    if (!items) {
        PQclear(res);
        snprintf(err, errlen, "webhook: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].ticket_id = strdup(PQgetvalue(res, (int)i, 0));
        items[i].attempt = atoi(PQgetvalue(res, (int)i, 1));
        items[i].body = strdup(PQgetvalue(res, (int)i, 2));
    }
    PQclear(res);
    for (size_t i = 0; i < n; i++)
        if (!items[i].ticket_id || !items[i].body) {
            items_free(items, n);
            snprintf(err, errlen, "webhook: out of memory");
            return -1;
        }
    if (send_all(items, n, cfg, err, errlen) != 0) {
        items_free(items, n);
        return -1;
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(rows, attempt_row(&items[i], cfg, counts));
    counts->sent = (long)n;
    items_free(items, n);
    char *text = json_text_compact(rows);
    json_decref(rows);
    if (!text) {
        snprintf(err, errlen, "webhook: out of memory");
        return -1;
    }
    /* One transaction: the attempts, the tickets' states and their audit rows. */
    if (pgx_begin(pg, err, errlen) != 0) {
        free(text);
        return -1;
    }
    const char *q[] = {text};
    res = pgx_query(pg, "webhook.record", record_sql, 1, q, err, errlen);
    free(text);
    if (!res) return -1;
    long long recorded = atoll(PQgetvalue(res, 0, 0));
    int rc = audit_append(pg, NOTIFY_ACTOR, PQgetvalue(res, 0, 1), NULL, err, errlen);
    PQclear(res);
    if (rc != 0 || pgx_commit(pg, err, errlen) != 0) return -1;
    if (recorded < (long long)n)
        log_warn("webhook: attempts not recorded (another member moved these tickets on)",
                 LOG_INT("sent", n), LOG_INT("recorded", recorded), LOG_END);
    return 0;
}
