/*
 * xlsx.c - records as a real spreadsheet: one sheet, a header row, typed cells (numbers as
 * numbers, dates and times as dates, booleans as booleans, the rest as text, never a formula),
 * right to left when asked. libxlsxwriter in constant-memory mode writes each row out as it
 * comes, to a temporary file that is unlinked as soon as it is opened for the answer.
 */
#include "sharaka/xlsx.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "sharaka/log.h"
#include "sharaka/query.h"
#include "sharaka/values.h"

#define XLSX_CELL_MAX 32767 /* the most characters a cell holds */

struct xlsx {
    char path[64];
    lxw_workbook *book;
    lxw_worksheet *sheet;
    lxw_format *bold, *date, *time, *decimal;
    lxw_row_t row;
    bool failed;
};

struct xlsx *
xlsx_open(const char *sheet, bool rtl)
{
    struct xlsx *x = xcalloc(1, sizeof(*x));
    const char *dir = getenv("TMPDIR");
    snprintf(x->path, sizeof(x->path), "%.30s/sharaka-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(x->path);
    if (fd < 0) {
        log_error("xlsx: cannot make a temporary file in %s", dir && *dir ? dir : "/tmp");
        free(x);
        return NULL;
    }
    close(fd);
    lxw_workbook_options opts = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
    x->book = workbook_new_opt(x->path, &opts);
    x->sheet = x->book ? workbook_add_worksheet(x->book, sheet) : NULL;
    if (x->sheet == NULL) {
        log_error("xlsx: cannot start a workbook");
        xlsx_abandon(x);
        return NULL;
    }
    x->bold = workbook_add_format(x->book);
    format_set_bold(x->bold);
    x->date = workbook_add_format(x->book);
    format_set_num_format(x->date, "yyyy-mm-dd");
    x->time = workbook_add_format(x->book);
    format_set_num_format(x->time, "yyyy-mm-dd hh:mm:ss");
    x->decimal = workbook_add_format(x->book);
    format_set_num_format(x->decimal, "#,##0.00");
    if (rtl)
        worksheet_right_to_left(x->sheet);
    worksheet_freeze_panes(x->sheet, 1, 0);
    return x;
}

struct xlsx *
xlsx_open_records(const struct resource *res, bool internal, const struct list_query *q, bool rtl)
{
    struct xlsx *x = xlsx_open(res->name, rtl);
    if (x == NULL)
        return NULL;
    const char *names[QUERY_MAX_FIELDS];
    int n = 0;
    for (int i; n < QUERY_MAX_FIELDS && (i = sql_csv_column(res, internal, q, n)) >= 0; n++)
        names[n] = res->fields[i].name;
    xlsx_header(x, names, n);
    return x;
}

/* Text, cut to what a cell holds (on a character boundary). */
static void
put_text(struct xlsx *x, lxw_col_t col, const char *text, lxw_format *format)
{
    size_t n = strlen(text);
    if (n > XLSX_CELL_MAX) {
        size_t keep = utf8_prefix(text, XLSX_CELL_MAX);
        char *cut = xstrndup(text, keep);
        x->failed |= worksheet_write_string(x->sheet, x->row, col, cut, format) != LXW_NO_ERROR;
        free(cut);
        return;
    }
    x->failed |= worksheet_write_string(x->sheet, x->row, col, text, format) != LXW_NO_ERROR;
}

void
xlsx_header(struct xlsx *x, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        put_text(x, (lxw_col_t)i, names[i], x->bold);
    x->row++;
}

/* "2026-03-01" or "2026-03-01T14:05:27.118204Z" as a date and time; false when it is neither. */
static bool
parse_datetime(const char *s, lxw_datetime *dt)
{
    int y, mo, d, h = 0, mi = 0;
    double sec = 0;
    if (sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) != 3)
        return false;
    if (s[10] == 'T' && sscanf(s + 11, "%2d:%2d:%lf", &h, &mi, &sec) != 3)
        return false;
    *dt = (lxw_datetime){y, mo, d, h, mi, sec};
    return true;
}

/* One value of a field as its cell. */
static void
put_value(struct xlsx *x, lxw_col_t col, const struct field *f, json_t *v)
{
    lxw_datetime dt;
    if (v == NULL || json_is_null(v))
        return;
    switch (f->type) {
    case FT_NUMBER:
    case FT_DECIMAL:
        if (json_is_number(v) || (json_is_string(v) && value_is_number(json_string_value(v)))) {
            double d =
                json_is_number(v) ? json_number_value(v) : strtod(json_string_value(v), NULL);
            x->failed |=
                worksheet_write_number(x->sheet, x->row, col, d,
                                       f->type == FT_DECIMAL ? x->decimal : NULL) != LXW_NO_ERROR;
            return;
        }
        break;
    case FT_DATE:
    case FT_TIMESTAMP:
        if (json_is_string(v) && parse_datetime(json_string_value(v), &dt)) {
            x->failed |=
                worksheet_write_datetime(x->sheet, x->row, col, &dt,
                                         f->type == FT_DATE ? x->date : x->time) != LXW_NO_ERROR;
            return;
        }
        break;
    case FT_BOOL:
        x->failed |=
            worksheet_write_boolean(x->sheet, x->row, col, json_is_true(v), NULL) != LXW_NO_ERROR;
        return;
    default:
        break;
    }
    if (json_is_string(v)) {
        put_text(x, col, json_string_value(v), NULL);
        return;
    }
    if (json_is_array(v) && (f->type == FT_TAGS || f->type == FT_ENUMS || f->type == FT_URLS)) {
        struct buf b = {0};
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            buf_printf(&b, "%s%s", i ? ", " : "",
                       json_string_value(item) ? json_string_value(item) : "");
        }
        put_text(x, col, b.data ? b.data : "", NULL);
        buf_free(&b);
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text != NULL)
        put_text(x, col, text, NULL);
    free(text);
}

void
xlsx_record(struct xlsx *x, const struct resource *res, bool internal, const struct list_query *q,
            json_t *record)
{
    for (int n = 0, i; (i = sql_csv_column(res, internal, q, n)) >= 0; n++)
        put_value(x, (lxw_col_t)n, &res->fields[i], json_object_get(record, res->fields[i].name));
    x->row++;
}

void
xlsx_row(struct xlsx *x, const char *const *cells, const bool *numeric, int n)
{
    for (int i = 0; i < n; i++) {
        if (cells[i] == NULL)
            continue;
        if (numeric[i] && value_is_number(cells[i]))
            x->failed |= worksheet_write_number(x->sheet, x->row, (lxw_col_t)i,
                                                strtod(cells[i], NULL), NULL) != LXW_NO_ERROR;
        else
            put_text(x, (lxw_col_t)i, cells[i], NULL);
    }
    x->row++;
}

int
xlsx_finish(struct xlsx *x, uint64_t *size)
{
    int fd = -1;
    lxw_error rc = workbook_close(x->book);
    x->book = NULL;
    if (rc == LXW_NO_ERROR && !x->failed)
        fd = open(x->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) {
        *size = (uint64_t)st.st_size;
    } else {
        log_error("xlsx: the workbook could not be written: %s",
                  rc != LXW_NO_ERROR ? lxw_strerror(rc) : "a cell was refused");
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    unlink(x->path);
    free(x);
    return fd;
}

void
xlsx_abandon(struct xlsx *x)
{
    if (x == NULL)
        return;
    if (x->book != NULL)
        workbook_close(x->book);
    unlink(x->path);
    free(x);
}
