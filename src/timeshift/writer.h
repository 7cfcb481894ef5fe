/* Disk work for time-shift, off the reactor: a few worker threads
 * behind one bounded queue (jobs and bytes). A full queue refuses new work
 * at once, so a full or slow disk costs segments, never the live service.
 *
 * Threads touch nothing but the job: the bytes to write (which the caller
 * keeps alive and unchanged until the completion runs), a path, and the
 * job's result fields. Completions come back to the loop through an eventfd
 * and run there, in the loop's thread, one by one; that is where the caller
 * drops its references and updates the index. */
#ifndef LE_TS_WRITER_H
#define LE_TS_WRITER_H
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* rc: 0, or LE_EIO with the errno in sys_errno (ECANCELED when stopped
 * before the job ran). Runs on the loop thread. */
typedef void (*le_tsw_done_fn)(int rc, int sys_errno, void *arg);

/* 0, or with err filled LE_EEXIST (already started) or LE_EIO (no eventfd,
 * no thread). threads, max_jobs, max_bytes 0: defaults (2,
 * 512 jobs, 256 MiB). */
int le_tsw_start(struct event_base *base, int threads, size_t max_jobs, size_t max_bytes, char *err,
                 size_t errlen);

/* Writes len bytes to path, atomically for a reader (a temporary name,
 * fdatasync, rename), creating missing directories (0755). 0 when queued
 * (done will run exactly once), LE_ETOOBIG when the queue is full, LE_EIO when
 * not started (done never runs in either case). */
int le_tsw_write(const char *path, const void *data, size_t len, le_tsw_done_fn done, void *arg);

/* Unlinks the n paths (ENOENT counts as done), then removes their parent
 * directories that became empty, up to stop_at (exclusive). Takes over paths
 * and each string in it (free()d by the writer). rc LE_EIO if any unlink
 * failed; sys_errno is the first error. Same queue bound as writes. */
int le_tsw_unlink(char **paths, size_t n, const char *stop_at, le_tsw_done_fn done, void *arg);

/* Stops: waits up to wait_ms for the queue to drain, then cancels what is
 * left, joins the threads and runs every remaining completion here, before
 * returning. Safe to call when not started. */
void le_tsw_stop(int64_t wait_ms);

typedef struct le_tsw_stats {
    uint64_t jobs_now, bytes_now;   /* queued or running */
    uint64_t written, write_bytes;  /* segments on disk */
    uint64_t write_errors;          /* ENOSPC, EIO, ... (logged by the caller) */
    uint64_t refused;               /* queue full: never attempted */
    uint64_t unlinked, unlink_errors;
} le_tsw_stats;
/* A snapshot (taken under the queue lock). */
void le_tsw_get_stats(le_tsw_stats *out);

#endif
