/* The shared feed: join replay (headers + GOP), live ticks written straight
 * to the socket, backlogs queued by reference, partial writes, the
 * slow-viewer skip/resume/drop, block lifetime, and readers kept across a
 * publisher reconnect (timestamps rebased per feed, resume at the new
 * keyframe with its headers, a track change ends them). Sockets are a local
 * socketpair; the tick is called directly (no event loop). */
#include "tap.h"
#include "media_samples.h"
#include "media/feed.h"
#include "media/stream.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "stream_helpers.h"

/* A test wire format: type byte, 4-byte ts, payload. */
static size_t t_size(const le_pkt *p, uint32_t ts) { (void)ts; return 5 + p->len; }
static size_t t_write(uint8_t *d, const le_pkt *p, uint32_t ts)
{
    d[0] = p->type;
    memcpy(d + 1, &ts, 4);
    memcpy(d + 5, p->data, p->len);
    return 5 + p->len;
}
static const le_feed_fmt tfmt = { LE_FEED_RTMP, t_size, t_write };

typedef struct viewer {
    le_sub sub;
    int sv[2];                  /* [0] the node's end, [1] the player's */
    int dropped, unpublished;
} viewer;

static void v_drop(le_feed_reader *r, void *ctx) { (void)r; ((viewer *)ctx)->dropped++; }
/* As the players do: no more media once told. */
static void v_unpub(le_sub *s)
{
    ((viewer *)s->ctx)->unpublished++;
    s->rd.stopped = 1;
}
static const le_sub_ops v_ops = { NULL, v_unpub, NULL };

static void v_open(viewer *v)
{
    memset(v, 0, sizeof(*v));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, v->sv) != 0)
        abort();
    fcntl(v->sv[0], F_SETFL, O_NONBLOCK);
    fcntl(v->sv[1], F_SETFL, O_NONBLOCK);
    v->sub.ops = &v_ops;
    v->sub.ctx = v;
    v->sub.is_player = 1;
    v->sub.fmt = &tfmt;
    v->sub.rd.out = evbuffer_new();
    v->sub.rd.fd = v->sv[0];
    v->sub.rd.drop = v_drop;
    v->sub.rd.ctx = v;
}

static void v_close(viewer *v)
{
    if (v->sub.st)
        le_stream_detach(&v->sub);
    evbuffer_free(v->sub.rd.out);
    close(v->sv[0]);
    close(v->sv[1]);
}

/* What the player has received: socket bytes into got (appended). */
static size_t v_read(viewer *v, uint8_t *got, size_t cap)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(v->sv[1], got + n, cap - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    return n;
}

/* Everything queued in out, then the socket: the whole byte stream in order
 * (out is only ever behind what the socket took; what a partial write left
 * in the log is handed over first, as the RTMP session does before its own
 * messages). */
static size_t v_drain_all(viewer *v, uint8_t *got, size_t cap)
{
    size_t n = v_read(v, got, cap);
    le_feed_unlag(&v->sub.rd);
    while (evbuffer_get_length(v->sub.rd.out)) {
        evbuffer_write(v->sub.rd.out, v->sv[0]);
        n += v_read(v, got + n, cap - n);
    }
    return n + v_read(v, got + n, cap - n);
}

static le_pkt *pk(uint8_t type, uint32_t ts, const uint8_t *d, uint32_t n)
{
    return le_pkt_new(type, ts, d, n);
}

/* Encoded form, for comparisons. */
static size_t enc(uint8_t *out, uint8_t type, uint32_t ts, const uint8_t *d, uint32_t n)
{
    le_pkt *p = pk(type, ts, d, n);
    size_t w = t_write(out, p, ts);
    le_pkt_unref(p);
    return w;
}


static uint8_t got[1 << 21], want[1 << 21];

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The write tick (write_tick) on a real event loop: 0 writes in the same
 * loop iteration as the append (frames appended together go out together),
 * a tick of T holds them about T ms, a change applies from the next tick,
 * and the value is clamped. */
static void test_write_tick(void)
{
    static const uint8_t d1[] = { 1, 2, 3 }, d2[] = { 4, 5 };
    uint64_t sent = 0;
    struct event_base *base = event_base_new();
    le_feed_init(base, &sent);
    le_feed_set_tick(1000);
    is_int(le_feed_get_tick(), LE_FEED_TICK_MAX_MS, "write tick clamped to %d ms", LE_FEED_TICK_MAX_MS);
    le_feed_set_tick(-1);
    is_int(le_feed_get_tick(), 0, "a negative tick is 0");

    le_feed *f = le_feed_new(&tfmt, 0);   /* audio only: no keyframe wait */
    viewer v;
    v_open(&v);
    le_feed_join(f, &v.sub.rd);
    size_t wn = enc(want, LE_PKT_AUDIO, 10, d1, sizeof(d1));
    wn += enc(want + wn, LE_PKT_AUDIO, 20, d2, sizeof(d2));

    /* Tick 0: both frames of one "read" in the same loop iteration. */
    le_pkt *p1 = pk(LE_PKT_AUDIO, 10, d1, sizeof(d1)), *p2 = pk(LE_PKT_AUDIO, 20, d2, sizeof(d2));
    le_feed_append(f, p1, LE_FEED_GOP_CONT);
    le_feed_append(f, p2, LE_FEED_GOP_CONT);
    is_int(v_read(&v, got, sizeof(got)), 0, "tick 0: nothing written inside the append");
    event_base_loop(base, EVLOOP_NONBLOCK);
    size_t n = v_read(&v, got, sizeof(got));
    ok(n == wn && memcmp(got, want, wn) == 0, "tick 0: both frames out after one loop iteration (%zu bytes)", n);
    is_int(sent, wn, "tick 0: bytes counted");

    /* Tick 100: held about 100 ms. */
    le_feed_set_tick(100);
    double t0 = mono_ms();
    le_feed_append(f, p1, LE_FEED_GOP_CONT);
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(v_read(&v, got, sizeof(got)), 0, "tick 100: nothing after one loop iteration");
    n = 0;
    for (int i = 0; i < 100 && n == 0; i++) {
        event_base_loop(base, EVLOOP_ONCE);
        n = v_read(&v, got, sizeof(got));
    }
    double waited = mono_ms() - t0;
    is_int(n, wn - (5 + sizeof(d2)), "tick 100: the frame arrives");
    ok(waited >= 95 && waited < 1000, "tick 100: it waited %.1f ms (>= 95)", waited);

    /* A change while a tick is pending: the pending tick fires as armed,
     * then the new value applies. */
    le_feed_append(f, p1, LE_FEED_GOP_CONT);
    le_feed_set_tick(0);
    le_feed_append(f, p2, LE_FEED_GOP_CONT);
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(v_read(&v, got, sizeof(got)), 0, "100 -> 0: the armed 100 ms tick still holds");
    n = 0;
    for (int i = 0; i < 100 && n == 0; i++) {
        event_base_loop(base, EVLOOP_ONCE);
        n = v_read(&v, got, sizeof(got));
    }
    is_int(n, wn, "100 -> 0: both frames in the armed tick");
    le_feed_append(f, p2, LE_FEED_GOP_CONT);
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(v_read(&v, got, sizeof(got)), 5 + sizeof(d2), "after it: tick 0 again writes in the same iteration");

    /* Tick 0 while the source is inside a message (its read ended in one):
     * the frame waits for the message's end, and goes out in that same
     * loop iteration once the source says so. */
    le_feed_set_arriving(f, 1);
    le_feed_append(f, p1, LE_FEED_GOP_CONT);
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(v_read(&v, got, sizeof(got)), 0, "tick 0, source inside a message: the frame waits");
    le_feed_append(f, p2, LE_FEED_GOP_CONT);
    le_feed_set_arriving(f, 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    wn = enc(want, LE_PKT_AUDIO, 10, d1, sizeof(d1));
    wn += enc(want + wn, LE_PKT_AUDIO, 20, d2, sizeof(d2));
    n = v_read(&v, got, sizeof(got));
    ok(n == wn && memcmp(got, want, wn) == 0, "tick 0, message ended: both frames in one loop iteration (%zu bytes)",
       n);
    /* A source that stalls inside a message holds the frames about 20 ms,
     * no longer. */
    le_feed_set_arriving(f, 1);
    t0 = mono_ms();
    le_feed_append(f, p1, LE_FEED_GOP_CONT);
    n = 0;
    for (int i = 0; i < 100 && n == 0; i++) {
        event_base_loop(base, EVLOOP_ONCE);
        n = v_read(&v, got, sizeof(got));
    }
    waited = mono_ms() - t0;
    is_int(n, 5 + sizeof(d1), "tick 0, source stalled inside a message: the frame goes out");
    ok(waited >= 15 && waited < 1000, "tick 0, stalled source: the frame waited %.1f ms (about 20)", waited);
    le_feed_set_arriving(f, 0);
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(v_read(&v, got, sizeof(got)), 0, "tick 0: the message's end after the retry writes nothing twice");

    /* Tick 0 and a write the socket takes only part of: the rest stays in
     * the log (nothing queued) and, with no new frame to carry it, a retry
     * about 20 ms later writes it; the player gets the exact bytes. */
    static uint8_t big0[600000];
    for (size_t i = 0; i < sizeof(big0); i++)
        big0[i] = (uint8_t)(i * 13);
    le_pkt *pb = pk(LE_PKT_VIDEO, 30, big0, sizeof(big0));
    le_feed_append(f, pb, LE_FEED_GOP_CONT);
    event_base_loop(base, EVLOOP_NONBLOCK);
    n = v_read(&v, got, sizeof(got));
    ok(n > 0 && n < 5 + sizeof(big0) && v.sub.rd.lagging && evbuffer_get_length(v.sub.rd.out) == 0,
       "tick 0, partial write: the rest left in the log (%zu written)", n);
    t0 = mono_ms();
    int turns = 0;
    for (; turns < 2000 && v.sub.rd.lagging; turns++) {
        event_base_loop(base, EVLOOP_ONCE);
        n += v_read(&v, got + n, sizeof(got) - n);
    }
    waited = mono_ms() - t0;
    wn = enc(want, LE_PKT_VIDEO, 30, big0, sizeof(big0));
    ok(!v.sub.rd.lagging && evbuffer_get_length(v.sub.rd.out) == 0 && n == wn && memcmp(got, want, wn) == 0,
       "tick 0: retries wrote the rest, intact, nothing queued (%d loop turns)", turns);
    ok(turns < 200 && waited >= 15, "tick 0: the retries are timed, not a spin (%d turns in %.1f ms)", turns, waited);
    le_pkt_unref(pb);

    le_pkt_unref(p1);
    le_pkt_unref(p2);
    le_feed_leave(&v.sub.rd);
    evbuffer_free(v.sub.rd.out);
    close(v.sv[0]);
    close(v.sv[1]);
    le_feed_free(f);
    le_feed_shutdown();
    le_feed_init(NULL, NULL);
    le_feed_set_tick(LE_FEED_TICK_DEFAULT_MS);
    event_base_free(base);
}

int main(void)
{
    int a, b2;
    le_stream_limits lim = *le_stream_get_limits();
    lim.reconnect_grace_ms = 0;   /* first without a grace: viewers end at unpublish */
    le_stream_set_limits(&lim);
    le_stream *st = le_stream_find("d.example", "live", "f1", 1);
    is_int(le_stream_publish(st, &pub, &a), LE_OK, "publisher");
    push(st, LE_PKT_DATA, 0, meta, sizeof(meta));
    push(st, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(st, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(st, LE_PKT_VIDEO, 100, inter, sizeof(inter));   /* before any keyframe: not cached */
    push(st, LE_PKT_VIDEO, 200, key, sizeof(key));
    push(st, LE_PKT_AUDIO, 220, araw, sizeof(araw));
    push(st, LE_PKT_VIDEO, 240, inter, sizeof(inter));
    is_int(le_feed_blocks(), 0, "no feed before the first player");

    /* Join: the current headers, then the GOP from its keyframe, queued. */
    viewer v1;
    v_open(&v1);
    le_stream_attach(st, &v1.sub);
    size_t wn = 0;
    wn += enc(want + wn, LE_PKT_DATA, 0, meta, sizeof(meta));
    wn += enc(want + wn, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    wn += enc(want + wn, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    wn += enc(want + wn, LE_PKT_VIDEO, 200, key, sizeof(key));
    wn += enc(want + wn, LE_PKT_AUDIO, 220, araw, sizeof(araw));
    wn += enc(want + wn, LE_PKT_VIDEO, 240, inter, sizeof(inter));
    is_int(evbuffer_get_length(v1.sub.rd.out), wn, "join queues headers + GOP");
    is_int(v_read(&v1, got, sizeof(got)), 0, "join writes nothing directly (replies queued ahead)");
    size_t gn = v_drain_all(&v1, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "join bytes: meta, vseq, aseq, key, audio, inter in order");
    size_t join_bytes = wn;
    is_int(le_stream_viewers(st), 1, "feed reader counted as a viewer");

    /* Live: nothing goes out before the tick; then one direct write. */
    push(st, LE_PKT_VIDEO, 280, inter, sizeof(inter));
    push(st, LE_PKT_AUDIO, 290, araw, sizeof(araw));
    is_int(v_read(&v1, got, sizeof(got)), 0, "live packets wait for the tick");
    le_feed_tick();
    is_int(evbuffer_get_length(v1.sub.rd.out), 0, "socket took the tick: nothing queued");
    wn = enc(want, LE_PKT_VIDEO, 280, inter, sizeof(inter));
    wn += enc(want + wn, LE_PKT_AUDIO, 290, araw, sizeof(araw));
    gn = v_read(&v1, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "tick wrote the new packets straight to the socket");
    is_int(v1.sub.rd.bytes, join_bytes + wn, "bytes handed to the viewer counted");

    /* A second viewer reads the same log; a viewer with a backlog gets the
     * tick queued behind it (by reference), nothing written ahead of it. */
    viewer v2;
    v_open(&v2);
    le_stream_attach(st, &v2.sub);
    v_drain_all(&v2, got, sizeof(got));
    evbuffer_add(v1.sub.rd.out, "XYZ", 3);     /* v1: something queued ahead */
    push(st, LE_PKT_VIDEO, 320, inter, sizeof(inter));
    le_feed_tick();
    wn = enc(want, LE_PKT_VIDEO, 320, inter, sizeof(inter));
    gn = v_read(&v2, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "second viewer got the same tick bytes");
    is_int(v_read(&v1, got, sizeof(got)), 0, "backlogged viewer: no direct write");
    is_int(evbuffer_get_length(v1.sub.rd.out), 3 + wn, "backlogged viewer: tick queued after its backlog");
    gn = v_drain_all(&v1, got, sizeof(got));
    ok(gn == 3 + wn && memcmp(got, "XYZ", 3) == 0 && memcmp(got + 3, want, wn) == 0, "order kept");

    /* A packet larger than a block and than the socket buffer: part written,
     * the rest left in the log, and written by the next ticks as the player
     * reads (as bench/floor does: no queue); the player sees the exact bytes. */
    static uint8_t big[600000];
    big[0] = 0x27;
    big[1] = 1;
    for (size_t i = 5; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    uint64_t bytes0 = v1.sub.rd.bytes;
    push(st, LE_PKT_VIDEO, 360, big, sizeof(big));
    le_feed_tick();
    size_t direct = v_read(&v1, got, sizeof(got));
    ok(direct > 0 && direct < 5 + sizeof(big) && evbuffer_get_length(v1.sub.rd.out) == 0 && v1.sub.rd.lagging,
       "big tick: partly written, rest left in the log (%zu direct)", direct);
    gn = direct;
    int ticks = 0;
    for (; ticks < 1000 && v1.sub.rd.lagging; ticks++) {
        le_feed_tick();
        gn += v_read(&v1, got + gn, sizeof(got) - gn);
    }
    ok(ticks > 0 && !v1.sub.rd.lagging && evbuffer_get_length(v1.sub.rd.out) == 0,
       "the next %d ticks wrote the rest, nothing queued", ticks);
    wn = enc(want, LE_PKT_VIDEO, 360, big, sizeof(big));
    ok(gn == wn && memcmp(got, want, wn) == 0, "big packet intact across the partial writes");
    is_int(v1.sub.rd.bytes - bytes0, wn, "bytes counted as they were written");
    /* A message of the owner's own while bytes are left in the log: the log
     * bytes go first, whole (le_feed_unlag), then the message. */
    push(st, LE_PKT_VIDEO, 400, big, sizeof(big));
    le_feed_tick();
    ok(v1.sub.rd.lagging, "second big tick: partial again");
    le_feed_unlag(&v1.sub.rd);
    evbuffer_add(v1.sub.rd.out, "CTL", 3);
    gn = v_drain_all(&v1, got, sizeof(got));
    wn = enc(want, LE_PKT_VIDEO, 400, big, sizeof(big));
    memcpy(want + wn, "CTL", 3);
    ok(gn == wn + 3 && memcmp(got, want, wn + 3) == 0, "unlag: the message follows the whole packet");
    v_drain_all(&v2, got, sizeof(got));

    /* Blocks: the feed keeps the GOP; a new keyframe lets old blocks go. */
    size_t before = le_feed_blocks();
    push(st, LE_PKT_VIDEO, 2000, key, sizeof(key));
    le_feed_tick();
    v_drain_all(&v1, got, sizeof(got));
    v_drain_all(&v2, got, sizeof(got));
    ok(le_feed_blocks() < before, "new keyframe: blocks before it freed (%zu -> %zu)", before, le_feed_blocks());

    /* Slow viewer: over the bound it skips; it resumes at the next keyframe
     * with the headers first; staying behind gets it dropped. */
    lim.viewer_queue_bytes = 1000;
    lim.viewer_drop_ms = 50;
    le_stream_set_limits(&lim);
    static uint8_t junk[2000];
    evbuffer_add(v1.sub.rd.out, junk, sizeof(junk));
    push(st, LE_PKT_VIDEO, 2040, inter, sizeof(inter));
    le_feed_tick();
    is_int(evbuffer_get_length(v1.sub.rd.out), sizeof(junk), "over the bound: tick skipped");
    ok(v1.sub.rd.skipping, "viewer is skipping");
    v_drain_all(&v1, got, sizeof(got));
    push(st, LE_PKT_VIDEO, 2080, inter, sizeof(inter));
    le_feed_tick();
    is_int(v_read(&v1, got, sizeof(got)), 0, "drained, but no keyframe yet: still skipping");
    push(st, LE_PKT_AUDIO, 2090, araw, sizeof(araw));
    push(st, LE_PKT_VIDEO, 4000, key, sizeof(key));
    push(st, LE_PKT_AUDIO, 4010, araw, sizeof(araw));
    le_feed_tick();
    wn = 0;
    wn += enc(want + wn, LE_PKT_DATA, 0, meta, sizeof(meta));
    wn += enc(want + wn, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    wn += enc(want + wn, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    wn += enc(want + wn, LE_PKT_VIDEO, 4000, key, sizeof(key));
    wn += enc(want + wn, LE_PKT_AUDIO, 4010, araw, sizeof(araw));
    gn = v_drain_all(&v1, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "resumed at the keyframe, headers first, skipped audio not sent");
    ok(!v1.sub.rd.skipping && v1.sub.rd.skips == 1, "resumed; one skip counted");
    v_drain_all(&v2, got, sizeof(got));

    evbuffer_add(v1.sub.rd.out, junk, sizeof(junk));
    push(st, LE_PKT_VIDEO, 4040, inter, sizeof(inter));
    le_feed_tick();
    struct timespec ts = { 0, 80 * 1000000L };
    nanosleep(&ts, NULL);
    push(st, LE_PKT_VIDEO, 4080, inter, sizeof(inter));
    le_feed_tick();
    is_int(v1.dropped, 1, "behind longer than viewer_drop_ms: dropped");
    ok(v1.sub.rd.stopped, "dropped reader gets no more writes");
    gn = v_drain_all(&v2, got, sizeof(got));
    wn = enc(want, LE_PKT_VIDEO, 4040, inter, sizeof(inter));
    wn += enc(want + wn, LE_PKT_VIDEO, 4080, inter, sizeof(inter));
    ok(gn == wn && memcmp(got, want, wn) == 0, "the other viewer is not held back");
    le_stream_detach(&v1.sub);
    is_int(le_stream_viewers(st), 1, "dropped viewer detached");

    /* Unpublish: the tail goes out before the end; a new publisher's headers
     * reach the staying viewer live. */
    push(st, LE_PKT_VIDEO, 4120, inter, sizeof(inter));
    le_feed_flush(&v2.sub.rd);
    wn = enc(want, LE_PKT_VIDEO, 4120, inter, sizeof(inter));
    gn = v_read(&v2, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "flush hands the pending tail at once");
    le_stream_unpublish(st, &a);
    is_int(v2.unpublished, 1, "viewer told of the unpublish");

    /* Audio-only publish: a joiner does not wait for a keyframe. */
    is_int(le_stream_publish(st, &pub, &a), LE_OK, "second publish");
    push(st, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(st, LE_PKT_AUDIO, 20, araw, sizeof(araw));
    le_feed_tick();
    v_drain_all(&v2, got, sizeof(got));
    viewer v3;
    v_open(&v3);
    le_stream_attach(st, &v3.sub);
    ok(!v3.sub.rd.skipping, "audio-only joiner is not skipping");
    gn = v_drain_all(&v3, got, sizeof(got));
    wn = enc(want, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    ok(gn == wn && memcmp(got, want, wn) == 0, "audio-only joiner gets the header (no GOP)");
    push(st, LE_PKT_AUDIO, 40, araw, sizeof(araw));
    le_feed_tick();
    wn = enc(want, LE_PKT_AUDIO, 40, araw, sizeof(araw));
    gn = v_read(&v3, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "audio-only joiner gets live audio");
    v_drain_all(&v2, got, sizeof(got));

    /* Random ticks: packet sizes from bytes to several blocks, more blocks in
     * one tick than one writev takes, players that read a little or nothing,
     * bytes queued ahead at random. Each player's stream must be exactly
     * the log from its join on (the bound is high: nobody skips). */
    lim.viewer_queue_bytes = 64u << 20;
    lim.viewer_drop_ms = 60000;
    le_stream_set_limits(&lim);
    srand(8);
    enum { NV = 3 };
    static viewer rv[NV];
    static uint8_t rgot[NV][1 << 23], rwant[NV][1 << 23];
    size_t rgn[NV] = { 0 }, rwn[NV] = { 0 };
    static uint8_t body[300000], round_bytes[1 << 23];
    push(st, LE_PKT_VIDEO, 5000, key, sizeof(key));   /* a video stream again: joins need a keyframe */
    for (int v = 0; v < NV; v++) {
        v_open(&rv[v]);
        le_stream_attach(st, &rv[v].sub);
        rgn[v] = v_drain_all(&rv[v], rgot[v], sizeof(rgot[v]));   /* the join: checked above */
        rgn[v] = 0;
    }
    int bad = 0, ctl_lagged = 0, lag_seen = 0;
    uint32_t rts = 5040;
    for (int round = 0; round < 40; round++) {
        int npk = 1 + rand() % (round == 7 ? 80 : 6);
        size_t roundn = 0;
        for (int k = 0; k < npk; k++) {
            uint32_t n = round == 7 ? 70000 : (uint32_t)(6 + rand() % (rand() % 4 == 0 ? 200000 : 3000));
            body[0] = 0x27;
            body[1] = 1;
            for (uint32_t b = 5; b < n; b++)
                body[b] = (uint8_t)(rand());
            push(st, LE_PKT_VIDEO, rts, body, n);
            roundn += enc(round_bytes + roundn, LE_PKT_VIDEO, rts, body, n);
            rts += 40;
        }
        for (int v = 0; v < NV; v++) {
            /* A control message queued before the tick. Written after what a
             * partial write left in the log, and so after everything the log
             * holds now (this round's packets too); with nothing left there,
             * ahead of this round's packets. */
            int ctl = rand() % 5 == 0, lagged = rv[v].sub.rd.lagging;
            if (ctl) {
                le_feed_unlag(&rv[v].sub.rd);
                evbuffer_add(rv[v].sub.rd.out, "C", 1);
            }
            if (ctl && !lagged)
                rwant[v][rwn[v]++] = 'C';
            memcpy(rwant[v] + rwn[v], round_bytes, roundn);
            rwn[v] += roundn;
            if (ctl && lagged) {
                rwant[v][rwn[v]++] = 'C';
                ctl_lagged++;
            }
            lag_seen += lagged;
        }
        le_feed_tick();
        for (int v = 0; v < NV; v++) {
            int how = rand() % 3;   /* 0: read nothing; 1: what the socket has; 2: all */
            if (how == 1)
                rgn[v] += v_read(&rv[v], rgot[v] + rgn[v], sizeof(rgot[v]) - rgn[v]);
            else if (how == 2)
                rgn[v] += v_drain_all(&rv[v], rgot[v] + rgn[v], sizeof(rgot[v]) - rgn[v]);
        }
    }
    for (int v = 0; v < NV; v++) {
        rgn[v] += v_drain_all(&rv[v], rgot[v] + rgn[v], sizeof(rgot[v]) - rgn[v]);
        if (rgn[v] != rwn[v] || memcmp(rgot[v], rwant[v], rwn[v]) != 0)
            bad++;
        ok(rgn[v] == rwn[v], "random ticks, player %d: %zu bytes received, %zu sent", v, rgn[v], rwn[v]);
    }
    is_int(bad, 0, "random ticks: every player's bytes are the log, in order");
    ok(lag_seen > 0, "random ticks: partial writes left bytes in the log %d times (%d before a control message)",
       lag_seen, ctl_lagged);
    for (int v = 0; v < NV; v++)
        v_close(&rv[v]);

    /* Reconnect within the grace: readers stay, get nothing while no one
     * publishes, then the new publish from its keyframe, headers first, with
     * timestamps continuing after the last one logged: the same bytes for a
     * reader in step and for one with a backlog. */
    lim.reconnect_grace_ms = 60000;
    le_stream_set_limits(&lim);
    le_stream *rs = le_stream_find("d.example", "live", "re", 1);
    is_int(le_stream_publish(rs, &pub, &a), LE_OK, "reconnect: first publish");
    push(rs, LE_PKT_DATA, 0, meta, sizeof(meta));
    push(rs, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(rs, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(rs, LE_PKT_VIDEO, 1000, key, sizeof(key));
    viewer ka, kb;
    v_open(&ka);
    v_open(&kb);
    le_stream_attach(rs, &ka.sub);
    le_stream_attach(rs, &kb.sub);
    v_drain_all(&ka, got, sizeof(got));
    v_drain_all(&kb, got, sizeof(got));
    push(rs, LE_PKT_AUDIO, 1010, araw, sizeof(araw));
    le_feed_tick();
    v_drain_all(&ka, got, sizeof(got));
    v_drain_all(&kb, got, sizeof(got));
    evbuffer_add(kb.sub.rd.out, "XYZ", 3);        /* kb: a backlog ahead of the feed */
    push(rs, LE_PKT_VIDEO, 1040, inter, sizeof(inter));
    le_stream_unpublish(rs, &a);                  /* before the tick: the tail goes out now */
    ok(ka.unpublished == 0 && kb.unpublished == 0, "reconnect: readers not ended at unpublish");
    ok(le_stream_in_grace(rs) && !le_stream_is_live(rs), "reconnect: in grace, not live");
    is_int(le_stream_viewers(rs), 2, "reconnect: both still counted as viewers in the grace");
    wn = enc(want, LE_PKT_VIDEO, 1040, inter, sizeof(inter));
    gn = v_read(&ka, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "reconnect: the last frame went out at unpublish");
    le_feed_tick();
    is_int(v_read(&ka, got, sizeof(got)), 0, "reconnect: nothing in the grace");

    /* The new publisher starts its clock at 0, sends audio before its first
     * keyframe; wire timestamps go on from 1041 (last logged + 1). */
    is_int(le_stream_publish(rs, &pub, &b2), LE_OK, "reconnect: second publish within the grace");
    ok(!le_stream_in_grace(rs), "reconnect: grace over");
    push(rs, LE_PKT_DATA, 0, meta, sizeof(meta));
    push(rs, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(rs, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(rs, LE_PKT_AUDIO, 0, araw, sizeof(araw));
    le_feed_tick();
    is_int(v_read(&ka, got, sizeof(got)), 0, "reconnect: nothing before the new keyframe");
    push(rs, LE_PKT_VIDEO, 0, key, sizeof(key));
    push(rs, LE_PKT_AUDIO, 20, araw, sizeof(araw));
    push(rs, LE_PKT_VIDEO, 40, inter, sizeof(inter));
    le_feed_tick();
    wn = 0;
    wn += enc(want + wn, LE_PKT_DATA, 0, meta, sizeof(meta));
    wn += enc(want + wn, LE_PKT_VIDEO, 1041, vseq, sizeof(vseq));
    wn += enc(want + wn, LE_PKT_AUDIO, 1041, aseq, sizeof(aseq));
    wn += enc(want + wn, LE_PKT_VIDEO, 1041, key, sizeof(key));
    wn += enc(want + wn, LE_PKT_AUDIO, 1061, araw, sizeof(araw));
    wn += enc(want + wn, LE_PKT_VIDEO, 1081, inter, sizeof(inter));
    gn = v_drain_all(&ka, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "reconnect: new headers, keyframe, then frames, rebased after 1040");
    static uint8_t gotb[4096];
    size_t gbn = v_drain_all(&kb, gotb, sizeof(gotb));
    ok(gbn == 3 + 5 + sizeof(inter) + wn && memcmp(gotb, "XYZ", 3) == 0 &&
       memcmp(gotb + 3 + 5 + sizeof(inter), want, wn) == 0,
       "reconnect: the backlogged reader gets its backlog, the old tail, then the same bytes");
    is_int(ka.unpublished + kb.unpublished, 0, "reconnect: readers follow the new publish");
    viewer kc;
    v_open(&kc);
    le_stream_attach(rs, &kc.sub);
    wn = 0;
    wn += enc(want + wn, LE_PKT_DATA, 0, meta, sizeof(meta));
    wn += enc(want + wn, LE_PKT_VIDEO, 1041, vseq, sizeof(vseq));
    wn += enc(want + wn, LE_PKT_AUDIO, 1041, aseq, sizeof(aseq));
    wn += enc(want + wn, LE_PKT_VIDEO, 1041, key, sizeof(key));
    wn += enc(want + wn, LE_PKT_AUDIO, 1061, araw, sizeof(araw));
    wn += enc(want + wn, LE_PKT_VIDEO, 1081, inter, sizeof(inter));
    gn = v_drain_all(&kc, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "reconnect: a later joiner of the feed gets the same timeline");
    is_int(le_stream_viewers(rs), 3, "reconnect: viewers counted once each");

    /* A second reconnect: the new clock starts above the old one and its
     * first audio is older than its keyframe; nothing goes below the floor. */
    push(rs, LE_PKT_VIDEO, 80, inter, sizeof(inter));   /* wire 1121 */
    le_feed_tick();
    le_stream_unpublish(rs, &b2);
    v_drain_all(&ka, got, sizeof(got));
    v_drain_all(&kb, got, sizeof(got));
    v_drain_all(&kc, got, sizeof(got));
    is_int(le_stream_publish(rs, &pub, &a), LE_OK, "reconnect: third publish");
    push(rs, LE_PKT_VIDEO, 90000, vseq, sizeof(vseq));
    push(rs, LE_PKT_AUDIO, 90000, aseq, sizeof(aseq));
    push(rs, LE_PKT_VIDEO, 90500, key, sizeof(key));
    push(rs, LE_PKT_AUDIO, 90480, araw, sizeof(araw));
    push(rs, LE_PKT_VIDEO, 90540, inter, sizeof(inter));
    le_feed_tick();
    wn = 0;
    wn += enc(want + wn, LE_PKT_VIDEO, 1122, vseq, sizeof(vseq));
    wn += enc(want + wn, LE_PKT_AUDIO, 1122, aseq, sizeof(aseq));
    wn += enc(want + wn, LE_PKT_VIDEO, 1122, key, sizeof(key));
    wn += enc(want + wn, LE_PKT_AUDIO, 1122, araw, sizeof(araw));
    wn += enc(want + wn, LE_PKT_VIDEO, 1162, inter, sizeof(inter));
    gn = v_drain_all(&kc, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "reconnect: a later clock is rebased too, early audio clamped");
    gn = v_drain_all(&ka, got, sizeof(got));
    ok(gn == wn && memcmp(got, want, wn) == 0, "reconnect: and the same for a reader kept twice");
    v_drain_all(&kb, got, sizeof(got));

    /* A publish with other tracks: audio only where there was video. The
     * kept readers get nothing of it and end once it has sent 3 s of audio
     * without a keyframe; a reader that joined it meanwhile stays. */
    le_stream_unpublish(rs, &a);
    is_int(le_stream_publish(rs, &pub, &b2), LE_OK, "reconnect: audio-only publish");
    push(rs, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(rs, LE_PKT_AUDIO, 20, araw, sizeof(araw));
    viewer kd;
    v_open(&kd);
    le_stream_attach(rs, &kd.sub);
    v_drain_all(&kd, got, sizeof(got));
    push(rs, LE_PKT_AUDIO, 1000, araw, sizeof(araw));
    le_feed_tick();
    is_int(ka.unpublished + kb.unpublished + kc.unpublished, 0, "track change: not decided before 3 s");
    push(rs, LE_PKT_AUDIO, 3020, araw, sizeof(araw));
    is_int(ka.unpublished + kb.unpublished + kc.unpublished, 3, "track change: kept readers end");
    is_int(kd.unpublished, 0, "track change: the reader of the new publish stays");
    le_feed_tick();
    is_int(v_read(&ka, got, sizeof(got)) + v_read(&kb, got, sizeof(got)) + v_read(&kc, got, sizeof(got)), 0,
           "track change: ended readers got nothing of the new publish");
    gn = v_drain_all(&kd, got, sizeof(got));
    ok(gn > 0 && !kd.sub.rd.skipping, "track change: the new reader gets audio (%zu bytes)", gn);
    v_close(&ka);
    v_close(&kb);
    v_close(&kc);

    /* A codec change (H.264 to H.265): decided at the first keyframe. */
    static const uint8_t hseq[] = { 0x1c, 0, 0, 0, 0, 1 }, hkey[] = { 0x1c, 1, 0, 0, 0, 0x26 };
    le_stream_unpublish(rs, &b2);   /* kd's publish was audio only */
    is_int(kd.unpublished, 0, "kd kept");
    is_int(le_stream_publish(rs, &pub, &a), LE_OK, "reconnect: audio-only again");
    push(rs, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(rs, LE_PKT_AUDIO, 20, araw, sizeof(araw));
    le_feed_tick();
    ok(v_drain_all(&kd, got, sizeof(got)) > 0 && kd.unpublished == 0, "same tracks (audio only): followed at once");
    push(rs, LE_PKT_VIDEO, 40, hseq, sizeof(hseq));
    push(rs, LE_PKT_VIDEO, 40, hkey, sizeof(hkey));
    le_stream_unpublish(rs, &a);
    viewer ke;
    v_open(&ke);
    is_int(le_stream_publish(rs, &pub, &b2), LE_OK, "publish H.265 + AAC");
    push(rs, LE_PKT_VIDEO, 0, hseq, sizeof(hseq));
    push(rs, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(rs, LE_PKT_VIDEO, 0, hkey, sizeof(hkey));
    le_stream_attach(rs, &ke.sub);
    v_drain_all(&ke, got, sizeof(got));
    le_stream_unpublish(rs, &b2);
    is_int(le_stream_publish(rs, &pub, &a), LE_OK, "publish H.264 + AAC");
    push(rs, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(rs, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    is_int(ke.unpublished, 0, "codec change: not decided before the keyframe");
    push(rs, LE_PKT_VIDEO, 0, key, sizeof(key));
    is_int(ke.unpublished, 1, "codec change: H.265 reader ends at the H.264 keyframe");
    le_feed_tick();
    is_int(v_read(&ke, got, sizeof(got)), 0, "codec change: it got none of the new publish");
    v_close(&ke);
    v_close(&kd);
    le_stream_unpublish(rs, &a);
    is_int(le_stream_publish(rs, &pub, &a), LE_OK, "a publish without readers");
    push(rs, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));   /* the feed goes: no reader */
    le_stream_unpublish(rs, &a);

    /* Lifetime: readers gone, the feed goes at the next packet, every block
     * is freed once the queued references are written. */
    v_close(&v2);
    v_close(&v3);
    v_close(&v1);
    push(st, LE_PKT_AUDIO, 60, araw, sizeof(araw));
    is_int(le_feed_blocks(), 0, "no reader: feed and blocks freed");
    is_int(le_feed_mem_bytes(), 0, "no feed memory left");
    le_stream_unpublish(st, &a);
    le_stream_shutdown();
    le_feed_shutdown();
    test_write_tick();
    return done_testing();
}
