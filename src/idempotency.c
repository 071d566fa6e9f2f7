/* idempotency.c - Idempotency-Key: a key is claimed, its answer saved, and replayed on a retry. */
#include "sharaka/engine.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/auth.h"
#include "sharaka/config.h"
#include "sharaka/log.h"

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

/* What idempotency_begin found: go on, the stored answer was sent, or the request failed. */
enum idem_outcome { IDEM_PROCEED, IDEM_ANSWERED, IDEM_FAILED };

static bool
exec_simple(struct db_conn *c, const char *sql, int n, const char *const *values, struct error *err)
{
    PGresult *pg = db_exec_sql(c, sql, n, values, err);
    PQclear(pg);
    return pg != NULL;
}

/* The hex SHA-256 of what makes two requests the same: method, path, match= and body. */
static char *
request_hash(struct request *r)
{
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
    return hash;
}

/* Sends the stored answer of the first request with this key (takes pg). */
static void
replay(struct request *r, PGresult *pg)
{
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
}

/* What a key held by an earlier request means: claim again (expired, abandoned), a conflict, or
 * the answer to replay. */
enum held { HELD_FORGET, HELD_REPLAY, HELD_CONFLICT };

static enum held
judge_held(PGresult *pg, const char *hash, struct error *err)
{
    bool expired = strcmp(PQgetvalue(pg, 0, 6), "t") == 0;
    bool abandoned = strcmp(PQgetvalue(pg, 0, 7), "t") == 0;
    bool running = strcmp(PQgetvalue(pg, 0, 1), "running") == 0;
    if (expired || (running && abandoned))
        return HELD_FORGET;
    if (strcmp(PQgetvalue(pg, 0, 0), hash) != 0) {
        error_set(err, 422, "idempotency-key-reused",
                  "this Idempotency-Key was used with another request; use a new key for a new "
                  "request");
        return HELD_CONFLICT;
    }
    if (running) {
        error_set(err, 409, "request-in-progress",
                  "the first request with this Idempotency-Key is still running; retry later");
        return HELD_CONFLICT;
    }
    return HELD_REPLAY;
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
    const char *hash = request_hash(r);
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
        switch (judge_held(pg, hash, err)) {
        case HELD_FORGET:
            PQclear(pg);
            if (!exec_simple(c, IDEM_FORGET, 2, values, err))
                return IDEM_FAILED;
            continue;
        case HELD_CONFLICT:
            PQclear(pg);
            return IDEM_FAILED;
        case HELD_REPLAY:
            replay(r, pg);
            return IDEM_ANSWERED;
        }
    }
    error_set(err, 409, "request-in-progress", "the Idempotency-Key is contended; retry later");
    return IDEM_FAILED;
}

struct db_conn *
idempotency_connect(struct request *r, struct error *err)
{
    struct db_conn *c = db_thread_conn(err);
    if (c == NULL)
        return NULL;
    return idempotency_begin(r, c, err) == IDEM_PROCEED ? c : NULL;
}

/* Stores the answer inside the write's transaction, so that it commits with the write. */
bool
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
void
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
