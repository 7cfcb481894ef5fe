/* The stream registry: one le_stream per (play domain, app, name), owning its
 * publisher slot, metadata and sequence headers, GOP cache and subscribers.
 * Data flows one way: a publisher pushes packets, the stream fans them out to
 * subscribers (RTMP players, HTTP-FLV players, the HLS segmenter).
 *
 * A stream outlives its publisher (it is kept while it has subscribers or
 * module state such as HLS sequence numbers, see le_stream_set_ext) so that a
 * publisher restart continues the same HLS sequence.
 *
 * Players across a publisher change (publish_reconnect_grace, livedge.conf(5);
 * takeover): when the publisher drops, players stay attached for the grace
 * and get nothing; a new publish of the stream within it continues them (their
 * feeds rebase its timestamps and resume at its first keyframe, sequence
 * headers first). If its tracks differ from what the players had (a codec, or
 * audio/video present or not) they end, as they do when the grace runs out
 * without a publisher. Other subscribers (HLS) get unpublish and publish as
 * without a grace. */
#ifndef LE_STREAM_H
#define LE_STREAM_H
#include <stddef.h>
#include <stdint.h>
#include "media/feed.h"
#include "media/pkt.h"

typedef struct le_stream le_stream;
typedef struct le_sub le_sub;

typedef struct le_sub_ops {
    /* A packet for this subscriber (not called for feed readers: fmt set). The callee takes its own reference if it
     * keeps the packet. It may detach itself (the stream iterates with a
     * saved next pointer) but no other subscriber, and must not free its own
     * memory here (mark and reap later). The same holds for the others. */
    void (*packet)(le_sub *s, le_pkt *p);
    /* The publisher left; the subscriber decides whether to stay attached
     * (HLS) or to finish and detach (players). Players are told only when
     * the stream ends for them: at the unpublish without a grace, when the
     * grace runs out, or when the next publish's tracks are not theirs. */
    void (*unpublish)(le_sub *s);
    /* A new publisher started on the stream (HLS: discontinuity; players
     * kept across a reconnect: nothing to do, their feed follows). */
    void (*publish)(le_sub *s);
} le_sub_ops;

struct le_sub {
    const le_sub_ops *ops;
    void *ctx;                 /* owner's object */
    le_stream *st;             /* NULL when detached */
    le_sub *prev, *next;
    int is_player;             /* counted as a viewer; kept across a reconnect */
    int kept;                  /* the stream's: kept from an earlier publish, not
                                * yet following the current one */
    /* Players: the wire format they read. Attaching joins the stream's feed
     * in that format (created on first use from the GOP cache) through rd,
     * whose out/fd/http_chunked/drop/ctx the owner sets first. Set before
     * attaching and kept until detached. */
    const le_feed_fmt *fmt;
    le_feed_reader rd;
};

/* A publisher's handle: how the stream tells the owner to leave. kick runs
 * while the owner still holds the slot (it may call le_stream_unpublish);
 * the slot is released when kick returns in any case. */
typedef struct le_pub_ops {
    void (*kick)(void *ctx, const char *reason);
} le_pub_ops;

typedef struct le_stream_limits {
    int64_t gop_max_ms;
    size_t gop_max_bytes;
    size_t viewer_queue_bytes;   /* over this: skip to next keyframe */
    int64_t viewer_drop_ms;      /* over the queue bound this long: drop */
    int takeover;                /* LE_TAKEOVER_* from conf.h */
    int64_t takeover_idle_ms;
    int64_t reconnect_grace_ms;  /* players wait this long for a new publisher; 0: end */
} le_stream_limits;

void le_stream_set_limits(const le_stream_limits *l);
/* The event loop the grace timers run on (set once at start; without it the
 * grace is only ended by le_stream_grace_tick). */
struct event_base;
void le_stream_set_base(struct event_base *base);
const le_stream_limits *le_stream_get_limits(void);

/* Lookup; with create, makes an empty stream. Names must already be valid. */
le_stream *le_stream_find(const char *domain, const char *app, const char *name, int create);
const char *le_stream_domain(const le_stream *st);
const char *le_stream_app(const le_stream *st);
const char *le_stream_name(const le_stream *st);
const char *le_stream_key(const le_stream *st);  /* "domain/app/name" for logs */

/* Claims the publisher slot. Applies the takeover policy: an existing
 * publisher is kicked (and LE_OK returned) or LE_EEXIST is returned. */
int le_stream_publish(le_stream *st, const le_pub_ops *ops, void *ctx);
/* The publisher dropped: releases the slot. ctx must be the owner.
 * Subscribers get unpublish, but players when reconnect_grace_ms is set:
 * they wait for the next publish. */
void le_stream_unpublish(le_stream *st, void *ctx);
/* The publisher ended the stream itself (unpublish): releases the slot and
 * every subscriber, players too, gets unpublish now. */
void le_stream_end(le_stream *st, void *ctx);
int le_stream_is_live(const le_stream *st);
/* Players are waiting for a publisher (the grace runs). */
int le_stream_in_grace(const le_stream *st);
/* Ends the graces that ran out: their players get unpublish. The stream's
 * timer calls it on time; tests call it directly. */
void le_stream_grace_tick(void);
/* Players wait for a first publisher, as they wait across a reconnect: on
 * a stream that is not live, a grace of ms starts (or a running one is
 * extended to end no earlier); players attached meanwhile wait with it,
 * get nothing, and follow the next publish from its first keyframe
 * whatever its tracks (none were known). When it runs out they get
 * unpublish. For streams relayed on demand (relay/edge.h). Nothing when
 * live or ms <= 0. */
void le_stream_hold(le_stream *st, int64_t ms);
/* Ends a wait (a hold, or the grace after a dropped publisher) now: the
 * waiting players get unpublish. Nothing when live or not waiting. */
void le_stream_end_wait(le_stream *st);
/* Cuts the current publisher (forbid): kicks it, then releases the slot.
 * Its players end with it (no grace). */
void le_stream_kick_publisher(le_stream *st, const char *reason);
uint64_t le_stream_publish_started_ms(const le_stream *st);  /* wall ms */

/* Stores metadata / sequence headers / GOP and fans out. Takes no reference
 * from the caller: the stream takes its own where it keeps the packet. */
void le_stream_push(le_stream *st, le_pkt *p);

/* The publisher's read ended inside a message (on) or on a message
 * boundary (off): at write tick 0 the viewers' write waits for the
 * message's end (le_feed_set_arriving). A publisher that reads whole
 * messages never calls it. */
void le_stream_set_arriving(le_stream *st, int on);

/* One filter sees every packet pushed before it is stored and fanned out,
 * and may return a replacement (a new reference, which the stream releases
 * after use) or NULL to keep it (AddTrancodeSEI: transcode/sei_apply.h).
 * NULL removes it; le_stream_shutdown forgets it. */
typedef le_pkt *(*le_stream_filter)(le_stream *st, le_pkt *p);
void le_stream_set_filter(le_stream_filter f);

/* Attaches and immediately replays metadata, sequence headers and the GOP
 * cache: through ops->packet, or for a feed reader into its output. */
void le_stream_attach(le_stream *st, le_sub *s);
void le_stream_detach(le_sub *s);
/* Players with a connection, plus clients without one (HLS) seen within
 * their time to live. */
int le_stream_viewers(const le_stream *st);
/* A connectionless client (a key for address + user agent) asked for the
 * stream now; it counts as a viewer for ttl_ms. At most LE_STREAM_SEEN_MAX
 * such clients are tracked per stream. */
#define LE_STREAM_SEEN_MAX 65536
void le_stream_seen(le_stream *st, uint64_t client, uint64_t ttl_ms);

/* What the stream has carried since its publish started (HTTP-FLV's header
 * flags). */
void le_stream_tracks(const le_stream *st, int *audio, int *video);
/* The current sequence header of a track (type LE_PKT_VIDEO or
 * LE_PKT_AUDIO), borrowed, or NULL: what a decoder is configured with (the
 * ABR master playlist's CODECS, docs/HLS.md). */
const le_pkt *le_stream_seq_header(const le_stream *st, int type);

/* Per-stream module state (e.g. the HLS segmenter), freed with the stream.
 * A module registers its slot at init by name (a literal: it is kept) and
 * gets a slot id; the same name gets the same slot again (registrations last
 * for the process, le_stream_shutdown keeps them). Past LE_STREAM_EXT_MAX
 * names: LE_ETOOBIG, logged at error level. An unregistered slot reads NULL;
 * set_ext on it logs and returns LE_EINVAL (ptr stays the caller's). */
#define LE_STREAM_EXT_MAX 16
int le_stream_ext_register(const char *name);
void *le_stream_ext(const le_stream *st, int slot);
int le_stream_set_ext(le_stream *st, int slot, void *ptr, void (*free_fn)(void *));

/* Hooks for modules that attach per-stream machinery: on_publish runs when a
 * publish has taken the slot (before subscribers are told publish);
 * on_unpublish when the slot is released (after subscribers are told
 * unpublish; not on a takeover, where the new publish follows at once).
 * Registering past LE_STREAM_HOOKS_MAX of a kind returns LE_ETOOBIG and
 * logs at error level. le_stream_shutdown forgets the hooks. */
#define LE_STREAM_HOOKS_MAX 8
typedef void (*le_stream_hook)(le_stream *st);
int le_stream_on_publish(le_stream_hook h);
int le_stream_on_unpublish(le_stream_hook h);

/* Iteration for the admin side and metrics. */
typedef void (*le_stream_iter_fn)(le_stream *st, void *arg);
void le_stream_foreach(le_stream_iter_fn fn, void *arg);
size_t le_stream_count_live(void);

/* Stats kept by the stream. */
typedef struct le_stream_stats {
    uint64_t bytes_in, video_frames, audio_frames;
    double width, height, framerate;
    uint8_t video_codec, audio_codec;
} le_stream_stats;
const le_stream_stats *le_stream_get_stats(const le_stream *st);

/* Drops streams with no publisher, no subscriber, idle longer than ms. */
void le_stream_gc(uint64_t idle_ms);
void le_stream_shutdown(void);   /* frees everything (exit, tests) */

#endif
