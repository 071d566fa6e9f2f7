/* sessions.c - console sessions: the sign-in throttle, rotating refresh tokens (migration 0013),
 * POST /v1/auth/refresh, POST /v1/auth/logout and POST /v1/auth/password. */
#include "sharaka/sessions.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/handlers.h"
#include "sharaka/ratelimit.h"
#include "sharaka/resource.h"
#include "sharaka/sql.h"
#include "sharaka/validate.h"
#include "sharaka/values.h"

#define REFRESH_PREFIX "rt_"
/* A refresh token is "rt_" and 43 characters; anything much longer is not one. */
#define REFRESH_MAX  128
#define PASSWORD_MAX VALIDATE_PASSWORD_MAX

/* ---------------------------------------------------------------- the throttle */

bool
sessions_throttle(struct request *r, struct db_conn *c, const char *email, struct error *err)
{
    if (cfg.login_rate_limit <= 0)
        return true;
    const char *params[3] = {arena_printf(&r->arena, "address:%s", r->client_ip),
                             email ? arena_printf(&r->arena, "email:%s", email) : NULL,
                             arena_printf(&r->arena, "%lld", (long long)cfg.login_rate_limit)};
    PGresult *res = db_exec_sql(c,
                                "SELECT key, tokens, allowed FROM login_attempt("
                                "array_remove(ARRAY[$1, $2]::text[], NULL), $3::float8)",
                                3, params, err);
    if (res == NULL)
        return false;
    long limit = (long)cfg.login_rate_limit;
    struct ratelimit_draw d[2] = {{"login-address", limit, (double)limit, true},
                                  {"login-email", limit, (double)limit, true}};
    int nkeys = email ? 2 : 1;
    bool allowed = PQntuples(res) > 0;
    for (int i = 0; i < PQntuples(res); i++) {
        int k = strncmp(PQgetvalue(res, i, 0), "address:", 8) == 0 ? 0 : 1;
        d[k].tokens = strtod(PQgetvalue(res, i, 1), NULL);
        allowed = allowed && strcmp(PQgetvalue(res, i, 2), "t") == 0;
    }
    PQclear(res);
    bool ok = true;
    for (int k = 0; k < nkeys; k++) {
        /* The first dry bucket answers 429 (with Retry-After); the other shows its level. */
        d[k].ok = allowed || d[k].tokens >= 1.0 || !ok;
        if (!ratelimit_report(r, &d[k], err))
            ok = false;
    }
    return ok;
}

/* Runs a statement whose rows do not matter; false with err set. */
static bool
run(struct db_conn *c, const char *sql, int nparams, const char *const *params, struct error *err)
{
    PGresult *res = db_exec_sql(c, sql, nparams, params, err);
    PQclear(res);
    return res != NULL;
}

/* ---------------------------------------------------------------- the cookie */

/* Sets the refresh cookie of r's answer to token for max_age seconds; token "" clears it. */
static void
set_cookie(struct request *r, const char *token, int64_t max_age)
{
    http_add_header(r, "Set-Cookie",
                    arena_printf(&r->arena,
                                 SESSIONS_COOKIE
                                 "=%s; Path=" SESSIONS_COOKIE_PATH
                                 "; HttpOnly; Secure; SameSite=Strict; Max-Age=%lld",
                                 token, (long long)max_age));
}

/* A new refresh token (into token) and the hash it is stored under. */
static void
new_refresh_token(char token[AUTH_SECRET_LEN], char hash[AUTH_KEY_HASH_LEN])
{
    auth_new_secret(REFRESH_PREFIX, token, AUTH_SECRET_LEN);
    auth_key_hash(token, hash);
}

bool
sessions_start(struct request *r, struct db_conn *c, const char *user_id, struct error *err)
{
    char token[AUTH_SECRET_LEN], hash[AUTH_KEY_HASH_LEN];
    new_refresh_token(token, hash);
    const char *params[] = {hash, user_id,
                            arena_printf(&r->arena, "%lld", (long long)cfg.refresh_ttl)};
    if (!run(c,
             "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at) "
             "VALUES ($1, $2::uuid, gen_random_uuid(), clock_timestamp() + $3::bigint * "
             "interval '1 second')",
             3, params, err))
        return false;
    set_cookie(r, arena_strdup(&r->arena, token), cfg.refresh_ttl);
    sodium_memzero(token, sizeof(token));
    return true;
}

char *
sessions_access_token(PGresult *res, int first, int64_t *expires_in, struct error *err)
{
    struct principal p = {0};
    if (!auth_role_parse(PQgetvalue(res, 0, first + 1), &p.role)) {
        error_set(err, 500, "internal-error", "the user has an unknown role");
        return NULL;
    }
    snprintf(p.sub, sizeof(p.sub), "%s", PQgetvalue(res, 0, first));
    snprintf(p.org, sizeof(p.org), "%s", PQgetvalue(res, 0, first + 2));
    snprintf(p.ministry, sizeof(p.ministry), "%s", PQgetvalue(res, 0, first + 3));
    char *token = auth_token_issue(&p, expires_in);
    if (token == NULL)
        error_set(err, 500, "internal-error", "the token could not be signed");
    return token;
}

void
sessions_answer(struct request *r, const char *token, int64_t expires_in, json_t *extra)
{
    json_t *answer = json_pack("{s:s, s:s, s:I}", "access_token", token, "token_type", "Bearer",
                               "expires_in", (json_int_t)expires_in);
    if (extra != NULL)
        json_object_update(answer, extra);
    json_decref(extra);
    http_add_header(r, "Cache-Control", "no-store");
    http_json(r, 200, answer);
}

/* 401 for a refresh token that opens no session; the cookie is cleared, it is of no more use. */
static bool
refused(struct request *r, struct error *err, const char *why)
{
    set_cookie(r, "", 0);
    error_set(err, 401, "invalid-refresh-token",
              "the refresh token is not valid: %s; sign in again with POST /v1/auth/token", why);
    err->www_authenticate = "Bearer";
    return false;
}

/*
 * The refresh token the request presents: the cookie, or for clients without cookies a body
 * {"refresh_token": "..."}, but not both. Sets *from_body when it came in the body, and *body
 * (a new reference) when there was one. NULL with err set (400, 415, 422; 401 when required and
 * there is none).
 */
static const char *
presented_token(struct request *r, bool required, json_t **body, bool *from_body, struct error *err)
{
    const char *cookie = http_cookie(r, SESSIONS_COOKIE);
    *from_body = false;
    if (r->body.len == 0) {
        if (cookie == NULL || cookie[0] == '\0') {
            if (required)
                refused(r, err,
                        "none was sent (the cookie " SESSIONS_COOKIE
                        " or a body {\"refresh_token\": \"...\"})");
            return NULL;
        }
        return cookie;
    }
    *body = http_body_json(r, false, err);
    if (*body == NULL)
        return NULL;
    json_t *errors = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(*body, key, value)
    {
        if (strcmp(key, "refresh_token") != 0)
            validate_add(errors, key, "unknown-field", "unknown field; allowed: refresh_token");
    }
    json_t *v = json_object_get(*body, "refresh_token");
    if (v == NULL)
        validate_add(errors, "refresh_token", "required", "this field is required");
    else if (!json_is_string(v) || json_string_length(v) == 0)
        validate_add(errors, "refresh_token", "type", "must be a non-empty string");
    if (!error_from_list(err, errors, "validation-failed",
                         "the request body has %zu invalid "
                         "field(s)",
                         json_array_size(errors)))
        return NULL;
    if (cookie != NULL) {
        error_set(err, 400, "two-refresh-tokens",
                  "the refresh token came both in the cookie " SESSIONS_COOKIE
                  " and in the body: send it one way");
        return NULL;
    }
    *from_body = true;
    return json_string_value(v);
}

/* Only what could be a refresh token is looked up: the prefix, URL-safe characters, a sane
 * length. (A body's string holds no NUL: the JSON parser refuses \u0000.) */
static bool
well_formed(const char *token)
{
    size_t len = strlen(token);
    if (len > REFRESH_MAX || !str_has_prefix(token, REFRESH_PREFIX))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)token[i]) && token[i] != '_' && token[i] != '-')
            return false;
    return true;
}

/* ---------------------------------------------------------------- POST /v1/auth/refresh */

/* What refresh_rotate answered other than "rotated", as the caller is told it. */
static const struct {
    const char *outcome;
    const char *why;
} refusals[] = {
    {"unknown", "it is unknown"},
    {"expired", "the session has expired"},
    {"revoked", "the session was ended (signed out, or the password changed)"},
    {"reused", "it was used already, so every token of its session is revoked now"},
    {"inactive", "its user is deactivated"},
};

static const char ROTATE[] =
    "SELECT outcome, user_id::text, role, coalesce(organization_id::text, ''), "
    "coalesce(ministry_id::text, '') FROM refresh_rotate($1, $2, $3::bigint)";

void
auth_refresh(struct request *r)
{
    struct error err = {0};
    json_t *body = NULL;
    PGresult *res = NULL;
    char *access = NULL;
    bool from_body = false;
    char fresh[AUTH_SECRET_LEN] = "", old_hash[AUTH_KEY_HASH_LEN], new_hash[AUTH_KEY_HASH_LEN];

    const char *token = presented_token(r, true, &body, &from_body, &err);
    if (token == NULL)
        goto out;
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL || !sessions_throttle(r, c, NULL, &err))
        goto out;
    if (!well_formed(token)) {
        refused(r, &err, "it is not one this server issued");
        goto out;
    }
    auth_key_hash(token, old_hash);
    new_refresh_token(fresh, new_hash);
    const char *params[] = {old_hash, new_hash,
                            arena_printf(&r->arena, "%lld", (long long)cfg.refresh_ttl)};
    res = db_exec_sql(c, ROTATE, 3, params, &err);
    if (res == NULL)
        goto out;
    const char *outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "rotated") != 0) {
        const char *why = "it is not valid";
        for (size_t i = 0; i < ARRAY_LEN(refusals); i++)
            if (strcmp(outcome, refusals[i].outcome) == 0)
                why = refusals[i].why;
        refused(r, &err, why);
        goto out;
    }
    int64_t expires_in = 0;
    access = sessions_access_token(res, 1, &expires_in, &err);
    if (access == NULL)
        goto out;
    set_cookie(r, arena_strdup(&r->arena, fresh), cfg.refresh_ttl);
    /* A client that sent the token in the body keeps it itself: it gets the next one there. */
    sessions_answer(r, access, expires_in,
                    from_body ? json_pack("{s:s, s:I}", "refresh_token", fresh,
                                          "refresh_expires_in", (json_int_t)cfg.refresh_ttl)
                              : NULL);
out:
    http_error(r, &err);
    sodium_memzero(fresh, sizeof(fresh));
    free(access);
    PQclear(res);
    json_decref(body);
}

/* ---------------------------------------------------------------- POST /v1/auth/logout */

void
auth_logout(struct request *r)
{
    struct error err = {0};
    json_t *body = NULL;
    bool from_body = false;
    char hash[AUTH_KEY_HASH_LEN];

    const char *token = presented_token(r, false, &body, &from_body, &err);
    if (err.status != 0)
        goto out;
    /* Signing out twice, or with a token that opens nothing, ends what there is: nothing. */
    if (token != NULL && well_formed(token)) {
        struct db_conn *c = db_thread_conn(&err);
        if (c == NULL)
            goto out;
        auth_key_hash(token, hash);
        const char *params[] = {hash};
        if (!run(c,
                 "UPDATE refresh_tokens SET revoked_at = clock_timestamp() WHERE family_id = "
                 "(SELECT family_id FROM refresh_tokens WHERE token_hash = $1) AND revoked_at IS "
                 "NULL",
                 1, params, &err))
            goto out;
    }
    set_cookie(r, "", 0);
    http_add_header(r, "Cache-Control", "no-store");
    http_empty(r, 204);
out:
    http_error(r, &err);
    json_decref(body);
}

/* ---------------------------------------------------------------- POST /v1/auth/password */

/* Checks the body: exactly current_password (any string of sane length) and new_password (the
 * rule of every password). */
static bool
check_password_body(json_t *body, struct error *err)
{
    json_t *errors = json_array();
    const char *key;
    json_t *value;
    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "current_password") != 0 && strcmp(key, "new_password") != 0)
            validate_add(errors, key, "unknown-field",
                         "unknown field; allowed: current_password, new_password");
    }
    json_t *current = json_object_get(body, "current_password");
    json_t *fresh = json_object_get(body, "new_password");
    if (current == NULL)
        validate_add(errors, "current_password", "required", "this field is required");
    else if (!value_text_ok(current, PASSWORD_MAX))
        validate_add(errors, "current_password", "length", "must be a string of 1 to %d characters",
                     PASSWORD_MAX);
    if (fresh == NULL)
        validate_add(errors, "new_password", "required", "this field is required");
    else
        validate_password(fresh, "new_password", errors);
    return error_from_list(err, errors, "validation-failed",
                           "the request body has %zu invalid field(s)", json_array_size(errors));
}

/* 422 naming one field of the body. */
static bool
field_problem(struct error *err, const char *field, const char *code, const char *message)
{
    json_t *errors = json_array();
    validate_add(errors, field, code, "%s", message);
    return error_from_list(err, errors, "validation-failed", "%s: %s", field, message);
}

/*
 * The new hash, only while the old one is still the user's, and the audit row, in one statement:
 * before and after are the user as admins read it, never a password or its hash.
 */
static void
password_update_sql(struct sql *s)
{
    buf_puts(&s->text, "WITH old AS (SELECT * FROM users WHERE id = $1::uuid), "
                       "new AS (UPDATE users SET password_hash = $3 WHERE id = $1::uuid AND "
                       "active AND password_hash = $2 RETURNING *), "
                       "a AS (INSERT INTO audit_log (actor_type, actor_id, actor_role, action, "
                       "resource, record_id, before, after, request_id) SELECT 'user', $1, $4, "
                       "'update', 'users', new.id::text, (");
    sql_row_json(s, &users_resource, "old", true, NULL);
    buf_puts(&s->text, ")::jsonb, (");
    sql_row_json(s, &users_resource, "new", true, NULL);
    buf_puts(&s->text, ")::jsonb, $5 FROM new, old) SELECT count(*) FROM new");
}

void
auth_password_change(struct request *r)
{
    struct error err = {0};
    json_t *body = NULL;
    PGresult *res = NULL;
    struct sql s = {0};
    struct db_conn *c = NULL;
    bool begun = false;
    char hash[AUTH_HASH_LEN] = "";

    if (r->who.api_key) {
        error_set(&err, 403, "forbidden", "an API key has no password to change");
        goto out;
    }
    body = http_body_json(r, false, &err);
    if (body == NULL || !check_password_body(body, &err))
        goto out;
    const char *current = json_string_value(json_object_get(body, "current_password"));
    const char *fresh = json_string_value(json_object_get(body, "new_password"));
    c = db_thread_conn(&err);
    if (c == NULL)
        goto out;
    const char *who[] = {r->who.sub};
    res = db_exec_sql(c,
                      "SELECT lower(email), password_hash FROM users WHERE id = $1::uuid "
                      "AND active",
                      1, who, &err);
    if (res == NULL)
        goto out;
    if (PQntuples(res) != 1) {
        error_set(&err, 401, "invalid-token",
                  "the access token is not valid: its user is "
                  "deactivated or gone");
        err.www_authenticate = "Bearer error=\"invalid_token\"";
        goto out;
    }
    /* A guess of the current password counts like a sign-in attempt with that e-mail. */
    if (!sessions_throttle(r, c, PQgetvalue(res, 0, 0), &err))
        goto out;
    const char *old_hash = arena_strdup(&r->arena, PQgetvalue(res, 0, 1));
    if (!auth_password_verify(old_hash, current)) {
        field_problem(&err, "current_password", "wrong-password", "is not the current password");
        goto out;
    }
    if (strcmp(current, fresh) == 0) {
        field_problem(&err, "new_password", "unchanged", "must differ from the current password");
        goto out;
    }
    if (!auth_password_hash(fresh, hash)) {
        error_set(&err, 500, "internal-error", "hashing the password failed");
        goto out;
    }
    /* The session the request comes from (its cookie) goes on; the user's others end, by the
     * trigger of migration 0013. */
    const char *cookie = http_cookie(r, SESSIONS_COOKIE);
    char cookie_hash[AUTH_KEY_HASH_LEN] = "";
    if (cookie != NULL && well_formed(cookie))
        auth_key_hash(cookie, cookie_hash);
    if (!db_command(c, "BEGIN", &err))
        goto out;
    begun = true;
    const char *keep[] = {cookie_hash, r->who.sub};
    if (!run(c,
             "SELECT set_config('sharaka.keep_session', coalesce((SELECT family_id::text FROM "
             "refresh_tokens WHERE token_hash = $1 AND user_id = $2::uuid AND revoked_at IS "
             "NULL), ''), true)",
             2, keep, &err))
        goto out;
    PQclear(res);
    password_update_sql(&s);
    const char *params[] = {r->who.sub, old_hash, hash, auth_role_name(r->who.role), r->request_id};
    res = db_exec_sql(c, s.text.data, 5, params, &err);
    if (res == NULL)
        goto out;
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
        error_set(&err, 409, "conflict", "the password was changed meanwhile; try again");
        goto out;
    }
    char position[32];
    if (!db_commit(c, position, sizeof(position), &err))
        goto out;
    begun = false;
    if (position[0] != '\0')
        http_add_header(r, "Sharaka-Consistency", arena_strdup(&r->arena, position));
    http_add_header(r, "Cache-Control", "no-store");
    http_empty(r, 204);
out:
    if (begun)
        db_rollback(c);
    http_error(r, &err);
    sodium_memzero(hash, sizeof(hash));
    sql_free(&s);
    PQclear(res);
    json_decref(body);
}
