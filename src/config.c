/* config.c - the settings table: every setting, its type, default, bounds and meaning. */
#include "sharaka/config.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sharaka/log.h"

struct config cfg;

enum setting_kind {
    SET_STRING,
    SET_ORG_REF,
    SET_ORG_TYPE,
    SET_INT,
    SET_LISTEN,
    SET_SECRET,
    SET_LOGLEVEL,
    SET_ORIGINS,
    SET_ALGORITHM,
    SET_FILE,
    SET_PROXIES,
    SET_READ_URLS,
    SET_FORWARDED,
    SET_BOOL,
    SET_SCHEDULE,
};

struct setting {
    const char *name;
    enum setting_kind kind;
    const char *def;   /* default value, NULL when none */
    const char *shown; /* default as README shows it */
    int64_t min, max;
    size_t offset;
    const char *doc;
};

#define STR_AT(off) ((const char **)((char *)&cfg + (off)))
#define INT_AT(off) ((int64_t *)((char *)&cfg + (off)))

static const struct setting settings[] = {
    {"SHARAKA_DATABASE_URL", SET_STRING, "postgresql:///sharaka", "postgresql:///sharaka", 0, 0,
     offsetof(struct config, database_url),
     "PostgreSQL connection URL or conninfo (default: the local Unix socket)"},
    {"SHARAKA_DATABASE_READ_URL", SET_READ_URLS, "", "-", 0, 0,
     offsetof(struct config, database_read_url),
     "streaming replicas for reads, comma-separated URLs (postgresql://...); writes and what a "
     "write reads go to SHARAKA_DATABASE_URL"},
    {"SHARAKA_REPLICA_MAX_LAG", SET_INT, "5", "5", 1, 60, offsetof(struct config, replica_max_lag),
     "seconds a replica may be behind the primary and still serve reads"},
    {"SHARAKA_LISTEN", SET_LISTEN, "127.0.0.1:8080", "127.0.0.1:8080", 0, 0,
     offsetof(struct config, listen), "address:port to listen on (IPv4, or [IPv6]:port)"},
    {"SHARAKA_THREADS", SET_INT, "0", "0", 0, 64, offsetof(struct config, threads),
     "event loops, each serving many connections with one pipelined database connection; 0 "
     "means the number of cores"},
    {"SHARAKA_BLOCKING_THREADS", SET_INT, "0", "0", 0, 256,
     offsetof(struct config, blocking_threads),
     "threads for requests that wait on the database (writes, batches, sign-ins, exports, the "
     "feed, statistics), each with its own connection; 0 means four per event loop"},
    {"SHARAKA_MAX_BODY", SET_INT, "1048576", "1048576", 1024, 67108864,
     offsetof(struct config, max_body), "largest request body in bytes; larger bodies get 413"},
    {"SHARAKA_LOG_LEVEL", SET_LOGLEVEL, "info", "info", 0, 0, offsetof(struct config, log_level),
     "debug, info, warn or error"},
    {"SHARAKA_CORS_ORIGINS", SET_ORIGINS, "", "-", 0, 0, offsetof(struct config, cors_origins),
     "comma-separated origins allowed to call cross-origin, or *"},
    {"SHARAKA_JWT_SECRET", SET_SECRET, NULL, "-", 32, 4096, offsetof(struct config, jwt_secret),
     "secret of at least 32 bytes that signs HS256 tokens and list cursors; required by serve"},
    {"SHARAKA_TOKEN_TTL", SET_INT, "900", "900", 60, 3600, offsetof(struct config, token_ttl),
     "access-token lifetime in seconds, at most 3600"},
    {"SHARAKA_REFRESH_TTL", SET_INT, "1209600", "1209600", 1, 7776000,
     offsetof(struct config, refresh_ttl),
     "seconds a console session lasts without a refresh (its refresh token's lifetime, renewed by "
     "each refresh), at most 7776000 (90 days)"},
    {"SHARAKA_JWT_ISSUER", SET_STRING, "sharaka", "sharaka", 0, 0,
     offsetof(struct config, jwt_issuer), "iss claim of issued tokens, checked on every token"},
    {"SHARAKA_JWT_AUDIENCE", SET_STRING, "sharaka", "sharaka", 0, 0,
     offsetof(struct config, jwt_audience), "aud claim of issued tokens, checked on every token"},
    {"SHARAKA_MIGRATIONS_DIR", SET_STRING, "migrations", "migrations", 0, 0,
     offsetof(struct config, migrations_dir), "folder holding the NNNN_name.sql migration files"},
    {"SHARAKA_STATEMENT_TIMEOUT", SET_INT, "5000", "5000", 100, 600000,
     offsetof(struct config, statement_timeout_ms), "PostgreSQL statement_timeout in milliseconds"},
    {"SHARAKA_EXPORT_CONNECTIONS", SET_INT, "4", "4", 1, 64,
     offsetof(struct config, export_connections),
     "database connections reserved for exports; when all are busy an export gets 503"},
    {"SHARAKA_EXPORT_CONNECTIONS_PER_IP", SET_INT, "2", "2", 1, 64,
     offsetof(struct config, export_connections_per_ip),
     "exports one client address may run at once; beyond that 429"},
    {"SHARAKA_EXPORT_TIMEOUT", SET_INT, "300", "300", 1, 86400,
     offsetof(struct config, export_timeout),
     "longest an export may run, in seconds, statement and download included"},
    {"SHARAKA_IATI_PUBLISHER_REF", SET_ORG_REF, "LB-COA-OMSAR", "LB-COA-OMSAR", 0, 0,
     offsetof(struct config, iati_publisher_ref),
     "IATI organisation identifier of the publisher (registration agency prefix, a hyphen, its "
     "number there): the reporting-org of the IATI export and the prefix of its activity "
     "identifiers"},
    {"SHARAKA_IATI_PUBLISHER_NAME", SET_STRING,
     "Office of the Minister of State for Administrative Reform",
     "Office of the Minister of State for Administrative Reform", 0, 0,
     offsetof(struct config, iati_publisher_name), "name of the publisher in the IATI export"},
    {"SHARAKA_IATI_PUBLISHER_TYPE", SET_ORG_TYPE, "10", "10", 0, 0,
     offsetof(struct config, iati_publisher_type),
     "IATI OrganisationType code of the publisher (10 government)"},
    {"SHARAKA_MAX_CONNECTIONS", SET_INT, "1024", "1024", 1, 65536,
     offsetof(struct config, max_connections), "most HTTP connections open at once"},
    {"SHARAKA_MAX_CONNECTIONS_PER_IP", SET_INT, "32", "32", 1, 65536,
     offsetof(struct config, max_connections_per_ip),
     "most HTTP connections from one client address"},
    {"SHARAKA_CONNECTION_TIMEOUT", SET_INT, "30", "30", 1, 3600,
     offsetof(struct config, connection_timeout), "seconds an idle HTTP connection is kept open"},
    {"SHARAKA_HEADER_TIMEOUT", SET_INT, "10", "10", 1, 3600,
     offsetof(struct config, header_timeout),
     "seconds a client has to send a request's headers, counted from when the connection opened "
     "or the previous answer was sent, however slowly the bytes come"},
    {"SHARAKA_BODY_TIMEOUT", SET_INT, "30", "30", 1, 3600, offsetof(struct config, body_timeout),
     "seconds a client has to send a request's body once its headers are in"},
    {"SHARAKA_DRAIN_SECONDS", SET_INT, "5", "5", 0, 3600, offsetof(struct config, drain_seconds),
     "seconds the server keeps serving after SIGTERM, /readyz answering 503, so that a balancer "
     "moves traffic away before it stops accepting"},
    {"SHARAKA_SHUTDOWN_TIMEOUT", SET_INT, "30", "30", 0, 3600,
     offsetof(struct config, shutdown_timeout),
     "seconds in-flight requests get to finish after SIGTERM or SIGINT"},
    {"SHARAKA_TRUSTED_PROXIES", SET_PROXIES, "", "-", 0, 0,
     offsetof(struct config, trusted_proxies),
     "comma-separated addresses and CIDR blocks of the proxies in front; only their forwarding "
     "header is believed"},
    {"SHARAKA_FORWARDED_HEADER", SET_FORWARDED, "X-Forwarded-For", "X-Forwarded-For", 0, 0,
     offsetof(struct config, forwarded_header),
     "the header the trusted proxies write: X-Forwarded-For or Forwarded (RFC 7239); the other "
     "is ignored"},
    {"SHARAKA_RATE_LIMIT", SET_INT, "1200", "1200", 0, 1000000, offsetof(struct config, rate_limit),
     "requests a minute per signed-in user or API key (0: no limit)"},
    {"SHARAKA_RATE_LIMIT_ANONYMOUS", SET_INT, "600", "600", 0, 1000000,
     offsetof(struct config, rate_limit_anonymous),
     "requests a minute per client address for anonymous callers (0: no limit)"},
    {"SHARAKA_LOGIN_RATE_LIMIT", SET_INT, "10", "10", 0, 100000,
     offsetof(struct config, login_rate_limit),
     "login attempts a minute per email and per client address (0: no limit)"},
    {"SHARAKA_IDEMPOTENCY_RETENTION", SET_INT, "86400", "86400", 1, 31536000,
     offsetof(struct config, idempotency_retention),
     "seconds an Idempotency-Key's answer is replayed; older keys are purged"},
    {"SHARAKA_JANITOR_INTERVAL", SET_INT, "60", "60", 1, 86400,
     offsetof(struct config, janitor_interval),
     "seconds between purges of rows past their retention (idempotency keys)"},
    {"SHARAKA_WEBHOOK_RETRY_SCHEDULE", SET_SCHEDULE, "0,5,300,1800,7200,18000,36000,36000",
     "0,5,300,1800,7200,18000,36000,36000", 0, 86400,
     offsetof(struct config, webhook_retry_schedule),
     "seconds before each attempt of a webhook delivery (the first counted from the change, the "
     "others from the failure before); after the last the webhook is disabled"},
    {"SHARAKA_WEBHOOK_TIMEOUT", SET_INT, "10", "10", 1, 60,
     offsetof(struct config, webhook_timeout),
     "seconds a webhook receiver has to answer a delivery; longer is a failed attempt"},
    {"SHARAKA_WEBHOOK_CONCURRENCY", SET_INT, "16", "16", 0, 256,
     offsetof(struct config, webhook_concurrency),
     "webhook deliveries this instance sends at once (0: it sends none, other instances do)"},
    {"SHARAKA_WEBHOOK_ALLOW_PRIVATE", SET_BOOL, "false", "false", 0, 0,
     offsetof(struct config, webhook_allow_private),
     "true lets webhook URLs use plain http and private, loopback or link-local addresses "
     "(receivers inside the network, tests)"},
    {"SHARAKA_JWT_ALGORITHM", SET_ALGORITHM, "HS256", "HS256", 0, 0,
     offsetof(struct config, jwt_algorithm),
     "the only algorithm tokens may use: HS256, RS256 or ES256"},
    {"SHARAKA_JWT_PUBLIC_KEY", SET_FILE, "", "-", 0, 0, offsetof(struct config, jwt_public_key),
     "PEM file of the public key that verifies RS256 or ES256 tokens"},
    {"SHARAKA_JWT_PRIVATE_KEY", SET_FILE, "", "-", 0, 0, offsetof(struct config, jwt_private_key),
     "PEM file of the private key that signs RS256 or ES256 tokens (optional: without it, "
     "tokens come from another issuer)"},
};

static bool
parse_listen(const char *v, char *err, size_t errlen)
{
    char host[64];
    const char *colon = strrchr(v, ':');
    if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof(host)) {
        snprintf(err, errlen, "expected address:port, e.g. 127.0.0.1:8080");
        return false;
    }
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    int64_t port;
    if (!str_parse_i64(colon + 1, &port) || port < 1 || port > 65535) {
        snprintf(err, errlen, "port must be a number from 1 to 65535");
        return false;
    }
    memset(&cfg.listen_addr, 0, sizeof(cfg.listen_addr));
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&cfg.listen_addr;
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1) {
            snprintf(err, errlen, "'%s' is not an IPv6 address", host + 1);
            return false;
        }
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        cfg.listen_addr_len = sizeof(*a6);
        return true;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&cfg.listen_addr;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) {
        snprintf(err, errlen, "'%s' is not an IPv4 address (use [addr]:port for IPv6)", host);
        return false;
    }
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    cfg.listen_addr_len = sizeof(*a4);
    return true;
}

static bool
parse_origins(const char *v, char *err, size_t errlen)
{
    if (strcmp(v, "*") == 0 || *v == '\0')
        return true;
    char *copy = xstrdup(v);
    char *save = NULL;
    bool ok = true;
    for (char *o = strtok_r(copy, ",", &save); o != NULL; o = strtok_r(NULL, ",", &save)) {
        while (*o == ' ')
            o++;
        if (!str_has_prefix(o, "http://") && !str_has_prefix(o, "https://")) {
            snprintf(err, errlen, "'%s' is not an origin: expected scheme://host[:port]", o);
            ok = false;
            break;
        }
        const char *rest = strstr(o, "://") + 3;
        if (*rest == '\0' || strchr(rest, '/') != NULL) {
            snprintf(err, errlen, "'%s' is not an origin: expected scheme://host[:port], no path",
                     o);
            ok = false;
            break;
        }
    }
    free(copy);
    return ok;
}

/*
 * Splits SHARAKA_DATABASE_READ_URL at the commas that start another URL: a URL may itself hold
 * commas (several hosts), a new entry starts with postgresql:// or postgres://.
 */
static bool
parse_read_urls(const char *v, char *err, size_t errlen)
{
    cfg.nread_urls = 0;
    const char *p = v;
    while (*p == ' ')
        p++;
    while (*p != '\0') {
        if (!str_has_prefix(p, "postgresql://") && !str_has_prefix(p, "postgres://")) {
            snprintf(err, errlen, "'%.60s' is not a URL: expected postgresql://host[:port]/db...",
                     p);
            return false;
        }
        const char *end = p + strlen(p);
        for (const char *c = strchr(p, ','); c != NULL; c = strchr(c + 1, ',')) {
            const char *next = c + 1;
            while (*next == ' ')
                next++;
            if (str_has_prefix(next, "postgresql://") || str_has_prefix(next, "postgres://")) {
                end = c;
                break;
            }
        }
        if (cfg.nread_urls == CONFIG_MAX_REPLICAS) {
            snprintf(err, errlen, "more than %d replicas", CONFIG_MAX_REPLICAS);
            return false;
        }
        size_t len = (size_t)(end - p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        char *url = xmalloc(len + 1);
        memcpy(url, p, len);
        url[len] = '\0';
        cfg.read_urls[cfg.nread_urls++] = url;
        p = *end == ',' ? end + 1 : end;
        while (*p == ' ')
            p++;
    }
    return true;
}

/* A comma-separated list of 1 to CONFIG_MAX_RETRIES whole numbers of seconds, each from min to
 * max: the webhook retry schedule. */
static bool
parse_schedule(const char *v, const struct setting *s, char *err, size_t errlen)
{
    int n = 0;
    const char *p = v;
    for (;;) {
        char item[24];
        size_t len = strcspn(p, ",");
        int64_t secs;
        if (len == 0 || len >= sizeof(item)) {
            snprintf(err, errlen, "expected seconds separated by commas, e.g. 0,5,300");
            return false;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!str_parse_i64(item, &secs) || secs < s->min || secs > s->max) {
            snprintf(err, errlen, "'%s' is not a number of seconds from %lld to %lld", item,
                     (long long)s->min, (long long)s->max);
            return false;
        }
        if (n == CONFIG_MAX_RETRIES) {
            snprintf(err, errlen, "more than %d attempts", CONFIG_MAX_RETRIES);
            return false;
        }
        cfg.webhook_retries[n++] = secs;
        p += len;
        if (*p == '\0')
            break;
        p++;
    }
    cfg.nwebhook_retries = n;
    return true;
}

/* An IATI organisation identifier: a registration agency's prefix (two letters, a hyphen, the
 * agency) then a hyphen and the identifier there; letters, digits and - . _ only, no spaces. */
static bool
parse_org_ref(const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);
    bool ok = n >= 6 && n <= 100 && v[0] >= 'A' && v[0] <= 'Z' && v[1] >= 'A' && v[1] <= 'Z' &&
              v[2] == '-' && strchr(v + 3, '-') != NULL && v[n - 1] != '-';
    for (size_t i = 3; ok && i < n; i++)
        ok = (v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
             (v[i] >= '0' && v[i] <= '9') || v[i] == '-' || v[i] == '.' || v[i] == '_';
    if (ok)
        return true;
    snprintf(err, errlen,
             "'%.60s' is not an IATI organisation identifier: expected PREFIX-AGENCY-ID, e.g. "
             "LB-COA-OMSAR (letters, digits, - . _; no spaces)",
             v);
    return false;
}

/* A code of IATI's OrganisationType code list. */
static bool
parse_org_type(const char *v, char *err, size_t errlen)
{
    static const char *const codes[] = {"10", "11", "15", "21", "22", "23", "24", "30",
                                        "40", "60", "70", "71", "72", "73", "80", "90"};
    for (size_t i = 0; i < ARRAY_LEN(codes); i++)
        if (strcmp(v, codes[i]) == 0)
            return true;
    snprintf(err, errlen,
             "'%.20s' is not an IATI OrganisationType code: allowed 10, 11, 15, 21, 22, 23, 24, "
             "30, 40, 60, 70, 71, 72, 73, 80, 90",
             v);
    return false;
}

/* Reads one setting from the environment (or its default) and checks it by its kind. One case
 * per kind of setting, as check_value does per field type: long on purpose. */
static bool
load_one(const struct setting *s, bool need_secret, char *err, size_t errlen)
{
    const char *v = getenv(s->name);
    char why[200] = "";

    if (v == NULL)
        v = s->def;
    switch (s->kind) {
    case SET_STRING:
        if (*v == '\0') {
            snprintf(why, sizeof(why), "must not be empty");
            break;
        }
        *STR_AT(s->offset) = v;
        return true;
    case SET_ORG_REF:
        if (!parse_org_ref(v, why, sizeof(why)))
            break;
        *STR_AT(s->offset) = v;
        return true;
    case SET_ORG_TYPE:
        if (!parse_org_type(v, why, sizeof(why)))
            break;
        *STR_AT(s->offset) = v;
        return true;
    case SET_INT: {
        int64_t n;
        if (!str_parse_i64(v, &n))
            snprintf(why, sizeof(why), "'%s' is not a whole number", v);
        else if (n < s->min || n > s->max)
            snprintf(why, sizeof(why), "%lld is out of range: allowed %lld to %lld", (long long)n,
                     (long long)s->min, (long long)s->max);
        else {
            *INT_AT(s->offset) = n;
            return true;
        }
        break;
    }
    case SET_LISTEN:
        if (!parse_listen(v, why, sizeof(why)))
            break;
        *STR_AT(s->offset) = v;
        return true;
    case SET_SECRET:
        if (v == NULL) {
            if (!need_secret)
                return true;
            snprintf(why, sizeof(why), "is required (at least %lld bytes)", (long long)s->min);
        } else if ((int64_t)strlen(v) < s->min) {
            snprintf(why, sizeof(why), "is %zu bytes long: at least %lld bytes are required",
                     strlen(v), (long long)s->min);
        } else {
            *STR_AT(s->offset) = v;
            return true;
        }
        break;
    case SET_LOGLEVEL: {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        for (size_t i = 0; i < ARRAY_LEN(names); i++) {
            if (strcmp(v, names[i]) == 0) {
                log_threshold = (enum log_level)i;
                *STR_AT(s->offset) = v;
                return true;
            }
        }
        snprintf(why, sizeof(why), "'%s' is not a level: allowed debug, info, warn, error", v);
        break;
    }
    case SET_ORIGINS:
        if (!parse_origins(v, why, sizeof(why)))
            break;
        *STR_AT(s->offset) = v;
        return true;
    case SET_ALGORITHM:
        if (strcmp(v, "HS256") != 0 && strcmp(v, "RS256") != 0 && strcmp(v, "ES256") != 0) {
            snprintf(why, sizeof(why), "'%s' is not allowed: HS256, RS256 or ES256", v);
            break;
        }
        *STR_AT(s->offset) = v;
        return true;
    case SET_PROXIES:
        if (!forwarded_parse_proxies(v, &cfg.proxies, why, sizeof(why)))
            break;
        *STR_AT(s->offset) = v;
        return true;
    case SET_READ_URLS:
        if (!parse_read_urls(v, why, sizeof(why)))
            break;
        *STR_AT(s->offset) = v;
        return true;
    case SET_FORWARDED:
        if (strcasecmp(v, "X-Forwarded-For") == 0)
            cfg.forwarded_rfc7239 = false;
        else if (strcasecmp(v, "Forwarded") == 0)
            cfg.forwarded_rfc7239 = true;
        else {
            snprintf(why, sizeof(why), "'%s' is not allowed: X-Forwarded-For or Forwarded", v);
            break;
        }
        *STR_AT(s->offset) = v;
        return true;
    case SET_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
            snprintf(why, sizeof(why), "'%s' is not allowed: true or false", v);
            break;
        }
        cfg.webhook_private = strcmp(v, "true") == 0; /* the one true/false setting */
        *STR_AT(s->offset) = v;
        return true;
    case SET_SCHEDULE:
        if (!parse_schedule(v, s, why, sizeof(why)))
            break;
        *STR_AT(s->offset) = v;
        return true;
    case SET_FILE:
        if (*v != '\0' && access(v, R_OK) != 0) {
            snprintf(why, sizeof(why), "cannot read the file %s", v);
            break;
        }
        *STR_AT(s->offset) = v;
        return true;
    }
    snprintf(err, errlen, "%s: %s", s->name, why);
    return false;
}

bool
config_load(bool need_secret, char *err, size_t errlen)
{
    for (size_t i = 0; i < ARRAY_LEN(settings); i++) {
        if (!load_one(&settings[i], need_secret, err, errlen))
            return false;
    }
    if (need_secret && strcmp(cfg.jwt_algorithm, "HS256") != 0 && cfg.jwt_public_key[0] == '\0') {
        snprintf(err, errlen,
                 "SHARAKA_JWT_PUBLIC_KEY: is required when SHARAKA_JWT_ALGORITHM is %s",
                 cfg.jwt_algorithm);
        return false;
    }
    if (cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg.threads = n > 0 ? n : 1;
    }
    if (cfg.blocking_threads == 0)
        cfg.blocking_threads = 4 * cfg.threads;
    return true;
}

void
config_print_table(FILE *out)
{
    for (size_t i = 0; i < ARRAY_LEN(settings); i++)
        fprintf(out, "%s\t%s\t%s\n", settings[i].name, settings[i].shown, settings[i].doc);
}

bool
config_origin_allowed(const char *origin)
{
    const char *list = cfg.cors_origins;
    if (origin == NULL || list == NULL || *list == '\0')
        return false;
    if (strcmp(list, "*") == 0)
        return true;
    size_t olen = strlen(origin);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == olen && strncmp(p, origin, len) == 0)
            return true;
        p += len;
        while (*p && *p != ',')
            p++;
    }
    return false;
}
