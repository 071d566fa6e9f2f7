/* users.h - the people who sign in: creation from the command line. */
#ifndef SHARAKA_USERS_H
#define SHARAKA_USERS_H

#include <stdbool.h>

#include "sharaka/http.h"

/*
 * Creates a user with an argon2id hash of password. org and ministry may be NULL; an editor needs
 * exactly one. Returns false with a message in err (err->status 409 for an existing email).
 */
bool users_add(const char *email, enum role role, const char *org, const char *ministry,
               const char *password, struct error *err) MUSTCHECK;

#endif
