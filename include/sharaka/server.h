/* server.h - the libmicrohttpd daemon, its limits and the request lifecycle. */
#ifndef SHARAKA_SERVER_H
#define SHARAKA_SERVER_H

/*
 * Serves until SIGTERM or SIGINT, then lets in-flight requests finish (up to the shutdown
 * timeout) and returns 0; returns 1 when the daemon cannot start.
 */
int server_run(void);

#endif
