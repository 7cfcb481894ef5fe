#include "media/pkt.h"
#include "media/flv.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

le_pkt *le_pkt_new(uint8_t type, uint32_t ts, const uint8_t *data, uint32_t len)
{
    le_pkt *p = le_xmalloc(sizeof(*p) + len);
    memset(p, 0, sizeof(*p));
    p->refs = 1;
    p->type = type;
    p->ts = ts;
    p->len = len;
    if (len)
        memcpy(p->data, data, len);

    le_flv_info fi;
    if (type == LE_PKT_VIDEO && le_flv_video_info(data, len, &fi) == 0) {
        p->codec = fi.codec;
        p->cts = fi.cts;
        p->flags = (uint8_t)((fi.key ? LE_PKT_KEY : 0) | (fi.seqhdr ? LE_PKT_SEQHDR : 0));
    } else if (type == LE_PKT_AUDIO && le_flv_audio_info(data, len, &fi) == 0) {
        p->codec = fi.codec;
        p->flags = (uint8_t)(LE_PKT_KEY | (fi.seqhdr ? LE_PKT_SEQHDR : 0));
    } else if (type == LE_PKT_DATA) {
        p->flags = LE_PKT_KEY | LE_PKT_META;
    }
    return p;
}

void le_pkt_unref(le_pkt *p)
{
    if (!p || --p->refs > 0)
        return;
    free(p->rtmp_wire);
    free(p->flv_wire);
    free(p);
}

void le_pkt_unref_cb(const void *data, size_t len, void *pkt)
{
    (void)data;
    (void)len;
    le_pkt_unref(pkt);
}

const uint8_t *le_pkt_flv_tag(le_pkt *p, size_t *len)
{
    if (!p->flv_wire) {
        size_t n = 11 + (size_t)p->len + 4;
        uint8_t *w = le_xmalloc(n);
        le_flv_tag_header(w, p->type, p->len, p->ts);
        memcpy(w + 11, p->data, p->len);
        le_wr_be32(w + 11 + p->len, 11 + p->len);
        p->flv_wire = w;
        p->flv_wire_len = n;
    }
    *len = p->flv_wire_len;
    return p->flv_wire;
}
