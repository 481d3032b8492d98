/*
 * log: structured logs, one JSON object per line on stderr.
 *
 *   {"ts":"2024-05-01T03:04:05.678Z","level":"info","component":"ingest","msg":"batch committed",
 *    "topic":"incident.events","partition":3,"rows":500}
 *
 * Every line carries ts (UTC, milliseconds), level, component (set once at start by
 * log_init), msg (a constant phrase: what happened), then the caller's typed key/values. Lines
 * are built whole in memory and written with one fwrite under the stream lock, so lines from
 * several threads (librdkafka's log callback, the metrics server) never interleave. Strings are
 * escaped to valid JSON: quotes, backslashes and control characters escaped, invalid UTF-8
 * replaced by U+FFFD, so a line always parses.
 *
 * Usage: fields are (key, typed value) pairs built with the LOG_* macros and ended by LOG_END
 * (the compiler checks the terminator through the sentinel attribute):
 *
 *   log_info("batch committed", LOG_STR("topic", t), LOG_INT("partition", p), LOG_END);
 *   log_error("cannot connect to PostgreSQL", LOG_STR("error", err), LOG_END);
 *
 * The level threshold comes from MNI_LOG_LEVEL (debug, info, warn, error; default info) at
 * log_init, or log_set_level later (the config key log.level).
 *
 * Never log free-text event fields. Incident descriptions, free-text notes and anything else a
 * producer typed may hold a raw My Number or a person's name; the log is not evidence and has
 * no retention control. Log identifiers (event id, incident id, client id), counts, offsets,
 * error messages of our own and reasons. That rule is the caller's: this module cannot tell a
 * safe string from an unsafe one.
 */
#ifndef MNI_LOG_H
#define MNI_LOG_H

#include <stdarg.h>
#include <stdio.h>

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
} log_level;

/* Field type tags; use the LOG_* macros rather than these directly. */
enum { LOG_T_STR = 1, LOG_T_INT, LOG_T_UINT, LOG_T_F64, LOG_T_BOOL };

/* A string value (NULL is written as JSON null). */
#define LOG_STR(k, v) (const char *)(k), (int)LOG_T_STR, (const char *)(v)
/* A signed integer (any integer type, converted to long long). */
#define LOG_INT(k, v) (const char *)(k), (int)LOG_T_INT, (long long)(v)
/* An unsigned integer (converted to unsigned long long). */
#define LOG_UINT(k, v) (const char *)(k), (int)LOG_T_UINT, (unsigned long long)(v)
/* A floating-point number (non-finite values are written as null). */
#define LOG_F64(k, v) (const char *)(k), (int)LOG_T_F64, (double)(v)
/* A boolean (any scalar; non-zero is true). */
#define LOG_BOOL(k, v) (const char *)(k), (int)LOG_T_BOOL, (int)((v) != 0)
/* Ends the field list. */
#define LOG_END ((const char *)0)

#if defined(__GNUC__)
#define LOG_SENTINEL __attribute__((sentinel))
#else
#define LOG_SENTINEL
#endif

/* Sets the component name written on every line (copied; NULL or "" means "mni") and reads
 * MNI_LOG_LEVEL. Call once at start, before other threads exist. An unknown MNI_LOG_LEVEL value
 * leaves the level at info and logs a warning naming it. */
void log_init(const char *component);

/* Parses a level name (debug, info, warn/warning, error; case-insensitive). 0 or -1. */
int log_level_parse(const char *name, log_level *out);
const char *log_level_name(log_level level);
void log_set_level(log_level level);
log_level log_get_level(void);
/* True when a line at this level would be written (to skip costly field preparation). */
int log_enabled(log_level level);

/* Redirects the output (default stderr; NULL restores stderr). For tests. */
void log_set_stream(FILE *stream);

/* Writes one line: msg, then the fields, then LOG_END. */
void log_write(log_level level, const char *msg, ...) LOG_SENTINEL;
void log_vwrite(log_level level, const char *msg, va_list fields);

void log_debug(const char *msg, ...) LOG_SENTINEL;
void log_info(const char *msg, ...) LOG_SENTINEL;
void log_warn(const char *msg, ...) LOG_SENTINEL;
void log_error(const char *msg, ...) LOG_SENTINEL;

#endif
