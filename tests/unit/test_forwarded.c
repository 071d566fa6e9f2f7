/* test_forwarded.c - the client behind trusted proxies, the read URLs, WAL positions. */
#include "check.h"
#include "sharaka/config.h"
#include "sharaka/forwarded.h"
#include "sharaka/replicas.h"

static struct proxy_set set;

static const char *
client(const char *peer, const char *const *lines, int n, bool rfc7239)
{
    static char out[FORWARDED_ADDRESS_MAX];
    forwarded_client(&set, peer, lines, n, rfc7239, out, sizeof(out));
    return out;
}

static void
test_proxy_lists(void)
{
    char err[200] = "";
    CHECK(forwarded_parse_proxies("", &set, err, sizeof(err)) && set.n == 0);
    CHECK(forwarded_parse_proxies(" 10.0.0.0/8, ::1,127.0.0.1 ,2001:db8::/32", &set, err,
                                  sizeof(err)));
    CHECK(set.n == 4);
    CHECK(forwarded_trusted(&set, "10.255.1.2"));
    CHECK(!forwarded_trusted(&set, "11.0.0.1"));
    CHECK(forwarded_trusted(&set, "::1"));
    CHECK(forwarded_trusted(&set, "::ffff:127.0.0.1")); /* mapped: the IPv4 address */
    CHECK(forwarded_trusted(&set, "2001:db8:ffff::9"));
    CHECK(!forwarded_trusted(&set, "2001:db9::1"));
    CHECK(!forwarded_trusted(&set, "not an address"));
    CHECK(forwarded_parse_proxies("192.168.1.0/23", &set, err, sizeof(err)));
    CHECK(forwarded_trusted(&set, "192.168.0.7") && forwarded_trusted(&set, "192.168.1.255"));
    CHECK(!forwarded_trusted(&set, "192.168.2.0"));
    static const char *const bad[] = {"10.0.0.0/33", "::/129",     "10.0.0.0/", "10.0.0/8",
                                      "proxy",       "10.0.0.1/x", "/8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(!forwarded_parse_proxies(bad[i], &set, err, sizeof(err)));
        CHECK(err[0] != '\0');
    }
}

static void
test_x_forwarded_for(void)
{
    char err[200];
    CHECK(forwarded_parse_proxies("127.0.0.1, 10.0.0.0/8", &set, err, sizeof(err)));
    /* Not from a proxy: the header is ignored. */
    const char *forged[] = {"203.0.113.9"};
    CHECK_STR(client("198.51.100.1", forged, 1, false), "198.51.100.1");
    /* The proxy appended the client: the rightmost address that isn't a proxy. */
    const char *one[] = {"198.51.100.7"};
    CHECK_STR(client("127.0.0.1", one, 1, false), "198.51.100.7");
    /* A client that sends its own header only adds hops to the left of the true one. */
    const char *spoofed[] = {"1.2.3.4, 5.6.7.8", "198.51.100.7"};
    CHECK_STR(client("127.0.0.1", spoofed, 2, false), "198.51.100.7");
    const char *joined[] = {"1.2.3.4, 198.51.100.7, 10.1.2.3"};
    CHECK_STR(client("127.0.0.1", joined, 1, false), "198.51.100.7");
    /* Every hop a proxy: the first one. */
    const char *proxies[] = {"10.0.0.5, 10.0.0.6"};
    CHECK_STR(client("127.0.0.1", proxies, 1, false), "10.0.0.5");
    /* Junk where an address should be: the proxy that wrote it. */
    const char *junk[] = {"198.51.100.7, unknown"};
    CHECK_STR(client("127.0.0.1", junk, 1, false), "127.0.0.1");
    const char *junk2[] = {"198.51.100.7, 10.0.0.9, garbage"};
    CHECK_STR(client("127.0.0.1", junk2, 1, false), "127.0.0.1");
    const char *empty[] = {""};
    CHECK_STR(client("127.0.0.1", empty, 1, false), "127.0.0.1");
    /* Ports and brackets, canonical forms. */
    const char *ports[] = {"198.51.100.7:5555"};
    CHECK_STR(client("127.0.0.1", ports, 1, false), "198.51.100.7");
    const char *v6[] = {"[2001:DB8:0::1]:443"};
    CHECK_STR(client("127.0.0.1", v6, 1, false), "2001:db8::1");
    const char *v6bare[] = {"2001:db8::1"};
    CHECK_STR(client("127.0.0.1", v6bare, 1, false), "2001:db8::1");
    const char *mapped[] = {"::ffff:198.51.100.7"};
    CHECK_STR(client("127.0.0.1", mapped, 1, false), "198.51.100.7");
    /* No header from a proxy: the proxy itself. */
    CHECK_STR(client("127.0.0.1", NULL, 0, false), "127.0.0.1");
    /* Many hops: only the last ones are read, and they decide. */
    char many[2000] = "";
    for (int i = 0; i < 100; i++)
        strcat(many, "9.9.9.9, ");
    strcat(many, "198.51.100.8");
    const char *long_line[] = {many};
    CHECK_STR(client("127.0.0.1", long_line, 1, false), "198.51.100.8");
}

static void
test_rfc7239(void)
{
    char err[200];
    CHECK(forwarded_parse_proxies("127.0.0.1", &set, err, sizeof(err)));
    const char *one[] = {"for=198.51.100.7;proto=https;by=127.0.0.1"};
    CHECK_STR(client("127.0.0.1", one, 1, true), "198.51.100.7");
    const char *quoted[] = {"for=\"[2001:db8::17]:4711\""};
    CHECK_STR(client("127.0.0.1", quoted, 1, true), "2001:db8::17");
    const char *chain[] = {"for=1.2.3.4, For=198.51.100.7", "for=127.0.0.1"};
    CHECK_STR(client("127.0.0.1", chain, 2, true), "198.51.100.7");
    const char *hidden[] = {"for=198.51.100.7, for=_hidden"};
    CHECK_STR(client("127.0.0.1", hidden, 1, true), "127.0.0.1");
    const char *nofor[] = {"proto=https"};
    CHECK_STR(client("127.0.0.1", nofor, 1, true), "127.0.0.1");
    /* An X-Forwarded-For list read as Forwarded has no for=: nothing is believed. */
    const char *xff[] = {"198.51.100.7"};
    CHECK_STR(client("127.0.0.1", xff, 1, true), "127.0.0.1");
}

static void
test_read_urls(void)
{
    char err[300] = "";
    setenv("SHARAKA_DATABASE_READ_URL",
           "postgresql://r1:5432/sharaka, postgres://a:1,b:2/sharaka?target_session_attrs=any", 1);
    CHECK(config_load(false, err, sizeof(err)));
    CHECK(cfg.nread_urls == 2);
    CHECK_STR(cfg.read_urls[0], "postgresql://r1:5432/sharaka");
    CHECK_STR(cfg.read_urls[1], "postgres://a:1,b:2/sharaka?target_session_attrs=any");
    setenv("SHARAKA_DATABASE_READ_URL", "host=r1 dbname=sharaka", 1);
    CHECK(!config_load(false, err, sizeof(err)));
    CHECK(strstr(err, "SHARAKA_DATABASE_READ_URL") == err);
    unsetenv("SHARAKA_DATABASE_READ_URL");
    CHECK(config_load(false, err, sizeof(err)) && cfg.nread_urls == 0);
    setenv("SHARAKA_FORWARDED_HEADER", "forwarded", 1);
    CHECK(config_load(false, err, sizeof(err)) && cfg.forwarded_rfc7239);
    setenv("SHARAKA_FORWARDED_HEADER", "X-Real-IP", 1);
    CHECK(!config_load(false, err, sizeof(err)));
    unsetenv("SHARAKA_FORWARDED_HEADER");
    setenv("SHARAKA_TRUSTED_PROXIES", "10.0.0.0/40", 1);
    CHECK(!config_load(false, err, sizeof(err)) && strstr(err, "SHARAKA_TRUSTED_PROXIES") == err);
    unsetenv("SHARAKA_TRUSTED_PROXIES");
}

static void
test_positions(void)
{
    uint64_t p = 0;
    CHECK(replicas_parse_position("0/16B3748", &p) && p == 0x16B3748);
    CHECK(replicas_parse_position("1/0", &p) && p == 1ull << 32);
    CHECK(replicas_parse_position("FFFFFFFF/FFFFFFFF", &p) && p == UINT64_MAX);
    static const char *const bad[] = {"",      "/",   "0/",   "/1",          "16B3748",
                                      "0/1/2", "g/1", "0/ 1", "123456789/0", "0/123456789",
                                      "-1/0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK(!replicas_parse_position(bad[i], &p));
}

int
main(void)
{
    test_proxy_lists();
    test_x_forwarded_for();
    test_rfc7239();
    test_read_urls();
    test_positions();
    return check_done("forwarded");
}
