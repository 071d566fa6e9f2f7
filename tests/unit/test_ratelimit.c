/* test_ratelimit.c - a drained bucket stays drained whatever other keys come and go. */
#include <stdio.h>

#include "check.h"
#include "sharaka/ratelimit.h"

int
main(void)
{
    struct ratelimit_draw d;
    char key[32];

    ratelimit_init();
    /* A refund gives back one token, no more. */
    CHECK(ratelimit_draw("other", "a", 2, &d) && ratelimit_draw("other", "a", 2, &d));
    CHECK(!ratelimit_draw("other", "a", 2, &d));
    ratelimit_refund("other", "a", 2);
    CHECK(ratelimit_draw("other", "a", 2, &d));
    CHECK(!ratelimit_draw("other", "a", 2, &d));
    for (int i = 0; i < 5; i++)
        CHECK(ratelimit_draw("login-email", "victim@test", 5, &d));
    CHECK(!ratelimit_draw("login-email", "victim@test", 5, &d));
    /* Far more keys than buckets: every set sees many newcomers. */
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "k%d@test", i);
        (void)ratelimit_draw("login-email", key, 5, &d);
    }
    CHECK(!ratelimit_draw("login-email", "victim@test", 5, &d));
    return check_done("test_ratelimit");
}
