/* Studio sources (studio/source.h): media made with the ffmpeg CLI (2 s
 * red then 2 s green 320x240, a 440 Hz sine), played as a file source
 * (offsets, loops, the end) and fed tag by tag as a live source (stall,
 * reset, garbage, the latency rule). */
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "media/flvread.h"
#include "studio/source.h"
#include "tap.h"

#define STEP 40                 /* ms per studio tick */
#define TICK_SAMPLES (LE_SS_AUDIO_RATE * STEP / 1000)

static char dir[] = "/tmp/le_ss_XXXXXX";
static char path_mp4[256], path_flv[256], path_wide[256], path_txt[256], path_m4a[256], path_hevc[256], path_slow[256];

static int make_media(void)
{
    char cmd[2048];
    const char *gen = "ffmpeg -v error -y -f lavfi -i color=c=red:s=320x240:r=25:d=2 "
                      "-f lavfi -i color=c=0x00ff00:s=320x240:r=25:d=2 "
                      "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=4 "
                      "-filter_complex '[0:v][1:v]concat=n=2:v=1:a=0[v]' -map '[v]' -map 2:a "
                      "-c:v libx264 -preset veryfast -bf 2 -g 25 -pix_fmt yuv420p -c:a aac";
    snprintf(cmd, sizeof(cmd), "%s %s && %s %s", gen, path_mp4, gen, path_flv);
    if (system(cmd) != 0)
        return -2;
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -y -f lavfi -i color=c=blue:s=4112x16:r=25:d=0.4 -c:v libx264 -preset ultrafast "
             "-pix_fmt yuv420p %s && ffmpeg -v error -y -f lavfi -i sine=frequency=440:duration=1 -c:a aac %s",
             path_wide, path_m4a);
    if (system(cmd) != 0)
        return -2;
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -y -f lavfi -i color=c=red:s=320x240:r=25:d=1 -c:v libx265 -preset ultrafast "
             "-x265-params log-level=none:keyint=10 -pix_fmt yuv420p10le %s && "
             "ffmpeg -v error -y -f lavfi -i color=c=red:s=320x240:r=0.5:d=4 -c:v libx264 -preset ultrafast "
             "-pix_fmt yuv420p %s", path_hevc, path_slow);
    if (system(cmd) != 0)
        return -2;
    FILE *f = fopen(path_txt, "w");
    if (!f)
        return -2;
    fputs("this is not a media file\n", f);
    fclose(f);
    return 0;
}

/* ---- pictures and audio ---- */

enum { C_NONE, C_RED, C_GREEN, C_BLACK, C_OTHER };

static int color_of(const AVFrame *f)
{
    if (!f)
        return C_NONE;
    int x = f->width / 2, y = f->height / 2;
    int Y = f->data[0][y * f->linesize[0] + x];
    int U = f->data[1][y / 2 * f->linesize[1] + x / 2];
    int V = f->data[2][y / 2 * f->linesize[2] + x / 2];
    if (V > 200 && U < 110 && Y > 60 && Y < 100)
        return C_RED;
    if (Y > 120 && U < 80 && V < 60)
        return C_GREEN;
    if (Y < 20 && U > 120 && U < 136 && V > 120 && V < 136)
        return C_BLACK;
    return C_OTHER;
}

static const char *cname(int c)
{
    static const char *n[] = { "none", "red", "green", "black", "other" };
    return n[c];
}

static double goertzel(const float *x, int n, double freq)
{
    double k = 2 * cos(2 * M_PI * freq / LE_SS_AUDIO_RATE), s1 = 0, s2 = 0;
    for (int i = 0; i < n; i++) {
        double s0 = x[i] + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return s1 * s1 + s2 * s2 - k * s1 * s2;
}

static double energy(const float *x, int n)
{
    double e = 0;
    for (int i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return e;
}

/* The studio's tick: advance, picture, one tick of audio (appended to
 * abuf when given). Plays from *clock up to and including to. */
static const AVFrame *play(le_ss *s, int64_t *clock, int64_t to, int64_t stall, float *abuf, int *an, int acap)
{
    const AVFrame *v = NULL;
    AVFrame *a = av_frame_alloc();
    for (; *clock <= to; *clock += STEP) {
        le_ss_advance(s, *clock);
        v = le_ss_video(s, *clock, stall);
        if (le_ss_audio(s, a, TICK_SAMPLES) != LE_OK)
            break;
        if (abuf && *an + TICK_SAMPLES <= acap) {
            memcpy(abuf + *an, a->data[0], TICK_SAMPLES * sizeof(float));
            *an += TICK_SAMPLES;
        }
    }
    *clock -= STEP;
    av_frame_free(&a);
    return v;
}

static int color_at(le_ss *s, int64_t *clock, int64_t to)
{
    return color_of(play(s, clock, to, 100000, NULL, NULL, 0));
}

/* ---- file sources ---- */

static void test_file_open(void)
{
    le_ss *s = (le_ss *)1;
    char nx[300];
    snprintf(nx, sizeof(nx), "%s/none.mp4", dir);
    is_int(le_ss_new_file("x", nx, 0, 0, 0, &s), LE_ENOTFOUND, "a missing file is LE_ENOTFOUND");
    ok(s == NULL, "and gives no source");
    is_int(le_ss_new_file("x", path_txt, 0, 0, 0, &s), LE_EPROTO, "a text file is LE_EPROTO");
    is_int(le_ss_new_file("x", path_mp4, 0, 5000, 0, &s), LE_EINVAL, "BeginOffset past the end is LE_EINVAL");
    is_int(le_ss_new_file("x", path_mp4, 0, 1000, -3500, &s), LE_EINVAL, "EndOffset before BeginOffset is LE_EINVAL");
    is_int(le_ss_new_file("x", path_mp4, -2, 0, 0, &s), LE_EINVAL, "RepeatNum -2 is LE_EINVAL");
    is_int(le_ss_new_file("x", path_mp4, 0, -1, 0, &s), LE_EINVAL, "a negative BeginOffset is LE_EINVAL");
}

static void test_file_play(const char *path, const char *what)
{
    le_ss *s = NULL;
    is_int(le_ss_new_file("f", path, 0, 0, 0, &s), LE_OK, "%s: opens", what);
    if (!s)
        return;
    ok(le_ss_video(s, 0, 500) == NULL, "%s: no picture before the first advance", what);
    int64_t c0 = 10000, c = c0;
    static float ab[LE_SS_AUDIO_RATE * 3];
    int an = 0;
    const AVFrame *v = play(s, &c, c0 + 500, 500, ab, &an, LE_SS_AUDIO_RATE * 3);
    is_str(cname(color_of(v)), "red", "%s: red at 500 ms", what);
    ok(v && v->width == 320 && v->height == 240, "%s: 320x240", what);
    v = play(s, &c, c0 + 1900, 500, ab, &an, LE_SS_AUDIO_RATE * 3);
    is_str(cname(color_of(v)), "red", "%s: red at 1900 ms", what);
    v = play(s, &c, c0 + 2500, 500, ab, &an, LE_SS_AUDIO_RATE * 3);
    is_str(cname(color_of(v)), "green", "%s: green at 2500 ms", what);
    /* the audio from 0.3 s to 2.3 s (the start may be silence before the first frame) */
    int from = LE_SS_AUDIO_RATE * 3 / 10, n = 2 * LE_SS_AUDIO_RATE;
    double g440 = goertzel(ab + from, n, 440), g880 = goertzel(ab + from, n, 880);
    ok(an >= from + n && g440 > 1000 * g880, "%s: audio at 440 Hz (%g vs %g at 880)", what, g440, g880);
    ok(g440 > 1e6, "%s: and loud", what);
    le_ss_stats st;
    le_ss_stats_get(s, &st);
    ok(st.video_frames >= 60 && st.video_frames <= 66, "%s: one picture per 40 ms (%llu)", what,
       (unsigned long long)st.video_frames);
    ok(st.audio_frames > 0 && st.width == 320 && st.height == 240 && !st.eof, "%s: stats", what);
    is_int(st.decode_errors, 0, "%s: no decode errors", what);
    v = play(s, &c, c0 + 4300, 500, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    is_int(st.eof, 1, "%s: eof after 4 s", what);
    is_str(cname(color_of(v)), "green", "%s: the last picture stays", what);
    v = play(s, &c, c0 + 5000, 500, NULL, NULL, 0);
    is_str(cname(color_of(v)), "black", "%s: black after stall_ms", what);
    le_ss_stats_get(s, &st);
    is_int(st.stalls, 1, "%s: one stall", what);
    AVFrame *a = av_frame_alloc();
    le_ss_audio(s, a, 4410);
    ok(a->nb_samples == 4410 && a->sample_rate == LE_SS_AUDIO_RATE && a->ch_layout.nb_channels == 2 &&
       energy((float *)a->data[0], 4410) == 0 && energy((float *)a->data[1], 4410) == 0,
       "%s: silence after the end", what);
    av_frame_free(&a);
    le_ss_free(s);
}

static void test_file_offsets(void)
{
    le_ss *s = NULL;
    int64_t c;
    le_ss_stats st;

    is_int(le_ss_new_file("f", path_mp4, 0, 2000, 0, &s), LE_OK, "BeginOffset 2000");
    c = 0;
    is_str(cname(color_at(s, &c, 100)), "green", "BeginOffset 2000 starts on green");
    c += STEP;
    play(s, &c, 1900, 100000, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    is_int(st.eof, 0, "not over at 1900 ms");
    c += STEP;
    play(s, &c, 2300, 100000, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    is_int(st.eof, 1, "over after 2 s");
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_mp4, 1, 0, 0, &s), LE_OK, "RepeatNum 1");
    c = 5000;
    is_str(cname(color_at(s, &c, 5500)), "red", "red at 500");
    c += STEP;
    is_str(cname(color_at(s, &c, 7500)), "green", "green at 2500");
    c += STEP;
    is_str(cname(color_at(s, &c, 9500)), "red", "red again at 4500");
    le_ss_stats_get(s, &st);
    is_int(st.loops, 1, "one loop");
    is_int(st.eof, 0, "not over");
    c += STEP;
    is_str(cname(color_at(s, &c, 11500)), "green", "green at 6500");
    c += STEP;
    color_at(s, &c, 13500);
    le_ss_stats_get(s, &st);
    is_int(st.eof, 1, "over after the second pass");
    is_int(st.loops, 1, "still one loop");
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_mp4, 0, 0, 0, &s), LE_OK, "a clock that jumps");
    c = 0;
    is_str(cname(color_at(s, &c, 400)), "red", "red at 400");
    c = 2600;                   /* the engine skipped ticks */
    is_str(cname(color_at(s, &c, 2600)), "green", "green right after a jump to 2600");
    le_ss_stats_get(s, &st);
    is_int(st.audio_dropped, 0, "the jump seeks: no stretch of audio decoded into the FIFO");
    static float jb[LE_SS_AUDIO_RATE];
    int jn = 0;
    c += STEP;
    play(s, &c, 3300, 100000, jb, &jn, LE_SS_AUDIO_RATE);
    ok(goertzel(jb + 4410, 20000, 440) > 1000 * goertzel(jb + 4410, 20000, 880), "and the audio goes on");
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_mp4, 0, 0, -2000, &s), LE_OK, "EndOffset -2000");
    c = 0;
    is_str(cname(color_at(s, &c, 1900)), "red", "red at 1900");
    le_ss_stats_get(s, &st);
    is_int(st.eof, 0, "not over at 1900");
    c += STEP;
    is_str(cname(color_at(s, &c, 2500)), "red", "still red at 2500 (never green)");
    le_ss_stats_get(s, &st);
    is_int(st.eof, 1, "over after red");
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_mp4, -1, 1000, 3000, &s), LE_OK, "RepeatNum -1, 1000..3000");
    c = 0;
    is_str(cname(color_at(s, &c, 1500)), "green", "green at 1500 (file 2500)");
    c += STEP;
    is_str(cname(color_at(s, &c, 2500)), "red", "red at 2500 (file 1500, looped)");
    c += STEP;
    color_at(s, &c, 10200);
    le_ss_stats_get(s, &st);
    ok(st.loops >= 4 && st.loops <= 6 && !st.eof, "loops forever (%llu after 10 s)", (unsigned long long)st.loops);
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_m4a, 0, 0, 0, &s), LE_OK, "an audio-only file opens");
    c = 0;
    static float ab[LE_SS_AUDIO_RATE];
    int an = 0;
    const AVFrame *v = play(s, &c, 900, 500, ab, &an, LE_SS_AUDIO_RATE);
    ok(v == NULL, "no picture");
    ok(goertzel(ab + 4410, 30000, 440) > 1000 * goertzel(ab + 4410, 30000, 880), "its audio plays");
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_hevc, 0, 0, 0, &s), LE_OK, "a video-only HEVC main10 file opens");
    c = 0;
    an = 0;
    v = play(s, &c, 500, 100000, ab, &an, LE_SS_AUDIO_RATE);
    is_str(cname(color_of(v)), "red", "its picture: red, converted");
    ok(v && v->format == AV_PIX_FMT_YUV420P && v->width == 320, "yuv420p 320 wide");
    ok(energy(ab, an) == 0, "and silence");
    c += STEP;
    play(s, &c, 1200, 100000, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    is_int(st.eof, 1, "over after 1 s");
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_slow, 0, 0, 0, &s), LE_OK, "a file of one frame per 2 s");
    c = 0;
    v = play(s, &c, 1500, 500, NULL, NULL, 0);
    is_str(cname(color_of(v)), "red", "a still frame held for 1.5 s is not a stall");
    c += STEP;
    v = play(s, &c, 3900, 500, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    ok(color_of(v) == C_RED && st.stalls == 0 && !st.eof, "nor at 3.9 s");
    c += STEP;
    v = play(s, &c, 5000, 500, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    ok(color_of(v) == C_BLACK && st.stalls == 1 && st.eof, "black after the end and stall_ms");
    le_ss_free(s);

    is_int(le_ss_new_file("f", path_wide, 0, 0, 0, &s), LE_EPROTO,
           "a file whose only stream is wider than LE_SS_MAX_DIM is LE_EPROTO");
}

/* le_ss_start_at, le_ss_seek, le_ss_pause on a.mp4 (red 0-2 s, green
 * 2-4 s, a keyframe every second, B-frames, 440 Hz). */
static void test_file_control(void)
{
    le_ss *s = NULL;
    le_ss_stats st;
    int64_t c = 0;
    is_int(le_ss_new_file("f", path_mp4, 0, 0, 0, &s), LE_OK, "control: a.mp4");
    le_ss_start_at(s, 1000);
    const AVFrame *v = play(s, &c, 960, 100000, NULL, NULL, 0);
    ok(v == NULL, "start_at 1000: no picture before the clock's 1000");
    c += STEP;
    is_str(cname(color_at(s, &c, 1000)), "red", "its first picture at 1000");
    c += STEP;
    is_str(cname(color_at(s, &c, 3000)), "green", "file time 2 s at clock 3000");
    le_ss_stats_get(s, &st);
    ok(st.pos_ms == 2000 && !st.paused, "pos_ms 2000 (%lld)", (long long)st.pos_ms);

    /* paused, then sought back into the red: the picture at the target,
     * still paused, held past the stall, silent */
    le_ss_pause(s, 1);
    c += STEP;
    play(s, &c, 3200, 100, NULL, NULL, 0);
    le_ss_seek(s, 1500);
    c += STEP;
    static float ab[44100 * 4];
    int an = 0;
    v = play(s, &c, 4200, 100, ab, &an, 44100 * 4);
    le_ss_stats_get(s, &st);
    ok(color_of(v) == C_RED && st.paused && st.pos_ms == 1500 && st.stalls == 0,
       "sought to 1500 while paused: red, paused at 1500, no stall (%s, %lld)", cname(color_of(v)),
       (long long)st.pos_ms);
    ok(an > 0 && energy(ab, an) == 0, "silence while paused");
    le_ss_pause(s, 0);
    c += STEP;
    is_str(cname(color_at(s, &c, 4600)), "red", "played on: red up to file time 2 s");
    c += STEP;
    an = 0;
    v = play(s, &c, 4800, 100, ab, &an, 44100 * 4);
    ok(color_of(v) == C_GREEN && goertzel(ab, an, 440) > 1e5, "then green (500 ms after play), with the tone");
    c += STEP;
    play(s, &c, 7000, 100000, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    ok(st.eof && st.pos_ms >= 3900 && st.pos_ms <= 4100, "played out at the end (%lld)", (long long)st.pos_ms);

    /* a played-out file sought past its end: its last frame, then the end */
    le_ss_seek(s, 60000);
    c += STEP;
    le_ss_advance(s, c);
    le_ss_stats_get(s, &st);
    v = le_ss_video(s, c, 100000);
    ok(color_of(v) == C_GREEN && st.pos_ms >= 3800 && st.pos_ms < 4000, "sought past the end: the last frame (%lld)",
       (long long)st.pos_ms);
    c += STEP;
    play(s, &c, c + 400, 100000, NULL, NULL, 0);
    le_ss_stats_get(s, &st);
    ok(st.eof, "and at the end again");
    le_ss_free(s);

    le_ss *l = le_ss_new_live("l");
    le_ss_seek(l, 1000);
    le_ss_pause(l, 1);
    le_ss_start_at(l, 500);
    le_ss_advance(l, 0);
    le_ss_stats_get(l, &st);
    ok(!st.paused && st.pos_ms == 0 && le_ss_video(l, 0, 500) == NULL, "a live source ignores them");
    le_ss_free(l);
}

/* ---- live sources ---- */

typedef struct tag {
    uint8_t type;
    uint32_t ts;
    uint8_t *b;
    size_t n;
} tag;

static tag *read_tags(const char *path, int *count)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static uint8_t buf[1 << 22];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    le_flvread r;
    le_flvread_init(&r, 1 << 20, 1);
    tag *t = NULL;
    int n = 0;
    const uint8_t *p = buf;
    le_flvread_ev ev;
    int rc;
    while ((rc = le_flvread_next(&r, &p, &len, &ev)) > 0) {
        if (rc != LE_FLVREAD_TAG)
            continue;
        t = realloc(t, (size_t)(n + 1) * sizeof(*t));
        t[n].type = ev.type;
        t[n].ts = ev.ts;
        t[n].n = ev.len;
        t[n].b = malloc(ev.len + 1);
        memcpy(t[n].b, ev.data, ev.len);
        n++;
    }
    le_flvread_free(&r);
    *count = n;
    return t;
}

static void feed(le_ss *s, const tag *t, int n, uint32_t from, uint32_t to, int headers, int frames)
{
    for (int i = 0; i < n; i++) {
        int hdr = (t[i].type == 9 && t[i].n > 1 && t[i].b[1] == 0) || (t[i].type == 8 && t[i].n > 1 && t[i].b[1] == 0);
        if (t[i].ts < from || t[i].ts >= to)
            continue;
        if (hdr ? headers : frames)
            le_ss_feed(s, t[i].type, t[i].ts, t[i].b, t[i].n);
    }
}

static void test_live(void)
{
    int n = 0;
    tag *t = read_tags(path_flv, &n);
    ok(n > 250, "the FLV file has its tags (%d)", n);
    le_ss *s = le_ss_new_live("cam");
    ok(s != NULL, "a live source");
    le_ss_stats st;
    ok(le_ss_video(s, 0, 500) == NULL, "no picture before any");
    feed(s, t, n, 0, 1000, 0, 1);
    le_ss_stats_get(s, &st);
    ok(st.video_frames == 0 && st.audio_frames == 0 && le_ss_video(s, 0, 500) == NULL,
       "frames before sequence headers are not decoded");

    feed(s, t, n, 0, 1000000, 1, 1);
    le_ss_advance(s, 1000);
    const AVFrame *v = le_ss_video(s, 1000, 500);
    is_str(cname(color_of(v)), "green", "the newest picture (green) after all tags");
    ok(v && v->width == 320 && v->height == 240, "320x240");
    le_ss_stats_get(s, &st);
    ok(st.video_frames >= 95 && st.video_frames <= 100, "pictures decoded (%llu)", (unsigned long long)st.video_frames);
    ok(st.audio_dropped > 2 * LE_SS_AUDIO_RATE, "4 s of audio at once: the FIFO kept 1 s (dropped %llu)",
       (unsigned long long)st.audio_dropped);
    AVFrame *a = av_frame_alloc();
    is_int(le_ss_audio(s, a, 30000), LE_OK, "audio taken");
    float *x = (float *)a->data[0];
    ok(goertzel(x, 30000, 440) > 1000 * goertzel(x, 30000, 880) && energy(x, 30000) > 100,
       "live audio at 440 Hz");
    is_int(st.decode_errors, 0, "no decode errors");

    is_str(cname(color_of(le_ss_video(s, 1500, 500))), "green", "fresh at 1500 (stall_ms 500)");
    is_str(cname(color_of(le_ss_video(s, 1501, 500))), "black", "black after stall_ms");
    v = le_ss_video(s, 1700, 500);
    is_str(cname(color_of(v)), "black", "still black");
    ok(v && v->width == 320 && v->height == 240, "the black picture has the source's size");
    le_ss_stats_get(s, &st);
    is_int(st.stalls, 1, "one stall counted");

    le_ss_reset(s);
    uint64_t before = st.video_frames;
    feed(s, t, n, 0, 1000000, 0, 1);
    le_ss_stats_get(s, &st);
    is_int(st.video_frames, before, "after reset, frames wait for the sequence header");
    is_str(cname(color_of(le_ss_video(s, 1800, 500))), "black", "and the picture stays black");
    feed(s, t, n, 0, 1000, 1, 1);
    is_str(cname(color_of(le_ss_video(s, 1900, 500))), "red", "new headers and frames: red again, fresh");
    is_str(cname(color_of(le_ss_video(s, 2300, 500))), "red", "and fresh for stall_ms");
    le_ss_stats_get(s, &st);
    is_int(st.stalls, 1, "still one stall");
    is_int(st.decode_errors, 0, "still no decode errors");

    /* garbage */
    uint64_t e0 = st.decode_errors;
    uint8_t g[64];
    for (int i = 0; i < 10; i++) {
        memset(g, 0x5a + i, sizeof(g));
        g[0] = 0x13;            /* keyframe, codec id 3 (screen video) */
        le_ss_feed(s, 9, 2000, g, sizeof(g));
    }
    le_ss_feed(s, 9, 2000, g, 0);
    le_ss_feed(s, 8, 2000, g, 0);
    g[0] = 0x2f;                /* MP3 */
    le_ss_feed(s, 8, 2000, g, sizeof(g));
    le_ss_stats_get(s, &st);
    is_int(st.decode_errors - e0, 13, "unsupported or empty bodies are counted");
    le_ss_feed(s, 18, 2000, g, sizeof(g));
    le_ss_stats_get(s, &st);
    is_int(st.decode_errors - e0, 13, "script data is ignored");
    e0 = st.decode_errors;
    for (int i = 0; i < 10; i++) {
        uint8_t b[] = { 0x17, 0x01, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x65, 0x88, 0x84, 0x00 };
        le_ss_feed(s, 9, 2000, b, sizeof(b));
        uint8_t ab[] = { 0xaf, 0x01, 0xff, 0xf1, 0x50, 0x80, 0x02, 0x1f, 0xfc, 0xde, 0xad, 0xbe, 0xef };
        le_ss_feed(s, 8, 2000, ab, sizeof(ab));
    }
    le_ss_stats_get(s, &st);
    ok(st.decode_errors - e0 >= 10, "bodies the decoders refuse are counted (%llu)",
       (unsigned long long)(st.decode_errors - e0));
    uint8_t bad_hdr[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00 };
    e0 = st.decode_errors;
    le_ss_feed(s, 9, 2000, bad_hdr, sizeof(bad_hdr));
    feed(s, t, n, 2000, 3000, 0, 1);
    le_ss_stats_get(s, &st);
    ok(st.decode_errors > e0, "a broken sequence header is counted");
    feed(s, t, n, 0, 1, 1, 0);
    feed(s, t, n, 2000, 3000, 0, 1);
    is_str(cname(color_of(le_ss_video(s, 2400, 500))), "green", "a good one recovers");

    /* a frame wider than LE_SS_MAX_DIM */
    int wn = 0;
    tag *w = read_tags(path_wide, &wn);
    le_ss_stats_get(s, &st);
    e0 = st.decode_errors;
    feed(s, w, wn, 0, 1000000, 1, 1);
    le_ss_stats_get(s, &st);
    ok(st.decode_errors - e0 >= 5, "frames wider than LE_SS_MAX_DIM are refused (%llu)",
       (unsigned long long)(st.decode_errors - e0));
    ok(st.width == 320 && st.height == 240, "the picture keeps its size");
    for (int i = 0; i < wn; i++)
        free(w[i].b);
    free(w);
    av_frame_free(&a);
    le_ss_free(s);

    /* the latency rule: 900 ms of audio ahead, then arriving as fast as taken */
    s = le_ss_new_live("lag");
    a = av_frame_alloc();
    feed(s, t, n, 0, 900, 1, 1);
    for (uint32_t ms = 900; ms < 3500; ms += STEP) {
        feed(s, t, n, ms, ms + STEP, 0, 1);
        le_ss_audio(s, a, TICK_SAMPLES);
    }
    le_ss_stats_get(s, &st);
    ok(st.audio_dropped > LE_SS_AUDIO_RATE * 6 / 10 && st.audio_dropped < LE_SS_AUDIO_RATE,
       "a standing backlog of 900 ms is cut to about 100 ms (dropped %llu)", (unsigned long long)st.audio_dropped);
    x = (float *)a->data[0];
    ok(energy(x, TICK_SAMPLES) > 1, "and the audio still flows");
    av_frame_free(&a);
    le_ss_free(s);

    for (int i = 0; i < n; i++)
        free(t[i].b);
    free(t);
}

/* HEVC main10 from an MP4 as FLV video bodies: legacy codec id 12 or
 * enhanced RTMP 'hvc1' (CodedFrames with a composition time). */
static void test_live_hevc(int enhanced)
{
    const char *what = enhanced ? "enhanced hvc1" : "legacy HEVC";
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path_hevc, NULL, NULL) < 0 || avformat_find_stream_info(fc, NULL) < 0) {
        ok(0, "%s: the HEVC file opens", what);
        avformat_close_input(&fc);
        return;
    }
    AVStream *st = fc->streams[0];
    le_ss *s = le_ss_new_live("hevc");
    uint8_t *b = malloc((size_t)st->codecpar->extradata_size + 8);
    size_t hl = 5;
    if (enhanced) {
        b[0] = 0x80 | 0x10 | 0;
        memcpy(b + 1, "hvc1", 4);
    } else {
        uint8_t h[5] = { 0x1c, 0, 0, 0, 0 };
        memcpy(b, h, 5);
    }
    memcpy(b + hl, st->codecpar->extradata, (size_t)st->codecpar->extradata_size);
    le_ss_feed(s, 9, 0, b, hl + (size_t)st->codecpar->extradata_size);
    free(b);
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(fc, pkt) >= 0) {
        int64_t dts = av_rescale_q(pkt->dts, st->time_base, (AVRational){ 1, 1000 });
        int64_t cts = av_rescale_q(pkt->pts - pkt->dts, st->time_base, (AVRational){ 1, 1000 });
        int key = pkt->flags & AV_PKT_FLAG_KEY;
        b = malloc((size_t)pkt->size + 8);
        if (enhanced) {
            b[0] = 0x80 | (key ? 0x10 : 0x20) | 1;
            memcpy(b + 1, "hvc1", 4);
            hl = 8;
        } else {
            b[0] = (key ? 0x10 : 0x20) | 12;
            b[1] = 1;
            hl = 5;
        }
        b[hl - 3] = (uint8_t)(cts >> 16);
        b[hl - 2] = (uint8_t)(cts >> 8);
        b[hl - 1] = (uint8_t)cts;
        memcpy(b + hl, pkt->data, (size_t)pkt->size);
        le_ss_feed(s, 9, (uint32_t)dts, b, hl + (size_t)pkt->size);
        free(b);
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fc);
    const AVFrame *v = le_ss_video(s, 0, 500);
    is_str(cname(color_of(v)), "red", "%s: main10 decoded and converted: red", what);
    ok(v && v->width == 320 && v->height == 240 && v->format == AV_PIX_FMT_YUV420P, "%s: 320x240 yuv420p", what);
    le_ss_stats st2;
    le_ss_stats_get(s, &st2);
    ok(st2.video_frames >= 18, "%s: pictures decoded (%llu)", what, (unsigned long long)st2.video_frames);
    is_int(st2.decode_errors, 0, "%s: no decode errors", what);
    le_ss_free(s);
}

int main(void)
{
    av_log_set_level(AV_LOG_QUIET);
    if (!mkdtemp(dir)) {
        printf("1..0 # SKIP no temp dir\n");
        return 0;
    }
    snprintf(path_mp4, sizeof(path_mp4), "%s/a.mp4", dir);
    snprintf(path_flv, sizeof(path_flv), "%s/a.flv", dir);
    snprintf(path_wide, sizeof(path_wide), "%s/wide.flv", dir);
    snprintf(path_m4a, sizeof(path_m4a), "%s/a.m4a", dir);
    snprintf(path_txt, sizeof(path_txt), "%s/a.txt", dir);
    snprintf(path_hevc, sizeof(path_hevc), "%s/h.mp4", dir);
    snprintf(path_slow, sizeof(path_slow), "%s/slow.mp4", dir);
    if (make_media() != 0) {
        printf("1..0 # SKIP the ffmpeg CLI cannot make the test media\n");
        return 0;
    }
    test_file_open();
    test_file_play(path_mp4, "mp4");
    test_file_play(path_flv, "flv");
    test_file_offsets();
    test_file_control();
    test_live();
    test_live_hevc(0);
    test_live_hevc(1);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return done_testing();
}
