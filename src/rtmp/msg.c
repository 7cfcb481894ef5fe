#include "rtmp/msg.h"
#include "media/amf.h"
#include "rtmp/chunk.h"
#include "core/err.h"

#include <event2/buffer.h>
#include <string.h>

int le_rtmp_put_msg(struct evbuffer *out, uint32_t chunk_size, uint32_t csid, uint8_t type, uint32_t ts,
                    uint32_t msid, const uint8_t *data, uint32_t len)
{
    size_t n = le_chunk_write_size(csid, ts, len, chunk_size);
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)n, &v, 1) < 1)
        return LE_ENOMEM;
    v.iov_len = le_chunk_write(v.iov_base, v.iov_len, csid, type, ts, msid, data, len, chunk_size);
    if (evbuffer_commit_space(out, &v, 1) != 0)
        return LE_ENOMEM;
    return LE_OK;
}

int le_rtmp_put_body(struct evbuffer *out, uint32_t chunk_size, uint32_t csid, uint8_t type, uint32_t msid,
                     const le_buf *body)
{
    return le_rtmp_put_msg(out, chunk_size, csid, type, 0, msid, body->p, (uint32_t)body->len);
}

int le_rtmp_put_ctrl32(struct evbuffer *out, uint32_t chunk_size, uint8_t type, uint32_t v)
{
    uint8_t b[4];
    le_wr_be32(b, v);
    return le_rtmp_put_msg(out, chunk_size, LE_RTMP_CSID_CTRL, type, 0, 0, b, 4);
}

int le_rtmp_put_peer_bw(struct evbuffer *out, uint32_t chunk_size, uint32_t window, uint8_t limit)
{
    uint8_t b[5];
    le_wr_be32(b, window);
    b[4] = limit;
    return le_rtmp_put_msg(out, chunk_size, LE_RTMP_CSID_CTRL, LE_MSG_SET_PEER_BW, 0, 0, b, 5);
}

int le_rtmp_put_user_ctrl(struct evbuffer *out, uint32_t chunk_size, uint16_t event, uint32_t v)
{
    uint8_t b[6];
    le_wr_be16(b, event);
    le_wr_be32(b + 2, v);
    return le_rtmp_put_msg(out, chunk_size, LE_RTMP_CSID_CTRL, LE_MSG_USER_CONTROL, 0, 0, b, 6);
}

void le_rtmp_amf_cmd(le_buf *b, const char *name, double txn)
{
    le_amf_put_string(b, name);
    le_amf_put_number(b, txn);
}

void le_rtmp_amf_result(le_buf *b, double txn, int with_number, double number)
{
    le_rtmp_amf_cmd(b, "_result", txn);
    le_amf_put_null(b);
    if (with_number)
        le_amf_put_number(b, number);
    else
        le_amf_put_null(b);
}

void le_rtmp_amf_connect_result(le_buf *b, double txn, double objenc)
{
    le_rtmp_amf_cmd(b, "_result", txn);
    le_amf_put_object_start(b);
    le_amf_put_prop_string(b, "fmsVer", "FMS/3,0,1,123");
    le_amf_put_prop_number(b, "capabilities", 31);
    le_amf_put_object_end(b);
    le_amf_put_object_start(b);
    le_amf_put_prop_string(b, "level", "status");
    le_amf_put_prop_string(b, "code", "NetConnection.Connect.Success");
    le_amf_put_prop_string(b, "description", "Connection succeeded.");
    le_amf_put_prop_number(b, "objectEncoding", objenc);
    le_amf_put_object_end(b);
}

void le_rtmp_amf_error(le_buf *b, double txn, const char *code, const char *desc)
{
    le_rtmp_amf_cmd(b, "_error", txn);
    le_amf_put_null(b);
    le_amf_put_object_start(b);
    le_amf_put_prop_string(b, "level", "error");
    le_amf_put_prop_string(b, "code", code);
    le_amf_put_prop_string(b, "description", desc);
    le_amf_put_object_end(b);
}

void le_rtmp_amf_status(le_buf *b, const char *level, const char *code, const char *desc,
                        const char *details)
{
    le_rtmp_amf_cmd(b, "onStatus", 0);
    le_amf_put_null(b);
    le_amf_put_object_start(b);
    le_amf_put_prop_string(b, "level", level);
    le_amf_put_prop_string(b, "code", code);
    le_amf_put_prop_string(b, "description", desc);
    if (details)
        le_amf_put_prop_string(b, "details", details);
    le_amf_put_prop_string(b, "clientid", "livedge");
    le_amf_put_object_end(b);
}

void le_rtmp_amf_sample_access(le_buf *b)
{
    le_amf_put_string(b, "|RtmpSampleAccess");
    le_amf_put_bool(b, 1);
    le_amf_put_bool(b, 1);
}

int le_rtmp_meta_body(const uint8_t *d, uint32_t n, const uint8_t **out, uint32_t *outn)
{
    static const uint8_t sdf[] = { 2, 0, 13, '@', 's', 'e', 't', 'D', 'a', 't', 'a', 'F', 'r', 'a', 'm', 'e' };
    static const uint8_t omd[] = { 2, 0, 10, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a' };
    if (n > sizeof(sdf) && memcmp(d, sdf, sizeof(sdf)) == 0) {
        d += sizeof(sdf);
        n -= (uint32_t)sizeof(sdf);
    }
    if (n < sizeof(omd) || memcmp(d, omd, sizeof(omd)) != 0)
        return 0;
    *out = d;
    *outn = n;
    return 1;
}

int le_rtmp_agg_next(const uint8_t *d, uint32_t n, uint32_t msg_ts, uint32_t *off, uint32_t *base,
                     le_rtmp_agg_tag *t)
{
    uint32_t o = *off;
    if (o > n || n - o < 11)
        return 0;
    uint32_t sz = le_rd_be24(d + o + 1);
    uint32_t ts = le_rd_be24(d + o + 4) | (uint32_t)d[o + 7] << 24;
    if ((uint64_t)o + 11 + sz + 4 > n)
        return 0;
    if (o == 0)
        *base = ts;
    t->type = d[o];
    t->ts = msg_ts + (ts - *base);
    t->data = d + o + 11;
    t->len = sz;
    *off = o + 11 + sz + 4;
    return 1;
}
