/* pipeline.c - one non-blocking PostgreSQL connection in pipeline mode, driven by an event loop.
 *
 * Jobs go through two queues: waiting (not sent yet: no connection, or still connecting) and sent
 * (on the wire, results expected in order). Each sent job knows the results it is owed, in
 * order: a prepare's (for a statement new to this connection), each statement's, then the sync's.
 * A statement's results end with a NULL from PQgetResult; the sync's result closes the job. */
#include "sharaka/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sharaka/db.h"
#include "sharaka/log.h"
#include "sharaka/replicas.h"
#include "sharaka/statements.h"

#define CONNECT_TIMEOUT_US (5 * 1000000ull)
#define MAX_ATTEMPTS       2

enum step_kind { STEP_PREPARE, STEP_QUERY, STEP_SYNC };

struct step {
    unsigned char kind;
    unsigned char index; /* the statement */
    short slot;          /* a prepare's cache slot */
};

struct job {
    struct job *next;
    struct pipeline_statement st[PIPELINE_MAX_STATEMENTS];
    int n;
    pipeline_done_fn done;
    void *arg;
    PGresult *res[PIPELINE_MAX_STATEMENTS];
    struct error err;
    int attempts;
    bool elsewhere; /* a replica could not run it: the primary should */
    struct step steps[2 * PIPELINE_MAX_STATEMENTS + 1];
    int nsteps, pos;
};

struct job_queue {
    struct job *head, *tail;
    int n;
};

enum state { STATE_NONE, STATE_CONNECTING, STATE_READY };

struct pipeline {
    PGconn *pg;
    enum state state;
    PostgresPollingStatusType polling; /* while connecting: what PQconnectPoll waits for */
    uint64_t connect_deadline;
    bool flush_pending;
    uint64_t generation;
    struct job_queue waiting, sent;
    struct statement_cache prepared; /* named "p<slot>" */
    const char *url;                 /* NULL: SHARAKA_DATABASE_URL */
    struct pipeline *fallback;       /* a replica's: the primary's pipeline on the same loop */
    int replica;                     /* its index in SHARAKA_DATABASE_READ_URL, or -1 */
    atomic_uint_fast64_t *served;    /* jobs answered */
};

/* ---------------------------------------------------------------- queues */

static void
queue_push(struct job_queue *q, struct job *j)
{
    j->next = NULL;
    if (q->tail != NULL)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
}

static struct job *
queue_pop(struct job_queue *q)
{
    struct job *j = q->head;
    if (j == NULL)
        return NULL;
    q->head = j->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->n--;
    j->next = NULL;
    return j;
}

/* Puts every job of front before those of q, keeping their order. */
static void
queue_prepend(struct job_queue *q, struct job_queue *front)
{
    if (front->head == NULL)
        return;
    front->tail->next = q->head;
    if (q->tail == NULL)
        q->tail = front->tail;
    q->head = front->head;
    q->n += front->n;
    *front = (struct job_queue){0};
}

/* ---------------------------------------------------------------- jobs */

/* Runs a job's callback with what it gathered, and frees it. */
static void
job_finish(struct pipeline *p, struct job *j)
{
    if (j->err.status == 0)
        atomic_fetch_add(p->served, 1);
    j->done(j->arg, j->res, j->n, &j->err);
    error_clear(&j->err);
    free(j);
}

/* Drops what a job gathered on a connection that broke, so that it can be sent again. */
static void
job_reset(struct job *j)
{
    for (int i = 0; i < j->n; i++) {
        PQclear(j->res[i]);
        j->res[i] = NULL;
    }
    error_clear(&j->err);
    memset(&j->err, 0, sizeof(j->err));
    j->nsteps = j->pos = 0;
    j->elsewhere = false;
}

static void
job_fail(struct pipeline *p, struct job *j, const char *detail)
{
    job_reset(j);
    error_set(&j->err, 503, "database-unavailable", "%s", detail);
    job_finish(p, j);
}

static void
fail_queue(struct pipeline *p, struct job_queue *q, const char *detail)
{
    struct job *j;
    while ((j = queue_pop(q)) != NULL)
        job_fail(p, j, detail);
}

/* A replica's jobs go to the primary's pipeline, in order, to be sent from scratch there; the
 * replica serves nothing more until the poller finds it well. */
static void
hand_over(struct pipeline *p, struct job_queue *q)
{
    struct job *j;
    replicas_mark_down(p->replica);
    while ((j = queue_pop(q)) != NULL) {
        job_reset(j);
        j->attempts = 0;
        queue_push(&p->fallback->waiting, j);
    }
}

/* ---------------------------------------------------------------- the connection */

static void
drop_connection(struct pipeline *p)
{
    if (p->pg != NULL)
        PQfinish(p->pg);
    p->pg = NULL;
    p->state = STATE_NONE;
    p->flush_pending = false;
    p->generation++;
    statement_clear(&p->prepared);
}

/*
 * The connection broke: jobs on the wire are sent again on a fresh one (once), the others wait
 * for it. With nothing waiting, no connection is made until the next job.
 */
static void
connection_broke(struct pipeline *p)
{
    const char *msg = p->pg != NULL ? PQerrorMessage(p->pg) : "";
    log_warn("%s connection lost: %.*s", p->fallback != NULL ? "replica" : "database",
             (int)strcspn(msg, "\n"), msg);
    drop_connection(p);
    if (p->fallback != NULL) {
        hand_over(p, &p->sent);
        hand_over(p, &p->waiting);
        return;
    }
    struct job_queue again = {0};
    struct job *j;
    while ((j = queue_pop(&p->sent)) != NULL) {
        if (j->attempts >= MAX_ATTEMPTS) {
            job_fail(p, j, "the database connection was lost; try again");
            continue;
        }
        job_reset(j);
        queue_push(&again, j);
    }
    queue_prepend(&p->waiting, &again);
}

static void
connect_failed(struct pipeline *p)
{
    const char *msg = p->pg != NULL ? PQerrorMessage(p->pg) : "out of memory";
    log_warn("%s connection failed: %.*s", p->fallback != NULL ? "replica" : "database",
             (int)strcspn(msg, "\n"), msg);
    drop_connection(p);
    if (p->fallback != NULL) {
        hand_over(p, &p->waiting);
        return;
    }
    fail_queue(p, &p->waiting, "the database is unavailable; try again");
}

static void
start_connecting(struct pipeline *p)
{
    p->pg = db_connect_start(p->url);
    p->generation++;
    if (p->pg == NULL || PQstatus(p->pg) == CONNECTION_BAD) {
        connect_failed(p);
        return;
    }
    p->state = STATE_CONNECTING;
    p->polling = PGRES_POLLING_WRITING;
    p->connect_deadline = now_us_monotonic() + CONNECT_TIMEOUT_US;
}

/* One step of the connection's start, when its socket is ready for what the last step waited
 * for. */
static void
continue_connecting(struct pipeline *p, uint32_t events)
{
    bool ready = (events & (EPOLLERR | EPOLLHUP)) ||
                 (p->polling == PGRES_POLLING_READING ? (events & EPOLLIN) : (events & EPOLLOUT));
    if (!ready) {
        if (now_us_monotonic() > p->connect_deadline)
            connect_failed(p);
        return;
    }
    int fd = PQsocket(p->pg);
    p->polling = PQconnectPoll(p->pg);
    if (PQsocket(p->pg) != fd)
        p->generation++;
    switch (p->polling) {
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(p->pg, 1) != 0 || PQenterPipelineMode(p->pg) != 1) {
            connect_failed(p);
            return;
        }
        p->state = STATE_READY;
        return;
    case PGRES_POLLING_FAILED:
        connect_failed(p);
        return;
    default:
        return;
    }
}

/* ---------------------------------------------------------------- sending */

static void
add_step(struct job *j, enum step_kind kind, int index, int slot)
{
    j->steps[j->nsteps++] = (struct step){(unsigned char)kind, (unsigned char)index, (short)slot};
}

/* Queues statement i of j on the connection: prepared under a name the first time this
 * connection sees its text, unnamed when the cache is full. False when the connection failed. */
static bool
send_statement(struct pipeline *p, struct job *j, int i)
{
    const struct pipeline_statement *st = &j->st[i];
    int slot;
    char name[16];

    switch (statement_find(&p->prepared, st->sql, 'p', &slot, name)) {
    case STATEMENT_NEW:
        if (!PQsendPrepare(p->pg, name, st->sql, 0, NULL))
            return false;
        add_step(j, STEP_PREPARE, i, slot);
        /* fall through */
    case STATEMENT_PREPARED:
        if (!PQsendQueryPrepared(p->pg, name, st->nparams, st->params, NULL, NULL, 0))
            return false;
        break;
    case STATEMENT_UNNAMED:
        if (!PQsendQueryParams(p->pg, st->sql, st->nparams, NULL, st->params, NULL, NULL, 0))
            return false;
        break;
    }
    add_step(j, STEP_QUERY, i, -1);
    return true;
}

/* Sends every waiting job. False when the connection failed. */
static bool
send_waiting(struct pipeline *p)
{
    struct job *j;
    while ((j = queue_pop(&p->waiting)) != NULL) {
        j->attempts++;
        queue_push(&p->sent, j);
        for (int i = 0; i < j->n; i++) {
            if (!send_statement(p, j, i))
                return false;
        }
        if (!PQpipelineSync(p->pg))
            return false;
        add_step(j, STEP_SYNC, 0, -1);
        p->flush_pending = true;
    }
    return true;
}

static bool
flush(struct pipeline *p)
{
    if (!p->flush_pending)
        return true;
    int rc = PQflush(p->pg);
    if (rc < 0)
        return false;
    p->flush_pending = rc == 1;
    return true;
}

/* ---------------------------------------------------------------- receiving */

static void
take_result(struct pipeline *p, struct job *j, const struct step *s, PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (s->kind == STEP_QUERY && j->res[s->index] == NULL) {
            j->res[s->index] = res;
            return;
        }
    } else if (st != PGRES_PIPELINE_ABORTED) {
        /* On a replica: a conflict with recovery (40001), a standby stopping or restarting (57),
         * out of resources (53), a broken link (08): the primary answers instead. */
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (p->fallback != NULL && state != NULL &&
            (strncmp(state, "40", 2) == 0 || strncmp(state, "57", 2) == 0 ||
             strncmp(state, "53", 2) == 0 || strncmp(state, "08", 2) == 0))
            j->elsewhere = true;
        if (j->err.status == 0) {
            db_error_from_result(p->pg, res, &j->err);
            if (j->err.status == 500)
                log_error("statement failed: %s in %s", PQresultErrorMessage(res),
                          j->st[s->index].sql);
        }
        if (s->kind == STEP_PREPARE) {
            statement_forget(&p->prepared, s->slot);
        }
    }
    PQclear(res);
}

/* Reads what has arrived and finishes the jobs whose sync came. False when the connection
 * failed. */
static bool
receive(struct pipeline *p)
{
    if (!PQconsumeInput(p->pg) || PQstatus(p->pg) != CONNECTION_OK)
        return false;
    while (p->sent.head != NULL && !PQisBusy(p->pg)) {
        struct job *j = p->sent.head;
        const struct step *s = &j->steps[j->pos];
        PGresult *res = PQgetResult(p->pg);
        if (s->kind == STEP_SYNC) {
            if (res == NULL)
                break;
            PQclear(res);
            queue_pop(&p->sent);
            if (j->elsewhere) {
                struct job_queue one = {0};
                queue_push(&one, j);
                hand_over(p, &one);
                continue;
            }
            job_finish(p, j);
            continue;
        }
        if (res == NULL) {
            j->pos++;
            continue;
        }
        take_result(p, j, s, res);
    }
    if (p->sent.head == NULL) {
        /* Nothing owed: drain what the server says unprompted (notices, its goodbye). */
        PGresult *res;
        while (!PQisBusy(p->pg) && (res = PQgetResult(p->pg)) != NULL)
            PQclear(res);
    }
    return PQstatus(p->pg) == CONNECTION_OK;
}

/* ---------------------------------------------------------------- the interface */

struct pipeline *
pipeline_new(const char *url, struct pipeline *fallback, int replica)
{
    struct pipeline *p = xcalloc(1, sizeof(struct pipeline));
    p->url = url;
    p->fallback = fallback;
    p->replica = fallback != NULL ? replica : -1;
    p->served = replicas_reads_counter(p->replica);
    return p;
}

void
pipeline_free(struct pipeline *p)
{
    if (p == NULL)
        return;
    fail_queue(p, &p->sent, "the server is stopping");
    fail_queue(p, &p->waiting, "the server is stopping");
    drop_connection(p);
    free(p);
}

void
pipeline_submit(struct pipeline *p, const struct pipeline_statement *st, int n,
                pipeline_done_fn done, void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));
    if (n > PIPELINE_MAX_STATEMENTS)
        n = PIPELINE_MAX_STATEMENTS;
    memcpy(j->st, st, (size_t)n * sizeof(st[0]));
    j->n = n;
    j->done = done;
    j->arg = arg;
    queue_push(&p->waiting, j);
}

int
pipeline_socket(struct pipeline *p, uint32_t *events, uint64_t *generation)
{
    *generation = p->generation;
    *events = 0;
    if (p->pg == NULL)
        return -1;
    if (p->state == STATE_CONNECTING)
        *events = p->polling == PGRES_POLLING_READING ? EPOLLIN : EPOLLOUT;
    else
        *events = EPOLLIN | (p->flush_pending ? EPOLLOUT : 0);
    return PQsocket(p->pg);
}

void
pipeline_service(struct pipeline *p, uint32_t events)
{
    for (int round = 0; round < 4; round++) {
        if (p->state == STATE_NONE) {
            if (p->waiting.head == NULL)
                return;
            start_connecting(p);
        }
        if (p->state == STATE_CONNECTING) {
            continue_connecting(p, events);
            if (p->state != STATE_READY)
                return;
            events = 0;
        }
        bool ok = (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) || receive(p)) && send_waiting(p) &&
                  flush(p);
        if (ok)
            return;
        connection_broke(p);
        events = 0;
    }
}

int
pipeline_waiting(const struct pipeline *p)
{
    return p->waiting.n + p->sent.n;
}
