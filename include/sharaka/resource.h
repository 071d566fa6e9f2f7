/* resource.h - the engine: one set of handlers serves every resource from its descriptor. */
#ifndef SHARAKA_RESOURCE_H
#define SHARAKA_RESOURCE_H

#include "sharaka/descriptor.h"
#include "sharaka/http.h"

/* The handlers the route table points at; route->arg is the descriptor. */
void resource_list(struct request *r);
void resource_get(struct request *r);
void resource_create(struct request *r);
void resource_patch(struct request *r);
void resource_delete(struct request *r);
/* POST /v1/{resource}/{id}/restore: a deleted record back, for those who may delete it. */
void resource_restore(struct request *r);
/* POST /v1/{resource}/batch: up to 1000 creates or updates, all or nothing. */
void resource_batch(struct request *r);

/* Prepares what the engine needs (cursor key); call once before serving. */
void resource_init(void);

/* The demo data: runs the embedded seed SQL in one transaction. Returns 0 on success. */
int resource_seed_demo(void);

#endif
