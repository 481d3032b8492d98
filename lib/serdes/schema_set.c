/* schema_set: loading and composing the schema set (see schema_set.h). */
#include "lib/serdes/schema_set.h"
#include "lib/base/errbuf.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/serdes/avro_resolve.h"

#define ES_NAME_MAX 256
#define ES_MAX_DEPTH 64

struct schema_set {
    schema_def **v; /* pointers, so that entries never move */
    size_t n, cap;
    schema_set_fetch_fn fetch; /* ids not in v (registry mode), or NULL */
    void *fetch_ctx;
};

/* ---- names ---- */

static bool es_is_primitive(const char *s)
{
    static const char *const prims[] = {"null",  "boolean", "int",   "long",
                                        "float", "double",  "bytes", "string"};
    for (size_t i = 0; i < sizeof(prims) / sizeof(prims[0]); i++)
        if (strcmp(s, prims[i]) == 0) return true;
    return false;
}

/* The Avro specification's full name of `name` given an explicit namespace (or NULL) and the
 * enclosing one. */
static int es_fullname(const char *name, const char *explicit_ns, const char *enclosing, char *out,
                       size_t outlen)
{
    const char *ns = explicit_ns != NULL ? explicit_ns : enclosing;
    int n;

    if (strchr(name, '.') != NULL || ns == NULL || ns[0] == '\0')
        n = snprintf(out, outlen, "%s", name);
    else
        n = snprintf(out, outlen, "%s.%s", ns, name);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* The namespace part of a full name ("" when none). */
static void es_namespace_of(const char *full, char *out, size_t outlen)
{
    const char *dot = strrchr(full, '.');
    size_t n = dot != NULL ? (size_t)(dot - full) : 0;

    if (n >= outlen) n = outlen - 1;
    memcpy(out, full, n);
    out[n] = '\0';
}

static bool es_is_named_kind(const char *t)
{
    return strcmp(t, "record") == 0 || strcmp(t, "error") == 0 || strcmp(t, "enum") == 0 ||
           strcmp(t, "fixed") == 0;
}

/* The full name a definition object declares (its "name" under its or the enclosing
 * namespace). */
static int es_def_fullname(json_t *def, const char *enclosing, char *out, size_t outlen,
                           const char *where, char *err, size_t errlen)
{
    json_t *name = json_object_get(def, "name"), *ns = json_object_get(def, "namespace");

    if (!json_is_string(name) || json_string_length(name) == 0)
        return errbuf_fail(err, errlen, "%s: a named type without a \"name\"", where);
    if (ns != NULL && !json_is_string(ns))
        return errbuf_fail(err, errlen, "%s: \"namespace\" of %s is not a string", where,
                           json_string_value(name));
    if (es_fullname(json_string_value(name), ns != NULL ? json_string_value(ns) : NULL, enclosing,
                    out, outlen) != 0)
        return errbuf_fail(err, errlen, "%s: type name too long", where);
    return 0;
}

/* Records every named definition under node into defs (full name -> definition). With copy, a
 * definition is stored as a deep copy named by its full name (so that it can be inlined
 * anywhere); without, as a reference to node itself. A name defined twice is an error. */
static int es_collect(json_t *node, const char *ns, json_t *defs, bool copy, const char *where,
                      int depth, char *err, size_t errlen)
{
    json_t *t, *item;
    size_t i;

    if (depth > ES_MAX_DEPTH) return errbuf_fail(err, errlen, "%s: schema nests too deep", where);
    if (json_is_array(node)) {
        json_array_foreach (node, i, item)
            if (es_collect(item, ns, defs, copy, where, depth + 1, err, errlen)) return -1;
        return 0;
    }
    if (!json_is_object(node)) return 0;
    t = json_object_get(node, "type");
    if (json_is_string(t) && es_is_named_kind(json_string_value(t))) {
        char full[ES_NAME_MAX], inner[ES_NAME_MAX];
        json_t *stored;
        if (es_def_fullname(node, ns, full, sizeof(full), where, err, errlen)) return -1;
        if (json_object_get(defs, full) != NULL)
            return errbuf_fail(err, errlen, "%s: type %s is defined twice", where, full);
        if (copy) {
            stored = json_deep_copy(node);
            if (stored == NULL || json_object_set_new(stored, "name", json_string(full)) != 0 ||
                (json_object_get(stored, "namespace") != NULL &&
                 json_object_del(stored, "namespace") != 0)) {
                json_decref(stored);
                return errbuf_fail(err, errlen, "out of memory");
            }
        } else {
            stored = json_incref(node);
        }
        if (json_object_set_new(defs, full, stored) != 0)
            return errbuf_fail(err, errlen, "out of memory");
        es_namespace_of(full, inner, sizeof(inner));
        json_array_foreach (json_object_get(node, "fields"), i, item) {
            if (es_collect(json_object_get(item, "type"), inner, defs, copy, where, depth + 1, err,
                           errlen))
                return -1;
        }
        return 0;
    }
    if (json_is_string(t) && strcmp(json_string_value(t), "array") == 0)
        return es_collect(json_object_get(node, "items"), ns, defs, copy, where, depth + 1, err,
                          errlen);
    if (json_is_string(t) && strcmp(json_string_value(t), "map") == 0)
        return es_collect(json_object_get(node, "values"), ns, defs, copy, where, depth + 1, err,
                          errlen);
    return es_collect(t, ns, defs, copy, where, depth + 1, err, errlen);
}

/* ---- composition: inline the definition of each name at its first use ---- */

typedef struct {
    json_t *defs;    /* full name -> definition, from every top-level file (NULL: none) */
    json_t *defined; /* full names defined so far in the document */
    const char *where;
    char *err;
    size_t errlen;
} es_compose;

static int es_compose_slot(es_compose *c, json_t *parent, const char *key, size_t index,
                           const char *ns, int depth)
{
    json_t *node = key != NULL ? json_object_get(parent, key) : json_array_get(parent, index);
    json_t *t, *item;
    size_t i;

    if (depth > ES_MAX_DEPTH)
        return errbuf_fail(c->err, c->errlen, "%s: schema nests too deep", c->where);
    if (node == NULL) return errbuf_fail(c->err, c->errlen, "%s: a type is missing", c->where);

    if (json_is_string(node)) {
        char full[ES_NAME_MAX];
        json_t *def, *copy;
        if (es_is_primitive(json_string_value(node))) return 0;
        if (es_fullname(json_string_value(node), NULL, ns, full, sizeof(full)) != 0)
            return errbuf_fail(c->err, c->errlen, "%s: type name too long", c->where);
        if (json_object_get(c->defined, full) != NULL) return 0;
        def = c->defs != NULL ? json_object_get(c->defs, full) : NULL;
        if (def == NULL)
            return errbuf_fail(c->err, c->errlen, "%s: unknown type %s", c->where, full);
        copy = json_deep_copy(def);
        if (copy == NULL || (key != NULL ? json_object_set_new(parent, key, copy)
                                         : json_array_set_new(parent, index, copy)) != 0)
            return errbuf_fail(c->err, c->errlen, "out of memory");
        return es_compose_slot(c, parent, key, index, ns, depth + 1);
    }
    if (json_is_array(node)) {
        for (i = 0; i < json_array_size(node); i++)
            if (es_compose_slot(c, node, NULL, i, ns, depth + 1)) return -1;
        return 0;
    }
    if (!json_is_object(node)) return errbuf_fail(c->err, c->errlen, "%s: not a schema", c->where);

    t = json_object_get(node, "type");
    if (json_is_string(t) && es_is_named_kind(json_string_value(t))) {
        char full[ES_NAME_MAX], inner[ES_NAME_MAX];
        json_t *fields = json_object_get(node, "fields");
        if (es_def_fullname(node, ns, full, sizeof(full), c->where, c->err, c->errlen)) return -1;
        if (json_object_get(c->defined, full) != NULL)
            return errbuf_fail(c->err, c->errlen, "%s: type %s is defined twice", c->where, full);
        if (json_object_set_new(c->defined, full, json_true()) != 0)
            return errbuf_fail(c->err, c->errlen, "out of memory");
        if (strcmp(json_string_value(t), "enum") == 0 || strcmp(json_string_value(t), "fixed") == 0)
            return 0;
        if (!json_is_array(fields))
            return errbuf_fail(c->err, c->errlen, "%s: record %s has no \"fields\" array", c->where,
                               full);
        es_namespace_of(full, inner, sizeof(inner));
        json_array_foreach (fields, i, item) {
            if (!json_is_object(item))
                return errbuf_fail(c->err, c->errlen, "%s: a field of %s is not an object",
                                   c->where, full);
            if (es_compose_slot(c, item, "type", 0, inner, depth + 1)) return -1;
        }
        return 0;
    }
    if (json_is_string(t) && strcmp(json_string_value(t), "array") == 0)
        return es_compose_slot(c, node, "items", 0, ns, depth + 1);
    if (json_is_string(t) && strcmp(json_string_value(t), "map") == 0)
        return es_compose_slot(c, node, "values", 0, ns, depth + 1);
    return es_compose_slot(c, node, "type", 0, ns, depth + 1);
}

/* A self-contained deep copy of root (new reference), or NULL with err set. */
static json_t *es_compose_root(json_t *root, json_t *defs, const char *where, char *err,
                               size_t errlen)
{
    json_t *holder = json_array();
    json_t *out = NULL;
    es_compose c = {
        .defs = defs, .defined = json_object(), .where = where, .err = err, .errlen = errlen};

    if (holder == NULL || c.defined == NULL ||
        json_array_append_new(holder, json_deep_copy(root)) != 0) {
        errbuf_fail(err, errlen, "out of memory");
    } else if (es_compose_slot(&c, holder, NULL, 0, "", 0) == 0) {
        out = json_incref(json_array_get(holder, 0));
    }
    json_decref(holder);
    json_decref(c.defined);
    return out;
}

/* ---- the set ---- */

static void es_entry_free(schema_def *e)
{
    if (e == NULL) return;
    if (e->iface != NULL) avro_value_iface_decref(e->iface);
    if (e->schema != NULL) avro_schema_decref(e->schema);
    json_decref(e->json);
    json_decref(e->named);
    free(e->file);
    free(e->subject);
    free(e->name);
    free(e);
}

void schema_set_free(schema_set *set)
{
    if (set == NULL) return;
    for (size_t i = 0; i < set->n; i++)
        es_entry_free(set->v[i]);
    free(set->v);
    free(set);
}

const schema_def *schema_set_by_id(const schema_set *set, int32_t id)
{
    for (size_t i = 0; set != NULL && id > 0 && i < set->n; i++)
        if (set->v[i]->id == id) return set->v[i];
    return NULL;
}

void schema_set_on_unknown(schema_set *set, schema_set_fetch_fn fetch, void *ctx)
{
    set->fetch = fetch;
    set->fetch_ctx = ctx;
}

const schema_def *schema_set_resolve(const schema_set *set, int32_t id, char *err, size_t errlen)
{
    const schema_def *s = schema_set_by_id(set, id);
    char why[512];

    if (s != NULL) return s;
    if (set == NULL || set->fetch == NULL) {
        errbuf_fail(err, errlen, "unknown schema id %d", (int)id);
        return NULL;
    }
    if (set->fetch(set->fetch_ctx, id, why, sizeof(why)) != 0) {
        errbuf_fail(err, errlen, "unknown schema id %d: %s", (int)id, why);
        return NULL;
    }
    s = schema_set_by_id(set, id);
    if (s == NULL) errbuf_fail(err, errlen, "unknown schema id %d", (int)id);
    return s;
}

const schema_def *schema_set_current(const schema_set *set, const char *name)
{
    for (size_t i = 0; set != NULL && i < set->n; i++)
        if (set->v[i]->current && strcmp(set->v[i]->name, name) == 0) return set->v[i];
    return NULL;
}

size_t schema_set_count(const schema_set *set)
{
    return set != NULL ? set->n : 0;
}

const schema_def *schema_set_at(const schema_set *set, size_t i)
{
    return set != NULL && i < set->n ? set->v[i] : NULL;
}

char *schema_set_text(const schema_def *s)
{
    return s != NULL ? json_dumps(s->json, JSON_COMPACT) : NULL;
}

/* Parses the self-contained `json` (reference stolen) into a new entry of the set. */
static int es_add_entry(schema_set *set, int32_t id, const char *file, const char *subject,
                        json_t *json, bool current, char *err, size_t errlen)
{
    schema_def *e;
    char *text;
    char full[ES_NAME_MAX], sub[384];
    int rc;

    if (schema_set_by_id(set, id) != NULL) {
        json_decref(json);
        return errbuf_fail(err, errlen, "schema id %d is listed twice", (int)id);
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        json_decref(json);
        return errbuf_fail(err, errlen, "out of memory");
    }
    e->id = id;
    e->current = current;
    e->json = json;
    text = json_dumps(json, JSON_COMPACT);
    if (text == NULL) {
        es_entry_free(e);
        return errbuf_fail(err, errlen, "out of memory");
    }
    rc = avro_schema_from_json_length(text, strlen(text), &e->schema);
    free(text);
    if (rc != 0) {
        e->schema = NULL;
        errbuf_fail(err, errlen, "%s (id %d): not a valid Avro schema: %s", file, (int)id,
                    avro_strerror());
        es_entry_free(e);
        return -1;
    }
    if (!is_avro_record(e->schema) || avro_resolve_fullname(e->schema, full, sizeof(full)) != 0) {
        es_entry_free(e);
        return errbuf_fail(err, errlen, "%s (id %d): the top level is not a named record", file,
                           (int)id);
    }
    e->iface = avro_generic_class_from_schema(e->schema);
    e->named = json_object();
    e->file = strdup(file);
    e->subject = strdup(subject != NULL && subject[0] != '\0' ? subject : full);
    e->name = strdup(full);
    if (e->iface == NULL || e->named == NULL || e->file == NULL || e->subject == NULL ||
        e->name == NULL) {
        errbuf_fail(err, errlen, "%s (id %d): cannot build the value class: %s", file, (int)id,
                    avro_strerror());
        es_entry_free(e);
        return -1;
    }
    if (es_collect(e->json, "", e->named, false, file, 0, sub, sizeof(sub)) != 0 ||
        (current && avro_resolve_check_defaults(e->iface, e->named, sub, sizeof(sub)) != 0)) {
        errbuf_fail(err, errlen, "%s (id %d): %s", file, (int)id, sub);
        es_entry_free(e);
        return -1;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        schema_def **v = realloc(set->v, cap * sizeof(*v));
        if (v == NULL) {
            es_entry_free(e);
            return errbuf_fail(err, errlen, "out of memory");
        }
        set->v = v;
        set->cap = cap;
    }
    set->v[set->n++] = e;
    return 0;
}

/* Points every entry at the current version of its record and checks that the current version
 * can read it. */
static int es_link(schema_set *set, char *err, size_t errlen)
{
    char sub[384];

    for (size_t i = 0; i < set->n; i++) {
        schema_def *e = set->v[i];
        const schema_def *cur = NULL;
        for (size_t j = 0; j < set->n; j++) {
            if (!set->v[j]->current || strcmp(set->v[j]->name, e->name) != 0) continue;
            if (cur != NULL && cur != set->v[j])
                return errbuf_fail(err, errlen,
                                   "two current versions of %s: ids %d and %d "
                                   "(older ones belong under history/)",
                                   e->name, (int)cur->id, (int)set->v[j]->id);
            cur = set->v[j];
        }
        if (cur == NULL)
            return errbuf_fail(err, errlen,
                               "schema id %d (%s): no current version of %s to read it "
                               "with",
                               (int)e->id, e->file, e->name);
        e->reader = cur;
        if (cur != e &&
            avro_resolve_compat(e->schema, cur->schema, cur->named, sub, sizeof(sub)) != 0)
            return errbuf_fail(err, errlen, "schema id %d (%s) cannot be read with id %d (%s): %s",
                               (int)e->id, e->file, (int)cur->id, cur->file, sub);
    }
    return 0;
}

int schema_set_add(schema_set *set, int32_t id, const char *subject, const char *json_text,
                   char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *json;

    if (set == NULL || json_text == NULL) return errbuf_fail(err, errlen, "no schema set or text");
    if (id <= 0) return errbuf_fail(err, errlen, "schema id %d is not positive", (int)id);
    json = json_loads(json_text, JSON_REJECT_DUPLICATES, &jerr);
    if (json == NULL)
        return errbuf_fail(err, errlen, "schema id %d: invalid JSON at line %d: %s", (int)id,
                           jerr.line, jerr.text);
    if (es_add_entry(set, id, "(registry)", subject, json, false, err, errlen) != 0) return -1;
    if (es_link(set, err, errlen) != 0) {
        es_entry_free(set->v[--set->n]);
        return -1;
    }
    return 0;
}

void schema_set_registry_mode(schema_set *set)
{
    size_t kept = 0;

    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i]->current) {
            set->v[i]->id = 0;
            set->v[kept++] = set->v[i];
        } else {
            es_entry_free(set->v[i]);
        }
    }
    set->n = kept;
}

int schema_set_bind(schema_set *set, const char *name, int32_t id, char *err, size_t errlen)
{
    schema_def *cur = NULL;

    if (id <= 0) return errbuf_fail(err, errlen, "schema id %d is not positive", (int)id);
    for (size_t i = 0; i < set->n; i++) {
        if (set->v[i]->id == id && !(set->v[i]->current && strcmp(set->v[i]->name, name) == 0))
            return errbuf_fail(err, errlen, "schema id %d already names %s (%s)", (int)id,
                               set->v[i]->name, set->v[i]->file);
        if (set->v[i]->current && strcmp(set->v[i]->name, name) == 0) cur = set->v[i];
    }
    if (cur == NULL) return errbuf_fail(err, errlen, "no current version of %s to bind", name);
    cur->id = id;
    return 0;
}

static bool es_has_ids(const char *dir)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, EVENTS_SCHEMA_IDS_FILE);
    return n > 0 && (size_t)n < sizeof(path) && access(path, R_OK) == 0;
}

static int es_set_dir(const char *dir, char *out, size_t outlen, char *err, size_t errlen)
{
    char real[PATH_MAX];
    const char *use = realpath(dir, real) != NULL ? real : dir;

    if (strlen(use) >= outlen) return errbuf_fail(err, errlen, "schemas path too long: %s", use);
    strcpy(out, use);
    return 0;
}

int schema_set_find_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *env = getenv(EVENTS_SCHEMA_ENV);
    char exe[PATH_MAX], cand[PATH_MAX];
    static const char *const from_exe[] = {"../schemas", "../share/mni/schemas"};
    ssize_t n;

    if (env != NULL && env[0] != '\0') {
        /* An explicit setting that is wrong is an error, not a reason to look elsewhere. */
        if (!es_has_ids(env))
            return errbuf_fail(err, errlen, "%s=%s: no readable %s there", EVENTS_SCHEMA_ENV, env,
                               EVENTS_SCHEMA_IDS_FILE);
        return es_set_dir(env, out, outlen, err, errlen);
    }
    if (es_has_ids("schemas")) return es_set_dir("schemas", out, outlen, err, errlen);
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) *slash = '\0'; /* the executable's directory */
        for (size_t i = 0; slash != NULL && i < sizeof(from_exe) / sizeof(from_exe[0]); i++) {
            int m = snprintf(cand, sizeof(cand), "%s/%s", exe, from_exe[i]);
            if (m > 0 && (size_t)m < sizeof(cand) && es_has_ids(cand))
                return es_set_dir(cand, out, outlen, err, errlen);
        }
    }
    return errbuf_fail(err, errlen,
                       "no schemas directory found: set %s, or run from the repository "
                       "root (tried ./schemas and <dir of the executable>/../schemas)",
                       EVENTS_SCHEMA_ENV);
}

/* Loads every top-level *.avsc of dir into files (name -> JSON) and their named types into
 * defs. */
static int es_load_files(const char *dir, json_t *files, json_t *defs, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;

    if (d == NULL) return errbuf_fail(err, errlen, "%s: %s", dir, strerror(errno));
    while (rc == 0 && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char path[PATH_MAX];
        json_error_t jerr;
        json_t *root;
        if (len < 6 || strcmp(de->d_name + len - 5, ".avsc") != 0 || de->d_name[0] == '.') continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path)) {
            rc = errbuf_fail(err, errlen, "%s/%s: path too long", dir, de->d_name);
            break;
        }
        root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (root == NULL) {
            rc = errbuf_fail(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
            break;
        }
        if (json_object_set_new(files, de->d_name, root) != 0)
            rc = errbuf_fail(err, errlen, "out of memory");
        else
            rc = es_collect(root, "", defs, true, de->d_name, 0, err, errlen);
    }
    closedir(d);
    return rc;
}

/* Whether a current line's file declares record `only` (NULL: every record is wanted). A file
 * whose name cannot be read is wanted, so that loading it reports what is wrong. */
static bool es_wanted(json_t *root, const char *only)
{
    char full[ES_NAME_MAX], why[64];
    return only == NULL || root == NULL ||
           es_def_fullname(root, "", full, sizeof(full), "", why, sizeof(why)) != 0 ||
           strcmp(full, only) == 0;
}

/* Reads ids.tsv and adds one entry per line (with only: only the current version of that
 * record, history and other records skipped). */
static int es_load_ids(schema_set *set, const char *dir, json_t *files, json_t *defs,
                       const char *only, char *err, size_t errlen)
{
    char path[PATH_MAX];
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, EVENTS_SCHEMA_IDS_FILE);
    f = fopen(path, "r");
    if (f == NULL) return errbuf_fail(err, errlen, "%s: %s", path, strerror(errno));
    while (rc == 0 && getline(&line, &cap, f) > 0) {
        char *fields[4] = {0}, *save = NULL, *tok, *end;
        int nf = 0;
        long id;
        bool history;
        json_t *json;
        char where[PATH_MAX + 32];

        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') continue;
        for (tok = strtok_r(line, "\t", &save); tok != NULL && nf < 4;
             tok = strtok_r(NULL, "\t", &save))
            fields[nf++] = tok;
        if (nf != 3) {
            rc = errbuf_fail(err, errlen, "%s:%d: expected id<TAB>file<TAB>subject", path, lineno);
            break;
        }
        errno = 0;
        id = strtol(fields[0], &end, 10);
        if (errno != 0 || *end != '\0' || id <= 0 || id > INT32_MAX) {
            rc = errbuf_fail(err, errlen, "%s:%d: bad schema id \"%s\"", path, lineno, fields[0]);
            break;
        }
        if (fields[1][0] == '/' || strstr(fields[1], "..") != NULL) {
            rc = errbuf_fail(err, errlen, "%s:%d: file must be relative and inside %s", path,
                             lineno, dir);
            break;
        }
        snprintf(where, sizeof(where), "%s:%d: %s", path, lineno, fields[1]);
        history = strncmp(fields[1], "history/", 8) == 0;
        if (only != NULL && (history || !es_wanted(json_object_get(files, fields[1]), only)))
            continue;
        if (history) {
            /* Frozen versions are self-contained: nothing from the current files goes in. */
            json_error_t jerr;
            char hpath[PATH_MAX];
            json_t *root;
            snprintf(hpath, sizeof(hpath), "%s/%s", dir, fields[1]);
            root = json_load_file(hpath, JSON_REJECT_DUPLICATES, &jerr);
            if (root == NULL) {
                rc = errbuf_fail(err, errlen, "%s:%d: %s", hpath, jerr.line, jerr.text);
                break;
            }
            json = es_compose_root(root, NULL, where, err, errlen);
            json_decref(root);
        } else {
            json_t *root = json_object_get(files, fields[1]);
            if (root == NULL) {
                rc = errbuf_fail(err, errlen, "%s: no such schema file", where);
                break;
            }
            json = es_compose_root(root, defs, where, err, errlen);
        }
        if (json == NULL) {
            rc = -1;
            break;
        }
        rc = es_add_entry(set, (int32_t)id, fields[1], fields[2], json, !history, err, errlen);
    }
    free(line);
    if (rc == 0 && ferror(f)) rc = errbuf_fail(err, errlen, "%s: read error", path);
    fclose(f);
    if (rc == 0 && set->n == 0 && only != NULL)
        rc = errbuf_fail(err, errlen, "%s: no current version of %s listed", path, only);
    if (rc == 0 && set->n == 0) rc = errbuf_fail(err, errlen, "%s: no schema listed", path);
    return rc;
}

static int es_load(const char *dir, const char *only, schema_set **out, char *err, size_t errlen)
{
    schema_set *set = calloc(1, sizeof(*set));
    json_t *files = json_object(), *defs = json_object();
    int rc;

    *out = NULL;
    if (set == NULL || files == NULL || defs == NULL)
        rc = errbuf_fail(err, errlen, "out of memory");
    else
        rc = es_load_files(dir, files, defs, err, errlen);
    if (rc == 0) rc = es_load_ids(set, dir, files, defs, only, err, errlen);
    if (rc == 0) rc = es_link(set, err, errlen);
    json_decref(files);
    json_decref(defs);
    if (rc != 0) {
        schema_set_free(set);
        return -1;
    }
    *out = set;
    return 0;
}

int schema_set_load(const char *dir, schema_set **out, char *err, size_t errlen)
{
    return es_load(dir, NULL, out, err, errlen);
}

int schema_set_load_writer(const char *dir, const char *name, schema_set **out, char *err,
                           size_t errlen)
{
    return es_load(dir, name, out, err, errlen);
}

int schema_set_load_default(schema_set **out, char *err, size_t errlen)
{
    char dir[PATH_MAX];

    *out = NULL;
    if (schema_set_find_dir(dir, sizeof(dir), err, errlen) != 0) return -1;
    return schema_set_load(dir, out, err, errlen);
}

int schema_set_load_default_writer(const char *name, schema_set **out, char *err, size_t errlen)
{
    char dir[PATH_MAX];

    *out = NULL;
    if (schema_set_find_dir(dir, sizeof(dir), err, errlen) != 0) return -1;
    return schema_set_load_writer(dir, name, out, err, errlen);
}
