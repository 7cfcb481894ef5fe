/* libFuzzer target for studio/source.c, the live kind: the input is a tag
 * stream (fuzz_tags.h); kind 0 feeds an audio body, 1 a video body, 2
 * script data, 3 is le_ss_reset; the clock moves as each tag says. After
 * each tag the picture and a stretch of audio are taken and checked:
 * NULL or yuv420p within LE_SS_MAX_DIM, exactly the samples asked for. */
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/pixfmt.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"
#include "fuzz_tags.h"
#include "studio/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static AVFrame *a;
    av_log_set_level(AV_LOG_QUIET);
    if (!a && !(a = av_frame_alloc()))
        abort();
    le_ss *s = le_ss_new_live("fuzz");
    if (!s)
        abort();
    int64_t clock = 0;
    size_t off = 0;
    fuzz_tag t;
    static const uint8_t types[3] = { 8, 9, 18 };
    while (fuzz_next_tag(data, size, &off, &t)) {
        if ((t.kind & 3) == 3)
            le_ss_reset(s);
        else
            le_ss_feed(s, types[t.kind & 3], t.ts, t.body, t.len);
        clock += (t.kind >> 2) * 100;
        le_ss_advance(s, clock);
        const AVFrame *v = le_ss_video(s, clock, 500);
        le_ss_stats st;
        le_ss_stats_get(s, &st);
        if (v && (v->format != AV_PIX_FMT_YUV420P || v->width <= 0 || v->height <= 0 ||
                  v->width > LE_SS_MAX_DIM || v->height > LE_SS_MAX_DIM || v->width != st.width ||
                  v->height != st.height || !v->data[0]))
            abort();
        if (!v && st.video_frames)
            abort();
        if (le_ss_audio(s, a, 441) != LE_OK || a->nb_samples != 441 || a->ch_layout.nb_channels != 2)
            abort();
    }
    le_ss_free(s);
    return 0;
}
