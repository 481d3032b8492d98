/* schema_source: the local id table or the schema registry (see schema_source.h). */
#include "lib/runtime/schema_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/log.h"

#define SS_USER_INFO_MAX 1024

/* The one line of a secret file, without its line end, into out. */
static int read_secret_file(const char *key, const char *path, char *out, size_t outlen, char *err,
                            size_t errlen)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "%s = '%s': %s", key, path, strerror(errno));
        return -1;
    }
    n = fread(out, 1, outlen - 1, f);
    fclose(f);
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    if (n == outlen - 1 || out[0] == '\0') {
        snprintf(err, errlen, "%s = '%s': %s", key, path,
                 out[0] == '\0' ? "empty" : "longer than one short line");
        return -1;
    }
    return 0;
}

static const char *value_of(const config *cfg, const char *key)
{
    const char *v = config_get(cfg, key);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int ss_open(const config *cfg, const char *writer_of, schema_set **set,
                   registry_client **registry, char *err, size_t errlen)
{
    const char *url = value_of(cfg, "schema.registry.url");
    const char *user_info = value_of(cfg, "schema.registry.basic.auth.user.info");
    const char *user_info_file = value_of(cfg, "schema.registry.basic.auth.user.info.file");
    char from_file[SS_USER_INFO_MAX], shown[1024];
    long long timeout_ms = 10000;
    registry_binding bindings[] = {
        {EVENTS_SCHEMA_INCIDENT_EVENT, config_get(cfg, "topic.events")},
        /* ingest forwards the events it accepted: the same schema, so the same id */
        {EVENTS_SCHEMA_INCIDENT_EVENT, config_get(cfg, "topic.accepted")},
        {EVENTS_SCHEMA_CASE_ASSESSMENT, config_get(cfg, "topic.assessments")},
        {EVENTS_SCHEMA_NOTIFY_TASK, config_get(cfg, "topic.tasks")},
        {EVENTS_SCHEMA_TICKET, config_get(cfg, "topic.tickets")},
    };
    char why[768];

    *set = NULL;
    *registry = NULL;
    if (url == NULL && writer_of != NULL)
        return schema_set_load_default_writer(writer_of, set, err, errlen);
    if (schema_set_load_default(set, err, errlen) != 0) return -1;
    if (url == NULL) return 0;

    if (user_info != NULL && user_info_file != NULL) {
        snprintf(err, errlen,
                 "schema.registry.basic.auth.user.info and its .file are both set: set one");
        goto fail;
    }
    if (user_info_file != NULL) {
        if (read_secret_file("schema.registry.basic.auth.user.info.file", user_info_file, from_file,
                             sizeof(from_file), err, errlen) != 0)
            goto fail;
        user_info = from_file;
    }
    if (user_info != NULL && strchr(user_info, ':') == NULL) {
        snprintf(err, errlen,
                 "schema.registry.basic.auth.user.info: not of the form user:password");
        goto fail;
    }
    if (config_get_int(cfg, "schema.registry.timeout.ms", 100, 600000, &timeout_ms, err, errlen) !=
        0)
        goto fail;
    registry_settings s = {
        .url = url,
        .user_info = user_info,
        .ca_file = value_of(cfg, "schema.registry.ssl.ca.location"),
        .cert_file = value_of(cfg, "schema.registry.ssl.certificate.location"),
        .key_file = value_of(cfg, "schema.registry.ssl.key.location"),
        .key_password = value_of(cfg, "schema.registry.ssl.key.password"),
        .timeout_ms = (long)timeout_ms,
    };
    *registry = registry_client_new(&s, err, errlen);
    memset(from_file, 0, sizeof(from_file));
    if (*registry == NULL) goto fail;
    for (size_t i = 0; i < sizeof bindings / sizeof bindings[0]; i++)
        if (bindings[i].topic == NULL || bindings[i].topic[0] == '\0') {
            snprintf(err, errlen, "topic of %s: empty", bindings[i].record);
            goto fail;
        }
    if (registry_client_attach(*registry, *set, bindings, sizeof bindings / sizeof bindings[0], why,
                               sizeof(why)) != 0) {
        snprintf(err, errlen, "schema.registry.url: %s", why);
        goto fail;
    }
    registry_url_redact(url, shown, sizeof(shown));
    log_info(
        "schema registry in use", LOG_STR("url", shown),
        LOG_INT("incident_event_id", schema_set_current(*set, EVENTS_SCHEMA_INCIDENT_EVENT)->id),
        LOG_INT("case_assessment_id", schema_set_current(*set, EVENTS_SCHEMA_CASE_ASSESSMENT)->id),
        LOG_INT("notify_task_id", schema_set_current(*set, EVENTS_SCHEMA_NOTIFY_TASK)->id),
        LOG_INT("ticket_id", schema_set_current(*set, EVENTS_SCHEMA_TICKET)->id), LOG_END);
    return 0;
fail:
    memset(from_file, 0, sizeof(from_file));
    schema_source_close(*set, *registry);
    *set = NULL;
    *registry = NULL;
    return -1;
}

int schema_source_open(const config *cfg, schema_set **set, registry_client **registry, char *err,
                       size_t errlen)
{
    return ss_open(cfg, NULL, set, registry, err, errlen);
}

int schema_source_open_writer(const config *cfg, const char *name, schema_set **set,
                              registry_client **registry, char *err, size_t errlen)
{
    return ss_open(cfg, name, set, registry, err, errlen);
}

void schema_source_close(schema_set *set, registry_client *registry)
{
    registry_client_free(registry);
    schema_set_free(set);
}
