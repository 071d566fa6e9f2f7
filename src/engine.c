/* engine.c - the engine's request helpers: the descriptor of a route, path ids, ETags, parents. */
#include "sharaka/engine.h"

#include <sodium.h>
#include <string.h>

#include "sharaka/access.h"
#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/cursor.h"
#include "sharaka/router.h"
#include "sharaka/values.h"
#include "sharaka/xlsx.h"

void
resource_init(void)
{
    cursor_init(cfg.jwt_secret);
}

const struct resource *
engine_resource_of(struct request *r)
{
    return r->route->arg;
}

bool
engine_sees_internal(struct request *r)
{
    return access_sees_internal(&r->who);
}

/* The record id: the last path parameter. */
const char *
engine_record_id(struct request *r)
{
    return r->nparams > 0 ? r->params[r->nparams - 1] : NULL;
}

/* A sub-collection's parent id: the first path parameter. */
const char *
engine_parent_id(struct request *r, const struct resource *res)
{
    return res->parent != NULL && r->nparams > 0 ? r->params[0] : NULL;
}

bool
engine_collect_args(struct request *r, struct arg_list *l, struct error *err)
{
    return http_query_args(r, l->args, QUERY_MAX_ARGS, &l->n, err);
}

void
engine_not_found(struct error *err, const struct resource *res, const char *id)
{
    error_set(err, 404, "not-found", "no %s with id %s", res->singular, id ? id : "");
}

/*
 * The ETag of one representation: the record's version, then a hash of the bytes the caller is
 * answered. Two views of a record (public and internal, fields=, include=) differ in their bytes,
 * and so does a record whose embedded records changed: each gets its own strong ETag. row is a
 * result whose first column is the JSON text and whose second is the version. Arena-owned.
 */
const char *
engine_etag_of(struct request *r, PGresult *row)
{
    unsigned char digest[ENGINE_ETAG_HASH_BYTES];
    char hex[ENGINE_ETAG_HASH_BYTES * 2 + 1];
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)PQgetvalue(row, 0, 0),
                       (unsigned long long)PQgetlength(row, 0, 0), NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    return arena_printf(&r->arena, "\"%s-%s\"", PQgetvalue(row, 0, 1), hex);
}

/*
 * True when an If-Match / If-None-Match list (RFC 9110 section 13.1) names etag, or is "*".
 * strong (If-Match) never lets a weak tag W/"..." match; otherwise (If-None-Match) the weak
 * comparison ignores W/. A list that is not made of entity tags matches nothing.
 */
bool
engine_etag_listed(const char *header, const char *etag, bool strong)
{
    size_t n = strlen(etag);
    for (const char *p = header;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return false;
        if (*p == '*')
            return true;
        bool weak = strncmp(p, "W/", 2) == 0;
        if (weak)
            p += 2;
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end == NULL)
            return false;
        size_t len = (size_t)(end - p) + 1;
        if (!(weak && strong) && len == n && memcmp(p, etag, n) == 0)
            return true;
        p = end + 1;
    }
}

const char *
engine_read_language(struct request *r, const char *given)
{
    const char *lang =
        given != NULL ? given : query_accept_language(http_header(r, "Accept-Language"));
    http_add_header(r, "Vary", "Accept-Language");
    if (lang != NULL)
        http_add_header(r, "Content-Language", lang);
    return lang;
}

bool
engine_send_workbook(struct request *r, struct xlsx *x, const char *attachment, struct error *err)
{
    uint64_t size = 0;
    int fd = x != NULL ? xlsx_finish(x, &size) : -1;
    if (fd < 0)
        return error_set(err, 503, "export-failed",
                         "the spreadsheet could not be written; try again");
    if (attachment != NULL)
        http_add_header(r, "Content-Disposition",
                        arena_printf(&r->arena, "attachment; filename=\"%s.xlsx\"", attachment));
    http_file(r, 200, XLSX_CONTENT_TYPE, fd, size);
    return true;
}

void
engine_parent_not_found(struct error *err, const struct resource *res, const char *pid)
{
    error_set(err, 404, "not-found", "no %s with id %s",
              res->parent != NULL ? res->parent->singular : "parent", pid ? pid : "");
}

/*
 * Checks, inside the open transaction, that a sub-collection's parent is live, and holds it
 * (FOR SHARE) so that it cannot be deleted before the transaction ends: a record is never
 * written under a deleted parent. 404 otherwise; true for a resource without a parent.
 */
bool
engine_parent_live(struct request *r, struct db_conn *c, const struct resource *res,
                   const char *pid, struct error *err)
{
    if (res->parent == NULL || pid == NULL)
        return true;
    if (!value_is_uuid(pid)) {
        engine_parent_not_found(err, res, pid);
        return false;
    }
    const char *sql = arena_printf(
        &r->arena, "SELECT 1 FROM %s WHERE id = $1::uuid AND deleted_at IS NULL FOR SHARE",
        res->parent->table);
    PGresult *pg = db_exec_sql(c, sql, 1, &pid, err);
    if (pg == NULL)
        return false;
    bool found = PQntuples(pg) == 1;
    PQclear(pg);
    if (!found)
        engine_parent_not_found(err, res, pid);
    return found;
}
