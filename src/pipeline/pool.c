/* The media worker pool (pipeline/pool.h). One mutex guards the run queue,
 * the reap list and every task's state; no callback runs under it. */
#include "pipeline/pool.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MOD "pipeline"
#define MAX_THREADS 64

enum { T_IDLE = 0, T_QUEUED, T_RUNNING, T_RERUN, T_STOPPING, T_DEAD };

struct le_pipe_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a task queued, or stopping */
    pthread_cond_t done;        /* a work() returned */
    pthread_t th[MAX_THREADS];
    int nth, stopping;
    le_pipe_task *qhead, *qtail;
    le_pipe_task *rhead;        /* tasks to reap (order does not matter) */
    int efd;
    struct event *ev;
};

static void enqueue(le_pipe_pool *p, le_pipe_task *t)
{
    t->state = T_QUEUED;
    t->qnext = NULL;
    if (p->qtail)
        p->qtail->qnext = t;
    else
        p->qhead = t;
    p->qtail = t;
    pthread_cond_signal(&p->cv);
}

static void *thread_main(void *arg)
{
    le_pipe_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->qhead && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->stopping)
            break;
        le_pipe_task *t = p->qhead;
        p->qhead = t->qnext;
        if (!p->qhead)
            p->qtail = NULL;
        t->state = T_RUNNING;
        pthread_mutex_unlock(&p->mu);
        t->work(t);
        pthread_mutex_lock(&p->mu);
        int wake = 0;
        if (t->state == T_RERUN) {
            enqueue(p, t);
        } else if (t->state == T_STOPPING) {
            t->state = T_DEAD;      /* one last reap: the owner frees it there */
            if (!t->reap_queued) {
                t->reap_queued = 1;
                wake = p->rhead == NULL;
                t->rnext = p->rhead;
                p->rhead = t;
            }
        } else {
            t->state = T_IDLE;
        }
        pthread_cond_broadcast(&p->done);
        if (wake) {
            uint64_t one = 1;
            if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                le_error(MOD, "eventfd write: %s", strerror(errno));
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void unqueue(le_pipe_pool *p, le_pipe_task *t)
{
    le_pipe_task **pp = &p->qhead, *prev = NULL;
    while (*pp && *pp != t) {
        prev = *pp;
        pp = &(*pp)->qnext;
    }
    if (*pp) {
        *pp = t->qnext;
        if (p->qtail == t)
            p->qtail = prev;
    }
}

static void unreap(le_pipe_pool *p, le_pipe_task *t)
{
    if (!t->reap_queued)
        return;
    le_pipe_task **pp = &p->rhead;
    while (*pp && *pp != t)
        pp = &(*pp)->rnext;
    if (*pp)
        *pp = t->rnext;
    t->reap_queued = 0;
}

int le_pipe_task_stop(le_pipe_task *t)
{
    le_pipe_pool *p = t->pool;
    int now = 1;
    pthread_mutex_lock(&p->mu);
    if (t->state == T_QUEUED)
        unqueue(p, t);
    if (t->state == T_RUNNING || t->state == T_RERUN || t->state == T_STOPPING) {
        t->state = T_STOPPING;
        now = 0;
    } else {
        t->state = T_DEAD;
        unreap(p, t);
    }
    pthread_mutex_unlock(&p->mu);
    return now;
}

int le_pipe_task_dead(le_pipe_task *t)
{
    pthread_mutex_lock(&t->pool->mu);
    int d = t->state == T_DEAD;
    pthread_mutex_unlock(&t->pool->mu);
    return d;
}

void le_pipe_pool_kick(le_pipe_task *t)
{
    le_pipe_pool *p = t->pool;
    pthread_mutex_lock(&p->mu);
    if (t->state == T_IDLE)
        enqueue(p, t);
    else if (t->state == T_RUNNING)
        t->state = T_RERUN;
    pthread_mutex_unlock(&p->mu);
}

void le_pipe_pool_post(le_pipe_task *t)
{
    le_pipe_pool *p = t->pool;
    int wake = 0;
    pthread_mutex_lock(&p->mu);
    if (!t->reap_queued && t->state != T_DEAD) {
        t->reap_queued = 1;
        wake = p->rhead == NULL;    /* the loop has not been woken yet */
        t->rnext = p->rhead;
        p->rhead = t;
    }
    pthread_mutex_unlock(&p->mu);
    uint64_t one = 1;
    if (wake && write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        le_error(MOD, "eventfd write: %s", strerror(errno));
}

static void efd_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    le_pipe_pool *p = arg;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        le_error(MOD, "eventfd read: %s", strerror(errno));
    /* One task at a time off the list, so that a reap may cancel another
     * task that posted in the same batch. Bounded: what is posted while
     * these run waits for the next wake-up. */
    for (int n = 0; n < 1024; n++) {
        pthread_mutex_lock(&p->mu);
        le_pipe_task *t = p->rhead;
        if (t) {
            p->rhead = t->rnext;
            t->reap_queued = 0;
        }
        pthread_mutex_unlock(&p->mu);
        if (!t)
            return;
        t->reap(t);
    }
    uint64_t one = 1;
    if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        le_error(MOD, "eventfd write: %s", strerror(errno));
}

int le_pipe_pool_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 1 ? (int)(n - 1 > MAX_THREADS ? MAX_THREADS : n - 1) : 1;
}

int le_pipe_pool_new(struct event_base *base, int nthreads, le_pipe_pool **out)
{
    *out = NULL;
    if (!base)
        return LE_EINVAL;
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    le_pipe_pool *p = le_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->done, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        le_error(MOD, "eventfd: %s", strerror(errno));
        le_pipe_pool_free(p);
        return LE_EIO;
    }
    p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, efd_cb, p);
    if (!p->ev || event_add(p->ev, NULL) != 0) {
        le_error(MOD, "cannot watch the pool's eventfd");
        le_pipe_pool_free(p);
        return LE_EIO;
    }
    for (int i = 0; i < nthreads; i++) {
        int e = pthread_create(&p->th[i], NULL, thread_main, p);
        if (e != 0) {
            le_error(MOD, "pthread_create: %s", strerror(e));
            le_pipe_pool_free(p);
            return LE_EIO;
        }
        p->nth++;
    }
    *out = p;
    return LE_OK;
}

void le_pipe_pool_free(le_pipe_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nth; i++)
        pthread_join(p->th[i], NULL);
    /* tasks stopped while they ran get their last reap (their owner frees
     * them there); nothing else is delivered any more */
    while (p->rhead) {
        le_pipe_task *t = p->rhead;
        p->rhead = t->rnext;
        t->reap_queued = 0;
        if (t->state == T_DEAD)
            t->reap(t);
    }
    if (p->ev)
        event_free(p->ev);
    if (p->efd >= 0)
        close(p->efd);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

int le_pipe_pool_threads(const le_pipe_pool *p)
{
    return p->nth;
}

void le_pipe_task_init(le_pipe_task *t, le_pipe_pool *p)
{
    t->pool = p;
    t->qnext = t->rnext = NULL;
    t->state = T_IDLE;
    t->reap_queued = 0;
}

void le_pipe_task_cancel(le_pipe_task *t)
{
    le_pipe_pool *p = t->pool;
    pthread_mutex_lock(&p->mu);
    if (t->state == T_QUEUED)
        unqueue(p, t);
    while (t->state == T_RUNNING || t->state == T_RERUN || t->state == T_STOPPING) {
        t->state = T_STOPPING;      /* no rerun */
        pthread_cond_wait(&p->done, &p->mu);
    }
    t->state = T_DEAD;
    unreap(p, t);
    pthread_mutex_unlock(&p->mu);
}
