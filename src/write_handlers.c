/* write_handlers.c - POST, PATCH and DELETE of one record: one transaction each. */
#include "sharaka/engine.h"

#include <stdio.h>

#include "sharaka/access.h"
#include "sharaka/router.h"
#include "sharaka/values.h"

/* Ends a write: commit, or roll back and release the idempotency key. */
bool
engine_finish(struct request *r, struct db_conn *c, bool ok, struct error *err)
{
    char position[32];
    if (ok && db_commit(c, position, sizeof(position), err)) {
        /* Read-your-writes: a read that sends this back is served by a copy that has it. */
        if (position[0] != '\0')
            http_add_header(r, "Sharaka-Consistency", arena_strdup(&r->arena, position));
        return true;
    }
    if (c != NULL) {
        db_rollback(c);
        idempotency_release(r, c);
    }
    return false;
}

void
resource_create(struct request *r)
{
    const struct resource *res = engine_resource_of(r);
    struct error err = {0};
    struct write_result w = {0};
    json_t *body = NULL;
    struct db_conn *c = NULL;
    const char *pid = engine_parent_id(r, res);
    const char *loc = NULL, *etag = NULL;
    bool ok = false;

    c = idempotency_connect(r, &err);
    if (c == NULL)
        goto out;
    body = http_body_json(r, false, &err);
    if (body == NULL || !engine_check_body(res, body, true, &err))
        goto done;
    if (!db_command(c, "BEGIN", &err) || !engine_parent_live(r, c, res, pid, &err))
        goto done;
    ok = engine_write_create(r, c, res, body, pid, &w, &err);
    loc = !ok ? NULL
          : pid
              ? arena_printf(&r->arena, "/v1/%s/%s/%s/%s", res->parent->name, pid, res->name, w.id)
              : arena_printf(&r->arena, "/v1/%s/%s", res->name, w.id);
    etag = ok && !res->unversioned ? engine_etag_of(r, w.row) : NULL;
    ok = ok && idempotency_save(r, c, 201, loc, etag, PQgetvalue(w.row, 0, 0), &err);
done:
    if (!engine_finish(r, c, ok, &err))
        goto out;
    http_add_header(r, "Location", loc);
    if (etag != NULL)
        http_add_header(r, "ETag", etag);
    http_pgresult(r, 201, "application/json", w.row);
    w.row = NULL;
out:
    http_error(r, &err);
    PQclear(w.row);
    json_decref(body);
}

/* Ends a write that answers the record: committed, 200 with it and its ETag. */
static void
finish_with_record(struct request *r, struct db_conn *c, const struct resource *res, bool ok,
                   struct write_result *w, struct error *err)
{
    if (!engine_finish(r, c, ok, err))
        return;
    if (!res->unversioned)
        http_add_header(r, "ETag", engine_etag_of(r, w->row));
    http_pgresult(r, 200, "application/json", w->row);
    w->row = NULL;
}

void
resource_patch(struct request *r)
{
    const struct resource *res = engine_resource_of(r);
    struct error err = {0};
    struct write_result w = {0};
    json_t *body = NULL;
    struct db_conn *c = NULL;
    bool ok = false;

    body = http_body_json(r, true, &err);
    if (body == NULL || !engine_check_body(res, body, false, &err))
        goto out;
    c = db_thread_conn(&err);
    if (c == NULL || !db_command(c, "BEGIN", &err))
        goto out;
    ok = engine_write_update(r, c, res, engine_record_id(r), engine_parent_id(r, res), body,
                             http_header(r, MHD_HTTP_HEADER_IF_MATCH), &w, &err);
    finish_with_record(r, c, res, ok, &w, &err);
out:
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
    const struct resource *res = engine_resource_of(r);
    struct error err = {0};
    PGresult *pg = NULL;
    struct db_conn *c = NULL;
    const char *id = engine_record_id(r);
    const char *pid = engine_parent_id(r, res);
    json_t *before = NULL;
    char sql[200];
    bool ok = false;

    if (!value_is_uuid(id) || (pid != NULL && !value_is_uuid(pid))) {
        engine_not_found(&err, res, id);
        goto out;
    }
    c = db_thread_conn(&err);
    if (c == NULL || !db_command(c, "BEGIN", &err))
        goto out;
    if (!engine_parent_live(r, c, res, pid, &err))
        goto done;
    pg = engine_lock_record(r, c, res, id, pid, http_header(r, MHD_HTTP_HEADER_IF_MATCH), &err);
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
    ok = pg != NULL && engine_write_audit(r, c, res, "delete", id, before_text, NULL, &err);
done:
    if (engine_finish(r, c, ok, &err))
        http_empty(r, 204);
out:
    http_error(r, &err);
    PQclear(pg);
    json_decref(before);
}

void
resource_restore(struct request *r)
{
    const struct resource *res = engine_resource_of(r);
    struct error err = {0};
    struct write_result w = {0};
    struct db_conn *c = db_thread_conn(&err);

    if (c == NULL || !db_command(c, "BEGIN", &err))
        goto out;
    bool ok = engine_write_restore(r, c, res, engine_record_id(r), &w, &err);
    finish_with_record(r, c, res, ok, &w, &err);
out:
    http_error(r, &err);
    PQclear(w.row);
}
