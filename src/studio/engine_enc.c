/* The studio engine's encoders (studio/engine_impl.h): per scene one
 * libx264 encoder per output (output 0 takes the graph's picture, the
 * others a libswscale scale of it) and one AAC encoder shared by the
 * outputs; FLV tag bodies with the tick's time, audio interleaved with
 * video in ts order. */
#include "studio/engine_impl.h"
#include "pipeline/flvout.h"
#include "core/err.h"
#include "core/log.h"

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "studio"
#define AAC_BPS 128000
#define AUDIO_HOLD_MAX 64       /* AAC bodies waiting for a video tick, at most */

static void emit(le_se *e, int s, int o, uint8_t type, int64_t ms, const uint8_t *b, size_t n)
{
    le_se_emit(e, s, o, le_pkt_new(type, (uint32_t)(ms < 0 ? 0 : ms), b, (uint32_t)n));
}

static int venc_open(le_se *e, int s, int o)
{
    se_scene *sc = &e->sc[s];
    const le_se_out *out = &sc->out[o];
    const AVCodec *c = avcodec_find_encoder_by_name("libx264");
    if (!c)
        return LE_ENOTFOUND;
    AVCodecContext *x = avcodec_alloc_context3(c);
    if (!x)
        return LE_ENOMEM;
    x->width = out->width;
    x->height = out->height;
    x->pix_fmt = AV_PIX_FMT_YUV420P;
    x->sample_aspect_ratio = (AVRational){ 1, 1 };
    x->time_base = (AVRational){ 1, e->cfg.fps };
    x->framerate = (AVRational){ e->cfg.fps, 1 };
    int64_t bps = (int64_t)out->bitrate_kbps * 1000;
    x->bit_rate = bps;
    x->rc_max_rate = bps;
    x->rc_buffer_size = (int)bps;       /* 1 s */
    x->gop_size = e->cfg.gop_frames;
    x->keyint_min = e->cfg.gop_frames;
    x->max_b_frames = 0;
    x->thread_count = 1;                /* one engine, one worker */
    x->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opt = NULL;
    av_dict_set(&opt, "preset", e->cfg.preset, 0);
    av_dict_set(&opt, "tune", "zerolatency", 0);
    av_dict_set(&opt, "x264-params", "scenecut=0:open-gop=0", 0);
    int rc = avcodec_open2(x, c, &opt);
    av_dict_free(&opt);
    if (rc < 0) {
        char eb[AV_ERROR_MAX_STRING_SIZE];
        le_error(MOD, "%s: scene %d output %d: libx264 %dx%d: %s", e->name, s, o, out->width, out->height,
                 av_make_error_string(eb, sizeof(eb), rc));
        avcodec_free_context(&x);
        return LE_EINVAL;
    }
    sc->v[o].enc = x;
    if (o > 0) {
        AVFrame *f = av_frame_alloc();
        if (!f)
            return LE_ENOMEM;
        f->width = out->width;
        f->height = out->height;
        f->format = AV_PIX_FMT_YUV420P;
        if (av_frame_get_buffer(f, 0) < 0) {
            av_frame_free(&f);
            return LE_ENOMEM;
        }
        sc->v[o].scaled = f;
        sc->v[o].sws = sws_getContext(sc->out[0].width, sc->out[0].height, AV_PIX_FMT_YUV420P, out->width,
                                      out->height, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
        if (!sc->v[o].sws)
            return LE_ENOMEM;
    }
    return 0;
}

static int aenc_open(le_se *e, int s)
{
    se_scene *sc = &e->sc[s];
    const AVCodec *c = avcodec_find_encoder_by_name("aac");
    if (!c)
        return LE_ENOTFOUND;
    AVCodecContext *a = avcodec_alloc_context3(c);
    if (!a)
        return LE_ENOMEM;
    a->sample_fmt = AV_SAMPLE_FMT_FLTP;
    a->sample_rate = LE_SS_AUDIO_RATE;
    av_channel_layout_default(&a->ch_layout, 2);
    a->bit_rate = AAC_BPS;
    a->time_base = (AVRational){ 1, LE_SS_AUDIO_RATE };
    a->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int rc = avcodec_open2(a, c, NULL);
    if (rc < 0 || a->frame_size < 1 || a->extradata_size < 2) {
        le_error(MOD, "%s: scene %d: cannot open the AAC encoder", e->name, s);
        avcodec_free_context(&a);
        return LE_EINVAL;
    }
    sc->aenc = a;
    sc->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, 2, a->frame_size * 4);
    return sc->fifo ? 0 : LE_ENOMEM;
}

void le_se_enc_close(le_se *e, int s)
{
    se_scene *sc = &e->sc[s];
    for (int o = 0; o < LE_SE_MAX_OUT; o++) {
        avcodec_free_context(&sc->v[o].enc);
        sws_freeContext(sc->v[o].sws);
        sc->v[o].sws = NULL;
        av_frame_free(&sc->v[o].scaled);
        sc->v[o].failed = 0;
        for (int i = 0; i < sc->v[o].nhold; i++)
            le_pkt_unref(sc->v[o].hold[i]);
        sc->v[o].nhold = 0;
    }
    avcodec_free_context(&sc->aenc);
    if (sc->fifo)
        av_audio_fifo_free(sc->fifo);
    sc->fifo = NULL;
    av_frame_free(&sc->afr);
    for (se_apkt *a = sc->ahead; a;) {
        se_apkt *n = a->next;
        free(a);
        a = n;
    }
    sc->ahead = sc->atail = NULL;
    sc->a_in = sc->a_pkts = sc->a_skip = 0;
    sc->a_last_ts = sc->v_last_ts = sc->v_last_tick = -1;
    sc->enc_open = 0;
}

/* Opens the scene's encoders for its outputs and sends the sequence
 * headers (AVC, then AAC) at the tick's time. */
int le_se_enc_open(le_se *e, int s, int64_t tick)
{
    se_scene *sc = &e->sc[s];
    le_se_enc_close(e, s);
    sc->nout = sc->cur->s.nout;
    memcpy(sc->out, sc->cur->s.out, sizeof(sc->out));
    int rc = aenc_open(e, s);
    for (int o = 0; rc == 0 && o < sc->nout; o++)
        rc = venc_open(e, s, o);
    if (rc != 0) {
        le_se_enc_close(e, s);
        sc->cur->s.running = 0;     /* logged; the scene stays off until the next change */
        return rc;
    }
    int64_t ms = le_se_tick_ms(e, tick);
    sc->a_base_ms = ms;
    sc->a_tick0 = tick;
    le_buf rec = { 0 }, body = { 0 }, aseq = { 0 };
    le_buf_u8(&aseq, 0xAF);
    le_buf_u8(&aseq, 0);
    le_buf_append(&aseq, sc->aenc->extradata, (size_t)sc->aenc->extradata_size);
    for (int o = 0; o < sc->nout; o++) {
        AVCodecContext *x = sc->v[o].enc;
        rec.len = body.len = 0;
        if (le_pipe_avcc_record(x->extradata, (size_t)x->extradata_size, &rec) != 0) {
            le_error(MOD, "%s: scene %d output %d: no parameter sets in the encoder's header", e->name, s, o);
            sc->v[o].failed = 1;
            continue;
        }
        le_pipe_flv_avc_seqhdr(rec.p, rec.len, &body);
        emit(e, s, o, LE_PKT_VIDEO, ms, body.p, body.len);
        emit(e, s, o, LE_PKT_AUDIO, ms, aseq.p, aseq.len);
    }
    le_buf_free(&rec);
    le_buf_free(&body);
    le_buf_free(&aseq);
    sc->enc_open = 1;
    return 0;
}

/* ---- audio ---- */

static void emit_audio_head(le_se *e, int s)
{
    se_scene *sc = &e->sc[s];
    se_apkt *a = sc->ahead;
    for (int o = 0; a->ts >= sc->v_last_ts && o < sc->nout; o++)      /* older than the video out: dropped */
        if (sc->v[o].enc && !sc->v[o].failed)
            emit(e, s, o, LE_PKT_AUDIO, a->ts, a->data, a->len);
    sc->ahead = a->next;
    if (!sc->ahead)
        sc->atail = NULL;
    free(a);
}

static void aenc_pull(le_se *e, int s)
{
    se_scene *sc = &e->sc[s];
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return;
    while (avcodec_receive_packet(sc->aenc, pkt) == 0) {
        /* ts from the count of AAC frames out plus the skipped ticks'
         * samples: steady whatever the encoder's priming, and the sum of
         * skips in samples, so no rounding adds up */
        int64_t ts = sc->a_base_ms + (sc->a_pkts * sc->aenc->frame_size + sc->a_skip) * 1000 / LE_SS_AUDIO_RATE;
        sc->a_pkts++;
        sc->a_last_ts = ts;
        se_apkt *a = le_xmalloc(sizeof(*a) + (size_t)pkt->size + 2);
        a->next = NULL;
        a->ts = ts;
        a->len = (uint32_t)pkt->size + 2;
        a->data[0] = 0xAF;
        a->data[1] = 1;
        memcpy(a->data + 2, pkt->data, (size_t)pkt->size);
        if (sc->atail)
            sc->atail->next = a;
        else
            sc->ahead = a;
        sc->atail = a;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
}

/* f (the scene's [a0]) or nb_silence samples of silence into the FIFO,
 * then every whole AAC frame through the encoder. */
void le_se_enc_audio(le_se *e, int s, const AVFrame *f, int nb_silence)
{
    se_scene *sc = &e->sc[s];
    if (!sc->aenc)
        return;
    if (f && f->nb_samples > 0 && f->format == AV_SAMPLE_FMT_FLTP && f->ch_layout.nb_channels == 2) {
        av_audio_fifo_write(sc->fifo, (void **)f->extended_data, f->nb_samples);
    } else if (nb_silence > 0) {
        float buf[2][2048];
        memset(buf, 0, sizeof(buf));
        void *planes[2] = { buf[0], buf[1] };
        while (nb_silence > 0) {
            int n = nb_silence > 2048 ? 2048 : nb_silence;
            av_audio_fifo_write(sc->fifo, planes, n);
            nb_silence -= n;
        }
    }
    int fs = sc->aenc->frame_size;
    while (av_audio_fifo_size(sc->fifo) >= fs) {
        /* One frame per scene, reused: av_frame_make_writable copies only
         * if the encoder still holds the previous buffer. */
        AVFrame *a = sc->afr;
        if (!a) {
            if (!(a = av_frame_alloc()))
                return;
            a->format = AV_SAMPLE_FMT_FLTP;
            a->sample_rate = LE_SS_AUDIO_RATE;
            av_channel_layout_default(&a->ch_layout, 2);
            a->nb_samples = fs;
            if (av_frame_get_buffer(a, 0) < 0) {
                av_frame_free(&a);
                return;
            }
            sc->afr = a;
        }
        if (av_frame_make_writable(a) < 0)
            return;
        av_audio_fifo_read(sc->fifo, (void **)a->extended_data, fs);
        a->pts = sc->a_in;
        sc->a_in += fs;
        int rc = avcodec_send_frame(sc->aenc, a);
        if (rc < 0)
            break;
        aenc_pull(e, s);
    }
    /* a scene whose video stalls must not hold audio without bound */
    int held = 0;
    for (se_apkt *p = sc->ahead; p; p = p->next)
        held++;
    while (held-- > AUDIO_HOLD_MAX)
        emit_audio_head(e, s);
}

void le_se_enc_audio_sync(le_se *e, int s, int64_t tick)
{
    se_scene *sc = &e->sc[s];
    if (!sc->aenc)
        return;
    int64_t want = le_se_tick_samples(e, tick + 1) - le_se_tick_samples(e, sc->a_tick0) - sc->a_skip;
    int64_t have = sc->a_in + av_audio_fifo_size(sc->fifo);
    if (want > have)
        le_se_enc_audio(e, s, NULL, (int)(want - have > LE_SS_AUDIO_RATE ? LE_SS_AUDIO_RATE : want - have));
}

void le_se_enc_flush(le_se *e, int s)
{
    se_scene *sc = &e->sc[s];
    for (;;) {
        int64_t vts = INT64_MAX;
        int held = 0;
        for (int o = 0; o < sc->nout; o++) {
            se_venc *v = &sc->v[o];
            if (v->nhold && (int64_t)v->hold[0]->ts < vts)
                vts = v->hold[0]->ts;
            if (v->nhold > held)
                held = v->nhold;
        }
        if (sc->ahead && (sc->ahead->ts <= vts && vts != INT64_MAX)) {
            emit_audio_head(e, s);
            continue;
        }
        if (vts == INT64_MAX || (sc->a_last_ts < vts && held < SE_VHOLD / 2))
            break;
        for (int o = 0; o < sc->nout; o++) {
            se_venc *v = &sc->v[o];
            if (v->nhold && (int64_t)v->hold[0]->ts == vts) {
                sc->v_last_ts = vts;
                le_se_emit(e, s, o, v->hold[0]);
                memmove(v->hold, v->hold + 1, (size_t)(v->nhold - 1) * sizeof(v->hold[0]));
                v->nhold--;
            }
        }
    }
}

/* ---- video ---- */

static void venc_pull(le_se *e, int s, int o)
{
    se_scene *sc = &e->sc[s];
    AVCodecContext *x = sc->v[o].enc;
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return;
    le_buf nal = { 0 }, body = { 0 };
    while (avcodec_receive_packet(x, pkt) == 0) {
        nal.len = body.len = 0;
        if (le_pipe_annexb_to_avcc(pkt->data, (size_t)pkt->size, &nal) == 0) {
            int64_t dts = av_rescale_q(pkt->dts, x->time_base, (AVRational){ 1, 1000 });
            int64_t pts = av_rescale_q(pkt->pts, x->time_base, (AVRational){ 1, 1000 });
            le_pipe_flv_avc_frame((pkt->flags & AV_PKT_FLAG_KEY) != 0, (int32_t)(pts > dts ? pts - dts : 0),
                                  nal.p, nal.len, &body);
            se_venc *v = &sc->v[o];
            if (v->nhold == SE_VHOLD) {     /* cannot happen: flushed at half */
                if ((int64_t)v->hold[0]->ts > sc->v_last_ts)
                    sc->v_last_ts = v->hold[0]->ts;
                le_se_emit(e, s, o, v->hold[0]);
                memmove(v->hold, v->hold + 1, (size_t)(SE_VHOLD - 1) * sizeof(v->hold[0]));
                v->nhold--;
            }
            v->hold[v->nhold++] = le_pkt_new(LE_PKT_VIDEO, (uint32_t)(dts < 0 ? 0 : dts), body.p,
                                             (uint32_t)body.len);
        }
        av_packet_unref(pkt);
    }
    le_buf_free(&nal);
    le_buf_free(&body);
    av_packet_free(&pkt);
}

/* The scene's picture f (output 0's size) at tick: every output encodes
 * it (scaled for the others); the audio up to its time goes out first. */
void le_se_enc_video(le_se *e, int s, AVFrame *f, int64_t tick)
{
    se_scene *sc = &e->sc[s];
    if (!sc->enc_open || tick <= sc->v_last_tick)
        return;                     /* a picture of a tick already encoded */
    sc->v_last_tick = tick;
    for (int o = 0; o < sc->nout; o++) {
        se_venc *v = &sc->v[o];
        if (!v->enc || v->failed)
            continue;
        AVFrame *in = f;
        if (o > 0) {
            if (f->width != sc->out[0].width || f->height != sc->out[0].height ||
                av_frame_make_writable(v->scaled) < 0)
                continue;
            sws_scale(v->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, v->scaled->data,
                      v->scaled->linesize);
            in = v->scaled;
        } else if (f->width != sc->out[0].width || f->height != sc->out[0].height) {
            continue;
        }
        in->pts = tick;
        in->pict_type = AV_PICTURE_TYPE_NONE;
        in->key_frame = 0;
        int rc = avcodec_send_frame(v->enc, in);
        if (rc < 0) {
            char eb[AV_ERROR_MAX_STRING_SIZE];
            le_warn(MOD, "%s: scene %d output %d: encode: %s", e->name, s, o,
                    av_make_error_string(eb, sizeof(eb), rc));
            continue;
        }
        e->st.frames_out++;
        venc_pull(e, s, o);
    }
}
