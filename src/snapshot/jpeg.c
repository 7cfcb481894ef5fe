/* Keyframe to JPEG (snapshot/jpeg.h). FFmpeg 5.1: the send/receive pairs,
 * one decoder and one encoder context per call, one thread each (the
 * snapshot worker is the parallelism). */
#include "snapshot/jpeg.h"
#include "core/err.h"
#include "media/codecpar.h"
#include "media/flv.h"

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

/* AVERROR to a project code, at this boundary. */
static int av_to_le(int err)
{
    if (err == AVERROR(ENOMEM))
        return LE_ENOMEM;
    if (err == AVERROR_DECODER_NOT_FOUND || err == AVERROR_ENCODER_NOT_FOUND)
        return LE_EIO;
    return LE_EPROTO;
}

/* Decodes frame into pic: LE_OK, or an LE_* code. */
static int decode(int codec, const uint8_t *config, size_t config_len, const uint8_t *frame, size_t frame_len,
                  AVFrame *pic)
{
    enum AVCodecID id = codec == LE_CODEC_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
    const AVCodec *dec = avcodec_find_decoder(id);
    if (!dec)
        return LE_EIO;
    AVCodecContext *dc = avcodec_alloc_context3(dec);
    AVCodecParameters *par = avcodec_parameters_alloc();
    AVPacket *pkt = av_packet_alloc();
    int rc = LE_ENOMEM;
    if (!dc || !par || !pkt)
        goto out;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = id;
    if ((rc = le_codecpar_extradata(par, config, config_len)) != LE_OK)
        goto out;
    int e = avcodec_parameters_to_context(dc, par);
    if (e < 0) {
        rc = av_to_le(e);
        goto out;
    }
    dc->thread_count = 1;
    /* A slice the decoder finds broken fails the call (no concealed picture). */
    dc->err_recognition |= AV_EF_EXPLODE;
    /* Bounds the picture buffers before the SPS's size is trusted. */
    dc->max_pixels = (int64_t)LE_SNAP_DIM_MAX * LE_SNAP_DIM_MAX;
    if ((e = avcodec_open2(dc, dec, NULL)) < 0) {
        rc = av_to_le(e);
        goto out;
    }
    if (av_new_packet(pkt, (int)frame_len) < 0)
        goto out;
    memcpy(pkt->data, frame, frame_len);
    pkt->flags |= AV_PKT_FLAG_KEY;
    e = avcodec_send_packet(dc, pkt);
    if (e < 0 && e != AVERROR(EAGAIN)) {
        rc = av_to_le(e);
        goto out;
    }
    avcodec_send_packet(dc, NULL);   /* drain: the one picture comes out now */
    rc = LE_EPROTO;
    for (;;) {
        e = avcodec_receive_frame(dc, pic);
        if (e < 0) {
            rc = e == AVERROR(ENOMEM) ? LE_ENOMEM : LE_EPROTO;
            break;
        }
        /* A concealed picture is not a snapshot of the stream. */
        if ((pic->flags & AV_FRAME_FLAG_CORRUPT) || pic->decode_error_flags) {
            av_frame_unref(pic);
            continue;
        }
        rc = pic->width > 0 && pic->height > 0 ? LE_OK : LE_EPROTO;
        if (pic->width > LE_SNAP_DIM_MAX || pic->height > LE_SNAP_DIM_MAX)
            rc = LE_ETOOBIG;
        break;
    }
out:
    av_packet_free(&pkt);
    avcodec_parameters_free(&par);
    avcodec_free_context(&dc);
    return rc;
}

/* pic to full-range 4:2:0 at the same size, BT.601 as JPEG/JFIF has it. */
static int convert(const AVFrame *pic, AVFrame *yuv)
{
    yuv->format = AV_PIX_FMT_YUVJ420P;
    yuv->width = pic->width;
    yuv->height = pic->height;
    if (av_frame_get_buffer(yuv, 0) < 0)
        return LE_ENOMEM;
    struct SwsContext *sws = sws_getContext(pic->width, pic->height, pic->format, yuv->width, yuv->height,
                                            AV_PIX_FMT_YUVJ420P, SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws)
        return LE_EPROTO;   /* a pixel format swscale does not read */
    int src_full = pic->color_range == AVCOL_RANGE_JPEG || pic->format == AV_PIX_FMT_YUVJ420P ||
                   pic->format == AV_PIX_FMT_YUVJ422P || pic->format == AV_PIX_FMT_YUVJ444P;
    int src_cs = pic->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_ITU601;
    sws_setColorspaceDetails(sws, sws_getCoefficients(src_cs), src_full, sws_getCoefficients(SWS_CS_ITU601), 1, 0,
                             1 << 16, 1 << 16);
    int h = sws_scale(sws, (const uint8_t *const *)pic->data, pic->linesize, 0, pic->height, yuv->data,
                      yuv->linesize);
    sws_freeContext(sws);
    return h == pic->height ? LE_OK : LE_EPROTO;
}

static int encode(const AVFrame *yuv, le_snap_image *out)
{
    const AVCodec *enc = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!enc)
        return LE_EIO;
    AVCodecContext *ec = avcodec_alloc_context3(enc);
    AVPacket *pkt = av_packet_alloc();
    int rc = LE_ENOMEM, e;
    if (!ec || !pkt)
        goto out;
    ec->width = yuv->width;
    ec->height = yuv->height;
    ec->pix_fmt = AV_PIX_FMT_YUVJ420P;
    ec->color_range = AVCOL_RANGE_JPEG;
    ec->time_base = (AVRational){ 1, 25 };
    ec->thread_count = 1;
    ec->flags |= AV_CODEC_FLAG_QSCALE;
    ec->global_quality = FF_QP2LAMBDA * LE_SNAP_JPEG_QSCALE;
    ec->qmin = ec->qmax = LE_SNAP_JPEG_QSCALE;
    if ((e = avcodec_open2(ec, enc, NULL)) < 0) {
        rc = e == AVERROR(ENOMEM) ? LE_ENOMEM : LE_EIO;
        goto out;
    }
    AVFrame *f = av_frame_clone(yuv);
    if (!f)
        goto out;
    f->pts = 0;
    f->quality = ec->global_quality;
    e = avcodec_send_frame(ec, f);
    av_frame_free(&f);
    if (e < 0) {
        rc = e == AVERROR(ENOMEM) ? LE_ENOMEM : LE_EIO;
        goto out;
    }
    avcodec_send_frame(ec, NULL);
    e = avcodec_receive_packet(ec, pkt);
    if (e < 0 || pkt->size <= 0) {
        rc = e == AVERROR(ENOMEM) ? LE_ENOMEM : LE_EIO;
        goto out;
    }
    out->data = malloc((size_t)pkt->size);
    if (!out->data)
        goto out;
    memcpy(out->data, pkt->data, (size_t)pkt->size);
    out->len = (size_t)pkt->size;
    out->width = yuv->width;
    out->height = yuv->height;
    rc = LE_OK;
out:
    av_packet_free(&pkt);
    avcodec_free_context(&ec);
    return rc;
}

int le_snap_jpeg_encode(int codec, const uint8_t *config, size_t config_len, const uint8_t *frame,
                        size_t frame_len, le_snap_image *out)
{
    memset(out, 0, sizeof(*out));
    if ((codec != LE_CODEC_H264 && codec != LE_CODEC_H265) || !config || !config_len || !frame || !frame_len)
        return LE_EINVAL;
    if (frame_len > LE_SNAP_FRAME_MAX || config_len > LE_SNAP_CONFIG_MAX)
        return LE_ETOOBIG;
    AVFrame *pic = av_frame_alloc(), *yuv = av_frame_alloc();
    int rc = LE_ENOMEM;
    if (pic && yuv && (rc = decode(codec, config, config_len, frame, frame_len, pic)) == LE_OK &&
        (rc = convert(pic, yuv)) == LE_OK)
        rc = encode(yuv, out);
    av_frame_free(&pic);
    av_frame_free(&yuv);
    if (rc != LE_OK)
        le_snap_image_free(out);
    return rc;
}

void le_snap_image_free(le_snap_image *img)
{
    if (!img)
        return;
    free(img->data);
    memset(img, 0, sizeof(*img));
}
