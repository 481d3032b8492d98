/*
 * config: one configuration for every mni program: defaults, then one file, then the
 * environment. The same keys serve the development environment (scripts/mni-env), Compose and
 * systemd (deploy/mni.conf documents each key).
 *
 * File format: one `key = value` per line; blank lines and lines whose first non-blank
 * character is '#' are ignored. Key and value are trimmed of surrounding blanks; the value is
 * the rest of the line verbatim (a '#' inside a value is part of it, no quoting, no escapes).
 * Keys are lowercase letters, digits and . _ -. A key given twice in one file is an error (a
 * silent last-one-wins hides typos in long files).
 *
 * Keys (defaults in config.c, all documented in deploy/mni.conf):
 *   kafka.bootstrap.servers   no default; required by the Kafka layer
 *   kafka.<property>          any librdkafka property, passed straight through (see
 *                             config_iter_prefix); e.g. kafka.security.protocol
 *   pg.conninfo               no default; a libpq connection string or URI
 *   topic.events ...          the physical name of each logical topic: topic.events,
 *                             topic.accepted, topic.dlq, topic.assessments, topic.tasks,
 *                             topic.tickets
 *   group.id                  consumer group (each worker sets its own default)
 *   batch.size, batch.ms      batch bounds: rows per transaction, the longest a batch waits
 *                             for more while some are still arriving (kq_consume_batch)
 *   metrics.port              Prometheus/health HTTP port, 0 = off
 *   log.level                 debug, info, warn, error
 *   schema.registry.*         the schema registry; none unless schema.registry.url is set
 *                             (lib/runtime/schema_source.h lists the keys)
 *
 * Environment override rule, applied after the file:
 *   1. A key that is known (it has a default, even an empty one, or the file sets it) is
 *      overridden by MNI_ + the key in upper case with '.' and '-' replaced by '_':
 *      batch.size <- MNI_BATCH_SIZE, kafka.bootstrap.servers <- MNI_KAFKA_BOOTSTRAP_SERVERS.
 *   2. Two short aliases, which scripts/mni-env writes: MNI_KAFKA_BOOTSTRAP sets
 *      kafka.bootstrap.servers and MNI_PG_CONNINFO sets pg.conninfo. When both an alias and
 *      the rule-1 name are set, the rule-1 name wins (it is the more specific).
 *   3. For the open kafka.* namespace only: MNI_KAFKA_X_Y that matches no known key adds
 *      kafka.x.y (lower case, '_' -> '.'), because librdkafka's string properties use dots and
 *      no underscores (the one exception, log_level, must be set in the file).
 * An empty environment value counts as set (it overrides with ""). The environment is read
 * once, by config_apply_env; later changes to it have no effect.
 *
 * Ownership: a config owns copies of every key and value; config_get's pointers stay valid
 * until that key is set again or the config is freed. Not thread-safe for writing; read-only
 * use from several threads after loading is safe.
 *
 * Errors: 0/-1, with a message naming the key, the bad value and where it came from
 * ("batch.size = 'ten' (env MNI_BATCH_SIZE): not an integer").
 */
#ifndef MNI_CONFIG_H
#define MNI_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef struct config config;

/* A new config holding the built-in defaults, or NULL when out of memory. */
config *config_new(void);
void config_free(config *cfg);

/* Sets a default (a program's own, e.g. group.id = mni-ingest): only a key still at its
 * built-in default or unknown is changed. value NULL registers the key as known without a
 * value. Call before config_load. */
int config_set_default(config *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Sets a key unconditionally (command-line options), recorded as source "set". */
int config_set(config *cfg, const char *key, const char *value, char *err, size_t errlen);

/* Reads one file into cfg (see the format above). */
int config_load_file(config *cfg, const char *path, char *err, size_t errlen);
/* Applies the environment override rule above. */
int config_apply_env(config *cfg, char *err, size_t errlen);
/* The usual sequence: the file at path (if path is NULL: the file named by MNI_CONFIG if set,
 * else none), then the environment. */
int config_load(config *cfg, const char *path, char *err, size_t errlen);

/* The value, or NULL when the key is unknown or has no value. */
const char *config_get(const config *cfg, const char *key);
/* Where the value came from: "default", "file PATH:LINE", "env NAME", "set" (NULL if unknown).
 */
const char *config_source(const config *cfg, const char *key);

/* Typed getters: -1 with a message naming key, value and source when the key has no value or
 * the value does not parse or is out of [min, max]. */
int config_get_str(const config *cfg, const char *key, const char **out, char *err, size_t errlen);
int config_get_int(const config *cfg, const char *key, long long min, long long max, long long *out,
                   char *err, size_t errlen);
/* true/false, yes/no, on/off, 1/0 (case-insensitive). */
int config_get_bool(const config *cfg, const char *key, int *out, char *err, size_t errlen);

/* Iterates, in key order, the keys that start with prefix and have a value:
 *
 *   config_iter it = config_iter_prefix(cfg, "kafka.");
 *   while (config_iter_next(&it))
 *       rd_kafka_conf_set(conf, it.name, it.value, errstr, sizeof errstr);
 *
 * The config must not change during the iteration. */
typedef struct {
    const config *cfg;
    const char *prefix;
    size_t prefix_len, next;
    const char *key;   /* the full key, e.g. "kafka.bootstrap.servers" */
    const char *name;  /* the key after the prefix, e.g. "bootstrap.servers" */
    const char *value; /* its value */
} config_iter;

config_iter config_iter_prefix(const config *cfg, const char *prefix);
/* 1 and fills key/name/value while there is a next entry, 0 at the end. */
int config_iter_next(config_iter *it);

/* True for keys whose values are secrets (passwords, keys, secrets); config_dump masks them. */
int config_key_is_secret(const char *key);
/* Writes every key with a value as `key = value  # source`, secrets masked; for --print-config
 * and start-up diagnostics. Connection strings (keys ending in conninfo: pg.conninfo,
 * web.conninfo) are parsed as libpq does (PQconninfoParse) and written in the keyword form with
 * libpq's hidden options (password, sslpassword) masked; one libpq cannot parse is not written.
 * URLs (keys ending in .url) are written with the password of their user part masked. -1 when
 * the write fails. */
int config_dump(const config *cfg, FILE *out);

#endif
