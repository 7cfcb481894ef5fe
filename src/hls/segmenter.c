/* Live HLS segmenter: one libavformat MPEG-TS muxer per stream writing into
 * memory through a custom AVIOContext; segments cut at video keyframes.
 * The fmp4 and lowlatency variants swap the TS muxer for fmp4.c's fMP4 one
 * and keep everything else here (timeline, cuts, bounds, ring): a segment is
 * then a list of parts (moof + mdat chunks) and the one being built is an
 * le_hls_seg from its first keyframe on, numbered at once, so its parts can
 * be served while it grows (docs/HLS.md, "Segments (fmp4, lowlatency)").
 *
 * Why a muxer per stream that lives across segments (libavformat 5.1):
 * continuity counters and PCR keep running across cuts, which is what a player
 * switching segments expects. A cut is: flush the muxer (av_write_frame NULL
 * writes out buffered audio PES), flush the AVIO buffer, seal the bytes, then
 * set mpegts_flags +resend_headers — a one-shot flag the muxer clears after
 * use — so the next segment opens with PAT/PMT.
 *
 * Why an explicit h264_mp4toannexb / hevc_mp4toannexb filter rather than our
 * own conversion or the muxer's automatic one: FLV carries length-prefixed
 * NALUs (AVCC/HVCC) while the TS muxer needs Annex B. The filter handles every
 * NALU length size and re-inserts SPS/PPS (and VPS) from the configuration
 * record before each IDR, which makes each segment independently decodable;
 * owning it explicitly ties its life to our muxer, so a codec change rebuilds
 * both together.
 *
 * A new muxer (new PIDs' continuity, new timeline) is only ever started with
 * an EXT-X-DISCONTINUITY on its first segment: publisher restart, codec or
 * configuration change, a track that appears late.
 *
 * Timestamps: RTMP's are 32-bit milliseconds. Each track's are unwrapped to
 * 64 bits (a step is the signed 32-bit difference from the previous one, so
 * the 49.7-day wrap and an encoder clock that starts near it are just steps);
 * a step beyond LE_HLS_JUMP_MS either way is a new timeline: the open segment
 * is sealed, the next one carries EXT-X-DISCONTINUITY, and the track's output
 * timeline is rebased to go on from where it was, so durations stay sane. A
 * step that lands near the other track's clock is a gap in one track (or
 * the second track following the first one's jump): that track takes the
 * other's mapping, so audio and video stay in sync.
 *
 * The open segment is bounded (see segmenter.h, LE_HLS_SEG_*): an encoder
 * that never sends a keyframe, or whose clock stops, gets its segment cut
 * without one. */
#include "hls/segmenter.h"

#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/util.h"
#include "conf/conf.h"
#include "hls/fmp4.h"
#include "media/codecpar.h"
#include "media/flv.h"

#define TS_PKT 188
#define IOBUF_SIZE (TS_PKT * 64)   /* the AVIO buffer: whole TS packets only */
/* Audio arriving while a stream that announced video has not sent a video
 * configuration: after this long we stop waiting and go audio-only. */
#define AUDIO_ONLY_AFTER_MS 3000

enum { TRK_V = 0, TRK_A = 1 };

/* One track's timeline: raw 32-bit RTMP time in, 64-bit output time out. */
typedef struct timeline {
    int have;
    uint32_t raw_last;
    int64_t ext_last;               /* unwrapped raw_last */
    int64_t off;                    /* output = unwrapped + off */
    int64_t out_max;                /* newest output time */
    int64_t step;                   /* typical frame step, ms */
} timeline;

struct le_hls {
    char *key;                      /* "domain/app/name", logs only */
    int64_t fragment_ms;            /* target segment length */
    int window;                     /* segments in a live playlist */

    /* What the publisher announced; the sequence headers are our copies. */
    uint8_t *vcfg, *acfg;           /* avcC/hvcC, AudioSpecificConfig */
    size_t vcfg_len, acfg_len;
    uint8_t vcodec, acodec;         /* LE_CODEC_*; acodec may be MP3 without acfg */
    int mp3_rate;                   /* from the FLV sound flags */
    int meta_video;                 /* onMetaData announced a video track */
    int meta_w, meta_h;             /* onMetaData picture size, 0 unknown */
    int video_unsupported;          /* video we cannot put in TS (AV1...), and no H.264/H.265 */
    int logged_unsupported, logged_cap, logged_jump;   /* one log line each per publish */
    timeline tl[2];
    int64_t (*clock_ms)(void);      /* arrival clock, monotonic */
    int64_t first_audio_ts;         /* -1 until audio is seen with no muxer */

    /* The muxer. */
    AVFormatContext *fmt;
    AVBSFContext *bsf;
    AVPacket *pkt;
    int trk[2];                     /* stream index per TRK_*, -1 if absent */
    uint8_t mux_vcodec, mux_acodec;
    int64_t last_dts[2];            /* 1/90000, for the monotonic clamp */
    int reopen;                     /* config changed: rebuild at the next cut point */
    int failed;                     /* this configuration cannot be muxed */

    /* fmp4 and lowlatency (LE_HLS_VARIANT_*): the fMP4 muxer instead of fmt. */
    int variant, want_variant;      /* in use (matches the ring), and asked for */
    int64_t part_ms, want_part_ms;
    le_fmp4 *mp4;
    le_hls_chunk *init;             /* the muxer's init section */
    le_hls_seg *open;               /* the segment being built (sealed = 0) */
    int64_t part_start_ts;          /* ms: where the part being built starts */
    int part_fresh, part_key;       /* no video frame in it yet / its first was a keyframe */
    size_t seg_bytes;               /* frame bytes fed into the open segment */
    const uint8_t *open_key;        /* the keyframe opening a muxer (picture size) */
    size_t open_key_len;
    le_hls_notify_fn notify;
    void *notify_arg;
    int notify_due;                 /* a part or segment was made: notify at the end of the feed */
    int renew_failed;               /* le_fmp4_renew refused: not tried again for this muxer */
    uint64_t gen;                   /* le_hls_gen */

    /* The open segment. */
    le_buf cur;
    int seg_open;
    int64_t seg_start_ts;           /* ms, publisher timeline */
    int64_t seg_start_wall;
    int64_t seg_start_mono;         /* arrival clock at its first packet */
    int64_t last_ts, last_delta;    /* ms: newest packet, typical frame step */
    int next_disc;                  /* next segment gets EXT-X-DISCONTINUITY */

    /* Sealed segments, oldest first. */
    le_hls_seg **ring;
    size_t nring, ring_cap;
    uint64_t next_seq, disc_seq;
    le_hls_seq_fn seq_fn;          /* numbering followed, or NULL */
    void *seq_arg;
    unsigned write_errors;          /* counts, so a broken feed logs once */
};

void le_hls_seg_unref(le_hls_seg *s)
{
    if (s && --s->refs == 0) {
        for (size_t i = 0; i < s->nparts; i++)
            le_hls_chunk_unref(s->parts[i]);
        free(s->parts);
        le_hls_chunk_unref(s->init);
        free(s->data);
        free(s);
    }
}

void le_hls_seg_unref_cb(const void *data, size_t len, void *seg)
{
    (void)data;
    (void)len;
    le_hls_seg_unref(seg);
}

void le_hls_chunk_unref(le_hls_chunk *c)
{
    if (c && --c->refs == 0) {
        free(c->data);
        free(c);
    }
}

void le_hls_chunk_unref_cb(const void *data, size_t len, void *chunk)
{
    (void)data;
    (void)len;
    le_hls_chunk_unref(chunk);
}

static le_hls_chunk *chunk_new(le_buf *b, int64_t duration_ms, int independent)
{
    le_hls_chunk *c = le_xcalloc(1, sizeof(*c));
    c->refs = 1;
    c->duration_ms = duration_ms;
    c->independent = independent;
    c->len = b->len;
    c->data = b->len < b->cap ? le_xrealloc(b->p, b->len ? b->len : 1) : b->p;   /* no slack kept */
    memset(b, 0, sizeof(*b));
    return c;
}

/* One clock for every le_hls: a value is never seen twice, even by a new
 * le_hls at a freed one's address. */
static uint64_t gen_clock;

static void touch(le_hls *h)
{
    h->gen = ++gen_clock;
}

uint64_t le_hls_gen(const le_hls *h) { return h->gen; }

/* The variant asked for takes effect between publishes: segments of the
 * other kind cannot share a playlist with the new ones, so they go (the
 * numbering goes on, with a discontinuity). */
static void apply_variant(le_hls *h)
{
    if (h->want_variant != h->variant) {
        le_hls_drop_segments(h);
        if (h->next_seq > 0)
            h->next_disc = 1;
        h->variant = h->want_variant;
    }
    h->part_ms = h->want_part_ms;
    touch(h);
}

static int mux_on(const le_hls *h)
{
    return h->fmt || h->mp4;
}

void le_hls_set_variant(le_hls *h, int variant, int64_t part_ms)
{
    if (variant != LE_HLS_VARIANT_FMP4 && variant != LE_HLS_VARIANT_LOWLATENCY)
        variant = LE_HLS_VARIANT_MPEGTS;
    if (part_ms < LE_HLS_PART_MIN_MS)
        part_ms = LE_HLS_PART_MIN_MS;
    if (part_ms > LE_HLS_PART_MAX_MS)
        part_ms = LE_HLS_PART_MAX_MS;
    h->want_variant = variant;
    h->want_part_ms = part_ms;
    if (!mux_on(h) && !h->seg_open)
        apply_variant(h);
}

int le_hls_variant(const le_hls *h) { return h->variant; }
int64_t le_hls_part_ms(const le_hls *h) { return h->part_ms; }

le_hls_seg *le_hls_open_seg(const le_hls *h)
{
    return h->variant == LE_HLS_VARIANT_LOWLATENCY ? h->open : NULL;
}

void le_hls_set_notify(le_hls *h, le_hls_notify_fn fn, void *arg)
{
    h->notify = fn;
    h->notify_arg = arg;
}

static void notify_now(le_hls *h)
{
    touch(h);
    h->notify_due = 0;
    if (h->notify)
        h->notify(h->notify_arg);
}

static int64_t mono_clock(void)
{
    return (int64_t)le_mono_ms();
}

le_hls *le_hls_new(const char *key, uint64_t first_seq, uint64_t disc_seq)
{
    le_hls *h = le_xcalloc(1, sizeof(*h));
    h->clock_ms = mono_clock;
    h->key = le_xstrdup(key);
    h->fragment_ms = 2000;
    h->window = 6;
    h->trk[0] = h->trk[1] = -1;
    h->first_audio_ts = -1;
    h->next_seq = first_seq;
    h->disc_seq = disc_seq;
    h->variant = h->want_variant = LE_HLS_VARIANT_MPEGTS;
    h->part_ms = h->want_part_ms = LE_HLS_PART_DEFAULT_MS;
    /* Continuing an earlier life of this stream: its first segment is a
     * discontinuity for anyone who followed the old one. */
    h->next_disc = first_seq > 0;
    touch(h);
    return h;
}

void le_hls_set_params(le_hls *h, int64_t fragment_ms, int window)
{
    if (fragment_ms >= 100)
        h->fragment_ms = fragment_ms;
    if (window >= 1)
        h->window = window;
    touch(h);
}

int64_t le_hls_fragment_ms(const le_hls *h) { return h->fragment_ms; }
int le_hls_window(const le_hls *h) { return h->window; }
uint64_t le_hls_next_seq(const le_hls *h) { return h->next_seq; }
uint64_t le_hls_disc_seq(const le_hls *h) { return h->disc_seq; }

void le_hls_set_seq_fn(le_hls *h, le_hls_seq_fn fn, void *arg)
{
    h->seq_fn = fn;
    h->seq_arg = arg;
}

int le_hls_seq_at(const le_hls *h, int64_t ts, uint64_t *seq)
{
    int64_t tol = h->fragment_ms / 2;
    if (h->seg_open && llabs(h->seg_start_ts - ts) <= tol) {
        *seq = h->next_seq;
        return LE_OK;
    }
    for (size_t i = h->nring; i-- > 0;)
        if (llabs(h->ring[i]->start_ts_ms - ts) <= tol) {
            *seq = h->ring[i]->seq;
            return LE_OK;
        }
    return LE_ENOTFOUND;
}

void le_hls_set_clock(le_hls *h, int64_t (*mono_ms)(void))
{
    h->clock_ms = mono_ms ? mono_ms : mono_clock;
}

int le_hls_min_target(const le_hls *h)
{
    return (int)((h->fragment_ms + 999) / 1000);
}

int64_t le_hls_seg_max_ms(int64_t fragment_ms)
{
    int64_t m = LE_HLS_SEG_MAX_FRAGMENTS * fragment_ms;
    return m > LE_HLS_SEG_MIN_MAX_MS ? m : LE_HLS_SEG_MIN_MAX_MS;
}

size_t le_hls_seg_max_bytes(int64_t fragment_ms)
{
    /* A few times the largest bitrate we plan for, over one fragment. */
    int64_t b = fragment_ms * (LE_HLS_MAX_KBPS / 8) * 3;
    if (b < LE_HLS_SEG_FLOOR_BYTES)
        b = LE_HLS_SEG_FLOOR_BYTES;
    if (b > LE_HLS_SEG_CEIL_BYTES)
        b = LE_HLS_SEG_CEIL_BYTES;
    return (size_t)b;
}

size_t le_hls_bytes(const le_hls *h)
{
    size_t n = h->cur.cap;
    const le_hls_chunk *init = NULL;   /* shared by consecutive segments: counted once */
    for (size_t i = 0; i < h->nring; i++) {
        n += h->ring[i]->len;
        if (h->ring[i]->init && h->ring[i]->init != init)
            n += (init = h->ring[i]->init)->len;
    }
    if (h->open)
        n += h->open->len;
    if (h->init && h->init != init)
        n += h->init->len;
    return n;
}

void le_hls_drop_segments(le_hls *h)
{
    for (size_t i = 0; i < h->nring; i++)
        le_hls_seg_unref(h->ring[i]);
    h->nring = 0;
    touch(h);
}

/* ---- the ring ---- */

static void ring_trim(le_hls *h)
{
    size_t keep = (size_t)h->window + LE_HLS_EXTRA_SEGS;
    if (h->nring <= keep)
        return;
    size_t drop = h->nring - keep;
    for (size_t i = 0; i < drop; i++)
        le_hls_seg_unref(h->ring[i]);
    memmove(h->ring, h->ring + drop, (h->nring - drop) * sizeof(*h->ring));
    h->nring -= drop;
}

size_t le_hls_segments(const le_hls *h, le_hls_seg **out, size_t max, int window_only)
{
    size_t first = 0;
    if (window_only && h->nring > (size_t)h->window)
        first = h->nring - (size_t)h->window;
    size_t n = 0;
    for (size_t i = first; i < h->nring && n < max; i++)
        out[n++] = h->ring[i];
    return n;
}

le_hls_seg *le_hls_find(const le_hls *h, uint64_t seq)
{
    if (h->nring == 0 || seq < h->ring[0]->seq)
        return NULL;
    uint64_t i = seq - h->ring[0]->seq;   /* the ring holds consecutive numbers */
    return i < h->nring ? h->ring[i] : NULL;
}

/* ---- the muxer ---- */

/* libavformat 5.1 callback signature (non-const buffer). Only whole TS
 * packets ever come through, since the buffer is a multiple of 188. */
static int io_write(void *opaque, uint8_t *buf, int size)
{
    le_hls *h = opaque;
    le_buf_append(&h->cur, buf, (size_t)size);
    return size;
}

static void mux_close(le_hls *h)
{
    if (h->fmt) {
        AVIOContext *pb = h->fmt->pb;
        if (pb) {
            av_freep(&pb->buffer);
            avio_context_free(&pb);
        }
        avformat_free_context(h->fmt);
        h->fmt = NULL;
    }
    av_bsf_free(&h->bsf);
    av_packet_free(&h->pkt);
    le_fmp4_free(h->mp4);
    h->mp4 = NULL;
    h->renew_failed = 0;
    le_hls_chunk_unref(h->init);
    h->init = NULL;
    h->trk[0] = h->trk[1] = -1;
    h->mux_vcodec = h->mux_acodec = LE_CODEC_NONE;
}

static int add_video(le_hls *h)
{
    AVStream *st = avformat_new_stream(h->fmt, NULL);
    if (!st)
        return LE_ENOMEM;
    st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
    st->codecpar->codec_id = h->vcodec == LE_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
    st->time_base = (AVRational){ 1, 1000 };
    if (le_codecpar_extradata(st->codecpar, h->vcfg, h->vcfg_len) != LE_OK)
        return LE_ENOMEM;
    h->trk[TRK_V] = st->index;
    h->mux_vcodec = h->vcodec;

    const AVBitStreamFilter *f =
        av_bsf_get_by_name(h->vcodec == LE_CODEC_H265 ? "hevc_mp4toannexb" : "h264_mp4toannexb");
    if (!f || av_bsf_alloc(f, &h->bsf) < 0)
        return LE_ENOMEM;
    if (avcodec_parameters_copy(h->bsf->par_in, st->codecpar) < 0)
        return LE_ENOMEM;
    h->bsf->time_base_in = (AVRational){ 1, 1000 };
    if (av_bsf_init(h->bsf) < 0)
        return LE_EPROTO;   /* e.g. a malformed configuration record */
    return LE_OK;
}

static int add_audio(le_hls *h)
{
    AVStream *st = avformat_new_stream(h->fmt, NULL);
    if (!st)
        return LE_ENOMEM;
    int rate = 44100, channels = 2;
    st->codecpar->codec_type = AVMEDIA_TYPE_AUDIO;
    if (h->acodec == LE_CODEC_AAC) {
        st->codecpar->codec_id = AV_CODEC_ID_AAC;
        if (le_aac_asc_params(h->acfg, h->acfg_len, &rate, &channels) != LE_OK)
            return LE_EPROTO;
        /* With extradata the muxer wraps raw AAC frames in ADTS itself. */
        if (le_codecpar_extradata(st->codecpar, h->acfg, h->acfg_len) != LE_OK)
            return LE_ENOMEM;
    } else {
        st->codecpar->codec_id = AV_CODEC_ID_MP3;
        rate = h->mp3_rate;
    }
    st->codecpar->sample_rate = rate;
    st->codecpar->frame_size = h->acodec == LE_CODEC_AAC ? 1024 : 1152;
    av_channel_layout_default(&st->codecpar->ch_layout, channels);
    st->time_base = (AVRational){ 1, 1000 };
    h->trk[TRK_A] = st->index;
    h->mux_acodec = h->acodec;
    return LE_OK;
}

static int audio_ready(const le_hls *h)
{
    return ((h->acodec == LE_CODEC_AAC || h->acodec == LE_CODEC_OPUS) && h->acfg) || h->acodec == LE_CODEC_MP3;
}

static int video_ready(const le_hls *h)
{
    return h->vcfg && !h->video_unsupported;
}

/* fmp4 and lowlatency: the init section is made here, once per muxer. */
static int mux_open_fmp4(le_hls *h, int with_video, int with_audio)
{
    le_fmp4_cfg c = { 0 };
    if (with_video) {
        c.vcodec = h->vcodec;
        c.vcfg = h->vcfg;
        c.vcfg_len = h->vcfg_len;
        c.vkey = h->open_key;
        c.vkey_len = h->open_key_len;
        c.width = h->meta_w;
        c.height = h->meta_h;
    }
    if (with_audio) {
        c.acodec = h->acodec;
        c.acfg = h->acfg;
        c.acfg_len = h->acfg_len;
        c.mp3_rate = h->mp3_rate;
    }
    le_buf init = { 0 };
    int rc = le_fmp4_open(&h->mp4, &c, &init);
    if (rc != LE_OK) {
        le_buf_free(&init);
        return rc;
    }
    h->init = chunk_new(&init, 0, 0);
    h->trk[TRK_V] = with_video ? 0 : -1;
    h->trk[TRK_A] = with_audio ? (with_video ? 1 : 0) : -1;
    h->mux_vcodec = with_video ? h->vcodec : LE_CODEC_NONE;
    h->mux_acodec = with_audio ? h->acodec : LE_CODEC_NONE;
    return LE_OK;
}

static int mux_open(le_hls *h, int with_video, int with_audio)
{
    if (h->variant != LE_HLS_VARIANT_MPEGTS)
        return mux_open_fmp4(h, with_video, with_audio);
    int rc = LE_ENOMEM;
    if (avformat_alloc_output_context2(&h->fmt, NULL, "mpegts", NULL) < 0 || !h->fmt)
        return LE_ENOMEM;
    uint8_t *iobuf = av_malloc(IOBUF_SIZE);
    if (!iobuf)
        goto fail;
    h->fmt->pb = avio_alloc_context(iobuf, IOBUF_SIZE, 1, h, NULL, io_write, NULL);
    if (!h->fmt->pb) {
        av_free(iobuf);
        goto fail;
    }
    h->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    h->pkt = av_packet_alloc();
    if (!h->pkt)
        goto fail;
    if (with_video && (rc = add_video(h)) != LE_OK)
        goto fail;
    if (with_audio && (rc = add_audio(h)) != LE_OK)
        goto fail;
    AVDictionary *opts = NULL;
    /* No SDT repeats mid-stream: HLS players do not use it (one is still
     * written at the very start). */
    av_dict_set(&opts, "sdt_period", "1000000", 0);
    int err = avformat_write_header(h->fmt, &opts);
    av_dict_free(&opts);
    if (err < 0) {
        rc = LE_EPROTO;
        goto fail;
    }
    h->last_dts[0] = h->last_dts[1] = INT64_MIN;
    return LE_OK;
fail:
    mux_close(h);
    return rc;
}

static void ring_push(le_hls *h, le_hls_seg *s)
{
    if (h->nring == h->ring_cap) {
        h->ring_cap = h->ring_cap ? h->ring_cap * 2 : 16;
        h->ring = le_xrealloc(h->ring, h->ring_cap * sizeof(*h->ring));
    }
    h->ring[h->nring++] = s;
    ring_trim(h);
    h->notify_due = 1;
}

/* A new segment starting at start_ts gets its numbers: the media sequence
 * (the first of an empty ring may follow another stream's, le_hls_set_seq_fn)
 * and the discontinuity a restart left pending. TS numbers a segment when it
 * is sealed, fmp4 when it opens; next_seq is not advanced here. */
static void number_seg(le_hls *h, le_hls_seg *s, int64_t start_ts)
{
    uint64_t follow;
    if (h->nring == 0 && h->seq_fn && h->seq_fn(h->seq_arg, start_ts, &follow) == LE_OK && follow > h->next_seq)
        h->next_seq = follow;
    s->seq = h->next_seq;
    s->disc = h->next_disc;
    if (s->disc)
        h->disc_seq++;
    h->next_disc = 0;
    s->disc_seq = h->disc_seq;
    s->has_video = h->trk[TRK_V] >= 0;
    s->has_audio = h->trk[TRK_A] >= 0;
}

/* fmp4: a new open segment at ts, numbered now (its parts are served under
 * that number before it is sealed). */
static void open_new(le_hls *h, int64_t ts)
{
    le_hls_seg *s = le_xcalloc(1, sizeof(*s));
    s->refs = 1;
    number_seg(h, s, ts);
    s->start_ts_ms = ts;
    s->start_wall_ms = h->seg_start_wall;
    s->init = h->init ? le_hls_chunk_ref(h->init) : NULL;
    h->open = s;
    h->part_start_ts = ts;
    h->part_fresh = 1;
    h->part_key = 0;
    h->seg_bytes = 0;
    h->notify_due = 1;
}

/* fmp4: what the muxer holds since the last cut becomes the open segment's
 * next part, ending at end_ts. */
static void part_cut(le_hls *h, int64_t end_ts)
{
    if (!h->mp4 || !h->open)
        return;
    le_buf b = { 0 };
    if (le_fmp4_cut(h->mp4, end_ts, &b) != LE_OK && h->write_errors++ == 0)
        le_warn("hls", "%s: the fmp4 muxer failed a cut; further errors not logged", h->key);
    if (b.len == 0) {
        le_buf_free(&b);
        return;   /* no frame since the last cut: the next part covers the time */
    }
    int64_t d = end_ts > h->part_start_ts ? end_ts - h->part_start_ts : 0;
    int independent = h->trk[TRK_V] < 0 || (!h->part_fresh && h->part_key);
    le_hls_seg *s = h->open;
    s->parts = le_xrealloc(s->parts, (s->nparts + 1) * sizeof(*s->parts));
    s->parts[s->nparts++] = chunk_new(&b, d, independent);
    s->len += s->parts[s->nparts - 1]->len;
    s->duration_ms += d;
    h->part_start_ts = end_ts;
    h->part_fresh = 1;
    h->part_key = 0;
    h->notify_due = 1;
}

/* lowlatency: a part is cut before the frame at ts when that frame would
 * take it past hls_part (2 ms of slack for millisecond rounding), so parts
 * stay within the PART-TARGET a playlist announces. */
static void part_check(le_hls *h, int64_t ts)
{
    if (h->variant != LE_HLS_VARIANT_LOWLATENCY || !h->open || !h->seg_open)
        return;
    int64_t el = ts - h->part_start_ts;
    if (el <= 0)
        return;
    int64_t step = h->last_delta;
    if (el >= h->part_ms || (step > 0 && el + step > h->part_ms + 2))
        part_cut(h, ts);
}

static void seal_fmp4(le_hls *h, int64_t end_ts)
{
    part_cut(h, end_ts);
    h->seg_open = 0;
    le_hls_seg *s = h->open;
    h->open = NULL;
    if (!s)
        return;
    if (s->nparts == 0) {
        /* Nothing came: its number and discontinuity go to the next one. */
        if (s->disc) {
            h->disc_seq--;
            h->next_disc = 1;
        }
        le_hls_seg_unref(s);
        h->notify_due = 1;
        return;
    }
    int64_t longest = le_hls_seg_max_ms(h->fragment_ms) + LE_HLS_JUMP_MS;
    if (s->duration_ms > longest)
        s->duration_ms = longest;
    s->sealed = 1;
    h->next_seq = s->seq + 1;
    ring_push(h, s);
    le_debug("hls", "%s: sealed fmp4 segment %llu, %lld ms, %zu parts, %zu bytes", h->key,
             (unsigned long long)s->seq, (long long)s->duration_ms, s->nparts, s->len);
}

/* Seals the open segment (if it holds anything) into the ring. end_ts is
 * where it ends on the publisher timeline. */
static void seal(le_hls *h, int64_t end_ts)
{
    if (!h->seg_open)
        return;
    if (h->mp4) {
        seal_fmp4(h, end_ts);
        return;
    }
    if (h->fmt) {
        av_write_frame(h->fmt, NULL);   /* out with buffered PES (audio) */
        avio_flush(h->fmt->pb);
    }
    h->seg_open = 0;
    if (h->cur.len == 0)
        return;
    le_hls_seg *s = le_xcalloc(1, sizeof(*s));
    s->refs = 1;
    number_seg(h, s, h->seg_start_ts);
    h->next_seq++;
    s->duration_ms = end_ts > h->seg_start_ts ? end_ts - h->seg_start_ts : 0;
    /* Cuts keep segments under the media-time bound but for one frame step;
     * tracks on drifting clocks must not make a longer one. */
    int64_t longest = le_hls_seg_max_ms(h->fragment_ms) + LE_HLS_JUMP_MS;
    if (s->duration_ms > longest)
        s->duration_ms = longest;
    s->start_ts_ms = h->seg_start_ts;
    s->start_wall_ms = h->seg_start_wall;
    s->data = h->cur.p;
    s->len = h->cur.len;
    h->cur.p = NULL;
    h->cur.len = h->cur.cap = 0;
    ring_push(h, s);
    le_debug("hls", "%s: sealed segment %llu, %lld ms, %zu bytes", h->key,
             (unsigned long long)s->seq, (long long)s->duration_ms, s->len);
}

static void seg_begin(le_hls *h, int64_t ts)
{
    h->seg_open = 1;
    h->seg_start_ts = ts;
    h->seg_start_wall = le_wall_ms();
    h->seg_start_mono = h->clock_ms();
    /* Harmless on a fresh muxer, which writes PAT/PMT first anyway. */
    if (h->fmt)
        av_opt_set(h->fmt->priv_data, "mpegts_flags", "+resend_headers", 0);
    if (h->mp4) {
        if (le_fmp4_fragments(h->mp4) >= LE_FMP4_RENEW_FRAGS && !h->renew_failed &&
            le_fmp4_renew(h->mp4) != LE_OK) {
            h->renew_failed = 1;
            le_warn("hls", "%s: could not renew the fMP4 muxer; its index grows until the next publish", h->key);
        }
        open_new(h, ts);
    }
}

void le_hls_end(le_hls *h)
{
    seal(h, h->last_ts + (h->last_delta > 0 ? h->last_delta : 0));
    if (mux_on(h)) {
        mux_close(h);
        h->next_disc = 1;
    }
    apply_variant(h);
    le_buf_free(&h->cur);
    h->reopen = 0;
    h->failed = 0;
    h->first_audio_ts = -1;
    /* A new publisher sends its own configuration. */
    free(h->vcfg);
    free(h->acfg);
    h->vcfg = h->acfg = NULL;
    h->vcfg_len = h->acfg_len = 0;
    h->vcodec = h->acodec = LE_CODEC_NONE;
    h->meta_video = 0;
    h->video_unsupported = 0;
    h->logged_unsupported = h->logged_cap = h->logged_jump = 0;
    h->meta_w = h->meta_h = 0;
    /* A new publisher brings its own clock. */
    memset(h->tl, 0, sizeof(h->tl));
    notify_now(h);
}

static const char *codec_name(uint8_t c)
{
    switch (c) {
    case LE_CODEC_H264: return "h264";
    case LE_CODEC_H265: return "h265";
    case LE_CODEC_AV1: return "av1";
    case LE_CODEC_AAC: return "aac";
    case LE_CODEC_MP3: return "mp3";
    case LE_CODEC_OPUS: return "opus";
    default: return "none";
    }
}

/* Closes the current muxer at a cut point and opens one for what we know now. */
static int restart(le_hls *h, int64_t ts)
{
    int had = mux_on(h);
    seal(h, ts);
    if (had) {
        mux_close(h);
        h->next_disc = 1;
    }
    h->cur.len = 0;   /* drop header bytes of a muxer that never sealed */
    h->reopen = 0;
    int rc = mux_open(h, video_ready(h), audio_ready(h));
    if (rc != LE_OK) {
        if (!h->failed)
            le_warn("hls", "%s: cannot start the %s muxer: %s", h->key,
                    h->variant == LE_HLS_VARIANT_MPEGTS ? "MPEG-TS" : "fMP4", le_strerror(rc));
        h->failed = 1;
        return rc;
    }
    le_info("hls", "%s: %s muxer started (video %s, audio %s)", h->key,
            h->variant == LE_HLS_VARIANT_MPEGTS ? "MPEG-TS" : "fMP4", codec_name(h->mux_vcodec),
            codec_name(h->mux_acodec));
    return LE_OK;
}

static int write_pkt(le_hls *h, int trk, AVPacket *pkt)
{
    if (!h->fmt || h->trk[trk] < 0)
        return LE_EINVAL;   /* this muxer has no such track */
    AVStream *st = h->fmt->streams[h->trk[trk]];
    int64_t dts = av_rescale_q(pkt->dts, (AVRational){ 1, 1000 }, st->time_base);
    int64_t pts = av_rescale_q(pkt->pts, (AVRational){ 1, 1000 }, st->time_base);
    /* Publishers do send timestamps that step back (encoder restarts,
     * jitter); the muxer refuses those, so clamp rather than lose the frame. */
    if (h->last_dts[trk] != INT64_MIN && dts <= h->last_dts[trk])
        dts = h->last_dts[trk] + 1;
    if (pts < dts)
        pts = dts;
    h->last_dts[trk] = dts;
    pkt->dts = dts;
    pkt->pts = pts;
    pkt->stream_index = h->trk[trk];
    pkt->duration = 0;
    int err = av_write_frame(h->fmt, pkt);
    if (err < 0) {
        if (h->write_errors++ == 0)
            le_warn("hls", "%s: muxer refused a packet (%d); further ones not logged", h->key, err);
        return LE_EIO;
    }
    return LE_OK;
}

static int feed_video_frame(le_hls *h, int64_t dts, int32_t cts, const uint8_t *data, size_t len, int key)
{
    if (h->mp4) {
        if (h->trk[TRK_V] < 0)
            return LE_EINVAL;
        if (h->part_fresh) {
            h->part_fresh = 0;
            h->part_key = key;
        }
        h->seg_bytes += len;
        return le_fmp4_video(h->mp4, dts, cts, data, len, key);
    }
    /* Only ever into a muxer with a video track and its filter. */
    if (!h->fmt || !h->bsf || !h->pkt || h->trk[TRK_V] < 0)
        return LE_EINVAL;
    if (len > (size_t)INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return LE_ETOOBIG;
    AVPacket *in = h->pkt;
    av_packet_unref(in);
    /* Not refcounted: av_bsf_send_packet makes its own padded copy. */
    in->data = (uint8_t *)data;
    in->size = (int)len;
    in->dts = dts;
    in->pts = dts + cts;
    in->flags = key ? AV_PKT_FLAG_KEY : 0;
    if (av_bsf_send_packet(h->bsf, in) < 0) {
        av_packet_unref(in);
        return LE_EPROTO;
    }
    int rc = LE_OK;
    while (av_bsf_receive_packet(h->bsf, in) == 0) {
        if (write_pkt(h, TRK_V, in) != LE_OK)
            rc = LE_EIO;
        av_packet_unref(in);
    }
    return rc;
}

static int feed_audio_frame(le_hls *h, int64_t ts, const uint8_t *data, size_t len)
{
    if (h->mp4) {
        if (h->trk[TRK_A] < 0)
            return LE_EINVAL;
        h->seg_bytes += len;
        return le_fmp4_audio(h->mp4, ts, data, len);
    }
    if (!h->fmt || !h->pkt || h->trk[TRK_A] < 0)
        return LE_EINVAL;
    if (len > (size_t)INT32_MAX)
        return LE_ETOOBIG;
    AVPacket *in = h->pkt;
    av_packet_unref(in);
    in->data = (uint8_t *)data;
    in->size = (int)len;
    in->dts = in->pts = ts;
    in->flags = AV_PKT_FLAG_KEY;
    int rc = write_pkt(h, TRK_A, in);
    av_packet_unref(in);
    return rc;
}

static void track_ts(le_hls *h, int64_t ts)
{
    if (ts > h->last_ts && h->last_ts > 0 && ts - h->last_ts < 1000)
        h->last_delta = ts - h->last_ts;
    if (ts > h->last_ts || !h->seg_open)
        h->last_ts = ts;
}

/* The output time of a coded frame of track trk (see the top of the file);
 * *jump is set when it starts a new timeline. */
static int64_t timeline_map(le_hls *h, int trk, uint32_t raw, int *jump)
{
    timeline *t = &h->tl[trk];
    *jump = 0;
    if (!t->have) {
        /* On the other track's clock if it is near it, else aligned with
         * the other track's newest time. */
        const timeline *o = &h->tl[!trk];
        t->have = 1;
        t->raw_last = raw;
        t->ext_last = raw;
        t->step = 0;
        t->off = 0;
        if (o->have) {
            int64_t d = (int32_t)(raw - o->raw_last);
            int64_t out = d > LE_HLS_JUMP_MS || d < -LE_HLS_JUMP_MS ? o->out_max : o->ext_last + d + o->off;
            t->off = out - (int64_t)raw;
        }
        t->out_max = (int64_t)raw + t->off;
        if (t->out_max < 0) {
            t->off -= t->out_max;
            t->out_max = 0;
        }
        return t->out_max;
    }
    int64_t d = (int32_t)(raw - t->raw_last);
    int64_t ext = t->ext_last + d;
    t->raw_last = raw;
    t->ext_last = ext;
    if (d > LE_HLS_JUMP_MS || d < -LE_HLS_JUMP_MS) {
        const timeline *o = &h->tl[!trk];
        int64_t od = o->have ? (int32_t)(raw - o->raw_last) : 0;
        if (o->have && od <= LE_HLS_JUMP_MS && od >= -LE_HLS_JUMP_MS) {
            /* A gap in this track alone (or the other track jumped first):
             * it is still on the other track's clock, and goes on with it. */
            t->off = o->ext_last + od + o->off - ext;
        } else {
            t->off = t->out_max + (t->step > 0 ? t->step : 1) - ext;
            *jump = 1;
        }
    } else if (d > 0 && d < 1000) {
        t->step = d;
    }
    int64_t out = ext + t->off;
    if (out < 0) {   /* small steps back below the start */
        t->off -= out;
        out = 0;
    }
    if (out > t->out_max)
        t->out_max = out;
    return out;
}

/* Whether track trk's packets decide where segments are cut. */
static int drives_cuts(const le_hls *h, int trk)
{
    return trk == TRK_V ? h->trk[TRK_V] >= 0 : h->trk[TRK_V] < 0 && h->trk[TRK_A] >= 0;
}

/* A timestamp jump on track trk; ts is the frame's (rebased) output time. */
static void on_jump(le_hls *h, int trk, int64_t ts)
{
    if (!h->logged_jump) {
        h->logged_jump = 1;
        le_info("hls", "%s: %s timestamps jumped by more than %d ms: new timeline, discontinuity",
                h->key, trk == TRK_V ? "video" : "audio", LE_HLS_JUMP_MS);
    }
    if (!mux_on(h) || !drives_cuts(h, trk))
        return;
    seal(h, ts);
    h->next_disc = 1;
}

/* The open segment crossed one of its bounds (segmenter.h): sealed here,
 * keyframe or not, and the next one starts with this packet. */
static void cap_check(le_hls *h, int64_t ts)
{
    if (!h->seg_open)
        return;
    int64_t max_ms = le_hls_seg_max_ms(h->fragment_ms);
    const char *why = NULL;
    if (ts - h->seg_start_ts >= max_ms)
        why = "media time";
    else if (h->clock_ms() - h->seg_start_mono >= LE_HLS_SEG_ARRIVAL_FACTOR * max_ms)
        why = "arrival time";
    else if ((h->mp4 ? h->seg_bytes : h->cur.len) >= le_hls_seg_max_bytes(h->fragment_ms))
        why = "size";
    if (!why)
        return;
    if (!h->logged_cap) {
        h->logged_cap = 1;
        le_warn("hls", "%s: segment cut without a keyframe (%s over its bound); further cuts not logged",
                h->key, why);
    }
    seal(h, ts);
    seg_begin(h, ts);
}

static int store_cfg(uint8_t **dst, size_t *dlen, const uint8_t *b, size_t n)
{
    if (*dst && *dlen == n && memcmp(*dst, b, n) == 0)
        return 0;
    free(*dst);
    *dst = le_xmalloc(n ? n : 1);
    memcpy(*dst, b, n);
    *dlen = n;
    return 1;
}

static int feed_video(le_hls *h, le_pkt *p)
{
    le_flv_info fi;
    if (le_flv_video_info(p->data, p->len, &fi) != LE_OK || fi.hdr_len > p->len)
        return LE_EPROTO;
    int carried = h->variant == LE_HLS_VARIANT_MPEGTS ? fi.codec == LE_CODEC_H264 || fi.codec == LE_CODEC_H265
                                                      : le_fmp4_video_ok(fi.codec);
    if (!carried) {
        /* MPEG-TS here carries H.264/H.265 only (fMP4 AV1 too): such tags are
         * dropped, and a stream with no other video goes audio-only. */
        if (!h->logged_unsupported) {
            h->logged_unsupported = 1;
            le_info("hls", "%s: video codec %u cannot go into HLS; its tags are ignored", h->key,
                    (unsigned)fi.codec);
        }
        if (!h->vcfg)
            h->video_unsupported = 1;
        return LE_EINVAL;
    }
    const uint8_t *data = p->data + fi.hdr_len;
    size_t len = p->len - fi.hdr_len;
    if (fi.seqhdr) {
        if (len == 0)
            return LE_EINVAL;
        int changed = store_cfg(&h->vcfg, &h->vcfg_len, data, len) || fi.codec != h->vcodec;
        h->vcodec = fi.codec;
        h->video_unsupported = 0;
        if (changed && mux_on(h))
            h->reopen = 1;
        if (changed)
            h->failed = 0;
        return LE_OK;
    }
    if (len == 0 || !h->vcfg || h->vcodec != fi.codec)
        return LE_EINVAL;   /* frames before their configuration */
    int jump;
    int64_t ts = timeline_map(h, TRK_V, p->ts, &jump);
    if (jump)
        on_jump(h, TRK_V, ts);
    if (!mux_on(h) || h->reopen || h->trk[TRK_V] < 0) {
        /* Only a keyframe can start a muxer (and thus a segment). */
        if (!fi.key || !video_ready(h) || (h->failed && !h->reopen))
            return LE_EINVAL;
        h->open_key = data;
        h->open_key_len = len;
        int rc = restart(h, ts);
        h->open_key = NULL;
        h->open_key_len = 0;
        if (rc != LE_OK)
            return LE_EPROTO;
        if (h->trk[TRK_V] < 0)
            return LE_EINVAL;
        seg_begin(h, ts);
    } else if (fi.key && h->seg_open && ts - h->seg_start_ts >= h->fragment_ms) {
        seal(h, ts);
        seg_begin(h, ts);
    } else if (!h->seg_open) {
        if (!fi.key)
            return LE_EINVAL;
        seg_begin(h, ts);
    } else {
        cap_check(h, ts);
        part_check(h, ts);
    }
    track_ts(h, ts);
    return feed_video_frame(h, ts, fi.cts, data, len, fi.key);
}

static int feed_audio(le_hls *h, le_pkt *p)
{
    le_flv_info fi;
    if (le_flv_audio_info(p->data, p->len, &fi) != LE_OK || fi.hdr_len > p->len)
        return LE_EPROTO;
    if (fi.codec != LE_CODEC_AAC && fi.codec != LE_CODEC_MP3 &&
        !(fi.codec == LE_CODEC_OPUS && h->variant != LE_HLS_VARIANT_MPEGTS))
        return LE_EINVAL;
    const uint8_t *data = p->data + fi.hdr_len;
    size_t len = p->len - fi.hdr_len;
    if ((fi.codec == LE_CODEC_AAC || fi.codec == LE_CODEC_OPUS) && fi.seqhdr) {
        if (len == 0)
            return LE_EINVAL;
        int changed = store_cfg(&h->acfg, &h->acfg_len, data, len) || h->acodec != fi.codec;
        h->acodec = fi.codec;
        if (changed && mux_on(h))
            h->reopen = 1;
        if (changed)
            h->failed = 0;
        return LE_OK;
    }
    if (fi.codec == LE_CODEC_MP3) {
        static const int rates[4] = { 5512, 11025, 22050, 44100 };
        if (h->acodec != LE_CODEC_MP3 && mux_on(h))
            h->reopen = 1;
        h->acodec = LE_CODEC_MP3;
        h->mp3_rate = rates[(p->data[0] >> 2) & 3];
    }
    if (len == 0 || !audio_ready(h) || h->acodec != fi.codec)
        return LE_EINVAL;
    int jump;
    int64_t ts = timeline_map(h, TRK_A, p->ts, &jump);
    if (jump)
        on_jump(h, TRK_A, ts);

    if (!mux_on(h) || (h->reopen && h->trk[TRK_V] < 0)) {
        /* Start audio-only only when no video is coming: none configured and
         * none announced, or announced but silent for AUDIO_ONLY_AFTER_MS. */
        if (video_ready(h))
            return LE_EINVAL;   /* wait for the video keyframe */
        if (h->first_audio_ts < 0)
            h->first_audio_ts = ts;
        if (h->meta_video && !h->video_unsupported && ts - h->first_audio_ts < AUDIO_ONLY_AFTER_MS)
            return LE_EINVAL;
        if (h->failed && !h->reopen)
            return LE_EINVAL;
        if (restart(h, ts) != LE_OK)
            return LE_EPROTO;
        seg_begin(h, ts);
    } else if (h->trk[TRK_A] < 0) {
        return LE_EINVAL;   /* video muxer: audio joins at the next keyframe */
    } else if (h->trk[TRK_V] < 0) {
        /* Audio-only: cut by time. */
        if (h->seg_open && ts - h->seg_start_ts >= h->fragment_ms)
            seal(h, ts);
        else
            cap_check(h, ts);
        if (!h->seg_open)
            seg_begin(h, ts);
        part_check(h, ts);
    } else if (!h->seg_open) {
        return LE_EINVAL;   /* video muxer between segments: wait for the keyframe */
    } else {
        cap_check(h, ts);   /* video stalled, audio going on */
    }
    if (h->mux_acodec != fi.codec)
        return LE_EINVAL;   /* the codec changed: it joins at the next keyframe */
    if (h->trk[TRK_V] < 0)
        track_ts(h, ts);
    return feed_audio_frame(h, ts, data, len);
}

static int feed(le_hls *h, le_pkt *p)
{
    if (p->type == LE_PKT_VIDEO) {
        int rc = feed_video(h, p);
        /* A keyframe that found the stream waiting on audio set up the
         * muxer without audio; a late audio config reopens at the next one. */
        if (mux_on(h) && h->trk[TRK_A] < 0 && audio_ready(h))
            h->reopen = 1;
        return rc;
    }
    if (p->type == LE_PKT_AUDIO) {
        int rc = feed_audio(h, p);
        if (mux_on(h) && h->trk[TRK_V] < 0 && video_ready(h))
            h->reopen = 1;   /* video appeared on an audio-only muxer */
        return rc;
    }
    if (p->type == LE_PKT_DATA && (p->flags & LE_PKT_META)) {
        le_flv_meta m;
        if (le_flv_parse_meta(p->data, p->len, &m) == LE_OK) {
            h->meta_video = m.videocodecid > 0 || m.width > 0;
            h->meta_w = (int)m.width;
            h->meta_h = (int)m.height;
        }
    }
    return LE_OK;
}

int le_hls_feed(le_hls *h, le_pkt *p)
{
    int rc = feed(h, p);
    /* Once the packet is fully in: a woken reader sees the new part or
     * segment and the open segment that follows it. */
    if (h->notify_due)
        notify_now(h);
    return rc;
}

void le_hls_free(le_hls *h)
{
    if (!h)
        return;
    le_hls_seg_unref(h->open);
    mux_close(h);
    for (size_t i = 0; i < h->nring; i++)
        le_hls_seg_unref(h->ring[i]);
    free(h->ring);
    le_buf_free(&h->cur);
    free(h->vcfg);
    free(h->acfg);
    free(h->key);
    free(h);
}
