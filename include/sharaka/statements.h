/* statements.h - the statements a database connection has prepared, by their text.
 *
 * Each connection (a blocking thread's, an event loop's pipeline) keeps one: the first time it
 * sees a statement's text it prepares it under the name of a free slot, and runs it by that name
 * from then on. Statement texts are static or built from descriptors, so the set is small and
 * fixed; a full cache runs the rest unnamed. */
#ifndef SHARAKA_STATEMENTS_H
#define SHARAKA_STATEMENTS_H

#include <stdint.h>

#define STATEMENT_SLOTS 512

struct statement_cache {
    struct {
        char *sql;
        uint64_t hash;
    } slot[STATEMENT_SLOTS];
};

enum statement_find {
    STATEMENT_PREPARED, /* prepared already under the slot's name */
    STATEMENT_NEW,      /* the slot now holds it: prepare it under the slot's name first */
    STATEMENT_UNNAMED   /* no slot free near its place: run it unnamed */
};

/* Looks sql up; *slot and name (prefix and slot, e.g. "p12") are set unless STATEMENT_UNNAMED. */
enum statement_find statement_find(struct statement_cache *c, const char *sql, char prefix,
                                   int *slot, char name[16]);

/* A prepare failed: slot is free again. */
void statement_forget(struct statement_cache *c, int slot);

/* The connection is new: nothing is prepared on it. */
void statement_clear(struct statement_cache *c);

#endif
