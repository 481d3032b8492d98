/*
 * kq headers: reading a consumed message's headers.
 *
 * Kafka allows a header name to repeat; kq reads the last occurrence, which is the one a later
 * writer (kq_produce_dlq adding mni.* after the original headers) meant. Values are bytes and
 * may be null; the string and integer readers refuse what is not exactly a string or a number,
 * because a header that names an origin offset or a task id is evidence, not a hint.
 */
#include "lib/kafka/kq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kq_header_get(const rd_kafka_message_t *m, const char *name, const void **value, size_t *len)
{
    rd_kafka_headers_t *hdrs;

    *value = NULL;
    *len = 0;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1; /* none, or unparsable: either way the header is not there */
    if (rd_kafka_header_get_last(hdrs, name, value, len) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    return 0;
}

int kq_header_str(const rd_kafka_message_t *m, const char *name, char *buf, size_t bufsize)
{
    const void *value;
    size_t len;

    if (bufsize == 0 || kq_header_get(m, name, &value, &len) != 0 || !value || len >= bufsize ||
        memchr(value, '\0', len))
        return -1;
    memcpy(buf, value, len);
    buf[len] = '\0';
    return 0;
}

int kq_header_i64(const rd_kafka_message_t *m, const char *name, int64_t *out)
{
    char buf[24], *end;
    long long v;

    if (kq_header_str(m, name, buf, sizeof buf) != 0 || buf[0] == '\0' || buf[0] == ' ' ||
        buf[0] == '+')
        return -1;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' || (buf[0] == '-' && buf[1] == '\0')) return -1;
    *out = v;
    return 0;
}
