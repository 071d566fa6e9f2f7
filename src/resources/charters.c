/* charters.c - the citizen and partnership charters, and the parties who signed them. */
#include "sharaka/fields.h"

static const char *const kinds[] = {"citizen", "partnership", "other", NULL};
static const char *const statuses[] = {"draft", "adopted", "revised", "retired", NULL};
static const char *const party_types[] = {"organization", "ministry", NULL};

static const struct field charter_fields[] = {
    FIELD_ID,
    {"kind", FT_ENUM, F_REQUIRED | F_FILTER | F_SORT, kinds, 0, NULL, NULL},
    {"title", FT_TEXT, F_REQUIRED | F_FILTER | F_SORT, NULL, 500, NULL, NULL},
    FIELDS_TRANSLATIONS(title, F_FILTER, 500),
    {"version_label", FT_TEXT, 0, NULL, 50, NULL, NULL},
    {"adopted_on", FT_DATE, F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    {"status", FT_ENUM, F_FILTER | F_SORT | F_NOTNULL, statuses, 0, NULL, NULL},
    {"summary", FT_TEXT, 0, NULL, 10000, NULL, NULL},
    FIELDS_TRANSLATIONS(summary, 0, 10000),
    {"sections", FT_SECTIONS, F_NOTNULL, NULL, 200, NULL, NULL},
    {"document_url", FT_URL, 0, NULL, 500, NULL, NULL},
    FIELDS_COMMON,
};

static const struct referrer charter_referrers[] = {
    {"signatories", "SELECT s.id::text FROM charter_signatories s WHERE s.charter_id = $1::uuid "
                    "AND s.deleted_at IS NULL AND s.withdrawn_on IS NULL ORDER BY s.id LIMIT 20"},
};

static const char *const search_fields[] = {"title",    "title_ar",   "title_en",   "title_fr",
                                            "summary",  "summary_ar", "summary_en", "summary_fr",
                                            "sections", NULL};

const struct resource charters_resource = {
    .name = "charters",
    .table = "charters",
    .singular = "charter",
    LIST_OF(fields, charter_fields),
    .searchable = true,
    .display_field = "title",
    .search_fields = search_fields,
    .default_sort = "created_at",
    LIST_OF(referrers, charter_referrers),
};

static const struct field signatory_fields[] = {
    FIELD_ID,
    {"charter_id", FT_UUID, F_PARENT | F_READONLY | F_NOTNULL, NULL, 0, "charters", NULL},
    {"party_type", FT_ENUM, F_REQUIRED | F_CREATE_ONLY | F_FILTER, party_types, 0, NULL, NULL},
    {"party_id", FT_UUID, F_REQUIRED | F_CREATE_ONLY | F_FILTER, NULL, 0, "@party_type", NULL},
    {"signed_on", FT_DATE, F_REQUIRED | F_CREATE_ONLY | F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    {"signed_by", FT_TEXT, 0, NULL, 200, NULL, NULL},
    {"withdrawn_on", FT_DATE, F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    FIELDS_COMMON,
};

static const struct include signatory_includes[] = {
    {"charter", &charters_resource, "charter_id"},
};

static const struct field_pair signatory_dates[] = {{"signed_on", "withdrawn_on"}};

static const struct ref_choice parties[] = {
    {"party_id", "party_type", "organization", &organizations_resource},
    {"party_id", "party_type", "ministry", &ministries_resource},
};

static const struct constraint_message signatory_messages[] = {
    {"charter_signatories_active_key", "party_id",
     "this party already has an active signature on this charter; withdraw it first"},
};

const struct resource signatories_resource = {
    .name = "signatories",
    .table = "charter_signatories",
    .singular = "signatory",
    LIST_OF(fields, signatory_fields),
    .default_sort = "signed_on",
    LIST_OF(includes, signatory_includes),
    LIST_OF(date_order, signatory_dates),
    .parent = &charters_resource,
    LIST_OF(ref_choices, parties),
    LIST_OF(messages, signatory_messages),
};
