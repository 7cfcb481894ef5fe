/* Shared by the HLS segmenter tests (test_hls_seg, test_hls_fmp4): packet
 * lists, FLV files read tag by tag, and MP4 files (made by ffmpeg) turned
 * into FLV tag bodies, legacy or enhanced RTMP, for what ffmpeg 5.1's FLV
 * muxer cannot write (H.265, AV1, Opus). */
#ifndef LE_T_HLS_HELPERS_H
#define LE_T_HLS_HELPERS_H
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "media/pkt.h"

static char tmpdir[256];
static int have_ffmpeg, in_ci;

typedef struct pktlist {
    le_pkt **p;
    size_t n, cap;
} pktlist;

static void pl_add(pktlist *l, le_pkt *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->p = le_xrealloc(l->p, l->cap * sizeof(*l->p));
    }
    l->p[l->n++] = p;
}

static void pl_free(pktlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        le_pkt_unref(l->p[i]);
    free(l->p);
    memset(l, 0, sizeof(*l));
}

static int run(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
    return system(full);
}

/* The smallest FLV reader that works: header, then tag after tag. */
static int read_flv(const char *path, pktlist *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return LE_EIO;
    uint8_t hdr[13];
    if (fread(hdr, 1, 13, f) != 13 || memcmp(hdr, "FLV", 3) != 0) {
        fclose(f);
        return LE_EPROTO;
    }
    uint8_t th[11];
    while (fread(th, 1, 11, f) == 11) {
        uint32_t len = le_rd_be24(th + 1);
        uint32_t ts = le_rd_be24(th + 4) | (uint32_t)th[7] << 24;
        uint8_t *body = le_xmalloc(len + 4);
        if (fread(body, 1, len + 4, f) != len + 4) {
            free(body);
            break;
        }
        if (th[0] == LE_PKT_AUDIO || th[0] == LE_PKT_VIDEO || th[0] == LE_PKT_DATA)
            pl_add(out, le_pkt_new(th[0], ts, body, len));
        free(body);
    }
    fclose(f);
    return 0;
}

/* The FLV tag header of a video frame (or configuration record, seq), in
 * the legacy form (codec id 12 for H.265) or enhanced RTMP's (FourCC). */
static void flv_video_head(le_buf *b, enum AVCodecID id, int enhanced, int seq, int key, int32_t cts)
{
    const char *fourcc = id == AV_CODEC_ID_HEVC ? "hvc1" : id == AV_CODEC_ID_AV1 ? "av01" : "avc1";
    if (enhanced || id == AV_CODEC_ID_AV1) {
        /* PacketType 0 sequence start, 1 coded frames (with a composition
         * time for AVC/HEVC only). */
        le_buf_u8(b, (uint8_t)(0x80 | (key || seq ? 0x10 : 0x20) | (seq ? 0 : 1)));
        le_buf_append(b, fourcc, 4);
        if (!seq && id != AV_CODEC_ID_AV1)
            le_buf_be24(b, (uint32_t)cts & 0xffffff);
    } else {
        le_buf_u8(b, (uint8_t)((key || seq ? 0x10 : 0x20) | (id == AV_CODEC_ID_HEVC ? 12 : 7)));
        le_buf_u8(b, seq ? 0 : 1);
        le_buf_be24(b, seq ? 0 : (uint32_t)cts & 0xffffff);
    }
}

static void flv_audio_head(le_buf *b, enum AVCodecID id, int seq)
{
    if (id == AV_CODEC_ID_OPUS) {
        le_buf_u8(b, (uint8_t)(0x90 | (seq ? 0 : 1)));   /* enhanced audio, FourCC */
        le_buf_append(b, "Opus", 4);
    } else {
        le_buf_u8(b, 0xaf);
        le_buf_u8(b, seq ? 0 : 1);
    }
}

static int is_video_id(enum AVCodecID id)
{
    return id == AV_CODEC_ID_HEVC || id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_AV1;
}

/* MP4 (H.264/H.265/AV1 + AAC/Opus) to FLV tag bodies; enhanced picks the
 * FourCC form for H.264/H.265 (AV1 and Opus have only that one). */
static int read_mp4(const char *path, int enhanced, uint32_t ts_base, pktlist *out)
{
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path, NULL, NULL) < 0)
        return LE_EIO;
    avformat_find_stream_info(fc, NULL);
    AVPacket *pkt = av_packet_alloc();
    int64_t first_dts = INT64_MIN;
    le_buf b = { 0 };
    for (unsigned i = 0; i < fc->nb_streams; i++) {
        AVCodecParameters *par = fc->streams[i]->codecpar;
        b.len = 0;
        if (is_video_id(par->codec_id))
            flv_video_head(&b, par->codec_id, enhanced, 1, 1, 0);
        else if (par->codec_id == AV_CODEC_ID_AAC || par->codec_id == AV_CODEC_ID_OPUS)
            flv_audio_head(&b, par->codec_id, 1);
        else
            continue;
        le_buf_append(&b, par->extradata, (size_t)par->extradata_size);
        pl_add(out, le_pkt_new(is_video_id(par->codec_id) ? LE_PKT_VIDEO : LE_PKT_AUDIO, ts_base, b.p,
                               (uint32_t)b.len));
    }
    while (av_read_frame(fc, pkt) >= 0) {
        AVStream *st = fc->streams[pkt->stream_index];
        AVRational ms = { 1, 1000 };
        int64_t dts = av_rescale_q(pkt->dts, st->time_base, ms);
        int64_t pts = av_rescale_q(pkt->pts, st->time_base, ms);
        if (first_dts == INT64_MIN)
            first_dts = dts < 0 ? dts : 0;
        uint32_t ts = (uint32_t)(dts - first_dts) + ts_base;
        int32_t cts = (int32_t)(pts - dts);
        enum AVCodecID id = st->codecpar->codec_id;
        b.len = 0;
        if (is_video_id(id)) {
            flv_video_head(&b, id, enhanced, 0, (pkt->flags & AV_PKT_FLAG_KEY) != 0, cts);
            le_buf_append(&b, pkt->data, (size_t)pkt->size);
            pl_add(out, le_pkt_new(LE_PKT_VIDEO, ts, b.p, (uint32_t)b.len));
        } else if (id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_OPUS) {
            flv_audio_head(&b, id, 0);
            le_buf_append(&b, pkt->data, (size_t)pkt->size);
            pl_add(out, le_pkt_new(LE_PKT_AUDIO, ts, b.p, (uint32_t)b.len));
        }
        av_packet_unref(pkt);
    }
    le_buf_free(&b);
    av_packet_free(&pkt);
    avformat_close_input(&fc);
    return 0;
}

/* ---- synthetic streams: crafted tags, no ffmpeg ---- */

static const uint8_t AVC_SEQ[] = {
    0x17, 0x00, 0, 0, 0,                                    /* AVC sequence header */
    1, 0x42, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x08,            /* avcC, one SPS */
    0x67, 0x42, 0x00, 0x1e, 0xab, 0x40, 0x5a, 0x12,
    0x01, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80,               /* one PPS */
};
static const uint8_t AAC_SEQ[] = { 0xaf, 0x00, 0x12, 0x10 };

static le_pkt *avc_frame(uint32_t ts, int key, size_t size)
{
    le_buf b = { 0 };
    le_buf_u8(&b, key ? 0x17 : 0x27);
    le_buf_u8(&b, 1);
    le_buf_be24(&b, 0);
    le_buf_be32(&b, (uint32_t)size + 1);
    le_buf_u8(&b, key ? 0x65 : 0x41);
    for (size_t i = 0; i < size; i++)
        le_buf_u8(&b, (uint8_t)(0x80 | (i * 7)));
    le_pkt *p = le_pkt_new(LE_PKT_VIDEO, ts, b.p, (uint32_t)b.len);
    le_buf_free(&b);
    return p;
}

static int feed_bytes(le_hls *h, uint8_t type, uint32_t ts, const uint8_t *b, size_t n)
{
    le_pkt *p = le_pkt_new(type, ts, b, (uint32_t)n);
    int rc = le_hls_feed(h, p);
    le_pkt_unref(p);
    return rc;
}

static int feed_video(le_hls *h, uint32_t ts, int key, size_t size)
{
    le_pkt *p = avc_frame(ts, key, size);
    int rc = le_hls_feed(h, p);
    le_pkt_unref(p);
    return rc;
}

static void feed_aac(le_hls *h, uint32_t ts)
{
    static const uint8_t frame[] = { 0xaf, 0x01, 0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c };
    feed_bytes(h, LE_PKT_AUDIO, ts, frame, sizeof(frame));
}

/* Video every 40 ms from raw time t0 for ms, a keyframe every gop ms
 * (0: only the first), AAC every 23 ms. Returns the raw time after. */
static uint32_t feed_av(le_hls *h, uint32_t t0, uint32_t ms, uint32_t gop, int first_key)
{
    uint32_t a = 0;
    for (uint32_t t = 0; t < ms; t += 40) {
        int key = (t == 0 && first_key) || (gop && t % gop == 0);
        feed_video(h, t0 + t, key, 600);
        for (; a < t + 40; a += 23)
            feed_aac(h, t0 + a);
    }
    return t0 + ms;
}

static int make(const char *file, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -y %s '%s/%s'", args, tmpdir, file);
    return run(cmd);
}

/* The H.265 MP4 both segmenter tests feed: src (ffmpeg input arguments)
 * through libx265, a keyframe every 25 frames, more x265 parameters in extra
 * (":name=value..." or ""). 1 with its path in path; 0 when libx265 is
 * missing (a failure in CI). Asserts that ffmpeg made it. */
static int make_hevc_mp4(const char *src, const char *extra, char *path, size_t pathsz)
{
    if (run("ffmpeg -hide_banner -encoders | grep -q libx265") != 0) {
        ok(!in_ci, "libx265 available (required in CI)");
        return 0;
    }
    char args[1024];
    snprintf(args, sizeof(args),
             "%s -c:v libx265 -pix_fmt yuv420p -x265-params keyint=25:min-keyint=25:scenecut=0%s:log-level=error "
             "-c:a aac -f mp4",
             src, extra);
    ok(make("hevc.mp4", args) == 0, "ffmpeg makes the H.265 MP4");
    snprintf(path, pathsz, "%s/hevc.mp4", tmpdir);
    return 1;
}

#endif
