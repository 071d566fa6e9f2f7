/* ratelimit.h - token buckets per principal, per client address and per login email. */
#ifndef SHARAKA_RATELIMIT_H
#define SHARAKA_RATELIMIT_H

#include <stdbool.h>

#include "sharaka/http.h"

/*
 * Takes one token from the bucket named key, which refills per_minute tokens a minute up to
 * per_minute. Adds RateLimit-Policy and RateLimit headers to r. Returns false with err set to 429
 * (and Retry-After added) when the bucket is empty. per_minute 0 disables the limit.
 */
bool ratelimit_take(struct request *r, const char *policy, const char *key, long per_minute,
                    struct error *err) MUSTCHECK;

#endif
