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
    free(p);
}
