/* m3u8 builder: target duration, sequence, discontinuities. */
#include <string.h>

#include "hls/playlist.h"
#include "tap.h"

static char *build(const le_m3u8_seg *s, size_t n, const le_m3u8_opts *o, le_buf *b)
{
    b->len = 0;
    le_m3u8_build(b, s, n, o);
    le_buf_u8(b, 0);
    return (char *)b->p;
}

int main(void)
{
    le_buf b = { 0 };
    le_m3u8_seg s[4] = {
        { 10, 2000, 0, 0, "cam-10.ts" },
        { 11, 2040, 0, 0, "cam-11.ts" },
        { 12, 1960, 1, 0, "cam-12.ts" },
        { 13, 2000, 0, 0, "cam-13.ts" },
    };
    char *t = build(s, 4, NULL, &b);
    ok(strncmp(t, "#EXTM3U\n", 8) == 0, "starts with #EXTM3U");
    ok(strstr(t, "#EXT-X-VERSION:3\n") != NULL, "version 3");
    ok(strstr(t, "#EXT-X-TARGETDURATION:3\n") != NULL, "target is the ceiling of 2.040 s");
    ok(strstr(t, "#EXT-X-MEDIA-SEQUENCE:10\n") != NULL, "media sequence is the first segment's");
    ok(strstr(t, "#EXTINF:2.040,\ncam-11.ts\n") != NULL, "EXTINF in ms precision, then the URI");
    ok(strstr(t, "#EXT-X-DISCONTINUITY\n#EXTINF:1.960,\ncam-12.ts\n") != NULL,
       "discontinuity right before its segment");
    ok(strstr(t, "DISCONTINUITY-SEQUENCE") == NULL, "no discontinuity sequence when 0");
    ok(strstr(t, "ENDLIST") == NULL, "live: no ENDLIST");
    ok(strstr(t, "PLAYLIST-TYPE") == NULL, "live: no playlist type");
    is_int(le_m3u8_target(s, 4, 0), 3, "le_m3u8_target agrees");

    /* Exact seconds do not round up. */
    le_m3u8_seg e[2] = { { 0, 2000, 0, 0, "a-0.ts" }, { 1, 1000, 0, 0, "a-1.ts" } };
    is_int(le_m3u8_target(e, 2, 0), 2, "2.000 s gives 2");
    e[0].duration_ms = 2001;
    is_int(le_m3u8_target(e, 2, 0), 3, "2.001 s gives 3");
    is_int(le_m3u8_target(e, 2, 5), 5, "never below the floor");
    is_int(le_m3u8_target(e, 0, 0), 1, "empty list: 1");
    e[0].duration_ms = 400;
    e[1].duration_ms = 300;
    is_int(le_m3u8_target(e, 2, 0), 1, "sub-second segments: 1");

    le_m3u8_opts o;
    memset(&o, 0, sizeof(o));
    o.disc_seq = 3;
    o.min_target_s = 4;
    t = build(s + 1, 3, &o, &b);
    ok(strstr(t, "#EXT-X-DISCONTINUITY-SEQUENCE:3\n") != NULL, "discontinuity sequence");
    ok(strstr(t, "#EXT-X-MEDIA-SEQUENCE:11\n") != NULL, "sequence follows the window");
    ok(strstr(t, "#EXT-X-TARGETDURATION:4\n") != NULL, "floor applied");
    /* Order of tags: the header before any segment. */
    ok(strstr(t, "#EXT-X-MEDIA-SEQUENCE") < strstr(t, "#EXTINF"), "header tags before segments");

    o.endlist = 1;
    o.playlist_type = 2;
    o.start_offset_zero = 1;
    s[0].pdt_ms = 1700000000123LL;
    t = build(s, 1, &o, &b);
    ok(strstr(t, "#EXT-X-PLAYLIST-TYPE:VOD\n") != NULL, "VOD type");
    ok(strstr(t, "#EXT-X-START:TIME-OFFSET=0\n") != NULL, "start offset");
    ok(strstr(t, "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.123Z\n#EXTINF:2.000,\ncam-10.ts\n") != NULL,
       "program date time in UTC with ms");
    size_t len = strlen(t);
    ok(len > 15 && strcmp(t + len - 15, "#EXT-X-ENDLIST\n") == 0, "ENDLIST last");

    t = build(NULL, 0, NULL, &b);
    ok(strstr(t, "#EXT-X-MEDIA-SEQUENCE:0\n") != NULL && strstr(t, "#EXTINF") == NULL, "empty playlist");
    le_buf_free(&b);
    return done_testing();
}
