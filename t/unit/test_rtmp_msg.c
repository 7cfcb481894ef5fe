/* rtmp/msg: exact bytes of the control messages and command bodies both the
 * server and the client send. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/msg.h"
#include "tap.h"

/* Takes everything out of ev into buf; returns the length. */
static size_t drain(struct evbuffer *ev, uint8_t *buf, size_t cap)
{
    size_t n = evbuffer_get_length(ev);
    if (n > cap)
        n = cap;
    evbuffer_remove(ev, buf, n);
    evbuffer_drain(ev, evbuffer_get_length(ev));
    return n;
}

static int same(const uint8_t *got, size_t gotn, const uint8_t *want, size_t wantn)
{
    return gotn == wantn && memcmp(got, want, wantn) == 0;
}

int main(void)
{
    struct evbuffer *ev = evbuffer_new();
    uint8_t got[1024];
    size_t n;

    /* SetChunkSize 4096: fmt 0 csid 2, ts 0, len 4, type 1, msid 0. */
    is_int(le_rtmp_put_ctrl32(ev, 128, LE_MSG_SET_CHUNK_SIZE, 4096), LE_OK, "set chunk size: put");
    n = drain(ev, got, sizeof(got));
    static const uint8_t scs[] = { 0x02, 0, 0, 0, 0, 0, 4, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x10, 0x00 };
    ok(same(got, n, scs, sizeof(scs)), "set chunk size: bytes");

    /* WindowAckSize 2500000 (0x2625A0). */
    le_rtmp_put_ctrl32(ev, 128, LE_MSG_WINDOW_ACK_SIZE, 2500000);
    n = drain(ev, got, sizeof(got));
    static const uint8_t was[] = { 0x02, 0, 0, 0, 0, 0, 4, 0x05, 0, 0, 0, 0, 0x00, 0x26, 0x25, 0xA0 };
    ok(same(got, n, was, sizeof(was)), "window ack size: bytes");

    /* SetPeerBandwidth 2500000, dynamic. */
    le_rtmp_put_peer_bw(ev, 128, 2500000, LE_RTMP_BW_DYNAMIC);
    n = drain(ev, got, sizeof(got));
    static const uint8_t spb[] = { 0x02, 0, 0, 0, 0, 0, 5, 0x06, 0, 0, 0, 0, 0x00, 0x26, 0x25, 0xA0, 0x02 };
    ok(same(got, n, spb, sizeof(spb)), "set peer bandwidth: bytes");

    /* User control: StreamBegin 1, PingResponse echoing 0x01020304. */
    le_rtmp_put_user_ctrl(ev, 128, LE_RTMP_UC_STREAM_BEGIN, 1);
    n = drain(ev, got, sizeof(got));
    static const uint8_t sb[] = { 0x02, 0, 0, 0, 0, 0, 6, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
    ok(same(got, n, sb, sizeof(sb)), "stream begin: bytes");
    le_rtmp_put_user_ctrl(ev, 128, LE_RTMP_UC_PING_RESPONSE, 0x01020304);
    n = drain(ev, got, sizeof(got));
    static const uint8_t pr[] = { 0x02, 0, 0, 0, 0, 0, 6, 0x04, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4 };
    ok(same(got, n, pr, sizeof(pr)), "ping response: bytes");

    /* _result of createStream: "_result", 2, null, 1 on csid 3. */
    le_buf b = { 0 };
    le_rtmp_amf_result(&b, 2, 1, 1);
    static const uint8_t res_body[] = {
        0x02, 0x00, 0x07, '_', 'r', 'e', 's', 'u', 'l', 't',
        0x00, 0x40, 0, 0, 0, 0, 0, 0, 0,
        0x05,
        0x00, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0,
    };
    ok(same(b.p, b.len, res_body, sizeof(res_body)), "_result body: bytes");
    is_int(le_rtmp_put_body(ev, 128, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, 0, &b), LE_OK, "_result: put");
    n = drain(ev, got, sizeof(got));
    static const uint8_t res_hdr[] = { 0x03, 0, 0, 0, 0, 0, sizeof(res_body), 0x14, 0, 0, 0, 0 };
    ok(n == sizeof(res_hdr) + sizeof(res_body) && memcmp(got, res_hdr, sizeof(res_hdr)) == 0 &&
       memcmp(got + sizeof(res_hdr), res_body, sizeof(res_body)) == 0, "_result message: header and body");
    le_buf_free(&b);

    /* _result with null: the answer to FCPublish. */
    le_rtmp_amf_result(&b, 3, 0, 0);
    ok(b.len == 21 && b.p[19] == 0x05 && b.p[20] == 0x05, "_result without number: null, null");
    le_buf_free(&b);

    /* _error of connect. */
    le_rtmp_amf_error(&b, 1, "NetConnection.Connect.Rejected", "Connection rejected.");
    le_amf_doc doc;
    is_int(le_amf_decode(b.p, b.len, &doc), LE_OK, "_error decodes");
    ok(doc.nvals == 4 && le_amf_str_eq(doc.vals[0], "_error") && doc.vals[1]->num == 1 &&
       doc.vals[2]->type == LE_AMF_NULL &&
       le_amf_str_eq(le_amf_prop_get(doc.vals[3], "code"), "NetConnection.Connect.Rejected") &&
       le_amf_str_eq(le_amf_prop_get(doc.vals[3], "level"), "error"), "_error: name, txn, null, info");
    le_amf_doc_free(&doc);
    le_buf_free(&b);

    /* onStatus with and without details; over 128 bytes it is chunked: the
     * second chunk starts with a type-3 header on csid 3 (0xC3). */
    le_rtmp_amf_status(&b, "status", "NetStream.Publish.Start", "Start publishing", "cam1");
    is_int(le_amf_decode(b.p, b.len, &doc), LE_OK, "onStatus decodes");
    ok(doc.nvals == 4 && le_amf_str_eq(doc.vals[0], "onStatus") && doc.vals[1]->num == 0 &&
       le_amf_str_eq(le_amf_prop_get(doc.vals[3], "details"), "cam1") &&
       le_amf_str_eq(le_amf_prop_get(doc.vals[3], "clientid"), "livedge") &&
       le_amf_str_eq(le_amf_prop_get(doc.vals[3], "code"), "NetStream.Publish.Start"), "onStatus: fields");
    le_amf_doc_free(&doc);
    size_t body = b.len;
    ok(body > 128, "onStatus body is over one chunk (%zu)", body);
    le_rtmp_put_body(ev, 128, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, 1, &b);
    n = drain(ev, got, sizeof(got));
    ok(n == 12 + body + (body - 1) / 128 && got[0] == 0x03 && got[11] == 0 && got[8] == 1 && got[12 + 128] == 0xC3 &&
       memcmp(got + 12, b.p, 128) == 0 && memcmp(got + 13 + 128, b.p + 128, body - 128 > 128 ? 128 : body - 128) == 0,
       "onStatus message: msid 1, split at 128 with a 0xC3 header");
    le_buf_free(&b);
    le_rtmp_amf_status(&b, "error", "NetStream.Publish.BadName", "publish refused", NULL);
    le_amf_decode(b.p, b.len, &doc);
    ok(doc.nvals == 4 && !le_amf_prop_get(doc.vals[3], "details"), "onStatus without details");
    le_amf_doc_free(&doc);
    le_buf_free(&b);

    /* Connect result and sample access. */
    le_rtmp_amf_connect_result(&b, 1, 3);
    le_amf_decode(b.p, b.len, &doc);
    ok(doc.nvals == 4 && le_amf_str_eq(doc.vals[0], "_result") &&
       le_amf_str_eq(le_amf_prop_get(doc.vals[2], "fmsVer"), "FMS/3,0,1,123") &&
       le_amf_prop_get(doc.vals[3], "objectEncoding")->num == 3, "connect _result: fields");
    le_amf_doc_free(&doc);
    le_buf_free(&b);
    le_rtmp_amf_sample_access(&b);
    static const uint8_t sa[] = { 0x02, 0x00, 0x11, '|', 'R', 't', 'm', 'p', 'S', 'a', 'm', 'p', 'l', 'e',
                                  'A', 'c', 'c', 'e', 's', 's', 0x01, 0x01, 0x01, 0x01 };
    ok(same(b.p, b.len, sa, sizeof(sa)), "|RtmpSampleAccess body: bytes");
    le_buf_free(&b);

    evbuffer_free(ev);
    return done_testing();
}
