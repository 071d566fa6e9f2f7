/* replicas.c - which streaming replicas may serve a read now, polled on a thread of its own. */
#include "sharaka/replicas.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sharaka/background.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/log.h"

#define POLL_US (250 * 1000)
/* Primary positions kept: 75 s at four a second, past the largest SHARAKA_REPLICA_MAX_LAG. */
#define SAMPLES 300

struct replica {
    PGconn *pg;
    char label[96];     /* host:port, for the metrics and the log */
    atomic_bool usable; /* serves reads */
    _Atomic uint64_t replayed;
    _Atomic int64_t lag_us; /* -1: unknown (down, not in recovery, not caught up enough) */
    atomic_uint_fast64_t reads;
    bool warned; /* its last problem was logged */
};

static struct replica replicas[CONFIG_MAX_REPLICAS];
static int nreplicas;
static atomic_uint_fast64_t primary_reads;

/* The primary's WAL insert position, polled: a ring, newest at (head - 1). */
static struct {
    uint64_t at_us;
    uint64_t position;
} samples[SAMPLES];
static int nsamples, head;
static PGconn *primary;

static struct background poller_thread = {.name = "replica poller"};

bool
replicas_parse_position(const char *text, uint64_t *position)
{
    unsigned long long hi = 0, lo = 0;
    int digits = 0;
    const char *p = text;
    for (; *p != '/'; p++, digits++) {
        int d = hex_digit(*p);
        if (d < 0 || digits == 8)
            return false;
        hi = hi * 16 + (unsigned)d;
    }
    if (digits == 0)
        return false;
    digits = 0;
    for (p++; *p != '\0'; p++, digits++) {
        int d = hex_digit(*p);
        if (d < 0 || digits == 8)
            return false;
        lo = lo * 16 + (unsigned)d;
    }
    if (digits == 0)
        return false;
    *position = (uint64_t)hi << 32 | (uint64_t)lo;
    return true;
}

int
replicas_count(void)
{
    return cfg.nread_urls;
}

const char *
replicas_url(int i)
{
    return cfg.read_urls[i];
}

int
replicas_choose(uint64_t need, unsigned *turn)
{
    int n = nreplicas;
    for (int k = 0; k < n; k++) {
        int i = (int)((*turn + (unsigned)k) % (unsigned)n);
        struct replica *r = &replicas[i];
        if (atomic_load(&r->usable) && (need == 0 || atomic_load(&r->replayed) >= need)) {
            *turn = (unsigned)i + 1;
            return i;
        }
    }
    return -1;
}

void
replicas_mark_down(int i)
{
    if (i >= 0 && i < nreplicas)
        atomic_store(&replicas[i].usable, false);
}

atomic_uint_fast64_t *
replicas_reads_counter(int i)
{
    return i >= 0 && i < nreplicas ? &replicas[i].reads : &primary_reads;
}

/* Runs a one-row query on *pg, connecting first when needed; NULL (and *pg closed) on failure,
 * with why written. */
static PGresult *
poll_one(PGconn **pg, const char *url, const char *sql, char *why, size_t whylen)
{
    if (*pg == NULL || PQstatus(*pg) != CONNECTION_OK) {
        if (*pg != NULL)
            PQfinish(*pg);
        *pg = db_connect_to(url, "sharaka-replicas");
        if (*pg == NULL || PQstatus(*pg) != CONNECTION_OK) {
            const char *msg = *pg != NULL ? PQerrorMessage(*pg) : "out of memory";
            snprintf(why, whylen, "%.*s", (int)strcspn(msg, "\n"), msg);
            PQfinish(*pg);
            *pg = NULL;
            return NULL;
        }
    }
    PGresult *res = PQexec(*pg, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        const char *msg = PQresultErrorMessage(res);
        snprintf(why, whylen, "%.*s", (int)strcspn(msg, "\n"), msg);
        PQclear(res);
        PQfinish(*pg);
        *pg = NULL;
        return NULL;
    }
    return res;
}

/* The age of the newest primary position r has replayed, in µs; -1 when no sample says. */
static int64_t
lag_of(uint64_t replayed, uint64_t now)
{
    for (int k = 1; k <= nsamples; k++) {
        int i = (head - k + SAMPLES) % SAMPLES;
        if (samples[i].position <= replayed)
            return (int64_t)(now - samples[i].at_us);
    }
    return -1;
}

static void
set_state(struct replica *r, bool usable, int64_t lag_us, const char *problem)
{
    if (usable && !atomic_load(&r->usable))
        log_info("replica %s serves reads (lag %.3f s)", r->label, (double)lag_us / 1e6);
    if (!usable && (atomic_load(&r->usable) || !r->warned))
        log_warn("replica %s does not serve reads: %s", r->label, problem);
    r->warned = !usable;
    atomic_store(&r->lag_us, lag_us);
    atomic_store(&r->usable, usable);
}

static void
poll_round(void)
{
    char why[256] = "";
    uint64_t now = now_us_monotonic();
    PGresult *res = poll_one(&primary, cfg.database_url, "SELECT pg_current_wal_insert_lsn()::text",
                             why, sizeof(why));
    uint64_t position;
    if (res != NULL && replicas_parse_position(PQgetvalue(res, 0, 0), &position)) {
        samples[head].at_us = now;
        samples[head].position = position;
        head = (head + 1) % SAMPLES;
        if (nsamples < SAMPLES)
            nsamples++;
    }
    PQclear(res);

    for (int i = 0; i < nreplicas; i++) {
        struct replica *r = &replicas[i];
        res = poll_one(&r->pg, cfg.read_urls[i],
                       "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text", why,
                       sizeof(why));
        if (res == NULL) {
            set_state(r, false, -1, why);
            continue;
        }
        bool recovering = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        uint64_t replayed = 0;
        bool known =
            !PQgetisnull(res, 0, 1) && replicas_parse_position(PQgetvalue(res, 0, 1), &replayed);
        PQclear(res);
        if (!recovering || !known) {
            set_state(r, false, -1,
                      !recovering ? "it is not a standby (pg_is_in_recovery() is false)"
                                  : "it has replayed nothing yet");
            continue;
        }
        atomic_store(&r->replayed, replayed);
        int64_t lag = lag_of(replayed, now_us_monotonic());
        bool fresh = lag >= 0 && lag <= cfg.replica_max_lag * 1000000;
        snprintf(why, sizeof(why), "%s past SHARAKA_REPLICA_MAX_LAG (%llds)",
                 lag < 0 ? "its lag is unknown" : "its lag is", (long long)cfg.replica_max_lag);
        set_state(r, fresh, lag, why);
    }
}

static void *
poller(void *unused)
{
    (void)unused;
    while (background_sleep(&poller_thread, POLL_US / 1000))
        poll_round();
    return NULL;
}

/* host:port of a URL, for the metrics: never its password. */
static void
label_of(const char *url, char *out, size_t len)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    const char *host = NULL, *port = NULL;
    for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    snprintf(out, len, "%s:%s", host != NULL ? host : "localhost", port != NULL ? port : "5432");
    PQconninfoFree(opts);
    PQfreemem(err);
}

bool
replicas_start(void)
{
    nreplicas = cfg.nread_urls;
    for (int i = 0; i < nreplicas; i++) {
        label_of(cfg.read_urls[i], replicas[i].label, sizeof(replicas[i].label));
        atomic_store(&replicas[i].lag_us, -1);
    }
    if (nreplicas == 0)
        return true;
    poll_round(); /* the replicas that are well serve from the first request */
    return background_start(&poller_thread, poller, NULL);
}

void
replicas_stop(void)
{
    if (!poller_thread.started)
        return;
    background_stop(&poller_thread);
    for (int i = 0; i < nreplicas; i++) {
        PQfinish(replicas[i].pg);
        replicas[i].pg = NULL;
        atomic_store(&replicas[i].usable, false);
    }
    PQfinish(primary);
    primary = NULL;
}

void
replicas_metrics(struct buf *b)
{
    buf_printf(b,
               "# HELP sharaka_database_reads_total Reads answered on the event loops, by the copy "
               "of the database that served them.\n"
               "# TYPE sharaka_database_reads_total counter\n"
               "sharaka_database_reads_total{copy=\"primary\"} %llu\n",
               (unsigned long long)atomic_load(&primary_reads));
    for (int i = 0; i < nreplicas; i++)
        buf_printf(b, "sharaka_database_reads_total{copy=\"replica\",replica=\"%s\"} %llu\n",
                   replicas[i].label, (unsigned long long)atomic_load(&replicas[i].reads));
    if (nreplicas == 0)
        return;
    buf_puts(b, "# HELP sharaka_replica_lag_seconds Age of the newest primary WAL position the "
                "replica has replayed (-1: unknown).\n"
                "# TYPE sharaka_replica_lag_seconds gauge\n");
    for (int i = 0; i < nreplicas; i++) {
        int64_t lag = atomic_load(&replicas[i].lag_us);
        buf_printf(b, "sharaka_replica_lag_seconds{replica=\"%s\"} %.3f\n", replicas[i].label,
                   lag < 0 ? -1.0 : (double)lag / 1e6);
    }
    buf_puts(b, "# HELP sharaka_replica_usable 1 when the replica serves reads now.\n"
                "# TYPE sharaka_replica_usable gauge\n");
    for (int i = 0; i < nreplicas; i++)
        buf_printf(b, "sharaka_replica_usable{replica=\"%s\"} %d\n", replicas[i].label,
                   atomic_load(&replicas[i].usable) ? 1 : 0);
}
