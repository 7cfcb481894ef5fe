/* A feed: one stream's live output in one wire format (RTMP chunks, FLV
 * tags), encoded once into an append-only log of shared, reference-counted
 * blocks, and read by every viewer of that format from its own position.
 *
 * Why: a viewer's cost on this machine is set by writes and allocations per
 * second, not by bytes (docs/BENCHMARKS.md). With per-packet fan-out each viewer cost one
 * buffer chain (or one copy) per packet. Here a viewer costs, per write tick
 * (write_tick, livedge.conf(5)), one writev straight from the shared blocks when its
 * socket has taken everything so far; only a viewer with a backlog gets
 * evbuffer references to the blocks, one per block. Every viewer in step
 * reads the same bytes, so nothing is copied per viewer but the per-viewer
 * framing (HTTP chunk lines) and the decoder headers of a join.
 *
 * The log keeps the blocks from the last video keyframe on (the GOP cache in
 * wire form): a joining viewer gets the current headers, then the log from
 * that keyframe as references, then live ticks. A viewer whose queue passes
 * the bound skips ahead to the next keyframe, and is dropped if it stays
 * behind (the policy is le_feed_policy, below).
 *
 * Across a publisher change that keeps the readers (a reconnect within
 * publish_reconnect_grace, or a takeover) the log goes on: readers wait,
 * then resume at the new publish's first keyframe with its headers first,
 * and the new timestamps are rebased on the wire to continue just after the
 * last one logged. The offset is the feed's, not a reader's: every reader
 * gets the same bytes, so one timeline per feed. */
#ifndef LE_FEED_H
#define LE_FEED_H
#include <stddef.h>
#include <stdint.h>
#include "media/pkt.h"

/* The write tick (write_tick in livedge.conf(5)): how long appended data
 * may wait before the viewers get it. Every tick costs each viewer a write
 * system call, so a longer tick trades latency for CPU; 0 writes after
 * every publisher read (per frame, at most one write per viewer per loop
 * iteration). */
#define LE_FEED_TICK_DEFAULT_MS 40
#define LE_FEED_TICK_MAX_MS 350

enum { LE_FEED_RTMP = 0, LE_FEED_FLV, LE_FEED_MAX };

/* A wire format: how one packet is encoded, with timestamp ts (the feed's:
 * p->ts, or rebased). size() is exact. */
typedef struct le_feed_fmt {
    int id;                                  /* LE_FEED_* */
    size_t (*size)(const le_pkt *p, uint32_t ts);
    size_t (*write)(uint8_t *dst, const le_pkt *p, uint32_t ts);
} le_feed_fmt;

typedef struct le_feed le_feed;
typedef struct le_feed_blk le_feed_blk;
typedef struct le_feed_reader le_feed_reader;

struct evbuffer;

struct le_feed_reader {
    /* Set by the owner before le_feed_join. */
    struct evbuffer *out;        /* the socket's output buffer */
    int fd;                      /* for the direct write; -1: always queue */
    int http_chunked;            /* frame each write as one HTTP/1.1 chunk */
    void (*drop)(le_feed_reader *r, void *ctx);   /* too far behind: close */
    void *ctx;
    /* The feed's. */
    le_feed *f;
    le_feed_blk *blk;            /* block holding pos (a reference) */
    uint64_t pos;                /* next byte of the log this reader gets */
    int lagging;                 /* pos is behind bytes a partial write left */
    int skipping;                /* waiting for a keyframe */
    int stopped;                 /* owner is finishing: no more writes */
    uint64_t behind_since_ms;    /* monotonic; 0 while not behind */
    uint64_t bytes, skips;       /* handed to the socket; skip episodes */
    le_feed_reader *prev, *next;
};

/* The loop the pacing timer runs on (NULL: only explicit le_feed_tick calls
 * write) and a counter the ticks add the bytes handed to sockets to (NULL:
 * none). Set once at start. */
struct event_base;
void le_feed_init(struct event_base *base, uint64_t *bytes_out);
/* Limits of the slow-viewer policy (from the config). */
void le_feed_set_limits(size_t queue_bytes, int64_t drop_ms);
/* The write tick in ms, clamped to 0..LE_FEED_TICK_MAX_MS; takes effect
 * from the next scheduled tick (a reload). */
void le_feed_set_tick(int64_t ms);
int64_t le_feed_get_tick(void);

/* has_video: the stream has sent video (a reader then waits for a keyframe
 * when none is cached). */
le_feed *le_feed_new(const le_feed_fmt *fmt, int has_video);
/* Readers must have left. */
void le_feed_free(le_feed *f);
int le_feed_readers(const le_feed *f);

/* How a packet relates to the GOP cache, as the stream decided it. */
enum { LE_FEED_GOP_CONT = 0,   /* part of the current GOP, or none kept */
       LE_FEED_GOP_START,      /* a keyframe: the cache restarts here */
       LE_FEED_GOP_DROP };     /* the stream dropped its GOP (over bounds) */
/* Encodes p onto the log and schedules a tick. Decoder headers and metadata
 * are also kept, for joins and resumes. */
void le_feed_append(le_feed *f, le_pkt *p, int gop);
/* A new publisher (or none): forget headers and the GOP; the log and the
 * readers stay. Ends a rebase and a hold (below). */
void le_feed_reset(le_feed *f);
/* The publisher left and the readers stay for the next one: what is logged
 * goes out now, headers and GOP are forgotten, and the readers get nothing
 * until le_feed_continue. From the next media frame on, audio and video
 * timestamps on the wire are rebased to continue just after the last one
 * logged (sequence headers before it take that first timestamp); data
 * messages (onMetaData) go out at 0. */
void le_feed_suspend(le_feed *f);
/* The next publish may reach the held readers: they resume at its next
 * keyframe (has_video) or packet (audio only), its headers first. */
void le_feed_continue(le_feed *f, int has_video);
/* At write tick 0, whether the source is partway through a message (its
 * read ended inside one). While it is, appended frames wait for the end of
 * that message, at most 20 ms, so the frames of one burst from the source
 * leave in one write per viewer, as they would from a source that hands
 * over whole frames; off with data waiting writes it this loop iteration.
 * No effect with a tick. le_feed_reset and le_feed_suspend clear it. */
void le_feed_set_arriving(le_feed *f, int on);
/* The timestamp p gets on this feed's wire. */
uint32_t le_feed_wire_ts(const le_feed *f, const le_pkt *p);

/* Queues the current headers and the cached GOP into r->out, then follows
 * the live log. Without a cached keyframe on a video stream the reader
 * starts skipping (waits for the next keyframe). */
void le_feed_join(le_feed *f, le_feed_reader *r);
void le_feed_leave(le_feed_reader *r);
/* Hands r what the log holds beyond its position now (before end notices). */
void le_feed_flush(le_feed_reader *r);
/* A partial write leaves the unsent log bytes in the log (r->lagging) for
 * the next tick (at tick 0: the next frame, or a retry 20 ms later), and
 * they may end inside a message. An owner that writes to r->out itself
 * (RTMP control messages) calls this first: it hands those bytes over, so
 * its own bytes follow whole messages. */
void le_feed_unlag(le_feed_reader *r);

/* The slow-viewer policy, pure. Given what r has queued and whether the log
 * offers a resume point (a keyframe) since its position, decides this tick. */
enum { LE_FEED_SEND = 0, LE_FEED_RESUME, LE_FEED_SKIP, LE_FEED_DROP };
int le_feed_policy(le_feed_reader *r, size_t queued, int can_resume, uint64_t now_ms);

/* Delivers every feed with new data now. The feed's timer calls it every
 * write tick while there is data (le_feed_init's loop); tests call it
 * directly. */
void le_feed_tick(void);
void le_feed_shutdown(void);

/* Tests: bytes of log held in blocks (all feeds), blocks alive. */
size_t le_feed_mem_bytes(void);
size_t le_feed_blocks(void);

#endif
