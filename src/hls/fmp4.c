/* fMP4 (CMAF) fragments in memory (see fmp4.h).
 *
 * Why these muxer settings (libavformat 5.1's mp4 muxer):
 *  - empty_moov: the init section is complete at header time, before any
 *    frame, so it can be served (EXT-X-MAP) while the first part is built;
 *  - frag_custom: fragments are cut only when we flush (av_write_frame NULL),
 *    i.e. where the segmenter decides, on any frame;
 *  - default_base_moof + cmaf: self-contained moof + mdat pairs (data offsets
 *    relative to the moof), the 'cmfc' brand; skip_sidx: no index per part;
 *  - frag_discont + use_editlist 0 + avoid_negative_ts disabled: the muxer
 *    takes each track's first dts as its tfdt instead of moving the track to
 *    zero, so timestamps stay absolute and audio and video stay in step
 *    however far apart their first frames are.
 *
 * Sample durations: the muxer derives a sample's duration from the next
 * sample's dts, except for the last one of a fragment, which gets the
 * packet's duration field. Video frames are therefore held back by one
 * frame: a frame is written when the next one (or the cut) tells how long it
 * lasts. Audio durations are known from the codec (AAC 1024 samples, MP3
 * 1152 or 576, Opus from the packet's TOC byte), and audio timestamps, which
 * RTMP rounds to milliseconds, are snapped to the running sample count while
 * they stay within half a frame of it, so that sample durations are exact. */
#include "hls/fmp4.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "media/codecpar.h"
#include "media/flv.h"

#define IOBUF_SIZE 32768
/* Picture size when neither the bitstream nor onMetaData tells (the sample
 * entry's numbers; decoders use the bitstream's). */
#define FALLBACK_W 640
#define FALLBACK_H 360

struct le_fmp4 {
    AVFormatContext *fmt;
    AVPacket *pkt;                  /* audio, not refcounted */
    AVPacket *held;                 /* video frame waiting for its duration */
    int vidx, aidx;
    AVRational vtb, atb;            /* the muxer's track time bases */
    int64_t last_dts[2];            /* per track, in its time base */
    int64_t vstep;                  /* last video duration, time base units */
    uint8_t acodec;
    int aframe;                     /* samples per audio frame (AAC, MP3) */
    int64_t anext;                  /* expected next audio dts, INT64_MIN: none */
    le_buf out;                     /* bytes the muxer wrote since the last take */
    unsigned errors;
};

int le_fmp4_video_ok(uint8_t codec)
{
    return codec == LE_CODEC_H264 || codec == LE_CODEC_H265 || codec == LE_CODEC_AV1;
}

int le_fmp4_audio_ok(uint8_t codec)
{
    return codec == LE_CODEC_AAC || codec == LE_CODEC_MP3 || codec == LE_CODEC_OPUS;
}

static enum AVCodecID video_id(uint8_t codec)
{
    return codec == LE_CODEC_H265 ? AV_CODEC_ID_HEVC : codec == LE_CODEC_AV1 ? AV_CODEC_ID_AV1 : AV_CODEC_ID_H264;
}

/* libavformat 5.1 callback signature (non-const buffer). */
static int io_write(void *opaque, uint8_t *buf, int size)
{
    le_fmp4 *m = opaque;
    le_buf_append(&m->out, buf, (size_t)size);
    return size;
}

/* Moves what the muxer wrote into dst. */
static void take(le_fmp4 *m, le_buf *dst)
{
    if (m->out.len == 0)
        return;
    if (!dst->p) {
        *dst = m->out;
        memset(&m->out, 0, sizeof(m->out));
    } else {
        le_buf_append(dst, m->out.p, m->out.len);
        m->out.len = 0;
    }
}

/* The picture size, from the configuration record and the first keyframe
 * through libavcodec's parser (it reads SPS / sequence headers for us). */
static void probe_dims(const le_fmp4_cfg *c, int *w, int *h)
{
    *w = *h = 0;
    AVCodecParserContext *pc = av_parser_init(video_id(c->vcodec));
    AVCodecContext *avctx = avcodec_alloc_context3(NULL);
    uint8_t *frame = c->vkey_len ? av_mallocz(c->vkey_len + AV_INPUT_BUFFER_PADDING_SIZE) : NULL;
    if (pc && avctx && frame && c->vkey_len <= INT32_MAX) {
        avctx->codec_type = AVMEDIA_TYPE_VIDEO;
        avctx->codec_id = video_id(c->vcodec);
        avctx->extradata = av_mallocz(c->vcfg_len + AV_INPUT_BUFFER_PADDING_SIZE);
        if (avctx->extradata) {
            memcpy(avctx->extradata, c->vcfg, c->vcfg_len);
            avctx->extradata_size = (int)c->vcfg_len;
            memcpy(frame, c->vkey, c->vkey_len);
            pc->flags |= PARSER_FLAG_COMPLETE_FRAMES;
            uint8_t *out;
            int outlen;
            av_parser_parse2(pc, avctx, &out, &outlen, frame, (int)c->vkey_len, AV_NOPTS_VALUE, AV_NOPTS_VALUE,
                             0);
            if (pc->width > 0 && pc->height > 0) {
                *w = pc->width;
                *h = pc->height;
            } else if (avctx->width > 0 && avctx->height > 0) {
                *w = avctx->width;
                *h = avctx->height;
            }
        }
    }
    av_free(frame);
    av_parser_close(pc);
    avcodec_free_context(&avctx);
}

static int add_video(le_fmp4 *m, const le_fmp4_cfg *c)
{
    AVStream *st = avformat_new_stream(m->fmt, NULL);
    if (!st)
        return LE_ENOMEM;
    AVCodecParameters *par = st->codecpar;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = video_id(c->vcodec);
    if (c->vcodec == LE_CODEC_H265)
        par->codec_tag = MKTAG('h', 'v', 'c', '1');   /* parameter sets in the sample entry only */
    int w, h;
    probe_dims(c, &w, &h);
    if (w <= 0 || h <= 0) {
        w = c->width > 0 ? c->width : FALLBACK_W;
        h = c->height > 0 ? c->height : FALLBACK_H;
    }
    par->width = w;
    par->height = h;
    st->time_base = (AVRational){ 1, 90000 };
    m->vidx = st->index;
    return le_codecpar_extradata(par, c->vcfg, c->vcfg_len);
}

static int add_audio(le_fmp4 *m, const le_fmp4_cfg *c)
{
    AVStream *st = avformat_new_stream(m->fmt, NULL);
    if (!st)
        return LE_ENOMEM;
    AVCodecParameters *par = st->codecpar;
    int rate = 44100, channels = 2;
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    if (c->acodec == LE_CODEC_AAC) {
        par->codec_id = AV_CODEC_ID_AAC;
        if (le_aac_asc_params(c->acfg, c->acfg_len, &rate, &channels) != LE_OK)
            return LE_EPROTO;
        m->aframe = 1024;
    } else if (c->acodec == LE_CODEC_OPUS) {
        /* OpusHead (RFC 7845 5.1): "OpusHead", version, channel count... */
        if (c->acfg_len < 19 || memcmp(c->acfg, "OpusHead", 8) != 0 || c->acfg[9] == 0)
            return LE_EPROTO;
        par->codec_id = AV_CODEC_ID_OPUS;
        rate = 48000;
        channels = c->acfg[9];
        m->aframe = 0;   /* from each packet's TOC */
    } else {
        par->codec_id = AV_CODEC_ID_MP3;
        rate = c->mp3_rate > 0 ? c->mp3_rate : 44100;
        m->aframe = rate >= 32000 ? 1152 : 576;
    }
    par->sample_rate = rate;
    par->frame_size = m->aframe;
    av_channel_layout_default(&par->ch_layout, channels);
    st->time_base = (AVRational){ 1, rate };
    m->aidx = st->index;
    m->acodec = c->acodec;
    if (c->acfg && c->acfg_len && c->acodec != LE_CODEC_MP3)
        return le_codecpar_extradata(par, c->acfg, c->acfg_len);
    return LE_OK;
}

void le_fmp4_free(le_fmp4 *m)
{
    if (!m)
        return;
    if (m->fmt) {
        AVIOContext *pb = m->fmt->pb;
        if (pb) {
            av_freep(&pb->buffer);
            avio_context_free(&pb);
        }
        avformat_free_context(m->fmt);
    }
    av_packet_free(&m->pkt);
    av_packet_free(&m->held);
    le_buf_free(&m->out);
    free(m);
}

int le_fmp4_open(le_fmp4 **out, const le_fmp4_cfg *c, le_buf *init)
{
    *out = NULL;
    le_fmp4 *m = le_xcalloc(1, sizeof(*m));
    m->vidx = m->aidx = -1;
    m->last_dts[0] = m->last_dts[1] = INT64_MIN;
    m->anext = INT64_MIN;
    int rc = LE_ENOMEM;
    if (avformat_alloc_output_context2(&m->fmt, NULL, "mp4", NULL) < 0 || !m->fmt)
        goto fail;
    uint8_t *iobuf = av_malloc(IOBUF_SIZE);
    if (!iobuf)
        goto fail;
    m->fmt->pb = avio_alloc_context(iobuf, IOBUF_SIZE, 1, m, NULL, io_write, NULL);
    if (!m->fmt->pb) {
        av_free(iobuf);
        goto fail;
    }
    m->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    m->fmt->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;
    m->pkt = av_packet_alloc();
    m->held = av_packet_alloc();
    if (!m->pkt || !m->held)
        goto fail;
    if (c->vcodec != LE_CODEC_NONE && (rc = add_video(m, c)) != LE_OK)
        goto fail;
    if (c->acodec != LE_CODEC_NONE && (rc = add_audio(m, c)) != LE_OK)
        goto fail;
    rc = LE_EPROTO;
    if (m->vidx < 0 && m->aidx < 0)
        goto fail;
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "movflags",
                "+frag_custom+empty_moov+default_base_moof+skip_sidx+skip_trailer+frag_discont", 0);
    av_dict_set(&opts, "use_editlist", "0", 0);
    int err = avformat_write_header(m->fmt, &opts);
    av_dict_free(&opts);
    if (err < 0)
        goto fail;
    avio_flush(m->fmt->pb);
    if (m->vidx >= 0)
        m->vtb = m->fmt->streams[m->vidx]->time_base;
    if (m->aidx >= 0)
        m->atb = m->fmt->streams[m->aidx]->time_base;
    take(m, init);
    *out = m;
    return LE_OK;
fail:
    le_fmp4_free(m);
    return rc;
}

static int mux_write(le_fmp4 *m, AVPacket *p)
{
    int err = av_write_frame(m->fmt, p);
    if (err < 0) {
        if (m->errors++ == 0)
            le_warn("hls", "fmp4 muxer refused a packet (%d); further ones not logged", err);
        return LE_EIO;
    }
    return LE_OK;
}

/* Writes the held video frame, lasting until dts next (time base units). */
static int release_held(le_fmp4 *m, int64_t next)
{
    if (!m->held->data)
        return LE_OK;
    int64_t d = next - m->held->dts;
    if (d <= 0)
        d = m->vstep > 0 ? m->vstep : 1;
    m->held->duration = d;
    m->vstep = d;
    int rc = mux_write(m, m->held);
    av_packet_unref(m->held);
    return rc;
}

int le_fmp4_video(le_fmp4 *m, int64_t dts_ms, int32_t cts_ms, const uint8_t *data, size_t len, int key)
{
    if (m->vidx < 0)
        return LE_EINVAL;
    if (len == 0 || len > (size_t)INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return LE_ETOOBIG;
    AVRational ms = { 1, 1000 };
    int64_t dts = av_rescale_q(dts_ms, ms, m->vtb);
    int64_t pts = av_rescale_q(dts_ms + cts_ms, ms, m->vtb);
    /* Publishers do send timestamps that step back; the muxer refuses
     * those, so clamp rather than lose the frame. */
    if (m->last_dts[0] != INT64_MIN && dts <= m->last_dts[0])
        dts = m->last_dts[0] + 1;
    if (pts < dts)
        pts = dts;
    m->last_dts[0] = dts;
    int rc = release_held(m, dts);
    if (av_new_packet(m->held, (int)len) < 0)
        return LE_ENOMEM;
    memcpy(m->held->data, data, len);
    m->held->dts = dts;
    m->held->pts = pts;
    m->held->stream_index = m->vidx;
    m->held->flags = key ? AV_PKT_FLAG_KEY : 0;
    return rc;
}

/* Samples (48 kHz) in an Opus packet, from its TOC (RFC 6716 3.1). */
static int opus_samples(const uint8_t *p, size_t n)
{
    static const int silk[4] = { 480, 960, 1920, 2880 };
    static const int celt[4] = { 120, 240, 480, 960 };
    if (n < 1)
        return 960;
    unsigned config = p[0] >> 3;
    int per = config < 12 ? silk[config & 3] : config < 16 ? (config & 1 ? 960 : 480) : celt[config & 3];
    int frames;
    switch (p[0] & 3) {
    case 0: frames = 1; break;
    case 3: frames = n >= 2 ? (p[1] & 0x3f) : 1; break;
    default: frames = 2; break;
    }
    int total = per * (frames > 0 ? frames : 1);
    return total > 5760 ? 5760 : total;   /* 120 ms at most */
}

int le_fmp4_audio(le_fmp4 *m, int64_t ts_ms, const uint8_t *data, size_t len)
{
    if (m->aidx < 0)
        return LE_EINVAL;
    if (len == 0 || len > (size_t)INT32_MAX)
        return LE_ETOOBIG;
    int64_t frame = m->acodec == LE_CODEC_OPUS ? opus_samples(data, len) : m->aframe;
    frame = av_rescale_q(frame, (AVRational){ 1, m->fmt->streams[m->aidx]->codecpar->sample_rate }, m->atb);
    int64_t dts = av_rescale_q(ts_ms, (AVRational){ 1, 1000 }, m->atb);
    if (m->anext != INT64_MIN && llabs(dts - m->anext) <= frame / 2)
        dts = m->anext;   /* millisecond rounding: stay on the sample count */
    if (m->last_dts[1] != INT64_MIN && dts <= m->last_dts[1])
        dts = m->last_dts[1] + 1;
    m->last_dts[1] = dts;
    m->anext = dts + frame;
    AVPacket *p = m->pkt;
    av_packet_unref(p);
    p->data = (uint8_t *)data;
    p->size = (int)len;
    p->dts = p->pts = dts;
    p->duration = frame;
    p->stream_index = m->aidx;
    p->flags = AV_PKT_FLAG_KEY;
    int rc = mux_write(m, p);
    av_packet_unref(p);
    return rc;
}

int le_fmp4_cut(le_fmp4 *m, int64_t end_ms, le_buf *out)
{
    int rc = LE_OK;
    if (m->vidx >= 0)
        rc = release_held(m, av_rescale_q(end_ms, (AVRational){ 1, 1000 }, m->vtb));
    if (av_write_frame(m->fmt, NULL) < 0)
        rc = LE_EIO;
    avio_flush(m->fmt->pb);
    if (m->fmt->pb->error)
        rc = LE_EIO;
    take(m, out);
    return rc;
}
