/* MP4 recordings (record/writer_impl.h): libavformat's "mp4" muxer,
 * fragmented (movflags frag_keyframe+empty_moov+default_base_moof, a
 * fragment at the first keyframe after fragment_ms), writing straight into
 * the .tmp file. The moov (no samples) is written first and each fragment
 * (moof + mdat) is pushed to the file as soon as the muxer emits it, so a
 * killed node leaves every complete fragment playable. Codec parameters come
 * from the FLV sequence headers: the AVC/HEVC decoder configuration record
 * is the extradata (the frames stay length-prefixed, as FLV carries them),
 * the AAC AudioSpecificConfig likewise. */
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "media/codecpar.h"
#include "media/flv.h"
#include "record/writer_impl.h"

typedef struct mp4w {
    AVFormatContext *fmt;
    int vidx, aidx;             /* stream index, -1 if none */
    int io_error;
    int rate;                   /* audio sample rate */
    int64_t a_base_ms;          /* audio: where the count of frames started */
    int64_t a_frames;           /* AAC frames since a_base_ms (-1: none yet) */
} mp4w;

static int add_video(le_recw *w, mp4w *m)
{
    const le_pkt *s = w->vseq;
    le_flv_info fi;
    if (le_flv_video_info(s->data, s->len, &fi) != LE_OK || fi.hdr_len >= s->len)
        return LE_EINVAL;
    if (fi.codec != LE_CODEC_H264 && fi.codec != LE_CODEC_H265)
        return LE_EINVAL;
    int width, height;
    le_recw_dims(w, &width, &height);
    if (width <= 0 || height <= 0)
        return LE_EINVAL;   /* the muxer needs the picture size */
    AVStream *st = avformat_new_stream(m->fmt, NULL);
    if (!st)
        return LE_ENOMEM;
    st->time_base = (AVRational){ 1, 1000 };
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = fi.codec == LE_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
    if (fi.codec == LE_CODEC_H265)
        st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    st->codecpar->width = width;
    st->codecpar->height = height;
    if (w->framerate > 0)
        st->avg_frame_rate = av_d2q(w->framerate, 1000);
    m->vidx = st->index;
    return le_codecpar_extradata(st->codecpar, s->data + fi.hdr_len, s->len - fi.hdr_len);
}

static int add_audio(le_recw *w, mp4w *m)
{
    const le_pkt *s = w->aseq;
    le_flv_info fi;
    if (le_flv_audio_info(s->data, s->len, &fi) != LE_OK || fi.hdr_len >= s->len)
        return LE_EINVAL;
    if (fi.codec != LE_CODEC_AAC)
        return LE_EINVAL;
    int rate, channels;
    if (le_aac_asc_params(s->data + fi.hdr_len, s->len - fi.hdr_len, &rate, &channels) != LE_OK)
        return LE_EINVAL;
    AVStream *st = avformat_new_stream(m->fmt, NULL);
    if (!st)
        return LE_ENOMEM;
    st->time_base = (AVRational){ 1, 1000 };
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    st->codecpar->codec_id = AV_CODEC_ID_AAC;
    st->codecpar->sample_rate = rate;
    st->codecpar->frame_size = 1024;
    av_channel_layout_default(&st->codecpar->ch_layout, channels);
    m->aidx = st->index;
    m->rate = rate;
    m->a_frames = -1;
    return le_codecpar_extradata(st->codecpar, s->data + fi.hdr_len, s->len - fi.hdr_len);
}

static void mp4_free(mp4w *m)
{
    if (m->fmt) {
        if (m->fmt->pb)
            avio_closep(&m->fmt->pb);
        avformat_free_context(m->fmt);
    }
    free(m);
}

static int mp4_open(le_recw *w)
{
    mp4w *m = le_xcalloc(1, sizeof(*m));
    m->vidx = m->aidx = -1;
    if (avformat_alloc_output_context2(&m->fmt, NULL, "mp4", NULL) < 0 || !m->fmt) {
        free(m);
        return LE_ENOMEM;
    }
    int rc = LE_OK;
    if (w->vseq)
        rc = add_video(w, m);
    if (rc == LE_OK && w->aseq)
        rc = add_audio(w, m);
    if (rc == LE_OK && m->vidx < 0 && m->aidx < 0)
        rc = LE_EINVAL;
    if (rc != LE_OK) {
        mp4_free(m);
        return rc;
    }
    if (avio_open(&m->fmt->pb, w->tmp, AVIO_FLAG_WRITE) < 0) {
        mp4_free(m);
        return LE_EIO;
    }
    AVDictionary *opts = NULL;
    char frag[32];
    snprintf(frag, sizeof(frag), "%lld", (long long)w->p.fragment_ms * 1000);
    av_dict_set(&opts, "movflags", "+frag_keyframe+empty_moov+default_base_moof", 0);
    /* The file's absolute start (mvhd creation time: whole seconds; the
     * index keeps milliseconds). */
    char iso[32];
    av_dict_set(&m->fmt->metadata, "creation_time", le_rec_iso_time(w->cur.start_ms, iso), 0);
    av_dict_set(&opts, "frag_duration", frag, 0);
    int err = avformat_write_header(m->fmt, &opts);
    av_dict_free(&opts);
    if (err < 0) {
        mp4_free(m);
        return err == AVERROR(ENOSPC) || err == AVERROR(EIO) ? LE_EIO : LE_EINVAL;
    }
    avio_flush(m->fmt->pb);
    if (m->fmt->pb->error) {
        mp4_free(m);
        return LE_EIO;
    }
    w->impl = m;
    return LE_OK;
}

static int mp4_write(le_recw *w, const le_pkt *p, int64_t ts)
{
    mp4w *m = w->impl;
    int idx = p->type == LE_PKT_VIDEO ? m->vidx : m->aidx;
    if (idx < 0)
        return LE_EINVAL;   /* a track this file was not opened with */
    le_flv_info fi;
    int rc = p->type == LE_PKT_VIDEO ? le_flv_video_info(p->data, p->len, &fi) : le_flv_audio_info(p->data, p->len, &fi);
    if (rc != LE_OK || fi.hdr_len >= p->len)
        return LE_EPROTO;
    AVStream *st = m->fmt->streams[idx];
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return LE_ENOMEM;
    pkt->data = (uint8_t *)p->data + fi.hdr_len;
    pkt->size = (int)(p->len - fi.hdr_len);
    pkt->stream_index = idx;
    int64_t pts = ts + (p->type == LE_PKT_VIDEO ? fi.cts : 0);
    if (pts < ts)
        pts = ts;
    pkt->dts = av_rescale_q(ts, (AVRational){ 1, 1000 }, st->time_base);
    pkt->pts = av_rescale_q(pts, (AVRational){ 1, 1000 }, st->time_base);
    if (p->type == LE_PKT_AUDIO) {
        /* FLV times are whole ms; AAC frames are 1024 samples. Counted
         * frames keep each one's time exact (a fragment's last frame then
         * ends where the next fragment's first begins); a drift of more
         * than a frame from the FLV time starts the count again. */
        AVRational sr = { 1, m->rate };
        int64_t want = m->a_base_ms * m->rate / 1000 + (m->a_frames + 1) * 1024;
        int64_t got = ts * m->rate / 1000;
        if (m->a_frames < 0 || want - got > 1024 || got - want > 1024) {
            m->a_base_ms = ts;
            m->a_frames = 0;
            want = ts * m->rate / 1000;
        } else {
            m->a_frames++;
        }
        pkt->dts = pkt->pts = av_rescale_q(want, sr, st->time_base);
        pkt->duration = av_rescale_q(1024, sr, st->time_base);
    }
    if (p->type == LE_PKT_AUDIO || fi.key)
        pkt->flags |= AV_PKT_FLAG_KEY;
    int err = av_write_frame(m->fmt, pkt);
    av_packet_free(&pkt);
    /* A fragment the muxer finished goes to the file now, not when the
     * AVIO buffer fills. */
    avio_flush(m->fmt->pb);
    if (m->fmt->pb->error) {
        m->io_error = 1;
        return LE_EIO;
    }
    return err < 0 ? LE_EINVAL : LE_OK;
}

static int mp4_close(le_recw *w)
{
    mp4w *m = w->impl;
    if (!m)
        return LE_EIO;
    int rc = LE_OK;
    if (!m->io_error && av_write_trailer(m->fmt) < 0)
        rc = LE_EIO;
    avio_flush(m->fmt->pb);
    if (m->fmt->pb->error)
        rc = LE_EIO;
    if (avio_closep(&m->fmt->pb) < 0)
        rc = LE_EIO;
    mp4_free(m);
    w->impl = NULL;
    return rc;
}

const le_recw_ops le_recw_mp4_ops = { mp4_open, mp4_write, mp4_close };
