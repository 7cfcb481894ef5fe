/* A media packet: one RTMP message / FLV tag body, immutable once pushed into
 * a stream and shared by reference among every subscriber. Players do not
 * read packets one by one: their wire forms are encoded once into the
 * stream's feeds (media/feed.h). */
#ifndef LE_PKT_H
#define LE_PKT_H
#include <stddef.h>
#include <stdint.h>

enum { LE_PKT_AUDIO = 8, LE_PKT_VIDEO = 9, LE_PKT_DATA = 18 };

#define LE_PKT_KEY     0x01   /* video keyframe (or any audio/data packet) */
#define LE_PKT_SEQHDR  0x02   /* decoder config: AVC/HEVC/AV1 or AAC header */
#define LE_PKT_META    0x04   /* onMetaData */

typedef struct le_pkt {
    int refs;
    uint8_t type;             /* FLV tag type: LE_PKT_* */
    uint8_t flags;            /* LE_PKT_KEY | LE_PKT_SEQHDR | LE_PKT_META */
    uint8_t codec;            /* FLV codec id, or LE_CODEC_* for enhanced RTMP */
    uint32_t ts;              /* ms on the publisher's timeline */
    int32_t cts;              /* composition offset, ms (video only) */
    uint32_t len;             /* payload bytes */
    uint8_t data[];           /* payload: FLV tag body == RTMP message body */
} le_pkt;

/* Copies data; refs = 1; classifies flags and codec from the tag body. */
le_pkt *le_pkt_new(uint8_t type, uint32_t ts, const uint8_t *data, uint32_t len);
static inline le_pkt *le_pkt_ref(le_pkt *p) { p->refs++; return p; }
void le_pkt_unref(le_pkt *p);

#endif
