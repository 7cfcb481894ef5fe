/* relay/rtmpc: the RTMP client engine against a server scripted here from
 * le_rtmp_hs_respond and le_rtmp_put_*: the handshake, what connect,
 * createStream, play and publish carry, readiness, media (a chunk size
 * change mid-stream, Abort, aggregate messages, onMetaData), pings, window acks,
 * refusals (BadName, StreamNotFound, connect _error), garbage; one play
 * session split at every byte offset gives the same events. Also relay
 * URL parsing, redirect resolution and masking (relay/url.h, client.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "media/pkt.h"
#include "relay/client.h"
#include "relay/rtmpc.h"
#include "relay/url.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "rtmp/msg.h"
#include "tap.h"

/* ---- the client's output, parsed back into messages ---- */

#define MAXM 64
typedef struct cmsg {
    uint8_t type;
    uint32_t msid, ts, len;
    uint8_t *data;
} cmsg;

typedef struct client_out {
    le_chunk_reader *rd;
    size_t hs_left;            /* handshake bytes still to skip (C0C1, C2) */
    int hs_stage;
    uint8_t c0c1[LE_HS_C0C1_LEN];
    size_t c0c1_len;
    cmsg m[MAXM];
    int n;
} client_out;

static void co_init(client_out *co)
{
    memset(co, 0, sizeof(*co));
    co->rd = le_chunk_reader_new(1 << 20, 64);
    co->hs_left = LE_HS_C0C1_LEN;
}

static void co_free(client_out *co)
{
    for (int i = 0; i < co->n; i++)
        free(co->m[i].data);
    le_chunk_reader_free(co->rd);
}

/* Takes everything the client wrote. */
static void co_take(client_out *co, le_rtmpc *c)
{
    struct evbuffer *o = le_rtmpc_out(c);
    size_t n = evbuffer_get_length(o);
    uint8_t *b = malloc(n + 1);
    evbuffer_remove(o, b, n);
    const uint8_t *p = b;
    while (n > 0) {
        if (co->hs_left) {
            size_t k = n < co->hs_left ? n : co->hs_left;
            if (co->hs_stage == 0)
                memcpy(co->c0c1 + co->c0c1_len, p, k), co->c0c1_len += k;
            co->hs_left -= k;
            p += k;
            n -= k;
            if (co->hs_left == 0 && co->hs_stage == 0) {
                co->hs_stage = 1;
                co->hs_left = LE_HS_SIZE;   /* C2 comes next */
            } else if (co->hs_left == 0) {
                co->hs_stage = 2;
            }
            continue;
        }
        size_t used;
        le_rtmp_msg m;
        int rc = le_chunk_read(co->rd, p, n, &used, &m);
        p += used;
        n -= used;
        if (rc != 1)
            break;
        if (m.type == LE_MSG_SET_CHUNK_SIZE)
            le_chunk_reader_set_chunk_size(co->rd, le_rd_be32(m.data));
        if (co->n < MAXM) {
            cmsg *x = &co->m[co->n++];
            x->type = m.type;
            x->msid = m.msid;
            x->ts = m.ts;
            x->len = m.len;
            x->data = malloc(m.len + 1);
            memcpy(x->data, m.data, m.len);
        }
    }
    free(b);
}

/* Index of the first AMF0 command named name from index from, or -1. */
static int co_find_cmd(const client_out *co, const char *name, int from)
{
    for (int i = from; i < co->n; i++) {
        if (co->m[i].type != LE_MSG_AMF0_CMD)
            continue;
        le_amf_doc d;
        int hit = le_amf_decode(co->m[i].data, co->m[i].len, &d) == 0 && d.nvals > 0 &&
                  le_amf_str_eq(d.vals[0], name);
        le_amf_doc_free(&d);
        if (hit)
            return i;
    }
    return -1;
}

static int co_find_type(const client_out *co, uint8_t type, int from)
{
    for (int i = from; i < co->n; i++)
        if (co->m[i].type == type)
            return i;
    return -1;
}

/* ---- the scripted server ---- */

static uint32_t srv_cs = 128;   /* the server's chunk size */

static void s_cmd(struct evbuffer *s, uint32_t msid, le_buf *b)
{
    le_rtmp_put_body(s, srv_cs, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, msid, b);
    le_buf_free(b);
}

static void s_connect_ok(struct evbuffer *s)
{
    le_rtmp_put_ctrl32(s, srv_cs, LE_MSG_WINDOW_ACK_SIZE, 5000);
    le_rtmp_put_peer_bw(s, srv_cs, 5000, LE_RTMP_BW_DYNAMIC);
    le_buf b = { 0 };
    le_rtmp_amf_connect_result(&b, 1, 0);
    s_cmd(s, 0, &b);
}

static void s_create_ok(struct evbuffer *s, double txn, double id)
{
    le_buf b = { 0 };
    le_rtmp_amf_result(&b, txn, 1, id);
    s_cmd(s, 0, &b);
}

static void s_status(struct evbuffer *s, const char *level, const char *code)
{
    le_buf b = { 0 };
    le_rtmp_amf_status(&b, level, code, "scripted", NULL);
    s_cmd(s, 1, &b);
}

static void s_chunk_size(struct evbuffer *s, uint32_t n)
{
    le_rtmp_put_ctrl32(s, srv_cs, LE_MSG_SET_CHUNK_SIZE, n);
    srv_cs = n;
}

static void s_media(struct evbuffer *s, uint8_t type, uint32_t ts, uint32_t len, uint8_t fill)
{
    uint8_t *d = malloc(len);
    memset(d, fill, len);
    if (type == LE_MSG_VIDEO && len >= 2) {
        d[0] = 0x17;   /* AVC keyframe */
        d[1] = 1;
    } else if (type == LE_MSG_AUDIO && len >= 2) {
        d[0] = 0xaf;
        d[1] = 1;
    }
    le_rtmp_put_msg(s, srv_cs, type == LE_MSG_AUDIO ? 6 : 7, type, ts, 1, d, len);
    free(d);
}

static void s_meta(struct evbuffer *s, uint32_t ts, int with_sdf)
{
    le_buf b = { 0 };
    if (with_sdf)
        le_amf_put_string(&b, "@setDataFrame");
    le_amf_put_string(&b, "onMetaData");
    le_amf_put_ecma_start(&b, 1);
    le_amf_put_prop_number(&b, "width", 640);
    le_amf_put_object_end(&b);
    le_rtmp_put_msg(s, srv_cs, 5, LE_MSG_AMF0_DATA, ts, 1, b.p, (uint32_t)b.len);
    le_buf_free(&b);
}

/* Aggregate of two tags (audio at 100, video at 140) sent with message ts
 * 1000: the sub-messages come out at 1000 and 1040. */
static void s_aggregate(struct evbuffer *s)
{
    uint8_t d[2 * (11 + 4 + 4)];
    size_t o = 0;
    const uint8_t types[2] = { 8, 9 };
    const uint32_t tss[2] = { 100, 140 };
    for (int i = 0; i < 2; i++) {
        d[o] = types[i];
        le_wr_be24(d + o + 1, 4);
        le_wr_be24(d + o + 4, tss[i]);
        d[o + 7] = 0;
        le_wr_be24(d + o + 8, 0);
        memset(d + o + 11, 0x40 + i, 4);
        le_wr_be32(d + o + 15, 15);
        o += 19;
    }
    le_rtmp_put_msg(s, srv_cs, 8, LE_MSG_AGGREGATE, 1000, 1, d, (uint32_t)o);
}

static size_t take(struct evbuffer *s, uint8_t **out)
{
    size_t n = evbuffer_get_length(s);
    *out = malloc(n + 1);
    evbuffer_remove(s, *out, n);
    return n;
}

/* ---- driving the engine ---- */

#define MAXE 64
typedef struct evlog {
    int kind[MAXE];
    uint8_t type[MAXE];
    uint32_t ts[MAXE], len[MAXE], hash[MAXE];
    int err;
    char why[256];
    int n, ended;
} evlog;

static void feed(le_rtmpc *c, const uint8_t *p, size_t n, evlog *e)
{
    for (;;) {
        le_rtmpc_ev ev;
        int k = le_rtmpc_feed(c, &p, &n, &ev);
        if (k == LE_EAGAIN)
            return;
        if (e->n < MAXE) {
            e->kind[e->n] = k;
            if (k == LE_RTMPC_EV_PACKET) {
                e->type[e->n] = ev.pkt->type;
                e->ts[e->n] = ev.pkt->ts;
                e->len[e->n] = ev.pkt->len;
                uint32_t h = 0;
                for (uint32_t i = 0; i < ev.pkt->len; i++)
                    h = h * 31 + ev.pkt->data[i];
                e->hash[e->n] = h;
            }
            e->n++;
        }
        if (k == LE_RTMPC_EV_END) {
            e->ended = 1;
            e->err = ev.err;
            snprintf(e->why, sizeof(e->why), "%s", ev.why);
            return;
        }
    }
}

static le_rtmpc *new_client(int publish, client_out *co, uint32_t max_msg)
{
    le_rtmpc_cfg cfg = {
        .publish = publish, .app = "live", .tcurl = "rtmp://origin.example:1935/live",
        .stream = "cam?token=abc", .max_msg = max_msg,
    };
    le_rtmpc *c = le_rtmpc_new(&cfg);
    co_init(co);
    co_take(co, c);
    return c;
}

static void server_hs(const client_out *co, struct evbuffer *s)
{
    uint8_t s012[LE_HS_S0S1S2_LEN];
    le_rtmp_hs_respond(co->c0c1, s012, 0);
    evbuffer_add(s, s012, sizeof(s012));
}

/* The whole server side of a play session (everything the server says,
 * answers in order), for client c. */
static size_t play_script(const client_out *co, uint8_t **out)
{
    struct evbuffer *s = evbuffer_new();
    srv_cs = 128;
    server_hs(co, s);
    s_connect_ok(s);
    s_create_ok(s, 4, 1);
    le_rtmp_put_user_ctrl(s, srv_cs, LE_RTMP_UC_STREAM_BEGIN, 1);
    s_status(s, "status", "NetStream.Play.Reset");
    s_status(s, "status", "NetStream.Play.Start");
    s_meta(s, 0, 1);
    {
        le_buf b = { 0 };
        le_rtmp_amf_sample_access(&b);
        le_rtmp_put_msg(s, srv_cs, 5, LE_MSG_AMF0_DATA, 0, 1, b.p, (uint32_t)b.len);
        le_buf_free(&b);
    }
    s_media(s, LE_MSG_VIDEO, 0, 300, 1);
    s_media(s, LE_MSG_AUDIO, 20, 50, 2);
    s_chunk_size(s, 1000);
    s_media(s, LE_MSG_VIDEO, 40, 3000, 3);
    le_rtmp_put_user_ctrl(s, srv_cs, LE_RTMP_UC_PING_REQUEST, 1234);
    {
        /* The first chunk of a 3000-byte message on csid 8, then Abort(8):
         * the aggregate that follows on csid 8 starts afresh. */
        struct evbuffer *t = evbuffer_new();
        uint8_t big[3000];
        memset(big, 0x55, sizeof(big));
        le_rtmp_put_msg(t, srv_cs, 8, LE_MSG_VIDEO, 60, 1, big, sizeof(big));
        uint8_t part[12 + 1000];
        evbuffer_remove(t, part, sizeof(part));
        evbuffer_add(s, part, sizeof(part));
        evbuffer_free(t);
        le_rtmp_put_ctrl32(s, srv_cs, LE_MSG_ABORT, 8);
    }
    s_aggregate(s);
    s_chunk_size(s, 77);
    s_media(s, LE_MSG_VIDEO, 80, 2500, 4);
    le_rtmp_put_user_ctrl(s, srv_cs, LE_RTMP_UC_STREAM_EOF, 1);
    size_t n = take(s, out);
    evbuffer_free(s);
    return n;
}

static void test_play(void)
{
    client_out co;
    le_rtmpc *c = new_client(0, &co, 0);
    is_int(co.c0c1_len, LE_HS_C0C1_LEN, "play: C0+C1 written at once");
    is_int(co.c0c1[0], 3, "play: C0 is version 3");
    ok(le_rtmp_hs_c1_is_digest(co.c0c1 + 1), "play: C1 carries a digest");

    uint8_t *script;
    size_t n = play_script(&co, &script);
    evlog e = { 0 };

    /* Handshake only: C2, SetChunkSize, WindowAckSize, connect. */
    feed(c, script, LE_HS_S0S1S2_LEN, &e);
    co_take(&co, c);
    is_int(e.n, 0, "play: no event from the handshake");
    is_str(le_rtmpc_waiting(c), "connect's result", "play: then waiting for connect's result");
    is_int(co.hs_stage, 2, "play: C2 sent after S0+S1+S2");
    ok(co.n >= 3 && co.m[0].type == LE_MSG_SET_CHUNK_SIZE && le_rd_be32(co.m[0].data) == LE_RTMPC_CHUNK,
       "play: SetChunkSize 4096 first");
    ok(co.n >= 3 && co.m[1].type == LE_MSG_WINDOW_ACK_SIZE && le_rd_be32(co.m[1].data) == LE_RTMPC_WINDOW,
       "play: WindowAckSize 2500000");
    int ci = co_find_cmd(&co, "connect", 0);
    ok(ci >= 0, "play: connect sent");
    if (ci >= 0) {
        le_amf_doc d;
        le_amf_decode(co.m[ci].data, co.m[ci].len, &d);
        const le_amf_val *o = d.nvals > 2 ? d.vals[2] : NULL;
        is_int(d.nvals > 1 ? d.vals[1]->num : 0, 1, "connect: transaction 1");
        ok(le_amf_str_eq(le_amf_prop_get(o, "app"), "live"), "connect: app");
        ok(le_amf_str_eq(le_amf_prop_get(o, "tcUrl"), "rtmp://origin.example:1935/live"), "connect: tcUrl");
        ok(le_amf_str_eq(le_amf_prop_get(o, "flashVer"), LE_RTMPC_FLASHVER_PLAY), "connect: flashVer");
        const le_amf_val *v = le_amf_prop_get(o, "fpad");
        ok(v && v->type == LE_AMF_BOOLEAN && v->num == 0, "connect: fpad false");
        v = le_amf_prop_get(o, "capabilities");
        ok(v && v->num == 15, "connect: capabilities 15");
        v = le_amf_prop_get(o, "audioCodecs");
        ok(v && v->num == 4071, "connect: audioCodecs 4071");
        v = le_amf_prop_get(o, "videoCodecs");
        ok(v && v->num == 252, "connect: videoCodecs 252");
        v = le_amf_prop_get(o, "objectEncoding");
        ok(v && v->num == 0, "connect: objectEncoding 0");
        le_amf_doc_free(&d);
    }
    ok(co_find_cmd(&co, "createStream", 0) < 0, "play: no createStream before connect's result");

    /* The rest, as one piece. */
    feed(c, script + LE_HS_S0S1S2_LEN, n - LE_HS_S0S1S2_LEN, &e);
    co_take(&co, c);
    int cs = co_find_cmd(&co, "createStream", 0);
    ok(cs > ci, "play: createStream after connect's result");
    ok(co_find_cmd(&co, "releaseStream", 0) < 0 && co_find_cmd(&co, "FCPublish", 0) < 0,
       "play: no releaseStream / FCPublish");
    int pl = co_find_cmd(&co, "play", 0);
    ok(pl > cs, "play: play after createStream's result");
    if (pl > 0) {
        le_amf_doc d;
        le_amf_decode(co.m[pl].data, co.m[pl].len, &d);
        ok(d.nvals >= 5 && le_amf_str_eq(d.vals[3], "cam?token=abc"), "play: stream name with its query");
        ok(d.nvals >= 5 && d.vals[4]->num == -2000, "play: start -2000");
        is_int(co.m[pl].msid, 1, "play: on the created stream");
        le_amf_doc_free(&d);
    }
    int ub = co_find_type(&co, LE_MSG_USER_CONTROL, pl);
    ok(ub > pl && co.m[ub].len == 10 && le_rd_be16(co.m[ub].data) == LE_RTMP_UC_SET_BUFLEN &&
           le_rd_be32(co.m[ub].data + 2) == 1 && le_rd_be32(co.m[ub].data + 6) == LE_RTMPC_BUFLEN_MS,
       "play: SetBufferLength(1, 3000)");
    int pong = co_find_type(&co, LE_MSG_USER_CONTROL, ub + 1);
    ok(pong > 0 && le_rd_be16(co.m[pong].data) == LE_RTMP_UC_PING_RESPONSE &&
           le_rd_be32(co.m[pong].data + 2) == 1234,
       "play: PingRequest 1234 answered with PingResponse 1234");
    int ack = co_find_type(&co, LE_MSG_ACK, 0);
    ok(ack >= 0, "play: an Acknowledgement after the server's window (5000) of bytes");
    if (ack >= 0) {
        uint32_t v = le_rd_be32(co.m[ack].data);
        ok(v >= 5000 && v < 5000 + 4000, "play: acknowledged %u bytes (window 5000)", v);
    }

    /* Events: READY once, meta, video, audio, big video over a new chunk
     * size, aggregate (2), video over chunk size 77, END on StreamEOF. */
    static const int want_kind[] = { LE_RTMPC_EV_READY, 2, 2, 2, 2, 2, 2, 2, LE_RTMPC_EV_END };
    is_int(e.n, 9, "play: 9 events");
    int same = e.n == 9;
    for (int i = 0; same && i < 9; i++)
        same = e.kind[i] == want_kind[i];
    ok(same, "play: READY, 7 packets, END");
    ok(e.type[1] == LE_PKT_DATA && e.len[1] > 10, "play: onMetaData first, @setDataFrame stripped");
    ok(e.type[2] == LE_PKT_VIDEO && e.len[2] == 300 && e.ts[2] == 0, "play: video 300 bytes at 0");
    ok(e.type[3] == LE_PKT_AUDIO && e.len[3] == 50 && e.ts[3] == 20, "play: audio 50 bytes at 20");
    ok(e.type[4] == LE_PKT_VIDEO && e.len[4] == 3000 && e.ts[4] == 40, "play: 3000-byte video after chunk size 1000");
    ok(e.type[5] == LE_PKT_AUDIO && e.ts[5] == 1000 && e.len[5] == 4, "aggregate: first sub-message at the message's ts");
    ok(e.type[6] == LE_PKT_VIDEO && e.ts[6] == 1040 && e.len[6] == 4, "aggregate: second rebased (+40)");
    ok(e.type[7] == LE_PKT_VIDEO && e.len[7] == 2500 && e.ts[7] == 80, "play: video after chunk size 77");
    is_int(e.err, LE_OK, "play: StreamEOF is a clean end");
    is_int(le_rtmpc_bytes_in(c), n, "play: every byte counted");
    {
        const uint8_t *p = NULL;
        size_t z = 0;
        le_rtmpc_ev ev;
        is_int(le_rtmpc_feed(c, &p, &z, &ev), LE_RTMPC_EV_END, "play: END is sticky");
    }

    /* The same session split at every offset (two pieces), and byte by
     * byte: the same events. */
    int bad = 0;
    for (size_t k = 1; k < n && !bad; k++) {
        client_out co2;
        le_rtmpc *c2 = new_client(0, &co2, 0);
        uint8_t *sc;
        size_t n2 = play_script(&co2, &sc);
        evlog e2 = { 0 };
        feed(c2, sc, k, &e2);
        feed(c2, sc + k, n2 - k, &e2);
        if (n2 != n || e2.n != e.n || e2.err != e.err || memcmp(e2.kind, e.kind, sizeof(e.kind)) ||
            memcmp(e2.ts, e.ts, sizeof(e.ts)) || memcmp(e2.len, e.len, sizeof(e.len)) ||
            memcmp(e2.hash, e.hash, sizeof(e.hash))) {
            bad = 1;
            printf("# split at %zu differs\n", k);
        }
        free(sc);
        le_rtmpc_free(c2);
        co_free(&co2);
    }
    ok(!bad, "play: split at every one of %zu offsets, same events", n);
    {
        client_out co2;
        le_rtmpc *c2 = new_client(0, &co2, 0);
        uint8_t *sc;
        size_t n2 = play_script(&co2, &sc);
        evlog e2 = { 0 };
        for (size_t i = 0; i < n2; i++)
            feed(c2, sc + i, 1, &e2);
        ok(e2.n == e.n && !memcmp(e2.kind, e.kind, sizeof(e.kind)) && !memcmp(e2.hash, e.hash, sizeof(e.hash)),
           "play: byte by byte, same events");
        free(sc);
        le_rtmpc_free(c2);
        co_free(&co2);
    }
    free(script);
    le_rtmpc_free(c);
    co_free(&co);
}

/* A session up to play/publish, then the given status. */
static evlog refused(int publish, const char *level, const char *code)
{
    client_out co;
    le_rtmpc *c = new_client(publish, &co, 0);
    struct evbuffer *s = evbuffer_new();
    srv_cs = 128;
    server_hs(&co, s);
    s_connect_ok(s);
    s_create_ok(s, 4, 1);
    s_status(s, level, code);
    uint8_t *b;
    size_t n = take(s, &b);
    evlog e = { 0 };
    feed(c, b, n, &e);
    free(b);
    evbuffer_free(s);
    le_rtmpc_free(c);
    co_free(&co);
    return e;
}

static void test_publish(void)
{
    client_out co;
    le_rtmpc *c = new_client(1, &co, 0);
    struct evbuffer *s = evbuffer_new();
    srv_cs = 128;
    server_hs(&co, s);
    s_connect_ok(s);
    uint8_t *b;
    size_t n = take(s, &b);
    evlog e = { 0 };
    feed(c, b, n, &e);
    free(b);
    co_take(&co, c);
    int ci = co_find_cmd(&co, "connect", 0);
    if (ci >= 0) {
        le_amf_doc d;
        le_amf_decode(co.m[ci].data, co.m[ci].len, &d);
        ok(d.nvals > 2 && le_amf_str_eq(le_amf_prop_get(d.vals[2], "flashVer"), LE_RTMPC_FLASHVER_PUBLISH),
           "publish: connect with the FMLE flashVer");
        le_amf_doc_free(&d);
    } else {
        ok(0, "publish: connect sent");
    }
    int rs = co_find_cmd(&co, "releaseStream", 0), fc = co_find_cmd(&co, "FCPublish", 0),
        cs = co_find_cmd(&co, "createStream", 0);
    ok(rs > ci && fc > rs && cs > fc, "publish: releaseStream, FCPublish, createStream after connect");
    {
        uint8_t pk[3] = { 0xaf, 1, 0 };
        le_pkt *p = le_pkt_new(LE_PKT_AUDIO, 0, pk, 3);
        is_int(le_rtmpc_send(c, p), LE_EIO, "publish: send before ready is LE_EIO");
        le_pkt_unref(p);
    }
    s_create_ok(s, 4, 7);
    n = take(s, &b);
    feed(c, b, n, &e);
    free(b);
    co_take(&co, c);
    int pub = co_find_cmd(&co, "publish", 0);
    ok(pub > cs, "publish: publish after createStream's result");
    if (pub > 0) {
        le_amf_doc d;
        le_amf_decode(co.m[pub].data, co.m[pub].len, &d);
        ok(d.nvals >= 5 && le_amf_str_eq(d.vals[3], "cam?token=abc") && le_amf_str_eq(d.vals[4], "live"),
           "publish: (cam?token=abc, live)");
        is_int(co.m[pub].msid, 7, "publish: on the created stream id 7");
        le_amf_doc_free(&d);
    }
    ok(!le_rtmpc_ready(c), "publish: not ready before Publish.Start");
    s_status(s, "status", "NetStream.Publish.Start");
    n = take(s, &b);
    feed(c, b, n, &e);
    free(b);
    ok(e.n == 1 && e.kind[0] == LE_RTMPC_EV_READY, "publish: Publish.Start -> READY");

    /* Packets: absolute timestamps, meta as @setDataFrame. */
    le_buf mb = { 0 };
    le_amf_put_string(&mb, "onMetaData");
    le_amf_put_ecma_start(&mb, 0);
    le_amf_put_object_end(&mb);
    le_pkt *meta = le_pkt_new(LE_PKT_DATA, 0, mb.p, (uint32_t)mb.len);
    uint8_t vb[5000];
    memset(vb, 9, sizeof(vb));
    vb[0] = 0x17;
    vb[1] = 1;
    le_pkt *v = le_pkt_new(LE_PKT_VIDEO, 0x1000000 + 5, vb, sizeof(vb));
    le_pkt *a = le_pkt_new(LE_PKT_AUDIO, 77, vb, 10);
    int first = co.n;
    ok(le_rtmpc_send(c, meta) == LE_OK && le_rtmpc_send(c, v) == LE_OK && le_rtmpc_send(c, a) == LE_OK,
       "publish: three packets queued");
    co_take(&co, c);
    ok(co.n == first + 3, "publish: three messages out");
    if (co.n == first + 3) {
        cmsg *m = &co.m[first];
        ok(m->type == LE_MSG_AMF0_DATA && m->msid == 7 && m->len == 16 + mb.len &&
               memcmp(m->data + 3, "@setDataFrame", 13) == 0 && memcmp(m->data + 16, mb.p, mb.len) == 0,
           "publish: onMetaData sent as @setDataFrame + the body");
        m = &co.m[first + 1];
        ok(m->type == LE_MSG_VIDEO && m->len == sizeof(vb) && m->ts == 0x1000000 + 5 &&
               memcmp(m->data, vb, sizeof(vb)) == 0,
           "publish: video whole, extended absolute timestamp");
        m = &co.m[first + 2];
        ok(m->type == LE_MSG_AUDIO && m->ts == 77 && m->len == 10, "publish: audio at absolute 77");
    }
    le_pkt_unref(meta);
    le_pkt_unref(v);
    le_pkt_unref(a);
    le_buf_free(&mb);
    evbuffer_free(s);
    le_rtmpc_free(c);
    co_free(&co);
}

static void test_refusals(void)
{
    evlog e = refused(1, "error", "NetStream.Publish.BadName");
    ok(e.ended && e.err == LE_EDENIED, "publish BadName: LE_EDENIED");
    ok(strstr(e.why, "NetStream.Publish.BadName") != NULL, "publish BadName: the code in why (%s)", e.why);
    e = refused(1, "error", "NetStream.Publish.Denied");
    ok(e.ended && e.err == LE_EDENIED, "publish: any error-level status is LE_EDENIED");
    e = refused(0, "error", "NetStream.Play.StreamNotFound");
    ok(e.ended && e.err == LE_ENOTFOUND && strstr(e.why, "StreamNotFound"), "play StreamNotFound: LE_ENOTFOUND");
    e = refused(0, "error", "NetStream.Play.Failed");
    ok(e.ended && e.err == LE_EDENIED, "play Failed: LE_EDENIED");
    e = refused(0, "status", "NetStream.Play.UnpublishNotify");
    ok(e.ended && e.err == LE_OK, "play UnpublishNotify before Start: clean end");
    e = refused(0, "status", "NetStream.Play.Stop");
    ok(e.ended && e.err == LE_OK, "play Stop: clean end");

    /* connect answered with _error. */
    client_out co;
    le_rtmpc *c = new_client(0, &co, 0);
    struct evbuffer *s = evbuffer_new();
    srv_cs = 128;
    server_hs(&co, s);
    le_buf b = { 0 };
    le_rtmp_amf_error(&b, 1, "NetConnection.Connect.Rejected", "go away");
    s_cmd(s, 0, &b);
    uint8_t *p;
    size_t n = take(s, &p);
    e = (evlog){ 0 };
    feed(c, p, n, &e);
    ok(e.ended && e.err == LE_EDENIED && strstr(e.why, "Connect.Rejected"), "connect _error: LE_EDENIED (%s)",
       e.why);
    free(p);
    le_rtmpc_free(c);
    co_free(&co);

    /* Garbage instead of S0, and a broken chunk stream after a good
     * handshake. */
    c = new_client(0, &co, 0);
    static const uint8_t junk[] = "HTTP/1.0 400 Bad Request\r\n\r\n";
    e = (evlog){ 0 };
    feed(c, junk, sizeof(junk) - 1, &e);
    ok(e.ended && e.err == LE_EPROTO, "garbage S0: LE_EPROTO (%s)", e.why);
    le_rtmpc_free(c);
    co_free(&co);

    c = new_client(0, &co, 0);
    server_hs(&co, s);
    n = take(s, &p);
    e = (evlog){ 0 };
    feed(c, p, n, &e);
    free(p);
    static const uint8_t bad_chunk[] = { 0xc4, 1, 2, 3 };   /* fmt 3 on a chunk stream never started */
    feed(c, bad_chunk, sizeof(bad_chunk), &e);
    ok(e.ended && e.err == LE_EPROTO, "fmt-3 chunk on a new chunk stream: LE_EPROTO");
    le_rtmpc_free(c);
    co_free(&co);

    /* A message over max_msg. */
    c = new_client(0, &co, 1000);
    srv_cs = 128;
    server_hs(&co, s);
    s_connect_ok(s);
    s_create_ok(s, 4, 1);
    s_status(s, "status", "NetStream.Play.Start");
    s_media(s, LE_MSG_VIDEO, 0, 1001, 1);
    n = take(s, &p);
    e = (evlog){ 0 };
    feed(c, p, n, &e);
    ok(e.n == 2 && e.kind[0] == LE_RTMPC_EV_READY && e.err == LE_ETOOBIG, "message over max_msg: LE_ETOOBIG");
    free(p);
    le_rtmpc_free(c);
    co_free(&co);

    /* SetChunkSize 0 is a protocol error. */
    c = new_client(0, &co, 0);
    srv_cs = 128;
    server_hs(&co, s);
    le_rtmp_put_ctrl32(s, srv_cs, LE_MSG_SET_CHUNK_SIZE, 0);
    n = take(s, &p);
    e = (evlog){ 0 };
    feed(c, p, n, &e);
    ok(e.ended && e.err == LE_EPROTO, "SetChunkSize 0: LE_EPROTO");
    free(p);
    le_rtmpc_free(c);
    co_free(&co);
    evbuffer_free(s);
}

static void test_url(void)
{
    le_relay_url u;
    is_int(le_relay_url_parse("rtmp://origin.example/live/cam", &u), LE_OK, "url: rtmp");
    is_str(u.host, "origin.example", "url: host");
    is_int(u.port, 1935, "url: default RTMP port 1935");
    is_str(u.app, "live", "url: app");
    is_str(u.stream, "cam", "url: stream");
    is_str(u.tcurl, "rtmp://origin.example/live", "url: tcUrl");
    is_int(le_relay_url_parse("rtmp://u:p@10.0.0.1:1936/app/inst/sub/cam?txSecret=x&txTime=5", &u), LE_OK,
           "url: rtmp with credentials, port, instance, query");
    is_str(u.host, "10.0.0.1", "url: host without credentials");
    is_int(u.port, 1936, "url: port");
    is_str(u.app, "app/inst/sub", "url: app is the path up to the last /");
    is_str(u.stream, "cam?txSecret=x&txTime=5", "url: stream keeps its query");
    is_str(u.tcurl, "rtmp://10.0.0.1:1936/app/inst/sub", "url: tcUrl without credentials");
    is_int(le_relay_url_parse("rtmp://[::1]:19350/live/a", &u), LE_OK, "url: IPv6 literal");
    is_str(u.host, "::1", "url: IPv6 host without brackets");
    is_int(u.port, 19350, "url: IPv6 port");
    is_int(le_relay_url_parse("rtmps://u:p@origin.example/live/cam?k=1", &u), LE_OK, "url: rtmps");
    is_int(u.scheme, LE_URL_RTMPS, "url: rtmps scheme");
    is_int(u.port, 443, "url: default RTMPS port 443");
    is_str(u.stream, "cam?k=1", "url: rtmps stream");
    is_str(u.tcurl, "rtmps://origin.example/live", "url: rtmps tcUrl");
    is_int(le_relay_url_parse("RTMPS://h:1443/a/b", &u), LE_OK, "url: rtmps, scheme case, port");
    is_int(u.port, 1443, "url: rtmps port");
    is_int(le_relay_url_parse("http://h.example/live/cam.flv?a=1", &u), LE_OK, "url: http");
    is_int(u.port, 80, "url: default HTTP port 80");
    is_str(u.target, "/live/cam.flv?a=1", "url: request target");
    is_str(u.authority, "h.example", "url: Host header value");
    is_int(le_relay_url_parse("http://h.example:8080", &u), LE_OK, "url: http without a path");
    is_str(u.target, "/", "url: target /");
    is_str(u.authority, "h.example:8080", "url: Host with the port");
    static const char *const bad[] = {
        "rtsp://h/live/a", "rtmp:///live/a", "rtmp://h:0/live/a", "rtmp://h:65536/live/a", "rtmp://h:x/live/a",
        "rtmp://h/live/", "rtmp://h/cam", "rtmp://h", "http://", "rtmp://h/live/a b", "", "rtmp://h//cam",
        "rtmps://h/cam", "rtmps:///live/a",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(le_relay_url_parse(bad[i], &u), LE_EINVAL, "url: '%s' refused", bad[i]);

    char out[256];
    le_relay_url_resolve("http://a:81/x/y.flv?q=1", "http://b/z.flv", out, sizeof(out));
    is_str(out, "http://b/z.flv", "redirect: absolute");
    le_relay_url_resolve("http://a:81/x/y.flv?q=1", "/z.flv", out, sizeof(out));
    is_str(out, "http://a:81/z.flv", "redirect: absolute path");
    le_relay_url_resolve("http://a:81/x/y.flv?q=1", "z.flv?r=2", out, sizeof(out));
    is_str(out, "http://a:81/x/z.flv?r=2", "redirect: relative path");
    le_relay_url_resolve("http://a:81/x/y.flv", "//c:82/w.flv", out, sizeof(out));
    is_str(out, "http://c:82/w.flv", "redirect: scheme-relative");

    is_str(le_relay_mask_url("rtmp://user:pw@h/live/cam?txSecret=abc&txTime=65&sign=s&a=1", out, sizeof(out)),
           "rtmp://***@h/live/cam?txSecret=***&txTime=65&sign=***&a=1", "mask: credentials, txSecret, sign");
    is_str(le_relay_mask_url("http://h/a.flv?auth_key=1-0-0-abc&token=t&secret=s&key=k&X-Signature=z&ok=1", out,
                             sizeof(out)),
           "http://h/a.flv?auth_key=***&token=***&secret=***&key=***&X-Signature=***&ok=1",
           "mask: auth_key, token, secret, key, *Signature*");
    is_str(le_relay_mask_url("rtmp://h/live/cam", out, sizeof(out)), "rtmp://h/live/cam", "mask: nothing to hide");
    is_str(le_relay_mask_url("rtmp://u:p@h/live/cam?txSecret=abcdef", out, 12), "rtmp://***@", "mask: truncated to n");
    ok(strstr(le_relay_mask_url("rtmp://h/live/cam?TXSECRET=abc", out, sizeof(out)), "abc") == NULL,
       "mask: names compared without case");
}

/* The rtmp/msg helpers the engine and the server share. */
static void test_msg_helpers(void)
{
    uint8_t d[2 * 19];
    for (int i = 0; i < 2; i++) {
        uint8_t *t = d + 19 * i;
        t[0] = 9;
        le_wr_be24(t + 1, 4);
        le_wr_be24(t + 4, i ? 0xffffff : 0xfffff0);   /* crosses 24 bits with the extension byte */
        t[7] = 0;
        le_wr_be24(t + 8, 0);
        memset(t + 11, i, 4);
        le_wr_be32(t + 15, 15);
    }
    uint32_t off = 0, base = 0;
    le_rtmp_agg_tag t;
    ok(le_rtmp_agg_next(d, sizeof(d), 50, &off, &base, &t) && t.ts == 50 && t.len == 4 && t.data == d + 11,
       "agg: first tag at the message's timestamp");
    ok(le_rtmp_agg_next(d, sizeof(d), 50, &off, &base, &t) && t.ts == 50 + 15 && t.data[0] == 1,
       "agg: second rebased by its offset from the first");
    ok(!le_rtmp_agg_next(d, sizeof(d), 50, &off, &base, &t), "agg: then the end");
    off = 0;
    ok(le_rtmp_agg_next(d, sizeof(d) - 1, 50, &off, &base, &t) && !le_rtmp_agg_next(d, sizeof(d) - 1, 50, &off,
                                                                                       &base, &t),
       "agg: a truncated last tag is left out");
    le_wr_be24(d + 1, 0xffffff);
    off = 0;
    ok(!le_rtmp_agg_next(d, sizeof(d), 50, &off, &base, &t), "agg: a tag size past the message ends it");

    le_buf b = { 0 };
    le_amf_put_string(&b, "@setDataFrame");
    le_amf_put_string(&b, "onMetaData");
    le_amf_put_null(&b);
    const uint8_t *mp;
    uint32_t mn;
    ok(le_rtmp_meta_body(b.p, (uint32_t)b.len, &mp, &mn) == 1 && mp == b.p + 16 && mn == b.len - 16,
       "meta: @setDataFrame stripped");
    ok(le_rtmp_meta_body(b.p + 16, (uint32_t)b.len - 16, &mp, &mn) == 1 && mn == b.len - 16, "meta: plain onMetaData");
    le_buf_free(&b);
    le_amf_put_string(&b, "|RtmpSampleAccess");
    ok(le_rtmp_meta_body(b.p, (uint32_t)b.len, &mp, &mn) == 0, "meta: other data messages are not metadata");
    ok(le_rtmp_meta_body(b.p, 5, &mp, &mn) == 0, "meta: short input");
    le_buf_free(&b);
}

int main(void)
{
    test_msg_helpers();
    test_play();
    test_publish();
    test_refusals();
    test_url();
    return done_testing();
}
