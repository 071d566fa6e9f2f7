/* loop.h - the event loops: each thread runs one libmicrohttpd daemon and one pipelined database
 * connection on one epoll set, and accepts connections from the shared listening socket.
 * A request that waits for the database is suspended, never its thread. */
#ifndef SHARAKA_LOOP_H
#define SHARAKA_LOOP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "sharaka/util.h"

struct loop;
struct pipeline;

/* Makes the daemon of one loop (external polling, no listening socket of its own). */
typedef struct MHD_Daemon *(*loop_daemon_fn)(void);

/*
 * Starts n loops accepting from listen_fd (non-blocking, listening), each with a daemon from
 * make. False (with the reason logged) when one could not start; those started are stopped.
 */
bool loop_start_all(int n, int listen_fd, loop_daemon_fn make) MUSTCHECK;

/* Stops accepting new connections (the listening socket is closed); open ones go on. */
void loop_stop_accepting(void);

/* Stops every loop: waiting jobs end with a 503, then the daemons stop and close what is open. */
void loop_stop_all(void);

/* The calling thread's pipeline to the primary, or NULL on a thread that is not a loop. */
struct pipeline *loop_pipeline(void);

/* The calling thread's pipeline for a read that must see WAL position need (0: any): a usable
 * replica's that has replayed it, taken in turn, else the primary's. NULL off the loops. */
struct pipeline *loop_read_pipeline(uint64_t need);

/*
 * A socket a request waits on outside the loop's pipeline (an export's connection). The loop
 * calls ready(arg) once, on its thread, when fd is readable or broken, or when the loop stops.
 */
struct loop_watch {
    int fd;
    void (*ready)(void *arg);
    void *arg;
    struct loop *loop; /* set by loop_watch_readable */
    bool added, armed;
    struct loop_watch *prev, *next; /* the loop's armed watches */
};

/* Arms w on the calling thread's loop. False when there is none or it is stopping: nothing will
 * call w->ready then. */
bool loop_watch_readable(struct loop_watch *w) MUSTCHECK;

/* Stops watching w's socket: call before it is closed. */
void loop_unwatch(struct loop_watch *w);

/* The calling thread's loop, or NULL on a thread that is not a loop. */
struct loop *loop_current(void);

/*
 * Makes l run its daemon soon. libmicrohttpd polled from outside has no wake-up channel of its
 * own: another thread that resumes one of l's connections calls this right after.
 */
void loop_wake(struct loop *l);

#endif
