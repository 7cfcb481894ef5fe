/* The recorder's writer threads (private to record/): jobs run one at a
 * time per task on record_threads threads; results come back to the loop
 * through an eventfd, in the order the threads produced them. Only the
 * loop submits and reaps; the threads touch nothing but the queue and the
 * writers a job names. */
#ifndef LE_RECORD_POOL_H
#define LE_RECORD_POOL_H
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Something the loop gets back: a finished job, or a message a writer
 * produced during one (it always arrives before its job). */
typedef struct le_recp_item {
    struct le_recp_item *next;
    void (*run)(struct le_recp_item *it);   /* on the loop; frees it */
} le_recp_item;

/* A job: work(j) on a thread, then j itself comes back through run. */
typedef struct le_recp_job {
    le_recp_item item;
    void (*work)(struct le_recp_job *j);
} le_recp_job;

int le_recp_start(struct event_base *base, int nthreads, char *err, size_t errlen);
void le_recp_submit(le_recp_job *j);
/* From a thread (inside work): queue it for the loop. */
void le_recp_post(le_recp_item *it);
/* Runs what came back (the eventfd handler calls it too). */
void le_recp_reap(void);
/* Jobs queued or running. */
size_t le_recp_busy(void);
/* Waits until nothing is queued or running, or deadline (le_mono_ms),
 * reaping as results arrive. 1 when idle. */
int le_recp_wait(uint64_t deadline_ms);
/* Stops the threads after the queue drains (jobs still queued run first),
 * reaps, closes the eventfd. */
void le_recp_stop(void);

#endif
