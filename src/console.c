/*
 * console.c - the web console at /console: its files, embedded at build time, each with a strong
 * ETag, revalidated on every load (Cache-Control: no-cache), and a Content-Security-Policy that
 * lets the page load and call nothing but this origin: no inline script or style, no eval, no
 * frame, no other host.
 */
#include "sharaka/console.h"

#include <string.h>

#include "sharaka/engine.h"
#include "sharaka/handlers.h"

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "manifest-src 'self'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

const struct console_asset *
console_asset(const char *name, size_t len)
{
    for (size_t i = 0; i < console_nassets; i++)
        if (strlen(console_assets[i].name) == len && memcmp(console_assets[i].name, name, len) == 0)
            return &console_assets[i];
    return NULL;
}

static void
send_asset(struct request *r, const struct console_asset *a)
{
    http_add_header(r, "Content-Security-Policy", CSP);
    http_add_header(r, "X-Content-Type-Options", "nosniff");
    http_add_header(r, "X-Frame-Options", "DENY");
    http_add_header(r, "Referrer-Policy", "no-referrer");
    http_add_header(r, "Cache-Control", "no-cache");
    http_add_header(r, "ETag", a->etag);
    const char *inm = http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm != NULL && engine_etag_listed(inm, a->etag, false)) {
        http_empty(r, 304);
        return;
    }
    http_static(r, 200, a->type, a->data, a->len);
}

void
service_console(struct request *r)
{
    const struct console_asset *index = console_asset("index.html", 10);
    if (index == NULL) {
        http_problem(r, 404, "not-found", "this build has no console");
        return;
    }
    send_asset(r, index);
}

void
service_console_asset(struct request *r)
{
    const char *name = r->params[0];
    const struct console_asset *a = console_asset(name, strlen(name));
    if (a == NULL || strcmp(name, "index.html") == 0) {
        struct buf names = {0};
        for (size_t i = 0; i < console_nassets; i++)
            if (strcmp(console_assets[i].name, "index.html") != 0)
                buf_printf(&names, "%s%s", names.len ? ", " : "", console_assets[i].name);
        http_problem(r, 404, "not-found",
                     "the console has no file '%.60s'; it is at /console, its files are: %s", name,
                     names.data ? names.data : "");
        buf_free(&names);
        return;
    }
    send_asset(r, a);
}
