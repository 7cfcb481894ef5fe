/* User-data SEI NAL units and their insertion (transcode/sei.h). */
#include "transcode/sei.h"
#include "core/err.h"
#include "media/flv.h"

#include <string.h>

const uint8_t LE_SEI_UUID[LE_SEI_UUID_LEN] = { 0x0d, 0xe1, 0x53, 0x51, 0x8b, 0x26, 0x43, 0x10,
                                               0x85, 0x33, 0x32, 0x20, 0x14, 0x65, 0x3b, 0x99 };

#define SEI_USER_DATA_UNREGISTERED 5
#define H264_NAL_SEI 6
#define HEVC_NAL_PREFIX_SEI 39

/* Emulation prevention: appends rbsp to out with 0x03 after every two zero
 * bytes that a byte <= 3 follows. */
static void escape(le_buf *out, const uint8_t *rbsp, size_t n)
{
    int zeros = 0;
    for (size_t i = 0; i < n; i++) {
        if (zeros >= 2 && rbsp[i] <= 3) {
            le_buf_u8(out, 3);
            zeros = 0;
        }
        le_buf_u8(out, rbsp[i]);
        zeros = rbsp[i] == 0 ? zeros + 1 : 0;
    }
}

int le_sei_build(int codec, const uint8_t uuid[LE_SEI_UUID_LEN], const uint8_t *text, size_t len, le_buf *out)
{
    if (codec != LE_CODEC_H264 && codec != LE_CODEC_H265)
        return LE_EINVAL;
    if (len > LE_SEI_TEXT_MAX)
        return LE_ETOOBIG;
    uint8_t rbsp[1 + 17 + LE_SEI_UUID_LEN + LE_SEI_TEXT_MAX + 1];
    size_t r = 0, size = LE_SEI_UUID_LEN + len;
    rbsp[r++] = SEI_USER_DATA_UNREGISTERED;
    for (; size >= 255; size -= 255)
        rbsp[r++] = 0xff;
    rbsp[r++] = (uint8_t)size;
    memcpy(rbsp + r, uuid, LE_SEI_UUID_LEN);
    r += LE_SEI_UUID_LEN;
    if (len)
        memcpy(rbsp + r, text, len);
    r += len;
    rbsp[r++] = 0x80;   /* rbsp_trailing_bits */
    if (codec == LE_CODEC_H264) {
        le_buf_u8(out, H264_NAL_SEI);   /* forbidden 0, nal_ref_idc 0 */
    } else {
        le_buf_u8(out, HEVC_NAL_PREFIX_SEI << 1);   /* layer id 0 */
        le_buf_u8(out, 1);                          /* temporal id + 1 */
    }
    escape(out, rbsp, r);
    return LE_OK;
}

int le_sei_nalu_len_size(int codec, const uint8_t *rec, size_t n)
{
    size_t at = codec == LE_CODEC_H264 ? 4 : codec == LE_CODEC_H265 ? 21 : 0;
    if (!at || n <= at || rec[0] != 1)
        return LE_EPROTO;
    int ls = (rec[at] & 3) + 1;
    return ls == 3 ? LE_EPROTO : ls;
}

/* A VCL NAL unit (a slice) of codec, from its first header byte. */
static int is_slice(int codec, uint8_t h)
{
    if (codec == LE_CODEC_H264) {
        int t = h & 0x1f;
        return t >= 1 && t <= 5;
    }
    return ((h >> 1) & 0x3f) <= 31;
}

/* The frame's payload offset in b, or a negative code (le_sei_insert). */
static int payload_at(int codec, const uint8_t *b, size_t n)
{
    le_flv_info fi;
    if (le_flv_video_info(b, n, &fi) != 0 || fi.codec != codec || fi.seqhdr)
        return LE_EINVAL;
    if (fi.enhanced) {
        int ptype = b[0] & 15;
        if (ptype != 1 && ptype != 3)    /* CodedFrames, CodedFramesX */
            return LE_EINVAL;
    } else if (b[1] != 1) {              /* AVCPacketType NALU */
        return LE_EINVAL;
    }
    return fi.hdr_len <= n ? (int)fi.hdr_len : LE_EPROTO;
}

int le_sei_insert(int codec, const uint8_t *b, size_t n, int len_size, const uint8_t *nal, size_t nal_len,
                  le_buf *out)
{
    if ((codec != LE_CODEC_H264 && codec != LE_CODEC_H265) || (len_size != 1 && len_size != 2 && len_size != 4) ||
        !nal || nal_len == 0)
        return LE_EINVAL;
    if (len_size < 4 && nal_len >= (size_t)1 << (8 * len_size))
        return LE_ETOOBIG;
    if (len_size == 4 && nal_len > 0xffffffffu)
        return LE_ETOOBIG;
    int at = payload_at(codec, b, n);
    if (at < 0)
        return at;
    size_t p = (size_t)at, slice = 0;
    int found = 0;
    while (p < n) {
        if (n - p < (size_t)len_size)
            return LE_EPROTO;
        size_t l = 0;
        for (int i = 0; i < len_size; i++)
            l = l << 8 | b[p + i];
        if (l == 0 || l > n - p - (size_t)len_size)
            return LE_EPROTO;
        if (!found && is_slice(codec, b[p + len_size])) {
            found = 1;
            slice = p;
        }
        p += (size_t)len_size + l;
    }
    if (!found)
        return LE_ENOTFOUND;
    le_buf_reserve(out, n + (size_t)len_size + nal_len);
    le_buf_append(out, b, slice);
    for (int i = len_size - 1; i >= 0; i--)
        le_buf_u8(out, (uint8_t)(nal_len >> (8 * i)));
    le_buf_append(out, nal, nal_len);
    le_buf_append(out, b + slice, n - slice);
    return LE_OK;
}
