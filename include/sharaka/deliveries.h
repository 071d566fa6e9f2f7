/* deliveries.h - the webhook sender inside `serve`. */
#ifndef SHARAKA_DELIVERIES_H
#define SHARAKA_DELIVERIES_H

/*
 * Starts the sender thread (unless SHARAKA_WEBHOOK_CONCURRENCY is 0): on a database connection of
 * its own it leases due deliveries from the outbox, sends up to SHARAKA_WEBHOOK_CONCURRENCY at
 * once and records every attempt. A failure to start is logged; the server serves on.
 */
void deliveries_start(void);

/* Lets deliveries in flight finish for a moment, gives the rest of its leases back, and stops.
 * Does nothing when it was not started. */
void deliveries_stop(void);

/* Appends the sender's Prometheus metrics: attempts by outcome, deliveries in flight. */
struct buf;
void deliveries_metrics(struct buf *b);

#endif
