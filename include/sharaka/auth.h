/* auth.h - password hashing, access tokens and the authentication step of a request. */
#ifndef SHARAKA_AUTH_H
#define SHARAKA_AUTH_H

#include <sodium.h>
#include <stdbool.h>

#include "sharaka/http.h"

#define AUTH_LEEWAY       60
#define AUTH_HASH_LEN     crypto_pwhash_STRBYTES
#define AUTH_KEY_HASH_LEN (2 * crypto_hash_sha256_BYTES + 1)

/* Prepares what verification needs; call once before serving. Returns false on failure. */
bool auth_init(void) MUSTCHECK;

/* Writes the hex SHA-256 of an API key into out: the form keys are stored in. */
void auth_key_hash(const char *key, char out[AUTH_KEY_HASH_LEN]);

/* Room for a secret of auth_new_secret with a prefix of up to 8 characters. */
#define AUTH_SECRET_LEN 64
/*
 * Writes prefix and 43 URL-safe random characters (256 bits) into out, which holds len bytes
 * (at least the prefix's length plus 44): API keys ("sk_") and refresh tokens ("rt_").
 */
void auth_new_secret(const char *prefix, char *out, size_t len);

/* True when this server signs tokens itself (HS256, or a configured private key). */
bool auth_can_issue(void);

/* Role names as they appear in tokens, the users table and the command line. */
const char *auth_role_name(enum role role);
/* Parses a role name; returns false when name is not one. */
bool auth_role_parse(const char *name, enum role *out) MUSTCHECK;

/* Hashes password with argon2id (libsodium's interactive limits). Returns false on failure. */
bool auth_password_hash(const char *password, char out[AUTH_HASH_LEN]) MUSTCHECK;
/* True when password matches hash. Takes the same time whether or not hash is NULL. */
bool auth_password_verify(const char *hash, const char *password);

/* Issues a signed access token for p, valid for cfg.token_ttl seconds. Returns new memory. */
char *auth_token_issue(const struct principal *p, int64_t *expires_in);

/*
 * Verifies token: header and claims are JSON objects without duplicate names, the header has no
 * crit, signature with the configured key, alg pinned, exp required, exp/nbf/iat with leeway
 * (iat not in the future), iss and aud. Fills p on success; returns false with err set to 401.
 */
bool auth_token_verify(const char *token, struct principal *p, struct error *err) MUSTCHECK;

enum auth_step {
    AUTH_DONE,   /* no credentials: r->who is anonymous */
    AUTH_LOOKUP, /* credentials that parse; the database must confirm them (r->lookup) */
    AUTH_FAILED, /* err is set: 401 with WWW-Authenticate */
};

/*
 * Reads the Authorization header without touching the database. For a token, r->who is what its
 * claims say, a guess the lookup confirms or corrects; for an API key, r->who.api_key is set and
 * nothing else is known until the lookup. r->lookup is the statement that checks the caller: the
 * token's user is still active (with its current role and scope), the key is live (its last use
 * is noted at most once a minute).
 */
enum auth_step auth_begin(struct request *r, struct error *err);

enum auth_check {
    AUTH_CONFIRMED, /* the caller is who r->who said */
    AUTH_CHANGED,   /* r->who now holds the caller's current role and scope */
    AUTH_REFUSED,   /* err is set: 401 (or 503 when res is NULL) */
};

/* Applies the result of r->lookup (takes res, which may be NULL when it failed) and clears
 * r->lookup. */
enum auth_check auth_lookup_apply(struct request *r, PGresult *res, struct error *err);

#endif
