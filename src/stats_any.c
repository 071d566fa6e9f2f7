/*
 * stats_any.c - GET /v1/stats/{resource}: any statistic of any resource, from its descriptor.
 *
 * group_by takes one or two groupable fields (an enum, a boolean, a currency, a reference, a
 * list of enums or the parties of a partnership, or the year or month of a date); count is always
 * there, and sum, avg, min and max each take numeric fields. A reference comes with the name of
 * the record it names. An amount that goes with a currency is never summed across currencies:
 * it is given per currency (an object in JSON, a column per currency in CSV). The list filters
 * and q apply. PostgreSQL groups; the answer is formatted here from at most STATS_MAX_GROUPS rows.
 */
#include <stdlib.h>
#include <string.h>

#include "sharaka/access.h"
#include "sharaka/db.h"
#include "sharaka/engine.h"
#include "sharaka/handlers.h"
#include "sharaka/query.h"
#include "sharaka/resource.h"
#include "sharaka/sql.h"
#include "sharaka/values.h"
#include "sharaka/xlsx.h"

#define STATS_MAX_GROUPS  10000
#define STATS_MAX_METRICS 8

enum date_part { PART_NONE, PART_YEAR, PART_MONTH };

struct group {
    const struct field *f;
    enum date_part part;
    const struct resource *ref; /* the resource a reference names, for its name */
    char out[72];               /* its name in the answer */
    char name_out[72];          /* the referenced record's name in the answer */
};

enum metric_op { M_SUM, M_AVG, M_MIN, M_MAX };
static const char *const metric_ops[] = {"sum", "avg", "min", "max"};

struct metric {
    enum metric_op op;
    const struct field *f;
    bool per_currency; /* the field goes with a currency field: never mixed across them */
    char out[72];
};

struct stats_request {
    const struct resource *res;
    struct group group[2];
    int ngroup;
    struct metric metric[STATS_MAX_METRICS];
    int nmetric;
    bool csv, xlsx;   /* the format */
    const char *lang; /* lang= (or Accept-Language): the referenced names in that language, and
                         in Arabic a sheet read right to left */
    struct list_query q;
};

static const struct resource *
resource_of_table(const char *table)
{
    for (size_t i = 0; table != NULL && i < resources_count; i++)
        if (strcmp(resources_all[i]->table, table) == 0)
            return resources_all[i];
    return NULL;
}

static bool
is_date(const struct field *f)
{
    return f->type == FT_DATE || f->type == FT_TIMESTAMP;
}

static bool
is_numeric(const struct field *f)
{
    return f->type == FT_NUMBER || f->type == FT_DECIMAL;
}

/* What a statistic may be grouped by: a filterable field the caller sees, of few values. */
static bool
groupable(const struct resource *res, const struct field *f, bool internal)
{
    if (!query_field_filterable(f, internal) || strcmp(f->name, "id") == 0)
        return false;
    switch (f->type) {
    case FT_ENUM:
    case FT_ENUMS:
    case FT_BOOL:
    case FT_CURRENCY:
    case FT_DATE:
    case FT_TIMESTAMP:
        return true;
    case FT_UUID:
        return resource_of_table(f->ref) != NULL;
    case FT_LINKS:
        return res->link != NULL;
    default:
        return false;
    }
}

/* The currency field that goes with f ("amount" with "currency"), or NULL. */
static const char *
currency_of(const struct resource *res, const struct field *f)
{
    for (size_t i = 0; i < res->ntogether; i++) {
        const struct field_pair *p = &res->together[i];
        const char *other = strcmp(p->first, f->name) == 0    ? p->second
                            : strcmp(p->second, f->name) == 0 ? p->first
                                                              : NULL;
        const struct field *o = other ? resource_field(res, other) : NULL;
        if (o != NULL && o->type == FT_CURRENCY)
            return o->name;
    }
    return NULL;
}

static void
allowed_groups(struct buf *b, const struct resource *res, bool internal)
{
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if (!groupable(res, f, internal))
            continue;
        const char *name = query_filter_name(res, f);
        buf_printf(b, "%s%s", b->len ? ", " : "", name);
        if (is_date(f))
            buf_printf(b, ", %s:year, %s:month", name, name);
    }
}

static void
allowed_metrics(struct buf *b, const struct resource *res, bool internal)
{
    for (size_t i = 0; i < res->nfields; i++)
        if (is_numeric(&res->fields[i]) && query_field_visible(&res->fields[i], internal))
            buf_printf(b, "%s%s", b->len ? ", " : "", res->fields[i].name);
    if (b->len == 0)
        buf_puts(b, "(none: this resource has no numeric field)");
}

/* One group_by key: "status", "start_date:year", "organization_id". */
static bool
parse_group(struct stats_request *sr, const char *key, size_t len, bool internal, struct error *err)
{
    char name[64];
    enum date_part part = PART_NONE;
    const char *colon = memchr(key, ':', len);
    size_t nlen = colon ? (size_t)(colon - key) : len;
    const struct field *f = NULL;

    if (colon != NULL) {
        size_t plen = len - nlen - 1;
        if (plen == 4 && strncmp(colon + 1, "year", 4) == 0)
            part = PART_YEAR;
        else if (plen == 5 && strncmp(colon + 1, "month", 5) == 0)
            part = PART_MONTH;
        else
            nlen = sizeof(name); /* refused below */
    }
    if (nlen < sizeof(name)) {
        memcpy(name, key, nlen);
        name[nlen] = '\0';
        for (size_t i = 0; i < sr->res->nfields && f == NULL; i++)
            if (strcmp(query_filter_name(sr->res, &sr->res->fields[i]), name) == 0)
                f = &sr->res->fields[i];
    }
    if (f == NULL || !groupable(sr->res, f, internal) || (part != PART_NONE) != is_date(f) ||
        sr->ngroup == 2) {
        struct buf allowed = {0};
        allowed_groups(&allowed, sr->res, internal);
        error_set(err, 400, "invalid-parameter",
                  "group_by: '%.*s' cannot group %s; group_by takes one or two of: %s",
                  (int)(len > 60 ? 60 : len), key, sr->res->name, allowed.data);
        buf_free(&allowed);
        return false;
    }
    struct group *g = &sr->group[sr->ngroup];
    for (int i = 0; i < sr->ngroup; i++)
        if (sr->group[i].f == f && sr->group[i].part == part)
            return error_set(err, 400, "invalid-parameter", "group_by: '%s' given twice", name);
    g->f = f;
    g->part = part;
    g->ref = f->type == FT_LINKS ? sr->res->link->target : resource_of_table(f->ref);
    snprintf(g->out, sizeof(g->out), "%s%s", name,
             part == PART_YEAR    ? "_year"
             : part == PART_MONTH ? "_month"
                                  : "");
    if (g->ref != NULL) {
        size_t n = strlen(name);
        if (n > 3 && strcmp(name + n - 3, "_id") == 0)
            n -= 3;
        snprintf(g->name_out, sizeof(g->name_out), "%.*s_name", (int)n, name);
    }
    sr->ngroup++;
    return true;
}

/* sum=amount,target and the like. */
static bool
parse_metrics(struct stats_request *sr, enum metric_op op, const char *v, bool internal,
              struct error *err)
{
    for (const char *p = v;;) {
        size_t n = strcspn(p, ",");
        char name[64];
        const struct field *f = NULL;
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, p, n);
            name[n] = '\0';
            f = resource_field(sr->res, name);
        }
        if (f == NULL || !is_numeric(f) || !query_field_visible(f, internal)) {
            struct buf allowed = {0};
            allowed_metrics(&allowed, sr->res, internal);
            error_set(err, 400, "invalid-parameter",
                      "%s: '%.*s' is not a numeric field of %s; "
                      "allowed: %s",
                      metric_ops[op], (int)(n > 60 ? 60 : n), p, sr->res->name, allowed.data);
            buf_free(&allowed);
            return false;
        }
        if (sr->nmetric == STATS_MAX_METRICS)
            return error_set(err, 400, "invalid-parameter",
                             "at most %d of sum, avg, min and max "
                             "fields at once",
                             STATS_MAX_METRICS);
        struct metric *m = &sr->metric[sr->nmetric++];
        m->op = op;
        m->f = f;
        m->per_currency = currency_of(sr->res, f) != NULL;
        snprintf(m->out, sizeof(m->out), "%s_%s", metric_ops[op], f->name);
        p += n;
        if (*p == '\0')
            return true;
        p++;
    }
}

/* Checks a statistics request's parameters into sr (sr->res set); false with err set. */
static bool
parse_args(struct arena *a, const struct query_arg *args, int nargs, bool internal,
           struct stats_request *sr, struct error *err)
{
    struct query_arg filters[QUERY_MAX_ARGS] = {{0}};
    int nfilters = 0;

    for (int i = 0; i < nargs; i++) {
        const char *k = args[i].key, *v = args[i].value ? args[i].value : "";
        int op = -1;
        for (int m = 0; m < (int)ARRAY_LEN(metric_ops); m++)
            if (strcmp(k, metric_ops[m]) == 0)
                op = m;
        if (strcmp(k, "group_by") == 0) {
            for (const char *p = v;;) {
                size_t n = strcspn(p, ",");
                if (!parse_group(sr, p, n, internal, err))
                    return false;
                p += n;
                if (*p == '\0')
                    break;
                p++;
            }
        } else if (op >= 0) {
            if (!parse_metrics(sr, (enum metric_op)op, v, internal, err))
                return false;
        } else if (strcmp(k, "format") == 0) {
            if (strcmp(v, "csv") != 0 && strcmp(v, "json") != 0 && strcmp(v, "xlsx") != 0)
                return error_set(err, 400, "invalid-parameter", "format must be json, csv or xlsx");
            sr->csv = strcmp(v, "csv") == 0;
            sr->xlsx = strcmp(v, "xlsx") == 0;
        } else if (strcmp(k, "lang") == 0) {
            if (!query_lang_param(v, &sr->lang, err))
                return false;
        } else if (strcmp(k, "limit") == 0 || strcmp(k, "cursor") == 0 || strcmp(k, "sort") == 0 ||
                   strcmp(k, "fields") == 0 || strcmp(k, "include") == 0 ||
                   strcmp(k, "count") == 0) {
            return error_set(err, 400, "unknown-parameter",
                             "'%s' does not apply to statistics; allowed: group_by, sum, avg, "
                             "min, max, format, lang and the list filters of %s",
                             k, sr->res->name);
        } else {
            filters[nfilters++] = args[i];
        }
    }
    if (sr->ngroup == 0) {
        struct buf allowed = {0};
        allowed_groups(&allowed, sr->res, internal);
        error_set(err, 400, "invalid-parameter", "group_by is required: one or two of %s",
                  allowed.data);
        buf_free(&allowed);
        return false;
    }
    if (!query_parse(a, sr->res, filters, nfilters, internal, false, &sr->q, err)) {
        struct buf names = {0};
        buf_printf(&names, "group_by, sum, avg, min, max, format, lang%s",
                   sr->res->searchable ? ", q" : "");
        query_allowed_filters(&names, sr->res, internal);
        query_restate_allowed(err, names.data);
        buf_free(&names);
        return false;
    }
    return true;
}

/* The SQL of group g's value for the row aliased a (its joins named g0, g1). */
static void
group_expr(struct buf *b, const struct stats_request *sr, int i)
{
    const struct group *g = &sr->group[i];
    if (g->f->type == FT_ENUMS)
        buf_printf(b, "g%d.v", i);
    else if (g->f->type == FT_LINKS)
        buf_printf(b, "g%d.%s", i, sr->res->link->key);
    else if (g->part == PART_YEAR)
        buf_printf(b, "extract(year FROM a.%s)::int", g->f->name);
    else if (g->part == PART_MONTH)
        buf_printf(b, "to_char(a.%s%s, 'YYYY-MM')", g->f->name,
                   g->f->type == FT_TIMESTAMP ? " AT TIME ZONE 'UTC'" : "");
    else
        buf_printf(b, "a.%s", g->f->name);
}

/* ", sum(m0) AS v0": an average to six decimals at most, the others as the column holds them. */
static void
metric_sql(struct buf *b, const struct metric *m, int i)
{
    if (m->op == M_AVG)
        buf_printf(b, ", trim_scale(round(avg(m%d), 6)) AS v%d", i, i);
    else
        buf_printf(b, ", %s(m%d) AS v%d", metric_ops[m->op], i, i);
}

/*
 * The statement: one row per group, first the keys (as text), the referenced names, the count,
 * the plain metrics (as text), then each per-currency metric as a JSON object. At most
 * STATS_MAX_GROUPS + 1 rows, to tell that there were more.
 */
static void
build(struct sql *s, struct arena *a, const struct stats_request *sr)
{
    struct buf *b = &s->text;
    const char *cur = NULL;
    for (int i = 0; i < sr->nmetric && cur == NULL; i++)
        if (sr->metric[i].per_currency)
            cur = currency_of(sr->res, sr->metric[i].f);

    buf_puts(b, "WITH f AS (SELECT ");
    for (int i = 0; i < sr->ngroup; i++) {
        group_expr(b, sr, i);
        buf_printf(b, " AS k%d, ", i);
    }
    for (int i = 0; i < sr->nmetric; i++)
        buf_printf(b, "a.%s AS m%d, ", sr->metric[i].f->name, i);
    buf_printf(b, "%s%s AS cur FROM %s a", cur ? "a." : "", cur ? cur : "NULL::text",
               sr->res->table);
    for (int i = 0; i < sr->ngroup; i++) {
        const struct field *f = sr->group[i].f;
        if (f->type == FT_ENUMS)
            buf_printf(b, " LEFT JOIN LATERAL unnest(a.%s) AS g%d(v) ON true", f->name, i);
        else if (f->type == FT_LINKS)
            buf_printf(b, " LEFT JOIN %s g%d ON g%d.%s = a.id", sr->res->link->table, i, i,
                       sr->res->link->owner);
    }
    sql_build_where(s, a, sr->res, &sr->q);
    /* the plain metrics over each group */
    buf_puts(b, "), x AS (SELECT ");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, "k%d, ", i);
    buf_puts(b, "count(*) AS n");
    for (int i = 0; i < sr->nmetric; i++)
        if (!sr->metric[i].per_currency)
            metric_sql(b, &sr->metric[i], i);
    buf_puts(b, " FROM f GROUP BY ");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, "%sk%d", i ? ", " : "", i);
    /* the per-currency ones over each group and currency, folded into an object per group */
    buf_puts(b, "), y AS (SELECT ");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, "k%d, ", i);
    buf_puts(b, "cur");
    for (int i = 0; i < sr->nmetric; i++)
        if (sr->metric[i].per_currency)
            metric_sql(b, &sr->metric[i], i);
    buf_puts(b, " FROM f WHERE cur IS NOT NULL GROUP BY ");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, "k%d, ", i);
    buf_puts(b, "cur), z AS (SELECT ");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, "k%d, ", i);
    buf_puts(b, "true AS here");
    for (int i = 0; i < sr->nmetric; i++)
        if (sr->metric[i].per_currency)
            buf_printf(b,
                       ", json_object_agg(cur, v%d::text) FILTER (WHERE v%d IS NOT NULL) "
                       "AS v%d",
                       i, i, i);
    buf_puts(b, " FROM y GROUP BY ");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, "%sk%d", i ? ", " : "", i);
    buf_puts(b, ") SELECT ");
    for (int i = 0; i < sr->ngroup; i++) {
        buf_printf(b, "x.k%d::text, ", i);
        const struct resource *ref = sr->group[i].ref;
        if (ref == NULL)
            continue;
        const char *shown = ref->display_field ? ref->display_field : "id";
        const struct field *f = resource_field(ref, shown);
        buf_puts(b, "(SELECT ");
        if (sr->lang != NULL && f != NULL && query_field_translated(ref, f))
            sql_translated(b, f, "r", sr->lang);
        else
            buf_printf(b, "r.%s::text", shown);
        buf_printf(b, " FROM %s r WHERE r.id = x.k%d), ", ref->table, i);
    }
    buf_puts(b, "x.n");
    for (int i = 0; i < sr->nmetric; i++)
        buf_printf(
            b, sr->metric[i].per_currency ? ", coalesce(z.v%d, '{}')::text" : ", x.v%d::text", i);
    buf_puts(b, " FROM x LEFT JOIN z ON true");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, " AND z.k%d IS NOT DISTINCT FROM x.k%d", i, i);
    buf_puts(b, " ORDER BY ");
    for (int i = 0; i < sr->ngroup; i++)
        buf_printf(b, "%sx.k%d NULLS LAST", i ? ", " : "", i);
    buf_printf(b, " LIMIT %d", STATS_MAX_GROUPS + 1);
}

/* A key's value as JSON: numbers for years and counts, booleans, text otherwise. */
static json_t *
key_json(const struct group *g, const char *v)
{
    if (v == NULL)
        return json_null();
    if (g->part == PART_YEAR)
        return json_integer(atoll(v));
    if (g->f->type == FT_BOOL)
        return json_boolean(strcmp(v, "true") == 0);
    return json_string(v);
}

static int
column_count(const struct stats_request *sr)
{
    int n = sr->ngroup + 1 + sr->nmetric;
    for (int i = 0; i < sr->ngroup; i++)
        n += sr->group[i].ref != NULL;
    return n;
}

static void
answer_json(struct request *r, const struct stats_request *sr, PGresult *pg)
{
    json_t *data = json_array(), *by = json_array();
    for (int i = 0; i < sr->ngroup; i++)
        json_array_append_new(by, json_string(sr->group[i].out));
    for (int row = 0; row < PQntuples(pg); row++) {
        json_t *o = json_object();
        int c = 0;
        for (int i = 0; i < sr->ngroup; i++) {
            const char *v = PQgetisnull(pg, row, c) ? NULL : PQgetvalue(pg, row, c);
            json_object_set_new(o, sr->group[i].out, key_json(&sr->group[i], v));
            c++;
            if (sr->group[i].ref != NULL) {
                json_object_set_new(o, sr->group[i].name_out,
                                    PQgetisnull(pg, row, c) ? json_null()
                                                            : json_string(PQgetvalue(pg, row, c)));
                c++;
            }
        }
        json_object_set_new(o, "count", json_integer(atoll(PQgetvalue(pg, row, c++))));
        for (int i = 0; i < sr->nmetric; i++, c++) {
            if (sr->metric[i].per_currency)
                json_object_set_new(o, sr->metric[i].out,
                                    json_loads(PQgetvalue(pg, row, c), 0, NULL));
            else
                json_object_set_new(o, sr->metric[i].out,
                                    PQgetisnull(pg, row, c) ? json_null()
                                                            : json_string(PQgetvalue(pg, row, c)));
        }
        json_array_append_new(data, o);
    }
    http_json(r, 200,
              json_pack("{s:s,s:o,s:o}", "resource", sr->res->name, "group_by", by, "data", data));
}

/* One CSV cell (RFC 4180); text that a spreadsheet would run as a formula gets a leading ',
 * numbers are left as they are, as in the lists' CSV. */
static void
csv_cell(struct buf *b, const char *v)
{
    if (v == NULL)
        return;
    bool formula = v[0] != '\0' && strchr("=+-@\t\r", v[0]) != NULL && !value_is_number(v);
    if (strpbrk(v, ",\"\r\n") == NULL && !formula) {
        buf_puts(b, v);
        return;
    }
    buf_putc(b, '"');
    if (formula)
        buf_putc(b, '\'');
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            buf_putc(b, '"');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

static int
compare_strings(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The currencies a per-currency metric's objects name, sorted: its CSV columns. */
static json_t *
currencies(PGresult *pg, int col)
{
    json_t *set = json_object(), *list = json_array();
    for (int row = 0; row < PQntuples(pg); row++) {
        json_t *o = json_loads(PQgetvalue(pg, row, col), 0, NULL);
        json_object_update(set, o);
        json_decref(o);
    }
    size_t n = json_object_size(set), k = 0;
    const char **names = xcalloc(n ? n : 1, sizeof(*names));
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v)
    {
        (void)v;
        names[k++] = key;
    }
    qsort(names, n, sizeof(*names), compare_strings);
    for (k = 0; k < n; k++)
        json_array_append_new(list, json_string(names[k]));
    free(names);
    json_decref(set);
    return list;
}

/* Where a table's cells go: CSV text, or the rows of a sheet. */
struct table {
    struct buf csv;
    struct xlsx *sheet;
    const char *cells[64];
    bool numeric[64];
    int n;
};

static void
cell(struct table *t, const char *v, bool numeric)
{
    if (t->sheet != NULL) {
        if (t->n < (int)ARRAY_LEN(t->cells)) {
            t->cells[t->n] = v;
            t->numeric[t->n] = numeric;
            t->n++;
        }
        return;
    }
    if (t->n++ > 0)
        buf_putc(&t->csv, ',');
    csv_cell(&t->csv, v);
}

static void
end_row(struct table *t)
{
    if (t->sheet != NULL)
        xlsx_row(t->sheet, t->cells, t->numeric, t->n);
    else
        buf_puts(&t->csv, "\r\n");
    t->n = 0;
}

/* The statistics as a table: a header row, then a row per group; a column per currency. */
static void
fill_table(struct table *t, const struct stats_request *sr, PGresult *pg, struct arena *a)
{
    json_t *cols[STATS_MAX_METRICS] = {0};
    int first_metric = column_count(sr) - sr->nmetric;

    for (int i = 0; i < sr->ngroup; i++) {
        cell(t, sr->group[i].out, false);
        if (sr->group[i].ref != NULL)
            cell(t, sr->group[i].name_out, false);
    }
    cell(t, "count", false);
    for (int i = 0; i < sr->nmetric; i++) {
        if (!sr->metric[i].per_currency) {
            cell(t, sr->metric[i].out, false);
            continue;
        }
        cols[i] = currencies(pg, first_metric + i);
        for (size_t k = 0; k < json_array_size(cols[i]); k++)
            cell(t,
                 arena_printf(a, "%s_%s", sr->metric[i].out,
                              json_string_value(json_array_get(cols[i], k))),
                 false);
    }
    end_row(t);
    for (int row = 0; row < PQntuples(pg); row++) {
        int c = 0;
        for (int i = 0; i < sr->ngroup; i++) {
            const struct group *g = &sr->group[i];
            cell(t, PQgetisnull(pg, row, c) ? NULL : PQgetvalue(pg, row, c), g->part == PART_YEAR);
            c++;
            if (g->ref != NULL) {
                cell(t, PQgetisnull(pg, row, c) ? NULL : PQgetvalue(pg, row, c), false);
                c++;
            }
        }
        cell(t, PQgetvalue(pg, row, c), true);
        for (int i = 0; i < sr->nmetric; i++) {
            c = first_metric + i;
            if (!sr->metric[i].per_currency) {
                cell(t, PQgetisnull(pg, row, c) ? NULL : PQgetvalue(pg, row, c), true);
                continue;
            }
            json_t *o = json_loads(PQgetvalue(pg, row, c), 0, NULL);
            for (size_t k = 0; k < json_array_size(cols[i]); k++) {
                const char *cur = json_string_value(json_array_get(cols[i], k));
                const char *v = json_string_value(json_object_get(o, cur));
                cell(t, v ? arena_strdup(a, v) : NULL, true);
            }
            json_decref(o);
        }
        end_row(t);
    }
    for (int i = 0; i < sr->nmetric; i++)
        json_decref(cols[i]);
}

static void
answer_table(struct request *r, const struct stats_request *sr, PGresult *pg, struct error *err)
{
    struct table t = {0};
    if (sr->xlsx) {
        t.sheet = xlsx_open(sr->res->name, query_lang_rtl(sr->lang));
        if (t.sheet == NULL) {
            error_set(err, 503, "export-failed", "the spreadsheet could not be made; try again");
            return;
        }
        fill_table(&t, sr, pg, &r->arena);
        engine_send_workbook(r, t.sheet, NULL, err);
        return;
    }
    buf_puts(&t.csv, "\xEF\xBB\xBF"); /* UTF-8 byte-order mark, for spreadsheets */
    fill_table(&t, sr, pg, &r->arena);
    size_t len = t.csv.len;
    http_owned(r, 200, "text/csv; charset=utf-8", buf_take(&t.csv), len);
}

bool
stats_statement(struct arena *a, const struct resource *res, const struct query_arg *args,
                int nargs, bool internal, struct sql *s, struct error *err)
{
    struct stats_request sr = {.res = res};
    if (!parse_args(a, args, nargs, internal, &sr, err))
        return false;
    build(s, a, &sr);
    return true;
}

void
stats_resource(struct request *r)
{
    stats_of(r, resource_by_name(r->params[0], strlen(r->params[0])));
}

void
stats_of(struct request *r, const struct resource *res)
{
    struct error err = {0};
    struct stats_request sr = {0};
    struct sql s = {0};
    PGresult *pg = NULL;

    sr.res = res;
    if (sr.res == NULL) {
        struct buf all = {0};
        resource_names(&all, ", ");
        error_set(&err, 404, "not-found", "no statistics of '%.60s'; there are statistics of %s",
                  r->params[0], all.data);
        buf_free(&all);
        goto out;
    }
    struct query_arg args[QUERY_MAX_ARGS] = {{0}};
    int nargs = 0;
    if (!access_route(&r->who, sr.res->name, ACT_READ, &err) ||
        !http_query_args(r, args, QUERY_MAX_ARGS, &nargs, &err) ||
        !parse_args(&r->arena, args, nargs, access_sees_internal(&r->who), &sr, &err))
        goto out;
    const char *accept = http_header(r, MHD_HTTP_HEADER_ACCEPT);
    if (accept != NULL && strstr(accept, "text/csv") != NULL && http_query(r, "format") == NULL)
        sr.csv = true;
    sr.lang = engine_read_language(r, sr.lang);
    build(&s, &r->arena, &sr);
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL || (pg = db_exec_sql(c, s.text.data, s.nparams, s.params, &err)) == NULL)
        goto out;
    if (PQntuples(pg) > STATS_MAX_GROUPS) {
        error_set(&err, 400, "too-many-groups",
                  "more than %d groups; group by fewer or coarser keys, or narrow the filters",
                  STATS_MAX_GROUPS);
        goto out;
    }
    if (sr.csv || sr.xlsx)
        answer_table(r, &sr, pg, &err);
    else
        answer_json(r, &sr, pg);
out:
    http_error(r, &err);
    PQclear(pg);
    sql_free(&s);
}
