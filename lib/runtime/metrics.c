/*
 * metrics: see metrics.h.
 */
#include "lib/runtime/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define METRICS_WHY_MAX 256

/* One partition that has a series: events lost, or stopped once. */
typedef struct {
    char topic[250]; /* Kafka allows 249 characters */
    int32_t partition;
    uint64_t lost;
    int stopped;
    char why[METRICS_WHY_MAX];
} metrics_partition;

struct metrics {
    char component[32];
    struct MHD_Daemon *daemon;
    _Atomic uint64_t counters[METRICS_COUNTERS];
    _Atomic int assigned;
    _Atomic int last_batch_failed;
    _Atomic int last_tick_failed;
    _Atomic int database_down;
    _Atomic int64_t last_commit; /* seconds since the epoch, 0: none yet */
    _Atomic int waiting_known;   /* metrics_set_waiting was called */
    _Atomic uint64_t waiting_events, waiting_overdue;
    _Atomic int64_t waiting_oldest_s;
    pthread_mutex_t lock; /* guards what follows */
    metrics_partition *parts;
    size_t n_parts, cap_parts;
    char degraded[METRICS_WHY_MAX]; /* "" when not degraded */
};

static const struct {
    const char *name, *help;
} metrics_names[METRICS_COUNTERS] = {
    {"mni_messages_consumed_total", "Messages consumed from the input topic."},
    {"mni_batches_committed_total", "Batches committed to PostgreSQL with their offsets."},
    {"mni_batches_rolled_back_total", "Batches rolled back and read again."},
    {"mni_dead_letters_total", "Messages sent to the dead-letter topic."},
    {"mni_outbox_relayed_total", "Outbox rows delivered to Kafka."},
    {"mni_outbox_failed_total", "Outbox rows Kafka refused for good, marked failed."},
    {"mni_ticks_failed_total", "Ticks (outbox relay, sweeper, connection check) that failed."},
};

/* The /healthz answer (metrics.h); body gets one line. Called with the lock held. */
static unsigned health_locked(metrics *m, char *body, size_t cap)
{
    if (atomic_load(&m->database_down)) {
        snprintf(body, cap, "database unreachable\n");
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    if (!atomic_load(&m->assigned)) {
        snprintf(body, cap, "starting\n");
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    for (size_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].stopped) {
            snprintf(body, cap, "stopped: %s[%d]: %s\n", m->parts[i].topic,
                     (int)m->parts[i].partition, m->parts[i].why);
            return MHD_HTTP_SERVICE_UNAVAILABLE;
        }
    if (atomic_load(&m->last_batch_failed))
        snprintf(body, cap, "failing\n");
    else if (atomic_load(&m->last_tick_failed))
        snprintf(body, cap, "failing: timed work\n");
    else if (m->degraded[0] != '\0')
        snprintf(body, cap, "degraded: %s\n", m->degraded);
    else {
        snprintf(body, cap, "ok\n");
        return MHD_HTTP_OK;
    }
    return MHD_HTTP_SERVICE_UNAVAILABLE;
}

static unsigned health(metrics *m, char *body, size_t cap)
{
    pthread_mutex_lock(&m->lock);
    unsigned status = health_locked(m, body, cap);
    pthread_mutex_unlock(&m->lock);
    return status;
}

/* The Prometheus text; malloc'd (NULL when out of memory), *len its length. */
static char *render_metrics(metrics *m, size_t *len)
{
    char *buf = NULL, why[METRICS_WHY_MAX + 64];
    FILE *f = open_memstream(&buf, len);
    if (!f) return NULL;
    const char *c = m->component;
    for (int i = 0; i < METRICS_COUNTERS; i++)
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s{component=\"%s\"} %llu\n",
                metrics_names[i].name, metrics_names[i].help, metrics_names[i].name,
                metrics_names[i].name, c, (unsigned long long)atomic_load(&m->counters[i]));
    pthread_mutex_lock(&m->lock);
    unsigned status = health_locked(m, why, sizeof why);
    fprintf(f, "# HELP mni_events_lost_total Events found gone from the broker before this worker "
               "consumed them.\n# TYPE mni_events_lost_total counter\n");
    for (size_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].lost)
            fprintf(f,
                    "mni_events_lost_total{component=\"%s\",topic=\"%s\",partition=\"%d\"} %llu\n",
                    c, m->parts[i].topic, (int)m->parts[i].partition,
                    (unsigned long long)m->parts[i].lost);
    fprintf(f, "# HELP mni_partition_stopped 1 while the partition is held: its log is not the "
               "one its stored offsets belong to.\n# TYPE mni_partition_stopped gauge\n");
    for (size_t i = 0; i < m->n_parts; i++)
        fprintf(f, "mni_partition_stopped{component=\"%s\",topic=\"%s\",partition=\"%d\"} %d\n", c,
                m->parts[i].topic, (int)m->parts[i].partition, m->parts[i].stopped);
    int degraded = m->degraded[0] != '\0';
    pthread_mutex_unlock(&m->lock);
    fprintf(f,
            "# HELP mni_degraded 1 while events lost from the broker are not acknowledged.\n"
            "# TYPE mni_degraded gauge\nmni_degraded{component=\"%s\"} %d\n"
            "# HELP mni_database_up 1 while the PostgreSQL connection works.\n"
            "# TYPE mni_database_up gauge\nmni_database_up{component=\"%s\"} %d\n"
            "# HELP mni_last_commit_timestamp_seconds Time of the last committed batch.\n"
            "# TYPE mni_last_commit_timestamp_seconds gauge\n"
            "mni_last_commit_timestamp_seconds{component=\"%s\"} %lld\n"
            "# HELP mni_up 1 while /healthz answers 200.\n"
            "# TYPE mni_up gauge\nmni_up{component=\"%s\"} %d\n",
            c, degraded, c, !atomic_load(&m->database_down), c,
            (long long)atomic_load(&m->last_commit), c, status == MHD_HTTP_OK);
    if (atomic_load(&m->waiting_known))
        fprintf(f,
                "# HELP mni_waiting_events Events waiting for their incident to be opened.\n"
                "# TYPE mni_waiting_events gauge\nmni_waiting_events{component=\"%s\"} %llu\n"
                "# HELP mni_waiting_oldest_seconds Age of the oldest waiting event.\n"
                "# TYPE mni_waiting_oldest_seconds gauge\n"
                "mni_waiting_oldest_seconds{component=\"%s\"} %lld\n"
                "# HELP mni_waiting_overdue Events waiting longer than the configured time.\n"
                "# TYPE mni_waiting_overdue gauge\nmni_waiting_overdue{component=\"%s\"} %llu\n",
                c, (unsigned long long)atomic_load(&m->waiting_events), c,
                (long long)atomic_load(&m->waiting_oldest_s), c,
                (unsigned long long)atomic_load(&m->waiting_overdue));
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
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
        size_t len = 0;
        char *text = render_metrics(m, &len);
        if (!text)
            return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14);
        enum MHD_Result ok = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", text, len);
        free(text);
        return ok;
    }
    if (!strcmp(url, "/healthz")) {
        char body[METRICS_WHY_MAX + 320];
        unsigned status = health(m, body, sizeof body);
        return reply(c, status, "text/plain", body, strlen(body));
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
    pthread_mutex_init(&m->lock, NULL);
    snprintf(m->component, sizeof m->component, "%s", component);
    m->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, (uint16_t)port, NULL, NULL, handle, m,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_END);
    if (!m->daemon) {
        snprintf(err, errlen, "metrics.port = %d: cannot listen on %s:%d (in use?)", port,
                 bind && *bind ? bind : "127.0.0.1", port);
        pthread_mutex_destroy(&m->lock);
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
    pthread_mutex_destroy(&m->lock);
    free(m->parts);
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

void metrics_tick_done(metrics *m, int ok)
{
    if (!m) return;
    atomic_store(&m->last_tick_failed, !ok);
    if (!ok) atomic_fetch_add(&m->counters[METRICS_TICKS_FAILED], 1);
}

void metrics_set_database(metrics *m, int up)
{
    if (m) atomic_store(&m->database_down, !up);
}

/* The series of topic[partition], made when missing; NULL when out of memory. Lock held. */
static metrics_partition *partition_locked(metrics *m, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].partition == partition && !strcmp(m->parts[i].topic, topic))
            return &m->parts[i];
    if (m->n_parts == m->cap_parts) {
        size_t cap = m->cap_parts ? m->cap_parts * 2 : 8;
        metrics_partition *grown = realloc(m->parts, cap * sizeof *grown);
        if (!grown) return NULL;
        m->parts = grown;
        m->cap_parts = cap;
    }
    metrics_partition *p = &m->parts[m->n_parts++];
    memset(p, 0, sizeof *p);
    snprintf(p->topic, sizeof p->topic, "%s", topic);
    p->partition = partition;
    return p;
}

void metrics_events_lost(metrics *m, const char *topic, int32_t partition, uint64_t n)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metrics_partition *p = partition_locked(m, topic, partition);
    if (p) p->lost += n;
    pthread_mutex_unlock(&m->lock);
}

void metrics_partition_stopped(metrics *m, const char *topic, int32_t partition, const char *why)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metrics_partition *p = partition_locked(m, topic, partition);
    if (p) {
        p->stopped = why != NULL;
        snprintf(p->why, sizeof p->why, "%s", why ? why : "");
    }
    pthread_mutex_unlock(&m->lock);
}

void metrics_set_degraded(metrics *m, const char *why)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    snprintf(m->degraded, sizeof m->degraded, "%s", why ? why : "");
    pthread_mutex_unlock(&m->lock);
}

void metrics_set_waiting(metrics *m, uint64_t events, int64_t oldest_age_s, uint64_t overdue)
{
    if (!m) return;
    atomic_store(&m->waiting_events, events);
    atomic_store(&m->waiting_oldest_s, oldest_age_s);
    atomic_store(&m->waiting_overdue, overdue);
    atomic_store(&m->waiting_known, 1);
}
