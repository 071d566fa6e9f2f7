/* core.c - the error every layer fills: set, list of field errors, clear. */
#include "sharaka/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void error_vset(struct error *err, int status, const char *code, const char *fmt, va_list ap)
    PRINTF_LIKE(4, 0);

static void
error_vset(struct error *err, int status, const char *code, const char *fmt, va_list ap)
{
    err->status = status;
    err->code = code;
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
}

bool
error_set(struct error *err, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, status, code, fmt, ap);
    va_end(ap);
    return false;
}

bool
error_list_full(const json_t *errors)
{
    return json_array_size(errors) >= PROBLEM_MAX_ERRORS;
}

void
error_list_append(json_t *errors, json_t *item)
{
    if (item == NULL || error_list_full(errors)) {
        json_decref(item);
        /* Counted, not described: json_null() is a shared constant, so this costs one pointer. */
        json_array_append_new(errors, json_null());
        return;
    }
    json_array_append_new(errors, item);
}

void
error_clear(struct error *err)
{
    if (err->errors)
        json_decref(err->errors);
    if (err->extra)
        json_decref(err->extra);
    memset(err, 0, sizeof(*err));
}

bool
error_from_list(struct error *err, json_t *errors, const char *code, const char *fmt, ...)
{
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    va_list ap;
    va_start(ap, fmt);
    error_vset(err, 422, code, fmt, ap);
    va_end(ap);
    err->errors = errors;
    return false;
}
