/* Live HLS in the fmp4 and lowlatency variants (docs/HLS.md): the playlist
 * with EXT-X-MAP and, in lowlatency, the LL-HLS tags (RFC 8216bis); the
 * init section, segments and parts, all sent by reference to the
 * segmenter's refcounted chunks (no copy per request).
 *
 * URLs, relative to the playlist (livedge(8), URLS SERVED):
 *   Stream-init-N.mp4    the init section of discontinuity sequence N
 *   Stream-SEQ.m4s       a whole segment (its parts in order)
 *   Stream-SEQ.PART.m4s  part PART (from 0) of segment SEQ
 * Names are split from the end: SEQ follows the last '-', PART the '.'
 * after it, so stream names may contain '-' and '.'. */
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "hls/playlist.h"
#include "hls/segmenter.h"
#include "http/hls_block.h"
#include "http/hls_cache.h"
#include "http/hls_play.h"
#include "http/parser.h"
#include "media/stream.h"
#include "node.h"
#include "transcode/rendition.h"

#define MAX_LISTED 64
#define MAX_PARTS_LISTED 512   /* EXT-X-PART lines in one playlist */
#define URI_MAX 1024
#define MAX_REPORTS 8

/* ---- ETags ---- */

/* Sequence numbers restart with the process: the validators carry a value
 * drawn at startup so a cache never matches a restarted node's bytes. */
static unsigned boot_tag;

unsigned le_hls_boot_tag(void)
{
    if (!boot_tag) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        boot_tag = (unsigned)(ts.tv_sec ^ (ts.tv_nsec << 7) ^ ((long)getpid() << 16)) | 1u;
    }
    return boot_tag;
}

/* ---- URIs ---- */

/* b < -1: the init section of discontinuity sequence a; b == -1: segment a;
 * else part b of segment a. */
static int file_uri(const le_http_route *rt, char *out, size_t outsz, uint64_t a, long b)
{
    char file[320];
    if (b < -1)
        snprintf(file, sizeof(file), "%s-init-%" PRIu64 ".mp4", rt->name, a);
    else if (b < 0)
        snprintf(file, sizeof(file), "%s-%" PRIu64 ".m4s", rt->name, a);
    else
        snprintf(file, sizeof(file), "%s-%" PRIu64 ".%ld.m4s", rt->name, a, b);
    return le_hls_play_uri(rt, rt->name, file, out, outsz);
}
#define INIT_URI(rt, o, n, disc) file_uri(rt, o, n, disc, -2)
#define SEG_URI(rt, o, n, seq) file_uri(rt, o, n, seq, -1)
#define PART_URI(rt, o, n, seq, k) file_uri(rt, o, n, seq, (long)(k))

/* ---- the playlist ---- */

static int64_t target_ms(const le_hls *h, const le_m3u8_seg *ms, size_t n)
{
    return (int64_t)le_m3u8_target(ms, n, le_hls_min_target(h)) * 1000;
}

/* Scratch for one playlist at a time (one thread). */
static char seg_uris[MAX_LISTED + 1][URI_MAX], map_uris[MAX_LISTED + 1][URI_MAX];
static char part_uris[MAX_PARTS_LISTED][URI_MAX];
static le_m3u8_part parts[MAX_PARTS_LISTED];
static char hint_uri[URI_MAX], report_uris[MAX_REPORTS][URI_MAX];

/* EXT-X-RENDITION-REPORT (RFC 8216bis): each media playlist of a
 * presentation reports the others, so a player switching variants knows
 * where they are. A source reports its renditions; a rendition reports its
 * source and its sibling renditions (transcode/rendition.h). Only those
 * running in the lowlatency variant are reported. */
static size_t reports(const le_http_route *rt, le_m3u8_report *out)
{
    le_rend_variant v[MAX_REPORTS + 1];
    char source[sizeof(v[0].name)];
    if (le_rend_source(rt->dom->name, rt->app, rt->name, source, sizeof(source)) != LE_OK)
        snprintf(source, sizeof(source), "%s", rt->name);
    size_t n = le_rend_variants(rt->dom->name, rt->app, source, v, MAX_REPORTS + 1), k = 0;
    for (size_t i = 0; i < n && k < MAX_REPORTS; i++) {
        if (strcmp(v[i].name, rt->name) == 0)
            continue;
        le_stream *st = le_stream_find(rt->dom->name, rt->app, v[i].name, 0);
        le_hls *h = st ? le_hls_of(st) : NULL;
        if (!h || le_hls_variant(h) != LE_HLS_VARIANT_LOWLATENCY)
            continue;
        char file[sizeof(v[i].name) + 8];
        if (snprintf(file, sizeof(file), "%s.m3u8", v[i].name) >= (int)sizeof(file) ||
            le_hls_play_uri(rt, v[i].name, file, report_uris[k], URI_MAX) != LE_OK)
            continue;
        const le_hls_seg *open = le_hls_open_seg(h);
        out[k].uri = report_uris[k];
        if (open && open->nparts) {
            out[k].last_msn = open->seq;
            out[k].last_part = (int)open->nparts - 1;
        } else {
            uint64_t nx = le_hls_next_seq(h);
            if (nx == 0)
                continue;
            /* Between segments: the sealed one's last part (LAST-PART is
             * required wherever parts are listed). */
            const le_hls_seg *last = le_hls_find(h, nx - 1);
            out[k].last_msn = nx - 1;
            out[k].last_part = last && last->nparts ? (int)last->nparts - 1 : -1;
        }
        k++;
    }
    return k;
}

/* Sends a playlist (kept, or text that stays the caller's) with, in
 * lowlatency, its rendition reports appended. */
static void send_with_reports(le_http_conn *c, const le_http_route *rt, int ll, le_hls_pl *kept,
                              const char *text, size_t len)
{
    static le_m3u8_report rep[MAX_REPORTS];
    size_t nrep = ll ? reports(rt, rep) : 0;
    if (nrep == 0) {
        if (kept)
            le_hls_play_send_kept(c, rt, kept);
        else
            le_hls_play_send_text(c, rt, text, len);
        return;
    }
    if (kept)
        text = le_hls_pl_text(kept, &len);
    le_buf b = { 0 };
    le_buf_append(&b, text, len);
    le_m3u8_reports(&b, rep, nrep);
    le_hls_play_send_m3u8(c, rt, &b);
}

/* Builds and sends the playlist of h as it is now; q: the blocking and
 * skip parameters (NULL: none). */
static void send_playlist(le_http_conn *c, const le_http_route *rt, le_hls *h, const le_hls_blockq *q,
                          int timed_out)
{
    if (timed_out) {
        le_http_reply_error(c, 503, "ServiceUnavailable",
                            "the requested segment or part was not made in time (3 target durations)");
        return;
    }
    int ll = le_hls_variant(h) == LE_HLS_VARIANT_LOWLATENCY;
    le_hls_seg *segs[MAX_LISTED + 1];
    size_t n = le_hls_segments(h, segs, MAX_LISTED, 1);
    le_hls_seg *open = ll ? le_hls_open_seg(h) : NULL;
    if (open && open->nparts == 0)
        open = NULL;
    if (n + (open ? 1 : 0) == 0) {
        le_http_reply_error(c, 404, "InvalidStream.NotFound", "no live HLS for this stream");
        return;
    }
    if (open)
        segs[n++] = open;
    /* The playlist without its rendition reports is kept (http/hls_cache.h):
     * the reports follow other streams and are added per request. */
    int live = le_stream_is_live(le_stream_find(rt->dom->name, rt->app, rt->name, 0));
    unsigned flags = (ll && q && q->skip ? LE_HLS_PL_SKIP : 0) | (live ? LE_HLS_PL_LIVE : 0);
    uint64_t gen = le_hls_gen(h);
    int keep = le_hls_pl_cacheable(rt);
    le_hls_pl *kept = keep ? le_hls_pl_get(rt, h, gen, flags) : NULL;
    if (kept) {
        send_with_reports(c, rt, ll, kept, NULL, 0);
        return;
    }
    le_m3u8_seg ms[MAX_LISTED + 1];
    memset(ms, 0, sizeof(ms));
    for (size_t i = 0; i < n; i++) {
        ms[i].seq = segs[i]->seq;
        ms[i].duration_ms = segs[i]->duration_ms;
        ms[i].disc = segs[i]->disc;
        ms[i].pdt_ms = segs[i]->start_wall_ms;
        ms[i].uri = seg_uris[i];
        ms[i].open = open && segs[i] == open;
        if (SEG_URI(rt, seg_uris[i], URI_MAX, segs[i]->seq) != LE_OK ||
            INIT_URI(rt, map_uris[i], URI_MAX, segs[i]->disc_seq) != LE_OK) {
            le_http_reply_error(c, 500, "InternalError", "cannot sign the segment URIs");
            return;
        }
        ms[i].map_uri = map_uris[i];
    }
    le_m3u8_opts o;
    memset(&o, 0, sizeof(o));
    int64_t target = target_ms(h, ms, n);
    o.min_target_s = (int)(target / 1000);
    o.disc_seq = segs[0]->disc_seq - (segs[0]->disc ? 1 : 0);
    o.version = 6;
    o.independent_segments = !ll;
    size_t first = 0;
    if (ll) {
        int64_t part = le_hls_part_ms(h);
        o.version = 9;
        o.part_target_ms = part;
        o.part_hold_back_ms = 3 * part;
        o.can_skip_until_ms = 6 * target;
        /* Parts of the segments ending within three target durations of the
         * playlist's end (RFC 8216bis 4.4.4.9), and of the open one. */
        int64_t from_end = 0;
        size_t np = 0, part_from = n;
        for (size_t i = n; i-- > 0;) {
            if (from_end >= 3 * target)
                break;
            from_end += segs[i]->duration_ms;
            part_from = i;
        }
        for (size_t i = part_from; i < n; i++) {
            if (np + segs[i]->nparts > MAX_PARTS_LISTED)
                break;
            ms[i].parts = &parts[np];
            for (size_t k = 0; k < segs[i]->nparts; k++, np++) {
                if (PART_URI(rt, part_uris[np], URI_MAX, segs[i]->seq, k) != LE_OK) {
                    le_http_reply_error(c, 500, "InternalError", "cannot sign the part URIs");
                    return;
                }
                parts[np].duration_ms = segs[i]->parts[k]->duration_ms;
                parts[np].independent = segs[i]->parts[k]->independent;
                parts[np].uri = part_uris[np];
            }
            ms[i].nparts = segs[i]->nparts;
        }
        /* The next part: of the open segment, or the first of the next. */
        uint64_t hseq = open ? open->seq : le_hls_next_seq(h);
        size_t hpart = open ? open->nparts : 0;
        if (live && PART_URI(rt, hint_uri, URI_MAX, hseq, hpart) == LE_OK)
            o.preload_hint_uri = hint_uri;
        /* A delta update (_HLS_skip=YES): the sealed segments that end more
         * than CAN-SKIP-UNTIL before the playlist's end are left out. */
        if (q && q->skip) {
            int64_t total = 0;
            for (size_t i = 0; i < n; i++)
                total += segs[i]->duration_ms;
            int64_t acc = 0;
            while (first + 1 < n && segs[first] != open && acc + segs[first]->duration_ms <= total - o.can_skip_until_ms) {
                acc += segs[first]->duration_ms;
                first++;
            }
            o.skipped = first;
        }
    }
    le_buf b = { 0 };
    le_m3u8_build(&b, ms + first, n - first, &o);
    if (keep)
        kept = le_hls_pl_put(rt, h, gen, flags, (const char *)b.p, b.len);
    send_with_reports(c, rt, ll, kept, (const char *)b.p, b.len);
    le_buf_free(&b);
}

static le_hls *find_hls(const le_http_route *rt, le_stream **stp)
{
    le_stream *st = le_stream_find(rt->dom->name, rt->app, rt->name, 0);
    if (stp)
        *stp = st;
    return st ? le_hls_of(st) : NULL;
}

static void held_playlist(le_http_conn *c, const le_http_route *rt, const le_hls_blockq *q, int timed_out)
{
    le_hls *h = find_hls(rt, NULL);
    if (!h || le_hls_variant(h) == LE_HLS_VARIANT_MPEGTS) {
        le_http_reply_error(c, 404, "InvalidStream.NotFound", "no live HLS for this stream");
        return;
    }
    send_playlist(c, rt, h, q, timed_out);
}

/* A query argument as a number: 1 with *v, 0 absent, LE_EINVAL malformed. */
static int query_num(const le_http_route *rt, const char *key, uint64_t *v)
{
    char buf[32];
    if (!rt->req || !rt->req->query.p)
        return 0;
    int n = le_query_get(rt->req->query.p, rt->req->query.n, key, buf, sizeof(buf));
    if (n <= 0)
        return n < 0 && n != LE_ENOTFOUND ? LE_EINVAL : 0;
    if (n > 19)
        return LE_EINVAL;
    uint64_t x = 0;
    for (int i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return LE_EINVAL;
        x = x * 10 + (uint64_t)(buf[i] - '0');
    }
    *v = x;
    return 1;
}

/* A target duration's bound for held requests: three of them
 * (RFC 8216bis 6.2.5.2). */
static int64_t hold_ms(const le_hls *h)
{
    int64_t t = (int64_t)le_hls_min_target(h) * 1000;
    if (t < 1000)
        t = 1000;
    return 3 * t;
}

void le_hls_ll_playlist(le_http_conn *c, const le_http_route *rt, le_stream *st, le_hls *h)
{
    le_hls_blockq q;
    memset(&q, 0, sizeof(q));
    q.part = -1;
    if (le_hls_variant(h) == LE_HLS_VARIANT_LOWLATENCY && rt->req && rt->req->query.p) {
        uint64_t msn = 0, part = 0;
        int hm = query_num(rt, "_HLS_msn", &msn), hp = query_num(rt, "_HLS_part", &part);
        char skip[8];
        int hs = le_query_get(rt->req->query.p, rt->req->query.n, "_HLS_skip", skip, sizeof(skip));
        q.skip = hs > 0 && (strcmp(skip, "YES") == 0 || strcmp(skip, "v2") == 0);
        if (hm < 0 || hp < 0 || (hp > 0 && hm == 0) || part > 1000000) {
            le_http_reply_error(c, 400, "InvalidParameter", "_HLS_msn and _HLS_part are numbers; _HLS_part needs _HLS_msn");
            return;
        }
        if (hm > 0) {
            /* More than two segments beyond the last one: 400
             * (RFC 8216bis 6.2.5.2). The open segment counts as the last. */
            uint64_t next = le_hls_next_seq(h);
            if (msn > next + 2) {
                le_http_reply_error(c, 400, "InvalidParameter", "_HLS_msn is more than two segments ahead");
                return;
            }
            q.msn = msn;
            q.part = hp > 0 ? (int)part : -1;
            if (!rt->head && le_stream_is_live(st) && !le_hls_block_ready(h, q.msn, q.part)) {
                int rc = le_hls_block(c, rt, le_stream_key(st), &q, hold_ms(h), held_playlist);
                if (rc == LE_OK)
                    return;
                le_http_reply_error(c, 503, "ServiceUnavailable", "too many held playlist requests");
                return;
            }
        }
    }
    send_playlist(c, rt, h, &q, 0);
}

/* ---- init section, segments, parts ---- */

/* Sends the concatenation of chunks (one object) with Range and
 * conditional GET: each chunk is referenced, never copied. */
static void send_chunks(le_http_conn *c, const le_http_route *rt, le_hls_chunk *const *ch, size_t n,
                        const char *etag, int64_t max_age)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += ch[i]->len;
    if (le_http_fresh(c, rt, etag))
        return;
    char extra[384];
    size_t off = 0, cnt = total;
    int status = 200;
    int64_t from, to;
    int rr = le_http_range(rt->req->range, (int64_t)total, &from, &to);
    if (rr < 0) {
        snprintf(extra, sizeof(extra), "Content-Range: bytes */%zu\r\nETag: %s\r\n", total, etag);
        le_http_reply_head(c, 416, NULL, 0, extra);
        le_http_conn_done(c);
        return;
    }
    int k = snprintf(extra, sizeof(extra), "Cache-Control: max-age=%lld\r\nAccept-Ranges: bytes\r\nETag: %s\r\n",
                     (long long)max_age, etag);
    if (rr > 0) {
        off = (size_t)from;
        cnt = (size_t)(to - from + 1);
        status = 206;
        snprintf(extra + k, sizeof(extra) - (size_t)k, "Content-Range: bytes %zu-%zu/%zu\r\n", off, off + cnt - 1,
                 total);
    }
    le_http_reply_head(c, status, "video/mp4", (int64_t)cnt, extra);
    if (!rt->head && cnt) {
        struct evbuffer *o = le_http_conn_output(c);
        size_t pos = 0, end = off + cnt;
        for (size_t i = 0; i < n && pos < end; i++) {
            size_t a = pos, b = pos + ch[i]->len;
            pos = b;
            if (b <= off || ch[i]->len == 0)
                continue;
            size_t s = off > a ? off - a : 0, e = (end < b ? end : b) - a;
            if (evbuffer_add_reference(o, ch[i]->data + s, e - s, le_hls_chunk_unref_cb, le_hls_chunk_ref(ch[i])) < 0) {
                le_hls_chunk_unref(ch[i]);
                le_http_conn_close(c);
                return;
            }
        }
        le_node_stats_get()->bytes_out += cnt;
    }
    le_http_conn_done(c);
}

static int64_t seg_max_age(const le_hls *h)
{
    int64_t a = le_hls_fragment_ms(h) * (le_hls_window(h) + LE_HLS_EXTRA_SEGS) / 1000;
    return a < 1 ? 1 : a;
}

/* The segment seq, sealed in the ring or the open one. */
static le_hls_seg *find_seg(le_hls *h, uint64_t seq)
{
    le_hls_seg *s = le_hls_find(h, seq);
    if (s)
        return s;
    s = le_hls_open_seg(h);
    return s && s->seq == seq ? s : NULL;
}

/* File forms, parsed from rt->file (the route's match checked them). */
enum { F_NONE, F_INIT, F_SEG, F_PART };
static int parse_file(const char *file, size_t n, size_t *stem, uint64_t *a, uint64_t *b)
{
    size_t s;
    if (le_http_suffix(file, n, ".mp4", &s)) {
        size_t d = s;
        while (d > 0 && file[d - 1] >= '0' && file[d - 1] <= '9')
            d--;
        if (d == s || s - d > 19 || d < 7 || memcmp(file + d - 6, "-init-", 6) != 0)
            return F_NONE;
        *a = strtoull(file + d, NULL, 10);
        *stem = d - 6;
        return F_INIT;
    }
    if (!le_http_suffix(file, n, ".m4s", &s))
        return F_NONE;
    size_t d = s;
    while (d > 0 && file[d - 1] >= '0' && file[d - 1] <= '9')
        d--;
    if (d == s || s - d > 19 || d < 2)
        return -1;
    uint64_t last = strtoull(file + d, NULL, 10);
    if (file[d - 1] == '-') {
        *a = last;
        *stem = d - 1;
        return F_SEG;
    }
    if (file[d - 1] != '.' || s - d > 6)
        return -1;
    size_t e = d - 1, f = e;
    while (f > 0 && file[f - 1] >= '0' && file[f - 1] <= '9')
        f--;
    if (f == e || e - f > 19 || f < 2 || file[f - 1] != '-')
        return -1;
    *a = strtoull(file + f, NULL, 10);
    *b = last;
    *stem = f - 1;
    return F_PART;
}

static void serve_part(le_http_conn *c, const le_http_route *rt, le_hls *h, uint64_t seq, uint64_t k)
{
    le_hls_seg *s = find_seg(h, seq);
    if (!s || k >= s->nparts) {
        le_http_reply_error(c, 404, "NotFound", "no such part (not made, or rotated out)");
        return;
    }
    char etag[64];
    snprintf(etag, sizeof(etag), "\"%08x-%" PRIu64 ".%" PRIu64 "\"", le_hls_boot_tag(), seq, k);
    send_chunks(c, rt, &s->parts[k], 1, etag, seg_max_age(h));
}

static void held_part(le_http_conn *c, const le_http_route *rt, const le_hls_blockq *q, int timed_out)
{
    le_hls *h = find_hls(rt, NULL);
    if (timed_out || !h) {
        le_http_reply_error(c, timed_out ? 503 : 404, timed_out ? "ServiceUnavailable" : "NotFound",
                            "the part was not made in time");
        return;
    }
    le_http_route r = *rt;
    static const le_http_req none;   /* no Range, no If-None-Match */
    r.req = &none;
    serve_part(c, &r, h, q->msn, (uint64_t)q->part);
}

static void fmp4_file(le_http_conn *c, const le_http_route *rt)
{
    le_stream *st;
    le_hls *h = find_hls(rt, &st);
    size_t stem;
    uint64_t a = 0, b = 0;
    int kind = parse_file(rt->file, strlen(rt->file), &stem, &a, &b);
    if (!h || le_hls_variant(h) == LE_HLS_VARIANT_MPEGTS || kind <= F_NONE) {
        le_http_reply_error(c, 404, "NotFound", "no such segment (never made or rotated out)");
        return;
    }
    if (kind == F_INIT) {
        /* Any segment of that discontinuity sequence points at its init. */
        le_hls_seg *segs[MAX_LISTED + LE_HLS_EXTRA_SEGS];
        size_t n = le_hls_segments(h, segs, MAX_LISTED + LE_HLS_EXTRA_SEGS, 0);
        le_hls_seg *open = le_hls_open_seg(h);
        le_hls_chunk *init = open && open->init && open->disc_seq == a ? open->init : NULL;
        for (size_t i = n; !init && i-- > 0;)
            if (segs[i]->disc_seq == a && segs[i]->init)
                init = segs[i]->init;
        if (!init) {
            le_http_reply_error(c, 404, "NotFound", "no such init section");
            return;
        }
        char etag[64];
        snprintf(etag, sizeof(etag), "\"%08x-init-%" PRIu64 "\"", le_hls_boot_tag(), a);
        send_chunks(c, rt, &init, 1, etag, seg_max_age(h));
        return;
    }
    if (kind == F_SEG) {
        le_hls_seg *s = le_hls_find(h, a);   /* sealed only: the open one is still growing */
        if (!s || !s->nparts) {
            le_http_reply_error(c, 404, "NotFound", "no such segment (never made or rotated out)");
            return;
        }
        char etag[64];
        snprintf(etag, sizeof(etag), "\"%08x-%" PRIu64 "\"", le_hls_boot_tag(), a);
        send_chunks(c, rt, s->parts, s->nparts, etag, seg_max_age(h));
        return;
    }
    /* A part. The one the playlist hints at (EXT-X-PRELOAD-HINT) may be
     * requested before it exists: held until it does (RFC 8216bis 6.2.6). */
    if (!rt->head && le_hls_variant(h) == LE_HLS_VARIANT_LOWLATENCY && le_stream_is_live(st) &&
        !le_hls_block_ready(h, a, (int)(b < 1000000 ? b : 1000000))) {
        uint64_t next = le_hls_next_seq(h);
        const le_hls_seg *open = le_hls_open_seg(h);
        size_t have = open && open->seq == next ? open->nparts : 0;
        /* Only the next part (or the first of the next segment). */
        if ((a == next && b <= have) || (a == next + 1 && b == 0)) {
            le_hls_blockq q = { a, (int)b, 0, 1 };
            if (le_hls_block(c, rt, le_stream_key(st), &q, hold_ms(h), held_part) == LE_OK)
                return;
            le_http_reply_error(c, 503, "ServiceUnavailable", "too many held requests");
            return;
        }
    }
    serve_part(c, rt, h, a, b);
}

static int m4s_match(const char *file, size_t n, const char *q, size_t qn, size_t *stem, uint64_t *seq)
{
    (void)q;
    (void)qn;
    uint64_t a = 0, b = 0;
    int k = parse_file(file, n, stem, &a, &b);
    if (k == F_NONE)
        return 0;
    if (k < 0)
        return LE_ENOTFOUND;
    *seq = a;
    return 1;
}

static const le_http_route_def m4s_route = { "hls-fmp4", NULL, m4s_match, fmp4_file, 0, 0 };

void le_hls_ll_init(void)
{
    le_http_route_add(&m4s_route);
    le_hls_block_init();
    le_hls_boot_tag();
}
