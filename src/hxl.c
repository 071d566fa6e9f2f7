/* hxl.c - the HXL hashtag row of a CSV export (?hxl=true): one tag per column, from the field. */
#include "sharaka/sql.h"

#include <string.h>

/* What a resource's records are in HXL: the tag its id, name and codes hang from. */
static const struct {
    const char *resource, *base;
} bases[] = {
    {"organizations", "#org"},
    {"ministries", "#org+gov"},
    {"partnership-types", "#activity+type"},
    {"partnerships", "#activity"},
    {"charters", "#meta+charter"},
    {"monitoring-records", "#indicator"},
};

/* A field's tag: base-relative ("+name", appended to the resource's base) or whole ("#date"). */
struct tag {
    const char *resource; /* NULL: any resource */
    const char *field;
    const char *tag;
};

static const struct tag tags[] = {
    /* the resource's own */
    {"organizations", "registration_number", "+code"},
    {"organizations", "founded_on", "#date+founded"},
    {"ministries", "parent_id", "+parent+id"},
    {"partnership-types", "code", "+code"},
    {"partnership-types", "financial", "#meta+financial"},
    {"partnership-types", "engagement_level", "#meta+engagement"},
    {"partnerships", "type_id", "#activity+type+id"},
    {"partnerships", "ministry_id", "#org+gov+id"},
    {"partnerships", "organizations", "#org+impl"},
    {"partnerships", "programme", "+programme"},
    {"partnerships", "instrument", "#meta+instrument"},
    {"partnerships", "instrument_reference", "#meta+instrument+code"},
    {"partnerships", "legal_basis", "#meta+legal"},
    {"charters", "version_label", "+version"},
    {"charters", "adopted_on", "#date+adopted"},
    {"charters", "sections", "#description+sections"},
    {"monitoring-records", "partnership_id", "#activity+id"},
    {"monitoring-records", "indicator", "+name"},
    {"monitoring-records", "unit", "+unit"},
    {"monitoring-records", "baseline", "+baseline+num"},
    {"monitoring-records", "target", "+target+num"},
    {"monitoring-records", "actual", "+actual+num"},
    {"monitoring-records", "rating", "+rating"},
    {"monitoring-records", "findings", "#description+findings"},
    {"monitoring-records", "recommendations", "#description+recommendations"},
    {"monitoring-records", "evidence_urls", "#meta+url"},
    {"monitoring-records", "verified_by", "#meta+verifier+id"},
    {"monitoring-records", "verified_at", "#date+verified"},
    /* the same on every resource */
    {NULL, "id", "+id"},
    {NULL, "name", "+name"},
    {NULL, "name_ar", "+name+i_ar"},
    {NULL, "name_en", "+name+i_en"},
    {NULL, "name_fr", "+name+i_fr"},
    {NULL, "title", "+name"},
    {NULL, "title_ar", "+name+i_ar"},
    {NULL, "acronym", "+acronym"},
    {NULL, "kind", "+type"},
    {NULL, "external_ids", "+code+external"},
    {NULL, "description", "#description"},
    {NULL, "summary", "#description"},
    {NULL, "status", "#status"},
    {NULL, "website", "#meta+url"},
    {NULL, "email", "#contact+email"},
    {NULL, "phone", "#contact+phone"},
    {NULL, "governorate", "#adm1+name"},
    {NULL, "governorates", "#adm1+name"},
    {NULL, "district", "#adm2+name"},
    {NULL, "sectors", "#sector"},
    {NULL, "start_date", "#date+start"},
    {NULL, "end_date", "#date+end"},
    {NULL, "period_start", "#date+start"},
    {NULL, "period_end", "#date+end"},
    {NULL, "amount", "#value"},
    {NULL, "currency", "#currency"},
    {NULL, "source", "#meta+source"},
    {NULL, "version", "#meta+version"},
    {NULL, "created_at", "#date+created"},
    {NULL, "updated_at", "#date+updated"},
};

/* Appends the tag of res's field to b; nothing (an untagged column) when there is none. */
static void
field_tag(struct buf *b, const struct resource *res, const char *field)
{
    const char *base = NULL;
    for (size_t i = 0; i < ARRAY_LEN(bases); i++)
        if (strcmp(bases[i].resource, res->name) == 0)
            base = bases[i].base;
    for (size_t i = 0; i < ARRAY_LEN(tags); i++) {
        const struct tag *t = &tags[i];
        if ((t->resource != NULL && strcmp(t->resource, res->name) != 0) ||
            strcmp(t->field, field) != 0)
            continue;
        if (t->tag[0] == '#')
            buf_puts(b, t->tag);
        else if (base != NULL)
            buf_printf(b, "%s%s", base, t->tag);
        return;
    }
}

void
sql_hxl_row(struct buf *b, const struct resource *res, bool internal, const struct list_query *q)
{
    for (int n = 0, i; (i = sql_csv_column(res, internal, q, n)) >= 0; n++) {
        if (n)
            buf_putc(b, ',');
        field_tag(b, res, res->fields[i].name);
    }
}
