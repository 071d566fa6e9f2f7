/* ministries.c - ministries and the other public bodies partnerships are made with. */
#include "sharaka/fields.h"

static const char *const kinds[] = {
    "ministry",     "minister-of-state-office", "council", "public-institution",
    "municipality", "union-of-municipalities",  "other",   NULL};

static const struct field fields[] = {
    FIELD_ID,
    FIELDS_NAMES,
    {"acronym", FT_TEXT, F_FILTER | F_SORT, NULL, 30, NULL, NULL},
    {"kind", FT_ENUM, F_REQUIRED | F_FILTER | F_SORT, kinds, 0, NULL, NULL},
    {"parent_id", FT_UUID, F_FILTER, NULL, 0, "ministries", NULL},
    FIELD_GOVERNORATE,
    {"website", FT_URL, 0, NULL, 500, NULL, NULL},
    {"email", FT_EMAIL, F_INTERNAL, NULL, 320, NULL, NULL},
    {"phone", FT_TEXT, F_INTERNAL, NULL, 50, NULL, NULL},
    {"status", FT_ENUM, F_FILTER | F_SORT | F_NOTNULL, body_status_values, 0, NULL, NULL},
    FIELDS_COMMON,
};

static const struct include includes[] = {
    {"parent", &ministries_resource, "parent_id"},
};

static const struct referrer referrers[] = {
    {"partnerships", "SELECT p.id::text FROM partnerships p WHERE p.ministry_id = $1::uuid AND "
                     "p.deleted_at IS NULL ORDER BY p.id LIMIT 20"},
    {"ministries", "SELECT m.id::text FROM ministries m WHERE m.parent_id = $1::uuid AND "
                   "m.deleted_at IS NULL ORDER BY m.id LIMIT 20"},
    {"signatories", "SELECT s.id::text FROM charter_signatories s WHERE s.party_type = "
                    "'ministry' AND s.party_id = $1::uuid AND s.deleted_at IS NULL AND "
                    "s.withdrawn_on IS NULL ORDER BY s.id LIMIT 20"},
    {"users", "SELECT u.id::text FROM users u WHERE u.ministry_id = $1::uuid AND u.active "
              "ORDER BY u.id LIMIT 20"},
};

static const struct constraint_message messages[] = {
    {"ministries_check", "parent_id", "a public body cannot be its own parent"},
};

static const char *const search_fields[] = {"name",    "name_ar", "name_en",
                                            "name_fr", "acronym", NULL};

const struct resource ministries_resource = {
    .name = "ministries",
    .table = "ministries",
    .singular = "ministry",
    LIST_OF(fields, fields),
    .searchable = true,
    .display_field = "name",
    .search_fields = search_fields,
    .default_sort = "created_at",
    LIST_OF(includes, includes),
    LIST_OF(referrers, referrers),
    LIST_OF(messages, messages),
};
