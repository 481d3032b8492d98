/*
 * registry_client: the Confluent Schema Registry REST API as our producers and consumers use
 * it, over libcurl.
 *
 * What it does with a schema set (registry_client_attach):
 *   - the set goes into registry mode (schema_set_registry_mode: local ids are dropped);
 *   - each current record is registered under the Confluent subject of the topic it is written
 *     to (TopicNameStrategy: "<topic>-value"; "<topic>-key" for Avro keys, which we do not
 *     have: our keys are strings) with POST /subjects/{subject}/versions, and the id the
 *     registry returns is bound to it (schema_set_bind), so encoders frame with registry ids;
 *   - the client becomes the set's fetcher: a decoder meeting an id it does not know gets it
 *     from GET /schemas/ids/{id} once and keeps it in the set (the local cache). A failed
 *     lookup is remembered for REGISTRY_RETRY_MS so that a stream of bad ids does not turn into
 *     a stream of requests; the message is dead-lettered with the registry's answer and can be
 *     replayed (mni dlq replay) once the cause is fixed.
 *
 * Settings (lib/runtime/schema_source.c maps the schema.registry.* configuration keys onto
 * them): the base URL, basic auth as "user:password" (Confluent's basic.auth.user.info), TLS CA,
 * client certificate and key. Secrets never appear in messages: URLs in errors are written
 * without their user part (registry_url_redact), and the user info is handed to libcurl only.
 *
 * Pure parts (no I/O; unit-tested): registry_subject, registry_url_redact,
 * registry_canonical, registry_request_body and the response parsers.
 *
 * Ownership and threads: registry_client_new copies the settings; the client is used from one
 * thread (like the schema set it feeds) and freed BEFORE the set it is attached to (freeing it
 * detaches it from the set).
 * Errors: 0, or -1 with "what: reason" in err.
 */
#ifndef MNI_REGISTRY_CLIENT_H
#define MNI_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/serdes/schema_set.h"

#define REGISTRY_CONTENT_TYPE "application/vnd.schemaregistry.v1+json"
#define REGISTRY_RETRY_MS 5000                  /* a failed id lookup is not retried sooner */
#define REGISTRY_MAX_RESPONSE (4 * 1024 * 1024) /* bytes of one response body */

typedef struct {
    const char *url;          /* base URL, e.g. http://127.0.0.1:8081 (required) */
    const char *user_info;    /* "user:password" for basic auth, or NULL */
    const char *ca_file;      /* PEM CA bundle to verify the registry, or NULL (system's) */
    const char *cert_file;    /* PEM client certificate, or NULL */
    const char *key_file;     /* its private key, or NULL */
    const char *key_password; /* the key's password, or NULL */
    long timeout_ms;          /* per request; <= 0: 10000 */
} registry_settings;

/* Which topic a record is written to, for its subject. */
typedef struct {
    const char *record; /* full name, e.g. "jp.mni.Ticket" */
    const char *topic;  /* e.g. "tickets" */
} registry_binding;

typedef struct registry_client registry_client;

registry_client *registry_client_new(const registry_settings *s, char *err, size_t errlen);
void registry_client_free(registry_client *c);

/* POST /subjects/{subject}/versions: the id of schema_text under subject (registered when new;
 * the same schema gives the same id). */
int registry_client_register(registry_client *c, const char *subject, const char *schema_text,
                             int32_t *id, char *err, size_t errlen);
/* GET /schemas/ids/{id}: the schema text (malloc'd into *schema_text; the caller frees). */
int registry_client_schema_by_id(registry_client *c, int32_t id, char **schema_text, char *err,
                                 size_t errlen);
/* Registry mode for set, the bindings registered and bound, the client as its fetcher. */
int registry_client_attach(registry_client *c, schema_set *set, const registry_binding *b, size_t n,
                           char *err, size_t errlen);

/* ---- pure parts ---- */

/* The TopicNameStrategy subject: "<topic>-key" or "<topic>-value". */
int registry_subject(const char *topic, bool is_key, char *out, size_t outlen);
/* url without its user part (scheme://user:pw@host/... -> scheme://host/...). */
void registry_url_redact(const char *url, char *out, size_t outlen);
/* The schema's canonical text for comparisons: parsed and dumped compact with sorted keys, so
 * whitespace and key order do not matter (malloc'd; NULL with err set when not JSON). */
char *registry_canonical(const char *schema_text, char *err, size_t errlen);
/* {"schema": "<schema_text>"} (malloc'd), the body of a register or lookup request. */
char *registry_request_body(const char *schema_text);
/* {"id": N} -> N > 0. */
int registry_parse_id(const char *body, int32_t *id, char *err, size_t errlen);
/* {"schema": "..."} -> the schema text (malloc'd). */
int registry_parse_schema(const char *body, char **schema_text, char *err, size_t errlen);
/* Confluent error body {"error_code": N, "message": "..."} -> "N: message" into out; when the
 * body is not one, a short quote of it. */
void registry_parse_error(const char *body, char *out, size_t outlen);

#endif
