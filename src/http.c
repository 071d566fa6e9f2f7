/* http.c - request helpers and the response builders: JSON, problem+json, text, PGresult. */
#include "sharaka/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/log.h"
#include "sharaka/metrics.h"
#include "sharaka/pipeline.h"
#include "sharaka/query.h"

#define JSON_MAX_DEPTH 32

const char *
http_status_title(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

const char *
http_header(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *
http_cookie(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

const char *
http_query(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void
http_add_header(struct request *r, const char *name, const char *value)
{
    if (r->nextra == HTTP_MAX_EXTRA_HEADERS) {
        rlog_error(r->request_id, "too many extra headers; dropped %s", name);
        return;
    }
    r->extra[r->nextra][0] = name;
    r->extra[r->nextra][1] = value;
    r->nextra++;
}

void
http_queue(struct request *r, int status, struct MHD_Response *resp)
{
    if (r->responded) {
        rlog_error(r->request_id, "second response for one request dropped (status %d)", status);
        MHD_destroy_response(resp);
        return;
    }
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (r->cors_origin != NULL) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->cors_origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "ETag, Location, Link, X-Request-Id, Retry-After, RateLimit, "
                                "RateLimit-Policy, X-Next-Cursor, X-Has-More, X-Total-Count, "
                                "Idempotent-Replayed, WWW-Authenticate, Allow");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    for (int i = 0; i < r->nextra; i++)
        MHD_add_response_header(resp, r->extra[i][0], r->extra[i][1]);
    if (metrics_draining())
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->kept = resp;
    r->kept_status = (unsigned int)status;
    r->status = status;
    r->responded = true;
}

void
http_flush(struct request *r)
{
    if (r->kept == NULL)
        return;
    if (MHD_queue_response(r->conn, r->kept_status, r->kept) != MHD_YES)
        rlog_error(r->request_id, "could not queue the response (status %u)", r->kept_status);
    MHD_destroy_response(r->kept);
    r->kept = NULL;
}

void
http_unqueue(struct request *r)
{
    if (r->kept != NULL)
        MHD_destroy_response(r->kept);
    r->kept = NULL;
    r->responded = false;
    r->status = 0;
    r->bytes = 0;
    r->nextra = 0;
}

/* The pipeline's answer to an awaited statement (on the loop's thread): keep the results and
 * wake the request; the server hands them to its handler when libmicrohttpd calls it again. */
static void
await_result(void *arg, PGresult **res, int n, struct error *err)
{
    struct request *r = arg;
    int i = 0;
    if (r->lookup_sent)
        r->lookup_res = res[i++];
    r->await_res = i < n ? res[i] : NULL;
    r->await_err = *err;
    memset(err, 0, sizeof(*err));
    MHD_resume_connection(r->conn);
}

void
http_await(struct request *r, const char *sql, int nparams, const char *const *params,
           http_done_fn done)
{
    if (r->pipe != NULL && !r->offloaded) {
        struct pipeline_statement st[2];
        int n = 0;
        r->lookup_sent = r->lookup.sql != NULL;
        if (r->lookup_sent)
            st[n++] =
                (struct pipeline_statement){r->lookup.sql, r->lookup.nparams, r->lookup.params};
        if (sql != NULL)
            st[n++] = (struct pipeline_statement){sql, nparams, params};
        r->await_done = done;
        r->await_res = r->lookup_res = NULL;
        memset(&r->await_err, 0, sizeof(r->await_err));
        r->stage = STAGE_AWAITING;
        MHD_suspend_connection(r->conn);
        pipeline_submit(r->pipe, st, n, await_result, r);
        return;
    }
    struct error err = {0};
    PGresult *res = NULL;
    if (r->lookup.sql != NULL || sql == NULL) {
        /* A blocking thread never carries a caller's check: admission made it first. */
        rlog_error(r->request_id, "a statement was awaited off the event loop with a check due");
        error_set(&err, 500, "internal-error", "the request could not be completed");
    } else {
        struct db_conn *c = db_thread_conn(&err);
        if (c != NULL)
            res = db_exec_sql(c, sql, nparams, params, &err);
    }
    done(r, res, &err);
    error_clear(&err);
}

static void
queue_buffer(struct request *r, int status, const char *ctype, struct MHD_Response *resp,
             size_t len)
{
    if (ctype != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    r->bytes = len;
    http_queue(r, status, resp);
}

void
http_static(struct request *r, int status, const char *ctype, const char *data, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    queue_buffer(r, status, ctype, resp, len);
}

void
http_owned(struct request *r, int status, const char *ctype, char *data, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
    queue_buffer(r, status, ctype, resp, len);
}

void
http_created_once(struct request *r, const char *collection, const char *record, const char *name,
                  const char *value)
{
    struct buf b = {0};
    size_t n = strlen(record);
    while (n > 0 && record[n - 1] != '}')
        n--;
    buf_append(&b, record, n > 0 ? n - 1 : 0);
    buf_printf(&b, ", \"%s\" : \"", name);
    buf_json_escape(&b, value, strlen(value));
    buf_puts(&b, "\"}");
    json_t *parsed = json_loads(record, 0, NULL);
    const char *id = json_string_value(json_object_get(parsed, "id"));
    http_add_header(r, "Location", arena_printf(&r->arena, "%s/%s", collection, id ? id : ""));
    http_add_header(r, "Cache-Control", "no-store");
    json_decref(parsed);
    size_t len = b.len;
    http_owned(r, 201, "application/json", buf_take(&b), len);
}

void
http_file(struct request *r, int status, const char *ctype, int fd, uint64_t size)
{
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    if (resp == NULL) {
        close(fd);
        http_problem(r, 503, "export-failed", "the file could not be sent; try again");
        return;
    }
    queue_buffer(r, status, ctype, resp, (size_t)size);
}

static void
free_pgresult(void *cls)
{
    PQclear(cls);
}

void
http_pgresult(struct request *r, int status, const char *ctype, PGresult *res)
{
    char *text = PQgetvalue(res, 0, 0);
    size_t len = (size_t)PQgetlength(res, 0, 0);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback_cls(len, text, free_pgresult, res);
    queue_buffer(r, status, ctype, resp, len);
}

struct iov_owner {
    PGresult *res;
    char *owned;
};

static void
free_iov_owner(void *cls)
{
    struct iov_owner *o = cls;
    PQclear(o->res);
    free(o->owned);
    free(o);
}

void
http_iov(struct request *r, int status, const char *ctype, const struct MHD_IoVec *iov,
         unsigned int n, PGresult *res, char *owned)
{
    struct iov_owner *o = xmalloc(sizeof(*o));
    size_t len = 0;
    o->res = res;
    o->owned = owned;
    for (unsigned int i = 0; i < n; i++)
        len += iov[i].iov_len;
    struct MHD_Response *resp = MHD_create_response_from_iovec(iov, n, free_iov_owner, o);
    queue_buffer(r, status, ctype, resp, len);
}

void
http_empty(struct request *r, int status)
{
    http_static(r, status, NULL, "", 0);
}

void
http_json(struct request *r, int status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text == NULL) {
        http_static(r, 500, "application/json", "{}", 2);
        return;
    }
    http_owned(r, status, "application/json", text, strlen(text));
}

/* A JSON string of text that may hold client bytes: invalid UTF-8 is shown as \xNN, never lost. */
static json_t *
json_text(const char *text)
{
    size_t n = strlen(text);
    if (utf8_valid(text, n))
        return json_stringn(text, n);
    struct buf b = {0};
    buf_utf8_shown(&b, text, n);
    json_t *v = json_stringn(b.data, b.len);
    buf_free(&b);
    return v;
}

char *
http_problem_text(struct request *r, struct error *err, int *status_out)
{
    int status = err->status ? err->status : 500;
    json_t *body = json_object();
    json_object_set_new(body, "type",
                        json_sprintf("urn:sharaka:problem:%s", err->code ? err->code : "error"));
    json_object_set_new(body, "title", json_string(http_status_title(status)));
    json_object_set_new(body, "status", json_integer(status));
    json_object_set_new(body, "detail", json_text(err->detail));
    json_object_set_new(body, "instance", json_text(r->path));
    json_object_set_new(body, "request_id", json_string(r->request_id));
    if (status == 422 && err->errors == NULL) {
        /* A 422 always lists what was wrong, even when it is the request as a whole. */
        err->errors = json_array();
        json_array_append_new(err->errors,
                              json_pack("{s:s, s:s, s:s}", "field", "", "code",
                                        err->code ? err->code : "invalid", "message", err->detail));
    }
    if (err->errors != NULL) {
        size_t n = json_array_size(err->errors);
        if (n > PROBLEM_MAX_ERRORS) {
            while (json_array_size(err->errors) > PROBLEM_MAX_ERRORS)
                json_array_remove(err->errors, json_array_size(err->errors) - 1);
            json_object_set_new(body, "errors_omitted",
                                json_integer((json_int_t)(n - PROBLEM_MAX_ERRORS)));
        }
        json_object_set(body, "errors", err->errors);
    }
    if (err->extra != NULL)
        json_object_update_missing(body, err->extra);
    if (err->www_authenticate != NULL)
        http_add_header(r, "WWW-Authenticate", err->www_authenticate);
    if (err->allow != NULL)
        http_add_header(r, "Allow", err->allow);
    if (err->retry_after != NULL || status == 503)
        http_add_header(r, "Retry-After", err->retry_after ? err->retry_after : "1");
    if (status >= 500)
        rlog_error(r->request_id, "%d %s", status, err->detail);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    error_clear(err);
    *status_out = status;
    return text;
}

void
http_error(struct request *r, struct error *err)
{
    if (r->responded) {
        error_clear(err);
        return;
    }
    int status;
    char *text = http_problem_text(r, err, &status);
    http_owned(r, status, "application/problem+json", text, strlen(text));
}

void
http_problem(struct request *r, int status, const char *code, const char *fmt, ...)
{
    struct error err = {0};
    va_list ap;
    err.status = status;
    err.code = code;
    va_start(ap, fmt);
    vsnprintf(err.detail, sizeof(err.detail), fmt, ap);
    va_end(ap);
    http_error(r, &err);
}

/* ---------------------------------------------------------------- request bodies */

static bool
media_type_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ctype, want, n) != 0)
        return false;
    return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

/* How deep v nests; counting stops past JSON_MAX_DEPTH. */
static int
json_depth(json_t *v)
{
    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    int max = 0;
    void *it = json_is_object(v) ? json_object_iter(v) : NULL;
    for (size_t i = 0; max <= JSON_MAX_DEPTH; i++) {
        json_t *child = json_is_object(v) ? json_object_iter_value(it) : json_array_get(v, i);
        if (child == NULL)
            break;
        int d = json_depth(child);
        if (d > max)
            max = d;
        if (it != NULL)
            it = json_object_iter_next(v, it);
    }
    return max + 1;
}

json_t *
http_body_json(struct request *r, bool allow_merge_patch, struct error *err)
{
    const char *ctype = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;

    if (ctype == NULL ||
        !(media_type_is(ctype, "application/json") ||
          (allow_merge_patch && media_type_is(ctype, "application/merge-patch+json")))) {
        error_set(
            err, 415, "unsupported-media-type", "Content-Type must be application/json%s; got %s",
            allow_merge_patch ? " or application/merge-patch+json" : "", ctype ? ctype : "none");
        return NULL;
    }
    if (r->body.len == 0) {
        error_set(err, 400, "malformed-json",
                  "the request body is empty; a JSON object is expected");
        return NULL;
    }
    json_t *v = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        error_set(err, 400, "malformed-json", "malformed JSON at line %d, column %d (byte %d): %s",
                  jerr.line, jerr.column, jerr.position, jerr.text);
        return NULL;
    }
    if (json_depth(v) > JSON_MAX_DEPTH) {
        json_decref(v);
        error_set(err, 400, "malformed-json", "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        error_set(err, 400, "malformed-json", "the request body must be a JSON object");
        return NULL;
    }
    return v;
}

/* ---------------------------------------------------------------- query parameters */

struct arg_sink {
    struct query_arg *args;
    int max, n;
    bool overflow;
};

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct arg_sink *sink = cls;
    if (sink->n == sink->max) {
        sink->overflow = true;
        return MHD_NO;
    }
    sink->args[sink->n].key = key;
    sink->args[sink->n].value = value ? value : "";
    sink->n++;
    return MHD_YES;
}

bool
http_query_args(struct request *r, struct query_arg *args, int max, int *n, struct error *err)
{
    struct arg_sink sink = {args, max, 0, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &sink);
    *n = sink.n;
    if (sink.overflow)
        return error_set(err, 400, "invalid-parameter", "at most %d query parameters", max);
    return true;
}
