/* metrics.h - the process's shared state below the server: the draining flag, requests in
 * flight and the request counters that /metrics shows. */
#ifndef SHARAKA_METRICS_H
#define SHARAKA_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "sharaka/util.h"

/* True once shutdown began: responses then close their connection. */
bool metrics_draining(void);
void metrics_set_draining(void);

/* A request began; one ended (status 0 when its answer was not delivered). */
void metrics_request_begin(void);
void metrics_request_end(int status, uint64_t duration_us, uint64_t bytes);
/* Requests begun and not yet ended. */
int metrics_inflight(void);

/* Appends the Prometheus text of the request counters to b. */
void metrics_format(struct buf *b);

#endif
