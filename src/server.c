/*
 * server.c - the listening socket, connection limits, the life of a request, the access log and
 * shutdown.
 *
 * A request lives on the event loop (loop.c) that accepted its connection. Its first call, when
 * its headers are in, routes it, draws on the rate buckets, reads its credentials and checks the
 * route's access rule; an API key, or a token whose claims do not open the route, is looked up
 * first (the request is suspended meanwhile). A token whose claims open a read route is taken at
 * its word for now: its user's row is read in the same round trip as the read itself, and the
 * answer is dropped and the request handled anew if the user is gone or its role changed. Read
 * routes (ROUTE_LOOP) run on the loop and await their statements suspended; the others run on a
 * blocking thread (pool.c) while the request is suspended. Either way the answer is kept in the
 * request and queued here, on the loop's thread.
 */
#include "sharaka/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "sharaka/access.h"
#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/forwarded.h"
#include "sharaka/framing.h"
#include "sharaka/http.h"
#include "sharaka/deliveries.h"
#include "sharaka/janitor.h"
#include "sharaka/replicas.h"
#include "sharaka/log.h"
#include "sharaka/loop.h"
#include "sharaka/metrics.h"
#include "sharaka/pool.h"
#include "sharaka/ratelimit.h"
#include "sharaka/router.h"

/* What one request needs: its header section (at most 8 KiB of target, the framing limits) and
 * the buffers libmicrohttpd reads and writes through. It is cleared after every request, so it
 * costs its size in memset each time. */
#define CONNECTION_MEMORY_LIMIT (32 * 1024)
#define ADDRESS_BUCKETS         1024
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
    struct address_count *address; /* counted against its address, NULL when refused */
    int fd;
    atomic_int phase;
    atomic_uint_fast64_t deadline_us;
    atomic_size_t uri_len;   /* length of the current request's target, from the URI callback */
    atomic_bool nul_in_path; /* its path holds %00, which decoding would cut the path at */
    bool cut;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn_watch *watch_head;
static atomic_bool sweeper_stop;

/*
 * Open connections, in all and per client address, counted across the event loops (each
 * loop's daemon counts only its own). Under watch_lock.
 */
struct address_count {
    struct address_count *next;
    char ip[48];
    int n;
};

static struct address_count *address_buckets[ADDRESS_BUCKETS];
static int64_t open_connections;

/* Counts a new connection from ip; NULL when it is over a limit (nothing is counted then). */
static struct address_count *
count_connection(const char *ip)
{
    struct address_count **slot = &address_buckets[hash_text(HASH_SEED, ip) % ADDRESS_BUCKETS], *a;
    for (a = *slot; a != NULL && strcmp(a->ip, ip) != 0; a = a->next)
        ;
    /* A trusted proxy carries many clients: only the total holds it. */
    if (open_connections >= cfg.max_connections ||
        (a != NULL && a->n >= cfg.max_connections_per_ip && !forwarded_trusted(&cfg.proxies, ip)))
        return NULL;
    if (a == NULL) {
        a = xcalloc(1, sizeof(*a));
        snprintf(a->ip, sizeof(a->ip), "%s", ip);
        a->next = *slot;
        *slot = a;
    }
    a->n++;
    open_connections++;
    return a;
}

static void
uncount_connection(struct address_count *a)
{
    open_connections--;
    if (--a->n > 0)
        return;
    struct address_count **p = &address_buckets[hash_text(HASH_SEED, a->ip) % ADDRESS_BUCKETS];
    while (*p != a)
        p = &(*p)->next;
    *p = a->next;
    free(a);
}

static void
address_text(const struct sockaddr *sa, char *out, size_t outlen)
{
    out[0] = '\0';
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)outlen);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)outlen);
}

#define FORWARDED_LINES 16

struct forwarded_lines {
    const char *v[FORWARDED_LINES];
    int n;
};

static enum MHD_Result
forwarded_line(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct forwarded_lines *l = cls;
    (void)kind;
    if (value != NULL && strcasecmp(key, cfg.forwarded_header) == 0) {
        if (l->n == FORWARDED_LINES) /* keep the last ones: the nearest proxies wrote them */
            memmove(&l->v[0], &l->v[1], sizeof(l->v[0]) * (FORWARDED_LINES - 1));
        else
            l->n++;
        l->v[l->n - 1] = value;
    }
    return MHD_YES;
}

/* The connection comes from a trusted proxy: the client is who its header says, read from the
 * nearest hop back (forwarded.c). Every line of the header counts, in the order received. */
static void
client_behind_proxy(struct request *r)
{
    struct forwarded_lines lines = {.n = 0};
    char peer[sizeof(r->client_ip)];
    memcpy(peer, r->client_ip, sizeof(peer));
    (void)MHD_get_connection_values(r->conn, MHD_HEADER_KIND, forwarded_line, &lines);
    forwarded_client(&cfg.proxies, peer, lines.v, lines.n, cfg.forwarded_rfc7239, r->client_ip,
                     sizeof(r->client_ip));
}

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
        char ip[48];
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        address_text(ci != NULL ? ci->client_addr : NULL, ip, sizeof(ip));
        watch_set(w, WATCH_HEADERS, cfg.header_timeout);
        pthread_mutex_lock(&watch_lock);
        w->address = count_connection(ip);
        if (w->address == NULL && w->fd >= 0) {
            /* Over a limit: libmicrohttpd sees the connection end and closes it, unserved. */
            w->cut = true;
            shutdown(w->fd, SHUT_RDWR);
        }
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
    if (w->address != NULL)
        uncount_connection(w->address);
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
    if (w != NULL) {
        atomic_store(&w->uri_len, strlen(uri));
        bool nul = false;
        for (const char *p = uri; *p != '\0' && *p != '?' && !nul; p++)
            nul = p[0] == '%' && p[1] == '0' && p[2] == '0';
        atomic_store(&w->nul_in_path, nul);
    }
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

/* A request and what the server keeps of it between its calls. */
struct served {
    struct request r;
    struct ratelimit_draw auth_draw; /* the auth-address draw, reported if the caller fails */
    struct loop *loop;               /* the event loop whose daemon holds the connection */
    bool sheet;                      /* format=xlsx: made on a blocking thread (on_loop) */
};

static struct request *
request_new(struct MHD_Connection *conn, const char *url, const char *method)
{
    struct served *sv = xcalloc(1, sizeof(*sv));
    struct request *r = &sv->r;
    r->conn = conn;
    r->start_us = now_us_monotonic();
    r->method = arena_strdup(&r->arena, method);
    r->path = arena_strdup(&r->arena, url);
    r->body_limit = (size_t)cfg.max_body;
    r->pipe = loop_pipeline();
    sv->loop = loop_current();
    r->stage = STAGE_ADMITTING;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    address_text(ci != NULL ? ci->client_addr : NULL, r->client_ip, sizeof(r->client_ip));
    if (forwarded_trusted(&cfg.proxies, r->client_ip))
        client_behind_proxy(r);
    const char *id = http_header(r, "X-Request-Id");
    if (id != NULL && request_id_sane(id)) {
        memcpy(r->request_id, id, strlen(id) + 1);
    } else {
        /* Unique, not secret: a random prefix drawn once per thread, then a counter. */
        static _Thread_local uint64_t prefix, count;
        if (prefix == 0)
            randombytes_buf(&prefix, sizeof(prefix));
        snprintf(r->request_id, sizeof(r->request_id), "%016llx%016llx", (unsigned long long)prefix,
                 (unsigned long long)++count);
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
    struct conn_watch *w = watch_of(r->conn);
    if (w != NULL && atomic_load(&w->nul_in_path)) {
        /* decoded, the path would end at the NUL and name another resource: it names none */
        http_problem(r, 404, "not-found",
                     "the path holds %%00, an encoded NUL: no path of this server holds one");
        return false;
    }
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

static struct served *
served_of(struct request *r)
{
    return (struct served *)(void *)r;
}

/* The caller is known: its auth-address token is given back and it draws on its own bucket. */
static bool
meter_principal(struct request *r, struct error *err)
{
    ratelimit_refund("auth-address", r->client_ip, cfg.rate_limit_anonymous);
    return ratelimit_take(r, r->who.api_key ? "api-key" : "user", r->who.sub, cfg.rate_limit, err);
}

static bool
route_allows(struct request *r, struct error *err)
{
    return r->route->area == NULL || access_route(&r->who, r->route->area, r->route->action, err);
}

/*
 * True when the request runs on its event loop: its route does (ROUTE_LOOP) and the loop has a
 * pipeline, unless it asks for a spreadsheet (format=xlsx), which libxlsxwriter writes and
 * compresses as a file: that goes to a blocking thread.
 */
static bool
on_loop(struct request *r)
{
    return (r->route->flags & ROUTE_LOOP) && r->pipe != NULL && !served_of(r)->sheet;
}

/* True when a read may go on with the token's claims, its user's row read with the read itself. */
static bool
may_take_claims(struct request *r)
{
    struct error scratch = {0};
    if (r->who.api_key || !on_loop(r))
        return false;
    bool ok = route_allows(r, &scratch);
    error_clear(&scratch);
    return ok;
}

enum admission { ADMIT_OK, ADMIT_FAILED, ADMIT_LOOKUP };

/*
 * Draws on the buckets and establishes who is calling, before any body byte is read. Service
 * routes draw on none; the sign-in draws on its address's login bucket; a request without
 * credentials on the anonymous bucket of its address. A request with credentials first draws on
 * its address's auth-address bucket, so wrong tokens and keys are throttled before they cost a
 * database lookup; once the credentials prove valid, that token is given back and the request
 * draws on its principal's bucket instead, so signed-in callers sharing an address are limited
 * each at their own rate. ADMIT_LOOKUP: the caller must be looked up before going on.
 */
static enum admission
meter_and_authenticate(struct request *r, struct error *err)
{
    const struct route *rt = r->route;
    struct ratelimit_draw *d = &served_of(r)->auth_draw;

    memset(&r->who, 0, sizeof(r->who));
    r->who.role = ROLE_ANONYMOUS;
    if (rt->flags & ROUTE_UNMETERED)
        return ADMIT_OK;
    if (rt->flags & ROUTE_SIGN_IN) {
        /* Before the body is read, this instance's own count of the address's attempts; the
         * count that holds across instances is taken in the database with the body (users.c).
         * Each counts every attempt, so this one runs dry no sooner; its headers are added only
         * when it does. */
        if (ratelimit_draw("login-address", r->client_ip, cfg.login_rate_limit, d))
            return ADMIT_OK;
        (void)ratelimit_report(r, d, err);
        return ADMIT_FAILED;
    }
    if (http_header(r, MHD_HTTP_HEADER_AUTHORIZATION) == NULL)
        return ratelimit_take(r, "anonymous", r->client_ip, cfg.rate_limit_anonymous, err)
                   ? ADMIT_OK
                   : ADMIT_FAILED;
    if (!ratelimit_draw("auth-address", r->client_ip, cfg.rate_limit_anonymous, d)) {
        (void)ratelimit_report(r, d, err);
        return ADMIT_FAILED;
    }
    enum auth_step step = auth_begin(r, err);
    if (step == AUTH_FAILED) {
        struct error ignored = {0};
        (void)ratelimit_report(r, d, &ignored);
        return ADMIT_FAILED;
    }
    if (step == AUTH_DONE)
        return ADMIT_OK;
    if (!may_take_claims(r))
        return ADMIT_LOOKUP;
    return meter_principal(r, err) ? ADMIT_OK : ADMIT_FAILED;
}

/* Goes on with what the caller's lookup said: refused (401, or 503), or the caller now known. */
static bool
admit_checked(struct request *r, enum auth_check check, struct error *err)
{
    if (check == AUTH_REFUSED) {
        struct error ignored = {0};
        (void)ratelimit_report(r, &served_of(r)->auth_draw, &ignored);
        error_clear(&ignored);
        return false;
    }
    return meter_principal(r, err) && route_allows(r, err);
}

/*
 * The copy of the database a read on the loop goes to: a replica that is usable and has replayed
 * the write the client names in Sharaka-Consistency, else the primary. The caller's check travels
 * with the read, so it is answered by the same copy. False (answered 400) for a malformed token.
 */
static bool
choose_copy(struct request *r)
{
    if (r->route->flags & ROUTE_UNMETERED)
        return true;
    const char *token = http_header(r, "Sharaka-Consistency");
    uint64_t need = 0;
    if (token != NULL && !replicas_parse_position(token, &need)) {
        http_problem(r, 400, "invalid-consistency-token",
                     "Sharaka-Consistency must be a token a write answer carried, such as "
                     "0/16B3748 (two hexadecimal numbers of 1 to 8 digits joined by /)");
        return false;
    }
    if (on_loop(r))
        r->pipe = loop_read_pipeline(need);
    return true;
}

/*
 * The first step of a request, run as soon as its headers are in and before its body is read:
 * route, throttle, authenticate, check the route's access rule and whether it takes a body.
 * Leaves the request admitted (answered when it failed), or suspended for the caller's lookup.
 */
static void
admit(struct request *r)
{
    struct error err = {0};
    char allow[128];
    const char *origin = http_header(r, "Origin");

    r->stage = STAGE_ADMITTED;
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
    const char *format = http_query(r, "format");
    served_of(r)->sheet = format != NULL && strcmp(format, "xlsx") == 0;
    if (!(r->route->flags & ROUTE_BODY) && has_body(r)) {
        http_problem(r, 413, "body-not-accepted",
                     "%s %s takes no request body; send the request without one", r->method,
                     r->path);
        return;
    }
    if (!choose_copy(r))
        return;
    switch (meter_and_authenticate(r, &err)) {
    case ADMIT_FAILED:
        http_error(r, &err);
        return;
    case ADMIT_LOOKUP:
        http_await(r, NULL, 0, NULL, NULL);
        r->stage = STAGE_ADMITTING; /* its answer comes back to the first call */
        return;
    case ADMIT_OK:
        break;
    }
    if (!route_allows(r, &err))
        http_error(r, &err);
}

/* The caller's lookup is back (the first call, repeated after the resume). */
static void
admit_resumed(struct request *r)
{
    struct error err = r->await_err;
    PGresult *res = r->lookup_res;
    memset(&r->await_err, 0, sizeof(r->await_err));
    r->lookup_res = NULL;
    r->stage = STAGE_ADMITTED;
    if (!admit_checked(r, auth_lookup_apply(r, res, &err), &err))
        http_error(r, &err);
    error_clear(&err);
}

static void run_handler(struct request *r);

/*
 * After the handler (or one of its continuations) returned on the loop: it awaits a statement,
 * or it answered. An answer made with the token's claims waits for the user's row when the
 * handler needed no statement to make it.
 */
static void
handler_returned(struct request *r)
{
    if (r->stage == STAGE_AWAITING)
        return;
    if (r->lookup.sql != NULL) {
        r->stage = STAGE_HANDLING;
        http_await(r, NULL, 0, NULL, NULL);
        return;
    }
    if (!r->responded)
        http_problem(r, 500, "internal-error", "the request was not answered");
}

/* The route's handler, from a clean count of bytes sent. */
static void
call_handler(struct request *r)
{
    r->bytes = 0;
    r->route->handler(r);
}

static void
run_handler(struct request *r)
{
    r->stage = STAGE_HANDLING;
    call_handler(r);
    handler_returned(r);
}

/* An awaited result is back (the final call, repeated after the resume). */
static void
await_resumed(struct request *r)
{
    PGresult *res = r->await_res;
    struct error err = r->await_err;
    PGresult *lookup = r->lookup_res;

    r->await_res = r->lookup_res = NULL;
    memset(&r->await_err, 0, sizeof(r->await_err));
    r->stage = STAGE_HANDLING;
    if (r->lookup.sql != NULL) {
        /* The caller's row came with the result; when the job failed, its error is the check's. */
        struct error lerr = {0};
        if (lookup == NULL) {
            lerr = err;
            memset(&err, 0, sizeof(err));
        }
        enum auth_check check = auth_lookup_apply(r, lookup, &lerr);
        if (check != AUTH_CONFIRMED) {
            /* The answer was made for a caller that is not who the token said: drop it. */
            PQclear(res);
            error_clear(&err);
            http_unqueue(r);
            if (check == AUTH_REFUSED || !route_allows(r, &lerr)) {
                http_error(r, &lerr);
                return;
            }
            run_handler(r);
            return;
        }
    }
    http_done_fn done = r->await_done;
    r->await_done = NULL;
    if (done == NULL) {
        /* Only the caller was checked: the kept answer stands. */
        PQclear(res);
        error_clear(&err);
        return;
    }
    done(r, res, &err);
    error_clear(&err);
    handler_returned(r);
}

/* A blocking thread runs the handler; the request is resumed once it has answered, and r is not
 * touched after that. */
static void
run_offloaded(void *arg)
{
    struct request *r = arg;
    struct loop *l = served_of(r)->loop;
    call_handler(r);
    if (!r->responded)
        http_problem(r, 500, "internal-error", "the request was not answered");
    r->stage = STAGE_OFFLOAD_DONE;
    MHD_resume_connection(r->conn);
    loop_wake(l);
}

/* The final call: the request is in, body included. True when it went to a blocking thread:
 * from then on r belongs to that thread until it resumes the request. */
static bool
handle(struct request *r)
{
    if (r->responded)
        return false;
    if (on_loop(r)) {
        run_handler(r);
        return false;
    }
    r->stage = STAGE_OFFLOADED;
    r->offloaded = true;
    MHD_suspend_connection(r->conn);
    if (pool_submit(run_offloaded, r))
        return true;
    http_problem(r, 503, "shutting-down", "the server is stopping; try again");
    r->stage = STAGE_OFFLOAD_DONE;
    MHD_resume_connection(r->conn);
    return false;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    struct request *r = *con_cls;
    struct conn_watch *w = watch_of(conn);

    if (r == NULL) {
        r = request_new(conn, url, method);
        *con_cls = r;
        watch_set(w, WATCH_BODY, cfg.body_timeout);
        if (check_framing(r, w))
            admit(r);
        else
            r->stage = STAGE_ADMITTED;
        if (r->stage == STAGE_ADMITTED && (r->responded || !has_body(r)))
            watch_set(w, WATCH_ANSWERING, 0);
        http_flush(r);
        return MHD_YES;
    }
    switch (r->stage) {
    case STAGE_ADMITTING:
        admit_resumed(r);
        if (r->responded || !has_body(r))
            watch_set(w, WATCH_ANSWERING, 0);
        break;
    case STAGE_ADMITTED:
        if (*upload_data_size != 0) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            if (r->responded)
                return MHD_YES;
            if (r->body.len + n > r->body_limit) {
                /* Cannot happen: the Content-Length was checked against the limit and
                 * libmicrohttpd reads no more than it says. Should it, the connection is closed
                 * unanswered. */
                buf_free(&r->body);
                return MHD_NO;
            }
            buf_append(&r->body, upload_data, n);
            return MHD_YES;
        }
        watch_set(w, WATCH_ANSWERING, 0);
        if (handle(r))
            return MHD_YES;
        break;
    case STAGE_AWAITING:
        await_resumed(r);
        break;
    case STAGE_HANDLING:
    case STAGE_OFFLOADED:
    case STAGE_OFFLOAD_DONE:
        break;
    }
    /* An answer made with the token's claims waits while its user's row is read. */
    if (r->stage != STAGE_AWAITING)
        http_flush(r);
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
    buf_printf(&line, "\",\"client\":\"%s", r->client_ip);
    buf_printf(&line, "\",\"status\":%d,\"duration_us\":%llu,\"bytes\":%llu",
               delivered ? r->status : 0, (unsigned long long)duration,
               (unsigned long long)(delivered ? r->bytes : 0));
    if (!delivered)
        buf_printf(&line, ",\"queued_status\":%d,\"termination\":\"%s\"", r->status,
                   termination_name(toe));
    buf_puts(&line, "}\n");
    log_access(line.data, line.len);
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
    if (r->kept != NULL)
        MHD_destroy_response(r->kept);
    PQclear(r->await_res);
    PQclear(r->lookup_res);
    error_clear(&r->await_err);
    buf_free(&r->body);
    arena_free(&r->arena);
    free(served_of(r));
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

/* The listening socket, non-blocking, shared by the event loops. -1 (errno set) on failure. */
static int
listen_socket(void)
{
    int one = 1;
    int fd = socket(cfg.listen_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (cfg.listen_addr.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&cfg.listen_addr, cfg.listen_addr_len) != 0 ||
        listen(fd, 1024) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* One event loop's daemon: it polls through the loop, takes the connections the loop accepts
 * and counts them for the limits through on_connection. */
static struct MHD_Daemon *
make_daemon(void)
{
    /* No MHD_USE_ITC: polled from outside, libmicrohttpd drops it; a thread that resumes one
     * of the loop's requests wakes the loop itself (loop_wake). */
    unsigned int flags =
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
    if (cfg.listen_addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        /* The limits are counted across the loops by on_connection: above them here. */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg.max_connections + 16u,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg.connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_LIMIT,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
        NULL, MHD_OPTION_END);
    if (d == NULL)
        log_error("cannot start an HTTP daemon: %s", strerror(errno));
    return d;
}

int
server_run(void)
{
    sigset_t stop;
    int sig = 0;

    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Worker threads inherit this mask, so only sigwait() below sees the signals. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);

    ratelimit_init();
    int lfd = listen_socket();
    if (lfd < 0) {
        log_error("cannot listen on %s: %s", cfg.listen, strerror(errno));
        return 1;
    }
    if (!replicas_start()) {
        close(lfd);
        return 1;
    }
    if (!pool_start((int)cfg.blocking_threads)) {
        close(lfd);
        replicas_stop();
        return 1;
    }
    if (!loop_start_all((int)cfg.threads, lfd, make_daemon)) {
        pool_stop(); /* the loops closed the listening socket */
        replicas_stop();
        return 1;
    }
    pthread_t sweep;
    if (pthread_create(&sweep, NULL, sweeper, NULL) != 0) {
        log_error("cannot start the connection sweeper: %s", strerror(errno));
        loop_stop_all();
        pool_stop();
        replicas_stop();
        return 1;
    }
    log_info("sharaka listening on http://%s with %lld event loops and %lld blocking threads%s",
             cfg.listen, (long long)cfg.threads, (long long)cfg.blocking_threads,
             replicas_count() > 0 ? ", reads spread over the replicas" : "");
    janitor_start();
    deliveries_start();

    while (sigwait(&stop, &sig) != 0)
        ;
    metrics_set_draining();
    if (sig == SIGTERM && cfg.drain_seconds > 0) {
        /* /readyz answers 503 from now on and every answer closes its connection, so that the
         * balancer moves the traffic away; what still comes is served. Another signal ends the
         * wait. */
        log_info("received SIGTERM: draining for %llds", (long long)cfg.drain_seconds);
        struct timespec drain = {(time_t)cfg.drain_seconds, 0};
        while (sigtimedwait(&stop, NULL, &drain) < 0 && errno == EINTR)
            ;
    }
    log_info("received %s: finishing %d in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT",
             metrics_inflight());
    loop_stop_accepting();
    uint64_t deadline = now_us_monotonic() + (uint64_t)cfg.shutdown_timeout * 1000000u;
    while (metrics_inflight() > 0 && now_us_monotonic() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (metrics_inflight() > 0)
        log_warn("shutdown timeout: %d requests cut short", metrics_inflight());
    atomic_store(&sweeper_stop, true);
    pthread_join(sweep, NULL);
    /* The blocking threads finish what they run and take nothing new (a request that comes now
     * is answered 503); then the loops end what waits for the database and stop. */
    pool_close();
    loop_stop_all();
    pool_stop();
    janitor_stop();
    deliveries_stop();
    replicas_stop();
    fflush(stdout);
    db_close_all();
    log_info("stopped");
    return 0;
}
