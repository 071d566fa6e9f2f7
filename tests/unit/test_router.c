/* test_router.c - the route matcher: literal and captured segments, 404 and 405 with Allow. */
#include "check.h"
#include "sharaka/router.h"

static void
test_found(void)
{
    struct arena a = {0};
    const struct route *rt = NULL;
    const char *params[HTTP_MAX_PARAMS];
    int n = -1;
    char allow[128];

    CHECK(router_match(&a, "GET", "/healthz", &rt, params, &n, allow, sizeof(allow)) ==
          ROUTE_FOUND);
    CHECK(rt != NULL && strcmp(rt->pattern, "/healthz") == 0);
    CHECK(n == 0);
    CHECK(router_match(&a, "HEAD", "/healthz", &rt, params, &n, allow, sizeof(allow)) ==
          ROUTE_FOUND);
    CHECK(router_match(&a, "POST", "/v1/auth/token", &rt, params, &n, allow, sizeof(allow)) ==
          ROUTE_FOUND);
    arena_free(&a);
}

static void
test_not_found(void)
{
    struct arena a = {0};
    const struct route *rt = NULL;
    const char *params[HTTP_MAX_PARAMS];
    int n;
    char allow[128];
    const char *paths[] = {"/",       "",         "/healthz/", "/healthzz",
                           "/v1",     "/v1/auth", "//healthz", "/v1/auth/token/extra",
                           "/HEALTHZ"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        CHECK(router_match(&a, "GET", paths[i], &rt, params, &n, allow, sizeof(allow)) ==
              ROUTE_NOT_FOUND);
    arena_free(&a);
}

static void
test_bad_method(void)
{
    struct arena a = {0};
    const struct route *rt = NULL;
    const char *params[HTTP_MAX_PARAMS];
    int n;
    char allow[128];

    CHECK(router_match(&a, "DELETE", "/healthz", &rt, params, &n, allow, sizeof(allow)) ==
          ROUTE_BAD_METHOD);
    CHECK_STR(allow, "GET, HEAD");
    CHECK(router_match(&a, "GET", "/v1/auth/token", &rt, params, &n, allow, sizeof(allow)) ==
          ROUTE_BAD_METHOD);
    CHECK_STR(allow, "POST");
    arena_free(&a);
}

static void
test_every_route_matches_itself(void)
{
    struct arena a = {0};
    for (size_t i = 0; i < router_nroutes; i++) {
        const struct route *rt = NULL;
        const char *params[HTTP_MAX_PARAMS];
        int n;
        char allow[128];
        char path[256];
        /* Replace each {x} by a sample segment. */
        const char *p = router_routes[i].pattern;
        size_t o = 0;
        while (*p && o < sizeof(path) - 8) {
            if (*p == '{') {
                memcpy(path + o, "abc", 3);
                o += 3;
                while (*p && *p != '}')
                    p++;
                if (*p)
                    p++;
            } else {
                path[o++] = *p++;
            }
        }
        path[o] = '\0';
        CHECK(router_match(&a, router_routes[i].method, path, &rt, params, &n, allow,
                           sizeof(allow)) == ROUTE_FOUND);
        CHECK(rt == &router_routes[i] || strcmp(rt->pattern, router_routes[i].pattern) != 0);
    }
    arena_free(&a);
}

int
main(void)
{
    test_found();
    test_not_found();
    test_bad_method();
    test_every_route_matches_itself();
    return check_done("router");
}
