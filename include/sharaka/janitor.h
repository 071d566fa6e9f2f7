/* janitor.h - the purge of rows that exist only for a while, on a schedule inside `serve`. */
#ifndef SHARAKA_JANITOR_H
#define SHARAKA_JANITOR_H

/*
 * Starts the janitor thread: every SHARAKA_JANITOR_INTERVAL seconds, on a database connection of
 * its own, it deletes the rows past their retention (idempotency keys older than
 * SHARAKA_IDEMPOTENCY_RETENTION). Safe with any number of servers on one database: an advisory
 * lock lets one of them do a round at a time. A failure is logged and retried next round.
 */
void janitor_start(void);

/* Wakes the janitor, waits for the round in progress (bounded by the statement timeout) and
 * closes its connection. Does nothing when it was not started. */
void janitor_stop(void);

#endif
