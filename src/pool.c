/* pool.c - the blocking threads: a queue of jobs under one lock, taken in order. */
#include "sharaka/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "sharaka/log.h"

struct pool_job {
    struct pool_job *next;
    pool_fn fn;
    void *arg;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER; /* a job was queued, or closing */
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER; /* a job ended */
static struct pool_job *head, *tail;
static pthread_t *threads;
static int nthreads, running;
static bool closing;

static void *
worker(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (head == NULL && !closing)
            pthread_cond_wait(&work, &lock);
        struct pool_job *j = head;
        if (j == NULL)
            break;
        head = j->next;
        if (head == NULL)
            tail = NULL;
        running++;
        pthread_mutex_unlock(&lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&lock);
        running--;
        pthread_cond_broadcast(&idle);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

bool
pool_start(int n)
{
    closing = false;
    threads = xcalloc((size_t)n, sizeof(*threads));
    for (nthreads = 0; nthreads < n; nthreads++) {
        int rc = pthread_create(&threads[nthreads], NULL, worker, NULL);
        if (rc != 0) {
            log_error("cannot start a blocking thread: %s", strerror(rc));
            pool_stop();
            return false;
        }
    }
    return true;
}

bool
pool_submit(pool_fn fn, void *arg)
{
    struct pool_job *j = xcalloc(1, sizeof(*j));
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&lock);
    if (closing) {
        pthread_mutex_unlock(&lock);
        free(j);
        return false;
    }
    if (tail != NULL)
        tail->next = j;
    else
        head = j;
    tail = j;
    pthread_cond_signal(&work);
    pthread_mutex_unlock(&lock);
    return true;
}

void
pool_close(void)
{
    pthread_mutex_lock(&lock);
    closing = true;
    pthread_cond_broadcast(&work);
    while (head != NULL || running > 0)
        pthread_cond_wait(&idle, &lock);
    pthread_mutex_unlock(&lock);
}

void
pool_stop(void)
{
    pool_close();
    for (int i = 0; i < nthreads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    threads = NULL;
    nthreads = 0;
}
