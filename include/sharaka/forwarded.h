/* forwarded.h - the client's address behind trusted proxies (SHARAKA_TRUSTED_PROXIES). */
#ifndef SHARAKA_FORWARDED_H
#define SHARAKA_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

#define FORWARDED_MAX_PROXIES 32
#define FORWARDED_MAX_HOPS    32
#define FORWARDED_ADDRESS_MAX 48

/* An address block: family 4 or 6, the address's bytes (4 or 16 of them), the prefix length. */
struct address_block {
    int family;
    unsigned char bytes[16];
    int prefix;
};

struct proxy_set {
    struct address_block blocks[FORWARDED_MAX_PROXIES];
    int n;
};

/*
 * Parses a comma-separated list of addresses and CIDR blocks ("10.0.0.0/8, ::1, 127.0.0.1").
 * An empty list is an empty set. False with the reason in err on anything else.
 */
bool forwarded_parse_proxies(const char *list, struct proxy_set *set, char *err, size_t errlen);

/* True when the address text ip lies in one of set's blocks. */
bool forwarded_trusted(const struct proxy_set *set, const char *ip);

/*
 * The client of a request that came from peer with the given header lines (values[0] first as
 * received): X-Forwarded-For when rfc7239 is false, else Forwarded (its for= parameters). When
 * peer is trusted, the hops are read from the last to the first and the first address that isn't a
 * trusted proxy is the client; a hop that isn't an address ("unknown", an obfuscated name, junk)
 * ends the walk at the proxy that reported it. Otherwise the client is peer. The address is
 * written in its canonical form (an IPv4-mapped IPv6 address as IPv4) to out.
 */
void forwarded_client(const struct proxy_set *set, const char *peer, const char *const *values,
                      int nvalues, bool rfc7239, char *out, size_t outlen);

#endif
