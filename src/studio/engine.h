/* The studio engine (docs/STUDIO.md, "The studio clock"): the media side of
 * one running caster. Sources (studio/source.h) by slot (slot i is
 * LocationId RV<i+1>), scenes (PVW, PGM) each rendered by one libavfilter
 * graph (studio/graph.h) into one or more H.264 outputs, all on the
 * engine's own clock.
 *
 * The clock: the engine ticks at cfg.fps from le_se_new on. Every tick, on
 * a pool worker, each running scene's graph gets exactly one frame on
 * every video input [in<i>] (the slot's picture, le_ss_video; a slate
 * (black) for a slot without one), exactly 1/fps s of audio on every
 * [ain<i>] (le_ss_audio), all stamped with the tick's time, so
 * libavfilter's multi-input filters never wait for a slow or dead source.
 * Output timestamps are tick * 1000 / fps ms from 0: steady, monotonic,
 * whatever the sources do. A loop timer kicks the worker; the worker runs
 * every tick that is due by the monotonic clock. When it is more than
 * LE_SE_MAX_LAG_MS behind it skips the late ticks (counted in
 * dropped_ticks, a log line at most every 10 s) rather than drift.
 *
 * Scenes: le_se_set_scene gives a scene its picture (an le_sg_scene with
 * ninputs = naudio_inputs = LE_SE_SLOTS) and its image files. A running
 * scene's change is applied between two ticks: le_sg_diff's commands
 * (overlay x/y, scale, drawtext, volume) when they cover it, otherwise a
 * new graph; the encoders stay open either way, so the output has no gap
 * and no timestamp jump. A graph is also rebuilt when a slot's picture
 * changes size or format (buffer sources have fixed parameters).
 *
 * Outputs: scene s's output 0 is its graph's [o0] at the scene size; more
 * outputs are the same picture scaled (libswscale) to their sizes. Each
 * output is H.264 (libx264, tune zerolatency, no B-frames, a keyframe
 * every gop_frames, VBV-capped at bitrate_kbps) with the scene's [a0]
 * audio as AAC (44100 Hz stereo, one encoder per scene, shared by its
 * outputs), handed back as FLV tag bodies: the AVC and AAC sequence
 * headers first, then frames, ts = tick time in ms.
 *
 * Threads: every function here is for the loop thread. Live tag bodies
 * are copied into a bounded input queue (le_se_feed, LE_ETOOBIG when over
 * it: video then drops to the next keyframe of that slot); outputs come
 * back as new le_pkt (refs = 1) through on_pkt on the loop, in order per
 * output. Scene and source changes are queued as commands the worker
 * takes between ticks. */
#ifndef LE_STUDIO_ENGINE_H
#define LE_STUDIO_ENGINE_H
#include <stddef.h>
#include <stdint.h>

#include "media/pkt.h"
#include "pipeline/pool.h"
#include "studio/graph.h"

struct event_base;

#define LE_SE_SLOTS LE_SG_MAX_INPUTS    /* RV01..RV12, then the standby slot */
#define LE_SE_URGENT_SLOT 12           /* UrgentMaterialId (EffectCasterUrgent) */
#define LE_SE_MAX_SCENES 4
#define LE_SE_MAX_OUT 6                 /* the scene size + up to 5 LiveTemplates */
#define LE_SE_MAX_LAG_MS 500
#define LE_SE_PATH_MAX 1024
#define LE_SE_MAX_DELAY_MS 5000         /* le_se_set_delay (FixedDelayDuration) */

typedef struct le_se le_se;

typedef struct le_se_out {
    int width, height;          /* even, 16..LE_SG_MAX_DIM */
    int bitrate_kbps;
} le_se_out;

typedef struct le_se_scene {
    int running;                /* 0: no graph, no output (a stopped PVW) */
    le_sg_scene pic;            /* copied, strings included */
    char images[LE_SG_MAX_IMAGES][LE_SE_PATH_MAX];  /* [img<k>]: PNG (or any still) files */
    int nout;                   /* 1..LE_SE_MAX_OUT; out[0] is pic's size */
    le_se_out out[LE_SE_MAX_OUT];
} le_se_scene;

/* On the loop: scene `scene`, output `out` produced p (the reference is the
 * callee's): an FLV tag body, p->type 8 or 9, p->ts the tick time. */
typedef void (*le_se_on_pkt)(void *ud, int scene, int out, le_pkt *p);

/* On the loop: something happened to slot `slot` at clock time clock_ms. */
enum {
    LE_SE_EV_EOF = 1,           /* a file slot played out (its last loop ended): it shows its last
                                   picture, then black after stall_ms. Also at the first tick of a
                                   file that cannot be opened. Once per playing out (a seek that
                                   plays it again arms it again); never after le_se_free. */
};
typedef void (*le_se_on_event)(void *ud, int slot, int ev, int64_t clock_ms);

typedef struct le_se_cfg {
    int fps;                    /* 1..60; 0: 30 */
    int gop_frames;             /* 0: 2 s */
    int64_t stall_ms;           /* a source's last picture is held this long, then black; 0: 2000 */
    const char *preset;         /* x264 preset; NULL: "veryfast" */
    size_t in_max_bytes;        /* live input queue bound, all slots; 0: 16 MiB */
    size_t delay_max_bytes;     /* delay lines' bound, all slots; 0: 64 MiB */
    const char *name;           /* for log lines */
    le_se_on_pkt on_pkt;
    le_se_on_event on_event;    /* may be NULL */
    void *ud;
} le_se_cfg;

typedef struct le_se_stats {
    uint64_t ticks;             /* ticks rendered */
    uint64_t dropped_ticks;     /* ticks skipped to keep real time */
    uint64_t rebuilds, commands;   /* graph rebuilds and filter commands applied */
    uint64_t frames_out;        /* video frames encoded, all outputs */
    uint64_t in_dropped;        /* live bodies dropped by the input bound */
    uint64_t delay_dropped;     /* live bodies dropped by the delay lines' bound */
    uint64_t decode_errors;     /* all slots */
    int64_t clock_ms;           /* the clock now (ms since start) */
    int64_t last_change_ms;     /* clock time of the last scene change applied */
    int64_t epoch_ms;           /* wall time (ms since 1970, CLOCK_REALTIME) of clock 0: clock time t is
                                   wall time epoch_ms + t (le_se_clock_of) */
} le_se_stats;

/* One slot as the loop may look at it (copied from the worker after each
 * tick; a tick late at most). */
typedef struct le_se_slot_stats {
    int kind;                   /* 0 empty, 1 live, 2 file (also one that cannot be opened: eof) */
    int has_picture;            /* a picture was ever decoded since the source was set */
    int64_t last_frame_ms;      /* clock time of the newest decoded video frame (the last tick its
                                   picture was fresh: a file's still or paused picture stays fresh,
                                   so only a lost source falls behind the clock); -1: none yet */
    int width, height;          /* current picture, 0 before the first */
    int eof;                    /* file: played out */
    int paused;                 /* file: le_se_pause */
    int64_t pos_ms;             /* file: the media time shown now (ms from the file's start) */
} le_se_slot_stats;

/* Starts the clock on base (and reads the wall clock once: epoch_ms). 0,
 * LE_EINVAL (cfg), LE_ENOTFOUND (no libx264 or AAC encoder), LE_ENOMEM. */
int le_se_new(struct event_base *base, le_pipe_pool *pool, const le_se_cfg *cfg, le_se **out);

/* Slot `slot` becomes a live source (fed by le_se_feed), a file source
 * (path, RepeatNum, BeginOffset, EndOffset in ms), or empty (path NULL and
 * live 0). Replaces what the slot had. 0 or LE_EINVAL; a file that cannot
 * be opened is logged by the worker and the slot shows its slate. */
int le_se_set_source(le_se *e, int slot, int live, const char *path, int repeat, int64_t begin_ms,
                     int64_t end_ms);
/* A live slot's FLV tag body (copied). 0; LE_ETOOBIG (dropped, see above);
 * LE_EINVAL (slot not live). */
int le_se_feed(le_se *e, int slot, const le_pkt *p);
/* A live slot's publisher left: the slot's decoder waits for new headers
 * (le_ss_reset). */
void le_se_source_reset(le_se *e, int slot);

/* Delays live slot `slot`'s video bodies by video_ms and its audio bodies
 * by audio_ms (0..LE_SE_MAX_DELAY_MS) on top of their arrival: a body fed
 * at clock t reaches the slot's decoder when the clock reaches t + delay
 * (the delay in force then: a change applies from then on, a shorter
 * delay lets the waiting bodies through at once). The waiting bodies of
 * all slots are bounded by cfg.delay_max_bytes: over it a video body is
 * dropped with the rest of its GOP, an audio body alone (counted in
 * delay_dropped, a log line at most every 10 s); sequence headers pass.
 * A publisher's reset waits in the line of the shorter delay; a new
 * source (le_se_set_source) drops what waits. File slots are not delayed.
 * 0 or LE_EINVAL. */
int le_se_set_delay(le_se *e, int slot, int video_ms, int audio_ms);

/* Scene `idx` (0..LE_SE_MAX_SCENES-1) gets s (copied). A change of
 * outputs (count or sizes) of a running scene restarts its encoders (the
 * only change that does); everything else is applied between two ticks as
 * described above. 0, LE_EINVAL (le_sg_build refuses it, bad outputs),
 * LE_ETOOBIG. */
int le_se_set_scene(le_se *e, int idx, const le_se_scene *s);

/* Timed changes (programmes, docs/STUDIO.md "Programmes"): the change is
 * applied at the first tick whose time is >= at_ms (clock ms; at_ms <= the
 * clock now: the next tick, as the untimed calls). Changes apply in the
 * order of their times; a timed change of a scene (of a slot's source)
 * replaces one of the same scene (slot) still waiting; an untimed change
 * does not cancel a waiting one. A file source set with a time starts
 * playing (from begin_ms) at that tick. A live source set with a time
 * takes le_se_feed's bodies from the call on (decoded aside, so headers
 * sent before its time are kept) and replaces the slot's source at its
 * time. Same results as the untimed calls. */
int le_se_set_scene_at(le_se *e, int idx, const le_se_scene *s, int64_t at_ms);
int le_se_set_source_at(le_se *e, int slot, int live, const char *path, int repeat, int64_t begin_ms,
                        int64_t end_ms, int64_t at_ms);
/* The clock time of wall time unix_ms (ms since 1970): unix_ms - epoch_ms. */
int64_t le_se_clock_of(le_se *e, int64_t unix_ms);

/* File slots (SetCasterChannel SeekOffset / PlayStatus): seek to offset_ms
 * of the file (from its start, BeginOffset ignored; past EndOffset or the
 * end: its last frame), and pause (the picture and audio stop: the last
 * picture is held, never turning black, audio is silence) or play on from
 * where it was. Applied at the next tick. 0 or LE_EINVAL (slot out of
 * range, offset < 0); a slot that holds no file ignores them. */
int le_se_seek(le_se *e, int slot, int64_t offset_ms);
int le_se_pause(le_se *e, int slot, int paused);

void le_se_get_stats(le_se *e, le_se_stats *st);
/* 0 or LE_EINVAL (slot out of range). */
int le_se_slot_stats_get(le_se *e, int slot, le_se_slot_stats *out);
/* Stops the clock and drops what is queued without waiting (a tick that is
 * running finishes on its worker, the memory is released on the loop after
 * it). on_pkt is not called any more. */
void le_se_free(le_se *e);

#endif
