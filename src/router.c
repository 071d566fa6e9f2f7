/* router.c - the route table and the path matcher. */
#include "sharaka/router.h"

#include <string.h>

#include "sharaka/handlers.h"
#include "sharaka/resource.h"

/* The five routes of a top-level resource; reads are public unless read_access says otherwise. */
#define RESOURCE_ROUTES(path, desc, read_access)                                                   \
    {"GET", path, resource_list, read_access, &desc},                                              \
        {"POST", path, resource_create, ACCESS_ADMIN, &desc},                                      \
        {"GET", path "/{id}", resource_get, read_access, &desc},                                   \
        {"PATCH", path "/{id}", resource_patch, ACCESS_ADMIN, &desc},                              \
    {                                                                                              \
        "DELETE", path "/{id}", resource_delete, ACCESS_ADMIN, &desc                               \
    }

const struct route router_routes[] = {
    {"GET", "/healthz", service_healthz, ACCESS_PUBLIC, NULL},
    {"GET", "/readyz", service_readyz, ACCESS_PUBLIC, NULL},
    {"GET", "/metrics", service_metrics, ACCESS_PUBLIC, NULL},
    {"GET", "/openapi.json", service_openapi, ACCESS_PUBLIC, NULL},
    {"GET", "/docs", service_docs, ACCESS_PUBLIC, NULL},
    {"POST", "/v1/auth/token", auth_token_create, ACCESS_PUBLIC, NULL},
    {"GET", "/v1/auth/me", auth_me_get, ACCESS_LOGIN, NULL},
    RESOURCE_ROUTES("/v1/organizations", organizations_resource, ACCESS_PUBLIC),
    RESOURCE_ROUTES("/v1/ministries", ministries_resource, ACCESS_PUBLIC),
    RESOURCE_ROUTES("/v1/partnership-types", partnership_types_resource, ACCESS_PUBLIC),
    RESOURCE_ROUTES("/v1/partnerships", partnerships_resource, ACCESS_PUBLIC),
    RESOURCE_ROUTES("/v1/charters", charters_resource, ACCESS_PUBLIC),
    {"GET", "/v1/charters/{id}/signatories", resource_list, ACCESS_PUBLIC, &signatories_resource},
    {"POST", "/v1/charters/{id}/signatories", resource_create, ACCESS_ADMIN, &signatories_resource},
    {"GET", "/v1/charters/{id}/signatories/{sid}", resource_get, ACCESS_PUBLIC,
     &signatories_resource},
    {"PATCH", "/v1/charters/{id}/signatories/{sid}", resource_patch, ACCESS_ADMIN,
     &signatories_resource},
    RESOURCE_ROUTES("/v1/monitoring-records", monitoring_records_resource, ACCESS_LOGIN),
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

enum route_match
router_match(struct arena *a, const char *method, const char *path, const struct route **out,
             const char **params, int *nparams, char *allow, size_t allow_len)
{
    bool head = strcmp(method, "HEAD") == 0;
    bool path_known = false;
    size_t alen = 0;

    allow[0] = '\0';
    for (size_t i = 0; i < router_nroutes; i++) {
        const struct route *rt = &router_routes[i];
        const char *tmp[HTTP_MAX_PARAMS];
        int ntmp = 0;
        if (!path_match(a, rt->pattern, path, tmp, &ntmp))
            continue;
        path_known = true;
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
    return path_known ? ROUTE_BAD_METHOD : ROUTE_NOT_FOUND;
}
