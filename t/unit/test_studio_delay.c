/* The studio engine's per-slot delay (le_se_set_delay, the layouts'
 * FixedDelayDuration): one live H.264 + AAC source fed at the same moment
 * into slot 0 (no delay) and slot 1 (500 ms video and audio delay), each
 * shown and heard alone by its own scene; the delayed scene's first
 * picture and first tone come about 500 ms of stream time later. Then the
 * delay lines' byte bound drops what is over it. */
#include <event2/event.h>
#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "media/pkt.h"
#include "pipeline/pool.h"
#include "studio/engine.h"
#include "tap.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:avfilter_init_dict\nleak:av_opt_set_defaults2\n";
}

#pragma GCC diagnostic ignored "-Wunused-function"
#include "pipeline_helpers.h"      /* src_gen: a live H.264 source, FPS (25) frames */

#define TFPS 30
#define DELAY_MS 500

typedef struct outbuf {
    le_pkt *p[MAXP];
    int n;
} outbuf;
static outbuf outs[2];

static void on_pkt(void *ud, int scene, int out, le_pkt *p)
{
    (void)ud;
    if (scene < 0 || scene > 1 || out != 0 || outs[scene].n >= MAXP) {
        le_pkt_unref(p);
        return;
    }
    outs[scene].p[outs[scene].n++] = p;
}

/* ---- the live source: video (src_gen) and a 440 Hz AAC tone ---- */

static src_gen vsrc;
static AVCodecContext *aenc;
static AVFrame *af;
static int64_t a_n, v_n;
static uint64_t feed_t0;
static le_se *feed_e;

static int aac_open(void)
{
    const AVCodec *c = avcodec_find_encoder_by_name("aac");
    if (!c)
        return LE_ENOTFOUND;
    aenc = avcodec_alloc_context3(c);
    aenc->sample_rate = 44100;
    aenc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&aenc->ch_layout, 2);
    aenc->bit_rate = 128000;
    aenc->time_base = (AVRational){ 1, 44100 };
    aenc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(aenc, c, NULL) < 0)
        return LE_EPROTO;
    af = av_frame_alloc();
    af->format = AV_SAMPLE_FMT_FLTP;
    af->sample_rate = 44100;
    av_channel_layout_default(&af->ch_layout, 2);
    af->nb_samples = aenc->frame_size;
    return av_frame_get_buffer(af, 0) < 0 ? LE_ENOMEM : LE_OK;
}

static void feed_both(le_pkt *p)
{
    if (!p)
        return;
    le_se_feed(feed_e, 0, p);
    le_se_feed(feed_e, 1, p);
    le_pkt_unref(p);
}

static void feed_audio(uint32_t ts)
{
    av_frame_make_writable(af);
    for (int i = 0; i < af->nb_samples; i++) {
        float v = 0.5f * (float)sin(2 * M_PI * 440.0 * (double)(a_n * af->nb_samples + i) / 44100.0);
        ((float *)af->data[0])[i] = ((float *)af->data[1])[i] = v;
    }
    af->pts = a_n * af->nb_samples;
    a_n++;
    if (avcodec_send_frame(aenc, af) < 0)
        return;
    AVPacket *pkt = av_packet_alloc();
    while (avcodec_receive_packet(aenc, pkt) == 0) {
        uint8_t *b = le_xmalloc((size_t)pkt->size + 2);
        b[0] = 0xAF;
        b[1] = 1;
        memcpy(b + 2, pkt->data, (size_t)pkt->size);
        feed_both(le_pkt_new(LE_PKT_AUDIO, ts, b, (uint32_t)pkt->size + 2));
        free(b);
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
}

/* Every 10 ms: the frames that are due since feed_t0 (headers first). */
static void on_feed(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    (void)arg;
    uint64_t t = le_mono_ms() - feed_t0;
    if (v_n == 0 && a_n == 0) {
        feed_both(src_seqhdr(&vsrc, 0));
        uint8_t b[2 + 64] = { 0xAF, 0 };
        memcpy(b + 2, aenc->extradata, (size_t)aenc->extradata_size);
        feed_both(le_pkt_new(LE_PKT_AUDIO, 0, b, 2 + (uint32_t)aenc->extradata_size));
    }
    while (v_n * 1000 / FPS <= (int64_t)t) {
        feed_both(src_next(&vsrc, 0));
        v_n++;
    }
    while (a_n * aenc->frame_size * 1000 / 44100 <= (int64_t)t)
        feed_audio((uint32_t)(a_n * aenc->frame_size * 1000 / 44100));
}

static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* ---- what came out ---- */

/* ts of the first picture whose lower right quarter shows the source
 * (LUMA_R; the slate is black), -1 if none. */
static int64_t first_picture(const outbuf *b)
{
    int64_t found = -1;
    AVCodecContext *d = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    for (int i = 0; i < b->n && found < 0; i++) {
        const le_pkt *p = b->p[i];
        if (p->type != LE_PKT_VIDEO || p->len < 5 || (p->data[0] & 0x0f) != 7)
            continue;
        if (p->data[1] == 0) {
            if (d)
                continue;
            d = dec_open(p);
            continue;
        }
        if (!d)
            continue;
        dec_send(d, pkt, p);
        while (avcodec_receive_frame(d, f) == 0) {
            int y = f->height * 3 / 4, x = f->width * 3 / 4;
            if (found < 0 && f->data[0][y * f->linesize[0] + x] > 150)
                found = f->pts;
            av_frame_unref(f);
        }
    }
    avcodec_free_context(&d);
    av_frame_free(&f);
    av_packet_free(&pkt);
    return found;
}

/* ts of the first AAC body whose decoded samples reach 0.1, -1 if none. */
static int64_t first_tone(const outbuf *b)
{
    int64_t found = -1;
    AVCodecContext *d = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    for (int i = 0; i < b->n && found < 0; i++) {
        const le_pkt *p = b->p[i];
        if (p->type != LE_PKT_AUDIO || p->len < 2 || p->data[0] != 0xAF)
            continue;
        if (p->data[1] == 0) {
            if (d)
                continue;
            d = dec_open(p);
            continue;
        }
        if (!d)
            continue;
        dec_send(d, pkt, p);
        while (avcodec_receive_frame(d, f) == 0) {
            if (found < 0 && f->format == AV_SAMPLE_FMT_FLTP)
                for (int k = 0; k < f->nb_samples; k++)
                    if (fabsf(((const float *)f->extended_data[0])[k]) > 0.1f) {
                        found = p->ts;
                        break;
                    }
            av_frame_unref(f);
        }
    }
    avcodec_free_context(&d);
    av_frame_free(&f);
    av_packet_free(&pkt);
    return found;
}

static void scene_of(le_se_scene *s, int slot)
{
    memset(s, 0, sizeof(*s));
    s->running = 1;
    s->pic.width = 160;
    s->pic.height = 90;
    s->pic.ninputs = s->pic.naudio_inputs = LE_SE_SLOTS;
    s->pic.nlayers = 1;
    s->pic.layers[0] = (le_sg_video_layer){ .input = slot, .place = { .height_norm = 1, .width_norm = 1 } };
    s->pic.naudio = 1;
    s->pic.audio[0] = (le_sg_audio_layer){ .input = slot, .volume_rate = 1.0, .channel = LE_SG_CH_ALL };
    s->nout = 1;
    s->out[0] = (le_se_out){ 160, 90, 200 };
}

int main(void)
{
    av_log_set_level(AV_LOG_ERROR);
    struct event_base *base = event_base_new();
    le_pipe_pool *pool = NULL;
    ok(le_pipe_pool_new(base, 1, &pool) == 0, "pool");
    ok(src_open(&vsrc, 160, 90, 0) == 0 && aac_open() == LE_OK, "an H.264 and an AAC encoder");
    le_se_cfg cfg = { .fps = TFPS, .gop_frames = 15, .name = "t", .delay_max_bytes = 256 << 10,
                      .on_pkt = on_pkt };
    le_se *e = NULL;
    is_int(le_se_new(base, pool, &cfg, &e), 0, "engine started");
    for (int i = 0; i < 3; i++)
        is_int(le_se_set_source(e, i, 1, NULL, 0, 0, 0), 0, "slot %d: live", i);
    is_int(le_se_set_delay(e, 1, LE_SE_MAX_DELAY_MS + 1, 0), LE_EINVAL, "a delay over 5 s is refused");
    is_int(le_se_set_delay(e, 1, 0, -1), LE_EINVAL, "a negative delay is refused");
    is_int(le_se_set_delay(e, LE_SE_SLOTS, 0, 0), LE_EINVAL, "a slot out of range is refused");
    is_int(le_se_set_delay(e, 1, DELAY_MS, DELAY_MS), 0, "slot 1: 500 ms video and audio delay");
    le_se_scene s;
    scene_of(&s, 0);
    is_int(le_se_set_scene(e, 0, &s), 0, "scene 0 shows slot 0");
    scene_of(&s, 1);
    is_int(le_se_set_scene(e, 1, &s), 0, "scene 1 shows slot 1");
    run_for(base, 600);          /* the scenes start on the slate and silence */

    feed_e = e;
    feed_t0 = le_mono_ms();
    struct event *ft = event_new(base, -1, EV_PERSIST, on_feed, NULL);
    struct timeval ftv = { 0, 10000 };
    event_add(ft, &ftv);
    run_for(base, 2500);
    event_del(ft);

    int64_t v0 = first_picture(&outs[0]), v1 = first_picture(&outs[1]);
    int64_t a0 = first_tone(&outs[0]), a1 = first_tone(&outs[1]);
    printf("# first picture: undelayed %lld, delayed %lld; first tone: undelayed %lld, delayed %lld ms\n",
         (long long)v0, (long long)v1, (long long)a0, (long long)a1);
    ok(v0 > 0 && v1 > 0, "both scenes show the source");
    ok(v1 - v0 >= DELAY_MS - 200 && v1 - v0 <= DELAY_MS + 700, "the delayed slot's picture comes ~500 ms later (%lld)",
       (long long)(v1 - v0));
    ok(a0 > 0 && a1 > 0, "both scenes carry the tone");
    ok(a1 - a0 >= DELAY_MS - 200 && a1 - a0 <= DELAY_MS + 700, "the delayed slot's sound comes ~500 ms later (%lld)",
       (long long)(a1 - a0));

    /* the bound: 4 KiB video bodies into a slot with a 5 s delay, 256 KiB for all slots */
    is_int(le_se_set_delay(e, 2, LE_SE_MAX_DELAY_MS, LE_SE_MAX_DELAY_MS), 0, "slot 2: 5 s delay");
    run_for(base, 100);
    static uint8_t junk[4096];
    memset(junk, 0x55, sizeof(junk));
    junk[0] = 0x17;
    junk[1] = 1;
    for (int i = 0; i < 100; i++) {
        le_pkt *p = le_pkt_new(LE_PKT_VIDEO, (uint32_t)i * 40, junk, sizeof(junk));
        le_se_feed(e, 2, p);
        le_pkt_unref(p);
        junk[0] = 0x27;
    }
    run_for(base, 300);
    le_se_stats st;
    le_se_get_stats(e, &st);
    ok(st.delay_dropped >= 30 && st.delay_dropped <= 100 - 50, "over the bound, bodies are dropped (%llu)",
       (unsigned long long)st.delay_dropped);

    le_se_free(e);
    event_free(ft);
    run_for(base, 200);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < outs[k].n; i++)
            le_pkt_unref(outs[k].p[i]);
    src_close(&vsrc);
    avcodec_free_context(&aenc);
    av_frame_free(&af);
    le_pipe_pool_free(pool);
    event_base_free(base);
    return done_testing();
}
