/* users.c - signing in: POST /v1/auth/token (which starts a session, sessions.c), GET /v1/auth/me,
 * `sharaka user add` and API keys. */
#include "sharaka/users.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/handlers.h"
#include "sharaka/log.h"
#include "sharaka/query.h"
#include "sharaka/sql.h"
#include "sharaka/resource.h"
#include "sharaka/sessions.h"
#include "sharaka/validate.h"

#define EMAIL_MAX    320
#define PASSWORD_MAX VALIDATE_PASSWORD_MAX

static const char LOGIN_LOOKUP[] =
    "SELECT password_hash, id, role, coalesce(organization_id::text, ''), "
    "coalesce(ministry_id::text, '') FROM users "
    "WHERE lower(email) = lower($1) AND active";

/* Checks the login body: exactly email and password, both strings of sane length. */
static bool
check_login_body(json_t *body, struct error *err)
{
    json_t *errors = json_array();
    const char *key;
    json_t *value;
    static const struct {
        const char *name;
        size_t max;
    } fields[] = {{"email", EMAIL_MAX}, {"password", PASSWORD_MAX}};

    json_object_foreach(body, key, value)
    {
        if (strcmp(key, "email") != 0 && strcmp(key, "password") != 0)
            validate_add(errors, key, "unknown-field", "unknown field; allowed: email, password");
    }
    for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
        json_t *v = json_object_get(body, fields[i].name);
        if (v == NULL)
            validate_add(errors, fields[i].name, "required", "this field is required");
        else if (!json_is_string(v))
            validate_add(errors, fields[i].name, "type", "must be a string");
        else if (json_string_length(v) == 0 || json_string_length(v) > fields[i].max ||
                 strlen(json_string_value(v)) != json_string_length(v))
            validate_add(errors, fields[i].name, "length", "must be 1 to %zu characters",
                         fields[i].max);
    }
    return error_from_list(err, errors, "validation-failed",
                           "the request body has %zu invalid field(s)", json_array_size(errors));
}

void
auth_token_create(struct request *r)
{
    struct error err = {0};
    json_t *body = NULL;
    PGresult *res = NULL;
    char *token = NULL;

    if (!auth_can_issue()) {
        error_set(&err, 503, "not-issuing",
                  "this server verifies %s tokens but does not issue them: get a token from "
                  "your identity provider",
                  cfg.jwt_algorithm);
        goto out;
    }
    body = http_body_json(r, false, &err);
    if (body == NULL || !check_login_body(body, &err))
        goto out;
    const char *email = json_string_value(json_object_get(body, "email"));
    const char *password = json_string_value(json_object_get(body, "password"));
    char lowered[EMAIL_MAX + 1];
    size_t n = strlen(email);
    for (size_t i = 0; i <= n; i++)
        lowered[i] = (char)tolower((unsigned char)email[i]);
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL || !sessions_throttle(r, c, lowered, &err))
        goto out;
    res = db_exec_sql(c, LOGIN_LOOKUP, 1, &email, &err);
    if (res == NULL)
        goto out;
    bool found = PQntuples(res) == 1;
    if (!auth_password_verify(found ? PQgetvalue(res, 0, 0) : NULL, password)) {
        error_set(&err, 401, "invalid-credentials", "the email or the password is wrong");
        err.www_authenticate = "Bearer";
        goto out;
    }
    int64_t expires_in = 0;
    token = sessions_access_token(res, 1, &expires_in, &err);
    /* A password sign-in starts a session its refresh cookie renews. */
    if (token == NULL || !sessions_start(r, c, PQgetvalue(res, 0, 1), &err))
        goto out;
    sessions_answer(r, token, expires_in, NULL);
out:
    http_error(r, &err);
    free(token);
    PQclear(res);
    json_decref(body);
}

static json_t *
string_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

void
auth_me_get(struct request *r)
{
    const struct principal *p = &r->who;
    http_json(r, 200,
              json_pack("{s:s, s:s, s:o, s:o, s:I, s:I}", "sub", p->sub, "role",
                        auth_role_name(p->role), "organization_id", string_or_null(p->org),
                        "ministry_id", string_or_null(p->ministry), "iat", (json_int_t)p->iat,
                        "exp", (json_int_t)p->exp));
}

bool
users_add(const char *email, enum role role, const char *org, const char *ministry,
          const char *password, struct error *err)
{
    char hash[AUTH_HASH_LEN];
    bool ok = false;

    if (!auth_password_hash(password, hash))
        return error_set(err, 500, "internal-error", "hashing the password failed");
    PGconn *pg = db_connect(err);
    if (pg == NULL)
        return false;
    const char *values[] = {email, hash, auth_role_name(role), org, ministry};
    /* The user and its audit row, in one statement: both or neither. */
    PGresult *res = PQexecParams(
        pg,
        "WITH u AS (INSERT INTO users (email, password_hash, role, organization_id, ministry_id) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id, email, role, organization_id, ministry_id, "
        "active), a AS (INSERT INTO audit_log (actor_type, actor_id, actor_role, action, "
        "resource, record_id, after, request_id) SELECT 'system', 'command-line', 'admin', "
        "'create', 'users', u.id::text, to_jsonb(u), 'command-line' FROM u) SELECT id FROM u",
        5, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        printf("%s\n", PQgetvalue(res, 0, 0));
        ok = true;
    } else {
        db_error_from_result(pg, res, err);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (err->status == 409)
            snprintf(err->detail, sizeof(err->detail), "a user with email %s already exists",
                     email);
        else if (msg != NULL)
            snprintf(err->detail, sizeof(err->detail), "%s", msg);
    }
    sodium_memzero(hash, sizeof(hash));
    PQclear(res);
    PQfinish(pg);
    return ok;
}

/* ---------------------------------------------------------------- API keys */

static const char KEY_INSERT[] =
    "INSERT INTO api_keys (name, role, source, prefix, key_hash) VALUES ($1, $2, $3, $4, $5) "
    "RETURNING id::text, ";
static const char KEY_AUDIT[] =
    "INSERT INTO audit_log (actor_type, actor_id, actor_role, action, resource, record_id, after, "
    "request_id) VALUES ($1, $2, $3, 'create', 'api-keys', $4, $5::jsonb, $6)";

/*
 * Sources no key may write as. A key of source "sharaka" would be SCOPE_SAME_SOURCE with every
 * record written directly (by editors, admins, the seed and the command line); "system" names the
 * server's own actor in the audit log.
 */
static const char *const reserved_sources[] = {USERS_SOURCE_DIRECT, "system"};

bool
users_source_reserved(const char *source)
{
    for (size_t i = 0; source != NULL && i < ARRAY_LEN(reserved_sources); i++) {
        if (strcmp(source, reserved_sources[i]) == 0)
            return true;
    }
    return false;
}

void
users_check_key(json_t *body, json_t *errors)
{
    validate_values(&api_keys_resource, body, NULL, true, errors);
    const char *source = json_string_value(json_object_get(body, "source"));
    if (users_source_reserved(source))
        validate_add(errors, "source", "reserved",
                     "'%s' is reserved: it is the source of records the server writes itself, "
                     "and a key of that source could change all of them; choose the partner's "
                     "own name (e.g. annd)",
                     source);
}

bool
users_create_key(PGconn *pg, const char *name, const char *role, const char *source,
                 const struct principal *actor, const char *request_id, char **record_json,
                 char key[USERS_KEY_LEN], struct error *err)
{
    char hash[AUTH_KEY_HASH_LEN];
    char prefix[12];
    struct sql s = {0};
    bool ok = false;

    auth_new_secret("sk_", key, USERS_KEY_LEN);
    auth_key_hash(key, hash);
    snprintf(prefix, sizeof(prefix), "%.10s", key);
    buf_puts(&s.text, KEY_INSERT);
    sql_row_json(&s, &api_keys_resource, "api_keys", true, NULL);
    buf_puts(&s.text, "::text");
    const char *values[] = {name, role, source, prefix, hash};
    PGresult *res = PQexec(pg, "BEGIN");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        db_error_from_result(pg, res, err);
        goto out;
    }
    PQclear(res);
    res = PQexecParams(pg, s.text.data, 5, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        db_error_from_result(pg, res, err);
        goto out;
    }
    const char *audit[] = {actor ? (actor->api_key ? "api_key" : "user") : "system",
                           actor ? actor->sub : "command-line",
                           actor ? auth_role_name(actor->role) : "admin",
                           PQgetvalue(res, 0, 0),
                           PQgetvalue(res, 0, 1),
                           request_id ? request_id : "command-line"};
    PGresult *ares = PQexecParams(pg, KEY_AUDIT, 6, NULL, audit, NULL, NULL, 0);
    bool audited = PQresultStatus(ares) == PGRES_COMMAND_OK;
    if (!audited)
        db_error_from_result(pg, ares, err);
    PQclear(ares);
    if (!audited)
        goto out;
    PGresult *cres = PQexec(pg, "COMMIT");
    ok = PQresultStatus(cres) == PGRES_COMMAND_OK;
    if (!ok)
        db_error_from_result(pg, cres, err);
    PQclear(cres);
    if (ok)
        *record_json = xstrdup(PQgetvalue(res, 0, 1));
out:
    if (!ok) {
        PGresult *rb = PQexec(pg, "ROLLBACK");
        PQclear(rb);
        sodium_memzero(key, USERS_KEY_LEN);
    }
    PQclear(res);
    sql_free(&s);
    return ok;
}

void
apikeys_create(struct request *r)
{
    struct error err = {0};
    json_t *body = http_body_json(r, false, &err);
    char key[USERS_KEY_LEN];
    char *record = NULL;

    if (body == NULL)
        goto out;
    json_t *errors = json_array();
    validate_keys(&api_keys_resource, body, true, errors);
    users_check_key(body, errors);
    if (!error_from_list(&err, errors, "validation-failed", "the request body has %zu error(s)",
                         json_array_size(errors)))
        goto out;
    struct db_conn *c = db_thread_conn(&err);
    if (c == NULL || !users_create_key(db_pg(c), json_string_value(json_object_get(body, "name")),
                                       json_string_value(json_object_get(body, "role")),
                                       json_string_value(json_object_get(body, "source")), &r->who,
                                       r->request_id, &record, key, &err))
        goto out;
    /* The key is shown this once. */
    http_created_once(r, "/v1/api-keys", record, "key", key);
    sodium_memzero(key, sizeof(key));
out:
    http_error(r, &err);
    free(record);
    json_decref(body);
}
