/*
 * line_stream: see line_stream.h. The buffer holds [start, end) unread bytes; scan is where the
 * search for the next LF resumes, so a long line arriving in many reads is searched once.
 */
#include "cli/line_stream.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_STREAM_READ (64u << 10) /* room asked of each read(2) */

struct line_stream {
    int fd;
    char *buf;
    size_t cap, start, end, scan;
    long lineno;
    int eof;
    int skipping; /* inside a line over the limit: drop bytes up to its LF */
};

line_stream *line_stream_open(int fd)
{
    line_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->fd = fd;
    return s;
}

void line_stream_close(line_stream *s)
{
    if (!s) return;
    if (s->buf) memset(s->buf, 0, s->cap);
    free(s->buf);
    free(s);
}

/* Room for one more read at the end: unread bytes moved to the front, the buffer grown (a copy,
 * the old one wiped) when that is not enough. */
static int line_stream_room(line_stream *s)
{
    if (s->start > 0) {
        size_t n = s->end - s->start;
        memmove(s->buf, s->buf + s->start, n);
        memset(s->buf + n, 0, s->end - n);
        s->scan -= s->start;
        s->end = n;
        s->start = 0;
    }
    if (s->cap - s->end >= LINE_STREAM_READ) return 0;
    size_t cap = s->cap ? s->cap * 2 : 2 * LINE_STREAM_READ;
    char *buf = malloc(cap);
    if (!buf) return -1;
    if (s->buf) {
        memcpy(buf, s->buf, s->end);
        memset(s->buf, 0, s->cap);
        free(s->buf);
    }
    s->buf = buf;
    s->cap = cap;
    return 0;
}

/* 1 when fd has something to read (or its end) now, 0 when not, -1 on error. */
static int line_stream_ready(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, 0);
        if (r >= 0) return r > 0;
        if (errno != EINTR) return -1;
    }
}

/* Reads once (blocking); 0, or -1 with errno. Sets eof at the end of input. */
static int line_stream_fill(line_stream *s)
{
    if (line_stream_room(s) != 0) {
        errno = ENOMEM;
        return -1;
    }
    for (;;) {
        ssize_t got = read(s->fd, s->buf + s->end, s->cap - s->end);
        if (got > 0) {
            s->end += (size_t)got;
            return 0;
        }
        if (got == 0) {
            s->eof = 1;
            return 0;
        }
        if (errno != EINTR) return -1;
    }
}

line_stream_result line_stream_next(line_stream *s, int wait, const char **line, size_t *len,
                                    long *lineno)
{
    for (;;) {
        char *lf = s->scan < s->end ? memchr(s->buf + s->scan, '\n', s->end - s->scan) : NULL;
        if (s->skipping) {
            if (lf) s->skipping = 0;
            s->start = s->scan = lf ? (size_t)(lf - s->buf) + 1 : s->end;
            if (lf) continue;
        } else if (lf || (s->eof && s->start < s->end)) {
            size_t stop = lf ? (size_t)(lf - s->buf) : s->end;
            size_t n = stop - s->start;
            if (n > 0 && s->buf[s->start + n - 1] == '\r') n--;
            *line = s->buf + s->start;
            *len = n;
            *lineno = ++s->lineno;
            s->start = s->scan = lf ? stop + 1 : s->end;
            return LINE_STREAM_LINE;
        } else if (s->end - s->start > LINE_STREAM_MAX_LINE) {
            *lineno = ++s->lineno;
            s->skipping = 1;
            s->start = s->scan = s->end;
            return LINE_STREAM_TOO_LONG;
        } else {
            s->scan = s->end;
        }
        if (s->eof) return LINE_STREAM_END;
        if (!wait) {
            int ready = line_stream_ready(s->fd);
            if (ready < 0) return LINE_STREAM_ERROR;
            if (!ready) return LINE_STREAM_IDLE;
        }
        if (line_stream_fill(s) != 0) return LINE_STREAM_ERROR;
    }
}
