/*
 * log: structured JSON-lines logging; see log.h for the line format and the rule on free text.
 *
 * A line is assembled in a buffer that starts on the stack and moves to the heap only when a
 * line outgrows it; if the heap refuses, the fields are dropped and the line is written with
 * "log_truncated":true instead, so a reader never sees half an object. State is three globals: the
 * component (written once at start), the level threshold (atomic, may change at run time) and the
 * stream.
 */
#include "lib/base/log.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static char log_component[64] = "mni";
static _Atomic int log_threshold = LOG_LEVEL_INFO;
static FILE *_Atomic log_stream_override;

typedef struct {
    char *p;
    size_t len, cap;
    bool heap, full;
    char stack[1024];
} log_buf;

static void log_buf_reserve(log_buf *b, size_t more)
{
    if (b->full || b->len + more <= b->cap) return;
    size_t cap = b->cap * 2;
    while (cap < b->len + more)
        cap *= 2;
    char *n = b->heap ? realloc(b->p, cap) : malloc(cap);
    if (!n) {
        b->full = true;
        return;
    }
    if (!b->heap) memcpy(n, b->p, b->len);
    b->p = n;
    b->cap = cap;
    b->heap = true;
}

/* Appends raw bytes; keeps 2 bytes spare for the closing "}\n". */
static void log_buf_put(log_buf *b, const char *s, size_t n)
{
    log_buf_reserve(b, n + 2);
    if (b->full && b->len + n + 2 > b->cap) n = b->cap - b->len >= 2 ? b->cap - b->len - 2 : 0;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void log_buf_puts(log_buf *b, const char *s)
{
    log_buf_put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0 when invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF (RFC 3629). */
static size_t log_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Appends s as a JSON string literal (with quotes). */
static void log_buf_json_str(log_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, run = 0;
    log_buf_put(b, "\"", 1);
    while (i < n) {
        unsigned char c = u[i];
        size_t len =
            c >= 0x20 && c != '"' && c != '\\' && c != 0x7f ? log_utf8_len(u + i, n - i) : 0;
        if (len) {
            i += len;
            run += len;
            continue;
        }
        /* Flush the run of bytes that need no escaping, then escape this one. */
        log_buf_put(b, s + i - run, run);
        run = 0;
        char esc[8];
        switch (c) {
        case '"':
            log_buf_put(b, "\\\"", 2);
            break;
        case '\\':
            log_buf_put(b, "\\\\", 2);
            break;
        case '\n':
            log_buf_put(b, "\\n", 2);
            break;
        case '\r':
            log_buf_put(b, "\\r", 2);
            break;
        case '\t':
            log_buf_put(b, "\\t", 2);
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                log_buf_put(b, esc, 6);
            } else {
                log_buf_puts(b, "\\ufffd"); /* a byte of invalid UTF-8 */
            }
        }
        i++;
    }
    log_buf_put(b, s + i - run, run);
    log_buf_put(b, "\"", 1);
}

static void log_buf_key(log_buf *b, const char *key)
{
    log_buf_put(b, ",", 1);
    log_buf_json_str(b, key);
    log_buf_put(b, ":", 1);
}

void log_init(const char *component)
{
    if (!component || !*component) component = "mni";
    snprintf(log_component, sizeof log_component, "%s", component);
    const char *env = getenv("MNI_LOG_LEVEL");
    log_level level;
    if (env && *env) {
        if (log_level_parse(env, &level) == 0)
            log_set_level(level);
        else
            log_warn("MNI_LOG_LEVEL is not a level (debug, info, warn, error); using info",
                     LOG_STR("value", env), LOG_END);
    }
}

int log_level_parse(const char *name, log_level *out)
{
    static const struct {
        const char *name;
        log_level level;
    } names[] = {{"debug", LOG_LEVEL_DEBUG},
                 {"info", LOG_LEVEL_INFO},
                 {"warn", LOG_LEVEL_WARN},
                 {"warning", LOG_LEVEL_WARN},
                 {"error", LOG_LEVEL_ERROR}};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(name, names[i].name)) {
            *out = names[i].level;
            return 0;
        }
    return -1;
}

const char *log_level_name(log_level level)
{
    switch (level) {
    case LOG_LEVEL_DEBUG:
        return "debug";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_WARN:
        return "warn";
    case LOG_LEVEL_ERROR:
        return "error";
    }
    return "error";
}

void log_set_level(log_level level)
{
    atomic_store(&log_threshold, (int)level);
}

log_level log_get_level(void)
{
    return (log_level)atomic_load(&log_threshold);
}

int log_enabled(log_level level)
{
    return (int)level >= atomic_load(&log_threshold);
}

void log_set_stream(FILE *stream)
{
    atomic_store(&log_stream_override, stream);
}

static void log_buf_timestamp(log_buf *b)
{
    struct timespec ts;
    struct tm tm;
    char out[40];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, sizeof out - n, ".%03ldZ", ts.tv_nsec / 1000000L);
    log_buf_json_str(b, out);
}

/* Builds the whole line into b; fields = 0 leaves the caller's fields out. */
static void log_build(log_buf *b, log_level level, const char *msg, va_list ap, bool fields)
{
    char num[64];

    log_buf_puts(b, "{\"ts\":");
    log_buf_timestamp(b);
    log_buf_puts(b, ",\"level\":");
    log_buf_json_str(b, log_level_name(level));
    log_buf_puts(b, ",\"component\":");
    log_buf_json_str(b, log_component);
    log_buf_puts(b, ",\"msg\":");
    log_buf_json_str(b, msg ? msg : "");

    const char *key;
    while (fields && (key = va_arg(ap, const char *)) != NULL) {
        int type = va_arg(ap, int);
        log_buf_key(b, key);
        switch (type) {
        case LOG_T_STR: {
            const char *s = va_arg(ap, const char *);
            if (s)
                log_buf_json_str(b, s);
            else
                log_buf_puts(b, "null");
            break;
        }
        case LOG_T_INT:
            snprintf(num, sizeof num, "%lld", va_arg(ap, long long));
            log_buf_puts(b, num);
            break;
        case LOG_T_UINT:
            snprintf(num, sizeof num, "%llu", va_arg(ap, unsigned long long));
            log_buf_puts(b, num);
            break;
        case LOG_T_F64: {
            double d = va_arg(ap, double);
            if (isfinite(d)) {
                snprintf(num, sizeof num, "%.15g", d);
                log_buf_puts(b, num);
            } else {
                log_buf_puts(b, "null");
            }
            break;
        }
        case LOG_T_BOOL:
            log_buf_puts(b, va_arg(ap, int) ? "true" : "false");
            break;
        default:
            /* A field not built with the LOG_* macros: the rest of the list cannot be read
             * safely, so the line ends here with a marker. */
            log_buf_puts(b, "\"(bad log field type)\"");
            fields = false;
        }
    }
    if (!fields) log_buf_puts(b, ",\"log_truncated\":true");
    /* log_buf_put always leaves room for these two bytes. */
    b->p[b->len++] = '}';
    b->p[b->len++] = '\n';
}

void log_vwrite(log_level level, const char *msg, va_list ap)
{
    if (!log_enabled(level)) return;
    log_buf b = {.len = 0, .cap = sizeof b.stack};
    b.p = b.stack;
    va_list copy;
    va_copy(copy, ap);
    log_build(&b, level, msg, copy, true);
    va_end(copy);
    if (b.full) {
        /* Out of memory: start again on the stack without the fields. */
        if (b.heap) free(b.p);
        b = (log_buf){.len = 0, .cap = sizeof b.stack};
        b.p = b.stack;
        log_build(&b, level, msg, ap, false);
    }

    FILE *out = atomic_load(&log_stream_override);
    if (!out) out = stderr;
    flockfile(out);
    /* A failed log write has nowhere to be reported; the process carries on. */
    if (fwrite_unlocked(b.p, 1, b.len, out) == b.len) fflush_unlocked(out);
    funlockfile(out);
    if (b.heap) free(b.p);
}

void log_write(log_level level, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    log_vwrite(level, msg, ap);
    va_end(ap);
}

#define LOG_LEVEL_FN(fn, level)                                                                    \
    void fn(const char *msg, ...)                                                                  \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, msg);                                                                         \
        log_vwrite(level, msg, ap);                                                                \
        va_end(ap);                                                                                \
    }
LOG_LEVEL_FN(log_debug, LOG_LEVEL_DEBUG)
LOG_LEVEL_FN(log_info, LOG_LEVEL_INFO)
LOG_LEVEL_FN(log_warn, LOG_LEVEL_WARN)
LOG_LEVEL_FN(log_error, LOG_LEVEL_ERROR)
