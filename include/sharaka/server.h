/* server.h - the libmicrohttpd daemon, its limits and the request lifecycle. */
#ifndef SHARAKA_SERVER_H
#define SHARAKA_SERVER_H

#include <stdbool.h>

#include "sharaka/util.h"

/*
 * Serves until SIGTERM or SIGINT, then lets in-flight requests finish (up to the shutdown
 * timeout) and returns 0; returns 1 when the daemon cannot start.
 */
int server_run(void);

/* True once shutdown began: responses then close their connection. */
bool server_draining(void);

/* Appends the Prometheus text of the request counters to b. */
void server_metrics_format(struct buf *b);

#endif
