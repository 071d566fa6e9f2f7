/* db.c - per-thread connections, statements prepared once per connection, SQLSTATE mapping. */
#include "sharaka/db.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/config.h"
#include "sharaka/log.h"
#include "sharaka/statements.h"

struct db_conn {
    PGconn *pg;
    struct db_conn *next;
    struct statement_cache prepared; /* named "c<slot>" */
    bool in_transaction;             /* the last statement left a transaction open */
};

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db_conn *all_conns;
static _Thread_local struct db_conn *thread_conn;

/* Server notices go to the log at debug level instead of straight to stderr. */
static void
log_notice(void *arg, const char *message)
{
    log_debug("database: %.*s", (int)strcspn(message, "\n"), message);
}

/* Starts a connection named application_name with a statement_timeout of timeout_ms; blocking
 * waits for it to be made. */
static PGconn *
start_connection_to(const char *url, const char *application_name, int64_t timeout_ms,
                    bool blocking)
{
    /* JIT compiling pays off for long analytic queries only: ours are short, prepared once and
     * run many times, and an export's JIT work would be redone for every export. */
    char options[160];
    snprintf(options, sizeof(options),
             "-c statement_timeout=%lld -c idle_in_transaction_session_timeout=%lld -c jit=off",
             (long long)timeout_ms, (long long)timeout_ms * 2);
    const char *keys[] = {"dbname",  "application_name", "connect_timeout",
                          "options", "client_encoding",  NULL};
    const char *vals[] = {url, application_name, "5", options, "UTF8", NULL};
    return blocking ? PQconnectdbParams(keys, vals, 1) : PQconnectStartParams(keys, vals, 1);
}

static PGconn *
start_connection(const char *application_name, int64_t timeout_ms, bool blocking)
{
    return start_connection_to(cfg.database_url, application_name, timeout_ms, blocking);
}

PGconn *
db_connect_start(const char *url)
{
    PGconn *pg = start_connection_to(url != NULL ? url : cfg.database_url, "sharaka",
                                     cfg.statement_timeout_ms, false);
    if (pg != NULL)
        PQsetNoticeProcessor(pg, log_notice, NULL);
    return pg;
}

PGconn *
db_connect_to(const char *url, const char *application_name)
{
    PGconn *pg = start_connection_to(url, application_name, cfg.statement_timeout_ms, true);
    if (pg != NULL && PQstatus(pg) == CONNECTION_OK)
        PQsetNoticeProcessor(pg, log_notice, NULL);
    return pg;
}

/* Opens a connection named application_name with a statement_timeout of timeout_ms. */
static PGconn *
connect_as(const char *application_name, int64_t timeout_ms, struct error *err)
{
    PGconn *pg = start_connection(application_name, timeout_ms, true);
    if (PQstatus(pg) != CONNECTION_OK) {
        char *msg = PQerrorMessage(pg);
        size_t n = strcspn(msg, "\n");
        log_warn("database connection failed: %.*s", (int)n, msg);
        error_set(err, 503, "database-unavailable", "the database is unavailable; try again");
        PQfinish(pg);
        return NULL;
    }
    PQsetNoticeProcessor(pg, log_notice, NULL);
    return pg;
}

PGconn *
db_connect(struct error *err)
{
    return connect_as("sharaka", cfg.statement_timeout_ms, err);
}

/*
 * True when an idle connection's server has gone away. PostgreSQL ends its idle sessions when it
 * stops (a FATAL message, then end of file), so the socket of a connection that lost its server is
 * readable while nothing is in flight; reading it makes libpq see the end and report
 * CONNECTION_BAD. Nothing is sent, so a statement that follows has not reached any server.
 */
static bool
lost_while_idle(PGconn *pg)
{
    if (PQstatus(pg) != CONNECTION_OK)
        return true;
    if (PQtransactionStatus(pg) != PQTRANS_IDLE)
        return false;
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = PQsocket(pg), .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            return false;
        if (!PQconsumeInput(pg) || PQstatus(pg) != CONNECTION_OK)
            return true;
        PGnotify *n;
        while ((n = PQnotifies(pg)) != NULL)
            PQfreemem(n);
    }
    return PQstatus(pg) != CONNECTION_OK;
}

/* Replaces c's connection by a fresh one; its statements are prepared again as they are used. */
static bool
reconnect(struct db_conn *c, struct error *err)
{
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    statement_clear(&c->prepared);
    PGconn *pg = db_connect(err);
    if (pg == NULL)
        return false;
    c->pg = pg;
    return true;
}

/*
 * Makes c fit to send a statement: a connection found dead before anything was sent is replaced,
 * so the statement goes to the server that is there now. Inside a transaction a lost connection
 * cannot be replaced (the transaction is gone): 503.
 */
static bool
ready_to_send(struct db_conn *c, struct error *err)
{
    if (c->pg != NULL && !lost_while_idle(c->pg))
        return true;
    if (c->in_transaction) {
        error_set(err, 503, "database-unavailable", "the database is unavailable; try again");
        return false;
    }
    if (c->pg != NULL)
        log_info("database connection lost while idle; reconnecting");
    return reconnect(c, err);
}

struct db_conn *
db_thread_conn(struct error *err)
{
    struct db_conn *c = thread_conn;
    if (c == NULL) {
        c = xcalloc(1, sizeof(*c));
        pthread_mutex_lock(&conns_lock);
        c->next = all_conns;
        all_conns = c;
        pthread_mutex_unlock(&conns_lock);
        thread_conn = c;
    }
    c->in_transaction = false; /* a request starts outside any transaction */
    return ready_to_send(c, err) ? c : NULL;
}

PGconn *
db_pg(struct db_conn *c)
{
    return c->pg;
}

/* SQLSTATE (or its class, when the code ends in "*") → HTTP status and problem code. */
static const struct {
    const char *sqlstate;
    int status;
    const char *code;
    const char *detail;
} sqlstate_map[] = {
    {"23505", 409, "duplicate", "a record with the same unique value already exists"},
    {"23503", 422, "invalid-reference", "a referenced record does not exist"},
    {"23514", 422, "invalid-value", "a value breaks a rule of the record"},
    {"23502", 422, "required", "a required value is missing"},
    {"22P02", 422, "invalid-value", "a value has the wrong format"},
    {"22007", 422, "invalid-value", "a date or time has the wrong format"},
    {"22008", 422, "invalid-value", "a date or time is out of range"},
    {"22003", 422, "invalid-value", "a number is out of range"},
    {"22001", 422, "invalid-value", "a value is too long"},
    {"40001", 409, "conflict", "the record changed concurrently; retry the request"},
    {"40P01", 409, "conflict", "the request conflicted with another; retry the request"},
    {"57014", 503, "timeout", "the database took too long to answer"},
    {"55P03", 409, "conflict", "the record is locked by another request; retry the request"},
    {"08*", 503, "database-unavailable", "the database is unavailable; try again"},
    {"53*", 503, "database-unavailable", "the database is overloaded; try again"},
    {"57P*", 503, "database-unavailable", "the database is restarting; try again"},
};

void
db_error_from_result(PGconn *pg, const PGresult *res, struct error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK || state == NULL) {
        error_set(err, 503, "database-unavailable", "the database is unavailable; try again");
        return;
    }
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (constraint != NULL)
        snprintf(err->constraint, sizeof(err->constraint), "%s", constraint);
    for (size_t i = 0; i < ARRAY_LEN(sqlstate_map); i++) {
        const char *s = sqlstate_map[i].sqlstate;
        size_t n = strlen(s);
        bool match = s[n - 1] == '*' ? strncmp(state, s, n - 1) == 0 : strcmp(state, s) == 0;
        if (match) {
            error_set(err, sqlstate_map[i].status, sqlstate_map[i].code, "%s",
                      sqlstate_map[i].detail);
            return;
        }
    }
    log_error("unexpected database error %s: %s", state, PQresultErrorMessage(res));
    error_set(err, 500, "internal-error", "an unexpected database error occurred");
}

/* Passes a successful result on; turns a failed one into err and NULL. */
static PGresult *
checked(struct db_conn *c, PGresult *res, struct error *err)
{
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    if (ts != PQTRANS_UNKNOWN)
        c->in_transaction = ts != PQTRANS_IDLE;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    db_error_from_result(c->pg, res, err);
    PQclear(res);
    return NULL;
}

static PGresult *
exec_prepared(struct db_conn *c, const char *name, int nparams, const char *const *values,
              struct error *err)
{
    return checked(c, PQexecPrepared(c->pg, name, nparams, values, NULL, NULL, 0), err);
}

PGresult *
db_exec_sql(struct db_conn *c, const char *sql, int nparams, const char *const *values,
            struct error *err)
{
    if (!ready_to_send(c, err))
        return NULL;
    int slot;
    char name[16];

    switch (statement_find(&c->prepared, sql, 'c', &slot, name)) {
    case STATEMENT_PREPARED:
        return exec_prepared(c, name, nparams, values, err);
    case STATEMENT_NEW: {
        PGresult *res = PQprepare(c->pg, name, sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            statement_forget(&c->prepared, slot);
            db_error_from_result(c->pg, res, err);
            if (err->status == 500)
                log_error("preparing failed: %s in %s", PQresultErrorMessage(res), sql);
            PQclear(res);
            return NULL;
        }
        PQclear(res);
        return exec_prepared(c, name, nparams, values, err);
    }
    case STATEMENT_UNNAMED:
        break;
    }
    return checked(c, PQexecParams(c->pg, sql, nparams, NULL, values, NULL, NULL, 0), err);
}

bool
db_command(struct db_conn *c, const char *sql, struct error *err)
{
    if (!ready_to_send(c, err))
        return false;
    PGresult *res = checked(c, PQexec(c->pg, sql), err);
    bool ok = res != NULL;
    PQclear(res);
    return ok;
}

bool
db_rollback(struct db_conn *c)
{
    struct error ignored = {0};
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    if (ts != PQTRANS_INTRANS && ts != PQTRANS_INERROR)
        return true; /* no transaction open: nothing to undo */
    bool ok = db_command(c, "ROLLBACK", &ignored);
    error_clear(&ignored);
    return ok;
}

bool
db_commit(struct db_conn *c, char *position, size_t len, struct error *err)
{
    position[0] = '\0';
    if (!ready_to_send(c, err))
        return false;
    /* One round trip: the WAL insert position after the commit is at or past its record, so a
     * copy that has replayed it has the commit. */
    PGresult *res =
        checked(c, PQexec(c->pg, "COMMIT; SELECT pg_current_wal_insert_lsn()::text"), err);
    if (res == NULL)
        return false;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        snprintf(position, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

/* ---------------------------------------------------------------- export connections */

#define EXPORT_SLOTS 64

/* A bounded set of connections for exports, shared by every thread; each is leased to one export
 * at a time and kept for the next when the export ended cleanly. */
static struct {
    PGconn *pg;
    bool busy;
    char client_ip[48];
} export_slots[EXPORT_SLOTS];
static pthread_mutex_t export_lock = PTHREAD_MUTEX_INITIALIZER;

PGconn *
db_export_acquire(const char *client_ip, int *slot, struct error *err)
{
    int size = (int)(cfg.export_connections < EXPORT_SLOTS ? cfg.export_connections : EXPORT_SLOTS);
    int mine = 0, free_slot = -1;
    const char *wait = "5";
    pthread_mutex_lock(&export_lock);
    for (int i = 0; i < size; i++) {
        if (export_slots[i].busy && strcmp(export_slots[i].client_ip, client_ip) == 0)
            mine++;
        else if (!export_slots[i].busy && free_slot < 0)
            free_slot = i;
    }
    if (mine >= cfg.export_connections_per_ip) {
        pthread_mutex_unlock(&export_lock);
        error_set(err, 429, "too-many-exports",
                  "this address already runs %d export(s), the most allowed at once "
                  "(SHARAKA_EXPORT_CONNECTIONS_PER_IP); retry when one has finished",
                  mine);
        err->retry_after = wait;
        return NULL;
    }
    if (free_slot < 0) {
        pthread_mutex_unlock(&export_lock);
        error_set(err, 503, "exports-busy",
                  "every export connection is busy (SHARAKA_EXPORT_CONNECTIONS=%d); retry shortly",
                  size);
        err->retry_after = wait;
        return NULL;
    }
    export_slots[free_slot].busy = true;
    snprintf(export_slots[free_slot].client_ip, sizeof(export_slots[free_slot].client_ip), "%s",
             client_ip);
    PGconn *pg = export_slots[free_slot].pg;
    export_slots[free_slot].pg = NULL;
    pthread_mutex_unlock(&export_lock);

    if (pg != NULL && lost_while_idle(pg)) {
        PQfinish(pg);
        pg = NULL;
    }
    if (pg == NULL)
        pg = connect_as("sharaka-export", cfg.export_timeout * 1000, err);
    if (pg == NULL) {
        db_export_release(free_slot, NULL);
        return NULL;
    }
    *slot = free_slot;
    return pg;
}

void
db_export_release(int slot, PGconn *pg)
{
    /* Only a connection left idle, outside any transaction and with no result pending, is kept. */
    if (pg != NULL && (PQstatus(pg) != CONNECTION_OK || PQtransactionStatus(pg) != PQTRANS_IDLE)) {
        PQfinish(pg);
        pg = NULL;
    }
    pthread_mutex_lock(&export_lock);
    PGconn *old = export_slots[slot].pg;
    export_slots[slot].pg = pg;
    export_slots[slot].busy = false;
    export_slots[slot].client_ip[0] = '\0';
    pthread_mutex_unlock(&export_lock);
    if (old != NULL)
        PQfinish(old);
}

void
db_close_all(void)
{
    pthread_mutex_lock(&conns_lock);
    struct db_conn *c = all_conns;
    while (c != NULL) {
        struct db_conn *next = c->next;
        if (c->pg)
            PQfinish(c->pg);
        statement_clear(&c->prepared);
        free(c);
        c = next;
    }
    all_conns = NULL;
    pthread_mutex_unlock(&conns_lock);
    pthread_mutex_lock(&export_lock);
    for (int i = 0; i < EXPORT_SLOTS; i++) {
        if (export_slots[i].pg != NULL)
            PQfinish(export_slots[i].pg);
        export_slots[i].pg = NULL;
    }
    pthread_mutex_unlock(&export_lock);
}
