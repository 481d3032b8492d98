/*
 * errbuf: the project's one error idiom in one place. A failing function returns -1 and leaves
 * "field: reason" in the caller's buffer (err, errlen bytes; err may be NULL):
 *
 *     if (n < 0)
 *         return errbuf_fail(err, errlen, "clients[%zu].persons: must be >= 0", i);
 *
 * (The rule core keeps its own copy: rules/ depends on nothing outside it.)
 */
#ifndef MNI_ERRBUF_H
#define MNI_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/* Formats into err (always NUL-terminated when errlen > 0) and returns -1. */
int errbuf_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a va_list: the body of a module's own fail(ctx, fmt, ...) that remembers its
 * first failure (lib/pg/pgx.c's COPY, lib/kafka/kq_consumer.c). */
int errbuf_vfail(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
