/* test_util.c - arena, string buffer and JSON escaping. */
#include "check.h"
#include "sharaka/util.h"

static void
test_buf(void)
{
    struct buf b = {0};
    buf_puts(&b, "a");
    buf_printf(&b, "%d-%s", 42, "x");
    CHECK_STR(b.data, "a42-x");
    buf_reset(&b);
    buf_json_escape(&b, "q\"\\\n\x01 \xd8\xb4", 8);
    CHECK_STR(b.data, "q\\\"\\\\\\n\\u0001 \xd8\xb4");
    for (int i = 0; i < 10000; i++)
        buf_putc(&b, 'z');
    CHECK(b.len == 10000 + strlen("q\\\"\\\\\\n\\u0001 \xd8\xb4"));
    buf_free(&b);
}

static void
test_arena(void)
{
    struct arena a = {0};
    char *s = arena_strdup(&a, "hello");
    char *big = arena_alloc(&a, 100000);
    memset(big, 1, 100000);
    char *f = arena_printf(&a, "%s/%d", s, 7);
    CHECK_STR(s, "hello");
    CHECK_STR(f, "hello/7");
    CHECK(((uintptr_t)arena_alloc(&a, 3) & 15) == 0);
    arena_free(&a);
    CHECK(a.head == NULL);
}

static void
test_parse(void)
{
    int64_t v;
    CHECK(str_parse_i64("123", &v) && v == 123);
    CHECK(str_parse_i64("-5", &v) && v == -5);
    CHECK(!str_parse_i64("12x", &v));
    CHECK(!str_parse_i64("", &v));
    CHECK(!str_parse_i64("99999999999999999999", &v));
}

int
main(void)
{
    test_buf();
    test_arena();
    test_parse();
    return check_done("util");
}
