/* Pipeline tests: a real H.264/HEVC source made with libavcodec and
 * wrapped as FLV tag bodies, a job driven by an event loop, and a decoder
 * to check what comes out. */
#ifndef LE_T_PIPELINE_HELPERS_H
#define LE_T_PIPELINE_HELPERS_H
#include <event2/event.h>
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "media/flv.h"
#include "media/pkt.h"
#include "pipeline/flvout.h"
#include "pipeline/job.h"
#include "pipeline/pool.h"

#define FPS 25
#define GOP 25
#define LUMA_L 60       /* left half of the lower picture */
#define LUMA_R 190      /* right half */

/* ---- FLV tag bodies back to pictures and sound (legacy AVC and AAC) ---- */

/* The bytes before the codec data: 5 for AVC video, 2 for AAC audio. */
static inline size_t body_prefix(const le_pkt *p)
{
    return p->type == LE_PKT_VIDEO ? 5 : 2;
}

/* A decoder opened from a sequence header body (AVC or AAC); NULL when it
 * does not open. */
static inline AVCodecContext *dec_open(const le_pkt *p)
{
    size_t o = body_prefix(p);
    const AVCodec *c = avcodec_find_decoder(p->type == LE_PKT_VIDEO ? AV_CODEC_ID_H264 : AV_CODEC_ID_AAC);
    AVCodecContext *d = avcodec_alloc_context3(c);
    d->extradata = av_mallocz(p->len - o + AV_INPUT_BUFFER_PADDING_SIZE);
    memcpy(d->extradata, p->data + o, p->len - o);
    d->extradata_size = (int)(p->len - o);
    d->thread_count = 1;
    if (avcodec_open2(d, c, NULL) < 0)
        avcodec_free_context(&d);
    return d;
}

/* A coded body into d, pts = dts = its ts: avcodec_send_packet's result. */
static inline int dec_send(AVCodecContext *d, AVPacket *pkt, const le_pkt *p)
{
    size_t o = body_prefix(p);
    av_new_packet(pkt, (int)(p->len - o));
    memcpy(pkt->data, p->data + o, p->len - o);
    pkt->pts = pkt->dts = p->ts;
    int rc = avcodec_send_packet(d, pkt);
    av_packet_unref(pkt);
    return rc;
}

/* ---- source ---- */

typedef struct src_gen {
    AVCodecContext *enc;
    AVFrame *f;
    int hevc, w, h;
    int64_t n;
} src_gen;

static int src_open(src_gen *s, int w, int h, int hevc)
{
    memset(s, 0, sizeof(*s));
    const AVCodec *c = avcodec_find_encoder_by_name(hevc ? "libx265" : "libx264");
    if (!c)
        return LE_ENOTFOUND;
    s->enc = avcodec_alloc_context3(c);
    s->enc->width = w;
    s->enc->height = h;
    s->enc->pix_fmt = AV_PIX_FMT_YUV420P;
    s->enc->time_base = (AVRational){ 1, 1000 };
    s->enc->framerate = (AVRational){ FPS, 1 };
    s->enc->gop_size = GOP;
    s->enc->max_b_frames = 0;
    s->enc->bit_rate = 2000000;
    s->enc->thread_count = 1;
    s->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *o = NULL;
    av_dict_set(&o, "preset", "ultrafast", 0);
    av_dict_set(&o, "tune", "zerolatency", 0);
    if (hevc)
        av_dict_set(&o, "x265-params", "log-level=error:keyint=25:min-keyint=25:scenecut=0:bframes=0:pools=1:frame-threads=1", 0);
    else
        av_dict_set(&o, "x264-params", "scenecut=0:keyint=25:min-keyint=25", 0);
    int rc = avcodec_open2(s->enc, c, &o);
    av_dict_free(&o);
    if (rc < 0) {
        avcodec_free_context(&s->enc);
        return LE_EINVAL;
    }
    s->f = av_frame_alloc();
    s->f->width = w;
    s->f->height = h;
    s->f->format = AV_PIX_FMT_YUV420P;
    av_frame_get_buffer(s->f, 0);
    s->hevc = hevc;
    s->w = w;
    s->h = h;
    return 0;
}

static void src_close(src_gen *s)
{
    avcodec_free_context(&s->enc);
    av_frame_free(&s->f);
}

/* hvcC from Annex B VPS/SPS/PPS: the general profile fields copied from the
 * SPS, enough for libavcodec's HEVC decoder. */
static void hvcc_record(const uint8_t *b, size_t n, le_buf *out)
{
    le_buf nal = { 0 };
    le_pipe_annexb_to_avcc(b, n, &nal);
    const uint8_t *sps = NULL;
    size_t sps_n = 0;
    for (size_t i = 0; i + 4 <= nal.len;) {
        uint32_t l = le_rd_be32(nal.p + i);
        if (((nal.p[i + 4] >> 1) & 0x3f) == 33) {
            sps = nal.p + i + 4;
            sps_n = l;
        }
        i += 4 + l;
    }
    uint8_t ptl[12] = { 1, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93 };
    if (sps && sps_n > 20) {        /* unescape the first bytes */
        uint8_t r[32];
        size_t rn = 0;
        for (size_t i = 3; i < sps_n && rn < sizeof(r); i++) {
            if (sps[i] == 3 && i >= 5 && sps[i - 1] == 0 && sps[i - 2] == 0)
                continue;
            r[rn++] = sps[i];
        }
        if (rn >= 12)
            memcpy(ptl, r, 12);
    }
    le_buf_u8(out, 1);
    le_buf_append(out, ptl, 12);        /* profile..level (11 + 1 bytes) */
    le_buf_be16(out, 0xf000);           /* min_spatial_segmentation */
    le_buf_u8(out, 0xfc);               /* parallelism */
    le_buf_u8(out, 0xfd);               /* chroma 4:2:0 */
    le_buf_u8(out, 0xf8);
    le_buf_u8(out, 0xf8);
    le_buf_be16(out, 0);                /* avg frame rate */
    le_buf_u8(out, 0x0f);               /* length size 4 */
    le_buf_u8(out, 3);                  /* arrays: VPS, SPS, PPS */
    for (int t = 32; t <= 34; t++) {
        le_buf_u8(out, (uint8_t)(0x80 | t));
        le_buf_be16(out, 1);
        for (size_t i = 0; i + 4 <= nal.len;) {
            uint32_t l = le_rd_be32(nal.p + i);
            if (((nal.p[i + 4] >> 1) & 0x3f) == t) {
                le_buf_be16(out, (uint16_t)l);
                le_buf_append(out, nal.p + i + 4, l);
                break;
            }
            i += 4 + l;
        }
    }
    le_buf_free(&nal);
}

/* The sequence header tag of the source (enhanced RTMP for HEVC). */
static le_pkt *src_seqhdr(src_gen *s, uint32_t ts)
{
    le_buf rec = { 0 }, body = { 0 };
    if (s->hevc) {
        hvcc_record(s->enc->extradata, (size_t)s->enc->extradata_size, &rec);
        le_buf_u8(&body, 0x80 | 0x10 | 0);   /* ExHeader, keyframe, SequenceStart */
        le_buf_append(&body, "hvc1", 4);
        le_buf_append(&body, rec.p, rec.len);
    } else {
        le_pipe_avcc_record(s->enc->extradata, (size_t)s->enc->extradata_size, &rec);
        le_pipe_flv_avc_seqhdr(rec.p, rec.len, &body);
    }
    le_pkt *p = le_pkt_new(LE_PKT_VIDEO, ts, body.p, (uint32_t)body.len);
    le_buf_free(&rec);
    le_buf_free(&body);
    return p;
}

/* The luma pattern of frame k: a bright bar moving across the top quarter
 * over a mid-grey, the lower half split LUMA_L | LUMA_R. */
static void src_paint(src_gen *s)
{
    AVFrame *f = s->f;
    av_frame_make_writable(f);
    int bar = (int)((s->n * 16) % s->w);
    for (int y = 0; y < s->h; y++) {
        uint8_t *row = f->data[0] + (size_t)y * f->linesize[0];
        for (int x = 0; x < s->w; x++) {
            int v = 128;
            if (y < s->h / 4)
                v = (x >= bar && x < bar + s->w / 16) ? 235
                    : 100 + (x * 40 / s->w) + (int)(((uint32_t)(x * 7919 + y * 104729 + s->n * 15485863) * 2654435761u) >> 27);
            else if (y >= s->h / 2)
                v = x < s->w / 2 ? LUMA_L : LUMA_R;
            row[x] = (uint8_t)v;
        }
    }
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < s->h / 2; y++)
            memset(f->data[p] + (size_t)y * f->linesize[p], 128, (size_t)s->w / 2);
}

/* Encodes the next frame (ts = n * 40 ms) and returns its tag, or NULL. */
static le_pkt *src_next(src_gen *s, uint32_t ts_base)
{
    src_paint(s);
    s->f->pts = (int64_t)ts_base + s->n * (1000 / FPS);
    s->f->pict_type = s->n % GOP == 0 ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    s->n++;
    if (avcodec_send_frame(s->enc, s->f) < 0)
        return NULL;
    AVPacket *pkt = av_packet_alloc();
    le_pkt *p = NULL;
    if (avcodec_receive_packet(s->enc, pkt) == 0) {
        le_buf nal = { 0 }, body = { 0 };
        le_pipe_annexb_to_avcc(pkt->data, (size_t)pkt->size, &nal);
        int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
        if (s->hevc) {
            le_buf_u8(&body, (uint8_t)(0x80 | (key ? 0x10 : 0x20) | 3));   /* CodedFramesX */
            le_buf_append(&body, "hvc1", 4);
            le_buf_append(&body, nal.p, nal.len);
        } else {
            le_pipe_flv_avc_frame(key, 0, nal.p, nal.len, &body);
        }
        p = le_pkt_new(LE_PKT_VIDEO, (uint32_t)pkt->dts, body.p, (uint32_t)body.len);
        le_buf_free(&nal);
        le_buf_free(&body);
    }
    av_packet_free(&pkt);
    return p;
}

/* ---- collecting outputs ---- */

#define MAXP 4096
typedef struct sink {
    le_pkt *p[LE_PIPE_MAX_OUT][MAXP];
    int n[LE_PIPE_MAX_OUT];
    int done;
} sink;

static void sink_cb(void *ud, int out, le_pkt *p)
{
    sink *s = ud;
    if (!p) {
        s->done = 1;
        return;
    }
    if (out >= 0 && out < LE_PIPE_MAX_OUT && s->n[out] < MAXP)
        s->p[out][s->n[out]++] = p;
    else
        le_pkt_unref(p);
}

static void sink_free(sink *s)
{
    for (int o = 0; o < LE_PIPE_MAX_OUT; o++)
        for (int i = 0; i < s->n[o]; i++)
            le_pkt_unref(s->p[o][i]);
    free(s);
}

/* Runs the loop until the job said it is done (60 s at most). */
static void run_until_done(struct event_base *base, sink *s)
{
    uint64_t end = le_mono_ms() + 60000;
    while (!s->done && le_mono_ms() < end) {
        struct timeval tv = { 0, 50000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

/* ---- checking outputs ---- */

typedef struct out_check {
    int frames, bad_frames, w, h, seq_first, dims_ok, decode_errors;
    int nkeys;
    uint32_t keys[64];
    double luma_l, luma_r;      /* mean over the last frame's lower halves */
    uint64_t bytes;
    uint32_t first_ts, last_ts;
    int audio, ts_monotonic;
    int codec;                  /* LE_CODEC_* of the first sequence header */
} out_check;

static double region_mean(const AVFrame *f, int x0, int y0, int x1, int y1)
{
    double sum = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            sum += f->data[0][(size_t)y * f->linesize[0] + x];
    return sum / ((double)(x1 - x0) * (y1 - y0));
}

/* Decodes output o; sizes must be (w, h) for frames with ts >= from_ts
 * (earlier frames may have another size: w0, h0). */
static void check_range(sink *s, int o, int i0, int i1, int w, int h, out_check *c)
{
    memset(c, 0, sizeof(*c));
    c->dims_ok = 1;
    c->ts_monotonic = 1;
    AVCodecContext *d = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    uint32_t prev = 0;
    for (int i = i0; i < i1; i++) {
        le_pkt *p = s->p[o][i];
        if (i > i0 && p->ts < prev && getenv("PIPE_DEBUG"))
            fprintf(stderr, "back: %d type %d ts %u after %u\n", i, p->type, p->ts, prev);
        if (i > i0 && p->ts < prev)
            c->ts_monotonic = 0;
        prev = p->ts;
        if (p->type == LE_PKT_AUDIO) {
            c->audio++;
            continue;
        }
        le_flv_info fi;
        if (le_flv_video_info(p->data, p->len, &fi) != 0 || fi.hdr_len > p->len) {
            c->decode_errors++;
            continue;
        }
        if (i == i0) {
            c->seq_first = (p->flags & LE_PKT_SEQHDR) && p->len > 5;
            c->codec = p->codec;
        }
        if (p->flags & LE_PKT_SEQHDR) {
            avcodec_free_context(&d);
            const AVCodec *codec = avcodec_find_decoder(p->codec == LE_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
            d = avcodec_alloc_context3(codec);
            d->extradata = av_mallocz(p->len - fi.hdr_len + AV_INPUT_BUFFER_PADDING_SIZE);
            memcpy(d->extradata, p->data + fi.hdr_len, p->len - fi.hdr_len);
            d->extradata_size = (int)(p->len - fi.hdr_len);
            d->thread_count = 1;
            if (avcodec_open2(d, codec, NULL) < 0)
                avcodec_free_context(&d);
            continue;
        }
        if (!d || p->len <= fi.hdr_len) {
            c->decode_errors++;
            continue;
        }
        if (c->frames == 0)
            c->first_ts = p->ts;
        c->last_ts = p->ts;
        c->bytes += p->len;
        if ((p->flags & LE_PKT_KEY) && c->nkeys < 64)
            c->keys[c->nkeys++] = p->ts;
        av_new_packet(pkt, (int)(p->len - fi.hdr_len));
        memcpy(pkt->data, p->data + fi.hdr_len, p->len - fi.hdr_len);
        pkt->pts = p->ts + p->cts;
        pkt->dts = p->ts;
        if (avcodec_send_packet(d, pkt) < 0)
            c->decode_errors++;
        av_packet_unref(pkt);
        while (avcodec_receive_frame(d, f) == 0) {
            c->frames++;
            if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT))
                c->bad_frames++;
            c->w = f->width;
            c->h = f->height;
            if (w && (f->width != w || f->height != h))
                c->dims_ok = 0;
            c->luma_l = region_mean(f, f->width / 8, f->height * 5 / 8, f->width * 3 / 8, f->height * 7 / 8);
            c->luma_r = region_mean(f, f->width * 5 / 8, f->height * 5 / 8, f->width * 7 / 8, f->height * 7 / 8);
            av_frame_unref(f);
        }
    }
    avcodec_free_context(&d);
    av_frame_free(&f);
    av_packet_free(&pkt);
}

static void check_output(sink *s, int o, int w, int h, out_check *c)
{
    check_range(s, o, 0, s->n[o], w, h, c);
}

#endif
