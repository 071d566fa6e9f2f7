/* core.h - what every layer shares: the caller's role and identity, and the error on its way to
 * becoming a problem+json answer. No HTTP library and no database client here. */
#ifndef SHARAKA_CORE_H
#define SHARAKA_CORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sharaka/util.h"

enum role { ROLE_ANONYMOUS = 0, ROLE_ANALYST, ROLE_EDITOR, ROLE_PARTNER, ROLE_ADMIN };

/* Who is calling, as established by authentication. */
struct principal {
    enum role role;
    char sub[40];      /* user id, or API key id; empty for anonymous */
    char org[40];      /* organization scope of an editor, or empty */
    char ministry[40]; /* ministry scope of an editor, or empty */
    char source[64];   /* partner source name, or empty */
    bool api_key;      /* authenticated by an API key rather than a token */
    int64_t iat, exp;
};

/*
 * A failure on its way to becoming a problem+json answer. Lower layers fill it; http_error()
 * (http.h) turns it into the response. errors (optional) is an array of {field, code, message},
 * owned.
 */
struct error {
    int status;
    const char *code;
    char detail[512];
    json_t *errors;
    const char *www_authenticate;
    const char *allow;
    const char *retry_after; /* seconds, for Retry-After; every 503 says "1" unless set */
    char constraint[64];     /* the violated constraint, when the database reported one */
    json_t *extra;           /* extension members merged into the problem body, owned */
};

/* Sets err to status/code and a formatted detail. Returns false so callers can `return
 * error_set(...)`. */
bool error_set(struct error *err, int status, const char *code, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/*
 * Error lists (err->errors) describe at most PROBLEM_MAX_ERRORS entries; past that an entry is only
 * counted, and the answer says how many were left out (errors_omitted). error_list_full() tells a
 * caller it may skip building the entry; error_list_append() takes item (NULL counts one more).
 */
#define PROBLEM_MAX_ERRORS 50
bool error_list_full(const json_t *errors);
void error_list_append(json_t *errors, json_t *item);

/*
 * Ends a check that gathered field errors: true when errors is empty (it is released then);
 * otherwise false, with err a 422 of code, the formatted detail and the list (err takes it).
 */
bool error_from_list(struct error *err, json_t *errors, const char *code, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

/* Releases what err owns. */
void error_clear(struct error *err);

#endif
