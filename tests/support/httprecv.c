/*
 * httprecv: see httprecv.h.
 */
#include "tests/support/httprecv.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/base/monoclock.h"

struct httprecv {
    struct MHD_Daemon *daemon;
    int *script;
    size_t script_n;
    pthread_mutex_t lock;
    httprecv_request *reqs;
    size_t n, cap;
};

/* One request being received. */
typedef struct {
    char *body;
    size_t len;
} upload;

static void copy_header(struct MHD_Connection *c, const char *name, char *out, size_t n)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(out, n, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **req)
{
    (void)version;
    httprecv *r = cls;
    upload *u = *req;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u) return MHD_NO;
        *req = u;
        return MHD_YES;
    }
    if (*data_size > 0) {
        char *grown = realloc(u->body, u->len + *data_size + 1);
        if (!grown) return MHD_NO;
        u->body = grown;
        memcpy(u->body + u->len, data, *data_size);
        u->len += *data_size;
        u->body[u->len] = '\0';
        *data_size = 0;
        return MHD_YES;
    }
    httprecv_request q = {0};
    snprintf(q.method, sizeof q.method, "%s", method);
    snprintf(q.path, sizeof q.path, "%s", url);
    copy_header(c, "Idempotency-Key", q.key, sizeof q.key);
    copy_header(c, "X-Mni-Attempt", q.attempt, sizeof q.attempt);
    copy_header(c, "X-Mni-Signature", q.signature, sizeof q.signature);
    copy_header(c, "Authorization", q.authorization, sizeof q.authorization);
    copy_header(c, "Content-Type", q.content_type, sizeof q.content_type);
    q.body = u->body ? u->body : strdup("");
    u->body = NULL;
    q.at_ms = monoclock_ms();

    pthread_mutex_lock(&r->lock);
    size_t seen = 0;
    for (size_t i = 0; i < r->n; i++)
        seen += !strcmp(r->reqs[i].key, q.key);
    int status = r->script[seen < r->script_n ? seen : r->script_n - 1];
    q.status = status == HTTPRECV_HANG ? 200 : status;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        httprecv_request *grown = realloc(r->reqs, cap * sizeof *grown);
        if (grown) {
            r->reqs = grown;
            r->cap = cap;
        }
    }
    if (r->n < r->cap)
        r->reqs[r->n++] = q;
    else
        free(q.body);
    pthread_mutex_unlock(&r->lock);

    if (status == HTTPRECV_HANG) /* a slow receiver, for the client's timeout */
        nanosleep(&(struct timespec){2, 0}, NULL);
    static const char ok[] = "{\"ok\":true}\n", no[] = "{\"error\":\"try again\"}\n";
    const char *text = q.status < 300 ? ok : no;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)q.status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static void request_done(void *cls, struct MHD_Connection *c, void **req,
                         enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    upload *u = *req;
    if (u) free(u->body);
    free(u);
    *req = NULL;
}

httprecv *httprecv_start(const int *script, size_t n, char *err, size_t errlen)
{
    httprecv *r = calloc(1, sizeof *r);
    if (!r || n == 0 || !(r->script = malloc(n * sizeof *script))) {
        free(r);
        snprintf(err, errlen, "httprecv: out of memory or empty script");
        return NULL;
    }
    memcpy(r->script, script, n * sizeof *script);
    r->script_n = n;
    pthread_mutex_init(&r->lock, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    r->daemon =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, handle, r, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                         MHD_OPTION_NOTIFY_COMPLETED, request_done, r, MHD_OPTION_END);
    if (!r->daemon) {
        snprintf(err, errlen, "httprecv: cannot listen on 127.0.0.1");
        pthread_mutex_destroy(&r->lock);
        free(r->script);
        free(r);
        return NULL;
    }
    return r;
}

int httprecv_port(const httprecv *r)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? (int)info->port : -1;
}

size_t httprecv_count(httprecv *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

size_t httprecv_requests(httprecv *r, httprecv_request **out)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    httprecv_request *v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; v && i < n; i++) {
        v[i] = r->reqs[i];
        v[i].body = strdup(r->reqs[i].body);
    }
    pthread_mutex_unlock(&r->lock);
    *out = v;
    return v ? n : 0;
}

void httprecv_requests_free(httprecv_request *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i].body);
    free(v);
}

void httprecv_stop(httprecv *r)
{
    if (!r) return;
    MHD_stop_daemon(r->daemon);
    httprecv_requests_free(r->reqs, r->n);
    pthread_mutex_destroy(&r->lock);
    free(r->script);
    free(r);
}
