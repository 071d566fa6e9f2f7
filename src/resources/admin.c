/* admin.c - the administrators' resources: users, API keys and the audit log. */
#include "sharaka/fields.h"

static const char *const user_roles[] = {"analyst", "editor", "admin", NULL};
static const char *const key_roles[] = {"analyst", "partner", "admin", NULL};
static const char *const actor_types[] = {"user", "api_key", "system", NULL};
static const char *const audit_actions[] = {"create", "update", "delete", "restore", NULL};

static const struct field user_fields[] = {
    FIELD_ID,
    {"email", FT_EMAIL, F_REQUIRED | F_FILTER | F_SORT, NULL, 320, NULL, NULL},
    {"password", FT_PASSWORD, F_REQUIRED, NULL, 1024, NULL, NULL},
    {"role", FT_ENUM, F_REQUIRED | F_FILTER | F_SORT, user_roles, 0, NULL, NULL},
    {"organization_id", FT_UUID, F_FILTER, NULL, 0, "organizations", NULL},
    {"ministry_id", FT_UUID, F_FILTER, NULL, 0, "ministries", NULL},
    {"active", FT_BOOL, F_FILTER | F_NOTNULL, NULL, 0, NULL, NULL},
    {"version", FT_NUMBER, F_READONLY | F_NOTNULL, NULL, 0, NULL, NULL},
    {"created_at", FT_TIMESTAMP, F_READONLY | F_FILTER | F_SORT | F_NOTNULL, NULL, 0, NULL, NULL},
    {"updated_at", FT_TIMESTAMP, F_READONLY | F_FILTER | F_SORT | F_NOTNULL, NULL, 0, NULL, NULL},
};

static const struct constraint_message user_messages[] = {
    {"users_editor_scope", "role",
     "an editor is bound to exactly one organization_id or ministry_id; other roles to none"},
    {"users_email_key", "email", "a user with this email already exists"},
};

const struct resource users_resource = {
    .name = "users",
    .table = "users",
    .singular = "user",
    LIST_OF(fields, user_fields),
    .default_sort = "created_at",
    .no_soft_delete = true,
    LIST_OF(messages, user_messages),
};

static const struct field key_fields[] = {
    {"id", FT_UUID, F_READONLY | F_FILTER | F_NOTNULL, NULL, 0, NULL, NULL},
    {"name", FT_TEXT, F_REQUIRED | F_FILTER | F_SORT, NULL, 200, NULL, NULL},
    {"role", FT_ENUM, F_REQUIRED | F_FILTER, key_roles, 0, NULL, NULL},
    {"source", FT_SLUG, F_REQUIRED | F_FILTER, NULL, 64, NULL, NULL},
    {"prefix", FT_TEXT, F_READONLY, NULL, 20, NULL, NULL},
    {"last_used_at", FT_TIMESTAMP, F_READONLY | F_SORT, NULL, 0, NULL, NULL},
    {"revoked_at", FT_TIMESTAMP, F_READONLY | F_FILTER, NULL, 0, NULL, NULL},
    {"version", FT_NUMBER, F_READONLY | F_NOTNULL, NULL, 0, NULL, NULL},
    {"created_at", FT_TIMESTAMP, F_READONLY | F_FILTER | F_SORT | F_NOTNULL, NULL, 0, NULL, NULL},
};

const struct resource api_keys_resource = {
    .name = "api-keys",
    .table = "api_keys",
    .singular = "API key",
    LIST_OF(fields, key_fields),
    .default_sort = "created_at",
    .no_soft_delete = true,
    .delete_column = "revoked_at",
};

static const struct field audit_fields[] = {
    {"id", FT_UUID, F_READONLY | F_FILTER | F_NOTNULL, NULL, 0, NULL, NULL},
    {"at", FT_TIMESTAMP, F_READONLY | F_FILTER | F_SORT | F_NOTNULL, NULL, 0, NULL, NULL},
    {"actor_type", FT_ENUM, F_READONLY | F_FILTER | F_NOTNULL, actor_types, 0, NULL, NULL},
    {"actor_id", FT_TEXT, F_READONLY | F_FILTER | F_NOTNULL, NULL, 64, NULL, NULL},
    {"actor_role", FT_TEXT, F_READONLY | F_FILTER | F_NOTNULL, NULL, 20, NULL, NULL},
    {"action", FT_ENUM, F_READONLY | F_FILTER | F_NOTNULL, audit_actions, 0, NULL, NULL},
    {"resource", FT_TEXT, F_READONLY | F_FILTER | F_NOTNULL, NULL, 40, NULL, NULL},
    {"record_id", FT_TEXT, F_READONLY | F_FILTER | F_NOTNULL, NULL, 64, NULL, NULL},
    {"before", FT_JSON, F_READONLY, NULL, 0, NULL, NULL},
    {"after", FT_JSON, F_READONLY, NULL, 0, NULL, NULL},
    {"request_id", FT_TEXT, F_READONLY | F_FILTER | F_NOTNULL, NULL, 64, NULL, NULL},
};

const struct resource audit_log_resource = {
    .name = "audit-log",
    .table = "audit_log",
    .singular = "audit entry",
    LIST_OF(fields, audit_fields),
    .default_sort = "at",
    .no_soft_delete = true,
    .unversioned = true,
};
