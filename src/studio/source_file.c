/* Studio sources, the file kind (studio/source.h, docs/STUDIO.md
 * "Sources"): a local media file demuxed and decoded as the studio clock
 * advances. File time is ms from the file's start time; a pass plays
 * [begin, end) starting at clock `base`, and the picture at clock c is the
 * last frame whose file time is <= begin + (c - base). */
#include "studio/source_impl.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <libavutil/dict.h>
#include <stdlib.h>
#include <string.h>

#define MOD "studio"
#define MAX_PASSES 16           /* pass restarts in one advance (a very short file) */

static const AVRational MS = { 1, 1000 };

static void vq_clear(le_ss *s)
{
    for (int i = 0; i < s->vqn; i++)
        av_frame_free(&s->vq[i]);
    s->vqn = 0;
    av_frame_unref(s->cand);
    s->have_cand = 0;
}

void le_ss_file_close(le_ss *s)
{
    if (s->cand)
        vq_clear(s);
    av_frame_free(&s->cand);
    avformat_close_input(&s->fmt);
}

static int64_t file_time(const le_ss *s, int idx, const AVFrame *f)
{
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE)
        ts = f->pts;
    if (ts == AV_NOPTS_VALUE)
        return AV_NOPTS_VALUE;
    return av_rescale_q(ts, s->fmt->streams[idx]->time_base, MS) - s->start_ms;
}

static void note_end(le_ss *s, int64_t t)
{
    if (t > s->end)
        t = s->end;
    if (t > s->content_end)
        s->content_end = t;
}

static void video_frame(le_ss *s, AVFrame *f, int64_t rel)
{
    int64_t ft = file_time(s, s->vidx, f);
    if (ft == AV_NOPTS_VALUE)
        return;
    if (ft >= s->end) {
        s->v_done = 1;
        return;
    }
    int64_t dur = f->pkt_duration > 0 ? av_rescale_q(f->pkt_duration, s->fmt->streams[s->vidx]->time_base, MS) : 0;
    int64_t fend = ft + (dur > 0 ? dur : s->vdur);
    note_end(s, fend);
    if (ft > s->decoded_to)
        s->decoded_to = ft;
    if (fend > s->v_end)
        s->v_end = fend;
    if (ft <= rel && s->vqn == 0) {
        av_frame_unref(s->cand);
        av_frame_move_ref(s->cand, f);
        s->have_cand = 1;
        return;
    }
    if (s->vqn == LE_SS_FILE_VQ)
        return;                 /* the demuxer ran far ahead of the clock: skipped */
    AVFrame *q = av_frame_alloc();
    if (!q)
        return;
    av_frame_move_ref(q, f);
    q->pts = ft;
    s->vq[s->vqn++] = q;
}

static void audio_frame(le_ss *s, AVFrame *f)
{
    int64_t ft = file_time(s, s->aidx, f);
    if (ft == AV_NOPTS_VALUE || f->sample_rate <= 0)
        return;
    if (ft >= s->end) {
        s->a_done = 1;
        return;
    }
    int64_t fend = ft + (int64_t)f->nb_samples * 1000 / f->sample_rate;
    if (fend <= s->skip_to)
        return;                 /* before where a seek aimed */
    if (fend > s->decoded_to)
        s->decoded_to = fend;
    s->a_end = fend;
    note_end(s, fend);
    le_ss_audio_frame(s, f);
}

/* A file decoder's frame (arg: the clock relative to the file's start). */
static void file_frame(le_ss *s, AVCodecContext *d, AVFrame *f, void *arg)
{
    int64_t rel = *(const int64_t *)arg;
    if (d == s->vdec)
        video_frame(s, f, rel);
    else
        audio_frame(s, f);
}

/* Demuxes and decodes one packet; at the file's end drains the decoders. */
static void read_one(le_ss *s, int64_t rel)
{
    int rc = av_read_frame(s->fmt, s->pkt);
    if (rc < 0) {
        s->f_eof = 1;
        if (s->vdec && !s->v_done)
            le_ss_decode(s, s->vdec, NULL, file_frame, &rel);
        if (s->adec && !s->a_done)
            le_ss_decode(s, s->adec, NULL, file_frame, &rel);
        s->v_done = s->a_done = 1;
        return;
    }
    if (s->pkt->stream_index == s->vidx && s->vdec && !s->v_done)
        le_ss_decode(s, s->vdec, s->pkt, file_frame, &rel);
    else if (s->pkt->stream_index == s->aidx && s->adec && !s->a_done)
        le_ss_decode(s, s->adec, s->pkt, file_frame, &rel);
    av_packet_unref(s->pkt);
}

/* Starts a pass at file time `from` (the BeginOffset, or where a seek
 * aims): 0 or LE_EIO (the file cannot seek; nothing changed then). */
static int pass_start(le_ss *s, int seek, int64_t from)
{
    if (seek) {
        int64_t ts = av_rescale(from + s->start_ms, AV_TIME_BASE, 1000);
        if (av_seek_frame(s->fmt, -1, ts, AVSEEK_FLAG_BACKWARD) < 0)
            return LE_EIO;
        if (s->vdec)
            avcodec_flush_buffers(s->vdec);
        if (s->adec)
            avcodec_flush_buffers(s->adec);
    }
    vq_clear(s);
    s->v_done = !s->vdec;
    s->a_done = !s->adec;
    s->f_eof = 0;
    s->a_end = INT64_MIN;
    s->content_end = s->v_end = from;
    s->decoded_to = s->skip_to = from;
    return LE_OK;
}

/* le_ss_seek at clock_ms: the pass goes on from file time `to` (clamped to
 * the last frame), which plays at clock_ms. */
static void seek_to(le_ss *s, int64_t clock_ms, int64_t to)
{
    int64_t last = s->end;
    int64_t dur = s->fmt->duration != AV_NOPTS_VALUE && s->fmt->duration > 0 ? s->fmt->duration / 1000 : -1;
    if (dur >= 0 && dur < last)
        last = dur;
    if (last != INT64_MAX && to > last - s->vdur)
        to = last - s->vdur > 0 ? last - s->vdur : 0;
    if (pass_start(s, 1, to) != LE_OK) {
        le_warn(MOD, "%s: cannot seek to %lld ms; playing on", s->name, (long long)to);
        return;
    }
    av_audio_fifo_reset(s->fifo);      /* decoded ahead from before the seek */
    s->base = clock_ms - (to - s->begin);
    s->st.eof = 0;
    s->pos = to;
    if (s->paused)
        s->paused_at = clock_ms;
}

void le_ss_start_at(le_ss *s, int64_t clock_ms)
{
    if (s->kind == LE_SS_FILE && !s->started)
        s->start_at = clock_ms;
}

void le_ss_seek(le_ss *s, int64_t offset_ms)
{
    if (s->kind == LE_SS_FILE && offset_ms >= 0)
        s->seek_req = offset_ms;
}

void le_ss_pause(le_ss *s, int paused)
{
    if (s->kind == LE_SS_FILE)
        s->pause_req = paused != 0;
}

/* The clock jumped (the engine skipped ticks): instead of decoding the
 * whole stretch, seek close to rel. Nothing changes when the file cannot
 * seek. */
static void catch_up(le_ss *s, int64_t rel)
{
    int64_t to = rel < s->end ? rel : s->end;
    if (av_seek_frame(s->fmt, -1, av_rescale(to + s->start_ms, AV_TIME_BASE, 1000), AVSEEK_FLAG_BACKWARD) < 0) {
        s->decoded_to = rel;
        return;
    }
    if (s->vdec)
        avcodec_flush_buffers(s->vdec);
    if (s->adec)
        avcodec_flush_buffers(s->adec);
    for (int i = 0; i < s->vqn; i++)
        av_frame_free(&s->vq[i]);
    s->vqn = 0;
    s->a_end = INT64_MIN;
    s->decoded_to = s->skip_to = to;
}

void le_ss_file_advance(le_ss *s, int64_t clock_ms)
{
    if (!s->fmt)
        return;
    if (!s->started) {
        s->started = 1;
        s->base = s->start_at != INT64_MIN ? s->start_at : clock_ms;
        s->pos = s->begin;
        if (s->seek_req < 0 && pass_start(s, s->begin > 0, s->begin) != LE_OK) {
            le_warn(MOD, "%s: cannot seek to the BeginOffset", s->name);
            s->st.eof = 1;
            return;
        }
    }
    if (s->seek_req >= 0) {
        seek_to(s, clock_ms, s->seek_req);
        s->seek_req = -1;
    }
    if (s->pause_req >= 0) {
        if (s->pause_req && !s->paused) {
            s->paused = 1;
            s->paused_at = clock_ms;
        } else if (!s->pause_req && s->paused) {
            s->paused = 0;
            s->base += clock_ms - s->paused_at;
        }
        s->pause_req = -1;
    }
    if (s->paused) {
        if (s->have_pic)
            s->fresh = 1;       /* held, never a stall */
        clock_ms = s->paused_at;
    }
    if (s->st.eof)
        return;
    for (int passes = 0;;) {
        int64_t rel = s->begin + (clock_ms - s->base);
        s->pos = rel;
        for (;;) {
            while (s->vqn > 0 && s->vq[0]->pts <= rel) {
                av_frame_unref(s->cand);
                av_frame_move_ref(s->cand, s->vq[0]);
                av_frame_free(&s->vq[0]);
                s->have_cand = 1;
                memmove(s->vq, s->vq + 1, (size_t)--s->vqn * sizeof(s->vq[0]));
            }
            int need_v = !s->v_done && s->vqn == 0;
            int need_a = !s->a_done && s->a_end <= rel + LE_SS_FILE_AHEAD_MS;
            if ((!need_v && !need_a) || s->f_eof)
                break;
            if (rel > s->decoded_to + LE_SS_FILE_CATCHUP_MS)
                catch_up(s, rel);
            read_one(s, rel);
        }
        if (s->have_cand) {
            le_ss_picture(s, s->cand);
            av_frame_unref(s->cand);
            s->have_cand = 0;
        }
        /* A frame the file holds for long (a still) is not a stall: while
         * the pass has video at or after the clock the picture stays fresh. */
        if (s->have_pic && (!s->v_done || s->vqn > 0 || rel < s->v_end))
            s->fresh = 1;
        if (!s->v_done || !s->a_done || s->vqn > 0 || rel < s->content_end)
            return;
        /* the pass has played out */
        int64_t len = s->content_end - s->begin;
        if (len <= 0 || s->loops_left == 0) {
            s->st.eof = 1;
            s->pos = s->content_end;
            return;
        }
        if (s->loops_left > 0)
            s->loops_left--;
        s->st.loops++;
        s->base += len;
        if (++passes > MAX_PASSES)
            s->base = clock_ms;
        if (pass_start(s, 1, s->begin) != LE_OK) {
            le_warn(MOD, "%s: cannot seek back to loop", s->name);
            s->st.eof = 1;
            return;
        }
    }
}

static int first_stream(AVFormatContext *fmt, enum AVMediaType type)
{
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type == type && !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)i;
    }
    return -1;
}

static int file_open(le_ss *s, const char *path, int64_t begin_ms, int64_t end_ms)
{
    AVDictionary *o = NULL;
    av_dict_set(&o, "protocol_whitelist", "file", 0);
    int rc = avformat_open_input(&s->fmt, path, NULL, &o);
    av_dict_free(&o);
    if (rc < 0)
        return rc == AVERROR(ENOENT) ? LE_ENOTFOUND : LE_EPROTO;
    if (avformat_find_stream_info(s->fmt, NULL) < 0)
        return LE_EPROTO;
    s->vidx = first_stream(s->fmt, AVMEDIA_TYPE_VIDEO);
    s->aidx = first_stream(s->fmt, AVMEDIA_TYPE_AUDIO);
    if (s->vidx >= 0) {
        const AVStream *st = s->fmt->streams[s->vidx];
        const AVCodecParameters *p = st->codecpar;
        if (p->width <= LE_SS_MAX_DIM && p->height <= LE_SS_MAX_DIM)
            s->vdec = le_ss_decoder_open(p->codec_id, p, st->time_base, NULL, 0);
        if (!s->vdec)
            s->vidx = -1;
        AVRational fr = st->avg_frame_rate;
        s->vdur = fr.num > 0 && fr.den > 0 ? av_rescale(1000, fr.den, fr.num) : 40;
        if (s->vdur <= 0)
            s->vdur = 1;
    }
    if (s->aidx >= 0) {
        const AVStream *st = s->fmt->streams[s->aidx];
        s->adec = le_ss_decoder_open(st->codecpar->codec_id, st->codecpar, st->time_base, NULL, 0);
        if (!s->adec)
            s->aidx = -1;
    }
    if (s->vidx < 0 && s->aidx < 0)
        return LE_EPROTO;
    s->start_ms = s->fmt->start_time != AV_NOPTS_VALUE ? s->fmt->start_time / 1000 : 0;
    int64_t dur = s->fmt->duration != AV_NOPTS_VALUE && s->fmt->duration > 0 ? s->fmt->duration / 1000 : -1;
    s->begin = begin_ms;
    if (end_ms > 0)
        s->end = end_ms;
    else if (end_ms < 0)
        s->end = dur >= 0 ? dur + end_ms : -1;
    else
        s->end = INT64_MAX;
    if (s->end <= s->begin || (dur >= 0 && s->begin >= dur))
        return LE_EINVAL;
    return LE_OK;
}

int le_ss_new_file(const char *name, const char *path, int repeat, int64_t begin_ms, int64_t end_ms,
                   le_ss **out)
{
    *out = NULL;
    if (!path || !*path || repeat < -1 || begin_ms < 0 || (end_ms > 0 && end_ms <= begin_ms))
        return LE_EINVAL;
    le_ss *s = le_ss_alloc(name, LE_SS_FILE);
    if (!s)
        return LE_ENOMEM;
    s->vidx = s->aidx = -1;
    s->loops_left = repeat;
    s->cand = av_frame_alloc();
    if (!s->cand) {
        le_ss_free(s);
        return LE_ENOMEM;
    }
    int rc = file_open(s, path, begin_ms, end_ms);
    if (rc != LE_OK) {
        le_ss_free(s);
        return rc;
    }
    s->pos = begin_ms;
    *out = s;
    return LE_OK;
}
