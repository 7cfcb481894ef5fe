/* fMP4 (CMAF) fragments in memory: the muxer behind the fmp4 and lowlatency
 * HLS variants (livedge.conf(5): hls_variant; docs/HLS.md, "Segments").
 *
 * Why a module of its own: the segmenter (segmenter.c) decides where
 * segments and parts are cut, on a timeline shared with MPEG-TS; this one
 * only turns FLV frames into ISO BMFF bytes. libavformat's mp4 muxer
 * (fragmented: empty_moov, frag_custom, default_base_moof, cmaf) writes into
 * an le_buf through a custom AVIOContext: the header is the init section
 * (ftyp + moov), and each cut (av_write_frame NULL) is one moof + mdat.
 *
 * Timestamps are milliseconds on the segmenter's output timeline and stay
 * absolute: tfdt is that time in the track's timescale (video 90 kHz, audio
 * its sample rate), so a part's start can be compared with the publisher's
 * clock. Frames stay as FLV carries them (length-prefixed NALUs, AV1 OBUs,
 * raw AAC/Opus/MP3): the decoder configuration records become the sample
 * entries (avcC, hvcC as 'hvc1', av1C, esds, dOps). */
#ifndef LE_HLS_FMP4_H
#define LE_HLS_FMP4_H
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

typedef struct le_fmp4 le_fmp4;

typedef struct le_fmp4_cfg {
    uint8_t vcodec;                 /* LE_CODEC_H264, _H265, _AV1; NONE: no video */
    const uint8_t *vcfg;            /* avcC / hvcC / av1C */
    size_t vcfg_len;
    const uint8_t *vkey;            /* the first keyframe: the picture size is read from it */
    size_t vkey_len;
    int width, height;              /* used when the bitstream does not tell (onMetaData), 0: unknown */
    uint8_t acodec;                 /* LE_CODEC_AAC, _MP3, _OPUS; NONE: no audio */
    const uint8_t *acfg;            /* AudioSpecificConfig / OpusHead; NULL for MP3 */
    size_t acfg_len;
    int mp3_rate;
} le_fmp4_cfg;

/* Whether fMP4 carries this FLV codec (video: H.264, H.265, AV1; audio:
 * AAC, MP3, Opus). */
int le_fmp4_video_ok(uint8_t codec);
int le_fmp4_audio_ok(uint8_t codec);

/* Opens a muxer; the init section is appended to init. 0, LE_ENOMEM, or
 * LE_EPROTO (a configuration the muxer refuses). */
int le_fmp4_open(le_fmp4 **out, const le_fmp4_cfg *cfg, le_buf *init);
void le_fmp4_free(le_fmp4 *m);

/* One coded frame. Video is held until the next one (or the cut), so each
 * sample's duration is exact: the last one of a part lasts until the cut. */
int le_fmp4_video(le_fmp4 *m, int64_t dts_ms, int32_t cts_ms, const uint8_t *data, size_t len, int key);
int le_fmp4_audio(le_fmp4 *m, int64_t ts_ms, const uint8_t *data, size_t len);

/* Ends the fragment at end_ms (the next fragment's first frame): the held
 * video frame is written, and moof + mdat of everything since the last cut
 * are appended to out (nothing when no frame came). 0 or LE_EIO. */
int le_fmp4_cut(le_fmp4 *m, int64_t end_ms, le_buf *out);

#endif
