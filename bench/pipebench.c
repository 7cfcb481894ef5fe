/* bench/pipebench.c: CPU of one pipeline job (docs/PIPELINE.md) transcoding
 * an FLV file on one worker thread, to compare with the ffmpeg command line
 * doing the same transcode:
 *
 *   bench/pipebench IN.flv GRAPH KBPS [PRESET]
 *   e.g. bench/pipebench in.flv '[in0]scale=640:360[o0]' 470
 *
 * Every tag is pushed at once (no real-time pacing, queue unbounded), the
 * loop runs until the job has drained; one line: frames, CPU seconds of the
 * whole process (user + system), wall time. */
#include "core/err.h"
#include "core/util.h"
#include "media/pkt.h"
#include "pipeline/job.h"
#include "pipeline/pool.h"

#include <event2/event.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static int done, nout;

static void on_pkt(void *ud, int out, le_pkt *p)
{
    (void)ud;
    (void)out;
    if (!p) {
        done = 1;
        return;
    }
    nout++;
    le_pkt_unref(p);
}

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + r.ru_utime.tv_usec / 1e6 + (double)r.ru_stime.tv_sec +
           r.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s IN.flv GRAPH KBPS [PRESET]\n", argv[0]);
        return 2;
    }
    av_log_set_level(AV_LOG_ERROR);
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    le_buf b = { 0 };
    uint8_t chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        le_buf_append(&b, chunk, got);
    fclose(f);
    struct event_base *base = event_base_new();
    le_pipe_pool *pool;
    if (!base || le_pipe_pool_new(base, 1, &pool) != 0)
        return 1;
    le_pipe_cfg cfg = {
        .ninputs = 1, .noutputs = 1, .graph = argv[2],
        .out = { { .bitrate_kbps = atoi(argv[3]), .preset = argc > 4 ? argv[4] : NULL } },
        .fps_hint = 30, .in_max_pkts = 1 << 30, .in_max_bytes = (size_t)1 << 40, .on_pkt = on_pkt,
        .name = "bench",
    };
    le_pipe_job *j;
    if (le_pipe_job_new(pool, &cfg, &j) != 0) {
        fprintf(stderr, "bad job settings\n");
        return 1;
    }
    double c0 = cpu_s();
    uint64_t t0 = le_mono_ms();
    size_t off = 13;
    while (off + 15 <= b.len) {
        uint32_t len = le_rd_be24(b.p + off + 1);
        uint32_t ts = le_rd_be24(b.p + off + 4) | (uint32_t)b.p[off + 7] << 24;
        uint8_t type = b.p[off] & 0x1f;
        if (off + 15 + len > b.len)
            break;
        if (type == LE_PKT_VIDEO || type == LE_PKT_AUDIO) {
            le_pkt *p = le_pkt_new(type, ts, b.p + off + 11, len);
            le_pipe_job_push(j, 0, p);
            le_pkt_unref(p);
        }
        off += 15 + len;
    }
    le_pipe_job_finish(j);
    while (!done)
        event_base_loop(base, EVLOOP_ONCE);
    le_pipe_stats st;
    le_pipe_job_stats(j, &st);
    printf("frames decoded %llu encoded %llu, tags out %d, cpu %.2f s, wall %llu ms\n",
           (unsigned long long)st.frames_decoded, (unsigned long long)st.frames_encoded, nout, cpu_s() - c0,
           (unsigned long long)(le_mono_ms() - t0));
    le_pipe_job_free(j);
    le_pipe_pool_free(pool);
    event_base_free(base);
    le_buf_free(&b);
    return 0;
}
