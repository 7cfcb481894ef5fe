/* Writer threads of the recorder (record/pool.h). One mutex (P.mu) guards
 * the job queue and the list of results; nothing is called under it. */
#include "record/pool.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MOD "record"
#define MAX_THREADS 64

static struct {
    int started, stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* work queued, or stopping */
    pthread_cond_t idle;        /* a job finished */
    pthread_t th[MAX_THREADS];
    int nth;
    le_recp_item *qhead, *qtail;   /* jobs waiting */
    le_recp_item *dhead, *dtail;   /* results for the loop */
    size_t busy;                /* queued + running */
    int efd;
    struct event *ev;
} P = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER,
        .efd = -1 };

static void append(le_recp_item **h, le_recp_item **t, le_recp_item *it)
{
    it->next = NULL;
    if (*t)
        (*t)->next = it;
    else
        *h = it;
    *t = it;
}

static void signal_loop(void)
{
    uint64_t one = 1;
    if (P.efd >= 0 && write(P.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        le_error(MOD, "eventfd write: %s", strerror(errno));
}

void le_recp_post(le_recp_item *it)
{
    pthread_mutex_lock(&P.mu);
    append(&P.dhead, &P.dtail, it);
    pthread_mutex_unlock(&P.mu);
    signal_loop();
}

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (!P.qhead && !P.stopping)
            pthread_cond_wait(&P.cv, &P.mu);
        if (!P.qhead)
            break;
        le_recp_item *it = P.qhead;
        P.qhead = it->next;
        if (!P.qhead)
            P.qtail = NULL;
        pthread_mutex_unlock(&P.mu);
        le_recp_job *j = (le_recp_job *)it;
        j->work(j);
        pthread_mutex_lock(&P.mu);
        append(&P.dhead, &P.dtail, it);
        P.busy--;
        pthread_cond_broadcast(&P.idle);
        pthread_mutex_unlock(&P.mu);
        signal_loop();
        pthread_mutex_lock(&P.mu);
    }
    pthread_mutex_unlock(&P.mu);
    return NULL;
}

void le_recp_reap(void)
{
    pthread_mutex_lock(&P.mu);
    le_recp_item *it = P.dhead;
    P.dhead = P.dtail = NULL;
    pthread_mutex_unlock(&P.mu);
    while (it) {
        le_recp_item *next = it->next;
        it->run(it);
        it = next;
    }
}

static void efd_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    (void)arg;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        le_error(MOD, "eventfd read: %s", strerror(errno));
    le_recp_reap();
}

int le_recp_start(struct event_base *base, int nthreads, char *err, size_t errlen)
{
    if (P.started)
        return LE_EEXIST;
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > MAX_THREADS)
        nthreads = MAX_THREADS;
    P.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (P.efd < 0) {
        snprintf(err, errlen, "record: eventfd: %s", strerror(errno));
        return LE_EIO;
    }
    P.ev = event_new(base, P.efd, EV_READ | EV_PERSIST, efd_cb, NULL);
    if (!P.ev || event_add(P.ev, NULL) != 0) {
        snprintf(err, errlen, "record: cannot watch the eventfd");
        if (P.ev)
            event_free(P.ev);
        P.ev = NULL;
        close(P.efd);
        P.efd = -1;
        return LE_EIO;
    }
    P.stopping = 0;
    P.started = 1;
    for (int i = 0; i < nthreads; i++) {
        int e = pthread_create(&P.th[i], NULL, thread_main, NULL);
        if (e != 0) {
            snprintf(err, errlen, "record: pthread_create: %s", strerror(e));
            le_recp_stop();
            return LE_EIO;
        }
        P.nth++;
    }
    return LE_OK;
}

void le_recp_submit(le_recp_job *j)
{
    pthread_mutex_lock(&P.mu);
    append(&P.qhead, &P.qtail, &j->item);
    P.busy++;
    pthread_cond_signal(&P.cv);
    pthread_mutex_unlock(&P.mu);
}

size_t le_recp_busy(void)
{
    pthread_mutex_lock(&P.mu);
    size_t n = P.busy;
    pthread_mutex_unlock(&P.mu);
    return n;
}

int le_recp_wait(uint64_t deadline_ms)
{
    for (;;) {
        le_recp_reap();
        pthread_mutex_lock(&P.mu);
        if (P.busy == 0) {
            pthread_mutex_unlock(&P.mu);
            le_recp_reap();
            return 1;
        }
        uint64_t now = le_mono_ms();
        if (now >= deadline_ms) {
            pthread_mutex_unlock(&P.mu);
            return 0;
        }
        uint64_t step = deadline_ms - now < 50 ? deadline_ms - now : 50;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(step * 1000000);
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&P.idle, &P.mu, &ts);
        pthread_mutex_unlock(&P.mu);
    }
}

void le_recp_stop(void)
{
    if (!P.started)
        return;
    pthread_mutex_lock(&P.mu);
    P.stopping = 1;
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
    for (int i = 0; i < P.nth; i++)
        pthread_join(P.th[i], NULL);
    P.nth = 0;
    le_recp_reap();
    if (P.ev)
        event_free(P.ev);
    P.ev = NULL;
    if (P.efd >= 0)
        close(P.efd);
    P.efd = -1;
    P.started = 0;
}
