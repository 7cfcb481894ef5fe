/* m3u8 writer (RFC 8216). Durations are kept in ms end to end, so EXTINF is
 * exact to the millisecond and the target duration rounds up from exact
 * values: a 2.001 s segment needs a target of 3 (RFC 8216 4.3.3.1: EXTINF
 * rounded to the nearest integer must not exceed it; ceil is the safe side). */
#include "hls/playlist.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

int le_m3u8_target(const le_m3u8_seg *segs, size_t n, int min_target_s)
{
    int64_t max_ms = 0;
    for (size_t i = 0; i < n; i++)
        if (!segs[i].open && segs[i].duration_ms > max_ms)   /* the open segment has no EXTINF */
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

/* A duration in seconds with ms precision, trailing zeros kept (EXTINF's
 * form): 200 → "0.200". */
static void put_secs(le_buf *out, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    le_buf_printf(out, "%" PRId64 ".%03d", ms / 1000, (int)(ms % 1000));
}

void le_m3u8_reports(le_buf *out, const le_m3u8_report *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        le_buf_printf(out, "#EXT-X-RENDITION-REPORT:URI=\"%s\",LAST-MSN=%" PRIu64, r[i].uri, r[i].last_msn);
        if (r[i].last_part >= 0)
            le_buf_printf(out, ",LAST-PART=%d", r[i].last_part);
        le_buf_printf(out, "\n");
    }
}

void le_m3u8_build(le_buf *out, const le_m3u8_seg *segs, size_t n, const le_m3u8_opts *o)
{
    static const le_m3u8_opts defaults;
    if (!o)
        o = &defaults;
    le_buf_printf(out, "#EXTM3U\n#EXT-X-VERSION:%d\n", o->version > 3 ? o->version : 3);
    if (o->independent_segments)
        le_buf_printf(out, "#EXT-X-INDEPENDENT-SEGMENTS\n");
    if (o->playlist_type == 1)
        le_buf_printf(out, "#EXT-X-PLAYLIST-TYPE:EVENT\n");
    else if (o->playlist_type == 2)
        le_buf_printf(out, "#EXT-X-PLAYLIST-TYPE:VOD\n");
    le_buf_printf(out, "#EXT-X-TARGETDURATION:%d\n", le_m3u8_target(segs, n, o->min_target_s));
    if (o->part_target_ms > 0) {
        le_buf_printf(out, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES");
        if (o->can_skip_until_ms > 0) {
            le_buf_printf(out, ",CAN-SKIP-UNTIL=");
            put_secs(out, o->can_skip_until_ms);
        }
        le_buf_printf(out, ",PART-HOLD-BACK=");
        put_secs(out, o->part_hold_back_ms);
        le_buf_printf(out, "\n#EXT-X-PART-INF:PART-TARGET=");
        put_secs(out, o->part_target_ms);
        le_buf_printf(out, "\n");
    }
    uint64_t first = n ? segs[0].seq : 0;
    le_buf_printf(out, "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n", first >= o->skipped ? first - o->skipped : 0);
    if (o->disc_seq)
        le_buf_printf(out, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu64 "\n", o->disc_seq);
    if (o->start_offset_zero)
        le_buf_printf(out, "#EXT-X-START:TIME-OFFSET=0\n");
    if (o->skipped)
        le_buf_printf(out, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%" PRIu64 "\n", o->skipped);
    const char *map = NULL;
    for (size_t i = 0; i < n; i++) {
        const le_m3u8_seg *s = &segs[i];
        /* A discontinuity on the first listed segment is already counted in
         * EXT-X-DISCONTINUITY-SEQUENCE by the caller only once it scrolls off;
         * while it is listed the tag must stay (RFC 8216 6.2.2). */
        if (s->disc)
            le_buf_printf(out, "#EXT-X-DISCONTINUITY\n");
        /* The map applies to every segment after it up to the next map
         * (RFC 8216 4.3.2.5): written again only where it changes. */
        if (s->map_uri && (!map || strcmp(map, s->map_uri) != 0)) {
            le_buf_printf(out, "#EXT-X-MAP:URI=\"%s\"\n", s->map_uri);
            map = s->map_uri;
        }
        if (s->pdt_ms)
            put_pdt(out, s->pdt_ms);
        for (size_t k = 0; k < s->nparts; k++) {
            le_buf_printf(out, "#EXT-X-PART:DURATION=");
            put_secs(out, s->parts[k].duration_ms);
            le_buf_printf(out, ",URI=\"%s\"%s\n", s->parts[k].uri, s->parts[k].independent ? ",INDEPENDENT=YES" : "");
        }
        if (s->open)
            continue;   /* the open segment: parts only */
        le_buf_printf(out, "#EXTINF:");
        put_secs(out, s->duration_ms);
        le_buf_printf(out, ",\n%s\n", s->uri);
    }
    if (o->preload_hint_uri)
        le_buf_printf(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%s\"\n", o->preload_hint_uri);
    le_m3u8_reports(out, o->reports, o->nreports);
    if (o->endlist)
        le_buf_printf(out, "#EXT-X-ENDLIST\n");
}
