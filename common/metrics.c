/*
 * metrics: see metrics.h.
 */
#include "common/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct metrics {
    char component[32];
    struct MHD_Daemon *daemon;
    _Atomic uint64_t counters[METRICS_COUNTERS];
    _Atomic int assigned;
    _Atomic int last_batch_failed;
    _Atomic int64_t last_commit; /* seconds since the epoch, 0: none yet */
};

static const struct {
    const char *name, *help;
} metrics_names[METRICS_COUNTERS] = {
    {"mni_messages_consumed_total", "Messages consumed from the input topic."},
    {"mni_batches_committed_total", "Batches committed to PostgreSQL with their offsets."},
    {"mni_batches_rolled_back_total", "Batches rolled back and read again."},
    {"mni_dead_letters_total", "Messages sent to the dead-letter topic."},
    {"mni_outbox_relayed_total", "Outbox rows delivered to Kafka."},
};

static size_t render_metrics(metrics *m, char *buf, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < METRICS_COUNTERS && n < cap; i++)
        n += (size_t)snprintf(
            buf + n, cap - n, "# HELP %s %s\n# TYPE %s counter\n%s{component=\"%s\"} %llu\n",
            metrics_names[i].name, metrics_names[i].help, metrics_names[i].name,
            metrics_names[i].name, m->component, (unsigned long long)atomic_load(&m->counters[i]));
    if (n < cap)
        n += (size_t)snprintf(
            buf + n, cap - n,
            "# HELP mni_last_commit_timestamp_seconds Time of the last committed batch.\n"
            "# TYPE mni_last_commit_timestamp_seconds gauge\n"
            "mni_last_commit_timestamp_seconds{component=\"%s\"} %lld\n"
            "# HELP mni_up 1 while the worker holds an assignment and its last batch succeeded.\n"
            "# TYPE mni_up gauge\nmni_up{component=\"%s\"} %d\n",
            m->component, (long long)atomic_load(&m->last_commit), m->component,
            atomic_load(&m->assigned) && !atomic_load(&m->last_batch_failed));
    return n < cap ? n : cap - 1;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state;
    metrics *m = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
    if (!strcmp(url, "/metrics")) {
        char buf[4096];
        size_t n = render_metrics(m, buf, sizeof buf);
        return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", buf, n);
    }
    if (!strcmp(url, "/healthz")) {
        if (!atomic_load(&m->assigned))
            return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "starting\n", 9);
        if (atomic_load(&m->last_batch_failed))
            return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "failing\n", 8);
        return reply(c, MHD_HTTP_OK, "text/plain", "ok\n", 3);
    }
    return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found: try /metrics or /healthz\n", 36);
}

int metrics_start(const char *component, const char *bind, int port, metrics **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    if (port == 0) return 0;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, bind && *bind ? bind : "127.0.0.1", &addr.sin_addr) != 1) {
        snprintf(err, errlen, "metrics.bind = '%s': not an IPv4 address", bind);
        return -1;
    }
    metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "metrics: out of memory");
        return -1;
    }
    snprintf(m->component, sizeof m->component, "%s", component);
    m->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, handle, m,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!m->daemon) {
        snprintf(err, errlen, "metrics.port = %d: cannot listen on %s:%d (in use?)", port,
                 bind && *bind ? bind : "127.0.0.1", port);
        free(m);
        return -1;
    }
    *out = m;
    return 0;
}

void metrics_stop(metrics *m)
{
    if (!m) return;
    MHD_stop_daemon(m->daemon);
    free(m);
}

void metrics_add(metrics *m, metrics_counter c, uint64_t n)
{
    if (m) atomic_fetch_add(&m->counters[c], n);
}

void metrics_set_ready(metrics *m, int assigned)
{
    if (m) atomic_store(&m->assigned, assigned);
}

void metrics_batch_done(metrics *m, int ok)
{
    if (!m) return;
    atomic_store(&m->last_batch_failed, !ok);
    atomic_fetch_add(&m->counters[ok ? METRICS_BATCHES_OK : METRICS_BATCHES_FAILED], 1);
    if (ok) atomic_store(&m->last_commit, (int64_t)time(NULL));
}
