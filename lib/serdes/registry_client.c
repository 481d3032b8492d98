/* registry_client: the Confluent Schema Registry client (see registry_client.h). */
#include "lib/serdes/registry_client.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/errbuf.h"
#include "lib/base/monoclock.h"

#define RC_MISS_SLOTS 32
#define RC_URL_MAX 1024

typedef struct {
    int32_t id;
    long long until_ms; /* not asked again before */
    char why[256];
} rc_miss;

struct registry_client {
    char *url; /* without a trailing '/' */
    char redacted[RC_URL_MAX];
    char *user_info, *ca_file, *cert_file, *key_file, *key_password;
    long timeout_ms;
    CURL *easy; /* reused: keeps the connection alive between requests */
    schema_set *set;
    rc_miss miss[RC_MISS_SLOTS];
    size_t next_miss;
};

/* ---- pure parts ---- */

int registry_subject(const char *topic, bool is_key, char *out, size_t outlen)
{
    int n;

    if (topic == NULL || topic[0] == '\0') return -1;
    n = snprintf(out, outlen, "%s-%s", topic, is_key ? "key" : "value");
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void registry_url_redact(const char *url, char *out, size_t outlen)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme != NULL ? scheme + 3 : url;
    size_t authority = strcspn(host, "/?#");
    const char *at = memrchr(host, '@', authority);

    if (outlen == 0) return;
    if (at == NULL)
        snprintf(out, outlen, "%s", url);
    else
        snprintf(out, outlen, "%.*s%s", (int)(host - url), url, at + 1);
}

char *registry_canonical(const char *schema_text, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j = json_loads(schema_text, JSON_DECODE_ANY, &jerr);
    char *out;

    if (j == NULL) {
        errbuf_fail(err, errlen, "schema: invalid JSON at line %d: %s", jerr.line, jerr.text);
        return NULL;
    }
    out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    if (out == NULL) errbuf_fail(err, errlen, "schema: out of memory");
    return out;
}

char *registry_request_body(const char *schema_text)
{
    json_t *o = json_pack("{s:s}", "schema", schema_text);
    char *out = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

    json_decref(o);
    return out;
}

int registry_parse_id(const char *body, int32_t *id, char *err, size_t errlen)
{
    json_t *j = json_loads(body, 0, NULL), *v = json_object_get(j, "id");
    int rc = 0;

    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > INT32_MAX)
        rc = errbuf_fail(err, errlen, "response: no positive \"id\"");
    else
        *id = (int32_t)json_integer_value(v);
    json_decref(j);
    return rc;
}

int registry_parse_schema(const char *body, char **schema_text, char *err, size_t errlen)
{
    json_t *j = json_loads(body, 0, NULL), *v = json_object_get(j, "schema"),
           *type = json_object_get(j, "schemaType");
    int rc = 0;

    *schema_text = NULL;
    if (!json_is_string(v))
        rc = errbuf_fail(err, errlen, "response: no \"schema\" string");
    else if (type != NULL && !(json_is_string(type) && !strcmp(json_string_value(type), "AVRO")))
        rc = errbuf_fail(err, errlen, "response: schemaType is not AVRO");
    else if ((*schema_text = strdup(json_string_value(v))) == NULL)
        rc = errbuf_fail(err, errlen, "out of memory");
    json_decref(j);
    return rc;
}

void registry_parse_error(const char *body, char *out, size_t outlen)
{
    json_t *j = json_loads(body, 0, NULL);
    json_t *code = json_object_get(j, "error_code"), *msg = json_object_get(j, "message");

    if (json_is_integer(code) && json_is_string(msg))
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT ": %s", json_integer_value(code),
                 json_string_value(msg));
    else
        snprintf(out, outlen, "not a registry error body: \"%.80s\"", body);
    json_decref(j);
}

/* ---- HTTP ---- */

typedef struct {
    buf text;
    bool too_long;
} rc_body;

static size_t rc_collect(char *ptr, size_t size, size_t nmemb, void *arg)
{
    rc_body *b = arg;
    size_t n = size * nmemb;

    if (b->text.len + n > REGISTRY_MAX_RESPONSE) {
        b->too_long = true;
        return 0; /* aborts the transfer */
    }
    return buf_putn(&b->text, ptr, n) == 0 ? n : 0;
}

/* One request; *status is the HTTP status and *out the body (malloc'd, NUL-terminated) when
 * the exchange completed, whatever its status. */
static int rc_request(registry_client *c, const char *method, const char *path, const char *body,
                      long *status, char **out, char *err, size_t errlen)
{
    char url[RC_URL_MAX * 2];
    struct curl_slist *headers = NULL;
    rc_body resp = {.too_long = false};
    CURLcode rc;

    buf_init(&resp.text, REGISTRY_MAX_RESPONSE);

    *out = NULL;
    snprintf(url, sizeof(url), "%s%s", c->url, path);
    headers = curl_slist_append(headers, "Accept: " REGISTRY_CONTENT_TYPE ", application/json");
    if (body != NULL) {
        struct curl_slist *h = curl_slist_append(headers, "Content-Type: " REGISTRY_CONTENT_TYPE);
        if (h != NULL) headers = h;
    }
    curl_easy_reset(c->easy);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "mni-registry-client");
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, rc_collect);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &resp);
    if (c->user_info != NULL) {
        curl_easy_setopt(c->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c->easy, CURLOPT_USERPWD, c->user_info);
    }
    if (c->ca_file != NULL) curl_easy_setopt(c->easy, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file != NULL) curl_easy_setopt(c->easy, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file != NULL) curl_easy_setopt(c->easy, CURLOPT_SSLKEY, c->key_file);
    if (c->key_password != NULL) curl_easy_setopt(c->easy, CURLOPT_KEYPASSWD, c->key_password);
    if (body != NULL) {
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c->easy, CURLOPT_CUSTOMREQUEST, method);
    rc = curl_easy_perform(c->easy);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        buf_free(&resp.text);
        return errbuf_fail(err, errlen, "schema registry %s: %s %s: %s", c->redacted, method, path,
                           resp.too_long ? "response too long" : curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, status);
    *out = buf_take(&resp.text); /* "" when the body was empty */
    if (*out == NULL) return errbuf_fail(err, errlen, "out of memory");
    return 0;
}

/* A request whose answer must be 200; its body into *out. */
static int rc_call(registry_client *c, const char *method, const char *path, const char *body,
                   char **out, char *err, size_t errlen)
{
    long status = 0;

    if (rc_request(c, method, path, body, &status, out, err, errlen) != 0) return -1;
    if (status != 200) {
        char why[512];
        registry_parse_error(*out, why, sizeof(why));
        free(*out);
        *out = NULL;
        return errbuf_fail(err, errlen, "schema registry %s: %s %s: HTTP %ld (%s)", c->redacted,
                           method, path, status, why);
    }
    return 0;
}

/* ---- the client ---- */

static char *rc_dup(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

registry_client *registry_client_new(const registry_settings *s, char *err, size_t errlen)
{
    registry_client *c;
    size_t n;

    if (s == NULL || s->url == NULL || s->url[0] == '\0') {
        errbuf_fail(err, errlen, "schema.registry.url: not set");
        return NULL;
    }
    if (strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0) {
        char shown[RC_URL_MAX];
        registry_url_redact(s->url, shown, sizeof(shown));
        errbuf_fail(err, errlen, "schema.registry.url = '%s': not an http:// or https:// URL",
                    shown);
        return NULL;
    }
    if (strlen(s->url) >= RC_URL_MAX) {
        errbuf_fail(err, errlen, "schema.registry.url: longer than %d bytes", RC_URL_MAX - 1);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(c);
        errbuf_fail(err, errlen, "schema registry: cannot initialise libcurl");
        return NULL;
    }
    c->url = strdup(s->url);
    if (c->url != NULL) {
        n = strlen(c->url);
        while (n > 0 && c->url[n - 1] == '/')
            c->url[--n] = '\0';
        registry_url_redact(c->url, c->redacted, sizeof(c->redacted));
    }
    c->user_info = rc_dup(s->user_info);
    c->ca_file = rc_dup(s->ca_file);
    c->cert_file = rc_dup(s->cert_file);
    c->key_file = rc_dup(s->key_file);
    c->key_password = rc_dup(s->key_password);
    c->timeout_ms = s->timeout_ms > 0 ? s->timeout_ms : 10000;
    c->easy = curl_easy_init();
    if (c->url == NULL || c->easy == NULL) {
        registry_client_free(c);
        errbuf_fail(err, errlen, "schema registry: out of memory");
        return NULL;
    }
    return c;
}

static void rc_wipe_free(char *secret)
{
    if (secret == NULL) return;
    volatile char *p = secret;
    while (*p != '\0')
        *p++ = '\0';
    free(secret);
}

void registry_client_free(registry_client *c)
{
    if (c == NULL) return;
    if (c->set != NULL) schema_set_on_unknown(c->set, NULL, NULL);
    if (c->easy != NULL) curl_easy_cleanup(c->easy);
    curl_global_cleanup();
    free(c->url);
    rc_wipe_free(c->user_info);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    rc_wipe_free(c->key_password);
    free(c);
}

int registry_client_register(registry_client *c, const char *subject, const char *schema_text,
                             int32_t *id, char *err, size_t errlen)
{
    char *body = registry_request_body(schema_text), *escaped, *resp = NULL, path[600];
    int rc;

    escaped = curl_easy_escape(c->easy, subject, 0);
    if (body == NULL || escaped == NULL || strlen(escaped) > 500) {
        free(body);
        curl_free(escaped);
        return errbuf_fail(err, errlen, "subject %s: cannot build the request", subject);
    }
    snprintf(path, sizeof(path), "/subjects/%s/versions", escaped);
    curl_free(escaped);
    rc = rc_call(c, "POST", path, body, &resp, err, errlen);
    free(body);
    if (rc == 0 && registry_parse_id(resp, id, err, errlen) != 0) rc = -1;
    free(resp);
    return rc;
}

int registry_client_schema_by_id(registry_client *c, int32_t id, char **schema_text, char *err,
                                 size_t errlen)
{
    char path[64], *resp = NULL;
    int rc;

    *schema_text = NULL;
    snprintf(path, sizeof(path), "/schemas/ids/%d", (int)id);
    rc = rc_call(c, "GET", path, NULL, &resp, err, errlen);
    if (rc == 0 && registry_parse_schema(resp, schema_text, err, errlen) != 0) rc = -1;
    free(resp);
    return rc;
}

/* The set's fetcher: GET the id, add it to the set; failures remembered a while. */
static int rc_fetch(void *ctx, int32_t id, char *err, size_t errlen)
{
    registry_client *c = ctx;
    long long now = monoclock_ms();
    char *text = NULL, why[512];
    rc_miss *m;

    for (size_t i = 0; i < RC_MISS_SLOTS; i++)
        if (c->miss[i].id == id && c->miss[i].until_ms > now)
            return errbuf_fail(err, errlen, "%s (not asked again for %lld ms)", c->miss[i].why,
                               c->miss[i].until_ms - now);
    if (registry_client_schema_by_id(c, id, &text, why, sizeof(why)) == 0 &&
        schema_set_add(c->set, id, NULL, text, why, sizeof(why)) == 0) {
        free(text);
        return 0;
    }
    free(text);
    m = &c->miss[c->next_miss++ % RC_MISS_SLOTS];
    m->id = id;
    m->until_ms = now + REGISTRY_RETRY_MS;
    memcpy(m->why, why, sizeof(m->why) - 1);
    m->why[sizeof(m->why) - 1] = '\0';
    return errbuf_fail(err, errlen, "%s", why);
}

int registry_client_attach(registry_client *c, schema_set *set, const registry_binding *b, size_t n,
                           char *err, size_t errlen)
{
    schema_set_registry_mode(set);
    for (size_t i = 0; i < n; i++) {
        const schema_def *cur = schema_set_current(set, b[i].record);
        char subject[300], *text;
        int32_t id = 0;
        int rc;

        if (cur == NULL) return errbuf_fail(err, errlen, "no schema for record %s", b[i].record);
        if (registry_subject(b[i].topic, false, subject, sizeof(subject)) != 0)
            return errbuf_fail(err, errlen, "topic of %s: empty or too long", b[i].record);
        text = schema_set_text(cur);
        if (text == NULL) return errbuf_fail(err, errlen, "out of memory");
        rc = registry_client_register(c, subject, text, &id, err, errlen);
        free(text);
        if (rc != 0 || schema_set_bind(set, b[i].record, id, err, errlen) != 0) return -1;
    }
    c->set = set;
    schema_set_on_unknown(set, rc_fetch, c);
    return 0;
}
