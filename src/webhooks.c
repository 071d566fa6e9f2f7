/*
 * webhooks.c - /v1/webhooks: subscriptions to the change feed, delivered by deliveries.c.
 *
 * Administrators manage every webhook; a partner's API key manages the webhooks of its own
 * source, and another source's webhook is a 403 to it. The signing secret is shown
 * once, in the answer to the POST. Each write and its audit row are one statement.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/handlers.h"
#include "sharaka/query.h"
#include "sharaka/resource.h"
#include "sharaka/validate.h"
#include "sharaka/values.h"
#include "sharaka/webhook_url.h"

#define WEBHOOKS_PER_OWNER 25
#define TEXT_OF(n)         #n
#define TEXT(n)            TEXT_OF(n) /* the number written in a statement */
#define DESCRIPTION_MAX    500
#define DELIVERIES_DEFAULT 50
#define DELIVERIES_MAX     200
#define SECRET_BYTES       32

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* A webhook as its manager sees it (never the secret), for the row aliased w. */
// clang-format off
#define WEBHOOK_JSON                                                                               \
    "json_build_object('id', w.id, 'url', w.url, 'resources', to_json(w.resources), "              \
    "'description', w.description, 'owner_source', w.owner_source, 'enabled', w.enabled, "         \
    "'disabled_reason', w.disabled_reason, 'disabled_at', " TS("w.disabled_at") ", "               \
    "'pending_deliveries', (SELECT count(*) FROM webhook_deliveries d WHERE "                      \
        "d.webhook_id = w.id AND d.state <> 'delivered'), "                                        \
    "'previous_secret_until', CASE WHEN w.previous_secret_until > clock_timestamp() THEN "         \
        TS("w.previous_secret_until") " END, "                                                     \
    "'version', w.version, 'created_at', " TS("w.created_at") ", "                                 \
    "'updated_at', " TS("w.updated_at") ")"
// clang-format on

/* The audit row of a write: $A actor type, $B actor id, $C role, $D request id. */
#define AUDIT_INSERT(action, a, b, c, d, before, after)                                            \
    "INSERT INTO audit_log (actor_type, actor_id, actor_role, action, resource, record_id, "       \
    "before, after, request_id) SELECT " a ", " b ", " c ", '" action "', 'webhooks', "            \
    "w.id::text, " before ", " after ", " d

/* $1 url, $2 resources, $3 description, $4 secret, $5 owner source, $6 actor type, $7 actor id,
 * $8 role, $9 request id. */
static const char create_sql[] =
    "WITH w AS (INSERT INTO webhooks (url, resources, description, secret, owner_source, "
    "created_by) SELECT $1, $2::text[], $3, $4, $5, $7 WHERE (SELECT count(*) FROM webhooks "
    "WHERE owner_source IS NOT DISTINCT FROM $5) < " TEXT(
        WEBHOOKS_PER_OWNER) " RETURNING *), "
                            "a AS (" AUDIT_INSERT("create", "$6", "$7", "$8", "$9", "NULL",
                                                  "(" WEBHOOK_JSON
                                                  ")::jsonb") " FROM w) "
                                                              "SELECT (" WEBHOOK_JSON
                                                              ")::text FROM w";

/* $1 id, $2 the caller's source or NULL for an administrator. */
#define OWNED "w.id = $1::uuid AND ($2::text IS NULL OR w.owner_source = $2)"

static const char get_sql[] = "SELECT (" WEBHOOK_JSON ")::text FROM webhooks w WHERE " OWNED;

static const char list_sql[] =
    "SELECT coalesce(json_agg(" WEBHOOK_JSON " ORDER BY w.created_at, w.id), '[]')::text "
    "FROM webhooks w WHERE $1::text IS NULL OR w.owner_source = $1";

/*
 * $3 url, $4 resources, $5 description, $6 enabled (each NULL: unchanged), $7-$10 the audit's
 * actor and request. Enabling a disabled webhook puts its failed deliveries back in the queue,
 * their attempts counted anew.
 */
static const char patch_sql[] =
    "WITH old AS (SELECT w.*, (" WEBHOOK_JSON ")::jsonb AS doc FROM webhooks w WHERE " OWNED
    " FOR UPDATE), "
    "w AS (UPDATE webhooks n SET url = coalesce($3, n.url), resources = coalesce($4::text[], "
    "n.resources), description = coalesce($5, n.description), enabled = coalesce($6::boolean, "
    "n.enabled), disabled_reason = CASE WHEN coalesce($6::boolean, n.enabled) THEN NULL WHEN "
    "n.enabled THEN 'disabled by ' || $8 ELSE n.disabled_reason END, disabled_at = CASE WHEN "
    "coalesce($6::boolean, n.enabled) THEN NULL WHEN n.enabled THEN clock_timestamp() ELSE "
    "n.disabled_at END, version = n.version + 1, updated_at = clock_timestamp() FROM old WHERE "
    "n.id = old.id RETURNING n.*, old.enabled AS was_enabled), "
    "q AS (UPDATE webhook_deliveries d SET state = 'pending', attempts = 0, next_attempt_at = "
    "clock_timestamp() FROM w WHERE d.webhook_id = w.id AND w.enabled AND NOT w.was_enabled AND "
    "d.state = 'failed'), "
    "a AS (" AUDIT_INSERT("update", "$7", "$8", "$9", "$10", "(SELECT doc FROM old)",
                          "(" WEBHOOK_JSON
                          ")::jsonb") " FROM w) "
                                      "SELECT (" WEBHOOK_JSON
                                      ")::text, w.enabled AND NOT w.was_enabled FROM w";

static const char delete_sql[] =
    "WITH w AS (DELETE FROM webhooks w WHERE " OWNED " RETURNING w.*), "
    "a AS (" AUDIT_INSERT("delete", "$3", "$4", "$5", "$6", "(" WEBHOOK_JSON ")::jsonb",
                          "NULL") " FROM w) "
                                  "SELECT w.id FROM w";

/*
 * A new signing secret ($3), the current one kept beside it for $4 seconds (0: dropped at once;
 * a secret kept from an earlier rotation is dropped either way); $5-$8 the audit's actor and
 * request. The audit shows the window, never a secret.
 */
static const char rotate_sql[] =
    "WITH old AS (SELECT w.*, (" WEBHOOK_JSON ")::jsonb AS doc FROM webhooks w WHERE " OWNED
    " FOR UPDATE), "
    "w AS (UPDATE webhooks n SET previous_secret = CASE WHEN $4::int > 0 THEN n.secret END, "
    "previous_secret_until = CASE WHEN $4::int > 0 THEN clock_timestamp() + $4::int * interval "
    "'1 second' END, secret = $3, version = n.version + 1, updated_at = clock_timestamp() FROM "
    "old WHERE n.id = old.id RETURNING n.*), "
    "a AS (" AUDIT_INSERT("update", "$5", "$6", "$7", "$8", "(SELECT doc FROM old)",
                          "(" WEBHOOK_JSON ")::jsonb") " FROM w) "
                                                       "SELECT (" WEBHOOK_JSON ")::text FROM w";

/* A ping through the same outbox as the changes: $1 id, $2 source. */
static const char test_sql[] =
    "INSERT INTO webhook_deliveries (webhook_id, event) SELECT w.id, 'webhook.ping' FROM "
    "webhooks w WHERE " OWNED " AND w.enabled RETURNING id::text";

/* $1 id, $2 source: whether the caller may manage the webhook. */
static const char owner_sql[] = "SELECT $2::text IS NULL OR w.owner_source IS NOT DISTINCT FROM "
                                "$2 FROM webhooks w WHERE w.id = $1::uuid";

/* The attempts, newest first: $3 before this attempt id (0: from the newest), $4 how many. */
static const char deliveries_sql[] =
    "WITH page AS (SELECT t.*, d.event, d.state, d.change_seq, d.xid, "
    "row_number() OVER (ORDER BY t.id DESC) AS rn FROM webhook_attempts t JOIN "
    "webhook_deliveries d ON d.id = t.delivery_id JOIN webhooks w ON w.id = t.webhook_id "
    "WHERE " OWNED " AND t.webhook_id = $1::uuid AND ($3::bigint = 0 OR t.id < $3::bigint) "
    "ORDER BY t.id DESC LIMIT $4::int + 1) "
    "SELECT coalesce(json_agg(json_build_object('id', p.id, 'delivery_id', 'msg_' || "
    "p.delivery_id, 'event', p.event, 'cursor', p.xid::text || '-' || p.change_seq, "
    "'attempt', p.attempt, 'at', " TS(
        "p.at") ", 'duration_ms', p.duration_ms, 'outcome', "
                "p.outcome, 'response_status', p.response_status, 'error', p.error, "
                "'next_attempt_at', " TS(
                    "p.next_attempt_at") ", 'delivery_state', p.state) ORDER BY p.id DESC) FILTER "
                                         "(WHERE "
                                         "p.rn <= $4::int), '[]')::text, (array_agg(p.id ORDER BY "
                                         "p.rn) FILTER (WHERE p.rn = "
                                         "$4::int))[1], count(*) > $4::int FROM page p";

/* NULL for an administrator, who manages every webhook; the partner's source otherwise. */
static const char *
owner_of(const struct request *r)
{
    return r->who.role == ROLE_ADMIN ? NULL : r->who.source;
}

static const char *
actor_type(const struct request *r)
{
    return r->who.api_key ? "api_key" : "user";
}

/* "whsec_" and the base64 of 32 random bytes, as Standard Webhooks libraries expect it. */
static void
new_secret(char *out, size_t len)
{
    unsigned char key[SECRET_BYTES];
    randombytes_buf(key, sizeof(key));
    memcpy(out, "whsec_", 6);
    sodium_bin2base64(out + 6, len - 6, key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(key, sizeof(key));
}

/* resources: an array of distinct names from the feed; writes the PostgreSQL array literal. */
static void
check_resources(json_t *v, struct buf *literal, json_t *errors)
{
    size_t i;
    json_t *item;
    struct buf allowed = {0};

    resource_names(&allowed, ", ");
    if (!json_is_array(v) || json_array_size(v) > resources_count) {
        validate_add(errors, "resources", "type",
                     "an array of resource names (empty: all of them); allowed: %s", allowed.data);
        buf_free(&allowed);
        return;
    }
    buf_putc(literal, '{');
    json_array_foreach(v, i, item)
    {
        const char *name = json_string_value(item);
        if (name == NULL || resource_by_name(name, json_string_length(item)) == NULL) {
            validate_add(errors, "resources", "enum", "'%.60s' is not in the feed; allowed: %s",
                         name ? name : "(not a string)", allowed.data);
            buf_free(&allowed);
            return;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(v, j)), name) == 0) {
                validate_add(errors, "resources", "duplicate", "'%s' is named twice", name);
                buf_free(&allowed);
                return;
            }
        buf_printf(literal, "%s%s", i ? "," : "", name);
    }
    buf_putc(literal, '}');
    buf_free(&allowed);
}

/*
 * Checks a create (or, with patch, a merge patch) body: url, resources, description and, on a
 * patch, enabled. The checked values land in the out parameters (NULL when absent).
 */
static bool
check_body(json_t *body, bool patch, const char **url, struct buf *resources,
           const char **description, const char **enabled, struct error *err)
{
    json_t *errors = json_array();
    const char *key;
    json_t *v;
    char why[300];

    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "url") != 0 && strcmp(key, "resources") != 0 &&
            strcmp(key, "description") != 0 && !(patch && strcmp(key, "enabled") == 0))
            validate_add(errors, key, "unknown-field",
                         "'%.60s' is not a field; allowed: url, "
                         "resources, description%s",
                         key, patch ? ", enabled" : "");
    }
    v = json_object_get(body, "url");
    if (v == NULL && !patch)
        validate_add(errors, "url", "required", "url is required");
    else if (v != NULL && !json_is_string(v))
        validate_add(errors, "url", "type", "url must be a string");
    else if (v != NULL &&
             !webhook_url_check(json_string_value(v), cfg.webhook_private, true, why, sizeof(why)))
        validate_add(errors, "url", "format", "%s", why);
    else if (v != NULL)
        *url = json_string_value(v);
    if ((v = json_object_get(body, "resources")) != NULL)
        check_resources(v, resources, errors);
    if ((v = json_object_get(body, "description")) != NULL) {
        if (!json_is_string(v) || (json_string_length(v) > 0 && !value_text_ok(v, DESCRIPTION_MAX)))
            validate_add(errors, "description", "length",
                         "description must be text of at most %d characters", DESCRIPTION_MAX);
        else
            *description = json_string_value(v);
    }
    if ((v = json_object_get(body, "enabled")) != NULL && patch) {
        if (!json_is_boolean(v))
            validate_add(errors, "enabled", "type", "enabled must be true or false");
        else
            *enabled = json_is_true(v) ? "true" : "false";
    }
    return error_from_list(err, errors, "validation-failed", "the request body has %zu error(s)",
                           json_array_size(errors));
}

/* The id in the path must be a UUID; a 404 otherwise, as for any record. */
static bool
path_id(struct request *r, struct error *err)
{
    if (r->nparams < 1 || !value_is_uuid(r->params[0]))
        return error_set(err, 404, "not-found", "no webhook has the id '%.40s'",
                         r->nparams ? r->params[0] : "");
    return true;
}

static void
gone(struct request *r, struct error *err)
{
    error_set(err, 404, "not-found", "no webhook has the id %s", r->params[0]);
}

/*
 * The record-level rule: the webhook must exist (404) and be the caller's to manage (403: a
 * partner's key manages its own source's only).
 */
static bool
may_manage(struct request *r, struct db_conn *c, struct error *err)
{
    const char *values[] = {r->params[0], owner_of(r)};
    PGresult *pg = db_exec_sql(c, owner_sql, 2, values, err);
    bool ok = false;
    if (pg == NULL)
        return false;
    if (PQntuples(pg) == 0)
        gone(r, err);
    else if (strcmp(PQgetvalue(pg, 0, 0), "t") != 0)
        error_set(err, 403, "forbidden",
                  "this webhook belongs to another source; a partner's key manages the webhooks "
                  "of its own source (%s)",
                  r->who.source);
    else
        ok = true;
    PQclear(pg);
    return ok;
}

void
webhooks_create(struct request *r)
{
    struct error err = {0};
    json_t *body = http_body_json(r, false, &err);
    const char *url = NULL, *description = "", *enabled = NULL;
    struct buf resources = {0};
    char secret[96];
    PGresult *pg = NULL;

    if (body == NULL || !check_body(body, false, &url, &resources, &description, &enabled, &err))
        goto out;
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    new_secret(secret, sizeof(secret));
    const char *values[] = {url,          resources.len ? resources.data : "{}",
                            description,  secret,
                            owner_of(r),  actor_type(r),
                            r->who.sub,   auth_role_name(r->who.role),
                            r->request_id};
    pg = db_exec_sql(c, create_sql, 9, values, &err);
    if (pg == NULL)
        goto out;
    if (PQntuples(pg) == 0) {
        error_set(&err, 409, "webhook-limit",
                  "this owner already has %d webhooks, the most allowed; delete one first",
                  WEBHOOKS_PER_OWNER);
        goto out;
    }
    /* The secret is shown this once. */
    http_created_once(r, "/v1/webhooks", PQgetvalue(pg, 0, 0), "secret", secret);
out:
    sodium_memzero(secret, sizeof(secret));
    http_error(r, &err);
    PQclear(pg);
    buf_free(&resources);
    json_decref(body);
}

/* Only the query parameters allowed (a NULL-terminated list; NULL: none) are taken. */
static bool
no_query(struct request *r, const char *const *allowed, struct error *err)
{
    struct query_arg args[8];
    int n = 0;
    if (!http_query_args(r, args, (int)ARRAY_LEN(args), &n, err))
        return false;
    for (int i = 0; i < n; i++) {
        if (allowed != NULL && value_in_list(allowed, args[i].key))
            continue;
        struct buf names = {0};
        if (allowed != NULL)
            value_join_list(&names, allowed);
        error_set(err, 400, "unknown-parameter", "unknown query parameter '%.60s'; %s%s",
                  args[i].key, allowed ? "allowed: " : "none is taken",
                  names.data ? names.data : "");
        buf_free(&names);
        return false;
    }
    return true;
}

void
webhooks_list(struct request *r)
{
    struct error err = {0};
    const char *values[] = {owner_of(r)};
    struct db_conn *c;
    PGresult *pg;

    if (!no_query(r, NULL, &err) || (c = db_thread_conn(&err)) == NULL ||
        (pg = db_exec_sql(c, list_sql, 1, values, &err)) == NULL) {
        http_error(r, &err);
        return;
    }
    struct buf b = {0};
    buf_printf(&b, "{\"data\":%s}", PQgetvalue(pg, 0, 0));
    PQclear(pg);
    size_t len = b.len;
    http_owned(r, 200, "application/json", buf_take(&b), len);
}

void
webhooks_get(struct request *r)
{
    struct error err = {0};
    struct db_conn *c;
    PGresult *pg = NULL;

    if (!no_query(r, NULL, &err) || !path_id(r, &err) || (c = db_thread_conn(&err)) == NULL ||
        !may_manage(r, c, &err))
        goto out;
    const char *values[] = {r->params[0], owner_of(r)};
    if ((pg = db_exec_sql(c, get_sql, 2, values, &err)) == NULL)
        goto out;
    if (PQntuples(pg) == 0) {
        gone(r, &err);
        goto out;
    }
    http_pgresult(r, 200, "application/json", pg);
    pg = NULL;
out:
    http_error(r, &err);
    PQclear(pg);
}

void
webhooks_patch(struct request *r)
{
    struct error err = {0};
    json_t *body = NULL;
    const char *url = NULL, *description = NULL, *enabled = NULL;
    struct buf resources = {0};
    struct db_conn *c;
    PGresult *pg = NULL;

    if (!path_id(r, &err) || (body = http_body_json(r, true, &err)) == NULL ||
        (c = db_thread_conn(&err)) == NULL || !may_manage(r, c, &err) ||
        !check_body(body, true, &url, &resources, &description, &enabled, &err))
        goto out;
    const char *values[] = {r->params[0],
                            owner_of(r),
                            url,
                            resources.len ? resources.data : NULL,
                            description,
                            enabled,
                            actor_type(r),
                            r->who.sub,
                            auth_role_name(r->who.role),
                            r->request_id};
    if ((pg = db_exec_sql(c, patch_sql, 10, values, &err)) == NULL)
        goto out;
    if (PQntuples(pg) == 0) {
        gone(r, &err);
        goto out;
    }
    http_pgresult(r, 200, "application/json", pg);
    pg = NULL;
out:
    http_error(r, &err);
    PQclear(pg);
    buf_free(&resources);
    json_decref(body);
}

void
webhooks_delete(struct request *r)
{
    struct error err = {0};
    struct db_conn *c;
    PGresult *pg = NULL;

    if (!path_id(r, &err) || (c = db_thread_conn(&err)) == NULL || !may_manage(r, c, &err))
        goto out;
    const char *values[] = {
        r->params[0], owner_of(r), actor_type(r), r->who.sub, auth_role_name(r->who.role),
        r->request_id};
    if ((pg = db_exec_sql(c, delete_sql, 6, values, &err)) == NULL)
        goto out;
    if (PQntuples(pg) == 0) {
        gone(r, &err);
        goto out;
    }
    http_empty(r, 204);
out:
    http_error(r, &err);
    PQclear(pg);
}

void
webhooks_test(struct request *r)
{
    struct error err = {0};
    struct db_conn *c;
    PGresult *pg = NULL;

    if (!no_query(r, NULL, &err) || !path_id(r, &err) || (c = db_thread_conn(&err)) == NULL ||
        !may_manage(r, c, &err))
        goto out;
    const char *values[] = {r->params[0], owner_of(r)};
    if ((pg = db_exec_sql(c, test_sql, 2, values, &err)) == NULL)
        goto out;
    if (PQntuples(pg) == 0) { /* the webhook is there and the caller's: it is disabled */
        error_set(&err, 409, "webhook-disabled",
                  "the webhook is disabled; PATCH it with {\"enabled\": true} first");
        goto out;
    }
    http_json(r, 202,
              json_pack("{s:s+,s:s}", "delivery_id", "msg_", PQgetvalue(pg, 0, 0), "event",
                        "webhook.ping"));
out:
    http_error(r, &err);
    PQclear(pg);
}

/* How long the secret replaced by a rotation goes on signing, by default and at most. */
#define KEEP_PREVIOUS_DEFAULT 86400
#define KEEP_PREVIOUS_MAX     604800

void
webhooks_rotate(struct request *r)
{
    static const char *const allowed[] = {"keep_previous", NULL};
    struct error err = {0};
    struct db_conn *c;
    PGresult *pg = NULL;
    char secret[96] = "", keep[24];
    int64_t seconds = KEEP_PREVIOUS_DEFAULT;

    if (!no_query(r, allowed, &err) || !path_id(r, &err))
        goto out;
    const char *given = http_query(r, "keep_previous");
    if (given != NULL &&
        (!str_parse_i64(given, &seconds) || seconds < 0 || seconds > KEEP_PREVIOUS_MAX)) {
        error_set(&err, 400, "invalid-parameter",
                  "keep_previous is how many seconds the replaced secret goes on signing: 0 "
                  "(not at all) to %d (7 days), default %d",
                  KEEP_PREVIOUS_MAX, KEEP_PREVIOUS_DEFAULT);
        goto out;
    }
    if ((c = db_thread_conn(&err)) == NULL || !may_manage(r, c, &err))
        goto out;
    new_secret(secret, sizeof(secret));
    snprintf(keep, sizeof(keep), "%lld", (long long)seconds);
    const char *values[] = {r->params[0],
                            owner_of(r),
                            secret,
                            keep,
                            actor_type(r),
                            r->who.sub,
                            auth_role_name(r->who.role),
                            r->request_id};
    if ((pg = db_exec_sql(c, rotate_sql, 8, values, &err)) == NULL)
        goto out;
    if (PQntuples(pg) == 0) {
        gone(r, &err);
        goto out;
    }
    /* The new secret is shown this once. */
    json_error_t jerr;
    json_t *hook = json_loads(PQgetvalue(pg, 0, 0), 0, &jerr);
    if (hook == NULL) {
        error_set(&err, 500, "internal-error", "the webhook could not be read back");
        goto out;
    }
    json_object_set_new(hook, "secret", json_string(secret));
    http_add_header(r, "Cache-Control", "no-store");
    http_json(r, 200, hook);
out:
    sodium_memzero(secret, sizeof(secret));
    http_error(r, &err);
    PQclear(pg);
}

void
webhooks_deliveries(struct request *r)
{
    static const char *const allowed[] = {"limit", "before", NULL};
    struct error err = {0};
    struct db_conn *c;
    PGresult *pg = NULL;
    int64_t limit = DELIVERIES_DEFAULT, before = 0;
    const char *lim = http_query(r, "limit"), *bef = http_query(r, "before");

    if (!no_query(r, allowed, &err) || !path_id(r, &err))
        goto out;
    if (lim != NULL && (!str_parse_i64(lim, &limit) || limit < 1 || limit > DELIVERIES_MAX)) {
        error_set(&err, 400, "invalid-limit", "limit must be a number from 1 to %d",
                  DELIVERIES_MAX);
        goto out;
    }
    if (bef != NULL && (!str_parse_i64(bef, &before) || before < 1)) {
        error_set(&err, 400, "invalid-cursor",
                  "before must be the next_before of an earlier page (a positive number)");
        goto out;
    }
    if ((c = db_thread_conn(&err)) == NULL)
        goto out;
    if (!may_manage(r, c, &err))
        goto out;
    char before_text[24], limit_text[24];
    snprintf(before_text, sizeof(before_text), "%lld", (long long)before);
    snprintf(limit_text, sizeof(limit_text), "%lld", (long long)limit);
    const char *values[] = {r->params[0], owner_of(r), before_text, limit_text};
    if ((pg = db_exec_sql(c, deliveries_sql, 4, values, &err)) == NULL)
        goto out;
    bool more = strcmp(PQgetvalue(pg, 0, 2), "t") == 0;
    struct buf b = {0};
    buf_printf(&b, "{\"data\":%s,\"has_more\":%s,\"next_before\":%s}", PQgetvalue(pg, 0, 0),
               more ? "true" : "false", more ? PQgetvalue(pg, 0, 1) : "null");
    size_t len = b.len;
    http_owned(r, 200, "application/json", buf_take(&b), len);
out:
    http_error(r, &err);
    PQclear(pg);
}
