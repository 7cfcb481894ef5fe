/* Time-shift glue (docs/ARCHITECTURE.md, Threads): persists every sealed HLS segment of a
 * domain with `timeshift on`, sweeps what falls out of
 * `timeshift_retention`, and rebuilds the index from disk (--reindex).
 *
 * Persisting. A 250 ms timer walks the live streams; every sealed segment of
 * the stream's HLS ring (le_hls_segments) newer than the last one seen is
 * queued to the writer with a reference held until the write completes;
 * then, on the loop, its index entry is written (index.h). The ring keeps
 * hls_window + 3 segments, many ticks' worth. No change to the segmenter.
 *
 * Numbers. A stream's segmenter numbers segments consecutively for as long
 * as the node runs. The time-shift sequence continues them, shifted so that
 * a node restart never numbers backwards: on the first segment of a stream
 * in this process, seq = its wall start ms, and the next ones follow one by
 * one. Likewise the discontinuity sequence (dseq) starts at that wall ms and
 * grows by one at each discontinuity: a publisher restart (the segmenter's
 * flag), a gap of more than LE_TSI_GAP_MS, and the first segment of a run.
 * Both stay below the next run's start as long as segments last >= 1 ms.
 *
 * Losses are counted and logged, never waited for: a full writer queue
 * (slow disk) drops the segment, a failed write (ENOSPC) drops it; live HLS
 * is not affected either way. */
#ifndef LE_TIMESHIFT_H
#define LE_TIMESHIFT_H
#include <stddef.h>
#include <stdint.h>
#include "timeshift/index.h"

struct le_conf;

/* After le_store_start and le_hls_init, with le_node_base() running. 0, or
 * le_tsw_start's code with err filled. */
int le_timeshift_init(char *err, size_t errlen);
/* After the RTMP and HTTP listeners are shut (publishers gone, their last
 * segments sealed), before le_stream_shutdown and le_store_stop: persists
 * what is sealed, waits (bounded) for the writer, queues the index writes. */
void le_timeshift_shutdown(void);

/* `livedge --reindex`: walks data_dir/ts, writes an index entry for every
 * segment file (idempotent), drops entries whose file is gone, prints a
 * summary and returns the exit status. Runs its own event base and store;
 * with `redis embedded` the node must be stopped. */
int le_timeshift_reindex(const struct le_conf *conf);

/* The file of an entry: {data_dir}/ts/{domain}/{app}/{name}/{day}/{file}.
 * 0, or LE_EINVAL (unsafe part, no room). */
int le_timeshift_path(const char *domain, const char *app, const char *name, const le_tsi_ent *e,
                      char *out, size_t outsz);

typedef struct le_timeshift_stats {
    uint64_t segments_queued;   /* handed to the writer */
    uint64_t segments_indexed;  /* on disk, index write queued */
    uint64_t dropped_queue;     /* writer queue full (slow disk) */
    uint64_t dropped_error;     /* write failed (ENOSPC, EIO, ...) */
    uint64_t dropped_invalid;   /* duration out of range, unsafe names */
    uint64_t swept;             /* expired segments removed */
    uint64_t sweep_errors;
} le_timeshift_stats;
const le_timeshift_stats *le_timeshift_get_stats(void);

#endif
