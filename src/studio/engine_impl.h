/* Private to the studio engine (studio/engine.h): the engine's layout,
 * shared by engine.c (loop side: queues, commands, the clock and the
 * hand-back), engine_render.c (the worker's tick: sources and scene
 * graphs) and engine_enc.c (the scene encoders and FLV tag bodies). */
#ifndef LE_STUDIO_ENGINE_IMPL_H
#define LE_STUDIO_ENGINE_IMPL_H
#include <pthread.h>
#include <stdint.h>

#include "core/util.h"
#include "studio/engine.h"
#include "studio/source.h"

struct AVCodecContext;
struct AVFilterGraph;
struct AVFilterContext;
struct AVFrame;
struct AVAudioFifo;
struct SwsContext;
struct event;

enum { SE_FEED, SE_SOURCE, SE_RESET, SE_SCENE, SE_DELAY, SE_SEEK, SE_PAUSE };

/* A scene as the worker keeps it: the caller's copy with its own strings. */
typedef struct se_scene_copy {
    le_se_scene s;
    char *strs[LE_SG_MAX_COMPONENTS][4];    /* text, color, font_name, border_color */
    char *desc;                             /* le_sg_build's description */
} se_scene_copy;

/* One input queue item: a live body or a command, in call order. */
typedef struct se_item {
    struct se_item *next;
    int kind, slot;
    /* SE_FEED */
    uint8_t type, flags;
    uint32_t ts, len;
    int64_t arr_ms;             /* the clock when le_se_feed took it (SE_RESET too) */
    /* SE_SOURCE, SE_SCENE given a time: the first tick >= at_ms applies it */
    int timed;
    int64_t at_ms;
    /* SE_SOURCE (SE_DELAY: begin_ms video, end_ms audio; SE_SEEK: begin_ms
     * the offset; SE_PAUSE: live the pause flag) */
    int live, repeat;
    int64_t begin_ms, end_ms;
    char *path;
    /* SE_SCENE */
    se_scene_copy *scene;
    uint8_t data[];
} se_item;

/* A handed-back body, or (p NULL) an event: scene the slot, out the
 * event, ev_ms its clock time. */
typedef struct se_outq {
    struct se_outq *next;
    int scene, out;
    le_pkt *p;
    int64_t ev_ms;
} se_outq;

#define SE_VHOLD 16             /* video held for audio, at most (frames) */

/* An output's video encoder (worker only). */
typedef struct se_venc {
    struct AVCodecContext *enc;
    struct SwsContext *sws;
    struct AVFrame *scaled;
    int failed;
    le_pkt *hold[SE_VHOLD];     /* coded frames waiting for the audio up to their ts */
    int nhold;
} se_venc;

/* A pending AAC packet, shared by the scene's outputs. */
typedef struct se_apkt {
    struct se_apkt *next;
    int64_t ts;
    uint32_t len;
    uint8_t data[];
} se_apkt;

/* A scene on the worker. */
typedef struct se_scene {
    se_scene_copy *cur;         /* NULL: never set */
    struct AVFilterGraph *graph;
    struct AVFilterContext *vsrc[LE_SE_SLOTS], *asrc[LE_SE_SLOTS], *isrc[LE_SG_MAX_IMAGES];
    struct AVFilterContext *vsink, *asink;
    int in_w[LE_SE_SLOTS], in_h[LE_SE_SLOTS], in_fmt[LE_SE_SLOTS];
    int graph_failed;           /* logged; black frames until the next change */
    int built;                  /* a graph was built since the scene started */
    struct AVFrame *img[LE_SG_MAX_IMAGES];  /* loaded pictures (RGBA) */
    char img_path[LE_SG_MAX_IMAGES][LE_SE_PATH_MAX];
    struct AVFrame *black;      /* the scene size, while the graph fails */
    /* encoders */
    int enc_open;
    int nout;
    le_se_out out[LE_SE_MAX_OUT];
    se_venc v[LE_SE_MAX_OUT];
    struct AVCodecContext *aenc;
    struct AVAudioFifo *fifo;
    struct AVFrame *afr;        /* the AAC encoder's input frame, reused */
    int64_t a_in;               /* samples into the AAC encoder */
    int64_t a_pkts;             /* AAC packets out */
    int64_t a_base_ms;          /* the clock when the encoders opened */
    int64_t a_tick0;            /* the tick they opened at */
    int64_t a_skip;             /* samples of the ticks skipped since */
    int64_t a_last_ts;          /* ts of the newest AAC packet, -1: none */
    int64_t v_last_ts;          /* ts of the last video body out, -1: none */
    int64_t v_last_tick;        /* the last tick encoded, -1: none */
    se_apkt *ahead, *atail;
} se_scene;

struct le_se {
    le_pipe_task task;          /* first: the pool hands it back */
    le_se_cfg cfg;
    char *name, *preset;
    struct event_base *base;
    struct event *timer;
    uint64_t start_us;          /* CLOCK_MONOTONIC at le_se_new */
    int64_t epoch_ms;           /* CLOCK_REALTIME (ms) at le_se_new: the wall time of clock 0 */

    pthread_mutex_t mu;         /* guards the next block */
    se_item *qhead, *qtail;
    size_t q_bytes;
    se_outq *ohead, *otail;
    size_t o_pkts;
    le_se_stats sh;             /* published copy of the worker's counters */
    le_se_slot_stats slot_sh[LE_SE_SLOTS];  /* published copy of slot_st */

    /* loop only */
    int live[LE_SE_SLOTS];
    int dropping[LE_SE_SLOTS];  /* video dropped to the next keyframe */
    struct { int on, live; int64_t at_ms; } tlive[LE_SE_SLOTS];  /* a timed source: live[] from at_ms */
    int in_reap, free_later, dying;
    uint64_t last_drop_log, drops_since_log, in_dropped;

    /* loop only: the delays last asked for (le_se_set_delay) */
    int delay_set[LE_SE_SLOTS][2];

    /* worker only */
    le_se_stats st;
    /* The per-slot delay lines (le_se_set_delay): [0] video, [1] audio
     * bodies (and a publisher's reset) waiting for arr_ms + dl_ms. */
    struct { se_item *head, *tail; } dl[LE_SE_SLOTS][2];
    int64_t dl_ms[LE_SE_SLOTS][2];
    int dl_dropping[LE_SE_SLOTS];   /* video dropped to the next keyframe */
    size_t dl_bytes;
    uint64_t last_dl_log, dl_since_log;
    se_outq *phead, *ptail;
    size_t p_pkts;
    int64_t next_tick;          /* the next tick to render */
    uint64_t last_lag_log, lag_since_log;
    se_item *pend;              /* timed commands waiting, by at_ms (then call order) */
    le_ss *src[LE_SE_SLOTS];
    int src_kind[LE_SE_SLOTS];  /* 0 empty, 1 live, 2 file (also when the file cannot be played) */
    int src_eof[LE_SE_SLOTS];   /* the file slot's EOF was posted */
    le_se_slot_stats slot_st[LE_SE_SLOTS];
    /* The source of a timed SE_SOURCE waiting in pend, made ahead: a live
     * one gets the slot's bodies from the call on (its decoder has the
     * publisher's headers when it takes over), a file is open. */
    le_ss *staged[LE_SE_SLOTS];
    uint64_t src_errs[LE_SE_SLOTS];
    struct AVFrame *slate;      /* 64x36 black */
    struct AVFrame *aud[LE_SE_SLOTS];   /* this tick's audio per slot */
    struct AVFrame *tmp, *ofr;
    se_scene sc[LE_SE_MAX_SCENES];
};

#define LE_SE_OUT_MAX_PKTS 512  /* handed-back bodies not yet taken by the loop */

/* engine.c */
void le_se_emit(le_se *e, int scene, int out, le_pkt *p);
/* An event of slot `slot` at clock_ms, to cfg.on_event on the loop. */
void le_se_emit_event(le_se *e, int slot, int ev, int64_t clock_ms);
void le_se_scene_copy_free(se_scene_copy *c);

/* engine_render.c (worker; init/free on the loop while nothing runs) */
int le_se_render_init(le_se *e);
void le_se_render_free(le_se *e);
void le_se_apply(le_se *e, se_item *it);
/* The timed source `it` waits for its time: made now (a live one gets the
 * slot's bodies from now on, a file is opened ahead of its tick); NULL:
 * slot's waiting source is dropped. */
void le_se_stage(le_se *e, int slot, const se_item *it);
void le_se_tick(le_se *e, int64_t tick);
/* Ticks [tick, tick + n) are skipped: sources drop that audio, the
 * scenes' audio timestamps jump with the video. */
void le_se_skip(le_se *e, int64_t tick, int64_t n);

/* engine_enc.c (worker) */
int le_se_enc_open(le_se *e, int s, int64_t tick);
void le_se_enc_close(le_se *e, int s);
void le_se_enc_video(le_se *e, int s, struct AVFrame *f, int64_t tick);
void le_se_enc_audio(le_se *e, int s, const struct AVFrame *f, int nb_silence);
/* After tick's audio: silence for what the scene's audio fell short of the
 * clock (a tick that gave none), so audio keeps the video's time. */
void le_se_enc_audio_sync(le_se *e, int s, int64_t tick);
/* Held bodies go out in ts order: video once the audio has reached its
 * ts (or the hold is full), audio up to the next video. */
void le_se_enc_flush(le_se *e, int s);

static inline int64_t le_se_tick_ms(const le_se *e, int64_t tick)
{
    return tick * 1000 / e->cfg.fps;
}
/* The first tick whose time is >= ms. */
static inline int64_t le_se_tick_of(const le_se *e, int64_t ms)
{
    return ms <= 0 ? 0 : (ms * e->cfg.fps + 999) / 1000;
}
static inline int64_t le_se_tick_samples(const le_se *e, int64_t tick)
{
    return tick * LE_SS_AUDIO_RATE / e->cfg.fps;
}

#endif
