/* registry.c - every resource the API serves, and the value lists descriptors share. */
#include "sharaka/fields.h"

#include <string.h>

const char *const governorate_values[] = {
    "beirut",         "mount-lebanon", "north",    "akkar",          "beqaa",
    "baalbek-hermel", "south",         "nabatieh", "keserwan-jbeil", NULL,
};
const char *const body_status_values[] = {"active", "inactive", "dissolved", NULL};

const struct resource *const resources_all[] = {
    &organizations_resource,      &ministries_resource, &partnership_types_resource,
    &partnerships_resource,       &charters_resource,   &signatories_resource,
    &monitoring_records_resource,
};
const size_t resources_count = ARRAY_LEN(resources_all);

int
resource_index(const struct resource *res)
{
    for (size_t i = 0; i < resources_count; i++)
        if (resources_all[i] == res)
            return (int)i;
    return -1;
}

bool
resource_documents_kept(const struct resource *res)
{
    return resource_index(res) >= 0;
}

const struct field *
resource_field(const struct resource *res, const char *name)
{
    for (size_t i = 0; i < res->nfields; i++)
        if (strcmp(res->fields[i].name, name) == 0)
            return &res->fields[i];
    return NULL;
}
