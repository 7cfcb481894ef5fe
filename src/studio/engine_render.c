/* The studio engine's worker (studio/engine_impl.h): commands between
 * ticks, the sources, and one frame through every running scene's graph
 * per tick. */
#include "studio/engine_impl.h"
#include "core/err.h"
#include "core/log.h"

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/samplefmt.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOD "studio"
#define SLATE_W 64
#define SLATE_H 36

static AVFrame *black_frame(int w, int h)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    f->width = w;
    f->height = h;
    f->format = AV_PIX_FMT_YUV420P;
    f->sample_aspect_ratio = (AVRational){ 1, 1 };
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    for (int y = 0; y < h; y++)
        memset(f->data[0] + (size_t)y * f->linesize[0], 16, (size_t)w);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < h / 2; y++)
            memset(f->data[p] + (size_t)y * f->linesize[p], 128, (size_t)w / 2);
    return f;
}

int le_se_render_init(le_se *e)
{
    e->slate = black_frame(SLATE_W, SLATE_H);
    e->tmp = av_frame_alloc();
    e->ofr = av_frame_alloc();
    for (int i = 0; i < LE_SE_SLOTS; i++)
        if (!(e->aud[i] = av_frame_alloc()))
            return LE_ENOMEM;
    return e->slate && e->tmp && e->ofr ? 0 : LE_ENOMEM;
}

static void graph_free(se_scene *sc)
{
    avfilter_graph_free(&sc->graph);
    memset(sc->vsrc, 0, sizeof(sc->vsrc));
    memset(sc->asrc, 0, sizeof(sc->asrc));
    memset(sc->isrc, 0, sizeof(sc->isrc));
    sc->vsink = sc->asink = NULL;
}

static void scene_stop(le_se *e, int s)
{
    se_scene *sc = &e->sc[s];
    graph_free(sc);
    le_se_enc_close(e, s);
    av_frame_free(&sc->black);
    sc->built = sc->graph_failed = 0;
}

void le_se_render_free(le_se *e)
{
    for (int s = 0; s < LE_SE_MAX_SCENES; s++) {
        se_scene *sc = &e->sc[s];
        scene_stop(e, s);
        for (int k = 0; k < LE_SG_MAX_IMAGES; k++)
            av_frame_free(&sc->img[k]);
        le_se_scene_copy_free(sc->cur);
        sc->cur = NULL;
    }
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        le_ss_free(e->src[i]);
        e->src[i] = NULL;
        le_ss_free(e->staged[i]);
        e->staged[i] = NULL;
        av_frame_free(&e->aud[i]);
    }
    av_frame_free(&e->slate);
    av_frame_free(&e->tmp);
    av_frame_free(&e->ofr);
}

/* ---- images ---- */

/* The first picture of a still file, as RGBA; NULL (logged) when it cannot
 * be read. */
static AVFrame *image_load(le_se *e, const char *path)
{
    AVFormatContext *fc = NULL;
    AVCodecContext *dc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc(), *out = NULL;
    struct SwsContext *sws = NULL;
    const char *why = "cannot open";
    if (!pkt || !f || avformat_open_input(&fc, path, NULL, NULL) < 0)
        goto done;
    why = "no picture";
    if (avformat_find_stream_info(fc, NULL) < 0)
        goto done;
    int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (si < 0)
        goto done;
    const AVCodec *c = avcodec_find_decoder(fc->streams[si]->codecpar->codec_id);
    if (!c || !(dc = avcodec_alloc_context3(c)) ||
        avcodec_parameters_to_context(dc, fc->streams[si]->codecpar) < 0 || avcodec_open2(dc, c, NULL) < 0)
        goto done;
    int got = 0;
    while (!got && av_read_frame(fc, pkt) >= 0) {
        if (pkt->stream_index == si && avcodec_send_packet(dc, pkt) >= 0)
            got = avcodec_receive_frame(dc, f) >= 0;
        av_packet_unref(pkt);
    }
    if (!got && avcodec_send_packet(dc, NULL) >= 0)
        got = avcodec_receive_frame(dc, f) >= 0;
    if (!got || f->width < 1 || f->height < 1 || f->width > LE_SG_MAX_DIM || f->height > LE_SG_MAX_DIM)
        goto done;
    why = "cannot convert";
    out = av_frame_alloc();
    if (!out)
        goto done;
    out->width = f->width;
    out->height = f->height;
    out->format = AV_PIX_FMT_RGBA;
    sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGBA, SWS_BILINEAR,
                         NULL, NULL, NULL);
    if (!sws || av_frame_get_buffer(out, 0) < 0 ||
        sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, out->data, out->linesize) < 0)
        av_frame_free(&out);
done:
    if (!out)
        le_warn(MOD, "%s: image %s: %s; the component is left transparent", e->name, path, why);
    sws_freeContext(sws);
    avcodec_free_context(&dc);
    avformat_close_input(&fc);
    av_packet_free(&pkt);
    av_frame_free(&f);
    return out;
}

/* A transparent 2x2 picture for an image that cannot be read. */
static AVFrame *image_blank(void)
{
    AVFrame *f = av_frame_alloc();
    if (!f)
        return NULL;
    f->width = f->height = 2;
    f->format = AV_PIX_FMT_RGBA;
    if (av_frame_get_buffer(f, 0) < 0) {
        av_frame_free(&f);
        return NULL;
    }
    for (int y = 0; y < 2; y++)
        memset(f->data[0] + (size_t)y * f->linesize[0], 0, 8);
    return f;
}

static void images_update(le_se *e, se_scene *sc)
{
    const le_se_scene *s = &sc->cur->s;
    for (int k = 0; k < LE_SG_MAX_IMAGES; k++) {
        const char *want = k < s->pic.nimages ? s->images[k] : "";
        if (sc->img[k] && strcmp(sc->img_path[k], want) == 0)
            continue;
        av_frame_free(&sc->img[k]);
        sc->img_path[k][0] = 0;
        if (k >= s->pic.nimages)
            continue;
        snprintf(sc->img_path[k], sizeof(sc->img_path[k]), "%s", want);
        sc->img[k] = *want ? image_load(e, want) : NULL;
        if (!sc->img[k])
            sc->img[k] = image_blank();
    }
}

/* ---- graphs ---- */

static int label_index(const char *name, const char *prefix, int n)
{
    size_t l = strlen(prefix);
    if (!name || strncmp(name, prefix, l) != 0 || !name[l])
        return -1;
    char *end;
    long v = strtol(name + l, &end, 10);
    return *end || v < 0 || v >= n ? -1 : (int)v;
}

/* The scene's graph for this tick's pictures (vid: each slot's frame). */
static int graph_build(le_se *e, int s, AVFrame *const *vid, int64_t tick)
{
    se_scene *sc = &e->sc[s];
    const le_sg_scene *pic = &sc->cur->s.pic;
    AVFilterInOut *ins = NULL, *outs = NULL;
    char args[256], name[32];
    int rc;
    graph_free(sc);
    sc->graph = avfilter_graph_alloc();
    if (!sc->graph) {
        rc = AVERROR(ENOMEM);
        goto fail;
    }
    sc->graph->nb_threads = 1;
    rc = avfilter_graph_parse2(sc->graph, sc->cur->desc, &ins, &outs);
    if (rc < 0)
        goto fail;
    for (AVFilterInOut *io = ins; io; io = io->next) {
        AVFilterContext *src = NULL;
        int i;
        if ((i = label_index(io->name, "in", pic->ninputs)) >= 0) {
            const AVFrame *f = vid[i];
            snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/%d:pixel_aspect=1/1:frame_rate=%d/1",
                     f->width, f->height, f->format, e->cfg.fps, e->cfg.fps);
            snprintf(name, sizeof(name), "src_in%d", i);
            rc = avfilter_graph_create_filter(&src, avfilter_get_by_name("buffer"), name, args, NULL, sc->graph);
            sc->vsrc[i] = src;
            sc->in_w[i] = f->width;
            sc->in_h[i] = f->height;
            sc->in_fmt[i] = f->format;
        } else if ((i = label_index(io->name, "ain", pic->naudio_inputs)) >= 0) {
            snprintf(name, sizeof(name), "src_ain%d", i);
            rc = avfilter_graph_create_filter(&src, avfilter_get_by_name("abuffer"), name,
                                              "sample_rate=44100:sample_fmt=fltp:channel_layout=stereo:"
                                              "time_base=1/44100", NULL, sc->graph);
            sc->asrc[i] = src;
        } else if ((i = label_index(io->name, "img", pic->nimages)) >= 0 && sc->img[i]) {
            snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/%d:pixel_aspect=1/1",
                     sc->img[i]->width, sc->img[i]->height, sc->img[i]->format, e->cfg.fps);
            snprintf(name, sizeof(name), "src_img%d", i);
            rc = avfilter_graph_create_filter(&src, avfilter_get_by_name("buffer"), name, args, NULL, sc->graph);
            sc->isrc[i] = src;
        } else {
            rc = AVERROR(EINVAL);
        }
        if (rc < 0 || (rc = avfilter_link(src, 0, io->filter_ctx, (unsigned)io->pad_idx)) < 0)
            goto fail;
    }
    for (AVFilterInOut *io = outs; io; io = io->next) {
        AVFilterContext *sink = NULL;
        if (io->name && strcmp(io->name, "o0") == 0 && !sc->vsink) {
            rc = avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "sink_o0", NULL, NULL,
                                              sc->graph);
            if (rc >= 0) {
                enum AVPixelFormat fmts[] = { AV_PIX_FMT_YUV420P, AV_PIX_FMT_NONE };
                rc = av_opt_set_int_list(sink, "pix_fmts", fmts, AV_PIX_FMT_NONE, AV_OPT_SEARCH_CHILDREN);
            }
            sc->vsink = sink;
        } else if (io->name && strcmp(io->name, "a0") == 0 && !sc->asink) {
            rc = avfilter_graph_create_filter(&sink, avfilter_get_by_name("abuffersink"), "sink_a0", NULL, NULL,
                                              sc->graph);
            sc->asink = sink;
        } else {
            rc = AVERROR(EINVAL);
        }
        if (rc < 0 || (rc = avfilter_link(io->filter_ctx, (unsigned)io->pad_idx, sink, 0)) < 0)
            goto fail;
    }
    if (!sc->vsink) {
        rc = AVERROR(EINVAL);
        goto fail;
    }
    rc = avfilter_graph_config(sc->graph, NULL);
    if (rc < 0)
        goto fail;
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    /* images: fed once, then ended (overlay repeats the picture) */
    for (int k = 0; k < pic->nimages; k++) {
        if (!sc->isrc[k])
            continue;
        if (av_frame_ref(e->tmp, sc->img[k]) < 0)
            continue;
        e->tmp->pts = tick;
        int rc1 = av_buffersrc_add_frame_flags(sc->isrc[k], e->tmp, 0);
        av_frame_unref(e->tmp);
        int rc2 = av_buffersrc_add_frame_flags(sc->isrc[k], NULL, 0);
        if (rc1 < 0 || rc2 < 0)
            le_warn(MOD, "%s: scene %d: image %d refused by the graph", e->name, s, k);
    }
    sc->graph_failed = 0;
    return 0;
fail:
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    graph_free(sc);
    if (!sc->graph_failed) {
        char eb[AV_ERROR_MAX_STRING_SIZE];
        le_error(MOD, "%s: scene %d: filter graph: %s; black until the next change", e->name, s,
                 av_make_error_string(eb, sizeof(eb), rc));
    }
    sc->graph_failed = 1;
    return LE_EINVAL;
}

/* ---- commands ---- */

static int outs_differ(const le_se_scene *a, const le_se_scene *b)
{
    if (a->nout != b->nout)
        return 1;
    for (int o = 0; o < a->nout; o++)
        if (a->out[o].width != b->out[o].width || a->out[o].height != b->out[o].height ||
            a->out[o].bitrate_kbps != b->out[o].bitrate_kbps)
            return 1;
    return 0;
}

static int images_differ(const le_se_scene *a, const le_se_scene *b)
{
    if (a->pic.nimages != b->pic.nimages)
        return 1;
    for (int k = 0; k < a->pic.nimages; k++)
        if (strcmp(a->images[k], b->images[k]) != 0)
            return 1;
    return 0;
}

static void apply_scene(le_se *e, int s, se_scene_copy *c)
{
    se_scene *sc = &e->sc[s];
    se_scene_copy *old = sc->cur;
    sc->cur = c;
    int64_t now_ms = le_se_tick_ms(e, e->next_tick);
    if (!c->s.running) {
        if (old && old->s.running)
            e->st.last_change_ms = now_ms;
        scene_stop(e, s);
        le_se_scene_copy_free(old);
        return;
    }
    images_update(e, sc);
    e->st.last_change_ms = now_ms;
    sc->graph_failed = 0;
    if (sc->enc_open && old && outs_differ(&old->s, &c->s))
        le_se_enc_close(e, s);     /* new outputs: new encoders (and headers) */
    av_frame_free(&sc->black);
    if (!sc->graph || !old || !old->s.running || images_differ(&old->s, &c->s)) {
        graph_free(sc);            /* built at the next tick */
        le_se_scene_copy_free(old);
        return;
    }
    le_sg_cmds *cmds = le_xmalloc(sizeof(*cmds));
    int rebuild = le_sg_diff(&old->s.pic, &c->s.pic, cmds) != 0 || cmds->rebuild;
    for (int i = 0; !rebuild && i < cmds->n; i++) {
        const le_sg_cmd *k = &cmds->c[i];
        char res[64] = "";
        int rc = avfilter_graph_send_command(sc->graph, k->target, k->cmd, k->arg, res, sizeof(res), 0);
        if (rc < 0) {
            char eb[AV_ERROR_MAX_STRING_SIZE];
            le_warn(MOD, "%s: scene %d: command %s %s: %s; rebuilding the graph", e->name, s, k->target, k->cmd,
                    av_make_error_string(eb, sizeof(eb), rc));
            rebuild = 1;
        } else {
            e->st.commands++;
        }
    }
    free(cmds);
    if (rebuild)
        graph_free(sc);
    le_se_scene_copy_free(old);
}

/* For log lines: RV01..RV12, the standby slot. */
static void slot_name(const le_se *e, int i, char *nm, size_t n)
{
    if (i == LE_SE_URGENT_SLOT)
        snprintf(nm, n, "%s standby", e->name);
    else
        snprintf(nm, n, "%s RV%02d", e->name, i + 1);
}

void le_se_stage(le_se *e, int slot, const se_item *it)
{
    le_ss_free(e->staged[slot]);
    e->staged[slot] = NULL;
    if (!it)
        return;
    char nm[160];
    slot_name(e, slot, nm, sizeof(nm));
    if (it->live)
        e->staged[slot] = le_ss_new_live(nm);
    else if (it->path && le_ss_new_file(nm, it->path, it->repeat, it->begin_ms, it->end_ms, &e->staged[slot]) != 0)
        e->staged[slot] = NULL;     /* tried again (and logged) at its tick */
}

static void set_source(le_se *e, se_item *it)
{
    int i = it->slot;
    if (e->src[i]) {
        le_ss_stats st;
        le_ss_stats_get(e->src[i], &st);
        e->src_errs[i] += st.decode_errors;
        le_ss_free(e->src[i]);
        e->src[i] = NULL;
    }
    char nm[160];
    slot_name(e, i, nm, sizeof(nm));
    e->src_kind[i] = it->live ? 1 : it->path ? 2 : 0;
    e->src_eof[i] = 0;
    le_ss *staged = NULL;
    if (it->timed) {            /* the waiting source made ahead (an untimed change leaves it waiting) */
        staged = e->staged[i];
        e->staged[i] = NULL;
    }
    if (it->live) {
        e->src[i] = staged ? staged : le_ss_new_live(nm);
    } else if (it->path) {
        int rc = LE_OK;
        if (staged)
            e->src[i] = staged;
        else
            rc = le_ss_new_file(nm, it->path, it->repeat, it->begin_ms, it->end_ms, &e->src[i]);
        if (rc != LE_OK) {
            le_warn(MOD, "%s: cannot play %s (%s); the slot shows black", nm, it->path,
                    rc == LE_ENOTFOUND ? "no such file" : rc == LE_EINVAL ? "bad offsets" :
                    "not a readable media file");
            e->src[i] = NULL;
        } else if (it->timed) {
            /* its BeginOffset plays at the first tick >= at_ms, even when
             * that tick was skipped */
            le_ss_start_at(e->src[i], le_se_tick_ms(e, le_se_tick_of(e, it->at_ms)));
        }
    }
}

void le_se_apply(le_se *e, se_item *it)
{
    switch (it->kind) {
    case SE_FEED:
        if (e->src[it->slot])
            le_ss_feed(e->src[it->slot], it->type, it->ts, it->data, it->len);
        if (e->staged[it->slot])
            le_ss_feed(e->staged[it->slot], it->type, it->ts, it->data, it->len);
        break;
    case SE_RESET:
        if (e->src[it->slot])
            le_ss_reset(e->src[it->slot]);
        if (e->staged[it->slot])
            le_ss_reset(e->staged[it->slot]);
        break;
    case SE_SOURCE:
        set_source(e, it);
        break;
    case SE_SEEK:
        if (e->src[it->slot])
            le_ss_seek(e->src[it->slot], it->begin_ms);
        break;
    case SE_PAUSE:
        if (e->src[it->slot])
            le_ss_pause(e->src[it->slot], it->live);
        break;
    case SE_SCENE:
        apply_scene(e, it->slot, it->scene);
        it->scene = NULL;
        break;
    }
}

/* ---- the tick ---- */

static void silence(le_se *e, AVFrame *f, int n)
{
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = LE_SS_AUDIO_RATE;
    av_channel_layout_uninit(&f->ch_layout);
    av_channel_layout_default(&f->ch_layout, 2);
    f->nb_samples = n;
    if (av_frame_get_buffer(f, 0) < 0) {
        le_error(MOD, "%s: out of memory for audio", e->name);
        av_frame_unref(f);
        return;
    }
    av_samples_set_silence(f->extended_data, 0, n, 2, AV_SAMPLE_FMT_FLTP);
}

static void pull_outputs(le_se *e, int s)
{
    se_scene *sc = &e->sc[s];
    if (sc->asink) {
        while (av_buffersink_get_frame(sc->asink, e->ofr) >= 0) {
            le_se_enc_audio(e, s, e->ofr, 0);
            av_frame_unref(e->ofr);
        }
    }
    while (sc->vsink && av_buffersink_get_frame(sc->vsink, e->ofr) >= 0) {
        AVRational tb = av_buffersink_get_time_base(sc->vsink);
        int64_t t = av_rescale_q(e->ofr->pts, tb, (AVRational){ 1, e->cfg.fps });
        le_se_enc_video(e, s, e->ofr, t);
        av_frame_unref(e->ofr);
    }
}

static void render_scene(le_se *e, int s, AVFrame *const *vid, int64_t tick, int nsamp)
{
    se_scene *sc = &e->sc[s];
    const le_sg_scene *pic = &sc->cur->s.pic;
    if (!sc->enc_open && le_se_enc_open(e, s, tick) != 0)
        return;
    int need = !sc->graph && !sc->graph_failed;
    for (int i = 0; sc->graph && i < pic->ninputs; i++)
        if (sc->vsrc[i] && (vid[i]->width != sc->in_w[i] || vid[i]->height != sc->in_h[i] ||
                            vid[i]->format != sc->in_fmt[i]))
            need = 1;
    if (need) {
        if (sc->built)
            e->st.rebuilds++;
        sc->built = 1;
        graph_build(e, s, vid, tick);
    }
    if (!sc->graph) {
        /* a graph that cannot be built: the scene goes on in black */
        if (!sc->black)
            sc->black = black_frame(pic->width, pic->height);
        if (sc->black && av_frame_ref(e->tmp, sc->black) == 0) {
            le_se_enc_video(e, s, e->tmp, tick);
            av_frame_unref(e->tmp);
        }
        le_se_enc_audio(e, s, NULL, nsamp);
        le_se_enc_audio_sync(e, s, tick);
        le_se_enc_flush(e, s);
        return;
    }
    int failed = 0;
    for (int i = 0; i < pic->ninputs && !failed; i++) {
        if (!sc->vsrc[i] || av_frame_ref(e->tmp, vid[i]) < 0)
            continue;
        e->tmp->pts = tick;
        e->tmp->sample_aspect_ratio = (AVRational){ 1, 1 };
        if (av_buffersrc_add_frame_flags(sc->vsrc[i], e->tmp, AV_BUFFERSRC_FLAG_PUSH) < 0)
            failed = 1;
        av_frame_unref(e->tmp);
    }
    for (int i = 0; i < pic->naudio_inputs && !failed; i++) {
        if (!sc->asrc[i] || !e->aud[i]->nb_samples || av_frame_ref(e->tmp, e->aud[i]) < 0)
            continue;
        e->tmp->pts = le_se_tick_samples(e, tick);
        if (av_buffersrc_add_frame_flags(sc->asrc[i], e->tmp, AV_BUFFERSRC_FLAG_PUSH) < 0)
            failed = 1;
        av_frame_unref(e->tmp);
    }
    if (failed) {
        le_warn(MOD, "%s: scene %d: the graph refused a frame; rebuilding it", e->name, s);
        graph_free(sc);
        le_se_enc_audio_sync(e, s, tick);      /* this tick's audio: silence */
        return;
    }
    pull_outputs(e, s);
    if (!sc->asink)
        le_se_enc_audio(e, s, NULL, nsamp);     /* no audio layers: silence */
    le_se_enc_audio_sync(e, s, tick);
    le_se_enc_flush(e, s);
}

void le_se_skip(le_se *e, int64_t tick, int64_t n)
{
    int64_t ns = le_se_tick_samples(e, tick + n) - le_se_tick_samples(e, tick);
    if (ns > LE_SS_AUDIO_RATE)
        ns = LE_SS_AUDIO_RATE;          /* a source holds at most LE_SS_AUDIO_MAX_MS */
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        if (!e->src[i])
            continue;
        av_frame_unref(e->aud[i]);
        if (le_ss_audio(e->src[i], e->aud[i], (int)ns) == 0)     /* dropped */
            av_frame_unref(e->aud[i]);
    }
    for (int s = 0; s < LE_SE_MAX_SCENES; s++)
        if (e->sc[s].enc_open)
            e->sc[s].a_skip += le_se_tick_samples(e, tick + n) - le_se_tick_samples(e, tick);
}

void le_se_tick(le_se *e, int64_t tick)
{
    int64_t ms = le_se_tick_ms(e, tick);
    int nsamp = (int)(le_se_tick_samples(e, tick + 1) - le_se_tick_samples(e, tick));
    AVFrame *vid[LE_SE_SLOTS];
    uint64_t errs = 0;
    for (int i = 0; i < LE_SE_SLOTS; i++) {
        le_ss *src = e->src[i];
        const AVFrame *f = NULL;
        le_se_slot_stats *ss = &e->slot_st[i];
        memset(ss, 0, sizeof(*ss));
        ss->kind = e->src_kind[i];
        ss->last_frame_ms = -1;
        av_frame_unref(e->aud[i]);
        if (src) {
            le_ss_advance(src, ms);
            f = le_ss_video(src, ms, e->cfg.stall_ms);
            if (le_ss_audio(src, e->aud[i], nsamp) != 0)
                av_frame_unref(e->aud[i]);
            le_ss_stats st;
            le_ss_stats_get(src, &st);
            errs += st.decode_errors;
            ss->has_picture = st.has_picture;
            ss->last_frame_ms = st.fresh_ms;
            ss->width = st.width;
            ss->height = st.height;
            ss->eof = st.eof;
            ss->paused = st.paused;
            ss->pos_ms = st.pos_ms;
        } else if (e->src_kind[i] == 2) {
            ss->eof = 1;        /* a file that cannot be played is at its end */
        }
        if (ss->eof && !e->src_eof[i])
            le_se_emit_event(e, i, LE_SE_EV_EOF, ms);
        e->src_eof[i] = ss->eof;
        if (!e->aud[i]->nb_samples)
            silence(e, e->aud[i], nsamp);
        vid[i] = f && f->width > 0 && f->height > 0 ? (AVFrame *)f : e->slate;
        errs += e->src_errs[i];
    }
    e->st.decode_errors = errs;
    for (int s = 0; s < LE_SE_MAX_SCENES; s++)
        if (e->sc[s].cur && e->sc[s].cur->s.running)
            render_scene(e, s, vid, tick, nsamp);
}
