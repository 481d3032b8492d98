/*
 * cli_table: prints a query result as an aligned text table, column names as headers (the
 * SQL's aliases), widths measured in characters so Japanese text lines up too.
 */
#ifndef MNI_CLI_TABLE_H
#define MNI_CLI_TABLE_H

#include <libpq-fe.h>
#include <stdio.h>

void cli_print_table(FILE *out, const PGresult *res, const char *empty_text);

#endif
