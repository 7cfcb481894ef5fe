/* m3u8 writer (RFC 8216). Durations are kept in ms end to end, so EXTINF is
 * exact to the millisecond and the target duration rounds up from exact
 * values: a 2.001 s segment needs a target of 3 (RFC 8216 4.3.3.1: EXTINF
 * rounded to the nearest integer must not exceed it; ceil is the safe side). */
#include "hls/playlist.h"

#include <inttypes.h>
#include <time.h>

int le_m3u8_target(const le_m3u8_seg *segs, size_t n, int min_target_s)
{
    int64_t max_ms = 0;
    for (size_t i = 0; i < n; i++)
        if (segs[i].duration_ms > max_ms)
            max_ms = segs[i].duration_ms;
    int t = (int)((max_ms + 999) / 1000);
    if (t < min_target_s)
        t = min_target_s;
    return t < 1 ? 1 : t;
}

static void put_pdt(le_buf *out, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    le_buf_printf(out, "#EXT-X-PROGRAM-DATE-TIME:%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\n",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                  tm.tm_sec, (int)(ms % 1000));
}

void le_m3u8_build(le_buf *out, const le_m3u8_seg *segs, size_t n, const le_m3u8_opts *o)
{
    static const le_m3u8_opts defaults;
    if (!o)
        o = &defaults;
    le_buf_printf(out, "#EXTM3U\n#EXT-X-VERSION:3\n");
    if (o->playlist_type == 1)
        le_buf_printf(out, "#EXT-X-PLAYLIST-TYPE:EVENT\n");
    else if (o->playlist_type == 2)
        le_buf_printf(out, "#EXT-X-PLAYLIST-TYPE:VOD\n");
    le_buf_printf(out, "#EXT-X-TARGETDURATION:%d\n", le_m3u8_target(segs, n, o->min_target_s));
    le_buf_printf(out, "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n", n ? segs[0].seq : 0);
    if (o->disc_seq)
        le_buf_printf(out, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu64 "\n", o->disc_seq);
    if (o->start_offset_zero)
        le_buf_printf(out, "#EXT-X-START:TIME-OFFSET=0\n");
    for (size_t i = 0; i < n; i++) {
        const le_m3u8_seg *s = &segs[i];
        /* A discontinuity on the first listed segment is already counted in
         * EXT-X-DISCONTINUITY-SEQUENCE by the caller only once it scrolls off;
         * while it is listed the tag must stay (RFC 8216 6.2.2). */
        if (s->disc)
            le_buf_printf(out, "#EXT-X-DISCONTINUITY\n");
        if (s->pdt_ms)
            put_pdt(out, s->pdt_ms);
        int64_t d = s->duration_ms < 0 ? 0 : s->duration_ms;
        le_buf_printf(out, "#EXTINF:%" PRId64 ".%03d,\n%s\n", d / 1000, (int)(d % 1000), s->uri);
    }
    if (o->endlist)
        le_buf_printf(out, "#EXT-X-ENDLIST\n");
}
