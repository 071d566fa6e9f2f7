/* changes.h - the change feed's items, shared by the feed and the webhooks that deliver it. */
#ifndef SHARAKA_CHANGES_H
#define SHARAKA_CHANGES_H

#include "sharaka/sql.h"

/*
 * Appends the SQL expression (json) of one feed item, as GET /v1/changes answers it, for the
 * changes row aliased p: cursor, resource, id, op, version, changed_at and the record as it is
 * now (null for a delete), every field included.
 */
void changes_item_sql(struct sql *s, const char *p);

/* Builds the change feed's statement; called once before serving. */
void changes_init(void);

#endif
