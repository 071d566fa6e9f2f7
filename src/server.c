/* server.c - the libmicrohttpd daemon: limits, request lifecycle, access log, shutdown. */
#include "sharaka/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "sharaka/access.h"
#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/http.h"
#include "sharaka/janitor.h"
#include "sharaka/log.h"
#include "sharaka/ratelimit.h"
#include "sharaka/router.h"

#define CONNECTION_MEMORY_LIMIT (128 * 1024)
#define CHUNKED_DISCARD_FACTOR  4
#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"

static atomic_int inflight;
static atomic_bool draining;

/* Request counters for /metrics, by status code. */
static atomic_uint_fast64_t status_counts[600];
static atomic_uint_fast64_t duration_us_total;
static atomic_uint_fast64_t bytes_total;

bool
server_draining(void)
{
    return atomic_load(&draining);
}

/* ---------------------------------------------------------------- request context */

static bool
request_id_sane(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static struct request *
request_new(struct MHD_Connection *conn, const char *url, const char *method)
{
    struct request *r = xcalloc(1, sizeof(*r));
    r->conn = conn;
    r->start_us = now_us_monotonic();
    r->method = arena_strdup(&r->arena, method);
    r->path = arena_strdup(&r->arena, url);
    r->body_limit = (size_t)cfg.max_body;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                      r->client_ip, sizeof(r->client_ip));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                      r->client_ip, sizeof(r->client_ip));
    }
    const char *id = http_header(r, "X-Request-Id");
    if (id != NULL && request_id_sane(id)) {
        memcpy(r->request_id, id, strlen(id) + 1);
    } else {
        unsigned char raw[16];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(r->request_id, sizeof(r->request_id), raw, sizeof(raw));
    }
    atomic_fetch_add(&inflight, 1);
    return r;
}

struct header_count {
    int content_length;
    int transfer_encoding;
};

static enum MHD_Result
count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct header_count *hc = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        hc->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        hc->transfer_encoding++;
    return MHD_YES;
}

/* Checks the body framing and size from the headers alone. Returns false after answering. */
static bool
check_framing(struct request *r)
{
    struct header_count hc = {0, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_framing, &hc);
    if (hc.content_length > 1 || (hc.content_length && hc.transfer_encoding) ||
        hc.transfer_encoding > 1) {
        r->bad_framing = true;
        http_problem(r, 400, "bad-framing",
                     "a request may carry one Content-Length or one Transfer-Encoding, not both "
                     "and not twice");
        return false;
    }
    const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    if (cl != NULL && str_parse_i64(cl, &n) && n > (int64_t)r->body_limit) {
        http_problem(r, 413, "payload-too-large",
                     "the body is %lld bytes; at most %zu bytes are accepted", (long long)n,
                     r->body_limit);
        return false;
    }
    return true;
}

/* Writes a problem answer straight to the socket, for when the connection is about to close. */
static void
answer_and_close(struct request *r, int status, const char *code, size_t limit)
{
    struct error err = {0};
    struct buf out = {0};
    int st;
    error_set(&err, status, code, "the body is larger than %zu bytes", limit);
    char *body = http_problem_text(r, &err, &st);
    buf_printf(&out,
               "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
               "Content-Length: %zu\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n%s",
               st, http_status_title(st), strlen(body), r->request_id, body);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci != NULL) {
        ssize_t w = send(ci->connect_fd, out.data, out.len, MSG_NOSIGNAL);
        if (w < 0 || (size_t)w != out.len)
            rlog_warn(r->request_id, "the %d answer could not be written whole", st);
    }
    r->status = st;
    r->bytes = strlen(body);
    r->responded = true;
    free(body);
    buf_free(&out);
}

/* ---------------------------------------------------------------- dispatch */

static void
answer_preflight(struct request *r)
{
    const char *want = http_header(r, "Access-Control-Request-Method");
    const struct route *rt = NULL;
    const char *params[HTTP_MAX_PARAMS];
    int nparams = 0;
    char allow[128];

    if (r->cors_origin == NULL) {
        http_problem(r, 403, "cors-origin-not-allowed",
                     "the origin %s may not call this API from a browser",
                     http_header(r, "Origin") ? http_header(r, "Origin") : "(none)");
        return;
    }
    enum route_match m =
        router_match(&r->arena, want, r->path, &rt, params, &nparams, allow, sizeof(allow));
    if (m == ROUTE_NOT_FOUND) {
        http_problem(r, 404, "not-found", "no resource at %s", r->path);
        return;
    }
    if (m == ROUTE_FOUND) {
        /* The path accepts the method asked for: list every method it accepts. */
        router_match(&r->arena, "OPTIONS", r->path, &rt, params, &nparams, allow, sizeof(allow));
    }
    http_add_header(r, "Access-Control-Allow-Methods", arena_strdup(&r->arena, allow));
    http_add_header(r, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    http_add_header(r, "Access-Control-Max-Age", "600");
    http_empty(r, 204);
}

/* One bucket per signed-in principal, or per client address for anonymous callers. */
static bool
rate_limit(struct request *r, struct error *err)
{
    if (r->who.role == ROLE_ANONYMOUS)
        return ratelimit_take(r, "anonymous", r->client_ip, cfg.rate_limit_anonymous, err);
    return ratelimit_take(r, r->who.api_key ? "api-key" : "user", r->who.sub, cfg.rate_limit, err);
}

static void
dispatch(struct request *r)
{
    struct error err = {0};
    char allow[128];
    const char *origin = http_header(r, "Origin");

    if (origin != NULL && config_origin_allowed(origin))
        r->cors_origin = origin;
    if (strcmp(r->method, "OPTIONS") == 0 && http_header(r, "Access-Control-Request-Method")) {
        answer_preflight(r);
        return;
    }
    switch (router_match(&r->arena, r->method, r->path, &r->route, r->params, &r->nparams, allow,
                         sizeof(allow))) {
    case ROUTE_NOT_FOUND:
        http_problem(r, 404, "not-found", "no resource at %s", r->path);
        return;
    case ROUTE_BAD_METHOD:
        err.allow = arena_strdup(&r->arena, allow);
        error_set(&err, 405, "method-not-allowed", "%s is not allowed on %s; allowed: %s",
                  r->method, r->path, allow);
        http_error(r, &err);
        return;
    case ROUTE_FOUND:
        break;
    }
    /* Service routes and the login answer everyone: they neither read nor need credentials. */
    if (r->route->area != NULL && !auth_authenticate(r, &err)) {
        http_error(r, &err);
        return;
    }
    if (r->route->area != NULL && !rate_limit(r, &err)) {
        http_error(r, &err);
        return;
    }
    if (r->route->area != NULL && !access_route(&r->who, r->route->area, r->route->action, &err)) {
        http_error(r, &err);
        return;
    }
    r->route->handler(r);
    if (!r->responded)
        http_problem(r, 500, "internal-error", "the request was not answered");
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct request *r = *con_cls;

    if (r == NULL) {
        r = request_new(conn, url, method);
        *con_cls = r;
        check_framing(r);
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->responded)
            return MHD_YES;
        if (r->body.len + n > r->body_limit) {
            /* A chunked body gave no size up front. libmicrohttpd cannot queue an answer in the
             * middle of a body, so the 413 is written to the socket here and the connection
             * closed: the rest of the body is never read. */
            buf_free(&r->body);
            answer_and_close(r, 413, "payload-too-large", r->body_limit);
            return MHD_NO;
        }
        buf_append(&r->body, upload_data, n);
        return MHD_YES;
    }
    if (!r->responded) {
        r->bytes = 0;
        dispatch(r);
    }
    return MHD_YES;
}

/* ---------------------------------------------------------------- completion and access log */

static void
access_log(struct request *r, uint64_t duration)
{
    char when[40];
    struct buf line = {0};

    format_time_rfc3339(when, sizeof(when));
    buf_printf(&line, "{\"time\":\"%s\",\"request_id\":\"%s\",\"method\":\"", when, r->request_id);
    buf_json_escape(&line, r->method, strlen(r->method));
    buf_puts(&line, "\",\"path\":\"");
    buf_json_escape(&line, r->path, strlen(r->path));
    buf_printf(&line, "\",\"status\":%d,\"duration_us\":%llu,\"bytes\":%llu}\n",
               r->status ? r->status : 0, (unsigned long long)duration,
               (unsigned long long)r->bytes);
    fwrite(line.data, 1, line.len, stdout);
    fflush(stdout);
    buf_free(&line);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    struct request *r = *con_cls;
    if (r == NULL)
        return;
    uint64_t duration = now_us_monotonic() - r->start_us;
    if (r->responded) {
        access_log(r, duration);
        if (r->status > 0 && r->status < 600)
            atomic_fetch_add(&status_counts[r->status], 1);
        atomic_fetch_add(&duration_us_total, duration);
        atomic_fetch_add(&bytes_total, r->bytes);
    }
    buf_free(&r->body);
    arena_free(&r->arena);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&inflight, 1);
}

void
server_metrics_format(struct buf *b)
{
    buf_puts(b, "# HELP sharaka_http_requests_total Requests answered, by status code.\n"
                "# TYPE sharaka_http_requests_total counter\n");
    for (int s = 100; s < 600; s++) {
        uint64_t n = atomic_load(&status_counts[s]);
        if (n)
            buf_printf(b, "sharaka_http_requests_total{code=\"%d\"} %llu\n", s,
                       (unsigned long long)n);
    }
    buf_printf(b,
               "# HELP sharaka_http_request_duration_seconds_total Time spent answering requests.\n"
               "# TYPE sharaka_http_request_duration_seconds_total counter\n"
               "sharaka_http_request_duration_seconds_total %.6f\n"
               "# HELP sharaka_http_response_bytes_total Body bytes sent.\n"
               "# TYPE sharaka_http_response_bytes_total counter\n"
               "sharaka_http_response_bytes_total %llu\n"
               "# HELP sharaka_http_requests_in_flight Requests being answered now.\n"
               "# TYPE sharaka_http_requests_in_flight gauge\n"
               "sharaka_http_requests_in_flight %d\n",
               (double)atomic_load(&duration_us_total) / 1e6,
               (unsigned long long)atomic_load(&bytes_total), atomic_load(&inflight));
}

/* ---------------------------------------------------------------- lifecycle */

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_warn("http: %s", msg);
}

int
server_run(void)
{
    sigset_t stop;
    int sig = 0;
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;

    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Worker threads inherit this mask, so only sigwait() below sees the signals. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);

    if (cfg.listen_addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, &cfg.listen_addr, MHD_OPTION_THREAD_POOL_SIZE,
        /* One thread is the internal polling thread itself: no pool. */
        cfg.threads > 1 ? (unsigned int)cfg.threads : 0u, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)cfg.max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)cfg.connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)CONNECTION_MEMORY_LIMIT, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_END);
    if (d == NULL) {
        log_error("cannot listen on %s: %s", cfg.listen, strerror(errno));
        return 1;
    }
    log_info("sharaka listening on http://%s with %lld threads", cfg.listen,
             (long long)cfg.threads);
    janitor_start();

    while (sigwait(&stop, &sig) != 0)
        ;
    log_info("received %s: finishing %d in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             atomic_load(&inflight));
    atomic_store(&draining, true);
    MHD_socket lfd = MHD_quiesce_daemon(d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    uint64_t deadline = now_us_monotonic() + (uint64_t)cfg.shutdown_timeout * 1000000u;
    while (atomic_load(&inflight) > 0 && now_us_monotonic() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&inflight) > 0)
        log_warn("shutdown timeout: %d requests cut short", atomic_load(&inflight));
    MHD_stop_daemon(d);
    janitor_stop();
    fflush(stdout);
    db_close_all();
    log_info("stopped");
    return 0;
}
