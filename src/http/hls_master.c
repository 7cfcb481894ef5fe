/* The adaptive HLS master playlist of a live stream and its renditions:
 * `GET /App/Stream_abr.m3u8` (docs/TRANSCODE.md, "Adaptive HLS"). One
 * EXT-X-STREAM-INF per variant, the source first, with BANDWIDTH (the
 * rendition's target, the source's measured bitrate), RESOLUTION and
 * CODECS; each variant URI is the variant's own live playlist, signed like
 * segment URIs (http/hls_play.h). A rendition that is not running yet is
 * listed all the same: fetching its playlist starts it. When Stream has no
 * renditions the name is an ordinary stream name ("x_abr").
 *
 * The master must not promise less than its variants need (docs/HLS.md,
 * "Master playlist"): EXT-X-VERSION is the highest of the variant
 * playlists' (3 MPEG-TS, 6 fmp4, 9 lowlatency), and CODECS is read from
 * each variant's sequence headers (media/codecs.h); a rendition not running
 * yet is H.264 (the transcoder's output) with the source's audio, which is
 * copied, under generic strings until its headers exist. */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "conf/conf.h"
#include "core/util.h"
#include "http/hls_play.h"
#include "hls/segmenter.h"
#include "media/codecs.h"
#include "media/flv.h"
#include "media/stream.h"
#include "node.h"
#include "transcode/rendition.h"

#define SUFFIX "_abr.m3u8"
#define MAX_VARIANTS 16

/* The playlist version a variant's HLS needs (the ones hls_ll.c and
 * hls_play.c write). */
static int variant_version(int variant)
{
    return variant == LE_HLS_VARIANT_LOWLATENCY ? 9 : variant == LE_HLS_VARIANT_FMP4 ? 6 : 3;
}

/* One track's codec string from st's sequence header (type LE_PKT_*), or
 * the generic one for codec when there is none yet. "" when unknown. */
static void track_codec(const le_stream *st, int type, uint8_t codec, char *out, size_t outsz)
{
    out[0] = '\0';
    const le_pkt *p = st ? le_stream_seq_header(st, type) : NULL;
    if (p) {
        le_flv_info fi;
        int rc = type == LE_PKT_VIDEO ? le_flv_video_info(p->data, p->len, &fi)
                                      : le_flv_audio_info(p->data, p->len, &fi);
        if (rc == LE_OK && fi.hdr_len <= p->len &&
            le_codec_string(fi.codec, p->data + fi.hdr_len, p->len - fi.hdr_len, out, outsz) == LE_OK)
            return;
        if (rc == LE_OK)
            codec = fi.codec;
    }
    if (codec == LE_CODEC_MP3 || codec == LE_CODEC_OPUS) {   /* no header to read */
        le_codec_string(codec, NULL, 0, out, outsz);
        return;
    }
    const char *d = le_codec_string_default(codec);
    if (d)
        snprintf(out, outsz, "%s", d);
}

static void master_playlist(le_http_conn *c, const le_http_route *rt)
{
    le_rend_variant v[MAX_VARIANTS];
    size_t n = le_rend_variants(rt->dom->name, rt->app, rt->name, v, MAX_VARIANTS);
    if (n == 0) {   /* not a source with renditions: the stream named "..._abr" */
        le_http_route r2 = *rt;
        if (snprintf(r2.name, sizeof(r2.name), "%s_abr", rt->name) >= (int)sizeof(r2.name)) {
            le_http_reply_error(c, 404, "InvalidStream.NotFound", "no live HLS for this stream");
            return;
        }
        le_hls_play_playlist(c, &r2);
        return;
    }
    le_stream *src = le_stream_find(rt->dom->name, rt->app, rt->name, 0);
    int audio = 0, video = 0;
    le_stream_tracks(src, &audio, &video);
    const le_stream_stats *ss = le_stream_get_stats(src);
    /* The source's audio: every rendition copies it. */
    char acodec[32];
    track_codec(src, LE_PKT_AUDIO, audio ? ss->audio_codec : LE_CODEC_NONE, acodec, sizeof(acodec));
    /* Each variant's stream while it is live (a rendition not running yet
     * has none); the source is v[0]. A variant that is not running yet gets
     * the domain's variant. */
    le_stream *live[MAX_VARIANTS];
    int version = variant_version(rt->dom->hls_variant);
    for (size_t i = 0; i < n; i++) {
        le_stream *st = i == 0 ? src : le_stream_find(rt->dom->name, rt->app, v[i].name, 0);
        live[i] = st && le_stream_is_live(st) ? st : NULL;
        le_hls *h = st ? le_hls_of(st) : NULL;
        if (h && variant_version(le_hls_variant(h)) > version)
            version = variant_version(le_hls_variant(h));
    }
    le_buf b = { 0 };
    le_buf_printf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", version);
    for (size_t i = 0; i < n; i++) {
        char file[sizeof(v[i].name) + 8], uri[1024];
        if (snprintf(file, sizeof(file), "%s.m3u8", v[i].name) >= (int)sizeof(file) ||
            le_hls_play_uri(rt, v[i].name, file, uri, sizeof(uri)) != LE_OK) {
            le_buf_free(&b);
            le_http_reply_error(c, 500, "InternalError", "cannot sign the variant URIs");
            return;
        }
        /* BANDWIDTH: video plus the audio (copied, about 128 kbit/s at most),
         * with a tenth over for the container. */
        long bw = ((long)(v[i].kbps > 0 ? v[i].kbps : 500) + (audio ? 128 : 0)) * 1100;
        le_buf_printf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%ld", bw);
        if (v[i].width > 0 && v[i].height > 0)
            le_buf_printf(&b, ",RESOLUTION=%dx%d", v[i].width, v[i].height);
        /* CODECS: the variant's own video (the source's codec for the
         * source, H.264 for a rendition) and the source's audio. */
        const le_stream_stats *vs = live[i] ? le_stream_get_stats(live[i]) : NULL;
        uint8_t vc = i == 0 ? ss->video_codec : vs && vs->video_codec ? vs->video_codec : LE_CODEC_H264;
        char vcodec[64];
        track_codec(live[i], LE_PKT_VIDEO, video ? vc : LE_CODEC_NONE, vcodec, sizeof(vcodec));
        if (vcodec[0] || acodec[0])
            le_buf_printf(&b, ",CODECS=\"%s%s%s\"", vcodec, vcodec[0] && acodec[0] ? "," : "", acodec);
        le_buf_printf(&b, "\n%s\n", uri);
    }
    le_hls_play_send_m3u8(c, rt, &b);
}

static int master_match(const char *file, size_t n, const char *q, size_t qn, size_t *stem, uint64_t *seq)
{
    (void)q;
    (void)qn;
    (void)seq;
    return le_http_suffix(file, n, SUFFIX, stem);
}

static const le_http_route_def master_route = { "hls-abr", NULL, master_match, master_playlist, 1, 0 };

void le_hls_master_init(void)
{
    le_http_route_add(&master_route);
}
