/* sql.c - statements built from a checked list_query: identifiers from the descriptor only,
 * every value as a $n parameter. */
#include "sharaka/sql.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/values.h"

static const char *const op_sql[] = {
    [OP_GT] = ">",
    [OP_GTE] = ">=",
    [OP_LT] = "<",
    [OP_LTE] = "<=",
};

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
field_expr(struct sql *s, const struct resource *res, const struct field *f, const char *alias)
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
    case FT_LINKS: {
        const struct link *l = res->link;
        buf_printf(&s->text,
                   "(SELECT coalesce(json_agg(json_build_object('%s', po.%s, '%s', po.%s) ORDER BY "
                   "po.%s), '[]') FROM %s po WHERE po.%s = %s.id)",
                   l->key, l->key, l->attribute, l->attribute, l->position, l->table, l->owner,
                   alias);
        break;
    }
    default:
        buf_printf(&s->text, "%s.%s", alias, f->name);
    }
}

static void row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
                     const struct list_query *q, const char *lang, int depth);

/* True when field i of res is shown translated by a read of q (NULL: the whole record). */
static bool
shown_translated(const struct resource *res, size_t i, bool internal, const struct list_query *q)
{
    const struct field *f = &res->fields[i];
    return query_field_visible(f, internal) && (q == NULL || q->selected[i]) &&
           query_field_translated(res, f);
}

void
sql_translated(struct buf *b, const struct field *f, const char *alias, const char *lang)
{
    if (f->type == FT_SECTIONS)
        buf_printf(b, "sharaka_sections_in(%s.%s, '%s')", alias, f->name, lang);
    else
        buf_printf(b, "coalesce(%s.%s_%s, %s.%s)", alias, f->name, lang, alias, f->name);
}

/* The display_<f> members of a read in lang (a static "ar", "en" or "fr"): each translated field
 * the record shows, in lang where it is given, else as given; each as "'name', value" for
 * json_build_object, after a comma unless first. */
static void
display_members(struct sql *s, const struct resource *res, const char *alias, bool internal,
                const struct list_query *q, const char *lang, bool first)
{
    for (size_t i = 0; lang != NULL && i < res->nfields; i++) {
        const char *name = res->fields[i].name;
        if (!shown_translated(res, i, internal, q))
            continue;
        buf_printf(&s->text, "%s'display_%s', ", first ? "" : ", ", name);
        first = false;
        sql_translated(&s->text, &res->fields[i], alias, lang);
    }
}

/* The items of the link field, each with the record it names embedded (include=). */
static void
links_embedded(struct sql *s, const struct link *l, const char *alias, bool internal,
               const char *lang)
{
    buf_printf(&s->text,
               "(SELECT coalesce(json_agg(json_build_object('%s', po.%s, '%s', po.%s, '%s', "
               "(SELECT ",
               l->key, l->key, l->attribute, l->attribute, l->target->singular);
    row_json(s, l->target, "po_o", internal, NULL, lang, 1);
    buf_printf(&s->text,
               " FROM %s po_o WHERE po_o.id = po.%s AND po_o.deleted_at IS NULL)) ORDER BY "
               "po.%s), '[]') FROM %s po WHERE po.%s = %s.id)",
               l->target->table, l->key, l->position, l->table, l->owner, alias);
}

static void
row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
         const struct list_query *q, const char *lang, int depth)
{
    bool first = true;
    bool embed_links = false;

    if (q != NULL && depth == 0) {
        for (size_t i = 0; i < res->nincludes; i++)
            if (q->included[i] && res->includes[i].fk == NULL)
                embed_links = true;
    }
    buf_puts(&s->text, "json_build_object(");
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if (!query_field_visible(f, internal) || (q != NULL && depth == 0 && !q->selected[i]))
            continue;
        buf_printf(&s->text, "%s'%s', ", first ? "" : ", ", f->name);
        first = false;
        if (f->type == FT_LINKS && embed_links)
            links_embedded(s, res->link, alias, internal, lang);
        else
            field_expr(s, res, f, alias);
    }
    for (size_t i = 0; q != NULL && depth == 0 && i < res->nincludes; i++) {
        const struct include *inc = &res->includes[i];
        if (!q->included[i] || inc->fk == NULL)
            continue;
        char sub[24];
        snprintf(sub, sizeof(sub), "i%zu", i);
        buf_printf(&s->text, ", '%s', (SELECT ", inc->name);
        row_json(s, inc->target, sub, internal, NULL, lang, depth + 1);
        buf_printf(&s->text, " FROM %s %s WHERE %s.id = %s.%s AND %s.deleted_at IS NULL)",
                   inc->target->table, sub, sub, alias, inc->fk, sub);
    }
    display_members(s, res, alias, internal, depth == 0 ? q : NULL, lang, first);
    buf_putc(&s->text, ')');
}

void
sql_row_json(struct sql *s, const struct resource *res, const char *alias, bool internal,
             const struct list_query *q)
{
    row_json(s, res, alias, internal, q, q != NULL ? q->lang : NULL, 0);
}

/* True when q asks for the whole record: every field the caller may see, nothing included. */
static bool
whole_record(const struct resource *res, bool internal, const struct list_query *q)
{
    if (q == NULL)
        return true;
    for (size_t i = 0; i < res->nfields; i++)
        if (query_field_visible(&res->fields[i], internal) && !q->selected[i])
            return false;
    for (size_t i = 0; i < res->nincludes; i++)
        if (q->included[i])
            return false;
    return true;
}

/*
 * The JSON text of the record a: for a whole record, its document, kept by the triggers of
 * documents.c (built here only should it be missing); otherwise built for what q selects.
 * The fallback reads the record anew (alias w) rather than through a: a statement whose other
 * clauses need only columns of an index (the id, the default sort's keys) then reads the index
 * alone, with no visit to the table, and the fallback's subquery runs only for a missing document.
 */
static void
record_json(struct sql *s, const struct resource *res, bool internal, const struct list_query *q)
{
    const char *lang = q != NULL ? q->lang : NULL;
    if (!resource_documents_kept(res) || !whole_record(res, internal, q)) {
        row_json(s, res, "a", internal, q, lang, 0);
        buf_puts(&s->text, "::text");
        return;
    }
    /* In a language, the display members are spliced in before the document's closing brace. */
    bool display = false;
    for (size_t i = 0; lang != NULL && i < res->nfields; i++)
        display |= shown_translated(res, i, internal, q);
    if (display)
        buf_puts(&s->text, "(left(");
    buf_printf(&s->text, "coalesce((SELECT d.%s FROM %s_documents d WHERE d.id = a.id), (SELECT (",
               internal ? "internal" : "public", res->table);
    row_json(s, res, "w", internal, NULL, NULL, 0);
    buf_printf(&s->text, ")::text FROM %s w WHERE w.id = a.id))", res->table);
    if (!display)
        return;
    buf_puts(&s->text, ", -1) || ', ' || substr(json_build_object(");
    display_members(s, res, "a", internal, q, lang, true);
    buf_puts(&s->text, ")::text, 2))");
}

/*
 * The field index of the n-th CSV column, or -1 past the last: the fields= order when given, else
 * the descriptor's, skipping what the caller may not see.
 */
int
sql_csv_column(const struct resource *res, bool internal, const struct list_query *q, int n)
{
    int seen = 0;
    size_t count = q->norder > 0 ? (size_t)q->norder : res->nfields;
    for (size_t j = 0; j < count; j++) {
        size_t i = q->norder > 0 ? (size_t)q->order[j] : j;
        if (!query_field_visible(&res->fields[i], internal) || !q->selected[i])
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
    for (int n = 0, i; (i = sql_csv_column(res, internal, q, n)) >= 0; n++) {
        const struct field *f = &res->fields[i];
        if (f->type == FT_NUMBER || f->type == FT_DECIMAL) {
            buf_puts(&s->text, ", (");
            field_expr(s, res, f, "a");
            buf_puts(&s->text, ")::text");
        } else if (query_field_json_valued(f)) {
            buf_puts(&s->text, ", sharaka_csv(to_json(");
            field_expr(s, res, f, "a");
            buf_puts(&s->text, ")::text)");
        } else {
            buf_puts(&s->text, ", sharaka_csv(");
            field_expr(s, res, f, "a");
            buf_puts(&s->text, "::text)");
        }
    }
    buf_putc(&s->text, ')');
}

void
sql_csv_header(struct buf *b, const struct resource *res, bool internal, const struct list_query *q)
{
    for (int n = 0, i; (i = sql_csv_column(res, internal, q, n)) >= 0; n++)
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

/* The array literal of one value, commas and all. */
static const char *
one_item(struct arena *a, const char *value)
{
    struct buf b = {0};
    buf_puts(&b, "{\"");
    for (const char *p = value; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_putc(&b, '\\');
        buf_putc(&b, *p);
    }
    buf_puts(&b, "\"}");
    char *out = arena_strdup(a, b.data);
    buf_free(&b);
    return out;
}

/* value with LIKE's wildcards taken literally: % _ and the escape character \ escaped. */
static const char *
like_escaped(struct arena *a, const char *value)
{
    struct buf b = {0};
    for (const char *p = value; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            buf_putc(&b, '\\');
        buf_putc(&b, *p);
    }
    char *out = arena_strdup(a, b.len ? b.data : "");
    buf_free(&b);
    return out;
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
        /* ne holds one value, commas included; eq and not_in a list */
        const char *list = flt->op == OP_NE ? one_item(a, flt->value) : NULL;
        buf_puts(&s->text, " AND ");
        if (flt->op == OP_NULL) {
            buf_printf(&s->text, "a.%s IS %sNULL", f->name,
                       strcmp(flt->value, "true") == 0 ? "" : "NOT ");
            continue;
        }
        if (flt->op == OP_CONTAINS || flt->op == OP_STARTSWITH) {
            /* the same expression as the trigram indexes of migration 0011 */
            buf_printf(&s->text, "sharaka_fold(a.%s) LIKE %ssharaka_fold(", f->name,
                       flt->op == OP_CONTAINS ? "'%' || " : "");
            sql_param(s, like_escaped(a, flt->value));
            buf_puts(&s->text, "::text) || '%'");
            continue;
        }
        bool negate = flt->op == OP_NE || flt->op == OP_NOT_IN;
        if (list == NULL)
            list = array_literal(a, flt->value);
        if (negate)
            buf_puts(&s->text, "NOT coalesce(");
        if (f->type == FT_LINKS) {
            const struct link *l = res->link;
            buf_printf(&s->text,
                       "EXISTS (SELECT 1 FROM %s fpo WHERE fpo.%s = a.id AND fpo.%s = ANY(",
                       l->table, l->owner, l->key);
            sql_param(s, list);
            buf_puts(&s->text, "::uuid[]))");
        } else if (f->type == FT_STRMAP) {
            const char *colon = strchr(flt->value, ':');
            buf_printf(&s->text, "a.%s @> jsonb_build_object(", f->name);
            sql_param(s, arena_strndup(a, flt->value, (size_t)(colon - flt->value)));
            buf_puts(&s->text, "::text, ");
            sql_param(s, colon + 1);
            buf_puts(&s->text, "::text)");
        } else if (query_field_is_array(f) && (flt->op == OP_EQ || negate)) {
            buf_printf(&s->text, "a.%s && ", f->name);
            sql_param(s, list);
            buf_printf(&s->text, "::%s[]", type);
        } else if (flt->op == OP_EQ || negate) {
            buf_printf(&s->text, "a.%s = ANY(", f->name);
            sql_param(s, list);
            buf_printf(&s->text, "::%s[])", type);
        } else {
            buf_printf(&s->text, "a.%s %s ", f->name, op_sql[flt->op]);
            sql_param(s, flt->value);
            buf_printf(&s->text, "::%s", type);
        }
        /* a record without a value is neither equal to the values nor unequal: left out */
        if (negate)
            buf_puts(&s->text, ", true)");
    }
    if (q->q != NULL) {
        /* once per statement (an init plan), and the GIN index answers the match */
        buf_puts(&s->text, " AND a.search @@ (SELECT sharaka_tsq_typeahead(");
        sql_param(s, q->q);
        buf_puts(&s->text, "::text))");
    }
}

/* The SQL of sort key k of the row aliased a: its column, or for relevance the search rank (as
 * numeric, so that its text in a cursor compares back exactly). */
void
sql_sort_key(struct sql *s, const struct list_query *q, int k)
{
    if (q->sort[k].field == &query_relevance) {
        buf_puts(&s->text, "ts_rank(a.search, (SELECT sharaka_tsq_typeahead(");
        sql_param(s, q->q);
        buf_puts(&s->text, "::text)))::numeric");
    } else {
        buf_printf(&s->text, "a.%s", q->sort[k].field->name);
    }
}

/* True when every sort key is not null and all go the same way: a row comparison then works. */
static bool
simple_keyset(const struct list_query *q)
{
    for (int i = 0; i < q->nsort; i++)
        if (query_field_nullable(q->sort[i].field) || q->sort[i].desc != q->sort[0].desc)
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
        if (query_field_nullable(f))
            buf_printf(&s->text, "(a.%s IS NULL), ", f->name);
        sql_sort_key(s, q, i);
        buf_printf(&s->text, "%s, ", q->sort[i].desc ? " DESC" : "");
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
        for (int i = 0; i < q->nsort; i++) {
            sql_sort_key(s, q, i);
            buf_puts(&s->text, ", ");
        }
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
                buf_puts(&s->text, " AND ");
                sql_sort_key(s, q, k);
                buf_puts(&s->text, " = ");
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
            buf_puts(&s->text, " AND (");
            sql_sort_key(s, q, i);
            buf_printf(&s->text, " %s ", q->sort[i].desc ? "<" : ">");
            sql_param(s, v);
            buf_printf(
                &s->text, "::%s%s%s%s))", query_pg_type(f), query_field_nullable(f) ? " OR a." : "",
                query_field_nullable(f) ? f->name : "", query_field_nullable(f) ? " IS NULL" : "");
        }
    }
    buf_puts(&s->text, ")");
}

/* True when the answer embeds related records: some include= is asked for (JSON and NDJSON). */
static bool
embeds(const struct resource *res, const struct list_query *q)
{
    for (size_t i = 0; q->format != FORMAT_CSV && q->format != FORMAT_XLSX && i < res->nincludes;
         i++)
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
            buf_printf(&s->text, " + (SELECT count(*) FROM %s ec WHERE ec.%s = a.id)::int",
                       res->link->table, res->link->owner);
    }
    buf_puts(&s->text, ")");
}

/*
 * The one row a list statement returns, over the rows p of the page: the page as JSON, NDJSON
 * or CSV text, the keyset of its last row when there is more, the total (q->count), whether
 * the sub-collection's parent is live, and how many records the page embeds.
 */
static void
page_columns(struct sql *s, struct arena *a, const struct resource *res, const struct list_query *q)
{
    buf_puts(&s->text, "SELECT ");
    switch (q->format) {
    case FORMAT_JSON:
        buf_puts(&s->text, "coalesce('[' || string_agg(p.j::text, ',' ORDER BY p.rn) FILTER "
                           "(WHERE p.rn <= p.lim) || ']', '[]')");
        break;
    case FORMAT_NDJSON:
    case FORMAT_XLSX:
        buf_puts(&s->text, "coalesce(string_agg(p.j::text, E'\\n' ORDER BY p.rn) FILTER (WHERE "
                           "p.rn <= p.lim) || E'\\n', '')");
        break;
    case FORMAT_CSV:
        buf_puts(&s->text, "coalesce(string_agg(p.j, E'\\r\\n' ORDER BY p.rn) FILTER (WHERE "
                           "p.rn <= p.lim) || E'\\r\\n', '')");
        break;
    }
    /* The keyset of the page's last row, made for that row only (or kept as p.k when the rows
     * were chosen first). */
    buf_puts(&s->text, ", CASE WHEN count(*) > min(p.lim) THEN max(");
    if (embeds(res, q)) {
        buf_puts(&s->text, "p.k::text");
    } else {
        buf_puts(&s->text, "json_build_array(");
        for (int i = 0; i < q->nsort; i++)
            buf_printf(&s->text, "p.k%d::text, ", i);
        buf_puts(&s->text, "p.kid)::text");
    }
    buf_puts(&s->text, ") FILTER (WHERE p.rn = p.lim) END, ");
    if (q->count) {
        buf_printf(&s->text, "(SELECT count(*) FROM %s a", res->table);
        where_filters(s, a, res, q);
        buf_puts(&s->text, ")");
    } else {
        buf_puts(&s->text, "NULL::bigint");
    }
    /* A sub-collection answers whether its parent exists in the same round trip. */
    buf_puts(&s->text, ", ");
    if (res->parent != NULL && q->parent_id != NULL) {
        buf_printf(&s->text, "EXISTS (SELECT 1 FROM %s pa WHERE pa.id = ", res->parent->table);
        sql_param(s, q->parent_id);
        buf_puts(&s->text, "::uuid AND pa.deleted_at IS NULL)");
    } else {
        buf_puts(&s->text, "true");
    }
    buf_puts(&s->text, ", max(p.embedded)");
}

bool
sql_list_by_rows(const struct resource *res, const struct list_query *q)
{
    return !embeds(res, q) && !q->count && !(res->parent != NULL && q->parent_id != NULL);
}

/* " WHERE ... ORDER BY ... LIMIT n + 1": the rows of the page after the cursor, one more than
 * the limit to know whether another page follows. */
static void
page_rows(struct sql *s, struct arena *a, const struct resource *res, const struct list_query *q,
          const char *lim)
{
    where_filters(s, a, res, q);
    if (q->has_cursor)
        keyset_condition(s, q);
    order_by(s, q);
    buf_printf(&s->text, " LIMIT %s + 1", lim);
}

/* The page as one row per record: its text, then its keyset (each sort key as text, the id). */
static void
rows_statement(struct sql *s, struct arena *a, const struct resource *res, bool internal,
               const struct list_query *q, const char *lim)
{
    buf_puts(&s->text, "SELECT ");
    if (q->format == FORMAT_CSV)
        row_csv(s, res, internal, q);
    else
        record_json(s, res, internal, q);
    for (int i = 0; i < q->nsort; i++) {
        buf_puts(&s->text, ", ");
        sql_sort_key(s, q, i);
        buf_puts(&s->text, "::text");
    }
    buf_printf(&s->text, ", a.id FROM %s a", res->table);
    page_rows(s, a, res, q, lim);
}

void
sql_build_list(struct sql *s, struct arena *a, const struct resource *res, bool internal,
               const struct list_query *q)
{
    char limit[16];
    bool embedding = embeds(res, q);

    /* The limit is written into the statement, not passed: with LIMIT $n PostgreSQL's generic
     * plan assumes a tenth of the table and it plans every execution anew. It is the number
     * query_parse checked (1 to QUERY_MAX_LIMIT), printed here from an int, so at most
     * QUERY_MAX_LIMIT texts of each statement exist. */
    snprintf(limit, sizeof(limit), "%d", q->limit);
    const char *lim = arena_strdup(a, limit);

    if (sql_list_by_rows(res, q)) {
        rows_statement(s, a, res, internal, q, lim);
        return;
    }
    page_columns(s, a, res, q);
    if (embedding) {
        /*
         * The page's rows are chosen first with the number of records each embeds; the rows'
         * JSON (with what they embed) is built only when the page stays within the cap.
         */
        char cap[16];
        snprintf(cap, sizeof(cap), "%d", QUERY_MAX_EMBEDDED);
        buf_printf(&s->text,
                   " FROM (SELECT CASE WHEN v.rn <= v.lim AND v.embedded <= %s THEN (SELECT ", cap);
        row_json(s, res, "a", internal, q, q->lang, 0);
        buf_printf(&s->text,
                   " FROM %s a WHERE a.id = v.id) END AS j, v.k, v.lim, v.rn, v.embedded FROM "
                   "(SELECT u.*, sum(u.e) FILTER (WHERE u.rn <= u.lim) OVER () AS embedded "
                   "FROM (SELECT t.*, row_number() OVER () AS rn FROM (SELECT a.id, ",
                   res->table);
        embedded_count(s, res, q);
        buf_puts(&s->text, " AS e, json_build_array(");
    } else {
        buf_puts(&s->text, " FROM (SELECT t.*, 0 AS embedded, row_number() OVER () AS rn FROM "
                           "(SELECT ");
        if (q->format == FORMAT_CSV)
            row_csv(s, res, internal, q);
        else
            record_json(s, res, internal, q);
        buf_puts(&s->text, " AS j, ");
        for (int i = 0; i < q->nsort; i++) {
            sql_sort_key(s, q, i);
            buf_printf(&s->text, " AS k%d, ", i);
        }
        buf_puts(&s->text, "a.id AS kid, ");
    }
    if (embedding) {
        /* Keyset values travel as text, so that numbers and times come back exactly. */
        for (int i = 0; i < q->nsort; i++) {
            sql_sort_key(s, q, i);
            buf_puts(&s->text, "::text, ");
        }
        buf_puts(&s->text, "a.id) AS k, ");
    }
    buf_puts(&s->text, lim);
    buf_printf(&s->text, " AS lim FROM %s a", res->table);
    page_rows(s, a, res, q, lim);
    buf_puts(&s->text, embedding ? ") t) u) v) p" : ") t) p");
}

void
sql_build_export(struct sql *s, struct arena *a, const struct resource *res, bool internal,
                 const struct list_query *q)
{
    buf_puts(&s->text, "SELECT ");
    if (q->format == FORMAT_CSV) {
        row_csv(s, res, internal, q);
        buf_puts(&s->text, "::text");
    } else {
        record_json(s, res, internal, q);
    }
    buf_printf(&s->text, " FROM %s a", res->table);
    where_filters(s, a, res, q);
    order_by(s, q);
}

void
sql_build_where(struct sql *s, struct arena *a, const struct resource *res,
                const struct list_query *q)
{
    where_filters(s, a, res, q);
}

void
sql_build_get(struct sql *s, const struct resource *res, bool internal, const struct list_query *q)
{
    buf_puts(&s->text, "SELECT ");
    record_json(s, res, internal, q);
    buf_printf(&s->text, ", %s FROM %s a WHERE a.id = $1::uuid%s",
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

/* The GET statement of each whole record of a top-level resource, built once per process. */
static _Atomic(char *) whole_gets[2][16];

const char *
sql_get_whole(const struct resource *res, bool internal, const struct list_query *q)
{
    if (res->parent != NULL || (q != NULL && (q->parent_id != NULL || q->lang != NULL)) ||
        !whole_record(res, internal, q))
        return NULL;
    int i = resource_index(res);
    if (i < 0 || (size_t)i >= ARRAY_LEN(whole_gets[0]))
        return NULL;
    _Atomic(char *) *slot = &whole_gets[internal][i];
    char *text = atomic_load(slot);
    if (text != NULL)
        return text;
    struct sql built = {0};
    sql_build_get(&built, res, internal, NULL);
    char *expected = NULL;
    if (atomic_compare_exchange_strong(slot, &expected, built.text.data))
        return built.text.data;
    sql_free(&built); /* another thread built it first */
    return expected;
}
