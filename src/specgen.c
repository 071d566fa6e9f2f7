/* specgen.c - prints the resource descriptors as one JSON document, for the OpenAPI generator.
 *
 * Usage: specgen OUTPUT.json
 *
 * Run at build time (scripts/gen_spec.py merges its output with the prose under openapi/). Every
 * fact comes from the descriptors and the list language's rules in query.c; nothing is restated
 * here except how each field type is written in JSON Schema, in the table below. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "sharaka/descriptor.h"
#include "sharaka/query.h"

/* How a field type is written in JSON Schema: the schema of one non-null value as the server
 * returns it (enum values, lengths and nullability are added from the descriptor; the link
 * items' schemas from the descriptor's link). The fixed limits of tags, scheme maps and decimals
 * restate what validate.c and values.c check. */
static const struct {
    const char *name;
    const char *schema;
} field_types[] = {
    [FT_UUID] = {"uuid", "{\"type\": \"string\", \"format\": \"uuid\"}"},
    [FT_TEXT] = {"text", "{\"type\": \"string\"}"},
    [FT_ENUM] = {"enum", "{\"type\": \"string\"}"},
    [FT_DATE] = {"date", "{\"type\": \"string\", \"format\": \"date\"}"},
    [FT_TIMESTAMP] = {"timestamp", "{\"type\": \"string\", \"format\": \"date-time\"}"},
    [FT_BOOL] = {"bool", "{\"type\": \"boolean\"}"},
    [FT_NUMBER] = {"number", "{\"type\": \"number\"}"},
    [FT_DECIMAL] = {"decimal",
                    "{\"type\": \"string\", \"pattern\": \"^\\\\d{1,16}(\\\\.\\\\d{1,2})?$\"}"},
    [FT_URL] = {"url", "{\"type\": \"string\", \"format\": \"uri\", \"pattern\": "
                       "\"^https?://[^\\\\s/?#]+\\\\S*$\"}"},
    [FT_EMAIL] = {"email", "{\"type\": \"string\", \"format\": \"email\"}"},
    [FT_CURRENCY] = {"currency", "{\"type\": \"string\", \"pattern\": \"^[A-Z]{3}$\"}"},
    [FT_SLUG] = {"slug", "{\"type\": \"string\", \"pattern\": \"^[a-z0-9]+(-[a-z0-9]+)*$\"}"},
    [FT_TAGS] = {"tags",
                 "{\"type\": \"array\", \"items\": {\"type\": \"string\", \"minLength\": 1, "
                 "\"maxLength\": 100}, \"uniqueItems\": true}"},
    [FT_ENUMS] = {"enums", "{\"type\": \"array\", \"items\": {\"type\": \"string\"}, "
                           "\"uniqueItems\": true}"},
    [FT_URLS] = {"urls", "{\"type\": \"array\", \"items\": {\"type\": \"string\", \"format\": "
                         "\"uri\", \"pattern\": \"^https?://[^\\\\s/?#]+\\\\S*$\", \"maxLength\": "
                         "500}, \"uniqueItems\": true}"},
    [FT_STRMAP] = {"strmap", "{\"type\": \"object\", \"propertyNames\": {\"minLength\": 1, "
                             "\"maxLength\": 50, \"pattern\": \"^[^:]+$\"}, "
                             "\"additionalProperties\": {\"type\": \"string\", \"minLength\": 1, "
                             "\"maxLength\": 200}}"},
    [FT_SECTIONS] = {"sections", "{\"type\": \"array\", \"items\": {\"$ref\": "
                                 "\"#/components/schemas/CharterSection\"}}"},
    [FT_LINKS] = {"links",
                  "{\"type\": \"array\", \"minItems\": 1, \"items\": {\"type\": \"object\"}}"},
    [FT_JSON] = {"json", "{}"},
    [FT_PASSWORD] = {"password", "{\"type\": \"string\", \"minLength\": 8, \"maxLength\": 1024}"},
};
_Static_assert(ARRAY_LEN(field_types) == FT_PASSWORD + 1, "a field type without a schema");

/* Every resource the API serves, the administrators' ones included. */
static const struct resource *const resources[] = {
    &organizations_resource,      &ministries_resource, &partnership_types_resource,
    &partnerships_resource,       &charters_resource,   &signatories_resource,
    &monitoring_records_resource, &users_resource,      &api_keys_resource,
    &audit_log_resource,
};

static json_t *
string_list(const char *const *values)
{
    json_t *list = json_array();
    for (size_t i = 0; values != NULL && values[i] != NULL; i++)
        json_array_append_new(list, json_string(values[i]));
    return list;
}

static json_t *
field_json(const struct resource *res, const struct field *f)
{
    json_error_t jerr;
    json_t *schema = json_loads(field_types[f->type].schema, JSON_REJECT_DUPLICATES, &jerr);
    if (schema == NULL) {
        fprintf(stderr, "specgen: the schema of %s: %s\n", field_types[f->type].name, jerr.text);
        exit(1);
    }
    json_t *filter = json_null();
    if (query_field_filterable(f, true)) {
        json_t *ops = json_array();
        unsigned bits = query_filter_ops(f);
        for (int op = OP_EQ; op < OP_COUNT; op++)
            if (bits & (1u << op))
                json_array_append_new(ops, json_string(op == OP_EQ ? "eq" : query_op_name(op)));
        filter = json_pack("{s:s, s:o, s:b}", "name", query_filter_name(res, f), "ops", ops,
                           "public", query_field_filterable(f, false));
    }
    bool readonly = (f->flags & (F_READONLY | F_PARENT)) != 0;
    return json_pack("{s:s, s:s, s:o, s:o*, s:o*, s:s*, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, "
                     "s:b, s:o, s:b, s:b, s:b}",
                     "name", f->name, "type", field_types[f->type].name, "schema", schema, "enum",
                     f->values ? string_list(f->values) : NULL, "max",
                     f->max_len > 0 ? json_integer(f->max_len) : NULL, "ref", f->ref, "required",
                     (f->flags & F_REQUIRED) != 0, "readonly", readonly, "create_only",
                     (f->flags & F_CREATE_ONLY) != 0, "parent", (f->flags & F_PARENT) != 0,
                     "internal", (f->flags & F_INTERNAL) != 0, "visible",
                     query_field_visible(f, true), "nullable", query_field_nullable(f), "orderable",
                     query_field_orderable(f), "notnull", (f->flags & F_NOTNULL) != 0, "filter",
                     filter, "sort", (f->flags & F_SORT) != 0 && query_field_visible(f, true),
                     "sort_public", (f->flags & F_SORT) != 0 && query_field_visible(f, false),
                     "translated", query_field_translated(res, f));
}

static json_t *
resource_json(const struct resource *res)
{
    json_t *fields = json_array(), *includes = json_array(), *referrers = json_array();
    for (size_t i = 0; i < res->nfields; i++)
        json_array_append_new(fields, field_json(res, &res->fields[i]));
    for (size_t i = 0; i < res->nincludes; i++)
        json_array_append_new(includes,
                              json_pack("{s:s, s:s, s:s*}", "name", res->includes[i].name, "target",
                                        res->includes[i].target->name, "fk", res->includes[i].fk));
    for (size_t i = 0; i < res->nreferrers; i++)
        json_array_append_new(referrers, json_string(res->referrers[i].resource));
    json_t *link = NULL;
    if (res->link != NULL)
        link = json_pack("{s:s, s:s, s:s, s:o}", "key", res->link->key, "target",
                         res->link->target->name, "attribute", res->link->attribute,
                         "attribute_values", string_list(res->link->attribute_values));
    char parent_path[128] = "";
    if (res->parent != NULL)
        snprintf(parent_path, sizeof(parent_path), "/v1/%s/", res->parent->name);
    return json_pack("{s:s, s:s, s:b, s:s, s:s*, s:s*, s:b, s:b, s:b, s:o*, s:o, s:o, s:o}", "name",
                     res->name, "singular", res->singular, "searchable", res->searchable,
                     "default_sort", res->default_sort, "parent_path",
                     res->parent ? parent_path : NULL, "parent",
                     res->parent ? res->parent->name : NULL, "versioned", !res->unversioned,
                     "soft_delete", !res->no_soft_delete, "verifiable", res->verification != NULL,
                     "link", link, "fields", fields, "includes", includes, "referrers", referrers);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: specgen OUTPUT.json\n");
        return 2;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < ARRAY_LEN(resources); i++)
        json_array_append_new(list, resource_json(resources[i]));
    json_t *doc = json_pack("{s:{s:i, s:i, s:i, s:i, s:i}, s:o}", "limits", "default_limit",
                            QUERY_DEFAULT_LIMIT, "max_limit", QUERY_MAX_LIMIT, "max_sort",
                            QUERY_MAX_SORT, "max_filters", QUERY_MAX_FILTERS, "max_embedded",
                            QUERY_MAX_EMBEDDED, "resources", list);
    if (doc == NULL) {
        fprintf(stderr, "specgen: could not build the document\n");
        return 1;
    }
    int rc = json_dump_file(doc, argv[1], JSON_INDENT(1) | JSON_PRESERVE_ORDER) == 0 ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "specgen: cannot write %s\n", argv[1]);
    json_decref(doc);
    return rc;
}
