/* http.h - the request context and the response builders. */
#ifndef SHARAKA_HTTP_H
#define SHARAKA_HTTP_H

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "sharaka/core.h"
#include "sharaka/util.h"

struct route;
struct db_conn;
struct query_arg;
struct pipeline;
struct request;

/*
 * Called when an awaited statement's result is in: res (owned by the callee, NULL on failure) or
 * err set. It answers r, or awaits another statement.
 */
typedef void (*http_done_fn)(struct request *r, PGresult *res, struct error *err);

/* Where a request is in its life; see server.c. */
enum request_stage {
    STAGE_ADMITTING,    /* the headers are being checked; suspended for the caller's lookup */
    STAGE_ADMITTED,     /* the headers passed: the body comes, then the handler */
    STAGE_HANDLING,     /* the handler runs on the event loop */
    STAGE_AWAITING,     /* suspended until a statement's result comes */
    STAGE_OFFLOADED,    /* suspended while a blocking thread runs the handler */
    STAGE_OFFLOAD_DONE, /* the blocking thread has answered: the answer is queued */
};

/* A statement to send: its text and parameter values, kept by the request until it is done. */
struct http_statement {
    const char *sql;
    int nparams;
    const char *params[4];
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

    /* The request path (server.c). */
    enum request_stage stage;
    struct pipeline *pipe;        /* the event loop's database connection, NULL off the loop */
    bool offloaded;               /* running on a blocking thread: statements run there */
    struct MHD_Response *kept;    /* the answer, queued by the server once the handler returns */
    unsigned int kept_status;     /*   and its status */
    struct http_statement lookup; /* the caller's check still to be made (sql NULL: none) */
    bool lookup_sent;             /* the awaited job carries the caller's lookup first */
    PGresult *lookup_res;         /* its result, when it came with an awaited statement */
    http_done_fn await_done;      /* what to call with the awaited result */
    PGresult *await_res;
    struct error await_err;
    void *await_arg; /* the handler's state between statements */
};

/* Status reason text used as the problem title. */
const char *http_status_title(int status);

/* Request accessors. */
const char *http_header(struct request *r, const char *name);
const char *http_query(struct request *r, const char *name);
/* The value of the cookie name in the request's Cookie header (the first, if it comes twice). */
const char *http_cookie(struct request *r, const char *name);
/* Collects the request's query parameters into args (at most max); false with a 400 beyond. */
bool http_query_args(struct request *r, struct query_arg *args, int max, int *n,
                     struct error *err) MUSTCHECK;
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
/* Sends size bytes of the open file fd (from offset 0), which the response then owns and
 * closes. */
void http_file(struct request *r, int status, const char *ctype, int fd, uint64_t size);
/*
 * Answers 201 with record (a JSON object's text) plus one member name: value that is shown this
 * once (a new key or secret), Location: collection/<the record's id> and Cache-Control: no-store.
 */
void http_created_once(struct request *r, const char *collection, const char *record,
                       const char *name, const char *value);
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

/* Answers with the problem described by err, unless r is answered already; clears err. The
 * handlers end with it: whatever failed on the way is answered there. */
void http_error(struct request *r, struct error *err);

/*
 * Parses the request body as a JSON object: checks the media type (415), size, syntax with the
 * position of the error and duplicate keys (400), nesting depth (400). Returns a new reference,
 * or NULL with err set. allow_merge_patch also accepts application/merge-patch+json.
 */
json_t *http_body_json(struct request *r, bool allow_merge_patch, struct error *err);

/*
 * The single place where a response is made ready; used by the builders and the server. The
 * response is kept in r until the server queues it (http_flush), so that it can be made on any
 * thread and dropped when the caller's check fails.
 */
void http_queue(struct request *r, int status, struct MHD_Response *resp);

/* Queues the kept response with libmicrohttpd; on the request's event-loop thread only. */
void http_flush(struct request *r);

/* Drops a kept response that will not be sent (the caller's check failed or changed). */
void http_unqueue(struct request *r);

/*
 * Runs one statement for r and calls done with its result. On an event loop the request is
 * suspended and the statement pipelined on the loop's connection (with the caller's check when
 * it is still to be made, in the same round trip); elsewhere it runs at once on the thread's own
 * connection. Values reach the statement only as parameters; sql and params must live as long as
 * r (the arena or static text).
 */
void http_await(struct request *r, const char *sql, int nparams, const char *const *params,
                http_done_fn done);

#endif
