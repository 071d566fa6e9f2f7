/* webhook_url.h - which URLs and addresses a webhook may be delivered to. */
#ifndef SHARAKA_WEBHOOK_URL_H
#define SHARAKA_WEBHOOK_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * True when sa is an address on the public internet: not loopback, private (RFC 1918, unique
 * local), shared (100.64/10), link-local, unspecified, multicast, broadcast, documentation,
 * benchmarking, reserved, or an IPv6 form that embeds an IPv4 address (mapped, NAT64, 6to4,
 * Teredo) unless the embedded address is public.
 */
bool webhook_address_public(const struct sockaddr *sa);

/*
 * Checks a webhook URL before it is stored: https (or http when allow_private), a host, an
 * optional port, no user name or password, no fragment, at most 2000 bytes; and unless
 * allow_private, a host that resolves, only to public addresses (resolve: false skips the
 * lookup of names, for callers that must not block). False with why (a sentence for the caller)
 * set.
 */
bool webhook_url_check(const char *url, bool allow_private, bool resolve, char *why, size_t len);

#endif
