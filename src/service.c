/* service.c - the service routes: health, readiness, metrics, the spec and its HTML reference. */
#include <string.h>

#include "sharaka/db.h"
#include "sharaka/deliveries.h"
#include "sharaka/handlers.h"
#include "sharaka/metrics.h"
#include "sharaka/replicas.h"

/* Generated at build time from openapi/openapi.yaml by scripts/gen_spec.py. */
extern const char spec_json[];
extern const unsigned long spec_json_len;
extern const char docs_html[];
extern const unsigned long docs_html_len;

static const char HEALTHY[] = "{\"status\":\"ok\"}";
static const char READY[] = "{\"status\":\"ready\"}";

void
service_healthz(struct request *r)
{
    http_static(r, 200, "application/json", HEALTHY, sizeof(HEALTHY) - 1);
}

static void
readyz_answer(struct request *r, PGresult *res, struct error *err)
{
    if (res == NULL) {
        http_error(r, err);
        return;
    }
    PQclear(res);
    http_static(r, 200, "application/json", READY, sizeof(READY) - 1);
}

void
service_readyz(struct request *r)
{
    if (metrics_draining()) {
        /* Before the database is asked: a balancer must stop sending here at once. */
        http_problem(r, 503, "draining", "the server is shutting down; send requests elsewhere");
        return;
    }
    http_await(r, "SELECT 1", 0, NULL, readyz_answer);
}

void
service_metrics(struct request *r)
{
    struct buf b = {0};
    metrics_format(&b);
    replicas_metrics(&b);
    deliveries_metrics(&b);
    size_t len = b.len;
    http_owned(r, 200, "text/plain; version=0.0.4; charset=utf-8", buf_take(&b), len);
}

void
service_openapi(struct request *r)
{
    http_static(r, 200, "application/json", spec_json, spec_json_len);
}

void
service_docs(struct request *r)
{
    http_add_header(r, "Content-Security-Policy",
                    "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    http_static(r, 200, "text/html; charset=utf-8", docs_html, docs_html_len);
}
