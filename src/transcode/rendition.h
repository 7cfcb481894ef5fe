/* Renditions: the transcoded copies of a live stream (docs/TRANSCODE.md,
 * "Renditions"). A rendition is the stream "{StreamName}_{Template}" in the
 * source's domain and app, for each template configured for that app
 * (AddLiveStreamTranscode, AddCustomLiveStreamTranscode). It is published
 * through the publish lifecycle as kind LE_PUB_TRANSCODE (an online entry
 * that DescribeLiveStreamsOnlineList shows as a transcoded stream; no access
 * check, block list or callbacks of its own: the source had them), so RTMP,
 * HTTP-FLV, HLS, time-shift and recording serve it like any stream.
 *
 * One job per rendition: a tap on the source (media/tap.h, the players'
 * slow-consumer policy) feeds a pipeline job (pipeline/job.h) that decodes,
 * scales and encodes on the worker pool; its packets come back on the loop
 * and are pushed into the rendition's stream. Audio is copied.
 *
 * When: a source's templates are read from Redis when it starts publishing
 * (a config change takes effect from the next publish). A template in the
 * `always` mode starts its job then; the others start when the first viewer
 * asks for the rendition (le_rend_want), who waits for its first keyframe
 * (the stream is held up to transcode_wait), and stop transcode_idle after
 * the last viewer left. Every job ends with its source's publish; a
 * rendition that still has viewers waiting restarts with the next publish.
 *
 * Everything here runs on the loop thread. */
#ifndef LE_TRANS_RENDITION_H
#define LE_TRANS_RENDITION_H
#include <stddef.h>
#include <stdint.h>
#include "conf/conf.h"
#include "pipeline/pool.h"

struct event_base;

typedef struct le_rend_opts {
    int64_t idle_ms;     /* stop an on-demand job this long after its last viewer */
    int64_t wait_ms;     /* a first viewer waits this long for the first keyframe */
    size_t tap_bytes;    /* the source tap's queue bound */
} le_rend_opts;

/* Hooks the stream publish/unpublish events; jobs run on pool. */
int le_rend_init(struct event_base *base, le_pipe_pool *pool, const le_rend_opts *o);
void le_rend_set_opts(const le_rend_opts *o);   /* SIGHUP */
/* Stops every job (their renditions end). */
void le_rend_free(void);

/* A play of domain dom, app/name that is not live here. 1: name is a
 * rendition of a live source with that template: its job runs (or starts
 * now) and, when the rendition is not live yet, its stream is held: the
 * caller attaches its player and waits for the publish. 0: not a
 * rendition; the caller goes on as before. Every call counts as activity
 * for transcode_idle. */
int le_rend_want(const le_conf_domain *dom, const char *app, const char *name);

/* transcode_wait, ms. */
int64_t le_rend_wait_ms(void);

/* A variant of a master playlist: the source or one rendition. */
typedef struct le_rend_variant {
    char name[256];      /* the stream name */
    int width, height;   /* 0 when not known yet */
    int kbps;            /* target (renditions) or measured (source) bitrate */
    int running;         /* its job runs (or: the source is live) */
} le_rend_variant;
/* The source itself first, then one entry per template configured for it,
 * in template order. Returns how many were written (at most n); 0 when the
 * stream is not a live source with templates. */
size_t le_rend_variants(const char *domain, const char *app, const char *name, le_rend_variant *out, size_t n);
/* The source of rendition name: LE_OK with its stream name in out when
 * name is "{source}_{template}" for a live source with that template
 * (running or not); LE_ENOTFOUND otherwise (LE_EINVAL: out too small).
 * Lets a rendition's LL-HLS playlist report its source and siblings. */
int le_rend_source(const char *domain, const char *app, const char *name, char *out, size_t n);

typedef struct le_rend_stats {
    uint64_t jobs;              /* running now */
    uint64_t started, stopped;  /* since start */
    uint64_t dropped_video;     /* input video dropped by overload */
    uint64_t decode_errors;
    uint64_t frames_out;
} le_rend_stats;
void le_rend_get_stats(le_rend_stats *out);

#endif
