/* sql.h - statements built from a checked list_query, with $n parameters. */
#ifndef SHARAKA_SQL_H
#define SHARAKA_SQL_H

#include "sharaka/query.h"
#include "sharaka/sql.h"

/* A SQL text under construction with its parameters. */
struct sql {
    struct buf text;
    const char *params[QUERY_MAX_PARAMS];
    int nparams;
};

/* Appends "$n" for value and records it; value must outlive the statement. */
void sql_param(struct sql *s, const char *value);
void sql_free(struct sql *s);

/* Appends sort key k of q for the row aliased a: its column, or the search rank (relevance). */
void sql_sort_key(struct sql *s, const struct list_query *q, int k);

/* f of the row aliased alias in lang (a static "ar", "en" or "fr"), for a field
 * query_field_translated says has translations: its translation where given, else f as given
 * (a charter's sections: each heading and body so). */
void sql_translated(struct buf *b, const struct field *f, const char *alias, const char *lang);

/* The SQL expression of one record as JSON (alias a), honouring visibility and projection. */
void sql_row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
                  const struct list_query *q);

/*
 * True when the list statement of q returns one row per record, up to q->limit + 1 of them, each
 * with its text (JSON or a CSV line), the text of each of its sort keys and its id: a page of
 * whole or selected records with no total, nothing embedded and no parent to check. PostgreSQL
 * then does no aggregation; the server joins the rows.
 */
bool sql_list_by_rows(const struct resource *res, const struct list_query *q);

/*
 * Builds the list statement (see sql_list_by_rows for the statement of one row per record).
 * Otherwise it returns one row: the page (JSON array text, CSV lines or NDJSON
 * lines), the keyset of the last row as JSON text when there is a next page (else NULL), the
 * total when q->count (else NULL), whether the sub-collection's parent exists ("t"/"f"), and how
 * many records the page embeds through include=. When that is more than QUERY_MAX_EMBEDDED, the
 * page is not built (an empty page comes back) and the caller must refuse the request.
 */
void sql_build_list(struct sql *s, struct arena *a, const struct resource *res, bool internal,
                    const struct list_query *q);

/* Builds the statement of a whole export: one row per record (JSON or a CSV line), no limit. */
void sql_build_export(struct sql *s, struct arena *a, const struct resource *res, bool internal,
                      const struct list_query *q);

/* Appends " WHERE ..." for q's filters and search (alias a). */
void sql_build_where(struct sql *s, struct arena *a, const struct resource *res,
                     const struct list_query *q);

/* Builds the statement for one record: its JSON text and its version. $1 is the id. A record of
 * a sub-collection is found only while its parent is live. */
void sql_build_get(struct sql *s, const struct resource *res, bool internal,
                   const struct list_query *q);

/* The CSV header line for q (no line break). */
/* The field index of the n-th CSV column of the answer, or -1 past the last. */
int sql_csv_column(const struct resource *res, bool internal, const struct list_query *q, int n);

/* The HXL hashtag row (https://hxlstandard.org) under the header: one tag per column, in the
 * same order, empty for a column HXL has no tag for; no line break. */
void sql_hxl_row(struct buf *b, const struct resource *res, bool internal,
                 const struct list_query *q);

void sql_csv_header(struct buf *b, const struct resource *res, bool internal,
                    const struct list_query *q);

/*
 * The statement sql_build_get makes for a whole record of a top-level resource (q may be NULL),
 * built once and kept for the process's life; NULL when q selects less or res is a
 * sub-collection. Its one parameter is the id.
 */
const char *sql_get_whole(const struct resource *res, bool internal, const struct list_query *q);

#endif
