#include "media/flv.h"
#include "core/err.h"
#include "core/util.h"
#include "media/amf.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

/* Enhanced RTMP (veovera v1/v2): bit 7 of the first video byte marks an
 * ExHeader; frame type in bits 4-6, packet type in bits 0-3, FourCC next. */
enum { EX_SEQ_START = 0, EX_CODED = 1, EX_SEQ_END = 2, EX_CODED_X = 3, EX_META = 4 };

static uint8_t fourcc_codec(const uint8_t *f)
{
    if (memcmp(f, "avc1", 4) == 0) return LE_CODEC_H264;
    if (memcmp(f, "hvc1", 4) == 0) return LE_CODEC_H265;
    if (memcmp(f, "av01", 4) == 0) return LE_CODEC_AV1;
    if (memcmp(f, "vp09", 4) == 0) return LE_CODEC_VP9;
    return LE_CODEC_NONE;
}

static int32_t cts24(const uint8_t *p)
{
    int32_t v = (int32_t)le_rd_be24(p);
    return (v & 0x800000) ? v - 0x1000000 : v;   /* SI24 */
}

int le_flv_video_info(const uint8_t *b, size_t n, le_flv_info *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 1)
        return LE_EPROTO;
    if (b[0] & 0x80) {
        if (n < 5)
            return LE_EPROTO;
        uint8_t ftype = (b[0] >> 4) & 7, ptype = b[0] & 15;
        out->enhanced = 1;
        out->codec = fourcc_codec(b + 1);
        out->key = ftype == 1;
        out->seqhdr = ptype == EX_SEQ_START;
        out->hdr_len = 5;
        if (ptype == EX_CODED && (out->codec == LE_CODEC_H264 || out->codec == LE_CODEC_H265)) {
            if (n < 8)
                return LE_EPROTO;
            out->cts = cts24(b + 5);
            out->hdr_len = 8;
        }
        return 0;
    }
    uint8_t ftype = b[0] >> 4, codec = b[0] & 15;
    out->codec = codec;
    out->key = ftype == 1;
    out->hdr_len = 1;
    if (codec == LE_CODEC_H264 || codec == LE_CODEC_H265) {
        if (n < 5)
            return LE_EPROTO;
        out->seqhdr = b[1] == 0;
        out->cts = cts24(b + 2);
        out->hdr_len = 5;
    }
    return 0;
}

int le_flv_audio_info(const uint8_t *b, size_t n, le_flv_info *out)
{
    memset(out, 0, sizeof(*out));
    if (n < 1)
        return LE_EPROTO;
    uint8_t fmt = b[0] >> 4;
    out->key = 1;
    out->hdr_len = 1;
    if (fmt == 9) {  /* enhanced audio: ExAudioHeader, FourCC */
        if (n < 5)
            return LE_EPROTO;
        out->enhanced = 1;
        out->seqhdr = (b[0] & 15) == 0;
        out->hdr_len = 5;
        if (memcmp(b + 1, "Opus", 4) == 0) out->codec = LE_CODEC_OPUS;
        else if (memcmp(b + 1, "mp4a", 4) == 0) out->codec = LE_CODEC_AAC;
        else if (memcmp(b + 1, ".mp3", 4) == 0) out->codec = LE_CODEC_MP3;
        return 0;
    }
    out->codec = fmt;
    if (fmt == LE_CODEC_AAC) {
        if (n < 2)
            return LE_EPROTO;
        out->seqhdr = b[1] == 0;
        out->hdr_len = 2;
    }
    return 0;
}

size_t le_flv_file_header(uint8_t out[13], int has_audio, int has_video)
{
    out[0] = 'F'; out[1] = 'L'; out[2] = 'V'; out[3] = 1;
    out[4] = (uint8_t)((has_audio ? 4 : 0) | (has_video ? 1 : 0));
    le_wr_be32(out + 5, 9);
    le_wr_be32(out + 9, 0);
    return 13;
}

void le_flv_tag_header(uint8_t out[11], uint8_t type, uint32_t len, uint32_t ts)
{
    out[0] = type;
    le_wr_be24(out + 1, len);
    le_wr_be24(out + 4, ts & 0xffffff);
    out[7] = (uint8_t)(ts >> 24);   /* TimestampExtended: the upper 8 bits */
    le_wr_be24(out + 8, 0);
}

size_t le_flv_tag_write(uint8_t *out, uint8_t type, uint32_t ts, const uint8_t *body, uint32_t len)
{
    le_flv_tag_header(out, type, len, ts);
    if (len)
        memcpy(out + 11, body, len);
    le_wr_be32(out + 11 + len, 11 + len);
    return 11 + (size_t)len + 4;
}

/* Each field with the range a real stream can have; a value outside it
 * (NaN, infinities, negatives, 1e300) is dropped as if absent. */
static void meta_props(const le_amf_val *obj, le_flv_meta *m)
{
    static const struct {
        const char *k;
        size_t off;
        double lo, hi;
        int lo_incl;
    } map[] = {
        { "width", offsetof(le_flv_meta, width), 1, LE_FLV_MAX_DIM, 1 },
        { "height", offsetof(le_flv_meta, height), 1, LE_FLV_MAX_DIM, 1 },
        { "framerate", offsetof(le_flv_meta, framerate), 0, LE_FLV_MAX_FPS, 0 },
        { "videodatarate", offsetof(le_flv_meta, videodatarate), 0, LE_FLV_MAX_KBPS, 0 },
        { "audiodatarate", offsetof(le_flv_meta, audiodatarate), 0, LE_FLV_MAX_KBPS, 0 },
        { "videocodecid", offsetof(le_flv_meta, videocodecid), 0, 4294967295.0, 1 },
        { "audiocodecid", offsetof(le_flv_meta, audiocodecid), 0, 4294967295.0, 1 },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const le_amf_val *v = le_amf_prop_get(obj, map[i].k);
        if (!v || v->type != LE_AMF_NUMBER || !isfinite(v->num))
            continue;
        double x = v->num;
        if (x <= map[i].hi && (map[i].lo_incl ? x >= map[i].lo : x > map[i].lo))
            *(double *)((char *)m + map[i].off) = x;
    }
}

int le_flv_parse_meta(const uint8_t *b, size_t n, le_flv_meta *out)
{
    memset(out, 0, sizeof(*out));
    le_amf_doc doc;
    int rc = le_amf_decode(b, n, &doc);
    if (rc == 0) {
        for (size_t i = 0; i < doc.nvals; i++) {
            const le_amf_val *v = doc.vals[i];
            if (v->type == LE_AMF_OBJECT || v->type == LE_AMF_ECMA_ARRAY) {
                meta_props(v, out);
                break;
            }
        }
    }
    le_amf_doc_free(&doc);
    return rc;
}
