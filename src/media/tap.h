/* Taps: internal subscribers of a stream (relay push, recording,
 * transcoding) that are not sockets. A tap is a bounded queue of packet
 * references the stream fills from le_stream_push; the consumer is woken by
 * a deferred event on the loop (never called from inside le_stream_push) and
 * pulls with le_tap_next.
 *
 * What a consumer sees, in order:
 *  - on open, like a joining player: LE_TAP_PUBLISH, metadata, sequence
 *    headers, then the GOP cache from its keyframe (nothing while the
 *    stream is not live);
 *  - live packets;
 *  - LE_TAP_UNPUBLISH when the publisher leaves, LE_TAP_PUBLISH when one
 *    starts; a takeover (publisher replaced in place) gives both, so every
 *    publish is bracketed;
 *  - the slow-consumer policy of players (docs/ARCHITECTURE.md, Feeds):
 *    while the queued packet bytes exceed max_bytes, new audio/video
 *    packets are skipped (counted) until a video keyframe (any audio frame
 *    on a stream without video) arrives with the queue drained to half;
 *    the tap then re-queues metadata and sequence headers before it. A tap
 *    over the bound longer than the stream's viewer_drop_ms is dropped: its
 *    queue is emptied (counted), LE_TAP_DROPPED is queued, ops->drop is
 *    called from the deferred event, and it restarts at the next keyframe
 *    with headers as above. The consumer may close it from drop.
 * Metadata and sequence headers are always queued (they are small and a
 * consumer needs the latest), markers too.
 *
 * Threads: everything here, le_tap_next included, runs on the reactor
 * thread. Packets handed out are refcounted le_pkt whose payload is
 * immutable; a consumer on another thread gets them by handing the
 * reference over, it never calls into the tap. */
#ifndef LE_MEDIA_TAP_H
#define LE_MEDIA_TAP_H
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"

struct event_base;
struct le_stream;
typedef struct le_tap le_tap;

/* What le_tap_next returns. */
enum {
    LE_TAP_NONE = 0,      /* the queue is empty */
    LE_TAP_PKT,           /* *out: a packet, the caller's reference */
    LE_TAP_PUBLISH,       /* a publisher started */
    LE_TAP_UNPUBLISH,     /* the publisher left */
    LE_TAP_DROPPED,       /* packets were lost (drop); a keyframe follows */
};

typedef struct le_tap_ops {
    /* Items are queued: pull until LE_TAP_NONE. From a deferred event; may
     * close the tap. */
    void (*wake)(le_tap *t, void *ctx);
    /* The tap was dropped (see above), reported once per drop before the
     * wake that delivers LE_TAP_DROPPED. May close the tap. May be NULL. */
    void (*drop)(le_tap *t, void *ctx);
} le_tap_ops;

typedef struct le_tap_stats {
    uint64_t queued_pkts;      /* packets queued in total */
    uint64_t skipped;          /* packets not queued (over the bound) */
    uint64_t dropped;          /* queued packets thrown away by drops */
    uint64_t drops;            /* times dropped */
    size_t bytes, items;       /* in the queue now */
} le_tap_stats;

/* The loop the wake events run on. Set once at start; without it (tests)
 * nothing wakes the consumer, which polls le_tap_next. */
void le_tap_init(struct event_base *base);

/* Attaches to st (live or not) and replays the join. max_bytes: the queue
 * bound (at least 1). NULL if ops or st is NULL. */
le_tap *le_tap_open(struct le_stream *st, const le_tap_ops *ops, void *ctx, size_t max_bytes);
/* Detaches, releases the queue. Not from inside le_stream_push. */
void le_tap_close(le_tap *t);
/* The next item (see the enum); for LE_TAP_PKT *out gets a reference the
 * caller releases with le_pkt_unref, otherwise *out is NULL. */
int le_tap_next(le_tap *t, le_pkt **out);
void le_tap_get_stats(const le_tap *t, le_tap_stats *out);
struct le_stream *le_tap_stream(const le_tap *t);

#endif
