/* avro_codec: checked decoding and framed encoding of Avro values (see avro_codec.h). */
#include "lib/serdes/avro_codec.h"
#include "lib/base/errbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/fieldpath.h"
#include "lib/serdes/avro_resolve.h"

bool avro_codec_text_ok(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min, cp;
        if (c == 0) return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < n) return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

/* ---- the check: one walk of the bytes against the schema ---- */

typedef struct {
    const uint8_t *p;  /* next byte */
    size_t left;       /* bytes left */
    size_t items_left; /* array and map items the rest of the message may still hold */
    fieldpath path;
    char *err;
    size_t errlen;
} ea_check;

static int ck_fail(ea_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int ck_fail(ea_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fieldpath_vfail(&c->path, c->err, c->errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* A zig-zag varint of at most maxbytes bytes (10 for long, 5 for int) whose value fits. */
static int ck_varint(ea_check *c, int64_t *out, int maxbytes, const char *what)
{
    uint64_t v = 0;
    const unsigned last_max = maxbytes == 10 ? 0x01 : 0x0F; /* bits left for the last byte */

    for (int i = 0;; i++) {
        uint8_t b;
        if (c->left == 0) return ck_fail(c, "truncated %s (no bytes left)", what);
        b = *c->p++;
        c->left--;
        /* The last byte allowed may neither continue nor carry bits beyond the type. */
        if (i == maxbytes - 1 && (b & 0x80))
            return ck_fail(c, "%s: varint longer than %d bytes", what, maxbytes);
        if (i == maxbytes - 1 && b > last_max)
            return ck_fail(c, "%s: varint overflows %d bits", what, maxbytes == 10 ? 64 : 32);
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if ((b & 0x80) == 0) break;
    }
    *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
    return 0;
}

static int ck_skip(ea_check *c, size_t n, const char *what)
{
    if (n > c->left)
        return ck_fail(c, "truncated %s (%zu bytes needed, %zu left)", what, n, c->left);
    c->p += n;
    c->left -= n;
    return 0;
}

static int ck_length(ea_check *c, int64_t *len, const char *what)
{
    if (ck_varint(c, len, 10, what) != 0) return -1;
    if (*len < 0) return ck_fail(c, "negative %s %lld", what, (long long)*len);
    if ((uint64_t)*len > c->left)
        return ck_fail(c, "%s %lld exceeds the %zu bytes left (truncated, or a wrong length)", what,
                       (long long)*len, c->left);
    return 0;
}

static int ck_datum(ea_check *c, avro_schema_t s, int depth);

/* Array and map blocks: count (negative: followed by a byte size), items, ..., count 0. */
static int ck_blocks(ea_check *c, avro_schema_t items, bool map, int depth)
{
    size_t index = 0;

    for (;;) {
        int64_t count, size = -1;
        size_t start;
        if (ck_varint(c, &count, 10, "block count") != 0) return -1;
        if (count == 0) return 0;
        if (count < 0) {
            if (count == INT64_MIN) return ck_fail(c, "block count out of range");
            count = -count;
            if (ck_length(c, &size, "block size") != 0) return -1;
        }
        start = c->left;
        if ((uint64_t)count > c->left)
            return ck_fail(c, "block count %lld exceeds the %zu bytes left", (long long)count,
                           c->left);
        if ((uint64_t)count > c->items_left)
            return ck_fail(c, "more items than the message can hold");
        c->items_left -= (size_t)count;
        for (int64_t i = 0; i < count; i++, index++) {
            size_t old = fieldpath_index(&c->path, index);
            if (map) {
                int64_t klen;
                if (ck_length(c, &klen, "map key length") != 0) return -1;
                if (!avro_codec_text_ok((const char *)c->p, (size_t)klen))
                    return ck_fail(c, "map key is not valid UTF-8 text");
                c->p += klen;
                c->left -= (size_t)klen;
            }
            if (ck_datum(c, items, depth + 1) != 0) return -1;
            fieldpath_pop(&c->path, old);
        }
        if (size >= 0 && (uint64_t)size != start - c->left)
            return ck_fail(c, "block size %lld does not match its %zu bytes of items",
                           (long long)size, start - c->left);
    }
}

static int ck_datum(ea_check *c, avro_schema_t s, int depth)
{
    int64_t v;

    s = avro_resolve_deref(s);
    if (s == NULL) return ck_fail(c, "missing schema");
    if (depth > EVENTS_RESOLVE_MAX_DEPTH)
        return ck_fail(c, "nests deeper than %d levels", EVENTS_RESOLVE_MAX_DEPTH);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (c->left == 0) return ck_fail(c, "truncated boolean (no bytes left)");
        if (*c->p > 1) return ck_fail(c, "boolean byte 0x%02x is neither 0 nor 1", *c->p);
        return ck_skip(c, 1, "boolean");
    case AVRO_INT32:
        return ck_varint(c, &v, 5, "int");
    case AVRO_INT64:
        return ck_varint(c, &v, 10, "long");
    case AVRO_FLOAT:
        return ck_skip(c, 4, "float");
    case AVRO_DOUBLE:
        return ck_skip(c, 8, "double");
    case AVRO_STRING:
    case AVRO_BYTES:
        if (ck_length(c, &v, avro_typeof(s) == AVRO_STRING ? "string length" : "bytes length"))
            return -1;
        if (avro_typeof(s) == AVRO_STRING && !avro_codec_text_ok((const char *)c->p, (size_t)v))
            return ck_fail(c, "string is not valid UTF-8 text without NUL");
        return ck_skip(c, (size_t)v, "string");
    case AVRO_FIXED:
        return ck_skip(c, (size_t)avro_schema_fixed_size(s), "fixed");
    case AVRO_ENUM:
        if (ck_varint(c, &v, 5, "enum index") != 0) return -1;
        if (v < 0 || v >= avro_schema_enum_number_of_symbols(s))
            return ck_fail(c, "enum index %lld out of range (%d symbols)", (long long)v,
                           avro_schema_enum_number_of_symbols(s));
        return 0;
    case AVRO_UNION:
        if (ck_varint(c, &v, 10, "union branch") != 0) return -1;
        if (v < 0 || (uint64_t)v >= avro_schema_union_size(s))
            return ck_fail(c, "union branch %lld out of range (%zu branches)", (long long)v,
                           avro_schema_union_size(s));
        return ck_datum(c, avro_schema_union_branch(s, (int)v), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++) {
            const char *name = avro_schema_record_field_name(s, (int)i);
            size_t old = fieldpath_field(&c->path, name != NULL ? name : "?");
            if (ck_datum(c, avro_schema_record_field_get_by_index(s, (int)i), depth + 1) != 0)
                return -1;
            fieldpath_pop(&c->path, old);
        }
        return 0;
    case AVRO_ARRAY:
        return ck_blocks(c, avro_schema_array_items(s), false, depth);
    case AVRO_MAP:
        return ck_blocks(c, avro_schema_map_values(s), true, depth);
    default:
        return ck_fail(c, "unsupported schema type");
    }
}

int avro_codec_check(avro_schema_t schema, const uint8_t *data, size_t len, char *err,
                     size_t errlen)
{
    ea_check c = {.p = data, .left = len, .items_left = len, .err = err, .errlen = errlen};

    fieldpath_init(&c.path);
    if (data == NULL && len > 0) return errbuf_fail(err, errlen, "no data");
    if (ck_datum(&c, schema, 0) != 0) return -1;
    if (c.left != 0)
        return errbuf_fail(err, errlen, "%zu byte(s) left over after the record", c.left);
    return 0;
}

/* ---- decode and encode ---- */

int avro_codec_decode(const schema_set *set, const uint8_t *msg, size_t len, const char *expect,
                      avro_value_t *out, const schema_def **writer, char *err, size_t errlen)
{
    int32_t id;
    const uint8_t *payload;
    size_t plen;
    const schema_def *w;
    avro_reader_t reader;
    avro_value_t wv, rv;
    int rc;

    if (writer != NULL) *writer = NULL;
    if (wire_decode(msg, len, &id, &payload, &plen, err, errlen) != 0) return -1;
    w = schema_set_resolve(set, id, err, errlen); /* a registry's id is fetched once */
    if (w == NULL) return -1;
    if (expect != NULL && strcmp(w->name, expect) != 0)
        return errbuf_fail(err, errlen, "schema id %d is %s, not the expected %s", (int)id, w->name,
                           expect);
    if (avro_codec_check(w->schema, payload, plen, err, errlen) != 0) return -1;
    if (avro_generic_value_new(w->iface, &wv) != 0)
        return errbuf_fail(err, errlen, "cannot make a value of schema id %d: %s", (int)id,
                           avro_strerror());
    reader = avro_reader_memory((const char *)payload, (int64_t)plen);
    if (reader == NULL) {
        avro_value_decref(&wv);
        return errbuf_fail(err, errlen, "cannot make a reader: %s", avro_strerror());
    }
    rc = avro_value_read(reader, &wv);
    avro_reader_free(reader);
    if (rc != 0) {
        errbuf_fail(err, errlen, "schema id %d: Avro C cannot read the datum: %s", (int)id,
                    avro_strerror());
        avro_value_decref(&wv);
        return -1;
    }
    if (writer != NULL) *writer = w;
    if (w->reader == w) {
        *out = wv;
        return 0;
    }
    /* An older (or newer) writer: resolve into the current version, defaults filled. */
    if (avro_generic_value_new(w->reader->iface, &rv) != 0) {
        errbuf_fail(err, errlen, "cannot make a value of schema id %d: %s", (int)w->reader->id,
                    avro_strerror());
        avro_value_decref(&wv);
        return -1;
    }
    rc = avro_resolve_value(&wv, &rv, w->reader->named, err, errlen);
    avro_value_decref(&wv);
    if (rc != 0) {
        avro_value_decref(&rv);
        return -1;
    }
    *out = rv;
    return 0;
}

int avro_codec_new(const schema_set *set, const char *name, avro_value_t *out,
                   const schema_def **schema, char *err, size_t errlen)
{
    const schema_def *s = schema_set_current(set, name);

    if (s == NULL) return errbuf_fail(err, errlen, "no schema for %s in the set", name);
    if (avro_generic_value_new(s->iface, out) != 0)
        return errbuf_fail(err, errlen, "cannot make a value of %s: %s", name, avro_strerror());
    if (schema != NULL) *schema = s;
    return 0;
}

int avro_codec_encode(const schema_def *s, avro_value_t *v, wire_buf *out, char *err, size_t errlen)
{
    size_t size;
    avro_writer_t w;
    int64_t wrote;
    int rc;

    if (s->id <= 0)
        return errbuf_fail(err, errlen,
                           "no schema id bound for %s: register it with the schema "
                           "registry first",
                           s->name);
    if (avro_value_sizeof(v, &size) != 0)
        return errbuf_fail(err, errlen, "cannot size the %s value: %s", s->name, avro_strerror());
    if (size > WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE)
        return errbuf_fail(err, errlen, "message of %zu bytes exceeds the %d-byte limit",
                           size + WIRE_HEADER_SIZE, WIRE_MAX_MESSAGE);
    if (wire_buf_reserve(out, WIRE_HEADER_SIZE + size, err, errlen) != 0 ||
        wire_put_header(out->data, s->id, err, errlen) != 0)
        return -1;
    w = avro_writer_memory((const char *)out->data + WIRE_HEADER_SIZE, (int64_t)size);
    if (w == NULL) return errbuf_fail(err, errlen, "cannot make a writer: %s", avro_strerror());
    rc = avro_value_write(w, v);
    wrote = avro_writer_tell(w);
    avro_writer_free(w);
    if (rc != 0)
        return errbuf_fail(err, errlen, "cannot write the %s value: %s", s->name, avro_strerror());
    if (wrote != (int64_t)size)
        return errbuf_fail(err, errlen, "wrote %lld bytes of the %zu expected", (long long)wrote,
                           size);
    out->len = WIRE_HEADER_SIZE + size;
    return 0;
}
