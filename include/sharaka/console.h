/* console.h - the web console's files, embedded in the binary at build time (console/). */
#ifndef SHARAKA_CONSOLE_H
#define SHARAKA_CONSOLE_H

#include <stddef.h>

struct console_asset {
    const char *name; /* "app.js": served at /console/app.js; index.html at /console */
    const char *type; /* its media type */
    const char *data;
    size_t len;
    const char *etag; /* strong: a hash of its bytes */
};

/* Made by scripts/embed_assets.py from the files console/meson.build lists. */
extern const struct console_asset console_assets[];
extern const size_t console_nassets;

/* The asset named by the len bytes at name, or NULL. */
const struct console_asset *console_asset(const char *name, size_t len);

#endif
