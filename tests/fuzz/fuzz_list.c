/*
 * fuzz_list.c - the list language against every resource descriptor. The input is a query
 * string, "name=ANND&sort=-name&limit=10": split at '&' and at each argument's first '=', then
 * %XX-decoded as the HTTP library does. It is checked for a list and for a single read, by an
 * anonymous and by an internal caller; an accepted list is built into its SQL statements. The
 * whole input is also read as an Accept-Language header.
 */
#include "fuzz.h"
#include "sharaka/query.h"
#include "sharaka/sql.h"

static const struct resource *const resources[] = {
    &organizations_resource,      &ministries_resource, &partnership_types_resource,
    &partnerships_resource,       &charters_resource,   &signatories_resource,
    &monitoring_records_resource, &users_resource,      &api_keys_resource,
    &audit_log_resource,
};

FUZZ_INITIALIZE_WITH_SETTINGS

/* Decodes %XX in place (a %00 ends the text there, as a C string). */
static char *
unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '%' && hex_digit(r[1]) >= 0 && hex_digit(r[2]) >= 0) {
            *w++ = (char)(hex_digit(r[1]) * 16 + hex_digit(r[2]));
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return s;
}

static void
check(struct arena *a, const struct resource *res, const struct query_arg *args, int nargs,
      bool internal, bool for_get)
{
    struct list_query q;
    struct error err = {0};
    memset(&q, 0, sizeof(q));
    if (!query_parse(a, res, args, nargs, internal, for_get, &q, &err)) {
        /* A refusal is a 400 that says what was wrong. */
        FUZZ_ASSERT(err.status == 400);
        FUZZ_ASSERT(err.code != NULL && err.code[0] != '\0');
        FUZZ_ASSERT(memchr(err.detail, '\0', sizeof(err.detail)) != NULL && err.detail[0]);
        error_clear(&err);
        return;
    }
    FUZZ_ASSERT(q.nfilters >= 0 && q.nfilters <= QUERY_MAX_FILTERS);
    FUZZ_ASSERT(q.nsort >= 0 && q.nsort <= QUERY_MAX_SORT);
    FUZZ_ASSERT(for_get || (q.limit >= 1 && q.limit <= QUERY_MAX_LIMIT));
    for (int i = 0; i < q.nfilters; i++)
        FUZZ_ASSERT(q.filters[i].field != NULL && q.filters[i].value != NULL);

    struct sql s = {0};
    if (for_get) {
        sql_build_get(&s, res, internal, &q);
    } else {
        sql_build_list(&s, a, res, internal, &q);
        FUZZ_ASSERT(s.nparams <= QUERY_MAX_PARAMS);
        sql_free(&s);
        memset(&s, 0, sizeof(s));
        sql_build_export(&s, a, res, internal, &q);
        struct buf header = {0};
        sql_csv_header(&header, res, internal, &q);
        buf_free(&header);
    }
    FUZZ_ASSERT(s.text.data != NULL && s.nparams <= QUERY_MAX_PARAMS);
    sql_free(&s);
    error_clear(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a = {0};
    struct query_arg args[QUERY_MAX_ARGS];
    int nargs = 0;
    char *text = fuzz_text(data, size);

    /* The same bytes as an Accept-Language header: one of the languages offered, or none. */
    const char *lang = query_accept_language(text);
    FUZZ_ASSERT(lang == NULL || query_lang(lang, strlen(lang)) == lang);

    for (char *s = text; s != NULL && nargs < QUERY_MAX_ARGS;) {
        char *amp = strchr(s, '&');
        if (amp != NULL)
            *amp = '\0';
        if (*s != '\0') {
            char *eq = strchr(s, '=');
            if (eq != NULL)
                *eq = '\0';
            args[nargs].key = unescape(s);
            args[nargs].value = eq != NULL ? unescape(eq + 1) : "";
            nargs++;
        }
        s = amp != NULL ? amp + 1 : NULL;
    }

    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
        for (int internal = 0; internal < 2; internal++) {
            check(&a, resources[i], args, nargs, internal, false);
            check(&a, resources[i], args, nargs, internal, true);
        }
    free(text);
    arena_free(&a);
    return 0;
}
