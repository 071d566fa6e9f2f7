/* janitor.c - purges rows past their retention, every few seconds, on a connection of its own. */
#include "sharaka/janitor.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/background.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/log.h"

/* The advisory lock one janitor holds for a round: "JANITOR" as a number, unlike migrate's. */
#define JANITOR_LOCK_KEY "7443442961434457426"
/* Rows deleted per statement, and statements per table and round: short transactions. */
#define JANITOR_BATCH       "5000"
#define JANITOR_BATCH_ROWS  5000
#define JANITOR_MAX_BATCHES 200

/*
 * What is purged: rows older than their retention, oldest first, in batches; rows a write holds
 * locked (an idempotency key being saved) are left for the next round. $1 is the retention in
 * seconds, $2 the batch size.
 */
static const int64_t login_throttle_retention = 120;
/* A delivered webhook delivery and its attempts stay a week in the delivery log. */
static const int64_t delivered_retention = 7 * 86400;
/* A refresh token past its expiry is worth nothing, spent or not: presented, it is unknown. */
static const int64_t refresh_retention = 0;
/* A webhook secret that a rotation replaced is dropped once it no longer signs. */
static const int64_t previous_secret_retention = 0;

struct purge {
    const char *what; /* for the log */
    const char *sql;
    const int64_t *retention; /* seconds, from the settings */
};

static const struct purge purges[] = {
    {"idempotency keys",
     "DELETE FROM idempotency_keys WHERE (principal, key) IN (SELECT principal, key "
     "FROM idempotency_keys WHERE created_at < clock_timestamp() - $1::bigint * interval '1 "
     "second' "
     "ORDER BY created_at LIMIT $2::int FOR UPDATE SKIP LOCKED)",
     &cfg.idempotency_retention},
    /* A bucket untouched for two minutes is full again: the same as no row. */
    {"sign-in buckets",
     "DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle WHERE at < "
     "clock_timestamp() - $1::bigint * interval '1 second' LIMIT $2::int FOR UPDATE SKIP LOCKED)",
     &login_throttle_retention},
    {"delivered webhook deliveries",
     "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = "
     "'delivered' AND delivered_at < clock_timestamp() - $1::bigint * interval '1 second' "
     "ORDER BY delivered_at LIMIT $2::int FOR UPDATE SKIP LOCKED)",
     &delivered_retention},
    {"expired refresh tokens",
     "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at < "
     "clock_timestamp() - $1::bigint * interval '1 second' ORDER BY expires_at LIMIT $2::int "
     "FOR UPDATE SKIP LOCKED)",
     &refresh_retention},
    {"replaced webhook secrets",
     "UPDATE webhooks SET previous_secret = NULL, previous_secret_until = NULL WHERE id IN "
     "(SELECT id FROM webhooks WHERE previous_secret_until < clock_timestamp() - $1::bigint * "
     "interval '1 second' LIMIT $2::int FOR UPDATE SKIP LOCKED)",
     &previous_secret_retention},
};

static struct background janitor = {.name = "janitor"};

static bool
should_stop(void)
{
    return background_stopping(&janitor);
}

/* Runs sql without parameters; true when it returned rows whose first value is "t". */
static bool
query_true(PGconn *pg, const char *sql, bool *ok)
{
    PGresult *res = PQexec(pg, sql);
    *ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    bool t = *ok && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (!*ok)
        log_warn("janitor: %s: %s", sql, PQerrorMessage(pg));
    PQclear(res);
    return t;
}

/* Deletes one kind of row past its retention. Returns false when the connection failed. */
static bool
purge_one(PGconn *pg, const struct purge *p)
{
    char retention[24];
    snprintf(retention, sizeof(retention), "%" PRId64, *p->retention);
    const char *values[] = {retention, JANITOR_BATCH};
    long long total = 0;

    for (int i = 0; i < JANITOR_MAX_BATCHES && !should_stop(); i++) {
        PGresult *res = PQexecParams(pg, p->sql, 2, NULL, values, NULL, NULL, 0);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        long long n = ok ? atoll(PQcmdTuples(res)) : 0;
        if (!ok)
            log_warn("janitor: purging %s failed: %s", p->what, PQresultErrorMessage(res));
        PQclear(res);
        if (!ok)
            return PQstatus(pg) == CONNECTION_OK;
        total += n;
        if (n < JANITOR_BATCH_ROWS)
            break;
    }
    if (total > 0)
        log_info("janitor: purged %lld %s past their retention of %s s", total, p->what, retention);
    return true;
}

/* One round: connect when needed, take the lock (or leave the round to another server), purge. */
static void
run_round(PGconn **pg)
{
    struct error err = {0};
    bool ok = true;

    if (*pg != NULL && PQstatus(*pg) != CONNECTION_OK) {
        PQfinish(*pg);
        *pg = NULL;
    }
    if (*pg == NULL) {
        *pg = db_connect(&err);
        error_clear(&err);
        if (*pg == NULL)
            return; /* logged by db_connect; next round tries again */
    }
    if (!query_true(*pg, "SELECT pg_try_advisory_lock(" JANITOR_LOCK_KEY ")", &ok))
        goto out; /* another server is purging, or the query failed */
    for (size_t i = 0; ok && i < ARRAY_LEN(purges); i++)
        ok = purge_one(*pg, &purges[i]);
    if (ok)
        (void)query_true(*pg, "SELECT pg_advisory_unlock(" JANITOR_LOCK_KEY ")", &ok);
out:
    if (!ok) {
        /* A broken connection releases its session lock with it. */
        PQfinish(*pg);
        *pg = NULL;
    }
}

static void *
janitor_main(void *arg)
{
    PGconn *pg = NULL;
    (void)arg;
    do
        run_round(&pg);
    while (background_sleep(&janitor, cfg.janitor_interval * 1000));
    PQfinish(pg);
    return NULL;
}

void
janitor_start(void)
{
    if (!background_start(&janitor, janitor_main, NULL))
        log_error("janitor: rows past their retention are not purged");
}

void
janitor_stop(void)
{
    background_stop(&janitor);
}
