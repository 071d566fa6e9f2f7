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

#include "sharaka/log.h"
#include "sharaka/pipeline.h"

#define TAG_LISTEN        1u
#define TAG_DAEMON        2u
#define TAG_DATABASE      3u
#define TAG_WAKE          4u
#define ACCEPT_BURST      32
#define ACCEPT_PAUSE_US   (100 * 1000)
#define MAX_WAIT_MS       1000
#define EVENTS_PER_WAKEUP 64

struct loop {
    pthread_t thread;
    bool started;
    struct MHD_Daemon *daemon;
    struct pipeline *pipe;
    int epoll_fd, wake_fd;
    int db_fd;           /* registered database socket, -1 when none */
    uint64_t db_gen;     /* its generation (pipeline_socket) */
    uint32_t db_events;  /* what it is registered for */
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
    return current != NULL ? current->pipe : NULL;
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

/* Keeps the database socket's registration in step with what the pipeline waits for. */
static void
sync_database_socket(struct loop *l)
{
    uint32_t events;
    uint64_t gen;
    int fd = pipeline_socket(l->pipe, &events, &gen);
    if (fd == l->db_fd && gen == l->db_gen && events == l->db_events)
        return;
    if (l->db_fd >= 0 && (fd != l->db_fd || gen != l->db_gen))
        (void)epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, l->db_fd, NULL);
    if (fd >= 0) {
        int op = fd == l->db_fd && gen == l->db_gen ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (!watch(l, op, fd, events, TAG_DATABASE) && errno == EEXIST)
            (void)watch(l, EPOLL_CTL_MOD, fd, events, TAG_DATABASE);
    }
    l->db_fd = fd;
    l->db_gen = gen;
    l->db_events = events;
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
        bool database = false;
        for (int i = 0; i < n; i++) {
            switch (ev[i].data.u64) {
            case TAG_LISTEN:
                accept_some(l);
                break;
            case TAG_DATABASE:
                pipeline_service(l->pipe, ev[i].events);
                database = true;
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
        if (!database)
            pipeline_service(l->pipe, 0);
        MHD_run(l->daemon);
        pipeline_service(l->pipe, 0);
        sync_database_socket(l);
        log_access_flush();
    }
    /* What still waits for the database ends with a 503; its requests are resumed and answered
     * by the daemon's last runs. */
    pipeline_free(l->pipe);
    l->pipe = NULL;
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
    if (l->pipe != NULL)
        pipeline_free(l->pipe);
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
    l->db_fd = -1;
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
    l->pipe = pipeline_new();
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
