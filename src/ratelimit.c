/* ratelimit.c - in-process token buckets: a keyed, set-associative table, striped locks. */
#include "sharaka/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/*
 * A bucket's name is hashed with SipHash under a key drawn at start, so nobody can compute which
 * names share a set. Each set holds WAYS buckets, each tagged with the full 64-bit hash; two names
 * share a bucket only if their 64-bit hashes are equal. A name that finds no bucket of its own
 * takes an empty way or else the fullest bucket of its set (least recently used on a tie), and
 * starts at that bucket's level, not full: displacing a drained bucket never hands out fresh
 * tokens, and a drained key that was displaced comes back no fuller than its set.
 */
#define WAYS    8
#define SETS    2048
#define STRIPES 64

struct bucket {
    uint64_t tag; /* 0: empty */
    double tokens;
    uint64_t at_us;
    long per_minute;
};

static struct bucket table[SETS][WAYS];
static pthread_mutex_t stripes[STRIPES] = {[0 ... STRIPES - 1] = PTHREAD_MUTEX_INITIALIZER};
static unsigned char hash_key[crypto_shorthash_KEYBYTES];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void
draw_key(void)
{
    randombytes_buf(hash_key, sizeof(hash_key));
}

void
ratelimit_init(void)
{
    pthread_once(&init_once, draw_key);
}

static uint64_t
tag_of(const char *policy, const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    size_t pl = strlen(policy), kl = strlen(key);
    unsigned char stack[256];
    unsigned char *msg = pl + kl + 1 <= sizeof(stack) ? stack : xmalloc(pl + kl + 1);
    memcpy(msg, policy, pl);
    msg[pl] = 0x1f; /* the unit separator: neither a policy nor a key contains it */
    memcpy(msg + pl + 1, key, kl);
    crypto_shorthash(out, msg, pl + kl + 1, hash_key);
    if (msg != stack)
        free(msg);
    uint64_t h;
    memcpy(&h, out, sizeof(h));
    return h ? h : 1;
}

/* The bucket's level now: what it had plus what it earned since, up to its burst. */
static double
level(const struct bucket *b, uint64_t now)
{
    double rate = (double)b->per_minute / 60.0;
    double dt = now > b->at_us ? (double)(now - b->at_us) / 1e6 : 0.0;
    return fmin((double)b->per_minute, b->tokens + rate * dt);
}

/* The key's bucket in its set, or NULL. Call with the set's stripe held. */
static struct bucket *
find(struct bucket *set, uint64_t tag)
{
    for (int i = 0; i < WAYS; i++)
        if (set[i].tag == tag)
            return &set[i];
    return NULL;
}

/* Takes over a way for tag; the newcomer keeps the displaced bucket's share of its burst. */
static struct bucket *
claim(struct bucket *set, uint64_t tag, long per_minute, uint64_t now)
{
    struct bucket *victim = NULL;
    double best = -1.0;
    for (int i = 0; i < WAYS; i++) {
        struct bucket *b = &set[i];
        if (b->tag == 0) {
            victim = b;
            best = 1.0;
            break;
        }
        double share = b->per_minute > 0 ? level(b, now) / (double)b->per_minute : 1.0;
        if (share > best || (share == best && b->at_us < victim->at_us)) {
            victim = b;
            best = share;
        }
    }
    victim->tag = tag;
    victim->per_minute = per_minute;
    victim->tokens = best * (double)per_minute;
    victim->at_us = now;
    return victim;
}

bool
ratelimit_draw(const char *policy, const char *key, long per_minute, struct ratelimit_draw *out)
{
    out->policy = policy;
    out->per_minute = per_minute;
    out->tokens = (double)per_minute;
    out->ok = true;
    if (per_minute <= 0)
        return true;
    ratelimit_init();
    uint64_t tag = tag_of(policy, key);
    size_t s = (size_t)(tag % SETS);
    uint64_t now = now_us_monotonic();

    pthread_mutex_lock(&stripes[s % STRIPES]);
    struct bucket *b = find(table[s], tag);
    if (b == NULL)
        b = claim(table[s], tag, per_minute, now);
    if (b->per_minute != per_minute) {
        /* The limit changed (only tests do that): keep the share, not the count. */
        b->tokens = level(b, now) / (double)b->per_minute * (double)per_minute;
        b->per_minute = per_minute;
        b->at_us = now;
    }
    b->tokens = level(b, now);
    b->at_us = now;
    out->ok = b->tokens >= 1.0;
    if (out->ok)
        b->tokens -= 1.0;
    out->tokens = b->tokens;
    pthread_mutex_unlock(&stripes[s % STRIPES]);
    return out->ok;
}

void
ratelimit_refund(const char *policy, const char *key, long per_minute)
{
    if (per_minute <= 0)
        return;
    ratelimit_init();
    uint64_t tag = tag_of(policy, key);
    size_t s = (size_t)(tag % SETS);
    pthread_mutex_lock(&stripes[s % STRIPES]);
    struct bucket *b = find(table[s], tag);
    if (b != NULL)
        b->tokens = fmin((double)b->per_minute, b->tokens + 1.0);
    pthread_mutex_unlock(&stripes[s % STRIPES]);
}

bool
ratelimit_report(struct request *r, const struct ratelimit_draw *d, struct error *err)
{
    if (d->per_minute <= 0)
        return true;
    double rate = (double)d->per_minute / 60.0, burst = (double)d->per_minute;
    long remaining = (long)floor(d->tokens);
    long reset = (long)ceil((burst - d->tokens) / rate);
    http_add_header(r, "RateLimit-Policy",
                    arena_printf(&r->arena, "\"%s\";q=%ld;w=60", d->policy, d->per_minute));
    http_add_header(r, "RateLimit",
                    arena_printf(&r->arena, "\"%s\";r=%ld;t=%ld", d->policy, remaining, reset));
    if (d->ok)
        return true;
    long retry = (long)ceil((1.0 - d->tokens) / rate);
    if (retry < 1)
        retry = 1;
    http_add_header(r, "Retry-After", arena_printf(&r->arena, "%ld", retry));
    return error_set(err, 429, "rate-limited",
                     "too many requests (%s: %ld a minute); retry in %ld s", d->policy,
                     d->per_minute, retry);
}

bool
ratelimit_take(struct request *r, const char *policy, const char *key, long per_minute,
               struct error *err)
{
    struct ratelimit_draw d;
    ratelimit_draw(policy, key, per_minute, &d);
    return ratelimit_report(r, &d, err);
}
