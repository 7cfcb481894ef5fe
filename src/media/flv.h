/* FLV tag bodies: codec classification (legacy and enhanced RTMP), tag
 * headers, onMetaData fields. Pure functions over bytes. */
#ifndef LE_FLV_H
#define LE_FLV_H
#include <stddef.h>
#include <stdint.h>

/* Codec ids: legacy FLV ids where they exist, ours for FourCC codecs. */
enum {
    LE_CODEC_NONE = 0,
    LE_CODEC_MP3 = 2,
    LE_CODEC_AAC = 10,
    LE_CODEC_H264 = 7,
    LE_CODEC_H265 = 12,         /* legacy id 12 and FourCC 'hvc1' */
    LE_CODEC_OPUS = 13,         /* FourCC 'Opus' (enhanced audio) */
    LE_CODEC_AV1 = 32,          /* FourCC 'av01' */
    LE_CODEC_VP9 = 33           /* FourCC 'vp09' */
};

typedef struct le_flv_info {
    uint8_t codec;      /* LE_CODEC_* */
    uint8_t key;        /* video keyframe */
    uint8_t seqhdr;     /* decoder configuration record / AudioSpecificConfig */
    uint8_t enhanced;   /* enhanced RTMP (ExHeader) video */
    int32_t cts;        /* composition time offset, ms */
    uint32_t hdr_len;   /* bytes before the codec payload (e.g. 5 for AVC) */
} le_flv_info;

/* Classifies a video (type 9) or audio (type 8) tag body. 0 or LE_EPROTO. */
int le_flv_video_info(const uint8_t *b, size_t n, le_flv_info *out);
int le_flv_audio_info(const uint8_t *b, size_t n, le_flv_info *out);

/* Writes the 13-byte FLV file header (signature, flags, PreviousTagSize0). */
size_t le_flv_file_header(uint8_t out[13], int has_audio, int has_video);
/* Writes an 11-byte tag header. */
void le_flv_tag_header(uint8_t out[11], uint8_t type, uint32_t len, uint32_t ts);
/* Writes a whole tag: header, body, PreviousTagSize; returns 11 + len + 4. */
size_t le_flv_tag_write(uint8_t *out, uint8_t type, uint32_t ts, const uint8_t *body, uint32_t len);

/* Reads width/height/framerate from an onMetaData body (AMF0 string + object
 * or ECMA array; a leading "@setDataFrame" is skipped). Missing fields are 0,
 * and so are values a real stream cannot have: only finite numbers within
 * width/height 1..LE_FLV_MAX_DIM, framerate 0<x<=LE_FLV_MAX_FPS, data rates
 * (kbit/s) 0<x<=LE_FLV_MAX_KBPS, codec ids 0..2^32-1 are kept. */
#define LE_FLV_MAX_DIM 16384
#define LE_FLV_MAX_FPS 1000
#define LE_FLV_MAX_KBPS 10000000   /* 10 Gbit/s */
typedef struct le_flv_meta {
    double width, height, framerate, videodatarate, audiodatarate;
    double videocodecid, audiocodecid;
} le_flv_meta;
int le_flv_parse_meta(const uint8_t *b, size_t n, le_flv_meta *out);

#endif
