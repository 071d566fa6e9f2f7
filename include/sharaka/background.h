/* background.h - a thread of the server's own (janitor, replica poller, webhook sender) that works
 * in rounds and sleeps between them until it is told to stop. */
#ifndef SHARAKA_BACKGROUND_H
#define SHARAKA_BACKGROUND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct background {
    const char *name; /* for the log */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on the monotonic clock */
    bool started, stopping;
};

/* Starts run(arg) on its own thread. False (logged) when the thread cannot be made. */
bool background_start(struct background *b, void *(*run)(void *), void *arg);

/* True once background_stop (or background_signal_stop) was called. */
bool background_stopping(struct background *b);

/* Sleeps ms milliseconds, or less when told to stop meanwhile. False when stopping. */
bool background_sleep(struct background *b, int64_t ms);

/* Tells the thread to stop and wakes its sleep, without waiting for it. */
void background_signal_stop(struct background *b);

/* Tells the thread to stop, waits for it to end and releases what start made. Does nothing when
 * it was not started. */
void background_stop(struct background *b);

#endif
