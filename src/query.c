/* query.c - the list language: parameters checked against a descriptor into a list_query. */
#include "sharaka/cursor.h"
#include "sharaka/query.h"
#include "sharaka/values.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_VALUE_MAX 500

static const char *const reserved_params[] = {"limit", "cursor", "sort", "fields", "include",
                                              "count", "format", "q",    "lang"};

const char *const query_langs[] = {"ar", "en", "fr", NULL};

bool
query_field_translated(const struct resource *res, const struct field *f)
{
    if (f->type == FT_SECTIONS)
        return true;
    if (f->type != FT_TEXT)
        return false;
    for (const char *const *l = query_langs; *l != NULL; l++) {
        char name[64];
        snprintf(name, sizeof(name), "%s_%s", f->name, *l);
        if (resource_field(res, name) == NULL)
            return false;
    }
    return true;
}

const char *
query_lang(const char *name, size_t len)
{
    for (const char *const *l = query_langs; *l != NULL; l++)
        if (len == strlen(*l) && memcmp(name, *l, len) == 0)
            return *l;
    return NULL;
}

bool
query_lang_rtl(const char *lang)
{
    return lang != NULL && strcmp(lang, "ar") == 0;
}

void
query_whole(const struct resource *res, struct list_query *q)
{
    memset(q, 0, sizeof(*q));
    for (size_t i = 0; i < res->nfields && i < QUERY_MAX_FIELDS; i++)
        q->selected[i] = true;
}

bool
query_lang_param(const char *value, const char **lang, struct error *err)
{
    *lang = query_lang(value, strlen(value));
    if (*lang == NULL)
        return error_set(err, 400, "invalid-parameter",
                         "lang '%.20s' is unknown; allowed: ar, en, fr", value);
    return true;
}

/* The weight of an Accept-Language item's parameters (";q=0.8"), 1000 for 1; -1 when malformed. */
static int
language_weight(const char *p, const char *end)
{
    int weight = 1000;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        if (end - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
            return p == end ? weight : -1;
        p += 2;
        if (p < end && *p == '1') {
            weight = 1000;
            p++;
            if (p < end && *p == '.')
                for (p++; p < end && *p == '0'; p++)
                    ;
        } else if (p < end && *p == '0') {
            weight = 0;
            p++;
            if (p < end && *p == '.') {
                int scale = 100;
                for (p++; p < end && *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
                    weight += (*p - '0') * scale;
            }
        } else {
            return -1;
        }
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p != ';')
            return -1;
    }
    return weight;
}

const char *
query_accept_language(const char *header)
{
    const char *best = NULL;
    int best_weight = 0;
    for (const char *p = header; p != NULL && *p != '\0';) {
        const char *end = p + strcspn(p, ",");
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        /* the primary subtag, whose case does not matter (RFC 5646 section 2.1.1) */
        size_t tag = strcspn(p, ",;- \t");
        char lower[3] = "";
        for (size_t i = 0; i < tag && i < 2; i++)
            lower[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
        const char *lang = tag == 2 ? query_lang(lower, 2) : NULL;
        int weight = language_weight(p + strcspn(p, ",;"), end);
        if (lang != NULL && weight > best_weight) {
            best = lang;
            best_weight = weight;
        }
        p = *end == ',' ? end + 1 : end;
    }
    return best;
}

static const char *const op_names[] = {
    [OP_EQ] = "",
    [OP_NE] = "ne",
    [OP_GT] = "gt",
    [OP_GTE] = "gte",
    [OP_LT] = "lt",
    [OP_LTE] = "lte",
    [OP_NULL] = "null",
    [OP_NOT_IN] = "not_in",
    [OP_CONTAINS] = "contains",
    [OP_STARTSWITH] = "startswith",
};

/* ---------------------------------------------------------------- field properties */

bool
query_field_is_array(const struct field *f)
{
    return f->type == FT_TAGS || f->type == FT_ENUMS || f->type == FT_URLS;
}

bool
query_field_json_valued(const struct field *f)
{
    return query_field_is_array(f) || f->type == FT_STRMAP || f->type == FT_SECTIONS ||
           f->type == FT_LINKS || f->type == FT_JSON;
}

bool
query_field_orderable(const struct field *f)
{
    return f->type == FT_DATE || f->type == FT_TIMESTAMP || f->type == FT_NUMBER ||
           f->type == FT_DECIMAL;
}

bool
query_field_nullable(const struct field *f)
{
    return !(f->flags & F_REQUIRED) && !query_field_is_array(f) && f->type != FT_STRMAP &&
           f->type != FT_SECTIONS && f->type != FT_LINKS && f->type != FT_JSON &&
           !(f->flags & F_NOTNULL);
}

bool
query_field_visible(const struct field *f, bool internal)
{
    return f->type != FT_PASSWORD && (internal || !(f->flags & F_INTERNAL));
}

const char *
query_pg_type(const struct field *f)
{
    if (f->pgtype != NULL)
        return f->pgtype;
    switch (f->type) {
    case FT_UUID:
        return "uuid";
    case FT_DATE:
        return "date";
    case FT_TIMESTAMP:
        return "timestamptz";
    case FT_BOOL:
        return "boolean";
    case FT_NUMBER:
    case FT_DECIMAL:
        return "numeric";
    default:
        return "text";
    }
}

/* Checks one filter value for f; on failure writes why into err. */
static bool
check_filter_value(const struct field *f, const char *name, const char *v, struct error *err)
{
    struct buf allowed = {0};
    bool ok = true;

    if (strlen(v) > FILTER_VALUE_MAX)
        return error_set(err, 400, "invalid-parameter", "the value of %s is longer than %d", name,
                         FILTER_VALUE_MAX);
    switch (f->type) {
    case FT_UUID:
    case FT_LINKS:
        if (!value_is_uuid(v))
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not a UUID", name, v);
        break;
    case FT_DATE:
        if (!value_is_date(v))
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not a date (YYYY-MM-DD)",
                           name, v);
        break;
    case FT_TIMESTAMP:
        if (!value_is_timestamp(v))
            ok = error_set(err, 400, "invalid-parameter",
                           "%s: '%s' is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)", name, v);
        break;
    case FT_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not true or false", name, v);
        break;
    case FT_NUMBER:
    case FT_DECIMAL:
        if (!value_is_number(v))
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not a number", name, v);
        break;
    case FT_ENUM:
    case FT_ENUMS:
        if (!value_in_list(f->values, v)) {
            value_join_list(&allowed, f->values);
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not allowed; allowed: %s",
                           name, v, allowed.data);
        }
        break;
    case FT_STRMAP:
        if (strchr(v, ':') == NULL || v[0] == ':')
            ok = error_set(err, 400, "invalid-parameter",
                           "%s: expected scheme:value, e.g. LB-MOI:1234/AD", name);
        break;
    default:
        break;
    }
    buf_free(&allowed);
    return ok;
}

/* ---------------------------------------------------------------- filter rules */

const char *
query_op_name(enum filter_op op)
{
    return op_names[op];
}

/* Text that reads as words: what contains and startswith compare, folded. */
static bool
field_is_text(const struct field *f)
{
    return f->type == FT_TEXT || f->type == FT_EMAIL || f->type == FT_URL || f->type == FT_SLUG;
}

unsigned
query_filter_ops(const struct field *f)
{
    unsigned ops = 1u << OP_EQ | 1u << OP_NE;
    if (f->type != FT_STRMAP && f->type != FT_BOOL) /* one value, never a list */
        ops |= 1u << OP_NOT_IN;
    if (query_field_orderable(f))
        ops |= 1u << OP_GT | 1u << OP_GTE | 1u << OP_LT | 1u << OP_LTE;
    if (query_field_nullable(f))
        ops |= 1u << OP_NULL;
    if (field_is_text(f))
        ops |= 1u << OP_CONTAINS | 1u << OP_STARTSWITH;
    return ops;
}

const char *
query_filter_name(const struct resource *res, const struct field *f)
{
    return f->type == FT_LINKS ? res->link->key : f->name;
}

bool
query_field_filterable(const struct field *f, bool internal)
{
    return (f->flags & F_FILTER) && query_field_visible(f, internal) && !(f->flags & F_PARENT);
}

/* ---------------------------------------------------------------- parsing */

void
query_allowed_filters(struct buf *b, const struct resource *res, bool internal)
{
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if (query_field_filterable(f, internal))
            buf_printf(b, "%s%s", b->len ? ", " : "", query_filter_name(res, f));
    }
}

void
query_restate_allowed(struct error *err, const char *allowed)
{
    if (err->code == NULL || strcmp(err->code, "unknown-parameter") != 0)
        return;
    char *tail = strstr(err->detail, "; allowed");
    size_t keep = tail ? (size_t)(tail - err->detail) : strlen(err->detail);
    struct buf b = {0};
    buf_printf(&b, "%.*s; allowed here: %s", (int)keep, err->detail, allowed);
    snprintf(err->detail, sizeof(err->detail), "%s", b.data);
    buf_free(&b);
}

static void
allowed_params(struct buf *b, const struct resource *res, bool internal)
{
    for (size_t i = 0; i < ARRAY_LEN(reserved_params); i++) {
        if ((strcmp(reserved_params[i], "include") == 0 && res->nincludes == 0) ||
            (strcmp(reserved_params[i], "q") == 0 && !res->searchable))
            continue;
        buf_printf(b, "%s%s", b->len ? ", " : "", reserved_params[i]);
    }
    query_allowed_filters(b, res, internal);
}

/* The operators f takes, for messages: "ne, not_in, contains, startswith". */
static void
ops_for(struct buf *b, const struct field *f)
{
    unsigned ops = query_filter_ops(f);
    for (int op = OP_NE; op < OP_COUNT; op++)
        if (ops & (1u << op))
            buf_printf(b, "%s%s", b->len ? ", " : "", op_names[op]);
}

static bool
parse_filter(struct arena *a, const struct resource *res, const char *key, const char *value,
             bool internal, struct list_query *q, struct error *err)
{
    char name[64];
    const char *dot = strchr(key, '.');
    size_t nlen = dot ? (size_t)(dot - key) : strlen(key);
    const struct field *f = NULL;
    struct buf allowed = {0};

    if (nlen < sizeof(name)) {
        memcpy(name, key, nlen);
        name[nlen] = '\0';
        for (size_t i = 0; i < res->nfields && f == NULL; i++)
            if (strcmp(query_filter_name(res, &res->fields[i]), name) == 0)
                f = &res->fields[i]; /* by parameter name: the link key for links */
    }
    if (f == NULL || !query_field_filterable(f, internal)) {
        allowed_params(&allowed, res, internal);
        error_set(err, 400, "unknown-parameter", "unknown query parameter '%s'; allowed: %s", key,
                  allowed.data);
        buf_free(&allowed);
        return false;
    }
    if (q->nfilters == QUERY_MAX_FILTERS)
        return error_set(err, 400, "invalid-parameter", "at most %d filters are allowed",
                         QUERY_MAX_FILTERS);
    struct filter *flt = &q->filters[q->nfilters];
    flt->field = f;
    flt->value = value;
    flt->op = OP_EQ;
    if (dot != NULL) {
        const char *op = dot + 1;
        int found = -1;
        for (int i = OP_NE; i < OP_COUNT; i++)
            if (strcmp(op, op_names[i]) == 0)
                found = i;
        if (found < 0 || !(query_filter_ops(f) & (1u << found))) {
            ops_for(&allowed, f);
            error_set(err, 400, "unknown-operator",
                      "unknown operator '%s' on '%s'; allowed operators for %s: %s", op, name, name,
                      allowed.data);
            buf_free(&allowed);
            return false;
        }
        flt->op = (enum filter_op)found;
    }
    if (flt->op == OP_NULL) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return error_set(err, 400, "invalid-parameter", "%s: expected true or false", key);
    } else if (flt->op == OP_CONTAINS || flt->op == OP_STARTSWITH) {
        /* Any text: part of a value need not look like a whole one (an e-mail, a URL). */
        if (*value == '\0' || strlen(value) > FILTER_VALUE_MAX || !utf8_valid(value, strlen(value)))
            return error_set(err, 400, "invalid-parameter",
                             "%s: expected 1 to %d bytes of UTF-8 text", key, FILTER_VALUE_MAX);
    } else if ((flt->op == OP_EQ || flt->op == OP_NOT_IN) && f->type != FT_STRMAP) {
        /* Any (or none) of a comma-separated list. */
        char *copy = arena_strdup(a, value);
        char *save = NULL;
        int n = 0;
        for (char *v = strtok_r(copy, ",", &save); v; v = strtok_r(NULL, ",", &save), n++)
            if (!check_filter_value(f, key, v, err))
                return false;
        if (n == 0)
            return error_set(err, 400, "invalid-parameter", "%s: a value is needed", key);
    } else if (!check_filter_value(f, key, value, err)) {
        return false;
    }
    q->nfilters++;
    return true;
}

const struct field query_relevance = {
    "relevance", FT_NUMBER, F_REQUIRED | F_NOTNULL | F_SORT | F_READONLY, NULL, 0, NULL, NULL};

static bool
parse_sort(struct arena *a, const struct resource *res, const char *value, bool internal,
           struct list_query *q, struct error *err)
{
    char *copy = arena_strdup(a, value);
    char *save = NULL;
    struct buf spec = {0};
    struct buf allowed = {0};
    bool ok = true;

    q->nsort = 0;
    for (char *k = strtok_r(copy, ",", &save); k && ok; k = strtok_r(NULL, ",", &save)) {
        bool desc = *k == '-';
        const char *name = desc || *k == '+' ? k + 1 : k;
        const struct field *f = resource_field(res, name);
        if (strcmp(name, "id") == 0 && q->nsort == 0) {
            f = NULL; /* id is the tie-breaker, always last */
        }
        if (strcmp(name, "relevance") == 0 && res->searchable) {
            if (desc || *k == '+' || q->nsort > 0 || strchr(value, ',') != NULL) {
                ok = error_set(err, 400, "invalid-parameter",
                               "sort: relevance stands alone and goes one way, best first; "
                               "write sort=relevance");
                break;
            }
            f = &query_relevance;
            desc = true;
        } else if (f == NULL || !(f->flags & F_SORT) || !query_field_visible(f, internal)) {
            for (size_t i = 0; i < res->nfields; i++)
                if ((res->fields[i].flags & F_SORT) &&
                    query_field_visible(&res->fields[i], internal))
                    buf_printf(&allowed, "%s%s", allowed.len ? ", " : "", res->fields[i].name);
            ok = error_set(err, 400, "unknown-sort-key",
                           "cannot sort by '%s'; allowed: %s (prefix - for descending)%s", name,
                           allowed.data, res->searchable ? ", or relevance with q" : "");
            break;
        }
        for (int i = 0; i < q->nsort; i++)
            if (q->sort[i].field == f)
                ok = error_set(err, 400, "invalid-parameter", "sort: '%s' given twice", name);
        if (ok && q->nsort == QUERY_MAX_SORT)
            ok = error_set(err, 400, "invalid-parameter", "sort: at most %d keys", QUERY_MAX_SORT);
        if (ok) {
            q->sort[q->nsort].field = f;
            q->sort[q->nsort].desc = desc;
            q->nsort++;
            buf_printf(&spec, "%s%s%s", spec.len ? "," : "",
                       desc && f != &query_relevance ? "-" : "", f->name);
        }
    }
    if (ok && q->nsort == 0)
        ok = error_set(err, 400, "invalid-parameter", "sort: at least one key is needed");
    if (ok)
        q->sort_spec = arena_strdup(a, spec.data);
    buf_free(&spec);
    buf_free(&allowed);
    return ok;
}

static bool
parse_fields(struct arena *a, const struct resource *res, const char *value, bool internal,
             struct list_query *q, struct error *err)
{
    char *copy = arena_strdup(a, value);
    char *save = NULL;
    memset(q->selected, 0, sizeof(q->selected));
    q->order[0] = 0; /* id, always first in a descriptor */
    q->norder = 1;
    for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        const struct field *f = resource_field(res, k);
        if (f == NULL || !query_field_visible(f, internal)) {
            struct buf allowed = {0};
            for (size_t i = 0; i < res->nfields; i++)
                if (query_field_visible(&res->fields[i], internal))
                    buf_printf(&allowed, "%s%s", i ? ", " : "", res->fields[i].name);
            error_set(err, 400, "unknown-field", "fields: unknown field '%s'; allowed: %s", k,
                      allowed.data);
            buf_free(&allowed);
            return false;
        }
        if (!q->selected[f - res->fields] && f != res->fields)
            q->order[q->norder++] = (int)(f - res->fields);
        q->selected[f - res->fields] = true;
    }
    q->selected[0] = true; /* id, always first in a descriptor */
    return true;
}

static bool
parse_include(struct arena *a, const struct resource *res, const char *value, struct list_query *q,
              struct error *err)
{
    char *copy = arena_strdup(a, value);
    char *save = NULL;
    for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
        size_t i;
        for (i = 0; i < res->nincludes && strcmp(res->includes[i].name, k) != 0; i++)
            ;
        if (i == res->nincludes) {
            struct buf allowed = {0};
            for (size_t j = 0; j < res->nincludes; j++)
                buf_printf(&allowed, "%s%s", j ? ", " : "", res->includes[j].name);
            error_set(err, 400, "unknown-include", "include: unknown relation '%s'; allowed: %s", k,
                      res->nincludes ? allowed.data : "(none)");
            buf_free(&allowed);
            return false;
        }
        q->included[i] = true;
    }
    return true;
}

/* Reads one parameter k=v into q (a cursor is kept in *cursor until the sort is known). */
static bool
parse_param(struct arena *a, const struct resource *res, const char *k, const char *v,
            bool internal, struct list_query *q, const char **cursor, struct error *err)
{
    if (strcmp(k, "limit") == 0) {
        int64_t n;
        if (!str_parse_i64(v, &n) || n < 1 || n > QUERY_MAX_LIMIT)
            return error_set(err, 400, "invalid-limit", "limit must be a number from 1 to %d",
                             QUERY_MAX_LIMIT);
        q->limit = (int)n;
        return true;
    }
    if (strcmp(k, "cursor") == 0) {
        *cursor = v;
        return true;
    }
    if (strcmp(k, "sort") == 0)
        return parse_sort(a, res, v, internal, q, err);
    if (strcmp(k, "fields") == 0)
        return parse_fields(a, res, v, internal, q, err);
    if (strcmp(k, "include") == 0)
        return parse_include(a, res, v, q, err);
    if (strcmp(k, "count") == 0) {
        q->count = strcmp(v, "true") == 0;
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return error_set(err, 400, "invalid-parameter", "count must be true or false");
        return true;
    }
    if (strcmp(k, "format") == 0) {
        if (strcmp(v, "json") == 0)
            q->format = FORMAT_JSON;
        else if (strcmp(v, "csv") == 0)
            q->format = FORMAT_CSV;
        else if (strcmp(v, "ndjson") == 0)
            q->format = FORMAT_NDJSON;
        else if (strcmp(v, "xlsx") == 0)
            q->format = FORMAT_XLSX;
        else
            return error_set(err, 400, "invalid-parameter",
                             "format '%.20s' is unknown; allowed: json, csv, ndjson, xlsx", v);
        return true;
    }
    if (strcmp(k, "lang") == 0)
        return query_lang_param(v, &q->lang, err);
    if (strcmp(k, "q") == 0) {
        q->q = v;
        if (!res->searchable)
            return error_set(err, 400, "unknown-parameter", "%s cannot be searched with q",
                             res->name);
        if (*v == '\0' || strlen(v) > FILTER_VALUE_MAX)
            return error_set(err, 400, "invalid-parameter", "q must be 1 to %d characters",
                             FILTER_VALUE_MAX);
        return true;
    }
    return parse_filter(a, res, k, v, internal, q, err);
}

bool
query_parse(struct arena *a, const struct resource *res, const struct query_arg *args, int nargs,
            bool internal, bool for_get, struct list_query *q, struct error *err)
{
    const char *cursor = NULL;

    query_whole(res, q);
    q->limit = QUERY_DEFAULT_LIMIT;
    for (int i = 0; i < nargs; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(args[i].key, args[j].key) == 0)
                return error_set(err, 400, "invalid-parameter",
                                 "query parameter '%s' is given twice; use a,b for any of",
                                 args[i].key);
    }
    for (int i = 0; i < nargs; i++) {
        const char *k = args[i].key, *v = args[i].value ? args[i].value : "";
        if (for_get && strcmp(k, "fields") != 0 && strcmp(k, "include") != 0 &&
            strcmp(k, "lang") != 0)
            return error_set(err, 400, "unknown-parameter",
                             "unknown query parameter '%s'; allowed here: fields, include, lang",
                             k);
        if (!parse_param(a, res, k, v, internal, q, &cursor, err))
            return false;
    }
    if (q->nsort == 0) {
        /* a search comes best first unless a sort is asked for */
        if (!parse_sort(a, res, q->q != NULL ? "relevance" : res->default_sort, true, q, err))
            return false;
    }
    if (q->sort[0].field == &query_relevance && q->q == NULL)
        return error_set(err, 400, "invalid-parameter",
                         "sort=relevance ranks the matches of a search: give q too");
    for (size_t i = 0; i < res->nincludes; i++)
        if (q->included[i] && (q->format == FORMAT_CSV || q->format == FORMAT_XLSX))
            return error_set(err, 400, "invalid-parameter",
                             "include cannot be used with format=%s; use json or ndjson",
                             q->format == FORMAT_CSV ? "csv" : "xlsx");
    if (cursor != NULL) {
        if (!cursor_decode(a, cursor, q->sort_spec, q->nsort + 1, q->cursor_values, err))
            return false;
        q->has_cursor = true;
    }
    return true;
}
