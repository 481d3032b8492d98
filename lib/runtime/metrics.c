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

#include "lib/base/monoclock.h"

#define METRICS_WHY_MAX 256

/* One partition that has a series: events lost, stopped once, or a lag measured. */
typedef struct {
    char topic[250]; /* Kafka allows 249 characters */
    int32_t partition;
    uint64_t lost;
    int stopped;
    int has_lag;
    int64_t lag;
    char why[METRICS_WHY_MAX];
} metrics_partition;

/* One series of a labelled counter family. */
typedef struct {
    metrics_family family;
    char label[64];
    uint64_t n;
} metrics_labelled;

/* One logical outbox topic's gauges. */
typedef struct {
    char topic[32];
    long long unpublished;
    double oldest_s;
} metrics_outbox;

#define METRICS_OUTBOX_TOPICS 8

/* Upper bounds of the batch latency histogram, in seconds (+Inf is implied). */
static const double metrics_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1,    2.5,   5,    10,  30};
#define METRICS_BUCKETS (sizeof metrics_buckets / sizeof metrics_buckets[0])

struct metrics {
    char component[32];
    struct MHD_Daemon *daemon;
    _Atomic uint64_t counters[METRICS_COUNTERS];
    _Atomic int assigned;
    _Atomic int last_batch_failed;
    _Atomic int last_tick_failed;
    _Atomic int database_down;
    _Atomic int kafka_down;
    _Atomic int64_t last_commit; /* seconds since the epoch, 0: none yet */
    _Atomic int64_t alive_at;    /* monotonic seconds of the loop's last turn */
    _Atomic int waiting_known;   /* metrics_set_waiting was called */
    _Atomic uint64_t waiting_events, waiting_overdue;
    _Atomic int64_t waiting_oldest_s;
    pthread_mutex_t lock; /* guards what follows */
    metrics_partition *parts;
    size_t n_parts, cap_parts;
    char degraded[METRICS_WHY_MAX]; /* "" when not degraded */
    metrics_labelled labelled[METRICS_FAMILIES * METRICS_LABELS_MAX];
    size_t n_labelled;
    uint64_t buckets[METRICS_BUCKETS]; /* batches of at most metrics_buckets[i] (not cumulative) */
    uint64_t batches_timed;
    double batch_seconds;
    metrics_outbox outbox[METRICS_OUTBOX_TOPICS];
    size_t n_outbox;
    int has_deadlines;
    long long due_soon, overdue;
};

static const struct {
    const char *name, *help;
} metrics_names[METRICS_COUNTERS] = {
    {"mni_messages_consumed_total", "Messages consumed from the input topic."},
    {"mni_batches_committed_total", "Batches committed to PostgreSQL with their offsets."},
    {"mni_batches_rolled_back_total", "Batches rolled back and read again."},
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

/* The /readyz answer (metrics.h); body gets one line. */
static unsigned readiness(metrics *m, char *body, size_t cap)
{
    const char *why = atomic_load(&m->database_down) ? "database unreachable"
                      : atomic_load(&m->kafka_down)  ? "kafka unreachable"
                      : !atomic_load(&m->assigned)   ? "not assigned"
                                                     : NULL;
    snprintf(body, cap, "%s\n", why ? why : "ready");
    return why ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
}

static int64_t monotonic_s(void)
{
    return monoclock_ms() / 1000;
}

/* The /livez answer (metrics.h). */
static unsigned liveness(metrics *m, char *body, size_t cap)
{
    int64_t idle = monotonic_s() - atomic_load(&m->alive_at);
    if (idle <= METRICS_LIVE_TIMEOUT_S) {
        snprintf(body, cap, "alive\n");
        return MHD_HTTP_OK;
    }
    snprintf(body, cap, "stuck: the worker loop has not turned for %lld s\n", (long long)idle);
    return MHD_HTTP_SERVICE_UNAVAILABLE;
}

static unsigned health(metrics *m, char *body, size_t cap)
{
    pthread_mutex_lock(&m->lock);
    unsigned status = health_locked(m, body, cap);
    pthread_mutex_unlock(&m->lock);
    return status;
}

static const struct {
    const char *name, *label, *help;
} metrics_families[METRICS_FAMILIES] = {
    {"mni_events_total", "outcome",
     "Input messages committed, by what became of them (accepted, replayed, rendered, "
     "duplicate, dead_lettered, processed)."},
    {"mni_dead_letters_total", "reason", "Messages sent to the dead-letter topic, by reason."},
    {"mni_postgres_errors_total", "code",
     "Failed PostgreSQL statements and connection attempts, by SQLSTATE (connection: none)."},
    {"mni_pace_waits_total", "topic",
     "Times an output topic waited for the consumer group that reads it (pace.limit.bytes)."},
};

/* The labelled families, the histogram and the PostgreSQL gauges. Lock held. */
static void render_locked(metrics *m, FILE *f)
{
    const char *c = m->component;
    for (int fam = 0; fam < METRICS_FAMILIES; fam++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", metrics_families[fam].name,
                metrics_families[fam].help, metrics_families[fam].name);
        for (size_t i = 0; i < m->n_labelled; i++)
            if (m->labelled[i].family == (metrics_family)fam)
                fprintf(f, "%s{component=\"%s\",%s=\"%s\"} %llu\n", metrics_families[fam].name, c,
                        metrics_families[fam].label, m->labelled[i].label,
                        (unsigned long long)m->labelled[i].n);
    }
    fprintf(f, "# HELP mni_batch_duration_seconds Time from a batch consumed to committed or "
               "rolled back.\n# TYPE mni_batch_duration_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < METRICS_BUCKETS; i++) {
        cumulative += m->buckets[i];
        fprintf(f, "mni_batch_duration_seconds_bucket{component=\"%s\",le=\"%g\"} %llu\n", c,
                metrics_buckets[i], (unsigned long long)cumulative);
    }
    fprintf(f,
            "mni_batch_duration_seconds_bucket{component=\"%s\",le=\"+Inf\"} %llu\n"
            "mni_batch_duration_seconds_sum{component=\"%s\"} %.6f\n"
            "mni_batch_duration_seconds_count{component=\"%s\"} %llu\n",
            c, (unsigned long long)m->batches_timed, c, m->batch_seconds, c,
            (unsigned long long)m->batches_timed);
    fprintf(f, "# HELP mni_consumer_lag Messages of the input partition not yet committed by "
               "this group (log end minus the next offset stored in PostgreSQL).\n"
               "# TYPE mni_consumer_lag gauge\n");
    for (size_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].has_lag)
            fprintf(f, "mni_consumer_lag{component=\"%s\",topic=\"%s\",partition=\"%d\"} %lld\n", c,
                    m->parts[i].topic, (int)m->parts[i].partition, (long long)m->parts[i].lag);
    if (m->n_outbox > 0) {
        fprintf(f, "# HELP mni_outbox_unpublished Outbox rows not yet delivered to Kafka.\n"
                   "# TYPE mni_outbox_unpublished gauge\n");
        for (size_t i = 0; i < m->n_outbox; i++)
            fprintf(f, "mni_outbox_unpublished{component=\"%s\",topic=\"%s\"} %lld\n", c,
                    m->outbox[i].topic, m->outbox[i].unpublished);
        fprintf(f, "# HELP mni_outbox_oldest_age_seconds Age of the oldest unpublished outbox "
                   "row (0: none).\n# TYPE mni_outbox_oldest_age_seconds gauge\n");
        for (size_t i = 0; i < m->n_outbox; i++)
            fprintf(f, "mni_outbox_oldest_age_seconds{component=\"%s\",topic=\"%s\"} %.3f\n", c,
                    m->outbox[i].topic, m->outbox[i].oldest_s);
    }
    if (m->has_deadlines)
        fprintf(f,
                "# HELP mni_deadlines Open deadlines: ending within %d hours (due_soon), or "
                "over (overdue).\n# TYPE mni_deadlines gauge\n"
                "mni_deadlines{component=\"%s\",state=\"due_soon\"} %lld\n"
                "mni_deadlines{component=\"%s\",state=\"overdue\"} %lld\n",
                METRICS_DUE_SOON_HOURS, c, m->due_soon, c, m->overdue);
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
    render_locked(m, f);
    pthread_mutex_unlock(&m->lock);
    unsigned ready = readiness(m, why, sizeof why);
    fprintf(f,
            "# HELP mni_degraded 1 while events lost from the broker are not acknowledged.\n"
            "# TYPE mni_degraded gauge\nmni_degraded{component=\"%s\"} %d\n"
            "# HELP mni_database_up 1 while the PostgreSQL connection works.\n"
            "# TYPE mni_database_up gauge\nmni_database_up{component=\"%s\"} %d\n"
            "# HELP mni_last_commit_timestamp_seconds Time of the last committed batch.\n"
            "# TYPE mni_last_commit_timestamp_seconds gauge\n"
            "mni_last_commit_timestamp_seconds{component=\"%s\"} %lld\n"
            "# HELP mni_kafka_up 1 while a broker connection is up.\n"
            "# TYPE mni_kafka_up gauge\nmni_kafka_up{component=\"%s\"} %d\n"
            "# HELP mni_up 1 while /healthz answers 200.\n"
            "# TYPE mni_up gauge\nmni_up{component=\"%s\"} %d\n"
            "# HELP mni_ready 1 while /readyz answers 200.\n"
            "# TYPE mni_ready gauge\nmni_ready{component=\"%s\"} %d\n",
            c, degraded, c, !atomic_load(&m->database_down), c,
            (long long)atomic_load(&m->last_commit), c, !atomic_load(&m->kafka_down), c,
            status == MHD_HTTP_OK, c, ready == MHD_HTTP_OK);
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
    unsigned (*probe)(metrics *, char *, size_t) = !strcmp(url, "/healthz")  ? health
                                                   : !strcmp(url, "/readyz") ? readiness
                                                   : !strcmp(url, "/livez")  ? liveness
                                                                             : NULL;
    if (probe) {
        char body[METRICS_WHY_MAX + 320];
        unsigned status = probe(m, body, sizeof body);
        return reply(c, status, "text/plain", body, strlen(body));
    }
    static const char not_found[] = "not found: try /metrics, /healthz, /readyz or /livez\n";
    return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof not_found - 1);
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
    atomic_store(&m->alive_at, monotonic_s());
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

void metrics_set_kafka(metrics *m, int up)
{
    if (m) atomic_store(&m->kafka_down, !up);
}

void metrics_alive(metrics *m)
{
    if (m) atomic_store(&m->alive_at, monotonic_s());
}

void metrics_count(metrics *m, metrics_family f, const char *label, uint64_t n)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metrics_labelled *hit = NULL, *other = NULL;
    size_t in_family = 0;
    for (size_t i = 0; i < m->n_labelled && !hit; i++) {
        if (m->labelled[i].family != f) continue;
        in_family++;
        if (!strcmp(m->labelled[i].label, label)) hit = &m->labelled[i];
        if (!strcmp(m->labelled[i].label, "other")) other = &m->labelled[i];
    }
    if (!hit && in_family >= METRICS_LABELS_MAX - 1) {
        label = "other"; /* the last slot of a family is kept for the rest */
        hit = other;
    }
    if (!hit && m->n_labelled < sizeof m->labelled / sizeof m->labelled[0]) {
        hit = &m->labelled[m->n_labelled++];
        hit->family = f;
        hit->n = 0;
        /* Labels are our own identifiers; anything else is written as '_'. */
        size_t k = 0;
        for (; label[k] && k + 1 < sizeof hit->label; k++) {
            char ch = label[k];
            int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                        (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
            hit->label[k] = plain ? ch : '_';
        }
        hit->label[k] = '\0';
    }
    if (hit) hit->n += n;
    pthread_mutex_unlock(&m->lock);
}

void metrics_batch_seconds(metrics *m, double seconds)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    size_t i = 0;
    while (i < METRICS_BUCKETS && seconds > metrics_buckets[i])
        i++;
    if (i < METRICS_BUCKETS) m->buckets[i]++;
    m->batches_timed++;
    m->batch_seconds += seconds;
    pthread_mutex_unlock(&m->lock);
}

void metrics_set_outbox(metrics *m, const char *topic, long long unpublished, double oldest_s)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metrics_outbox *o = NULL;
    for (size_t i = 0; i < m->n_outbox && !o; i++)
        if (!strcmp(m->outbox[i].topic, topic)) o = &m->outbox[i];
    if (!o && m->n_outbox < METRICS_OUTBOX_TOPICS) {
        o = &m->outbox[m->n_outbox++];
        snprintf(o->topic, sizeof o->topic, "%s", topic);
    }
    if (o) {
        o->unpublished = unpublished;
        o->oldest_s = oldest_s;
    }
    pthread_mutex_unlock(&m->lock);
}

void metrics_set_deadlines(metrics *m, long long due_soon, long long overdue)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    m->has_deadlines = 1;
    m->due_soon = due_soon;
    m->overdue = overdue;
    pthread_mutex_unlock(&m->lock);
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

void metrics_set_lag(metrics *m, const char *topic, int32_t partition, int64_t lag)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    metrics_partition *p = partition_locked(m, topic, partition);
    if (p) {
        p->has_lag = lag >= 0;
        p->lag = lag;
    }
    pthread_mutex_unlock(&m->lock);
}

void metrics_clear_lag(metrics *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_parts; i++)
        m->parts[i].has_lag = 0;
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
