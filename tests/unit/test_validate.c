/* test_validate.c - request bodies: every error at once, formats, merge patch. */
#include "check.h"
#include "sharaka/validate.h"

static bool
has_error(json_t *errors, const char *field, const char *code)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0 &&
            strcmp(json_string_value(json_object_get(e, "code")), code) == 0)
            return true;
    }
    return false;
}

static void
test_partnership_errors_all_at_once(void)
{
    json_t *body = json_loads(
        "{\"title\": \"\", \"type_id\": \"nope\", \"organizations\": [{\"organization_id\": "
        "\"5eed0002-0000-4000-8000-000000000001\", \"role\": \"boss\"}], \"start_date\": "
        "\"2020-02-01\", \"end_date\": \"2020-01-01\", \"amount\": \"1.234\", \"website\": \"x\", "
        "\"version\": 3, \"governorates\": [\"mars\"]}",
        0, NULL);
    json_t *errors = json_array();
    validate_keys(&partnerships_resource, body, true, errors);
    validate_values(&partnerships_resource, body, NULL, true, errors);
    CHECK(has_error(errors, "website", "unknown-field"));
    CHECK(has_error(errors, "version", "read-only"));
    CHECK(has_error(errors, "title", "length"));
    CHECK(has_error(errors, "type_id", "format"));
    CHECK(has_error(errors, "ministry_id", "required"));
    CHECK(has_error(errors, "organizations[0].role", "enum"));
    CHECK(has_error(errors, "end_date", "date-order"));
    CHECK(has_error(errors, "amount", "format"));
    CHECK(has_error(errors, "currency", "required"));
    CHECK(has_error(errors, "governorates[0]", "enum"));
    json_decref(errors);
    json_decref(body);
}

static void
test_formats(void)
{
    static const struct {
        const char *body;
        const char *field, *code;
    } bad[] = {
        {"{\"name\":\"x\",\"kind\":\"club\",\"website\":\"ftp://x.org\"}", "website", "format"},
        {"{\"name\":\"x\",\"kind\":\"club\",\"website\":\"javascript:alert(1)\"}", "website",
         "format"},
        {"{\"name\":\"x\",\"kind\":\"club\",\"website\":\"https://\"}", "website", "format"},
        {"{\"name\":\"x\",\"kind\":\"club\",\"email\":\"no-at-sign\"}", "email", "format"},
        {"{\"name\":\"x\",\"kind\":\"club\",\"founded_on\":\"2020-02-30\"}", "founded_on",
         "format"},
        {"{\"name\":\"x\",\"kind\":\"club\",\"sectors\":[\"a\",\"a\"]}", "sectors[1]", "duplicate"},
        {"{\"name\":\"x\",\"kind\":\"club\",\"external_ids\":{\"K\":5}}", "external_ids.K",
         "format"},
        {"{\"name\":1,\"kind\":\"club\"}", "name", "type"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *body = json_loads(bad[i].body, 0, NULL);
        json_t *errors = json_array();
        validate_keys(&organizations_resource, body, true, errors);
        validate_values(&organizations_resource, body, NULL, true, errors);
        CHECK(has_error(errors, bad[i].field, bad[i].code));
        if (!has_error(errors, bad[i].field, bad[i].code))
            fprintf(stderr, "  case %zu: %s\n", i, json_dumps(errors, 0));
        json_decref(errors);
        json_decref(body);
    }
    /* Currency codes and decimals. */
    json_t *ok = json_loads("{\"title\":\"t\",\"type_id\":\"5eed0003-0000-4000-8000-000000000001\","
                            "\"ministry_id\":\"5eed0001-0000-4000-8000-000000000001\","
                            "\"organizations\":[{\"organization_id\":"
                            "\"5eed0002-0000-4000-8000-000000000001\",\"role\":\"lead\"}],"
                            "\"amount\":\"1500.50\",\"currency\":\"LBP\"}",
                            0, NULL);
    json_t *errors = json_array();
    validate_keys(&partnerships_resource, ok, true, errors);
    validate_values(&partnerships_resource, ok, NULL, true, errors);
    CHECK(json_array_size(errors) == 0);
    json_object_set_new(ok, "currency", json_string("XYZ"));
    validate_values(&partnerships_resource, ok, NULL, true, errors);
    CHECK(has_error(errors, "currency", "format"));
    json_decref(errors);
    json_decref(ok);
}

static void
test_merge_patch(void)
{
    json_t *target = json_loads("{\"a\":1,\"m\":{\"x\":\"1\",\"y\":\"2\"},\"n\":\"k\"}", 0, NULL);
    json_t *patch = json_loads("{\"a\":null,\"m\":{\"x\":null,\"z\":\"3\"},\"b\":[1]}", 0, NULL);
    validate_merge_patch(target, patch);
    CHECK(json_is_null(json_object_get(target, "a"))); /* top level: set to null */
    CHECK(json_object_get(json_object_get(target, "m"), "x") == NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(target, "m"), "z")), "3");
    CHECK_STR(json_string_value(json_object_get(target, "n")), "k");
    CHECK(json_is_array(json_object_get(target, "b")));
    json_decref(target);
    json_decref(patch);
}

int
main(void)
{
    test_partnership_errors_all_at_once();
    test_formats();
    test_merge_patch();
    return check_done("validate");
}
