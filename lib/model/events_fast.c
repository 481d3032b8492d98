/* events_fast: a manifest read and written straight as Avro bytes (see events_fast.h). */
#include "lib/model/events_fast.h"

#include <avro.h>
#include <string.h>

#include "lib/serdes/avro_codec.h"
#include "lib/serdes/avro_resolve.h"

static const bool ef_hex[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1};

/* Field i of record r is called name and has type t; *out its schema. */
static bool ef_field(avro_schema_t r, int i, const char *name, avro_type_t t, avro_schema_t *out)
{
    const char *n = avro_schema_record_field_name(r, i);
    avro_schema_t s = avro_resolve_deref(avro_schema_record_field_get_by_index(r, i));
    if (n == NULL || strcmp(n, name) != 0 || s == NULL || avro_typeof(s) != t) return false;
    if (out != NULL) *out = s;
    return true;
}

/* A ["null", T] union whose T has type t. */
static bool ef_nullable(avro_schema_t u, avro_type_t t)
{
    return avro_schema_union_size(u) == 2 &&
           avro_typeof(avro_resolve_deref(avro_schema_union_branch(u, 0))) == AVRO_NULL &&
           avro_typeof(avro_resolve_deref(avro_schema_union_branch(u, 1))) == t;
}

/* The branch of the body union that is ExposureManifest in the shape this file reads, or -1. */
static int ef_shape(avro_schema_t s)
{
    avro_schema_t body, m, tokens, hours, facts;
    s = avro_resolve_deref(s);
    if (s == NULL || avro_typeof(s) != AVRO_RECORD || avro_schema_record_size(s) != 6 ||
        !ef_field(s, 0, "event_id", AVRO_STRING, NULL) ||
        !ef_field(s, 1, "incident_id", AVRO_STRING, NULL) ||
        !ef_field(s, 2, "tenant", AVRO_STRING, NULL) ||
        !ef_field(s, 3, "occurred_at", AVRO_INT64, NULL) ||
        !ef_field(s, 4, "producer", AVRO_STRING, NULL) ||
        !ef_field(s, 5, "body", AVRO_UNION, &body))
        return -1;
    int branch;
    m = avro_resolve_deref(avro_schema_union_branch_by_name(body, &branch, "ExposureManifest"));
    if (m == NULL || avro_typeof(m) != AVRO_RECORD || avro_schema_record_size(m) != 5 ||
        !ef_field(m, 0, "client_id", AVRO_STRING, NULL) ||
        !ef_field(m, 1, "batch_id", AVRO_STRING, NULL) ||
        !ef_field(m, 2, "tokens", AVRO_ARRAY, &tokens) ||
        avro_typeof(avro_resolve_deref(avro_schema_array_items(tokens))) != AVRO_STRING ||
        !ef_field(m, 3, "contract_notice_hours", AVRO_UNION, &hours) ||
        !ef_nullable(hours, AVRO_INT32) || !ef_field(m, 4, "client_facts", AVRO_UNION, &facts) ||
        !ef_nullable(facts, AVRO_RECORD))
        return -1;
    return branch;
}

#define EF_TOKEN_BYTES (2 + MNI_EVENT_TOKEN_LEN) /* a token on the wire: length, digits */

typedef struct {
    const uint8_t *p;
    size_t left;
} ef_in;

/* A zig-zag varint of at most 9 bytes (longer ones, legal or not, go the generic way). */
static bool ef_varint(ef_in *in, int64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 9; i++) {
        if (in->left == 0) return false;
        uint8_t b = *in->p++;
        in->left--;
        v |= (uint64_t)(b & 0x7F) << (7 * i);
        if ((b & 0x80) == 0) {
            *out = (int64_t)((v >> 1) ^ (0 - (v & 1)));
            return true;
        }
    }
    return false;
}

/* A string, copied into the event's arena. */
static bool ef_string(ef_in *in, mni_event *ev, const char **out)
{
    int64_t n;
    if (!ef_varint(in, &n) || n < 0 || (uint64_t)n > in->left ||
        !avro_codec_text_ok((const char *)in->p, (size_t)n))
        return false;
    *out = arena_strndup(&ev->arena, (const char *)in->p, (size_t)n);
    in->p += n;
    in->left -= (size_t)n;
    return *out != NULL;
}

/* The token array: blocks of 64-digit strings, copied into one arena block. */
static bool ef_tokens(ef_in *in, mni_event *ev, mni_event_exposure_manifest *m)
{
    /* At most one token per EF_TOKEN_BYTES left: the array's room, allocated once. */
    size_t cap = in->left / EF_TOKEN_BYTES, n = 0, len_max = cap;
    const char **tokens = arena_array(&ev->arena, cap + 1, sizeof *tokens);
    char *chars = arena_array(&ev->arena, cap + 1, MNI_EVENT_TOKEN_LEN + 1);
    if (tokens == NULL || chars == NULL) return false;
    for (;;) {
        int64_t count, size;
        if (!ef_varint(in, &count)) return false;
        if (count == 0) break;
        if (count < 0) {
            if (count == INT64_MIN || count < -(int64_t)(len_max) || !ef_varint(in, &size) ||
                size != -count * EF_TOKEN_BYTES)
                return false;
            count = -count;
        }
        if ((uint64_t)count > cap - n) return false;
        for (int64_t k = 0; k < count; k++, n++) {
            /* A 64-byte string: its length, 64, zig-zagged is 128, the varint 80 01. */
            if (in->left < EF_TOKEN_BYTES || in->p[0] != 0x80 || in->p[1] != 0x01) return false;
            const uint8_t *t = in->p + 2;
            for (size_t c = 0; c < MNI_EVENT_TOKEN_LEN; c++)
                if (!ef_hex[t[c]]) return false;
            memcpy(chars, t, MNI_EVENT_TOKEN_LEN);
            chars[MNI_EVENT_TOKEN_LEN] = '\0';
            tokens[n] = chars;
            chars += MNI_EVENT_TOKEN_LEN + 1;
            in->p += EF_TOKEN_BYTES;
            in->left -= EF_TOKEN_BYTES;
        }
    }
    m->tokens = tokens;
    m->n_tokens = n;
    return true;
}

static bool ef_manifest(ef_in *in, int branch, mni_event *ev)
{
    int64_t b, hours;
    mni_event_exposure_manifest *m = &ev->body.manifest;
    if (!ef_string(in, ev, &ev->event_id) || !ef_string(in, ev, &ev->incident_id) ||
        !ef_string(in, ev, &ev->tenant) || !ef_varint(in, &ev->occurred_at_ms) ||
        !ef_string(in, ev, &ev->producer) || !ef_varint(in, &b) || b != branch)
        return false;
    ev->type = MNI_EVENT_EXPOSURE_MANIFEST;
    if (!ef_string(in, ev, &m->client_id) || !ef_string(in, ev, &m->batch_id) ||
        !ef_tokens(in, ev, m) || !ef_varint(in, &b))
        return false;
    m->contract_notice_hours = MNI_EVENT_ABSENT;
    if (b == 1) {
        /* An Avro int: at most 4 bytes here, so within int32 (longer ones go the generic way). */
        const uint8_t *start = in->p;
        if (!ef_varint(in, &hours) || in->p - start > 4) return false;
        m->contract_notice_hours = hours;
    } else if (b != 0) {
        return false;
    }
    /* client_facts: null only, and then the end of the record and of the bytes. */
    return ef_varint(in, &b) && b == 0 && in->left == 0;
}

int mni_event_decode_manifest_fast(const schema_def *w, const uint8_t *payload, size_t len,
                                   mni_event *ev)
{
    mni_event_reset(ev);
    if (w->reader != w || strcmp(w->name, EVENTS_SCHEMA_INCIDENT_EVENT) != 0) return -1;
    int branch = ef_shape(w->schema);
    ef_in in = {payload, len};
    if (branch < 0 || !ef_manifest(&in, branch, ev)) {
        mni_event_reset(ev);
        return -1;
    }
    ev->schema_id = w->id;
    return 0;
}

/* ---- writing ---- */

static uint64_t ef_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
}

/* Bytes of the varint of v (zig-zagged). */
static size_t ef_varint_size(int64_t v)
{
    size_t n = 1;
    for (uint64_t z = ef_zigzag(v); z >= 0x80; z >>= 7)
        n++;
    return n;
}

static uint8_t *ef_put_varint(uint8_t *p, int64_t v)
{
    uint64_t z = ef_zigzag(v);
    while (z >= 0x80) {
        *p++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

static size_t ef_string_size(const char *s)
{
    size_t n = strlen(s);
    return ef_varint_size((int64_t)n) + n;
}

static uint8_t *ef_put_string(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    p = ef_put_varint(p, (int64_t)n);
    memcpy(p, s, n);
    return p + n;
}

/* The payload's size, as put_event of events.c has Avro C write it (producer "unknown" when
 * not given, contract hours an Avro int in its union, client_facts null). */
static size_t ef_manifest_size(const mni_event *ev, const char *producer, int branch)
{
    const mni_event_exposure_manifest *m = &ev->body.manifest;
    size_t n = ef_string_size(ev->event_id) + ef_string_size(ev->incident_id) +
               ef_string_size(ev->tenant) + ef_varint_size(ev->occurred_at_ms) +
               ef_string_size(producer) + ef_varint_size(branch) + ef_string_size(m->client_id) +
               ef_string_size(m->batch_id);
    if (m->n_tokens > 0) n += ef_varint_size((int64_t)m->n_tokens) + m->n_tokens * EF_TOKEN_BYTES;
    n += 1; /* the array's end */
    n += m->contract_notice_hours != MNI_EVENT_ABSENT ? 1 + ef_varint_size(m->contract_notice_hours)
                                                      : 1;
    return n + 1; /* client_facts: the null branch */
}

int mni_event_encode_manifest_fast(const schema_def *s, const mni_event *ev, wire_buf *out)
{
    const mni_event_exposure_manifest *m = &ev->body.manifest;
    if (ev->type != MNI_EVENT_EXPOSURE_MANIFEST || m->client_facts.present || s->id <= 0 ||
        s->reader != s || strcmp(s->name, EVENTS_SCHEMA_INCIDENT_EVENT) != 0)
        return -1;
    int branch = ef_shape(s->schema);
    if (branch < 0) return -1;
    const char *producer = ev->producer != NULL ? ev->producer : "unknown";
    size_t size = ef_manifest_size(ev, producer, branch);
    char err[128];
    if (size > WIRE_MAX_MESSAGE - WIRE_HEADER_SIZE ||
        wire_buf_reserve(out, WIRE_HEADER_SIZE + size, err, sizeof err) != 0 ||
        wire_put_header(out->data, s->id, err, sizeof err) != 0)
        return -1;
    uint8_t *p = out->data + WIRE_HEADER_SIZE;
    p = ef_put_string(p, ev->event_id);
    p = ef_put_string(p, ev->incident_id);
    p = ef_put_string(p, ev->tenant);
    p = ef_put_varint(p, ev->occurred_at_ms);
    p = ef_put_string(p, producer);
    p = ef_put_varint(p, branch);
    p = ef_put_string(p, m->client_id);
    p = ef_put_string(p, m->batch_id);
    if (m->n_tokens > 0) {
        /* One block, as Avro C writes it; each token is 64 digits (mni_event_check), so its
         * length, 64, zig-zagged is 128, the varint 80 01. */
        p = ef_put_varint(p, (int64_t)m->n_tokens);
        for (size_t i = 0; i < m->n_tokens; i++) {
            p[0] = 0x80;
            p[1] = 0x01;
            memcpy(p + 2, m->tokens[i], MNI_EVENT_TOKEN_LEN);
            p += EF_TOKEN_BYTES;
        }
    }
    *p++ = 0; /* the array's end */
    if (m->contract_notice_hours != MNI_EVENT_ABSENT) {
        *p++ = 2; /* the union's branch 1, zig-zagged */
        p = ef_put_varint(p, m->contract_notice_hours);
    } else {
        *p++ = 0;
    }
    *p++ = 0; /* client_facts: null */
    out->len = (size_t)(p - out->data);
    return 0;
}
