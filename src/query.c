/* query.c - the list language: parameters checked against a descriptor, then SQL built with
 * identifiers from the descriptor only and every value as a $n parameter. */
#include "sharaka/query.h"

#include <ctype.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define CURSOR_MAC_BYTES 16
#define CURSOR_MAX_LEN   2048
#define FILTER_VALUE_MAX 500

static unsigned char cursor_key[crypto_generichash_KEYBYTES];

static const char *const reserved_params[] = {"limit",   "cursor", "sort",   "fields",
                                              "include", "count",  "format", "q"};

static const char *const op_names[] = {
    [OP_EQ] = "",   [OP_NE] = "ne",   [OP_GT] = "gt",     [OP_GTE] = "gte",
    [OP_LT] = "lt", [OP_LTE] = "lte", [OP_NULL] = "null",
};
static const char *const op_sql[] = {
    [OP_NE] = "<>", [OP_GT] = ">", [OP_GTE] = ">=", [OP_LT] = "<", [OP_LTE] = "<=",
};

/* ---------------------------------------------------------------- field properties */

bool
query_field_is_array(const struct field *f)
{
    return f->type == FT_TAGS || f->type == FT_ENUMS || f->type == FT_URLS;
}

static bool
is_json_valued(const struct field *f)
{
    return query_field_is_array(f) || f->type == FT_STRMAP || f->type == FT_SECTIONS ||
           f->type == FT_PARTIES || f->type == FT_JSON;
}

static bool
is_orderable(const struct field *f)
{
    return f->type == FT_DATE || f->type == FT_TIMESTAMP || f->type == FT_NUMBER ||
           f->type == FT_DECIMAL;
}

static bool
is_nullable(const struct field *f)
{
    return !(f->flags & F_REQUIRED) && !query_field_is_array(f) && f->type != FT_STRMAP &&
           f->type != FT_SECTIONS && f->type != FT_PARTIES && f->type != FT_JSON &&
           !(f->flags & F_NOTNULL);
}

static bool
is_visible(const struct field *f, bool internal)
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

/* ---------------------------------------------------------------- value checks */

bool
query_is_uuid(const char *s)
{
    static const int dashes[] = {8, 13, 18, 23};
    if (strlen(s) != 36)
        return false;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dashes[d]) {
            if (s[i] != '-')
                return false;
            d++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static bool
digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool
query_is_date(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2))
        return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return !(m == 2 && d == 29 && !leap);
}

/* RFC 3339 date-time, or a plain date (midnight UTC). */
static bool
is_timestamp(const char *s)
{
    char date[11];
    if (strlen(s) < 10)
        return false;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!query_is_date(date))
        return false;
    s += 10;
    if (*s == '\0')
        return true;
    if ((*s != 'T' && *s != 't' && *s != ' ') || !digits(s + 1, 2) || s[3] != ':' ||
        !digits(s + 4, 2) || atoi(s + 1) > 23 || atoi(s + 4) > 59)
        return false;
    s += 6;
    if (*s == ':') {
        if (!digits(s + 1, 2) || atoi(s + 1) > 60)
            return false;
        s += 3;
        if (*s == '.') {
            s++;
            if (!isdigit((unsigned char)*s))
                return false;
            while (isdigit((unsigned char)*s))
                s++;
        }
    }
    if (*s == 'Z' || *s == 'z')
        return s[1] == '\0';
    if (*s == '+' || *s == '-')
        return digits(s + 1, 2) && s[3] == ':' && digits(s + 4, 2) && s[6] == '\0' &&
               atoi(s + 1) <= 14 && atoi(s + 4) <= 59;
    return *s == '\0';
}

static bool
is_number(const char *s)
{
    char *end = NULL;
    if (*s == '\0' || isspace((unsigned char)*s))
        return false;
    double v = strtod(s, &end);
    return *end == '\0' && isfinite(v) && strpbrk(s, "xXpP") == NULL && strlen(s) <= 40;
}

bool
query_in_list(const char *const *values, const char *v)
{
    for (; values && *values; values++)
        if (strcmp(*values, v) == 0)
            return true;
    return false;
}

void
query_join_list(struct buf *b, const char *const *values)
{
    for (int i = 0; values && values[i]; i++)
        buf_printf(b, "%s%s", i ? ", " : "", values[i]);
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
    case FT_PARTIES:
        if (!query_is_uuid(v))
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not a UUID", name, v);
        break;
    case FT_DATE:
        if (!query_is_date(v))
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not a date (YYYY-MM-DD)",
                           name, v);
        break;
    case FT_TIMESTAMP:
        if (!is_timestamp(v))
            ok = error_set(err, 400, "invalid-parameter",
                           "%s: '%s' is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)", name, v);
        break;
    case FT_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not true or false", name, v);
        break;
    case FT_NUMBER:
    case FT_DECIMAL:
        if (!is_number(v))
            ok = error_set(err, 400, "invalid-parameter", "%s: '%s' is not a number", name, v);
        break;
    case FT_ENUM:
    case FT_ENUMS:
        if (!query_in_list(f->values, v)) {
            query_join_list(&allowed, f->values);
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

/* ---------------------------------------------------------------- parsing */

void
query_allowed_filters(struct buf *b, const struct resource *res, bool internal)
{
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if ((f->flags & F_FILTER) && is_visible(f, internal))
            buf_printf(b, "%s%s", b->len ? ", " : "",
                       f->type == FT_PARTIES ? "organization_id" : f->name);
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

static const char *
ops_for(const struct field *f)
{
    if (is_orderable(f))
        return is_nullable(f) ? "ne, gt, gte, lt, lte, null" : "ne, gt, gte, lt, lte";
    return is_nullable(f) ? "null" : "(none)";
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
        for (size_t i = 0; i < res->nfields; i++)
            if (res->fields[i].type == FT_PARTIES && strcmp(name, "organization_id") == 0)
                f = &res->fields[i]; /* a partnership's organizations, filtered by id */
        if (f == NULL) {
            f = resource_field(res, name);
            if (f != NULL && f->type == FT_PARTIES)
                f = NULL;
        }
    }
    if (f == NULL || !(f->flags & F_FILTER) || !is_visible(f, internal) || (f->flags & F_PARENT)) {
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
        for (int i = OP_NE; i <= OP_NULL; i++)
            if (strcmp(op, op_names[i]) == 0)
                found = i;
        bool ok = found == OP_NULL ? is_nullable(f) : found > 0 && is_orderable(f);
        if (!ok)
            return error_set(err, 400, "unknown-operator",
                             "unknown operator '%s' on '%s'; allowed operators for %s: %s", op,
                             name, name, ops_for(f));
        flt->op = (enum filter_op)found;
    }
    if (flt->op == OP_NULL) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return error_set(err, 400, "invalid-parameter", "%s: expected true or false", key);
    } else if (flt->op == OP_EQ && f->type != FT_STRMAP) {
        /* Any of a comma-separated list. */
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
        if (f == NULL || !(f->flags & F_SORT) || !is_visible(f, internal)) {
            for (size_t i = 0; i < res->nfields; i++)
                if ((res->fields[i].flags & F_SORT) && is_visible(&res->fields[i], internal))
                    buf_printf(&allowed, "%s%s", allowed.len ? ", " : "", res->fields[i].name);
            ok = error_set(err, 400, "unknown-sort-key",
                           "cannot sort by '%s'; allowed: %s (prefix - for descending)", name,
                           allowed.data);
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
            buf_printf(&spec, "%s%s%s", spec.len ? "," : "", desc ? "-" : "", f->name);
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
        if (f == NULL || !is_visible(f, internal)) {
            struct buf allowed = {0};
            for (size_t i = 0; i < res->nfields; i++)
                if (is_visible(&res->fields[i], internal))
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

bool
query_parse(struct arena *a, const struct resource *res, const struct query_arg *args, int nargs,
            bool internal, bool for_get, struct list_query *q, struct error *err)
{
    const char *cursor = NULL;

    memset(q, 0, sizeof(*q));
    q->limit = QUERY_DEFAULT_LIMIT;
    for (size_t i = 0; i < res->nfields && i < QUERY_MAX_FIELDS; i++)
        q->selected[i] = true;
    for (int i = 0; i < nargs; i++) {
        for (int j = 0; j < i; j++)
            if (strcmp(args[i].key, args[j].key) == 0)
                return error_set(err, 400, "invalid-parameter",
                                 "query parameter '%s' is given twice; use a,b for any of",
                                 args[i].key);
    }
    for (int i = 0; i < nargs; i++) {
        const char *k = args[i].key, *v = args[i].value ? args[i].value : "";
        bool ok = true;
        if (for_get && strcmp(k, "fields") != 0 && strcmp(k, "include") != 0)
            return error_set(err, 400, "unknown-parameter",
                             "unknown query parameter '%s'; allowed here: fields, include", k);
        if (strcmp(k, "limit") == 0) {
            int64_t n;
            if (!str_parse_i64(v, &n) || n < 1 || n > QUERY_MAX_LIMIT)
                ok = error_set(err, 400, "invalid-limit", "limit must be a number from 1 to %d",
                               QUERY_MAX_LIMIT);
            else
                q->limit = (int)n;
        } else if (strcmp(k, "cursor") == 0) {
            cursor = v;
        } else if (strcmp(k, "sort") == 0) {
            ok = parse_sort(a, res, v, internal, q, err);
        } else if (strcmp(k, "fields") == 0) {
            ok = parse_fields(a, res, v, internal, q, err);
        } else if (strcmp(k, "include") == 0) {
            ok = parse_include(a, res, v, q, err);
        } else if (strcmp(k, "count") == 0) {
            if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
                ok = error_set(err, 400, "invalid-parameter", "count must be true or false");
            q->count = strcmp(v, "true") == 0;
        } else if (strcmp(k, "format") == 0) {
            if (strcmp(v, "json") == 0)
                q->format = FORMAT_JSON;
            else if (strcmp(v, "csv") == 0)
                q->format = FORMAT_CSV;
            else if (strcmp(v, "ndjson") == 0)
                q->format = FORMAT_NDJSON;
            else
                ok = error_set(err, 400, "invalid-parameter",
                               "format '%s' is unknown; allowed: json, csv, ndjson", v);
        } else if (strcmp(k, "q") == 0) {
            if (!res->searchable)
                ok = error_set(err, 400, "unknown-parameter", "%s cannot be searched with q",
                               res->name);
            else if (*v == '\0' || strlen(v) > FILTER_VALUE_MAX)
                ok = error_set(err, 400, "invalid-parameter", "q must be 1 to %d characters",
                               FILTER_VALUE_MAX);
            q->q = v;
        } else {
            ok = parse_filter(a, res, k, v, internal, q, err);
        }
        if (!ok)
            return false;
    }
    if (q->nsort == 0) {
        if (!parse_sort(a, res, res->default_sort, true, q, err))
            return false;
    }
    for (size_t i = 0; i < res->nincludes; i++)
        if (q->included[i] && q->format == FORMAT_CSV)
            return error_set(err, 400, "invalid-parameter",
                             "include cannot be used with format=csv; use json or ndjson");
    if (cursor != NULL) {
        if (!query_cursor_decode(a, cursor, q->sort_spec, q->nsort + 1, q->cursor_values, err))
            return false;
        q->has_cursor = true;
    }
    return true;
}

/* ---------------------------------------------------------------- SQL */

void
sql_param(struct sql *s, const char *value)
{
    if (s->nparams == QUERY_MAX_PARAMS)
        abort(); /* the parser caps filters well below this */
    s->params[s->nparams++] = value;
    buf_printf(&s->text, "$%d", s->nparams);
}

void
sql_free(struct sql *s)
{
    buf_free(&s->text);
}

/* The JSON value of column f (alias a). */
static void
field_expr(struct sql *s, const struct field *f, const char *alias)
{
    switch (f->type) {
    case FT_TIMESTAMP:
        buf_printf(&s->text,
                   "to_char(%s.%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", alias,
                   f->name);
        break;
    case FT_DECIMAL:
        buf_printf(&s->text, "%s.%s::text", alias, f->name);
        break;
    case FT_PARTIES:
        buf_printf(&s->text,
                   "(SELECT coalesce(json_agg(json_build_object('organization_id', "
                   "po.organization_id, 'role', po.role) ORDER BY po.position), '[]') FROM "
                   "partnership_organizations po WHERE po.partnership_id = %s.id)",
                   alias);
        break;
    default:
        buf_printf(&s->text, "%s.%s", alias, f->name);
    }
}

static void row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
                     const struct list_query *q, int depth);

/* The parties of a partnership with each organization embedded. */
static void
parties_embedded(struct sql *s, const char *alias, bool internal)
{
    buf_puts(&s->text, "(SELECT coalesce(json_agg(json_build_object('organization_id', "
                       "po.organization_id, 'role', po.role, 'organization', (SELECT ");
    row_json(s, &organizations_resource, "po_o", internal, NULL, 1);
    buf_printf(&s->text,
               " FROM organizations po_o WHERE po_o.id = po.organization_id AND po_o.deleted_at "
               "IS NULL)) ORDER BY po.position), '[]') FROM partnership_organizations po WHERE "
               "po.partnership_id = %s.id)",
               alias);
}

static void
row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
         const struct list_query *q, int depth)
{
    bool first = true;
    bool embed_parties = false;

    if (q != NULL && depth == 0) {
        for (size_t i = 0; i < res->nincludes; i++)
            if (q->included[i] && res->includes[i].fk == NULL)
                embed_parties = true;
    }
    buf_puts(&s->text, "json_build_object(");
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if (!is_visible(f, internal) || (q != NULL && depth == 0 && !q->selected[i]))
            continue;
        buf_printf(&s->text, "%s'%s', ", first ? "" : ", ", f->name);
        first = false;
        if (f->type == FT_PARTIES && embed_parties)
            parties_embedded(s, alias, internal);
        else
            field_expr(s, f, alias);
    }
    for (size_t i = 0; q != NULL && depth == 0 && i < res->nincludes; i++) {
        const struct include *inc = &res->includes[i];
        if (!q->included[i] || inc->fk == NULL)
            continue;
        char sub[24];
        snprintf(sub, sizeof(sub), "i%zu", i);
        buf_printf(&s->text, ", '%s', (SELECT ", inc->name);
        row_json(s, inc->target, sub, internal, NULL, depth + 1);
        buf_printf(&s->text, " FROM %s %s WHERE %s.id = %s.%s AND %s.deleted_at IS NULL)",
                   inc->target->table, sub, sub, alias, inc->fk, sub);
    }
    buf_putc(&s->text, ')');
}

void
query_row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
               const struct list_query *q)
{
    row_json(s, res, alias, internal, q, 0);
}

/*
 * The field index of the n-th CSV column, or -1 past the last: the fields= order when given, else
 * the descriptor's, skipping what the caller may not see.
 */
static int
csv_column(const struct resource *res, bool internal, const struct list_query *q, int n)
{
    int seen = 0;
    size_t count = q->norder > 0 ? (size_t)q->norder : res->nfields;
    for (size_t j = 0; j < count; j++) {
        size_t i = q->norder > 0 ? (size_t)q->order[j] : j;
        if (!is_visible(&res->fields[i], internal) || !q->selected[i])
            continue;
        if (seen++ == n)
            return (int)i;
    }
    return -1;
}

/*
 * One CSV line of the record: every visible, selected field as an RFC 4180 cell. Text cells go
 * through sharaka_csv, which also neutralises a leading formula character; numbers are passed as
 * they are, so a negative amount stays a number for the spreadsheet (a numeric column cannot hold
 * a formula).
 */
static void
row_csv(struct sql *s, const struct resource *res, bool internal, const struct list_query *q)
{
    buf_puts(&s->text, "concat_ws(','");
    for (int n = 0, i; (i = csv_column(res, internal, q, n)) >= 0; n++) {
        const struct field *f = &res->fields[i];
        if (f->type == FT_NUMBER || f->type == FT_DECIMAL) {
            buf_puts(&s->text, ", (");
            field_expr(s, f, "a");
            buf_puts(&s->text, ")::text");
        } else if (is_json_valued(f)) {
            buf_puts(&s->text, ", sharaka_csv(to_json(");
            field_expr(s, f, "a");
            buf_puts(&s->text, ")::text)");
        } else {
            buf_puts(&s->text, ", sharaka_csv(");
            field_expr(s, f, "a");
            buf_puts(&s->text, "::text)");
        }
    }
    buf_putc(&s->text, ')');
}

void
query_csv_header(struct buf *b, const struct resource *res, bool internal,
                 const struct list_query *q)
{
    for (int n = 0, i; (i = csv_column(res, internal, q, n)) >= 0; n++)
        buf_printf(b, "%s%s", n ? "," : "", res->fields[i].name);
}

/* Renders a comma-separated value as a PostgreSQL array literal, each element quoted. */
static const char *
array_literal(struct arena *a, const char *value)
{
    struct buf b = {0};
    buf_putc(&b, '{');
    for (const char *p = value; *p;) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            if (b.len > 1)
                buf_putc(&b, ',');
            buf_putc(&b, '"');
            for (size_t i = 0; i < n; i++) {
                if (p[i] == '"' || p[i] == '\\')
                    buf_putc(&b, '\\');
                buf_putc(&b, p[i]);
            }
            buf_putc(&b, '"');
        }
        p += n;
        if (*p == ',')
            p++;
    }
    buf_putc(&b, '}');
    char *out = arena_strdup(a, b.data);
    buf_free(&b);
    return out;
}

/* " AND the parent is live" for a record of a sub-collection (alias a); nothing otherwise. */
static void
parent_is_live(struct sql *s, const struct resource *res)
{
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if ((f->flags & F_PARENT) && f->ref != NULL)
            buf_printf(&s->text,
                       " AND EXISTS (SELECT 1 FROM %s pl WHERE pl.id = a.%s AND pl.deleted_at IS "
                       "NULL)",
                       f->ref, f->name);
    }
}

/* Appends " AND <condition>" for every filter, the search and the parent. */
static void
where_filters(struct sql *s, struct arena *a, const struct resource *res,
              const struct list_query *q)
{
    buf_puts(&s->text, res->no_soft_delete ? " WHERE true" : " WHERE a.deleted_at IS NULL");
    parent_is_live(s, res);
    for (size_t i = 0; i < res->nfields; i++) {
        if ((res->fields[i].flags & F_PARENT) && q->parent_id != NULL) {
            buf_printf(&s->text, " AND a.%s = ", res->fields[i].name);
            sql_param(s, q->parent_id);
            buf_puts(&s->text, "::uuid");
        }
    }
    for (int i = 0; i < q->nfilters; i++) {
        const struct filter *flt = &q->filters[i];
        const struct field *f = flt->field;
        const char *type = query_pg_type(f);
        buf_puts(&s->text, " AND ");
        if (flt->op == OP_NULL) {
            buf_printf(&s->text, "a.%s IS %sNULL", f->name,
                       strcmp(flt->value, "true") == 0 ? "" : "NOT ");
        } else if (f->type == FT_PARTIES) {
            buf_puts(&s->text, "EXISTS (SELECT 1 FROM partnership_organizations fpo WHERE "
                               "fpo.partnership_id = a.id AND fpo.organization_id = ANY(");
            sql_param(s, array_literal(a, flt->value));
            buf_puts(&s->text, "::uuid[]))");
        } else if (f->type == FT_STRMAP) {
            const char *colon = strchr(flt->value, ':');
            buf_printf(&s->text, "a.%s @> jsonb_build_object(", f->name);
            sql_param(s, arena_strndup(a, flt->value, (size_t)(colon - flt->value)));
            buf_puts(&s->text, "::text, ");
            sql_param(s, colon + 1);
            buf_puts(&s->text, "::text)");
        } else if (flt->op == OP_EQ && query_field_is_array(f)) {
            buf_printf(&s->text, "a.%s && ", f->name);
            sql_param(s, array_literal(a, flt->value));
            buf_printf(&s->text, "::%s[]", type);
        } else if (flt->op == OP_EQ) {
            buf_printf(&s->text, "a.%s = ANY(", f->name);
            sql_param(s, array_literal(a, flt->value));
            buf_printf(&s->text, "::%s[])", type);
        } else {
            buf_printf(&s->text, "a.%s %s ", f->name, op_sql[flt->op]);
            sql_param(s, flt->value);
            buf_printf(&s->text, "::%s", type);
        }
    }
    if (q->q != NULL) {
        buf_puts(&s->text, " AND a.search @@ sharaka_tsq(");
        sql_param(s, q->q);
        buf_puts(&s->text, ")");
    }
}

/* True when every sort key is not null and all go the same way: a row comparison then works. */
static bool
simple_keyset(const struct list_query *q)
{
    for (int i = 0; i < q->nsort; i++)
        if (is_nullable(q->sort[i].field) || q->sort[i].desc != q->sort[0].desc)
            return false;
    return true;
}

static void
order_by(struct sql *s, const struct list_query *q)
{
    bool simple = simple_keyset(q);
    buf_puts(&s->text, " ORDER BY ");
    for (int i = 0; i < q->nsort; i++) {
        const struct field *f = q->sort[i].field;
        if (is_nullable(f))
            buf_printf(&s->text, "(a.%s IS NULL), ", f->name);
        buf_printf(&s->text, "a.%s%s, ", f->name, q->sort[i].desc ? " DESC" : "");
    }
    buf_printf(&s->text, "a.id%s", simple && q->sort[0].desc ? " DESC" : "");
}

/* " AND (rows after the cursor)". */
static void
keyset_condition(struct sql *s, const struct list_query *q)
{
    const char *id = q->cursor_values[q->nsort];
    if (simple_keyset(q)) {
        buf_puts(&s->text, " AND (");
        for (int i = 0; i < q->nsort; i++)
            buf_printf(&s->text, "a.%s, ", q->sort[i].field->name);
        buf_printf(&s->text, "a.id) %s (", q->sort[0].desc ? "<" : ">");
        for (int i = 0; i < q->nsort; i++) {
            sql_param(s, q->cursor_values[i]);
            buf_printf(&s->text, "::%s, ", query_pg_type(q->sort[i].field));
        }
        sql_param(s, id);
        buf_puts(&s->text, "::uuid)");
        return;
    }
    buf_puts(&s->text, " AND (false");
    for (int i = 0; i <= q->nsort; i++) {
        /* Disjunct i: keys before i equal, key i strictly after. */
        const char *v = i < q->nsort ? q->cursor_values[i] : id;
        if (i < q->nsort && v == NULL)
            continue; /* nothing sorts after NULL within this key: NULLs come last */
        buf_puts(&s->text, " OR (true");
        for (int k = 0; k < i; k++) {
            const struct field *f = q->sort[k].field;
            if (q->cursor_values[k] == NULL) {
                buf_printf(&s->text, " AND a.%s IS NULL", f->name);
            } else {
                buf_printf(&s->text, " AND a.%s = ", f->name);
                sql_param(s, q->cursor_values[k]);
                buf_printf(&s->text, "::%s", query_pg_type(f));
            }
        }
        if (i == q->nsort) {
            buf_puts(&s->text, " AND a.id > ");
            sql_param(s, id);
            buf_puts(&s->text, "::uuid)");
        } else {
            const struct field *f = q->sort[i].field;
            buf_printf(&s->text, " AND (a.%s %s ", f->name, q->sort[i].desc ? "<" : ">");
            sql_param(s, v);
            buf_printf(&s->text, "::%s%s%s%s))", query_pg_type(f), is_nullable(f) ? " OR a." : "",
                       is_nullable(f) ? f->name : "", is_nullable(f) ? " IS NULL" : "");
        }
    }
    buf_puts(&s->text, ")");
}

/* True when the answer embeds related records: some include= is asked for (JSON and NDJSON). */
static bool
embeds(const struct resource *res, const struct list_query *q)
{
    for (size_t i = 0; q->format != FORMAT_CSV && i < res->nincludes; i++)
        if (q->included[i])
            return true;
    return false;
}

/* The number of records one row embeds (alias a): one per to-one relation, each party of the
 * to-many one. Counted from the keys alone, before any embedded record is built. */
static void
embedded_count(struct sql *s, const struct resource *res, const struct list_query *q)
{
    buf_puts(&s->text, "(0");
    for (size_t i = 0; i < res->nincludes; i++) {
        const struct include *inc = &res->includes[i];
        if (!q->included[i])
            continue;
        if (inc->fk != NULL)
            buf_printf(&s->text, " + (a.%s IS NOT NULL)::int", inc->fk);
        else
            buf_puts(&s->text, " + (SELECT count(*) FROM partnership_organizations ec WHERE "
                               "ec.partnership_id = a.id)::int");
    }
    buf_puts(&s->text, ")");
}

void
query_build_list(struct sql *s, struct arena *a, const struct resource *res, bool internal,
                 const struct list_query *q)
{
    char limit[16];
    bool embedding = embeds(res, q);

    snprintf(limit, sizeof(limit), "%d", q->limit);
    const char *lim = arena_strdup(a, limit);

    buf_puts(&s->text, "SELECT ");
    switch (q->format) {
    case FORMAT_JSON:
        buf_puts(&s->text, "coalesce('[' || string_agg(p.j::text, ',' ORDER BY p.rn) FILTER "
                           "(WHERE p.rn <= p.lim) || ']', '[]')");
        break;
    case FORMAT_NDJSON:
        buf_puts(&s->text, "coalesce(string_agg(p.j::text, E'\\n' ORDER BY p.rn) FILTER (WHERE "
                           "p.rn <= p.lim) || E'\\n', '')");
        break;
    case FORMAT_CSV:
        buf_puts(&s->text, "coalesce(string_agg(p.j, E'\\r\\n' ORDER BY p.rn) FILTER (WHERE "
                           "p.rn <= p.lim) || E'\\r\\n', '')");
        break;
    }
    buf_puts(&s->text, ", CASE WHEN count(*) > min(p.lim) THEN max(p.k::text) FILTER (WHERE p.rn "
                       "= p.lim) END, ");
    if (q->count) {
        buf_printf(&s->text, "(SELECT count(*) FROM %s a", res->table);
        where_filters(s, a, res, q);
        buf_puts(&s->text, ")");
    } else {
        buf_puts(&s->text, "NULL::bigint");
    }
    /* A sub-collection answers whether its parent exists in the same round trip. */
    buf_puts(&s->text, ", ");
    const struct field *parent = NULL;
    for (size_t i = 0; i < res->nfields; i++)
        if (res->fields[i].flags & F_PARENT)
            parent = &res->fields[i];
    if (parent != NULL && q->parent_id != NULL) {
        buf_printf(&s->text, "EXISTS (SELECT 1 FROM %s pa WHERE pa.id = ", parent->ref);
        sql_param(s, q->parent_id);
        buf_puts(&s->text, "::uuid AND pa.deleted_at IS NULL)");
    } else {
        buf_puts(&s->text, "true");
    }
    buf_puts(&s->text, ", max(p.embedded)");
    if (embedding) {
        /*
         * The page's rows are chosen first with the number of records each embeds; the rows'
         * JSON (with what they embed) is built only when the page stays within the cap.
         */
        char cap[16];
        snprintf(cap, sizeof(cap), "%d", QUERY_MAX_EMBEDDED);
        buf_printf(&s->text,
                   " FROM (SELECT CASE WHEN v.rn <= v.lim AND v.embedded <= %s THEN (SELECT ", cap);
        row_json(s, res, "a", internal, q, 0);
        buf_printf(&s->text,
                   " FROM %s a WHERE a.id = v.id) END AS j, v.k, v.lim, v.rn, v.embedded FROM "
                   "(SELECT u.*, sum(u.e) FILTER (WHERE u.rn <= u.lim) OVER () AS embedded "
                   "FROM (SELECT t.*, row_number() OVER () AS rn FROM (SELECT a.id, ",
                   res->table);
        embedded_count(s, res, q);
        buf_puts(&s->text, " AS e, json_build_array(");
    } else {
        buf_puts(&s->text, " FROM (SELECT t.j, t.k, t.lim, 0 AS embedded, row_number() OVER () "
                           "AS rn FROM (SELECT ");
        if (q->format == FORMAT_CSV)
            row_csv(s, res, internal, q);
        else
            row_json(s, res, "a", internal, q, 0);
        buf_puts(&s->text, " AS j, json_build_array(");
    }
    /* Keyset values travel as text, so that numbers and times come back exactly. */
    for (int i = 0; i < q->nsort; i++)
        buf_printf(&s->text, "a.%s::text, ", q->sort[i].field->name);
    buf_puts(&s->text, "a.id) AS k, ");
    sql_param(s, lim);
    buf_printf(&s->text, "::int AS lim FROM %s a", res->table);
    where_filters(s, a, res, q);
    if (q->has_cursor)
        keyset_condition(s, q);
    order_by(s, q);
    buf_puts(&s->text, " LIMIT ");
    sql_param(s, lim);
    buf_puts(&s->text, embedding ? "::int + 1) t) u) v) p" : "::int + 1) t) p");
}

void
query_build_export(struct sql *s, struct arena *a, const struct resource *res, bool internal,
                   const struct list_query *q)
{
    buf_puts(&s->text, "SELECT ");
    if (q->format == FORMAT_CSV)
        row_csv(s, res, internal, q);
    else
        row_json(s, res, "a", internal, q, 0);
    buf_printf(&s->text, "::text FROM %s a", res->table);
    where_filters(s, a, res, q);
    order_by(s, q);
}

void
query_build_where(struct sql *s, struct arena *a, const struct resource *res,
                  const struct list_query *q)
{
    where_filters(s, a, res, q);
}

void
query_build_get(struct sql *s, const struct resource *res, bool internal,
                const struct list_query *q)
{
    buf_puts(&s->text, "SELECT ");
    row_json(s, res, "a", internal, q, 0);
    buf_printf(&s->text, "::text, %s FROM %s a WHERE a.id = $1::uuid%s",
               res->unversioned ? "1" : "a.version", res->table,
               res->no_soft_delete ? "" : " AND a.deleted_at IS NULL");
    s->nparams = 1;
    parent_is_live(s, res);
    if (q != NULL && q->parent_id != NULL) {
        for (size_t i = 0; i < res->nfields; i++)
            if (res->fields[i].flags & F_PARENT) {
                buf_printf(&s->text, " AND a.%s = ", res->fields[i].name);
                sql_param(s, q->parent_id);
                buf_puts(&s->text, "::uuid");
            }
    }
}

/* ---------------------------------------------------------------- cursor codec */

void
query_cursor_init(const char *secret)
{
    crypto_generichash(cursor_key, sizeof(cursor_key), (const unsigned char *)secret,
                       strlen(secret), (const unsigned char *)"sharaka-cursor-key-v1-padding-32",
                       32);
}

static void
cursor_mac(unsigned char out[CURSOR_MAC_BYTES], const char *payload, size_t len)
{
    crypto_generichash(out, CURSOR_MAC_BYTES, (const unsigned char *)payload, len, cursor_key,
                       sizeof(cursor_key));
}

char *
query_cursor_encode(struct arena *a, const char *sort_spec, const char *keyset_json)
{
    struct buf payload = {0};
    unsigned char mac[CURSOR_MAC_BYTES];

    buf_puts(&payload, "[\"");
    buf_json_escape(&payload, sort_spec, strlen(sort_spec));
    buf_puts(&payload, "\",");
    buf_append(&payload, keyset_json + 1, strlen(keyset_json) - 1); /* drop the '[' */
    cursor_mac(mac, payload.data, payload.len);
    size_t b64len =
        sodium_base64_ENCODED_LEN(payload.len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t maclen =
        sodium_base64_ENCODED_LEN(CURSOR_MAC_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = arena_alloc(a, b64len + maclen + 1);
    sodium_bin2base64(out, b64len, (const unsigned char *)payload.data, payload.len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t n = strlen(out);
    out[n] = '.';
    sodium_bin2base64(out + n + 1, maclen, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    buf_free(&payload);
    return out;
}

static bool
bad_cursor(struct error *err)
{
    return error_set(err, 400, "invalid-cursor",
                     "cursor is not one this server issued for this list; start again without "
                     "cursor");
}

bool
query_cursor_decode(struct arena *a, const char *cursor, const char *sort_spec, int nvalues,
                    const char **values, struct error *err)
{
    size_t len = strlen(cursor);
    const char *dot = strchr(cursor, '.');
    unsigned char mac[CURSOR_MAC_BYTES], want[CURSOR_MAC_BYTES];
    size_t binlen = 0, maclen = 0;

    if (len == 0 || len > CURSOR_MAX_LEN || dot == NULL)
        return bad_cursor(err);
    unsigned char *bin = arena_alloc(a, len);
    if (sodium_base642bin(bin, len, cursor, (size_t)(dot - cursor), NULL, &binlen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        sodium_base642bin(mac, sizeof(mac), dot + 1, strlen(dot + 1), NULL, &maclen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        maclen != sizeof(mac))
        return bad_cursor(err);
    cursor_mac(want, (const char *)bin, binlen);
    if (crypto_verify_16(mac, want) != 0)
        return bad_cursor(err);
    json_t *arr = json_loadb((const char *)bin, binlen, 0, NULL);
    bool ok = json_is_array(arr) && (int)json_array_size(arr) == nvalues + 1 &&
              json_is_string(json_array_get(arr, 0));
    if (ok && strcmp(json_string_value(json_array_get(arr, 0)), sort_spec) != 0) {
        /* Formatted before the array (which owns the string) is released. */
        error_set(err, 400, "invalid-cursor",
                  "cursor was issued for sort=%s; keep the same sort while paging, or "
                  "start again without cursor",
                  json_string_value(json_array_get(arr, 0)));
        json_decref(arr);
        return false;
    }
    for (int i = 0; ok && i < nvalues; i++) {
        json_t *v = json_array_get(arr, (size_t)i + 1);
        if (json_is_null(v)) {
            values[i] = NULL;
        } else if (json_is_string(v)) {
            values[i] = arena_strdup(a, json_string_value(v));
        } else if (json_is_number(v) || json_is_boolean(v)) {
            char *t = json_dumps(v, JSON_ENCODE_ANY);
            values[i] = arena_strdup(a, t);
            free(t);
        } else {
            ok = false;
        }
    }
    if (ok && (values[nvalues - 1] == NULL || !query_is_uuid(values[nvalues - 1])))
        ok = false;
    json_decref(arr);
    return ok ? true : bad_cursor(err);
}

/* ---------------------------------------------------------------- query parameters */

struct arg_sink {
    struct query_arg *args;
    int max, n;
    bool overflow;
};

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    struct arg_sink *sink = cls;
    if (sink->n == sink->max) {
        sink->overflow = true;
        return MHD_NO;
    }
    sink->args[sink->n].key = key;
    sink->args[sink->n].value = value ? value : "";
    sink->n++;
    return MHD_YES;
}

bool
query_collect_args(struct request *r, struct query_arg *args, int max, int *n, struct error *err)
{
    struct arg_sink sink = {args, max, 0, false};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, &sink);
    *n = sink.n;
    if (sink.overflow)
        return error_set(err, 400, "invalid-parameter", "at most %d query parameters", max);
    return true;
}
