/*
 * schema_source: where a program's schemas and their ids come from.
 *
 * Without schema.registry.url: the local id table (schemas/ids.tsv, schema_set_load_default),
 * as before. With it: the same schema files, but the ids are the schema registry's
 * (registry_client_attach): each record is registered under "<topic>-value" of the topic it is
 * written to (topic.events and topic.accepted, topic.assessments, topic.tasks, topic.tickets;
 * a registry gives one schema one id whatever the subject), and ids the process
 * does not know are fetched from the registry when a message carries one.
 *
 * Keys (deploy/mni.conf), named after the Confluent clients' schema.registry.* settings:
 *   schema.registry.url                        base URL; empty: no registry
 *   schema.registry.basic.auth.user.info       "user:password" (a secret: masked by
 *                                              --print-config, never logged; best from the
 *                                              environment,
 * MNI_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO) schema.registry.basic.auth.user.info.file  or a file
 * holding it (one line) schema.registry.ssl.ca.location            PEM CA bundle that signs the
 * registry's certificate schema.registry.ssl.certificate.location   client certificate (mutual TLS)
 *   schema.registry.ssl.key.location           its key
 *   schema.registry.ssl.key.password           the key's password (a secret)
 *   schema.registry.timeout.ms                 per request (default 10000)
 *
 * Ownership: schema_source_close frees both (the client first: it detaches from the set).
 * Errors: 0, or -1 with "key: reason" in err (the registry's answer when it refused).
 */
#ifndef MNI_SCHEMA_SOURCE_H
#define MNI_SCHEMA_SOURCE_H

#include <stddef.h>

#include "lib/runtime/config.h"
#include "lib/serdes/registry_client.h"
#include "lib/serdes/schema_set.h"

/* *registry is NULL when no registry is configured. */
int schema_source_open(const config *cfg, schema_set **set, registry_client **registry, char *err,
                       size_t errlen);
/* For a process that only writes record `name` (mni produce): without a registry, the set
 * holds that record's current version alone (schema_set_load_writer); with one, the same as
 * schema_source_open (attaching registers every record under its topic's subject). */
int schema_source_open_writer(const config *cfg, const char *name, schema_set **set,
                              registry_client **registry, char *err, size_t errlen);
void schema_source_close(schema_set *set, registry_client *registry);

#endif
