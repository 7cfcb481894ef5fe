/* The tag stream the media fuzz targets read (fuzz_segmenter.c,
 * fuzz_recwriter.c): each tag is
 *   1 byte   kind: bits 0-1 0 audio, 1 video, 2 data, 3 control;
 *            bits 2-7 how far the arrival clock moves, in 100 ms steps
 *   4 bytes  timestamp, big-endian (32-bit RTMP milliseconds)
 *   2 bytes  payload length, big-endian, then the payload (cut short at
 *            the end of the input). */
#ifndef LE_FUZZ_TAGS_H
#define LE_FUZZ_TAGS_H
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "media/pkt.h"

typedef struct fuzz_tag {
    uint8_t kind;
    uint8_t type;           /* LE_PKT_* for kinds 0-2 */
    uint32_t ts;
    const uint8_t *body;
    size_t len;
} fuzz_tag;

/* The tag at *off, moving *off past it: 1, or 0 at the end of the input. */
static inline int fuzz_next_tag(const uint8_t *data, size_t size, size_t *off, fuzz_tag *t)
{
    static const uint8_t types[4] = { LE_PKT_AUDIO, LE_PKT_VIDEO, LE_PKT_DATA, 0 };
    if (*off + 7 > size)
        return 0;
    t->kind = data[*off];
    t->type = types[t->kind & 3];
    t->ts = le_rd_be32(data + *off + 1);
    t->len = le_rd_be16(data + *off + 5);
    *off += 7;
    if (t->len > size - *off)
        t->len = size - *off;
    t->body = data + *off;
    *off += t->len;
    return 1;
}

#endif
