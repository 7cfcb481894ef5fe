/* bench/loadgen.c: livedge's load generator (docs/BENCHMARKS.md). One process, one
 * thread, epoll directly: N RTMP players (real handshake, connect,
 * createStream, play, chunk reader honouring SetChunkSize, acks and pings) or
 * N HTTP-FLV players (GET /APP/NAME.flv, chunked or close-delimited body, FLV
 * tags parsed incrementally), opened at a ramp rate, run for a duration, then
 * one JSON summary line on stdout. Everything it measures is described in
 * docs/BENCHMARKS.md; the short version:
 *
 *  - time to first keyframe: connect() start to the last byte of the first
 *    video keyframe (not a sequence header);
 *  - stalls: a started player with no audio/video message for over 1 s;
 *  - delay added by the server: the load generator is also a transparent TCP
 *    tap between the publisher (ffmpeg) and the server (--tap). It parses the
 *    publisher's chunk stream and notes, for every video frame, the monotonic
 *    time its last byte went to the server, keyed by a hash of the frame's
 *    bytes (length, first 64 and last 32 bytes: servers may rewrite
 *    timestamps, never the payload). A player that receives the same frame
 *    looks the key up: delay = receive time - tap time. Frames the tap sent
 *    before the player's first keyframe (the GOP cache burst) are not counted;
 *  - a "probe" player, opened before the load, reads as fast as it can in
 *    both modes and is polled first in every loop turn (its own epoll set,
 *    like the tap), so its delay is the server's, not this process's backlog;
 *  - server CPU (utime+stime) and RSS (VmRSS, VmHWM) sampled from /proc at
 *    the start and the end of the measured window (--pid).
 *
 * Read modes: "fast" reads whatever is there on every wakeup; "batch" sets
 * SO_RCVLOWAT (32 KiB by default) once a player has its first keyframe, so
 * the kernel wakes it once per 32 KiB (on loopback the sender is charged for
 * its receivers' wakeups). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "media/flvread.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "bnet.h"
#include "procstat.h"
#include "pubtap.h"

#define STALL_US 1000000           /* no media for longer: a stall */
#define HIST_MS 20000              /* delay histogram range, 1 ms buckets */
#define HS_REPLY (1 + 2 * LE_HS_SIZE)

/* A tag larger than this ends the player (the server's own bound is smaller). */
#define FLV_MAX_TAG (16u << 20)

enum { P_RTMP, P_FLV };
enum { M_FAST, M_BATCH };
/* Player states. */
enum { S_IDLE, S_CONNECTING, S_HS, S_CONNECT, S_CREATE, S_PLAY, S_HTTP_HDR, S_FLV, S_CLOSED };
/* HTTP chunked decoder. */
enum { C_SIZE, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_DONE };

typedef struct conn {
    bconn b;                   /* first: the loop hands out &b; prio: the probe */
    int idx;                   /* player index; -1 for the probe */
    int state;                 /* S_* */
    /* measurements (monotonic us) */
    uint64_t t_start, t_first_byte, t_first_key, t_last_media, t_stall_start, t_end;
    uint64_t bytes;            /* bytes read, whole life */
    uint64_t bytes_win;        /* bytes read inside the measured window */
    uint32_t stalls;
    uint64_t stall_us;
    int in_stall;
    int lowat_set;
    char why[80];              /* why it closed, if it did */
    /* RTMP */
    le_chunk_reader *cr;
    uint8_t *hs;               /* S0S1S2 being collected */
    size_t hs_len;
    uint32_t win;              /* peer's window ack size */
    uint64_t in_total, acked;
    uint32_t msid;
    /* HTTP / FLV */
    char *hdr;
    size_t hdr_len;
    int chunked, cstate;
    uint64_t crem;             /* bytes left in the current HTTP chunk */
    le_flvread fr;             /* the FLV body (stream mode: bodies not stored) */
    uint32_t tag_len;
    uint8_t tag_type;
    uint8_t head[64], tail[32];
} conn;

/* ---- options ---- */
static bn_opts bo = BN_OPTS_DEFAULT;
static int o_proto = P_RTMP, o_mode = M_FAST, o_lowat = 32768, o_probe = 1, o_discard;
static char o_host[128] = "127.0.0.1", o_path[512], o_app[256], o_name[256];
static int o_port, o_tap_to_port;
static char o_tap_to_host[128] = "127.0.0.1";

/* ---- state ---- */
static conn *players;          /* bo.n of them */
static conn probe;
static int g_measuring;        /* inside the measured window */
static uint64_t g_bytes_win;   /* bytes read by every player and the probe in the window */
static uint64_t hist_all[HIST_MS + 1], hist_probe[HIST_MS + 1];
static uint64_t hist_nomatch;  /* frames with no tap record (not counted) */

/* ---- frame keys: a payload hash, the same at the tap and at a player ---- */

static uint64_t frame_key(uint32_t len, const uint8_t *head, size_t hl, const uint8_t *tail, size_t tl)
{
    uint8_t le[4];
    le_wr_le32(le, len);
    uint64_t h = le_hash64(le, 4, LE_HASH64_INIT);
    h = le_hash64(head, hl, h);
    h = le_hash64(tail, tl, h);
    return h ? h : 1;
}

static uint64_t body_key(const uint8_t *b, uint32_t len)
{
    size_t hl = len < 64 ? len : 64, tl = len < 32 ? len : 32;
    return frame_key(len, b, hl, b + len - tl, tl);
}


static void conn_close(conn *c, const char *why)
{
    if (!bn_close(&c->b, c->why, sizeof c->why, why))
        return;
    /* The chunk reader and the handshake and header buffers go with the
     * socket; callers stop feeding once fd < 0. */
    le_chunk_reader_free(c->cr);
    c->cr = NULL;
    free(c->hs);
    c->hs = NULL;
    free(c->hdr);
    c->hdr = NULL;
    c->state = S_CLOSED;
    if (!c->t_end)
        c->t_end = bn_now_us();
    if (c->in_stall) {
        c->stall_us += c->t_end - c->t_stall_start;
        c->in_stall = 0;
    }
    if (c->idx >= 0 && bo.verbose)
        bn_log("player %d closed: %s", c->idx, c->why);
}

static void on_fail(bconn *b, const char *why)
{
    conn_close((conn *)b, why);
}

/* One RTMP message, our chunk size (the default 128: we never change it). */
static void rtmp_send(conn *c, uint32_t csid, uint8_t type, uint32_t msid, const uint8_t *d, uint32_t n)
{
    size_t sz = le_chunk_write_size(csid, 0, n, 128);
    le_buf_reserve(&c->b.out, sz);
    c->b.out.len += le_chunk_write(c->b.out.p + c->b.out.len, sz, csid, type, 0, msid, d, n, 128);
}

/* ---- media accounting (both protocols) ---- */

/* A complete audio/video message or tag. key: its payload hash (video). */
/* Media came at now: the stall clock restarts. */
static void media_seen(conn *c, uint64_t now)
{
    c->t_last_media = now;
    if (c->in_stall) {
        c->stall_us += now - c->t_stall_start;
        c->in_stall = 0;
    }
}

static void on_media(conn *c, uint8_t type, const uint8_t *b2, uint32_t len, uint64_t key, uint64_t now)
{
    media_seen(c, now);
    if (type != 9 || !flv_video_is_frame(b2, len))
        return;
    if (!c->t_first_key) {
        if (!flv_video_is_key(b2, len))
            return;
        c->t_first_key = now;
        if (o_mode == M_BATCH && !c->b.prio && o_lowat > 0 && !c->lowat_set) {
            int v = o_lowat;
            if (setsockopt(c->b.fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v) == 0)
                c->lowat_set = 1;
        }
        return;
    }
    uint64_t t = pubtap_time(key);
    if (!t) {
        hist_nomatch++;
        return;
    }
    if (t < c->t_first_key || !g_measuring)
        return;   /* the GOP burst, or outside the window */
    uint64_t d = now > t ? (now - t) / 1000 : 0;
    if (d > HIST_MS)
        d = HIST_MS;
    if (c->b.prio)
        hist_probe[d]++;
    else
        hist_all[d]++;
}

/* ---- RTMP player ---- */

static void rtmp_cmd_connect(conn *c)
{
    char tcurl[600];
    snprintf(tcurl, sizeof tcurl, "rtmp://%s:%d/%s", o_host, o_port, o_app);
    le_buf b = { 0 };
    le_amf_put_string(&b, "connect");
    le_amf_put_number(&b, 1);
    le_amf_put_object_start(&b);
    le_amf_put_prop_string(&b, "app", o_app);
    le_amf_put_prop_string(&b, "flashVer", "LNX 9,0,124,2");
    le_amf_put_prop_string(&b, "tcUrl", tcurl);
    le_amf_put_prop_bool(&b, "fpad", 0);
    le_amf_put_prop_number(&b, "capabilities", 15);
    le_amf_put_prop_number(&b, "audioCodecs", 4071);
    le_amf_put_prop_number(&b, "videoCodecs", 252);
    le_amf_put_prop_number(&b, "videoFunction", 1);
    le_amf_put_object_end(&b);
    rtmp_send(c, 3, LE_MSG_AMF0_CMD, 0, b.p, (uint32_t)b.len);
    le_buf_free(&b);
}

static void rtmp_cmd_simple(conn *c, const char *name, double txn)
{
    le_buf b = { 0 };
    le_amf_put_string(&b, name);
    le_amf_put_number(&b, txn);
    le_amf_put_null(&b);
    rtmp_send(c, 3, LE_MSG_AMF0_CMD, 0, b.p, (uint32_t)b.len);
    le_buf_free(&b);
}

static void rtmp_cmd_play(conn *c)
{
    /* SetBufferLength (user control 3) as ffmpeg and Flash send it. */
    uint8_t uc[10];
    le_wr_be16(uc, 3);
    le_wr_be32(uc + 2, c->msid);
    le_wr_be32(uc + 6, 3000);
    rtmp_send(c, 2, LE_MSG_USER_CONTROL, 0, uc, sizeof uc);
    le_buf b = { 0 };
    le_amf_put_string(&b, "play");
    le_amf_put_number(&b, 3);
    le_amf_put_null(&b);
    le_amf_put_string(&b, o_name);
    le_amf_put_number(&b, -2000);
    rtmp_send(c, 8, LE_MSG_AMF0_CMD, c->msid, b.p, (uint32_t)b.len);
    le_buf_free(&b);
}

static void rtmp_command(conn *c, const uint8_t *d, uint32_t n)
{
    le_amf_doc doc;
    if (le_amf_decode(d, n, &doc) != 0 || doc.nvals < 2 || doc.vals[0]->type != LE_AMF_STRING) {
        le_amf_doc_free(&doc);
        return;
    }
    const le_amf_val *name = doc.vals[0];
    double txn = doc.vals[1]->type == LE_AMF_NUMBER ? doc.vals[1]->num : 0;
    if (le_amf_str_eq(name, "_result")) {
        if (txn == 1 && c->state == S_CONNECT) {
            c->state = S_CREATE;
            uint8_t w[4];
            le_wr_be32(w, 2500000);
            rtmp_send(c, 2, LE_MSG_WINDOW_ACK_SIZE, 0, w, 4);
            rtmp_cmd_simple(c, "createStream", 2);
        } else if (txn == 2 && c->state == S_CREATE) {
            c->msid = doc.nvals >= 4 && doc.vals[3]->type == LE_AMF_NUMBER ? (uint32_t)doc.vals[3]->num : 1;
            c->state = S_PLAY;
            rtmp_cmd_play(c);
        }
    } else if (le_amf_str_eq(name, "_error")) {
        le_amf_doc_free(&doc);
        conn_close(c, "_error");
        return;
    } else if (le_amf_str_eq(name, "onStatus") && doc.nvals >= 4) {
        const le_amf_val *info = doc.vals[3];
        char code[64] = "";
        le_amf_str_copy(le_amf_prop_get(info, "code"), code, sizeof code);
        if (le_amf_str_eq(le_amf_prop_get(info, "level"), "error")) {
            le_amf_doc_free(&doc);
            conn_close(c, code[0] ? code : "onStatus error");
            return;
        }
    }
    le_amf_doc_free(&doc);
}

static void rtmp_message(conn *c, const le_rtmp_msg *m, uint64_t now)
{
    switch (m->type) {
    case LE_MSG_SET_CHUNK_SIZE:
        if (m->len >= 4 && le_chunk_reader_set_chunk_size(c->cr, le_rd_be32(m->data) & 0x7fffffff) < 0)
            conn_close(c, "bad chunk size");
        break;
    case LE_MSG_ABORT:
        if (m->len >= 4)
            le_chunk_reader_abort(c->cr, le_rd_be32(m->data));
        break;
    case LE_MSG_WINDOW_ACK_SIZE:
        if (m->len >= 4)
            c->win = le_rd_be32(m->data);
        break;
    case LE_MSG_USER_CONTROL:
        if (m->len >= 6 && le_rd_be16(m->data) == 6) {   /* PingRequest */
            uint8_t r[6];
            le_wr_be16(r, 7);
            memcpy(r + 2, m->data + 2, 4);
            rtmp_send(c, 2, LE_MSG_USER_CONTROL, 0, r, 6);
        }
        break;
    case LE_MSG_AMF0_CMD:
        rtmp_command(c, m->data, m->len);
        break;
    case LE_MSG_AUDIO:
    case LE_MSG_VIDEO:
        on_media(c, m->type, m->data, m->len, m->type == LE_MSG_VIDEO ? body_key(m->data, m->len) : 0, now);
        break;
    default:
        break;
    }
}

static void rtmp_chunks(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    while (n > 0 && c->b.fd >= 0) {
        size_t used = 0;
        le_rtmp_msg m;
        int rc = le_chunk_read(c->cr, p, n, &used, &m);
        if (rc < 0) {
            conn_close(c, "chunk stream error");
            return;
        }
        p += used;
        n -= used;
        if (rc == 1)
            rtmp_message(c, &m, now);
    }
}

/* Moves up to need - *have bytes of (*p, *n) to dst + *have; 1 once dst
 * holds need bytes. */
static int collect(uint8_t *dst, size_t *have, size_t need, const uint8_t **p, size_t *n)
{
    size_t take = need - *have < *n ? need - *have : *n;
    memcpy(dst + *have, *p, take);
    *have += take;
    *p += take;
    *n -= take;
    return *have == need;
}

/* n more bytes read: an Acknowledgement once the peer's window is full,
 * and whatever is queued goes out. */
static void rtmp_count_in(conn *c, size_t n)
{
    c->in_total += n;
    if (c->win && c->in_total - c->acked >= c->win) {
        uint8_t a[4];
        le_wr_be32(a, (uint32_t)c->in_total);
        rtmp_send(c, 2, LE_MSG_ACK, 0, a, 4);
        c->acked = c->in_total;
    }
    if (c->b.out.len > c->b.out_off)
        bn_flush(&c->b);
}

static void rtmp_feed(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    if (c->state == S_HS) {
        if (!collect(c->hs, &c->hs_len, HS_REPLY, &p, &n))
            return;
        if (c->hs[0] != 3) {
            conn_close(c, "bad S0");
            return;
        }
        uint8_t c2[LE_HS_SIZE];
        le_rtmp_hs_client_c2(c->hs + 1, c2);   /* a bad server digest is not our business */
        free(c->hs);
        c->hs = NULL;
        le_buf_append(&c->b.out, c2, sizeof c2);
        c->state = S_CONNECT;
        rtmp_cmd_connect(c);
        bn_flush(&c->b);
    }
    if (n == 0 || c->b.fd < 0)
        return;
    rtmp_chunks(c, p, n, now);
    if (c->b.fd < 0)
        return;
    rtmp_count_in(c, n);
}

/* --discard: after its first keyframe a player (not the probe) only counts
 * what it reads, every read counting as media for the stall clock; an RTMP
 * player still acknowledges its window. What the receiver spends parsing
 * then drops out of a comparison of servers (docs/BENCHMARKS.md, "Write
 * tick"). */
static void discard_feed(conn *c, size_t n, uint64_t now)
{
    media_seen(c, now);
    if (o_proto == P_RTMP)
        rtmp_count_in(c, n);
}

/* ---- HTTP-FLV player ---- */

static void flv_tag_done(conn *c, uint64_t now)
{
    if (c->tag_type == 8 || c->tag_type == 9) {
        uint32_t len = c->tag_len;
        size_t hl = len < 64 ? len : 64, tl = len < 32 ? len : 32;
        uint64_t key = c->tag_type == 9 ? frame_key(len, c->head, hl, c->tail + (32 - tl), tl) : 0;
        on_media(c, c->tag_type, c->head, (uint32_t)hl, key, now);
    }
}

/* The FLV byte stream, split anywhere (media/flvread.h). A tag body is
 * never stored: its first 64 and last 32 bytes are what the key and the
 * keyframe test need. */
static void flv_feed(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    le_flvread_ev ev;
    while (c->b.fd >= 0) {
        int k = le_flvread_next(&c->fr, &p, &n, &ev);
        if (k == LE_EAGAIN)
            return;
        if (k < 0) {
            conn_close(c, k == LE_ETOOBIG ? "FLV tag too large" : "not FLV");
            return;
        }
        if (k == LE_FLVREAD_BODY) {
            uint32_t pos = ev.offset, len = ev.size, take = (uint32_t)ev.len;
            if (pos < 64) {
                uint32_t m = 64 - pos < take ? 64 - pos : take;
                memcpy(c->head + pos, ev.data, m);
            }
            /* the last 32 bytes, right-aligned in tail[] */
            uint32_t tstart = len > 32 ? len - 32 : 0;
            if (pos + take > tstart) {
                uint32_t from = pos > tstart ? pos : tstart;
                memcpy(c->tail + 32 - (len - from), ev.data + (from - pos), pos + take - from);
            }
        } else if (k == LE_FLVREAD_TAG) {
            c->tag_type = ev.type;
            c->tag_len = ev.size;
            flv_tag_done(c, now);
        }
    }
}

static void http_body(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    if (!c->chunked) {
        flv_feed(c, p, n, now);
        return;
    }
    while (n > 0 && c->b.fd >= 0) {
        switch (c->cstate) {
        case C_SIZE: {
            int d = *p;
            if (d >= '0' && d <= '9')
                c->crem = c->crem * 16 + (uint64_t)(d - '0');
            else if ((d | 0x20) >= 'a' && (d | 0x20) <= 'f')
                c->crem = c->crem * 16 + (uint64_t)((d | 0x20) - 'a' + 10);
            else if (d == '\r')
                c->cstate = C_SIZE_LF;
            else if (d != ';' && d != ' ' && c->crem == 0) {
                conn_close(c, "bad chunk size line");
                return;
            }
            p++, n--;
            break;
        }
        case C_SIZE_LF:
            p++, n--;
            c->cstate = c->crem ? C_DATA : C_DONE;
            if (c->cstate == C_DONE) {
                conn_close(c, "end of body");
                return;
            }
            break;
        case C_DATA: {
            size_t take = c->crem < n ? (size_t)c->crem : n;
            flv_feed(c, p, take, now);
            p += take;
            n -= take;
            c->crem -= take;
            if (c->crem == 0)
                c->cstate = C_DATA_CR;
            break;
        }
        case C_DATA_CR:
            p++, n--;
            c->cstate = C_DATA_LF;
            break;
        case C_DATA_LF:
            p++, n--;
            c->cstate = C_SIZE;
            c->crem = 0;
            break;
        default:
            return;
        }
    }
}

static void http_feed(conn *c, const uint8_t *p, size_t n, uint64_t now)
{
    if (c->state == S_HTTP_HDR) {
        size_t room = 8192 - c->hdr_len;
        size_t take = n < room ? n : room;
        memcpy(c->hdr + c->hdr_len, p, take);
        c->hdr_len += take;
        c->hdr[c->hdr_len] = '\0';
        char *end = strstr(c->hdr, "\r\n\r\n");
        if (!end) {
            if (c->hdr_len >= 8192)
                conn_close(c, "response header too long");
            return;
        }
        size_t hlen = (size_t)(end + 4 - c->hdr);
        int code = 0;
        if (sscanf(c->hdr, "HTTP/%*d.%*d %d", &code) != 1 || code != 200) {
            char why[64];
            snprintf(why, sizeof why, "HTTP status %d", code);
            conn_close(c, why);
            return;
        }
        *end = '\0';
        for (char *l = strstr(c->hdr, "\r\n"); l; l = strstr(l + 2, "\r\n"))
            if (strncasecmp(l + 2, "transfer-encoding:", 18) == 0 && strcasestr(l + 20, "chunked"))
                c->chunked = 1;
        /* Bytes past the header in this read: from the header buffer's
         * overlap with p. */
        size_t before = c->hdr_len - take;   /* header bytes from earlier reads */
        size_t body_off = hlen - before;
        free(c->hdr);
        c->hdr = NULL;
        c->state = S_FLV;
        le_flvread_init(&c->fr, FLV_MAX_TAG, 0);
        c->cstate = C_SIZE;
        p += body_off;
        n -= body_off;
    }
    if (n > 0)
        http_body(c, p, n, now);
}

/* ---- connection setup ---- */

static void player_event(bconn *b, uint32_t ev);

static void player_start(conn *c, int idx, int prio)
{
    memset(c, 0, sizeof *c);
    c->idx = idx;
    c->b.prio = prio;
    c->b.on_event = player_event;
    c->b.on_fail = on_fail;
    c->t_start = bn_now_us();
    c->state = S_CONNECTING;
    int err = bn_connect(&c->b, o_host, o_port);
    if (err && c->b.fd < 0) {
        snprintf(c->why, sizeof c->why, "socket: %s", strerror(err));
        c->state = S_CLOSED;
        c->t_end = c->t_start;
    } else if (err) {
        conn_close(c, strerror(err));
    }
}

static void player_connected(conn *c)
{
    int err = bn_conn_error(&c->b);
    if (err) {
        conn_close(c, strerror(err));
        return;
    }
    if (o_proto == P_RTMP) {
        uint8_t c0c1[LE_HS_C0C1_LEN];
        le_rtmp_hs_client_c0c1(c0c1, 1);
        c->cr = le_chunk_reader_new(16u << 20, 64);
        c->hs = le_xmalloc(HS_REPLY);
        c->state = S_HS;
        bn_send(&c->b, c0c1, sizeof c0c1);
    } else {
        char req[1024];
        int n = snprintf(req, sizeof req,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: livedge-loadgen\r\n"
                         "Accept: */*\r\nConnection: keep-alive\r\n\r\n", o_path, o_host, o_port);
        c->hdr = le_xmalloc(8193);
        c->state = S_HTTP_HDR;
        bn_send(&c->b, req, (size_t)n);
    }
}

static void player_event(bconn *b, uint32_t ev)
{
    conn *c = (conn *)b;
    if (c->b.fd < 0)
        return;
    if (c->state == S_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            player_connected(c);
        return;
    }
    if (ev & EPOLLOUT)
        bn_flush(&c->b);
    if (!(ev & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        return;
    for (int k = 0; k < BN_READS_PER_EVENT && c->b.fd >= 0; k++) {
        ssize_t r = bn_read(&c->b);
        if (r > 0) {
            uint64_t now = bn_now_us();
            if (!c->t_first_byte)
                c->t_first_byte = now;
            c->bytes += (uint64_t)r;
            if (g_measuring) {
                c->bytes_win += (uint64_t)r;
                g_bytes_win += (uint64_t)r;
            }
            if (o_discard && c->t_first_key && !c->b.prio)
                discard_feed(c, (size_t)r, now);
            else if (o_proto == P_RTMP)
                rtmp_feed(c, bn_rbuf, (size_t)r, now);
            else
                http_feed(c, bn_rbuf, (size_t)r, now);
            if ((size_t)r < sizeof bn_rbuf)
                break;
            continue;
        }
        if (r == 0) {
            conn_close(c, "closed by server");
            return;
        }
        if (errno != EAGAIN)
            conn_close(c, strerror(errno));
        return;
    }
}

static void check_stalls(uint64_t now)
{
    for (int i = -1; i < bo.n; i++) {
        conn *c = i < 0 ? &probe : &players[i];
        if (c->b.fd < 0 || !c->t_first_key || c->in_stall)
            continue;
        if (now - c->t_last_media > STALL_US) {
            c->stalls++;
            c->in_stall = 1;
            c->t_stall_start = c->t_last_media;
        }
    }
}

/* ---- the measured window ---- */

static bn_window g_win;   /* defined below, with its functions */
static uint64_t g_next_stall;   /* 0: the window's first turn */
static uint64_t g_pub0;         /* the publisher's bytes at its start */

static void window_begin(void)
{
    g_pub0 = pubtap_bytes();
    g_measuring = 1;
}

static void window_end(uint64_t t1)
{
    g_measuring = 0;
    check_stalls(t1);
}

/* --settle: the window starts again once every player is in */
static void window_restart(uint64_t now)
{
    (void)now;
    g_pub0 = pubtap_bytes();
    g_bytes_win = 0;
    for (int i = 0; i < g_win.opened; i++)
        players[i].bytes_win = 0;
}

static void open_player(int i)
{
    player_start(&players[i], i, 0);
}

static void window_tick(uint64_t now)
{
    if (now >= g_next_stall) {
        check_stalls(now);
        g_next_stall = now + 100000;
    }
}

static void window_report(uint64_t now)
{
    int alive = 0, started = 0;
    for (int i = 0; i < g_win.opened; i++) {
        alive += players[i].b.fd >= 0;
        started += players[i].t_first_key != 0;
    }
    double el = (double)(now - g_win.tm) / 1e6;
    bn_log("%s t=%.0fs opened=%d alive=%d started=%d %.1f Mbit/s", bo.label, el, g_win.opened, alive, started,
           (double)g_bytes_win * 8 / el / 1e6);
}

static bn_window g_win = { .begin = window_begin, .open = open_player, .tick = window_tick,
                           .report = window_report, .end = window_end, .restart = window_restart };

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen -u URL [options]\n"
            "  -u URL            rtmp://HOST:PORT/APP/NAME or http://HOST:PORT/APP/NAME.flv (IPv4)\n"
            "  -n N              players (50)\n"
            "  -r RATE           new connections per second during the ramp (200)\n"
            "  -d SECS           measured window, from the first player's start (30)\n"
            "  --settle SECS     the window starts SECS after the last player opened instead\n"
            "  -m fast|batch     read as fast as possible, or SO_RCVLOWAT after the first keyframe\n"
            "  --lowat BYTES     SO_RCVLOWAT in batch mode (32768)\n"
            "  --tap PORT        listen on 127.0.0.1:PORT for the publisher, forward to the server\n"
            "  --tap-to H:P      where the tap forwards (default: the URL's host and port if RTMP)\n"
            "  --wait-pub SECS   how long to wait for the publisher's first keyframe (20)\n"
            "  --warmup SECS     after that, before the probe (3; fills the server's GOP cache)\n"
            "  --no-probe        no probe player\n"
            "  --discard         fast readers that, after the first keyframe, only count what they read\n"
            "                    (not the probe); reported as mode \"discard\"\n"
            "  --pid PID         server process to sample (CPU from /proc/PID/stat, RSS from status)\n"
            "  --label STR       copied into the JSON line\n"
            "  --conn-log FILE   one TSV line per player\n"
            "  -v                log every closed player\n");
    exit(2);
}

static void parse_url(const char *u)
{
    const char *rest;
    if (strncmp(u, "rtmp://", 7) == 0) {
        o_proto = P_RTMP;
        rest = u + 7;
    } else if (strncmp(u, "http://", 7) == 0) {
        o_proto = P_FLV;
        rest = u + 7;
    } else {
        bn_die("URL must be rtmp:// or http://");
    }
    o_port = o_proto == P_RTMP ? 1935 : 80;
    const char *slash = bn_url_host(rest, o_host, &o_port);
    snprintf(o_path, sizeof o_path, "%s", slash);
    /* RTMP: /APP/NAME (the name may hold slashes and a query) */
    const char *s2 = strchr(slash + 1, '/');
    if (!s2)
        bn_die("URL path must be /APP/NAME");
    snprintf(o_app, sizeof o_app, "%.*s", (int)(s2 - slash - 1), slash + 1);
    snprintf(o_name, sizeof o_name, "%s", s2 + 1);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "lowat", 1, 0, 'L' }, { "tap", 1, 0, 'T' }, { "tap-to", 1, 0, 'F' },
        { "wait-pub", 1, 0, 'W' }, { "warmup", 1, 0, 'w' }, { "no-probe", 0, 0, 'P' },
        { "pid", 1, 0, 'p' }, { "label", 1, 0, 'l' }, { "conn-log", 1, 0, 'c' },
        { "discard", 0, 0, 'D' }, { "settle", 1, 0, 'E' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 }
    };
    const char *tap_to = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "u:n:r:d:m:vh", lo, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (strcmp(optarg, "fast") == 0) o_mode = M_FAST;
            else if (strcmp(optarg, "batch") == 0) o_mode = M_BATCH;
            else usage();
            break;
        case 'L': o_lowat = atoi(optarg); break;
        case 'F': tap_to = optarg; break;
        case 'P': o_probe = 0; break;
        case 'D': o_discard = 1; o_mode = M_FAST; break;
        default:
            if (!bn_opt(opt, optarg, &bo))
                usage();
        }
    }
    if (!bo.url || bo.n < 0 || bo.rate <= 0 || bo.dur <= 0)
        usage();
    parse_url(bo.url);
    if (bo.tap_port) {
        if (tap_to) {
            pubtap_parse_to(tap_to, o_tap_to_host, &o_tap_to_port);
        } else if (o_proto == P_RTMP) {
            snprintf(o_tap_to_host, sizeof o_tap_to_host, "%s", o_host);
            o_tap_to_port = o_port;
        } else {
            bn_die("--tap with an http:// URL needs --tap-to HOST:PORT (the server's RTMP port)");
        }
    }

    /* Enough descriptors for every player, the probe and the tap. */
    bn_init("loadgen", bo.n + 64, bn_run_secs(&bo));
    players = le_xcalloc((size_t)bo.n + 1, sizeof *players);
    for (int i = 0; i < bo.n; i++)
        players[i].b.fd = -1;
    probe.b.fd = -1;

    /* 1. the publisher, through the tap */
    if (bo.tap_port) {
        pubtap_start(bo.tap_port, o_tap_to_host, o_tap_to_port, body_key, bo.wait_pub);
        bn_loop_for(bo.warmup, NULL);   /* the server's GOP cache fills */
    }
    /* 2. the probe */
    if (o_probe) {
        player_start(&probe, -1, 1);
        uint64_t t = bn_now_us();
        while (!bn_stop && !probe.t_first_key && probe.b.fd >= 0 && bn_now_us() - t < 10000000u)
            bn_loop_once(10);
        if (!probe.t_first_key)
            bn_die("the probe got no keyframe within 10 s (%s)", probe.why[0] ? probe.why : "timeout");
        bn_log("probe: first keyframe after %.1f ms", (double)(probe.t_first_key - probe.t_start) / 1000);
    }
    /* 3. the load: ramp, then hold until the window ends */
    bn_window_run(&g_win, &bo);
    uint64_t t1 = g_win.t1;
    int opened = g_win.opened;
    double win_s = (double)(t1 - g_win.tm) / 1e6;   /* what bytes and CPU count over */

    /* 4. results */
    double *ttfk = le_xcalloc((size_t)bo.n + 1, sizeof(double));
    double *rate = le_xcalloc((size_t)bo.n + 1, sizeof(double));
    size_t nk = 0, nr = 0;
    int failed = 0, closed = 0, nokey = 0;
    uint64_t stalls = 0, stalled_conns = 0, stall_us = 0, bytes_players = 0;
    FILE *cl = bo.conn_log ? fopen(bo.conn_log, "w") : NULL;
    if (cl)
        fprintf(cl, "idx\tbytes\trate_mbps\tttfk_ms\tstalls\tstall_ms\tclosed\n");
    for (int i = 0; i < opened; i++) {
        conn *c = &players[i];
        uint64_t end = c->b.fd >= 0 ? t1 : c->t_end;
        if (c->in_stall)
            c->stall_us += end - c->t_stall_start;
        bytes_players += c->bytes_win;
        if (c->t_first_key)
            ttfk[nk++] = (double)(c->t_first_key - c->t_start) / 1000;
        else
            nokey++;
        if (c->b.fd < 0) {
            closed++;
            if (!c->t_first_key)
                failed++;
        }
        double life = (double)(end - c->t_start) / 1e6;
        double r = life > 0 ? (double)c->bytes * 8 / life / 1e6 : 0;
        if (c->t_first_key)
            rate[nr++] = r;
        stalls += c->stalls;
        stalled_conns += c->stalls > 0;
        stall_us += c->stall_us;
        if (cl)
            fprintf(cl, "%d\t%llu\t%.3f\t%.1f\t%u\t%.0f\t%s\n", i, (unsigned long long)c->bytes, r,
                    c->t_first_key ? (double)(c->t_first_key - c->t_start) / 1000 : -1.0, c->stalls,
                    (double)c->stall_us / 1000, c->b.fd >= 0 ? "-" : c->why);
    }
    if (cl)
        fclose(cl);
    qsort(ttfk, nk, sizeof *ttfk, cmp_dbl);
    qsort(rate, nr, sizeof *rate, cmp_dbl);
    uint64_t nd_all, nd_probe;
    double d50 = q_hist(hist_all, HIST_MS, .5, &nd_all), d99 = q_hist(hist_all, HIST_MS, .99, &nd_all);
    double p50 = q_hist(hist_probe, HIST_MS, .5, &nd_probe), p99 = q_hist(hist_probe, HIST_MS, .99, &nd_probe);

    /* the most common close reason, for a quick look */
    const char *why = "";
    int why_n = 0;
    for (int i = 0; i < opened && i < 4096; i++) {
        if (players[i].b.fd >= 0 || !players[i].why[0])
            continue;
        int k = 0;
        for (int j = 0; j < opened; j++)
            k += players[j].b.fd < 0 && strcmp(players[j].why, players[i].why) == 0;
        if (k > why_n) {
            why_n = k;
            why = players[i].why;
        }
        if (why_n > opened / 2)
            break;
    }

    FILE *o = stdout;
    fprintf(o, "{\"label\":\"%s\",\"proto\":\"%s\",\"mode\":\"%s\",\"n\":%d,\"opened\":%d", bo.label,
            o_proto == P_RTMP ? "rtmp" : "flv", o_discard ? "discard" : o_mode == M_FAST ? "fast" : "batch", bo.n,
            opened);
    fprintf(o, ",\"started\":%zu,\"nokey\":%d,\"failed\":%d,\"closed\":%d,\"close_reason\":\"%s\"", nk, nokey,
            failed, closed, why);
    jnum(o, "window_s", win_s, 2);
    fprintf(o, ",\"bytes\":%llu,\"bytes_players\":%llu", (unsigned long long)g_bytes_win,
            (unsigned long long)bytes_players);
    jnum(o, "mbps", (double)g_bytes_win * 8 / win_s / 1e6, 1);
    jnum(o, "pub_mbps", bo.tap_port ? (double)(pubtap_bytes() - g_pub0) * 8 / win_s / 1e6 : NAN, 3);
    jnum(o, "rate_p1_mbps", q_sorted(rate, nr, .01), 3);
    jnum(o, "rate_p50_mbps", q_sorted(rate, nr, .5), 3);
    jnum(o, "ttfk_p50_ms", q_sorted(ttfk, nk, .5), 1);
    jnum(o, "ttfk_p99_ms", q_sorted(ttfk, nk, .99), 1);
    jnum(o, "ttfk_max_ms", nk ? ttfk[nk - 1] : NAN, 1);
    fprintf(o, ",\"stalls\":%llu,\"stalled_conns\":%llu", (unsigned long long)stalls,
            (unsigned long long)stalled_conns);
    jnum(o, "stall_s", (double)stall_us / 1e6, 1);
    jnum(o, "delay_p50_ms", d50, 0);
    jnum(o, "delay_p99_ms", d99, 0);
    fprintf(o, ",\"delay_n\":%llu", (unsigned long long)nd_all);
    jnum(o, "probe_delay_p50_ms", p50, 0);
    jnum(o, "probe_delay_p99_ms", p99, 0);
    fprintf(o, ",\"probe_delay_n\":%llu,\"delay_nomatch\":%llu", (unsigned long long)nd_probe,
            (unsigned long long)hist_nomatch);
    win_json(o, &g_win.ws, win_s, g_bytes_win, bo.n);
    fprintf(o, "}\n");
    fflush(o);
    return 0;
}
