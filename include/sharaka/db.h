/* db.h - one PostgreSQL connection per worker thread, prepared statements, SQLSTATE to HTTP. */
#ifndef SHARAKA_DB_H
#define SHARAKA_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "sharaka/core.h"

struct db_conn;

/* Opens a connection with the settings' timeouts. Returns NULL with err set (503) on failure. */
PGconn *db_connect(struct error *err);

/* Starts the same connection to url (NULL: SHARAKA_DATABASE_URL) without waiting for it
 * (PQconnectStartParams): the caller drives it with PQconnectPoll. New; NULL only when out of
 * memory. */
PGconn *db_connect_start(const char *url);

/* Opens a connection to url named application_name, waiting for it. New; check PQstatus. */
PGconn *db_connect_to(const char *url, const char *application_name);

/*
 * Returns this thread's connection, connecting and preparing statements first when there is
 * none or the last one broke. Borrowed; NULL with err set to 503 when the database is down.
 */
struct db_conn *db_thread_conn(struct error *err);

/*
 * Runs sql (a static text, or built from descriptors; values only as $n parameters), preparing it
 * on first use on this connection and reusing the prepared statement afterwards: the one way
 * statements are prepared. Returns the result (the caller owns it and must PQclear it) when it
 * succeeded, or NULL with err set from the SQLSTATE. A broken connection gives 503 and is
 * reconnected on the next call.
 */
PGresult *db_exec_sql(struct db_conn *c, const char *sql, int nparams, const char *const *values,
                      struct error *err);

/* Runs plain SQL (no parameters) on c, for BEGIN/COMMIT/ROLLBACK. Returns false with err set. */
bool db_command(struct db_conn *c, const char *sql, struct error *err) MUSTCHECK;

/* Rolls back c's open transaction, if any; false when the connection could not. */
bool db_rollback(struct db_conn *c);

/*
 * Commits c's transaction and writes the WAL position at or past the commit (pg_lsn text, e.g.
 * "0/16B3748") to position, in one round trip. False with err set when the commit failed.
 */
bool db_commit(struct db_conn *c, char *position, size_t len, struct error *err) MUSTCHECK;

/* The underlying libpq connection. */
PGconn *db_pg(struct db_conn *c);

/* Fills err from a failed result: maps the SQLSTATE to an HTTP status through one table. */
void db_error_from_result(PGconn *pg, const PGresult *res, struct error *err);

/*
 * Leases a connection of the export pool (SHARAKA_EXPORT_CONNECTIONS, statement_timeout
 * SHARAKA_EXPORT_TIMEOUT) to client_ip. Returns NULL with err set to 429 when that address already
 * holds its share, 503 when every connection is busy or the database is down (Retry-After set).
 * Ordinary requests never use these connections. Give it back with db_export_release.
 */
PGconn *db_export_acquire(const char *client_ip, int *slot, struct error *err);

/* Returns a leased slot; pg is kept for the next export when it is idle and sound, else closed. */
void db_export_release(int slot, PGconn *pg);

/* Closes every thread's connection; call after the server stopped. */
void db_close_all(void);

#endif
