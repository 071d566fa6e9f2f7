/* pool.h - the blocking threads: handlers that wait on the database (writes, batches, exports,
 * the feed) run here, each thread with its own connection, while the event loops go on. */
#ifndef SHARAKA_POOL_H
#define SHARAKA_POOL_H

#include <stdbool.h>

#include "sharaka/util.h"

typedef void (*pool_fn)(void *arg);

/* Starts n threads. False (logged) when one could not start; those started are stopped. */
bool pool_start(int n) MUSTCHECK;

/* Queues fn(arg) for the next free thread. False once the pool is closing: fn will not run. */
bool pool_submit(pool_fn fn, void *arg) MUSTCHECK;

/* Takes no more work and waits until what was queued and what runs has ended. */
void pool_close(void);

/* Closes the pool (if not yet) and joins its threads. */
void pool_stop(void);

#endif
