/* registry.c - every resource the API serves, and the value lists descriptors share. */
#include "sharaka/fields.h"

#include <string.h>

#include "sharaka/util.h"

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

const struct resource *
resource_by_name(const char *name, size_t len)
{
    for (size_t i = 0; i < resources_count; i++)
        if (strlen(resources_all[i]->name) == len && memcmp(resources_all[i]->name, name, len) == 0)
            return resources_all[i];
    return NULL;
}

void
resource_names(struct buf *b, const char *sep)
{
    for (size_t i = 0; i < resources_count; i++)
        buf_printf(b, "%s%s", i ? sep : "", resources_all[i]->name);
}

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
