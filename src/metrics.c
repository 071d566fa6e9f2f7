/* metrics.c - the draining flag, requests in flight and the request counters, all atomics. */
#include "sharaka/metrics.h"

#include <stdatomic.h>

#define STATUS_MAX 600

static atomic_int inflight;
static atomic_bool draining;
static atomic_uint_fast64_t status_counts[STATUS_MAX]; /* by status code */
static atomic_uint_fast64_t duration_us_total;
static atomic_uint_fast64_t bytes_total;

bool
metrics_draining(void)
{
    return atomic_load(&draining);
}

void
metrics_set_draining(void)
{
    atomic_store(&draining, true);
}

void
metrics_request_begin(void)
{
    atomic_fetch_add(&inflight, 1);
}

void
metrics_request_end(int status, uint64_t duration_us, uint64_t bytes)
{
    if (status > 0 && status < STATUS_MAX)
        atomic_fetch_add(&status_counts[status], 1);
    atomic_fetch_add(&duration_us_total, duration_us);
    atomic_fetch_add(&bytes_total, bytes);
    atomic_fetch_sub(&inflight, 1);
}

int
metrics_inflight(void)
{
    return atomic_load(&inflight);
}

void
metrics_format(struct buf *b)
{
    buf_puts(b, "# HELP sharaka_http_requests_total Requests answered, by status code.\n"
                "# TYPE sharaka_http_requests_total counter\n");
    for (int s = 100; s < STATUS_MAX; s++) {
        uint64_t n = atomic_load(&status_counts[s]);
        if (n)
            buf_printf(b, "sharaka_http_requests_total{code=\"%d\"} %llu\n", s,
                       (unsigned long long)n);
    }
    buf_printf(b,
               "# HELP sharaka_http_request_duration_seconds_total Time spent answering requests.\n"
               "# TYPE sharaka_http_request_duration_seconds_total counter\n"
               "sharaka_http_request_duration_seconds_total %.6f\n"
               "# HELP sharaka_http_response_bytes_total Body bytes sent.\n"
               "# TYPE sharaka_http_response_bytes_total counter\n"
               "sharaka_http_response_bytes_total %llu\n"
               "# HELP sharaka_http_requests_in_flight Requests being answered now.\n"
               "# TYPE sharaka_http_requests_in_flight gauge\n"
               "sharaka_http_requests_in_flight %d\n",
               (double)atomic_load(&duration_us_total) / 1e6,
               (unsigned long long)atomic_load(&bytes_total), atomic_load(&inflight));
}
