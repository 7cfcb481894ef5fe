/* HTTP-FLV viewer: an le_sub whose packets become FLV tags on an HTTP body.
 *
 * Fan-out cost per viewer (STYLE 5): the FLV tag bytes are built once per
 * packet (le_pkt_flv_tag) and shared; tags of FLV_REF_MIN bytes or more are
 * appended by reference, holding a packet reference that libevent releases
 * when the bytes are written; smaller ones are copied, since on libevent
 * 2.1.12 a reference costs about as much bookkeeping as copying 1 KiB. Only
 * the chunk-size line is built per viewer. Live tags are batched in time by
 * the pacer (media/pacer.h): one write per viewer per tick, not per packet.
 *
 * Lifetime: the stream calls packet/unpublish while iterating its viewers, so
 * neither ever frees or detaches: they mark the connection (close or close
 * after flush) and the server's reaper calls player_close(), which detaches. */
#include "http/flv_play.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "media/flv.h"
#include "media/pacer.h"
#include "media/stream.h"
#include "node.h"

#define FLV_REF_MIN 1024

typedef struct flv_player {
    le_sub sub;
    le_http_conn *c;
    struct evbuffer *out;       /* the connection's output */
    struct evbuffer *replay;    /* non-NULL while le_stream_attach replays */
    le_pacer_ent pace;          /* live tags wait here for the pacer tick */
    int chunked;                /* HTTP/1.1: chunked; 1.0: close-delimited */
    int done;                   /* publisher left or dropped: ignore packets */
    int saw_audio, saw_video;   /* during the replay, for the FLV header flags */
} flv_player;

static void add_tag(flv_player *pl, struct evbuffer *o, le_pkt *p)
{
    size_t n;
    const uint8_t *tag = le_pkt_flv_tag(p, &n);
    if (!tag)
        return;
    if (pl->chunked)
        evbuffer_add_printf(o, "%zx\r\n", n);
    if (n >= FLV_REF_MIN) {
        if (evbuffer_add_reference(o, tag, n, le_pkt_unref_cb, le_pkt_ref(p)) < 0)
            le_pkt_unref(p);
    } else {
        evbuffer_add(o, tag, n);
    }
    if (pl->chunked)
        evbuffer_add(o, "\r\n", 2);
    le_node_stats_get()->bytes_out += n;
}

static void on_packet(le_sub *s, le_pkt *p)
{
    flv_player *pl = s->ctx;
    if (pl->done || le_http_conn_closing(pl->c))
        return;
    if (p->type != LE_PKT_AUDIO && p->type != LE_PKT_VIDEO && p->type != LE_PKT_DATA)
        return;
    size_t queued = le_pacer_queued(&pl->pace) + (pl->replay ? evbuffer_get_length(pl->replay) : 0);
    switch (le_sub_admit(s, p, queued, le_mono_ms())) {
    case LE_ADMIT_SEND:
        break;
    case LE_ADMIT_SKIP:
        return;
    default:
        pl->done = 1;
        le_node_stats_get()->players_dropped++;
        le_info("flv", "#%llu %s: dropped, too far behind on %s", (unsigned long long)le_http_conn_id(pl->c),
                le_http_conn_peer(pl->c), s->st ? le_stream_key(s->st) : "?");
        le_http_conn_close(pl->c);
        return;
    }
    if (pl->replay) {
        pl->saw_audio |= p->type == LE_PKT_AUDIO;
        pl->saw_video |= p->type == LE_PKT_VIDEO;
        add_tag(pl, pl->replay, p);
    } else {
        add_tag(pl, pl->pace.pending, p);
        le_pacer_mark(&pl->pace);
    }
}

static void on_unpublish(le_sub *s)
{
    flv_player *pl = s->ctx;
    if (pl->done || le_http_conn_closing(pl->c))
        return;
    pl->done = 1;
    le_pacer_flush(&pl->pace);
    if (pl->chunked)
        evbuffer_add(pl->out, "0\r\n\r\n", 5);   /* a complete response */
    le_info("flv", "#%llu %s: publisher left, finishing", (unsigned long long)le_http_conn_id(pl->c),
            le_http_conn_peer(pl->c));
    le_http_conn_close_after_flush(pl->c);
}

static void on_publish(le_sub *s)
{
    (void)s;   /* a viewer follows one publisher; it has already finished */
}

static const le_sub_ops player_ops = { on_packet, on_unpublish, on_publish };

/* From the server's reaper: safe to detach here. */
static void player_close(void *ctx)
{
    flv_player *pl = ctx;
    if (pl->sub.st)
        le_stream_detach(&pl->sub);
    if (pl->replay)
        evbuffer_free(pl->replay);
    le_pacer_release(&pl->pace);
    le_debug("flv", "#%llu viewer gone (%llu sent, %llu skipped)",
             (unsigned long long)le_http_conn_id(pl->c), (unsigned long long)pl->sub.sent_pkts,
             (unsigned long long)pl->sub.skipped_pkts);
    free(pl);
}

void le_flv_play_start(le_http_conn *c, const le_http_route *rt)
{
    le_stream *st = le_stream_find(rt->dom->name, rt->app, rt->name, 0);
    if (!st || !le_stream_is_live(st)) {
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
    pl->out = le_http_conn_output(c);
    le_pacer_init(&pl->pace, pl->out, le_http_conn_fd(c));
    pl->chunked = chunked;
    pl->sub.ops = &player_ops;
    pl->sub.ctx = pl;
    pl->sub.is_player = 1;
    le_http_conn_stream(c, pl, player_close);
    /* The body is open-ended: never keep-alive (chunked ends with the
     * publisher, 1.0 is close-delimited). */
    le_http_reply_head(c, 200, "video/x-flv", chunked ? LE_HTTP_LEN_CHUNKED : LE_HTTP_LEN_CLOSE, extra);

    /* The replay goes to a side buffer: the FLV header's audio/video flags
     * must come first and depend on what the replay holds. */
    pl->replay = evbuffer_new();
    le_stream_attach(st, &pl->sub);
    const le_stream_stats *ss = le_stream_get_stats(st);
    int has_audio = pl->saw_audio || (ss && ss->audio_codec);
    int has_video = pl->saw_video || (ss && ss->video_codec);
    if (!has_audio && !has_video)
        has_audio = has_video = 1;   /* nothing known yet: announce both */
    uint8_t hdr[13];
    size_t hn = le_flv_file_header(hdr, has_audio, has_video);
    if (pl->chunked)
        evbuffer_add_printf(pl->out, "%zx\r\n", hn);
    evbuffer_add(pl->out, hdr, hn);
    if (pl->chunked)
        evbuffer_add(pl->out, "\r\n", 2);
    evbuffer_add_buffer(pl->out, pl->replay);   /* moves, references intact */
    evbuffer_free(pl->replay);
    pl->replay = NULL;
    le_info("flv", "#%llu %s: playing %s", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c),
            le_stream_key(st));
}
