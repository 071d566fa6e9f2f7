/*
 * deliveries.c - the webhook sender: one thread in `serve` that leases due deliveries from the
 * outbox in PostgreSQL, POSTs them signed (Standard Webhooks) many at a time with libcurl's multi
 * interface, and records each attempt.
 *
 * Leases are claimed with FOR UPDATE SKIP LOCKED, so any number of instances share the outbox and
 * no two send the same delivery at once. A lease outlives the delivery timeout by a margin; when
 * an instance dies mid-delivery, its leases run out and another instance (or the same one,
 * restarted) sends them again: at least once. A delivery is leased only when every transaction
 * below its change has ended (the feed's horizon) and no earlier change of the same record is
 * still undelivered for that webhook, so each record's changes arrive in feed order while other
 * records go on.
 */
#include "sharaka/deliveries.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sharaka/background.h"
#include "sharaka/changes.h"
#include "sharaka/config.h"
#include "sharaka/db.h"
#include "sharaka/log.h"
#include "sharaka/webhook_url.h"

#define POLL_MS        250  /* how often an idle sender looks for due deliveries */
#define LEASE_MARGIN   5    /* seconds a lease outlives the delivery timeout */
#define STOP_GRACE_MS  2000 /* how long a stopping sender lets deliveries in flight finish */
#define RESPONSE_MAX   4096 /* bytes of a receiver's answer that are read; the rest is cut */
#define SIGNED_KEY_MAX 64

struct job {
    struct job *prev, *next; /* the jobs in flight */
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    char id[24];
    int attempts; /* made before this one */
    uint64_t started_us;
    size_t received;
    bool refused; /* the receiver's address is not public */
    char error[CURL_ERROR_SIZE];
};

static struct background sender = {.name = "webhooks"};
static CURLM *multi;
static struct job *jobs; /* in flight: only the sender thread touches them */
static atomic_ullong attempts_delivered, attempts_failed;
static atomic_int in_flight;
static char owner[128]; /* this instance's name on its leases */
static char *claim_sql;

static const char done_sql[] =
    "SELECT webhook_attempt_done($1::bigint, $2, $3::boolean, $4::int, $5, $6::int, $7::int)";

static const char release_sql[] =
    "UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1 "
    "AND state = 'pending'";

/* $1 owner, $2 how many, $3 lease seconds, $4 the delay before a first attempt. */
static void
build_claim(void)
{
    struct sql s = {0};
    buf_puts(&s.text,
             "WITH due AS (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = "
             "d.webhook_id WHERE d.state = 'pending' AND d.next_attempt_at <= clock_timestamp() "
             "AND (d.attempts > 0 OR d.next_attempt_at <= clock_timestamp() - $4::int * interval "
             "'1 second') AND (d.lease_until IS NULL OR d.lease_until < clock_timestamp()) "
             "AND d.xid < pg_snapshot_xmin(pg_current_snapshot()) AND w.enabled "
             /* a partner's webhook lives while its source has a key that may read the feed */
             "AND (w.owner_source IS NULL OR EXISTS (SELECT 1 FROM api_keys k WHERE k.source = "
             "w.owner_source AND k.revoked_at IS NULL AND k.role <> 'analyst')) "
             "AND (d.record_id IS NULL OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE "
             "e.webhook_id = d.webhook_id AND e.resource = d.resource AND e.record_id = "
             "d.record_id AND e.state <> 'delivered' AND (e.xid, e.change_seq) < (d.xid, "
             "d.change_seq))) ORDER BY d.next_attempt_at, d.id LIMIT $2::int "
             "FOR UPDATE OF d SKIP LOCKED), "
             "l AS (UPDATE webhook_deliveries d SET lease_owner = $1, lease_until = "
             "clock_timestamp() + $3::int * interval '1 second' FROM due WHERE d.id = due.id "
             "RETURNING d.*) "
             "SELECT l.id, l.attempts, w.url, w.secret, json_build_object('type', l.event, "
             "'timestamp', to_char(coalesce(p.changed_at, l.created_at) AT TIME ZONE 'UTC', "
             "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'data', CASE WHEN p.seq IS NULL THEN "
             "json_build_object('webhook_id', w.id, 'message', 'a test delivery') ELSE ");
    changes_item_sql(&s, "p");
    /* a secret replaced by a rotation signs beside the new one until its time is up */
    buf_puts(&s.text, " END)::text, CASE WHEN w.previous_secret_until > clock_timestamp() THEN "
                      "w.previous_secret END FROM l JOIN webhooks w ON w.id = l.webhook_id LEFT "
                      "JOIN changes p ON p.seq = l.change_seq");
    claim_sql = buf_take(&s.text);
    sql_free(&s);
}

/* Refuses a connection to an address that is not public, whatever the name resolved to now. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *address)
{
    struct job *j = arg;
    (void)purpose;
    if (!cfg.webhook_private && !webhook_address_public(&address->addr)) {
        j->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* A receiver's answer is not kept: only its status counts. */
static size_t
discard(char *data, size_t size, size_t n, void *arg)
{
    struct job *j = arg;
    (void)data;
    j->received += size * n;
    return j->received > RESPONSE_MAX ? 0 : size * n;
}

/* "v1," and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}" under the secret's key. */
static bool
sign(const char *secret, const char *id, const char *timestamp, const char *body, char *out,
     size_t len)
{
    unsigned char key[SIGNED_KEY_MAX], mac[crypto_auth_hmacsha256_BYTES];
    size_t keylen = 0;
    const char *b64 = str_has_prefix(secret, "whsec_") ? secret + 6 : secret;
    if (sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL, &keylen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(key, sizeof(key));
    memcpy(out, "v1,", 3);
    sodium_bin2base64(out + 3, len - 3, mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
    return true;
}

static void
job_free(struct job *j)
{
    if (j->prev != NULL)
        j->prev->next = j->next;
    else if (jobs == j)
        jobs = j->next;
    if (j->next != NULL)
        j->next->prev = j->prev;
    if (j->easy != NULL) {
        curl_multi_remove_handle(multi, j->easy);
        curl_easy_cleanup(j->easy);
    }
    curl_slist_free_all(j->headers);
    free(j->body);
    free(j);
}

static struct curl_slist *
add_header(struct curl_slist *list, const char *name, const char *value)
{
    char line[256];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *more = curl_slist_append(list, line);
    if (more == NULL)
        abort(); /* out of memory */
    return more;
}

/* Prepares one leased row of the claim as a request on the multi handle. */
static bool
job_start(PGresult *res, int row)
{
    struct job *j = xcalloc(1, sizeof(*j));
    char msg_id[32], timestamp[24], signature[256];

    snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, row, 0));
    j->attempts = atoi(PQgetvalue(res, row, 1));
    j->body = xstrdup(PQgetvalue(res, row, 4));
    snprintf(msg_id, sizeof(msg_id), "msg_%s", j->id);
    snprintf(timestamp, sizeof(timestamp), "%lld", (long long)now_unix());
    /* one signature per secret, separated by a space (Standard Webhooks) */
    bool signed_ok =
        sign(PQgetvalue(res, row, 3), msg_id, timestamp, j->body, signature, sizeof(signature) / 2);
    if (signed_ok && !PQgetisnull(res, row, 5)) {
        size_t n = strlen(signature);
        signature[n] = ' ';
        signed_ok = sign(PQgetvalue(res, row, 5), msg_id, timestamp, j->body, signature + n + 1,
                         sizeof(signature) - n - 1);
    }
    if (!signed_ok || (j->easy = curl_easy_init()) == NULL) {
        log_error("webhooks: cannot prepare delivery %s", j->id);
        job_free(j);
        return false;
    }
    j->headers = add_header(NULL, "Content-Type", "application/json");
    j->headers = add_header(j->headers, "User-Agent", "sharaka-webhooks");
    j->headers = add_header(j->headers, "webhook-id", msg_id);
    j->headers = add_header(j->headers, "webhook-timestamp", timestamp);
    j->headers = add_header(j->headers, "webhook-signature", signature);
    j->headers = curl_slist_append(j->headers, "Expect:");
    CURL *e = j->easy;
    curl_easy_setopt(e, CURLOPT_URL, PQgetvalue(res, row, 2));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, cfg.webhook_private ? "http,https" : "https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(j->body));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg.webhook_timeout * 1000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    j->started_us = now_us_monotonic();
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        j->easy = NULL;
        job_free(j);
        return false;
    }
    j->next = jobs;
    if (jobs != NULL)
        jobs->prev = j;
    jobs = j;
    return true;
}

/* Leases up to want due deliveries and starts them. Returns how many started, -1 when the
 * database could not be asked (the connection is then closed). */
static int
claim(PGconn **pg, int want)
{
    char want_text[24], lease[24], first[24];
    snprintf(want_text, sizeof(want_text), "%d", want);
    snprintf(lease, sizeof(lease), "%lld", (long long)(cfg.webhook_timeout + LEASE_MARGIN));
    snprintf(first, sizeof(first), "%lld", (long long)cfg.webhook_retries[0]);
    const char *values[] = {owner, want_text, lease, first};
    PGresult *res = PQexecParams(*pg, claim_sql, 4, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_warn("webhooks: cannot lease deliveries: %s", PQresultErrorMessage(res));
        PQclear(res);
        if (PQstatus(*pg) != CONNECTION_OK) {
            PQfinish(*pg);
            *pg = NULL;
        }
        return -1;
    }
    int n = 0;
    for (int i = 0; i < PQntuples(res); i++)
        n += job_start(res, i) ? 1 : 0;
    PQclear(res);
    return n;
}

/* Records how an attempt went, and when the next one is due (or that there is none). */
static void
finish(PGconn *pg, struct job *j, CURLcode code)
{
    long status = 0;
    char ok[8], status_text[24], duration[24], retry[24], why[CURL_ERROR_SIZE + 64];
    const char *error = NULL;

    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    bool delivered = code == CURLE_OK && status >= 200 && status <= 299;
    atomic_fetch_add(delivered ? &attempts_delivered : &attempts_failed, 1);
    if (j->refused) {
        snprintf(why, sizeof(why), "refused: the receiver's address is not a public one");
        error = why;
    } else if (code != CURLE_OK) {
        snprintf(why, sizeof(why), "%s", j->error[0] ? j->error : curl_easy_strerror(code));
        error = why;
    }
    snprintf(ok, sizeof(ok), "%s", delivered ? "true" : "false");
    snprintf(status_text, sizeof(status_text), "%ld", status);
    snprintf(duration, sizeof(duration), "%llu",
             (unsigned long long)((now_us_monotonic() - j->started_us) / 1000));
    int next = j->attempts + 1; /* the schedule's entry for the attempt after this one */
    if (next < cfg.nwebhook_retries)
        snprintf(retry, sizeof(retry), "%lld", (long long)cfg.webhook_retries[next]);
    const char *values[] = {j->id,
                            owner,
                            ok,
                            status > 0 ? status_text : NULL,
                            error,
                            duration,
                            delivered || next >= cfg.nwebhook_retries ? NULL : retry};
    if (pg == NULL)
        return; /* the lease runs out and the delivery is sent again */
    PGresult *res = PQexecParams(pg, done_sql, 7, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        log_warn("webhooks: cannot record delivery %s: %s", j->id, PQresultErrorMessage(res));
    PQclear(res);
    if (!delivered)
        log_info("webhooks: delivery %s attempt %d failed: %s", j->id, j->attempts + 1,
                 error ? error : status_text);
}

/* Collects the finished transfers; returns how many finished. */
static int
reap(PGconn *pg)
{
    int n = 0, left;
    CURLMsg *m;
    while ((m = curl_multi_info_read(multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct job *j = NULL;
        CURLcode code = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
        finish(pg, j, code);
        job_free(j);
        n++;
    }
    return n;
}

/* Cuts what is still in flight short and gives its leases back for anyone to take at once. */
static void
abandon(PGconn *pg)
{
    while (jobs != NULL)
        job_free(jobs);
    if (pg != NULL) {
        const char *values[] = {owner};
        PQclear(PQexecParams(pg, release_sql, 1, NULL, values, NULL, NULL, 0));
    }
}

static void *
sender_main(void *arg)
{
    PGconn *pg = NULL;
    int inflight = 0;
    uint64_t next_claim = 0, stop_at = 0;
    (void)arg;

    for (;;) {
        uint64_t now = now_us_monotonic();
        if (background_stopping(&sender)) {
            if (stop_at == 0)
                stop_at = now + STOP_GRACE_MS * 1000u;
            if (inflight == 0 || now >= stop_at)
                break;
        } else if (inflight < cfg.webhook_concurrency && now >= next_claim) {
            if (pg == NULL) {
                struct error err = {0};
                pg = db_connect(&err);
                error_clear(&err);
            }
            int want = (int)cfg.webhook_concurrency - inflight;
            int got = pg == NULL ? -1 : claim(&pg, want);
            if (got > 0)
                inflight += got;
            next_claim = now + (got == want ? 0 : got < 0 ? 1000000u : POLL_MS * 1000u);
        }
        int still = 0, numfds = 0;
        curl_multi_perform(multi, &still);
        inflight -= reap(pg);
        atomic_store(&in_flight, inflight);
        uint64_t wait_ms = next_claim > now ? (next_claim - now) / 1000 : 0;
        if (inflight > 0 && wait_ms > 50)
            wait_ms = 50;
        if (wait_ms > 0 || inflight > 0)
            curl_multi_poll(multi, NULL, 0, (int)(wait_ms ? wait_ms : 1), &numfds);
    }
    abandon(pg);
    PQfinish(pg);
    return NULL;
}

void
deliveries_start(void)
{
    if (cfg.webhook_concurrency == 0)
        return;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (multi = curl_multi_init()) == NULL) {
        log_error("webhooks: cannot start the HTTP client: no webhook is delivered");
        return;
    }
    char host[64] = "";
    unsigned char nonce[4];
    gethostname(host, sizeof(host) - 1);
    randombytes_buf(nonce, sizeof(nonce));
    snprintf(owner, sizeof(owner), "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), nonce[0],
             nonce[1], nonce[2], nonce[3]);
    build_claim();
    if (!background_start(&sender, sender_main, NULL))
        log_error("webhooks: no webhook is delivered");
}

void
deliveries_stop(void)
{
    if (!sender.started)
        return;
    background_signal_stop(&sender);
    curl_multi_wakeup(multi); /* out of curl_multi_poll */
    background_stop(&sender);
    curl_multi_cleanup(multi);
    multi = NULL;
    free(claim_sql);
    claim_sql = NULL;
    curl_global_cleanup();
}

void
deliveries_metrics(struct buf *b)
{
    buf_printf(b,
               "# HELP sharaka_webhook_attempts_total Webhook delivery attempts this instance "
               "made, by outcome.\n"
               "# TYPE sharaka_webhook_attempts_total counter\n"
               "sharaka_webhook_attempts_total{outcome=\"delivered\"} %llu\n"
               "sharaka_webhook_attempts_total{outcome=\"failed\"} %llu\n"
               "# HELP sharaka_webhook_in_flight Webhook deliveries this instance is sending.\n"
               "# TYPE sharaka_webhook_in_flight gauge\n"
               "sharaka_webhook_in_flight %d\n",
               (unsigned long long)atomic_load(&attempts_delivered),
               (unsigned long long)atomic_load(&attempts_failed), atomic_load(&in_flight));
}
