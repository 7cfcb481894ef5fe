/* relay/client: the socket layer against an in-process server on loopback
 * (a libevent listener scripted with le_rtmp_hs_respond + le_rtmp_put_*):
 * a sink's output bound (LE_EAGAIN over max_out, writable() below half,
 * bytes_out equal to what the server read), a refused publish, closed()
 * exactly once and never from inside open, a close from inside ready(), a
 * source's packets and byte count, the connect timeout, an HTTP head over
 * 16 KiB, the LE_EINVAL cases of open, and the arriving() calls around a
 * read that ends inside an RTMP message or an FLV tag. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "media/flv.h"
#include "media/pkt.h"
#include "relay/client.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "rtmp/msg.h"
#include "tap.h"

static struct event_base *base;

/* ---- the scripted server ---- */

/* S_PLAY_SPLIT / S_HTTP_SPLIT: as S_PLAY / an FLV body, then the first part
 * of one more message (tag) now and its rest 200 ms later. */
enum { S_PUBLISH_OK = 1, S_PUBLISH_BADNAME, S_PLAY, S_SILENT, S_HTTP_BIGHEAD, S_PLAY_SPLIT, S_HTTP_SPLIT };
#define SPLIT_FIRST 300

static struct {
    int mode;
    int reading;                 /* 0: the server stops reading after the handshake */
    struct bufferevent *bev;
    uint64_t got;                /* bytes read from the client */
    uint64_t sent;               /* bytes the server wrote */
    int answered;
    struct evbuffer *rest;       /* the split message's rest */
} S;

static void s_send(struct evbuffer *o)
{
    S.sent += evbuffer_get_length(o);
    bufferevent_write_buffer(S.bev, o);
}

static void s_send_rest(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    if (S.bev && S.rest)
        s_send(S.rest);
}

/* Sends the first SPLIT_FIRST bytes of o now, keeps the rest for 200 ms. */
static void s_split(struct evbuffer *o)
{
    S.rest = evbuffer_new();
    evbuffer_remove_buffer(o, S.rest, evbuffer_get_length(o));
    evbuffer_remove_buffer(S.rest, o, SPLIT_FIRST);
    struct timeval tv = { 0, 200000 };
    event_base_once(base, -1, EV_TIMEOUT, s_send_rest, NULL, &tv);
}

static void s_cmd(struct evbuffer *o, uint32_t msid, le_buf *b)
{
    le_rtmp_put_body(o, 128, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, msid, b);
    le_buf_free(b);
}

static void s_answer(struct evbuffer *in)
{
    struct evbuffer *o = evbuffer_new();
    uint8_t v[1000];
    memset(v, 7, sizeof(v));
    v[0] = 0x17;
    v[1] = 1;
    if (S.mode == S_HTTP_BIGHEAD) {
        evbuffer_add_printf(o, "HTTP/1.1 200 OK\r\n");
        for (int i = 0; i < 400; i++)
            evbuffer_add_printf(o, "X-Filler-%d: %040d\r\n", i, i);
        evbuffer_add_printf(o, "\r\n");
    } else if (S.mode == S_HTTP_SPLIT) {
        uint8_t fh[13], tag[11 + sizeof(v) + 4];
        evbuffer_add_printf(o, "HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\n\r\n");
        evbuffer_add(o, fh, le_flv_file_header(fh, 0, 1));
        for (uint32_t i = 0; i < 6; i++) {
            if (i == 5)
                s_send(o);
            evbuffer_add(o, tag, le_flv_tag_write(tag, 9, i * 40, v, sizeof(v)));
        }
        s_split(o);
    } else {
        uint8_t c0c1[LE_HS_C0C1_LEN], s012[LE_HS_S0S1S2_LEN];
        evbuffer_remove(in, c0c1, sizeof(c0c1));
        le_rtmp_hs_respond(c0c1, s012, 0);
        evbuffer_add(o, s012, sizeof(s012));
        le_buf b = { 0 };
        le_rtmp_amf_connect_result(&b, 1, 0);
        s_cmd(o, 0, &b);
        le_rtmp_amf_result(&b, 4, 1, 1);
        s_cmd(o, 0, &b);
        if (S.mode == S_PUBLISH_OK) {
            le_rtmp_amf_status(&b, "status", "NetStream.Publish.Start", "go", NULL);
        } else if (S.mode == S_PUBLISH_BADNAME) {
            le_rtmp_amf_status(&b, "error", "NetStream.Publish.BadName", "taken", NULL);
        } else {
            le_rtmp_amf_status(&b, "status", "NetStream.Play.Start", "go", NULL);
        }
        s_cmd(o, 1, &b);
        if (S.mode == S_PLAY || S.mode == S_PLAY_SPLIT) {
            for (uint32_t i = 0; i < 5; i++)
                le_rtmp_put_msg(o, 128, 7, LE_MSG_VIDEO, i * 40, 1, v, sizeof(v));
        }
        if (S.mode == S_PLAY_SPLIT) {
            s_send(o);
            le_rtmp_put_msg(o, 128, 7, LE_MSG_VIDEO, 200, 1, v, sizeof(v));
            s_split(o);
        }
    }
    s_send(o);
    evbuffer_free(o);
}

static void s_read(struct bufferevent *bev, void *arg)
{
    (void)arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (!S.answered) {
        int http = S.mode == S_HTTP_BIGHEAD || S.mode == S_HTTP_SPLIT;
        size_t need = http ? 1 : LE_HS_C0C1_LEN;
        if (evbuffer_get_length(in) < need)
            return;
        if (S.mode == S_SILENT) {
            S.got += evbuffer_get_length(in);
            evbuffer_drain(in, evbuffer_get_length(in));
            return;
        }
        S.got += http ? 0 : LE_HS_C0C1_LEN;
        S.answered = 1;
        s_answer(in);
        if (!S.reading)
            bufferevent_disable(bev, EV_READ);
    }
    S.got += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
}

static void s_event(struct bufferevent *bev, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (bev == S.bev) {
        bufferevent_free(bev);
        S.bev = NULL;
    }
}

static void s_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    (void)l;
    (void)sa;
    (void)len;
    (void)arg;
    if (S.bev)
        bufferevent_free(S.bev);
    S.bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(S.bev, s_read, NULL, s_event, NULL);
    bufferevent_enable(S.bev, EV_READ | EV_WRITE);
}

static void server_reset(int mode, int reading)
{
    if (S.bev)
        bufferevent_free(S.bev);
    if (S.rest)
        evbuffer_free(S.rest);
    memset(&S, 0, sizeof(S));
    S.mode = mode;
    S.reading = reading;
}

/* ---- the client side ---- */

static struct {
    int ready, closed, writable, packets, err;
    char why[512];
    int close_in_ready, close_in_packet;
    uint8_t last_byte;
    le_src *src;
    le_sink *sink;
    int in_open;
    int closed_in_open;
    int arriving;                /* the last arriving() value, -1 before any */
    int arriving_calls, arriving_at_packet;
} C;

static void c_reset(void)
{
    memset(&C, 0, sizeof(C));
    C.arriving = -1;
}

static void c_ready(void *ctx)
{
    (void)ctx;
    C.ready++;
    if (C.close_in_ready) {
        if (C.src) {
            le_src_close(C.src);
            C.src = NULL;
        }
        if (C.sink) {
            le_sink_close(C.sink);
            C.sink = NULL;
        }
    }
    event_base_loopbreak(base);
}

static void c_packet(void *ctx, le_pkt *p)
{
    (void)ctx;
    C.packets++;
    C.arriving_at_packet = C.arriving;
    if (C.close_in_packet && C.src) {
        le_src_close(C.src);
        C.src = NULL;
        C.last_byte = p->data[p->len - 1];   /* still lent for the call */
    }
}

static void c_writable(void *ctx)
{
    (void)ctx;
    C.writable++;
    event_base_loopbreak(base);
}

static void c_closed(void *ctx, int err, const char *why)
{
    (void)ctx;
    C.closed++;
    C.err = err;
    if (C.in_open)
        C.closed_in_open++;
    snprintf(C.why, sizeof(C.why), "%s", why);
    event_base_loopbreak(base);
}

static void c_arriving(void *ctx, int on)
{
    (void)ctx;
    C.arriving = on;
    C.arriving_calls++;
}

static const le_src_ops src_ops = { c_ready, c_packet, c_closed, c_arriving };
static const le_sink_ops sink_ops = { c_ready, c_writable, c_closed };

/* Runs the loop for up to ms or until a callback breaks it. */
static void run_for(int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Runs the loop until cond holds (checked every 10 ms) or ms pass. */
#define RUN_UNTIL(cond, ms) do { \
        for (int w_ = 0; w_ < (ms) / 10 && !(cond); w_++) run_for(10); \
    } while (0)

int main(void)
{
    base = event_base_new();
    le_relay_client_init(base);
    struct sockaddr_in sin = { 0 };
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct evconnlistener *l = evconnlistener_new_bind(base, s_accept, NULL, LEV_OPT_CLOSE_ON_FREE |
                                                       LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof(sin));
    socklen_t sl = sizeof(sin);
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &sl);
    int port = ntohs(sin.sin_port);
    char url[256], hurl[256], conn[64];
    snprintf(url, sizeof(url), "rtmp://127.0.0.1:%d/live/cam?txSecret=abc", port);
    snprintf(hurl, sizeof(hurl), "http://127.0.0.1:%d/live/cam.flv", port);
    snprintf(conn, sizeof(conn), "127.0.0.1:%d", port);

    /* ---- open's LE_EINVAL cases ---- */
    le_src *s = NULL;
    le_sink *k = NULL;
    is_int(le_src_open("rtsp://h/live/a", NULL, &src_ops, NULL, &s), LE_EINVAL, "open: rtsp:// refused");
    is_int(le_src_open("rtmp://h/live/", NULL, &src_ops, NULL, &s), LE_EINVAL, "open: no stream name");
    is_int(le_src_open("rtmp://h:99999/live/a", NULL, &src_ops, NULL, &s), LE_EINVAL, "open: bad port");
    is_int(le_src_open("ftp://h/a.flv", NULL, &src_ops, NULL, &s), LE_EINVAL, "open: ftp:// refused");
    is_int(le_sink_open("http://h/a.flv", NULL, &sink_ops, NULL, &k), LE_EINVAL, "open: a sink is rtmp:// only");
    le_client_opts bad = { .connect_to = "h:0" };
    is_int(le_src_open(url, &bad, &src_ops, NULL, &s), LE_EINVAL, "open: bad connect_to");
    ok(s == NULL && k == NULL, "open: nothing started on LE_EINVAL");
    /* Opened and closed at once (the close cancels: no callback ever). */
    c_reset();
    is_int(le_src_open("https://127.0.0.1:9/a.flv", NULL, &src_ops, NULL, &s), LE_OK, "open: https:// source");
    le_src_close(s);
    is_int(le_src_open(url, NULL, &src_ops, NULL, &s), LE_OK, "open: rtmp:// source");
    le_src_close(s);
    run_for(100);
    is_int(C.closed + C.ready, 0, "open then close: no callback");

    /* ---- sink: output bound, writable, bytes ---- */
    server_reset(S_PUBLISH_OK, 0);
    c_reset();
    le_client_opts o = { .max_out = 64 * 1024, .connect_timeout_ms = 3000 };
    is_int(le_sink_open(url, &o, &sink_ops, NULL, &C.sink), LE_OK, "sink: open");
    RUN_UNTIL(C.ready || C.closed, 3000);
    is_int(C.ready, 1, "sink: ready on NetStream.Publish.Start");
    uint8_t body[10000];
    memset(body, 1, sizeof(body));
    body[0] = 0x27;
    body[1] = 1;
    le_pkt *p = le_pkt_new(LE_PKT_VIDEO, 0, body, sizeof(body));
    int rc = LE_OK, sent = 0;
    while (rc == LE_OK && sent < 5000) {
        rc = le_sink_send(C.sink, p);
        if (rc == LE_OK)
            sent++;
        run_for(1);
    }
    is_int(rc, LE_EAGAIN, "sink: LE_EAGAIN once the server stops reading (after %d packets)", sent);
    ok(le_sink_queued(C.sink) > o.max_out, "sink: over max_out when it says LE_EAGAIN (%zu)", le_sink_queued(C.sink));
    size_t q = le_sink_queued(C.sink);
    is_int(le_sink_send(C.sink, p), LE_EAGAIN, "sink: still LE_EAGAIN, nothing queued");
    is_int(le_sink_queued(C.sink), q, "sink: the queue did not grow");
    ok(C.writable == 0, "sink: no writable() while the server is stalled");
    bufferevent_enable(S.bev, EV_READ);
    RUN_UNTIL(C.writable, 5000);
    is_int(C.writable, 1, "sink: writable() once the server reads again");
    ok(le_sink_queued(C.sink) <= o.max_out / 2, "sink: below half of max_out then");
    RUN_UNTIL(le_sink_queued(C.sink) == 0 && S.got == le_sink_bytes_out(C.sink), 5000);
    is_int(le_sink_bytes_out(C.sink), S.got, "sink: bytes_out is what the server read (%llu)",
           (unsigned long long)S.got);
    ok(S.got > (uint64_t)sent * sizeof(body), "sink: every packet reached the server");
    is_int(C.closed, 0, "sink: no closed() while it runs");
    le_sink_close(C.sink);
    run_for(50);
    is_int(C.closed, 0, "sink: no closed() after the owner's close");
    le_pkt_unref(p);

    /* ---- sink refused ---- */
    server_reset(S_PUBLISH_BADNAME, 1);
    c_reset();
    is_int(le_sink_open(url, NULL, &sink_ops, NULL, &C.sink), LE_OK, "refused: open");
    RUN_UNTIL(C.closed, 3000);
    ok(C.closed == 1 && C.err == LE_EDENIED && strstr(C.why, "NetStream.Publish.BadName"),
       "refused: closed once, LE_EDENIED, BadName in why (%s)", C.why);
    ok(!strstr(C.why, "abc"), "refused: no secret in why");
    p = le_pkt_new(LE_PKT_VIDEO, 0, body, 100);
    is_int(le_sink_send(C.sink, p), LE_EIO, "refused: send after closed is LE_EIO");
    le_pkt_unref(p);
    run_for(50);
    is_int(C.closed, 1, "refused: closed() exactly once");
    le_sink_close(C.sink);

    /* ---- nothing listening: closed later, never inside open ---- */
    c_reset();
    evconnlistener_disable(l);
    {
        /* a port nothing listens on: bind one, close it */
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { 0 };
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd, (struct sockaddr *)&a, sizeof(a));
        socklen_t al = sizeof(a);
        getsockname(fd, (struct sockaddr *)&a, &al);
        char dead[128];
        snprintf(dead, sizeof(dead), "rtmp://127.0.0.1:%d/live/x", ntohs(a.sin_port));
        close(fd);
        C.in_open = 1;
        is_int(le_src_open(dead, NULL, &src_ops, NULL, &C.src), LE_OK, "refused port: open says OK");
        C.in_open = 0;
        is_int(C.closed, 0, "refused port: no closed() from inside open");
        RUN_UNTIL(C.closed, 3000);
        ok(C.closed == 1 && C.err == LE_EIO && strstr(C.why, "refused"), "refused port: closed once with LE_EIO (%s)",
       C.why);
        le_src_close(C.src);
    }
    evconnlistener_enable(l);

    /* ---- source: packets, bytes, close from inside ready ---- */
    server_reset(S_PLAY, 1);
    c_reset();
    is_int(le_src_open(url, NULL, &src_ops, NULL, &C.src), LE_OK, "source: open");
    RUN_UNTIL(C.packets == 5 || C.closed, 3000);
    is_int(C.ready, 1, "source: ready on NetStream.Play.Start");
    is_int(C.packets, 5, "source: five video packets");
    is_int(le_src_bytes_in(C.src), S.sent, "source: bytes_in is what the server sent (%llu)",
           (unsigned long long)S.sent);
    bufferevent_free(S.bev);
    S.bev = NULL;
    RUN_UNTIL(C.closed, 3000);
    ok(C.closed == 1 && C.err == LE_EIO && strstr(C.why, "closed by the server"),
       "source: the server going away is LE_EIO (%s)", C.why);
    le_src_close(C.src);

    server_reset(S_PLAY, 1);
    c_reset();
    C.close_in_ready = 1;
    is_int(le_src_open(url, NULL, &src_ops, NULL, &C.src), LE_OK, "close in ready: open");
    RUN_UNTIL(C.ready, 3000);
    run_for(100);
    ok(C.ready == 1 && C.packets == 0 && C.closed == 0, "close in ready: no callback after the close");

    server_reset(S_PLAY, 1);
    c_reset();
    C.close_in_packet = 1;
    is_int(le_src_open(url, NULL, &src_ops, NULL, &C.src), LE_OK, "close in packet: open");
    RUN_UNTIL(C.packets, 3000);
    run_for(100);
    ok(C.packets == 1 && C.closed == 0 && C.last_byte == 7,
       "close in packet: the packet stays valid for the call, no callback after");

    /* ---- arriving(): the sixth message (tag) arrives in two reads ---- */
    for (int http = 0; http <= 1; http++) {
        const char *what = http ? "arriving, FLV" : "arriving, RTMP";
        server_reset(http ? S_HTTP_SPLIT : S_PLAY_SPLIT, 1);
        c_reset();
        is_int(le_src_open(http ? hurl : url, NULL, &src_ops, NULL, &C.src), LE_OK, "%s: open", what);
        RUN_UNTIL(C.packets >= 5 || C.closed, 3000);
        run_for(100);
        ok(C.packets == 5 && C.arriving == 1, "%s: a read ending inside the sixth: arriving(1) after it (%d packets, %d)",
           what, C.packets, C.arriving);
        RUN_UNTIL(C.packets >= 6 || C.closed, 3000);
        run_for(20);
        ok(C.packets == 6 && C.arriving_at_packet == 1 && C.arriving == 0 && !C.closed,
           "%s: its rest: the packet inside arriving(1), then arriving(0) (%d packets, %d, %d)", what, C.packets,
           C.arriving_at_packet, C.arriving);
        le_src_close(C.src);
        C.src = NULL;
    }

    /* ---- timeout ---- */
    server_reset(S_SILENT, 1);
    c_reset();
    le_client_opts t = { .connect_timeout_ms = 300, .connect_to = conn };
    uint64_t t0 = le_mono_ms();
    is_int(le_src_open("rtmp://origin.invalid/live/cam", &t, &src_ops, NULL, &C.src), LE_OK,
           "timeout: open (connect_to, an unresolvable URL host)");
    RUN_UNTIL(C.closed, 5000);
    uint64_t took = le_mono_ms() - t0;
    ok(C.closed == 1 && C.err == LE_EIO && strstr(C.why, "timed out after 300 ms waiting for the handshake"),
       "timeout: LE_EIO after the connect timeout (%s)", C.why);
    ok(took >= 250 && took < 3000, "timeout: after about 300 ms (%llu)", (unsigned long long)took);
    ok(S.got == LE_HS_C0C1_LEN, "timeout: the server got C0+C1 through connect_to");
    le_src_close(C.src);

    /* ---- HTTP head over 16 KiB ---- */
    server_reset(S_HTTP_BIGHEAD, 1);
    c_reset();
    is_int(le_src_open(hurl, NULL, &src_ops, NULL, &C.src), LE_OK, "big head: open");
    RUN_UNTIL(C.closed, 3000);
    ok(C.closed == 1 && C.err == LE_ETOOBIG, "big head: LE_ETOOBIG (%s)", C.why);
    le_src_close(C.src);

    if (S.bev)
        bufferevent_free(S.bev);
    evconnlistener_free(l);
    le_relay_client_free();
    event_base_free(base);
    return done_testing();
}
