/* xlsx.h - spreadsheets (Office Open XML) of records or of statistics, one sheet each. */
#ifndef SHARAKA_XLSX_H
#define SHARAKA_XLSX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sharaka/descriptor.h"
#include "sharaka/sql.h"

struct xlsx;

#define XLSX_CONTENT_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
/* The rows a sheet holds, its header included. */
#define XLSX_MAX_ROWS 1048576

/* Starts a workbook of one sheet named sheet, right to left when rtl. NULL (logged) when no
 * temporary file can be made. */
struct xlsx *xlsx_open(const char *sheet, bool rtl);

/* Starts a workbook of res's records (xlsx_open), its header row the columns of a CSV of q. */
struct xlsx *xlsx_open_records(const struct resource *res, bool internal,
                               const struct list_query *q, bool rtl);

/* The header row: n column names, in bold, frozen above the rows. */
void xlsx_header(struct xlsx *x, const char *const *names, int n);

/* One record (its JSON as the lists give it) in the columns of a CSV of the same request:
 * numbers as numbers, dates and times as dates, booleans as booleans, lists joined by ", ",
 * objects as JSON text, everything else as text. */
void xlsx_record(struct xlsx *x, const struct resource *res, bool internal,
                 const struct list_query *q, json_t *record);

/* One row of n cells (NULL: empty); a cell marked numeric that holds a number is one. */
void xlsx_row(struct xlsx *x, const char *const *cells, const bool *numeric, int n);

/* Ends the workbook: a file descriptor open on it at offset 0 (the file itself already removed)
 * and its size, or -1 (logged) when it could not be written. Frees x either way. */
int xlsx_finish(struct xlsx *x, uint64_t *size);

/* Drops an unfinished workbook. */
void xlsx_abandon(struct xlsx *x);

#endif
