/* Private to pipeline/: the job's layout, shared by job.c (queues, loop
 * side) and codec.c (decode, filter, encode on the worker). */
#ifndef LE_PIPE_JOB_IMPL_H
#define LE_PIPE_JOB_IMPL_H
#include <pthread.h>
#include <stdint.h>

#include "core/util.h"
#include "pipeline/job.h"

struct AVCodecContext;
struct AVFilterGraph;
struct AVFilterContext;
struct AVFrame;

typedef struct le_pipe_inq {
    struct le_pipe_inq *next;
    int input, eof;
    uint8_t type;
    uint32_t ts, len;
    uint8_t data[];
} le_pipe_inq;

typedef struct le_pipe_outq {
    struct le_pipe_outq *next;
    int out;                /* -1 with p NULL: the end */
    le_pkt *p;
} le_pipe_outq;

/* An input's decoder (worker only). */
typedef struct le_pipe_vin {
    struct AVCodecContext *dec;
    uint8_t codec;              /* LE_CODEC_* */
    le_buf extra;               /* the decoder configuration record in use */
    int need_key, errs_in_row;
    int w, h, fmt, have_fmt;    /* frames now coming out of the decoder */
    int sar_num, sar_den;
} le_pipe_vin;

/* An output's encoder and copied audio (worker only). */
typedef struct le_pipe_vout {
    struct AVCodecContext *enc;
    struct AVFilterContext *sink;
    int w, h;
    uint64_t keys_seen;         /* source keyframe times consumed */
    int64_t last_ms;            /* last video ts handed out */
    int started;                /* sequence header out */
    int enc_failed;             /* the encoder refused size w x h */
    le_pipe_outq *ahead, *atail;   /* audio waiting for video to catch up */
    le_buf aseq;                /* the AAC sequence header, sent after each video one */
    int an;
} le_pipe_vout;

#define LE_PIPE_KEYS 64

struct le_pipe_job {
    le_pipe_task task;          /* first: the pool hands it back */
    le_pipe_cfg cfg;
    char *graph_desc, *name, *preset[LE_PIPE_MAX_OUT];

    pthread_mutex_t mu;         /* guards the next block */
    le_pipe_inq *qhead, *qtail;
    size_t q_pkts, q_bytes;
    le_pipe_outq *ohead, *otail;
    size_t o_pkts;
    le_pipe_stats sh;           /* published copy of the counters */

    /* loop only */
    int dropping[LE_PIPE_MAX_IN];  /* video dropped to the next keyframe (under mu) */
    int finished, in_reap, free_later, dying;
    uint64_t last_drop_log, drops_since_log;

    /* worker only */
    le_pipe_outq *phead, *ptail;   /* outputs not yet handed back */
    size_t p_pkts;
    le_pipe_stats st;
    int eof_done;
    le_pipe_vin in[LE_PIPE_MAX_IN];
    le_pipe_vout out[LE_PIPE_MAX_OUT];
    struct AVFilterGraph *graph;
    struct AVFilterContext *src[LE_PIPE_MAX_IN];
    int graph_failed;
    struct AVFrame *frame, *ofr;
    int64_t keys[LE_PIPE_KEYS];    /* input 0's keyframe times, ms */
    uint64_t nkeys;
};

/* codec.c (worker, except init/free which run on the loop while the job is
 * not scheduled) */
void le_pipe_codec_init(le_pipe_job *j);
void le_pipe_codec_input(le_pipe_job *j, const le_pipe_inq *q);
void le_pipe_codec_drain(le_pipe_job *j);
void le_pipe_codec_free(le_pipe_job *j);
/* job.c: queue an output (p NULL, out -1: the end) */
void le_pipe_emit(le_pipe_job *j, int out, le_pkt *p);

#endif
