/* access.h - the policy: which role may do what, on which records. Enforced here and only here. */
#ifndef SHARAKA_ACCESS_H
#define SHARAKA_ACCESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "sharaka/core.h"

struct db_conn;
struct resource;

enum action {
    ACT_READ, /* read public fields */
    ACT_CREATE,
    ACT_UPDATE,
    ACT_DELETE,
    ACT_VERIFY,  /* mark a monitoring record verified */
    ACT_RESTORE, /* bring a deleted record back: whoever may delete it, and no one else */
};

/* The object-level rule a role's permission depends on. */
enum scope {
    SCOPE_ANY,              /* no condition on the record */
    SCOPE_OWN_ORGANIZATION, /* the record is the editor's own organization (its org scope) */
    SCOPE_OWN_MINISTRY,     /* the record is the editor's own ministry (its ministry scope) */
    SCOPE_PARTY,       /* the editor's ministry or organization is a party of the partnership */
    SCOPE_PARTNERSHIP, /* ... of the monitoring record's partnership */
    SCOPE_SIGNATORY,   /* the signature is for the editor's own party */
    SCOPE_VERIFIER,    /* the editor's ministry is the partnership's ministry */
    SCOPE_SAME_SOURCE, /* the record came from the partner's own source */
    SCOPE_NOT_SELF,    /* anyone's record but one's own role and active flag */
};

struct policy_rule {
    const char *resource; /* a resource name, or a service area: users, api-keys, audit-log... */
    enum action action;
    enum role role;
    enum scope scope;
};

extern const struct policy_rule access_rules[];
extern const size_t access_nrules;

/* True when the caller's role may see internal fields and monitoring records. */
bool access_sees_internal(const struct principal *p);

/*
 * The route-level check: may p do action on resource at all (whatever the record)? Returns false
 * with err set: 401 with WWW-Authenticate for anonymous callers, 403 otherwise.
 */
bool access_route(const struct principal *p, const char *resource, enum action action,
                  struct error *err) MUSTCHECK;

/*
 * The record-level check for writes: before is the stored record (NULL on create), after the
 * record as it would be written (NULL on delete). Both must satisfy the scope. May query the
 * database through c (a monitoring record's partnership). Returns false with err set to 403.
 */
bool access_record(const struct principal *p, struct db_conn *c, const struct resource *res,
                   enum action action, json_t *before, json_t *after, struct error *err) MUSTCHECK;

/* Prints the policy table: resource, action, role, scope, tab-separated, one rule per line. */
void access_print_table(FILE *out);

/* The name of a principal's scope for messages: "organization <id>", "ministry <id>"... */
const char *access_scope_text(const struct principal *p, char *buf, size_t len);

#endif
