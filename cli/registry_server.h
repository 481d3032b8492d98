/*
 * registry_server: the embedded schema registry of `mni registry serve` (libmicrohttpd), the
 * subset of the Confluent Schema Registry REST API that producers and standard consumers
 * (Confluent's serializers, @kafkajs/confluent-schema-registry, our registry_client) use, kept
 * in PostgreSQL (db/migrations/0030_schema_registry.sql):
 *
 *   POST /subjects/{s}/versions      {"schema": "..."} -> {"id": N}; the same schema (compared
 *                                    by its canonical JSON, registry_canonical) gives the same
 *                                    id under every subject and the same version in a subject
 *   POST /subjects/{s}               lookup -> {"subject","version","id","schema"}
 *   GET  /subjects                   ["s", ...]
 *   GET  /subjects/{s}/versions      [1, 2, ...]
 *   GET  /subjects/{s}/versions/{v}  {"subject","version","id","schema"}; v is N or latest
 *   GET  /schemas/ids/{id}           {"schema": "..."}
 *   GET  /schemas/ids/{id}/schema    the schema itself
 *   GET  /config                     {"compatibilityLevel": "NONE"}: no compatibility checks
 *                                    here (our schema_set checks what it reads at start-up)
 *
 * Responses are application/vnd.schemaregistry.v1+json; errors are Confluent's bodies
 * {"error_code": N, "message": "..."}: 40401 subject not found, 40402 version not found,
 * 40403 schema not found (HTTP 404), 42201 invalid schema, 42202 invalid version (HTTP 422),
 * 50001 store error (HTTP 500); 404/405 with codes 404/405 for other paths and methods. Only
 * Avro (schemaType absent or "AVRO", no references); a schema Avro C cannot parse is 42201.
 *
 * Concurrency: one request thread and one PostgreSQL connection (opened again when it broke: a
 * request that failed because it broke runs once more on a new one);
 * a registration takes a transaction-level advisory lock, so several servers on one database
 * still give one id per schema. Request bodies are at most REGISTRY_SERVER_MAX_BODY bytes.
 * No authentication: it listens on loopback for the development environment; production runs a
 * real registry (deploy/docker-compose.yml).
 */
#ifndef MNI_REGISTRY_SERVER_H
#define MNI_REGISTRY_SERVER_H

#include <stddef.h>

#define REGISTRY_SERVER_MAX_BODY (2 * 1024 * 1024)

typedef struct {
    const char *bind;     /* IPv4 address */
    int port;             /* 0: any free port (registry_server_port) */
    const char *conninfo; /* libpq conninfo of a migrated database */
} registry_server_config;

typedef struct registry_server registry_server;

registry_server *registry_server_start(const registry_server_config *cfg, char *err, size_t errlen);
int registry_server_port(const registry_server *s);
/* Stops, waits for the request in hand, closes the connection. NULL is fine. */
void registry_server_stop(registry_server *s);

#endif
