/* router.h - the static route table: method, path pattern, handler and access rule. */
#ifndef SHARAKA_ROUTER_H
#define SHARAKA_ROUTER_H

#include <stddef.h>

#include "sharaka/access.h"
#include "sharaka/http.h"

typedef void (*handler_fn)(struct request *r);

/* What a route does before its handler runs; routes without flags take no body. */
enum route_flags {
    ROUTE_BODY = 1 << 0,      /* takes a request body; other routes refuse one before reading it */
    ROUTE_UNMETERED = 1 << 1, /* a service route (probes, the spec): drawn on no bucket */
    ROUTE_SIGN_IN = 1 << 2,   /* sign-in, refresh, sign-out: drawn on the login-address bucket
                                 before the body, and the Authorization header is not read */
    ROUTE_LOOP = 1 << 3,      /* runs on the event loop: never blocks, awaits its statements */
};

struct route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/v1/organizations/{id}": {name} matches one non-empty segment */
    handler_fn handler;
    const char *area;   /* the policy's name for what the route touches; NULL: open to all */
    enum action action; /* what the route does there, for the policy */
    const void *arg;    /* handler data, e.g. a resource descriptor */
    unsigned flags;     /* enum route_flags */
};

enum route_match { ROUTE_FOUND, ROUTE_NOT_FOUND, ROUTE_BAD_METHOD };

/*
 * Finds the route for method and path. On ROUTE_FOUND, *out is the route and params holds the
 * captured segments (pointers into the arena). On ROUTE_BAD_METHOD, allow receives the methods
 * the path accepts, e.g. "GET, HEAD, POST". HEAD matches GET routes.
 */
enum route_match router_match(struct arena *a, const char *method, const char *path,
                              const struct route **out, const char **params, int *nparams,
                              char *allow, size_t allow_len);

/* The table, for tests and for listing. */
extern const struct route router_routes[];
extern const size_t router_nroutes;

#endif
