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
#include "sharaka/framing.h"
#include "sharaka/http.h"
#include "sharaka/janitor.h"
#include "sharaka/log.h"
#include "sharaka/metrics.h"
#include "sharaka/ratelimit.h"
#include "sharaka/router.h"

#define CONNECTION_MEMORY_LIMIT (128 * 1024)
#define URI_MAX                 8192 /* longer request targets get 414 */
#define SWEEP_INTERVAL_MS       250
#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"

/* ---------------------------------------------------------------- connection deadlines */

/*
 * libmicrohttpd's connection timeout restarts on every byte, so a client that drips a header line
 * every few seconds keeps its connection forever. Each connection is watched from the moment it is
 * accepted: its headers must be complete within the header timeout (counted from the accept or
 * from the previous answer), its body within the body timeout after the headers. A sweeper thread
 * shuts down the socket of a connection past its deadline; libmicrohttpd then closes it. While a
 * request is being answered there is no deadline.
 */
enum watch_phase { WATCH_HEADERS, WATCH_BODY, WATCH_ANSWERING };

struct conn_watch {
    struct conn_watch *prev, *next;
    int fd;
    atomic_int phase;
    atomic_uint_fast64_t deadline_us;
    atomic_size_t uri_len; /* length of the current request's target, from the URI callback */
    bool cut;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_watch *watch_head;
static atomic_bool sweeper_stop;

static void
watch_set(struct conn_watch *w, enum watch_phase phase, int64_t seconds)
{
    if (w == NULL)
        return;
    atomic_store(&w->deadline_us,
                 seconds > 0 ? now_us_monotonic() + (uint64_t)seconds * 1000000u : 0);
    atomic_store(&w->phase, (int)phase);
}

static struct conn_watch *
watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
              enum MHD_ConnectionNotificationCode toe)
{
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn_watch *w = xcalloc(1, sizeof(*w));
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        w->fd = ci != NULL ? ci->connect_fd : -1;
        watch_set(w, WATCH_HEADERS, cfg.header_timeout);
        pthread_mutex_lock(&watch_lock);
        w->next = watch_head;
        if (watch_head != NULL)
            watch_head->prev = w;
        watch_head = w;
        pthread_mutex_unlock(&watch_lock);
        *socket_context = w;
        return;
    }
    struct conn_watch *w = *socket_context;
    if (w == NULL)
        return;
    /* libmicrohttpd closes the socket after this notice: unlink first so it is never shut down
     * once its number may belong to another connection. */
    pthread_mutex_lock(&watch_lock);
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        watch_head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&watch_lock);
    free(w);
    *socket_context = NULL;
}

static void *
sweeper(void *arg)
{
    while (!atomic_load(&sweeper_stop)) {
        struct timespec ts = {0, SWEEP_INTERVAL_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
        uint64_t now = now_us_monotonic();
        pthread_mutex_lock(&watch_lock);
        for (struct conn_watch *w = watch_head; w != NULL; w = w->next) {
            uint64_t deadline = atomic_load(&w->deadline_us);
            if (w->cut || w->fd < 0 || deadline == 0 || now < deadline ||
                atomic_load(&w->phase) == WATCH_ANSWERING)
                continue;
            w->cut = true;
            log_info("http: closing a connection whose %s did not arrive in time",
                     atomic_load(&w->phase) == WATCH_BODY ? "request body" : "request headers");
            shutdown(w->fd, SHUT_RDWR);
        }
        pthread_mutex_unlock(&watch_lock);
    }
    return NULL;
}

/* Notes the length of each request target as soon as its request line is read. */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct conn_watch *w = watch_of(conn);
    if (w != NULL)
        atomic_store(&w->uri_len, strlen(uri));
    return NULL;
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
    metrics_request_begin();
    return r;
}

struct header_list {
    struct framing_header *h;
    size_t n, cap;
};

#if MHD_VERSION == 0x00097500
/*
 * libmicrohttpd 0.9.75 parses the header section in place and says nothing of what it smoothed
 * over, but the layout shows it: a field's name is followed by the NUL that replaced its colon,
 * optional whitespace, then its value; the value by the two NULs that replaced its CR LF. A
 * folded field gets a name copied elsewhere (with the continuation glued to it), and a NUL in a
 * value or a bare LF leaves a byte after the first NUL. Empty values are not examined (their
 * pointer need not point into the request).
 */
static void
note_layout(struct framing_header *f)
{
    uintptr_t k = (uintptr_t)f->name, v = (uintptr_t)f->value;
    if (f->value_len == 0)
        return;
    bool adjacent =
        v > k + f->name_len && v - (k + f->name_len) <= 256 && f->name[f->name_len] == '\0';
    for (uintptr_t p = k + f->name_len + 1; adjacent && p < v; p++)
        adjacent = *(const char *)p == ' ' || *(const char *)p == '\t';
    f->folded = !adjacent;
    f->bad_line_end = f->value[f->value_len] != '\0' || f->value[f->value_len + 1] != '\0';
}

/* The last field must be followed by the empty line: libmicrohttpd 0.9.75 ends the section early
 * at a line it cannot parse (": x") and would read what follows as another request. */
static void
note_section_end(struct framing_header *f)
{
    if (f->value_len > 0 && !f->bad_line_end)
        f->bad_line_end = f->value[f->value_len + 2] != '\0' || f->value[f->value_len + 3] != '\0';
}
#else
static void
note_layout(struct framing_header *f)
{
    (void)f;
}

static void
note_section_end(struct framing_header *f)
{
    (void)f;
}
#endif

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
               const char *value, size_t value_size)
{
    struct header_list *hl = cls;
    if (hl->n == hl->cap) {
        hl->cap = hl->cap ? 2 * hl->cap : 32;
        hl->h = xrealloc(hl->h, hl->cap * sizeof(hl->h[0]));
    }
    struct framing_header *f = &hl->h[hl->n++];
    *f = (struct framing_header){.name = key,
                                 .name_len = key_size,
                                 .value = value ? value : "",
                                 .value_len = value ? value_size : 0};
    note_layout(f);
    return MHD_YES;
}

/* The first query parameter whose name or value is not valid UTF-8 (or holds a NUL), if any. */
struct bad_arg {
    const char *name;
    size_t name_len;
    bool in_name;
};

static enum MHD_Result
find_bad_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
             const char *value, size_t value_size)
{
    struct bad_arg *b = cls;
    bool name_ok = utf8_valid(key, key_size) && strlen(key) == key_size;
    bool value_ok = value == NULL || (utf8_valid(value, value_size) && strlen(value) == value_size);
    if (name_ok && value_ok)
        return MHD_YES;
    b->name = key;
    b->name_len = key_size;
    b->in_name = !name_ok;
    return MHD_NO;
}

/*
 * Every text of the request target is valid UTF-8 before anything reads it: the path and each
 * query parameter's name and value. Returns false after a 400 that names the parameter.
 */
static bool
check_text(struct request *r)
{
    struct bad_arg b = {NULL, 0, false};
    if (!utf8_valid(r->path, strlen(r->path))) {
        http_problem(r, 400, "invalid-utf8",
                     "the path is not valid UTF-8 (percent-escapes must encode UTF-8 text)");
        return false;
    }
    MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, find_bad_arg, &b);
    if (b.name == NULL)
        return true;
    struct buf shown = {0};
    buf_utf8_shown(&shown, b.name, b.name_len);
    if (b.in_name)
        http_problem(r, 400, "invalid-utf8",
                     "the name of a query parameter (%s) is not valid UTF-8 or holds a NUL; "
                     "parameter names and values must be UTF-8 text, percent-encoded",
                     shown.data ? shown.data : "");
    else
        http_problem(r, 400, "invalid-utf8",
                     "the value of the query parameter %s is not valid UTF-8 or holds a NUL; "
                     "values must be UTF-8 text, percent-encoded",
                     shown.data ? shown.data : "");
    buf_free(&shown);
    return false;
}

/*
 * Checks the header section and the body size from the headers alone, and the length of the
 * request target. Returns false after answering; a framing error also closes the connection.
 */
static bool
check_framing(struct request *r, struct conn_watch *w)
{
    struct header_list hl = {NULL, 0, 0};
    struct framing_error ferr;

    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, collect_header, &hl);
    if (hl.n > 0)
        note_section_end(&hl.h[hl.n - 1]);
    bool ok = framing_check(hl.h, hl.n, &ferr);
    free(hl.h);
    if (!ok) {
        http_add_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
        http_problem(r, ferr.status, ferr.code, "%s", ferr.detail);
        return false;
    }
    size_t uri_len = w != NULL ? atomic_load(&w->uri_len) : strlen(r->path);
    if (uri_len > URI_MAX) {
        http_problem(r, 414, "uri-too-long",
                     "the request target is %zu bytes; at most %d bytes are accepted (send fewer "
                     "or shorter query parameters)",
                     uri_len, URI_MAX);
        return false;
    }
    if (!check_text(r))
        return false;
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

/* True when the request announces a body: a Content-Length above 0 (framing refused the rest). */
static bool
has_body(struct request *r)
{
    const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int64_t n;
    return cl != NULL && (!str_parse_i64(cl, &n) || n > 0);
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

/*
 * Draws on the buckets and establishes who is calling, before any body byte is read. Service
 * routes draw on none; the sign-in draws on its address's login bucket; a request without
 * credentials on the anonymous bucket of its address. A request with credentials first draws on
 * its address's auth-address bucket, so wrong tokens and keys are throttled before they cost a
 * database lookup; once the credentials prove valid, that token is given back and the request
 * draws on its principal's bucket instead, so signed-in callers sharing an address are limited
 * each at their own rate.
 */
static bool
meter_and_authenticate(struct request *r, struct error *err)
{
    const struct route *rt = r->route;
    struct ratelimit_draw d;

    memset(&r->who, 0, sizeof(r->who));
    r->who.role = ROLE_ANONYMOUS;
    if (rt->flags & ROUTE_UNMETERED)
        return true;
    if (rt->flags & ROUTE_SIGN_IN)
        return ratelimit_take(r, "login-address", r->client_ip, cfg.login_rate_limit, err);
    if (http_header(r, MHD_HTTP_HEADER_AUTHORIZATION) == NULL)
        return ratelimit_take(r, "anonymous", r->client_ip, cfg.rate_limit_anonymous, err);
    if (!ratelimit_draw("auth-address", r->client_ip, cfg.rate_limit_anonymous, &d))
        return ratelimit_report(r, &d, err);
    if (!auth_authenticate(r, err)) {
        struct error ignored = {0};
        (void)ratelimit_report(r, &d, &ignored);
        return false;
    }
    ratelimit_refund("auth-address", r->client_ip, cfg.rate_limit_anonymous);
    return ratelimit_take(r, r->who.api_key ? "api-key" : "user", r->who.sub, cfg.rate_limit, err);
}

/*
 * The first step of a request, run as soon as its headers are in and before its body is read:
 * route, throttle, authenticate, check the route's access rule and whether it takes a body.
 * Returns true when the request goes on to its body and handler; false after answering.
 */
static bool
admit(struct request *r)
{
    struct error err = {0};
    char allow[128];
    const char *origin = http_header(r, "Origin");

    if (origin != NULL && config_origin_allowed(origin))
        r->cors_origin = origin;
    if (strcmp(r->method, "OPTIONS") == 0 && http_header(r, "Access-Control-Request-Method")) {
        answer_preflight(r);
        return false;
    }
    switch (router_match(&r->arena, r->method, r->path, &r->route, r->params, &r->nparams, allow,
                         sizeof(allow))) {
    case ROUTE_NOT_FOUND:
        http_problem(r, 404, "not-found", "no resource at %s", r->path);
        return false;
    case ROUTE_BAD_METHOD:
        err.allow = arena_strdup(&r->arena, allow);
        error_set(&err, 405, "method-not-allowed", "%s is not allowed on %s; allowed: %s",
                  r->method, r->path, allow);
        http_error(r, &err);
        return false;
    case ROUTE_FOUND:
        break;
    }
    if (!(r->route->flags & ROUTE_BODY) && has_body(r)) {
        http_problem(r, 413, "body-not-accepted",
                     "%s %s takes no request body; send the request without one", r->method,
                     r->path);
        return false;
    }
    if (!meter_and_authenticate(r, &err) ||
        (r->route->area != NULL &&
         !access_route(&r->who, r->route->area, r->route->action, &err))) {
        http_error(r, &err);
        return false;
    }
    return true;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct request *r = *con_cls;

    if (r == NULL) {
        struct conn_watch *w = watch_of(conn);
        r = request_new(conn, url, method);
        *con_cls = r;
        watch_set(w, WATCH_BODY, cfg.body_timeout);
        if (check_framing(r, w))
            admit(r);
        if (r->responded || !has_body(r))
            watch_set(w, WATCH_ANSWERING, 0);
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->responded)
            return MHD_YES;
        if (r->body.len + n > r->body_limit) {
            /* Cannot happen: the Content-Length was checked against the limit and libmicrohttpd
             * reads no more than it says. Should it, the connection is closed unanswered. */
            buf_free(&r->body);
            return MHD_NO;
        }
        buf_append(&r->body, upload_data, n);
        return MHD_YES;
    }
    watch_set(watch_of(conn), WATCH_ANSWERING, 0);
    if (!r->responded) {
        r->bytes = 0;
        r->route->handler(r);
        if (!r->responded)
            http_problem(r, 500, "internal-error", "the request was not answered");
    }
    return MHD_YES;
}

/* ---------------------------------------------------------------- completion and access log */

static const char *
termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "completed";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
    default:
        return "error";
    }
}

/*
 * One JSON line per request. status is what the client was sent; an answer that libmicrohttpd
 * could not send whole (its headers did not fit, the client went away) is logged with status 0,
 * the status that was queued as queued_status, and why the connection ended as termination.
 */
static void
access_log(struct request *r, uint64_t duration, bool delivered,
           enum MHD_RequestTerminationCode toe)
{
    char when[40];
    struct buf line = {0};

    format_time_rfc3339(when, sizeof(when));
    buf_printf(&line, "{\"time\":\"%s\",\"request_id\":\"%s\",\"method\":\"", when, r->request_id);
    buf_json_escape(&line, r->method, strlen(r->method));
    buf_puts(&line, "\",\"path\":\"");
    buf_json_escape(&line, r->path, strlen(r->path));
    buf_printf(&line, "\",\"status\":%d,\"duration_us\":%llu,\"bytes\":%llu",
               delivered ? r->status : 0, (unsigned long long)duration,
               (unsigned long long)(delivered ? r->bytes : 0));
    if (!delivered)
        buf_printf(&line, ",\"queued_status\":%d,\"termination\":\"%s\"", r->status,
                   termination_name(toe));
    buf_puts(&line, "}\n");
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
    watch_set(watch_of(conn), WATCH_HEADERS, cfg.header_timeout);
    uint64_t duration = now_us_monotonic() - r->start_us;
    bool delivered = r->responded && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    if (r->responded)
        access_log(r, duration, delivered, toe);
    metrics_request_end(delivered ? r->status : 0, r->responded ? duration : 0,
                        delivered ? r->bytes : 0);
    buf_free(&r->body);
    arena_free(&r->arena);
    free(r);
    *con_cls = NULL;
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
    ratelimit_init();
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
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        NULL, MHD_OPTION_END);
    if (d == NULL) {
        log_error("cannot listen on %s: %s", cfg.listen, strerror(errno));
        return 1;
    }
    pthread_t sweep;
    if (pthread_create(&sweep, NULL, sweeper, NULL) != 0) {
        log_error("cannot start the connection sweeper: %s", strerror(errno));
        MHD_stop_daemon(d);
        return 1;
    }
    log_info("sharaka listening on http://%s with %lld threads", cfg.listen,
             (long long)cfg.threads);
    janitor_start();

    while (sigwait(&stop, &sig) != 0)
        ;
    log_info("received %s: finishing %d in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             metrics_inflight());
    metrics_set_draining();
    MHD_socket lfd = MHD_quiesce_daemon(d);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    uint64_t deadline = now_us_monotonic() + (uint64_t)cfg.shutdown_timeout * 1000000u;
    while (metrics_inflight() > 0 && now_us_monotonic() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (metrics_inflight() > 0)
        log_warn("shutdown timeout: %d requests cut short", metrics_inflight());
    atomic_store(&sweeper_stop, true);
    pthread_join(sweep, NULL);
    MHD_stop_daemon(d);
    janitor_stop();
    fflush(stdout);
    db_close_all();
    log_info("stopped");
    return 0;
}
