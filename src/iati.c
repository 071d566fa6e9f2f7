/* iati.c - partnerships as an IATI Activity Standard 2.03 document (iatistandard.org).
 *
 * PostgreSQL builds each iati-activity with its XML functions, which escape the text and leave
 * out NULL children, so the server only streams rows between a head and a tail. The children come
 * in the order the schema's sequence gives them (iati-activities-schema.xsd); every value is a
 * column or a $n parameter, every name static text. The codes used are IATI's code lists:
 * OrganisationRole, OrganisationType, ActivityStatus, ActivityDateType, ResultType and
 * IndicatorMeasure. */
#include "sharaka/iati.h"

#include <string.h>
#include <time.h>

#include "sharaka/config.h"

/* Arabic letters: a text holding any is Arabic, otherwise the activity's default, English. */
#define ARABIC "'[ء-ي]'"

/*
 * Appends the narratives of a name given as SQL expressions (each a column or NULL): English
 * (name_en, or the name itself when it is not Arabic) without xml:lang, the activity's default;
 * Arabic (name_ar, or the name when it is Arabic); French. One narrative per language, as IATI
 * asks, and none for a language the record has no text in.
 */
static void
narratives(struct buf *b, const char *name, const char *ar, const char *en, const char *fr)
{
    buf_printf(b,
               "CASE WHEN coalesce(%s, CASE WHEN %s !~ " ARABIC " THEN %s END) IS NOT NULL "
               "THEN xmlelement(name narrative, coalesce(%s, %s)) END, ",
               en, name, name, en, name);
    buf_printf(b,
               "CASE WHEN coalesce(%s, CASE WHEN %s ~ " ARABIC " THEN %s END) IS NOT NULL "
               "THEN xmlelement(name narrative, xmlattributes('ar' AS \"xml:lang\"), "
               "coalesce(%s, %s)) END, ",
               ar, name, name, ar, name);
    buf_printf(b,
               "CASE WHEN %s IS NOT NULL THEN xmlelement(name narrative, "
               "xmlattributes('fr' AS \"xml:lang\"), %s) END",
               fr, fr);
}

/* The ministry (accountable, government or local government) and each organization. */
static void
participating_orgs(struct buf *b)
{
    buf_puts(b, "(SELECT xmlelement(name \"participating-org\", xmlattributes('2' AS role, "
                "CASE WHEN m.kind IN ('municipality', 'union-of-municipalities') THEN '11' "
                "ELSE '10' END AS type), ");
    narratives(b, "m.name", "m.name_ar", "m.name_en", "m.name_fr");
    buf_puts(b, ") FROM ministries m WHERE m.id = a.ministry_id), ");

    buf_puts(b, "(SELECT xmlagg(xmlelement(name \"participating-org\", xmlattributes("
                "CASE po.role WHEN 'funder' THEN '1' WHEN 'lead' THEN '2' ELSE '4' END AS role, "
                /* an identifier of an IATI registration agency (LB-MOI, GB-CHC...) */
                "(SELECT x.key || '-' || x.value FROM jsonb_each_text(o.external_ids) x "
                "WHERE x.key ~ '^[A-Z]{2}-[A-Z0-9]{2,}$' AND x.value ~ '^[A-Za-z0-9._:-]+$' "
                "ORDER BY x.key LIMIT 1) AS ref, "
                "CASE o.kind WHEN 'foundation' THEN '60' WHEN 'academic' THEN '80' "
                "WHEN 'research-center' THEN '80' WHEN 'international' THEN '21' "
                "WHEN 'private-sector' THEN '70' WHEN 'other' THEN '90' ELSE '22' END AS type), ");
    narratives(b, "o.name", "o.name_ar", "o.name_en", "o.name_fr");
    buf_puts(b, ") ORDER BY po.position, po.organization_id) FROM partnership_organizations po "
                "JOIN organizations o ON o.id = po.organization_id "
                "WHERE po.partnership_id = a.id), ");
}

/* Status and dates: an actual date only for what has happened by today. */
static void
status_and_dates(struct buf *b)
{
    buf_puts(b, "xmlelement(name \"activity-status\", xmlattributes(CASE a.status "
                "WHEN 'planned' THEN '1' WHEN 'active' THEN '2' WHEN 'completed' THEN '3' "
                "WHEN 'terminated' THEN '5' WHEN 'suspended' THEN '6' END AS code)), "
                "CASE WHEN a.start_date IS NOT NULL THEN xmlelement(name \"activity-date\", "
                "xmlattributes(CASE WHEN a.status = 'planned' OR a.start_date > current_date "
                "THEN '1' ELSE '2' END AS type, a.start_date AS \"iso-date\")) END, "
                "CASE WHEN a.end_date IS NOT NULL THEN xmlelement(name \"activity-date\", "
                "xmlattributes(CASE WHEN a.status IN ('completed', 'terminated') "
                "AND a.end_date <= current_date THEN '4' ELSE '3' END AS type, "
                "a.end_date AS \"iso-date\")) END, "
                /* the schema wants a date: without any, the day the partnership was recorded */
                "CASE WHEN a.start_date IS NULL AND a.end_date IS NULL THEN "
                "xmlelement(name \"activity-date\", xmlattributes('1' AS type, "
                "(a.created_at AT TIME ZONE 'UTC')::date AS \"iso-date\")) END, ");
}

/* Lebanon, and each governorate as a location named in English and Arabic. */
static void
places(struct buf *b)
{
    buf_puts(b, "xmlelement(name \"recipient-country\", xmlattributes('LB' AS code, "
                "'100' AS percentage)), "
                "(SELECT xmlagg(xmlelement(name location, xmlattributes(u.g AS ref), "
                "xmlelement(name name, xmlelement(name narrative, gn.en), "
                "xmlelement(name narrative, xmlattributes('ar' AS \"xml:lang\"), gn.ar))) "
                "ORDER BY u.n) FROM unnest(a.governorates::text[]) WITH ORDINALITY u(g, n) "
                "JOIN (VALUES ('beirut', 'Beirut', 'بيروت'), "
                "('mount-lebanon', 'Mount Lebanon', 'جبل لبنان'), ('north', 'North', 'الشمال'), "
                "('akkar', 'Akkar', 'عكار'), ('beqaa', 'Beqaa', 'البقاع'), "
                "('baalbek-hermel', 'Baalbek-Hermel', 'بعلبك الهرمل'), "
                "('south', 'South', 'الجنوب'), ('nabatieh', 'Nabatieh', 'النبطية'), "
                "('keserwan-jbeil', 'Keserwan-Jbeil', 'كسروان جبيل')) gn(code, en, ar) "
                "ON gn.code = u.g), ");
}

/* The partnership type in the publisher's own vocabulary (99), and the budget when the amount
 * and both dates are known: one original (1), committed (2) budget over the whole period. */
static void
tag_and_budget(struct buf *b)
{
    buf_puts(b, "(SELECT xmlelement(name tag, xmlattributes(t.code AS code, "
                "'99' AS vocabulary), ");
    narratives(b, "t.name", "t.name_ar", "t.name_en", "t.name_fr");
    buf_puts(b, ") FROM partnership_types t WHERE t.id = a.type_id), "
                "CASE WHEN a.amount IS NOT NULL AND a.start_date IS NOT NULL "
                "AND a.end_date IS NOT NULL THEN xmlelement(name budget, "
                "xmlattributes('1' AS type, '2' AS status), "
                "xmlelement(name \"period-start\", xmlattributes(a.start_date AS \"iso-date\")), "
                "xmlelement(name \"period-end\", xmlattributes(a.end_date AS \"iso-date\")), "
                "xmlelement(name value, xmlattributes(a.currency AS currency, "
                "a.start_date AS \"value-date\"), a.amount)) END");
}

/* Each monitoring record: an output result (1) with one indicator, measured in units (1) or
 * as a percentage (2), its baseline at the period's start and its target and actual. */
static void
results_of(struct buf *b)
{
    buf_puts(b, ", (SELECT xmlagg(xmlelement(name result, xmlattributes('1' AS type), "
                "xmlelement(name title, xmlelement(name narrative, r.indicator)), "
                "xmlelement(name indicator, xmlattributes(CASE WHEN lower(r.unit) IN ('%', "
                "'percent', 'percentage') THEN '2' ELSE '1' END AS measure), "
                "xmlelement(name title, xmlelement(name narrative, r.indicator)), "
                "CASE WHEN r.baseline IS NOT NULL THEN xmlelement(name baseline, xmlattributes("
                "extract(year FROM r.period_start)::int AS year, r.period_start AS \"iso-date\", "
                "r.baseline AS value)) END, "
                "xmlelement(name period, "
                "xmlelement(name \"period-start\", xmlattributes(r.period_start AS \"iso-date\")), "
                "xmlelement(name \"period-end\", xmlattributes(r.period_end AS \"iso-date\")), "
                "CASE WHEN r.target IS NOT NULL THEN xmlelement(name target, "
                "xmlattributes(r.target AS value)) END, "
                "CASE WHEN r.actual IS NOT NULL THEN xmlelement(name actual, "
                "xmlattributes(r.actual AS value)) END))) ORDER BY r.period_start, r.id) "
                "FROM monitoring_records r WHERE r.partnership_id = a.id "
                "AND r.deleted_at IS NULL)");
}

void
iati_build_export(struct sql *s, struct arena *a, const struct list_query *q, bool results)
{
    struct buf *b = &s->text;
    buf_puts(b, "SELECT xmlelement(name \"iati-activity\", xmlattributes('en' AS \"xml:lang\", "
                "a.updated_at AS \"last-updated-datetime\"), "
                "xmlelement(name \"iati-identifier\", ");
    sql_param(s, cfg.iati_publisher_ref);
    buf_puts(b, "::text || '-' || a.id::text), xmlelement(name \"reporting-org\", xmlattributes(");
    sql_param(s, cfg.iati_publisher_ref);
    buf_puts(b, "::text AS ref, ");
    sql_param(s, cfg.iati_publisher_type);
    buf_puts(b, "::text AS type), xmlelement(name narrative, ");
    sql_param(s, cfg.iati_publisher_name);
    buf_puts(b, "::text)), xmlelement(name title, ");
    narratives(b, "a.title", "a.title_ar", "a.title_en", "a.title_fr");
    /* the schema wants a description: without one, the title stands in */
    buf_puts(b, "), xmlelement(name description, xmlattributes('1' AS type), ");
    narratives(b, "coalesce(a.description, a.title)", "a.description_ar", "a.description_en",
               "a.description_fr");
    buf_puts(b, "), ");
    participating_orgs(b);
    status_and_dates(b);
    places(b);
    tag_and_budget(b);
    if (results)
        results_of(b);
    buf_puts(b, ")::text FROM partnerships a");
    sql_build_where(s, a, &partnerships_resource, q);
    buf_puts(b, " ORDER BY ");
    for (int i = 0; i < q->nsort; i++) {
        sql_sort_key(s, q, i);
        buf_printf(b, "%s NULLS LAST, ", q->sort[i].desc ? " DESC" : "");
    }
    buf_puts(b, "a.id");
}

void
iati_document_head(struct buf *b)
{
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_printf(b,
               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<iati-activities version=\"2.03\" generated-datetime=\"%s\">\n",
               now);
}
