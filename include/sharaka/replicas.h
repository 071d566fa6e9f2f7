/* replicas.h - the streaming replicas of SHARAKA_DATABASE_READ_URL: which may serve a read now.
 *
 * A thread polls the primary's WAL insert position and each replica's replay position four times
 * a second. A replica's lag is the age of the newest primary position it has replayed: it is an
 * upper bound of how old what it answers may be, whether the primary is busy or idle. A replica
 * serves reads while it answers, is in recovery and lags at most SHARAKA_REPLICA_MAX_LAG. */
#ifndef SHARAKA_REPLICAS_H
#define SHARAKA_REPLICAS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sharaka/util.h"

/* Starts the polling thread when replicas are configured. False when it could not start. */
bool replicas_start(void) MUSTCHECK;
void replicas_stop(void);

/* How many replicas are configured, and the URL of replica i. */
int replicas_count(void);
const char *replicas_url(int i);

/*
 * The replica a read goes to, or -1 for the primary: the next usable one after *turn (which
 * advances) that has replayed need (a WAL position; 0 when the read asks for none).
 */
int replicas_choose(uint64_t need, unsigned *turn);

/* Replica i failed a read: it serves none until the next poll finds it well. */
void replicas_mark_down(int i);

/* The counter of reads served by replica i, or by the primary when i is -1. */
atomic_uint_fast64_t *replicas_reads_counter(int i);

/* Parses a WAL position, "X/Y" in hexadecimal as pg_lsn prints it. */
bool replicas_parse_position(const char *text, uint64_t *position);

/* Appends the metrics: reads by copy, each replica's lag and whether it is usable. */
void replicas_metrics(struct buf *b);

#endif
