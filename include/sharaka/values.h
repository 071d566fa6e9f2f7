/* values.h - checks of single values, shared by the list language, validation and auth. */
#ifndef SHARAKA_VALUES_H
#define SHARAKA_VALUES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sharaka/util.h"

/* 8-4-4-4-12 hexadecimal digits. */
bool value_is_uuid(const char *s);
/* YYYY-MM-DD, a day that exists. */
bool value_is_date(const char *s);
/* RFC 3339 date-time, or a plain date (midnight UTC). */
bool value_is_timestamp(const char *s);
/* A finite decimal number in C notation, no hexadecimal, at most 40 characters. */
bool value_is_number(const char *s);
/* A non-negative decimal with at most 16 integer and 2 fractional digits, e.g. "1500.00". */
bool value_is_decimal(const char *s);
/* An http or https URL with a host, no space or control character, at most max bytes. */
bool value_is_url(const char *s, size_t max);
/* local@domain.tld, no space, at most 320 bytes. */
bool value_is_email(const char *s);
/* a-z0-9 words joined by single '-', at most max bytes. */
bool value_is_slug(const char *s, size_t max);
/* A JSON string of 1 to max characters with no NUL inside. */
bool value_text_ok(json_t *v, size_t max);
/* Characters (not bytes) of a UTF-8 string. */
size_t value_utf8_len(const char *s);

/* True when v is one of the NULL-terminated values. */
bool value_in_list(const char *const *values, const char *v);
/* Appends the values joined by ", " to b; value_list_text writes them into out. */
void value_join_list(struct buf *b, const char *const *values);
void value_list_text(char *out, size_t len, const char *const *values);

#endif
