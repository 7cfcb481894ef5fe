/* libFuzzer target for the RTMP client engine (relay/rtmpc.h): a client
 * gets a valid S0+S1+S2 for its C0+C1, then (by the first input byte) play
 * or publish mode, optionally a canned connect/createStream/start exchange
 * to reach the ready state, then the rest of the input as server bytes,
 * whole to one engine and in pieces (sizes from the input) to another. Both
 * must give the same events; every event must keep what rtmpc.h promises
 * (packets non-empty, END final and sticky), and a ready publisher keeps
 * sending.
 *   clang -g -fsanitize=fuzzer,address,undefined -I../src fuzz_rtmpc.c \
 *     ../src/relay/rtmpc.c ../src/rtmp/{msg,chunk,handshake}.c \
 *     ../src/media/{amf,pkt,flv}.c ../src/core/{util,err}.c -levent -lcrypto */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "relay/rtmpc.h"
#include "rtmp/handshake.h"
#include "rtmp/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct result {
    int nev, ready, ended, err;
    uint64_t pkts, bytes;
    uint32_t hash;
} result;

static void canned(struct evbuffer *s, int publish)
{
    le_buf b = { 0 };
    le_rtmp_amf_connect_result(&b, 1, 0);
    le_rtmp_put_body(s, 128, 3, 20, 0, &b);
    le_buf_free(&b);
    le_rtmp_amf_result(&b, 4, 1, 1);
    le_rtmp_put_body(s, 128, 3, 20, 0, &b);
    le_buf_free(&b);
    le_rtmp_amf_status(&b, "status", publish ? "NetStream.Publish.Start" : "NetStream.Play.Start", "", NULL);
    le_rtmp_put_body(s, 128, 3, 20, 1, &b);
    le_buf_free(&b);
}

static void run(const uint8_t *data, size_t size, int split, result *r)
{
    memset(r, 0, sizeof(*r));
    int publish = data[0] & 1, ready_first = data[0] & 2;
    le_rtmpc_cfg cfg = { .publish = publish, .app = "live", .tcurl = "rtmp://h/live", .stream = "s",
                         .max_msg = 65536 };
    le_rtmpc *c = le_rtmpc_new(&cfg);
    if (!c)
        abort();
    uint8_t c0c1[LE_HS_C0C1_LEN], s012[LE_HS_S0S1S2_LEN];
    struct evbuffer *o = le_rtmpc_out(c);
    if (evbuffer_remove(o, c0c1, sizeof(c0c1)) != (int)sizeof(c0c1))
        abort();
    if (le_rtmp_hs_respond(c0c1, s012, 0) != 0)
        abort();
    struct evbuffer *s = evbuffer_new();
    evbuffer_add(s, s012, sizeof(s012));
    if (ready_first)
        canned(s, publish);
    evbuffer_add(s, data + 1, size - 1);
    size_t n = evbuffer_get_length(s);
    uint8_t *in = malloc(n);
    evbuffer_remove(s, in, n);
    evbuffer_free(s);

    size_t off = 0, step = 1;
    while (off < n) {
        size_t k = n - off;
        if (split) {
            step = (step * 7 + in[off]) % 61 + 1;
            if (k > step)
                k = step;
        }
        const uint8_t *p = in + off;
        size_t left = k;
        off += k;
        for (;;) {
            le_rtmpc_ev ev;
            int e = le_rtmpc_feed(c, &p, &left, &ev);
            if (e == LE_EAGAIN) {
                if (left != 0)
                    abort();
                break;
            }
            r->nev++;
            if (r->ended)
                abort();   /* nothing after END but END */
            if (e == LE_RTMPC_EV_READY) {
                if (r->ready || !le_rtmpc_ready(c))
                    abort();
                r->ready = 1;
            } else if (e == LE_RTMPC_EV_PACKET) {
                if (publish || !ev.pkt || ev.pkt->len == 0 || ev.pkt->len > cfg.max_msg)
                    abort();
                r->pkts++;
                r->bytes += ev.pkt->len;
                r->hash = r->hash * 31 + ev.pkt->type + ev.pkt->ts + ev.pkt->data[ev.pkt->len - 1];
            } else if (e == LE_RTMPC_EV_END) {
                if (ev.err > 0 || ev.err <= LE_ELAST)
                    abort();
                r->ended = 1;
                r->err = ev.err;
                if (le_rtmpc_feed(c, &p, &left, &ev) != LE_RTMPC_EV_END || ev.err != r->err)
                    abort();
                break;
            } else {
                abort();
            }
        }
        if (r->ended)
            break;
        if (publish && le_rtmpc_ready(c)) {
            uint8_t v[3] = { 0x17, 1, 0 };
            le_pkt *pk = le_pkt_new(9, (uint32_t)off, v, 3);
            if (le_rtmpc_send(c, pk) != LE_OK)
                abort();
            le_pkt_unref(pk);
        }
        evbuffer_drain(o, evbuffer_get_length(o));
    }
    free(in);
    le_rtmpc_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    result a, b;
    run(data, size, 0, &a);
    run(data, size, 1, &b);
    if (a.nev != b.nev || a.ready != b.ready || a.ended != b.ended || a.err != b.err || a.pkts != b.pkts ||
        a.bytes != b.bytes || a.hash != b.hash)
        abort();
    return 0;
}
