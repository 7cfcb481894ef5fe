/* Time-shift HTTP handlers: playlists for the four lhs_ modes, segment
 * files, the timeline query (docs/CONTRACT.md, "Time-shift").
 *
 * Which segments a mode lists (one Redis range query each):
 *   offset=D       the newest hls_window (at least 3) starting at or before
 *                  now - D, cut to the run of consecutive sequence numbers
 *                  at its end (so a segment keeps its implied number while
 *                  the window slides); no type, no ENDLIST.
 *   start=S        every segment starting at or after S; EVENT, growing.
 *   start=S&end=E  those starting in [S, E); EVENT, ENDLIST once the segment
 *                  covering E is indexed (one starts at or after E) or
 *                  E + 2 fragments + 2 s have passed.
 *   start=S&vodend=E  those starting in [S, E); VOD, ENDLIST.
 * S/E modes carry EXT-X-START:TIME-OFFSET=0. Every segment carries
 * EXT-X-PROGRAM-DATE-TIME (its wall start); EXT-X-DISCONTINUITY marks a
 * restart or a gap (index.h, le_tsi_prepare). At most LE_TS_MAX_LIST
 * segments are listed; a VOD window holding more is refused (400). */
#include "timeshift/ts_http.h"

#include <errno.h>
#include <event2/buffer.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/access.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "hls/playlist.h"
#include "http/parser.h"
#include "node.h"
#include "timeshift/index.h"
#include "timeshift/lhs.h"
#include "timeshift/timeshift.h"

#define MOD "timeshift"
/* Segments one playlist may list: 24 h of 2 s segments, ~10 MB of m3u8. */
#define LE_TS_MAX_LIST 43200
#define TL_BATCH 20000              /* timeline: entries per range query */
#define TL_MAX_SPANS 100000
#define MIN_SLIDING 3
#define SEG_MARK ".lhs."            /* {Stream}.lhs.{file} in segment URLs */

/* ---- shared ---- */

int le_ts_http_wanted(const char *q, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && q[e] != '&')
            e++;
        if ((e - i >= 4 && memcmp(q + i, "lhs_", 4) == 0) ||
            (e - i >= 9 && memcmp(q + i, "aliyunols", 9) == 0 && (e - i == 9 || q[i + 9] == '=')))
            return 1;
        i = e + 1;
    }
    return 0;
}

/* le_ts_http_segment_file, also giving the entry the name stands for. */
static int segment_split(const char *file, size_t n, size_t *stem, le_tsi_ent *e)
{
    /* The last mark splits: stream names may contain ".lhs." themselves. */
    size_t ml = strlen(SEG_MARK);
    for (size_t i = n >= ml ? n - ml + 1 : 0; i-- > 0;) {
        if (memcmp(file + i, SEG_MARK, ml) != 0)
            continue;
        if (i == 0 || !le_name_valid(file, i) || le_tsi_name_parse(file + i + ml, n - i - ml, e) != 0)
            return 0;
        *stem = i;
        return 1;
    }
    return 0;
}

int le_ts_http_segment_file(const char *file, size_t n, size_t *stem)
{
    le_tsi_ent e;
    return segment_split(file, n, stem, &e);
}

/* A request that waits for Redis. The connection is held with
 * le_http_conn_stream: on_close runs from the server's reaper whenever it
 * closes (client gone, or after our answer); the Redis callback runs once.
 * Freed when both have happened. */
typedef struct ts_req {
    le_http_conn *c;            /* NULL once closed */
    int answered;               /* the Redis side is done with it */
    int head;
    char domain[256], app[256], name[256], vhost[256];
    le_lhs lhs;
    le_aliauth_grant grant;
    int64_t now_ms;
    /* timeline */
    int64_t t_start_ms, t_end_ms, cursor_ms;
    le_tsi_span *spans;
    size_t nspans, cap;
} ts_req;

static void req_release(ts_req *p)
{
    if (p->c || !p->answered)
        return;
    free(p->spans);
    free(p);
}

static void req_closed(void *ctx)
{
    ts_req *p = ctx;
    p->c = NULL;
    req_release(p);
}

/* The connection to write the answer on, or NULL if it is gone. */
static le_http_conn *req_conn(ts_req *p)
{
    return p->c && !le_http_conn_closing(p->c) ? p->c : NULL;
}

static void send_body(le_http_conn *c, int status, const char *ctype, const void *body, size_t len,
                      const char *extra, int head, int streamed)
{
    le_http_reply_head(c, status, ctype, (int64_t)len, extra);
    if (!head && len)
        evbuffer_add(le_http_conn_output(c), body, len);
    le_node_stats_get()->bytes_out += head ? 0 : len;
    if (streamed)
        le_http_conn_close_after_flush(c);
    else
        le_http_conn_done(c);
}

/* An error after le_http_conn_stream: the usual error body, then close
 * (le_http_conn_done does nothing for a held connection). */
static void late_error(le_http_conn *c, int status, const char *code, const char *msg)
{
    le_http_reply_error(c, status, code, msg);
    le_http_conn_close_after_flush(c);
}

/* ---- playlists ---- */

static void playlist_reply(int ok, const le_tsi_ent *e, size_t n, size_t bad, void *arg)
{
    ts_req *p = arg;
    p->answered = 1;
    le_http_conn *c = req_conn(p);
    const le_conf_domain *dom = le_node_domain(p->domain);
    if (!c) {
        req_release(p);
        return;
    }
    if (!ok) {
        late_error(c, 503, "ServiceUnavailable", "the time-shift index is not reachable");
        return;
    }
    if (!dom) {
        late_error(c, 404, "InvalidDomain.NotFound", "the domain is not served here");
        return;
    }
    if (bad)
        le_warn(MOD, "%s/%s/%s: %zu index entries do not parse (skipped)", p->domain, p->app, p->name, bad);

    int mode = p->lhs.mode, endlist = 0;
    size_t first = 0, count = n;
    le_tsi_ent *rev = NULL;
    if (mode == LE_LHS_SLIDING && n > 1) {
        /* Newest first from Redis: put them in time order. */
        rev = le_xmalloc(n * sizeof(*rev));
        for (size_t i = 0; i < n; i++)
            rev[i] = e[n - 1 - i];
        e = rev;
    }
    if (mode == LE_LHS_EVENT_END) {
        /* Entries at or after E were fetched only to know E is covered. */
        count = 0;
        while (count < n && e[count].start_ms < p->lhs.end_ms)
            count++;
        endlist = count < n ||
                  p->now_ms > p->lhs.end_ms + 2 * dom->hls_fragment_ms + 2000;
    } else if (mode == LE_LHS_VOD) {
        if (n > LE_TS_MAX_LIST) {
            free(rev);
            late_error(c, 400, "InvalidParameter", "the window holds too many segments; ask for a shorter one");
            return;
        }
        endlist = 1;
    } else if (mode == LE_LHS_EVENT && n > LE_TS_MAX_LIST) {
        count = LE_TS_MAX_LIST;
    }
    if (count == 0 && (mode == LE_LHS_SLIDING || mode == LE_LHS_VOD || endlist)) {
        free(rev);
        late_error(c, 404, "InvalidStream.NotFound", "no time-shift data for this stream in this window");
        return;
    }

    int *disc = le_xmalloc((count ? count : 1) * sizeof(*disc));
    first = le_tsi_prepare(e, count, mode == LE_LHS_SLIDING, disc);
    size_t m = count - first;
    le_m3u8_seg *ms = le_xcalloc(m ? m : 1, sizeof(*ms));   /* fields it does not set stay 0 */
    size_t *uoff = le_xmalloc((m ? m : 1) * sizeof(*uoff));
    le_buf uris = { 0 };
    int sign = p->grant.form != LE_AUTHF_NONE;
    for (size_t i = 0; i < m; i++) {
        const le_tsi_ent *x = &e[first + i];
        char fname[LE_TSI_NAME_MAX], uri[800], prefix[256] = "", q[512] = "";
        le_tsi_name_build(x, fname, sizeof(fname));
        snprintf(uri, sizeof(uri), "/%s/%s" SEG_MARK "%s", p->app, p->name, fname);
        if (sign && le_access_sign(dom, &p->grant, uri, p->name, prefix, sizeof(prefix), q, sizeof(q)) != 0)
            prefix[0] = q[0] = '\0';
        uoff[i] = uris.len;
        /* Relative unless a path-form signature must prefix it. */
        if (prefix[0])
            le_buf_printf(&uris, "%s%s", prefix, uri);
        else
            le_buf_printf(&uris, "%s" SEG_MARK "%s", p->name, fname);
        const char *sep = "?";
        if (p->vhost[0]) {
            le_buf_printf(&uris, "?vhost=%s", p->vhost);
            sep = "&";
        }
        if (q[0])
            le_buf_printf(&uris, "%s%s", sep, q);
        le_buf_u8(&uris, 0);
        ms[i].seq = x->seq;
        ms[i].duration_ms = x->duration_ms;
        ms[i].disc = disc[first + i];
        ms[i].pdt_ms = x->start_ms ? x->start_ms : 1;
    }
    for (size_t i = 0; i < m; i++)
        ms[i].uri = (const char *)uris.p + uoff[i];

    le_m3u8_opts o;
    memset(&o, 0, sizeof(o));
    o.disc_seq = m ? e[first].dseq : 0;
    o.endlist = endlist;
    o.playlist_type = mode == LE_LHS_VOD ? 2 : mode == LE_LHS_SLIDING ? 0 : 1;
    o.start_offset_zero = mode != LE_LHS_SLIDING;
    /* A live (sliding or growing) playlist must not shrink its target. */
    if (mode != LE_LHS_VOD)
        o.min_target_s = (int)((dom->hls_fragment_ms + 999) / 1000);
    le_buf b = { 0 };
    le_m3u8_build(&b, ms, m, &o);
    send_body(c, 200, "application/vnd.apple.mpegurl", b.p, b.len,
              mode == LE_LHS_VOD ? "Cache-Control: max-age=60\r\n" : "Cache-Control: no-cache\r\n", p->head, 1);
    le_buf_free(&b);
    le_buf_free(&uris);
    free(uoff);
    free(ms);
    free(disc);
    free(rev);
}

void le_ts_http_playlist(le_http_conn *c, const le_http_route *rt)
{
    const le_conf_domain *dom = rt->dom;
    const le_http_req *r = rt->req;
    if (!dom->timeshift) {
        le_http_reply_error(c, 404, "TimeShift.NotEnabled", "time-shift is not enabled for this domain");
        return;
    }
    int64_t now = le_wall_ms();
    le_lhs l;
    char err[200];
    if (le_lhs_parse(r->query.p ? r->query.p : "", r->query.p ? r->query.n : 0, now,
                     dom->timeshift_retention_ms, &l, err, sizeof(err)) != 0) {
        char esc[256];
        le_info(MOD, "#%llu %s: 400 %s", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c),
                le_log_esc(err, strlen(err), esc, sizeof(esc)));
        le_http_reply_error(c, 400, "InvalidParameter", err);
        return;
    }
    if (l.mode == LE_LHS_NONE) {
        le_http_reply_error(c, 400, "InvalidParameter", "time-shift request without a time argument");
        return;
    }
    ts_req *p = le_xcalloc(1, sizeof(*p));
    p->head = rt->head;
    p->now_ms = now;
    p->lhs = l;
    snprintf(p->domain, sizeof(p->domain), "%s", dom->name);
    snprintf(p->app, sizeof(p->app), "%s", rt->app);
    snprintf(p->name, sizeof(p->name), "%s", rt->name);
    snprintf(p->vhost, sizeof(p->vhost), "%s", rt->vhost);
    if (rt->grant)
        p->grant = *rt->grant;

    int rc;
    switch (l.mode) {
    case LE_LHS_SLIDING: {
        int w = dom->hls_window > MIN_SLIDING ? dom->hls_window : MIN_SLIDING;
        rc = le_tsi_range(p->domain, p->app, p->name, INT64_MIN, now - l.offset_ms, 0, 1, (size_t)w,
                          playlist_reply, p);
        break;
    }
    case LE_LHS_EVENT:
        rc = le_tsi_range(p->domain, p->app, p->name, l.start_ms, INT64_MAX, 0, 0, LE_TS_MAX_LIST + 1,
                          playlist_reply, p);
        break;
    case LE_LHS_EVENT_END:
        /* One past E tells that E is covered (see the top of the file). */
        rc = le_tsi_range(p->domain, p->app, p->name, l.start_ms, l.end_ms + LE_TSI_MAX_SEG_MS, 0, 0,
                          LE_TS_MAX_LIST + 1, playlist_reply, p);
        break;
    default:
        rc = le_tsi_range(p->domain, p->app, p->name, l.start_ms, l.end_ms, 1, 0, LE_TS_MAX_LIST + 1,
                          playlist_reply, p);
        break;
    }
    if (rc != 0) {
        free(p);
        le_http_reply_error(c, 503, "ServiceUnavailable", "the time-shift index is not reachable");
        return;
    }
    p->c = c;
    le_http_conn_stream(c, p, req_closed);
}

/* ---- segments ---- */

void le_ts_http_segment(le_http_conn *c, const le_http_route *rt)
{
    size_t stem;
    const char *file = rt->file;
    le_tsi_ent e;
    char path[4096];
    if (!file || !segment_split(file, strlen(file), &stem, &e) ||
        le_timeshift_path(rt->dom->name, rt->app, rt->name, &e, path, sizeof(path)) != 0) {
        le_http_reply_error(c, 404, "NotFound", "no such segment");
        return;
    }
    /* A regular file on a local disk: open and fstat do not wait on the
     * network, and the bytes go out with sendfile. */
    int64_t size;
    int fd = le_http_open_file(path, &size);
    if (fd < 0) {
        le_http_reply_error(c, 404, "NotFound", "no such segment (expired or never persisted)");
        return;
    }
    /* A file name names the same bytes forever: cacheable. */
    le_http_reply_head(c, 200, "video/mp2t", size, "Cache-Control: max-age=86400\r\n");
    le_http_send_file(c, fd, 0, size, rt->head, path);
}

/* ---- the timeline ---- */

static void tl_send(le_http_conn *c, int head, int status, int code, const char *desc, const ts_req *p,
                    int streamed)
{
    le_jv *root = le_jv_obj();
    le_jv_set_int(root, "retCode", code);
    le_jv_set_str(root, "description", desc);
    le_jv *content = le_jv_set_obj(root, "content");
    le_jv_set_int(content, "current", le_wall_ms() / 1000);
    le_jv *tl = le_jv_set_arr(content, "timeline");
    for (size_t i = 0; p && i < p->nspans; i++) {
        /* Clipped to the window, whole seconds that cover the data. */
        int64_t s = p->spans[i].start_ms > p->t_start_ms ? p->spans[i].start_ms : p->t_start_ms;
        int64_t e = p->spans[i].end_ms < p->t_end_ms ? p->spans[i].end_ms : p->t_end_ms;
        if (e <= s)
            continue;
        le_jv *o = le_jv_push_obj(tl);
        le_jv_set_int(o, "start", s / 1000);
        le_jv_set_int(o, "end", (e + 999) / 1000);
    }
    le_buf b = { 0 };
    le_jv_to_json(root, &b);
    le_jv_free(root);
    send_body(c, status, "application/json", b.p, b.len, "Cache-Control: no-cache\r\n", head, streamed);
    le_buf_free(&b);
}

static void tl_next(ts_req *p);

/* The Redis side failed (or the client is gone): 503 if anyone listens. */
static void tl_fail(ts_req *p)
{
    p->answered = 1;
    le_http_conn *c = req_conn(p);
    if (c)
        tl_send(c, p->head, 503, 503, "the time-shift index is not reachable", NULL, 1);
    req_release(p);
}

static void tl_reply(int ok, const le_tsi_ent *e, size_t n, size_t bad, void *arg)
{
    ts_req *p = arg;
    le_http_conn *c = req_conn(p);
    if (!c || !ok) {
        tl_fail(p);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (e[i].start_ms + e[i].duration_ms < p->t_start_ms)
            continue;
        if (le_tsi_span_add(p->spans, p->cap, &p->nspans, &e[i]) != 0) {
            if (p->cap >= TL_MAX_SPANS)
                break;
            p->cap *= 2;
            p->spans = le_xrealloc(p->spans, p->cap * sizeof(*p->spans));
            le_tsi_span_add(p->spans, p->cap, &p->nspans, &e[i]);
        }
    }
    if (n + bad >= TL_BATCH && n > 0 && p->nspans < TL_MAX_SPANS) {
        p->cursor_ms = e[n - 1].start_ms + 1;
        tl_next(p);
        return;
    }
    p->answered = 1;
    tl_send(c, p->head, 200, 0, "success", p, 1);
}

static void tl_next(ts_req *p)
{
    if (le_tsi_range(p->domain, p->app, p->name, p->cursor_ms, p->t_end_ms, 0, 0, TL_BATCH, tl_reply, p) != 0)
        tl_fail(p);
}

static void tl_error(le_http_conn *c, const le_http_route *rt, int status, const char *msg)
{
    le_info(MOD, "#%llu %s: timeline %d: %s", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c),
            status, msg);
    tl_send(c, rt->head, status, status, msg, NULL, 0);
}

void le_ts_http_timeline(le_http_conn *c, const le_http_route *rt)
{
    const le_http_req *r = rt->req;
    const char *q = r->query.p ? r->query.p : "";
    size_t qn = r->query.p ? r->query.n : 0;
    char app[256], name[256], format[16], err[200];
    int64_t start = 0, end = 0;
    int have_start = 0, have_end = 0;

    if (!rt->dom) {
        tl_error(c, rt, 403, "the domain is not served here");
        return;
    }
    if (le_query_get(q, qn, "app", app, sizeof(app)) <= 0 || !le_name_valid(app, strlen(app))) {
        tl_error(c, rt, 400, "missing or invalid parameter app");
        return;
    }
    if (le_query_get(q, qn, "stream", name, sizeof(name)) <= 0 || !le_name_valid(name, strlen(name))) {
        tl_error(c, rt, 400, "missing or invalid parameter stream");
        return;
    }
    if (le_query_get(q, qn, "format", format, sizeof(format)) <= 0) {
        tl_error(c, rt, 400, "missing parameter format (ts)");
        return;
    }
    if (strcmp(format, "ts") != 0) {
        tl_error(c, rt, 400, strcmp(format, "flv") == 0
                                 ? "format flv: time-shift data is kept as TS only; ask for format=ts"
                                 : "invalid parameter format (ts)");
        return;
    }
    /* Time arguments: any lhs_{start|end}_{unix|human}_{unit}_{zone}. */
    for (size_t i = 0; i < qn;) {
        size_t e = i;
        while (e < qn && q[e] != '&')
            e++;
        const char *eq = memchr(q + i, '=', e - i);
        size_t kl = eq ? (size_t)(eq - (q + i)) : e - i;
        if (kl >= 4 && memcmp(q + i, "lhs_", 4) == 0) {
            char key[64], val[64], type[16];
            int64_t ms;
            if (kl >= sizeof(key)) {
                tl_error(c, rt, 400, "unknown time argument");
                return;
            }
            memcpy(key, q + i, kl);
            key[kl] = '\0';
            size_t vs = eq ? (size_t)(eq - q) + 1 : e;
            if (le_lhs_decode(q + vs, e - vs, val, sizeof(val)) != 0) {
                tl_error(c, rt, 400, "malformed time value");
                return;
            }
            if (le_lhs_time(key, val, type, sizeof(type), &ms, err, sizeof(err)) != 0) {
                tl_error(c, rt, 400, err);
                return;
            }
            if (strcmp(type, "start") == 0 && !have_start) {
                start = ms;
                have_start = 1;
            } else if (strcmp(type, "end") == 0 && !have_end) {
                end = ms;
                have_end = 1;
            } else {
                tl_error(c, rt, 400, "the timeline takes one start and one end time argument");
                return;
            }
        }
        i = e + 1;
    }
    if (!have_start || !have_end) {
        tl_error(c, rt, 400, "missing parameter lhs_start_unix_s_0 or lhs_end_unix_s_0");
        return;
    }
    int64_t now = le_wall_ms();
    if (end < start) {
        tl_error(c, rt, 400, "the end is before the start");
        return;
    }
    if (start < now - rt->dom->timeshift_retention_ms) {
        tl_error(c, rt, 400, "the start is older than the retention window");
        return;
    }

    /* Access checks (IP lists, referer lists, URL signature) for the timeline: its own URI, the stream from the query. */
    char peer[64], referer[1024], why[256], query[LE_HTTP_MAX_REQLINE + 1];
    snprintf(peer, sizeof(peer), "%s", le_http_conn_peer(c));
    char *colon = strrchr(peer, ':');
    if (colon)
        *colon = '\0';
    snprintf(referer, sizeof(referer), "%.*s", r->referer.p ? (int)r->referer.n : 0, r->referer.p ? r->referer.p : "");
    snprintf(query, sizeof(query), "%.*s", (int)qn, q);
    if (le_access_check_http(rt->dom, peer, r->referer.p ? referer : NULL, name, "/openapi/timeline/query", query,
                             NULL, NULL, now / 1000, NULL, why, sizeof(why)) != 0) {
        le_info(MOD, "#%llu %s: timeline 403: %s", (unsigned long long)le_http_conn_id(c), le_http_conn_peer(c), why);
        tl_send(c, rt->head, 403, 403, "Access denied.", NULL, 0);
        return;
    }
    if (!rt->dom->timeshift) {
        tl_error(c, rt, 404, "time-shift is not enabled for this domain");
        return;
    }

    ts_req *p = le_xcalloc(1, sizeof(*p));
    p->head = rt->head;
    p->now_ms = now;
    snprintf(p->domain, sizeof(p->domain), "%s", rt->dom->name);
    snprintf(p->app, sizeof(p->app), "%s", app);
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->t_start_ms = start;
    p->t_end_ms = end;
    p->cursor_ms = start - LE_TSI_MAX_SEG_MS;
    p->cap = 64;
    p->spans = le_xmalloc(p->cap * sizeof(*p->spans));
    if (le_tsi_range(p->domain, p->app, p->name, p->cursor_ms, p->t_end_ms, 0, 0, TL_BATCH, tl_reply, p) != 0) {
        free(p->spans);
        free(p);
        tl_error(c, rt, 503, "the time-shift index is not reachable");
        return;
    }
    p->c = c;
    le_http_conn_stream(c, p, req_closed);
}

/* ---- routes ---- */

static int playlist_match(const char *file, size_t n, const char *q, size_t qn, size_t *stem, uint64_t *seq)
{
    (void)seq;
    return q && le_ts_http_wanted(q, qn) && le_http_suffix(file, n, ".m3u8", stem);
}

static int segment_match(const char *file, size_t n, const char *q, size_t qn, size_t *stem, uint64_t *seq)
{
    (void)q;
    (void)qn;
    (void)seq;
    return le_ts_http_segment_file(file, n, stem);
}

/* Before live HLS: a time-shift segment name also ends in "-N.ts". */
static const le_http_route_def playlist_route = { "timeshift", NULL, playlist_match, le_ts_http_playlist, 10, 0 };
static const le_http_route_def segment_route = { "timeshift-ts", NULL, segment_match, le_ts_http_segment, 10, 0 };
static const le_http_route_def timeline_route = { "timeline", "/openapi/timeline/query", NULL, le_ts_http_timeline,
                                                  10, LE_HTTP_ROUTE_OPEN };

void le_ts_http_init(void)
{
    le_http_route_add(&playlist_route);
    le_http_route_add(&segment_route);
    le_http_route_add(&timeline_route);
}
