/* statements.c - a connection's prepared statements: open addressing on the text's hash. */
#include "sharaka/statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/util.h"

#define PROBES 8

enum statement_find
statement_find(struct statement_cache *c, const char *sql, char prefix, int *slot, char name[16])
{
    uint64_t h = hash_text(HASH_SEED, sql);
    int s = (int)(h % STATEMENT_SLOTS);

    for (int probe = 0; probe < PROBES; probe++, s = (s + 1) % STATEMENT_SLOTS) {
        if (c->slot[s].sql != NULL && (c->slot[s].hash != h || strcmp(c->slot[s].sql, sql) != 0))
            continue;
        *slot = s;
        snprintf(name, 16, "%c%d", prefix, s);
        if (c->slot[s].sql != NULL)
            return STATEMENT_PREPARED;
        c->slot[s].sql = xstrdup(sql);
        c->slot[s].hash = h;
        return STATEMENT_NEW;
    }
    return STATEMENT_UNNAMED;
}

void
statement_forget(struct statement_cache *c, int slot)
{
    free(c->slot[slot].sql);
    c->slot[slot].sql = NULL;
}

void
statement_clear(struct statement_cache *c)
{
    for (int i = 0; i < STATEMENT_SLOTS; i++)
        statement_forget(c, i);
}
