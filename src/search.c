/*
 * search.c - GET /v1/search: one search box over every resource the caller may read.
 *
 * One statement, built once from the descriptors: each searchable resource's best matches (its
 * GIN-indexed search column against q read as one types), merged into one list by rank; only
 * then is each hit's snippet cut, from the fields its search column is made of, HTML-escaped with
 * the matches in <mark>. A resource the caller may not read is never searched, so what it holds
 * cannot show through a hit.
 */
#include <string.h>

#include "sharaka/access.h"
#include "sharaka/db.h"
#include "sharaka/engine.h"
#include "sharaka/handlers.h"
#include "sharaka/resource.h"
#include "sharaka/sql.h"

#define SEARCH_DEFAULT_LIMIT 20
#define SEARCH_MAX_LIMIT     50
#define SEARCH_Q_MAX         500

static char *statement;

/* A resource the search box covers: it has a search column and names its hits. */
static bool
searched(const struct resource *res)
{
    return res != NULL && res->searchable && res->display_field != NULL;
}

/* The text a hit's snippet is cut from, escaped for HTML: its search fields, joined. */
static void
snippet_source(struct buf *b, const struct resource *res)
{
    buf_puts(b, "replace(replace(replace(concat_ws(' · '");
    for (const char *const *f = res->search_fields; *f != NULL; f++) {
        const struct field *field = resource_field(res, *f);
        if (field != NULL && field->type == FT_SECTIONS)
            buf_printf(b, ", sharaka_sections_text(a.%s)", *f);
        else
            buf_printf(b, ", a.%s", *f);
    }
    buf_puts(b, "), '&', '&amp;'), '<', '&lt;'), '>', '&gt;')");
}

/* A hit's name: its display field, in the language $4 names (ar, en, fr or null) where the
 * field is translated and the translation given. */
static void
hit_name(struct buf *b, const struct resource *res)
{
    const char *f = res->display_field;
    if (!query_field_translated(res, resource_field(res, f))) {
        buf_printf(b, "a.%s::text", f);
        return;
    }
    buf_puts(b, "coalesce(CASE $4::text");
    for (const char *const *l = query_langs; *l != NULL; l++)
        buf_printf(b, " WHEN '%s' THEN a.%s_%s", *l, f, *l);
    buf_printf(b, " END, a.%s)", f);
}

void
search_init(void)
{
    struct buf b = {0};
    bool first = true;

    buf_puts(&b, "WITH tq AS (SELECT sharaka_tsq_typeahead($1::text) AS q), hits AS (");
    for (size_t i = 0; i < resources_count; i++) {
        const struct resource *res = resources_all[i];
        if (!searched(res))
            continue;
        buf_printf(&b, "%s(SELECT '%s'::text AS resource, a.id, ", first ? "" : " UNION ALL ",
                   res->name);
        hit_name(&b, res);
        buf_printf(&b,
                   " AS name, ts_rank(a.search, tq.q) AS rank FROM %s a, tq WHERE '%s' = "
                   "ANY($2::text[]) AND a.deleted_at IS NULL AND a.search @@ tq.q ORDER BY 4 "
                   "DESC, a.id LIMIT $3::int)",
                   res->table, res->name);
        first = false;
    }
    buf_puts(&b, "), top AS (SELECT * FROM hits ORDER BY rank DESC, resource, id LIMIT $3::int) "
                 "SELECT coalesce(json_agg(json_build_object('resource', t.resource, 'id', t.id, "
                 "'name', t.name, 'snippet', CASE t.resource");
    for (size_t i = 0; i < resources_count; i++) {
        const struct resource *res = resources_all[i];
        if (!searched(res))
            continue;
        buf_printf(&b, " WHEN '%s' THEN (SELECT ts_headline('simple'::regconfig, ", res->name);
        snippet_source(&b, res);
        buf_printf(&b,
                   ", tq.q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, "
                   "MaxFragments=2, FragmentDelimiter=\" … \"') FROM %s a, tq WHERE a.id = t.id)",
                   res->table);
    }
    buf_puts(&b, " END, 'rank', round(t.rank::numeric, 6)) ORDER BY t.rank DESC, t.resource, "
                 "t.id), '[]')::text FROM top t");
    statement = buf_take(&b);
}

static enum MHD_Result
check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    const char **bad = cls;
    (void)kind;
    (void)value;
    if (strcmp(key, "q") != 0 && strcmp(key, "resources") != 0 && strcmp(key, "limit") != 0 &&
        strcmp(key, "lang") != 0) {
        *bad = key;
        return MHD_NO;
    }
    return MHD_YES;
}

/*
 * The resources to search, as a PostgreSQL array literal: those named (each searchable, and
 * readable by the caller: 401 or 403 otherwise), or every searchable one the caller may read.
 */
static bool
pick_resources(struct request *r, const char *wanted, struct buf *literal, struct error *err)
{
    buf_putc(literal, '{');
    if (wanted == NULL || *wanted == '\0') {
        for (size_t i = 0; i < resources_count; i++) {
            struct error ignored = {0};
            if (searched(resources_all[i]) &&
                access_route(&r->who, resources_all[i]->name, ACT_READ, &ignored))
                buf_printf(literal, "%s%s", literal->len > 1 ? "," : "", resources_all[i]->name);
            error_clear(&ignored);
        }
        buf_putc(literal, '}');
        return true;
    }
    for (const char *p = wanted; *p;) {
        size_t n = strcspn(p, ",");
        const struct resource *found = resource_by_name(p, n);
        if (!searched(found)) {
            struct buf allowed = {0};
            for (size_t i = 0; i < resources_count; i++)
                if (searched(resources_all[i]))
                    buf_printf(&allowed, "%s%s", allowed.len ? ", " : "", resources_all[i]->name);
            error_set(err, 400, "invalid-parameter",
                      "resources: '%.*s' cannot be searched; "
                      "allowed: %s",
                      (int)(n > 60 ? 60 : n), p, allowed.data);
            buf_free(&allowed);
            return false;
        }
        if (!access_route(&r->who, found->name, ACT_READ, err))
            return false;
        buf_printf(literal, "%s%s", literal->len > 1 ? "," : "", found->name);
        p += n;
        if (*p == ',')
            p++;
    }
    buf_putc(literal, '}');
    return true;
}

void
search_get(struct request *r)
{
    struct error err = {0};
    const char *bad = NULL;
    struct buf names = {0};
    PGresult *pg = NULL;
    int64_t limit = SEARCH_DEFAULT_LIMIT;

    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &bad);
    if (bad != NULL) {
        error_set(&err, 400, "unknown-parameter",
                  "unknown query parameter '%.60s'; allowed: q, resources, limit, lang", bad);
        goto out;
    }
    const char *q = http_query(r, "q"), *lim = http_query(r, "limit");
    if (q == NULL || *q == '\0' || strlen(q) > SEARCH_Q_MAX || !utf8_valid(q, strlen(q))) {
        error_set(&err, 400, "invalid-parameter",
                  "q: what to search for is needed, 1 to %d bytes of UTF-8, e.g. q=youth",
                  SEARCH_Q_MAX);
        goto out;
    }
    if (lim != NULL && (!str_parse_i64(lim, &limit) || limit < 1 || limit > SEARCH_MAX_LIMIT)) {
        error_set(&err, 400, "invalid-limit", "limit must be a number from 1 to %d",
                  SEARCH_MAX_LIMIT);
        goto out;
    }
    const char *lang_arg = http_query(r, "lang"), *lang = NULL;
    if ((lang_arg != NULL && !query_lang_param(lang_arg, &lang, &err)) ||
        !pick_resources(r, http_query(r, "resources"), &names, &err))
        goto out;
    lang = engine_read_language(r, lang);
    char limit_text[16];
    snprintf(limit_text, sizeof(limit_text), "%lld", (long long)limit);
    const char *values[] = {q, names.data, limit_text, lang};
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL || (pg = db_exec_sql(c, statement, 4, values, &err)) == NULL)
        goto out;
    struct buf b = {0};
    buf_printf(&b, "{\"data\":%s}", PQgetvalue(pg, 0, 0));
    size_t len = b.len;
    http_owned(r, 200, "application/json", buf_take(&b), len);
out:
    http_error(r, &err);
    PQclear(pg);
    buf_free(&names);
}
