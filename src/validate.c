/* validate.c - request bodies checked against a descriptor: every error of a body at once. */
#include "sharaka/validate.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

#include "sharaka/query.h"
#include "sharaka/values.h"

#define TAG_MAX             100
#define STRMAP_KEY_MAX      50
#define STRMAP_VALUE_MAX    200
#define SECTION_HEADING_MAX 300
#define SECTION_BODY_MAX    20000
#define NUMBER_MAX          1e15

/* ISO 4217 active currency codes. */
static const char *const currencies[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL", NULL,
};

void
validate_add(json_t *errors, const char *field, const char *code, const char *fmt, ...)
{
    char message[300];
    va_list ap;
    if (error_list_full(errors)) {
        error_list_append(errors, NULL);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    /* Field paths and messages may quote the client's text: keep them valid UTF-8. */
    struct buf f = {0}, m = {0};
    buf_utf8_shown(&f, field, strlen(field));
    buf_utf8_shown(&m, message, strlen(message));
    error_list_append(errors, json_pack("{s:s%, s:s, s:s%}", "field", f.data ? f.data : "", f.len,
                                        "code", code, "message", m.data ? m.data : "", m.len));
    buf_free(&f);
    buf_free(&m);
}

/* Checks the items of a link field: an array of 1 to max_len objects {key, attribute}, each key
 * a record id listed once, each attribute one of its values. */
static void
check_links(const struct link *l, const struct field *f, json_t *v, json_t *errors)
{
    size_t i;
    json_t *item;
    char path[80], allowed[100];

    if (!json_is_array(v)) {
        validate_add(errors, f->name, "type", "must be an array of {%s, %s} objects", l->key,
                     l->attribute);
        return;
    }
    if (json_array_size(v) < 1 || json_array_size(v) > (size_t)f->max_len) {
        validate_add(errors, f->name, "length", "must hold 1 to %d %s", f->max_len,
                     l->target->name);
        return;
    }
    value_list_text(allowed, sizeof(allowed), l->attribute_values);
    json_array_foreach(v, i, item)
    {
        snprintf(path, sizeof(path), "%s[%zu]", f->name, i);
        if (!json_is_object(item)) {
            validate_add(errors, path, "type", "must be an object {%s, %s}", l->key, l->attribute);
            continue;
        }
        const char *k;
        json_t *x;
        json_object_foreach(item, k, x)
        {
            if (strcmp(k, l->key) != 0 && strcmp(k, l->attribute) != 0) {
                char sub[160];
                snprintf(sub, sizeof(sub), "%s.%s", path, k);
                validate_add(errors, sub, "unknown-field", "unknown field; allowed: %s, %s", l->key,
                             l->attribute);
            }
        }
        json_t *id = json_object_get(item, l->key);
        json_t *attr = json_object_get(item, l->attribute);
        char sub[160];
        snprintf(sub, sizeof(sub), "%s.%s", path, l->key);
        if (!json_is_string(id) || !value_is_uuid(json_string_value(id)))
            validate_add(errors, sub, id ? "format" : "required", "must be %s %s id",
                         strchr("aeiou", l->target->singular[0]) ? "an" : "a", l->target->singular);
        else {
            for (size_t j = 0; j < i; j++) {
                json_t *prev = json_object_get(json_array_get(v, j), l->key);
                if (json_is_string(prev) &&
                    strcasecmp(json_string_value(prev), json_string_value(id)) == 0)
                    validate_add(errors, sub, "duplicate", "%s listed twice", l->target->singular);
            }
        }
        snprintf(sub, sizeof(sub), "%s.%s", path, l->attribute);
        if (!json_is_string(attr) || !value_in_list(l->attribute_values, json_string_value(attr)))
            validate_add(errors, sub, attr ? "enum" : "required", "must be one of: %s", allowed);
    }
}

/* A section's members: heading and body, and optionally their translations. */
static const char *const section_members[] = {"heading",    "body",    "heading_ar", "heading_en",
                                              "heading_fr", "body_ar", "body_en",    "body_fr"};

static bool
section_ok(json_t *item)
{
    if (!json_is_object(item) ||
        !value_text_ok(json_object_get(item, "heading"), SECTION_HEADING_MAX) ||
        !value_text_ok(json_object_get(item, "body"), SECTION_BODY_MAX))
        return false;
    const char *k;
    json_t *x;
    json_object_foreach(item, k, x)
    {
        size_t i = 0;
        while (i < ARRAY_LEN(section_members) && strcmp(k, section_members[i]) != 0)
            i++;
        if (i == ARRAY_LEN(section_members) ||
            !value_text_ok(x, k[0] == 'h' ? SECTION_HEADING_MAX : SECTION_BODY_MAX))
            return false;
    }
    return true;
}

static void
check_sections(const struct field *f, json_t *v, json_t *errors)
{
    size_t i;
    json_t *item;
    if (!json_is_array(v) || json_array_size(v) > (size_t)f->max_len) {
        validate_add(errors, f->name, "type", "must be an array of at most %d {heading, body}",
                     f->max_len);
        return;
    }
    json_array_foreach(v, i, item)
    {
        char path[80];
        snprintf(path, sizeof(path), "%s[%zu]", f->name, i);
        if (!section_ok(item))
            validate_add(errors, path, "format",
                         "must be {heading (1-%d characters), body (1-%d characters)}, and "
                         "optionally heading_ar, heading_en, heading_fr, body_ar, body_en, "
                         "body_fr of the same lengths",
                         SECTION_HEADING_MAX, SECTION_BODY_MAX);
    }
}

static void
check_strmap(const struct field *f, json_t *v, json_t *errors)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v) || json_object_size(v) > (size_t)f->max_len) {
        validate_add(errors, f->name, "type", "must be an object of at most %d scheme: id pairs",
                     f->max_len);
        return;
    }
    json_object_foreach(v, k, x)
    {
        size_t kl = strlen(k);
        if (kl == 0 || kl > STRMAP_KEY_MAX || strchr(k, ':') != NULL ||
            !value_text_ok(x, STRMAP_VALUE_MAX)) {
            char path[120];
            snprintf(path, sizeof(path), "%s.%.*s", f->name, (int)utf8_prefix(k, 60), k);
            validate_add(errors, path, "format",
                         "scheme must be 1-%d characters without ':', id a string of 1-%d",
                         STRMAP_KEY_MAX, STRMAP_VALUE_MAX);
        }
    }
}

static void
check_array(const struct field *f, json_t *v, json_t *errors)
{
    size_t i;
    json_t *item;
    char allowed[300];

    if (!json_is_array(v)) {
        validate_add(errors, f->name, "type", "must be an array");
        return;
    }
    if (json_array_size(v) > (size_t)f->max_len) {
        validate_add(errors, f->name, "length", "must hold at most %d items", f->max_len);
        return;
    }
    value_list_text(allowed, sizeof(allowed), f->values);
    json_array_foreach(v, i, item)
    {
        char path[80];
        snprintf(path, sizeof(path), "%s[%zu]", f->name, i);
        const char *s = json_is_string(item) ? json_string_value(item) : NULL;
        if (f->type == FT_TAGS && !value_text_ok(item, TAG_MAX))
            validate_add(errors, path, "type", "must be a string of 1 to %d characters", TAG_MAX);
        else if (f->type == FT_ENUMS && (s == NULL || !value_in_list(f->values, s)))
            validate_add(errors, path, "enum", "must be one of: %s", allowed);
        else if (f->type == FT_URLS && (s == NULL || !value_is_url(s, 500)))
            validate_add(errors, path, "format", "must be an http or https URL");
        else {
            for (size_t j = 0; j < i; j++)
                if (json_equal(json_array_get(v, j), item)) {
                    validate_add(errors, path, "duplicate", "listed twice");
                    break;
                }
        }
    }
}

/* Checks one non-null value against its field. One case per field type, a few lines each: the
 * table of checks reads best as one switch, so the function is long on purpose. */
static void
check_value(const struct resource *res, const struct field *f, json_t *v, json_t *errors)
{
    char allowed[300];
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;

    switch (f->type) {
    case FT_UUID:
        if (s == NULL || !value_is_uuid(s))
            validate_add(errors, f->name, "format", "must be a UUID");
        break;
    case FT_TEXT:
        if (!value_text_ok(v, (size_t)f->max_len))
            validate_add(errors, f->name, s ? "length" : "type",
                         "must be a string of 1 to %d characters", f->max_len);
        break;
    case FT_ENUM:
        value_list_text(allowed, sizeof(allowed), f->values);
        if (s == NULL || !value_in_list(f->values, s))
            validate_add(errors, f->name, "enum", "must be one of: %s", allowed);
        break;
    case FT_DATE:
        if (s == NULL || !value_is_date(s))
            validate_add(errors, f->name, "format", "must be a date, YYYY-MM-DD");
        break;
    case FT_TIMESTAMP:
        validate_add(errors, f->name, "read-only", "is set by the server");
        break;
    case FT_BOOL:
        if (!json_is_boolean(v))
            validate_add(errors, f->name, "type", "must be true or false");
        break;
    case FT_NUMBER:
        if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
            fabs(json_number_value(v)) > NUMBER_MAX)
            validate_add(errors, f->name, "type", "must be a number between -1e15 and 1e15");
        break;
    case FT_DECIMAL:
        if (s == NULL || !value_is_decimal(s))
            validate_add(errors, f->name, "format",
                         "must be a decimal string >= 0 with at most 2 decimals, e.g. \"1500.00\"");
        break;
    case FT_URL:
        if (s == NULL || !value_is_url(s, (size_t)f->max_len))
            validate_add(errors, f->name, "format",
                         "must be an http or https URL of at most %d characters", f->max_len);
        break;
    case FT_EMAIL:
        if (s == NULL || !value_is_email(s))
            validate_add(errors, f->name, "format", "must be an email address");
        break;
    case FT_CURRENCY:
        if (s == NULL || !value_in_list(currencies, s))
            validate_add(errors, f->name, "format", "must be an ISO 4217 currency code, e.g. LBP");
        break;
    case FT_SLUG:
        if (s == NULL || !value_is_slug(s, (size_t)f->max_len))
            validate_add(errors, f->name, "format",
                         "must be lowercase letters and digits joined by '-', at most %d",
                         f->max_len);
        break;
    case FT_TAGS:
    case FT_ENUMS:
    case FT_URLS:
        check_array(f, v, errors);
        break;
    case FT_STRMAP:
        check_strmap(f, v, errors);
        break;
    case FT_SECTIONS:
        check_sections(f, v, errors);
        break;
    case FT_LINKS:
        check_links(res->link, f, v, errors);
        break;
    case FT_JSON:
        validate_add(errors, f->name, "read-only", "is set by the server");
        break;
    case FT_PASSWORD:
        validate_password(v, f->name, errors);
        break;
    }
}

void
validate_password(json_t *v, const char *field, json_t *errors)
{
    if (!value_text_ok(v, VALIDATE_PASSWORD_MAX) ||
        value_utf8_len(json_string_value(v)) < VALIDATE_PASSWORD_MIN)
        validate_add(errors, field, "length", "must be a string of %d to %d characters",
                     VALIDATE_PASSWORD_MIN, VALIDATE_PASSWORD_MAX);
}

static bool
writable(const struct field *f, bool create)
{
    if (f->flags & (F_READONLY | F_PARENT))
        return false;
    return create || !(f->flags & F_CREATE_ONLY);
}

void
validate_keys(const struct resource *res, json_t *body, bool create, json_t *errors)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        const struct field *f = resource_field(res, k);
        if (f == NULL) {
            struct buf allowed = {0};
            for (size_t i = 0; i < res->nfields; i++)
                if (writable(&res->fields[i], create))
                    buf_printf(&allowed, "%s%s", allowed.len ? ", " : "", res->fields[i].name);
            validate_add(errors, k, "unknown-field", "unknown field; allowed: %s", allowed.data);
            buf_free(&allowed);
        } else if (!writable(f, create)) {
            validate_add(errors, k, "read-only",
                         (f->flags & (F_READONLY | F_PARENT)) ? "is set by the server"
                                                              : "cannot be changed after creation");
        }
    }
}

void
validate_values(const struct resource *res, json_t *record, json_t *changed, bool create,
                json_t *errors)
{
    for (size_t i = 0; i < res->nfields; i++) {
        const struct field *f = &res->fields[i];
        if (!writable(f, create))
            continue;
        json_t *v = json_object_get(record, f->name);
        bool touched = create || json_object_get(changed, f->name) != NULL;
        if (v == NULL || json_is_null(v)) {
            if ((f->flags & F_REQUIRED) && touched)
                validate_add(errors, f->name, "required", "is required");
            else if ((f->flags & F_NOTNULL) && json_is_null(v) && touched)
                validate_add(errors, f->name, "required", "cannot be null");
            continue;
        }
        if (touched)
            check_value(res, f, v, errors);
    }
    for (size_t i = 0; i < res->ndate_order; i++) {
        json_t *a = json_object_get(record, res->date_order[i].first);
        json_t *b = json_object_get(record, res->date_order[i].second);
        if (json_is_string(a) && json_is_string(b) && value_is_date(json_string_value(a)) &&
            value_is_date(json_string_value(b)) &&
            strcmp(json_string_value(b), json_string_value(a)) < 0)
            validate_add(errors, res->date_order[i].second, "date-order",
                         "must not be before %s (%s)", res->date_order[i].first,
                         json_string_value(a));
    }
    for (size_t i = 0; i < res->ntogether; i++) {
        json_t *a = json_object_get(record, res->together[i].first);
        json_t *b = json_object_get(record, res->together[i].second);
        bool has_a = a != NULL && !json_is_null(a), has_b = b != NULL && !json_is_null(b);
        if (has_a != has_b)
            validate_add(errors, has_a ? res->together[i].second : res->together[i].first,
                         "required", "%s and %s go together: give both or neither",
                         res->together[i].first, res->together[i].second);
    }
}

static void
merge(json_t *target, json_t *patch, bool top)
{
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v)
    {
        json_t *cur = json_object_get(target, k);
        if (json_is_null(v) && !top) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            json_t *base = json_is_object(cur) ? json_deep_copy(cur) : json_object();
            merge(base, v, false);
            json_object_set_new(target, k, base);
        } else {
            json_object_set(target, k, v);
        }
    }
}

/* RFC 7386: objects merge recursively, null removes a member, anything else replaces. At the top
 * level a null is kept, meaning "set this field to null". */
void
validate_merge_patch(json_t *target, json_t *patch)
{
    merge(target, patch, true);
}
