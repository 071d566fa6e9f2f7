/* write.c - one create and one update inside an open transaction: checks, policy, references,
 * the row, its link-table items, the audit row. */
#include "sharaka/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/access.h"
#include "sharaka/auth.h"
#include "sharaka/router.h"
#include "sharaka/sql.h"
#include "sharaka/validate.h"
#include "sharaka/values.h"

static const char AUDIT_INSERT[] =
    "INSERT INTO audit_log (actor_type, actor_id, actor_role, action, resource, record_id, before, "
    "after, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9)";

const char *const engine_write_kind_names[] = {"created", "updated", "unchanged"};

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
    if (*n < ENGINE_MAX_REFS && table != NULL && id != NULL && value_is_uuid(id))
        refs[(*n)++] = (struct ref){path, table, id};
}

/* Checks that every record the body refers to exists and is not deleted: 422 naming each. */
static bool
check_references(struct request *r, struct db_conn *c, const struct resource *res, json_t *record,
                 json_t *changed, struct error *err)
{
    struct ref refs[ENGINE_MAX_REFS];
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
    return error_from_list(err, errors, "invalid-reference",
                           "the body refers to %zu record(s) that do not exist",
                           json_array_size(errors));
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

/* Reads the record as the caller sees it, inside the open transaction; in lang (display_ fields
 * added, as a GET in that language answers) unless lang is NULL. */
static PGresult *
read_in(struct request *r, struct db_conn *c, const struct resource *res, const char *id,
        const char *lang, struct error *err)
{
    struct sql s = {0};
    struct list_query q;
    query_whole(res, &q);
    q.lang = lang;
    sql_build_get(&s, res, engine_sees_internal(r), lang != NULL ? &q : NULL);
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

static PGresult *
read_back(struct request *r, struct db_conn *c, const struct resource *res, const char *id,
          struct error *err)
{
    return read_in(r, c, res, id, NULL, err);
}

/* Adds the audit row of a write, inside the write's transaction. */
bool
engine_write_audit(struct request *r, struct db_conn *c, const struct resource *res,
                   const char *action, const char *id, const char *before, const char *after,
                   struct error *err)
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

const char *
engine_write_source(struct request *r)
{
    return r->who.role == ROLE_PARTNER && r->who.source[0] ? r->who.source : "sharaka";
}

/*
 * Locks the live record for a write and checks if_match (when given) against its version.
 * Returns its row (JSON, version), or NULL with err (404, 412).
 */
PGresult *
engine_lock_record(struct request *r, struct db_conn *c, const struct resource *res, const char *id,
                   const char *pid, const char *if_match, struct error *err)
{
    struct sql s = {0};
    struct list_query q;
    query_whole(res, &q);
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
        engine_not_found(err, res, id);
        return NULL;
    }
    if (if_match == NULL)
        return pg;
    /* If-Match names the representation a GET answers the caller by default. */
    const char *etag;
    if (engine_sees_internal(r)) {
        etag =
            engine_etag_of(r, pg); /* the internal view with every field is that representation */
    } else {
        PGresult *view = read_back(r, c, res, id, err);
        if (view == NULL) {
            PQclear(pg);
            return NULL;
        }
        etag = engine_etag_of(r, view);
        PQclear(view);
    }
    /* A browser reads in the language it sends (Accept-Language), and writes with that header
     * too: the ETag of that GET names the same version. */
    const char *lang = query_accept_language(http_header(r, "Accept-Language"));
    bool listed = engine_etag_listed(if_match, etag, true);
    if (!listed && lang != NULL && !res->unversioned) {
        PGresult *view = read_in(r, c, res, id, lang, err);
        if (view == NULL) {
            PQclear(pg);
            return NULL;
        }
        listed = engine_etag_listed(if_match, engine_etag_of(r, view), true);
        PQclear(view);
    }
    if (!listed) {
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
bool
engine_check_body(const struct resource *res, json_t *body, bool create, struct error *err)
{
    json_t *errors = json_array();
    validate_keys(res, body, create, errors);
    if (create)
        validate_values(res, body, NULL, true, errors);
    return error_from_list(err, errors, "validation-failed", "the request body has %zu error(s)",
                           json_array_size(errors));
}

/* Drops what a failed write left in out and says the database's error in the resource's terms. */
static void
write_failed(const struct resource *res, struct write_result *out, struct error *err)
{
    PQclear(out->row);
    out->row = NULL;
    explain_db_error(res, err);
}

/*
 * Creates a record from body inside the open transaction: checks, policy, references, the row,
 * a partnership's organizations, the audit row. Fills out on success; err otherwise.
 */
/* A create that names the id of a deleted record is told to restore it: 409. */
static bool
id_not_deleted(struct db_conn *c, const struct resource *res, json_t *body, struct error *err)
{
    const char *id = json_string_value(json_object_get(body, "id"));
    if (id == NULL || res->no_soft_delete || res->parent != NULL || !value_is_uuid(id))
        return true;
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = $1::uuid AND deleted_at IS NOT NULL",
             res->table);
    PGresult *pg = db_exec_sql(c, sql, 1, &id, err);
    if (pg == NULL)
        return false;
    bool deleted = PQntuples(pg) == 1;
    PQclear(pg);
    if (!deleted)
        return true;
    return error_set(err, 409, "deleted",
                     "the %s %s was deleted; an admin brings it back with POST /v1/%s/%s/restore",
                     res->singular, id, res->name, id);
}

bool
engine_write_create(struct request *r, struct db_conn *c, const struct resource *res, json_t *body,
                    const char *pid, struct write_result *out, struct error *err)
{
    struct sql s = {0};
    struct buf cols = {0};
    json_t *after = NULL, *parties = NULL;
    PGresult *pg = NULL;
    bool ok = false;

    if (!engine_check_body(res, body, true, err))
        goto out;
    after = candidate(body, res, pid, engine_write_source(r));
    if (!access_record(&r->who, c, res, ACT_CREATE, NULL, after, err))
        goto out;
    if (becomes_verified(res, NULL, after) &&
        !access_record(&r->who, c, res, ACT_VERIFY, NULL, after, err))
        goto out;
    if (!check_references(r, c, res, body, NULL, err) || !id_not_deleted(c, res, body, err))
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
        sql_param(&s, engine_write_source(r));
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
        !engine_write_audit(r, c, res, "create", out->id, NULL, PQgetvalue(out->row, 0, 0), err))
        goto out;
    out->kind = WRITE_CREATED;
    ok = true;
out:
    if (!ok)
        write_failed(res, out, err);
    buf_free(&cols);
    sql_free(&s);
    json_decref(after);
    return ok;
}

/*
 * The checks of an update, the patched record against the stored one: values (422), the policy
 * (403), the verifier's rules, the references (422). *verifying says the patch verifies it.
 */
static bool
check_update(struct request *r, struct db_conn *c, const struct resource *res, json_t *before,
             json_t *record, json_t *patch, bool *verifying, struct error *err)
{
    json_t *errors = json_array();
    validate_values(res, record, patch, false, errors);
    if (!error_from_list(err, errors, "validation-failed", "the request body has %zu error(s)",
                         json_array_size(errors)))
        return false;
    if (!access_record(&r->who, c, res, ACT_UPDATE, before, record, err))
        return false;
    *verifying = becomes_verified(res, before, record);
    if (*verifying && !access_record(&r->who, c, res, ACT_VERIFY, before, record, err))
        return false;
    /* A verified record stays as its verifier saw it: only a verifier may change it. */
    if (res->verification != NULL && !*verifying && is_verified(res, before) &&
        !json_equal(before, record) &&
        !access_record(&r->who, c, res, ACT_VERIFY, before, record, err))
        return false;
    return check_references(r, c, res, record, patch, err);
}

/*
 * Appends "col = value, ..." to s for each field the patch names, and the verifier's stamp. A
 * changed link field is not a column: *links is set to its new items. Returns how many columns
 * are set, or -1 with err set.
 */
static int
update_sets(struct request *r, const struct resource *res, json_t *before, json_t *record,
            json_t *patch, bool verifying, struct sql *s, json_t **links, struct error *err)
{
    int nset = 0;
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if (json_object_get(patch, f->name) == NULL)
            continue;
        json_t *v = json_object_get(record, f->name);
        if (f->type == FT_LINKS) {
            if (!json_equal(v, json_object_get(before, f->name)))
                *links = v;
            continue;
        }
        buf_printf(&s->text, "%s%s = ", nset ? ", " : "", column_name(f));
        const char *text = json_is_null(v) ? NULL : column_value(r, f, v, err);
        if (err->status)
            return -1;
        if (text == NULL)
            buf_puts(&s->text, "NULL");
        else
            value_expr(s, f, text);
        nset++;
    }
    const struct verification *vr = res->verification;
    if (vr != NULL && json_object_get(patch, vr->field) != NULL) {
        /* Who verified and when follow the status: set on verification, cleared when it goes. */
        if (verifying) {
            buf_printf(&s->text, "%s%s = ", nset ? ", " : "", vr->by);
            sql_param(s, r->who.sub);
            buf_printf(&s->text, "::uuid, %s = clock_timestamp()", vr->at);
            nset++;
        } else if (!is_verified(res, record)) {
            buf_printf(&s->text, "%s%s = NULL, %s = NULL", nset ? ", " : "", vr->by, vr->at);
            nset++;
        }
    }
    return nset;
}

/*
 * Applies patch (a JSON merge patch) to the record id inside the open transaction. if_match,
 * when given, must name the stored version. Fills out on success (WRITE_UNCHANGED when nothing
 * changed); err otherwise.
 */
bool
engine_write_update(struct request *r, struct db_conn *c, const struct resource *res,
                    const char *id, const char *pid, json_t *patch, const char *if_match,
                    struct write_result *out, struct error *err)
{
    struct sql s = {0};
    PGresult *pg = NULL;
    json_t *before = NULL, *record = NULL, *links = NULL;
    bool ok = false, verifying = false;

    if (!engine_check_body(res, patch, false, err))
        goto out;
    if (!value_is_uuid(id) || (pid != NULL && !value_is_uuid(pid))) {
        engine_not_found(err, res, id);
        goto out;
    }
    if (!engine_parent_live(r, c, res, pid, err))
        goto out;
    pg = engine_lock_record(r, c, res, id, pid, if_match, err);
    if (pg == NULL)
        goto out;
    const char *before_text = arena_strdup(&r->arena, PQgetvalue(pg, 0, 0));
    const char *before_version = arena_strdup(&r->arena, PQgetvalue(pg, 0, 1));
    PQclear(pg);
    pg = NULL;
    before = json_loads(before_text, 0, NULL);
    record = json_deep_copy(before);
    validate_merge_patch(record, patch);
    if (!check_update(r, c, res, before, record, patch, &verifying, err))
        goto out;

    buf_printf(&s.text, "UPDATE %s a SET ", res->table);
    s.params[0] = id; /* $1 in the WHERE clause */
    s.nparams = 1;
    int nset = update_sets(r, res, before, record, patch, verifying, &s, &links, err);
    if (nset < 0)
        goto out;
    if (links != NULL) {
        if (!write_links(r, c, res->link, id, links, true, err))
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
        !engine_write_audit(r, c, res, "update", id, before_text, PQgetvalue(out->row, 0, 0), err))
        goto out;
    ok = true;
out:
    if (!ok)
        write_failed(res, out, err);
    PQclear(pg);
    sql_free(&s);
    json_decref(before);
    json_decref(record);
    return ok;
}

bool
engine_write_restore(struct request *r, struct db_conn *c, const struct resource *res,
                     const char *id, struct write_result *out, struct error *err)
{
    struct sql s = {0};
    PGresult *pg = NULL;
    json_t *before = NULL;
    bool ok = false;

    if (!value_is_uuid(id) || res->no_soft_delete || res->parent != NULL) {
        engine_not_found(err, res, id);
        return false;
    }
    buf_puts(&s.text, "SELECT (");
    sql_row_json(&s, res, "a", true, NULL);
    buf_printf(&s.text, ")::text, a.deleted_at IS NULL FROM %s a WHERE a.id = $1::uuid FOR UPDATE",
               res->table);
    s.params[0] = id;
    s.nparams = 1;
    pg = db_exec_sql(c, s.text.data, s.nparams, s.params, err);
    if (pg == NULL)
        goto out;
    if (PQntuples(pg) != 1) {
        engine_not_found(err, res, id);
        goto out;
    }
    if (strcmp(PQgetvalue(pg, 0, 1), "t") == 0) {
        error_set(err, 409, "not-deleted", "the %s %s is not deleted: there is nothing to restore",
                  res->singular, id);
        goto out;
    }
    const char *before_text = arena_strdup(&r->arena, PQgetvalue(pg, 0, 0));
    before = json_loads(before_text, 0, NULL);
    if (!access_record(&r->who, c, res, ACT_RESTORE, before, before, err))
        goto out;
    /* What it refers to must be live: a restored record never points at a deleted one. */
    if (!check_references(r, c, res, before, NULL, err)) {
        if (err->status == 422) {
            err->status = 409;
            err->code = "restore-blocked";
            snprintf(err->detail, sizeof(err->detail),
                     "the %s refers to records that are deleted (see errors): restore those "
                     "first",
                     res->singular);
        }
        goto out;
    }
    PQclear(pg);
    char *sql =
        arena_printf(&r->arena, "UPDATE %s SET deleted_at = NULL WHERE id = $1::uuid", res->table);
    pg = db_exec_sql(c, sql, 1, &id, err);
    if (pg == NULL) {
        explain_db_error(res, err);
        goto out;
    }
    PQclear(pg);
    pg = NULL;
    out->id = id;
    out->row = read_back(r, c, res, id, err);
    ok = out->row != NULL &&
         engine_write_audit(r, c, res, "restore", id, before_text, PQgetvalue(out->row, 0, 0), err);
    out->kind = WRITE_UPDATED;
out:
    PQclear(pg);
    sql_free(&s);
    json_decref(before);
    return ok;
}
