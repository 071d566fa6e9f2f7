/* ratelimit.h - token buckets per principal, per client address and per login email. */
#ifndef SHARAKA_RATELIMIT_H
#define SHARAKA_RATELIMIT_H

#include <stdbool.h>

#include "sharaka/http.h"

/* What one draw on a bucket left behind, for the RateLimit headers. */
struct ratelimit_draw {
    const char *policy;
    long per_minute;
    double tokens; /* left after the draw */
    bool ok;       /* a token was taken */
};

/*
 * Draws the key that bucket names are hashed with (SipHash, libsodium's crypto_shorthash). Call
 * once before any thread uses the buckets; later calls do nothing.
 */
void ratelimit_init(void);

/*
 * Takes one token from the bucket named (policy, key), which refills per_minute tokens a minute
 * up to per_minute. Touches no response: fills *out and returns out->ok. per_minute 0 disables the
 * limit (always true). Buckets never share state: a key that finds its set of buckets full takes
 * over the fullest one and keeps its level, so no key ever starts fuller than what it displaced.
 */
bool ratelimit_draw(const char *policy, const char *key, long per_minute,
                    struct ratelimit_draw *out);

/* Gives back the token a successful ratelimit_draw took, if the bucket is still that key's. */
void ratelimit_refund(const char *policy, const char *key, long per_minute);

/*
 * Adds RateLimit-Policy and RateLimit headers for d to r. Returns d->ok; when false, err is set to
 * 429 and Retry-After is added.
 */
bool ratelimit_report(struct request *r, const struct ratelimit_draw *d, struct error *err);

/* ratelimit_draw then ratelimit_report. */
bool ratelimit_take(struct request *r, const char *policy, const char *key, long per_minute,
                    struct error *err) MUSTCHECK;

#endif
