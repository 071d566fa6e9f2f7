/* handlers.h - every route handler the route table names. */
#ifndef SHARAKA_HANDLERS_H
#define SHARAKA_HANDLERS_H

#include "sharaka/http.h"

/* Builds the change feed's statement; called once before serving. */
void changes_init(void);

/* export.c: route arg is "csv" or "ndjson" */
void export_get(struct request *r);

/* stats.c: the route arg says which statistics */
struct stats_kind;
void stats_get(struct request *r);
extern const struct stats_kind stats_partnerships_kind;
extern const struct stats_kind stats_monitoring_kind;

/* changes.c */
void changes_list(struct request *r);

/* service.c */
void service_healthz(struct request *r);
void service_readyz(struct request *r);
void service_metrics(struct request *r);
void service_openapi(struct request *r);
void service_docs(struct request *r);

/* users.c */
void auth_token_create(struct request *r);
void auth_me_get(struct request *r);
void apikeys_create(struct request *r);

#endif
