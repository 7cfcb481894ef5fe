/* The worker half of a job (pipeline/job_impl.h): FLV tag bodies to
 * decoders, decoded frames through the filter graph, filtered frames to
 * libx264, packets to FLV tag bodies. Runs on one worker at a time; the
 * choices are explained in docs/PIPELINE.md. */
#include "pipeline/job_impl.h"
#include "pipeline/flvout.h"
#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "media/flv.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "pipeline"
#define ERRS_REOPEN 8           /* refused packets in a row: reopen the decoder */
#define AUDIO_HOLD_PKTS 128     /* audio waiting for video, at most */
#define AUDIO_HOLD_MS 2000
#define MAX_PIXELS (8192 * 4320)

static const AVRational MS = { 1, 1000 };

void le_pipe_codec_init(le_pipe_job *j)
{
    j->frame = av_frame_alloc();
    j->ofr = av_frame_alloc();
    if (!j->frame || !j->ofr)
        abort();
    for (int o = 0; o < j->cfg.noutputs; o++)
        j->out[o].last_ms = -1;
}

static void free_graph(le_pipe_job *j)
{
    avfilter_graph_free(&j->graph);
    memset(j->src, 0, sizeof(j->src));
    for (int o = 0; o < j->cfg.noutputs; o++)
        j->out[o].sink = NULL;
}

void le_pipe_codec_free(le_pipe_job *j)
{
    for (int i = 0; i < j->cfg.ninputs; i++) {
        avcodec_free_context(&j->in[i].dec);
        le_buf_free(&j->in[i].extra);
    }
    for (int o = 0; o < j->cfg.noutputs; o++) {
        avcodec_free_context(&j->out[o].enc);
        for (le_pipe_outq *a = j->out[o].ahead; a;) {
            le_pipe_outq *n = a->next;
            le_pkt_unref(a->p);
            free(a);
            a = n;
        }
        j->out[o].ahead = j->out[o].atail = NULL;
        le_buf_free(&j->out[o].aseq);
    }
    free_graph(j);
    av_frame_free(&j->frame);
    av_frame_free(&j->ofr);
}

/* ---- output: encoder, FLV tags, audio interleaving ---- */

static void emit_body(le_pipe_job *j, int o, uint8_t type, int64_t ts, const le_buf *b)
{
    if (ts < 0)
        ts = 0;
    le_pipe_emit(j, o, le_pkt_new(type, (uint32_t)ts, b->p, (uint32_t)b->len));
}

/* Audio queued for output o with ts at or before its video goes out; when
 * the hold overflows, the oldest goes anyway (or is dropped while no video
 * was ever sent, so that the AVC header stays first). */
static void release_audio(le_pipe_job *j, int o, int all)
{
    le_pipe_vout *v = &j->out[o];
    while (v->ahead) {
        le_pipe_outq *a = v->ahead;
        int64_t span = (int64_t)v->atail->p->ts - (int64_t)a->p->ts;
        int over = v->an > AUDIO_HOLD_PKTS || span > AUDIO_HOLD_MS;
        int due = v->started && (all || (int64_t)a->p->ts <= v->last_ms);
        if (!due && !over)
            break;
        v->ahead = a->next;
        if (!v->ahead)
            v->atail = NULL;
        v->an--;
        if (v->started)
            le_pipe_emit(j, o, a->p);
        else
            le_pkt_unref(a->p);
        free(a);
    }
}

static void audio_in(le_pipe_job *j, const le_pipe_inq *q)
{
    le_flv_info fi;
    if (le_flv_audio_info(q->data, q->len, &fi) != 0 || fi.codec != LE_CODEC_AAC)
        return;
    for (int o = 0; o < j->cfg.noutputs; o++) {
        if (!j->cfg.out[o].audio)
            continue;
        le_pipe_vout *v = &j->out[o];
        if (fi.seqhdr) {
            /* Kept apart too: before any video the hold drops its oldest,
             * and without this header the output has no audio at all. It
             * follows each video sequence header (encoder_open). */
            v->aseq.len = 0;
            le_buf_append(&v->aseq, q->data, q->len);
            if (!v->started)
                continue;
        }
        le_pipe_outq *a = le_xmalloc(sizeof(*a));
        a->next = NULL;
        a->out = o;
        a->p = le_pkt_new(LE_PKT_AUDIO, q->ts, q->data, q->len);
        if (v->atail)
            v->atail->next = a;
        else
            v->ahead = a;
        v->atail = a;
        v->an++;
        release_audio(j, o, 0);
    }
}

static int encoder_open(le_pipe_job *j, int o, const AVFrame *f)
{
    le_pipe_vout *v = &j->out[o];
    int hevc = j->cfg.out[o].hevc;
    const AVCodec *c = avcodec_find_encoder_by_name(hevc ? "libx265" : "libx264");
    if (!c) {
        le_error(MOD, "%s: libavcodec has no %s encoder", j->name, hevc ? "libx265" : "libx264");
        return LE_ENOTFOUND;
    }
    AVCodecContext *e = avcodec_alloc_context3(c);
    if (!e)
        return LE_ENOMEM;
    AVRational fr = av_buffersink_get_frame_rate(v->sink);
    if (fr.num <= 0 || fr.den <= 0)
        fr = (AVRational){ j->cfg.fps_hint, 1 };
    e->width = f->width;
    e->height = f->height;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->sample_aspect_ratio = f->sample_aspect_ratio;
    e->time_base = av_buffersink_get_time_base(v->sink);
    e->framerate = fr;
    int64_t bps = (int64_t)j->cfg.out[o].bitrate_kbps * 1000;
    e->bit_rate = bps;
    e->rc_max_rate = bps;
    e->rc_buffer_size = (int)(bps > INT32_MAX ? INT32_MAX : bps);     /* 1 s */
    e->gop_size = j->cfg.max_gop_frames;
    e->max_b_frames = 0;
    e->thread_count = 1;        /* one job, one worker */
    e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opt = NULL;
    av_dict_set(&opt, "preset", j->cfg.out[o].preset, 0);
    av_dict_set(&opt, "tune", "zerolatency", 0);
    av_dict_set(&opt, "forced-idr", "1", 0);
    if (hevc) {
        char xp[160];
        snprintf(xp, sizeof(xp), "log-level=error:keyint=%d:scenecut=0:open-gop=0:bframes=0:pools=none:"
                 "frame-threads=1:wpp=0", j->cfg.max_gop_frames);
        av_dict_set(&opt, "x265-params", xp, 0);
    } else {
        av_dict_set(&opt, "x264-params", "scenecut=0:open-gop=0", 0);
    }
    int rc = avcodec_open2(e, c, &opt);
    av_dict_free(&opt);
    if (rc < 0) {
        char eb[AV_ERROR_MAX_STRING_SIZE];
        le_error(MOD, "%s: output %d: libx264 %dx%d: %s", j->name, o, f->width, f->height,
                 av_make_error_string(eb, sizeof(eb), rc));
        avcodec_free_context(&e);
        return LE_EINVAL;
    }
    le_buf rec = { 0 }, body = { 0 };
    if ((hevc ? le_pipe_hvcc_record : le_pipe_avcc_record)(e->extradata, (size_t)e->extradata_size, &rec) != 0) {
        le_error(MOD, "%s: output %d: no parameter sets in the encoder's header", j->name, o);
        avcodec_free_context(&e);
        le_buf_free(&rec);
        return LE_EPROTO;
    }
    if (hevc)
        le_pipe_flv_hevc_seqhdr(rec.p, rec.len, &body);
    else
        le_pipe_flv_avc_seqhdr(rec.p, rec.len, &body);
    int64_t ms = av_rescale_q(f->pts, e->time_base, MS);
    emit_body(j, o, LE_PKT_VIDEO, ms > v->last_ms ? ms : v->last_ms, &body);
    if (v->aseq.len)
        emit_body(j, o, LE_PKT_AUDIO, ms > v->last_ms ? ms : v->last_ms, &v->aseq);
    le_buf_free(&rec);
    le_buf_free(&body);
    v->enc = e;
    v->w = f->width;
    v->h = f->height;
    v->started = 1;
    return 0;
}

static void encoder_pull(le_pipe_job *j, int o)
{
    le_pipe_vout *v = &j->out[o];
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        abort();
    le_buf nal = { 0 }, body = { 0 };
    while (avcodec_receive_packet(v->enc, pkt) == 0) {
        nal.len = body.len = 0;
        if (le_pipe_annexb_to_avcc(pkt->data, (size_t)pkt->size, &nal) == 0) {
            int64_t dts = av_rescale_q(pkt->dts, v->enc->time_base, MS);
            int64_t pts = av_rescale_q(pkt->pts, v->enc->time_base, MS);
            int32_t cts = (int32_t)(pts - dts);
            (j->cfg.out[o].hevc ? le_pipe_flv_hevc_frame : le_pipe_flv_avc_frame)(
                (pkt->flags & AV_PKT_FLAG_KEY) != 0, cts < 0 ? 0 : cts, nal.p, nal.len, &body);
            if (dts > v->last_ms)
                v->last_ms = dts;
            release_audio(j, o, 0);     /* audio up to this frame's time first */
            emit_body(j, o, LE_PKT_VIDEO, dts, &body);
        }
        av_packet_unref(pkt);
    }
    le_buf_free(&nal);
    le_buf_free(&body);
    av_packet_free(&pkt);
}

static void encoder_close(le_pipe_job *j, int o)
{
    le_pipe_vout *v = &j->out[o];
    if (!v->enc)
        return;
    avcodec_send_frame(v->enc, NULL);
    encoder_pull(j, o);
    avcodec_free_context(&v->enc);
}

/* A filtered frame of output o: force a keyframe at the first frame at or
 * after each source keyframe time, reopen the encoder if the size changed. */
static void encode_frame(le_pipe_job *j, int o, AVFrame *f)
{
    le_pipe_vout *v = &j->out[o];
    if (v->enc && (f->width != v->w || f->height != v->h)) {
        encoder_close(j, o);
        j->st.reconfigs++;
    }
    int opened = 0;
    if (!v->enc) {
        if (v->enc_failed && f->width == v->w && f->height == v->h)
            return;             /* logged once per size */
        if (encoder_open(j, o, f) != 0) {
            v->enc_failed = 1;
            v->w = f->width;
            v->h = f->height;
            return;
        }
        v->enc_failed = 0;
        opened = 1;
    }
    int64_t ms = av_rescale_q(f->pts, v->enc->time_base, MS);
    int force = opened;
    if (j->nkeys - v->keys_seen > LE_PIPE_KEYS)
        v->keys_seen = j->nkeys - LE_PIPE_KEYS;
    while (v->keys_seen < j->nkeys && j->keys[v->keys_seen % LE_PIPE_KEYS] <= ms) {
        force = 1;
        v->keys_seen++;
    }
    f->pict_type = force ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    f->key_frame = force;
    int rc = avcodec_send_frame(v->enc, f);
    if (rc < 0) {
        char eb[AV_ERROR_MAX_STRING_SIZE];
        le_warn(MOD, "%s: output %d: encode: %s", j->name, o, av_make_error_string(eb, sizeof(eb), rc));
        return;
    }
    j->st.frames_encoded++;
    encoder_pull(j, o);
}

/* ---- the filter graph ---- */

static void pull_sinks(le_pipe_job *j)
{
    for (int o = 0; o < j->cfg.noutputs; o++) {
        if (!j->out[o].sink)
            continue;
        while (av_buffersink_get_frame(j->out[o].sink, j->ofr) >= 0) {
            encode_frame(j, o, j->ofr);
            av_frame_unref(j->ofr);
        }
    }
}

/* End of the graph's input: what it holds goes to the encoders. */
static void drain_graph(le_pipe_job *j)
{
    if (!j->graph)
        return;
    for (int i = 0; i < j->cfg.ninputs; i++)
        if (j->src[i] && av_buffersrc_add_frame_flags(j->src[i], NULL, 0) < 0)
            break;
    pull_sinks(j);
    free_graph(j);
}

static int build_graph(le_pipe_job *j)
{
    char args[256], name[16];
    AVFilterInOut *ins = NULL, *outs = NULL;
    int rc = AVERROR(ENOMEM);
    j->graph = avfilter_graph_alloc();
    if (!j->graph)
        goto fail;
    j->graph->nb_threads = 1;
    for (int i = j->cfg.ninputs - 1; i >= 0; i--) {
        le_pipe_vin *in = &j->in[i];
        snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/1000:pixel_aspect=%d/%d:frame_rate=%d/1",
                 in->w, in->h, in->fmt, in->sar_num > 0 ? in->sar_num : 1, in->sar_den > 0 ? in->sar_den : 1,
                 j->cfg.fps_hint);
        snprintf(name, sizeof(name), "in%d", i);
        rc = avfilter_graph_create_filter(&j->src[i], avfilter_get_by_name("buffer"), name, args, NULL, j->graph);
        if (rc < 0)
            goto fail;
        AVFilterInOut *io = avfilter_inout_alloc();
        if (!io) {
            rc = AVERROR(ENOMEM);
            goto fail;
        }
        io->name = av_strdup(name);
        io->filter_ctx = j->src[i];
        io->pad_idx = 0;
        io->next = outs;
        outs = io;
    }
    for (int o = j->cfg.noutputs - 1; o >= 0; o--) {
        snprintf(name, sizeof(name), "o%d", o);
        rc = avfilter_graph_create_filter(&j->out[o].sink, avfilter_get_by_name("buffersink"), name, NULL, NULL,
                                          j->graph);
        if (rc < 0)
            goto fail;
        enum AVPixelFormat fmts[] = { AV_PIX_FMT_YUV420P, AV_PIX_FMT_NONE };
        rc = av_opt_set_int_list(j->out[o].sink, "pix_fmts", fmts, AV_PIX_FMT_NONE, AV_OPT_SEARCH_CHILDREN);
        if (rc < 0)
            goto fail;
        AVFilterInOut *io = avfilter_inout_alloc();
        if (!io) {
            rc = AVERROR(ENOMEM);
            goto fail;
        }
        io->name = av_strdup(name);
        io->filter_ctx = j->out[o].sink;
        io->pad_idx = 0;
        io->next = ins;
        ins = io;
    }
    rc = avfilter_graph_parse_ptr(j->graph, j->cfg.graph, &ins, &outs, NULL);
    if (rc < 0)
        goto fail;
    rc = avfilter_graph_config(j->graph, NULL);
    if (rc < 0)
        goto fail;
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    return 0;
fail:
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    free_graph(j);
    char eb[AV_ERROR_MAX_STRING_SIZE];
    le_error(MOD, "%s: filter graph \"%s\": %s", j->name, j->cfg.graph, av_make_error_string(eb, sizeof(eb), rc));
    return LE_EINVAL;
}

/* A decoded frame of input i. */
static void frame_in(le_pipe_job *j, int i, AVFrame *f)
{
    le_pipe_vin *in = &j->in[i];
    j->st.frames_decoded++;
    if (in->have_fmt && (f->width != in->w || f->height != in->h || f->format != in->fmt)) {
        if (j->graph) {
            drain_graph(j);
            j->st.reconfigs++;
        }
        j->graph_failed = 0;
    }
    in->w = f->width;
    in->h = f->height;
    in->fmt = f->format;
    in->sar_num = f->sample_aspect_ratio.num;
    in->sar_den = f->sample_aspect_ratio.den;
    in->have_fmt = 1;
    if (!j->graph && !j->graph_failed) {
        for (int k = 0; k < j->cfg.ninputs; k++)
            if (!j->in[k].have_fmt)
                return;         /* wait for every input's first frame */
        if (build_graph(j) != 0) {
            j->graph_failed = 1;
            return;
        }
    }
    if (!j->graph)
        return;
    f->pts = f->best_effort_timestamp;
    if (f->pts == AV_NOPTS_VALUE)
        return;                 /* cannot be placed on the timeline */
    if (av_buffersrc_add_frame_flags(j->src[i], f, AV_BUFFERSRC_FLAG_KEEP_REF) < 0)
        return;
    pull_sinks(j);
}

/* ---- decoders ---- */

static void decoder_pull(le_pipe_job *j, int i)
{
    le_pipe_vin *in = &j->in[i];
    for (;;) {
        int rc = avcodec_receive_frame(in->dec, j->frame);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            break;
        if (rc < 0) {
            j->st.decode_errors++;
            break;
        }
        frame_in(j, i, j->frame);
        av_frame_unref(j->frame);
    }
}

static void decoder_close(le_pipe_job *j, int i)
{
    le_pipe_vin *in = &j->in[i];
    if (!in->dec)
        return;
    avcodec_send_packet(in->dec, NULL);
    decoder_pull(j, i);
    avcodec_free_context(&in->dec);
}

static int decoder_open(le_pipe_job *j, int i)
{
    le_pipe_vin *in = &j->in[i];
    const AVCodec *c = avcodec_find_decoder(in->codec == LE_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264);
    if (!c)
        return LE_ENOTFOUND;
    AVCodecContext *d = avcodec_alloc_context3(c);
    if (!d)
        return LE_ENOMEM;
    d->extradata = av_mallocz(in->extra.len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!d->extradata) {
        avcodec_free_context(&d);
        return LE_ENOMEM;
    }
    memcpy(d->extradata, in->extra.p, in->extra.len);
    d->extradata_size = (int)in->extra.len;
    d->pkt_timebase = MS;
    d->thread_count = 1;
    d->max_pixels = MAX_PIXELS;     /* a peer's SPS does not size our buffers past 8K */
    if (avcodec_open2(d, c, NULL) < 0) {
        avcodec_free_context(&d);
        return LE_EPROTO;
    }
    in->dec = d;
    in->need_key = 1;
    in->errs_in_row = 0;
    return 0;
}

static void video_in(le_pipe_job *j, const le_pipe_inq *q)
{
    le_pipe_vin *in = &j->in[q->input];
    le_flv_info fi;
    if (le_flv_video_info(q->data, q->len, &fi) != 0 || fi.hdr_len > q->len ||
        (fi.codec != LE_CODEC_H264 && fi.codec != LE_CODEC_H265)) {
        j->st.decode_errors++;
        return;
    }
    const uint8_t *pl = q->data + fi.hdr_len;
    size_t n = q->len - fi.hdr_len;
    int frame;
    if (fi.enhanced) {
        int ptype = q->data[0] & 15;
        frame = ptype == 1 || ptype == 3;
    } else {
        frame = q->data[1] == 1;
    }
    if (fi.seqhdr) {
        if (n == 0)
            return;
        if (in->dec && in->codec == fi.codec && in->extra.len == n && memcmp(in->extra.p, pl, n) == 0)
            return;             /* the same header again */
        if (in->dec) {
            decoder_close(j, q->input);
            j->st.reconfigs++;
        }
        in->codec = fi.codec;
        in->extra.len = 0;
        le_buf_append(&in->extra, pl, n);
        if (decoder_open(j, q->input) != 0) {
            j->st.decode_errors++;
            le_warn(MOD, "%s: input %d: cannot open a decoder for this sequence header", j->name, q->input);
        }
        return;
    }
    if (!frame || n == 0 || !in->dec || fi.codec != in->codec)
        return;
    if (in->need_key && !fi.key)
        return;
    in->need_key = 0;
    int64_t pts = (int64_t)q->ts + fi.cts;
    if (fi.key && q->input == 0) {
        j->keys[j->nkeys % LE_PIPE_KEYS] = pts;
        j->nkeys++;
    }
    AVPacket *pkt = av_packet_alloc();
    if (!pkt || av_new_packet(pkt, (int)n) < 0)
        abort();
    memcpy(pkt->data, pl, n);
    pkt->pts = pts;
    pkt->dts = q->ts;
    if (fi.key)
        pkt->flags |= AV_PKT_FLAG_KEY;
    int rc = avcodec_send_packet(in->dec, pkt);
    av_packet_free(&pkt);
    if (rc < 0 && rc != AVERROR(EAGAIN)) {
        j->st.decode_errors++;
        if (++in->errs_in_row >= ERRS_REOPEN) {
            avcodec_free_context(&in->dec);
            if (decoder_open(j, q->input) == 0)
                j->st.reconfigs++;
        }
    } else {
        in->errs_in_row = 0;
    }
    decoder_pull(j, q->input);
}

void le_pipe_codec_input(le_pipe_job *j, const le_pipe_inq *q)
{
    if (q->type == LE_PKT_VIDEO)
        video_in(j, q);
    else if (q->type == LE_PKT_AUDIO && q->input == 0)
        audio_in(j, q);
}

void le_pipe_codec_drain(le_pipe_job *j)
{
    for (int i = 0; i < j->cfg.ninputs; i++)
        decoder_close(j, i);
    drain_graph(j);
    for (int o = 0; o < j->cfg.noutputs; o++) {
        encoder_close(j, o);
        release_audio(j, o, 1);
    }
}
