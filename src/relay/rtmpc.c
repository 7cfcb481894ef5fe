#include "relay/rtmpc.h"
#include "media/amf.h"
#include "rtmp/chunk.h"
#include "rtmp/handshake.h"
#include "rtmp/msg.h"
#include "core/err.h"
#include "core/util.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RTMPC_MAX_CSIDS 64
#define DEFAULT_MAX_MSG (8u << 20)

enum { ST_HS = 0, ST_CONNECT, ST_CREATE, ST_WAIT, ST_READY, ST_END };
enum { TXN_CONNECT = 1, TXN_RELEASE, TXN_FCPUBLISH, TXN_CREATE, TXN_PLAY };

struct le_rtmpc {
    int publish;
    int state;
    char *app, *tcurl, *stream;
    struct evbuffer *out;
    le_chunk_reader *rd;
    uint8_t c1[LE_HS_SIZE];
    uint8_t hs[LE_HS_S0S1S2_LEN];
    size_t hs_len;
    uint32_t msid;             /* from createStream */
    uint32_t peer_window;      /* server's WindowAckSize (0: ours) */
    uint64_t bytes_in, acked;
    le_pkt *lent;              /* the last PACKET event's packet */
    /* An aggregate message being split (points into the reader's buffer,
     * which stays put until the next le_chunk_read). */
    const uint8_t *agg;
    uint32_t agg_len, agg_ts, agg_off, agg_base;
    int end_err;
    char end_why[256];
};

le_rtmpc *le_rtmpc_new(const le_rtmpc_cfg *cfg)
{
    le_rtmpc *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->publish = cfg->publish;
    uint32_t max_msg = cfg->max_msg ? cfg->max_msg : DEFAULT_MAX_MSG;
    c->app = le_xstrdup(cfg->app ? cfg->app : "");
    c->tcurl = le_xstrdup(cfg->tcurl ? cfg->tcurl : "");
    c->stream = le_xstrdup(cfg->stream ? cfg->stream : "");
    c->out = evbuffer_new();
    c->rd = le_chunk_reader_new(max_msg, RTMPC_MAX_CSIDS);
    if (!c->out || !c->rd) {
        le_rtmpc_free(c);
        return NULL;
    }
    /* Audio, video and data interleave on their own chunk streams, plus a
     * command: a few messages of max_msg at most. */
    le_chunk_reader_set_budget(c->rd, (size_t)max_msg * 3, NULL);
    uint8_t c0c1[LE_HS_C0C1_LEN];
    le_rtmp_hs_client_c0c1(c0c1, 1);
    memcpy(c->c1, c0c1 + 1, LE_HS_SIZE);
    evbuffer_add(c->out, c0c1, sizeof(c0c1));
    return c;
}

void le_rtmpc_free(le_rtmpc *c)
{
    if (!c)
        return;
    if (c->lent)
        le_pkt_unref(c->lent);
    if (c->out)
        evbuffer_free(c->out);
    if (c->rd)
        le_chunk_reader_free(c->rd);
    free(c->app);
    free(c->tcurl);
    free(c->stream);
    free(c);
}

struct evbuffer *le_rtmpc_out(le_rtmpc *c)
{
    return c->out;
}

int le_rtmpc_ready(const le_rtmpc *c)
{
    return c->state == ST_READY;
}

const char *le_rtmpc_waiting(const le_rtmpc *c)
{
    switch (c->state) {
    case ST_HS: return "the handshake";
    case ST_CONNECT: return "connect's result";
    case ST_CREATE: return "createStream's result";
    case ST_WAIT: return c->publish ? "NetStream.Publish.Start" : "NetStream.Play.Start";
    default: return "nothing";
    }
}

uint64_t le_rtmpc_bytes_in(const le_rtmpc *c)
{
    return c->bytes_in;
}

/* ---- output ---- */

static void send_cmd(le_rtmpc *c, uint32_t msid, le_buf *b)
{
    le_rtmp_put_body(c->out, LE_RTMPC_CHUNK, LE_RTMP_CSID_CMD, LE_MSG_AMF0_CMD, msid, b);
    le_buf_free(b);
}

static void send_connect(le_rtmpc *c)
{
    le_rtmp_put_ctrl32(c->out, LE_RTMPC_CHUNK, LE_MSG_SET_CHUNK_SIZE, LE_RTMPC_CHUNK);
    le_rtmp_put_ctrl32(c->out, LE_RTMPC_CHUNK, LE_MSG_WINDOW_ACK_SIZE, LE_RTMPC_WINDOW);
    le_buf b = { 0 };
    le_rtmp_amf_cmd(&b, "connect", TXN_CONNECT);
    le_amf_put_object_start(&b);
    le_amf_put_prop_string(&b, "app", c->app);
    if (c->publish)
        le_amf_put_prop_string(&b, "type", "nonprivate");
    le_amf_put_prop_string(&b, "flashVer", c->publish ? LE_RTMPC_FLASHVER_PUBLISH : LE_RTMPC_FLASHVER_PLAY);
    le_amf_put_prop_string(&b, "tcUrl", c->tcurl);
    le_amf_put_prop_bool(&b, "fpad", 0);
    le_amf_put_prop_number(&b, "capabilities", 15);
    le_amf_put_prop_number(&b, "audioCodecs", 4071);
    le_amf_put_prop_number(&b, "videoCodecs", 252);
    le_amf_put_prop_number(&b, "videoFunction", 1);
    le_amf_put_prop_number(&b, "objectEncoding", 0);
    le_amf_put_object_end(&b);
    send_cmd(c, 0, &b);
}

static void send_named(le_rtmpc *c, const char *cmd, double txn)
{
    le_buf b = { 0 };
    le_rtmp_amf_cmd(&b, cmd, txn);
    le_amf_put_null(&b);
    le_amf_put_string(&b, c->stream);
    send_cmd(c, 0, &b);
}

static void send_create(le_rtmpc *c)
{
    if (c->publish) {
        send_named(c, "releaseStream", TXN_RELEASE);
        send_named(c, "FCPublish", TXN_FCPUBLISH);
    }
    le_buf b = { 0 };
    le_rtmp_amf_cmd(&b, "createStream", TXN_CREATE);
    le_amf_put_null(&b);
    send_cmd(c, 0, &b);
}

static void send_play_or_publish(le_rtmpc *c)
{
    le_buf b = { 0 };
    le_rtmp_amf_cmd(&b, c->publish ? "publish" : "play", TXN_PLAY);
    le_amf_put_null(&b);
    le_amf_put_string(&b, c->stream);
    if (c->publish) {
        le_amf_put_string(&b, "live");
        send_cmd(c, c->msid, &b);
        return;
    }
    le_amf_put_number(&b, -2000);   /* live, or recorded if there is no live one */
    send_cmd(c, c->msid, &b);
    uint8_t ev[10];
    le_wr_be16(ev, LE_RTMP_UC_SET_BUFLEN);
    le_wr_be32(ev + 2, c->msid);
    le_wr_be32(ev + 6, LE_RTMPC_BUFLEN_MS);
    le_rtmp_put_msg(c->out, LE_RTMPC_CHUNK, LE_RTMP_CSID_CTRL, LE_MSG_USER_CONTROL, 0, 0, ev, sizeof(ev));
}

int le_rtmpc_send(le_rtmpc *c, const le_pkt *p)
{
    if (!c->publish)
        return LE_EINVAL;
    if (c->state != ST_READY)
        return LE_EIO;
    if (p->type == LE_PKT_AUDIO || p->type == LE_PKT_VIDEO)
        return le_rtmp_put_msg(c->out, LE_RTMPC_CHUNK,
                               p->type == LE_PKT_AUDIO ? LE_RTMP_CSID_AUDIO : LE_RTMP_CSID_VIDEO, p->type,
                               p->ts, c->msid, p->data, p->len);
    if (p->type != LE_PKT_DATA)
        return LE_EINVAL;
    le_buf b = { 0 };
    le_amf_put_string(&b, "@setDataFrame");
    le_buf_append(&b, p->data, p->len);
    int rc = le_rtmp_put_msg(c->out, LE_RTMPC_CHUNK, LE_RTMP_CSID_DATA, LE_MSG_AMF0_DATA, p->ts, c->msid,
                             b.p, (uint32_t)b.len);
    le_buf_free(&b);
    return rc;
}

/* ---- input ---- */

static int end(le_rtmpc *c, le_rtmpc_ev *ev, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int end(le_rtmpc *c, le_rtmpc_ev *ev, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->end_why, sizeof(c->end_why), fmt, ap);
    va_end(ap);
    c->end_err = err;
    c->state = ST_END;
    c->agg = NULL;
    ev->pkt = NULL;
    ev->err = err;
    memcpy(ev->why, c->end_why, sizeof(ev->why));
    return LE_RTMPC_EV_END;
}

static int packet(le_rtmpc *c, le_rtmpc_ev *ev, uint8_t type, uint32_t ts, const uint8_t *d, uint32_t n)
{
    c->lent = le_pkt_new(type, ts, d, n);
    ev->pkt = c->lent;
    return LE_RTMPC_EV_PACKET;
}

/* Printable copy of an AMF string for the end reason. */
static void amf_text(const le_amf_val *v, char *out, size_t n)
{
    out[0] = 0;
    if (!v || v->type != LE_AMF_STRING)
        return;
    size_t k = v->str_len < n - 1 ? v->str_len : n - 1;
    for (size_t i = 0; i < k; i++)
        out[i] = (v->str[i] >= 0x20 && v->str[i] < 0x7f) ? v->str[i] : '?';
    out[k] = 0;
}

static const le_amf_val *info_obj(const le_amf_doc *doc)
{
    for (size_t i = 2; i < doc->nvals; i++)
        if (doc->vals[i]->type == LE_AMF_OBJECT || doc->vals[i]->type == LE_AMF_ECMA_ARRAY)
            return doc->vals[i];
    return NULL;
}

static int on_status(le_rtmpc *c, const le_amf_doc *doc, le_rtmpc_ev *ev)
{
    const le_amf_val *info = info_obj(doc);
    const le_amf_val *codev = le_amf_prop_get(info, "code");
    char code[96], desc[120];
    amf_text(codev, code, sizeof(code));
    amf_text(le_amf_prop_get(info, "description"), desc, sizeof(desc));
    int is_error = le_amf_str_eq(le_amf_prop_get(info, "level"), "error");
    if (c->publish) {
        if (le_amf_str_eq(codev, "NetStream.Publish.Start")) {
            if (c->state == ST_WAIT) {
                c->state = ST_READY;
                return LE_RTMPC_EV_READY;
            }
            return 0;
        }
        if (is_error || le_amf_str_eq(codev, "NetStream.Publish.BadName"))
            return end(c, ev, LE_EDENIED, "publish refused: %s%s%s", code, desc[0] ? ": " : "", desc);
        return 0;
    }
    if (le_amf_str_eq(codev, "NetStream.Play.Start") || le_amf_str_eq(codev, "NetStream.Play.Reset")) {
        if (c->state == ST_WAIT) {
            c->state = ST_READY;
            return LE_RTMPC_EV_READY;
        }
        return 0;
    }
    if (le_amf_str_eq(codev, "NetStream.Play.StreamNotFound"))
        return end(c, ev, LE_ENOTFOUND, "play refused: %s%s%s", code, desc[0] ? ": " : "", desc);
    if (is_error || le_amf_str_eq(codev, "NetStream.Play.Failed"))
        return end(c, ev, LE_EDENIED, "play refused: %s%s%s", code, desc[0] ? ": " : "", desc);
    if (le_amf_str_eq(codev, "NetStream.Play.Stop") || le_amf_str_eq(codev, "NetStream.Play.UnpublishNotify"))
        return end(c, ev, LE_OK, "%s", code);
    return 0;
}

static int on_command(le_rtmpc *c, const uint8_t *d, uint32_t n, le_rtmpc_ev *ev)
{
    le_amf_doc doc;
    int rc = le_amf_decode(d, n, &doc);
    if (rc != 0 || doc.nvals < 2 || doc.vals[0]->type != LE_AMF_STRING || doc.vals[1]->type != LE_AMF_NUMBER) {
        le_amf_doc_free(&doc);
        return end(c, ev, LE_EPROTO, rc != 0 ? "malformed AMF0 command" : "command without name or transaction");
    }
    const le_amf_val *name = doc.vals[0];
    double txn = doc.vals[1]->num;
    int k = 0;
    if (le_amf_str_eq(name, "_result")) {
        if (txn == TXN_CONNECT && c->state == ST_CONNECT) {
            c->state = ST_CREATE;
            send_create(c);
        } else if (txn == TXN_CREATE && c->state == ST_CREATE) {
            const le_amf_val *id = doc.nvals > 3 ? doc.vals[3] : NULL;
            if (!id || id->type != LE_AMF_NUMBER || !(id->num >= 0 && id->num <= 0xffffffffu)) {
                k = end(c, ev, LE_EPROTO, "createStream answered without a stream id");
            } else {
                c->msid = (uint32_t)id->num;
                c->state = ST_WAIT;
                send_play_or_publish(c);
            }
        }
    } else if (le_amf_str_eq(name, "_error")) {
        const le_amf_val *info = info_obj(&doc);
        char code[96], desc[120];
        amf_text(le_amf_prop_get(info, "code"), code, sizeof(code));
        amf_text(le_amf_prop_get(info, "description"), desc, sizeof(desc));
        const char *what = txn == TXN_CONNECT ? "connect" : txn == TXN_CREATE ? "createStream"
                           : txn == TXN_PLAY ? (c->publish ? "publish" : "play") : NULL;
        if (what)   /* releaseStream / FCPublish errors are harmless */
            k = end(c, ev, LE_EDENIED, "%s refused: %s%s%s", what, code[0] ? code : "_error",
                    desc[0] ? ": " : "", desc);
    } else if (le_amf_str_eq(name, "onStatus")) {
        if (c->state >= ST_WAIT)
            k = on_status(c, &doc, ev);
    } else if (le_amf_str_eq(name, "close")) {
        k = end(c, ev, LE_EIO, "closed by the server");
    }
    le_amf_doc_free(&doc);
    return k;
}

/* The next sub-message of the aggregate being split, or 0 when done. */
static int agg_next(le_rtmpc *c, le_rtmpc_ev *ev)
{
    le_rtmp_agg_tag t;
    while (le_rtmp_agg_next(c->agg, c->agg_len, c->agg_ts, &c->agg_off, &c->agg_base, &t)) {
        const uint8_t *d;
        uint32_t n;
        if ((t.type == LE_PKT_AUDIO || t.type == LE_PKT_VIDEO) && t.len > 0)
            return packet(c, ev, t.type, t.ts, t.data, t.len);
        if (t.type == LE_PKT_DATA && le_rtmp_meta_body(t.data, t.len, &d, &n))
            return packet(c, ev, LE_PKT_DATA, t.ts, d, n);
    }
    c->agg = NULL;
    return 0;
}

static int on_message(le_rtmpc *c, const le_rtmp_msg *m, le_rtmpc_ev *ev)
{
    const uint8_t *d;
    uint32_t n;
    switch (m->type) {
    case LE_MSG_SET_CHUNK_SIZE:
        if (m->len < 4 || le_chunk_reader_set_chunk_size(c->rd, le_rd_be32(m->data)) != 0)
            return end(c, ev, LE_EPROTO, "invalid SetChunkSize");
        return 0;
    case LE_MSG_ABORT:
        if (m->len >= 4)
            le_chunk_reader_abort(c->rd, le_rd_be32(m->data));
        return 0;
    case LE_MSG_WINDOW_ACK_SIZE:
        if (m->len >= 4)
            c->peer_window = le_rd_be32(m->data);
        return 0;
    case LE_MSG_USER_CONTROL:
        if (m->len < 6)
            return 0;
        if (le_rd_be16(m->data) == LE_RTMP_UC_PING_REQUEST)
            le_rtmp_put_user_ctrl(c->out, LE_RTMPC_CHUNK, LE_RTMP_UC_PING_RESPONSE, le_rd_be32(m->data + 2));
        else if (le_rd_be16(m->data) == LE_RTMP_UC_STREAM_EOF && !c->publish && c->state == ST_READY &&
                 le_rd_be32(m->data + 2) == c->msid)
            return end(c, ev, LE_OK, "StreamEOF");
        return 0;
    case LE_MSG_AMF0_CMD:
        return on_command(c, m->data, m->len, ev);
    case LE_MSG_AMF3_CMD:
        return m->len >= 1 ? on_command(c, m->data + 1, m->len - 1, ev) : 0;
    default:
        break;
    }
    if (c->publish || c->state != ST_READY)
        return 0;   /* media only once playing */
    switch (m->type) {
    case LE_MSG_AUDIO:
    case LE_MSG_VIDEO:
        return m->len ? packet(c, ev, m->type, m->ts, m->data, m->len) : 0;
    case LE_MSG_AMF0_DATA:
    case LE_MSG_AMF3_DATA:
        d = m->data;
        n = m->len;
        if (m->type == LE_MSG_AMF3_DATA && n > 0) {
            d++;
            n--;
        }
        return le_rtmp_meta_body(d, n, &d, &n) ? packet(c, ev, LE_PKT_DATA, m->ts, d, n) : 0;
    case LE_MSG_AGGREGATE:
        c->agg = m->data;
        c->agg_len = m->len;
        c->agg_ts = m->ts;
        c->agg_off = 0;
        c->agg_base = 0;
        return agg_next(c, ev);
    default:
        return 0;
    }
}

static int handshake(le_rtmpc *c, const uint8_t **p, size_t *n, le_rtmpc_ev *ev)
{
    size_t k = LE_HS_S0S1S2_LEN - c->hs_len;
    if (k > *n)
        k = *n;
    memcpy(c->hs + c->hs_len, *p, k);
    c->hs_len += k;
    *p += k;
    *n -= k;
    c->bytes_in += k;
    if (c->hs_len >= 1 && c->hs[0] != 3)
        return end(c, ev, LE_EPROTO, "not an RTMP server (S0 version %u)", c->hs[0]);
    if (c->hs_len < LE_HS_S0S1S2_LEN)
        return LE_EAGAIN;
    /* A server whose S1 digest does not verify gets S1 echoed (what
     * le_rtmp_hs_client_c2 leaves in c2); S2 is not checked: servers are
     * sloppy there. */
    uint8_t c2[LE_HS_SIZE];
    (void)le_rtmp_hs_client_c2(c->hs + 1, c2);
    evbuffer_add(c->out, c2, sizeof(c2));
    send_connect(c);
    c->state = ST_CONNECT;
    return 0;
}

int le_rtmpc_partial(const le_rtmpc *c)
{
    return le_chunk_reader_partial(c->rd);
}

int le_rtmpc_feed(le_rtmpc *c, const uint8_t **p, size_t *n, le_rtmpc_ev *ev)
{
    if (c->lent) {
        le_pkt_unref(c->lent);
        c->lent = NULL;
    }
    ev->pkt = NULL;
    ev->err = LE_OK;
    ev->why[0] = 0;
    if (c->state == ST_END) {
        ev->err = c->end_err;
        memcpy(ev->why, c->end_why, sizeof(ev->why));
        return LE_RTMPC_EV_END;
    }
    for (;;) {
        int k;
        if (c->agg && (k = agg_next(c, ev)) != 0)
            return k;
        if (c->state == ST_HS) {
            if ((k = handshake(c, p, n, ev)) != 0)
                return k;
            continue;
        }
        if (*n == 0)
            return LE_EAGAIN;
        size_t used = 0;
        le_rtmp_msg m;
        int rc = le_chunk_read(c->rd, *p, *n, &used, &m);
        *p += used;
        *n -= used;
        c->bytes_in += used;
        uint32_t win = c->peer_window ? c->peer_window : LE_RTMPC_WINDOW;
        if (c->bytes_in - c->acked >= win) {
            le_rtmp_put_ctrl32(c->out, LE_RTMPC_CHUNK, LE_MSG_ACK, (uint32_t)c->bytes_in);
            c->acked = c->bytes_in;
        }
        if (rc < 0)
            return end(c, ev, rc, rc == LE_EPROTO ? "malformed RTMP chunk stream"
                                  : "RTMP message over the size limit");
        if (rc == 0)
            return LE_EAGAIN;
        if ((k = on_message(c, &m, ev)) != 0)
            return k;
    }
}
