/* pipeline.h - one non-blocking PostgreSQL connection in pipeline mode, driven by an event loop.
 *
 * Each event loop owns one pipeline. A job is one to PIPELINE_MAX_STATEMENTS statements sent
 * together and closed by one sync: they travel in one round trip and their results come back
 * together. Jobs are sent as soon as they are submitted, without waiting for the ones before;
 * their results come back in order. Nothing here blocks: the loop watches pipeline_socket() and
 * calls pipeline_service() when it is ready. */
#ifndef SHARAKA_PIPELINE_H
#define SHARAKA_PIPELINE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "sharaka/core.h"

#define PIPELINE_MAX_STATEMENTS 3

struct pipeline;

/* A statement: its text (a static text, or built from descriptors; values only as $n
 * parameters) and its parameter values. Borrowed: they must stay valid until the job is done. */
struct pipeline_statement {
    const char *sql;
    int nparams;
    const char *const *params;
};

/*
 * Called once per job on the loop's thread. res[i] is statement i's result, owned by the callee
 * (NULL when the statement failed or did not run). err is set (err->status != 0) when one failed:
 * the first failure, mapped from its SQLSTATE; the callee clears it. A job whose connection broke
 * before its results came is sent again once on a fresh connection (statements sent this way are
 * reads); after that, or when no connection can be made, err is a 503.
 */
typedef void (*pipeline_done_fn)(void *arg, PGresult **res, int n, struct error *err);

/*
 * A pipeline with no connection yet; it connects to url (NULL: SHARAKA_DATABASE_URL) when the
 * first job comes. A replica's pipeline names the primary's pipeline of the same loop as its
 * fallback and its index in SHARAKA_DATABASE_READ_URL: when its connection breaks or cannot be
 * made, or a statement fails for a reason of the replica's (a conflict with recovery, a
 * restart), its jobs go to the fallback instead of failing, and the replica is marked down. The
 * loop must service the fallback after the replicas. New.
 */
struct pipeline *pipeline_new(const char *url, struct pipeline *fallback, int replica);

/* Ends every job still waiting with a 503, closes the connection and frees p. */
void pipeline_free(struct pipeline *p);

/* Queues a job of n statements (1..PIPELINE_MAX_STATEMENTS) and sends it when it can; done runs
 * later, never from inside this call. */
void pipeline_submit(struct pipeline *p, const struct pipeline_statement *st, int n,
                     pipeline_done_fn done, void *arg);

/*
 * The socket the loop must watch for p and for what (EPOLLIN, EPOLLOUT bits in *events), or -1.
 * *generation changes whenever the socket was replaced, so the loop knows to register it again
 * even when the new socket reuses the old number.
 */
int pipeline_socket(struct pipeline *p, uint32_t *events, uint64_t *generation);

/* Does what can be done without waiting: connects, sends, reads results and runs the callbacks
 * of the jobs that are complete. Call with the socket's epoll events when it is ready, with 0
 * after submitting jobs, and at least once a second (a connection attempt has a deadline). */
void pipeline_service(struct pipeline *p, uint32_t events);

/* Jobs waiting for their results (sent or not), for the metrics. */
int pipeline_waiting(const struct pipeline *p);

#endif
