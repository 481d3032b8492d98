/*
 * line_stream: lines of a file descriptor as they arrive, for `mni produce --follow` (a producer
 * system piping events in, one JSON line each).
 *
 * Why not getline. stdio reads ahead into its own buffer, so a caller cannot tell "no more
 * input for now" (time to deliver what was sent) from "a line is about to come"; and a blocking
 * read gives no chance to do that work first. line_stream reads the descriptor itself with
 * read(2) into a buffer of its own and says, without blocking when asked, whether a complete
 * line is there: LINE_STREAM_IDLE means every complete line was handed out and the descriptor
 * has nothing to read right now.
 *
 * Lines. A line ends with LF (a CR before it is removed too); the last line may lack its LF. A
 * line longer than LINE_STREAM_MAX_LINE is not kept: LINE_STREAM_TOO_LONG is returned once, with
 * its line number, and the rest of it is skipped, so a stream without line ends cannot take
 * memory without bound. Line numbers count every line, blank ones included, from 1.
 *
 * Ownership: line_stream_open takes nothing (the caller keeps and closes fd);
 * line_stream_close wipes the buffer (it may have held a My Number) and frees it. The line handed
 * out points into the buffer and is valid until the next call.
 */
#ifndef MNI_CLI_LINE_STREAM_H
#define MNI_CLI_LINE_STREAM_H

#include <stddef.h>

#define LINE_STREAM_MAX_LINE (64u << 20)

typedef struct line_stream line_stream;

typedef enum {
    LINE_STREAM_LINE,     /* *line, *len and *lineno are set */
    LINE_STREAM_IDLE,     /* nothing complete yet, nothing to read now (wait 0 only) */
    LINE_STREAM_END,      /* end of input, every line handed out */
    LINE_STREAM_TOO_LONG, /* *lineno is a line over the limit (the rest of it is skipped) */
    LINE_STREAM_ERROR,    /* read(2) or memory failed; errno says which */
} line_stream_result;

line_stream *line_stream_open(int fd);
void line_stream_close(line_stream *s);

/* The next line. wait 0: LINE_STREAM_IDLE rather than block when no complete line is buffered
 * and fd has nothing to read right now; wait 1: block until a line or the end. */
line_stream_result line_stream_next(line_stream *s, int wait, const char **line, size_t *len,
                                    long *lineno);

#endif
