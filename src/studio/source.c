/* Studio sources (studio/source.h, docs/STUDIO.md "Sources"): the picture
 * and audio every source has, and the live kind (FLV tag bodies). The file
 * kind's demuxing is in source_file.c. */
#include "studio/source_impl.h"
#include "core/err.h"
#include "core/log.h"
#include "media/codecpar.h"
#include "media/flv.h"

#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/samplefmt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "studio"

static const AVRational MS = { 1, 1000 };

le_ss *le_ss_alloc(const char *name, int kind)
{
    le_ss *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
    s->kind = kind;
    s->pic = av_frame_alloc();
    s->next = av_frame_alloc();
    s->black = av_frame_alloc();
    s->tmp = av_frame_alloc();
    s->afr = av_frame_alloc();
    s->pkt = av_packet_alloc();
    s->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, LE_SS_AUDIO_RATE / 4);
    s->win_min = INT64_MAX;
    s->last_new_ms = -1;
    s->start_at = INT64_MIN;
    s->seek_req = -1;
    s->pause_req = -1;
    if (!s->pic || !s->next || !s->black || !s->tmp || !s->afr || !s->pkt || !s->fifo) {
        le_ss_free(s);
        return NULL;
    }
    return s;
}

le_ss *le_ss_new_live(const char *name)
{
    return le_ss_alloc(name, LE_SS_LIVE);
}

/* ---- pictures ---- */

/* f (decoded) becomes the current picture, as yuv420p of its own size. */
void le_ss_picture(le_ss *s, const AVFrame *f)
{
    if (f->width <= 0 || f->height <= 0 || f->width > LE_SS_MAX_DIM || f->height > LE_SS_MAX_DIM) {
        s->st.decode_errors++;
        return;
    }
    AVFrame *p = s->next;       /* built aside: a failure keeps the current picture */
    av_frame_unref(p);
    if (f->format == AV_PIX_FMT_YUV420P) {
        if (av_frame_ref(p, f) < 0)
            return;
    } else {
        s->sws = sws_getCachedContext(s->sws, f->width, f->height, f->format, f->width, f->height,
                                      AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
        if (!s->sws) {
            s->st.decode_errors++;
            return;
        }
        p->format = AV_PIX_FMT_YUV420P;
        p->width = f->width;
        p->height = f->height;
        if (av_frame_get_buffer(p, 0) < 0) {
            av_frame_unref(p);
            return;
        }
        sws_scale(s->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, p->data, p->linesize);
        p->pts = f->pts;
        p->sample_aspect_ratio = f->sample_aspect_ratio;
    }
    av_frame_unref(s->pic);
    av_frame_move_ref(s->pic, p);
    p = s->pic;
    s->st.video_frames++;
    s->st.width = p->width;
    s->st.height = p->height;
    s->have_pic = 1;
    s->fresh = 1;
}

static const AVFrame *black_picture(le_ss *s)
{
    AVFrame *b = s->black;
    if (b->width != s->pic->width || b->height != s->pic->height || !b->data[0]) {
        av_frame_unref(b);
        b->format = AV_PIX_FMT_YUV420P;
        b->width = s->pic->width;
        b->height = s->pic->height;
        if (av_frame_get_buffer(b, 0) < 0) {
            av_frame_unref(b);
            return NULL;
        }
        for (int y = 0; y < b->height; y++)
            memset(b->data[0] + (size_t)y * b->linesize[0], 16, (size_t)b->width);
        for (int y = 0; y < (b->height + 1) / 2; y++) {
            memset(b->data[1] + (size_t)y * b->linesize[1], 128, (size_t)(b->width + 1) / 2);
            memset(b->data[2] + (size_t)y * b->linesize[2], 128, (size_t)(b->width + 1) / 2);
        }
    }
    return b;
}

const AVFrame *le_ss_video(le_ss *s, int64_t clock_ms, int64_t stall_ms)
{
    if (!s->have_pic)
        return NULL;
    if (s->fresh) {
        s->fresh = 0;
        s->last_new_ms = clock_ms;
        s->stalled = 0;
    }
    if (clock_ms - s->last_new_ms > stall_ms) {
        if (!s->stalled) {
            s->stalled = 1;
            s->st.stalls++;
        }
        const AVFrame *b = black_picture(s);
        return b ? b : s->pic;
    }
    return s->pic;
}

/* ---- audio ---- */

/* A decoded audio frame: resampled into the FIFO (bounded, oldest dropped). */
void le_ss_audio_frame(le_ss *s, const AVFrame *f)
{
    int ch = f->ch_layout.nb_channels;
    if (f->nb_samples <= 0 || f->sample_rate <= 0 || f->sample_rate > 384000 || ch <= 0 || ch > 64) {
        s->st.decode_errors++;
        return;
    }
    if (!s->swr || s->swr_rate != f->sample_rate || s->swr_fmt != f->format ||
        av_channel_layout_compare(&s->swr_layout, &f->ch_layout) != 0) {
        swr_free(&s->swr);
        av_channel_layout_uninit(&s->swr_layout);
        AVChannelLayout in;
        if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
            av_channel_layout_default(&in, ch);
        else if (av_channel_layout_copy(&in, &f->ch_layout) < 0)
            return;
        AVChannelLayout out = AV_CHANNEL_LAYOUT_STEREO;
        int rc = swr_alloc_set_opts2(&s->swr, &out, AV_SAMPLE_FMT_FLTP, LE_SS_AUDIO_RATE, &in, f->format,
                                     f->sample_rate, 0, NULL);
        av_channel_layout_uninit(&in);
        if (rc < 0 || swr_init(s->swr) < 0) {
            swr_free(&s->swr);
            s->st.decode_errors++;
            return;
        }
        if (av_channel_layout_copy(&s->swr_layout, &f->ch_layout) < 0) {
            swr_free(&s->swr);
            return;
        }
        s->swr_rate = f->sample_rate;
        s->swr_fmt = f->format;
    }
    int cap = swr_get_out_samples(s->swr, f->nb_samples);
    if (cap <= 0)
        return;
    AVFrame *o = s->afr;
    av_frame_unref(o);
    o->format = AV_SAMPLE_FMT_FLTP;
    o->nb_samples = cap;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    if (av_channel_layout_copy(&o->ch_layout, &stereo) < 0 || av_frame_get_buffer(o, 0) < 0) {
        av_frame_unref(o);
        return;
    }
    int n = swr_convert(s->swr, o->data, cap, (const uint8_t **)f->extended_data, f->nb_samples);
    if (n <= 0) {
        av_frame_unref(o);
        if (n < 0)
            s->st.decode_errors++;
        return;
    }
    s->st.audio_frames++;
    int max = LE_SS_AUDIO_RATE * LE_SS_AUDIO_MAX_MS / 1000;
    const uint8_t *const *src = (const uint8_t *const *)o->data;
    if (n > max) {                /* one frame longer than the bound: its tail */
        s->st.audio_dropped += (uint64_t)(n - max);
        for (int c = 0; c < 2; c++)
            o->data[c] += (size_t)(n - max) * sizeof(float);
        n = max;
    }
    int have = av_audio_fifo_size(s->fifo);
    if (have + n > max) {
        av_audio_fifo_drain(s->fifo, have + n - max);
        s->st.audio_dropped += (uint64_t)(have + n - max);
    }
    av_audio_fifo_write(s->fifo, (void **)src, n);
    av_frame_unref(o);
}

int le_ss_audio(le_ss *s, AVFrame *out, int nb_samples)
{
    if (nb_samples <= 0 || nb_samples > LE_SS_AUDIO_RATE * 10)
        return LE_EINVAL;
    av_frame_unref(out);
    out->format = AV_SAMPLE_FMT_FLTP;
    out->sample_rate = LE_SS_AUDIO_RATE;
    out->nb_samples = nb_samples;
    AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
    if (av_channel_layout_copy(&out->ch_layout, &stereo) < 0 || av_frame_get_buffer(out, 0) < 0) {
        av_frame_unref(out);
        return LE_ENOMEM;
    }
    int got = s->paused ? 0 : av_audio_fifo_read(s->fifo, (void **)out->data, nb_samples);
    if (got < 0)
        got = 0;
    if (got < nb_samples)
        av_samples_set_silence(out->data, got, nb_samples - got, 2, AV_SAMPLE_FMT_FLTP);
    if (s->kind == LE_SS_LIVE) {
        /* Live audio must not build latency: over every second of audio
         * taken, the lowest FIFO level left after a take is the standing
         * backlog; above LE_SS_LIVE_TRIM_MS it is cut to LE_SS_LIVE_KEEP_MS. */
        int64_t left = av_audio_fifo_size(s->fifo);
        if (left < s->win_min)
            s->win_min = left;
        s->win_taken += nb_samples;
        if (s->win_taken >= LE_SS_AUDIO_RATE) {
            int64_t trim = (int64_t)LE_SS_AUDIO_RATE * LE_SS_LIVE_TRIM_MS / 1000;
            int64_t keep = (int64_t)LE_SS_AUDIO_RATE * LE_SS_LIVE_KEEP_MS / 1000;
            if (s->win_min > trim) {
                av_audio_fifo_drain(s->fifo, (int)(s->win_min - keep));
                s->st.audio_dropped += (uint64_t)(s->win_min - keep);
            }
            s->win_taken = 0;
            s->win_min = INT64_MAX;
        }
    }
    return LE_OK;
}

/* ---- decoders ---- */

/* A decoder for id from par (may be NULL), packets in tb, extradata
 * b[0..n) replacing par's when n > 0. */
AVCodecContext *le_ss_decoder_open(enum AVCodecID id, const AVCodecParameters *par, AVRational tb,
                                   const uint8_t *b, size_t n)
{
    const AVCodec *c = avcodec_find_decoder(id);
    if (!c)
        return NULL;
    AVCodecContext *d = avcodec_alloc_context3(c);
    AVCodecParameters *p = avcodec_parameters_alloc();
    if (!d || !p)
        goto fail;
    if (par && avcodec_parameters_copy(p, par) < 0)
        goto fail;
    p->codec_type = c->type;
    p->codec_id = id;
    if (n) {
        av_freep(&p->extradata);
        p->extradata_size = 0;
        if (le_codecpar_extradata(p, b, n) != LE_OK)
            goto fail;
    }
    if (avcodec_parameters_to_context(d, p) < 0)
        goto fail;
    d->pkt_timebase = tb;
    d->thread_count = 1;
    d->max_pixels = (int64_t)LE_SS_MAX_DIM * LE_SS_MAX_DIM;
    if (avcodec_open2(d, c, NULL) < 0)
        goto fail;
    avcodec_parameters_free(&p);
    return d;
fail:
    avcodec_parameters_free(&p);
    avcodec_free_context(&d);
    return NULL;
}

int le_ss_decode(le_ss *s, AVCodecContext *d, const AVPacket *pkt, le_ss_frame_fn take, void *arg)
{
    int rc = avcodec_send_packet(d, pkt);
    if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
        s->st.decode_errors++;
        return LE_EPROTO;
    }
    for (;;) {
        rc = avcodec_receive_frame(d, s->tmp);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            break;
        if (rc < 0) {
            s->st.decode_errors++;
            break;
        }
        take(s, d, s->tmp, arg);
        av_frame_unref(s->tmp);
    }
    return LE_OK;
}

/* A live decoder's frame: video to the picture, audio to the FIFO. */
static void live_frame(le_ss *s, AVCodecContext *d, AVFrame *f, void *arg)
{
    (void)arg;
    if (d->codec_type == AVMEDIA_TYPE_VIDEO)
        le_ss_picture(s, f);
    else
        le_ss_audio_frame(s, f);
}

static int same_header(const uint8_t *have, size_t hn, const uint8_t *b, size_t n)
{
    return have && hn == n && memcmp(have, b, n) == 0;
}

static int keep_header(uint8_t **dst, size_t *dn, const uint8_t *b, size_t n)
{
    uint8_t *c = malloc(n);
    if (!c)
        return LE_ENOMEM;
    memcpy(c, b, n);
    free(*dst);
    *dst = c;
    *dn = n;
    return LE_OK;
}

static void live_packet(le_ss *s, AVCodecContext *d, uint32_t ts, int32_t cts, int key, const uint8_t *b,
                        size_t n)
{
    if (n > INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return;
    av_packet_unref(s->pkt);
    if (av_new_packet(s->pkt, (int)n) < 0)
        return;
    memcpy(s->pkt->data, b, n);
    s->pkt->dts = ts;
    s->pkt->pts = (int64_t)ts + cts;
    if (key)
        s->pkt->flags |= AV_PKT_FLAG_KEY;
    le_ss_decode(s, d, s->pkt, live_frame, NULL);
    av_packet_unref(s->pkt);
}

static void live_video(le_ss *s, uint32_t ts, const uint8_t *body, size_t n)
{
    le_flv_info fi;
    if (le_flv_video_info(body, n, &fi) != LE_OK || fi.hdr_len > n ||
        (fi.codec != LE_CODEC_H264 && fi.codec != LE_CODEC_H265)) {
        s->st.decode_errors++;
        return;
    }
    const uint8_t *pl = body + fi.hdr_len;
    size_t pn = n - fi.hdr_len;
    if (fi.seqhdr) {
        if (pn == 0 || (s->vdec && s->vcodec == fi.codec && same_header(s->vhdr, s->vhdr_len, pl, pn)))
            return;
        avcodec_free_context(&s->vdec);
        if (keep_header(&s->vhdr, &s->vhdr_len, pl, pn) != LE_OK)
            return;
        s->vcodec = fi.codec;
        s->vdec = le_ss_decoder_open(fi.codec == LE_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264, NULL, MS,
                                     pl, pn);
        s->need_key = 1;
        if (!s->vdec) {
            s->st.decode_errors++;
            if (!s->vwarned)    /* once until a header works again */
                le_warn(MOD, "%s: cannot open a video decoder for this sequence header", s->name);
        }
        s->vwarned = !s->vdec;
        return;
    }
    /* Coded frames only: AVC packet type 1; enhanced CodedFrames(X) 1, 3. */
    int ptype = fi.enhanced ? (body[0] & 15) : (n > 1 ? body[1] : 0);
    if (!(ptype == 1 || (fi.enhanced && ptype == 3)) || pn == 0 || !s->vdec || fi.codec != s->vcodec)
        return;
    if (s->need_key && !fi.key)
        return;
    s->need_key = 0;
    live_packet(s, s->vdec, ts, fi.cts, fi.key, pl, pn);
}

static void live_audio(le_ss *s, uint32_t ts, const uint8_t *body, size_t n)
{
    le_flv_info fi;
    if (le_flv_audio_info(body, n, &fi) != LE_OK || fi.hdr_len > n || fi.codec != LE_CODEC_AAC) {
        s->st.decode_errors++;
        return;
    }
    const uint8_t *pl = body + fi.hdr_len;
    size_t pn = n - fi.hdr_len;
    if (fi.seqhdr) {
        int rate, ch;
        if (s->adec && same_header(s->ahdr, s->ahdr_len, pl, pn))
            return;
        avcodec_free_context(&s->adec);
        if (le_aac_asc_params(pl, pn, &rate, &ch) != LE_OK) {
            s->st.decode_errors++;
            return;
        }
        if (keep_header(&s->ahdr, &s->ahdr_len, pl, pn) != LE_OK)
            return;
        AVCodecParameters *par = avcodec_parameters_alloc();
        if (!par)
            return;
        par->sample_rate = rate;
        av_channel_layout_default(&par->ch_layout, ch);
        s->adec = le_ss_decoder_open(AV_CODEC_ID_AAC, par, MS, pl, pn);
        avcodec_parameters_free(&par);
        if (!s->adec) {
            s->st.decode_errors++;
            if (!s->awarned)
                le_warn(MOD, "%s: cannot open an AAC decoder for this AudioSpecificConfig", s->name);
        }
        s->awarned = !s->adec;
        return;
    }
    if (!s->adec || pn == 0)
        return;
    live_packet(s, s->adec, ts, 0, 0, pl, pn);
}

void le_ss_feed(le_ss *s, uint8_t type, uint32_t ts, const uint8_t *body, size_t n)
{
    if (s->kind != LE_SS_LIVE || !body)
        return;
    if (type == 9)
        live_video(s, ts, body, n);
    else if (type == 8)
        live_audio(s, ts, body, n);
}

void le_ss_reset(le_ss *s)
{
    if (s->kind != LE_SS_LIVE)
        return;
    avcodec_free_context(&s->vdec);
    avcodec_free_context(&s->adec);
    free(s->vhdr);
    free(s->ahdr);
    s->vhdr = s->ahdr = NULL;
    s->vhdr_len = s->ahdr_len = 0;
    s->need_key = 1;
}

void le_ss_advance(le_ss *s, int64_t clock_ms)
{
    s->clock = clock_ms;
    if (s->kind == LE_SS_FILE)
        le_ss_file_advance(s, clock_ms);
}

void le_ss_stats_get(const le_ss *s, le_ss_stats *st)
{
    *st = s->st;
    st->has_picture = s->have_pic;
    st->fresh_ms = s->have_pic ? s->last_new_ms : -1;
    st->paused = s->paused;
    st->pos_ms = s->kind == LE_SS_FILE ? s->pos : 0;
}

void le_ss_free(le_ss *s)
{
    if (!s)
        return;
    le_ss_file_close(s);
    avcodec_free_context(&s->vdec);
    avcodec_free_context(&s->adec);
    free(s->vhdr);
    free(s->ahdr);
    sws_freeContext(s->sws);
    swr_free(&s->swr);
    av_channel_layout_uninit(&s->swr_layout);
    if (s->fifo)
        av_audio_fifo_free(s->fifo);
    av_frame_free(&s->pic);
    av_frame_free(&s->next);
    av_frame_free(&s->black);
    av_frame_free(&s->tmp);
    av_frame_free(&s->afr);
    av_packet_free(&s->pkt);
    free(s);
}
