#include "media/feed.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* A block holds whole packets; one larger than this gets a block of its own
 * size. 64 KiB is ~200 ms of a 2.5 Mbit/s stream: few blocks per GOP, and
 * under glibc's mmap threshold. */
#define BLK_SIZE (64u << 10)
#define MAX_IOV 64
#define NO_POS UINT64_MAX

struct le_feed_blk {
    int refs;                   /* feed (gop/tail), readers, evbuffers, prev->next */
    uint64_t start;             /* log position of data[0] */
    size_t len, cap;
    le_feed_blk *next;          /* newer block; holds a reference */
    uint8_t data[];
};

struct le_feed {
    const le_feed_fmt *fmt;
    le_feed_blk *tail;          /* appended to; a reference */
    le_feed_blk *gop_blk;       /* holds gop_pos; a reference; NULL: no GOP */
    uint64_t gop_pos;           /* last keyframe's position, or NO_POS */
    uint64_t end;               /* position after the last byte */
    le_pkt *meta, *vseq, *aseq;
    int has_video;
    int hold;                   /* suspended: readers get nothing, resume nowhere */
    int arriving;               /* the source is inside a message (le_feed_set_arriving) */
    /* Timestamps: last is the highest audio/video one on the wire so far
     * (compared modulo 2^32, as RTMP's wrap). While rebasing,
     * wire = max(ts + off, floor); off is set by the first media frame
     * after a suspend, before it everything gets floor. */
    uint32_t last, floor, off;
    int has_last, rebase, off_set;
    le_feed_reader *readers;
    int nreaders;
    int dirty;
    le_feed *dnext;
};

static le_feed *dirty;
static struct event *timer;
/* At tick 0, the retry of a viewer whose socket took only part of a write
 * (SEND_LAG) when no new frame comes to carry it sooner. */
static struct event *lag_timer;
#define LAG_RETRY_MS 20
static struct event_base *ev_base;
static uint64_t *bytes_out_sink;
static size_t mem_bytes, nblocks;
static size_t lim_queue = 4u << 20;
static int64_t lim_drop_ms = 10000;
static int64_t tick_ms = LE_FEED_TICK_DEFAULT_MS;
static uint8_t *scratch;        /* encoded headers of a join or resume */
static size_t scratch_cap;

void le_feed_init(struct event_base *base, uint64_t *bytes_out)
{
    ev_base = base;
    bytes_out_sink = bytes_out;
}

void le_feed_set_limits(size_t queue_bytes, int64_t drop_ms)
{
    lim_queue = queue_bytes;
    lim_drop_ms = drop_ms;
}

void le_feed_set_tick(int64_t ms)
{
    tick_ms = ms < 0 ? 0 : ms > LE_FEED_TICK_MAX_MS ? LE_FEED_TICK_MAX_MS : ms;
}

int64_t le_feed_get_tick(void) { return tick_ms; }

size_t le_feed_mem_bytes(void) { return mem_bytes; }
size_t le_feed_blocks(void) { return nblocks; }
int le_feed_readers(const le_feed *f) { return f->nreaders; }

/* ---- blocks ---- */

static le_feed_blk *blk_new(uint64_t start, size_t cap)
{
    le_feed_blk *b = le_xmalloc(sizeof(*b) + cap);
    b->refs = 1;
    b->start = start;
    b->len = 0;
    b->cap = cap;
    b->next = NULL;
    mem_bytes += cap;
    nblocks++;
    return b;
}

static le_feed_blk *blk_ref(le_feed_blk *b)
{
    if (b)
        b->refs++;
    return b;
}

/* Iterative: freeing a block drops its reference on the next one. */
static void blk_unref(le_feed_blk *b)
{
    while (b && --b->refs == 0) {
        le_feed_blk *next = b->next;
        mem_bytes -= b->cap;
        nblocks--;
        free(b);
        b = next;
    }
}

static void blk_unref_cb(const void *data, size_t len, void *blk)
{
    (void)data;
    (void)len;
    blk_unref(blk);
}

/* ---- the log ---- */

le_feed *le_feed_new(const le_feed_fmt *fmt, int has_video)
{
    le_feed *f = le_xcalloc(1, sizeof(*f));
    f->fmt = fmt;
    f->has_video = has_video;
    f->tail = blk_new(0, BLK_SIZE);
    f->gop_pos = NO_POS;
    return f;
}

static void set_hdr(le_pkt **slot, le_pkt *p)
{
    if (*slot)
        le_pkt_unref(*slot);
    *slot = p ? le_pkt_ref(p) : NULL;
}

static void gop_set(le_feed *f, le_feed_blk *b, uint64_t pos)
{
    blk_ref(b);
    blk_unref(f->gop_blk);
    f->gop_blk = b;
    f->gop_pos = b ? pos : NO_POS;
}

static void forget(le_feed *f)
{
    set_hdr(&f->meta, NULL);
    set_hdr(&f->vseq, NULL);
    set_hdr(&f->aseq, NULL);
    gop_set(f, NULL, 0);
}

void le_feed_reset(le_feed *f)
{
    forget(f);
    f->has_video = 0;
    f->hold = 0;
    f->arriving = 0;
    f->rebase = 0;
    f->off_set = 0;
}

void le_feed_free(le_feed *f)
{
    if (!f)
        return;
    if (f->dirty)
        for (le_feed **pp = &dirty; *pp; pp = &(*pp)->dnext)
            if (*pp == f) {
                *pp = f->dnext;
                break;
            }
    le_feed_reset(f);
    blk_unref(f->tail);
    free(f);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    le_feed_tick();
}

static void dirty_add(le_feed *f)
{
    if (!f->dirty) {
        f->dirty = 1;
        f->dnext = dirty;
        dirty = f;
    }
}

/* At tick 0: the retry LAG_RETRY_MS from now, unless something sooner
 * (the next frame, the source's message end) ticks first. */
static void retry_later(le_feed *f)
{
    dirty_add(f);
    if (!lag_timer && ev_base)
        lag_timer = evtimer_new(ev_base, tick_cb, NULL);
    if (lag_timer && !evtimer_pending(lag_timer, NULL)) {
        struct timeval tv = { 0, LAG_RETRY_MS * 1000 };
        evtimer_add(lag_timer, &tv);
    }
}

static void mark(le_feed *f)
{
    if (tick_ms == 0 && f->arriving) {
        retry_later(f);
        return;
    }
    dirty_add(f);
    if (!timer && ev_base)
        timer = evtimer_new(ev_base, tick_cb, NULL);
    if (!timer)
        return;
    if (tick_ms == 0) {
        /* Per frame: the tick runs once the loop has run the other ready
         * callbacks of this iteration, so the frames of one publisher read
         * go out in one write per viewer. Activating an active event is a
         * no-op; a timer still pending from a longer tick (a reload) fires
         * on its own. */
        if (!evtimer_pending(timer, NULL))
            event_active(timer, EV_TIMEOUT, 0);
    } else if (!evtimer_pending(timer, NULL)) {
        struct timeval tv = { (time_t)(tick_ms / 1000), (suseconds_t)(tick_ms % 1000) * 1000 };
        evtimer_add(timer, &tv);
    }
}

/* f has a viewer behind in its log (SEND_LAG). With a tick, the next tick
 * writes it. At tick 0 the next frame does, or LAG_RETRY_MS from now if
 * none comes first: activating the tick from inside it would spin on a full
 * socket. */
static void mark_lag(le_feed *f)
{
    if (tick_ms > 0)
        mark(f);
    else
        retry_later(f);
}

static int is_frame(const le_pkt *p)
{
    return (p->type == LE_PKT_AUDIO || p->type == LE_PKT_VIDEO) && !(p->flags & (LE_PKT_SEQHDR | LE_PKT_META));
}

uint32_t le_feed_wire_ts(const le_feed *f, const le_pkt *p)
{
    if (!f->rebase)
        return p->ts;
    /* Data (onMetaData) at 0, as it comes at a join: FFmpeg's FLV reader
     * takes a script tag at 0 as stream metadata, anywhere else as a packet
     * of a new data stream. Players order audio and video only. */
    if (p->type == LE_PKT_DATA)
        return 0;
    if (!f->off_set)
        return f->floor;
    uint32_t t = p->ts + f->off;   /* modulo 2^32, as RTMP timestamps are */
    return (int32_t)(t - f->floor) < 0 ? f->floor : t;
}

void le_feed_append(le_feed *f, le_pkt *p, int gop)
{
    if (f->rebase && !f->off_set && is_frame(p)) {
        f->off = f->floor - p->ts;
        f->off_set = 1;
    }
    uint32_t ts = le_feed_wire_ts(f, p);
    if (p->type != LE_PKT_DATA && (!f->has_last || (int32_t)(ts - f->last) > 0)) {
        f->last = ts;
        f->has_last = 1;
    }
    size_t n = f->fmt->size(p, ts);
    le_feed_blk *t = f->tail;
    if (t->cap - t->len < n) {
        le_feed_blk *b = blk_new(f->end, n > BLK_SIZE ? n : BLK_SIZE);
        t->next = blk_ref(b);
        f->tail = b;
        blk_unref(t);       /* the feed's tail reference moves on */
        t = b;
    }
    uint64_t pos = f->end;
    size_t w = f->fmt->write(t->data + t->len, p, ts);
    t->len += w;
    f->end += w;

    if (p->flags & LE_PKT_META)
        set_hdr(&f->meta, p);
    else if (p->flags & LE_PKT_SEQHDR)
        set_hdr(p->type == LE_PKT_VIDEO ? &f->vseq : &f->aseq, p);
    else if (p->type == LE_PKT_VIDEO)
        f->has_video = 1;
    if (gop == LE_FEED_GOP_START)
        gop_set(f, t, pos);
    else if (gop == LE_FEED_GOP_DROP)
        gop_set(f, NULL, 0);
    if (f->readers)
        mark(f);
}

/* ---- readers ---- */

/* Moves r to the end of the log, its block reference with it. */
static void advance(le_feed_reader *r)
{
    le_feed *f = r->f;
    if (r->blk != f->tail) {
        blk_ref(f->tail);
        blk_unref(r->blk);
        r->blk = f->tail;
    }
    r->pos = f->end;
    r->lagging = 0;
}

/* The current decoder headers, encoded, in the scratch buffer. */
static size_t encode_headers(le_feed *f)
{
    le_pkt *h[3] = { f->meta, f->vseq, f->aseq };
    size_t need = 0;
    for (int i = 0; i < 3; i++)
        if (h[i])
            need += f->fmt->size(h[i], le_feed_wire_ts(f, h[i]));
    if (need > scratch_cap) {
        scratch = le_xrealloc(scratch, need);
        scratch_cap = need;
    }
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        if (h[i])
            n += f->fmt->write(scratch + n, h[i], le_feed_wire_ts(f, h[i]));
    return n;
}

/* An HTTP/1.1 chunk-size line, "<hex>\r\n": once per viewer and tick, so
 * not through printf. */
static size_t chunk_line(char *out, size_t n)
{
    char tmp[16];
    size_t k = 0;
    do {
        tmp[k++] = "0123456789abcdef"[n & 15];
        n >>= 4;
    } while (n);
    for (size_t i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    out[k] = '\r';
    out[k + 1] = '\n';
    return k + 2;
}

typedef struct piece {
    const uint8_t *p;
    size_t n;
    le_feed_blk *blk;           /* NULL: bytes to copy if queued */
} piece;

/* How send_from hands bytes over. */
enum {
    SEND_QUEUE = 0,     /* all into r->out */
    SEND_DIRECT,        /* write what the socket takes now, queue the rest */
    SEND_LAG            /* the same, but log bytes the socket did not take
                         * stay in the log for the next tick */
};

/* A direct write when nothing is queued ahead (what the socket does not
 * take is queued, or with lag_ok left in the log), else all queued. */
static int send_mode(size_t queued, int lag_ok)
{
    return queued ? SEND_QUEUE : lag_ok ? SEND_LAG : SEND_DIRECT;
}

/* n bytes handed to r's socket or queue. */
static void count_out(le_feed_reader *r, size_t n)
{
    r->bytes += n;
    if (bytes_out_sink)
        *bytes_out_sink += n;
}

/* Where log position pos is, from block b on (pos within the log). */
static le_feed_blk *blk_at(le_feed_blk *b, uint64_t pos)
{
    while (b->next && pos >= b->start + b->len)
        b = b->next;
    return b;
}

/* With SEND_LAG, a partial write of an unframed reader (RTMP, HTTP/1.0 FLV)
 * leaves the unsent log bytes where they are: r keeps its place in the log
 * and the next tick writes them with whatever came since, one writev, as
 * bench/floor does (docs/BENCHMARKS.md, "Write tick"). Queueing them instead
 * costs an allocation, two epoll_ctl calls and an extra writev per partial
 * write. HTTP/1.1 chunks cannot be cut that way (a chunk's size is written
 * before it), nor can a write that did not get past hdr. */
static int lag_in_log(le_feed_reader *r, size_t prefix, le_feed_blk *b, uint64_t from, size_t written)
{
    le_feed *f = r->f;
    if (r->http_chunked || written < prefix)
        return 0;
    uint64_t pos = from + (written - prefix);
    le_feed_blk *at = blk_at(b, pos);
    blk_ref(at);
    blk_unref(r->blk);
    r->blk = at;
    r->pos = pos;
    r->lagging = 1;
    count_out(r, written);
    mark_lag(f);    /* the rest goes at the next tick even if nothing new comes */
    return 1;
}

/* Hands r: [hdr][log from `from` (in block b) to the end], as one HTTP chunk
 * when r frames them. With SEND_DIRECT or SEND_LAG (the caller saw nothing
 * queued ahead: one evbuffer length query per viewer and tick, each a lock
 * with libevent's threading on), writes what the socket takes now; the rest
 * is queued, log bytes by reference, or left in the log (SEND_LAG,
 * lag_in_log). Returns 1 when r stays behind in the log (its pos and blk
 * set), 0 when everything was handed over (the caller advances r). */
static int send_from(le_feed_reader *r, const uint8_t *hdr, size_t hdrlen, le_feed_blk *b,
                     uint64_t from, int mode)
{
    le_feed *f = r->f;
    size_t total = hdrlen + (size_t)(f->end - from);
    if (total == 0)
        return 0;
    int direct = mode != SEND_QUEUE;
    le_feed_blk *first = b;
    char line[24];
    piece pc[MAX_IOV + 3];
    int np = 0;
    if (r->http_chunked)
        pc[np++] = (piece){ (const uint8_t *)line, chunk_line(line, total), NULL };
    if (hdrlen)
        pc[np++] = (piece){ hdr, hdrlen, NULL };
    size_t off = (size_t)(from - b->start);
    int more = 0;   /* pieces left over when the array is full */
    for (; b; b = b->next, off = 0) {
        if (b->len <= off)
            continue;
        if (np == MAX_IOV + 1) {
            more = 1;
            break;
        }
        pc[np++] = (piece){ b->data + off, b->len - off, b };
    }
    le_feed_blk *rest = b;
    size_t rest_off = off;
    if (r->http_chunked && !more)
        pc[np++] = (piece){ (const uint8_t *)"\r\n", 2, NULL };

    size_t done = 0;
    if (direct && r->fd >= 0) {
        struct iovec iov[MAX_IOV + 3];
        for (int i = 0; i < np; i++)
            iov[i] = (struct iovec){ (void *)pc[i].p, pc[i].n };
        ssize_t w = writev(r->fd, iov, np);
        /* EAGAIN, or an error the socket layer reports on its next write. */
        done = w > 0 ? (size_t)w : 0;
        if (mode == SEND_LAG && done < total && (w >= 0 || errno == EAGAIN) &&
            lag_in_log(r, hdrlen, first, from, done))
            return 1;
    }
    for (int i = 0; i < np; i++) {
        if (done >= pc[i].n) {
            done -= pc[i].n;
            continue;
        }
        const uint8_t *p = pc[i].p + done;
        size_t n = pc[i].n - done;
        done = 0;
        if (!pc[i].blk)
            evbuffer_add(r->out, p, n);
        else if (evbuffer_add_reference(r->out, p, n, blk_unref_cb, blk_ref(pc[i].blk)) < 0)
            blk_unref(pc[i].blk);
    }
    /* A log longer than one writev (a long backlog): queue the rest. */
    for (b = rest, off = rest_off; more && b; b = b->next, off = 0)
        if (b->len > off && evbuffer_add_reference(r->out, b->data + off, b->len - off, blk_unref_cb,
                                                   blk_ref(b)) < 0)
            blk_unref(b);
    if (more && r->http_chunked)
        evbuffer_add(r->out, "\r\n", 2);
    count_out(r, total);
    return 0;
}

int le_feed_policy(le_feed_reader *r, size_t queued, int can_resume, uint64_t now)
{
    if (queued > lim_queue) {
        if (!r->behind_since_ms)
            r->behind_since_ms = now;
        if (!r->skipping)
            r->skips++;
        r->skipping = 1;
    } else if (queued <= lim_queue / 2) {
        r->behind_since_ms = 0;
    }
    /* A skipping viewer's queue stops growing, so the drop must not wait for
     * it to pass the bound again: one that has not drained to half since it
     * fell behind is cut on time. */
    if (r->behind_since_ms && now - r->behind_since_ms > (uint64_t)lim_drop_ms)
        return LE_FEED_DROP;
    if (r->skipping) {
        if (!can_resume || queued > lim_queue / 2)
            return LE_FEED_SKIP;
        r->skipping = 0;
        return LE_FEED_RESUME;
    }
    return LE_FEED_SEND;
}

/* A resume point since r's position: the cached keyframe on a video
 * stream; any packet boundary on an audio-only one. */
static int can_resume(const le_feed_reader *r)
{
    const le_feed *f = r->f;
    if (f->hold)
        return 0;
    return f->has_video ? f->gop_blk && f->gop_pos >= r->pos : 1;
}

static void deliver(le_feed_reader *r, uint64_t now)
{
    le_feed *f = r->f;
    if (r->stopped) {
        advance(r);
        return;
    }
    size_t queued = evbuffer_get_length(r->out);
    /* Bytes left in the log count as queued (slightly over: with what came
     * since), for the slow-viewer policy. */
    size_t behind = queued + (r->lagging ? (size_t)(f->end - r->pos) : 0);
    int act = le_feed_policy(r, behind, can_resume(r), now);
    if (r->lagging && act == LE_FEED_SKIP) {
        /* The partial write may have ended inside a message: its rest goes
         * (queued) before the reader jumps ahead. */
        send_from(r, NULL, 0, r->blk, r->pos, SEND_QUEUE);
        advance(r);
        return;
    }
    switch (act) {
    case LE_FEED_SEND:
        /* The rest of a partial write stays in the log (mark_lag says when
         * it goes). */
        if (send_from(r, NULL, 0, r->blk, r->pos, send_mode(queued, 1)))
            return;
        break;
    case LE_FEED_RESUME:
        if (f->has_video)
            send_from(r, scratch, encode_headers(f), f->gop_blk, f->gop_pos, send_mode(queued, 0));
        else
            send_from(r, scratch, encode_headers(f), r->blk, r->pos, send_mode(queued, 0));
        break;
    case LE_FEED_DROP:
        r->stopped = 1;
        advance(r);
        if (r->drop)
            r->drop(r, r->ctx);   /* may leave the feed: nothing of r after this */
        return;
    default:
        break;
    }
    advance(r);
}

void le_feed_join(le_feed *f, le_feed_reader *r)
{
    r->f = f;
    r->prev = NULL;
    r->next = f->readers;
    if (f->readers)
        f->readers->prev = r;
    f->readers = r;
    f->nreaders++;
    r->blk = blk_ref(f->tail);
    r->pos = f->end;
    r->skipping = 0;
    r->stopped = 0;
    r->lagging = 0;
    r->behind_since_ms = 0;
    size_t hn = encode_headers(f);
    if (f->gop_blk) {
        send_from(r, scratch, hn, f->gop_blk, f->gop_pos, SEND_QUEUE);
    } else {
        send_from(r, scratch, hn, r->blk, r->pos, SEND_QUEUE);
        /* No cached keyframe: wait for the next one rather than send frames
         * that reference pictures the viewer never got. */
        r->skipping = f->has_video;
    }
}

void le_feed_leave(le_feed_reader *r)
{
    le_feed *f = r->f;
    if (!f)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        f->readers = r->next;
    if (r->next)
        r->next->prev = r->prev;
    f->nreaders--;
    blk_unref(r->blk);
    r->blk = NULL;
    r->f = NULL;
    r->prev = r->next = NULL;
}

void le_feed_flush(le_feed_reader *r)
{
    if (!r->f || r->stopped || r->skipping)
        return;
    send_from(r, NULL, 0, r->blk, r->pos, send_mode(evbuffer_get_length(r->out), 0));
    advance(r);
}

void le_feed_unlag(le_feed_reader *r)
{
    if (r->lagging)
        le_feed_flush(r);
}

void le_feed_suspend(le_feed *f)
{
    for (le_feed_reader *r = f->readers; r; r = r->next) {
        le_feed_flush(r);
        r->skipping = 1;
    }
    forget(f);
    f->hold = 1;
    f->arriving = 0;
    /* The next timestamps follow the last one the readers may have got. */
    f->rebase = f->has_last;
    f->off_set = 0;
    f->floor = f->last + 1;
}

void le_feed_set_arriving(le_feed *f, int on)
{
    f->arriving = on != 0;
    if (!f->arriving && f->dirty && tick_ms == 0)
        mark(f);
}

void le_feed_continue(le_feed *f, int has_video)
{
    f->hold = 0;
    f->has_video = has_video;
    if (f->readers)
        mark(f);
}

void le_feed_tick(void)
{
    le_feed *list = dirty;
    dirty = NULL;
    uint64_t now = le_mono_ms();
    while (list) {
        le_feed *f = list;
        list = f->dnext;
        f->dnext = NULL;
        f->dirty = 0;
        /* A reader may leave from its drop callback, no other. */
        for (le_feed_reader *r = f->readers, *n; r; r = n) {
            n = r->next;
            deliver(r, now);
        }
    }
}

void le_feed_shutdown(void)
{
    dirty = NULL;
    if (timer)
        event_free(timer);
    timer = NULL;
    if (lag_timer)
        event_free(lag_timer);
    lag_timer = NULL;
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}
