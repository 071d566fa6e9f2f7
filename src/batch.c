/* batch.c - POST /v1/{resource}/batch: up to 1000 creates or updates, all or nothing. */
#include "sharaka/engine.h"

#include <stdlib.h>
#include <string.h>

#include "sharaka/validate.h"
#include "sharaka/values.h"

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
    const char *values[] = {scheme, value, engine_write_source(r)};
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
                         res->singular, engine_write_source(r), scheme, value);
    return true;
}

/* Reads ?match=: NULL scheme (match by id), or the scheme of external_id:<scheme>. */
static bool
parse_match(struct request *r, const struct resource *res, const char **scheme, struct error *err)
{
    const char *match = http_query(r, "match");
    *scheme = NULL;
    if (match == NULL)
        return true;
    if (strncmp(match, "external_id:", 12) != 0 || match[12] == '\0' ||
        resource_field(res, "external_ids") == NULL)
        return error_set(err, 400, "invalid-parameter",
                         "match must be external_id:<scheme> (e.g. external_id:LB-MOI) on a "
                         "resource with external_ids; without it, items are matched by id");
    *scheme = match + 12;
    return true;
}

/* The items of the body {"items": [...]}: 1 to BATCH_MAX_ITEMS of them; NULL with a 422. */
static json_t *
batch_items(json_t *body, struct error *err)
{
    json_t *items = json_object_get(body, "items");
    if (json_object_size(body) != 1 || !json_is_array(items) || json_array_size(items) == 0 ||
        json_array_size(items) > BATCH_MAX_ITEMS) {
        err->errors = json_array();
        validate_add(err->errors, "items", "type", "must be an array of 1 to %d records",
                     BATCH_MAX_ITEMS);
        error_set(err, 422, "validation-failed", "the body must be {\"items\": [...]}");
        return NULL;
    }
    return items;
}

/*
 * Writes item i under its own savepoint, so that one item's database error does not end the
 * others' checks. Appends its result, or its errors. Returns false only when the batch must stop
 * (the database failed); err then says why.
 */
static bool
write_item(struct request *r, struct db_conn *c, const struct resource *res, json_t *item, size_t i,
           const char *scheme, json_t *results, json_t *errors, struct error *err)
{
    struct write_result w = {0};
    const char *id = NULL;
    bool item_ok;

    if (!db_command(c, "SAVEPOINT item", err))
        return false;
    if (!json_is_object(item)) {
        error_set(err, 422, "validation-failed", "must be an object");
        item_ok = false;
    } else if (!match_item(r, c, res, item, scheme, &id, err)) {
        item_ok = false;
    } else if (id != NULL) {
        json_t *patch = json_deep_copy(item);
        json_object_del(patch, "id");
        item_ok = engine_write_update(r, c, res, id, NULL, patch, NULL, &w, err);
        json_decref(patch);
    } else {
        item_ok = engine_write_create(r, c, res, item, NULL, &w, err);
    }
    if (!item_ok) {
        if (err->status >= 500)
            return false;
        item_errors(errors, i, err);
        return db_command(c, "ROLLBACK TO SAVEPOINT item", err);
    }
    json_array_append_new(results,
                          json_pack("{s:I, s:s, s:s, s:I}", "index", (json_int_t)i, "id", w.id,
                                    "result", engine_write_kind_names[w.kind], "version",
                                    (json_int_t)atoll(PQgetvalue(w.row, 0, 1))));
    PQclear(w.row);
    return db_command(c, "RELEASE SAVEPOINT item", err);
}

void
resource_batch(struct request *r)
{
    const struct resource *res = engine_resource_of(r);
    struct error err = {0};
    json_t *body = NULL, *items, *errors = json_array(), *results = json_array();
    struct db_conn *c = NULL;
    const char *scheme = NULL;
    bool ok = false;

    if (!parse_match(r, res, &scheme, &err))
        goto out;
    c = idempotency_connect(r, &err);
    if (c == NULL)
        goto out;
    body = http_body_json(r, false, &err);
    if (body == NULL || (items = batch_items(body, &err)) == NULL || !db_command(c, "BEGIN", &err))
        goto done;
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        if (!write_item(r, c, res, item, i, scheme, results, errors, &err))
            goto done;
    }
    bool clean =
        error_from_list(&err, errors, "validation-failed",
                        "%zu error(s) in the batch; nothing was written", json_array_size(errors));
    errors = NULL; /* released, or err's now */
    if (!clean)
        goto done;
    json_t *answer = json_pack("{s:o}", "items", results);
    results = NULL;
    char *text = json_dumps(answer, JSON_COMPACT);
    json_decref(answer);
    ok = idempotency_save(r, c, 200, NULL, NULL, text, &err);
    if (engine_finish(r, c, ok, &err))
        http_owned(r, 200, "application/json", text, strlen(text));
    else
        free(text);
    goto out;
done:
    engine_finish(r, c, false, &err);
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
