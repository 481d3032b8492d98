/*
 * kq_int: what the kq_*.c files share and the workers do not see. Only kq's own files include it.
 */
#ifndef MNI_KQ_INT_H
#define MNI_KQ_INT_H

#include <stddef.h>

/* printf into the caller's error buffer (err may be NULL or errlen 0: nothing is written). */
void kq__errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
