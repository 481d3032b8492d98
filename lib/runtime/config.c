/*
 * config: defaults + one `key = value` file + environment overrides; see config.h for the file
 * format and the override rule, deploy/mni.conf for the keys.
 *
 * Representation: an array of entries kept sorted by key (binary search; a config holds tens
 * of keys, and sorted order makes config_dump and the prefix iterator deterministic). An entry
 * with value NULL is a known key without a value (pg.conninfo before anything sets it): it is
 * known for the environment rule but config_get returns NULL. Each entry records its source so
 * that an error can say where a bad value was written.
 */
#include "lib/runtime/config.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/base/errbuf.h"
#include "lib/model/topics.h"

extern char **environ;

typedef struct {
    char *key;
    char *value;  /* NULL: known key without a value */
    char *source; /* "default", "file PATH:LINE", "env NAME", "set" */
    bool builtin; /* still at the built-in default */
} config_entry;

struct config {
    config_entry *v;
    size_t n, cap;
};

/* Built-in defaults (the topic.* keys come from lib/model/topics.h). NULL values register a key as
 * known (so its MNI_ variable applies) while leaving it unset: there is no sensible default for
 * where Kafka and PostgreSQL are. */
static const struct {
    const char *key, *value;
} config_defaults[] = {
    {"kafka.bootstrap.servers", NULL},
    {"pg.conninfo", NULL},
    {"group.id", "mni"},
    {"batch.size", "500"},
    {"batch.ms", "100"},
    {"batch.bytes", "33554432"},
    {"metrics.port", "0"},
    {"log.level", "info"},
    /* Pacing of the workers' outputs on the embedded broker (lib/runtime/pace_gate.h): on by
     * default, for the mock cluster that keeps ~5 MiB per partition; deploy/mni.conf sets 0
     * for real Kafka, whose retention keeps what is not read. */
    {"pace.limit.bytes", "2097152"},
    {"pace.group.accepted", "mni-assess"},
    {"pace.group.tasks", "mni-notify"},
    {"pace.group.assessments", ""},
    {"pace.group.tickets", ""},
    {"pace.group.anchors", ""},
    /* The schema registry (lib/runtime/schema_source.h): none unless the URL is set. */
    {"schema.registry.url", NULL},
    {"schema.registry.basic.auth.user.info", NULL},
    {"schema.registry.basic.auth.user.info.file", NULL},
    {"schema.registry.ssl.ca.location", NULL},
    {"schema.registry.ssl.certificate.location", NULL},
    {"schema.registry.ssl.key.location", NULL},
    {"schema.registry.ssl.key.password", NULL},
    {"schema.registry.timeout.ms", "10000"},
};

#define CONFIG_KEY_MAX 200
#define CONFIG_ENV_PREFIX "MNI_"

static bool config_key_valid(const char *key)
{
    size_t n = strlen(key);
    if (n == 0 || n > CONFIG_KEY_MAX || key[0] == '.' || key[n - 1] == '.') return false;
    for (const char *p = key; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

/* Index of key, or of where it would be inserted (*found says which). */
static size_t config_find(const config *cfg, const char *key, bool *found)
{
    size_t lo = 0, hi = cfg->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cfg->v[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static const config_entry *config_lookup(const config *cfg, const char *key)
{
    bool found;
    size_t i = config_find(cfg, key, &found);
    return found ? &cfg->v[i] : NULL;
}

/* Stores key = value (value may be NULL) with its source. */
static int config_put(config *cfg, const char *key, const char *value, const char *source,
                      bool builtin, char *err, size_t errlen)
{
    if (!config_key_valid(key)) {
        errbuf_fail(err, errlen,
                    "invalid key '%s' (%s): keys are lowercase letters, digits and . _ -", key,
                    source);
        return -1;
    }
    char *v = value ? strdup(value) : NULL;
    char *s = strdup(source);
    if ((value && !v) || !s) {
        free(v);
        free(s);
        errbuf_fail(err, errlen, "out of memory setting %s", key);
        return -1;
    }
    bool found;
    size_t i = config_find(cfg, key, &found);
    if (found) {
        config_entry *e = &cfg->v[i];
        free(e->value);
        free(e->source);
        e->value = v;
        e->source = s;
        e->builtin = builtin;
        return 0;
    }
    char *k = strdup(key);
    config_entry *nv = cfg->v;
    if (k && cfg->n == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 32;
        nv = realloc(cfg->v, cap * sizeof *nv);
        if (nv) cfg->cap = cap;
    }
    if (!k || !nv) {
        free(k);
        free(v);
        free(s);
        errbuf_fail(err, errlen, "out of memory setting %s", key);
        return -1;
    }
    cfg->v = nv;
    memmove(&cfg->v[i + 1], &cfg->v[i], (cfg->n - i) * sizeof *cfg->v);
    cfg->v[i] = (config_entry){.key = k, .value = v, .source = s, .builtin = builtin};
    cfg->n++;
    return 0;
}

config *config_new(void)
{
    config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    for (size_t i = 0; i < sizeof config_defaults / sizeof config_defaults[0]; i++)
        if (config_put(cfg, config_defaults[i].key, config_defaults[i].value, "default", true, NULL,
                       0) != 0) {
            config_free(cfg);
            return NULL;
        }
    for (size_t i = 0; i < mni_topic_count; i++) {
        char key[64];
        snprintf(key, sizeof key, "topic.%s", mni_topics[i].logical);
        if (config_put(cfg, key, mni_topics[i].name, "default", true, NULL, 0) != 0) {
            config_free(cfg);
            return NULL;
        }
    }
    return cfg;
}

void config_free(config *cfg)
{
    if (!cfg) return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->v[i].key);
        free(cfg->v[i].value);
        free(cfg->v[i].source);
    }
    free(cfg->v);
    free(cfg);
}

int config_set_default(config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    const config_entry *e = config_lookup(cfg, key);
    if (e && !e->builtin) return 0;
    return config_put(cfg, key, value, "default", true, err, errlen);
}

int config_set(config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    return config_put(cfg, key, value, "set", false, err, errlen);
}

static char *config_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int config_load_file(config *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        errbuf_fail(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
        return -1;
    }
    /* Keys this file has set, with their line, to refuse duplicates. */
    struct seen {
        char *key;
        unsigned line;
    } *seen = NULL;
    size_t nseen = 0;
    char *line = NULL;
    size_t linecap = 0;
    unsigned lineno = 0;
    int rc = 0;
    char source[4096 + 32];

    while (rc == 0 && getline(&line, &linecap, f) != -1) {
        lineno++;
        char *s = config_trim(line);
        if (!*s || *s == '#') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            errbuf_fail(err, errlen, "%s:%u: expected 'key = value'", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = config_trim(s), *value = config_trim(eq + 1);
        if (!config_key_valid(key)) {
            errbuf_fail(err, errlen,
                        "%s:%u: invalid key '%s': keys are lowercase letters, digits and . _ -",
                        path, lineno, key);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < nseen; i++)
            if (!strcmp(seen[i].key, key)) {
                errbuf_fail(err, errlen, "%s:%u: key %s given twice (first at line %u)", path,
                            lineno, key, seen[i].line);
                rc = -1;
            }
        if (rc) break;
        struct seen *ns = realloc(seen, (nseen + 1) * sizeof *seen);
        char *k = strdup(key);
        if (!ns || !k) {
            if (ns) seen = ns;
            free(k);
            errbuf_fail(err, errlen, "%s:%u: out of memory", path, lineno);
            rc = -1;
            break;
        }
        seen = ns;
        seen[nseen].key = k;
        seen[nseen].line = lineno;
        nseen++;
        snprintf(source, sizeof source, "file %s:%u", path, lineno);
        rc = config_put(cfg, key, value, source, false, err, errlen);
    }
    if (rc == 0 && ferror(f)) {
        errbuf_fail(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
        rc = -1;
    }
    for (size_t i = 0; i < nseen; i++)
        free(seen[i].key);
    free(seen);
    free(line);
    fclose(f);
    return rc;
}

/* MNI_ + key upper-cased with '.' and '-' as '_'. */
static void config_env_name(const char *key, char *out, size_t outlen)
{
    size_t n = snprintf(out, outlen, "%s", CONFIG_ENV_PREFIX);
    for (const char *p = key; *p && n + 1 < outlen; p++)
        out[n++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

static int config_set_from_env(config *cfg, const char *key, const char *name, const char *value,
                               char *err, size_t errlen)
{
    char source[CONFIG_KEY_MAX + 16];
    snprintf(source, sizeof source, "env %s", name);
    return config_put(cfg, key, value, source, false, err, errlen);
}

int config_apply_env(config *cfg, char *err, size_t errlen)
{
    static const struct {
        const char *env, *key;
    } aliases[] = {{"MNI_KAFKA_BOOTSTRAP", "kafka.bootstrap.servers"},
                   {"MNI_PG_CONNINFO", "pg.conninfo"}};
    char name[CONFIG_KEY_MAX + 8];
    const char *value;

    /* Rule 2 first, so that rule 1 (more specific) overrides it. */
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if ((value = getenv(aliases[i].env)) != NULL &&
            config_set_from_env(cfg, aliases[i].key, aliases[i].env, value, err, errlen) != 0)
            return -1;

    /* Rule 1: known keys. Setting an existing key never reorders or grows the array. */
    for (size_t i = 0; i < cfg->n; i++) {
        config_env_name(cfg->v[i].key, name, sizeof name);
        if ((value = getenv(name)) != NULL &&
            config_set_from_env(cfg, cfg->v[i].key, name, value, err, errlen) != 0)
            return -1;
    }

    /* Rule 3: MNI_KAFKA_* naming no known key adds a librdkafka property. */
    static const char kafka_env[] = "MNI_KAFKA_";
    for (char **ep = environ; ep && *ep; ep++) {
        const char *eq = strchr(*ep, '=');
        size_t len = eq ? (size_t)(eq - *ep) : 0;
        if (!eq || len <= sizeof kafka_env - 1 || len >= sizeof name ||
            strncmp(*ep, kafka_env, sizeof kafka_env - 1) != 0)
            continue;
        memcpy(name, *ep, len);
        name[len] = '\0';
        bool taken = false;
        for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
            taken |= !strcmp(name, aliases[i].env);
        char known[CONFIG_KEY_MAX + 8];
        for (size_t i = 0; !taken && i < cfg->n; i++) {
            config_env_name(cfg->v[i].key, known, sizeof known);
            taken = !strcmp(name, known);
        }
        if (taken) continue;
        char key[CONFIG_KEY_MAX + 8];
        size_t k = (size_t)snprintf(key, sizeof key, "kafka.");
        bool ok = true;
        for (const char *p = name + sizeof kafka_env - 1; *p && k + 1 < sizeof key; p++) {
            if (*p == '_')
                key[k++] = '.';
            else if (isupper((unsigned char)*p) || isdigit((unsigned char)*p))
                key[k++] = (char)tolower((unsigned char)*p);
            else
                ok = false;
        }
        key[k] = '\0';
        if (!ok || !config_key_valid(key)) {
            errbuf_fail(err, errlen,
                        "environment variable %s does not name a librdkafka property "
                        "(expected MNI_KAFKA_ then upper-case words joined by '_')",
                        name);
            return -1;
        }
        if (config_set_from_env(cfg, key, name, eq + 1, err, errlen) != 0) return -1;
    }
    return 0;
}

int config_load(config *cfg, const char *path, char *err, size_t errlen)
{
    if (!path) {
        path = getenv("MNI_CONFIG");
        if (path && !*path) path = NULL;
    }
    if (path && config_load_file(cfg, path, err, errlen) != 0) return -1;
    return config_apply_env(cfg, err, errlen);
}

const char *config_get(const config *cfg, const char *key)
{
    const config_entry *e = config_lookup(cfg, key);
    return e ? e->value : NULL;
}

const char *config_source(const config *cfg, const char *key)
{
    const config_entry *e = config_lookup(cfg, key);
    return e ? e->source : NULL;
}

/* The entry with a value, or -1 with "KEY is not set". */
static const config_entry *config_need(const config *cfg, const char *key, char *err, size_t errlen)
{
    const config_entry *e = config_lookup(cfg, key);
    if (!e || !e->value) {
        char name[CONFIG_KEY_MAX + 8];
        config_env_name(key, name, sizeof name);
        errbuf_fail(err, errlen, "%s is not set (set it in the config file or %s)", key, name);
        return NULL;
    }
    return e;
}

int config_get_str(const config *cfg, const char *key, const char **out, char *err, size_t errlen)
{
    const config_entry *e = config_need(cfg, key, err, errlen);
    if (!e) return -1;
    if (!*e->value) {
        errbuf_fail(err, errlen, "%s is empty (%s)", key, e->source);
        return -1;
    }
    *out = e->value;
    return 0;
}

int config_get_int(const config *cfg, const char *key, long long min, long long max, long long *out,
                   char *err, size_t errlen)
{
    const config_entry *e = config_need(cfg, key, err, errlen);
    if (!e) return -1;
    const char *s = e->value;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!(isdigit((unsigned char)s[0]) ||
          ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1]))) ||
        *end != '\0') {
        errbuf_fail(err, errlen, "%s = '%s' (%s): not an integer", key, s, e->source);
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        errbuf_fail(err, errlen, "%s = '%s' (%s): out of range [%lld, %lld]", key, s, e->source,
                    min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int config_get_bool(const config *cfg, const char *key, int *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    const config_entry *e = config_need(cfg, key, err, errlen);
    if (!e) return -1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (!strcasecmp(e->value, yes[i])) {
            *out = 1;
            return 0;
        }
        if (!strcasecmp(e->value, no[i])) {
            *out = 0;
            return 0;
        }
    }
    errbuf_fail(err, errlen, "%s = '%s' (%s): not a boolean (true/false, yes/no, on/off, 1/0)", key,
                e->value, e->source);
    return -1;
}

config_iter config_iter_prefix(const config *cfg, const char *prefix)
{
    bool found;
    config_iter it = {.cfg = cfg, .prefix = prefix, .prefix_len = strlen(prefix)};
    it.next = config_find(cfg, prefix, &found);
    return it;
}

int config_iter_next(config_iter *it)
{
    while (it->next < it->cfg->n) {
        const config_entry *e = &it->cfg->v[it->next];
        if (strncmp(e->key, it->prefix, it->prefix_len) != 0)
            break; /* sorted: past the last key with this prefix */
        it->next++;
        if (!e->value || !e->key[it->prefix_len]) continue;
        it->key = e->key;
        it->name = e->key + it->prefix_len;
        it->value = e->value;
        return 1;
    }
    it->key = it->name = it->value = NULL;
    return 0;
}

/* librdkafka 2.0.2's properties that hold a secret (marked sensitive in its rdkafka_conf.c),
 * as mni keys. The generic words below catch most of them too; the list makes sure of the ones
 * whose names do not say "password" or "secret" (sasl.oauthbearer.config, ssl_key). */
static const char *const config_kafka_secrets[] = {
    "kafka.sasl.password",
    "kafka.sasl.oauthbearer.config",
    "kafka.sasl.oauthbearer.client.secret",
    "kafka.ssl.key.password",
    "kafka.ssl.keystore.password",
    "kafka.ssl.key.pem",
    "kafka.ssl_key",
    "schema.registry.basic.auth.user.info", /* user:password */
};

int config_key_is_secret(const char *key)
{
    static const char *const words[] = {"password", "secret", "key.pem", "hmac", "token"};
    for (size_t i = 0; i < sizeof config_kafka_secrets / sizeof config_kafka_secrets[0]; i++)
        if (!strcmp(key, config_kafka_secrets[i])) return 1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(key, words[i])) return 1;
    size_t n = strlen(key);
    return n >= 4 && !strcmp(key + n - 4, ".key");
}

/* Writes a URL with the password of its user part masked (scheme://user:****@host/...). */
static int config_dump_url(const char *v, FILE *out)
{
    const char *scheme = strstr(v, "://");
    if (scheme) {
        const char *host = scheme + 3;
        size_t authority = strcspn(host, "/?#");
        const char *at = memchr(host, '@', authority);
        const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
        if (colon) return fprintf(out, "%.*s:****%s", (int)(colon - v), v, at) < 0 ? -1 : 0;
    }
    return fputs(v, out) < 0 ? -1 : 0;
}

/* Writes one conninfo value in the keyword form, quoted when it must be. */
static int config_dump_conninfo_value(const char *v, FILE *out)
{
    if (*v && !strpbrk(v, " \t\n\r\v\f'\\")) return fputs(v, out) < 0 ? -1 : 0;
    if (fputc('\'', out) == EOF) return -1;
    for (; *v; v++)
        if (((*v == '\'' || *v == '\\') && fputc('\\', out) == EOF) || fputc(*v, out) == EOF)
            return -1;
    return fputc('\'', out) == EOF ? -1 : 0;
}

/* Writes a libpq connection string as libpq reads it (PQconninfoParse: keyword or URI form,
 * spaces around '=', a keyword given twice, a password in both the URI's user part and its
 * query), in the keyword form, every option libpq itself hides (dispchar "*": password,
 * sslpassword) masked. A string libpq cannot parse is not shown at all: its error message would
 * quote it. */
static int config_dump_conninfo(const char *v, FILE *out)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(v, &why);
    if (!opts) {
        PQfreemem(why);
        return fputs("(not shown: not a valid libpq connection string)", out) < 0 ? -1 : 0;
    }
    int rc = 0, first = 1;
    for (const PQconninfoOption *o = opts; o->keyword && rc == 0; o++) {
        if (!o->val) continue;
        if (fprintf(out, "%s%s=", first ? "" : " ", o->keyword) < 0) rc = -1;
        first = 0;
        if (rc == 0)
            rc = o->dispchar && o->dispchar[0] == '*' ? (fputs("****", out) < 0 ? -1 : 0)
                                                      : config_dump_conninfo_value(o->val, out);
    }
    PQconninfoFree(opts);
    return rc;
}

int config_dump(const config *cfg, FILE *out)
{
    for (size_t i = 0; i < cfg->n; i++) {
        const config_entry *e = &cfg->v[i];
        if (!e->value) continue;
        if (fprintf(out, "%s = ", e->key) < 0) return -1;
        int rc;
        if (config_key_is_secret(e->key))
            rc = fputs("****", out) < 0 ? -1 : 0;
        else if (strlen(e->key) >= 8 && !strcmp(e->key + strlen(e->key) - 8, "conninfo"))
            rc = config_dump_conninfo(e->value, out); /* pg.conninfo, web.conninfo */
        else if (strlen(e->key) >= 4 && !strcmp(e->key + strlen(e->key) - 4, ".url"))
            rc = config_dump_url(e->value, out);
        else
            rc = fputs(e->value, out) < 0 ? -1 : 0;
        if (rc != 0 || fprintf(out, "  # %s\n", e->source) < 0) return -1;
    }
    return 0;
}
