/*
 * rowset: see rowset.h.
 */
#include "assess/rowset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/pg/pgx.h"

void rowset_init(rowset *rs, int n_cols)
{
    memset(rs, 0, sizeof *rs);
    rs->n_cols = n_cols;
}

void rowset_clear(rowset *rs)
{
    rs->n_rows = 0;
    rs->text_len = 0;
    rs->failed = 0;
    /* A text larger than the common batch's (a large case's record) is not kept. */
    if (rs->text_cap > ROWSET_KEEP_BYTES) {
        free(rs->text);
        rs->text = NULL;
        rs->text_cap = 0;
    }
}

void rowset_free(rowset *rs)
{
    free(rs->fields);
    free(rs->text);
    rowset_init(rs, rs->n_cols);
}

static int reserve(void **buf, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *grown = realloc(*buf, n * size);
    if (!grown) return -1;
    *buf = grown;
    *cap = n;
    return 0;
}

void rowset_add(rowset *rs, const char *const *fields)
{
    if (rs->failed) return;
    size_t base = rs->n_rows * (size_t)rs->n_cols;
    if (reserve((void **)&rs->fields, &rs->fields_cap, base + (size_t)rs->n_cols,
                sizeof *rs->fields) != 0) {
        rs->failed = 1;
        return;
    }
    for (int i = 0; i < rs->n_cols; i++) {
        if (!fields[i]) {
            rs->fields[base + (size_t)i] = SIZE_MAX;
            continue;
        }
        size_t len = strlen(fields[i]) + 1;
        if (reserve((void **)&rs->text, &rs->text_cap, rs->text_len + len, 1) != 0) {
            rs->failed = 1;
            return;
        }
        memcpy(rs->text + rs->text_len, fields[i], len);
        rs->fields[base + (size_t)i] = rs->text_len;
        rs->text_len += len;
    }
    rs->n_rows++;
}

void rowset_set_null(rowset *rs, size_t row, int col)
{
    if (row < rs->n_rows && col >= 0 && col < rs->n_cols)
        rs->fields[row * (size_t)rs->n_cols + (size_t)col] = SIZE_MAX;
}

const char *rowset_get(const rowset *rs, size_t row, int col)
{
    size_t off = rs->fields[row * (size_t)rs->n_cols + (size_t)col];
    return off == SIZE_MAX ? NULL : rs->text + off;
}

int rowset_copy(const rowset *rs, PGconn *pg, const char *name, const char *sql, char *err,
                size_t errlen)
{
    if (rs->failed) {
        snprintf(err, errlen, "%s: out of memory collecting rows", name);
        return -1;
    }
    if (rs->n_rows == 0) return 0;
    pgx_copy cp;
    if (pgx_copy_begin(&cp, pg, name, sql, err, errlen) != 0) return -1;
    for (size_t r = 0; r < rs->n_rows; r++) {
        for (int c = 0; c < rs->n_cols; c++)
            pgx_copy_field(&cp, rowset_get(rs, r, c));
        pgx_copy_end_row(&cp);
    }
    return pgx_copy_end(&cp, NULL, err, errlen);
}
