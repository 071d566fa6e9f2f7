/* test_webhook_url.c - which addresses and URLs a webhook may be delivered to. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "sharaka/webhook_url.h"

/* An address literal and whether a delivery may reach it. */
struct case_ {
    const char *address;
    bool public_;
};

static const struct case_ addresses[] = {
    {"93.184.215.14", true},
    {"8.8.8.8", true},
    {"1.1.1.1", true},
    {"100.63.255.255", true},
    {"100.128.0.0", true},
    {"172.15.255.255", true},
    {"172.32.0.0", true},
    {"192.0.1.1", true},
    {"223.255.255.255", true},
    {"0.0.0.0", false},
    {"0.1.2.3", false},
    {"10.0.0.1", false},
    {"10.255.255.255", false},
    {"100.64.0.1", false},
    {"100.127.255.255", false},
    {"127.0.0.1", false},
    {"127.255.0.9", false},
    {"169.254.169.254", false},
    {"172.16.0.1", false},
    {"172.31.255.255", false},
    {"192.0.0.8", false},
    {"192.0.2.1", false},
    {"192.88.99.1", false},
    {"192.168.0.1", false},
    {"198.18.0.1", false},
    {"198.19.255.255", false},
    {"198.51.100.7", false},
    {"203.0.113.9", false},
    {"224.0.0.1", false},
    {"239.255.255.250", false},
    {"240.0.0.1", false},
    {"255.255.255.255", false},
    {"2606:4700::1111", true},
    {"2a00:1450::1", true},
    {"::", false},
    {"::1", false},
    {"::ffff:127.0.0.1", false},
    {"::ffff:8.8.8.8", true},
    {"::127.0.0.1", false},
    {"64:ff9b::a00:1", false},
    {"64:ff9b::808:808", true},
    {"2002:0a00:0001::1", false},
    {"2002:0808:0808::1", true},
    {"2001:0:4136:e378::1", false},
    {"2001:db8::1", false},
    {"fc00::1", false},
    {"fd12:3456::1", false},
    {"fe80::1", false},
    {"febf::1", false},
    {"fec0::1", false},
    {"ff02::1", false},
    {"100::1", false},
};

static void
test_addresses(void)
{
    for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
        struct sockaddr_storage ss = {0};
        if (inet_pton(AF_INET, addresses[i].address, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
            ss.ss_family = AF_INET;
        else if (inet_pton(AF_INET6, addresses[i].address,
                           &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
            ss.ss_family = AF_INET6;
        CHECK(ss.ss_family != 0);
        bool got = webhook_address_public((struct sockaddr *)&ss);
        if (got != addresses[i].public_)
            fprintf(stderr, "address %s: public is %d\n", addresses[i].address, got);
        CHECK(got == addresses[i].public_);
    }
    struct sockaddr_storage unix_ = {.ss_family = AF_UNIX};
    CHECK(!webhook_address_public((struct sockaddr *)&unix_));
}

/* A URL, whether it passes without and with SHARAKA_WEBHOOK_ALLOW_PRIVATE (no name lookups). */
struct url_case {
    const char *url;
    bool strict, lenient;
};

static const struct url_case urls[] = {
    {"https://93.184.215.14/hooks", true, true},
    {"https://hooks.example.org/sharaka?x=1", true, true},
    {"https://[2606:4700::1111]:8443/h", true, true},
    {"HTTPS://93.184.215.14/", true, true},
    {"http://93.184.215.14/hooks", false, true},
    {"http://127.0.0.1:9/hooks", false, true},
    {"https://127.0.0.1/hooks", false, true},
    {"https://10.0.0.1/", false, true},
    {"https://[::1]/", false, true},
    {"https://[fe80::1]/", false, true},
    {"https://169.254.169.254/latest", false, true},
    {"https://user:pw@hooks.example.org/", false, false},
    {"https://user@hooks.example.org/", false, false},
    {"https://hooks.example.org/#frag", false, false},
    {"https://hooks.example.org/a b", false, false},
    {"https://hooks.example.org/\xc3\xa9", false, false},
    {"ftp://hooks.example.org/", false, false},
    {"file:///etc/passwd", false, false},
    {"gopher://127.0.0.1:6379/_INFO", false, false},
    {"hooks.example.org/x", false, false},
    {"https://", false, false},
    {"", false, false},
};

static void
test_urls(void)
{
    char why[300];
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        why[0] = '\0';
        bool strict = webhook_url_check(urls[i].url, false, false, why, sizeof(why));
        CHECK(strict == urls[i].strict);
        CHECK(strict || strncmp(why, "url: ", 5) == 0);
        if (strict != urls[i].strict)
            fprintf(stderr, "url %s: strict %d (%s)\n", urls[i].url, strict, why);
        bool lenient = webhook_url_check(urls[i].url, true, false, why, sizeof(why));
        CHECK(lenient == urls[i].lenient);
        if (lenient != urls[i].lenient)
            fprintf(stderr, "url %s: lenient %d (%s)\n", urls[i].url, lenient, why);
    }
    char longer[2100];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    memcpy(longer, "https://x.example.org/", 22);
    CHECK(!webhook_url_check(longer, true, false, why, sizeof(why)));
    /* With lookups: a name that is loopback in /etc/hosts is refused. */
    CHECK(!webhook_url_check("https://localhost/x", false, true, why, sizeof(why)));
    CHECK(strstr(why, "private, loopback or link-local") != NULL);
}

int
main(void)
{
    test_addresses();
    test_urls();
    return check_done("webhook_url");
}
