/* resource.c - one engine for list, get, create, patch and delete, driven by descriptors. */
#include "sharaka/resource.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/access.h"
#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/fields.h"
#include "sharaka/log.h"
#include "sharaka/cursor.h"
#include "sharaka/query.h"
#include "sharaka/sql.h"
#include "sharaka/router.h"
#include "sharaka/validate.h"
#include "sharaka/values.h"

#define MAX_REFS        64
#define ETAG_HASH_BYTES 16 /* crypto_generichash_BYTES_MIN */

static const char AUDIT_INSERT[] =
    "INSERT INTO audit_log (actor_type, actor_id, actor_role, action, resource, record_id, before, "
    "after, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)";

void
resource_init(void)
{
    cursor_init(cfg.jwt_secret);
}

/* ---------------------------------------------------------------- request helpers */

static const struct resource *
resource_of(struct request *r)
{
    return r->route->arg;
}

static bool
sees_internal(struct request *r)
{
    return access_sees_internal(&r->who);
}

/* The record id: the last path parameter. */
static const char *
record_id(struct request *r)
{
    return r->nparams > 0 ? r->params[r->nparams - 1] : NULL;
}

/* A sub-collection's parent id: the first path parameter. */
static const char *
parent_id(struct request *r, const struct resource *res)
{
    return res->parent_path != NULL && r->nparams > 0 ? r->params[0] : NULL;
}

struct arg_list {
    struct query_arg args[QUERY_MAX_ARGS];
    int n;
};

static bool
collect_args(struct request *r, struct arg_list *l, struct error *err)
{
    return http_query_args(r, l->args, QUERY_MAX_ARGS, &l->n, err);
}

static void
not_found(struct error *err, const struct resource *res, const char *id)
{
    error_set(err, 404, "not-found", "no %s with id %s", res->singular, id ? id : "");
}

/*
 * The ETag of one representation: the record's version, then a hash of the bytes the caller is
 * answered. Two views of a record (public and internal, fields=, include=) differ in their bytes,
 * and so does a record whose embedded records changed: each gets its own strong ETag. row is a
 * result whose first column is the JSON text and whose second is the version. Arena-owned.
 */
static const char *
etag_of(struct request *r, PGresult *row)
{
    unsigned char digest[ETAG_HASH_BYTES];
    char hex[ETAG_HASH_BYTES * 2 + 1];
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
static bool
etag_listed(const char *header, const char *etag, bool strong)
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

static void
parent_not_found(struct error *err, const struct resource *res, const char *pid)
{
    error_set(err, 404, "not-found", "no %s with id %s",
              res->parent != NULL ? res->parent->singular : "parent", pid ? pid : "");
}

/*
 * Checks, inside the open transaction, that a sub-collection's parent is live, and holds it
 * (FOR SHARE) so that it cannot be deleted before the transaction ends: a record is never
 * written under a deleted parent. 404 otherwise; true for a resource without a parent.
 */
static bool
parent_live(struct request *r, struct db_conn *c, const struct resource *res, const char *pid,
            struct error *err)
{
    if (res->parent == NULL || pid == NULL)
        return true;
    if (!value_is_uuid(pid)) {
        parent_not_found(err, res, pid);
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
        parent_not_found(err, res, pid);
    return found;
}

/* ---------------------------------------------------------------- reads */

static void
url_encode(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || c == ',')
            buf_putc(b, (char)c);
        else
            buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

static const char *
next_link(struct request *r, const struct arg_list *l, const char *cursor)
{
    struct buf b = {0};
    buf_printf(&b, "<%s?", r->path);
    for (int i = 0; i < l->n; i++) {
        if (strcmp(l->args[i].key, "cursor") == 0)
            continue;
        url_encode(&b, l->args[i].key);
        buf_putc(&b, '=');
        url_encode(&b, l->args[i].value);
        buf_putc(&b, '&');
    }
    buf_puts(&b, "cursor=");
    url_encode(&b, cursor);
    buf_puts(&b, ">; rel=\"next\"");
    const char *out = arena_strdup(&r->arena, b.data);
    buf_free(&b);
    return out;
}

void
resource_list(struct request *r)
{
    const struct resource *res = resource_of(r);
    struct error err = {0};
    struct arg_list args;
    struct list_query q;
    struct sql s = {0};
    PGresult *pg = NULL;
    bool internal = sees_internal(r);

    if (!collect_args(r, &args, &err) ||
        !query_parse(&r->arena, res, args.args, args.n, internal, false, &q, &err))
        goto out;
    bool format_given = false;
    for (int i = 0; i < args.n; i++)
        format_given |= strcmp(args.args[i].key, "format") == 0;
    const char *accept = http_header(r, MHD_HTTP_HEADER_ACCEPT);
    if (!format_given && accept != NULL) {
        if (strstr(accept, "text/csv") != NULL)
            q.format = FORMAT_CSV;
        else if (strstr(accept, "application/x-ndjson") != NULL)
            q.format = FORMAT_NDJSON;
    }
    q.parent_id = parent_id(r, res);
    if (q.parent_id != NULL && !value_is_uuid(q.parent_id)) {
        parent_not_found(&err, res, q.parent_id);
        goto out;
    }
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    sql_build_list(&s, &r->arena, res, internal, &q);
    pg = db_exec_sql(c, s.text.data, s.nparams, s.params, &err);
    if (pg == NULL)
        goto out;
    if (strcmp(PQgetvalue(pg, 0, 3), "t") != 0) {
        parent_not_found(&err, res, q.parent_id);
        goto out;
    }
    long long embedded = atoll(PQgetvalue(pg, 0, 4));
    if (embedded > QUERY_MAX_EMBEDDED) {
        error_set(&err, 400, "too-many-embedded",
                  "include: this page of up to %d %s would embed %lld records; one answer embeds "
                  "at most %d: lower limit= or drop include=",
                  q.limit, res->name, embedded, QUERY_MAX_EMBEDDED);
        goto out;
    }

    const char *cursor = NULL;
    if (!PQgetisnull(pg, 0, 1)) {
        cursor = cursor_encode(&r->arena, q.sort_spec, PQgetvalue(pg, 0, 1));
        http_add_header(r, "Link", next_link(r, &args, cursor));
    }
    const char *total = PQgetisnull(pg, 0, 2) ? NULL : PQgetvalue(pg, 0, 2);
    struct buf tail = {0};
    struct MHD_IoVec iov[3];
    if (q.format == FORMAT_JSON) {
        if (cursor != NULL)
            buf_printf(&tail, ",\"next_cursor\":\"%s\"", cursor);
        else
            buf_puts(&tail, ",\"next_cursor\":null");
        if (total != NULL)
            buf_printf(&tail, ",\"total\":%s", total);
        buf_putc(&tail, '}');
        iov[0] = (struct MHD_IoVec){"{\"data\":", 8};
        iov[1] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), (size_t)PQgetlength(pg, 0, 0)};
        iov[2] = (struct MHD_IoVec){tail.data, tail.len};
        http_iov(r, 200, "application/json", iov, 3, pg, buf_take(&tail));
    } else {
        if (total != NULL)
            http_add_header(r, "X-Total-Count", arena_strdup(&r->arena, total));
        unsigned int n = 0;
        if (q.format == FORMAT_CSV) {
            buf_puts(&tail, "\xEF\xBB\xBF"); /* UTF-8 byte-order mark, for spreadsheets */
            sql_csv_header(&tail, res, internal, &q);
            buf_puts(&tail, "\r\n");
            iov[n++] = (struct MHD_IoVec){tail.data, tail.len};
        }
        iov[n++] = (struct MHD_IoVec){PQgetvalue(pg, 0, 0), (size_t)PQgetlength(pg, 0, 0)};
        http_iov(r, 200,
                 q.format == FORMAT_CSV ? "text/csv; charset=utf-8" : "application/x-ndjson", iov,
                 n, pg, buf_take(&tail));
    }
    pg = NULL;
out:
    if (!r->responded)
        http_error(r, &err);
    PQclear(pg);
    sql_free(&s);
}

void
resource_get(struct request *r)
{
    const struct resource *res = resource_of(r);
    struct error err = {0};
    struct arg_list args;
    struct list_query q;
    struct sql s = {0};
    PGresult *pg = NULL;
    const char *id = record_id(r);
    bool internal = sees_internal(r);

    if (!collect_args(r, &args, &err) ||
        !query_parse(&r->arena, res, args.args, args.n, internal, true, &q, &err))
        goto out;
    if (!value_is_uuid(id)) {
        not_found(&err, res, id);
        goto out;
    }
    q.parent_id = parent_id(r, res);
    if (q.parent_id != NULL && !value_is_uuid(q.parent_id)) {
        not_found(&err, res, id);
        goto out;
    }
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    sql_build_get(&s, res, internal, &q);
    s.params[0] = id;
    pg = db_exec_sql(c, s.text.data, s.nparams, s.params, &err);
    if (pg == NULL)
        goto out;
    if (PQntuples(pg) != 1) {
        not_found(&err, res, id);
        goto out;
    }
    if (!res->unversioned) {
        const char *etag = etag_of(r, pg);
        http_add_header(r, "ETag", etag);
        const char *inm = http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
        if (inm != NULL && etag_listed(inm, etag, false)) {
            http_empty(r, 304);
            goto out;
        }
    }
    http_pgresult(r, 200, "application/json", pg);
    pg = NULL;
out:
    if (!r->responded)
        http_error(r, &err);
    PQclear(pg);
    sql_free(&s);
}

/* ---------------------------------------------------------------- writes */

/* The text a JSON value travels as; NULL for null. Arrays and objects go as JSON text. */
static const char *
value_text(struct arena *a, json_t *v)
{
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_true(v))
        return "true";
    if (json_is_false(v))
        return "false";
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char *out = arena_strdup(a, t);
    free(t);
    return out;
}

/* Appends the SQL expression that turns parameter value into the column's type. */
static void
value_expr(struct sql *s, const struct field *f, const char *value)
{
    switch (f->type) {
    case FT_TAGS:
    case FT_URLS:
    case FT_ENUMS:
        buf_puts(&s->text, "ARRAY(SELECT json_array_elements_text(");
        sql_param(s, value);
        buf_printf(&s->text, "::json))::%s[]", query_pg_type(f));
        break;
    case FT_STRMAP:
    case FT_SECTIONS:
        sql_param(s, value);
        buf_puts(&s->text, "::jsonb");
        break;
    default:
        sql_param(s, value);
        buf_printf(&s->text, "::%s", query_pg_type(f));
    }
}

/* The table a reference names: its field's ref, or for "@by" the table the value of by chooses. */
static const char *
ref_table(const struct resource *res, const struct field *f, json_t *record)
{
    if (f->ref == NULL || f->ref[0] != '@')
        return f->ref;
    const char *value = json_string_value(json_object_get(record, f->ref + 1));
    for (size_t i = 0; value != NULL && i < res->nref_choices; i++) {
        const struct ref_choice *c = &res->ref_choices[i];
        if (strcmp(c->field, f->name) == 0 && strcmp(c->by, f->ref + 1) == 0 &&
            strcmp(c->value, value) == 0)
            return c->target->table;
    }
    return NULL;
}

struct ref {
    const char *path;
    const char *table;
    const char *id;
};

static void
add_ref(struct ref *refs, int *n, const char *path, const char *table, const char *id)
{
    if (*n < MAX_REFS && table != NULL && id != NULL && value_is_uuid(id))
        refs[(*n)++] = (struct ref){path, table, id};
}

/* Checks that every record the body refers to exists and is not deleted: 422 naming each. */
static bool
check_references(struct request *r, struct db_conn *c, const struct resource *res, json_t *record,
                 json_t *changed, struct error *err)
{
    struct ref refs[MAX_REFS];
    int n = 0;
    struct sql s = {0};

    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        json_t *v = json_object_get(record, f->name);
        if (f->ref == NULL || v == NULL ||
            (changed && !json_object_get(changed, f->name) && !(f->ref[0] == '@')))
            continue;
        if (f->type == FT_LINKS) {
            const char *key = res->link->key;
            size_t k;
            json_t *item;
            json_array_foreach(v, k, item)
            {
                add_ref(refs, &n, arena_printf(&r->arena, "%s[%zu].%s", f->name, k, key),
                        res->link->target->table, json_string_value(json_object_get(item, key)));
            }
        } else if (json_is_string(v)) {
            add_ref(refs, &n, f->name, ref_table(res, f, record), json_string_value(v));
        }
    }
    if (n == 0)
        return true;
    buf_puts(&s.text, "SELECT ARRAY[");
    for (int i = 0; i < n; i++) {
        buf_printf(&s.text, "%sEXISTS (SELECT 1 FROM %s WHERE id = ", i ? ", " : "", refs[i].table);
        sql_param(&s, refs[i].id);
        buf_puts(&s.text, "::uuid AND deleted_at IS NULL)");
    }
    buf_puts(&s.text, "]::text");
    PGresult *pg = db_exec_sql(c, s.text.data, s.nparams, s.params, err);
    sql_free(&s);
    if (pg == NULL)
        return false;
    const char *flags = PQgetvalue(pg, 0, 0); /* "{t,f,...}" */
    json_t *errors = json_array();
    for (int i = 0, k = 0; flags[k] && i < n; k++) {
        if (flags[k] == 't')
            i++;
        else if (flags[k] == 'f') {
            validate_add(errors, refs[i].path, "invalid-reference", "no %s with id %s",
                         refs[i].table, refs[i].id);
            i++;
        }
    }
    PQclear(pg);
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    error_set(err, 422, "invalid-reference", "the body refers to %zu record(s) that do not exist",
              json_array_size(errors));
    err->errors = errors;
    return false;
}

/* Names the field behind a database constraint (table_field_key, _fkey, _check), if any. */
static const struct field *
constraint_field(const struct resource *res, const char *constraint)
{
    static const char *const suffixes[] = {"_key", "_fkey", "_check", "_pkey"};
    size_t tl = strlen(res->table);
    if (strncmp(constraint, res->table, tl) != 0 || constraint[tl] != '_')
        return NULL;
    const char *rest = constraint + tl + 1;
    if (strcmp(rest, "pkey") == 0)
        return resource_field(res, "id");
    for (size_t i = 0; i < ARRAY_LEN(suffixes); i++) {
        size_t rl = strlen(rest), sl = strlen(suffixes[i]);
        if (rl > sl && strcmp(rest + rl - sl, suffixes[i]) == 0) {
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(rl - sl), rest);
            if (strcmp(name, "p") == 0 || strcmp(suffixes[i], "_pkey") == 0)
                return resource_field(res, "id");
            return resource_field(res, name);
        }
    }
    return NULL;
}

/* Makes a database error speak of the resource's fields. */
static void
explain_db_error(const struct resource *res, struct error *err)
{
    if (err->constraint[0] == '\0')
        return;
    for (size_t i = 0; i < res->nmessages; i++) {
        if (strcmp(err->constraint, res->messages[i].constraint) == 0) {
            int status = err->status == 409 ? 409 : 422;
            error_set(err, status, status == 409 ? "duplicate" : "invalid-value", "%s",
                      res->messages[i].message);
            if (status == 422) {
                err->errors = json_array();
                validate_add(err->errors, res->messages[i].field, "invalid-value", "%s",
                             res->messages[i].message);
            }
            return;
        }
    }
    const struct field *f = constraint_field(res, err->constraint);
    if (err->status == 409) {
        const char *field = f ? f->name : "value";
        bool vowel = strchr("aeiouAEIOU", res->singular[0]) != NULL;
        error_set(err, 409, "duplicate", "there is already %s %s with this %s", vowel ? "an" : "a",
                  res->singular, field);
    } else if (err->status == 422 && f != NULL && err->errors == NULL) {
        err->errors = json_array();
        validate_add(err->errors, f->name, err->code, "%s", err->detail);
    }
}

static bool
rollback(struct db_conn *c)
{
    struct error ignored = {0};
    PGTransactionStatusType ts = PQtransactionStatus(db_pg(c));
    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
        return true; /* no transaction open: nothing to undo */
    bool ok = db_command(c, "ROLLBACK", &ignored);
    error_clear(&ignored);
    return ok;
}

/* Writes the items of the record's link field inside the open transaction (replacing the old). */
static bool
write_links(struct request *r, struct db_conn *c, const struct link *l, const char *id,
            json_t *items, bool replace, struct error *err)
{
    const char *values[2] = {id, NULL};
    PGresult *pg;
    if (replace) {
        pg = db_exec_sql(
            c, arena_printf(&r->arena, "DELETE FROM %s WHERE %s = $1::uuid", l->table, l->owner), 1,
            values, err);
        if (pg == NULL)
            return false;
        PQclear(pg);
    }
    char *text = json_dumps(items, JSON_COMPACT);
    values[1] = text;
    pg = db_exec_sql(c,
                     arena_printf(&r->arena,
                                  "INSERT INTO %s (%s, %s, %s, %s) SELECT $1::uuid, "
                                  "(x.e->>'%s')::uuid, x.e->>'%s', (x.o - 1)::int FROM "
                                  "json_array_elements($2::json) WITH ORDINALITY AS x(e, o)",
                                  l->table, l->owner, l->key, l->attribute, l->position, l->key,
                                  l->attribute),
                     2, values, err);
    free(text);
    if (pg == NULL)
        return false;
    PQclear(pg);
    return true;
}

/* Reads the record as the caller sees it, inside the open transaction. */
static PGresult *
read_back(struct request *r, struct db_conn *c, const struct resource *res, const char *id,
          struct error *err)
{
    struct sql s = {0};
    sql_build_get(&s, res, sees_internal(r), NULL);
    s.params[0] = id;
    PGresult *pg = db_exec_sql(c, s.text.data, s.nparams, s.params, err);
    sql_free(&s);
    if (pg != NULL && PQntuples(pg) != 1) {
        PQclear(pg);
        error_set(err, 500, "internal-error", "the record vanished while it was written");
        return NULL;
    }
    return pg;
}

/* Adds the audit row of a write, inside the write's transaction. */
static bool
write_audit(struct request *r, struct db_conn *c, const struct resource *res, const char *action,
            const char *id, const char *before, const char *after, struct error *err)
{
    const char *values[] = {
        r->who.api_key ? "api_key" : "user",
        r->who.sub,
        auth_role_name(r->who.role),
        action,
        res->name,
        id,
        before,
        after,
        r->request_id,
    };
    PGresult *pg = db_exec_sql(c, AUDIT_INSERT, (int)ARRAY_LEN(values), values, err);
    if (pg == NULL)
        return false;
    PQclear(pg);
    return true;
}

/* The value a column receives: the JSON value's text, or a password's hash. */
static const char *
column_value(struct request *r, const struct field *f, json_t *v, struct error *err)
{
    if (f->type != FT_PASSWORD)
        return value_text(&r->arena, v);
    char *hash = arena_alloc(&r->arena, AUTH_HASH_LEN);
    if (!auth_password_hash(json_string_value(v), hash)) {
        error_set(err, 500, "internal-error", "hashing the password failed");
        return NULL;
    }
    return hash;
}

static const char *
column_name(const struct field *f)
{
    return f->type == FT_PASSWORD ? "password_hash" : f->name;
}

/* True when the record is in the status its resource's verification names. */
static bool
is_verified(const struct resource *res, json_t *record)
{
    const struct verification *v = res->verification;
    const char *now = record ? json_string_value(json_object_get(record, v->field)) : NULL;
    return now != NULL && strcmp(now, v->value) == 0;
}

/* A record moving to its verified status needs a verifier; true when it does. */
static bool
becomes_verified(const struct resource *res, json_t *before, json_t *after)
{
    return res->verification != NULL && is_verified(res, after) && !is_verified(res, before);
}

/* The record as the policy sees it on create: the body with the parent id from the path. */
static json_t *
candidate(json_t *body, const struct resource *res, const char *pid, const char *source)
{
    json_t *rec = json_deep_copy(body);
    for (size_t i = 0; i < res->nfields; i++)
        if ((res->fields[i].flags & F_PARENT) && pid != NULL)
            json_object_set_new(rec, res->fields[i].name, json_string(pid));
    if (resource_field(res, "source") != NULL)
        json_object_set_new(rec, "source", json_string(source));
    return rec;
}

static const char *
write_source(struct request *r)
{
    return r->who.role == ROLE_PARTNER && r->who.source[0] ? r->who.source : "sharaka";
}

/*
 * Locks the live record for a write and checks if_match (when given) against its version.
 * Returns its row (JSON, version), or NULL with err (404, 412).
 */
static PGresult *
lock_record(struct request *r, struct db_conn *c, const struct resource *res, const char *id,
            const char *pid, const char *if_match, struct error *err)
{
    struct sql s = {0};
    struct list_query q;
    memset(&q, 0, sizeof(q));
    for (size_t i = 0; i < res->nfields && i < QUERY_MAX_FIELDS; i++)
        q.selected[i] = true;
    q.parent_id = pid;
    sql_build_get(&s, res, true, &q);
    if (res->delete_column != NULL)
        buf_printf(&s.text, " AND a.%s IS NULL", res->delete_column);
    buf_puts(&s.text, " FOR UPDATE");
    s.params[0] = id;
    PGresult *pg = db_exec_sql(c, s.text.data, s.nparams, s.params, err);
    sql_free(&s);
    if (pg == NULL)
        return NULL;
    if (PQntuples(pg) != 1) {
        PQclear(pg);
        not_found(err, res, id);
        return NULL;
    }
    if (if_match == NULL)
        return pg;
    /* If-Match names the representation a GET answers the caller by default. */
    const char *etag;
    if (sees_internal(r)) {
        etag = etag_of(r, pg); /* the internal view with every field is that representation */
    } else {
        PGresult *view = read_back(r, c, res, id, err);
        if (view == NULL) {
            PQclear(pg);
            return NULL;
        }
        etag = etag_of(r, view);
        PQclear(view);
    }
    if (!etag_listed(if_match, etag, true)) {
        error_set(err, 412, "precondition-failed",
                  "the %s changed since you read it, or If-Match names another representation "
                  "of it: its ETag is now %s (version %s); read it again",
                  res->singular, etag, PQgetvalue(pg, 0, 1));
        PQclear(pg);
        return NULL;
    }
    return pg;
}

/* Checks a body's keys and, on create, its values: 422 with every error at once. */
static bool
check_body(const struct resource *res, json_t *body, bool create, struct error *err)
{
    json_t *errors = json_array();
    validate_keys(res, body, create, errors);
    if (create)
        validate_values(res, body, NULL, true, errors);
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    error_set(err, 422, "validation-failed", "the request body has %zu error(s)",
              json_array_size(errors));
    err->errors = errors;
    return false;
}

/* What one write did, for the answer and for batch results. */
enum write_kind { WRITE_CREATED, WRITE_UPDATED, WRITE_UNCHANGED };

struct write_result {
    enum write_kind kind;
    const char *id;
    PGresult *row; /* the record as the caller sees it: JSON text, version */
};

static const char *const write_kind_names[] = {"created", "updated", "unchanged"};

/*
 * Creates a record from body inside the open transaction: checks, policy, references, the row,
 * a partnership's organizations, the audit row. Fills out on success; err otherwise.
 */
static bool
write_create(struct request *r, struct db_conn *c, const struct resource *res, json_t *body,
             const char *pid, struct write_result *out, struct error *err)
{
    struct sql s = {0};
    struct buf cols = {0};
    json_t *after = NULL, *parties = NULL;
    PGresult *pg = NULL;
    bool ok = false;

    if (!check_body(res, body, true, err))
        goto out;
    after = candidate(body, res, pid, write_source(r));
    if (!access_record(&r->who, c, res, ACT_CREATE, NULL, after, err))
        goto out;
    if (becomes_verified(res, NULL, after) &&
        !access_record(&r->who, c, res, ACT_VERIFY, NULL, after, err))
        goto out;
    if (!check_references(r, c, res, body, NULL, err))
        goto out;
    /* The values go into s (with their parameters); the statement is assembled after. */
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        json_t *v = json_object_get(body, f->name);
        if (f->type == FT_LINKS) {
            parties = v;
            continue;
        }
        const char *text = (f->flags & F_PARENT) ? pid : v ? column_value(r, f, v, err) : NULL;
        if (err->status)
            goto out;
        if (text == NULL)
            continue;
        buf_printf(&cols, "%s%s", cols.len ? ", " : "", column_name(f));
        buf_puts(&s.text, s.text.len ? ", " : "");
        value_expr(&s, f, text);
    }
    if (resource_field(res, "source") != NULL) {
        buf_puts(&cols, ", source");
        buf_puts(&s.text, ", ");
        sql_param(&s, write_source(r));
    }
    if (becomes_verified(res, NULL, after)) {
        buf_printf(&cols, ", %s, %s", res->verification->by, res->verification->at);
        buf_puts(&s.text, ", ");
        sql_param(&s, r->who.sub);
        buf_puts(&s.text, "::uuid, clock_timestamp()");
    }
    char *insert = arena_printf(&r->arena, "INSERT INTO %s (%s) VALUES (%s) RETURNING id::text",
                                res->table, cols.data, s.text.data);
    buf_reset(&s.text);
    buf_puts(&s.text, insert);
    pg = db_exec_sql(c, s.text.data, s.nparams, s.params, err);
    if (pg == NULL)
        goto out;
    out->id = arena_strdup(&r->arena, PQgetvalue(pg, 0, 0));
    PQclear(pg);
    pg = NULL;
    if (parties != NULL && !write_links(r, c, res->link, out->id, parties, false, err))
        goto out;
    out->row = read_back(r, c, res, out->id, err);
    if (out->row == NULL ||
        !write_audit(r, c, res, "create", out->id, NULL, PQgetvalue(out->row, 0, 0), err))
        goto out;
    out->kind = WRITE_CREATED;
    ok = true;
out:
    if (!ok) {
        PQclear(out->row);
        out->row = NULL;
        explain_db_error(res, err);
    }
    buf_free(&cols);
    sql_free(&s);
    json_decref(after);
    return ok;
}

/*
 * Applies patch (a JSON merge patch) to the record id inside the open transaction. if_match,
 * when given, must name the stored version. Fills out on success (WRITE_UNCHANGED when nothing
 * changed); err otherwise.
 */
static bool
write_update(struct request *r, struct db_conn *c, const struct resource *res, const char *id,
             const char *pid, json_t *patch, const char *if_match, struct write_result *out,
             struct error *err)
{
    struct sql s = {0};
    PGresult *pg = NULL;
    json_t *before = NULL, *record = NULL, *parties = NULL;
    bool ok = false;

    if (!check_body(res, patch, false, err))
        goto out;
    if (!value_is_uuid(id) || (pid != NULL && !value_is_uuid(pid))) {
        not_found(err, res, id);
        goto out;
    }
    if (!parent_live(r, c, res, pid, err))
        goto out;
    pg = lock_record(r, c, res, id, pid, if_match, err);
    if (pg == NULL)
        goto out;
    const char *before_text = arena_strdup(&r->arena, PQgetvalue(pg, 0, 0));
    const char *before_version = arena_strdup(&r->arena, PQgetvalue(pg, 0, 1));
    PQclear(pg);
    pg = NULL;
    before = json_loads(before_text, 0, NULL);
    record = json_deep_copy(before);
    validate_merge_patch(record, patch);
    json_t *errors = json_array();
    validate_values(res, record, patch, false, errors);
    if (json_array_size(errors) > 0) {
        error_set(err, 422, "validation-failed", "the request body has %zu error(s)",
                  json_array_size(errors));
        err->errors = errors;
        goto out;
    }
    json_decref(errors);
    if (!access_record(&r->who, c, res, ACT_UPDATE, before, record, err))
        goto out;
    bool verifying = becomes_verified(res, before, record);
    if (verifying && !access_record(&r->who, c, res, ACT_VERIFY, before, record, err))
        goto out;
    /* A verified record stays as its verifier saw it: only a verifier may change it. */
    if (res->verification != NULL && !verifying && is_verified(res, before) &&
        !json_equal(before, record) &&
        !access_record(&r->who, c, res, ACT_VERIFY, before, record, err))
        goto out;
    if (!check_references(r, c, res, record, patch, err))
        goto out;

    buf_printf(&s.text, "UPDATE %s a SET ", res->table);
    int nset = 0;
    s.params[0] = id; /* $1 in the WHERE clause */
    s.nparams = 1;
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if (json_object_get(patch, f->name) == NULL)
            continue;
        json_t *v = json_object_get(record, f->name);
        if (f->type == FT_LINKS) {
            if (!json_equal(v, json_object_get(before, f->name)))
                parties = v;
            continue;
        }
        buf_printf(&s.text, "%s%s = ", nset ? ", " : "", column_name(f));
        const char *text = json_is_null(v) ? NULL : column_value(r, f, v, err);
        if (err->status)
            goto out;
        if (text == NULL)
            buf_puts(&s.text, "NULL");
        else
            value_expr(&s, f, text);
        nset++;
    }
    const struct verification *vr = res->verification;
    if (vr != NULL && json_object_get(patch, vr->field) != NULL) {
        /* Who verified and when follow the status: set on verification, cleared when it goes. */
        if (verifying) {
            buf_printf(&s.text, "%s%s = ", nset ? ", " : "", vr->by);
            sql_param(&s, r->who.sub);
            buf_printf(&s.text, "::uuid, %s = clock_timestamp()", vr->at);
            nset++;
        } else if (!is_verified(res, record)) {
            buf_printf(&s.text, "%s%s = NULL, %s = NULL", nset ? ", " : "", vr->by, vr->at);
            nset++;
        }
    }
    if (parties != NULL) {
        if (!write_links(r, c, res->link, id, parties, true, err))
            goto out;
        /* A change of its items is a change of the record: bump its version. */
        buf_printf(&s.text, "%supdated_at = clock_timestamp()", nset ? ", " : "");
        nset++;
    }
    if (nset > 0) {
        buf_puts(&s.text, " WHERE a.id = $1::uuid");
        pg = db_exec_sql(c, s.text.data, s.nparams, s.params, err);
        if (pg == NULL)
            goto out;
        PQclear(pg);
        pg = NULL;
    }
    out->id = id;
    out->row = read_back(r, c, res, id, err);
    if (out->row == NULL)
        goto out;
    /* The version moves only when the row really changed (the touch trigger skips no-ops). */
    out->kind =
        strcmp(before_version, PQgetvalue(out->row, 0, 1)) == 0 ? WRITE_UNCHANGED : WRITE_UPDATED;
    if (out->kind == WRITE_UPDATED &&
        !write_audit(r, c, res, "update", id, before_text, PQgetvalue(out->row, 0, 0), err))
        goto out;
    ok = true;
out:
    if (!ok) {
        PQclear(out->row);
        out->row = NULL;
        explain_db_error(res, err);
    }
    PQclear(pg);
    sql_free(&s);
    json_decref(before);
    json_decref(record);
    return ok;
}

/* ---------------------------------------------------------------- idempotency */

#define IDEMPOTENCY_KEY_MAX 255

static const char IDEM_CLAIM[] =
    "INSERT INTO idempotency_keys (principal, key, request_hash, state) "
    "VALUES ($1, $2, $3, 'running') ON CONFLICT DO NOTHING RETURNING 1";
/* $3: SHARAKA_IDEMPOTENCY_RETENTION; a key past it is not replayed, purged or not. */
static const char IDEM_READ[] =
    "SELECT request_hash, state, status, location, etag, body, "
    "created_at < clock_timestamp() - $3::bigint * interval '1 second', "
    "created_at < clock_timestamp() - interval '10 minutes' "
    "FROM idempotency_keys WHERE principal = $1 AND key = $2";
static const char IDEM_FORGET[] = "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2";
static const char IDEM_SAVE[] =
    "UPDATE idempotency_keys SET state = 'done', status = $3::int, location = $4, etag = $5, "
    "body = $6 WHERE principal = $1 AND key = $2";

enum idem_outcome { IDEM_PROCEED, IDEM_ANSWERED, IDEM_FAILED };

static bool
exec_simple(struct db_conn *c, const char *sql, int n, const char *const *values, struct error *err)
{
    PGresult *pg = db_exec_sql(c, sql, n, values, err);
    PQclear(pg);
    return pg != NULL;
}

/*
 * Claims the request's Idempotency-Key for this principal, outside any transaction. The same key
 * with the same request replays the stored answer; with another request it is a 422; while the
 * first is still running, a 409.
 */
static enum idem_outcome
idempotency_begin(struct request *r, struct db_conn *c, struct error *err)
{
    const char *key = http_header(r, "Idempotency-Key");
    if (key == NULL)
        return IDEM_PROCEED;
    size_t n = strlen(key);
    bool sane = n >= 1 && n <= IDEMPOTENCY_KEY_MAX;
    for (size_t i = 0; sane && i < n; i++)
        sane = (unsigned char)key[i] > 0x20 && (unsigned char)key[i] < 0x7f;
    if (!sane) {
        error_set(err, 400, "invalid-header",
                  "Idempotency-Key must be 1 to %d visible ASCII characters", IDEMPOTENCY_KEY_MAX);
        return IDEM_FAILED;
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)r->method, strlen(r->method) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)r->path, strlen(r->path) + 1);
    const char *match = http_query(r, "match");
    if (match != NULL)
        crypto_hash_sha256_update(&st, (const unsigned char *)match, strlen(match) + 1);
    if (r->body.len)
        crypto_hash_sha256_update(&st, (const unsigned char *)r->body.data, r->body.len);
    crypto_hash_sha256_final(&st, digest);
    char *hash = arena_alloc(&r->arena, sizeof(digest) * 2 + 1);
    sodium_bin2hex(hash, sizeof(digest) * 2 + 1, digest, sizeof(digest));

    const char *values[] = {r->who.sub, key, hash};
    const char *retention = arena_printf(&r->arena, "%lld", (long long)cfg.idempotency_retention);
    const char *read_values[] = {r->who.sub, key, retention};
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *pg = db_exec_sql(c, IDEM_CLAIM, 3, values, err);
        if (pg == NULL)
            return IDEM_FAILED;
        bool claimed = PQntuples(pg) == 1;
        PQclear(pg);
        if (claimed) {
            r->idempotency_key = key;
            return IDEM_PROCEED;
        }
        pg = db_exec_sql(c, IDEM_READ, 3, read_values, err);
        if (pg == NULL)
            return IDEM_FAILED;
        if (PQntuples(pg) == 0) {
            PQclear(pg);
            continue; /* released meanwhile: claim again */
        }
        bool expired = strcmp(PQgetvalue(pg, 0, 6), "t") == 0;
        bool abandoned = strcmp(PQgetvalue(pg, 0, 7), "t") == 0;
        bool running = strcmp(PQgetvalue(pg, 0, 1), "running") == 0;
        if (expired || (running && abandoned)) {
            PQclear(pg);
            if (!exec_simple(c, IDEM_FORGET, 2, values, err))
                return IDEM_FAILED;
            continue;
        }
        if (strcmp(PQgetvalue(pg, 0, 0), hash) != 0) {
            PQclear(pg);
            error_set(err, 422, "idempotency-key-reused",
                      "this Idempotency-Key was used with another request; use a new key for a "
                      "new request");
            return IDEM_FAILED;
        }
        if (running) {
            PQclear(pg);
            error_set(err, 409, "request-in-progress",
                      "the first request with this Idempotency-Key is still running; retry later");
            return IDEM_FAILED;
        }
        /* Replay the first answer. */
        int status = atoi(PQgetvalue(pg, 0, 2));
        if (!PQgetisnull(pg, 0, 3))
            http_add_header(r, "Location", arena_strdup(&r->arena, PQgetvalue(pg, 0, 3)));
        if (!PQgetisnull(pg, 0, 4))
            http_add_header(r, "ETag", arena_strdup(&r->arena, PQgetvalue(pg, 0, 4)));
        http_add_header(r, "Idempotent-Replayed", "true");
        char *body = xstrdup(PQgetvalue(pg, 0, 5));
        size_t len = strlen(body);
        PQclear(pg);
        http_owned(r, status, "application/json", body, len);
        return IDEM_ANSWERED;
    }
    error_set(err, 409, "request-in-progress", "the Idempotency-Key is contended; retry later");
    return IDEM_FAILED;
}

/* Stores the answer inside the write's transaction, so that it commits with the write. */
static bool
idempotency_save(struct request *r, struct db_conn *c, int status, const char *location,
                 const char *etag, const char *body, struct error *err)
{
    if (r->idempotency_key == NULL)
        return true;
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
    const char *values[] = {r->who.sub, r->idempotency_key, code, location, etag, body};
    return exec_simple(c, IDEM_SAVE, 6, values, err);
}

/* Releases the key of a request that failed, so that a retry runs again. */
static void
idempotency_release(struct request *r, struct db_conn *c)
{
    struct error ignored = {0};
    if (r->idempotency_key == NULL || c == NULL)
        return;
    const char *values[] = {r->who.sub, r->idempotency_key};
    if (!exec_simple(c, IDEM_FORGET, 2, values, &ignored))
        rlog_warn(r->request_id, "could not release the idempotency key");
    error_clear(&ignored);
}

/* ---------------------------------------------------------------- write handlers */

/* Ends a write: commit, or roll back and release the idempotency key. */
static bool
finish(struct request *r, struct db_conn *c, bool ok, struct error *err)
{
    if (ok && db_command(c, "COMMIT", err))
        return true;
    if (c != NULL) {
        rollback(c);
        idempotency_release(r, c);
    }
    return false;
}

void
resource_create(struct request *r)
{
    const struct resource *res = resource_of(r);
    struct error err = {0};
    struct write_result w = {0};
    json_t *body = NULL;
    struct db_conn *c = NULL;
    const char *pid = parent_id(r, res);
    bool ok = false;

    c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    switch (idempotency_begin(r, c, &err)) {
    case IDEM_ANSWERED:
        goto out;
    case IDEM_FAILED:
        c = NULL; /* nothing to release */
        goto out;
    case IDEM_PROCEED:
        break;
    }
    body = http_body_json(r, false, &err);
    if (body == NULL || !check_body(res, body, true, &err))
        goto done;
    if (!db_command(c, "BEGIN", &err) || !parent_live(r, c, res, pid, &err))
        goto done;
    ok = write_create(r, c, res, body, pid, &w, &err);
    const char *loc =
        !ok   ? NULL
        : pid ? arena_printf(&r->arena, "%s%s/%s/%s", res->parent_path, pid, res->name, w.id)
              : arena_printf(&r->arena, "/v1/%s/%s", res->name, w.id);
    const char *etag = ok && !res->unversioned ? etag_of(r, w.row) : NULL;
    ok = ok && idempotency_save(r, c, 201, loc, etag, PQgetvalue(w.row, 0, 0), &err);
done:
    if (!finish(r, c, ok, &err))
        goto out;
    http_add_header(r, "Location", loc);
    if (etag != NULL)
        http_add_header(r, "ETag", etag);
    http_pgresult(r, 201, "application/json", w.row);
    w.row = NULL;
out:
    if (!r->responded)
        http_error(r, &err);
    PQclear(w.row);
    json_decref(body);
}

void
resource_patch(struct request *r)
{
    const struct resource *res = resource_of(r);
    struct error err = {0};
    struct write_result w = {0};
    json_t *body = NULL;
    struct db_conn *c = NULL;
    bool ok = false;

    body = http_body_json(r, true, &err);
    if (body == NULL || !check_body(res, body, false, &err))
        goto out;
    c = db_thread_conn(&err);
    if (c == NULL || !db_command(c, "BEGIN", &err))
        goto out;
    ok = write_update(r, c, res, record_id(r), parent_id(r, res), body,
                      http_header(r, MHD_HTTP_HEADER_IF_MATCH), &w, &err);
    if (!finish(r, c, ok, &err))
        goto out;
    if (!res->unversioned)
        http_add_header(r, "ETag", etag_of(r, w.row));
    http_pgresult(r, 200, "application/json", w.row);
    w.row = NULL;
out:
    if (!r->responded)
        http_error(r, &err);
    PQclear(w.row);
    json_decref(body);
}

/* Lists who still refers to id; returns false with a 409 naming them. */
static bool
check_referrers(struct db_conn *c, const struct resource *res, const char *id, struct error *err)
{
    json_t *refs = json_array();
    struct buf names = {0};
    for (size_t i = 0; i < res->nreferrers; i++) {
        PGresult *pg = db_exec_sql(c, res->referrers[i].sql, 1, &id, err);
        if (pg == NULL) {
            json_decref(refs);
            buf_free(&names);
            return false;
        }
        for (int row = 0; row < PQntuples(pg); row++) {
            json_array_append_new(refs,
                                  json_pack("{s:s, s:s}", "resource", res->referrers[i].resource,
                                            "id", PQgetvalue(pg, row, 0)));
            buf_printf(&names, "%s%s %s", names.len ? ", " : "", res->referrers[i].resource,
                       PQgetvalue(pg, row, 0));
        }
        PQclear(pg);
    }
    if (json_array_size(refs) == 0) {
        json_decref(refs);
        buf_free(&names);
        return true;
    }
    error_set(err, 409, "still-referenced",
              "the %s is still referenced by %s; delete or change those first", res->singular,
              names.data);
    err->extra = json_pack("{s:o}", "referenced_by", refs);
    buf_free(&names);
    return false;
}

void
resource_delete(struct request *r)
{
    const struct resource *res = resource_of(r);
    struct error err = {0};
    PGresult *pg = NULL;
    struct db_conn *c = NULL;
    const char *id = record_id(r);
    const char *pid = parent_id(r, res);
    json_t *before = NULL;
    char sql[200];
    bool ok = false;

    if (!value_is_uuid(id) || (pid != NULL && !value_is_uuid(pid))) {
        not_found(&err, res, id);
        goto out;
    }
    c = db_thread_conn(&err);
    if (c == NULL || !db_command(c, "BEGIN", &err))
        goto out;
    if (!parent_live(r, c, res, pid, &err))
        goto done;
    pg = lock_record(r, c, res, id, pid, http_header(r, MHD_HTTP_HEADER_IF_MATCH), &err);
    if (pg == NULL)
        goto done;
    const char *before_text = arena_strdup(&r->arena, PQgetvalue(pg, 0, 0));
    PQclear(pg);
    pg = NULL;
    before = json_loads(before_text, 0, NULL);
    if (!access_record(&r->who, c, res, ACT_DELETE, before, NULL, &err) ||
        !check_referrers(c, res, id, &err))
        goto done;
    snprintf(sql, sizeof(sql), "UPDATE %s SET %s = clock_timestamp() WHERE id = $1::uuid",
             res->table, res->delete_column ? res->delete_column : "deleted_at");
    pg = db_exec_sql(c, sql, 1, &id, &err);
    ok = pg != NULL && write_audit(r, c, res, "delete", id, before_text, NULL, &err);
done:
    if (finish(r, c, ok, &err))
        http_empty(r, 204);
out:
    if (!r->responded)
        http_error(r, &err);
    PQclear(pg);
    json_decref(before);
}

/* ---------------------------------------------------------------- batch */

#define BATCH_MAX_ITEMS 1000

/* Copies err into errors as entries under items[index]. */
static void
item_errors(json_t *errors, size_t index, struct error *err)
{
    if (err->errors != NULL) {
        size_t i;
        json_t *e;
        json_array_foreach(err->errors, i, e)
        {
            if (!json_is_object(e) || error_list_full(errors)) {
                error_list_append(errors, NULL);
                continue;
            }
            const char *field = json_string_value(json_object_get(e, "field"));
            json_t *copy = json_deep_copy(e);
            json_object_set_new(copy, "field", json_sprintf("items[%zu].%s", index, field));
            error_list_append(errors, copy);
        }
    } else {
        error_list_append(
            errors, json_pack("{s:o, s:s, s:s}", "field", json_sprintf("items[%zu]", index), "code",
                              err->code ? err->code : "error", "message", err->detail));
    }
    error_clear(err);
}

/* Finds the record an item updates: by id, or by one external identifier scheme. */
static bool
match_item(struct request *r, struct db_conn *c, const struct resource *res, json_t *item,
           const char *scheme, const char **id, struct error *err)
{
    *id = NULL;
    if (scheme == NULL) {
        json_t *v = json_object_get(item, "id");
        if (v == NULL)
            return true;
        if (!json_is_string(v) || !value_is_uuid(json_string_value(v))) {
            err->errors = json_array();
            validate_add(err->errors, "id", "format", "must be a UUID");
            return error_set(err, 422, "validation-failed", "id must be a UUID");
        }
        const char *sql = arena_printf(&r->arena,
                                       "SELECT id::text FROM %s WHERE id = $1::uuid AND "
                                       "deleted_at IS NULL",
                                       res->table);
        const char *want = json_string_value(v);
        PGresult *pg = db_exec_sql(c, sql, 1, &want, err);
        if (pg == NULL)
            return false;
        if (PQntuples(pg) == 1)
            *id = arena_strdup(&r->arena, PQgetvalue(pg, 0, 0));
        PQclear(pg);
        return true;
    }
    const char *value =
        json_string_value(json_object_get(json_object_get(item, "external_ids"), scheme));
    if (value == NULL) {
        err->errors = json_array();
        validate_add(err->errors, arena_printf(&r->arena, "external_ids.%s", scheme), "required",
                     "the item needs an id under the scheme it is matched by");
        return error_set(err, 422, "validation-failed", "external id missing");
    }
    /* External ids belong to the source that writes them: a partner matches only the records
       of its own source, and other callers the records written directly (source sharaka),
       the records this batch would create. Another source's identifiers are invisible here. */
    const char *sql = arena_printf(&r->arena,
                                   "SELECT id::text FROM %s WHERE external_ids @> "
                                   "jsonb_build_object($1::text, $2::text) AND source = $3 "
                                   "AND deleted_at IS NULL ORDER BY created_at LIMIT 2",
                                   res->table);
    const char *values[] = {scheme, value, write_source(r)};
    PGresult *pg = db_exec_sql(c, sql, 3, values, err);
    if (pg == NULL)
        return false;
    int n = PQntuples(pg);
    if (n == 1)
        *id = arena_strdup(&r->arena, PQgetvalue(pg, 0, 0));
    PQclear(pg);
    if (n > 1)
        return error_set(err, 409, "ambiguous-match",
                         "more than one %s of source %s has %s %s; match by id instead",
                         res->singular, write_source(r), scheme, value);
    return true;
}

void
resource_batch(struct request *r)
{
    const struct resource *res = resource_of(r);
    struct error err = {0};
    json_t *body = NULL, *errors = json_array(), *results = json_array();
    struct db_conn *c = NULL;
    const char *scheme = NULL;
    bool ok = false, in_tx = false;

    const char *match = http_query(r, "match");
    if (match != NULL) {
        if (strncmp(match, "external_id:", 12) != 0 || match[12] == '\0' ||
            resource_field(res, "external_ids") == NULL) {
            error_set(&err, 400, "invalid-parameter",
                      "match must be external_id:<scheme> (e.g. external_id:LB-MOI) on a "
                      "resource with external_ids; without it, items are matched by id");
            goto out;
        }
        scheme = match + 12;
    }
    c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    switch (idempotency_begin(r, c, &err)) {
    case IDEM_ANSWERED:
        goto out;
    case IDEM_FAILED:
        c = NULL;
        goto out;
    case IDEM_PROCEED:
        break;
    }
    body = http_body_json(r, false, &err);
    if (body == NULL)
        goto done;
    json_t *items = json_object_get(body, "items");
    if (json_object_size(body) != 1 || !json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > BATCH_MAX_ITEMS) {
        err.errors = json_array();
        validate_add(err.errors, "items", "type", "must be an array of 1 to %d records",
                     BATCH_MAX_ITEMS);
        error_set(&err, 422, "validation-failed", "the body must be {\"items\": [...]}");
        goto done;
    }
    if (!db_command(c, "BEGIN", &err))
        goto done;
    in_tx = true;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        struct write_result w = {0};
        const char *id = NULL;
        bool item_ok;
        /* A savepoint per item: one item's database error does not end the others' checks. */
        if (!db_command(c, "SAVEPOINT item", &err))
            goto done;
        if (!json_is_object(item)) {
            error_set(&err, 422, "validation-failed", "must be an object");
            item_ok = false;
        } else if (!match_item(r, c, res, item, scheme, &id, &err)) {
            item_ok = false;
        } else if (id != NULL) {
            json_t *patch = json_deep_copy(item);
            json_object_del(patch, "id");
            item_ok = write_update(r, c, res, id, NULL, patch, NULL, &w, &err);
            json_decref(patch);
        } else {
            item_ok = write_create(r, c, res, item, NULL, &w, &err);
        }
        if (!item_ok) {
            if (err.status >= 500 && err.status != 503)
                goto done;
            if (err.status == 503)
                goto done;
            item_errors(errors, i, &err);
            if (!db_command(c, "ROLLBACK TO SAVEPOINT item", &err))
                goto done;
            continue;
        }
        json_array_append_new(results,
                              json_pack("{s:I, s:s, s:s, s:I}", "index", (json_int_t)i, "id", w.id,
                                        "result", write_kind_names[w.kind], "version",
                                        (json_int_t)atoll(PQgetvalue(w.row, 0, 1))));
        PQclear(w.row);
        if (!db_command(c, "RELEASE SAVEPOINT item", &err))
            goto done;
    }
    if (json_array_size(errors) > 0) {
        error_set(&err, 422, "validation-failed", "%zu error(s) in the batch; nothing was written",
                  json_array_size(errors));
        err.errors = errors;
        errors = NULL;
        goto done;
    }
    json_t *answer = json_pack("{s:o}", "items", results);
    results = NULL;
    char *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    ok = idempotency_save(r, c, 200, NULL, NULL, text, &err);
    in_tx = false;
    if (finish(r, c, ok, &err))
        http_owned(r, 200, "application/json", text, strlen(text));
    else
        free(text);
    goto out;
done:
    if (in_tx || c != NULL)
        finish(r, c, false, &err);
out:
    if (!r->responded) {
        if (err.status == 0)
            error_set(&err, 500, "internal-error", "the batch failed");
        http_error(r, &err);
    }
    json_decref(body);
    json_decref(errors);
    json_decref(results);
}

/* ---------------------------------------------------------------- demo data */

/* Generated from src/seed/demo.sql at build time. */
extern const char seed_demo_sql[];

int
resource_seed_demo(void)
{
    struct error err = {0};
    PGconn *pg = db_connect(&err);
    if (pg == NULL) {
        fprintf(stderr, "sharaka: cannot connect to the database (SHARAKA_DATABASE_URL)\n");
        return 1;
    }
    /* The transaction and the data: the first result that fails is the one reported. */
    PGresult *res = PQexec(pg, "BEGIN");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (ok) {
        PQclear(res);
        res = PQexec(pg, seed_demo_sql);
        ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    }
    if (!ok)
        fprintf(stderr, "sharaka: loading the demo data failed: %s", PQresultErrorMessage(res));
    PQclear(res);
    res = PQexec(pg, ok ? "COMMIT" : "ROLLBACK");
    ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    PQfinish(pg);
    if (ok)
        printf("demo data loaded\n");
    return ok ? 0 : 1;
}
