/* access.c - the policy table of DESIGN.md's access rules, and the checks that apply it. */
#include "sharaka/access.h"

#include <stdio.h>
#include <string.h>

#include "sharaka/auth.h"
#include "sharaka/db.h"
#include "sharaka/resource.h"

/*
 * Read top to bottom: who may do what. A (resource, action) pair with no row for a role is
 * refused. Reads of public fields are open to everyone except where listed otherwise.
 */
const struct policy_rule access_rules[] = {
    /* organizations */
    {"organizations", ACT_READ, ROLE_ANONYMOUS, SCOPE_ANY},
    {"organizations", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"organizations", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"organizations", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"organizations", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"organizations", ACT_CREATE, ROLE_PARTNER, SCOPE_ANY},
    {"organizations", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"organizations", ACT_UPDATE, ROLE_EDITOR, SCOPE_OWN_ORGANIZATION},
    {"organizations", ACT_UPDATE, ROLE_PARTNER, SCOPE_SAME_SOURCE},
    {"organizations", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    {"organizations", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    /* ministries and other public bodies */
    {"ministries", ACT_READ, ROLE_ANONYMOUS, SCOPE_ANY},
    {"ministries", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"ministries", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"ministries", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"ministries", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"ministries", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"ministries", ACT_UPDATE, ROLE_EDITOR, SCOPE_OWN_MINISTRY},
    {"ministries", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    {"ministries", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    /* partnership types: the admin's vocabulary */
    {"partnership-types", ACT_READ, ROLE_ANONYMOUS, SCOPE_ANY},
    {"partnership-types", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"partnership-types", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"partnership-types", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"partnership-types", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"partnership-types", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"partnership-types", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    {"partnership-types", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    /* partnerships */
    {"partnerships", ACT_READ, ROLE_ANONYMOUS, SCOPE_ANY},
    {"partnerships", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"partnerships", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"partnerships", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"partnerships", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"partnerships", ACT_CREATE, ROLE_EDITOR, SCOPE_PARTY},
    {"partnerships", ACT_CREATE, ROLE_PARTNER, SCOPE_ANY},
    {"partnerships", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"partnerships", ACT_UPDATE, ROLE_EDITOR, SCOPE_PARTY},
    {"partnerships", ACT_UPDATE, ROLE_PARTNER, SCOPE_SAME_SOURCE},
    {"partnerships", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    {"partnerships", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    /* charters and their signatories */
    {"charters", ACT_READ, ROLE_ANONYMOUS, SCOPE_ANY},
    {"charters", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"charters", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"charters", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"charters", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"charters", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"charters", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    {"charters", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    {"signatories", ACT_READ, ROLE_ANONYMOUS, SCOPE_ANY},
    {"signatories", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"signatories", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"signatories", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"signatories", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"signatories", ACT_CREATE, ROLE_EDITOR, SCOPE_SIGNATORY},
    {"signatories", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"signatories", ACT_UPDATE, ROLE_EDITOR, SCOPE_SIGNATORY},
    {"signatories", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    /* monitoring records: no anonymous reads */
    {"monitoring-records", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"monitoring-records", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"monitoring-records", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"monitoring-records", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"monitoring-records", ACT_CREATE, ROLE_EDITOR, SCOPE_PARTNERSHIP},
    {"monitoring-records", ACT_CREATE, ROLE_PARTNER, SCOPE_ANY},
    {"monitoring-records", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"monitoring-records", ACT_UPDATE, ROLE_EDITOR, SCOPE_PARTNERSHIP},
    {"monitoring-records", ACT_UPDATE, ROLE_PARTNER, SCOPE_SAME_SOURCE},
    {"monitoring-records", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    {"monitoring-records", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    {"monitoring-records", ACT_VERIFY, ROLE_EDITOR, SCOPE_VERIFIER},
    {"monitoring-records", ACT_VERIFY, ROLE_ADMIN, SCOPE_ANY},
    /* the signed-in caller's own identity */
    {"me", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"me", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"me", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"me", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    /* one's own password: people who sign in (an admin's API key is refused by the handler) */
    {"password", ACT_UPDATE, ROLE_ANALYST, SCOPE_ANY},
    {"password", ACT_UPDATE, ROLE_EDITOR, SCOPE_ANY},
    {"password", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    /* sync and analysis: signed-in callers */
    {"changes", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"changes", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"changes", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"changes", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"stats", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"stats", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"stats", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"stats", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    /* exports: open to all; each resource's own read rule applies inside */
    {"exports", ACT_READ, ROLE_ANONYMOUS, SCOPE_ANY},
    {"exports", ACT_READ, ROLE_ANALYST, SCOPE_ANY},
    {"exports", ACT_READ, ROLE_EDITOR, SCOPE_ANY},
    {"exports", ACT_READ, ROLE_PARTNER, SCOPE_ANY},
    {"exports", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    /* administration */
    {"users", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"users", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"users", ACT_UPDATE, ROLE_ADMIN, SCOPE_NOT_SELF},
    /* webhooks: a partner's own source's (the handlers narrow it), an administrator's all */
    {"webhooks", ACT_READ, ROLE_PARTNER, SCOPE_SAME_SOURCE},
    {"webhooks", ACT_CREATE, ROLE_PARTNER, SCOPE_ANY}, /* always for its own source */
    {"webhooks", ACT_UPDATE, ROLE_PARTNER, SCOPE_SAME_SOURCE},
    {"webhooks", ACT_DELETE, ROLE_PARTNER, SCOPE_SAME_SOURCE},
    {"webhooks", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"webhooks", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"webhooks", ACT_UPDATE, ROLE_ADMIN, SCOPE_ANY},
    {"webhooks", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    {"api-keys", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
    {"api-keys", ACT_CREATE, ROLE_ADMIN, SCOPE_ANY},
    {"api-keys", ACT_DELETE, ROLE_ADMIN, SCOPE_ANY},
    {"audit-log", ACT_READ, ROLE_ADMIN, SCOPE_ANY},
};
const size_t access_nrules = ARRAY_LEN(access_rules);

static const char *const action_names[] = {
    [ACT_READ] = "read",     [ACT_CREATE] = "create", [ACT_UPDATE] = "change",
    [ACT_DELETE] = "delete", [ACT_VERIFY] = "verify", [ACT_RESTORE] = "restore",
};

static const struct policy_rule *
find_rule(const char *resource, enum action action, enum role role)
{
    if (action == ACT_RESTORE) /* the rules of deleting */
        action = ACT_DELETE;
    for (size_t i = 0; i < access_nrules; i++) {
        const struct policy_rule *rule = &access_rules[i];
        if (rule->action == action && rule->role == role && strcmp(rule->resource, resource) == 0)
            return rule;
    }
    return NULL;
}

bool
access_sees_internal(const struct principal *p)
{
    return p->role != ROLE_ANONYMOUS;
}

const char *
access_scope_text(const struct principal *p, char *buf, size_t len)
{
    if (p->org[0])
        snprintf(buf, len, "organization %s", p->org);
    else if (p->ministry[0])
        snprintf(buf, len, "ministry %s", p->ministry);
    else if (p->source[0])
        snprintf(buf, len, "source %s", p->source);
    else
        snprintf(buf, len, "no scope");
    return buf;
}

bool
access_route(const struct principal *p, const char *resource, enum action action, struct error *err)
{
    if (find_rule(resource, action, p->role) != NULL)
        return true;
    if (p->role == ROLE_ANONYMOUS) {
        error_set(err, 401, "unauthorized", "to %s %s, sign in: send an access token or API key",
                  action_names[action], resource);
        err->www_authenticate = "Bearer";
        return false;
    }
    return error_set(err, 403, "forbidden", "the %s role may not %s %s", auth_role_name(p->role),
                     action_names[action], resource);
}

/* ---------------------------------------------------------------- scopes */

static const char *
str_of(json_t *record, const char *name)
{
    return json_string_value(json_object_get(record, name));
}

static bool
same_id(const char *a, const char *b)
{
    return a != NULL && b != NULL && a[0] && strcasecmp(a, b) == 0;
}

/* Is the editor's organization or ministry a party of this partnership record? */
static bool
party_of(const struct principal *p, const char *ministry_id, json_t *orgs)
{
    if (same_id(p->ministry, ministry_id))
        return true;
    size_t i;
    json_t *item;
    json_array_foreach(orgs, i, item)
    {
        if (same_id(p->org, json_string_value(json_object_get(item, "organization_id"))))
            return true;
    }
    return false;
}

/* Looks up a partnership's ministry and organizations (for monitoring records). */
static bool
partnership_party(const struct principal *p, struct db_conn *c, const char *partnership_id,
                  bool verifier, bool *ok, struct error *err)
{
    const char *sql =
        "SELECT p.ministry_id::text, coalesce(json_agg(json_build_object('organization_id', "
        "po.organization_id)) FILTER (WHERE po.organization_id IS NOT NULL), '[]')::text "
        "FROM partnerships p LEFT JOIN partnership_organizations po ON po.partnership_id = p.id "
        "WHERE p.id = $1::uuid AND p.deleted_at IS NULL GROUP BY p.id";
    *ok = false;
    if (partnership_id == NULL)
        return true;
    PGresult *res = db_exec_sql(c, sql, 1, &partnership_id, err);
    if (res == NULL)
        return false;
    if (PQntuples(res) == 1) {
        json_t *orgs = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
        *ok = verifier ? same_id(p->ministry, PQgetvalue(res, 0, 0))
                       : party_of(p, PQgetvalue(res, 0, 0), orgs);
        json_decref(orgs);
    }
    PQclear(res);
    return true;
}

static bool
scope_holds(const struct principal *p, struct db_conn *c, enum scope scope, json_t *record,
            bool *ok, struct error *err)
{
    *ok = false;
    switch (scope) {
    case SCOPE_ANY:
        *ok = true;
        return true;
    case SCOPE_OWN_ORGANIZATION:
        *ok = same_id(p->org, str_of(record, "id"));
        return true;
    case SCOPE_OWN_MINISTRY:
        *ok = same_id(p->ministry, str_of(record, "id"));
        return true;
    case SCOPE_PARTY:
        *ok = party_of(p, str_of(record, "ministry_id"), json_object_get(record, "organizations"));
        return true;
    case SCOPE_PARTNERSHIP:
        return partnership_party(p, c, str_of(record, "partnership_id"), false, ok, err);
    case SCOPE_VERIFIER:
        return partnership_party(p, c, str_of(record, "partnership_id"), true, ok, err);
    case SCOPE_SIGNATORY: {
        const char *type = str_of(record, "party_type");
        const char *mine = type && strcmp(type, "organization") == 0 ? p->org
                           : type && strcmp(type, "ministry") == 0   ? p->ministry
                                                                     : NULL;
        *ok = same_id(mine, str_of(record, "party_id"));
        return true;
    }
    case SCOPE_NOT_SELF:
        *ok = true; /* checked on the change itself in access_record */
        return true;
    case SCOPE_SAME_SOURCE:
        *ok = p->source[0] && str_of(record, "source") != NULL &&
              strcmp(p->source, str_of(record, "source")) == 0;
        return true;
    }
    return true;
}

bool
access_record(const struct principal *p, struct db_conn *c, const struct resource *res,
              enum action action, json_t *before, json_t *after, struct error *err)
{
    const struct policy_rule *rule = find_rule(res->name, action, p->role);
    char scope[80];
    bool ok = false;

    if (rule == NULL)
        return access_route(p, res->name, action, err);
    if (rule->scope == SCOPE_NOT_SELF && before != NULL && after != NULL &&
        same_id(p->sub, str_of(before, "id"))) {
        if (!json_equal(json_object_get(before, "role"), json_object_get(after, "role")))
            return error_set(err, 403, "forbidden", "no one may change their own role");
        if (!json_equal(json_object_get(before, "active"), json_object_get(after, "active")))
            return error_set(err, 403, "forbidden", "no one may deactivate themselves");
    }
    /* The stored record must be in scope, and so must the record as it will be. */
    if (before != NULL) {
        if (!scope_holds(p, c, rule->scope, before, &ok, err))
            return false;
        if (!ok)
            return error_set(err, 403, "forbidden",
                             "this %s is outside your scope (%s); you may %s only your own",
                             res->singular, access_scope_text(p, scope, sizeof(scope)),
                             action_names[action]);
    }
    if (after != NULL && rule->scope != SCOPE_SAME_SOURCE) {
        if (!scope_holds(p, c, rule->scope, after, &ok, err))
            return false;
        if (!ok)
            return error_set(err, 403, "forbidden",
                             "the %s would be outside your scope (%s); it must name your own "
                             "party",
                             res->singular, access_scope_text(p, scope, sizeof(scope)));
    }
    return true;
}

static const char *const scope_names[] = {
    [SCOPE_ANY] = "any",
    [SCOPE_OWN_ORGANIZATION] = "own-organization",
    [SCOPE_OWN_MINISTRY] = "own-ministry",
    [SCOPE_PARTY] = "party",
    [SCOPE_PARTNERSHIP] = "partnership-party",
    [SCOPE_SIGNATORY] = "own-party-signature",
    [SCOPE_VERIFIER] = "partnership-ministry",
    [SCOPE_SAME_SOURCE] = "same-source",
    [SCOPE_NOT_SELF] = "not-own-role",
};

static const char *const action_codes[] = {
    [ACT_READ] = "read",     [ACT_CREATE] = "create", [ACT_UPDATE] = "update",
    [ACT_DELETE] = "delete", [ACT_VERIFY] = "verify", [ACT_RESTORE] = "restore",
};

void
access_print_table(FILE *out)
{
    for (size_t i = 0; i < access_nrules; i++)
        fprintf(out, "%s\t%s\t%s\t%s\n", access_rules[i].resource,
                action_codes[access_rules[i].action], auth_role_name(access_rules[i].role),
                scope_names[access_rules[i].scope]);
}
