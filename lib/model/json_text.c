/*
 * json_text: see json_text.h.
 */
#include "lib/model/json_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"

/* Spaces per depth: 2 for JSON_INDENT(2), 0 for JSON_COMPACT (no newline either). */
typedef struct {
    buf *b;
    size_t indent;
} writer;

/* A newline and depth levels of indentation, when indenting. */
static void put_indent(const writer *w, size_t depth)
{
    static const char spaces[] = "                                ";
    if (w->indent == 0) return;
    buf *b = w->b;
    buf_putn(b, "\n", 1);
    for (size_t n = depth * w->indent; n > 0;) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        buf_putn(b, spaces, k);
        n -= k;
    }
}

void json_text_put_string(buf *b, const char *s, size_t n)
{
    buf_putn(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && (unsigned char)s[run] >= 0x20 && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) buf_putn(b, s + i, run - i);
        if (run == n) break;
        unsigned char c = (unsigned char)s[run];
        switch (c) {
        case '"':
            buf_puts(b, "\\\"");
            break;
        case '\\':
            buf_puts(b, "\\\\");
            break;
        case '\b':
            buf_puts(b, "\\b");
            break;
        case '\f':
            buf_puts(b, "\\f");
            break;
        case '\n':
            buf_puts(b, "\\n");
            break;
        case '\r':
            buf_puts(b, "\\r");
            break;
        case '\t':
            buf_puts(b, "\\t");
            break;
        default:
            buf_printf(b, "\\u%04X", c);
            break;
        }
        i = run + 1;
    }
    buf_putn(b, "\"", 1);
}

static void put_value(const writer *w, const json_t *json, size_t depth)
{
    buf *b = w->b;
    switch (json_typeof(json)) {
    case JSON_OBJECT: {
        if (json_object_size(json) == 0) {
            buf_puts(b, "{}");
            return;
        }
        buf_putn(b, "{", 1);
        size_t i = 0, n = json_object_size(json);
        const char *key;
        size_t key_len;
        json_t *value;
        json_object_keylen_foreach((json_t *)json, key, key_len, value)
        {
            put_indent(w, depth + 1);
            json_text_put_string(b, key, key_len);
            buf_putn(b, ": ", w->indent ? 2 : 1);
            put_value(w, value, depth + 1);
            if (++i < n) buf_putn(b, ",", 1);
        }
        put_indent(w, depth);
        buf_putn(b, "}", 1);
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(json);
        if (n == 0) {
            buf_puts(b, "[]");
            return;
        }
        buf_putn(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            put_indent(w, depth + 1);
            put_value(w, json_array_get(json, i), depth + 1);
            if (i + 1 < n) buf_putn(b, ",", 1);
        }
        put_indent(w, depth);
        buf_putn(b, "]", 1);
        return;
    }
    case JSON_STRING:
        json_text_put_string(b, json_string_value(json), json_string_length(json));
        return;
    case JSON_INTEGER:
        buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(json));
        return;
    case JSON_REAL: {
        /* jansson's own digits (%.17g, made to look like a real): rare in our values. */
        char *text = json_dumps(json, JSON_ENCODE_ANY);
        if (text)
            buf_puts(b, text);
        else
            b->failed = true; /* out of memory: buf_take gives NULL */
        free(text);
        return;
    }
    case JSON_TRUE:
        buf_puts(b, "true");
        return;
    case JSON_FALSE:
        buf_puts(b, "false");
        return;
    case JSON_NULL:
        buf_puts(b, "null");
        return;
    }
}

static char *text_of(const json_t *json, size_t indent)
{
    if (!json) return NULL;
    buf b;
    buf_init(&b, BUF_NO_LIMIT);
    writer w = {&b, indent};
    put_value(&w, json, 0);
    return buf_take(&b);
}

char *json_text_indent2(const json_t *json)
{
    return text_of(json, 2);
}

char *json_text_compact(const json_t *json)
{
    return text_of(json, 0);
}
