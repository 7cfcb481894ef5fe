/* HTTP-FLV viewer: a stream subscriber that reads the stream's FLV feed
 * (media/feed.h) as the body of an HTTP response.
 *
 * Fan-out cost per viewer (docs/BENCHMARKS.md): the FLV tags are encoded once into the
 * feed's shared blocks; per viewer and pacer tick there is one writev (or,
 * with a backlog, one evbuffer reference per block). Only the HTTP/1.1
 * chunk-size line is built per viewer: each tick's bytes are one chunk.
 *
 * Lifetime: the stream calls unpublish, and the feed calls drop, while
 * iterating their viewers, so neither ever frees or detaches: they mark the
 * connection (close or close after flush) and the server's reaper calls
 * player_close(), which detaches. */
#include "http/flv_play.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "media/feed.h"
#include "media/flv.h"
#include "media/stream.h"
#include "node.h"
#include "control/want.h"

typedef struct flv_player {
    le_sub sub;
    le_http_conn *c;
    struct evbuffer *out;       /* the connection's output */
    int chunked;                /* HTTP/1.1: chunked; 1.0: close-delimited */
    int done;                   /* publisher left or dropped */
    int waiting;                /* held for an edge pull (relay/edge.h): no response yet */
} flv_player;

static void send_head(flv_player *pl, le_stream *st);

static size_t feed_size(const le_pkt *p, uint32_t ts)
{
    (void)ts;
    return 11 + (size_t)p->len + 4;
}

static size_t feed_write(uint8_t *dst, const le_pkt *p, uint32_t ts)
{
    return le_flv_tag_write(dst, p->type, ts, p->data, p->len);
}

static const le_feed_fmt flv_feed = { LE_FEED_FLV, feed_size, feed_write };

static void on_drop(le_feed_reader *r, void *ctx)
{
    flv_player *pl = ctx;
    (void)r;
    if (pl->done || le_http_conn_closing(pl->c))
        return;
    pl->done = 1;
    le_node_stats_get()->players_dropped++;
    le_info("flv", "#%llu %s: dropped, too far behind on %s", (unsigned long long)le_http_conn_id(pl->c),
            le_http_conn_peer(pl->c), pl->sub.st ? le_stream_key(pl->sub.st) : "?");
    le_http_conn_close(pl->c);
}

static void on_unpublish(le_sub *s)
{
    flv_player *pl = s->ctx;
    if (pl->done || le_http_conn_closing(pl->c))
        return;
    pl->done = 1;
    if (pl->waiting) {   /* the edge pull never came */
        pl->waiting = 0;
        pl->sub.rd.stopped = 1;
        le_info("flv", "#%llu %s: not live within edge_wait or transcode_wait",
                (unsigned long long)le_http_conn_id(pl->c), le_http_conn_peer(pl->c));
        le_http_reply_error(pl->c, 404, "InvalidStream.NotFound", "the stream is not live");
        le_http_conn_close_after_flush(pl->c);
        return;
    }
    le_feed_flush(&pl->sub.rd);
    pl->sub.rd.stopped = 1;
    if (pl->chunked)
        evbuffer_add(pl->out, "0\r\n\r\n", 5);   /* a complete response */
    le_info("flv", "#%llu %s: publisher left, finishing", (unsigned long long)le_http_conn_id(pl->c),
            le_http_conn_peer(pl->c));
    le_http_conn_close_after_flush(pl->c);
}

static void on_publish(le_sub *s)
{
    /* A viewer kept across a reconnect (publish_reconnect_grace): its feed
     * brings the new publisher's headers and keyframe; the FLV header
     * stays valid (the stream ends viewers whose tracks change). A viewer
     * held for an edge pull gets its response head now. */
    flv_player *pl = s->ctx;
    if (pl->waiting && !pl->done && !le_http_conn_closing(pl->c)) {
        pl->waiting = 0;
        send_head(pl, s->st);
        le_info("flv", "#%llu %s: playing %s (waited)", (unsigned long long)le_http_conn_id(pl->c),
                le_http_conn_peer(pl->c), le_stream_key(s->st));
    }
}

static const le_sub_ops player_ops = { NULL, on_unpublish, on_publish };

/* From the server's reaper: safe to detach here. */
static void player_close(void *ctx)
{
    flv_player *pl = ctx;
    if (pl->sub.st)
        le_stream_detach(&pl->sub);
    le_debug("flv", "#%llu viewer gone (%llu bytes, skipped %llu times)",
             (unsigned long long)le_http_conn_id(pl->c), (unsigned long long)pl->sub.rd.bytes,
             (unsigned long long)pl->sub.rd.skips);
    free(pl);
}

void le_flv_play_start(le_http_conn *c, const le_http_route *rt)
{
    le_stream *st = le_stream_find(rt->dom->name, rt->app, rt->name, 0);
    int waiting = 0;
    /* Not live here: an edge pull or a rendition may make it (control/want.h). */
    if (!le_stream_is_live(st) && !rt->head && le_want_stream(rt->dom, rt->app, rt->name))
        waiting = (st = le_stream_find(rt->dom->name, rt->app, rt->name, 0)) != NULL;
    if (!waiting && (!st || !le_stream_is_live(st))) {
        le_info("flv", "#%llu %s: %s/%s/%s is not live", (unsigned long long)le_http_conn_id(c),
                le_http_conn_peer(c), rt->dom->name, rt->app, rt->name);
        le_http_reply_error(c, 404, "InvalidStream.NotFound", "the stream is not live");
        return;
    }
    int chunked = rt->version_minor >= 1;
    static const char extra[] = "Cache-Control: no-cache\r\n";
    if (rt->head) {
        le_http_reply_head(c, 200, "video/x-flv", chunked ? LE_HTTP_LEN_CHUNKED : LE_HTTP_LEN_CLOSE, extra);
        le_http_conn_done(c);
        return;
    }

    flv_player *pl = le_xcalloc(1, sizeof(*pl));
    pl->c = c;
    le_http_conn_stream(c, pl, player_close);   /* first: the output is the connection's own from here */
    pl->out = le_http_conn_output(c);
    pl->chunked = chunked;
    pl->sub.ops = &player_ops;
    pl->sub.ctx = pl;
    pl->sub.is_player = 1;
    pl->sub.fmt = &flv_feed;
    pl->sub.rd.out = pl->out;
    pl->sub.rd.fd = le_http_conn_fd(c);
    pl->sub.rd.http_chunked = chunked;
    pl->sub.rd.drop = on_drop;
    pl->sub.rd.ctx = pl;
    if (waiting) {
        pl->waiting = 1;
        le_stream_attach(st, &pl->sub);
        le_info("flv", "#%llu %s: %s waits for the stream (edge pull or rendition)",
                (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c), le_stream_key(st));
        return;
    }
    send_head(pl, st);
    le_stream_attach(st, &pl->sub);   /* headers and GOP, then live ticks */
    le_info("flv", "#%llu %s: playing %s", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c),
            le_stream_key(st));
}

/* The response head and the FLV file header. */
static void send_head(flv_player *pl, le_stream *st)
{
    static const char extra[] = "Cache-Control: no-cache\r\n";
    /* The body is open-ended: never keep-alive (chunked ends with the
     * publisher, 1.0 is close-delimited). */
    le_http_reply_head(pl->c, 200, "video/x-flv", pl->chunked ? LE_HTTP_LEN_CHUNKED : LE_HTTP_LEN_CLOSE, extra);
    int has_audio, has_video;
    le_stream_tracks(st, &has_audio, &has_video);
    if (!has_audio && !has_video)
        has_audio = has_video = 1;   /* nothing known yet: announce both */
    uint8_t hdr[13];
    size_t hn = le_flv_file_header(hdr, has_audio, has_video);
    if (pl->chunked)
        evbuffer_add_printf(pl->out, "%zx\r\n", hn);
    evbuffer_add(pl->out, hdr, hn);
    if (pl->chunked)
        evbuffer_add(pl->out, "\r\n", 2);
}

/* ---- route ---- */

static int flv_match(const char *file, size_t n, const char *q, size_t qn, size_t *stem, uint64_t *seq)
{
    (void)q;
    (void)qn;
    (void)seq;
    return le_http_suffix(file, n, ".flv", stem);
}

static const le_http_route_def flv_route = { "flv", NULL, flv_match, le_flv_play_start, 0, 0 };

void le_flv_play_init(void) { le_http_route_add(&flv_route); }
