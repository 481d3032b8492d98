/*
 * schema_def: the set of Avro schemas a process can read and write, by schema id.
 *
 * Source: the schemas/ directory shipped with the code (found by schema_set_find_dir:
 * $MNI_SCHEMAS_DIR, else ./schemas, else <dir of the executable>/../schemas, else
 * <dir of the executable>/../share/mni/schemas). ids.tsv in it is the local schema-id table:
 * lines "id<TAB>file<TAB>subject" ('#' comments and blank lines skipped), ids > 0 and never
 * reused. When a schema registry is configured, its client adds the writer schemas it fetches
 * with schema_set_add; the local files still define what this binary reads into its structs.
 *
 * Composition: one .avsc file per top-level record. A file may name a type defined in another
 * top-level file (IncidentEvent's body union names jp.mni.IncidentOpened; FactsUpdated names
 * jp.mni.Certainty, defined inside IncidentOpened.avsc); the loader inlines each such
 * definition at its first use, giving a self-contained schema per id (what Avro C parses and
 * what a registry would be given). Files under history/ are frozen older versions and must be
 * self-contained: nothing is inlined into them, so later edits of the current files cannot
 * change what an old id means.
 *
 * Versions: for each record full name exactly one entry is CURRENT (its file is not under
 * history/): encoders write it and decoders resolve every other version of that record into it
 * (avro_resolve). Loading checks that every older version is readable by the current one and
 * that every default matches its type, so a schema mistake stops the process at start-up.
 *
 * Ownership: schema_set_load returns a set the caller frees with schema_set_free; the
 * schema_def pointers it hands out live as long as the set. Avro C is built without thread
 * support: a set, and every value made from it, must be used from one thread.
 */
#ifndef MNI_SCHEMA_SET_H
#define MNI_SCHEMA_SET_H

#include <avro.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENTS_SCHEMA_ENV "MNI_SCHEMAS_DIR"
#define EVENTS_SCHEMA_IDS_FILE "ids.tsv"

/* The full names of our records. */
#define EVENTS_SCHEMA_INCIDENT_EVENT "jp.mni.IncidentEvent"
#define EVENTS_SCHEMA_CASE_ASSESSMENT "jp.mni.CaseAssessment"
#define EVENTS_SCHEMA_NOTIFY_TASK "jp.mni.NotifyTask"
#define EVENTS_SCHEMA_TICKET "jp.mni.Ticket"

typedef struct schema_def {
    int32_t id;    /* > 0; 0 for a current version not yet bound in registry mode */
    char *file;    /* as listed in ids.tsv, or "(registry)" */
    char *subject; /* registry subject (RecordNameStrategy: the full name) */
    char *name;    /* full name of the top-level record, e.g. "jp.mni.IncidentEvent" */
    bool current;  /* the version this binary writes and reads into */
    avro_schema_t schema;
    avro_value_iface_t *iface;       /* generic value class of schema */
    json_t *json;                    /* the self-contained (composed) schema */
    json_t *named;                   /* full name -> definition inside json (defaults live there) */
    const struct schema_def *reader; /* the current version of the same record */
} schema_def;

typedef struct schema_set schema_set;

/* Writes the schemas directory to out. */
int schema_set_find_dir(char *out, size_t outlen, char *err, size_t errlen);
/* Loads dir/ids.tsv and the files it names. */
int schema_set_load(const char *dir, schema_set **out, char *err, size_t errlen);
/* schema_set_find_dir + schema_set_load. */
int schema_set_load_default(schema_set **out, char *err, size_t errlen);
/* For a process that writes record `name` and reads nothing (mni produce): only the current
 * version of that record (every .avsc file is still parsed, as its definitions may be
 * inlined), no history and no other record, so none of their parsing and checks at start-up.
 * A set with nothing else: schema_set_by_id knows that one id only. */
int schema_set_load_writer(const char *dir, const char *name, schema_set **out, char *err,
                           size_t errlen);
int schema_set_load_default_writer(const char *name, schema_set **out, char *err, size_t errlen);
void schema_set_free(schema_set *set);

/* Adds a writer-only version (for example fetched from a registry): self-contained schema JSON
 * text of a record that the set already has a current version of, readable by it. */
int schema_set_add(schema_set *set, int32_t id, const char *subject, const char *json_text,
                   char *err, size_t errlen);

/* Registry mode. The local ids mean nothing to a schema registry, and a registry id may collide
 * with a local one, so a process that uses a registry first calls schema_set_registry_mode:
 * the frozen history entries are dropped and every current version loses its id (encoders
 * refuse to write until bound). It then registers each current version's text
 * (schema_set_text) under the subject of its topic ("<topic>-value", registry_client_attach) and
 * binds the id the registry returns with schema_set_bind; older or newer writer schemas it meets
 * are fetched by id and added with schema_set_add. */
void schema_set_registry_mode(schema_set *set);
int schema_set_bind(schema_set *set, const char *name, int32_t id, char *err, size_t errlen);

/* NULL when unknown. */
const schema_def *schema_set_by_id(const schema_set *set, int32_t id);

/* Ids the set does not know. A process with a registry installs a fetcher (its client): for an
 * unknown id, schema_set_resolve calls it once, and the fetcher adds the writer schema with
 * schema_set_add through its own (non-const) pointer to the set, so the set acts as the local
 * cache of the registry. Without a fetcher, schema_set_resolve is schema_set_by_id. */
typedef int (*schema_set_fetch_fn)(void *ctx, int32_t id, char *err, size_t errlen);
void schema_set_on_unknown(schema_set *set, schema_set_fetch_fn fetch, void *ctx);
/* The schema of id, fetched when unknown; NULL with the reason in err. */
const schema_def *schema_set_resolve(const schema_set *set, int32_t id, char *err, size_t errlen);

/* NULL when unknown. */
const schema_def *schema_set_current(const schema_set *set, const char *name);
size_t schema_set_count(const schema_set *set);
const schema_def *schema_set_at(const schema_set *set, size_t i);
/* The self-contained schema as compact JSON text (malloc'd; the caller frees), or NULL. */
char *schema_set_text(const schema_def *s);

#endif
