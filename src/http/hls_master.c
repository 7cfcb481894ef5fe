/* The adaptive HLS master playlist of a live stream and its renditions:
 * `GET /App/Stream_abr.m3u8` (docs/TRANSCODE.md, "Adaptive HLS"). One
 * EXT-X-STREAM-INF per variant, the source first, with BANDWIDTH (the
 * rendition's target, the source's measured bitrate), RESOLUTION and
 * CODECS; each variant URI is the variant's own live playlist, signed like
 * segment URIs (http/hls_play.h). A rendition that is not running yet is
 * listed all the same: fetching its playlist starts it. When Stream has no
 * renditions the name is an ordinary stream name ("x_abr"). */
#include <event2/buffer.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "http/hls_play.h"
#include "media/stream.h"
#include "node.h"
#include "transcode/rendition.h"

#define SUFFIX "_abr.m3u8"
#define MAX_VARIANTS 16

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
    int audio = 0, video = 0;
    le_stream_tracks(le_stream_find(rt->dom->name, rt->app, rt->name, 0), &audio, &video);
    le_buf b = { 0 };
    le_buf_printf(&b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
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
        le_buf_printf(&b, ",CODECS=\"avc1.640028%s\"\n%s\n", audio ? ",mp4a.40.2" : "", uri);
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
