/* Live HLS from memory. Playlists are built from the ring when asked for
 * and kept while the ring is unchanged (http/hls_cache.h). Segments are sent by
 * reference with a segment reference held until libevent has written them,
 * so a rotation during a slow download frees nothing under it.
 *
 * Segment URIs are relative ("Stream-SEQ.ts") so the playlist works behind any
 * host name or proxy prefix; a vhost argument the playlist came with is
 * carried on, since the segment requests must resolve to the same domain. */
#include "http/hls_play.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/access.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "hls/playlist.h"
#include "hls/segmenter.h"
#include "http/hls_cache.h"
#include "http/parser.h"
#include "media/stream.h"
#include "node.h"
#include "control/want.h"

#include <event2/event.h>

#define MAX_LISTED 64
#define URI_MAX 1024       /* one listed segment URI, signature included */

static le_hls *find_hls(const le_http_route *rt, le_stream **stp)
{
    le_stream *st = le_stream_find(rt->dom->name, rt->app, rt->name, 0);
    if (stp)
        *stp = st;
    return st ? le_hls_of(st) : NULL;
}

/* An HLS viewer has no connection to count: a client (address + user agent)
 * that fetched the live playlist counts as one for three fragments, about
 * as long as a player keeps polling after its last request. */
static void count_viewer(le_http_conn *c, const le_http_route *rt, le_stream *st, const le_hls *h)
{
    const char *ip = le_http_conn_peer_ip(c);
    uint64_t k = le_hash64(ip, strlen(ip) + 1, LE_HASH64_INIT);
    if (rt->req && rt->req->user_agent.p)
        k = le_hash64(rt->req->user_agent.p, rt->req->user_agent.n, k);
    int64_t ttl = 3 * le_hls_fragment_ms(h);
    if (rt->dom->hls_count_viewers)  /* hls_count_viewers, livedge.conf(5) */
        le_stream_seen(st, k, (uint64_t)(ttl > 5000 ? ttl : 5000));
}

/* A URI listed in a playlist: see hls_play.h. */
int le_hls_play_uri(const le_http_route *rt, const char *name, const char *file, char *out, size_t outsz)
{
    char path[600], prefix[128], query[512];
    snprintf(path, sizeof(path), "/%s/%s", rt->app, file);
    prefix[0] = query[0] = '\0';
    if (rt->grant && le_access_sign(rt->dom, rt->grant, path, name, prefix, sizeof(prefix), query,
                                    sizeof(query)) != 0)
        return LE_ETOOBIG;
    int k = snprintf(out, outsz, "%s%s%s%s%s%s", prefix[0] ? prefix : "", prefix[0] ? path : file,
                     query[0] ? "?" : "", query, rt->vhost[0] ? (query[0] ? "&vhost=" : "?vhost=") : "",
                     rt->vhost);
    return k >= 0 && (size_t)k < outsz ? LE_OK : LE_ETOOBIG;
}

static int segment_uri(const le_http_route *rt, uint64_t seq, char *out, size_t outsz)
{
    char file[300];
    snprintf(file, sizeof(file), "%s-%" PRIu64 ".ts", rt->name, seq);
    return le_hls_play_uri(rt, rt->name, file, out, outsz);
}

static int edge_hold(le_http_conn *c, const le_http_route *rt);
static int hold_answering;   /* a held request is being answered: no second hold */

void le_hls_play_playlist(le_http_conn *c, const le_http_route *rt)
{
    le_stream *st;
    le_hls *h = find_hls(rt, &st);
    le_hls_seg *segs[MAX_LISTED];
    size_t n = h ? le_hls_segments(h, segs, MAX_LISTED, 1) : 0;
    /* Edge mode (relay/edge.h): each playlist request keeps the pull busy;
     * with no segment yet it waits for the pull and the first segment. */
    int edge = !rt->head && le_want_stream(rt->dom, rt->app, rt->name);
    if (n == 0 && edge && !hold_answering && edge_hold(c, rt))
        return;
    if (h && le_hls_variant(h) != LE_HLS_VARIANT_MPEGTS) {
        le_hls_ll_playlist(c, rt, st, h);
        if (!rt->head && le_stream_is_live(st))
            count_viewer(c, rt, st, h);
        return;
    }
    if (n == 0) {
        /* Never published (or not one segment yet): nothing to play. */
        le_http_reply_error(c, 404, "InvalidStream.NotFound", "no live HLS for this stream");
        return;
    }
    if (!rt->head && le_stream_is_live(st))
        count_viewer(c, rt, st, h);
    int keep = le_hls_pl_cacheable(rt);
    uint64_t gen = le_hls_gen(h);
    le_hls_pl *kept = keep ? le_hls_pl_get(rt, h, gen, LE_HLS_PL_TS) : NULL;
    if (kept) {
        le_hls_play_send_kept(c, rt, kept);
        return;
    }
    le_m3u8_seg ms[MAX_LISTED];
    /* Scratch for one playlist at a time (one thread): no 64 KiB allocation
     * per playlist request. */
    static char uris[MAX_LISTED][URI_MAX];
    for (size_t i = 0; i < n; i++) {
        if (segment_uri(rt, segs[i]->seq, uris[i], sizeof(uris[i])) != 0) {
            le_http_reply_error(c, 500, "InternalError", "cannot sign the segment URIs");
            return;
        }
        memset(&ms[i], 0, sizeof(ms[i]));   /* map_uri, parts: none in TS */
        ms[i].seq = segs[i]->seq;
        ms[i].duration_ms = segs[i]->duration_ms;
        ms[i].disc = segs[i]->disc;
        ms[i].pdt_ms = 0;
        ms[i].uri = uris[i];
    }
    le_m3u8_opts o;
    memset(&o, 0, sizeof(o));
    o.min_target_s = le_hls_min_target(h);
    o.disc_seq = segs[0]->disc_seq - (segs[0]->disc ? 1 : 0);
    le_buf b = { 0 };
    le_m3u8_build(&b, ms, n, &o);
    if (keep) {
        kept = le_hls_pl_put(rt, h, gen, LE_HLS_PL_TS, (const char *)b.p, b.len);
        le_buf_free(&b);
        le_hls_play_send_kept(c, rt, kept);
        return;
    }
    le_hls_play_send_m3u8(c, rt, &b);
}

/* The response head of a playlist of len bytes; 1 when a body follows. */
static int m3u8_head(le_http_conn *c, const le_http_route *rt, size_t len)
{
    le_http_reply_head(c, 200, "application/vnd.apple.mpegurl", (int64_t)len, "Cache-Control: no-cache\r\n");
    le_node_stats_get()->bytes_out += rt->head ? 0 : len;
    return !rt->head;
}

void le_hls_play_send_text(le_http_conn *c, const le_http_route *rt, const char *text, size_t len)
{
    if (m3u8_head(c, rt, len))
        evbuffer_add(le_http_conn_output(c), text, len);
    le_http_conn_done(c);
}

void le_hls_play_send_kept(le_http_conn *c, const le_http_route *rt, le_hls_pl *t)
{
    size_t len;
    le_hls_pl_text(t, &len);
    if (m3u8_head(c, rt, len))
        le_hls_pl_add_to(le_http_conn_output(c), t);
    le_http_conn_done(c);
}

void le_hls_play_send_m3u8(le_http_conn *c, const le_http_route *rt, le_buf *b)
{
    le_hls_play_send_text(c, rt, (const char *)b->p, b->len);
    le_buf_free(b);
}

/* ---- a playlist request held for an edge pull ----
 * It waits edge_wait for the stream, plus two fragment durations for its
 * first segment, polled every HOLD_POLL_MS; then it is answered as any
 * playlist request (404 if there is still no segment) and the connection
 * closes. */
#define HOLD_POLL_MS 100

typedef struct hls_hold {
    le_http_conn *c;
    struct event *timer;
    le_http_route rt;           /* app, name, vhost, version; dom re-read */
    char domain[256];
    le_aliauth_grant grant;
    int has_grant;
    uint64_t deadline;          /* mono ms */
    int answered;
} hls_hold;

static void hold_close(void *ctx)
{
    hls_hold *w = ctx;
    event_free(w->timer);
    free(w);
}

static void hold_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hls_hold *w = arg;
    if (w->answered || le_http_conn_closing(w->c))
        return;
    const le_conf_domain *dom = le_node_domain(w->domain);
    le_stream *st = dom ? le_stream_find(dom->name, w->rt.app, w->rt.name, 0) : NULL;
    le_hls *h = st ? le_hls_of(st) : NULL;
    le_hls_seg *segs[1];
    int ready = h && le_hls_segments(h, segs, 1, 1) > 0;
    if (!ready && dom && le_mono_ms() < w->deadline) {
        struct timeval tv = { 0, HOLD_POLL_MS * 1000 };
        evtimer_add(w->timer, &tv);
        return;
    }
    w->answered = 1;
    if (!dom) {
        le_http_reply_error(w->c, 404, "InvalidStream.NotFound", "no live HLS for this stream");
    } else {
        w->rt.dom = dom;
        w->rt.grant = w->has_grant ? &w->grant : NULL;
        hold_answering = 1;
        le_hls_play_playlist(w->c, &w->rt);
        hold_answering = 0;
    }
    le_http_conn_close_after_flush(w->c);
}

/* 1: the request waits (the connection is the hold's until answered). */
static int edge_hold(le_http_conn *c, const le_http_route *rt)
{
    hls_hold *w = le_xcalloc(1, sizeof(*w));
    w->timer = evtimer_new(le_node_base(), hold_poll, w);
    if (!w->timer) {
        free(w);
        return 0;
    }
    w->c = c;
    w->rt = *rt;
    w->rt.req = NULL;
    w->rt.file = NULL;
    w->rt.dom = NULL;
    if (rt->grant) {
        w->grant = *rt->grant;
        w->has_grant = 1;
    }
    snprintf(w->domain, sizeof(w->domain), "%s", rt->dom->name);
    w->deadline = le_mono_ms() + (uint64_t)le_want_wait_ms(rt->dom) + 2 * (uint64_t)rt->dom->hls_fragment_ms;
    le_http_conn_stream(c, w, hold_close);
    struct timeval tv = { 0, HOLD_POLL_MS * 1000 };
    evtimer_add(w->timer, &tv);
    return 1;
}

void le_hls_play_segment(le_http_conn *c, const le_http_route *rt)
{
    le_hls *h = find_hls(rt, NULL);
    le_hls_seg *s = h ? le_hls_find(h, rt->seq) : NULL;
    if (!s) {
        le_http_reply_error(c, 404, "NotFound", "no such segment (never made or rotated out)");
        return;
    }
    /* Cacheable: a segment URL names the same bytes for as long as the node
     * runs (sequence numbers never go backwards); bounded so a restarted node
     * reusing numbers is not shadowed by stale caches for long. */
    int64_t max_age = le_hls_fragment_ms(h) * (le_hls_window(h) + LE_HLS_EXTRA_SEGS) / 1000;
    if (max_age < 1)
        max_age = 1;
    char etag[48];
    snprintf(etag, sizeof(etag), "\"%08x-%" PRIu64 "\"", le_hls_boot_tag(), s->seq);
    if (le_http_fresh(c, rt, etag))
        return;
    char extra[320];
    size_t off = 0, cnt = s->len;
    int status = 200;
    int64_t from, to;
    int rr = le_http_range(rt->req->range, (int64_t)s->len, &from, &to);
    if (rr > 0) {
        off = (size_t)from;
        cnt = (size_t)(to - from + 1);
    }
    if (rr < 0) {
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%zu\r\nETag: %s\r\n", s->len, etag);
        le_http_reply_head(c, 416, NULL, 0, extra);
        le_http_conn_done(c);
        return;
    }
    if (rr > 0) {
        status = 206;
        snprintf(extra, sizeof(extra),
                 "Cache-Control: max-age=%lld\r\nAccept-Ranges: bytes\r\nETag: %s\r\nContent-Range: bytes %zu-%zu/%zu\r\n",
                 (long long)max_age, etag, off, off + cnt - 1, s->len);
    } else {
        snprintf(extra, sizeof(extra), "Cache-Control: max-age=%lld\r\nAccept-Ranges: bytes\r\nETag: %s\r\n",
                 (long long)max_age, etag);
    }
    le_http_reply_head(c, status, "video/mp2t", (int64_t)cnt, extra);
    if (!rt->head && cnt) {
        struct evbuffer *o = le_http_conn_output(c);
        if (evbuffer_add_reference(o, s->data + off, cnt, le_hls_seg_unref_cb, le_hls_seg_ref(s)) < 0)
            le_hls_seg_unref(s);
        le_node_stats_get()->bytes_out += cnt;
    }
    le_http_conn_done(c);
}

/* ---- routes ---- */

static int m3u8_match(const char *file, size_t n, const char *q, size_t qn, size_t *stem, uint64_t *seq)
{
    (void)q;
    (void)qn;
    (void)seq;
    return le_http_suffix(file, n, ".m3u8", stem);
}

/* Stream-SEQ.ts: the last '-' splits (names may contain '-'). A .ts name
 * without a usable SEQ is this route's, malformed. */
static int ts_match(const char *file, size_t n, const char *q, size_t qn, size_t *stem, uint64_t *seq)
{
    (void)q;
    (void)qn;
    size_t s;
    if (!le_http_suffix(file, n, ".ts", &s))
        return 0;
    size_t d = s;
    while (d > 0 && file[d - 1] >= '0' && file[d - 1] <= '9')
        d--;
    if (d == s || d < 2 || file[d - 1] != '-' || s - d > 19)
        return LE_ENOTFOUND;
    *seq = strtoull(file + d, NULL, 10);
    *stem = d - 1;
    return 1;
}

static const le_http_route_def m3u8_route = { "hls", NULL, m3u8_match, le_hls_play_playlist, 0, 0 };
static const le_http_route_def ts_route = { "hls-ts", NULL, ts_match, le_hls_play_segment, 0, 0 };

void le_hls_play_init(void)
{
    le_http_route_add(&m3u8_route);
    le_http_route_add(&ts_route);
    le_hls_ll_init();
}
