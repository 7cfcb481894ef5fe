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

/* LL-HLS tags (RFC 8216bis): exact text of a lowlatency playlist. */
static void test_lowlatency(le_buf *b)
{
    le_m3u8_part p5[2] = { { 200, 1, "cam-5.0.m4s" }, { 200, 0, "cam-5.1.m4s" } };
    le_m3u8_part p6[1] = { { 120, 1, "cam-6.0.m4s" } };
    le_m3u8_seg s[3] = {
        { 4, 1000, 0, 1700000000000LL, "cam-4.m4s", "cam-init-0.mp4", NULL, 0, 0 },
        { 5, 400, 0, 1700000001000LL, "cam-5.m4s", "cam-init-0.mp4", p5, 2, 0 },
        { 6, 120, 0, 1700000001400LL, "cam-6.m4s", "cam-init-0.mp4", p6, 1, 1 },
    };
    le_m3u8_report rep[1] = { { "cam_360p.m3u8", 6, 0 } };
    le_m3u8_opts o;
    memset(&o, 0, sizeof(o));
    o.version = 9;
    o.independent_segments = 0;
    o.part_target_ms = 200;
    o.part_hold_back_ms = 600;
    o.can_skip_until_ms = 6000;
    o.preload_hint_uri = "cam-6.1.m4s";
    o.reports = rep;
    o.nreports = 1;
    char *t = build(s, 3, &o, b);
    const char *want =
        "#EXTM3U\n"
        "#EXT-X-VERSION:9\n"
        "#EXT-X-TARGETDURATION:1\n"
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=0.600\n"
        "#EXT-X-PART-INF:PART-TARGET=0.200\n"
        "#EXT-X-MEDIA-SEQUENCE:4\n"
        "#EXT-X-MAP:URI=\"cam-init-0.mp4\"\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n"
        "#EXTINF:1.000,\ncam-4.m4s\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:21.000Z\n"
        "#EXT-X-PART:DURATION=0.200,URI=\"cam-5.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PART:DURATION=0.200,URI=\"cam-5.1.m4s\"\n"
        "#EXTINF:0.400,\ncam-5.m4s\n"
        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:21.400Z\n"
        "#EXT-X-PART:DURATION=0.120,URI=\"cam-6.0.m4s\",INDEPENDENT=YES\n"
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"cam-6.1.m4s\"\n"
        "#EXT-X-RENDITION-REPORT:URI=\"cam_360p.m3u8\",LAST-MSN=6,LAST-PART=0\n";
    is_str(t, want, "lowlatency playlist, exact text");
    is_int(le_m3u8_target(s, 3, 0), 1, "the open segment does not count for the target");
    s[2].duration_ms = 5000;   /* an open segment longer than the rest: still no EXTINF */
    is_int(le_m3u8_target(s, 3, 0), 1, "open segment ignored however long");

    /* A delta update: two segments skipped, the map written again before
     * the first listed segment, media sequence counting the skipped ones. */
    o.skipped = 2;
    o.preload_hint_uri = NULL;
    o.nreports = 0;
    t = build(s + 1, 2, &o, b);
    ok(strstr(t, "#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n#EXT-X-MAP:URI=\"cam-init-0.mp4\"\n") != NULL,
       "delta: media sequence of the first skipped, EXT-X-SKIP, map again");
    ok(strstr(t, "cam-4.m4s") == NULL, "delta: skipped segment not listed");
    ok(strstr(t, "PRELOAD-HINT") == NULL && strstr(t, "RENDITION-REPORT") == NULL, "no hint, no report");

    /* A new init section (after a discontinuity) is announced again; the
     * same one is not repeated. */
    le_m3u8_seg m[3] = {
        { 1, 2000, 0, 0, "a-1.m4s", "a-init-0.mp4", NULL, 0, 0 },
        { 2, 2000, 0, 0, "a-2.m4s", "a-init-0.mp4", NULL, 0, 0 },
        { 3, 2000, 1, 0, "a-3.m4s", "a-init-1.mp4", NULL, 0, 0 },
    };
    memset(&o, 0, sizeof(o));
    o.version = 6;
    o.independent_segments = 1;
    t = build(m, 3, &o, b);
    is_str(t,
           "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-TARGETDURATION:2\n"
           "#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-MAP:URI=\"a-init-0.mp4\"\n#EXTINF:2.000,\na-1.m4s\n"
           "#EXTINF:2.000,\na-2.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"a-init-1.mp4\"\n"
           "#EXTINF:2.000,\na-3.m4s\n",
           "fmp4 playlist: map once per init section, after the discontinuity");
    ok(strstr(t, "SERVER-CONTROL") == NULL && strstr(t, "PART-INF") == NULL, "fmp4: no LL tags");
}

int main(void)
{
    le_buf b = { 0 };
    le_m3u8_seg s[4] = {
        { 10, 2000, 0, 0, "cam-10.ts", NULL, NULL, 0, 0 },
        { 11, 2040, 0, 0, "cam-11.ts", NULL, NULL, 0, 0 },
        { 12, 1960, 1, 0, "cam-12.ts", NULL, NULL, 0, 0 },
        { 13, 2000, 0, 0, "cam-13.ts", NULL, NULL, 0, 0 },
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
    le_m3u8_seg e[2] = { { 0, 2000, 0, 0, "a-0.ts", NULL, NULL, 0, 0 }, { 1, 1000, 0, 0, "a-1.ts", NULL, NULL, 0, 0 } };
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
    test_lowlatency(&b);
    le_buf_free(&b);
    return done_testing();
}
