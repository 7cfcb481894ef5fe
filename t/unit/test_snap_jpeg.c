/* snapshot/jpeg.h: a real H.264 keyframe (libx264 through libavcodec, made
 * here from a picture of four known colours, 320x240) becomes a JPEG that
 * libavcodec's mjpeg decoder reads back at the same size with the same
 * colours per quadrant; an HEVC keyframe too when libx265 is there; bad
 * input gives an error code. */
#include "tap.h"
#include "core/err.h"
#include "media/flv.h"
#include "snapshot/jpeg.h"

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>

/* libx265 (Debian's 3.5) leaks its frame filters on encoder close; that
 * encoder only makes this test's input, so LeakSanitizer is told to skip
 * it (the hook is ignored without sanitizers). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libx265.so\n"; }

#define W 320
#define H 240

/* Quadrants: top-left red, top-right green, bottom-left blue, bottom-right white. */
static const uint8_t COLOURS[4][3] = { { 220, 30, 30 }, { 30, 200, 40 }, { 40, 40, 210 }, { 235, 235, 235 } };

static int quadrant(int x, int y, int w, int h) { return (y >= h / 2) * 2 + (x >= w / 2); }

static AVFrame *rgb_pattern(int w, int h)
{
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_RGB24;
    f->width = w;
    f->height = h;
    av_frame_get_buffer(f, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(f->data[0] + y * f->linesize[0] + 3 * x, COLOURS[quadrant(x, y, w, h)], 3);
    return f;
}

static AVFrame *to_fmt(const AVFrame *in, enum AVPixelFormat fmt)
{
    AVFrame *o = av_frame_alloc();
    o->format = fmt;
    o->width = in->width;
    o->height = in->height;
    av_frame_get_buffer(o, 0);
    struct SwsContext *s = sws_getContext(in->width, in->height, in->format, o->width, o->height, fmt, SWS_BICUBIC,
                                          NULL, NULL, NULL);
    sws_scale(s, (const uint8_t *const *)in->data, in->linesize, 0, in->height, o->data, o->linesize);
    sws_freeContext(s);
    return o;
}

/* Annex B NAL units of b[0..n) one by one: returns the next unit's start
 * (after its start code) and its length, or NULL at the end. */
static const uint8_t *next_nal(const uint8_t *b, size_t n, size_t *pos, size_t *len)
{
    size_t i = *pos;
    while (i + 3 <= n && !(b[i] == 0 && b[i + 1] == 0 && b[i + 2] == 1))
        i++;
    if (i + 3 > n)
        return NULL;
    size_t s = i + 3, e = s;
    /* up to the next 00 00 01 or 00 00 00 01 */
    while (e + 3 <= n && !(b[e] == 0 && b[e + 1] == 0 &&
                           (b[e + 2] == 1 || (b[e + 2] == 0 && e + 3 < n && b[e + 3] == 1))))
        e++;
    if (e + 3 > n)
        e = n;
    *pos = e;
    *len = e - s;
    return b + s;
}

/* Annex B to 4-byte length-prefixed units (what FLV carries). */
static size_t to_avcc(const uint8_t *b, size_t n, uint8_t *out)
{
    size_t pos = 0, len, o = 0;
    const uint8_t *u;
    while ((u = next_nal(b, n, &pos, &len))) {
        out[o++] = (uint8_t)(len >> 24);
        out[o++] = (uint8_t)(len >> 16);
        out[o++] = (uint8_t)(len >> 8);
        out[o++] = (uint8_t)len;
        memcpy(out + o, u, len);
        o += len;
    }
    return o;
}

/* An AVCDecoderConfigurationRecord from Annex B SPS + PPS. */
static size_t avcc_record(const uint8_t *b, size_t n, uint8_t *out)
{
    const uint8_t *sps = NULL, *pps = NULL, *u;
    size_t pos = 0, len, sl = 0, pl = 0;
    while ((u = next_nal(b, n, &pos, &len))) {
        if ((u[0] & 0x1f) == 7)
            sps = u, sl = len;
        else if ((u[0] & 0x1f) == 8)
            pps = u, pl = len;
    }
    if (!sps || !pps)
        return 0;
    size_t o = 0;
    out[o++] = 1;
    out[o++] = sps[1];
    out[o++] = sps[2];
    out[o++] = sps[3];
    out[o++] = 0xff;
    out[o++] = 0xe1;
    out[o++] = (uint8_t)(sl >> 8);
    out[o++] = (uint8_t)sl;
    memcpy(out + o, sps, sl);
    o += sl;
    out[o++] = 1;
    out[o++] = (uint8_t)(pl >> 8);
    out[o++] = (uint8_t)pl;
    memcpy(out + o, pps, pl);
    return o + pl;
}

typedef struct sample {
    uint8_t config[4096];
    size_t config_len;
    uint8_t *frame;
    size_t frame_len;
} sample;

/* Encodes the pattern's first frame with encoder name (libx264, libx265).
 * H.264: the keyframe and the decoder configuration record in FLV's form
 * (length-prefixed units, avcC). HEVC: Annex B extradata and frame as the
 * encoder gives them (libavcodec's decoder follows the extradata's form),
 * enough to exercise the HEVC path. */
static int make_sample(const char *encoder, int w, int h, sample *s)
{
    const AVCodec *c = avcodec_find_encoder_by_name(encoder);
    if (!c)
        return LE_ENOTFOUND;
    AVCodecContext *ec = avcodec_alloc_context3(c);
    ec->width = w;
    ec->height = h;
    ec->pix_fmt = AV_PIX_FMT_YUV420P;
    ec->time_base = (AVRational){ 1, 25 };
    ec->gop_size = 25;
    ec->max_b_frames = 0;
    ec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(ec->priv_data, "preset", "ultrafast", 0);
    av_opt_set(ec->priv_data, "tune", "zerolatency", 0);
    if (strcmp(encoder, "libx265") == 0)
        av_opt_set(ec->priv_data, "x265-params", "log-level=none", 0);
    if (avcodec_open2(ec, c, NULL) < 0) {
        avcodec_free_context(&ec);
        return LE_EIO;
    }
    AVFrame *rgb = rgb_pattern(w, h), *yuv = to_fmt(rgb, AV_PIX_FMT_YUV420P);
    yuv->pts = 0;
    AVPacket *pkt = av_packet_alloc();
    int rc = LE_EIO;
    avcodec_send_frame(ec, yuv);
    avcodec_send_frame(ec, NULL);
    if (avcodec_receive_packet(ec, pkt) == 0 && (pkt->flags & AV_PKT_FLAG_KEY)) {
        s->frame = malloc((size_t)pkt->size + 64);
        if (strcmp(encoder, "libx264") == 0) {
            s->config_len = avcc_record(ec->extradata, (size_t)ec->extradata_size, s->config);
            s->frame_len = to_avcc(pkt->data, (size_t)pkt->size, s->frame);
        } else {
            memcpy(s->config, ec->extradata, (size_t)ec->extradata_size);
            s->config_len = (size_t)ec->extradata_size;
            memcpy(s->frame, pkt->data, (size_t)pkt->size);
            s->frame_len = (size_t)pkt->size;
        }
        rc = s->config_len && s->frame_len ? LE_OK : LE_EIO;
    }
    av_packet_free(&pkt);
    av_frame_free(&rgb);
    av_frame_free(&yuv);
    avcodec_free_context(&ec);
    return rc;
}

/* Decodes a JPEG to RGB24; NULL if libavcodec cannot. *fmt: its pixel format. */
static AVFrame *decode_jpeg(const uint8_t *b, size_t n, int *fmt)
{
    const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
    AVCodecContext *dc = avcodec_alloc_context3(c);
    AVFrame *f = av_frame_alloc(), *rgb = NULL;
    AVPacket *pkt = av_packet_alloc();
    if (avcodec_open2(dc, c, NULL) == 0 && av_new_packet(pkt, (int)n) == 0) {
        memcpy(pkt->data, b, n);
        if (avcodec_send_packet(dc, pkt) == 0 && avcodec_send_packet(dc, NULL) >= 0 &&
            avcodec_receive_frame(dc, f) == 0) {
            *fmt = f->format;
            rgb = to_fmt(f, AV_PIX_FMT_RGB24);
        }
    }
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&dc);
    return rgb;
}

/* The worst distance of a quadrant's mean colour (its inner half, away
 * from the edges) from the colour painted there. */
static int worst_quadrant_error(const AVFrame *rgb)
{
    int worst = 0;
    for (int q = 0; q < 4; q++) {
        int x0 = (q & 1) * rgb->width / 2, y0 = (q >> 1) * rgb->height / 2;
        int qw = rgb->width / 2, qh = rgb->height / 2;
        double sum[3] = { 0, 0, 0 };
        long cnt = 0;
        for (int y = y0 + qh / 4; y < y0 + 3 * qh / 4; y++)
            for (int x = x0 + qw / 4; x < x0 + 3 * qw / 4; x++, cnt++)
                for (int k = 0; k < 3; k++)
                    sum[k] += rgb->data[0][y * rgb->linesize[0] + 3 * x + k];
        for (int k = 0; k < 3; k++) {
            int d = abs((int)(sum[k] / (double)cnt + 0.5) - COLOURS[q][k]);
            if (d > worst)
                worst = d;
        }
    }
    return worst;
}

static void round_trip(const char *encoder, int codec, int w, int h)
{
    sample s;
    memset(&s, 0, sizeof(s));
    int rc = make_sample(encoder, w, h, &s);
    if (rc == LE_ENOTFOUND && codec == LE_CODEC_H265) {
        ok(1, "# SKIP libavcodec has no libx265");
        return;
    }
    ok(rc == LE_OK, "%s encodes a %dx%d keyframe (%zu bytes, config %zu)", encoder, w, h, s.frame_len,
       s.config_len);
    if (rc != LE_OK)
        return;
    le_snap_image img;
    rc = le_snap_jpeg_encode(codec, s.config, s.config_len, s.frame, s.frame_len, &img);
    is_int(rc, LE_OK, "%s keyframe -> JPEG", encoder);
    if (rc == LE_OK) {
        is_int(img.width, w, "reported width %d", w);
        is_int(img.height, h, "reported height %d", h);
        ok(img.len > 4 && img.data[0] == 0xff && img.data[1] == 0xd8 && img.data[img.len - 2] == 0xff &&
               img.data[img.len - 1] == 0xd9,
           "SOI ... EOI (%zu bytes)", img.len);
        int fmt = -1;
        AVFrame *rgb = decode_jpeg(img.data, img.len, &fmt);
        ok(rgb != NULL, "libavcodec's mjpeg decoder reads it");
        if (rgb) {
            is_int(rgb->width, w, "decoded width %d", w);
            is_int(rgb->height, h, "decoded height %d", h);
            ok(fmt == AV_PIX_FMT_YUVJ420P, "4:2:0 full range (%s)", av_get_pix_fmt_name(fmt));
            int e = worst_quadrant_error(rgb);
            ok(e <= 12, "every quadrant's mean colour within 12 of the painted one (worst %d)", e);
            av_frame_free(&rgb);
        }
    }
    le_snap_image_free(&img);
    /* Broken copies of the same keyframe: an error, never a picture of noise. */
    uint8_t *bad = malloc(s.frame_len);
    memcpy(bad, s.frame, s.frame_len);
    for (size_t i = 8; i < s.frame_len; i++)
        bad[i] = (uint8_t)(bad[i] * 131u + 7u);
    rc = le_snap_jpeg_encode(codec, s.config, s.config_len, bad, s.frame_len, &img);
    ok(rc < 0 && !img.data, "%s: a keyframe with scrambled slice bytes -> error (%s)", encoder, le_strerror(rc));
    rc = le_snap_jpeg_encode(codec, s.config, s.config_len, s.frame, 20, &img);
    ok(rc < 0 && !img.data, "%s: a truncated keyframe -> error (%s)", encoder, le_strerror(rc));
    memset(bad, 0xff, s.frame_len);
    rc = le_snap_jpeg_encode(codec, s.config, s.config_len, bad, s.frame_len, &img);
    ok(rc < 0 && !img.data, "%s: NAL lengths past the end -> error (%s)", encoder, le_strerror(rc));
    free(bad);
    free(s.frame);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    round_trip("libx264", LE_CODEC_H264, W, H);
    round_trip("libx264", LE_CODEC_H264, 176, 144);
    round_trip("libx265", LE_CODEC_H265, W, H);

    le_snap_image img;
    const uint8_t one[] = { 1, 2, 3, 4 };
    is_int(le_snap_jpeg_encode(LE_CODEC_AV1, one, 4, one, 4, &img), LE_EINVAL, "AV1: LE_EINVAL");
    is_int(le_snap_jpeg_encode(LE_CODEC_H264, one, 0, one, 4, &img), LE_EINVAL, "no config: LE_EINVAL");
    is_int(le_snap_jpeg_encode(LE_CODEC_H264, one, 4, one, LE_SNAP_FRAME_MAX + 1, &img), LE_ETOOBIG,
           "a frame over LE_SNAP_FRAME_MAX: LE_ETOOBIG (checked before reading)");
    int rc = le_snap_jpeg_encode(LE_CODEC_H264, one, 4, one, 4, &img);
    ok(rc < 0 && !img.data, "garbage config and frame -> error (%s)", le_strerror(rc));
    return done_testing();
}
