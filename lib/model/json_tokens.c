/* json_tokens: a manifest's tokens read straight from its JSON text (see json_tokens.h). */
#include "lib/model/json_tokens.h"

#include <string.h>

#include "lib/model/events.h"

static const bool jt_hex[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1};

typedef struct {
    const char *s;
    size_t len, i;
} jt_text;

static void jt_ws(jt_text *t)
{
    while (t->i < t->len &&
           (t->s[t->i] == ' ' || t->s[t->i] == '\t' || t->s[t->i] == '\n' || t->s[t->i] == '\r'))
        t->i++;
}

static bool jt_char(jt_text *t, char c)
{
    jt_ws(t);
    if (t->i >= t->len || t->s[t->i] != c) return false;
    t->i++;
    return true;
}

/* A string at t->i (its opening quote): skipped; *plain says it held no escape. */
static bool jt_string(jt_text *t, bool *plain)
{
    *plain = true;
    if (t->i >= t->len || t->s[t->i] != '"') return false;
    for (t->i++; t->i < t->len; t->i++) {
        unsigned char c = (unsigned char)t->s[t->i];
        if (c == '"') {
            t->i++;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            *plain = false;
            t->i++;
        }
    }
    return false;
}

/* A key and its colon; true when it is written `"name"`. */
static bool jt_key(jt_text *t, const char *name, bool *is)
{
    bool plain;
    jt_ws(t);
    size_t at = t->i;
    if (!jt_string(t, &plain) || !plain) return false;
    size_t n = strlen(name);
    *is = t->i - at == n + 2 && memcmp(t->s + at + 1, name, n) == 0;
    return jt_char(t, ':');
}

/* Skips one value (a string, an object or array with everything in it, a scalar). */
static bool jt_value(jt_text *t)
{
    bool plain;
    jt_ws(t);
    if (t->i >= t->len) return false;
    char c = t->s[t->i];
    if (c == '"') return jt_string(t, &plain);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (t->i < t->len) {
            c = t->s[t->i];
            if (c == '"') {
                if (!jt_string(t, &plain)) return false;
                continue;
            }
            t->i++;
            if (c == '{' || c == '[') depth++;
            if ((c == '}' || c == ']') && --depth == 0) return true;
        }
        return false;
    }
    while (t->i < t->len && !strchr(",]} \t\n\r", t->s[t->i]))
        t->i++;
    return true;
}

/* The plain token array at t->i: '[' ("<64 hex>" (, "<64 hex>")*)? ']'; *n its tokens. */
static bool jt_tokens(jt_text *t, size_t *n)
{
    *n = 0;
    if (!jt_char(t, '[')) return false;
    if (jt_char(t, ']')) return true;
    do {
        jt_ws(t);
        if (t->len - t->i < MNI_EVENT_TOKEN_LEN + 2 || t->s[t->i] != '"' ||
            t->s[t->i + MNI_EVENT_TOKEN_LEN + 1] != '"')
            return false;
        const unsigned char *u = (const unsigned char *)t->s + t->i + 1;
        for (size_t k = 0; k < MNI_EVENT_TOKEN_LEN; k++)
            if (!jt_hex[u[k]]) return false;
        t->i += MNI_EVENT_TOKEN_LEN + 2;
        (*n)++;
    } while (jt_char(t, ','));
    return jt_char(t, ']');
}

/* Walks the members of the object at t->i ('{' next) up to the key `name`: true with t->i at
 * its value. */
static bool jt_member(jt_text *t, const char *name)
{
    if (!jt_char(t, '{')) return false;
    for (;;) {
        bool is;
        if (!jt_key(t, name, &is)) return false;
        if (is) return true;
        if (!jt_value(t) || !jt_char(t, ',')) return false;
    }
}

bool json_tokens_find(const char *text, size_t len, json_tokens_span *span)
{
    jt_text t = {text, len, 0};
    if (!jt_member(&t, "body") || !jt_member(&t, "tokens")) return false;
    jt_ws(&t);
    span->start = t.i;
    if (!jt_tokens(&t, &span->n)) return false;
    span->end = t.i;
    return true;
}

void json_tokens_copy(const char *text, const json_tokens_span *span, char *chars,
                      const char **tokens)
{
    size_t i = span->start;
    for (size_t k = 0; k < span->n; k++) {
        while (text[i] != '"')
            i++;
        memcpy(chars, text + i + 1, MNI_EVENT_TOKEN_LEN);
        chars[MNI_EVENT_TOKEN_LEN] = '\0';
        tokens[k] = chars;
        chars += MNI_EVENT_TOKEN_LEN + 1;
        i += MNI_EVENT_TOKEN_LEN + 2;
    }
}
