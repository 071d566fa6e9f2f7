/* http.h - the request context, the error struct and the response builders. */
#ifndef SHARAKA_HTTP_H
#define SHARAKA_HTTP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "sharaka/util.h"

struct route;
struct db_conn;

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
 * turns it into the response. errors (optional) is an array of {field, code, message}, owned.
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

#define HTTP_MAX_PARAMS        4
#define HTTP_MAX_EXTRA_HEADERS 12

struct request {
    struct MHD_Connection *conn;
    struct arena arena;
    const char *method;
    const char *path;
    char request_id[65];
    char client_ip[48];
    const char *idempotency_key; /* claimed for this request; released if it fails */
    uint64_t start_us;
    struct buf body;
    size_t body_limit;
    bool bad_framing;
    const struct route *route;
    const char *params[HTTP_MAX_PARAMS];
    int nparams;
    struct principal who;
    const char *cors_origin; /* the caller's Origin when it is allowed, else NULL */
    int status;
    uint64_t bytes;
    bool responded;
    int nextra;
    const char *extra[HTTP_MAX_EXTRA_HEADERS][2];
};

/* Status reason text used as the problem title. */
const char *http_status_title(int status);

/* Sets err to status/code and a formatted detail. Returns false so callers can `return
 * set_error(...)`. */
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

/* Releases what err owns. */
void error_clear(struct error *err);

/* Request accessors. */
const char *http_header(struct request *r, const char *name);
const char *http_query(struct request *r, const char *name);
/* Adds a header to the response that will be queued; name and value must outlive the request. */
void http_add_header(struct request *r, const char *name, const char *value);

/*
 * Response builders: each queues exactly one response for r and records its status and size.
 * http_json steals the reference to body. http_pgresult takes ownership of res and sends the text
 * of row 0, column 0 without copying it.
 */
void http_json(struct request *r, int status, json_t *body);
void http_static(struct request *r, int status, const char *ctype, const char *data, size_t len);
void http_owned(struct request *r, int status, const char *ctype, char *data, size_t len);
void http_pgresult(struct request *r, int status, const char *ctype, PGresult *res);
void http_empty(struct request *r, int status);
void http_problem(struct request *r, int status, const char *code, const char *fmt, ...)
    PRINTF_LIKE(4, 5);
/*
 * Queues a body made of n pieces sent in order without copying them. res (may be NULL) and owned
 * (may be NULL) are released when the response is done with them.
 */
void http_iov(struct request *r, int status, const char *ctype, const struct MHD_IoVec *iov,
              unsigned int n, PGresult *res, char *owned);

/* The problem+json text of err (new memory); clears err and adds its headers to r. */
char *http_problem_text(struct request *r, struct error *err, int *status);

/* Answers with the problem described by err and clears it. */
void http_error(struct request *r, struct error *err);

/*
 * Parses the request body as a JSON object: checks the media type (415), size, syntax with the
 * position of the error and duplicate keys (400), nesting depth (400). Returns a new reference,
 * or NULL with err set. allow_merge_patch also accepts application/merge-patch+json.
 */
json_t *http_body_json(struct request *r, bool allow_merge_patch, struct error *err);

/* The single place where a response is queued; used by the builders and the server. */
void http_queue(struct request *r, int status, struct MHD_Response *resp);

#endif
