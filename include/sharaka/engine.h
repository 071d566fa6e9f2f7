/* engine.h - what the files of the engine share: read.c, write.c, idempotency.c,
 * write_handlers.c, batch.c and seed.c, with the request helpers of engine.c. Only those files
 * include it; the rest of the server knows the engine through resource.h. */
#ifndef SHARAKA_ENGINE_H
#define SHARAKA_ENGINE_H

#include <jansson.h>
#include <libpq-fe.h>

#include "sharaka/db.h"
#include "sharaka/query.h"
#include "sharaka/resource.h"

#define ENGINE_MAX_REFS        64
#define ENGINE_ETAG_HASH_BYTES 16 /* crypto_generichash_BYTES_MIN */

struct arg_list {
    struct query_arg args[QUERY_MAX_ARGS];
    int n;
};

/* What one write did, for the answer and for batch results. */
enum write_kind { WRITE_CREATED, WRITE_UPDATED, WRITE_UNCHANGED };

struct write_result {
    enum write_kind kind;
    const char *id;
    PGresult *row; /* the record as the caller sees it: JSON text, version */
};

extern const char *const engine_write_kind_names[];

/*
 * Locks the live record for a write and checks if_match (when given) against its version.
 * Returns its row (JSON, version), or NULL with err (404, 412).
 */
PGresult *engine_lock_record(struct request *r, struct db_conn *c, const struct resource *res,
                             const char *id, const char *pid, const char *if_match,
                             struct error *err);

/* The descriptor the route names. */
const struct resource *engine_resource_of(struct request *r);

/* True when the caller may see internal fields. */
bool engine_sees_internal(struct request *r);

/* The record id: the last path parameter. */
const char *engine_record_id(struct request *r);

/* A sub-collection's parent id: the first path parameter. */
const char *engine_parent_id(struct request *r, const struct resource *res);

/* The request's query parameters, at most QUERY_MAX_ARGS; false with a 400 beyond. */
bool engine_collect_args(struct request *r, struct arg_list *l, struct error *err);

/* 404: no live record of res with id. */
void engine_not_found(struct error *err, const struct resource *res, const char *id);

/*
 * The ETag of one representation: the record's version, then a hash of the bytes the caller is
 * answered. Two views of a record (public and internal, fields=, include=) differ in their bytes,
 * and so does a record whose embedded records changed: each gets its own strong ETag. row is a
 * result whose first column is the JSON text and whose second is the version. Arena-owned.
 */
const char *engine_etag_of(struct request *r, PGresult *row);

/*
 * True when an If-Match / If-None-Match list (RFC 9110 section 13.1) names etag, or is "*".
 * strong (If-Match) never lets a weak tag W/"..." match; otherwise (If-None-Match) the weak
 * comparison ignores W/. A list that is not made of entity tags matches nothing.
 */
bool engine_etag_listed(const char *header, const char *etag, bool strong);

/* 404: no live parent of the sub-collection with id pid. */
void engine_parent_not_found(struct error *err, const struct resource *res, const char *pid);

/*
 * The language of a read: given (lang=, one of query_langs) when not NULL, else the one the
 * request's Accept-Language prefers, or NULL. The answer says which (Content-Language) and that
 * it depends on the header (Vary: Accept-Language).
 */
const char *engine_read_language(struct request *r, const char *given);

/* Ends workbook x (NULL: it could not be started) and sends it, as the attachment
 * <attachment>.xlsx unless attachment is NULL; false with a 503 in err when it cannot be
 * written. */
struct xlsx;
bool engine_send_workbook(struct request *r, struct xlsx *x, const char *attachment,
                          struct error *err);

/*
 * Checks, inside the open transaction, that a sub-collection's parent is live, and holds it
 * (FOR SHARE) so that it cannot be deleted before the transaction ends: a record is never
 * written under a deleted parent. 404 otherwise; true for a resource without a parent.
 */
bool engine_parent_live(struct request *r, struct db_conn *c, const struct resource *res,
                        const char *pid, struct error *err);

/* Adds the audit row of a write, inside the write's transaction. */
bool engine_write_audit(struct request *r, struct db_conn *c, const struct resource *res,
                        const char *action, const char *id, const char *before, const char *after,
                        struct error *err);

/* The source a write is stamped with: the partner key's, or that of direct writes. */
const char *engine_write_source(struct request *r);

/* Checks a body's keys and, on create, its values: 422 with every error at once. */
bool engine_check_body(const struct resource *res, json_t *body, bool create, struct error *err);

/*
 * Creates a record from body inside the open transaction: checks, policy, references, the row,
 * a partnership's organizations, the audit row. Fills out on success; err otherwise.
 */
bool engine_write_create(struct request *r, struct db_conn *c, const struct resource *res,
                         json_t *body, const char *pid, struct write_result *out,
                         struct error *err);

/*
 * Applies patch (a JSON merge patch) to the record id inside the open transaction. if_match,
 * when given, must name the stored version. Fills out on success (WRITE_UNCHANGED when nothing
 * changed); err otherwise.
 */
bool engine_write_update(struct request *r, struct db_conn *c, const struct resource *res,
                         const char *id, const char *pid, json_t *patch, const char *if_match,
                         struct write_result *out, struct error *err);

/*
 * Brings the deleted record id back inside the open transaction (its version grows by one and
 * the change feed shows an upsert): 404 when there is no such record, 409 when it is not deleted
 * or refers to records that are. Fills out on success.
 */
bool engine_write_restore(struct request *r, struct db_conn *c, const struct resource *res,
                          const char *id, struct write_result *out, struct error *err);

/*
 * This thread's connection with the request's Idempotency-Key claimed on it: the connection
 * when the write may go on; NULL when the stored answer was replayed (r is answered) or err says
 * why not.
 */
struct db_conn *idempotency_connect(struct request *r, struct error *err);

/* Stores the answer inside the write's transaction, so that it commits with the write. */
bool idempotency_save(struct request *r, struct db_conn *c, int status, const char *location,
                      const char *etag, const char *body, struct error *err);

/* Releases the key of a request that failed, so that a retry runs again. */
void idempotency_release(struct request *r, struct db_conn *c);

/* Ends a write: commit, or roll back and release the idempotency key. */
bool engine_finish(struct request *r, struct db_conn *c, bool ok, struct error *err);

#endif
