/* router.c - the route table and the path matcher. */
#include "sharaka/router.h"

#include <string.h>

#include "sharaka/handlers.h"
#include "sharaka/resource.h"

/* The six routes of a top-level resource; the policy in access.c says who may use them. */
// clang-format off
#define RESOURCE_ROUTES(path, area, desc)                                          \
    {"GET", path, resource_list, area, ACT_READ, &desc, ROUTE_LOOP},               \
    {"POST", path, resource_create, area, ACT_CREATE, &desc, ROUTE_BODY},          \
    {"GET", path "/{id}", resource_get, area, ACT_READ, &desc, ROUTE_LOOP},        \
    {"PATCH", path "/{id}", resource_patch, area, ACT_UPDATE, &desc, ROUTE_BODY},  \
    {"DELETE", path "/{id}", resource_delete, area, ACT_DELETE, &desc, 0},             \
    {"POST", path "/{id}/restore", resource_restore, area, ACT_RESTORE, &desc, 0}
/* Batches create or update: the route admits any writer, each item meets the policy itself. */
#define BATCH_ROUTE(path, area, desc)                                              \
    {"POST", path "/batch", resource_batch, area, ACT_UPDATE, &desc, ROUTE_BODY}
// clang-format on

const struct route router_routes[] = {
    {"GET", "/healthz", service_healthz, NULL, ACT_READ, NULL, ROUTE_UNMETERED | ROUTE_LOOP},
    {"GET", "/readyz", service_readyz, NULL, ACT_READ, NULL, ROUTE_UNMETERED | ROUTE_LOOP},
    {"GET", "/metrics", service_metrics, NULL, ACT_READ, NULL, ROUTE_UNMETERED | ROUTE_LOOP},
    {"GET", "/openapi.json", service_openapi, NULL, ACT_READ, NULL, ROUTE_UNMETERED | ROUTE_LOOP},
    {"GET", "/docs", service_docs, NULL, ACT_READ, NULL, ROUTE_UNMETERED | ROUTE_LOOP},
    {"GET", "/console", service_console, NULL, ACT_READ, NULL, ROUTE_UNMETERED | ROUTE_LOOP},
    {"GET", "/console/{asset}", service_console_asset, NULL, ACT_READ, NULL,
     ROUTE_UNMETERED | ROUTE_LOOP},
    {"POST", "/v1/auth/token", auth_token_create, NULL, ACT_CREATE, NULL,
     ROUTE_BODY | ROUTE_SIGN_IN},
    {"POST", "/v1/auth/refresh", auth_refresh, NULL, ACT_CREATE, NULL, ROUTE_BODY | ROUTE_SIGN_IN},
    {"POST", "/v1/auth/logout", auth_logout, NULL, ACT_DELETE, NULL, ROUTE_BODY | ROUTE_SIGN_IN},
    {"POST", "/v1/auth/password", auth_password_change, "password", ACT_UPDATE, NULL, ROUTE_BODY},
    {"GET", "/v1/auth/me", auth_me_get, "me", ACT_READ, NULL, ROUTE_LOOP},
    RESOURCE_ROUTES("/v1/organizations", "organizations", organizations_resource),
    BATCH_ROUTE("/v1/organizations", "organizations", organizations_resource),
    RESOURCE_ROUTES("/v1/ministries", "ministries", ministries_resource),
    BATCH_ROUTE("/v1/ministries", "ministries", ministries_resource),
    RESOURCE_ROUTES("/v1/partnership-types", "partnership-types", partnership_types_resource),
    RESOURCE_ROUTES("/v1/partnerships", "partnerships", partnerships_resource),
    BATCH_ROUTE("/v1/partnerships", "partnerships", partnerships_resource),
    RESOURCE_ROUTES("/v1/charters", "charters", charters_resource),
    {"GET", "/v1/charters/{id}/signatories", resource_list, "signatories", ACT_READ,
     &signatories_resource, 0},
    {"POST", "/v1/charters/{id}/signatories", resource_create, "signatories", ACT_CREATE,
     &signatories_resource, ROUTE_BODY},
    {"GET", "/v1/charters/{id}/signatories/{sid}", resource_get, "signatories", ACT_READ,
     &signatories_resource, 0},
    {"PATCH", "/v1/charters/{id}/signatories/{sid}", resource_patch, "signatories", ACT_UPDATE,
     &signatories_resource, ROUTE_BODY},
    RESOURCE_ROUTES("/v1/monitoring-records", "monitoring-records", monitoring_records_resource),
    BATCH_ROUTE("/v1/monitoring-records", "monitoring-records", monitoring_records_resource),
    {"GET", "/v1/users", resource_list, "users", ACT_READ, &users_resource, 0},
    {"POST", "/v1/users", resource_create, "users", ACT_CREATE, &users_resource, ROUTE_BODY},
    {"GET", "/v1/users/{id}", resource_get, "users", ACT_READ, &users_resource, 0},
    {"PATCH", "/v1/users/{id}", resource_patch, "users", ACT_UPDATE, &users_resource, ROUTE_BODY},
    {"GET", "/v1/api-keys", resource_list, "api-keys", ACT_READ, &api_keys_resource, 0},
    {"POST", "/v1/api-keys", apikeys_create, "api-keys", ACT_CREATE, &api_keys_resource,
     ROUTE_BODY},
    {"GET", "/v1/api-keys/{id}", resource_get, "api-keys", ACT_READ, &api_keys_resource, 0},
    {"DELETE", "/v1/api-keys/{id}", resource_delete, "api-keys", ACT_DELETE, &api_keys_resource, 0},
    {"GET", "/v1/audit-log", resource_list, "audit-log", ACT_READ, &audit_log_resource, 0},
    {"GET", "/v1/changes", changes_list, "changes", ACT_READ, NULL, 0},
    /* each resource's own read rule applies inside: the route is open to all */
    {"GET", "/v1/search", search_get, NULL, ACT_READ, NULL, 0},
    {"GET", "/v1/webhooks", webhooks_list, "webhooks", ACT_READ, NULL, 0},
    {"POST", "/v1/webhooks", webhooks_create, "webhooks", ACT_CREATE, NULL, ROUTE_BODY},
    {"GET", "/v1/webhooks/{id}", webhooks_get, "webhooks", ACT_READ, NULL, 0},
    {"PATCH", "/v1/webhooks/{id}", webhooks_patch, "webhooks", ACT_UPDATE, NULL, ROUTE_BODY},
    {"DELETE", "/v1/webhooks/{id}", webhooks_delete, "webhooks", ACT_DELETE, NULL, 0},
    {"GET", "/v1/webhooks/{id}/deliveries", webhooks_deliveries, "webhooks", ACT_READ, NULL, 0},
    {"POST", "/v1/webhooks/{id}/test", webhooks_test, "webhooks", ACT_CREATE, NULL, 0},
    {"POST", "/v1/webhooks/{id}/rotate-secret", webhooks_rotate, "webhooks", ACT_UPDATE, NULL, 0},
    {"GET", "/v1/exports/{resource}.csv", export_get, "exports", ACT_READ, "csv", 0},
    {"GET", "/v1/exports/{resource}.ndjson", export_get, "exports", ACT_READ, "ndjson", 0},
    {"GET", "/v1/exports/{resource}.xlsx", export_get, "exports", ACT_READ, "xlsx", 0},
    {"GET", "/v1/exports/iati-activities.xml", export_get, "exports", ACT_READ, "iati", 0},
    {"GET", "/v1/stats/partnerships", stats_get, "stats", ACT_READ, &stats_partnerships_kind, 0},
    {"GET", "/v1/stats/monitoring", stats_get, "stats", ACT_READ, &stats_monitoring_kind, 0},
    {"GET", "/v1/stats/{resource}", stats_resource, "stats", ACT_READ, NULL, 0},
    {"GET", "/v1/audit-log/{id}", resource_get, "audit-log", ACT_READ, &audit_log_resource, 0},
};
const size_t router_nroutes = ARRAY_LEN(router_routes);

/* Matches one pattern segment against one path segment; captures "{name}" segments. */
static bool
segment_match(const char *pat, size_t plen, const char *seg, size_t slen, bool *capture)
{
    *capture = false;
    if (plen >= 2 && pat[0] == '{') {
        const char *close = memchr(pat, '}', plen);
        if (close == NULL)
            return false;
        size_t suffix = plen - (size_t)(close + 1 - pat);
        if (slen <= suffix || memcmp(seg + slen - suffix, close + 1, suffix) != 0)
            return false;
        *capture = true;
        return true;
    }
    return plen == slen && memcmp(pat, seg, plen) == 0;
}

static bool
path_match(struct arena *a, const char *pattern, const char *path, const char **params,
           int *nparams)
{
    int n = 0;
    const char *p = pattern, *s = path;

    for (;;) {
        if (*p != '/' || *s != '/')
            return *p == '\0' && *s == '\0' && (*nparams = n, true);
        p++;
        s++;
        size_t plen = strcspn(p, "/");
        size_t slen = strcspn(s, "/");
        bool capture;
        if (slen == 0 || !segment_match(p, plen, s, slen, &capture))
            return false;
        if (capture) {
            if (n == HTTP_MAX_PARAMS)
                return false;
            const char *close = memchr(p, '}', plen);
            size_t suffix = plen - (size_t)(close + 1 - p);
            params[n++] = arena_strndup(a, s, slen - suffix);
        }
        p += plen;
        s += slen;
    }
}

/* Counts the captured segments of a pattern: fewer means more specific. */
static int
captures(const char *pattern)
{
    int n = 0;
    for (; *pattern; pattern++)
        n += *pattern == '{';
    return n;
}

enum route_match
router_match(struct arena *a, const char *method, const char *path, const struct route **out,
             const char **params, int *nparams, char *allow, size_t allow_len)
{
    bool head = strcmp(method, "HEAD") == 0;
    int best = -1;
    size_t alen = 0;

    /* The most specific patterns that match win: /v1/x/batch before /v1/x/{id}. */
    for (size_t i = 0; i < router_nroutes; i++) {
        const char *tmp[HTTP_MAX_PARAMS];
        int ntmp = 0;
        int c = captures(router_routes[i].pattern);
        if ((best < 0 || c < best) && path_match(a, router_routes[i].pattern, path, tmp, &ntmp))
            best = c;
    }
    allow[0] = '\0';
    if (best < 0)
        return ROUTE_NOT_FOUND;
    for (size_t i = 0; i < router_nroutes; i++) {
        const struct route *rt = &router_routes[i];
        const char *tmp[HTTP_MAX_PARAMS];
        int ntmp = 0;
        if (captures(rt->pattern) != best || !path_match(a, rt->pattern, path, tmp, &ntmp))
            continue;
        if (strcmp(rt->method, method) == 0 || (head && strcmp(rt->method, "GET") == 0)) {
            *out = rt;
            memcpy(params, tmp, sizeof(tmp[0]) * (size_t)ntmp);
            *nparams = ntmp;
            return ROUTE_FOUND;
        }
        const char *names[2] = {rt->method, strcmp(rt->method, "GET") == 0 ? "HEAD" : NULL};
        for (int k = 0; k < 2 && names[k]; k++) {
            if (strstr(allow, names[k]) != NULL)
                continue;
            int w = snprintf(allow + alen, allow_len - alen, "%s%s", alen ? ", " : "", names[k]);
            if (w > 0 && (size_t)w < allow_len - alen)
                alen += (size_t)w;
        }
    }
    return ROUTE_BAD_METHOD;
}
