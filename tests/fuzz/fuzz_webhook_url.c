/*
 * fuzz_webhook_url.c - the rules that keep deliveries off private networks. Whatever the input:
 *   - a URL that passes without SHARAKA_WEBHOOK_ALLOW_PRIVATE also passes with it, is https, has
 *     no user name and, when its host is an address literal, that address is public;
 *   - an IPv4 address and its IPv4-mapped IPv6 form are judged the same, as are its NAT64 and
 *     6to4 forms.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <strings.h>

#include "fuzz.h"
#include "sharaka/webhook_url.h"

FUZZ_INITIALIZE_WITH_SETTINGS

static bool
public4(const unsigned char *b)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    memcpy(&a.sin_addr, b, 4);
    return webhook_address_public((struct sockaddr *)&a);
}

static bool
public6(const unsigned char *b)
{
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    memcpy(&a.sin6_addr, b, 16);
    return webhook_address_public((struct sockaddr *)&a);
}

/* The host of an accepted URL, when it is an address literal, must be public. */
static void
check_host(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL, *user = NULL;
    FUZZ_ASSERT(u != NULL);
    FUZZ_ASSERT(curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK);
    FUZZ_ASSERT(curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK);
    FUZZ_ASSERT(curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_OK);
    unsigned char b[16];
    size_t n = strlen(host);
    if (inet_pton(AF_INET, host, b) == 1)
        FUZZ_ASSERT(public4(b));
    if (n > 2 && host[0] == '[') {
        char inner[64];
        if (n - 2 < sizeof(inner)) {
            memcpy(inner, host + 1, n - 2);
            inner[n - 2] = '\0';
            char *zone = strchr(inner, '%');
            if (zone != NULL)
                *zone = '\0';
            if (inet_pton(AF_INET6, inner, b) == 1)
                FUZZ_ASSERT(public6(b));
        }
    }
    curl_free(host);
    curl_free(user);
    curl_url_cleanup(u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[300];
    char *url = fuzz_text(data, size);
    bool strict = webhook_url_check(url, false, false, why, sizeof(why));
    bool lenient = webhook_url_check(url, true, false, why, sizeof(why));
    if (strict) {
        FUZZ_ASSERT(lenient);
        FUZZ_ASSERT(strncasecmp(url, "https://", 8) == 0);
        check_host(url);
    }
    free(url);

    if (size >= 4) {
        unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(v6 + 12, data, 4);
        bool p4 = public4(data);
        FUZZ_ASSERT(public6(v6) == p4);
        unsigned char nat64[16] = {0, 0x64, 0xff, 0x9b};
        memcpy(nat64 + 12, data, 4);
        FUZZ_ASSERT(public6(nat64) == p4);
        unsigned char six4[16] = {0x20, 0x02};
        memcpy(six4 + 2, data, 4);
        six4[15] = 1;
        FUZZ_ASSERT(public6(six4) == p4);
    }
    if (size >= 16)
        (void)public6(data);
    return 0;
}
