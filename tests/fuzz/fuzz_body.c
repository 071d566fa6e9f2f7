/*
 * fuzz_body.c - request bodies against every writable resource descriptor. The input is a body:
 * parsed as the server parses one (duplicate names refused, at most 32 levels, an object), then
 * checked as a create (keys and values) and as an update (keys, then the values of the record
 * the body merge-patches). Every error must be a {field, code, message} of text that can be sent.
 */
#include <jansson.h>

#include "fuzz.h"
#include "sharaka/validate.h"

#define MAX_DEPTH 32

static const struct resource *const resources[] = {
    &organizations_resource,      &ministries_resource, &partnership_types_resource,
    &partnerships_resource,       &charters_resource,   &signatories_resource,
    &monitoring_records_resource, &api_keys_resource,
};

FUZZ_INITIALIZE_WITH_SETTINGS

static int
depth(const json_t *v)
{
    int max = 0;
    size_t i;
    const char *key;
    json_t *child;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, child)
        {
            int d = depth(child);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_is_array(v)) {
        json_array_foreach(v, i, child)
        {
            int d = depth(child);
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

/* The errors become the 422 answer: the first PROBLEM_MAX_ERRORS entries are complete, the rest
 * only counted (null), and the whole can be serialised. */
static void
check_errors(json_t *errors)
{
    size_t i;
    json_t *e;
    FUZZ_ASSERT(json_is_array(errors));
    json_array_foreach(errors, i, e)
    {
        if (i >= PROBLEM_MAX_ERRORS) {
            FUZZ_ASSERT(json_is_null(e));
            continue;
        }
        FUZZ_ASSERT(json_is_string(json_object_get(e, "field")));
        FUZZ_ASSERT(json_is_string(json_object_get(e, "code")));
        FUZZ_ASSERT(json_is_string(json_object_get(e, "message")));
    }
    char *text = json_dumps(errors, JSON_COMPACT);
    FUZZ_ASSERT(text != NULL);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (body == NULL || !json_is_object(body) || depth(body) > MAX_DEPTH) {
        json_decref(body);
        return 0;
    }
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        const struct resource *res = resources[i];

        json_t *errors = json_array();
        validate_keys(res, body, true, errors);
        validate_values(res, body, NULL, true, errors);
        check_errors(errors);
        json_decref(errors);

        errors = json_array();
        validate_keys(res, body, false, errors);
        json_t *record = json_object();
        validate_merge_patch(record, body);
        validate_values(res, record, body, false, errors);
        check_errors(errors);
        json_decref(errors);
        json_decref(record);
    }
    json_decref(body);
    return 0;
}
