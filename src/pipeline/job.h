/* A pipeline job (docs/PIPELINE.md): N inputs of FLV tag bodies (H.264 or
 * HEVC video, legacy or enhanced RTMP; AAC audio), one libavfilter graph,
 * M outputs each encoded to H.264 (libx264, VBV-capped; or HEVC with
 * libx265) and handed back as FLV tag bodies: the sequence header first,
 * then coded frames, with input 0's audio copied through when the output
 * asks for it.
 *
 * Threads: every function here is for the loop thread. The job's work runs
 * on one pool worker at a time (pipeline/pool.h).
 *
 * What crosses threads:
 * - Input: le_pipe_job_push() copies the tag body into the job's input
 *   queue; the caller's le_pkt is never referenced (le_pkt refcounts are
 *   not atomic).
 * - Output: the worker builds each output as a new le_pkt (le_pkt_new,
 *   refs = 1), puts it on the job's output queue and never touches it again.
 *   The loop takes the queue and calls on_pkt, which owns that reference.
 * Both queues are guarded by the job's mutex and bounded (input: packets and
 * bytes, overflow drops video to the next keyframe; output: packets, a full
 * queue pauses the worker until the loop has taken it). */
#ifndef LE_PIPE_JOB_H
#define LE_PIPE_JOB_H
#include <stddef.h>
#include <stdint.h>

#include "media/pkt.h"
#include "pipeline/pool.h"

#define LE_PIPE_MAX_IN 8
#define LE_PIPE_MAX_OUT 8

typedef struct le_pipe_out_cfg {
    int bitrate_kbps;       /* target = VBV maxrate; bufsize = 1 s of it */
    int audio;              /* copy input 0's AAC into this output */
    const char *preset;     /* x264/x265 preset, NULL: "veryfast" */
    int hevc;               /* HEVC with libx265 (enhanced RTMP 'hvc1' tags) instead of H.264 */
} le_pipe_out_cfg;

typedef struct le_pipe_job le_pipe_job;

/* On the loop: output `out` produced p (the reference is the callee's).
 * p == NULL once, after le_pipe_job_finish(), when everything is out. */
typedef void (*le_pipe_on_pkt)(void *ud, int out, le_pkt *p);

typedef struct le_pipe_cfg {
    int ninputs, noutputs;          /* 1..LE_PIPE_MAX_IN, 1..LE_PIPE_MAX_OUT */
    /* libavfilter description: inputs are labelled [in0]..[inN-1], outputs
     * [o0]..[oM-1], e.g. "[in0]split=2[a][b];[a]scale=640:360[o0];[b]scale=960:540[o1]".
     * Every output is converted to yuv420p. */
    const char *graph;
    le_pipe_out_cfg out[LE_PIPE_MAX_OUT];
    int fps_hint;                   /* source frame rate if known (rate control); 0: 30 */
    int max_gop_frames;             /* keyframe at the latest after this many frames; 0: 300 */
    size_t in_max_bytes;            /* input queue bounds; 0: 8 MiB, 300 packets */
    int in_max_pkts;
    int out_max_pkts;               /* output queue bound; 0: 512 */
    int batch_ms;                   /* hand outputs back per this much media; 0: 40 */
    const char *name;               /* for log lines */
    le_pipe_on_pkt on_pkt;
    void *ud;
} le_pipe_cfg;

typedef struct le_pipe_stats {
    uint64_t in_pkts, in_bytes;     /* accepted into the input queue */
    uint64_t dropped_video;         /* input video dropped by overload */
    uint64_t dropped_audio;
    uint64_t decode_errors;         /* packets the decoder refused */
    uint64_t frames_decoded, frames_encoded, out_pkts;
    uint64_t reconfigs;             /* decoder / graph rebuilt mid-stream */
    uint64_t queue_pkts, queue_bytes;   /* input queue now */
} le_pipe_stats;

/* Checks cfg (graph parse errors show at the first frame, as a log line and
 * a job that outputs nothing). 0, LE_EINVAL, LE_ENOTFOUND (libavcodec has
 * no libx264, or no libx265 for an HEVC output). Strings in cfg are copied. */
int le_pipe_job_new(le_pipe_pool *pool, const le_pipe_cfg *cfg, le_pipe_job **out);
/* Copies p's body into the input queue of `input`. Audio is used from
 * input 0 only. 0; LE_ETOOBIG when dropped for overload (counted; video
 * then drops to the next keyframe); LE_EINVAL (bad input index, finished). */
int le_pipe_job_push(le_pipe_job *j, int input, const le_pkt *p);
/* End of input: the worker drains decoders, graph and encoders, and on_pkt
 * gets NULL last. */
void le_pipe_job_finish(le_pipe_job *j);
void le_pipe_job_stats(le_pipe_job *j, le_pipe_stats *st);
/* Stops the job and drops what is queued, without waiting: if a slice is
 * running on a worker, the memory is released on the loop after it. on_pkt
 * is not called any more. */
void le_pipe_job_free(le_pipe_job *j);

#endif
