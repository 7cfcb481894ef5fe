/* pipeline: a real 1280x720 H.264 source through one job with a 1 -> 2
 * graph (640x360, 960x540); the outputs are decoded and checked: sizes,
 * picture content, keyframes at the source's keyframe times, bitrate under
 * the cap, the AVC header first, input 0's audio copied in order. Also the
 * Annex B -> FLV helpers and the pool's serialisation. */
#include "tap.h"
#include "pipeline_helpers.h"

#include <pthread.h>
#include <unistd.h>

#define NFRAMES 100     /* 4 s at 25 fps, keyframes at 0, 1, 2, 3 s */

static void test_flvout(void)
{
    static const uint8_t eh[] = { 0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05,
                                  0, 0, 1, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0 };
    le_buf rec = { 0 };
    is_int(le_pipe_avcc_record(eh, sizeof(eh), &rec), 0, "avcC from Annex B SPS/PPS");
    ok(rec.len == 6 + 2 + 9 + 1 + 2 + 6 + 4 && rec.p[0] == 1 && rec.p[1] == 0x64 && rec.p[3] == 0x1f &&
           rec.p[4] == 0xff && rec.p[5] == 0xe1 && le_rd_be16(rec.p + 6) == 9 && rec.p[17] == 1 &&
           le_rd_be16(rec.p + 18) == 6,
       "avcC: version, profile 100, level 31, 4-byte lengths, 1 SPS of 9, 1 PPS of 6");
    ok(rec.p[26] == 0xfd && rec.p[27] == 0xf8 && rec.p[28] == 0xf8 && rec.p[29] == 0,
       "avcC: high profile carries chroma 4:2:0 and 8-bit depths");
    le_buf_free(&rec);
    static const uint8_t nosps[] = { 0, 0, 1, 0x68, 0xeb };
    is_int(le_pipe_avcc_record(nosps, sizeof(nosps), &rec), LE_EPROTO, "avcC without SPS: LE_EPROTO");
    le_buf_free(&rec);
    static const uint8_t au[] = { 0, 0, 0, 1, 0x06, 5, 0, 0, 1, 0x65, 0x88, 0x80, 0 };
    le_buf b = { 0 };
    is_int(le_pipe_annexb_to_avcc(au, sizeof(au), &b), 0, "annexb to avcc");
    ok(b.len == 4 + 2 + 4 + 3 && le_rd_be32(b.p) == 2 && b.p[4] == 6 && le_rd_be32(b.p + 6) == 3 &&
           b.p[10] == 0x65 && b.p[12] == 0x80,
       "two NAL units, 3- and 4-byte start codes, trailing zero dropped");
    le_buf_free(&b);
    le_pipe_flv_avc_frame(1, 40, (const uint8_t *)"\0\0\0\1\x65", 5, &b);
    le_pkt *p = le_pkt_new(LE_PKT_VIDEO, 0, b.p, (uint32_t)b.len);
    ok((p->flags & LE_PKT_KEY) && !(p->flags & LE_PKT_SEQHDR) && p->cts == 40 && p->codec == LE_CODEC_H264,
       "frame tag: keyframe, cts 40, AVC");
    le_pkt_unref(p);
    le_buf_free(&b);
}

/* The pool: a task never runs on two threads at once. */
typedef struct { le_pipe_task t; int running, overlap, runs; pthread_mutex_t mu; } ptask;

static void pt_work(le_pipe_task *t)
{
    ptask *p = (ptask *)t;
    pthread_mutex_lock(&p->mu);
    if (p->running)
        p->overlap = 1;
    p->running = 1;
    pthread_mutex_unlock(&p->mu);
    usleep(2000);
    pthread_mutex_lock(&p->mu);
    p->running = 0;
    p->runs++;
    pthread_mutex_unlock(&p->mu);
    le_pipe_pool_post(t);
}

static int reaps;
static void pt_reap(le_pipe_task *t)
{
    (void)t;
    reaps++;
}

static volatile int slow_started;
static int slow_runs, dead_reaps;
static void slow_work(le_pipe_task *t)
{
    slow_started = 1;
    slow_runs++;
    usleep(100000);
    le_pipe_pool_post(t);
}

static void last_reap(le_pipe_task *t)
{
    if (le_pipe_task_dead(t))
        dead_reaps++;
}

static void test_pool(struct event_base *base)
{
    le_pipe_pool *pool;
    is_int(le_pipe_pool_new(base, 2, &pool), 0, "pool of 2");
    ptask a = { .running = 0 };
    pthread_mutex_init(&a.mu, NULL);
    a.t.work = pt_work;
    a.t.reap = pt_reap;
    le_pipe_task_init(&a.t, pool);
    for (int i = 0; i < 50; i++) {
        le_pipe_pool_kick(&a.t);
        usleep(300);
    }
    uint64_t end = le_mono_ms() + 5000;
    while (reaps == 0 && le_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    le_pipe_task_cancel(&a.t);
    ok(!a.overlap, "kicks while running never run the task on two threads");
    ok(a.runs >= 2 && a.runs <= 50, "kicks coalesce (%d runs for 50 kicks)", a.runs);
    ok(reaps >= 1, "posts reach the loop (%d reaps)", reaps);

    /* stop while running: no wait, one last reap after the work, then dead */
    ptask b = { .running = 0 };
    pthread_mutex_init(&b.mu, NULL);
    b.t.work = slow_work;
    b.t.reap = last_reap;
    le_pipe_task_init(&b.t, pool);
    le_pipe_pool_kick(&b.t);
    end = le_mono_ms() + 5000;
    while (!slow_started && le_mono_ms() < end)
        usleep(1000);
    is_int(le_pipe_task_stop(&b.t), 0, "stop while running: not yet free");
    ok(!le_pipe_task_dead(&b.t), "stop while running: not dead before the work returned");
    end = le_mono_ms() + 5000;
    while (!dead_reaps && le_mono_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    is_int(dead_reaps, 1, "stop while running: one last reap, the task dead in it");
    le_pipe_pool_kick(&b.t);
    usleep(20000);
    is_int(slow_runs, 1, "a stopped task is never run again");
    pthread_mutex_destroy(&b.mu);
    ptask c = { .running = 0 };
    c.t.work = slow_work;
    c.t.reap = last_reap;
    le_pipe_task_init(&c.t, pool);
    is_int(le_pipe_task_stop(&c.t), 1, "stop when idle: free at once");
    pthread_mutex_destroy(&a.mu);
    le_pipe_pool_free(pool);
    ok(le_pipe_pool_default_threads() >= 1, "default threads at least 1");
}

int main(void)
{
    struct event_base *base = event_base_new();
    av_log_set_level(AV_LOG_ERROR);
    test_flvout();
    test_pool(base);

    src_gen s;
    if (src_open(&s, 1280, 720, 0) != 0) {
        ok(1, "# SKIP no libx264 in libavcodec");
        event_base_free(base);
        return done_testing();
    }
    le_pipe_pool *pool;
    le_pipe_pool_new(base, 2, &pool);
    sink *k = le_xcalloc(1, sizeof(*k));
    le_pipe_cfg cfg = {
        .ninputs = 1, .noutputs = 2,
        .graph = "[in0]split=2[a][b];[a]scale=640:360[o0];[b]scale=960:540[o1]",
        .out = { { .bitrate_kbps = 400, .audio = 1 }, { .bitrate_kbps = 800 } },
        .fps_hint = FPS, .name = "t720", .on_pkt = sink_cb, .ud = k,
    };
    le_pipe_job *j;
    is_int(le_pipe_job_new(pool, &cfg, &j), 0, "job created");
    le_pipe_cfg bad = cfg;
    bad.noutputs = 0;
    le_pipe_job *jb;
    is_int(le_pipe_job_new(pool, &bad, &jb), LE_EINVAL, "no outputs: LE_EINVAL");

    le_pkt *p = src_seqhdr(&s, 0);
    is_int(le_pipe_job_push(j, 0, p), 0, "seqhdr accepted");
    le_pkt_unref(p);
    static const uint8_t aseq[] = { 0xaf, 0, 0x12, 0x10 };
    p = le_pkt_new(LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    le_pipe_job_push(j, 0, p);
    le_pkt_unref(p);
    int src_keys = 0, naudio = 1, pushed_fail = 0;
    uint32_t ats = 23;
    for (int i = 0; i < NFRAMES; i++) {
        p = src_next(&s, 0);
        if (!p)
            continue;
        if (p->flags & LE_PKT_KEY)
            src_keys++;
        uint32_t vts = p->ts;
        for (; ats < vts; ats += 23) {      /* the interleaving of a real stream */
            uint8_t araw[8] = { 0xaf, 1, 0x21, 0x10, 0x04, 0x60, 0x8c, (uint8_t)naudio };
            le_pkt *a = le_pkt_new(LE_PKT_AUDIO, ats, araw, sizeof(araw));
            le_pipe_job_push(j, 0, a);
            le_pkt_unref(a);
            naudio++;
        }
        pushed_fail += le_pipe_job_push(j, 0, p) != 0;
        le_pkt_unref(p);
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
    is_int(src_keys, NFRAMES / GOP, "the source has a keyframe every %d frames", GOP);
    is_int(pushed_fail, 0, "nothing dropped at this rate");
    le_pipe_job_finish(j);
    run_until_done(base, k);
    ok(k->done, "the job drained and said so");

    static const int W[2] = { 640, 960 }, H[2] = { 360, 540 }, KBPS[2] = { 400, 800 };
    for (int o = 0; o < 2; o++) {
        out_check c;
        check_output(k, o, W[o], H[o], &c);
        ok(c.seq_first && c.codec == LE_CODEC_H264, "out %d: the AVC sequence header comes first", o);
        is_int(c.frames, NFRAMES, "out %d: every frame decoded", o);
        ok(c.dims_ok && c.w == W[o] && c.h == H[o], "out %d: %dx%d (got %dx%d)", o, W[o], H[o], c.w, c.h);
        is_int(c.decode_errors + c.bad_frames, 0, "out %d: decodes cleanly", o);
        ok(c.luma_l > LUMA_L - 12 && c.luma_l < LUMA_L + 12 && c.luma_r > LUMA_R - 12 && c.luma_r < LUMA_R + 12,
           "out %d: picture content follows the source (lower-left %.1f ~ %d, lower-right %.1f ~ %d)", o,
           c.luma_l, LUMA_L, c.luma_r, LUMA_R);
        int keys_ok = c.nkeys == NFRAMES / GOP;
        for (int i = 0; keys_ok && i < c.nkeys; i++)
            keys_ok = c.keys[i] == (uint32_t)(i * GOP * 1000 / FPS);
        ok(keys_ok, "out %d: keyframes exactly at the source's (%d keys, first at %u, second at %u)", o,
           c.nkeys, c.keys[0], c.nkeys > 1 ? c.keys[1] : 0);
        double secs = (c.last_ts - c.first_ts + 1000.0 / FPS) / 1000.0;
        double kbps = c.bytes * 8 / secs / 1000;
        ok(kbps > 0 && kbps <= KBPS[o] * 1.2, "out %d: %.0f kbit/s under the %d kbit/s cap x1.2", o, kbps,
           KBPS[o]);
        ok(c.ts_monotonic, "out %d: timestamps never go back", o);
        if (o == 0)
            is_int(c.audio, naudio, "out 0: every AAC tag copied (%d)", naudio);
        else
            is_int(c.audio, 0, "out 1: no audio (not asked for)");
    }
    int aseq_at = -1;
    for (int i = 0; i < k->n[0]; i++)
        if (k->p[0][i]->type == LE_PKT_AUDIO) {
            aseq_at = (k->p[0][i]->flags & LE_PKT_SEQHDR) ? i : -2;
            break;
        }
    ok(aseq_at > 0, "out 0: the AAC header is the first audio tag, after the AVC header");
    le_pipe_stats st;
    le_pipe_job_stats(j, &st);
    ok(st.frames_decoded == NFRAMES && st.frames_encoded == 2 * NFRAMES && st.dropped_video == 0 &&
           st.decode_errors == 0 && st.queue_pkts == 0,
       "stats: %llu decoded, %llu encoded, 0 dropped, 0 errors, queue empty",
       (unsigned long long)st.frames_decoded, (unsigned long long)st.frames_encoded);
    is_int(le_pipe_job_push(j, 0, k->p[0][0]), LE_EINVAL, "push after finish: LE_EINVAL");
    le_pipe_job_free(j);
    sink_free(k);
    src_close(&s);
    le_pipe_pool_free(pool);
    event_base_free(base);
    return done_testing();
}
