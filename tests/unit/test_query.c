/* test_query.c - the list language: accepted and refused parameters, SQL shape, cursor codec. */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/cursor.h"
#include "sharaka/handlers.h"
#include "sharaka/query.h"
#include "sharaka/sql.h"
#include "sharaka/values.h"

static struct list_query q;
static struct error err;
static struct arena scratch; /* outlives q, as a request's arena does */

static bool
parse(const struct resource *res, bool internal, int n, const struct query_arg *args)
{
    error_clear(&err);
    return query_parse(&scratch, res, args, n, internal, false, &q, &err);
}

static void
test_accepts(void)
{
    struct query_arg args[] = {
        {"name", "ANND"},
        {"kind", "network,union"},
        {"founded_on.gte", "2000-01-01"},
        {"founded_on.null", "false"},
        {"sort", "-name,founded_on"},
        {"limit", "37"},
        {"fields", "name,kind"},
        {"count", "true"},
        {"q", "شبكة"},
        {"format", "csv"},
    };
    CHECK(parse(&organizations_resource, false, 10, args));
    CHECK(q.nfilters == 4);
    CHECK(q.nsort == 2 && q.sort[0].desc && !q.sort[1].desc);
    CHECK_STR(q.sort_spec, "-name,founded_on");
    CHECK(q.limit == 37);
    CHECK(q.count);
    CHECK(q.format == FORMAT_CSV);
    CHECK(q.selected[0]); /* id always */
}

static void
test_refuses(void)
{
    static const struct {
        const char *key, *value, *code;
    } cases[] = {
        {"bogus", "1", "unknown-parameter"},
        {"name.gt", "a", "unknown-operator"},
        {"founded_on.foo", "1", "unknown-operator"},
        {"founded_on", "31/12/2020", "invalid-parameter"},
        {"founded_on", "2021-02-29", "invalid-parameter"},
        {"kind", "spaceship", "invalid-parameter"},
        {"sort", "email", "unknown-sort-key"},
        {"sort", "colour", "unknown-sort-key"},
        {"limit", "201", "invalid-limit"},
        {"limit", "0", "invalid-limit"},
        {"limit", "ten", "invalid-limit"},
        {"fields", "name,password", "unknown-field"},
        {"email", "a@b.c", "unknown-parameter"}, /* internal: not for anonymous callers */
        {"include", "ministry", "unknown-include"},
        {"format", "xml", "invalid-parameter"},
        {"cursor", "garbage", "invalid-cursor"},
        {"count", "yes", "invalid-parameter"},
        {"id", "not-a-uuid", "invalid-parameter"},
        {"status.null", "true", "unknown-operator"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct query_arg args[] = {{cases[i].key, cases[i].value}};
        bool ok = parse(&organizations_resource, false, 1, args);
        CHECK(!ok);
        CHECK(err.status == 400);
        if (ok || err.code == NULL || strcmp(err.code, cases[i].code) != 0)
            fprintf(stderr, "  case %s=%s: got %s (%s)\n", cases[i].key, cases[i].value,
                    err.code ? err.code : "ok", err.detail);
    }
    /* The same parameter twice is refused. */
    struct query_arg twice[] = {{"kind", "club"}, {"kind", "union"}};
    CHECK(!parse(&organizations_resource, false, 2, twice));
}

static void
test_sql_has_only_parameters(void)
{
    struct arena a = {0};
    struct query_arg args[] = {{"name", "x'); DROP TABLE organizations; --"}, {"q", "' OR 1=1 --"}};
    CHECK(query_parse(&a, &organizations_resource, args, 2, false, false, &q, &err));
    struct sql s = {0};
    sql_build_list(&s, &a, &organizations_resource, false, &q);
    CHECK(strstr(s.text.data, "DROP TABLE") == NULL);
    CHECK(strstr(s.text.data, "OR 1=1") == NULL);
    CHECK(strstr(s.text.data, "email") == NULL); /* anonymous: internal fields never selected */
    /* the two values, and q again where the rank sorts (a search's default): ORDER BY, the
     * keyset column; the limit is written in */
    CHECK(s.nparams == 4);
    for (int i = 0; i < s.nparams; i++)
        CHECK(strstr(s.params[i], args[0].value) != NULL ||
              strcmp(s.params[i], args[1].value) == 0);
    sql_free(&s);
    arena_free(&a);
}

/* The statement of bench/NAME.sql: its comment lines dropped, the final ";" and newline cut. */
static char *
bench_statement(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/bench/%s.sql", SOURCE_ROOT, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (f == NULL)
        return xstrdup("");
    struct buf b = {0};
    char line[16384];
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "--", 2) != 0)
            buf_puts(&b, line);
    fclose(f);
    while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ';'))
        b.data[--b.len] = '\0';
    return buf_take(&b);
}

/* Replaces every from in text by to (new memory). */
static char *
replaced(const char *text, const char *from, const char *to)
{
    struct buf b = {0};
    size_t n = strlen(from);
    for (const char *p = text; *p;) {
        const char *hit = strstr(p, from);
        if (hit == NULL) {
            buf_puts(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(hit - p));
        buf_puts(&b, to);
        p = hit + n;
    }
    return b.data ? buf_take(&b) : xstrdup("");
}

/* bench/get.sql and bench/list.sql are the server's statements word for word, with the changes
 * their headers name: the parameters written in, and to_char's colons quoted for pgbench. */
static void
test_bench_statements_are_the_servers(void)
{
    struct arena a = {0};
    struct sql s = {0};
    struct query_arg list_args[] = {{"limit", "50"}};

    CHECK(query_parse(&a, &organizations_resource, NULL, 0, false, true, &q, &err));
    sql_build_get(&s, &organizations_resource, false, &q);
    char *server = replaced(s.text.data, "HH24:MI:SS", "HH24\":\"MI\":\"SS");
    char *want = replaced(server, "$1", ":id");
    char *bench = bench_statement("get");
    CHECK_STR(bench, want);
    free(server), free(want), free(bench);
    sql_free(&s);

    s = (struct sql){0};
    CHECK(query_parse(&a, &organizations_resource, list_args, 1, false, false, &q, &err));
    sql_build_list(&s, &a, &organizations_resource, false, &q);
    CHECK(s.nparams == 0);
    want = replaced(s.text.data, "HH24:MI:SS", "HH24\":\"MI\":\"SS");
    bench = bench_statement("list");
    CHECK_STR(bench, want);
    free(want), free(bench);
    sql_free(&s);

    /* The typeahead: a page of 20 best matches of q, its three uses of q written :q. */
    struct query_arg typeahead_args[] = {{"q", "Organization 12"}, {"limit", "20"}};
    s = (struct sql){0};
    CHECK(query_parse(&a, &organizations_resource, typeahead_args, 2, false, false, &q, &err));
    sql_build_list(&s, &a, &organizations_resource, false, &q);
    CHECK(s.nparams == 3);
    server = replaced(s.text.data, "HH24:MI:SS", "HH24\":\"MI\":\"SS");
    for (int i = 1; i <= s.nparams; i++) {
        char from[16];
        snprintf(from, sizeof(from), "$%d", i);
        char *next = replaced(server, from, ":q");
        free(server);
        server = next;
    }
    bench = bench_statement("typeahead");
    CHECK_STR(bench, server);
    free(server), free(bench);
    sql_free(&s);

    /* The statistics of partnerships by status and start year, amounts summed per currency. */
    struct query_arg stats_args[] = {{"group_by", "status,start_date:year"}, {"sum", "amount"}};
    s = (struct sql){0};
    CHECK(stats_statement(&a, &partnerships_resource, stats_args, 2, true, &s, &err));
    CHECK(s.nparams == 0);
    bench = bench_statement("stats");
    CHECK_STR(bench, s.text.data);
    free(bench);
    sql_free(&s);
    arena_free(&a);
}

static void
test_cursor_codec(void)
{
    struct arena a = {0};
    const char *values[4];
    cursor_init("0123456789abcdef0123456789abcdef");
    char *c = cursor_encode(&a, "name,-created_at",
                            "[\"ANND\", \"2026-01-01T00:00:00+00:00\", "
                            "\"5eed0002-0000-4000-8000-000000000001\"]");
    CHECK(cursor_decode(&a, c, "name,-created_at", 3, values, &err));
    CHECK_STR(values[0], "ANND");
    CHECK_STR(values[2], "5eed0002-0000-4000-8000-000000000001");
    /* Another sort order, a flipped character, a truncated cursor: all refused. */
    CHECK(!cursor_decode(&a, c, "name", 1, values, &err));
    /* The refusal names the sort the cursor was made for. */
    CHECK(!cursor_decode(&a, c, "name,created_at", 3, values, &err));
    CHECK(strstr(err.detail, "issued for sort=name,-created_at;") != NULL);
    char *flipped = arena_strdup(&a, c);
    flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
    CHECK(!cursor_decode(&a, flipped, "name,-created_at", 3, values, &err));
    char *cut = arena_strndup(&a, c, strlen(c) - 2);
    CHECK(!cursor_decode(&a, cut, "name,-created_at", 3, values, &err));
    error_clear(&err);
    arena_free(&a);
}

static void
test_value_checks(void)
{
    CHECK(value_is_uuid("5eed0002-0000-4000-8000-000000000001"));
    CHECK(!value_is_uuid("5eed0002-0000-4000-8000-00000000000"));
    CHECK(!value_is_uuid("5eed0002x0000-4000-8000-000000000001"));
    CHECK(value_is_date("2024-02-29"));
    CHECK(!value_is_date("2023-02-29"));
    CHECK(!value_is_date("2023-13-01"));
    CHECK(!value_is_date("2023-1-01"));
}

/* Accept-Language: the highest weight among ar, en, fr; the first on a tie; q=0 refuses. */
static void
test_accept_language(void)
{
    CHECK(query_accept_language(NULL) == NULL);
    CHECK(query_accept_language("") == NULL);
    CHECK_STR(query_accept_language("ar"), "ar");
    CHECK_STR(query_accept_language("AR-lb"), "ar");
    CHECK_STR(query_accept_language("de, fr;q=0.3, en;q=0.2"), "fr");
    CHECK_STR(query_accept_language("en;q=0.5,ar;q=0.51"), "ar");
    CHECK_STR(query_accept_language("fr , en"), "fr");
    CHECK_STR(query_accept_language("fr;q=1.0, ar;q=1"), "fr");
    CHECK_STR(query_accept_language("fr; q=0.9 , en ;q=0.95"), "en");
    CHECK(query_accept_language("fr;q=0") == NULL);
    CHECK(query_accept_language("fr;q=0.000") == NULL);
    CHECK(query_accept_language("fr;q=2") == NULL);     /* malformed: ignored */
    CHECK(query_accept_language("fr;level=1") == NULL); /* a parameter other than q */
    CHECK(query_accept_language("fra, arabic, e") == NULL);
    CHECK(query_accept_language("*") == NULL);
    CHECK_STR(query_accept_language(",,;;, en"), "en");
    CHECK_STR(query_accept_language("fr;q=0.001, en;q=0"), "fr");
    CHECK(query_lang("ar", 2) != NULL && query_lang("a", 1) == NULL &&
          query_lang("arx", 3) == NULL);
}

int
main(void)
{
    test_accepts();
    test_refuses();
    test_sql_has_only_parameters();
    test_cursor_codec();
    test_value_checks();
    test_accept_language();
    test_bench_statements_are_the_servers();
    error_clear(&err);
    arena_free(&scratch);
    return check_done("query");
}
