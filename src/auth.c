/* auth.c - argon2id password hashes, HS256 access tokens, API key lookup, and the authentication
 * of a request from its Authorization header. */
#include "sharaka/auth.h"

#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/query.h"
#include "sharaka/log.h"
#include "sharaka/values.h"

#define TOKEN_MAX_LEN 4096
#define KEY_FILE_MAX  65536
#define SEEN_SLOTS    128

/*
 * The tokens this thread has verified lately, each by a BLAKE2b digest of its text keyed with a
 * secret of this process: a token whose digest is here is the same text, already found signed
 * with the pinned algorithm and its claims well-formed, so only its expiry is checked again (nbf
 * and iat only grow truer with time). Its user's row is still read on every request. A token
 * that fails is never kept; a slot holds the last token that hashed to it.
 */
struct seen_token {
    bool used;
    unsigned char digest[crypto_generichash_BYTES];
    struct principal p;
};
static _Thread_local struct seen_token seen[SEEN_SLOTS];
static unsigned char seen_key[crypto_generichash_KEYBYTES];

static const char *const role_names[] = {
    [ROLE_ANONYMOUS] = "anonymous", [ROLE_ANALYST] = "analyst", [ROLE_EDITOR] = "editor",
    [ROLE_PARTNER] = "partner",     [ROLE_ADMIN] = "admin",
};

const char *
auth_role_name(enum role role)
{
    return role_names[role];
}

bool
auth_role_parse(const char *name, enum role *out)
{
    for (size_t i = ROLE_ANALYST; i < ARRAY_LEN(role_names); i++) {
        if (name != NULL && strcmp(name, role_names[i]) == 0) {
            *out = (enum role)i;
            return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------------- passwords */

bool
auth_password_hash(const char *password, char out[AUTH_HASH_LEN])
{
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
}

/* A hash verified for unknown emails, so that a login takes as long whether or not it exists. */
static char dummy_hash[AUTH_HASH_LEN];

/* The pinned algorithm and its keys: the HS256 secret, or the PEM key files' contents. */
static jwt_alg_t pinned_alg = JWT_ALG_HS256;
static const unsigned char *verify_key, *sign_key;
static size_t verify_key_len, sign_key_len;

static bool
load_keys(void)
{
    if (strcmp(cfg.jwt_algorithm, "HS256") == 0) {
        pinned_alg = JWT_ALG_HS256;
        verify_key = sign_key = (const unsigned char *)cfg.jwt_secret;
        verify_key_len = sign_key_len = strlen(cfg.jwt_secret);
        return true;
    }
    pinned_alg = strcmp(cfg.jwt_algorithm, "RS256") == 0 ? JWT_ALG_RS256 : JWT_ALG_ES256;
    verify_key = (unsigned char *)read_file(cfg.jwt_public_key, KEY_FILE_MAX, &verify_key_len);
    if (verify_key == NULL) {
        log_error("cannot read SHARAKA_JWT_PUBLIC_KEY %s", cfg.jwt_public_key);
        return false;
    }
    if (cfg.jwt_private_key[0] != '\0') {
        sign_key = (unsigned char *)read_file(cfg.jwt_private_key, KEY_FILE_MAX, &sign_key_len);
        if (sign_key == NULL) {
            log_error("cannot read SHARAKA_JWT_PRIVATE_KEY %s", cfg.jwt_private_key);
            return false;
        }
    }
    return true;
}

bool
auth_can_issue(void)
{
    return sign_key != NULL;
}

bool
auth_init(void)
{
    if (!load_keys())
        return false;
    randombytes_buf(seen_key, sizeof(seen_key));
    unsigned char random[24];
    char secret[2 * sizeof(random) + 1];
    randombytes_buf(random, sizeof(random));
    sodium_bin2hex(secret, sizeof(secret), random, sizeof(random));
    return auth_password_hash(secret, dummy_hash);
}

bool
auth_password_verify(const char *hash, const char *password)
{
    if (hash == NULL) {
        if (crypto_pwhash_str_verify(dummy_hash, password, strlen(password)) == 0)
            log_warn("the timing hash matched a password");
        return false;
    }
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

/* ---------------------------------------------------------------- tokens */

char *
auth_token_issue(const struct principal *p, int64_t *expires_in)
{
    jwt_t *jwt = NULL;
    char *out = NULL;
    int64_t now = now_unix();

    if (jwt_new(&jwt) != 0)
        return NULL;
    if (sign_key == NULL) {
        jwt_free(jwt);
        return NULL;
    }
    int rc = jwt_set_alg(jwt, pinned_alg, sign_key, (int)sign_key_len);
    rc |= jwt_add_grant(jwt, "sub", p->sub);
    rc |= jwt_add_grant(jwt, "role", auth_role_name(p->role));
    if (p->org[0])
        rc |= jwt_add_grant(jwt, "org", p->org);
    if (p->ministry[0])
        rc |= jwt_add_grant(jwt, "ministry", p->ministry);
    rc |= jwt_add_grant(jwt, "iss", cfg.jwt_issuer);
    rc |= jwt_add_grant(jwt, "aud", cfg.jwt_audience);
    rc |= jwt_add_grant_int(jwt, "iat", (long)now);
    rc |= jwt_add_grant_int(jwt, "exp", (long)(now + cfg.token_ttl));
    if (rc == 0) {
        char *s = jwt_encode_str(jwt);
        if (s != NULL) {
            out = xstrdup(s);
            free(s);
        }
    }
    jwt_free(jwt);
    *expires_in = cfg.token_ttl;
    return out;
}

static bool
invalid(struct error *err, const char *why)
{
    error_set(err, 401, "invalid-token", "the access token is not valid: %s", why);
    err->www_authenticate = "Bearer error=\"invalid_token\"";
    return false;
}

static bool
copy_claim(json_t *claims, const char *name, char *out, size_t outlen)
{
    json_t *v = json_object_get(claims, name);
    if (v == NULL || json_is_null(v))
        return true;
    if (!json_is_string(v) || json_string_length(v) >= outlen)
        return false;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

static bool
audience_matches(json_t *aud)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), cfg.jwt_audience) == 0;
    if (json_is_array(aud)) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), cfg.jwt_audience) == 0)
                return true;
        }
    }
    return false;
}

/* The expiry rule, for a token read now and for one verified before: exp is past by more than
 * the leeway. */
static bool
expired(int64_t exp, int64_t now)
{
    return exp < now - AUTH_LEEWAY;
}

/*
 * Time claims, compared without arithmetic on the token's values: exp = INT64_MAX or nbf =
 * INT64_MIN must not overflow. now is a real clock, far from either end.
 */
static bool
check_times(json_t *claims, int64_t now, struct error *err)
{
    json_t *exp = json_object_get(claims, "exp");
    json_t *nbf = json_object_get(claims, "nbf");
    json_t *iat = json_object_get(claims, "iat");

    if (exp == NULL)
        return invalid(err, "it has no exp claim");
    if (!json_is_integer(exp))
        return invalid(err, "its exp claim is not an integer");
    if (expired(json_integer_value(exp), now))
        return invalid(err, "it has expired");
    if (nbf != NULL && (!json_is_integer(nbf) || json_integer_value(nbf) > now + AUTH_LEEWAY))
        return invalid(err, "it is not valid yet");
    if (iat != NULL && !json_is_integer(iat))
        return invalid(err, "its iat claim is not an integer");
    if (iat != NULL && json_integer_value(iat) > now + AUTH_LEEWAY)
        return invalid(err, "it was issued in the future (iat)");
    return true;
}

static bool
check_claims(json_t *claims, struct principal *p, struct error *err)
{
    json_t *iss = json_object_get(claims, "iss");

    if (!check_times(claims, now_unix(), err))
        return false;
    if (!json_is_string(iss) || strcmp(json_string_value(iss), cfg.jwt_issuer) != 0)
        return invalid(err, "it was issued by someone else");
    if (!audience_matches(json_object_get(claims, "aud")))
        return invalid(err, "it is meant for another audience");
    memset(p, 0, sizeof(*p));
    json_t *role = json_object_get(claims, "role");
    if (!json_is_string(role) || !auth_role_parse(json_string_value(role), &p->role) ||
        p->role == ROLE_PARTNER)
        return invalid(err, "its role claim is missing or unknown");
    json_t *sub = json_object_get(claims, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0 ||
        !copy_claim(claims, "sub", p->sub, sizeof(p->sub)) ||
        !copy_claim(claims, "org", p->org, sizeof(p->org)) ||
        !copy_claim(claims, "ministry", p->ministry, sizeof(p->ministry)))
        return invalid(err, "its subject or scope claims are malformed");
    json_t *iat = json_object_get(claims, "iat");
    p->exp = json_integer_value(json_object_get(claims, "exp"));
    p->iat = iat ? json_integer_value(iat) : 0;
    return true;
}

/*
 * Decodes one base64url segment of a compact token and parses it as a JSON object, rejecting
 * duplicate names: libjwt keeps the last of two "exp" or "alg" members, so the token is read
 * here, as sent. Returns a new reference, or NULL.
 */
static json_t *
segment_object(const char *seg, size_t len)
{
    size_t cap = len / 4 * 3 + 3, out_len = 0;
    unsigned char *bin = xmalloc(cap + 1);
    json_t *obj = NULL;
    const char *end = NULL;
    if (sodium_base642bin(bin, cap, seg, len, NULL, &out_len, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
        end == seg + len) {
        obj = json_loadb((const char *)bin, out_len, JSON_REJECT_DUPLICATES, NULL);
        if (obj != NULL && !json_is_object(obj)) {
            json_decref(obj);
            obj = NULL;
        }
    }
    free(bin);
    return obj;
}

/*
 * Splits a compact JWS into its header and claims, each a JSON object without duplicate
 * names, and refuses a header with crit: this server understands no extension (RFC 7515
 * section 4.1.11, RFC 8725 section 3.9). Returns false with err set.
 */
static bool
read_segments(const char *token, json_t **header, json_t **claims, struct error *err)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    *header = *claims = NULL;
    if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
        return invalid(err, "it is not three base64url parts joined by dots");
    *header = segment_object(token, (size_t)(dot1 - token));
    if (*header == NULL)
        return invalid(err, "its header is not a JSON object with distinct member names");
    if (json_object_get(*header, "crit") != NULL)
        return invalid(err, "its header lists critical extensions (crit), which this server "
                            "does not understand");
    *claims = segment_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (*claims == NULL)
        return invalid(err, "its claims are not a JSON object with distinct claim names");
    return true;
}

bool
auth_token_verify(const char *token, struct principal *p, struct error *err)
{
    jwt_t *jwt = NULL;
    json_t *header = NULL, *claims = NULL;
    bool ok = false;
    size_t len = strlen(token);
    unsigned char digest[crypto_generichash_BYTES];

    if (len > TOKEN_MAX_LEN)
        return invalid(err, "it is too long");
    crypto_generichash(digest, sizeof(digest), (const unsigned char *)token, len, seen_key,
                       sizeof(seen_key));
    struct seen_token *s = &seen[(digest[0] | (unsigned)digest[1] << 8) % SEEN_SLOTS];
    if (s->used && sodium_memcmp(s->digest, digest, sizeof(digest)) == 0) {
        if (expired(s->p.exp, now_unix())) {
            s->used = false;
            return invalid(err, "it has expired");
        }
        *p = s->p;
        return true;
    }
    if (!read_segments(token, &header, &claims, err))
        goto out;
    /* A key is always given: with a NULL key libjwt would skip the signature check. */
    if (jwt_decode(&jwt, token, verify_key, (int)verify_key_len) != 0 || jwt == NULL) {
        invalid(err, "its signature or format is wrong");
        goto out;
    }
    /* Pin the algorithm after decoding: the header's alg is the attacker's choice. */
    if (jwt_get_alg(jwt) != pinned_alg) {
        invalid(err, "it is not signed with the algorithm this server accepts");
        goto out;
    }
    /* The claims as sent (and now known to be signed), not libjwt's re-serialisation. */
    ok = check_claims(claims, p, err);
    if (ok) {
        memcpy(s->digest, digest, sizeof(digest));
        s->p = *p;
        s->used = true;
    }
out:
    jwt_free(jwt);
    json_decref(header);
    json_decref(claims);
    return ok;
}

static const char API_KEY_LOOKUP[] =
    "WITH k AS (SELECT id, role, source, last_used_at FROM api_keys "
    "WHERE key_hash = $1 AND revoked_at IS NULL), "
    "touched AS (UPDATE api_keys SET last_used_at = clock_timestamp() FROM k "
    "WHERE api_keys.id = k.id AND (k.last_used_at IS NULL OR "
    "k.last_used_at < clock_timestamp() - interval '60 seconds')) "
    "SELECT id::text, role, source FROM k";
static const char USER_LOOKUP[] = "SELECT role, coalesce(organization_id::text, ''), "
                                  "coalesce(ministry_id::text, '') FROM users "
                                  "WHERE id = $1::uuid AND active";

/* Hex SHA-256 of an API key: how keys are stored and looked up. */
void
auth_key_hash(const char *key, char out[AUTH_KEY_HASH_LEN])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)key, strlen(key));
    sodium_bin2hex(out, AUTH_KEY_HASH_LEN, digest, sizeof(digest));
}

void
auth_new_secret(const char *prefix, char *out, size_t len)
{
    unsigned char raw[32];
    size_t n = strlen(prefix);
    randombytes_buf(raw, sizeof(raw));
    memcpy(out, prefix, n);
    sodium_bin2base64(out + n, len - n, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

/* Reads a key's row (takes res): its id, role and source. */
static enum auth_check
apply_key(struct request *r, PGresult *res, struct error *err)
{
    bool ok = PQntuples(res) == 1 && PQnfields(res) == 3 &&
              auth_role_parse(PQgetvalue(res, 0, 1), &r->who.role);
    if (ok) {
        snprintf(r->who.sub, sizeof(r->who.sub), "%s", PQgetvalue(res, 0, 0));
        snprintf(r->who.source, sizeof(r->who.source), "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    if (!ok) {
        memset(&r->who, 0, sizeof(r->who));
        invalid(err, "the API key is unknown or revoked");
        return AUTH_REFUSED;
    }
    return AUTH_CHANGED;
}

/* Reads a token's user (takes res): a deactivated user is refused and a changed role or scope
 * applies at once. */
static enum auth_check
apply_user(struct request *r, PGresult *res, struct error *err)
{
    enum role role = ROLE_ANONYMOUS;
    bool ok =
        PQntuples(res) == 1 && PQnfields(res) == 3 && auth_role_parse(PQgetvalue(res, 0, 0), &role);
    enum auth_check out = AUTH_CONFIRMED;
    if (ok) {
        const char *org = PQgetvalue(res, 0, 1), *ministry = PQgetvalue(res, 0, 2);
        if (role != r->who.role || strcmp(org, r->who.org) != 0 ||
            strcmp(ministry, r->who.ministry) != 0)
            out = AUTH_CHANGED;
        r->who.role = role;
        snprintf(r->who.org, sizeof(r->who.org), "%s", org);
        snprintf(r->who.ministry, sizeof(r->who.ministry), "%s", ministry);
    }
    PQclear(res);
    if (!ok) {
        memset(&r->who, 0, sizeof(r->who));
        invalid(err, "its user is deactivated or gone");
        return AUTH_REFUSED;
    }
    return out;
}

enum auth_step
auth_begin(struct request *r, struct error *err)
{
    const char *h = http_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    memset(&r->who, 0, sizeof(r->who));
    r->who.role = ROLE_ANONYMOUS;
    r->lookup = (struct http_statement){0};
    if (h == NULL)
        return AUTH_DONE;
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        error_set(err, 401, "invalid-token", "the Authorization header must be 'Bearer <token>'");
        err->www_authenticate = "Bearer error=\"invalid_request\"";
        return AUTH_FAILED;
    }
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    if (str_has_prefix(token, "sk_")) {
        char hash[AUTH_KEY_HASH_LEN];
        auth_key_hash(token, hash);
        r->who.api_key = true;
        r->lookup.sql = API_KEY_LOOKUP;
        r->lookup.nparams = 1;
        r->lookup.params[0] = arena_strdup(&r->arena, hash);
        return AUTH_LOOKUP;
    }
    if (!auth_token_verify(token, &r->who, err))
        return AUTH_FAILED;
    if (!value_is_uuid(r->who.sub)) {
        memset(&r->who, 0, sizeof(r->who));
        invalid(err, "its subject is not a user");
        return AUTH_FAILED;
    }
    r->lookup.sql = USER_LOOKUP;
    r->lookup.nparams = 1;
    r->lookup.params[0] = r->who.sub;
    return AUTH_LOOKUP;
}

enum auth_check
auth_lookup_apply(struct request *r, PGresult *res, struct error *err)
{
    bool key = r->lookup.sql == API_KEY_LOOKUP;
    r->lookup = (struct http_statement){0};
    if (res == NULL) {
        if (err->status == 0)
            error_set(err, 503, "database-unavailable", "the caller could not be checked");
        return AUTH_REFUSED;
    }
    return key ? apply_key(r, res, err) : apply_user(r, res, err);
}
