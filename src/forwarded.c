/* forwarded.c - the client's address behind trusted proxies: X-Forwarded-For or RFC 7239. */
#include "sharaka/forwarded.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses an address text into family and bytes; an IPv4-mapped IPv6 address counts as IPv4. */
static bool
address_parse(const char *text, int *family, unsigned char bytes[16])
{
    unsigned char v6[16];
    if (inet_pton(AF_INET, text, bytes) == 1) {
        *family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text, v6) != 1)
        return false;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(v6, mapped, sizeof(mapped)) == 0) {
        memcpy(bytes, v6 + 12, 4);
        *family = 4;
        return true;
    }
    memcpy(bytes, v6, 16);
    *family = 6;
    return true;
}

static void
address_format(int family, const unsigned char bytes[16], char *out, size_t outlen)
{
    if (inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes, out, (socklen_t)outlen) == NULL)
        out[0] = '\0';
}

static bool
block_contains(const struct address_block *b, int family, const unsigned char bytes[16])
{
    if (b->family != family)
        return false;
    int whole = b->prefix / 8, rest = b->prefix % 8;
    if (memcmp(b->bytes, bytes, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (b->bytes[whole] & mask) == (bytes[whole] & mask);
}

/* One "address" or "address/prefix" of the list, without surrounding spaces. */
static bool
parse_block(const char *item, struct address_block *b, char *err, size_t errlen)
{
    char text[64];
    const char *slash = strchr(item, '/');
    size_t len = slash != NULL ? (size_t)(slash - item) : strlen(item);
    if (len == 0 || len >= sizeof(text)) {
        snprintf(err, errlen, "'%s' is not an address or CIDR block", item);
        return false;
    }
    memcpy(text, item, len);
    text[len] = '\0';
    if (!address_parse(text, &b->family, b->bytes)) {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", text);
        return false;
    }
    int max = b->family == 4 ? 32 : 128;
    b->prefix = max;
    if (slash != NULL) {
        char *end = NULL;
        long p = strtol(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || p < 0 || p > max) {
            snprintf(err, errlen, "'%s' has a bad prefix length: allowed /0 to /%d", item, max);
            return false;
        }
        /* A block written for a mapped address counts its prefix on the IPv4 part. */
        if (b->family == 4 && strchr(text, ':') != NULL)
            p = p >= 96 ? p - 96 : 0;
        b->prefix = (int)p;
    }
    return true;
}

bool
forwarded_parse_proxies(const char *list, struct proxy_set *set, char *err, size_t errlen)
{
    memset(set, 0, sizeof(*set));
    const char *p = list != NULL ? list : "";
    while (*p != '\0') {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t len = strcspn(p, ", ");
        char item[80];
        if (len >= sizeof(item)) {
            snprintf(err, errlen, "'%.*s...' is not an address or CIDR block", 40, p);
            return false;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (set->n == FORWARDED_MAX_PROXIES) {
            snprintf(err, errlen, "more than %d addresses or blocks", FORWARDED_MAX_PROXIES);
            return false;
        }
        if (!parse_block(item, &set->blocks[set->n], err, errlen))
            return false;
        set->n++;
        p += len;
    }
    return true;
}

static bool
trusted_bytes(const struct proxy_set *set, int family, const unsigned char bytes[16])
{
    for (int i = 0; i < set->n; i++)
        if (block_contains(&set->blocks[i], family, bytes))
            return true;
    return false;
}

bool
forwarded_trusted(const struct proxy_set *set, const char *ip)
{
    int family;
    unsigned char bytes[16];
    return set->n > 0 && address_parse(ip, &family, bytes) && trusted_bytes(set, family, bytes);
}

/* The hops of the headers, the last FORWARDED_MAX_HOPS of them, first to last. */
struct hops {
    char text[FORWARDED_MAX_HOPS][FORWARDED_ADDRESS_MAX];
    int n;
};

static void
hop_add(struct hops *h, const char *s, size_t len)
{
    if (h->n == FORWARDED_MAX_HOPS) {
        memmove(h->text[0], h->text[1], sizeof(h->text[0]) * (FORWARDED_MAX_HOPS - 1));
        h->n--;
    }
    /* Too long to be an address: kept empty, which no address parses from. */
    if (len >= FORWARDED_ADDRESS_MAX)
        len = 0;
    memcpy(h->text[h->n], s, len);
    h->text[h->n][len] = '\0';
    h->n++;
}

static const char *
trim(const char *s, size_t *len)
{
    while (*len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

/* A node as proxies write it: "1.2.3.4", "1.2.3.4:80", "[2001:db8::1]", "[2001:db8::1]:80",
 * "2001:db8::1". Adds the address part. */
static void
add_node(struct hops *h, const char *s, size_t len)
{
    s = trim(s, &len);
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL || (close + 1 < s + len && close[1] != ':')) {
            hop_add(h, "", 0);
            return;
        }
        hop_add(h, s + 1, (size_t)(close - s - 1));
        return;
    }
    const char *colon = memchr(s, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)) == NULL)
        len = (size_t)(colon - s); /* IPv4 with a port */
    hop_add(h, s, len);
}

/* One element of Forwarded: "for=...;proto=...;by=...". Adds its for= node, or a hop that is
 * no address when it has none. */
static void
add_forwarded_element(struct hops *h, const char *s, size_t len)
{
    const char *end = s + len;
    while (s < end) {
        const char *semi = memchr(s, ';', (size_t)(end - s));
        size_t plen = semi != NULL ? (size_t)(semi - s) : (size_t)(end - s);
        size_t tlen = plen;
        const char *pair = trim(s, &tlen);
        if (tlen > 4 && strncasecmp(pair, "for=", 4) == 0) {
            const char *v = pair + 4;
            size_t vlen = tlen - 4;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
                if (memchr(v, '\\', vlen) != NULL || memchr(v, '"', vlen) != NULL)
                    vlen = 0;
            }
            add_node(h, v, vlen);
            return;
        }
        s += plen + (semi != NULL);
    }
    hop_add(h, "", 0);
}

/* Splits a header line at the commas outside quoted strings. */
static void
add_line(struct hops *h, const char *line, bool rfc7239)
{
    const char *start = line;
    bool quoted = false;
    for (const char *p = line;; p++) {
        if (*p == '"' && rfc7239)
            quoted = !quoted;
        if ((*p == ',' && !quoted) || *p == '\0') {
            size_t len = (size_t)(p - start);
            const char *e = trim(start, &len);
            if (rfc7239)
                add_forwarded_element(h, e, len);
            else
                add_node(h, e, len);
            if (*p == '\0')
                return;
            start = p + 1;
        }
    }
}

void
forwarded_client(const struct proxy_set *set, const char *peer, const char *const *values,
                 int nvalues, bool rfc7239, char *out, size_t outlen)
{
    int family;
    unsigned char bytes[16];

    snprintf(out, outlen, "%s", peer);
    if (!address_parse(peer, &family, bytes))
        return;
    address_format(family, bytes, out, outlen);
    if (!trusted_bytes(set, family, bytes) || nvalues <= 0)
        return;
    struct hops *h = malloc(sizeof(*h));
    if (h == NULL)
        return;
    h->n = 0;
    for (int i = 0; i < nvalues; i++)
        add_line(h, values[i], rfc7239);
    for (int i = h->n - 1; i >= 0; i--) {
        if (!address_parse(h->text[i], &family, bytes))
            break; /* the proxy that wrote it is the last address known */
        address_format(family, bytes, out, outlen);
        if (!trusted_bytes(set, family, bytes))
            break;
    }
    free(h);
}
