/* users.h - the people who sign in and the partners' API keys: creation from the command line
 * and from the API, and the sources a key may not carry. */
#ifndef SHARAKA_USERS_H
#define SHARAKA_USERS_H

#include <stdbool.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "sharaka/core.h"

/*
 * Creates a user with an argon2id hash of password. org and ministry may be NULL; an editor needs
 * exactly one. Returns false with a message in err (err->status 409 for an existing email).
 */
bool users_add(const char *email, enum role role, const char *org, const char *ministry,
               const char *password, struct error *err) MUSTCHECK;

#define USERS_KEY_LEN 64

/* The source stamped on every write not made with a partner key (the columns' default). */
#define USERS_SOURCE_DIRECT "sharaka"

/* True when no API key may carry source: the source of direct writes and the other names the
 * server keeps for itself. */
bool users_source_reserved(const char *source);

/*
 * Checks a new API key's fields (name, role, source), as POST /v1/api-keys and `sharaka apikey
 * create` both take them: the descriptor's rules, then a reserved source. Appends to errors.
 */
void users_check_key(json_t *body, json_t *errors);

/*
 * Creates an API key and its audit row in one transaction on pg. actor is NULL from the command
 * line. On success key holds the secret (shown once) and *record_json the new record (new
 * memory). Returns false with err set.
 */
bool users_create_key(PGconn *pg, const char *name, const char *role, const char *source,
                      const struct principal *actor, const char *request_id, char **record_json,
                      char key[USERS_KEY_LEN], struct error *err) MUSTCHECK;

#endif
