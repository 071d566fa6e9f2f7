/* background.c - the rounds-and-sleep threads the server runs beside its loops. */
#include "sharaka/background.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "sharaka/log.h"

bool
background_start(struct background *b, void *(*run)(void *), void *arg)
{
    pthread_condattr_t attr;
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&b->wake, &attr);
    pthread_condattr_destroy(&attr);
    b->stopping = false;
    int rc = pthread_create(&b->thread, NULL, run, arg);
    b->started = rc == 0;
    if (!b->started) {
        log_error("%s: cannot start its thread: %s", b->name, strerror(rc));
        pthread_cond_destroy(&b->wake);
        pthread_mutex_destroy(&b->lock);
    }
    return b->started;
}

bool
background_stopping(struct background *b)
{
    pthread_mutex_lock(&b->lock);
    bool s = b->stopping;
    pthread_mutex_unlock(&b->lock);
    return s;
}

bool
background_sleep(struct background *b, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&b->lock);
    while (!b->stopping && pthread_cond_timedwait(&b->wake, &b->lock, &until) != ETIMEDOUT)
        ;
    bool go_on = !b->stopping;
    pthread_mutex_unlock(&b->lock);
    return go_on;
}

void
background_signal_stop(struct background *b)
{
    if (!b->started)
        return;
    pthread_mutex_lock(&b->lock);
    b->stopping = true;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
}

void
background_stop(struct background *b)
{
    if (!b->started)
        return;
    background_signal_stop(b);
    pthread_join(b->thread, NULL);
    pthread_cond_destroy(&b->wake);
    pthread_mutex_destroy(&b->lock);
    b->started = false;
}
