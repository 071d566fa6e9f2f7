/* partnership_types.c - the kinds of partnership: service contracts, financial contributions... */
#include "sharaka/fields.h"

static const char *const levels[] = {"information", "consultation", "cooperation", "partnership",
                                     NULL};

static const struct field fields[] = {
    FIELD_ID,
    {"code", FT_SLUG, F_REQUIRED | F_FILTER | F_SORT, NULL, 60, NULL, NULL},
    FIELDS_NAMES,
    {"description", FT_TEXT, 0, NULL, 10000, NULL, NULL},
    FIELDS_TRANSLATIONS(description, 0, 10000),
    {"financial", FT_BOOL, F_FILTER | F_NOTNULL, NULL, 0, NULL, NULL},
    {"engagement_level", FT_ENUM, F_FILTER, levels, 0, NULL, NULL},
    FIELDS_COMMON,
};

static const struct referrer referrers[] = {
    {"partnerships", "SELECT p.id::text FROM partnerships p WHERE p.type_id = $1::uuid AND "
                     "p.deleted_at IS NULL ORDER BY p.id LIMIT 20"},
};

static const char *const search_fields[] = {
    "code",        "name",           "name_ar",        "name_en",        "name_fr",
    "description", "description_ar", "description_en", "description_fr", NULL};

const struct resource partnership_types_resource = {
    .name = "partnership-types",
    .table = "partnership_types",
    .singular = "partnership type",
    LIST_OF(fields, fields),
    .searchable = true,
    .display_field = "name",
    .search_fields = search_fields,
    .default_sort = "code",
    LIST_OF(referrers, referrers),
};
