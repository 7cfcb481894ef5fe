/* The snapshotter: for every publish whose (domain, app) has a snapshot
 * config (snapshot/config.h) when the publish starts, every TimeInterval
 * seconds the latest keyframe of the stream's GOP cache and its sequence
 * header are copied on the loop and handed to the snapshot worker thread,
 * which makes a JPEG of it (snapshot/jpeg.h) and writes it to the
 * OverwriteOssObject and/or SequenceOssObject keys under record_root as
 * {bucket}/{key} (.tmp, then rename). Back on the loop, with an s3 block
 * the files are uploaded (record/s3.h), and each SequenceOssObject is
 * indexed in Redis for DescribeLiveStreamSnapshotInfo. docs/SNAPSHOT.md.
 *
 * Threads: the worker gets copies of the bytes (no le_pkt crosses the
 * boundary) through a bounded queue (LE_SNAP_QUEUE_MAX jobs; a full queue
 * fails the snapshot, counted) and gives the finished job back through an
 * eventfd; it never touches the loop's state. */
#ifndef LE_SNAPSHOT_H
#define LE_SNAPSHOT_H
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define LE_SNAP_QUEUE_MAX 64

/* Starts the worker thread, registers the stream hooks and /metrics.
 * LE_OK, or LE_EIO with err filled. After le_record_init (record_root). */
int le_snapshot_init(struct event_base *base, char *err, size_t errlen);
/* Ends every task, joins the worker (jobs still queued are dropped). */
void le_snapshot_free(void);

typedef struct le_snapshot_stats {
    uint64_t tasks_now;         /* publishes taking snapshots */
    uint64_t taken, bytes;      /* JPEGs written (per object key), their bytes */
    uint64_t failed;            /* decode, encode, write, queue full, no {Sequence} */
    uint64_t skipped;           /* intervals without a keyframe (or of a codec other than H.264/HEVC) */
    uint64_t work_us;           /* the worker's time: decode, convert, encode, write */
} le_snapshot_stats;
void le_snapshot_get_stats(le_snapshot_stats *out);

#endif
