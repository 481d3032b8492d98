/*
 * rowset: rows of text fields collected in memory during a batch, written to PostgreSQL with
 * one COPY at the end (the fold of a batch cannot interleave with a COPY on its connection).
 *
 * Fields are NUL-terminated strings or SQL NULL, stored back to back in one growable buffer
 * (offsets, not pointers, so growth never invalidates a row). rowset_clear keeps the memory for
 * the next batch up to ROWSET_KEEP_BYTES of text, so a worker's footprint is that of a common
 * batch, not of the largest it ever saw (a case's record grows with its clients).
 */
#ifndef MNI_ASSESS_ROWSET_H
#define MNI_ASSESS_ROWSET_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define ROWSET_KEEP_BYTES (256 * 1024)

typedef struct {
    int n_cols;
    size_t n_rows;
    size_t *fields; /* n_rows * n_cols offsets into text; SIZE_MAX for NULL */
    size_t fields_cap;
    char *text;
    size_t text_len, text_cap;
    int failed; /* out of memory: sticky, reported by rowset_copy */
} rowset;

void rowset_init(rowset *rs, int n_cols);
void rowset_clear(rowset *rs);
void rowset_free(rowset *rs);

/* Appends one row of n_cols fields (NULL pointers are SQL NULL). */
void rowset_add(rowset *rs, const char *const *fields);
const char *rowset_get(const rowset *rs, size_t row, int col);
/* Makes one field of a row already added SQL NULL (its text stays, unused, until the clear). */
void rowset_set_null(rowset *rs, size_t row, int col);

/* COPY of every row with `sql` ("COPY t (a, b) FROM STDIN"); name appears in errors. */
int rowset_copy(const rowset *rs, PGconn *pg, const char *name, const char *sql, char *err,
                size_t errlen);

#endif
