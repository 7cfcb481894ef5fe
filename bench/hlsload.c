/* bench/hlsload.c: HLS load generator (docs/BENCHMARKS.md, section "HLS").
 * One process, one thread, epoll: N simulated HLS players against one live
 * playlist, opened at a ramp rate, run for a duration, then one JSON line on
 * stdout like bench/loadgen. A player behaves like a browser player:
 *
 *  - one keep-alive HTTP/1.1 connection (reopened if the server closes it),
 *    one request at a time;
 *  - MPEG-TS playlists: the first load queues the newest --start-segs
 *    segments (3, as hls.js starts three target durations behind live), then
 *    the playlist is reloaded every target duration / 2 and every segment
 *    newer than the last queued one is fetched, in order; a sequence number
 *    skipped between two loads is counted as missed;
 *  - the segments are parsed as they arrive (TS packets, the video PES of
 *    each frame): every video frame gets its PTS and a key, the hash of its
 *    last 32 payload bytes (a frame's tail is the same in the publisher's
 *    FLV/AVCC form and in the Annex-B form TS carries: only the NAL length
 *    prefixes become start codes, at the front).
 *
 * What it measures:
 *  - delay: the publish tap (--tap, as in bench/loadgen) notes the monotonic
 *    time each video frame's last byte went to the server, under the same
 *    tail key; a player receiving that frame (the last byte of its segment)
 *    records arrival - tap time: how old media is when a player has it
 *    (not for the start backlog, which is old by design);
 *  - latency behind live: a player starts playing at its first frame and
 *    plays in real time from there (its playback clock stops while it has no
 *    media); a frame's latency is the time it is shown minus its tap time:
 *    what a player would report as its distance to live;
 *  - stalls: the playback clock reaches the end of the media received
 *    (underrun); gaps: two consecutive frames more than 1 s apart in PTS;
 *  - first frame: connect() to the last byte of the first complete frame;
 *  - bytes, segments, playlist loads, server CPU and RSS (--pid), as
 *    bench/loadgen samples them.
 *
 * LL-HLS (EXT-X-PART-INF in the playlist): the part is the unit. The first
 * load fetches the init section (EXT-X-MAP) and queues from the newest
 * INDEPENDENT=YES part; then every playlist request is a blocking reload for
 * the part after the newest queued one (_HLS_msn=M&_HLS_part=P, or P=0 of
 * the next segment once M is sealed), and every new part is fetched in order.
 * Parts and the init section are read whole and parsed as fMP4: the video
 * track's timescale from the init section, each sample's tail and PTS
 * (tfdt + trun durations + composition offsets) from the moof. A player
 * starts playing PART-HOLD-BACK (3 part targets) behind the newest media it
 * has; a TS player three target durations behind (--start-segs).
 *
 * --replay MS --replay-part PATH: the LL-HLS request pattern without its
 * media, for a server that has no LL-HLS (nginx serving files): every MS
 * each player GETs the playlist (-u, no query) and then PATH, reads both
 * whole and parses neither. Bytes, requests and server CPU count as above;
 * a player "starts" at its first PATH. scripts/bench-hls's nginx-llfiles
 * target serves a playlist and a part of livedge's own LL-HLS output this
 * way: the same requests a second and bytes as livedge-ll, from files. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "bnet.h"
#include "hlsmedia.h"
#include "procstat.h"
#include "pubtap.h"

#define TICK_US 10000
#define HIST_MS 60000              /* delay/latency histograms, 1 ms buckets */
#define HDR_MAX 8192
#define PL_MAX (1u << 20)          /* a playlist larger than this ends the player */
#define QMAX 64                    /* segments queued per player */
#define URI_MAX 256
#define GAP_PTS (90000)            /* 1 s at 90 kHz */

/* Player states. */
enum { S_IDLE, S_CONNECTING, S_HDR, S_BODY, S_CLOSED };
/* What the current request fetches. */
enum { R_NONE, R_PLAYLIST, R_SEGMENT, R_INIT, R_PART, R_REPLAY_PL, R_REPLAY_PART };
/* HTTP chunked decoder. */
enum { C_SIZE, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF };

typedef struct qent {
    uint64_t seq;
    int part;                  /* LL: part index, -1 for an init section */
    int initial;               /* queued by the first load (the start backlog) */
    char uri[URI_MAX];
} qent;

typedef struct conn {
    bconn b;                   /* first: the loop hands out &b */
    int idx, state;
    /* player: HTTP */
    int req;                   /* R_* */
    int dead;                  /* closed on an error: not reopened */
    char *hdr;
    size_t hdr_len;
    int status, chunked, cstate, close_after;
    int64_t clen;              /* -1: until close */
    uint64_t crem;
    le_buf pl;                 /* the playlist body */
    /* player: HLS */
    int have_seq;
    uint64_t last_seq;         /* newest queued */
    qent *q;                   /* ring of QMAX */
    unsigned qh, qn;
    uint64_t next_poll;
    int64_t target_ms;
    int cur_initial;           /* the segment being read is start backlog */
    uint64_t segs, segs_win, missed, seg_err, pl_loads, reconnects;
    /* player: LL-HLS (fMP4) */
    int ll;                    /* the playlist has EXT-X-PART-INF */
    int have_part;
    uint64_t lp_seq;           /* newest part queued: (lp_seq, lp_part) */
    int lp_part;
    char map_uri[URI_MAX];     /* the init section fetched */
    le_buf mb;                 /* an fMP4 response body */
    uint64_t parts, blocked_us, blocked_n;
    uint64_t hold_us;          /* LL: playback starts this long after the first frame */
    uint64_t t_req;
    hm_state media;            /* TS / fMP4 parser: frames to on_frame */
    /* player: playback model (us; PTS converted) */
    int playing, in_stall;
    uint64_t t_play, stall_total, t_stall_start;
    int64_t start_pts_us, buf_end_us, last_pts_us, step_us;
    uint64_t stalls, gaps, frames;
    /* measurements */
    uint64_t t_start, t_first_frame, t_end;
    uint64_t bytes;
    char why[80];
} conn;

/* ---- options ---- */
static bn_opts bo = BN_OPTS_DEFAULT;
static int o_start_segs = 3;
static double o_wait_pl = 20;
static int o_replay_ms;            /* --replay: 0 = play the stream */
static char o_replay_part[512];
static char o_host[128] = "127.0.0.1", o_path[512], o_dir[512];
static int o_port = 80, o_tap_to_port = 1935;
static char o_tap_to_host[128] = "127.0.0.1";

/* ---- state ---- */
static conn *players;
static int g_measuring;
static uint64_t g_bytes_win;
static uint64_t g_max_seq;     /* newest segment any player saw listed */
static uint64_t hist_delay[HIST_MS + 1], hist_lat[HIST_MS + 1], hist_nomatch;
static void hist_add(uint64_t *h, int64_t us)
{
    int64_t ms = us / 1000;
    if (ms < 0)
        ms = 0;
    if (ms > HIST_MS)
        ms = HIST_MS;
    h[ms]++;
}

/* ---- epoll and output ---- */

static void conn_close(conn *c, const char *why)
{
    if (!bn_close(&c->b, c->why, sizeof c->why, why))
        return;
    c->state = S_CLOSED;
    c->dead = why != NULL;
    free(c->hdr);
    c->hdr = NULL;
    c->hdr_len = 0;
    if (!c->t_end)
        c->t_end = bn_now_us();
    if (bo.verbose)
        bn_log("player %d closed: %s", c->idx, c->why);
}

static void on_fail(bconn *b, const char *why)
{
    conn_close((conn *)b, why);
}

/* ---- the playback model ---- */

/* A complete video frame: tail key and PTS (90 kHz), received now. */
static void on_frame(void *arg, int64_t pts90, uint64_t key, uint64_t now)
{
    conn *c = arg;
    int64_t pts = pts90 * 100 / 9;
    c->frames++;
    if (!c->t_first_frame) {
        c->t_first_frame = now;
        c->start_pts_us = pts;
        c->buf_end_us = pts;
        c->last_pts_us = pts;
    }
    int64_t d = pts - c->last_pts_us;
    if (d > GAP_PTS * 100 / 9 || d < -(int64_t)GAP_PTS * 100 / 9)
        c->gaps++;
    else if (d > 0 && d < 1000000)
        c->step_us = d;
    c->last_pts_us = pts;
    int64_t end = pts + (c->step_us ? c->step_us : 40000);
    if (end > c->buf_end_us)
        c->buf_end_us = end;
    uint64_t tt = pubtap_time(key);
    if (g_measuring && !tt)
        hist_nomatch++;
    if (g_measuring && tt && !c->cur_initial)
        hist_add(hist_delay, (int64_t)(now - tt));
    if (!c->playing)
        return;
    if (c->in_stall && c->buf_end_us > c->start_pts_us + (int64_t)(c->t_stall_start - c->t_play - c->stall_total)) {
        c->stall_total += now - c->t_stall_start;
        c->in_stall = 0;
    }
    /* when this frame is shown: now if late, else on the playback clock */
    uint64_t show = c->t_play + c->stall_total + (uint64_t)(pts > c->start_pts_us ? pts - c->start_pts_us : 0);
    if (show < now)
        show = now;
    if (g_measuring && tt)
        hist_add(hist_lat, (int64_t)(show - tt));
}

/* The start backlog is in: play from hold_us behind the newest media (a
 * player seeks to its live sync point: hls.js liveSyncDurationCount for TS,
 * PART-HOLD-BACK for LL), no earlier than the first frame received. */
static void start_play(conn *c, uint64_t now)
{
    if (c->playing || !c->t_first_frame)
        return;
    int64_t pos = c->buf_end_us - (int64_t)c->hold_us;
    if (pos > c->start_pts_us)
        c->start_pts_us = pos;
    c->playing = 1;
    c->t_play = now;
    c->stall_total = 0;
}

static void check_stall(conn *c, uint64_t now)
{
    if (!c->playing || c->in_stall || now < c->t_play)
        return;
    int64_t pos = c->start_pts_us + (int64_t)(now - c->t_play - c->stall_total);
    if (pos > c->buf_end_us) {
        c->in_stall = 1;
        c->t_stall_start = c->t_play + c->stall_total + (uint64_t)(c->buf_end_us - c->start_pts_us);
        if (g_measuring)
            c->stalls++;
    }
}

/* ---- requests ---- */

static void player_connect(conn *c);
static void player_event(bconn *b, uint32_t ev);

static void send_get(conn *c, const char *path, int req)
{
    if (c->b.fd < 0) {
        player_connect(c);
        if (c->b.fd < 0)
            return;
    }
    le_buf_printf(&c->b.out, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: livedge-hlsload\r\n\r\n", path, o_host,
                  o_port);
    c->req = req;
    c->state = c->state == S_CONNECTING ? S_CONNECTING : S_HDR;
    c->hdr_len = 0;
    c->status = 0;
    if (c->state != S_CONNECTING)
        bn_flush(&c->b);
}

/* The next request of an idle player, if one is due. */
static void player_next(conn *c, uint64_t now)
{
    if (c->req != R_NONE || c->dead || bn_stop)
        return;
    if (o_replay_ms) {
        if (now < c->next_poll)
            return;
        /* keep the player's cadence; a player that fell behind starts again from now */
        c->next_poll += (uint64_t)o_replay_ms * 1000;
        if (c->next_poll < now)
            c->next_poll = now + (uint64_t)o_replay_ms * 1000;
        send_get(c, o_path, R_REPLAY_PL);
        return;
    }
    if (c->qn) {
        qent *e = &c->q[c->qh];
        char path[URI_MAX + 600];
        if (e->uri[0] == '/')
            snprintf(path, sizeof path, "%s", e->uri);
        else if (strncmp(e->uri, "http://", 7) == 0) {
            const char *s = strchr(e->uri + 7, '/');
            snprintf(path, sizeof path, "%s", s ? s : "/");
        } else
            snprintf(path, sizeof path, "%s%s", o_dir, e->uri);
        hm_ts_reset(&c->media);
        c->cur_initial = e->initial;
        c->mb.len = 0;
        send_get(c, path, !c->ll ? R_SEGMENT : e->part < 0 ? R_INIT : R_PART);
        return;
    }
    if (now < c->next_poll)
        return;
    c->pl.len = 0;
    c->t_req = now;
    if (c->ll && c->have_part) {
        /* blocking reload for the part after the newest one queued */
        char path[sizeof o_path + 64];
        snprintf(path, sizeof path, "%s%c_HLS_msn=%llu&_HLS_part=%d", o_path, strchr(o_path, '?') ? '&' : '?',
                 (unsigned long long)c->lp_seq, c->lp_part + 1);
        send_get(c, path, R_PLAYLIST);
        return;
    }
    send_get(c, o_path, R_PLAYLIST);
}

static void queue_seg(conn *c, uint64_t seq, const char *uri, size_t n)
{
    if (c->qn == QMAX || n >= URI_MAX)
        return;
    qent *e = &c->q[(c->qh + c->qn) % QMAX];
    e->seq = seq;
    e->part = 0;
    e->initial = !c->have_seq;
    memcpy(e->uri, uri, n);
    e->uri[n] = '\0';
    c->qn++;
}

/* The quoted URI="..." attribute of a tag line; its length, 0 if none. */
static size_t attr_uri(const char *l, size_t len, const char **u)
{
    const char *a = memmem(l, len, "URI=\"", 5);
    if (!a)
        return 0;
    a += 5;
    const char *e = memchr(a, '"', len - (size_t)(a - l));
    if (!e)
        return 0;
    *u = a;
    return (size_t)(e - a);
}

/* LL-HLS: parts are the unit. The first load starts at the newest
 * independent part (a player needs a keyframe); later loads queue every part
 * after the newest queued one. A part that is no longer listed is missed. */
#define LL_MAX 512
static void playlist_ll(conn *c, char *s, uint64_t now)
{
    static struct { uint64_t seq; int part, indep; const char *uri; size_t n; } pt[LL_MAX];
    size_t np = 0;
    uint64_t msn = 0, seq = 0;
    int pidx = 0, sealed_any = 0;
    uint64_t sealed_max = 0;
    const char *map = NULL;
    size_t map_n = 0;
    int64_t part_ms = 200;
    for (char *l = s; l && *l;) {
        char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        while (len && (l[len - 1] == '\r' || l[len - 1] == ' '))
            len--;
        if (strncmp(l, "#EXT-X-MEDIA-SEQUENCE:", 22) == 0)
            seq = msn = strtoull(l + 22, NULL, 10);
        else if (strncmp(l, "#EXT-X-TARGETDURATION:", 22) == 0)
            c->target_ms = atoll(l + 22) * 1000;
        else if (strncmp(l, "#EXT-X-PART-INF:PART-TARGET=", 28) == 0)
            part_ms = (int64_t)(atof(l + 28) * 1000);
        else if (strncmp(l, "#EXT-X-SKIP:SKIPPED-SEGMENTS=", 29) == 0)
            seq += strtoull(l + 29, NULL, 10);
        else if (strncmp(l, "#EXT-X-MAP:", 11) == 0)
            map_n = attr_uri(l, len, &map);
        else if (strncmp(l, "#EXT-X-PART:", 12) == 0 && np < LL_MAX) {
            const char *u;
            size_t un = attr_uri(l, len, &u);
            if (un) {
                pt[np].seq = seq;
                pt[np].part = pidx++;
                pt[np].indep = memmem(l, len, "INDEPENDENT=YES", 15) != NULL;
                pt[np].uri = u;
                pt[np].n = un;
                np++;
            }
        } else if (len > 0 && l[0] != '#') {
            sealed_any = 1;
            sealed_max = seq;
            seq++;
            pidx = 0;
        }
        l = e ? e + 1 : NULL;
    }
    (void)msn;
    if (map_n && map_n < URI_MAX && (strlen(c->map_uri) != map_n || memcmp(c->map_uri, map, map_n) != 0)) {
        memcpy(c->map_uri, map, map_n);
        c->map_uri[map_n] = '\0';
        queue_seg(c, 0, map, map_n);
        c->q[(c->qh + c->qn - 1) % QMAX].part = -1;
    }
    size_t from = np;
    if (!c->have_part) {
        for (size_t i = np; i-- > 0;)
            if (pt[i].indep) {
                from = i;
                break;
            }
    } else {
        for (size_t i = 0; i < np; i++)
            if (pt[i].seq > c->lp_seq || (pt[i].seq == c->lp_seq && pt[i].part > c->lp_part)) {
                from = i;
                break;
            }
        if (from < np && g_measuring) {
            /* the successor of (lp_seq, lp_part): the next part of that
             * segment, or part 0 of the next when it was sealed at lp_part */
            int next_ok = pt[from].seq == c->lp_seq && pt[from].part == c->lp_part + 1;
            if (!next_ok && pt[from].seq == c->lp_seq + 1 && pt[from].part == 0) {
                next_ok = 1;
                for (size_t i = 0; i < from; i++)
                    if (pt[i].seq == c->lp_seq && pt[i].part > c->lp_part)
                        next_ok = 0;
            }
            if (!next_ok)
                c->missed++;
        }
    }
    int first = !c->have_part;
    for (size_t i = from; i < np && c->qn < QMAX; i++) {
        queue_seg(c, pt[i].seq, pt[i].uri, pt[i].n);
        c->q[(c->qh + c->qn - 1) % QMAX].part = pt[i].part;
        c->q[(c->qh + c->qn - 1) % QMAX].initial = first;
        c->lp_seq = pt[i].seq;
        c->lp_part = pt[i].part;
        c->have_part = 1;
        if (c->lp_seq > g_max_seq)
            g_max_seq = c->lp_seq;
    }
    /* the newest part queued is the last of a sealed segment: ask for the
     * next segment's first part */
    if (c->have_part && sealed_any && c->lp_seq <= sealed_max) {
        int last = 1;
        for (size_t i = 0; i < np; i++)
            if (pt[i].seq == c->lp_seq && pt[i].part > c->lp_part)
                last = 0;
        if (last) {
            c->lp_seq++;
            c->lp_part = -1;
        }
    }
    /* a player holds back PART-HOLD-BACK (3 part targets) before it plays */
    c->hold_us = (uint64_t)part_ms * 3000;
    /* blocking reloads go out at once; without a part yet, poll at part pace */
    c->next_poll = c->have_part ? now : now + (uint64_t)part_ms * 1000;
}

static void playlist_done(conn *c, uint64_t now)
{
    c->pl_loads++;
    le_buf_u8(&c->pl, 0);
    char *s = (char *)c->pl.p;
    if (c->have_part) {
        c->blocked_us += now - c->t_req;
        c->blocked_n++;
    }
    if (!c->ll && strstr(s, "#EXT-X-PART-INF"))
        c->ll = 1;
    if (c->ll) {
        playlist_ll(c, s, now);
        return;
    }
    uint64_t msn = 0;
    int64_t target = 0;
    /* first pass: header tags and the number of segments */
    size_t nseg = 0;
    for (char *l = s; l && *l;) {
        char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (strncmp(l, "#EXT-X-TARGETDURATION:", 22) == 0)
            target = atoll(l + 22);
        else if (strncmp(l, "#EXT-X-MEDIA-SEQUENCE:", 22) == 0)
            msn = strtoull(l + 22, NULL, 10);
        else if (len > 0 && l[0] != '#' && l[0] != '\r')
            nseg++;
        l = e ? e + 1 : NULL;
    }
    if (target > 0)
        c->target_ms = target * 1000;
    c->hold_us = (uint64_t)o_start_segs * (uint64_t)c->target_ms * 1000;
    c->next_poll = now + (uint64_t)(c->target_ms > 0 ? c->target_ms : 2000) * 500;
    uint64_t i = 0, first_new = 0;
    int any = 0;
    uint64_t from = c->have_seq ? c->last_seq + 1
                                : (nseg > (size_t)o_start_segs ? msn + nseg - (uint64_t)o_start_segs : msn);
    for (char *l = s; l && *l;) {
        char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        while (len && (l[len - 1] == '\r' || l[len - 1] == ' '))
            len--;
        if (len > 0 && l[0] != '#') {
            uint64_t seq = msn + i++;
            if (seq >= from) {
                if (!any)
                    first_new = seq;
                any = 1;
                queue_seg(c, seq, l, len);
                c->last_seq = seq;
            }
        }
        l = e ? e + 1 : NULL;
    }
    if (any && c->have_seq && g_measuring && first_new > from)
        c->missed += first_new - from;
    if (any)
        c->have_seq = 1;
    if (i && msn + i - 1 > g_max_seq)
        g_max_seq = msn + i - 1;
}

/* One response is complete (body included). */
static void response_done(conn *c, uint64_t now)
{
    int req = c->req;
    c->req = R_NONE;
    c->state = S_IDLE;
    if (req == R_REPLAY_PL)
        c->pl_loads++;
    if (req == R_REPLAY_PL && c->status == 200 && !c->close_after) {
        send_get(c, o_replay_part, R_REPLAY_PART);
        return;
    } else if (req == R_REPLAY_PL || req == R_REPLAY_PART) {
        if (req == R_REPLAY_PART && c->status == 200) {
            c->parts++;
            if (!c->t_first_frame)
                c->t_first_frame = now;
            if (g_measuring)
                c->segs_win++;
        } else if (g_measuring) {
            c->seg_err++;
        }
    } else if (req == R_PLAYLIST) {
        if (c->status == 200)
            playlist_done(c, now);
        else
            c->next_poll = now + (c->ll ? 100000 : 500000);   /* not there yet (503: held too long): retry */
    } else if (req == R_SEGMENT) {
        if (c->status == 200) {
            hm_ts_end(&c->media, now);
            c->segs++;
            if (g_measuring)
                c->segs_win++;
        } else if (g_measuring) {
            c->seg_err++;
        }
        c->qh = (c->qh + 1) % QMAX;
        c->qn--;
        if (!c->qn)
            start_play(c, now);
    } else if (req == R_INIT || req == R_PART) {
        if (c->status == 200) {
            hm_mp4(&c->media, c->mb.p, c->mb.len, now);
            if (req == R_PART) {
                c->parts++;
                if (g_measuring)
                    c->segs_win++;
            }
        } else if (g_measuring) {
            c->seg_err++;
        }
        c->mb.len = 0;
        c->qh = (c->qh + 1) % QMAX;
        c->qn--;
        if (!c->qn)
            start_play(c, now);
    }
    if (c->close_after) {
        conn_close(c, NULL);
        c->why[0] = '\0';
    }
    player_next(c, now);
}

static void body_bytes(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    if (c->req == R_PLAYLIST) {
        if (c->pl.len + n > PL_MAX) {
            conn_close(c, "playlist too large");
            return;
        }
        le_buf_append(&c->pl, p, n);
    } else if (c->req == R_SEGMENT && c->status == 200) {
        hm_ts_feed(&c->media, p, n, now);
    } else if ((c->req == R_INIT || c->req == R_PART) && c->status == 200) {
        if (c->mb.len + n > (64u << 20)) {
            conn_close(c, "fMP4 object too large");
            return;
        }
        le_buf_append(&c->mb, p, n);
    }
}

/* Response bytes after the header; returns what was consumed. */
static size_t body_feed(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    size_t used = 0;
    if (!c->chunked) {
        size_t k = n;
        if (c->clen >= 0 && (uint64_t)k > (uint64_t)c->clen)
            k = (size_t)c->clen;
        body_bytes(c, p, k, now);
        if (c->clen >= 0) {
            c->clen -= (int64_t)k;
            if (c->clen == 0 && c->b.fd >= 0)
                response_done(c, now);
        }
        return k;
    }
    while (used < n && c->state == S_BODY && c->b.fd >= 0) {
        uint8_t ch = p[used];
        switch (c->cstate) {
        case C_SIZE:
            used++;
            if (ch == '\r')
                c->cstate = C_SIZE_LF;
            else if (ch >= '0' && ch <= '9')
                c->crem = c->crem * 16 + (uint64_t)(ch - '0');
            else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
                c->crem = c->crem * 16 + (uint64_t)((ch | 0x20) - 'a' + 10);
            break;
        case C_SIZE_LF:
            used++;
            if (c->crem == 0) {
                /* the last chunk: its CRLF (no trailers expected) */
                c->cstate = C_DATA_CR;
                c->chunked = 2;
            } else {
                c->cstate = C_DATA;
            }
            break;
        case C_DATA: {
            size_t k = n - used < c->crem ? n - used : (size_t)c->crem;
            body_bytes(c, p + used, k, now);
            used += k;
            c->crem -= k;
            if (!c->crem)
                c->cstate = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
            used++;
            c->cstate = C_DATA_LF;
            break;
        case C_DATA_LF:
            used++;
            c->cstate = C_SIZE;
            c->crem = 0;
            if (c->chunked == 2)
                response_done(c, now);
            break;
        }
    }
    return used;
}

static int hdr_parse(conn *c)
{
    c->hdr[c->hdr_len] = '\0';
    if (sscanf(c->hdr, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    c->clen = -1;
    c->chunked = 0;
    c->close_after = 0;
    for (char *l = strstr(c->hdr, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        char *h = l + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            c->clen = atoll(h + 15);
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 && strstr(h, "chunked"))
            c->chunked = 1;
        else if (strncasecmp(h, "Connection:", 11) == 0 && strncasecmp(h + 11 + strspn(h + 11, " "), "close", 5) == 0)
            c->close_after = 1;
    }
    if (c->chunked) {
        c->cstate = C_SIZE;
        c->crem = 0;
    }
    if (c->status == 304 || c->status == 204)
        c->clen = 0;
    if (c->clen < 0 && !c->chunked)
        c->close_after = 1;
    return 0;
}

static void player_read(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    while (n > 0 && c->b.fd >= 0) {
        if (c->state == S_HDR) {
            if (!c->hdr)
                c->hdr = le_xmalloc(HDR_MAX + 1);
            size_t k = 0;
            int done = 0;
            while (k < n && c->hdr_len < HDR_MAX) {
                c->hdr[c->hdr_len++] = (char)p[k++];
                if (c->hdr_len >= 4 && memcmp(c->hdr + c->hdr_len - 4, "\r\n\r\n", 4) == 0) {
                    done = 1;
                    break;
                }
            }
            p += k;
            n -= k;
            if (!done) {
                if (c->hdr_len >= HDR_MAX)
                    conn_close(c, "header too large");
                return;
            }
            if (hdr_parse(c) < 0) {
                conn_close(c, "bad status line");
                return;
            }
            c->state = S_BODY;
            if (!c->chunked && c->clen == 0) {
                response_done(c, now);
                continue;
            }
        } else if (c->state == S_BODY) {
            size_t k = body_feed(c, p, n, now);
            p += k;
            n -= k;
        } else {
            return;   /* bytes with no request: ignored */
        }
    }
}

static void player_connect(conn *c)
{
    int err = bn_connect(&c->b, o_host, o_port);
    if (c->b.fd < 0) {
        snprintf(c->why, sizeof c->why, "socket: %s", strerror(err));
        return;
    }
    c->why[0] = '\0';
    c->state = S_CONNECTING;
    c->t_end = 0;
    if (err)
        conn_close(c, strerror(err));
}

static void player_start(conn *c, int idx)
{
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->b.fd = -1;
    c->b.on_event = player_event;
    c->b.on_fail = on_fail;
    hm_init(&c->media, on_frame, c);
    c->q = le_xcalloc(QMAX, sizeof *c->q);
    c->t_start = bn_now_us();
    c->target_ms = 2000;
    player_next(c, c->t_start);
}

static void player_event(bconn *b, uint32_t ev)
{
    conn *c = (conn *)b;
    if (c->b.fd < 0)
        return;
    if (c->state == S_CONNECTING) {
        int err = bn_conn_error(&c->b);
        if (err) {
            conn_close(c, strerror(err));
            return;
        }
        if (!(ev & EPOLLOUT))
            return;
        c->state = S_HDR;
        bn_flush(&c->b);
        return;
    }
    if (ev & EPOLLOUT)
        bn_flush(&c->b);
    if (c->b.fd < 0 || !(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    for (int k = 0; k < BN_READS_PER_EVENT; k++) {
        ssize_t r = bn_read(&c->b);
        if (r > 0) {
            uint64_t now = bn_now_us();
            c->bytes += (uint64_t)r;
            if (g_measuring)
                g_bytes_win += (uint64_t)r;
            player_read(c, bn_rbuf, (size_t)r, now);
            if (c->b.fd < 0 || (size_t)r < sizeof bn_rbuf)
                return;
            continue;
        }
        if (r == 0) {
            uint64_t now = bn_now_us();
            /* a close-delimited body ends here; a keep-alive one reopens */
            int mid = c->state == S_BODY && c->clen >= 0;
            if (c->state == S_BODY && c->clen < 0 && !c->chunked)
                response_done(c, now);
            if (c->b.fd >= 0) {
                bn_close_fd(&c->b);
                c->state = S_IDLE;
            }
            if (c->req != R_NONE) {
                /* the server closed during a request: redo it */
                if (mid && g_measuring)
                    c->seg_err++;
                c->req = R_NONE;
            }
            c->reconnects++;
            player_next(c, now);
            return;
        }
        if (errno != EAGAIN)
            conn_close(c, strerror(errno));
        return;
    }
}

/* ---- the measured window ---- */

static bn_window g_win;   /* defined below, with its functions */
static uint64_t g_next_tick;   /* 0: the window's first turn */
static uint64_t g_seq0;        /* the newest segment listed at its start */
static uint64_t g_pub0;        /* the publisher's bytes at its start */

static void window_begin(void)
{
    g_pub0 = pubtap_bytes();
    g_measuring = 1;
}

static void window_end(uint64_t t1)
{
    for (int i = 0; i < g_win.opened; i++)
        check_stall(&players[i], t1);
    g_measuring = 0;
}

/* --settle: bytes (for the CPU per GB and mbps) count again once every
 * player is in; segments, stalls, delays and per-player bytes keep
 * counting from the start */
static void window_restart(uint64_t now)
{
    (void)now;
    g_pub0 = pubtap_bytes();
    g_bytes_win = 0;
}

static void open_player(int i)
{
    player_start(&players[i], i);
}

static void window_tick(uint64_t now)
{
    if (!g_seq0 && g_max_seq)
        g_seq0 = g_max_seq;
    if (now >= g_next_tick) {
        for (int i = 0; i < g_win.opened; i++) {
            check_stall(&players[i], now);
            player_next(&players[i], now);
        }
        g_next_tick = now + TICK_US;
    }
}

static void window_report(uint64_t now)
{
    int alive = 0, started = 0;
    for (int i = 0; i < g_win.opened; i++) {
        alive += players[i].b.fd >= 0 || players[i].req == R_NONE;
        started += players[i].t_first_frame != 0;
    }
    double el = (double)(now - g_win.tm) / 1e6;
    bn_log("%s t=%.0fs opened=%d alive=%d started=%d seq=%llu %.1f Mbit/s", bo.label, el, g_win.opened, alive,
           started, (unsigned long long)g_max_seq, (double)g_bytes_win * 8 / el / 1e6);
}

static bn_window g_win = { .begin = window_begin, .open = open_player, .tick = window_tick,
                           .report = window_report, .end = window_end, .restart = window_restart };

/* ---- main ---- */

/* The tap's key of a published frame: its last 32 bytes, as hlsmedia.h
 * keys the frames players receive (short frames are not recorded). */
static uint64_t tap_key(const uint8_t *b, uint32_t len)
{
    return len > 40 ? hm_tail_key(b + len - 32, 32) : 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: hlsload -u http://HOST:PORT/PATH.m3u8 [options]\n"
            "  -n N              players (50)\n"
            "  -r RATE           new players per second during the ramp (200)\n"
            "  -d SECS           measured window, from the first player's start (30)\n"
            "  --settle SECS     bytes and CPU count from SECS after the last player opened,\n"
            "                    for -d seconds (segments, stalls and delays from the start)\n"
            "  --start-segs K    segments behind the newest a player starts with (3)\n"
            "  --tap PORT        listen on 127.0.0.1:PORT for the RTMP publisher, forward to --tap-to\n"
            "  --tap-to H:P      the server's RTMP address (127.0.0.1:1935)\n"
            "  --wait-pub SECS   how long to wait for the publisher's first keyframe (20)\n"
            "  --warmup SECS     then wait this long (3), then until the playlist answers (--wait-pl, 20)\n"
            "  --pid PID         server process to sample (CPU, RSS)\n"
            "  --label STR       copied into the JSON line\n"
            "  --conn-log FILE   one TSV line per player\n"
            "  --replay MS       the LL-HLS request pattern from files: every MS, GET the playlist,\n"
            "                    then --replay-part PATH (the server's path of one part)\n"
            "  -v                log every closed player\n");
    exit(2);
}

static void parse_url(const char *u)
{
    if (strncmp(u, "http://", 7) != 0)
        bn_die("URL must be http://");
    const char *slash = bn_url_host(u + 7, o_host, &o_port);
    snprintf(o_path, sizeof o_path, "%s", slash);
    /* the directory relative segment URIs resolve against */
    size_t q = strcspn(o_path, "?");
    size_t d = q;
    while (d > 0 && o_path[d - 1] != '/')
        d--;
    snprintf(o_dir, sizeof o_dir, "%.*s", (int)d, o_path);
}

/* Is the playlist there, with what a player needs to start? A blocking probe. */
static int playlist_ready(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o_port) };
    inet_pton(AF_INET, o_host, &sa.sin_addr);
    struct timeval tv = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int ok = 0;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char req[1024], resp[65536];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", o_path, o_host);
        if (write(fd, req, (size_t)n) == n) {
            size_t got = 0;
            ssize_t r;
            while (got < sizeof resp - 1 && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
                got += (size_t)r;
            resp[got] = '\0';
            /* TS: as many segments as a player starts with (a player that
             * finds fewer starts with a short buffer); LL: one segment */
            int segs = 0;
            for (const char *x = resp; (x = strstr(x, "#EXTINF")) != NULL; x++)
                segs++;
            int want = strstr(resp, "#EXT-X-PART-INF") ? 1 : o_start_segs;
            ok = strncmp(resp, "HTTP/1.1 200", 12) == 0 && segs >= want;
        }
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "tap", 1, 0, 'T' }, { "tap-to", 1, 0, 'F' }, { "wait-pub", 1, 0, 'W' }, { "warmup", 1, 0, 'w' },
        { "wait-pl", 1, 0, 'Y' }, { "start-segs", 1, 0, 'S' }, { "pid", 1, 0, 'p' }, { "label", 1, 0, 'l' },
        { "conn-log", 1, 0, 'c' }, { "settle", 1, 0, 'E' }, { "replay", 1, 0, 'R' }, { "replay-part", 1, 0, 'P' },
        { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "u:n:r:d:vh", lo, NULL)) != -1) {
        switch (opt) {
        case 'F': pubtap_parse_to(optarg, o_tap_to_host, &o_tap_to_port); break;
        case 'Y': o_wait_pl = atof(optarg); break;
        case 'S': o_start_segs = atoi(optarg); break;
        case 'R': o_replay_ms = atoi(optarg); break;
        case 'P': snprintf(o_replay_part, sizeof o_replay_part, "%s", optarg); break;
        default:
            if (!bn_opt(opt, optarg, &bo))
                usage();
        }
    }
    if (!bo.url || bo.n < 1 || bo.rate <= 0 || bo.dur <= 0 || o_start_segs < 1 || o_replay_ms < 0 ||
        (o_replay_ms > 0) != (o_replay_part[0] == '/'))
        usage();
    parse_url(bo.url);

    bn_init("hlsload", bo.n + 64, bn_run_secs(&bo) + (unsigned)o_wait_pl);
    players = le_xcalloc((size_t)bo.n, sizeof *players);
    for (int i = 0; i < bo.n; i++)
        players[i].b.fd = -1;

    /* 1. the publisher, through the tap; then the playlist */
    if (bo.tap_port)
        pubtap_start(bo.tap_port, o_tap_to_host, o_tap_to_port, tap_key, bo.wait_pub);
    bn_loop_for(bo.warmup, NULL);
    uint64_t t = bn_now_us();
    uint64_t next_try = 0;
    int ready = 0;
    while (!bn_stop && !ready && bn_now_us() - t < (uint64_t)(o_wait_pl * 1e6)) {
        if (bn_now_us() >= next_try) {
            ready = playlist_ready();
            next_try = bn_now_us() + 250000;
        }
        bn_loop_once(10);
    }
    if (!ready)
        bn_die("no playlist with a segment at %s within %.0f s", bo.url, o_wait_pl);

    /* 2. the load: ramp, then hold until the window ends */
    bn_window_run(&g_win, &bo);
    uint64_t t1 = g_win.t1, seq0 = g_seq0;
    int opened = g_win.opened;
    double win_s = (double)(t1 - g_win.tm) / 1e6;   /* what bytes and CPU count over */

    /* 3. results */
    double *ttff = le_xcalloc((size_t)bo.n, sizeof(double));
    double *segs = le_xcalloc((size_t)bo.n, sizeof(double));
    size_t nf = 0;
    int failed = 0, behind = 0;
    uint64_t stalls = 0, stalled = 0, stall_us = 0, gaps = 0, missed = 0, seg_err = 0, reconn = 0, loads = 0;
    uint64_t segs_tot = 0, blocked_us = 0, blocked_n = 0;
    int n_ll = 0;
    FILE *cl = bo.conn_log ? fopen(bo.conn_log, "w") : NULL;
    if (cl)
        fprintf(cl, "idx\tbytes\tsegs\tmissed\tseg_err\tttff_ms\tstalls\tstall_ms\tgaps\tlast_seq\treconnects\twhy\n");
    for (int i = 0; i < opened; i++) {
        conn *c = &players[i];
        uint64_t su = c->stall_total + (c->in_stall && t1 > c->t_stall_start ? t1 - c->t_stall_start : 0);
        if (c->t_first_frame)
            ttff[nf++] = (double)(c->t_first_frame - c->t_start) / 1000;
        else
            failed++;
        segs[i] = (double)c->segs_win;
        segs_tot += c->segs_win;
        stalls += c->stalls;
        stalled += c->stalls > 0;
        stall_us += su;
        gaps += c->gaps;
        missed += c->missed;
        seg_err += c->seg_err;
        reconn += c->reconnects;
        loads += c->pl_loads;
        /* more than one segment behind the newest listed at the end */
        if (o_replay_ms ? 0 : c->ll ? !c->have_part || c->lp_seq + 1 < g_max_seq : !c->have_seq || c->last_seq + 1 < g_max_seq || c->qn > 1)
            behind++;
        n_ll += c->ll;
        blocked_us += c->blocked_us;
        blocked_n += c->blocked_n;
        if (cl)
            fprintf(cl, "%d\t%llu\t%llu\t%llu\t%llu\t%.1f\t%llu\t%.0f\t%llu\t%llu\t%llu\t%s\n", i,
                    (unsigned long long)c->bytes, (unsigned long long)c->segs_win, (unsigned long long)c->missed,
                    (unsigned long long)c->seg_err,
                    c->t_first_frame ? (double)(c->t_first_frame - c->t_start) / 1000 : -1.0,
                    (unsigned long long)c->stalls, (double)su / 1000, (unsigned long long)c->gaps,
                    (unsigned long long)c->last_seq, (unsigned long long)c->reconnects, c->why[0] ? c->why : "-");
    }
    if (cl)
        fclose(cl);
    qsort(ttff, nf, sizeof *ttff, cmp_dbl);
    qsort(segs, (size_t)opened, sizeof *segs, cmp_dbl);
    uint64_t nd, nl;
    double d50 = q_hist(hist_delay, HIST_MS, .5, &nd), d99 = q_hist(hist_delay, HIST_MS, .99, &nd);
    double l50 = q_hist(hist_lat, HIST_MS, .5, &nl), l99 = q_hist(hist_lat, HIST_MS, .99, &nl);

    FILE *o = stdout;
    fprintf(o, "{\"label\":\"%s\",\"proto\":\"%s\",\"n\":%d,\"opened\":%d,\"started\":%zu,\"failed\":%d",
            bo.label, o_replay_ms ? "hls-replay" : n_ll ? "hls-ll" : "hls-ts", bo.n, opened, nf, failed);
    jnum(o, "window_s", win_s, 2);
    fprintf(o, ",\"bytes\":%llu", (unsigned long long)g_bytes_win);
    jnum(o, "mbps", (double)g_bytes_win * 8 / win_s / 1e6, 1);
    jnum(o, "pub_mbps", bo.tap_port ? (double)(pubtap_bytes() - g_pub0) * 8 / win_s / 1e6 : NAN, 3);
    fprintf(o, ",\"segs\":%llu,\"seq_first\":%llu,\"seq_last\":%llu", (unsigned long long)segs_tot,
            (unsigned long long)seq0, (unsigned long long)g_max_seq);
    jnum(o, "segs_min", opened ? segs[0] : NAN, 0);
    jnum(o, "segs_p50", q_sorted(segs, (size_t)opened, .5), 0);
    fprintf(o, ",\"missed\":%llu,\"seg_errors\":%llu,\"behind\":%d,\"playlist_loads\":%llu,\"reconnects\":%llu",
            (unsigned long long)missed, (unsigned long long)seg_err, behind, (unsigned long long)loads,
            (unsigned long long)reconn);
    fprintf(o, ",\"ll_players\":%d", n_ll);
    jnum(o, "blocked_avg_ms", blocked_n ? (double)blocked_us / (double)blocked_n / 1000 : NAN, 1);
    jnum(o, "ttff_p50_ms", q_sorted(ttff, nf, .5), 1);
    jnum(o, "ttff_p99_ms", q_sorted(ttff, nf, .99), 1);
    jnum(o, "ttff_max_ms", nf ? ttff[nf - 1] : NAN, 1);
    fprintf(o, ",\"stalls\":%llu,\"stalled_players\":%llu,\"gaps\":%llu", (unsigned long long)stalls,
            (unsigned long long)stalled, (unsigned long long)gaps);
    jnum(o, "stall_s", (double)stall_us / 1e6, 1);
    jnum(o, "delay_p50_ms", d50, 0);
    jnum(o, "delay_p99_ms", d99, 0);
    jnum(o, "latency_p50_ms", l50, 0);
    jnum(o, "latency_p99_ms", l99, 0);
    fprintf(o, ",\"delay_n\":%llu,\"delay_nomatch\":%llu", (unsigned long long)nd, (unsigned long long)hist_nomatch);
    win_json(o, &g_win.ws, win_s, g_bytes_win, -1);
    fprintf(o, "}\n");
    fflush(o);
    return 0;
}
