/* Live HLS: per stream, FLV packets in, sealed MPEG-TS segments out, kept in a
 * small in-memory ring that hls_play serves from (SPEC 6, issue 3).
 *
 * Two faces: the segmenter object itself (le_hls_new/feed/end), which knows
 * nothing of streams or the node and is what the unit test drives; and the
 * glue (le_hls_init), which hangs one segmenter on every published stream
 * whose domain has hls on. */
#ifndef LE_HLS_SEGMENTER_H
#define LE_HLS_SEGMENTER_H
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"

struct le_stream;

/* Sealed segments beyond hls_window kept in the ring, so a player that read
 * the playlist just before a rotation can still fetch what it listed. */
#define LE_HLS_EXTRA_SEGS 3

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
    uint8_t *data;              /* whole TS packets */
    size_t len;
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
/* Smallest EXT-X-TARGETDURATION this stream may announce: the ceiling of its
 * longest segment so far, so the target never shrinks under a player. */
int le_hls_min_target(const le_hls *h);
int64_t le_hls_fragment_ms(const le_hls *h);
int le_hls_window(const le_hls *h);
uint64_t le_hls_next_seq(const le_hls *h);
uint64_t le_hls_disc_seq(const le_hls *h);

/* Glue: registers the publish hook. Call once at startup, after the event
 * base exists (le_node_base()). */
void le_hls_init(void);
/* The segmenter of a stream, NULL if it never published with hls on. */
le_hls *le_hls_of(const struct le_stream *st);

#endif
