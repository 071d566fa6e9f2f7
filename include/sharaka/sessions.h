/* sessions.h - the sessions of people who sign in with a password: the sign-in throttle, rotating
 * refresh tokens in an HttpOnly cookie, refresh, sign-out and the change of one's own password. */
#ifndef SHARAKA_SESSIONS_H
#define SHARAKA_SESSIONS_H

#include <stdbool.h>

#include "sharaka/db.h"
#include "sharaka/http.h"

/* The cookie that carries the refresh token, scoped to the routes that read it. */
#define SESSIONS_COOKIE      "sharaka_refresh"
#define SESSIONS_COOKIE_PATH "/v1/auth"

/*
 * Counts a sign-in attempt (a password checked, a refresh token presented) against the buckets
 * of its client address and, unless email is NULL, of its e-mail, kept in PostgreSQL so that
 * every instance counts into the same ones (login_attempt, migration 0007). Adds the buckets'
 * RateLimit headers; false with a 429 (for the bucket that ran dry) when the attempt may not go
 * on, and then no bucket was drawn on.
 */
bool sessions_throttle(struct request *r, struct db_conn *c, const char *email,
                       struct error *err) MUSTCHECK;

/*
 * Starts a session for user_id after a password sign-in: the first refresh token of a new
 * family, valid for SHARAKA_REFRESH_TTL seconds, set in the answer's cookie. False with err set.
 */
bool sessions_start(struct request *r, struct db_conn *c, const char *user_id,
                    struct error *err) MUSTCHECK;

/*
 * The access token of the user in row 0 of res, whose columns from first on are its id, role,
 * organization and ministry (text, "" for none). New memory; NULL with err set (500).
 */
char *sessions_access_token(PGresult *res, int first, int64_t *expires_in, struct error *err);

/*
 * Answers 200 {"access_token", "token_type": "Bearer", "expires_in"} with Cache-Control: no-store,
 * plus the members of extra (taken; NULL for none).
 */
void sessions_answer(struct request *r, const char *token, int64_t expires_in, json_t *extra);

#endif
