/* ratelimit.c - in-process token buckets: a fixed table, striped locks, no allocation. */
#include "sharaka/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define SLOTS   16384
#define STRIPES 64

struct bucket {
    uint64_t key;
    double tokens;
    uint64_t at_us;
};

static struct bucket buckets[SLOTS];
static pthread_mutex_t stripes[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};

static uint64_t
hash_key(const char *policy, const char *key)
{
    uint64_t h = hash_text(hash_text(HASH_SEED, policy), "\x1f");
    h = hash_text(h, key);
    return h ? h : 1;
}

bool
ratelimit_take(struct request *r, const char *policy, const char *key, long per_minute,
               struct error *err)
{
    if (per_minute <= 0)
        return true;
    uint64_t h = hash_key(policy, key);
    size_t slot = (size_t)(h % SLOTS);
    double rate = (double)per_minute / 60.0, burst = (double)per_minute;
    uint64_t now = now_us_monotonic();
    double tokens;
    bool ok;

    pthread_mutex_lock(&stripes[slot % STRIPES]);
    struct bucket *b = &buckets[slot];
    if (b->key != h) {
        /* A new key, or another key that hashed here: start it full. */
        b->key = h;
        b->tokens = burst;
        b->at_us = now;
    }
    b->tokens = fmin(burst, b->tokens + rate * (double)(now - b->at_us) / 1e6);
    b->at_us = now;
    ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    tokens = b->tokens;
    pthread_mutex_unlock(&stripes[slot % STRIPES]);

    long remaining = (long)floor(tokens);
    long reset = (long)ceil((burst - tokens) / rate);
    http_add_header(r, "RateLimit-Policy",
                    arena_printf(&r->arena, "\"%s\";q=%ld;w=60", policy, per_minute));
    http_add_header(r, "RateLimit",
                    arena_printf(&r->arena, "\"%s\";r=%ld;t=%ld", policy, remaining, reset));
    if (ok)
        return true;
    long retry = (long)ceil((1.0 - tokens) / rate);
    if (retry < 1)
        retry = 1;
    http_add_header(r, "Retry-After", arena_printf(&r->arena, "%ld", retry));
    return error_set(err, 429, "rate-limited",
                     "too many requests (%s: %ld a minute); retry in %ld s", policy, per_minute,
                     retry);
}
