/* webhook_url.c - the rules that keep webhook deliveries off the server's own network. */
#include "sharaka/webhook_url.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sharaka/util.h"

#define WEBHOOK_URL_MAX 2000

/* An IPv4 block no delivery may reach: the address (host order) and the prefix length. */
struct block4 {
    uint32_t net;
    int bits;
};

static const struct block4 blocked4[] = {
    {0x00000000u, 8},  /* "this network" */
    {0x0A000000u, 8},  /* 10/8 private */
    {0x64400000u, 10}, /* 100.64/10 shared (carrier NAT) */
    {0x7F000000u, 8},  /* loopback */
    {0xA9FE0000u, 16}, /* 169.254/16 link-local, cloud metadata */
    {0xAC100000u, 12}, /* 172.16/12 private */
    {0xC0000000u, 24}, /* 192.0.0/24 protocol assignments */
    {0xC0000200u, 24}, /* 192.0.2/24 documentation */
    {0xC0586300u, 24}, /* 192.88.99/24 6to4 relays */
    {0xC0A80000u, 16}, /* 192.168/16 private */
    {0xC6120000u, 15}, /* 198.18/15 benchmarking */
    {0xC6336400u, 24}, /* 198.51.100/24 documentation */
    {0xCB007100u, 24}, /* 203.0.113/24 documentation */
    {0xE0000000u, 4},  /* multicast */
    {0xF0000000u, 4},  /* reserved, broadcast */
};

static bool
public4(uint32_t a)
{
    for (size_t i = 0; i < ARRAY_LEN(blocked4); i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - blocked4[i].bits);
        if ((a & mask) == blocked4[i].net)
            return false;
    }
    return true;
}

static uint32_t
load4(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static bool
public6(const unsigned char *a)
{
    static const unsigned char zero[12] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static const unsigned char nat64[12] = {0, 0x64, 0xFF, 0x9B};

    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return public4(load4(a + 12));
    if (memcmp(a, zero, 12) == 0) /* ::, ::1 and the old IPv4-compatible form */
        return false;
    if (a[0] == 0x20 && a[1] == 0x02) /* 2002::/16 6to4: the IPv4 address follows */
        return public4(load4(a + 2));
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) /* 2001::/32 Teredo */
        return false;
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8) /* documentation */
        return false;
    if ((a[0] & 0xFE) == 0xFC) /* fc00::/7 unique local */
        return false;
    if (a[0] == 0xFE && (a[1] & 0xC0) != 0) /* fe80::/10 link-local, fec0::/10 site-local */
        return false;
    if (a[0] == 0xFF) /* multicast */
        return false;
    if (a[0] == 0x01 && a[1] == 0 && memcmp(a + 2, zero, 6) == 0) /* 100::/64 discard */
        return false;
    return true;
}

bool
webhook_address_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)sa;
        return public4(load4((const unsigned char *)&a4->sin_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)sa;
        return public6(a6->sin6_addr.s6_addr);
    }
    return false;
}

/* Resolves host (only an address literal when resolve is false); true when it has addresses and
 * every one is public. */
static bool
host_public(const char *host, bool resolve, char *why, size_t len)
{
    char name[256];
    size_t n = strlen(host);
    if (n >= sizeof(name)) {
        snprintf(why, len, "url: the host name is longer than 255 bytes");
        return false;
    }
    memcpy(name, host, n + 1);
    if (name[0] == '[' && n > 2) { /* an IPv6 literal, as the URL spells it */
        memmove(name, name + 1, n - 2);
        name[n - 2] = '\0';
    }
    struct in6_addr literal;
    if (!resolve && inet_pton(AF_INET, name, &literal) != 1 &&
        inet_pton(AF_INET6, name, &literal) != 1)
        return true;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        snprintf(why, len, "url: the host '%.200s' does not resolve (%s)", name, gai_strerror(rc));
        return false;
    }
    bool ok = true;
    for (struct addrinfo *ai = res; ai != NULL && ok; ai = ai->ai_next)
        ok = webhook_address_public(ai->ai_addr);
    freeaddrinfo(res);
    if (!ok)
        snprintf(why, len,
                 "url: the host '%.200s' resolves to a private, loopback or link-local address; "
                 "webhooks are delivered only to public addresses",
                 name);
    return ok;
}

bool
webhook_url_check(const char *url, bool allow_private, bool resolve, char *why, size_t len)
{
    size_t n = strlen(url);
    if (n == 0 || n > WEBHOOK_URL_MAX) {
        snprintf(why, len, "url: must be 1 to %d bytes", WEBHOOK_URL_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7F) {
            snprintf(why, len,
                     "url: spaces, control characters and non-ASCII bytes must be "
                     "percent-encoded");
            return false;
        }
    }
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL, *fragment = NULL;
    bool ok = false;
    if (u == NULL) {
        snprintf(why, len, "url: cannot be checked now");
        return false;
    }
    if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || *host == '\0') {
        snprintf(why, len, "url: not an absolute URL, e.g. https://receiver.example.org/hooks");
        goto out;
    }
    /* Spelled out in full: "https:/host" would be read one way here and another elsewhere. */
    if (strncasecmp(url, "https://", 8) != 0 &&
        !(allow_private && strncasecmp(url, "http://", 7) == 0)) {
        snprintf(why, len, "url: the scheme must be https%s",
                 allow_private ? " or http" : " (plain http needs SHARAKA_WEBHOOK_ALLOW_PRIVATE)");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        snprintf(why, len,
                 "url: must not hold a user name or password (it would be shown to "
                 "whoever reads the webhook); verify the signature instead");
        goto out;
    }
    if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
        snprintf(why, len, "url: must not have a #fragment");
        goto out;
    }
    ok = allow_private || host_public(host, resolve, why, len);
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_free(fragment);
    curl_url_cleanup(u);
    return ok;
}
