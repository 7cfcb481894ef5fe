/* Live HLS: per stream, FLV packets in, sealed MPEG-TS segments out, kept in a
 * small in-memory ring that hls_play serves from (livedge.conf(5): hls).
 *
 * Two faces: the segmenter object itself (le_hls_new/feed/end, segmenter.c),
 * which knows nothing of streams or the node and is what the unit test and
 * the fuzzer drive; and the glue (le_hls_init, glue.c), which hangs one
 * segmenter on every published stream whose domain has hls on and frees
 * what dead streams leave behind. */
#ifndef LE_HLS_SEGMENTER_H
#define LE_HLS_SEGMENTER_H
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"

struct le_stream;

/* Sealed segments beyond hls_window kept in the ring, so a player that read
 * the playlist just before a rotation can still fetch what it listed. */
#define LE_HLS_EXTRA_SEGS 3

/* A timestamp step (per track, after unwrapping the 32-bit RTMP time) larger
 * than this either way starts a new timeline: the open segment is sealed and
 * the next one carries EXT-X-DISCONTINUITY. */
#define LE_HLS_JUMP_MS 5000

/* Bounds on the open segment, for encoders that never send a keyframe
 * (intra refresh) or whose clock stops or steps back. Crossing one seals the
 * segment where it is, keyframe or not:
 *  - media time: LE_HLS_SEG_MAX_FRAGMENTS fragments, at least
 *    LE_HLS_SEG_MIN_MAX_MS (12 s with the default 2 s fragment), so that
 *    ordinary long GOPs still cut at keyframes;
 *  - arrival time (monotonic clock): LE_HLS_SEG_ARRIVAL_FACTOR times that;
 *  - bytes: 3 fragments' worth at LE_HLS_MAX_KBPS, between
 *    LE_HLS_SEG_FLOOR_BYTES and LE_HLS_SEG_CEIL_BYTES (37.5 MB at 2 s). */
#define LE_HLS_SEG_MAX_FRAGMENTS 4
#define LE_HLS_SEG_MIN_MAX_MS 12000
#define LE_HLS_SEG_ARRIVAL_FACTOR 2
#define LE_HLS_MAX_KBPS 50000
#define LE_HLS_SEG_FLOOR_BYTES (4 << 20)
#define LE_HLS_SEG_CEIL_BYTES (64 << 20)
int64_t le_hls_seg_max_ms(int64_t fragment_ms);
size_t le_hls_seg_max_bytes(int64_t fragment_ms);

/* fmp4 and lowlatency (hls_variant, livedge.conf(5); docs/HLS.md,
 * "Segments (fmp4, lowlatency)"): segments are fragments of one fMP4 muxer
 * (fmp4.h). Bytes are kept in refcounted chunks:
 *  - the init section (ftyp + moov), one per muxer: a segment points at the
 *    one it needs (EXT-X-MAP); a new one only ever comes with a
 *    discontinuity, so a segment's disc_seq names its init section;
 *  - parts: one moof + mdat each, cut on any frame before the one that would
 *    take the part past hls_part (2 ms of slack for millisecond timestamps),
 *    so no part is longer than hls_part; the last part of a segment ends at
 *    the keyframe that starts the next and may be shorter. Independent when
 *    its first video frame is a keyframe (every part of an audio-only
 *    stream). In the fmp4 variant a segment is one part.
 * A segment is its parts in order (len and duration_ms are their sums); the
 * open segment (lowlatency) grows part by part and is visible through
 * le_hls_open_seg, so its parts can be served before it is sealed. */
#define LE_HLS_PART_MIN_MS 50
#define LE_HLS_PART_MAX_MS 2000
#define LE_HLS_PART_DEFAULT_MS 200
typedef struct le_hls_chunk {
    int refs;
    int64_t duration_ms;        /* parts; 0 for an init section */
    int independent;            /* parts: starts with a keyframe (or audio only) */
    uint8_t *data;
    size_t len;
} le_hls_chunk;
static inline le_hls_chunk *le_hls_chunk_ref(le_hls_chunk *c) { c->refs++; return c; }
void le_hls_chunk_unref(le_hls_chunk *c);
void le_hls_chunk_unref_cb(const void *data, size_t len, void *chunk);

/* A sealed segment: immutable, refcounted. The ring holds one reference; a
 * response that is sending it holds another (le_hls_seg_unref_cb), so a
 * segment rotated out mid-send lives until the send completes. */
typedef struct le_hls_seg {
    int refs;
    uint64_t seq;               /* media sequence number */
    uint64_t disc_seq;          /* discontinuity sequence number of this segment */
    int disc;                   /* EXT-X-DISCONTINUITY before it */
    int has_video, has_audio;
    int64_t duration_ms;
    int64_t start_ts_ms;        /* publisher timeline */
    int64_t start_wall_ms;      /* wall clock at its first packet (time-shift) */
    uint8_t *data;              /* mpegts: whole TS packets; fmp4: NULL */
    size_t len;                 /* bytes: TS packets, or the sum of the parts */
    /* fmp4 and lowlatency (else NULL / 0). */
    le_hls_chunk *init;         /* the init section it needs (a reference) */
    le_hls_chunk **parts;       /* in order, each a reference */
    size_t nparts;
    int sealed;                 /* 0: the open segment, still growing */
} le_hls_seg;

static inline le_hls_seg *le_hls_seg_ref(le_hls_seg *s) { s->refs++; return s; }
void le_hls_seg_unref(le_hls_seg *s);
/* libevent cleanup shape: evbuffer_add_reference(..., le_hls_seg_unref_cb, seg). */
void le_hls_seg_unref_cb(const void *data, size_t len, void *seg);

typedef struct le_hls le_hls;

/* key is for log lines only. first_seq: the media sequence to continue from. */
le_hls *le_hls_new(const char *key, uint64_t first_seq, uint64_t disc_seq);
/* Frees the muxer and drops the ring's references. */
void le_hls_free(le_hls *h);
/* Applies from the next cut on. */
void le_hls_set_params(le_hls *h, int64_t fragment_ms, int window);
/* hls_variant (LE_HLS_VARIANT_*, conf/conf.h) and hls_part (ms, clamped to
 * LE_HLS_PART_MIN_MS..LE_HLS_PART_MAX_MS): at once when no muxer runs (a new
 * segmenter, or after le_hls_end), else from le_hls_end on. Switching variant
 * drops the ring's segments (TS and fMP4 cannot share a playlist); the
 * numbering goes on and the next segment carries a discontinuity.
 * le_hls_variant is the variant of the segments in the ring. */
void le_hls_set_variant(le_hls *h, int variant, int64_t part_ms);
int le_hls_variant(const le_hls *h);
int64_t le_hls_part_ms(const le_hls *h);
/* lowlatency: the segment being built (sealed = 0, seq = le_hls_next_seq),
 * borrowed; NULL when none is open or in the other variants. It exists from
 * the keyframe that starts it, with 0 parts at first; part k of it is part
 * k of the sealed segment it becomes (the same object, moved to the ring:
 * a reference taken on it stays valid). After a seal the next open segment
 * (seq + 1, 0 parts) is already there when notify runs. Between publishes
 * there is none. An open segment that ends without a part is dropped and
 * its number goes to the next one. Its parts array may be reallocated by
 * the next feed: copy what you need, reference parts. */
le_hls_seg *le_hls_open_seg(const le_hls *h);
/* Changes whenever what a playlist lists may have changed (a part, a seal,
 * an end, a drop, new parameters), and is never the same for two states of
 * any two le_hls: a playlist built at one value can be served again while
 * the value holds (http/hls_cache.h). */
uint64_t le_hls_gen(const le_hls *h);
/* Called once at the end of a le_hls_feed that made a part, sealed a
 * segment or opened one (the state is then complete: the new part, or the
 * sealed segment and the next open one), and from le_hls_end (so held
 * playlist requests can be answered). NULL: none. */
typedef void (*le_hls_notify_fn)(void *arg);
void le_hls_set_notify(le_hls *h, le_hls_notify_fn fn, void *arg);
/* The arrival clock (ms, monotonic); NULL restores le_mono_ms. For tests. */
void le_hls_set_clock(le_hls *h, int64_t (*mono_ms)(void));

/* Feeds one packet (any FLV tag type; what MPEG-TS cannot carry is ignored).
 * Takes no reference. Returns 0 or a negative LE_* code (the packet was not
 * muxed; the segmenter stays usable). */
int le_hls_feed(le_hls *h, le_pkt *p);
/* The publisher left (or a new one is taking over): seals the open segment
 * and closes the muxer; the next segment carries EXT-X-DISCONTINUITY. */
void le_hls_end(le_hls *h);

/* Sealed segments, oldest first, borrowed (take a ref to keep one). With
 * window_only, only the last hls_window: what a live playlist lists. */
size_t le_hls_segments(const le_hls *h, le_hls_seg **out, size_t max, int window_only);
le_hls_seg *le_hls_find(const le_hls *h, uint64_t seq);  /* borrowed; NULL if rotated out */
/* Smallest EXT-X-TARGETDURATION this stream announces: the ceiling of its
 * fragment length. The playlist raises it to the ceiling of the longest
 * segment it lists (RFC 8216 4.3.3.1), so an outlier (a long GOP, a segment
 * cut at a bound) raises the target only while it is listed. */
int le_hls_min_target(const le_hls *h);
/* Bytes held: sealed segments in the ring plus the open one, and the init
 * sections they use (each counted once). */
size_t le_hls_bytes(const le_hls *h);
/* Drops the ring's references to every sealed segment (numbering stays). */
void le_hls_drop_segments(le_hls *h);
int64_t le_hls_fragment_ms(const le_hls *h);
int le_hls_window(const le_hls *h);
uint64_t le_hls_next_seq(const le_hls *h);
uint64_t le_hls_disc_seq(const le_hls *h);
/* Numbering that follows another stream's: a rendition's segments cut at
 * the source's keyframes carry the source's media sequence numbers, which is
 * how players line variants up when switching (docs/TRANSCODE.md, "Adaptive
 * HLS"). fn(arg, start_ts, &seq) answers LE_OK with the number of the
 * followed stream's segment starting at start_ts (ms), else LE_ENOTFOUND. It
 * is asked when the first segment of an empty ring is sealed; the numbering
 * only ever moves forward. fn NULL: plain numbering. */
typedef int (*le_hls_seq_fn)(void *arg, int64_t start_ts, uint64_t *seq);
void le_hls_set_seq_fn(le_hls *h, le_hls_seq_fn fn, void *arg);
/* The number of h's segment (sealed and in the ring, or the open one) whose
 * first packet is within half a fragment of ts (ms): LE_OK or LE_ENOTFOUND. */
int le_hls_seq_at(const le_hls *h, int64_t ts, uint64_t *seq);

/* Glue: registers the stream's "hls" extension slot and the publish hook.
 * Call once at startup. base: the loop the linger timers and the deferred
 * detach run on (NULL: segments of a dead stream stay until the stream is
 * freed). domain: a play domain's current settings (hls, hls_fragment_ms,
 * hls_window), NULL for an unknown one; read at every publish. */
struct event_base;
struct le_conf_domain;
typedef const struct le_conf_domain *(*le_hls_domain_fn)(const char *play_domain);
int le_hls_init(struct event_base *base, le_hls_domain_fn domain);
/* The segmenter of a stream, NULL if it never published with hls on. */
le_hls *le_hls_of(const struct le_stream *st);
/* Called after a stream's segmenter sealed a part or a segment, or ended
 * (le_hls_set_notify, wired by the glue for every stream): how held LL-HLS
 * requests learn that what they wait for may exist (http/hls_block.c). It
 * runs inside the stream's packet delivery: only note and defer. One for
 * the process; NULL: none. */
typedef void (*le_hls_wake_fn)(const struct le_stream *st);
void le_hls_set_wake(le_hls_wake_fn fn);
/* Makes st's segment numbering follow the stream domain/app/name's (see
 * le_hls_set_seq_fn); no-op when st has no segmenter. */
void le_hls_follow(const struct le_stream *st, const char *domain, const char *app, const char *name);

#endif
