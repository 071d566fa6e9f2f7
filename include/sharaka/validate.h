/* validate.h - checks of request bodies against resource descriptors. */
#ifndef SHARAKA_VALIDATE_H
#define SHARAKA_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>

#include "sharaka/core.h"
#include "sharaka/descriptor.h"

/* Appends {field, code, message} to errors. */
void validate_add(json_t *errors, const char *field, const char *code, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

#define VALIDATE_PASSWORD_MIN 8
#define VALIDATE_PASSWORD_MAX 1024

/* The rule every password meets, a user's on create and on change: a string of 8 to 1024
 * characters. Appends an error for field when v breaks it. */
void validate_password(json_t *v, const char *field, json_t *errors);

/* Reports unknown fields and fields the caller may not write (read-only, create-only on patch). */
void validate_keys(const struct resource *res, json_t *body, bool create, json_t *errors);

/*
 * Checks the values of record (the body on create, the merged record on patch): types, enums,
 * lengths, formats, required fields, date order and fields that go together. On patch only the
 * fields named in changed are checked one by one; the rules between fields always apply.
 */
void validate_values(const struct resource *res, json_t *record, json_t *changed, bool create,
                     json_t *errors);

/* Applies patch to target as a JSON merge patch (RFC 7386), keeping top-level nulls. */
void validate_merge_patch(json_t *target, json_t *patch);

#endif
