/* The studio engine: two file sources (red + 440 Hz, blue + 880 Hz, made
 * with the ffmpeg CLI) in a picture-in-picture scene with a text, two
 * outputs; the FLV bodies that come back are decoded here and checked
 * (sizes, the tick timestamps, colours, audio tones), then the scene is
 * changed by commands (the inset moves, volumes swap) and by a rebuild
 * (sources swapped); a slot without a source shows black on a second
 * scene whose silence still carries audio; last, a worker held for 700 ms
 * skips ticks and the output must neither hold video back nor let audio
 * and video drift apart. */
#include <event2/event.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "media/pkt.h"
#include "pipeline/pool.h"
#include "studio/engine.h"
#include "tap.h"

/* libavfilter 8 (FFmpeg 5.1): drawtext's "reinit" leaks its old option
 * strings (docs/STUDIO.md, "Changes while running"); only those are
 * suppressed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:avfilter_init_dict\nleak:av_opt_set_defaults2\n";
}
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

#pragma GCC diagnostic ignored "-Wunused-function"
#include "pipeline_helpers.h"      /* a live H.264 source: FPS (25) frames, LUMA_L | LUMA_R below */

#define TFPS 30

typedef struct outbuf {
    le_pkt *p[MAXP];
    int n;
} outbuf;

static outbuf outs[3][2];
static int bad_cb;

/* The skip run: per video body of scene 0 output 0, how many ticks the
 * engine was past its tick when the body was handed back, and the ticks
 * skipped by then (the published counters at the hand-back). */
typedef struct lagrec {
    le_se *e;
    int n;
    int lag[MAXP];
    uint64_t dropped[MAXP];
} lagrec;

static void on_pkt(void *ud, int scene, int out, le_pkt *p)
{
    lagrec *lr = ud;
    if (lr && lr->e && scene == 0 && out == 0 && p->type == LE_PKT_VIDEO && p->len > 1 && p->data[1] == 1 &&
        lr->n < MAXP) {
        le_se_stats st;
        le_se_get_stats(lr->e, &st);
        int64_t tick = ((int64_t)p->ts * TFPS + 999) / 1000;   /* ts = tick * 1000 / TFPS, rounded down */
        lr->lag[lr->n] = (int)((int64_t)(st.ticks + st.dropped_ticks) - 1 - tick);
        lr->dropped[lr->n++] = st.dropped_ticks;
    }
    if (scene < 0 || scene > 2 || out < 0 || out > 1 || outs[scene][out].n >= MAXP) {
        bad_cb++;
        le_pkt_unref(p);
        return;
    }
    outbuf *b = &outs[scene][out];
    b->p[b->n++] = p;
}

/* the live source: a frame every 1000 / FPS ms into slot 4 */
static src_gen live;
static le_se *live_e;
static int live_fed;

static void on_live(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    (void)arg;
    if (!live_e || !live.enc)
        return;
    le_pkt *p = live_fed++ ? src_next(&live, 0) : src_seqhdr(&live, 0);
    if (p) {
        le_se_feed(live_e, 4, p);
        le_pkt_unref(p);
    }
}

static double cpu_s;            /* this process's CPU time inside run_for */

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void run_for(struct event_base *base, int ms)
{
    double c0 = cpu_now();
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
    cpu_s += cpu_now() - c0;
}

/* Runs the loop until the engine rendered n more ticks (at most max_ms:
 * a loaded machine or a sanitizer build skips ticks). */
static void run_ticks(struct event_base *base, le_se *e, uint64_t n, int max_ms)
{
    le_se_stats st;
    le_se_get_stats(e, &st);
    uint64_t want = st.ticks + n, t0 = le_mono_ms();
    while (st.ticks < want && le_mono_ms() - t0 < (uint64_t)max_ms) {
        run_for(base, 50);
        le_se_get_stats(e, &st);
    }
}

/* ---- decoding what came out ---- */

typedef struct vframe {
    int64_t ts;
    int w, h;
    uint8_t y[6], u[6], v[6];   /* at the probe points */
    int text_max_y;             /* brightest luma in the text box */
} vframe;

/* Probe points (fractions of the frame): 0 main area, 1 the inset's first
 * place (lower right half of a live picture), 2 the inset moved (lower
 * left half of a live picture), 3 centre, 4 and 5 spare. */
static const double PX[6] = { 0.16, 0.80, 0.20, 0.5, 0.40, 0.9 };
static const double PY[6] = { 0.28, 0.80, 0.75, 0.5, 0.50, 0.1 };

typedef struct vinfo {
    vframe f[MAXP];
    int n;
    int seqhdrs, decoded, errors;
} vinfo;

static void probe(const AVFrame *f, vframe *v)
{
    v->w = f->width;
    v->h = f->height;
    for (int k = 0; k < 6; k++) {
        int x = (int)(PX[k] * f->width), y = (int)(PY[k] * f->height);
        v->y[k] = f->data[0][y * f->linesize[0] + x];
        v->u[k] = f->data[1][(y / 2) * f->linesize[1] + x / 2];
        v->v[k] = f->data[2][(y / 2) * f->linesize[2] + x / 2];
    }
    v->text_max_y = 0;
    for (int y = (int)(0.05 * f->height); y < (int)(0.15 * f->height); y++)
        for (int x = (int)(0.05 * f->width); x < (int)(0.25 * f->width); x++)
            if (f->data[0][y * f->linesize[0] + x] > v->text_max_y)
                v->text_max_y = f->data[0][y * f->linesize[0] + x];
}

static void decode_video(const outbuf *b, vinfo *vi)
{
    memset(vi, 0, sizeof(*vi));
    AVCodecContext *d = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    for (int i = 0; i < b->n; i++) {
        const le_pkt *p = b->p[i];
        if (p->type != LE_PKT_VIDEO || p->len < 5 || (p->data[0] & 0x0f) != 7)
            continue;
        if (p->data[1] == 0) {
            vi->seqhdrs++;
            if (d)
                continue;
            d = dec_open(p);
            continue;
        }
        if (!d || vi->n >= MAXP)
            continue;
        if (dec_send(d, pkt, p) < 0)
            vi->errors++;
        while (avcodec_receive_frame(d, f) == 0) {
            vframe *v = &vi->f[vi->n++];
            v->ts = f->pts;
            probe(f, v);
            vi->decoded++;
            av_frame_unref(f);
        }
    }
    avcodec_free_context(&d);
    av_frame_free(&f);
    av_packet_free(&pkt);
}

typedef struct ainfo {
    float *l;                   /* left channel */
    int64_t ts[MAXP];           /* per decoded frame: its tag's ts */
    int off[MAXP];              /* and its first sample */
    int n, cap, frames, seqhdrs;
    int64_t last_ts;
    int ts_back;                /* audio ts going backwards */
} ainfo;

static void decode_audio(const outbuf *b, ainfo *ai)
{
    memset(ai, 0, sizeof(*ai));
    ai->last_ts = -1;
    AVCodecContext *d = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    for (int i = 0; i < b->n; i++) {
        const le_pkt *p = b->p[i];
        if (p->type != LE_PKT_AUDIO || p->len < 2 || p->data[0] != 0xAF)
            continue;
        if (p->data[1] == 0) {
            ai->seqhdrs++;
            if (d)
                continue;
            d = dec_open(p);
            continue;
        }
        if (!d)
            continue;
        if ((int64_t)p->ts < ai->last_ts)
            ai->ts_back++;
        ai->last_ts = p->ts;
        dec_send(d, pkt, p);
        while (avcodec_receive_frame(d, f) == 0) {
            if (ai->n + f->nb_samples > ai->cap) {
                ai->cap = (ai->n + f->nb_samples) * 2;
                ai->l = realloc(ai->l, (size_t)ai->cap * sizeof(float));
            }
            if (ai->frames < MAXP) {
                ai->ts[ai->frames] = p->ts;
                ai->off[ai->frames] = ai->n;
            }
            if (f->format == AV_SAMPLE_FMT_FLTP)
                memcpy(ai->l + ai->n, f->extended_data[0], (size_t)f->nb_samples * sizeof(float));
            ai->n += f->nb_samples;
            ai->frames++;
            av_frame_unref(f);
        }
    }
    avcodec_free_context(&d);
    av_frame_free(&f);
    av_packet_free(&pkt);
}

/* The first decoded sample at or after ts (ms). */
static int sample_at(const ainfo *ai, int64_t ts)
{
    for (int i = 0; i < ai->frames && i < MAXP; i++)
        if (ai->ts[i] >= ts)
            return ai->off[i];
    return ai->n;
}

static double goertzel(const float *x, int n, double hz)
{
    double w = 2 * M_PI * hz / 44100, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double s = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/* 440 vs 880 Hz energy over samples [from, to) of the decoded audio, in
 * 100 ms pieces; pieces with neither tone (silence: the stretch of ticks a
 * loaded machine skipped, filled with silence) are left out, so the ratio
 * is that of the sound that was there. NAN when no piece has a tone. */
static double tone_ratio(const ainfo *ai, int from, int to)
{
    if (from < 0)
        from = 0;
    if (to > ai->n)
        to = ai->n;
    double a = 0, b = 0;
    for (int p = from; p + 4410 <= to; p += 4410) {
        double pa = goertzel(ai->l + p, 4410, 440), pb = goertzel(ai->l + p, 4410, 880);
        if (pa + pb < 1.0)
            continue;
        a += pa;
        b += pb;
    }
    if (a + b < 1.0)
        return NAN;
    return (a + 1e-9) / (b + 1e-9);
}

static int is_red(const vframe *v, int k) { return v->v[k] > 200 && v->u[k] < 120 && v->y[k] > 60; }
static int is_blue(const vframe *v, int k) { return v->u[k] > 200 && v->v[k] < 150; }
static int is_black(const vframe *v, int k)
{
    return v->y[k] < 30 && abs(v->u[k] - 128) < 12 && abs(v->v[k] - 128) < 12;
}

/* Video ts steps of one output: 0 when all are 1000/FPS rounded; else the
 * number of missing ticks (a skipped tick leaves a double step). */
static int ts_missing(const outbuf *b, int *backwards, int *frames)
{
    int64_t last = -1;
    int missing = 0;
    *backwards = *frames = 0;
    for (int i = 0; i < b->n; i++) {
        const le_pkt *p = b->p[i];
        if (p->type != LE_PKT_VIDEO || p->data[1] != 1)
            continue;
        (*frames)++;
        if (last >= 0) {
            int64_t d = (int64_t)p->ts - last;
            if (d <= 0)
                (*backwards)++;
            else if (d > 34)
                missing += (int)((d + 16) / 33) - 1;
        }
        last = p->ts;
    }
    return missing;
}

static void layout(le_se_scene *sc, int main_in, int inset_in, double ix, double iy, double vol0, double vol1,
                   const char *txt)
{
    memset(sc, 0, sizeof(*sc));
    sc->running = 1;
    le_sg_scene *p = &sc->pic;
    p->width = 640;
    p->height = 360;
    p->ninputs = LE_SE_SLOTS;
    p->naudio_inputs = LE_SE_SLOTS;
    p->nlayers = 2;
    p->layers[0] = (le_sg_video_layer){ .input = main_in, .place = { .height_norm = 1, .width_norm = 1 } };
    p->layers[1] = (le_sg_video_layer){ .input = inset_in, .place = { .height_norm = 0.3, .x = ix, .y = iy } };
    p->ncomponents = 1;
    static char text[64];               /* the engine copies it */
    snprintf(text, sizeof(text), "%s", txt);
    p->comps[0] = (le_sg_component){ .type = LE_SG_COMP_TEXT, .text = text, .color = "0xFFFFFF",
                                     .font_name = "DejaVuSans", .size_norm = 0.08,
                                     .place = { .x = 0.06, .y = 0.06, .height_norm = 0.08 } };
    p->naudio = 2;
    p->audio[0] = (le_sg_audio_layer){ .input = 0, .volume_rate = vol0 };
    p->audio[1] = (le_sg_audio_layer){ .input = 1, .volume_rate = vol1 };
    sc->nout = 2;
    sc->out[0] = (le_se_out){ 640, 360, 800 };
    sc->out[1] = (le_se_out){ 320, 180, 300 };
}

/* The first frame at or after ts; -1 when none. */
static int frame_at(const vinfo *vi, int64_t ts)
{
    for (int i = 0; i < vi->n; i++)
        if (vi->f[i].ts >= ts)
            return i;
    return -1;
}

/* A task that holds the pool's only thread for 700 ms: the engine falls
 * behind its clock by more than LE_SE_MAX_LAG_MS and skips ticks. */
static void block_work(le_pipe_task *t)
{
    (void)t;
    usleep(700 * 1000);
}
static void block_reap(le_pipe_task *t)
{
    (void)t;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* The median lag (ticks) of the bodies handed back while the skipped-tick
 * count was in [lo, hi]; -1 when none. */
static int median_lag(const lagrec *lr, uint64_t lo, uint64_t hi, int *count)
{
    static int v[MAXP];
    int n = 0;
    for (int i = 0; i < lr->n; i++)
        if (lr->dropped[i] >= lo && lr->dropped[i] <= hi)
            v[n++] = lr->lag[i];
    *count = n;
    if (!n)
        return -1;
    qsort(v, (size_t)n, sizeof(v[0]), cmp_int);
    return v[n / 2];
}

static void free_outs(void)
{
    for (int s = 0; s < 3; s++)
        for (int o = 0; o < 2; o++) {
            for (int i = 0; i < outs[s][o].n; i++)
                le_pkt_unref(outs[s][o].p[i]);
            outs[s][o].n = 0;
        }
}

int main(void)
{
    char dir[] = "/tmp/le_se_XXXXXX", cmd[1024], red[256], blue[256];
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return done_testing();
    }
    snprintf(red, sizeof(red), "%s/red.mp4", dir);
    snprintf(blue, sizeof(blue), "%s/blue.mp4", dir);
    const char *gen = "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=%s:s=640x360:r=30 -f lavfi "
                      "-i sine=frequency=%d:sample_rate=44100 -t 5 -c:v libx264 -preset ultrafast -g 30 "
                      "-pix_fmt yuv420p -c:a aac -ac 2 -ar 44100 %s";
    snprintf(cmd, sizeof(cmd), gen, "red", 440, red);
    int rc1 = system(cmd);
    snprintf(cmd, sizeof(cmd), gen, "blue", 880, blue);
    int rc2 = system(cmd);
    char png[256];
    snprintf(png, sizeof(png), "%s/green.png", dir);
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=green:s=64x64 -frames:v 1 %s", png);
    int rc3 = system(cmd);
    ok(rc1 == 0 && rc2 == 0 && rc3 == 0, "ffmpeg made the two source files and a PNG");

    av_log_set_level(AV_LOG_ERROR);
    struct event_base *base = event_base_new();
    le_pipe_pool *pool = NULL;
    ok(le_pipe_pool_new(base, 1, &pool) == 0, "pool");
    le_se_cfg cfg = { .fps = TFPS, .gop_frames = 60, .name = "t", .in_max_bytes = 1 << 20, .on_pkt = on_pkt };
    le_se *e = NULL;

    /* bad arguments */
    le_se_cfg bad = cfg;
    bad.fps = 61;
    is_int(le_se_new(base, pool, &bad, &e), LE_EINVAL, "fps over 60 refused");
    is_int(le_se_new(base, pool, &cfg, &e), 0, "engine started");
    is_int(le_se_set_source(e, LE_SE_SLOTS, 0, red, -1, 0, 0), LE_EINVAL, "slot out of range refused");
    uint8_t body[8] = { 0x17, 0, 0, 0, 0 };
    le_pkt *fp = le_pkt_new(LE_PKT_VIDEO, 0, body, 5);
    is_int(le_se_feed(e, 0, fp), LE_EINVAL, "feed to a slot that is not live refused");
    le_pkt_unref(fp);

    is_int(le_se_set_source(e, 0, 0, red, -1, 0, 0), 0, "slot 0: red file");
    is_int(le_se_set_source(e, 1, 0, blue, -1, 0, 0), 0, "slot 1: blue file");
    le_se_scene sc;
    layout(&sc, 0, 1, 0.65, 0.65, 1, 0, "LIVE");
    le_se_scene badsc = sc;
    badsc.out[0].width = 320;
    is_int(le_se_set_scene(e, 0, &badsc), LE_EINVAL, "output 0 must be the scene size");
    badsc = sc;
    badsc.pic.layers[1].input = LE_SE_SLOTS;
    is_int(le_se_set_scene(e, 0, &badsc), LE_EINVAL, "a layer on no input is refused (le_sg_build)");
    is_int(le_se_set_scene(e, 0, &sc), 0, "scene 0: picture in picture");
    /* scene 1: slot 2 never gets a source; no audio layers */
    le_se_scene s1;
    memset(&s1, 0, sizeof(s1));
    s1.running = 1;
    s1.pic.width = 160;
    s1.pic.height = 90;
    s1.pic.ninputs = LE_SE_SLOTS;
    s1.pic.nlayers = 1;
    s1.pic.layers[0] = (le_sg_video_layer){ .input = 2, .place = { .height_norm = 1, .width_norm = 1 } };
    s1.nout = 1;
    s1.out[0] = (le_se_out){ 160, 90, 100 };
    le_se_scene s1img = s1;     /* with an image in the top-right corner */
    s1img.pic.nimages = 1;
    snprintf(s1img.images[0], sizeof(s1img.images[0]), "%s", png);
    s1img.pic.ncomponents = 1;
    s1img.pic.comps[0] = (le_sg_component){ .type = LE_SG_COMP_IMAGE, .image = 0,
                                            .place = { .x = 1, .y = 0, .height_norm = 0.4,
                                                       .refer = LE_SG_REF_TOP_RIGHT } };
    is_int(le_se_set_scene(e, 1, &s1img), 0, "scene 1: the empty slot 2, an image");

    /* scene 2: slot 4 is live, fed from this loop */
    ok(src_open(&live, 320, 180, 0) == 0, "a live H.264 source");
    is_int(le_se_set_source(e, 4, 1, NULL, 0, 0, 0), 0, "slot 4: live");
    le_se_scene s2 = s1;
    s2.pic.layers[0].input = 4;
    is_int(le_se_set_scene(e, 2, &s2), 0, "scene 2: the live slot");
    live_e = e;
    struct event *lt = event_new(base, -1, EV_PERSIST, on_live, NULL);
    struct timeval ltv = { 0, 1000000 / FPS };
    event_add(lt, &ltv);

    run_ticks(base, e, 60, 20000);
    le_se_stats st0;
    le_se_get_stats(e, &st0);
    ok(st0.ticks >= 60, "ticks rendered: %llu (skipped %llu)", (unsigned long long)st0.ticks,
       (unsigned long long)st0.dropped_ticks);
    /* at most one per slot whose first picture replaced its slate in a running scene: the two files
     * in scene 0, the live slot in scene 2 */
    ok(st0.rebuilds <= 3, "rebuilds for new picture sizes: %llu",
       (unsigned long long)st0.rebuilds);

    /* change 1, commands only: the inset moves, the volumes swap */
    layout(&sc, 0, 1, 0.05, 0.6, 0, 1, "ON AIR");
    is_int(le_se_set_scene(e, 0, &sc), 0, "scene 0: inset moved, volumes swapped, new text");
    run_ticks(base, e, 45, 20000);
    le_se_stats st1;
    le_se_get_stats(e, &st1);
    ok(st1.commands >= st0.commands + 3, "applied by commands (%llu -> %llu)", (unsigned long long)st0.commands,
       (unsigned long long)st1.commands);
    is_int((int)st1.rebuilds, (int)st0.rebuilds, "and no rebuild");
    int64_t change1 = st1.last_change_ms;
    ok(change1 > 0 && change1 < st1.clock_ms, "the change's clock time is recorded (%lld)", (long long)change1);

    /* change 2, a rebuild: the sources swap places */
    layout(&sc, 1, 0, 0.05, 0.6, 0, 1, "ON AIR");
    is_int(le_se_set_scene(e, 0, &sc), 0, "scene 0: sources swapped");
    run_ticks(base, e, 45, 20000);
    le_se_stats st2;
    le_se_get_stats(e, &st2);
    is_int((int)st2.rebuilds, (int)st1.rebuilds + 1, "one rebuild for the swap");
    int64_t change2 = st2.last_change_ms;
    ok(change2 > change1, "the second change's time (%lld)", (long long)change2);
    event_free(lt);
    live_e = NULL;
    /* a live slot: the input bound */
    is_int(le_se_set_source(e, 3, 1, NULL, 0, 0, 0), 0, "slot 3: live");
    static uint8_t junk[2 << 20];      /* over the 1 MiB bound alone */
    memset(junk, 0x55, 4096);
    junk[0] = 0x27;                     /* AVC inter frame */
    junk[1] = 1;
    le_pkt *small = le_pkt_new(LE_PKT_VIDEO, 0, junk, 4096), *big = le_pkt_new(LE_PKT_VIDEO, 0, junk, sizeof(junk));
    is_int(le_se_feed(e, 3, small), 0, "a body within the bound is taken");
    is_int(le_se_feed(e, 3, big), LE_ETOOBIG, "a body over the input bound is refused");
    is_int(le_se_feed(e, 3, small), LE_ETOOBIG, "then video waits for a keyframe");
    junk[0] = 0x17;
    le_pkt *key = le_pkt_new(LE_PKT_VIDEO, 0, junk, 4096);
    is_int(le_se_feed(e, 3, key), 0, "and a keyframe is taken");
    le_pkt_unref(small);
    le_pkt_unref(big);
    le_pkt_unref(key);
    le_se_stats st3;
    le_se_get_stats(e, &st3);
    is_int((int)st3.in_dropped, 2, "counted in in_dropped");
    run_for(base, 100);
    printf("# engine CPU: %.2f s over %.1f s of clock (%.0f %% of one core; 2 file sources, 640x360 + 320x180 "
           "and 160x90 at %d fps, preset veryfast)\n", cpu_s, st2.clock_ms / 1000.0,
           100 * cpu_s / (st2.clock_ms / 1000.0), TFPS);
    le_se_stats fin;
    le_se_get_stats(e, &fin);     /* the last tick it rendered: on_pkt is not called after le_se_free */
    le_se_free(e);
    run_for(base, 50);

    /* ---- what came out ---- */
    ok(bad_cb == 0, "bodies only for the configured scenes and outputs");
    vinfo *v0 = calloc(1, sizeof(vinfo)), *v1 = calloc(1, sizeof(vinfo)), *vs = calloc(1, sizeof(vinfo));
    decode_video(&outs[0][0], v0);
    decode_video(&outs[0][1], v1);
    decode_video(&outs[1][0], vs);
    ok(v0->n > 30 && v0->errors == 0, "output 0 decodes: %d frames", v0->n);
    ok(v1->n > 30 && v1->errors == 0, "output 1 decodes: %d frames", v1->n);
    is_int(v0->seqhdrs, 1, "output 0: one sequence header across both changes");
    is_int(v1->seqhdrs, 1, "output 1: one sequence header");
    ok(outs[0][0].n > 0 && outs[0][0].p[0]->type == LE_PKT_VIDEO && outs[0][0].p[0]->data[1] == 0,
       "the AVC sequence header comes first");
    ok(v0->n && v0->f[0].w == 640 && v0->f[0].h == 360, "output 0 is 640x360");
    ok(v1->n && v1->f[0].w == 320 && v1->f[0].h == 180, "output 1 is 320x180");
    for (int o = 0; o < 2; o++) {
        int back, frames, miss = ts_missing(&outs[0][o], &back, &frames);
        is_int(back, 0, "output %d: video ts strictly increasing", o);
        ok(miss <= (int)fin.dropped_ticks, "output %d: ts steps of 1000/%d ms, %d missing ticks (skipped: %llu)", o,
           TFPS, miss, (unsigned long long)fin.dropped_ticks);
        ok(frames > 0 && outs[0][o].p[1]->ts == outs[0][o].p[0]->ts, "output %d: headers at the first tick", o);
    }
    /* before change 1: red main, blue inset (at 0.80, 0.80), text brighter than red */
    int a = frame_at(v0, change1 - 400);
    ok(a > 0, "a frame before the first change (%d)", a);
    if (a > 0) {
        ok(is_red(&v0->f[a], 0), "main area red (Y %d U %d V %d)", v0->f[a].y[0], v0->f[a].u[0], v0->f[a].v[0]);
        ok(is_blue(&v0->f[a], 1), "inset blue (Y %d U %d V %d)", v0->f[a].y[1], v0->f[a].u[1], v0->f[a].v[1]);
        ok(is_red(&v0->f[a], 2), "red where the inset goes later");
        ok(v0->f[a].text_max_y > 180, "the text is drawn (brightest luma %d)", v0->f[a].text_max_y);
    }
    int a1 = frame_at(v1, change1 - 400);
    ok(a1 > 0 && is_red(&v1->f[a1], 0) && is_blue(&v1->f[a1], 1), "output 1: the same picture scaled");
    /* after change 1 (a few ticks): inset at 0.05, 0.6 */
    int b = frame_at(v0, change1 + 4 * 34);
    ok(b > 0 && is_blue(&v0->f[b], 2) && is_red(&v0->f[b], 1), "the inset moved within 4 ticks of the change");
    ok(b > 0 && v0->f[b].text_max_y > 180, "the new text is drawn (brightest luma %d)", b > 0 ? v0->f[b].text_max_y : 0);
    /* after change 2: blue main, red inset */
    int c = frame_at(v0, change2 + 4 * 34);
    ok(c > 0 && is_blue(&v0->f[c], 0) && is_red(&v0->f[c], 2),
       "after the swap: blue main, red inset within 4 ticks");

    /* audio */
    static ainfo au, as;
    decode_audio(&outs[0][0], &au);
    is_int(au.seqhdrs, 1, "one AAC sequence header");
    is_int(au.ts_back, 0, "audio ts never go back");
    double r1 = tone_ratio(&au, sample_at(&au, change1 - 800), sample_at(&au, change1 - 100));
    double r2 = tone_ratio(&au, sample_at(&au, change1 + 300), sample_at(&au, change1 + 1000));
    ok(r1 > 20, "before the change: 440 Hz (layer 0 at 1, layer 1 at 0): ratio %.1f", r1);
    ok(r2 < 0.05, "after the volumes swap: 880 Hz: ratio %.3f", r2);
    ok(au.n > (int)(44100 * 3 * fin.ticks / (fin.ticks + fin.dropped_ticks)), "audio covers the run (%d samples)", au.n);
    /* interleaving: per output, all tags in ts order */
    for (int o = 0; o < 2; o++) {
        int order = 0;
        for (int i = 1; i < outs[0][o].n; i++)
            if (outs[0][o].p[i]->ts < outs[0][o].p[i - 1]->ts) {
                if (order++ < 3)
                    printf("# %d: type %d ts %u after type %d ts %u\n", i, outs[0][o].p[i]->type, outs[0][o].p[i]->ts,
                         outs[0][o].p[i - 1]->type, outs[0][o].p[i - 1]->ts);
            }
        is_int(order, 0, "output %d: audio and video tags in ts order", o);
    }

    /* scene 1: black, its own steady clock, silence as audio */
    ok(vs->n > 30, "the empty slot's scene runs (%d frames)", vs->n);
    int blacks = 0, greens = 0;
    for (int i = 0; i < vs->n; i++) {
        blacks += is_black(&vs->f[i], 3);
        greens += vs->f[i].u[5] < 110 && vs->f[i].v[5] < 110 && vs->f[i].y[5] > 50;
    }
    is_int(blacks, vs->n, "every frame of the empty slot is black");
    if (vs->n)
        printf("# corner of the last frame: Y %d U %d V %d\n", vs->f[vs->n - 1].y[5], vs->f[vs->n - 1].u[5],
               vs->f[vs->n - 1].v[5]);
    is_int(greens, vs->n, "and shows the PNG in its corner in every frame (the image input ended after one picture)");
    ok(vs->n && vs->f[0].w == 160 && vs->f[0].h == 90, "scene 1 is 160x90");
    decode_audio(&outs[1][0], &as);
    ok(as.frames > 50, "scene 1 carries audio (silence): %d AAC frames", as.frames);
    double peak = 0;
    for (int i = 0; i < as.n; i++)
        peak = fabs(as.l[i]) > peak ? fabs(as.l[i]) : peak;
    ok(peak < 0.001, "and it is silent (peak %g)", peak);

    /* scene 2: the live picture */
    vinfo *vl = calloc(1, sizeof(vinfo));
    decode_video(&outs[2][0], vl);
    ok(live_fed > 50, "live frames fed: %d", live_fed);
    ok(vl->n > 30, "the live scene runs (%d frames)", vl->n);
    int lv = vl->n ? vl->n - 10 : 0;
    ok(vl->n > 10 && abs(vl->f[lv].y[2] - LUMA_L) < 20 && abs(vl->f[lv].y[1] - LUMA_R) < 20,
       "the live picture is shown (lower left %d, lower right %d)", vl->n > 10 ? vl->f[lv].y[2] : -1,
       vl->n > 10 ? vl->f[lv].y[1] : -1);
    free(vl);
    src_close(&live);

    free(au.l);
    free(as.l);
    free(v0);
    free(v1);
    free(vs);
    free_outs();
    /* ---- skipped ticks: audio and video stay together, video is not held back ---- */
    static lagrec lr;
    cfg.ud = &lr;
    le_se *e2 = NULL;
    is_int(le_se_new(base, pool, &cfg, &e2), 0, "skip run: engine started");
    lr.e = e2;
    le_se_set_source(e2, 0, 0, red, -1, 0, 0);
    le_se_set_source(e2, 1, 0, blue, -1, 0, 0);
    layout(&sc, 0, 1, 0.65, 0.65, 1, 0.5, "LIVE");
    is_int(le_se_set_scene(e2, 0, &sc), 0, "skip run: the picture-in-picture scene");
    run_ticks(base, e2, 60, 20000);
    le_se_stats k0, k1;
    le_se_get_stats(e2, &k0);
    le_pipe_task blk;
    le_pipe_task_init(&blk, pool);
    blk.work = block_work;
    blk.reap = block_reap;
    le_pipe_pool_kick(&blk);
    run_for(base, 900);
    run_ticks(base, e2, 90, 20000);
    le_se_get_stats(e2, &k1);
    le_se_free(e2);
    run_for(base, 50);
    le_pipe_task_cancel(&blk);
    ok(k1.dropped_ticks >= k0.dropped_ticks + 10, "the blocked worker skipped ticks: %llu -> %llu",
       (unsigned long long)k0.dropped_ticks, (unsigned long long)k1.dropped_ticks);
    int nb, na;
    int lb = median_lag(&lr, 0, k0.dropped_ticks, &nb);
    int la = median_lag(&lr, k0.dropped_ticks + 10, UINT64_MAX, &na);
    printf("# video handed back this many ticks after its tick (median): %d before the skip (%d bodies), "
           "%d after (%d bodies)\n", lb, nb, la, na);
    /* held for the audio up to the limit, a body is 7 to 8 ticks late (SE_VHOLD / 2) */
    ok(nb > 20 && na > 40 && la <= lb + 2 && la <= 5,
       "video is not held back after the skip: %d ticks late (before: %d)", la, lb);
    /* in the output (each output), from the skip on: every video tag's ts is within one AAC frame and one
     * video frame of the newest audio tag's ts before it */
    for (int o = 0; o < 2; o++) {
        const outbuf *ob = &outs[0][o];
        int64_t last_a = -1, last_v = -1, worst = 0, after = 0;
        for (int i = 0; i < ob->n; i++) {
            const le_pkt *p = ob->p[i];
            if (p->len < 2 || p->data[1] != 1)
                continue;
            if (p->type == LE_PKT_AUDIO) {
                last_a = p->ts;
                continue;
            }
            if (p->type != LE_PKT_VIDEO)
                continue;
            if (last_v >= 0 && (int64_t)p->ts - last_v > 300)
                after = 1;              /* the skip's gap */
            last_v = p->ts;
            if (after && last_a >= 0 && llabs((int64_t)p->ts - last_a) > worst)
                worst = llabs((int64_t)p->ts - last_a);
        }
        ok(after && worst <= 24 + 34, "output %d: after the skip audio and video ts within %d ms (at most one AAC "
           "frame + one video frame)", o, (int)worst);
    }
    free_outs();

    le_pipe_pool_free(pool);
    event_base_free(base);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        ok(0, "cleanup");
    return done_testing();
}
