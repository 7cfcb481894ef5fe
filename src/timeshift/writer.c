/* Time-shift disk writer: pthreads behind a bounded queue, completions back
 * to the loop through an eventfd (no libevent threading needed: the loop
 * alone touches libevent, the threads only the queue under its mutex).
 *
 * Lock order: one mutex (W.mu) for the queue, the done list and the stats.
 * Nothing is called back under it. */
#include "timeshift/writer.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"

#define MAX_THREADS 8
#define DEF_THREADS 2
#define DEF_JOBS 512
#define DEF_BYTES (256u << 20)
/* A sweep may run into the writer re-creating a directory it just emptied:
 * the open is retried after creating the directories again. */
#define OPEN_TRIES 3

enum { J_WRITE = 1, J_UNLINK };

typedef struct job {
    int kind;
    char *path;                 /* J_WRITE: target; owned */
    const void *data;           /* J_WRITE: the caller's bytes */
    size_t len;
    char **paths;               /* J_UNLINK: owned, each owned */
    size_t npaths;
    char *stop_at;              /* J_UNLINK: owned */
    size_t cost;                /* bytes charged to the bound */
    le_tsw_done_fn done;
    void *arg;
    int rc, err;                /* result, set by the worker */
    struct job *next;
} job;

static struct {
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* work queued, or stopping */
    pthread_t th[MAX_THREADS];
    int nth;
    job *qhead, *qtail;         /* waiting */
    job *dhead, *dtail;         /* finished, for the loop */
    int stopping;
    size_t max_jobs, max_bytes;
    size_t running;             /* taken by a worker, not yet finished */
    le_tsw_stats st;
    int efd;
    struct event *ev;
} W = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .efd = -1 };

static void job_free(job *j)
{
    free(j->path);
    for (size_t i = 0; i < j->npaths; i++)
        free(j->paths[i]);
    free(j->paths);
    free(j->stop_at);
    free(j);
}

/* Appends j to a singly linked list (the queue or the done list). */
static void job_append(job **head, job **tail, job *j)
{
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

/* ---- worker side: files only ---- */

static int mkdir_p(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(buf))
        return LE_EINVAL;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char save = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return LE_EIO;              /* errno tells why */
        buf[i] = save;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return LE_EIO;              /* errno tells why */
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void do_write(job *j)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", j->path) >= (int)sizeof(tmp)) {
        j->rc = LE_EIO;
        j->err = ENAMETOOLONG;
        return;
    }
    int fd = -1;
    for (int t = 0; t < OPEN_TRIES && fd < 0; t++) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && errno == ENOENT) {
            char dir[4200];
            snprintf(dir, sizeof(dir), "%s", j->path);
            char *slash = strrchr(dir, '/');
            if (!slash)
                break;
            *slash = '\0';
            if (mkdir_p(dir) != 0)
                break;
        } else if (fd < 0) {
            break;
        }
    }
    if (fd < 0) {
        j->rc = LE_EIO;
        j->err = errno;
        return;
    }
    /* fdatasync before the rename: the index entry is written only after
     * this job completes, so an indexed segment survives a crash too. */
    if (write_all(fd, j->data, j->len) != 0 || fdatasync(fd) != 0) {
        j->err = errno;
        close(fd);
        unlink(tmp);
        j->rc = LE_EIO;
        return;
    }
    if (close(fd) != 0 || rename(tmp, j->path) != 0) {
        j->err = errno;
        unlink(tmp);
        j->rc = LE_EIO;
        return;
    }
    j->rc = 0;
}

static size_t dir_len(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? (size_t)(s - p) : 0;
}

static void do_unlink(job *j)
{
    size_t stop_len = j->stop_at ? strlen(j->stop_at) : 0;
    j->rc = 0;
    for (size_t i = 0; i < j->npaths; i++) {
        const char *p = j->paths[i];
        if (unlink(p) != 0 && errno != ENOENT) {
            if (j->rc == 0) {
                j->rc = LE_EIO;
                j->err = errno;
            }
            continue;
        }
        /* Paths come grouped by directory: try a directory once, after its
         * last file. */
        size_t dl = dir_len(p);
        if (i + 1 < j->npaths && dir_len(j->paths[i + 1]) == dl && strncmp(j->paths[i + 1], p, dl) == 0)
            continue;
        char dir[4200];
        if (dl == 0 || dl >= sizeof(dir))
            continue;
        memcpy(dir, p, dl);
        dir[dl] = '\0';
        while (stop_len && strlen(dir) > stop_len && strncmp(dir, j->stop_at, stop_len) == 0 &&
               dir[stop_len] == '/') {
            if (rmdir(dir) != 0)
                break;   /* ENOTEMPTY: still in use */
            char *slash = strrchr(dir, '/');
            if (!slash)
                break;
            *slash = '\0';
        }
    }
}

static void notify_loop(void)
{
    uint64_t one = 1;
    ssize_t w = write(W.efd, &one, sizeof(one));
    (void)w;   /* EAGAIN: the counter is saturated, the loop will wake anyway */
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&W.mu);
    for (;;) {
        while (!W.qhead && !W.stopping)
            pthread_cond_wait(&W.cv, &W.mu);
        if (W.stopping)
            break;
        job *j = W.qhead;
        W.qhead = j->next;
        if (!W.qhead)
            W.qtail = NULL;
        j->next = NULL;
        W.running++;
        pthread_mutex_unlock(&W.mu);

        if (j->kind == J_WRITE)
            do_write(j);
        else
            do_unlink(j);

        pthread_mutex_lock(&W.mu);
        W.running--;
        if (j->kind == J_WRITE) {
            if (j->rc == 0) {
                W.st.written++;
                W.st.write_bytes += j->len;
            } else {
                W.st.write_errors++;
            }
        } else {
            W.st.unlinked += j->npaths;
            if (j->rc)
                W.st.unlink_errors++;
        }
        job_append(&W.dhead, &W.dtail, j);
        notify_loop();
    }
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

/* ---- loop side ---- */

/* Runs every finished job's completion, outside the lock. */
static void run_done(void)
{
    pthread_mutex_lock(&W.mu);
    job *list = W.dhead;
    W.dhead = W.dtail = NULL;
    for (job *j = list; j; j = j->next) {
        W.st.jobs_now--;
        W.st.bytes_now -= j->cost;
    }
    pthread_mutex_unlock(&W.mu);
    while (list) {
        job *j = list;
        list = j->next;
        if (j->done)
            j->done(j->rc, j->err, j->arg);
        job_free(j);
    }
}

static void efd_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t v;
    while (read(W.efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
        ;
    run_done();
}

int le_tsw_start(struct event_base *base, int threads, size_t max_jobs, size_t max_bytes, char *err,
                 size_t errlen)
{
    if (W.started) {
        snprintf(err, errlen, "time-shift writer already started");
        return LE_EEXIST;
    }
    W.nth = threads > 0 ? (threads > MAX_THREADS ? MAX_THREADS : threads) : DEF_THREADS;
    W.max_jobs = max_jobs ? max_jobs : DEF_JOBS;
    W.max_bytes = max_bytes ? max_bytes : DEF_BYTES;
    W.stopping = 0;
    memset(&W.st, 0, sizeof(W.st));
    W.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (W.efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        return LE_EIO;
    }
    W.ev = event_new(base, W.efd, EV_READ | EV_PERSIST, efd_cb, NULL);
    if (!W.ev || event_add(W.ev, NULL) != 0) {
        snprintf(err, errlen, "time-shift writer: cannot watch the eventfd");
        if (W.ev)
            event_free(W.ev);
        W.ev = NULL;
        close(W.efd);
        W.efd = -1;
        return LE_EIO;
    }
    int made = 0;
    for (; made < W.nth; made++) {
        int rc = pthread_create(&W.th[made], NULL, worker, NULL);
        if (rc != 0) {
            snprintf(err, errlen, "pthread_create: %s", strerror(rc));
            break;
        }
    }
    W.nth = made;
    W.started = 1;
    if (made == 0) {
        le_tsw_stop(0);
        return LE_EIO;
    }
    return 0;
}

static int enqueue(job *j)
{
    pthread_mutex_lock(&W.mu);
    if (!W.started || W.stopping) {
        pthread_mutex_unlock(&W.mu);
        return LE_EIO;
    }
    if (W.st.jobs_now + 1 > W.max_jobs || W.st.bytes_now + j->cost > W.max_bytes) {
        W.st.refused++;
        pthread_mutex_unlock(&W.mu);
        return LE_ETOOBIG;
    }
    W.st.jobs_now++;
    W.st.bytes_now += j->cost;
    job_append(&W.qhead, &W.qtail, j);
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
    return 0;
}

/* Queues j, or frees it when refused (done then never runs). */
static int submit(job *j, le_tsw_done_fn done, void *arg)
{
    j->done = done;
    j->arg = arg;
    int rc = enqueue(j);
    if (rc)
        job_free(j);
    return rc;
}

int le_tsw_write(const char *path, const void *data, size_t len, le_tsw_done_fn done, void *arg)
{
    job *j = le_xcalloc(1, sizeof(*j));
    j->kind = J_WRITE;
    j->path = le_xstrdup(path);
    j->data = data;
    j->len = len;
    j->cost = len + strlen(path) + sizeof(*j);
    return submit(j, done, arg);
}

int le_tsw_unlink(char **paths, size_t n, const char *stop_at, le_tsw_done_fn done, void *arg)
{
    job *j = le_xcalloc(1, sizeof(*j));
    j->kind = J_UNLINK;
    j->paths = paths;
    j->npaths = n;
    j->stop_at = stop_at ? le_xstrdup(stop_at) : NULL;
    j->cost = sizeof(*j) + n * 128;
    return submit(j, done, arg);
}

void le_tsw_stop(int64_t wait_ms)
{
    if (!W.started)
        return;
    uint64_t deadline = le_mono_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        pthread_mutex_lock(&W.mu);
        int busy = W.qhead || W.running;
        pthread_mutex_unlock(&W.mu);
        if (!busy || le_mono_ms() >= deadline)
            break;
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&W.mu);
    W.stopping = 1;
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
    for (int i = 0; i < W.nth; i++)
        pthread_join(W.th[i], NULL);
    /* What no worker took is cancelled; its owner still hears of it. */
    pthread_mutex_lock(&W.mu);
    while (W.qhead) {
        job *j = W.qhead;
        W.qhead = j->next;
        j->rc = LE_EIO;
        j->err = ECANCELED;
        job_append(&W.dhead, &W.dtail, j);
    }
    W.qtail = NULL;
    pthread_mutex_unlock(&W.mu);
    run_done();
    if (W.ev)
        event_free(W.ev);
    W.ev = NULL;
    if (W.efd >= 0)
        close(W.efd);
    W.efd = -1;
    W.nth = 0;
    W.started = 0;
}

void le_tsw_get_stats(le_tsw_stats *out)
{
    pthread_mutex_lock(&W.mu);
    *out = W.st;
    pthread_mutex_unlock(&W.mu);
}
