/*
 * fuzz_forwarded.c - the client address behind trusted proxies. The input's lines are header
 * lines a trusted proxy passed on, read as X-Forwarded-For and as Forwarded. Whatever they hold:
 *   - the client is always an address in canonical form (it parses, and formats back the same),
 *   - it is the peer itself or one of the addresses the lines name, never made up,
 *   - a peer that is not a trusted proxy is its own client, whatever the lines say.
 */
#include <arpa/inet.h>

#include "fuzz.h"
#include "sharaka/forwarded.h"

#define MAX_LINES 8

static struct proxy_set proxies;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    char err[200];
    if (!forwarded_parse_proxies("127.0.0.1, 10.0.0.0/8, ::1, 2001:db8::/32", &proxies, err,
                                 sizeof(err)))
        abort();
    return 0;
}

static bool
canonical(const char *ip)
{
    unsigned char bytes[16];
    char again[FORWARDED_ADDRESS_MAX];
    int family = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET;
    return inet_pton(family, ip, bytes) == 1 &&
           inet_ntop(family, bytes, again, sizeof(again)) != NULL && strcmp(again, ip) == 0;
}

/* The address cand names, as IPv4 when it is IPv4 or IPv4-mapped; false when it is none. */
static bool
parse_any(const char *cand, int *family, unsigned char bytes[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (inet_pton(AF_INET, cand, bytes) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, cand, bytes) != 1)
        return false;
    *family = AF_INET6;
    if (memcmp(bytes, mapped, 12) == 0) {
        memmove(bytes, bytes + 12, 4);
        *family = AF_INET;
    }
    return true;
}

/* True when some stretch of the lines spells the address out. */
static bool
named(const char *out, const char *const *lines, int n)
{
    unsigned char want[16], got[16];
    int fw, fg;
    FUZZ_ASSERT(parse_any(out, &fw, want));
    for (int i = 0; i < n; i++) {
        for (const char *l = lines[i]; *l != '\0'; l++) {
            size_t run = strspn(l, "0123456789abcdefABCDEF:.");
            for (size_t len = 1; len <= run && len < FORWARDED_ADDRESS_MAX; len++) {
                char cand[FORWARDED_ADDRESS_MAX];
                memcpy(cand, l, len);
                cand[len] = '\0';
                if (parse_any(cand, &fg, got) && fg == fw &&
                    memcmp(got, want, fw == AF_INET ? 4 : 16) == 0)
                    return true;
            }
        }
    }
    return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    const char *lines[MAX_LINES];
    int n = 0;
    for (char *p = text; n < MAX_LINES;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    char out[FORWARDED_ADDRESS_MAX];
    for (int rfc7239 = 0; rfc7239 < 2; rfc7239++) {
        forwarded_client(&proxies, "127.0.0.1", lines, n, rfc7239, out, sizeof(out));
        FUZZ_ASSERT(canonical(out));
        if (strcmp(out, "127.0.0.1") != 0)
            FUZZ_ASSERT(named(out, lines, n));
        forwarded_client(&proxies, "198.51.100.1", lines, n, rfc7239, out, sizeof(out));
        FUZZ_ASSERT(strcmp(out, "198.51.100.1") == 0);
    }
    free(text);
    return 0;
}
