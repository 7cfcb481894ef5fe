/* The studio engine's timed changes, events and file control (docs/STUDIO.md,
 * "Timed changes, events and file control"), on files made with the ffmpeg
 * CLI (red, blue, green; rb: red 0-2 s then blue 2-4 s with a 440 Hz tone),
 * four small scenes on one engine at 10 fps, their output decoded here:
 *  - scene 0 shows slot 0 (red); a timed change to the standby slot
 *    (green) is replaced by a timed change to slot 1 (blue), an untimed
 *    change does not cancel it: no green frame, the first blue frame's
 *    ts is the first tick >= at_ms;
 *  - scene 1 shows slot 2, which gets rb as a timed source: its first
 *    picture is at its tick, blue 2 s later, one EOF event 4 s later;
 *  - scene 2 shows rb on slot 3, sought to 3000 ms: blue at once, EOF 1 s
 *    after the seek;
 *  - scene 3 shows rb on slot 4, paused for longer than stall_ms: the red
 *    picture is held (not black), the audio is silent, the position stands
 *    still; played again it goes on from where it stopped;
 *  - slot 5 becomes live with a time; its publisher's headers are fed
 *    before that time (accepted from the call) and the slot shows its
 *    picture from that time on;
 *  - the slot stats (kind, has_picture, last_frame_ms, size, eof, paused,
 *    pos_ms) and the epoch (exact, le_se_clock_of). */
#include <event2/event.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "media/pkt.h"
#include "pipeline/pool.h"
#include "studio/engine.h"
#include "tap.h"

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

#pragma GCC diagnostic ignored "-Wunused-function"
#include "pipeline_helpers.h"      /* a live H.264 source (src_gen), MAXP */

#define TFPS 10                 /* small work: the test must keep real time under ASan on a busy machine */
#define TICK (1000 / TFPS)
#define NSC 4
#define STALL 400

static le_pkt *outs[NSC][MAXP];
static int nouts[NSC];

static void on_pkt(void *ud, int scene, int out, le_pkt *p)
{
    (void)ud;
    if (scene < 0 || scene >= NSC || out != 0 || nouts[scene] >= MAXP) {
        le_pkt_unref(p);
        return;
    }
    outs[scene][nouts[scene]++] = p;
}

typedef struct evrec {
    int slot, ev;
    int64_t ms;
} evrec;
static evrec evs[64];
static int nevs;

static void on_event(void *ud, int slot, int ev, int64_t clock_ms)
{
    (void)ud;
    if (nevs < 64)
        evs[nevs++] = (evrec){ slot, ev, clock_ms };
}

/* the live source: a frame every 1000 / FPS ms into slot 5, its sequence
 * header first */
static src_gen live;
static le_se *live_e;
static int live_fed, live_refused;

static void on_live(evutil_socket_t fd, short ev, void *arg)
{
    (void)fd;
    (void)ev;
    (void)arg;
    if (!live_e || !live.enc)
        return;
    le_pkt *p = live_fed++ ? src_next(&live, 0) : src_seqhdr(&live, 0);
    if (p) {
        if (le_se_feed(live_e, 5, p) != LE_OK)
            live_refused++;
        le_pkt_unref(p);
    }
}

static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* The time of the last tick the engine rendered or skipped. */
static int64_t rendered(le_se *e)
{
    le_se_stats st;
    le_se_get_stats(e, &st);
    return (int64_t)(st.ticks + st.dropped_ticks - 1) * 1000 / TFPS;
}

static int64_t clock_of(le_se *e)
{
    le_se_stats st;
    le_se_get_stats(e, &st);
    return st.clock_ms;
}

/* Runs the loop until the engine has rendered the tick at clock ms (at most
 * 20 s: a loaded machine). */
static void until(struct event_base *base, le_se *e, int64_t ms)
{
    uint64_t t0 = le_mono_ms();
    le_se_stats st;
    le_se_get_stats(e, &st);
    while ((int64_t)(st.ticks + st.dropped_ticks) * TICK <= ms && le_mono_ms() - t0 < 20000) {
        run_for(base, 10);
        le_se_get_stats(e, &st);
    }
}

/* ---- decoding ---- */

typedef struct vframe {
    int64_t ts;
    uint8_t y, u, v;            /* the centre pixel */
} vframe;

static vframe vf[NSC][MAXP];
static int nvf[NSC];

static void decode_video(int s)
{
    AVCodecContext *d = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    for (int i = 0; i < nouts[s]; i++) {
        const le_pkt *p = outs[s][i];
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
            if (nvf[s] < MAXP) {
                vframe *v = &vf[s][nvf[s]++];
                int x = f->width / 2, y = f->height / 2;
                v->ts = f->pts;
                v->y = f->data[0][y * f->linesize[0] + x];
                v->u = f->data[1][(y / 2) * f->linesize[1] + x / 2];
                v->v = f->data[2][(y / 2) * f->linesize[2] + x / 2];
            }
            av_frame_unref(f);
        }
    }
    avcodec_free_context(&d);
    av_frame_free(&f);
    av_packet_free(&pkt);
}

static int is_red(const vframe *v) { return v->v > 200 && v->u < 120 && v->y > 50; }
static int is_blue(const vframe *v) { return v->u > 200 && v->v < 150; }
static int is_green(const vframe *v) { return v->u < 110 && v->v < 110; }
static int is_black(const vframe *v) { return v->y < 30 && abs(v->u - 128) < 12 && abs(v->v - 128) < 12; }

/* The first frame of scene s from index `from` on that is(), -1 when none. */
static int first(int s, int from, int (*is)(const vframe *))
{
    for (int i = from < 0 ? 0 : from; i < nvf[s]; i++)
        if (is(&vf[s][i]))
            return i;
    return -1;
}

static int frame_at(int s, int64_t ts)
{
    for (int i = 0; i < nvf[s]; i++)
        if (vf[s][i].ts >= ts)
            return i;
    return -1;
}

/* Audio of scene s: the left channel and each AAC frame's ts. */
typedef struct ainfo {
    float *l;
    int64_t ts[MAXP];
    int off[MAXP];
    int n, cap, frames;
} ainfo;

static void decode_audio(int s, ainfo *ai)
{
    memset(ai, 0, sizeof(*ai));
    AVCodecContext *d = NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    for (int i = 0; i < nouts[s]; i++) {
        const le_pkt *p = outs[s][i];
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
            if (ai->n + f->nb_samples > ai->cap) {
                ai->cap = (ai->n + f->nb_samples) * 2;
                ai->l = realloc(ai->l, (size_t)ai->cap * sizeof(float));
            }
            if (ai->frames < MAXP) {
                ai->ts[ai->frames] = p->ts;
                ai->off[ai->frames++] = ai->n;
            }
            memcpy(ai->l + ai->n, f->extended_data[0], (size_t)f->nb_samples * sizeof(float));
            ai->n += f->nb_samples;
            av_frame_unref(f);
        }
    }
    avcodec_free_context(&d);
    av_frame_free(&f);
    av_packet_free(&pkt);
}

static int sample_at(const ainfo *ai, int64_t ts)
{
    for (int i = 0; i < ai->frames; i++)
        if (ai->ts[i] >= ts)
            return ai->off[i];
    return ai->n;
}

/* The loudest 50 ms piece (rms) of the audio from ts from_ms to to_ms; -1
 * when there is none (ticks a loaded machine skipped leave silence, so a
 * tone is "some piece loud", silence "every piece quiet"). */
static double loudest(const ainfo *ai, int64_t from_ms, int64_t to_ms)
{
    int a = sample_at(ai, from_ms), b = sample_at(ai, to_ms);
    double best = -1;
    for (int p = a; p + 2205 <= b; p += 2205) {
        double sum = 0;
        for (int i = p; i < p + 2205; i++)
            sum += (double)ai->l[i] * ai->l[i];
        if (sqrt(sum / 2205) > best)
            best = sqrt(sum / 2205);
    }
    return best;
}

/* ---- scenes ---- */

static void full(le_se_scene *sc, int slot, int with_audio)
{
    memset(sc, 0, sizeof(*sc));
    sc->running = 1;
    le_sg_scene *p = &sc->pic;
    p->width = 160;
    p->height = 90;
    p->ninputs = LE_SE_SLOTS;
    p->naudio_inputs = LE_SE_SLOTS;
    p->nlayers = 1;
    p->layers[0] = (le_sg_video_layer){ .input = slot, .place = { .height_norm = 1, .width_norm = 1 } };
    if (with_audio) {
        p->naudio = 1;
        p->audio[0] = (le_sg_audio_layer){ .input = slot, .volume_rate = 1 };
    }
    sc->nout = 1;
    sc->out[0] = (le_se_out){ 160, 90, 200 };
}

/* An event at ev_ms is at its tick `want` (within 2 ticks), or, when the
 * ticks from want on were skipped (a loaded machine), at the first tick
 * scene s rendered after them. */
static int event_at(int s, int64_t ev_ms, int64_t want)
{
    if (ev_ms >= want - 2 * TICK && ev_ms <= want + 2 * TICK)
        return 1;
    if (ev_ms < want)
        return 0;
    for (int i = 0; i < nvf[s]; i++)
        if (vf[s][i].ts >= want && vf[s][i].ts < ev_ms)
            return 0;
    return 1;
}

static int64_t tick_at(int64_t at_ms)
{
    int64_t n = (at_ms * TFPS + 999) / 1000;
    return n * 1000 / TFPS;
}

/* The frame at the tick of at_ms is the first of kind `is` (the frame
 * before it is not); when that tick was skipped, the first frame after it. */
static void check_switch(int s, int64_t at_ms, int (*is)(const vframe *), const char *what)
{
    int64_t want = tick_at(at_ms);
    int i = first(s, 0, is);
    int k = frame_at(s, want);
    ok(i >= 0 && i == k, "%s: the first frame is at the first tick >= at_ms %lld: ts %lld, want %lld", what,
       (long long)at_ms, i >= 0 ? (long long)vf[s][i].ts : -1LL, (long long)(k >= 0 ? vf[s][k].ts : want));
    ok(i >= 0 && (vf[s][i].ts == want || (i > 0 && vf[s][i - 1].ts < want)), "%s: %s", what,
       i >= 0 && vf[s][i].ts == want ? "exactly that tick" : "that tick was skipped: the next one");
}

/* A task that holds the pool's only thread for block_ms. */
static int block_ms = 700;
static void block_work(le_pipe_task *t)
{
    (void)t;
    usleep((useconds_t)block_ms * 1000);
}
static void block_reap(le_pipe_task *t)
{
    (void)t;
}

int main(void)
{
    char dir[] = "/tmp/le_st_XXXXXX", cmd[2048], red[256], blue[256], green[256], rb[256];
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return done_testing();
    }
    snprintf(red, sizeof(red), "%s/red.mp4", dir);
    snprintf(blue, sizeof(blue), "%s/blue.mp4", dir);
    snprintf(green, sizeof(green), "%s/green.mp4", dir);
    snprintf(rb, sizeof(rb), "%s/rb.mp4", dir);
    const char *gen = "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=%s:s=160x90:r=25 -f lavfi "
                      "-i sine=frequency=880:sample_rate=44100 -t 2 -c:v libx264 -preset ultrafast -g 25 "
                      "-pix_fmt yuv420p -c:a aac -ac 2 -ar 44100 %s";
    int rc = 0;
    snprintf(cmd, sizeof(cmd), gen, "red", red);
    rc |= system(cmd);
    snprintf(cmd, sizeof(cmd), gen, "blue", blue);
    rc |= system(cmd);
    snprintf(cmd, sizeof(cmd), gen, "green", green);
    rc |= system(cmd);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -loglevel error -y -f lavfi -i color=red:s=160x90:r=25:d=2 -f lavfi "
             "-i color=blue:s=160x90:r=25:d=2 -f lavfi -i sine=frequency=440:sample_rate=44100:duration=4 "
             "-filter_complex '[0][1]concat=n=2:v=1:a=0[v]' -map '[v]' -map 2 -c:v libx264 -preset ultrafast "
             "-g 50 -pix_fmt yuv420p -c:a aac -ac 2 -ar 44100 -t 4 %s", rb);
    rc |= system(cmd);
    ok(rc == 0, "ffmpeg made the files");

    av_log_set_level(AV_LOG_ERROR);
    struct event_base *base = event_base_new();
    le_pipe_pool *pool = NULL;
    ok(le_pipe_pool_new(base, 1, &pool) == 0, "pool");
    ok(src_open(&live, 160, 96, 0) == 0, "a live H.264 source (opened before the engine's clock starts)");
    le_se_cfg cfg = { .fps = TFPS, .gop_frames = 50, .stall_ms = STALL, .name = "timed", .on_pkt = on_pkt,
                      .on_event = on_event };
    le_se *e = NULL;
    int64_t w0 = le_wall_ms();
    ok(le_se_new(base, pool, &cfg, &e) == 0 && e, "engine");
    int64_t w1 = le_wall_ms();
    if (!e)
        return done_testing();

    /* the epoch: taken once, exact */
    le_se_stats st0;
    le_se_get_stats(e, &st0);
    ok(st0.epoch_ms >= w0 && st0.epoch_ms <= w1, "epoch_ms is the wall time at le_se_new");
    int same = 1;
    for (int i = 0; i < 50; i++) {
        usleep(1300);
        le_se_stats st;
        le_se_get_stats(e, &st);
        same &= st.epoch_ms == st0.epoch_ms && le_se_clock_of(e, st0.epoch_ms + 1234 + i) == 1234 + i;
    }
    ok(same, "epoch_ms never moves; le_se_clock_of(epoch + t) == t");

    ok(le_se_set_source(e, 0, 0, red, -1, 0, 0) == 0, "slot 0 red (looped)");
    ok(le_se_set_source(e, 1, 0, blue, -1, 0, 0) == 0, "slot 1 blue");
    ok(le_se_set_source(e, LE_SE_URGENT_SLOT, 0, green, -1, 0, 0) == 0, "the standby slot green");
    ok(le_se_set_source(e, 6, 1, NULL, 0, 0, 0) == 0, "slot 6 live");
    le_se_scene sc;
    int scenes_ok = 1;
    full(&sc, 0, 0);
    scenes_ok &= le_se_set_scene(e, 0, &sc) == 0;
    full(&sc, 2, 0);
    scenes_ok &= le_se_set_scene(e, 1, &sc) == 0;
    full(&sc, 3, 1);
    scenes_ok &= le_se_set_scene(e, 2, &sc) == 0;
    full(&sc, 4, 1);
    scenes_ok &= le_se_set_scene(e, 3, &sc) == 0;
    ok(scenes_ok, "four scenes");
    ok(le_se_seek(e, LE_SE_SLOTS, 0) == LE_EINVAL && le_se_seek(e, 3, -1) == LE_EINVAL &&
       le_se_pause(e, -1, 1) == LE_EINVAL, "seek/pause: bad slot or offset refused");
    le_se_slot_stats ss;
    ok(le_se_slot_stats_get(e, LE_SE_SLOTS, &ss) == LE_EINVAL, "slot stats: slot out of range refused");

    /* the first ticks open files, encoders and graphs: a loaded machine may
     * skip some; the timed part starts once that is done */
    until(base, e, 1500);
    int64_t c = clock_of(e);
    ok(le_se_set_source(e, 3, 0, rb, 0, 0, 0) == 0, "slot 3 rb");
    ok(le_se_set_source(e, 4, 0, rb, 0, 0, 0) == 0, "slot 4 rb");
    int64_t t1 = c + 1000 + 13, t2 = c + 2000 + 7, t3 = c + 1500 + 21;
    full(&sc, LE_SE_URGENT_SLOT, 0);
    ok(le_se_set_scene_at(e, 0, &sc, t1) == 0, "scene 0: green (the standby slot) at %lld", (long long)t1);
    full(&sc, 1, 0);
    ok(le_se_set_scene_at(e, 0, &sc, t2) == 0, "scene 0: blue at %lld, replacing the green", (long long)t2);
    ok(le_se_set_source_at(e, 2, 0, rb, 0, 0, 0, t3) == 0, "slot 2: rb at %lld", (long long)t3);
    full(&sc, 0, 0);
    ok(le_se_set_scene(e, 0, &sc) == 0 && le_se_set_source(e, 2, 0, NULL, 0, 0, 0) == 0,
       "untimed changes of scene 0 and slot 2 (the same as they are) leave the timed ones waiting");
    ok(le_se_set_source_at(e, 5, 1, NULL, 0, 0, 0, t3) == 0, "slot 5: live at %lld", (long long)t3);
    live_e = e;
    struct event *lt = event_new(base, -1, EV_PERSIST, on_live, NULL);
    struct timeval ltv = { 0, 1000000 / FPS };
    event_add(lt, &ltv);

    until(base, e, c + 600);
    le_se_slot_stats l1;
    le_se_slot_stats_get(e, 5, &l1);
    ok(clock_of(e) < t3 && l1.kind == 0 && live_fed > 5 && live_refused == 0,
       "slot 5 before its time: still empty, its bodies accepted (%d fed)", live_fed);
    int64_t c_seek = clock_of(e);
    ok(le_se_seek(e, 3, 3000) == 0, "slot 3: seek to 3000 ms at %lld", (long long)c_seek);
    until(base, e, c + 800);
    int64_t c_pause = clock_of(e);
    ok(le_se_pause(e, 4, 1) == 0, "slot 4: pause at %lld", (long long)c_pause);

    until(base, e, c_pause + 500);
    le_se_slot_stats p1;
    le_se_slot_stats_get(e, 4, &p1);
    until(base, e, c_pause + 2000);
    le_se_slot_stats p2, s6, s7, s0;
    int64_t c2 = rendered(e);       /* read before the slot stats: they are that recent or more */
    le_se_slot_stats_get(e, 4, &p2);
    le_se_slot_stats_get(e, 6, &s6);
    le_se_slot_stats_get(e, 7, &s7);
    le_se_slot_stats_get(e, 0, &s0);
    ok(p1.kind == 2 && p1.paused && p2.paused && p1.pos_ms == p2.pos_ms && p1.pos_ms >= 300 && p1.pos_ms <= c_pause - c + 200 &&
       1, "paused: kind 2, paused, pos_ms stands still (%lld, %lld)",
       (long long)p1.pos_ms, (long long)p2.pos_ms);
    ok(p2.has_picture && p2.width == 160 && p2.height == 90 && !p2.eof && p2.last_frame_ms >= c2 - TICK,
       "paused: the picture is held fresh (last_frame_ms %lld at clock %lld), 160x90", (long long)p2.last_frame_ms,
       (long long)c2);
    ok(s0.kind == 2 && s0.has_picture && !s0.paused && !s0.eof && s0.last_frame_ms >= c2 - TICK && s0.pos_ms >= 0 &&
       s0.pos_ms < 2100, "a looped file: kind 2, fresh, pos_ms %lld within the file", (long long)s0.pos_ms);
    ok(s6.kind == 1 && !s6.has_picture && s6.last_frame_ms == -1 && s6.width == 0,
       "a live slot without a publisher: kind 1, no picture, last_frame_ms -1");
    ok(s7.kind == 0 && !s7.has_picture && s7.last_frame_ms == -1, "an empty slot: kind 0");
    le_se_slot_stats s12;
    ok(le_se_slot_stats_get(e, LE_SE_URGENT_SLOT, &s12) == 0 && s12.kind == 2 && s12.has_picture &&
       s12.width == 160 && !s12.eof, "the standby slot (13th) plays its file");
    int64_t pos_paused = p2.pos_ms;
    int64_t c_play = clock_of(e);
    ok(le_se_pause(e, 4, 0) == 0, "slot 4: play at %lld", (long long)c_play);

    until(base, e, t3 + 4400);
    until(base, e, c_play + (4000 - pos_paused) + 300);
    le_se_slot_stats s3, s2, l2;
    int64_t cl = rendered(e);
    le_se_slot_stats_get(e, 3, &s3);
    le_se_slot_stats_get(e, 2, &s2);
    le_se_slot_stats_get(e, 5, &l2);
    ok(l2.kind == 1 && l2.has_picture && l2.width == 160 && l2.last_frame_ms >= cl - 300 && live_refused == 0,
       "slot 5 after its time: live, showing the publisher that started before it (last frame %lld at %lld)",
       (long long)l2.last_frame_ms, (long long)cl);
    event_free(lt);
    live_e = NULL;
    src_close(&live);
    ok(s3.eof && s2.eof && s3.pos_ms >= 3900 && s3.pos_ms <= 4100, "played out: eof, pos_ms at the end (%lld)",
       (long long)s3.pos_ms);
    /* A timed change whose time came while the worker was held is applied
     * when it runs again, even when a later timed change of the same slot
     * arrives meanwhile: that one replaces only a change still to come. */
    le_pipe_task hold;
    le_pipe_task_init(&hold, pool);
    hold.work = block_work;
    hold.reap = block_reap;
    le_pipe_pool_kick(&hold);
    run_for(base, 50);
    int64_t cb = clock_of(e);
    ok(le_se_set_source_at(e, 9, 0, red, -1, 0, 0, cb + 100) == 0, "slot 9: red at %lld, the worker held",
       (long long)(cb + 100));
    run_for(base, 400);
    ok(le_se_set_source_at(e, 9, 0, blue, -1, 0, 0, cb + 4000) == 0,
       "slot 9: blue at %lld, sent when the red is due but not applied", (long long)(cb + 4000));
    until(base, e, cb + 1500);
    le_se_slot_stats s9;
    le_se_slot_stats_get(e, 9, &s9);
    ok(clock_of(e) < cb + 4000 && s9.kind == 2 && s9.has_picture,
       "the due change was applied, not replaced: slot 9 plays a file at %lld (kind %d)", (long long)clock_of(e),
       s9.kind);
    le_pipe_task_cancel(&hold);

    /* A timed scene change waiting in the worker, its time come while the
     * worker was held (350 ms: under LE_SE_MAX_LAG_MS, so the ticks it owes
     * are rendered, not skipped), and a later change of the same scene sent
     * meanwhile: the waiting one still shows on its own tick, not on the
     * first tick rendered after the hold, which is earlier. */
    int64_t cg = clock_of(e), tg = cg + 250, tr = cg + 1500;
    full(&sc, LE_SE_URGENT_SLOT, 1);
    ok(le_se_set_scene_at(e, 2, &sc, tg) == 0, "scene 2: green at %lld", (long long)tg);
    run_for(base, 30);
    block_ms = 350;
    le_pipe_task_init(&hold, pool);
    hold.work = block_work;
    hold.reap = block_reap;
    le_pipe_pool_kick(&hold);
    run_for(base, 300);
    full(&sc, 0, 1);
    ok(clock_of(e) > tg && le_se_set_scene_at(e, 2, &sc, tr) == 0,
       "scene 2: red at %lld, sent when the green's time has come (clock %lld), the worker held", (long long)tr,
       (long long)clock_of(e));
    until(base, e, tr + 400);
    le_pipe_task_cancel(&hold);
    le_se_stats stf;
    le_se_get_stats(e, &stf);
    printf("# ticks %llu, dropped %llu, rebuilds %llu\n", (unsigned long long)stf.ticks,
           (unsigned long long)stf.dropped_ticks, (unsigned long long)stf.rebuilds);
    le_se_free(e);
    int nev_at_free = nevs;
    run_for(base, 100);
    ok(nevs == nev_at_free, "no event after le_se_free");

    for (int s = 0; s < NSC; s++)
        decode_video(s);
    ok(nvf[0] > 40 && nvf[1] > 40 && nvf[2] > 40 && nvf[3] > 40, "decoded %d %d %d %d frames", nvf[0], nvf[1],
       nvf[2], nvf[3]);

    /* scene 0: red, then blue at exactly the tick of t2, never green */
    check_switch(0, t2, is_blue, "scene 0 timed change");
    ok(first(0, 0, is_green) < 0, "scene 0: the replaced change (green) never shows");
    int b0 = first(0, 0, is_blue), r_before = 1;
    for (int i = 0; i < b0 && i < nvf[0]; i++)
        r_before &= is_red(&vf[0][i]);
    ok(b0 > 0 && r_before, "scene 0: red before it");

    /* scene 2 after the held worker: green at the tick of tg, red at tr */
    check_switch(2, tg, is_green, "scene 2 timed change held behind the clock");
    int g2 = first(2, 0, is_green), r2 = g2 >= 0 ? first(2, g2, is_red) : -1;
    int64_t want_r = tick_at(tr);
    ok(r2 > 0 && (vf[2][r2].ts == want_r || vf[2][r2 - 1].ts < want_r) && vf[2][r2].ts >= want_r,
       "scene 2: then red at the first tick >= %lld (ts %lld): the later change waited behind it", (long long)tr,
       r2 > 0 ? (long long)vf[2][r2].ts : -1LL);

    /* scene 1: black (slate), rb from the tick of t3: red, blue 2 s later */
    check_switch(1, t3, is_red, "scene 1 timed file source");
    int s1 = first(1, 0, is_red);
    int blk = 1;
    for (int i = 0; i < s1; i++)
        blk &= is_black(&vf[1][i]);
    ok(s1 > 0 && blk, "scene 1: black before its tick");
    int s1b = first(1, s1, is_blue);
    int64_t start = tick_at(t3);
    ok(s1b > 0 && llabs(vf[1][s1b].ts - (start + 2000)) <= TICK,
       "scene 1: the file's 2 s is at its tick + 2000 ms (%lld, want %lld)", s1b > 0 ? (long long)vf[1][s1b].ts : -1LL,
       (long long)(start + 2000));

    /* scene 2: sought: blue within a few ticks of the call (the file has blue
     * from 2 s only: without the seek, not before the clock's 2000 ms; the
     * clock read runs ahead of the ticks rendered, more on a loaded machine) */
    int s2b = first(2, 0, is_blue);
    ok(s2b > 0 && vf[2][s2b].ts >= c_seek - 300 && vf[2][s2b].ts <= c_seek + 300,
       "scene 2: blue at %lld after the seek at %lld", s2b > 0 ? (long long)vf[2][s2b].ts : -1LL, (long long)c_seek);
    int64_t seek_tick = s2b > 0 ? vf[2][s2b].ts : 0;

    /* scene 3: paused red held past stall_ms, not black; then blue at the
     * remaining red time after play */
    int held = 1, nheld = 0;
    for (int i = frame_at(3, c_pause + STALL + 200); i >= 0 && i < nvf[3] && vf[3][i].ts < c_play; i++, nheld++)
        held &= is_red(&vf[3][i]);
    ok(nheld > 5 && held, "scene 3: %d frames during the pause, all red (held, not black)", nheld);
    int s3b = first(3, 0, is_blue);
    int64_t want3 = c_play + (2000 - pos_paused);
    ok(s3b > 0 && vf[3][s3b].ts >= want3 - 300 && vf[3][s3b].ts <= want3 + 300,
       "scene 3: blue at %lld, ~ play (%lld) + the red left (%lld)", s3b > 0 ? (long long)vf[3][s3b].ts : -1LL,
       (long long)c_play, (long long)(2000 - pos_paused));
    ainfo ai;
    decode_audio(3, &ai);
    double before = loudest(&ai, c + 100, c_pause - 100), during = loudest(&ai, c_pause + 200, c_play - 100),
           after = loudest(&ai, c_play + 300, c_play + 1300);
    ok(before > 0.05 && during >= 0 && during < 0.005 && after > 0.05,
       "scene 3: the tone, silence while paused, the tone again (rms %.4f %.4f %.4f)", before, during, after);
    free(ai.l);

    /* events: one EOF per played-out file, at its end */
    int n2 = 0, n3 = 0, n4 = 0, nother = 0;
    int64_t e2 = -1, e3 = -1;
    for (int i = 0; i < nev_at_free; i++) {
        if (evs[i].ev != LE_SE_EV_EOF)
            nother++;
        else if (evs[i].slot == 2)
            n2++, e2 = evs[i].ms;
        else if (evs[i].slot == 3)
            n3++, e3 = evs[i].ms;
        else if (evs[i].slot == 4)
            n4++;
        else
            nother++;
    }
    ok(n2 == 1 && n3 == 1 && n4 == 1 && nother == 0, "one EOF event each for slots 2, 3, 4 and nothing else "
       "(%d %d %d %d)", n2, n3, n4, nother);
    ok(event_at(1, e2, start + 4000), "slot 2's EOF at %lld, its end %lld", (long long)e2,
       (long long)(start + 4000));
    ok(event_at(2, e3, seek_tick + 1000), "slot 3's EOF at %lld, 1000 ms after the seek's tick %lld",
       (long long)e3, (long long)seek_tick);

    for (int s = 0; s < NSC; s++)
        for (int i = 0; i < nouts[s]; i++)
            le_pkt_unref(outs[s][i]);
    le_pipe_pool_free(pool);
    event_base_free(base);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done_testing();
}
