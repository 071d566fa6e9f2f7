/* partnerships.c - a ministry or public body and organizations working together. */
#include "sharaka/fields.h"

static const char *const instruments[] = {"contract",        "mou",      "decree",
                                          "grant-agreement", "informal", NULL};
static const char *const statuses[] = {"planned",   "active",     "completed",
                                       "suspended", "terminated", NULL};

static const char *const roles[] = {"lead", "partner", "implementer", "funder", NULL};

static const struct field fields[] = {
    FIELD_ID,
    {"title", FT_TEXT, F_REQUIRED | F_FILTER | F_SORT, NULL, 500, NULL, NULL},
    FIELDS_TRANSLATIONS(title, F_FILTER, 500),
    {"type_id", FT_UUID, F_REQUIRED | F_FILTER, NULL, 0, "partnership_types", NULL},
    {"ministry_id", FT_UUID, F_REQUIRED | F_FILTER, NULL, 0, "ministries", NULL},
    {"organizations", FT_LINKS, F_REQUIRED | F_FILTER, NULL, 50, "organizations", NULL},
    {"programme", FT_TEXT, F_FILTER | F_SORT, NULL, 200, NULL, NULL},
    {"instrument", FT_ENUM, F_FILTER, instruments, 0, NULL, NULL},
    {"instrument_reference", FT_TEXT, 0, NULL, 200, NULL, NULL},
    {"legal_basis", FT_TEXT, 0, NULL, 2000, NULL, NULL},
    {"start_date", FT_DATE, F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    {"end_date", FT_DATE, F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    {"amount", FT_DECIMAL, F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    {"currency", FT_CURRENCY, F_FILTER, NULL, 3, NULL, NULL},
    {"status", FT_ENUM, F_FILTER | F_SORT | F_NOTNULL, statuses, 0, NULL, NULL},
    {"governorates", FT_ENUMS, F_FILTER | F_NOTNULL, governorate_values, 9, NULL, "governorate"},
    {"description", FT_TEXT, 0, NULL, 10000, NULL, NULL},
    FIELDS_TRANSLATIONS(description, 0, 10000),
    {"external_ids", FT_STRMAP, F_FILTER | F_NOTNULL, NULL, 20, NULL, NULL},
    FIELDS_COMMON,
};

static const struct include includes[] = {
    {"ministry", &ministries_resource, "ministry_id"},
    {"type", &partnership_types_resource, "type_id"},
    {"organizations", &organizations_resource, NULL},
};

static const struct link organizations_link = {
    .table = "partnership_organizations",
    .owner = "partnership_id",
    .key = "organization_id",
    .target = &organizations_resource,
    .attribute = "role",
    .attribute_values = roles,
    .position = "position",
};

static const struct referrer referrers[] = {
    {"monitoring-records", "SELECT m.id::text FROM monitoring_records m WHERE m.partnership_id = "
                           "$1::uuid AND m.deleted_at IS NULL ORDER BY m.id LIMIT 20"},
};

static const struct field_pair date_order[] = {{"start_date", "end_date"}};
static const struct field_pair together[] = {{"amount", "currency"}};

static const char *const search_fields[] = {
    "title",       "title_ar",       "title_en",       "title_fr",       "programme",
    "description", "description_ar", "description_en", "description_fr", NULL};

const struct resource partnerships_resource = {
    .name = "partnerships",
    .table = "partnerships",
    .singular = "partnership",
    LIST_OF(fields, fields),
    .searchable = true,
    .display_field = "title",
    .search_fields = search_fields,
    .default_sort = "created_at",
    LIST_OF(includes, includes),
    LIST_OF(referrers, referrers),
    LIST_OF(date_order, date_order),
    LIST_OF(together, together),
    .link = &organizations_link,
};
