/* cursor.h - keyset cursors: a MAC-protected, URL-safe encoding of the sort spec and the keyset
 * values of the last row of a page. */
#ifndef SHARAKA_CURSOR_H
#define SHARAKA_CURSOR_H

#include <stdbool.h>

#include "sharaka/core.h"
#include "sharaka/util.h"

/* Derives the MAC key from the server's secret; call once before serving. */
void cursor_init(const char *secret);
char *cursor_encode(struct arena *a, const char *sort_spec, const char *keyset_json);
bool cursor_decode(struct arena *a, const char *cursor, const char *sort_spec, int nvalues,
                   const char **values, struct error *err) MUSTCHECK;

#endif
