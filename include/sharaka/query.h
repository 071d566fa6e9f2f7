/* query.h - the list language (?field=, .gt, q, sort, cursor, fields, include, count, format)
 * checked against a descriptor; sql.h turns the result into a statement. */
#ifndef SHARAKA_QUERY_H
#define SHARAKA_QUERY_H

#include <stdbool.h>

#include "sharaka/core.h"
#include "sharaka/descriptor.h"
#include "sharaka/util.h"

#define QUERY_MAX_FILTERS   32
#define QUERY_MAX_SORT      4
#define QUERY_MAX_PARAMS    96
#define QUERY_DEFAULT_LIMIT 50
#define QUERY_MAX_LIMIT     200
#define QUERY_MAX_FIELDS    64
#define QUERY_MAX_INCLUDES  8
#define QUERY_MAX_ARGS      48  /* query parameters one request may carry */
#define QUERY_MAX_EMBEDDED  500 /* records one list answer may embed through include= */

/* FORMAT_XLSX: a workbook of the page, made on a blocking thread from the NDJSON statement. */
enum list_format { FORMAT_JSON, FORMAT_CSV, FORMAT_NDJSON, FORMAT_XLSX };

enum filter_op {
    OP_EQ, /* one of a comma-separated list (arrays: holds one of them) */
    OP_NE, /* not this value (arrays: does not hold it) */
    OP_GT, /* the orderable types: dates, times, numbers */
    OP_GTE,
    OP_LT,
    OP_LTE,
    OP_NULL,       /* true: empty; false: set */
    OP_NOT_IN,     /* none of a comma-separated list */
    OP_CONTAINS,   /* text: holds this text, folded (case, accents, Arabic letter forms) */
    OP_STARTSWITH, /* text: begins with this text, folded */
    OP_COUNT
};

struct filter {
    const struct field *field;
    enum filter_op op;
    const char *value; /* as given; for OP_NULL "true" or "false" */
};

struct sort_key {
    const struct field *field; /* a field of the resource, or &query_relevance */
    bool desc;
};

/* The sort key sort=relevance stands for: how well a record matches q (its search rank), best
 * first. Only with q, and only alone (id still breaks ties); the default whenever q is given. */
extern const struct field query_relevance;

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
    const char *lang;      /* "ar", "en", "fr" (static strings) or NULL: display_<field> wanted */
    const char *parent_id; /* sub-collection parent, from the path */
};

/* The languages a read may ask for (lang=, Accept-Language), NULL-terminated. */
extern const char *const query_langs[];

/* True when f has a translation in every language of query_langs (f_ar, f_en, f_fr, as
 * FIELDS_TRANSLATIONS makes them), or is a charter's sections, whose items carry theirs: a read in
 * a language adds display_<f>, f in that language where it is given, else as given. */
bool query_field_translated(const struct resource *res, const struct field *f);

/* The language of query_langs named by the len bytes at name, or NULL. */
const char *query_lang(const char *name, size_t len);

/* Reads a lang= value into *lang (one of query_langs); false with a 400 naming them otherwise. */
bool query_lang_param(const char *value, const char **lang, struct error *err) MUSTCHECK;

/*
 * The language an Accept-Language header (RFC 9110 section 12.5.4) prefers among query_langs:
 * the one of highest weight ("ar-LB" counts as ar; q=0 refuses), the first given on a tie; NULL
 * when it names none of them or header is NULL.
 */
const char *query_accept_language(const char *header);

/* Empties q to a read of the whole record: every field selected, nothing else asked. */
void query_whole(const struct resource *res, struct list_query *q);

/* True for a language read right to left (Arabic), as a spreadsheet's sheet then is. */
bool query_lang_rtl(const char *lang);

/* One query parameter as it came. */
struct query_arg {
    const char *key;
    const char *value;
};

/*
 * Checks args against res and fills q. internal says whether the caller may see internal fields.
 * for_get limits the language to fields and include. Returns false with err set to 400 naming
 * the offending parameter and what is allowed.
 */
bool query_parse(struct arena *a, const struct resource *res, const struct query_arg *args,
                 int nargs, bool internal, bool for_get, struct list_query *q,
                 struct error *err) MUSTCHECK;

/* The SQL type a value of f is cast to (the element type for arrays). */
const char *query_pg_type(const struct field *f);
/* True for fields stored as SQL arrays. */
bool query_field_is_array(const struct field *f);
/* Field properties: stored as JSON (arrays, objects); ordered by .gt/.lt; may be null; shown to a
 * caller who may (internal) or may not see internal fields. */
bool query_field_json_valued(const struct field *f);
bool query_field_orderable(const struct field *f);
bool query_field_nullable(const struct field *f);
bool query_field_visible(const struct field *f, bool internal);

/* The filter rules, read by the list parser and the spec generator alike. query_filter_name is
 * the parameter that filters res by f (an FT_LINKS field: its link's key, organization_id);
 * query_field_filterable says whether a caller may filter by f at all; query_filter_ops is the
 * operators ?name.op= takes, a bit (1u << op) per enum filter_op, OP_EQ always among them;
 * query_op_name is an operator's suffix ("gte"; "" for OP_EQ). */
const char *query_filter_name(const struct resource *res, const struct field *f);
bool query_field_filterable(const struct field *f, bool internal);
unsigned query_filter_ops(const struct field *f);
const char *query_op_name(enum filter_op op);

/* Appends the names of res's filter parameters, joined by ", ", to b. */
void query_allowed_filters(struct buf *b, const struct resource *res, bool internal);

/* Rewrites the "allowed" part of an unknown-parameter error for routes that take fewer
 * parameters than a list (exports, statistics). Other errors are left as they are. */
void query_restate_allowed(struct error *err, const char *allowed);

#endif
