/* The node's media worker pool (docs/PIPELINE.md). A fixed set of threads
 * runs tasks; a task runs on at most one thread at a time (its work is
 * serialised), and many tasks share the threads round-robin: work() does a
 * bounded slice and kicks itself again when more is waiting.
 *
 * Threads and what crosses them:
 * - le_pipe_pool_kick() and le_pipe_pool_post() may be called from any
 *   thread; everything else only from the loop thread that owns `base`.
 * - post() asks the loop to call the task's reap(); posts coalesce (one
 *   pending reap per task, one eventfd write per batch of tasks).
 * - The pool moves task pointers only. What a task shares between its
 *   work() and its reap() is the task's business (a job guards its queues
 *   with its own mutex, pipeline/job.h). No le_pkt reference count is ever
 *   touched by the pool. */
#ifndef LE_PIPE_POOL_H
#define LE_PIPE_POOL_H
#include <stddef.h>

struct event_base;
typedef struct le_pipe_pool le_pipe_pool;

typedef struct le_pipe_task {
    void (*work)(struct le_pipe_task *t);   /* on a worker thread */
    void (*reap)(struct le_pipe_task *t);   /* on the loop, after a post() */
    /* private to the pool */
    le_pipe_pool *pool;
    struct le_pipe_task *qnext, *rnext;
    int state, reap_queued;
} le_pipe_task;

/* Starts nthreads workers (clamped to 1..64); the eventfd is watched on
 * base. 0, LE_EIO (eventfd, thread) or LE_EINVAL. */
int le_pipe_pool_new(struct event_base *base, int nthreads, le_pipe_pool **out);
/* Joins the threads (tasks still queued are not run: stop them first),
 * gives tasks stopped while running their last reap, closes the eventfd. */
void le_pipe_pool_free(le_pipe_pool *p);
int le_pipe_pool_threads(const le_pipe_pool *p);
/* The default size: online cores - 1, at least 1. */
int le_pipe_pool_default_threads(void);

/* Loop: attaches t (work and reap set) to p; t starts idle. */
void le_pipe_task_init(le_pipe_task *t, le_pipe_pool *p);
/* Any thread: t's work() will run (again) soon. A kick while work() runs
 * makes it run once more afterwards. */
void le_pipe_pool_kick(le_pipe_task *t);
/* Any thread: the loop will call t->reap(t) soon. */
void le_pipe_pool_post(le_pipe_task *t);
/* Loop: t is dequeued, waited for if running, and will never run or be
 * reaped again; then its memory is the caller's. */
void le_pipe_task_cancel(le_pipe_task *t);
/* Loop, never blocks: t will not run again. 1: it is not running, it will
 * never be reaped again, its memory is the caller's now. 0: a work() is
 * running; t->reap(t) will be called once more after it returned, and
 * from then on le_pipe_task_dead(t) is 1 and nothing refers to t. */
int le_pipe_task_stop(le_pipe_task *t);
int le_pipe_task_dead(le_pipe_task *t);

#endif
