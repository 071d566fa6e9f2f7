/* monitoring_records.c - whether each partnership delivers: indicators, ratings, findings. */
#include "sharaka/fields.h"

static const char *const ratings[] = {"on-track", "at-risk", "off-track", "not-rated", NULL};
static const char *const statuses[] = {"draft", "submitted", "verified", NULL};

static const struct field fields[] = {
    FIELD_ID,
    {"partnership_id", FT_UUID, F_REQUIRED | F_FILTER, NULL, 0, "partnerships", NULL},
    {"period_start", FT_DATE, F_REQUIRED | F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    {"period_end", FT_DATE, F_REQUIRED | F_FILTER | F_SORT, NULL, 0, NULL, NULL},
    {"indicator", FT_TEXT, F_REQUIRED | F_FILTER | F_SORT, NULL, 500, NULL, NULL},
    {"unit", FT_TEXT, 0, NULL, 50, NULL, NULL},
    {"baseline", FT_NUMBER, 0, NULL, 0, NULL, NULL},
    {"target", FT_NUMBER, 0, NULL, 0, NULL, NULL},
    {"actual", FT_NUMBER, 0, NULL, 0, NULL, NULL},
    {"rating", FT_ENUM, F_FILTER | F_SORT | F_NOTNULL, ratings, 0, NULL, NULL},
    {"findings", FT_TEXT, 0, NULL, 10000, NULL, NULL},
    {"recommendations", FT_TEXT, 0, NULL, 10000, NULL, NULL},
    {"evidence_urls", FT_URLS, F_NOTNULL, NULL, 20, NULL, NULL},
    {"external_ids", FT_STRMAP, F_FILTER | F_NOTNULL, NULL, 20, NULL, NULL},
    {"status", FT_ENUM, F_FILTER | F_SORT | F_NOTNULL, statuses, 0, NULL, NULL},
    {"verified_by", FT_UUID, F_READONLY | F_INTERNAL, NULL, 0, NULL, NULL},
    {"verified_at", FT_TIMESTAMP, F_READONLY, NULL, 0, NULL, NULL},
    FIELDS_COMMON,
};

static const struct include includes[] = {
    {"partnership", &partnerships_resource, "partnership_id"},
};

static const struct field_pair date_order[] = {{"period_start", "period_end"}};

static const struct verification verification = {
    .field = "status",
    .value = "verified",
    .by = "verified_by",
    .at = "verified_at",
};

static const char *const search_fields[] = {"indicator", "findings", "recommendations", NULL};

const struct resource monitoring_records_resource = {
    .name = "monitoring-records",
    .table = "monitoring_records",
    .singular = "monitoring record",
    LIST_OF(fields, fields),
    .searchable = true,
    .display_field = "indicator",
    .search_fields = search_fields,
    .default_sort = "period_start",
    LIST_OF(includes, includes),
    LIST_OF(date_order, date_order),
    .verification = &verification,
};
