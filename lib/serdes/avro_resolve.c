/* avro_resolve: Avro schema resolution with reader defaults (see avro_resolve.h). */
#include "lib/serdes/avro_resolve.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fieldpath.h"

#define RS_NAME_MAX 256

static int rs_fail(char *err, size_t errlen, const fieldpath *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int rs_fail(char *err, size_t errlen, const fieldpath *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int rc = fieldpath_vfail(p, err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* Every Avro C call is checked; its own message (avro_strerror) completes ours. */
#define RS_AVRO(call, what)                                                                        \
    do {                                                                                           \
        if ((call) != 0) return rs_fail(err, errlen, p, "%s: %s", (what), avro_strerror());        \
    } while (0)

avro_schema_t avro_resolve_deref(avro_schema_t s)
{
    int guard = 0;

    while (s != NULL && is_avro_link(s) && guard++ < EVENTS_RESOLVE_MAX_DEPTH)
        s = avro_schema_link_target(s);
    return s;
}

int avro_resolve_fullname(avro_schema_t s, char *buf, size_t len)
{
    const char *name, *ns;
    int n;

    s = avro_resolve_deref(s);
    if (s == NULL || !(is_avro_record(s) || is_avro_enum(s) || is_avro_fixed(s))) return -1;
    name = avro_schema_name(s);
    ns = avro_schema_namespace(s);
    if (name == NULL) return -1;
    if (ns != NULL && ns[0] != '\0')
        n = snprintf(buf, len, "%s.%s", ns, name);
    else
        n = snprintf(buf, len, "%s", name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static const char *rs_type_name(avro_schema_t s)
{
    const char *n = s != NULL ? avro_schema_type_name(s) : NULL;
    return n != NULL ? n : "(unknown type)";
}

static bool rs_is_named(avro_type_t t)
{
    return t == AVRO_RECORD || t == AVRO_ENUM || t == AVRO_FIXED;
}

bool avro_resolve_match(avro_schema_t w, avro_schema_t r, bool promote)
{
    avro_type_t tw, tr;

    w = avro_resolve_deref(w);
    r = avro_resolve_deref(r);
    if (w == NULL || r == NULL) return false;
    tw = avro_typeof(w);
    tr = avro_typeof(r);
    if (tw == tr) {
        if (rs_is_named(tw)) {
            char a[RS_NAME_MAX], b[RS_NAME_MAX];
            if (avro_resolve_fullname(w, a, sizeof(a)) != 0 ||
                avro_resolve_fullname(r, b, sizeof(b)) != 0 || strcmp(a, b) != 0)
                return false;
            if (tw == AVRO_FIXED && avro_schema_fixed_size(w) != avro_schema_fixed_size(r))
                return false;
        }
        return true;
    }
    if (!promote) return false;
    switch (tw) {
    case AVRO_INT32:
        return tr == AVRO_INT64 || tr == AVRO_FLOAT || tr == AVRO_DOUBLE;
    case AVRO_INT64:
        return tr == AVRO_FLOAT || tr == AVRO_DOUBLE;
    case AVRO_FLOAT:
        return tr == AVRO_DOUBLE;
    case AVRO_STRING:
        return tr == AVRO_BYTES;
    case AVRO_BYTES:
        return tr == AVRO_STRING;
    default:
        return false;
    }
}

/* The reader union's branch for writer type w: the first exact match, else the first that
 * promotes; -1 when none. */
static int rs_union_branch(avro_schema_t reader_union, avro_schema_t w)
{
    size_t n = avro_schema_union_size(reader_union);

    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if (avro_resolve_match(w, avro_schema_union_branch(reader_union, (int)i), pass == 1))
                return (int)i;
    return -1;
}

static json_t *rs_named_def(json_t *named, avro_schema_t s)
{
    char full[RS_NAME_MAX];

    if (named == NULL || avro_resolve_fullname(s, full, sizeof(full)) != 0) return NULL;
    return json_object_get(named, full);
}

/* The JSON "default" of field `name` of record rec, or NULL when it has none. */
static json_t *rs_field_default(json_t *named, avro_schema_t rec, const char *name)
{
    json_t *def = rs_named_def(named, rec);
    json_t *fields = def != NULL ? json_object_get(def, "fields") : NULL;
    json_t *f;
    size_t i;

    json_array_foreach (fields, i, f) {
        json_t *fname = json_object_get(f, "name");
        if (json_is_string(fname) && strcmp(json_string_value(fname), name) == 0)
            return json_object_get(f, "default");
    }
    return NULL;
}

/* The index of the reader enum's "default" symbol, or -1 when it has none. */
static int rs_enum_default(json_t *named, avro_schema_t en)
{
    json_t *def = rs_named_def(named, en);
    json_t *d = def != NULL ? json_object_get(def, "default") : NULL;

    if (!json_is_string(d)) return -1;
    return avro_schema_enum_get_by_name(en, json_string_value(d));
}

static int rs_compat(avro_schema_t w, avro_schema_t r, json_t *named, fieldpath *p, int depth,
                     char *err, size_t errlen)
{
    avro_type_t tw, tr;

    if (depth > EVENTS_RESOLVE_MAX_DEPTH)
        return rs_fail(err, errlen, p,
                       "nests deeper than %d levels (recursive schemas are not "
                       "supported)",
                       EVENTS_RESOLVE_MAX_DEPTH);
    w = avro_resolve_deref(w);
    r = avro_resolve_deref(r);
    if (w == NULL || r == NULL) return rs_fail(err, errlen, p, "missing schema");
    tw = avro_typeof(w);
    tr = avro_typeof(r);

    if (tr == AVRO_UNION) {
        size_t nw = tw == AVRO_UNION ? avro_schema_union_size(w) : 1;
        for (size_t i = 0; i < nw; i++) {
            avro_schema_t b = tw == AVRO_UNION ? avro_schema_union_branch(w, (int)i) : w;
            int j = rs_union_branch(r, b);
            if (j < 0)
                return rs_fail(err, errlen, p,
                               "the writer's %s matches no branch of the "
                               "reader's union",
                               rs_type_name(b));
            if (rs_compat(b, avro_schema_union_branch(r, j), named, p, depth + 1, err, errlen))
                return -1;
        }
        return 0;
    }
    if (tw == AVRO_UNION) {
        for (size_t i = 0; i < avro_schema_union_size(w); i++)
            if (rs_compat(avro_schema_union_branch(w, (int)i), r, named, p, depth + 1, err, errlen))
                return -1;
        return 0;
    }
    if (!avro_resolve_match(w, r, true))
        return rs_fail(err, errlen, p, "the writer's %s cannot be read as %s", rs_type_name(w),
                       rs_type_name(r));

    switch (tr) {
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(r); i++) {
            const char *name = avro_schema_record_field_name(r, (int)i);
            avro_schema_t rf = avro_schema_record_field_get_by_index(r, (int)i);
            int wi = name != NULL ? avro_schema_record_field_get_index(w, name) : -1;
            size_t old = fieldpath_field(p, name != NULL ? name : "?");
            if (wi >= 0) {
                if (rs_compat(avro_schema_record_field_get_by_index(w, wi), rf, named, p, depth + 1,
                              err, errlen))
                    return -1;
            } else if (rs_field_default(named, r, name) == NULL) {
                return rs_fail(err, errlen, p, "not in the writer's schema and has no default");
            }
            fieldpath_pop(p, old);
        }
        return 0;
    case AVRO_ENUM:
        for (int i = 0; i < avro_schema_enum_number_of_symbols(w); i++) {
            const char *sym = avro_schema_enum_get(w, i);
            if (sym == NULL ||
                (avro_schema_enum_get_by_name(r, sym) < 0 && rs_enum_default(named, r) < 0))
                return rs_fail(err, errlen, p,
                               "the writer's symbol %s is unknown to the reader, "
                               "whose enum has no default",
                               sym != NULL ? sym : "?");
        }
        return 0;
    case AVRO_ARRAY:
        return rs_compat(avro_schema_array_items(w), avro_schema_array_items(r), named, p,
                         depth + 1, err, errlen);
    case AVRO_MAP:
        return rs_compat(avro_schema_map_values(w), avro_schema_map_values(r), named, p, depth + 1,
                         err, errlen);
    default:
        return 0;
    }
}

int avro_resolve_compat(avro_schema_t writer, avro_schema_t reader, json_t *named, char *err,
                        size_t errlen)
{
    fieldpath p;

    fieldpath_init(&p);
    return rs_compat(writer, reader, named, &p, 0, err, errlen);
}

static int rs_default(avro_value_t *v, json_t *def, json_t *named, fieldpath *p, int depth,
                      char *err, size_t errlen)
{
    avro_schema_t s = avro_resolve_deref(avro_value_get_schema(v));
    avro_type_t t = avro_value_get_type(v);

    if (depth > EVENTS_RESOLVE_MAX_DEPTH)
        return rs_fail(err, errlen, p, "default nests deeper than %d levels",
                       EVENTS_RESOLVE_MAX_DEPTH);
    if (def == NULL) return rs_fail(err, errlen, p, "no default");

    switch (t) {
    case AVRO_NULL:
        if (!json_is_null(def)) return rs_fail(err, errlen, p, "default of a null must be null");
        RS_AVRO(avro_value_set_null(v), "cannot set null");
        return 0;
    case AVRO_BOOLEAN:
        if (!json_is_boolean(def))
            return rs_fail(err, errlen, p, "default of a boolean must be true or false");
        RS_AVRO(avro_value_set_boolean(v, json_is_true(def)), "cannot set boolean");
        return 0;
    case AVRO_INT32:
        if (!json_is_integer(def) || json_integer_value(def) < INT32_MIN ||
            json_integer_value(def) > INT32_MAX)
            return rs_fail(err, errlen, p, "default of an int must be a 32-bit integer");
        RS_AVRO(avro_value_set_int(v, (int32_t)json_integer_value(def)), "cannot set int");
        return 0;
    case AVRO_INT64:
        if (!json_is_integer(def))
            return rs_fail(err, errlen, p, "default of a long must be an integer");
        RS_AVRO(avro_value_set_long(v, (int64_t)json_integer_value(def)), "cannot set long");
        return 0;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        if (!json_is_number(def))
            return rs_fail(err, errlen, p, "default of a %s must be a number",
                           t == AVRO_FLOAT ? "float" : "double");
        if (t == AVRO_FLOAT)
            RS_AVRO(avro_value_set_float(v, (float)json_number_value(def)), "cannot set float");
        else
            RS_AVRO(avro_value_set_double(v, json_number_value(def)), "cannot set double");
        return 0;
    case AVRO_STRING:
        if (!json_is_string(def))
            return rs_fail(err, errlen, p, "default of a string must be a string");
        RS_AVRO(avro_value_set_string_len(v, json_string_value(def), json_string_length(def) + 1),
                "cannot set string");
        return 0;
    case AVRO_BYTES:
    case AVRO_FIXED: {
        /* The specification maps code points 0-255 to bytes; only ASCII is supported here. */
        const char *str = json_string_value(def);
        size_t len = json_string_length(def);
        if (str == NULL) return rs_fail(err, errlen, p, "default of bytes must be a string");
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)str[i] >= 0x80)
                return rs_fail(err, errlen, p, "only ASCII defaults are supported for bytes");
        if (t == AVRO_BYTES) {
            RS_AVRO(avro_value_set_bytes(v, (void *)str, len), "cannot set bytes");
        } else {
            if ((int64_t)len != avro_schema_fixed_size(s))
                return rs_fail(err, errlen, p, "default of a fixed must have its size");
            RS_AVRO(avro_value_set_fixed(v, (void *)str, len), "cannot set fixed");
        }
        return 0;
    }
    case AVRO_ENUM: {
        int idx =
            json_is_string(def) ? avro_schema_enum_get_by_name(s, json_string_value(def)) : -1;
        if (idx < 0)
            return rs_fail(err, errlen, p, "default is not a symbol of %s", rs_type_name(s));
        RS_AVRO(avro_value_set_enum(v, idx), "cannot set enum");
        return 0;
    }
    case AVRO_ARRAY: {
        json_t *item;
        size_t i;
        if (!json_is_array(def))
            return rs_fail(err, errlen, p, "default of an array must be an array");
        json_array_foreach (def, i, item) {
            avro_value_t child;
            size_t old;
            RS_AVRO(avro_value_append(v, &child, NULL), "cannot append");
            old = fieldpath_index(p, i);
            if (rs_default(&child, item, named, p, depth + 1, err, errlen)) return -1;
            fieldpath_pop(p, old);
        }
        return 0;
    }
    case AVRO_MAP: {
        const char *key;
        json_t *item;
        if (!json_is_object(def))
            return rs_fail(err, errlen, p, "default of a map must be an object");
        json_object_foreach (def, key, item) {
            avro_value_t child;
            size_t old;
            RS_AVRO(avro_value_add(v, key, &child, NULL, NULL), "cannot add");
            old = fieldpath_field(p, key);
            if (rs_default(&child, item, named, p, depth + 1, err, errlen)) return -1;
            fieldpath_pop(p, old);
        }
        return 0;
    }
    case AVRO_RECORD: {
        size_t n;
        if (!json_is_object(def))
            return rs_fail(err, errlen, p, "default of a record must be an object");
        RS_AVRO(avro_value_get_size(v, &n), "cannot size record");
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            const char *name = NULL;
            json_t *fv;
            size_t old;
            RS_AVRO(avro_value_get_by_index(v, i, &child, &name), "cannot get field");
            fv = json_object_get(def, name);
            if (fv == NULL) fv = rs_field_default(named, s, name);
            old = fieldpath_field(p, name);
            if (fv == NULL) return rs_fail(err, errlen, p, "missing from the record default");
            if (rs_default(&child, fv, named, p, depth + 1, err, errlen)) return -1;
            fieldpath_pop(p, old);
        }
        return 0;
    }
    case AVRO_UNION: {
        /* A union's default is for its first branch. */
        avro_value_t branch;
        RS_AVRO(avro_value_set_branch(v, 0, &branch), "cannot set union branch");
        return rs_default(&branch, def, named, p, depth + 1, err, errlen);
    }
    default:
        return rs_fail(err, errlen, p, "unsupported type %s", rs_type_name(s));
    }
}

int avro_resolve_default(avro_value_t *v, json_t *def, json_t *named, char *err, size_t errlen)
{
    fieldpath p;

    fieldpath_init(&p);
    return rs_default(v, def, named, &p, 0, err, errlen);
}

/* Walks a scratch value of the reader schema, applying every field default where the field
 * lives (Avro C cannot build a value class for a nested schema that names types defined
 * outside it, so defaults are tried in place). Each union branch is visited and each array or
 * map gets one element, so that every record type is reached; each record type once. */
static int rs_defaults(avro_value_t *v, json_t *named, json_t *seen, fieldpath *p, int depth,
                       char *err, size_t errlen)
{
    avro_schema_t s = avro_resolve_deref(avro_value_get_schema(v));
    char full[RS_NAME_MAX];

    if (depth > EVENTS_RESOLVE_MAX_DEPTH)
        return rs_fail(err, errlen, p, "nests deeper than %d levels", EVENTS_RESOLVE_MAX_DEPTH);
    switch (avro_value_get_type(v)) {
    case AVRO_RECORD: {
        size_t n;
        if (avro_resolve_fullname(s, full, sizeof(full)) != 0)
            return rs_fail(err, errlen, p, "record without a usable name");
        if (json_object_get(seen, full) != NULL) return 0;
        if (json_object_set_new(seen, full, json_true()) != 0)
            return rs_fail(err, errlen, p, "out of memory");
        RS_AVRO(avro_value_get_size(v, &n), "cannot size record");
        for (size_t i = 0; i < n; i++) {
            avro_value_t child;
            const char *name = NULL;
            json_t *def;
            size_t old;
            RS_AVRO(avro_value_get_by_index(v, i, &child, &name), "cannot get field");
            old = fieldpath_field(p, name);
            def = rs_field_default(named, s, name);
            if (def != NULL) {
                RS_AVRO(avro_value_reset(&child), "cannot reset");
                if (rs_default(&child, def, named, p, depth + 1, err, errlen) != 0) return -1;
                RS_AVRO(avro_value_reset(&child), "cannot reset");
            }
            if (rs_defaults(&child, named, seen, p, depth + 1, err, errlen)) return -1;
            fieldpath_pop(p, old);
        }
        return 0;
    }
    case AVRO_ENUM: {
        json_t *def = rs_named_def(named, s);
        if (def != NULL && json_object_get(def, "default") != NULL && rs_enum_default(named, s) < 0)
            return rs_fail(err, errlen, p, "the default of enum %s is not one of its symbols",
                           rs_type_name(s));
        return 0;
    }
    case AVRO_UNION:
        for (size_t i = 0; i < avro_schema_union_size(s); i++) {
            avro_value_t branch;
            RS_AVRO(avro_value_set_branch(v, (int)i, &branch), "cannot set union branch");
            if (rs_defaults(&branch, named, seen, p, depth + 1, err, errlen)) return -1;
        }
        return 0;
    case AVRO_ARRAY: {
        avro_value_t item;
        RS_AVRO(avro_value_append(v, &item, NULL), "cannot append");
        return rs_defaults(&item, named, seen, p, depth + 1, err, errlen);
    }
    case AVRO_MAP: {
        avro_value_t item;
        RS_AVRO(avro_value_add(v, "key", &item, NULL, NULL), "cannot add");
        return rs_defaults(&item, named, seen, p, depth + 1, err, errlen);
    }
    default:
        return 0;
    }
}

int avro_resolve_check_defaults(avro_value_iface_t *reader, json_t *named, char *err, size_t errlen)
{
    fieldpath p;
    json_t *seen = json_object();
    avro_value_t v;
    int rc;

    fieldpath_init(&p);
    if (seen == NULL) return rs_fail(err, errlen, &p, "out of memory");
    if (avro_generic_value_new(reader, &v) != 0) {
        json_decref(seen);
        return rs_fail(err, errlen, &p, "cannot build a value: %s", avro_strerror());
    }
    rc = rs_defaults(&v, named, seen, &p, 0, err, errlen);
    avro_value_decref(&v);
    json_decref(seen);
    return rc;
}

static int rs_value(avro_value_t *w, avro_value_t *r, json_t *named, fieldpath *p, int depth,
                    char *err, size_t errlen)
{
    avro_type_t tw = avro_value_get_type(w), tr = avro_value_get_type(r);
    avro_schema_t ws = avro_resolve_deref(avro_value_get_schema(w));
    avro_schema_t rs = avro_resolve_deref(avro_value_get_schema(r));

    if (depth > EVENTS_RESOLVE_MAX_DEPTH)
        return rs_fail(err, errlen, p, "nests deeper than %d levels", EVENTS_RESOLVE_MAX_DEPTH);
    if (tw == AVRO_UNION) {
        avro_value_t wb;
        RS_AVRO(avro_value_get_current_branch(w, &wb), "writer union without a branch");
        return rs_value(&wb, r, named, p, depth + 1, err, errlen);
    }
    if (tr == AVRO_UNION) {
        avro_value_t rb;
        int j = rs_union_branch(rs, ws);
        if (j < 0)
            return rs_fail(err, errlen, p,
                           "the writer's %s matches no branch of the reader's "
                           "union",
                           rs_type_name(ws));
        RS_AVRO(avro_value_set_branch(r, j, &rb), "cannot set union branch");
        return rs_value(w, &rb, named, p, depth + 1, err, errlen);
    }
    if (!avro_resolve_match(ws, rs, true))
        return rs_fail(err, errlen, p, "the writer's %s cannot be read as %s", rs_type_name(ws),
                       rs_type_name(rs));

    switch (tr) {
    case AVRO_NULL:
        RS_AVRO(avro_value_set_null(r), "cannot set null");
        return 0;
    case AVRO_BOOLEAN: {
        int b;
        RS_AVRO(avro_value_get_boolean(w, &b), "cannot get boolean");
        RS_AVRO(avro_value_set_boolean(r, b), "cannot set boolean");
        return 0;
    }
    case AVRO_INT32: {
        int32_t x;
        RS_AVRO(avro_value_get_int(w, &x), "cannot get int");
        RS_AVRO(avro_value_set_int(r, x), "cannot set int");
        return 0;
    }
    case AVRO_INT64:
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        int64_t l = 0;
        float f = 0;
        double d = 0;
        if (tw == AVRO_INT32) {
            int32_t x;
            RS_AVRO(avro_value_get_int(w, &x), "cannot get int");
            l = x;
            d = x;
        } else if (tw == AVRO_INT64) {
            RS_AVRO(avro_value_get_long(w, &l), "cannot get long");
            d = (double)l;
        } else if (tw == AVRO_FLOAT) {
            RS_AVRO(avro_value_get_float(w, &f), "cannot get float");
            d = f;
        } else {
            RS_AVRO(avro_value_get_double(w, &d), "cannot get double");
        }
        if (tr == AVRO_INT64)
            RS_AVRO(avro_value_set_long(r, l), "cannot set long");
        else if (tr == AVRO_FLOAT)
            RS_AVRO(avro_value_set_float(r, tw == AVRO_FLOAT ? f : (float)d), "cannot set float");
        else
            RS_AVRO(avro_value_set_double(r, d), "cannot set double");
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES: {
        const void *buf;
        size_t size;
        char *tmp;
        int rc;
        if (tw == AVRO_STRING) {
            const char *s;
            RS_AVRO(avro_value_get_string(w, &s, &size), "cannot get string");
            buf = s;
            size = size > 0 ? size - 1 : 0; /* Avro C counts the NUL */
        } else {
            RS_AVRO(avro_value_get_bytes(w, &buf, &size), "cannot get bytes");
        }
        if (tr == AVRO_BYTES) {
            RS_AVRO(avro_value_set_bytes(r, (void *)buf, size), "cannot set bytes");
            return 0;
        }
        tmp = malloc(size + 1);
        if (tmp == NULL) return rs_fail(err, errlen, p, "out of memory");
        if (size > 0) memcpy(tmp, buf, size);
        tmp[size] = '\0';
        rc = avro_value_set_string_len(r, tmp, size + 1);
        free(tmp);
        if (rc != 0) return rs_fail(err, errlen, p, "cannot set string: %s", avro_strerror());
        return 0;
    }
    case AVRO_FIXED: {
        const void *buf;
        size_t size;
        RS_AVRO(avro_value_get_fixed(w, &buf, &size), "cannot get fixed");
        RS_AVRO(avro_value_set_fixed(r, (void *)buf, size), "cannot set fixed");
        return 0;
    }
    case AVRO_ENUM: {
        int i, j;
        const char *sym;
        RS_AVRO(avro_value_get_enum(w, &i), "cannot get enum");
        sym = avro_schema_enum_get(ws, i);
        if (sym == NULL) return rs_fail(err, errlen, p, "enum index %d out of range", i);
        j = avro_schema_enum_get_by_name(rs, sym);
        if (j < 0) j = rs_enum_default(named, rs);
        if (j < 0)
            return rs_fail(err, errlen, p,
                           "symbol %s is unknown to the reader, whose enum has "
                           "no default",
                           sym);
        RS_AVRO(avro_value_set_enum(r, j), "cannot set enum");
        return 0;
    }
    case AVRO_ARRAY:
    case AVRO_MAP: {
        size_t n;
        RS_AVRO(avro_value_get_size(w, &n), "cannot size writer value");
        for (size_t i = 0; i < n; i++) {
            avro_value_t we, re;
            const char *key = NULL;
            size_t old;
            RS_AVRO(avro_value_get_by_index(w, i, &we, &key), "cannot get element");
            if (tr == AVRO_ARRAY) {
                RS_AVRO(avro_value_append(r, &re, NULL), "cannot append");
                old = fieldpath_index(p, i);
            } else {
                RS_AVRO(avro_value_add(r, key, &re, NULL, NULL), "cannot add");
                old = fieldpath_field(p, key != NULL ? key : "?");
            }
            if (rs_value(&we, &re, named, p, depth + 1, err, errlen)) return -1;
            fieldpath_pop(p, old);
        }
        return 0;
    }
    case AVRO_RECORD: {
        size_t n;
        RS_AVRO(avro_value_get_size(r, &n), "cannot size record");
        for (size_t i = 0; i < n; i++) {
            avro_value_t rf;
            const char *name = NULL;
            int wi;
            size_t old;
            RS_AVRO(avro_value_get_by_index(r, i, &rf, &name), "cannot get field");
            old = fieldpath_field(p, name);
            wi = avro_schema_record_field_get_index(ws, name);
            if (wi >= 0) {
                avro_value_t wf;
                RS_AVRO(avro_value_get_by_index(w, (size_t)wi, &wf, NULL), "cannot get field");
                if (rs_value(&wf, &rf, named, p, depth + 1, err, errlen)) return -1;
            } else {
                json_t *def = rs_field_default(named, rs, name);
                if (def == NULL)
                    return rs_fail(err, errlen, p,
                                   "not in the writer's schema and has no "
                                   "default");
                if (rs_default(&rf, def, named, p, depth + 1, err, errlen)) return -1;
            }
            fieldpath_pop(p, old);
        }
        return 0;
    }
    default:
        return rs_fail(err, errlen, p, "unsupported type %s", rs_type_name(rs));
    }
}

int avro_resolve_value(avro_value_t *w, avro_value_t *r, json_t *named, char *err, size_t errlen)
{
    fieldpath p;

    fieldpath_init(&p);
    return rs_value(w, r, named, &p, 0, err, errlen);
}
