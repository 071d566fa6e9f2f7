/* handlers.h - every route handler the route table names. */
#ifndef SHARAKA_HANDLERS_H
#define SHARAKA_HANDLERS_H

#include "sharaka/http.h"
#include "sharaka/sql.h"

/* export.c: route arg is "csv" or "ndjson" */
void export_get(struct request *r);

/* stats.c: the route arg says which statistics */
struct stats_kind;
void stats_get(struct request *r);
extern const struct stats_kind stats_partnerships_kind;
extern const struct stats_kind stats_monitoring_kind;
/* stats_any.c: GET /v1/stats/{resource}; stats_of answers it for res (NULL: a 404) */
struct resource;
void stats_resource(struct request *r);
void stats_of(struct request *r, const struct resource *res);
/* The statement GET /v1/stats/{resource} runs for these parameters (for the benchmark and its
 * test); false with err set as the request would get it. */
struct query_arg;
bool stats_statement(struct arena *a, const struct resource *res, const struct query_arg *args,
                     int nargs, bool internal, struct sql *s, struct error *err);

/* search.c: GET /v1/search; its statement is built once before serving */
void search_init(void);
void search_get(struct request *r);
/* changes.c */
void changes_list(struct request *r);

/* service.c */
void service_healthz(struct request *r);
void service_readyz(struct request *r);
void service_metrics(struct request *r);
void service_openapi(struct request *r);
void service_docs(struct request *r);
void service_console(struct request *r);
void service_console_asset(struct request *r);

/* webhooks.c: /v1/webhooks and its sub-resources */
void webhooks_create(struct request *r);
void webhooks_list(struct request *r);
void webhooks_get(struct request *r);
void webhooks_patch(struct request *r);
void webhooks_delete(struct request *r);
void webhooks_test(struct request *r);
void webhooks_deliveries(struct request *r);
void webhooks_rotate(struct request *r);
/* users.c */
void auth_token_create(struct request *r);
void auth_me_get(struct request *r);
void apikeys_create(struct request *r);
/* sessions.c */
void auth_refresh(struct request *r);
void auth_logout(struct request *r);
void auth_password_change(struct request *r);

#endif
