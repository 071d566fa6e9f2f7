/* organizations.c - NGOs, networks, unions, academic and research institutes. */
#include "sharaka/fields.h"

static const char *const kinds[] = {
    "association",   "network",        "union",       "foundation", "academic", "research-center",
    "international", "private-sector", "cooperative", "club",       "other",    NULL};

static const struct field fields[] = {
    FIELD_ID,
    FIELDS_NAMES,
    {"acronym", FT_TEXT, F_FILTER | F_SORT, NULL, 30, NULL, NULL},
    {"kind", FT_ENUM, F_REQUIRED | F_FILTER | F_SORT, kinds, 0, NULL, NULL},
    {"registration_number", FT_TEXT, F_FILTER, NULL, 100, NULL, NULL},
    {"external_ids", FT_STRMAP, F_FILTER | F_NOTNULL, NULL, 20, NULL, NULL},
    {"founded_on", FT_DATE, F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    FIELD_GOVERNORATE,
    {"district", FT_TEXT, F_FILTER, NULL, 100, NULL, NULL},
    {"sectors", FT_TAGS, F_FILTER | F_NOTNULL, NULL, 30, NULL, NULL},
    {"website", FT_URL, 0, NULL, 500, NULL, NULL},
    {"email", FT_EMAIL, F_INTERNAL, NULL, 320, NULL, NULL},
    {"phone", FT_TEXT, F_INTERNAL, NULL, 50, NULL, NULL},
    {"description", FT_TEXT, 0, NULL, 10000, NULL, NULL},
    FIELDS_TRANSLATIONS(description, 0, 10000),
    {"status", FT_ENUM, F_FILTER | F_SORT | F_NOTNULL, body_status_values, 0, NULL, NULL},
    FIELDS_COMMON,
};

static const struct referrer referrers[] = {
    {"partnerships", "SELECT p.id::text FROM partnership_organizations po JOIN partnerships p ON "
                     "p.id = po.partnership_id WHERE po.organization_id = $1::uuid AND "
                     "p.deleted_at IS NULL ORDER BY p.id LIMIT 20"},
    {"signatories", "SELECT s.id::text FROM charter_signatories s WHERE s.party_type = "
                    "'organization' AND s.party_id = $1::uuid AND s.deleted_at IS NULL AND "
                    "s.withdrawn_on IS NULL ORDER BY s.id LIMIT 20"},
    {"users", "SELECT u.id::text FROM users u WHERE u.organization_id = $1::uuid AND u.active "
              "ORDER BY u.id LIMIT 20"},
};

static const char *const search_fields[] = {
    "name",        "name_ar",        "name_en",        "name_fr",        "acronym",
    "description", "description_ar", "description_en", "description_fr", NULL};

const struct resource organizations_resource = {
    .name = "organizations",
    .table = "organizations",
    .singular = "organization",
    LIST_OF(fields, fields),
    .searchable = true,
    .display_field = "name",
    .search_fields = search_fields,
    .default_sort = "created_at",
    LIST_OF(referrers, referrers),
};
