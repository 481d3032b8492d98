/*
 * avro_resolve: Avro schema resolution with reader defaults, which Avro C 1.11 lacks.
 *
 * Avro C's own resolver (avro_resolved_writer) refuses a reader field that the writer lacks,
 * whatever its default, and ignores enum defaults. Our evolution policy (schemas/EVOLUTION.md)
 * relies on both, so decoding works in two steps: Avro C reads the bytes with the WRITER's
 * schema into a generic value, then avro_resolve_value copies that value into a generic
 * value of the READER's schema following the Avro specification's resolution rules:
 *
 *   - records match by full name; reader fields are looked up by name in the writer; a field
 *     the writer lacks takes the reader's "default"; writer-only fields are skipped;
 *   - enums match by symbol; a symbol the reader lacks takes the reader enum's "default";
 *   - unions: the writer's branch goes to the first reader branch of the same type (named
 *     types by full name), else to the first that can promote it; a non-union on one side
 *     resolves against the branches of the other;
 *   - promotions int -> long, float, double; long -> float, double; float -> double;
 *     string <-> bytes;
 *   - arrays, maps element by element. Aliases are not supported.
 *
 * Defaults are not kept by Avro C's parsed schema, so they come from the reader's schema JSON:
 * `named` is a JSON object mapping each full name of a named type in the reader schema to its
 * JSON definition (schema_def builds it). A default is applied to a value of the field's
 * type with avro_resolve_default (the default of a union is for its first branch).
 *
 * avro_resolve_compat checks at load time that a writer schema can be read by a reader
 * schema, and avro_resolve_check_defaults that every default matches its field's type, so
 * that a bad schema file fails at start-up rather than on the first old message.
 *
 * Errors: 0, or -1 with "path: reason" in err. Not thread-safe (Avro C). Recursive schemas are
 * refused (nesting is capped at EVENTS_RESOLVE_MAX_DEPTH).
 */
#ifndef MNI_AVRO_RESOLVE_H
#define MNI_AVRO_RESOLVE_H

#include <avro.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define EVENTS_RESOLVE_MAX_DEPTH 32

/* Follows links (references to named types) to the schema they name. */
avro_schema_t avro_resolve_deref(avro_schema_t s);
/* The full name ("ns.name") of a record, enum or fixed into buf; 0, or -1 when unnamed or too
 * long. */
int avro_resolve_fullname(avro_schema_t s, char *buf, size_t len);
/* True when data of writer type w can be read as reader type r (same type, same full name for
 * named types, or, when promote is set, a promotion). Shallow: looks at w and r only. */
bool avro_resolve_match(avro_schema_t w, avro_schema_t r, bool promote);

int avro_resolve_compat(avro_schema_t writer, avro_schema_t reader, json_t *named, char *err,
                        size_t errlen);
/* Tries every default of the reader's schema (iface: its generic value class). */
int avro_resolve_check_defaults(avro_value_iface_t *reader, json_t *named, char *err,
                                size_t errlen);

/* Copies writer-shaped w into the reset reader-shaped r (see above). */
int avro_resolve_value(avro_value_t *w, avro_value_t *r, json_t *named, char *err, size_t errlen);
/* Sets v (a value of any type) from a JSON default. */
int avro_resolve_default(avro_value_t *v, json_t *def, json_t *named, char *err, size_t errlen);

#endif
