/* loop.c - the event loops: one libmicrohttpd daemon and one pipelined database connection per
 * thread, on one epoll set.
 *
 * Each iteration: wait for any of the daemon's epoll set, the database socket, the listening
 * socket or the wake-up event; read database results (their requests are resumed); let the
 * daemon run (requests are read, resumed ones answered, new statements submitted); send the new
 * statements. No call in the loop waits for the database. */
#include "sharaka/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sharaka/config.h"
#include "sharaka/log.h"
#include "sharaka/pipeline.h"
#include "sharaka/replicas.h"

#define TAG_LISTEN        1u
#define TAG_DAEMON        2u
#define TAG_WAKE          4u
#define TAG_DATABASE      16u /* + the pipeline's index: 16 the primary, 17... the replicas */
#define ACCEPT_BURST      32
#define ACCEPT_PAUSE_US   (100 * 1000)
#define MAX_WAIT_MS       1000
#define EVENTS_PER_WAKEUP 64

/* A pipeline and the registration of its socket in the loop's epoll set. */
struct database {
    struct pipeline *pipe;
    int fd;          /* registered socket, -1 when none */
    uint64_t gen;    /* its generation (pipeline_socket) */
    uint32_t events; /* what it is registered for */
};

struct loop {
    pthread_t thread;
    bool started;
    struct MHD_Daemon *daemon;
    /* db[0] the primary's pipeline, db[1 + i] replica i's: serviced from the last to the first,
     * so that what a replica hands over to the primary is sent in the same turn. */
    struct database db[1 + CONFIG_MAX_REPLICAS];
    int ndb;
    unsigned turn; /* the replica the next read starts looking at */
    int epoll_fd, wake_fd;
    bool listening;      /* the listening socket is in this loop's set */
    uint64_t pause_till; /* accept paused (out of descriptors) until then */
    atomic_bool stop, stop_accepting;
    bool stopping;              /* the loop left its turns: no watch is armed any more */
    struct loop_watch *watches; /* armed */
};

static _Thread_local struct loop *current;
static struct loop *loops;
static int nloops;
static int listen_fd = -1;

struct pipeline *
loop_pipeline(void)
{
    return current != NULL ? current->db[0].pipe : NULL;
}

struct pipeline *
loop_read_pipeline(uint64_t need)
{
    struct loop *l = current;
    if (l == NULL)
        return NULL;
    if (l->ndb == 1)
        return l->db[0].pipe;
    int i = replicas_choose(need, &l->turn);
    return l->db[i + 1].pipe;
}

struct loop *
loop_current(void)
{
    return current;
}

void
loop_wake(struct loop *l)
{
    uint64_t one = 1;
    ssize_t n = write(l->wake_fd, &one, sizeof(one));
    (void)n;
}

static bool
watch(struct loop *l, int op, int fd, uint32_t events, uint32_t tag)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    return epoll_ctl(l->epoll_fd, op, fd, &ev) == 0;
}

static void
set_listening(struct loop *l, bool on)
{
    if (l->listening == on || listen_fd < 0)
        return;
    if (on)
        l->listening = watch(l, EPOLL_CTL_ADD, listen_fd, EPOLLIN | EPOLLEXCLUSIVE, TAG_LISTEN);
    else {
        (void)epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, listen_fd, NULL);
        l->listening = false;
    }
}

bool
loop_watch_readable(struct loop_watch *w)
{
    struct loop *l = current;
    if (l == NULL || l->stopping)
        return false;
    if (w->armed)
        return true;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.ptr = w};
    if (epoll_ctl(l->epoll_fd, w->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) != 0)
        return false;
    w->loop = l;
    w->added = w->armed = true;
    w->prev = NULL;
    w->next = l->watches;
    if (l->watches != NULL)
        l->watches->prev = w;
    l->watches = w;
    return true;
}

static void
disarm(struct loop_watch *w)
{
    struct loop *l = w->loop;
    if (!w->armed)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        l->watches = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->armed = false;
}

void
loop_unwatch(struct loop_watch *w)
{
    if (w->loop == NULL || !w->added)
        return;
    disarm(w);
    (void)epoll_ctl(w->loop->epoll_fd, EPOLL_CTL_DEL, w->fd, NULL);
    w->added = false;
}

static void
fire(struct loop_watch *w)
{
    disarm(w);
    w->ready(w->arg);
}

/* Accepts what is waiting on the listening socket and hands it to this loop's daemon, which
 * applies the connection limits when it announces the connection. */
static void
accept_some(struct loop *l)
{
    for (int i = 0; i < ACCEPT_BURST; i++) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof(addr);
        int fd = accept4(listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn("http: cannot accept a connection: %s; pausing for 100 ms",
                         strerror(errno));
                set_listening(l, false);
                l->pause_till = now_us_monotonic() + ACCEPT_PAUSE_US;
            }
            return;
        }
        /* libmicrohttpd closes the socket itself when it cannot take it. */
        (void)MHD_add_connection(l->daemon, fd, (struct sockaddr *)&addr, len);
    }
}

/* Keeps a database socket's registration in step with what its pipeline waits for. */
static void
sync_database_socket(struct loop *l, int i)
{
    struct database *d = &l->db[i];
    uint32_t events;
    uint64_t gen;
    int fd = pipeline_socket(d->pipe, &events, &gen);
    if (fd == d->fd && gen == d->gen && events == d->events)
        return;
    if (d->fd >= 0 && (fd != d->fd || gen != d->gen))
        (void)epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, d->fd, NULL);
    if (fd >= 0) {
        uint32_t tag = TAG_DATABASE + (uint32_t)i;
        int op = fd == d->fd && gen == d->gen ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (!watch(l, op, fd, events, tag) && errno == EEXIST)
            (void)watch(l, EPOLL_CTL_MOD, fd, events, tag);
    }
    d->fd = fd;
    d->gen = gen;
    d->events = events;
}

/* Services the pipelines that saw no event this turn (serviced[i] false), replicas first. */
static void
service_databases(struct loop *l, const bool *serviced)
{
    for (int i = l->ndb - 1; i >= 0; i--)
        if (serviced == NULL || !serviced[i])
            pipeline_service(l->db[i].pipe, 0);
}

/* Frees the pipelines, the replicas' first; what they still hold ends with a 503. */
static void
free_databases(struct loop *l)
{
    for (int i = l->ndb - 1; i >= 0; i--) {
        pipeline_free(l->db[i].pipe);
        l->db[i].pipe = NULL;
    }
    l->ndb = 0;
}

static void *
loop_main(void *arg)
{
    struct loop *l = arg;
    struct epoll_event ev[EVENTS_PER_WAKEUP];

    current = l;
    while (!atomic_load(&l->stop)) {
        MHD_UNSIGNED_LONG_LONG t;
        int timeout = MAX_WAIT_MS;
        if (MHD_get_timeout(l->daemon, &t) == MHD_YES && t < (MHD_UNSIGNED_LONG_LONG)timeout)
            timeout = (int)t;
        int n = epoll_wait(l->epoll_fd, ev, EVENTS_PER_WAKEUP, timeout);
        bool serviced[1 + CONFIG_MAX_REPLICAS] = {false};
        for (int i = 0; i < n; i++) {
            uint64_t tag = ev[i].data.u64;
            if (tag >= TAG_DATABASE && tag < TAG_DATABASE + 1 + CONFIG_MAX_REPLICAS) {
                int k = (int)(tag - TAG_DATABASE);
                pipeline_service(l->db[k].pipe, ev[i].events);
                serviced[k] = true;
                continue;
            }
            switch (tag) {
            case TAG_LISTEN:
                accept_some(l);
                break;
            case TAG_WAKE: {
                uint64_t v;
                ssize_t got = read(l->wake_fd, &v, sizeof(v));
                (void)got;
                break;
            }
            case TAG_DAEMON:
                break; /* MHD_run below */
            default:
                fire(ev[i].data.ptr);
                break;
            }
        }
        if (atomic_load(&l->stop_accepting))
            set_listening(l, false);
        else if (!l->listening && now_us_monotonic() >= l->pause_till)
            set_listening(l, true);
        service_databases(l, serviced);
        MHD_run(l->daemon);
        service_databases(l, NULL);
        for (int i = 0; i < l->ndb; i++)
            sync_database_socket(l, i);
        log_access_flush();
    }
    /* What still waits for the database ends with a 503; its requests are resumed and answered
     * by the daemon's last runs. */
    free_databases(l);
    l->stopping = true;
    while (l->watches != NULL)
        fire(l->watches);
    for (int i = 0; i < 3; i++)
        MHD_run(l->daemon);
    log_access_flush();
    current = NULL;
    return NULL;
}

static void
loop_close(struct loop *l)
{
    if (l->daemon != NULL)
        MHD_stop_daemon(l->daemon);
    log_access_flush(); /* the requests the stop ended */
    free_databases(l);
    if (l->epoll_fd >= 0)
        close(l->epoll_fd);
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    memset(l, 0, sizeof(*l));
}

static bool
loop_open(struct loop *l, loop_daemon_fn make)
{
    memset(l, 0, sizeof(*l));
    l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->epoll_fd < 0 || l->wake_fd < 0) {
        log_error("cannot make an event loop: %s", strerror(errno));
        return false;
    }
    l->daemon = make();
    if (l->daemon == NULL)
        return false;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (di == NULL || !watch(l, EPOLL_CTL_ADD, di->epoll_fd, EPOLLIN, TAG_DAEMON) ||
        !watch(l, EPOLL_CTL_ADD, l->wake_fd, EPOLLIN, TAG_WAKE)) {
        log_error("cannot watch the daemon's events: %s", strerror(errno));
        return false;
    }
    l->db[0] = (struct database){pipeline_new(NULL, NULL, -1), -1, 0, 0};
    for (int i = 0; i < replicas_count(); i++)
        l->db[1 + i] = (struct database){pipeline_new(replicas_url(i), l->db[0].pipe, i), -1, 0, 0};
    l->ndb = 1 + replicas_count();
    l->turn = (unsigned)(l - loops);
    return true;
}

bool
loop_start_all(int n, int fd, loop_daemon_fn make)
{
    listen_fd = fd;
    loops = xcalloc((size_t)n, sizeof(*loops));
    nloops = n;
    for (int i = 0; i < n; i++) {
        struct loop *l = &loops[i];
        if (!loop_open(l, make)) {
            loop_close(l);
            loop_stop_all();
            return false;
        }
        set_listening(l, true);
        if (pthread_create(&l->thread, NULL, loop_main, l) != 0) {
            log_error("cannot start an event loop: %s", strerror(errno));
            loop_close(l);
            loop_stop_all();
            return false;
        }
        l->started = true;
    }
    return true;
}

void
loop_stop_accepting(void)
{
    for (int i = 0; i < nloops; i++) {
        atomic_store(&loops[i].stop_accepting, true);
        loop_wake(&loops[i]);
    }
    /* New connections are refused from now on; the socket is closed once the loops are gone. */
    if (listen_fd >= 0)
        (void)shutdown(listen_fd, SHUT_RDWR);
}

void
loop_stop_all(void)
{
    loop_stop_accepting();
    for (int i = 0; i < nloops; i++) {
        struct loop *l = &loops[i];
        if (!l->started)
            continue;
        atomic_store(&l->stop, true);
        loop_wake(l);
        pthread_join(l->thread, NULL);
        loop_close(l);
    }
    free(loops);
    loops = NULL;
    nloops = 0;
    if (listen_fd >= 0)
        close(listen_fd);
    listen_fd = -1;
}
