/*
 * fuzz_cursor.c - the list cursor codec. The input is decoded as a cursor as it would come in
 * ?cursor=, against sort orders of one to four keys. It is also read as "SORT\nVALUE\n..." (one
 * to four keyset values; a line that is a JSON number, true, false or null stands for that
 * value, any other line for a string): those are encoded with a record id, and then
 *   - decoding with the same sort gives back the same values,
 *   - decoding with another sort, or after one character changed, is refused as invalid-cursor.
 */
#include <jansson.h>

#include "fuzz.h"
#include "sharaka/cursor.h"
#include "sharaka/query.h"
#include "sharaka/values.h"

#define RECORD_ID "5eed0002-0000-4000-8000-000000000001"

FUZZ_INITIALIZE_WITH_SETTINGS

static void
decode_as_given(struct arena *a, const char *cursor)
{
    static const struct {
        const char *sort;
        int nvalues;
    } sorts[] = {
        {"name", 2},
        {"-created_at", 2},
        {"name,-created_at", 3},
        {"kind,-name,founded_on,created_at", 5},
    };
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        const char *values[QUERY_MAX_SORT + 1];
        struct error err = {0};
        if (cursor_decode(a, cursor, sorts[i].sort, sorts[i].nvalues, values, &err)) {
            /* Only a cursor this server made decodes: its id is a UUID. */
            FUZZ_ASSERT(values[sorts[i].nvalues - 1] != NULL);
            FUZZ_ASSERT(value_is_uuid(values[sorts[i].nvalues - 1]));
        } else {
            FUZZ_ASSERT(err.status == 400);
            FUZZ_ASSERT(err.code != NULL && strcmp(err.code, "invalid-cursor") == 0);
        }
        error_clear(&err);
    }
}

/* The value a keyset entry decodes to: NULL for null, the text of a string, else its JSON. */
static char *
expected_text(json_t *v)
{
    if (json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    return json_dumps(v, JSON_ENCODE_ANY);
}

static void
round_trip(struct arena *a, char *text)
{
    char *lines[QUERY_MAX_SORT + 1];
    int n = 0;
    for (char *s = text; n < QUERY_MAX_SORT + 1;) {
        lines[n++] = s;
        char *nl = strchr(s, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        s = nl + 1;
    }
    int nkeys = n - 1;
    /* Sort orders are made by the server from field names: valid UTF-8 without NUL. */
    json_t *sort = json_string(lines[0]);
    if (nkeys < 1 || sort == NULL) {
        json_decref(sort);
        return;
    }
    json_decref(sort);

    json_t *keyset = json_array();
    for (int i = 1; i <= nkeys; i++) {
        json_t *v = json_loads(lines[i], JSON_DECODE_ANY, NULL);
        if (v != NULL && !(json_is_number(v) || json_is_boolean(v) || json_is_null(v))) {
            json_decref(v);
            v = NULL;
        }
        if (v == NULL)
            v = json_string(lines[i]);
        if (v == NULL) { /* not UTF-8: PostgreSQL never gives such a value */
            json_decref(keyset);
            return;
        }
        json_array_append_new(keyset, v);
    }
    json_array_append_new(keyset, json_string(RECORD_ID));
    char *keyset_json = json_dumps(keyset, 0);
    FUZZ_ASSERT(keyset_json != NULL);

    const char *sort_spec = lines[0];
    char *cursor = cursor_encode(a, sort_spec, keyset_json);
    FUZZ_ASSERT(cursor != NULL && cursor[0] != '\0');
    for (const char *c = cursor; *c; c++) /* it travels in a URL as it is */
        FUZZ_ASSERT((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                    (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.');

    const char *values[QUERY_MAX_SORT + 1];
    struct error err = {0};
    if (cursor_decode(a, cursor, sort_spec, nkeys + 1, values, &err)) {
        for (int i = 0; i < nkeys; i++) {
            char *want = expected_text(json_array_get(keyset, (size_t)i));
            FUZZ_ASSERT((want == NULL) == (values[i] == NULL));
            FUZZ_ASSERT(want == NULL || strcmp(want, values[i]) == 0);
            free(want);
        }
        FUZZ_ASSERT(strcmp(values[nkeys], RECORD_ID) == 0);
    } else {
        /* Only a cursor longer than the decoder takes may be refused. */
        FUZZ_ASSERT(strlen(cursor) > 2048);
    }
    error_clear(&err);

    /* Another sort order is refused, and the answer names the one the cursor was made for. */
    char *other = arena_printf(a, "%s,id", sort_spec);
    FUZZ_ASSERT(!cursor_decode(a, cursor, other, nkeys + 1, values, &err));
    FUZZ_ASSERT(err.status == 400 && strcmp(err.code, "invalid-cursor") == 0);
    FUZZ_ASSERT(memchr(err.detail, '\0', sizeof(err.detail)) != NULL);
    /* (Sort orders the server makes: field names, '-' and ','; error_set may clean other text.) */
    if (strlen(cursor) <= 2048 && strlen(sort_spec) < 200 &&
        strspn(sort_spec, "abcdefghijklmnopqrstuvwxyz_-,") == strlen(sort_spec))
        FUZZ_ASSERT(strstr(err.detail, sort_spec) != NULL);
    error_clear(&err);

    /* One character changed, anywhere: refused. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    size_t len = strlen(cursor), at = strlen(keyset_json) % len;
    char *tampered = arena_strdup(a, cursor);
    const char *pos = strchr(alphabet, tampered[at]);
    tampered[at] = alphabet[((size_t)(pos - alphabet) + 1 + len % 7) % (sizeof(alphabet) - 1)];
    FUZZ_ASSERT(!cursor_decode(a, tampered, sort_spec, nkeys + 1, values, &err));
    error_clear(&err);

    free(keyset_json);
    json_decref(keyset);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a = {0};
    char *text = fuzz_text(data, size);
    decode_as_given(&a, text);
    round_trip(&a, text);
    free(text);
    arena_free(&a);
    return 0;
}
