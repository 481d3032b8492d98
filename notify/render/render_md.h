/*
 * render_md: a growable text buffer and the Markdown escaping every rendered document goes
 * through. Pure.
 *
 * Why escaping matters: titles and descriptions are typed by people. Unescaped, a '|' breaks a
 * table row, '*' or '_' turns text bold, a line starting with '#' or '-' becomes a heading or
 * a list item, '<' opens raw HTML and '[' a link: the reader would see a document whose
 * structure someone else chose. CommonMark lets any ASCII punctuation be escaped with a
 * backslash, so escaping never loses a character.
 *
 *   inline escaping (render_md_inline): \ ` * _ [ ] < > | ~ are escaped wherever they stand,
 *     '&' when an entity could follow (a letter or '#'); a line break becomes "<br>" (the
 *     one piece of HTML we emit, valid in list items and table cells); CR is dropped, tabs
 *     become spaces, other control characters are dropped.
 *   block escaping (render_md_block): each line as inline, written as a block quote line
 *     ("> "), with leading blanks removed (four would start a code block) and a line-start
 *     marker escaped: # > - + = and "1." / "1)" list numbers. Lines are joined by a hard
 *     break ('\' at the end of a line), a blank line becomes an empty quote line.
 *
 * Bytes >= 0x80 pass through unchanged (UTF-8 Japanese text needs no escaping).
 *
 * Errors: the buffer remembers an allocation failure; buf_take then returns NULL (lib/base/buf.h).
 */
#ifndef MNI_RENDER_MD_H
#define MNI_RENDER_MD_H

#include <stddef.h>

#include "lib/base/buf.h"

/* The largest document a renderer writes (a whole case page of a thousand clients is a few
 * MiB); past it the buffer fails and the render is refused rather than growing without end. */
#define RENDER_MAX_BYTES ((size_t)64 * 1024 * 1024)

/* Appends s escaped for use inside a line (a list item, a table cell). */
void render_md_inline(buf *b, const char *s);
/* Appends s as a block quote, one quote line per line of s, escaped; ends with a newline. */
void render_md_block(buf *b, const char *s);

/* The inline escaping of s as a new malloc'd string (for tests and callers without a buffer);
 * NULL when out of memory. */
char *render_md_escape(const char *s);

#endif
