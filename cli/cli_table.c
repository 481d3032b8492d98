/*
 * cli_table: see cli_table.h.
 */
#include "cli/cli_table.h"

#include <stdlib.h>
#include <string.h>

/* Display columns of a UTF-8 string: East Asian characters (3-byte and 4-byte sequences,
 * roughly) take two. */
static size_t display_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xC0) == 0x80) continue;
        w += *p >= 0xE0 ? 2 : 1;
    }
    return w;
}

static void pad(FILE *out, const char *s, size_t width)
{
    fputs(s, out);
    for (size_t w = display_width(s); w < width; w++)
        fputc(' ', out);
}

void cli_print_table(FILE *out, const PGresult *res, const char *empty_text)
{
    int cols = PQnfields(res), rows = PQntuples(res);
    size_t *width = calloc((size_t)cols + 1, sizeof *width);
    if (!width) return;
    for (int c = 0; c < cols; c++) {
        width[c] = display_width(PQfname(res, c));
        for (int r = 0; r < rows; r++) {
            size_t w = display_width(PQgetvalue(res, r, c));
            if (w > width[c]) width[c] = w;
        }
    }
    for (int c = 0; c < cols; c++) {
        pad(out, PQfname(res, c), c + 1 < cols ? width[c] + 2 : 0);
    }
    fputc('\n', out);
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++)
            pad(out, PQgetisnull(res, r, c) ? "-" : PQgetvalue(res, r, c),
                c + 1 < cols ? width[c] + 2 : 0);
        fputc('\n', out);
    }
    if (rows == 0 && empty_text) fprintf(out, "%s\n", empty_text);
    free(width);
}
