/* query.h - the list language (?field=, .gt, q, sort, cursor, fields, include, count, format)
 * checked against a descriptor and turned into SQL with $n parameters. */
#ifndef SHARAKA_QUERY_H
#define SHARAKA_QUERY_H

#include <stdbool.h>

#include "sharaka/http.h"
#include "sharaka/resource.h"

#define QUERY_MAX_FILTERS   32
#define QUERY_MAX_SORT      4
#define QUERY_MAX_PARAMS    96
#define QUERY_DEFAULT_LIMIT 50
#define QUERY_MAX_LIMIT     200
#define QUERY_MAX_FIELDS    64
#define QUERY_MAX_INCLUDES  8
#define QUERY_MAX_ARGS      48  /* query parameters one request may carry */
#define QUERY_MAX_EMBEDDED  500 /* records one list answer may embed through include= */

enum list_format { FORMAT_JSON, FORMAT_CSV, FORMAT_NDJSON };

enum filter_op { OP_EQ, OP_NE, OP_GT, OP_GTE, OP_LT, OP_LTE, OP_NULL };

struct filter {
    const struct field *field;
    enum filter_op op;
    const char *value; /* as given; for OP_NULL "true" or "false" */
};

struct sort_key {
    const struct field *field;
    bool desc;
};

/* A checked list request. */
struct list_query {
    struct filter filters[QUERY_MAX_FILTERS];
    int nfilters;
    struct sort_key sort[QUERY_MAX_SORT];
    int nsort;
    const char *sort_spec; /* normalised, e.g. "name,-created_at" */
    int limit;
    const char *cursor_values[QUERY_MAX_SORT + 1]; /* decoded keyset values, then the id */
    bool has_cursor;
    bool selected[QUERY_MAX_FIELDS]; /* by field index; all true without ?fields= */
    int order[QUERY_MAX_FIELDS];     /* with ?fields=: the selected field indexes, id first, */
    int norder;                      /* then in the order given (CSV columns follow it) */
    bool included[QUERY_MAX_INCLUDES];
    bool count;
    enum list_format format;
    const char *q;
    const char *parent_id; /* sub-collection parent, from the path */
};

/* One query parameter as it came. */
struct query_arg {
    const char *key;
    const char *value;
};

/* A SQL text under construction with its parameters. */
struct sql {
    struct buf text;
    const char *params[QUERY_MAX_PARAMS];
    int nparams;
};

/* Appends "$n" for value and records it; value must outlive the statement. */
void sql_param(struct sql *s, const char *value);
void sql_free(struct sql *s);

/*
 * Checks args against res and fills q. internal says whether the caller may see internal fields.
 * for_get limits the language to fields and include. Returns false with err set to 400 naming
 * the offending parameter and what is allowed.
 */
bool query_parse(struct arena *a, const struct resource *res, const struct query_arg *args,
                 int nargs, bool internal, bool for_get, struct list_query *q,
                 struct error *err) MUSTCHECK;

/* The SQL expression of one record as JSON (alias a), honouring visibility and projection. */
void query_row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
                    const struct list_query *q);

/*
 * Builds the list statement. It returns one row: the page (JSON array text, CSV lines or NDJSON
 * lines), the keyset of the last row as JSON text when there is a next page (else NULL), the
 * total when q->count (else NULL), whether the sub-collection's parent exists ("t"/"f"), and how
 * many records the page embeds through include=. When that is more than QUERY_MAX_EMBEDDED, the
 * page is not built (an empty page comes back) and the caller must refuse the request.
 */
void query_build_list(struct sql *s, struct arena *a, const struct resource *res, bool internal,
                      const struct list_query *q);

/* Builds the statement of a whole export: one row per record (JSON or a CSV line), no limit. */
void query_build_export(struct sql *s, struct arena *a, const struct resource *res, bool internal,
                        const struct list_query *q);

/* Appends " WHERE ..." for q's filters and search (alias a). */
void query_build_where(struct sql *s, struct arena *a, const struct resource *res,
                       const struct list_query *q);

/* Builds the statement for one record: its JSON text and its version. $1 is the id. A record of
 * a sub-collection is found only while its parent is live. */
void query_build_get(struct sql *s, const struct resource *res, bool internal,
                     const struct list_query *q);

/* The CSV header line for q (no line break). */
void query_csv_header(struct buf *b, const struct resource *res, bool internal,
                      const struct list_query *q);

/* Cursor codec: a MAC-protected, URL-safe encoding of the sort spec and the keyset values. */
void query_cursor_init(const char *secret);
char *query_cursor_encode(struct arena *a, const char *sort_spec, const char *keyset_json);
bool query_cursor_decode(struct arena *a, const char *cursor, const char *sort_spec, int nvalues,
                         const char **values, struct error *err) MUSTCHECK;

/* The SQL type a value of f is cast to (the element type for arrays). */
const char *query_pg_type(const struct field *f);
/* True for fields stored as SQL arrays. */
bool query_field_is_array(const struct field *f);

/* Appends the names of res's filter parameters, joined by ", ", to b. */
void query_allowed_filters(struct buf *b, const struct resource *res, bool internal);

/* Rewrites the "allowed" part of an unknown-parameter error for routes that take fewer
 * parameters than a list (exports, statistics). Other errors are left as they are. */
void query_restate_allowed(struct error *err, const char *allowed);

/* True when v is one of the NULL-terminated values. */
bool query_in_list(const char *const *values, const char *v);
/* Appends the values joined by ", " to b. */
void query_join_list(struct buf *b, const char *const *values);

/* Collects the request's query parameters into args (at most max); false with a 400 beyond. */
bool query_collect_args(struct request *r, struct query_arg *args, int max, int *n,
                        struct error *err) MUSTCHECK;

/* True when s is a canonical lowercase or uppercase UUID. */
bool query_is_uuid(const char *s);
/* True when s is a valid YYYY-MM-DD calendar date. */
bool query_is_date(const char *s);

#endif
