/* HLS segmenter: FLV files made by ffmpeg go through le_hls_feed; the sealed
 * segments are checked byte-wise (whole TS packets, PAT/PMT first, no phantom
 * PIDs, continuity counters running across segments) and with ffprobe (the
 * streams, a keyframe first, durations matching what the playlist would say).
 * H.265 comes from an MP4 (ffmpeg 5.1's FLV muxer has no HEVC) repackaged
 * into FLV tag bodies both ways: legacy codec id 12 and enhanced RTMP 'hvc1'. */
#include <libavformat/avformat.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "hls/playlist.h"
#include "hls/segmenter.h"
#include "media/pkt.h"
#include "tap.h"

#include "hls_helpers.h"

/* ---- byte-level TS checks ---- */

typedef struct ts_state {
    int cc[8192];               /* last continuity counter per PID, -1 unseen */
    int cc_errors;
} ts_state;

static unsigned ts_pid(const uint8_t *p) { return (unsigned)(p[1] & 0x1f) << 8 | p[2]; }

/* Checks one segment; returns a bitmask of PES PIDs seen (bit 0: 0x100,
 * bit 1: 0x101, bit 7: any other). */
static int check_segment(const le_hls_seg *s, ts_state *ts, const char *what)
{
    ok(s->len > 0 && s->len % 188 == 0, "%s: whole TS packets (%zu bytes)", what, s->len);
    int sync = 1;
    for (size_t o = 0; o + 188 <= s->len; o += 188)
        if (s->data[o] != 0x47)
            sync = 0;
    ok(sync, "%s: every packet starts with 0x47", what);
    /* PAT first (an SDT may precede it once, at the very start). */
    size_t o = 0;
    if (s->len >= 188 && ts_pid(s->data) == 0x11)
        o = 188;
    ok(s->len >= o + 376 && ts_pid(s->data + o) == 0 && ts_pid(s->data + o + 188) == 0x1000,
       "%s: starts with PAT then PMT", what);
    int pes = 0;
    for (o = 0; o + 188 <= s->len; o += 188) {
        const uint8_t *p = s->data + o;
        unsigned pid = ts_pid(p);
        int has_payload = (p[3] & 0x10) != 0;
        int cc = p[3] & 15;
        if (pid == 0x100)
            pes |= 1;
        else if (pid == 0x101)
            pes |= 2;
        else if (pid != 0 && pid != 0x11 && pid != 0x1000 && pid != 0x1fff)
            pes |= 128;
        if (has_payload) {
            if (ts->cc[pid] >= 0 && cc != ((ts->cc[pid] + 1) & 15))
                ts->cc_errors++;
            ts->cc[pid] = cc;
        }
    }
    return pes;
}

static void ts_reset(ts_state *ts)
{
    for (int i = 0; i < 8192; i++)
        ts->cc[i] = -1;
    ts->cc_errors = 0;
}

/* ---- ffprobe checks ---- */

static int probe_lines(const char *cmd, char *out, size_t outsz)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return LE_EIO;
    size_t n = fread(out, 1, outsz - 1, p);
    out[n] = '\0';
    return pclose(p);
}

/* Media span of one stream in a TS file: max(pts + duration) - min(pts). */
static double probe_span(const char *file, const char *sel)
{
    char cmd[600], buf[65536];
    snprintf(cmd, sizeof(cmd),
             "ffprobe -v error -select_streams %s -show_entries packet=pts_time,duration_time -of csv=p=0 '%s'",
             sel, file);
    if (probe_lines(cmd, buf, sizeof(buf)) != 0)
        return -1;
    double lo = 1e18, hi = -1e18;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        double pts, dur = 0;
        if (sscanf(line, "%lf,%lf", &pts, &dur) < 1)
            continue;
        if (pts < lo)
            lo = pts;
        if (pts + dur > hi)
            hi = pts + dur;
    }
    return hi > lo ? hi - lo : -1;
}

static void probe_segment(const char *file, int want_video, int want_audio, const char *vcodec,
                          double extinf, int last, const char *what)
{
    char cmd[600], buf[4096];
    snprintf(cmd, sizeof(cmd), "ffprobe -v error -show_entries stream=codec_type,codec_name -of csv=p=0 '%s' | grep . | sort -u",
             file);
    probe_lines(cmd, buf, sizeof(buf));
    char want[128] = "";
    if (want_audio)
        strcat(want, "aac,audio\n");
    if (want_video) {
        strcat(want, vcodec);
        strcat(want, ",video\n");
    }
    is_str(buf, want, "%s: ffprobe finds exactly the expected streams", what);
    if (want_video) {
        snprintf(cmd, sizeof(cmd),
                 "ffprobe -v error -select_streams v:0 -show_entries packet=flags -of csv=p=0 '%s' | head -n 1",
                 file);
        probe_lines(cmd, buf, sizeof(buf));
        ok(buf[0] == 'K', "%s: the first video packet is a keyframe", what);
    }
    double span = probe_span(file, want_video ? "v:0" : "a:0");
    /* The last segment ends at the last frame; its EXTINF is estimated. */
    ok(fabs(span - extinf) <= (last ? 0.2 : 0.1), "%s: media span %.3f s matches EXTINF %.3f s", what, span,
       extinf);
}

typedef struct variant {
    const char *name;
    int video, audio;
    const char *vcodec;         /* ffprobe's name */
    int64_t frag_ms;
    int min_segs;
} variant;

static void check_run(le_hls *h, const variant *v)
{
    le_hls_seg *segs[64];
    size_t n = le_hls_segments(h, segs, 64, 0);
    ok(n >= (size_t)v->min_segs, "%s: %zu segments (want >= %d)", v->name, n, v->min_segs);
    ts_state ts;
    ts_reset(&ts);
    int pes_all = 0;
    for (size_t i = 0; i < n; i++) {
        char what[128];
        snprintf(what, sizeof(what), "%s seg %llu", v->name, (unsigned long long)segs[i]->seq);
        if (i > 0)
            is_int(segs[i]->seq, segs[i - 1]->seq + 1, "%s: sequence numbers consecutive", what);
        int pes = check_segment(segs[i], &ts, what);
        pes_all |= pes;
        is_int(pes, (v->video ? 1 : 0) | (v->audio ? (v->video ? 2 : 1) : 0), "%s: no phantom PIDs", what);
        if (i + 1 < n) {
            /* Cut at the first keyframe (1 s GOP) at or after the fragment. */
            int64_t d = segs[i]->duration_ms;
            ok(d >= v->frag_ms && d < v->frag_ms + (v->video ? 1000 : 100),
               "%s: duration %lld ms near hls_fragment %lld", what, (long long)d, (long long)v->frag_ms);
        }
        if (have_ffmpeg) {
            char file[512];
            snprintf(file, sizeof(file), "%s/%s-%llu.ts", tmpdir, v->name, (unsigned long long)segs[i]->seq);
            FILE *f = fopen(file, "wb");
            fwrite(segs[i]->data, 1, segs[i]->len, f);
            fclose(f);
            probe_segment(file, v->video, v->audio, v->vcodec, (double)segs[i]->duration_ms / 1000.0, i + 1 == n,
                          what);
        }
    }
    is_int(ts.cc_errors, 0, "%s: continuity counters run on across segments", v->name);
    (void)pes_all;
}

/* ---- synthetic streams: crafted tags, no ffmpeg ---- */

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

/* The playlist's EXT-X-TARGETDURATION, computed the way hls_play does. */
static int listed_target(le_hls *h)
{
    le_hls_seg *segs[64];
    le_m3u8_seg ms[64];
    size_t n = le_hls_segments(h, segs, 64, 1);
    for (size_t i = 0; i < n; i++) {
        memset(&ms[i], 0, sizeof(ms[i]));
        ms[i].duration_ms = segs[i]->duration_ms;
    }
    return le_m3u8_target(ms, n, le_hls_min_target(h));
}

static int64_t max_duration(le_hls *h, size_t *nout, int *ndisc)
{
    le_hls_seg *segs[64];
    size_t n = le_hls_segments(h, segs, 64, 0);
    int64_t m = 0;
    int d = 0;
    for (size_t i = 0; i < n; i++) {
        if (segs[i]->duration_ms > m)
            m = segs[i]->duration_ms;
        d += segs[i]->disc;
    }
    if (nout)
        *nout = n;
    if (ndisc)
        *ndisc = d;
    return m;
}

static int follow_src(void *arg, int64_t ts, uint64_t *seq)
{
    return le_hls_seq_at(arg, ts, seq);
}

static void synthetic_tests(void)
{
    /* AAC and AVC headers, a video tag of a codec TS cannot carry, then an
     * H.264 keyframe: the muxer must get the video track. */
    static const uint8_t h263[] = { 0x22, 0x00, 0x00 };
    static const uint8_t av1[] = { 0x80 | 0x10 | 1, 'a', 'v', '0', '1', 0x12, 0x00, 0x0a };
    for (int k = 0; k < 2; k++) {
        le_hls *h = le_hls_new("t/live/crash", 0, 0);
        le_hls_set_params(h, 1000, 10);
        feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        int rc = k ? feed_bytes(h, LE_PKT_VIDEO, 0, av1, sizeof(av1)) : feed_bytes(h, LE_PKT_VIDEO, 0, h263, 3);
        ok(rc < 0, "%s tag refused by the segmenter", k ? "AV1" : "H.263");
        feed_av(h, 0, 3000, 1000, 1);
        le_hls_end(h);
        le_hls_seg *segs[16];
        size_t n = le_hls_segments(h, segs, 16, 0);
        ok(n >= 2 && segs[0]->has_video && segs[0]->has_audio,
           "%s between the headers and a keyframe: %zu A/V segments", k ? "AV1" : "H.263", n);
        le_hls_free(h);
    }
    /* Only unsupported video with AAC: audio-only, and a stray H.264 frame
     * without its configuration changes nothing. */
    {
        le_hls *h = le_hls_new("t/live/av1only", 0, 0);
        le_hls_set_params(h, 1000, 10);
        feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(h, LE_PKT_VIDEO, 0, av1, sizeof(av1));
        for (uint32_t t = 0; t < 3000; t += 23) {
            feed_aac(h, t);
            if (t % 230 == 0)
                feed_video(h, t, 1, 100);
        }
        le_hls_end(h);
        le_hls_seg *segs[16];
        size_t n = le_hls_segments(h, segs, 16, 0);
        ok(n >= 2 && !segs[0]->has_video && segs[0]->has_audio, "AV1 + AAC: audio-only segments (%zu)", n);
        le_hls_free(h);
    }

    /* An endless GOP: one keyframe, then 30 s of inter frames. */
    {
        le_hls *h = le_hls_new("t/live/gop", 0, 0);
        le_hls_set_params(h, 2000, 10);
        feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        feed_av(h, 0, 30000, 0, 1);
        size_t n;
        int64_t m = max_duration(h, &n, NULL);
        ok(n >= 2, "endless GOP: %zu segments sealed before the end", n);
        ok(m <= le_hls_seg_max_ms(2000) && m >= le_hls_seg_max_ms(2000) - 40,
           "... each cut at the media-time bound (%lld ms)", (long long)m);
        le_hls_free(h);
    }
    /* A clock that stops: arrival time bounds the segment. */
    {
        le_hls *h = le_hls_new("t/live/stopped", 0, 0);
        le_hls_set_params(h, 2000, 10);
        fake_now = 1000000;
        le_hls_set_clock(h, fake_clock);
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        for (int i = 0; i < 1000; i++) {
            feed_video(h, 5000, i % 25 == 0, 600);
            fake_now += 40;
        }
        size_t n;
        max_duration(h, &n, NULL);
        ok(n >= 1, "stopped clock: %zu segments sealed by arrival time", n);
        le_hls_free(h);
    }
    /* Same timestamps, a stopped arrival clock, big frames: the byte bound. */
    {
        le_hls *h = le_hls_new("t/live/bytes", 0, 0);
        le_hls_set_params(h, 100, 10);
        fake_now = 1000000;
        le_hls_set_clock(h, fake_clock);
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        for (int i = 0; i < 60; i++)
            feed_video(h, 7, i == 0, 200000);
        le_hls_seg *segs[16];
        size_t n = le_hls_segments(h, segs, 16, 0);
        size_t cap = le_hls_seg_max_bytes(100), big = 0;
        for (size_t i = 0; i < n; i++)
            if (segs[i]->len > big)
                big = segs[i]->len;
        ok(n >= 2, "12 MB at one timestamp: %zu segments sealed", n);
        ok(big <= cap + 300000, "... none over the %zu byte bound by more than a frame (%zu)", cap, big);
        ok(le_hls_bytes(h) < (n + 1) * (cap + 300000), "... le_hls_bytes counts them (%zu)", le_hls_bytes(h));
        le_hls_drop_segments(h);
        is_int(le_hls_segments(h, segs, 16, 0), 0, "le_hls_drop_segments empties the ring");
        le_hls_free(h);
    }

    /* The 32-bit RTMP clock wraps 5 s in (or an encoder starts there). */
    {
        le_hls *h = le_hls_new("t/live/wrap", 0, 0);
        le_hls_set_params(h, 2000, 20);
        feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        feed_av(h, 0xffffffffu - 4999, 20000, 1000, 1);
        size_t n;
        int nd;
        int64_t m = max_duration(h, &n, &nd);
        ok(n >= 8, "timestamp wrap: segments still cut (%zu in 20 s)", n);
        ok(m == 2000 && nd == 0, "... every one 2 s (max %lld ms), no discontinuity (%d)", (long long)m, nd);
        is_int(listed_target(h), 2, "... target duration 2");
        le_hls_free(h);
    }
    /* A 2^31 ms jump forward, then one back. */
    for (int back = 0; back < 2; back++) {
        le_hls *h = le_hls_new("t/live/jump", 0, 0);
        le_hls_set_params(h, 2000, 20);
        feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        uint32_t t = back ? 100000000u : 1000;
        t = feed_av(h, t, 6000, 1000, 1);
        t = back ? t - 60000000u : t + 0x80000000u;
        feed_av(h, t, 6000, 1000, 1);
        le_hls_end(h);
        size_t n;
        int nd;
        int64_t m = max_duration(h, &n, &nd);
        ok(m <= 2100, "%s jump: segment durations stay sane (max %lld ms)", back ? "backward" : "2^31 ms",
           (long long)m);
        ok(nd == 1, "... one discontinuity (%d)", nd);
        is_int(listed_target(h), 2, "... target duration 2");
        le_hls_free(h);
    }
    /* Video stalls 8 s while audio goes on, then resumes on the same clock:
     * a gap, not a new timeline; video keeps its timestamps. */
    {
        le_hls *h = le_hls_new("t/live/gap", 0, 0);
        le_hls_set_params(h, 2000, 20);
        feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        feed_av(h, 0, 4000, 1000, 1);
        for (uint32_t t = 4000; t < 12000; t += 23)
            feed_aac(h, t);
        feed_av(h, 12000, 4000, 1000, 1);
        le_hls_end(h);
        le_hls_seg *segs[32];
        size_t n = le_hls_segments(h, segs, 32, 0);
        int nd = 0;
        int64_t resumed = -1;
        for (size_t i = 0; i < n; i++) {
            nd += segs[i]->disc;
            if (resumed < 0 && segs[i]->start_ts_ms >= 11000)
                resumed = segs[i]->start_ts_ms;
        }
        is_int(nd, 0, "video gap with audio going on: no discontinuity");
        is_int(resumed, 12000, "... video resumes at its own time");
        le_hls_free(h);
    }
    /* The target follows the listed segments: a long GOP raises it while
     * listed, not after it scrolled off (nor across a republish). */
    {
        le_hls *h = le_hls_new("t/live/target", 0, 0);
        le_hls_set_params(h, 2000, 3);
        feed_bytes(h, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(h, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        uint32_t t = feed_av(h, 0, 7000, 7000, 1);
        t = feed_av(h, t, 2000, 1000, 1);
        is_int(listed_target(h), 7, "a 7 s GOP listed: target 7");
        feed_av(h, t, 12000, 1000, 1);
        le_hls_end(h);
        is_int(listed_target(h), 2, "scrolled off: target 2");
        le_hls_free(h);
    }
    /* A rendition's numbering follows its source's: its first segment,
     * cut at the source's keyframe of 6 s (or one frame after), takes the
     * number of the source's segment that starts there. */
    {
        le_hls *src = le_hls_new("t/live/src", 0, 0);
        le_hls_set_params(src, 2000, 10);
        feed_bytes(src, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
        feed_bytes(src, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        feed_av(src, 0, 12000, 2000, 1);
        uint64_t q = 99;
        ok(le_hls_seq_at(src, 6000, &q) == LE_OK && q == 3, "le_hls_seq_at(6000): segment 3 (%llu)",
           (unsigned long long)q);
        ok(le_hls_seq_at(src, 6040, &q) == LE_OK && q == 3, "... 6040 too (within half a fragment)");
        ok(le_hls_seq_at(src, 11100, &q) == LE_ENOTFOUND, "... 11100: none starts there");
        for (uint32_t off = 0; off <= 40; off += 40) {
            le_hls *r = le_hls_new("t/live/src_lld", 0, 0);
            le_hls_set_params(r, 2000, 10);
            le_hls_set_seq_fn(r, follow_src, src);
            feed_bytes(r, LE_PKT_AUDIO, 0, AAC_SEQ, sizeof(AAC_SEQ));
            feed_bytes(r, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
            feed_av(r, 6000 + off, 6000, 2000, 1);
            le_hls_seg *seg[8];
            size_t n = le_hls_segments(r, seg, 8, 0);
            ok(n == 2 && seg[0]->seq == 3 && seg[1]->seq == 4,
               "a follower starting at %u ms: segments 3, 4 as the source's (%zu: %llu...)", 6000 + off, n,
               n ? (unsigned long long)seg[0]->seq : 0ULL);
            le_hls_free(r);
        }
        le_hls *r = le_hls_new("t/live/src_small", 5, 0);
        le_hls_set_seq_fn(r, follow_src, src);
        feed_bytes(r, LE_PKT_VIDEO, 0, AVC_SEQ, sizeof(AVC_SEQ));
        feed_av(r, 2000, 4000, 2000, 1);
        le_hls_seg *seg[4];
        ok(le_hls_segments(r, seg, 4, 0) >= 1 && seg[0]->seq == 5, "... never backwards (remembered 5 > source's 1)");
        le_hls_free(r);
        le_hls_free(src);
    }
}

static le_hls *feed_all(const char *key, pktlist *l, int64_t frag)
{
    le_hls *h = le_hls_new(key, 0, 0);
    le_hls_set_params(h, frag, 50);
    for (size_t i = 0; i < l->n; i++)
        le_hls_feed(h, l->p[i]);
    le_hls_end(h);
    return h;
}

int main(void)
{
    in_ci = getenv("CI") && strcmp(getenv("CI"), "true") == 0;
    synthetic_tests();
    have_ffmpeg = run("ffmpeg -version") == 0 && run("ffprobe -version") == 0;
    if (!have_ffmpeg) {
        ok(!in_ci, "ffmpeg/ffprobe available (required in CI)");
        printf("# SKIP: no ffmpeg\n");
        return done_testing();
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/le-hls-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        ok(0, "temp dir");
        return done_testing();
    }
    const char *src = "-f lavfi -i testsrc=size=320x240:rate=25 -f lavfi -i sine -t 6";
    char args[512];
    snprintf(args, sizeof(args), "%s -c:v libx264 -g 25 -c:a aac -f flv", src);
    ok(make("av.flv", args) == 0, "ffmpeg makes the A/V FLV");
    ok(make("a.flv", "-f lavfi -i sine -t 6 -c:a aac -f flv") == 0, "ffmpeg makes the audio-only FLV");
    ok(make("v.flv", "-f lavfi -i testsrc=size=320x240:rate=25 -t 6 -c:v libx264 -g 25 -f flv") == 0,
       "ffmpeg makes the video-only FLV");

    char path[512];
    pktlist av = { 0 }, a = { 0 }, vo = { 0 };
    snprintf(path, sizeof(path), "%s/av.flv", tmpdir);
    ok(read_flv(path, &av) == 0 && av.n > 200, "A/V FLV read (%zu tags)", av.n);
    snprintf(path, sizeof(path), "%s/a.flv", tmpdir);
    ok(read_flv(path, &a) == 0 && a.n > 100, "audio FLV read (%zu tags)", a.n);
    snprintf(path, sizeof(path), "%s/v.flv", tmpdir);
    ok(read_flv(path, &vo) == 0 && vo.n > 100, "video FLV read (%zu tags)", vo.n);

    variant v_av = { "av", 1, 1, "h264", 2000, 3 };
    le_hls *h = feed_all("t/live/av", &av, 2000);
    check_run(h, &v_av);
    is_int(le_hls_min_target(h), 2, "av: target duration 2 s for 2 s segments");

    /* A publisher restart: numbering goes on, a discontinuity is marked. */
    uint64_t before = le_hls_next_seq(h);
    for (size_t i = 0; i < av.n; i++)
        le_hls_feed(h, av.p[i]);
    le_hls_end(h);
    le_hls_seg *segs[64];
    size_t n = le_hls_segments(h, segs, 64, 0);
    le_hls_seg *first_new = le_hls_find(h, before);
    ok(first_new != NULL, "restart: segment %llu exists", (unsigned long long)before);
    ok(first_new && first_new->disc, "restart: its first segment carries a discontinuity");
    ok(first_new && first_new->disc_seq == 1, "restart: discontinuity sequence 1");
    ok(n > 0 && !le_hls_find(h, before + 1)->disc, "restart: only the first one");
    /* The window: the playlist lists the last hls_window. */
    le_hls_set_params(h, 2000, 2);
    n = le_hls_segments(h, segs, 64, 1);
    is_int(n, 2, "window of 2 lists 2");
    is_int(segs[1]->seq, le_hls_next_seq(h) - 1, "... the newest last");
    le_hls_free(h);

    /* A rotated-out segment outlives the ring while someone holds it. */
    h = le_hls_new("t/live/rot", 100, 4);
    le_hls_set_params(h, 1000, 1);
    for (size_t i = 0; i < av.n / 2; i++)
        le_hls_feed(h, av.p[i]);
    n = le_hls_segments(h, segs, 64, 0);
    ok(n >= 1 && segs[0]->seq == 100, "numbering continues from first_seq");
    ok(n >= 1 && segs[0]->disc, "a continued stream starts with a discontinuity");
    le_hls_seg *held = n ? le_hls_seg_ref(segs[0]) : NULL;
    for (size_t i = av.n / 2; i < av.n; i++)
        le_hls_feed(h, av.p[i]);
    le_hls_end(h);
    ok(le_hls_find(h, 100) == NULL, "segment 100 rotated out of a 1+%d ring", LE_HLS_EXTRA_SEGS);
    n = le_hls_segments(h, segs, 64, 0);
    ok(n <= 1 + LE_HLS_EXTRA_SEGS, "ring bounded to window + extra (%zu)", n);
    ok(held && held->len > 0 && held->data[0] == 0x47, "the held segment is still readable");
    le_hls_seg_unref(held);
    le_hls_free(h);

    variant v_a = { "audio", 0, 1, "", 2000, 2 };
    h = feed_all("t/live/a", &a, 2000);
    check_run(h, &v_a);
    le_hls_free(h);

    variant v_v = { "video", 1, 0, "h264", 2000, 2 };
    h = feed_all("t/live/v", &vo, 2000);
    check_run(h, &v_v);
    le_hls_free(h);

    /* H.265, both FLV forms. */
    if (make_hevc_mp4(src, "", path, sizeof(path))) {
        for (int enhanced = 0; enhanced < 2; enhanced++) {
            pktlist hv = { 0 };
            ok(read_mp4(path, enhanced, 0, &hv) == 0 && hv.n > 200, "H.265 %s tags built (%zu)",
               enhanced ? "enhanced" : "legacy", hv.n);
            variant v_h = { enhanced ? "hevc-ex" : "hevc-12", 1, 1, "hevc", 2000, 2 };
            h = feed_all(v_h.name, &hv, 2000);
            check_run(h, &v_h);
            le_hls_free(h);
            if (enhanced) {
                /* Codec change mid-publish (H.264, then H.265): a new muxer
                 * and a discontinuity, with no end in between. */
                h = le_hls_new("t/live/switch", 0, 0);
                le_hls_set_params(h, 2000, 50);
                for (size_t i = 0; i < av.n; i++)
                    le_hls_feed(h, av.p[i]);
                uint64_t at = le_hls_next_seq(h);
                pktlist hv2 = { 0 };
                read_mp4(path, 1, av.p[av.n - 1]->ts + 40, &hv2);
                for (size_t i = 0; i < hv2.n; i++)
                    le_hls_feed(h, hv2.p[i]);
                le_hls_end(h);
                n = le_hls_segments(h, segs, 64, 0);
                le_hls_seg *sw = NULL;
                for (size_t i = 0; i < n; i++)
                    if (segs[i]->seq > at && segs[i]->disc)
                        sw = segs[i];
                ok(sw != NULL, "codec change: a later segment carries a discontinuity");
                if (sw) {
                    char file[512];
                    snprintf(file, sizeof(file), "%s/switch-%llu.ts", tmpdir, (unsigned long long)sw->seq);
                    FILE *f = fopen(file, "wb");
                    fwrite(sw->data, 1, sw->len, f);
                    fclose(f);
                    probe_segment(file, 1, 1, "hevc", (double)sw->duration_ms / 1000.0, 0, "codec change");
                }
                le_hls_free(h);
                pl_free(&hv2);
            }
            pl_free(&hv);
        }
    }

    pl_free(&av);
    pl_free(&a);
    pl_free(&vo);
    if (!tap_failed) {
        char cmd[600];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        run(cmd);
    } else {
        printf("# segments kept in %s\n", tmpdir);
    }
    return done_testing();
}
