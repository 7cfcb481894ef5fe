/* record/index.h: entry JSON round trip and refusals, the VOD playlist
 * builder (EXTINF, discontinuities, ENDLIST), slice URIs. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "record/config.h"
#include "record/index.h"
#include "tap.h"

static void round_trip(void)
{
    le_rec_entry e, d;
    memset(&e, 0, sizeof(e));
    e.fmt = LE_REC_M3U8;
    e.slice = 1;
    snprintf(e.key, sizeof(e.key), "record/app/s\"q/1700000000_3.ts");
    snprintf(e.bucket, sizeof(e.bucket), "bkt");
    snprintf(e.endpoint, sizeof(e.endpoint), "oss-cn-hangzhou.aliyuncs.com");
    snprintf(e.url, sizeof(e.url), "http://h:1/record/bkt/record/app/s%%22q/1700000000_3.ts");
    e.start_ms = 1700000000123LL;
    e.end_ms = 1700000004123LL;
    e.duration_ms = 3999;
    e.width = 640;
    e.height = 360;
    e.bytes = 5000000000ULL;
    snprintf(e.node, sizeof(e.node), "node-a");
    le_buf b = { 0 };
    le_rec_entry_to_json(&b, &e);
    ok(le_rec_entry_from_json((const char *)b.p, b.len, &d) == LE_OK, "entry decodes");
    ok(d.fmt == LE_REC_M3U8 && d.slice == 1, "fmt and slice kept");
    ok(strcmp(d.key, e.key) == 0 && strcmp(d.bucket, e.bucket) == 0 && strcmp(d.url, e.url) == 0 &&
           strcmp(d.endpoint, e.endpoint) == 0 && strcmp(d.node, e.node) == 0,
       "strings kept (quote escaped)");
    ok(d.start_ms == e.start_ms && d.end_ms == e.end_ms && d.duration_ms == 3999 && d.width == 640 &&
           d.height == 360 && d.bytes == 5000000000ULL,
       "numbers kept");
    ok(strstr((const char *)b.p, "\"fmt\":\"m3u8\"") != NULL, "fmt is written by name");
    le_buf_free(&b);

    /* The documented minimal form: duration defaults to end - start. */
    const char *min = "{\"fmt\":\"flv\",\"key\":\"a/b.flv\",\"bucket\":\"x\",\"start\":1000,\"end\":61000}";
    ok(le_rec_entry_from_json(min, strlen(min), &d) == LE_OK && d.duration_ms == 60000 && d.slice == 0 &&
           d.fmt == LE_REC_FLV,
       "minimal entry: whole file, duration from the times");
    static const char *const bad[] = {
        "", "[]", "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"x\",\"start\":1}",          /* no end */
        "{\"fmt\":\"avi\",\"key\":\"a\",\"bucket\":\"x\",\"start\":1,\"end\":2}",           /* format */
        "{\"fmt\":\"flv\",\"key\":\"\",\"bucket\":\"x\",\"start\":1,\"end\":2}",            /* empty key */
        "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"x\",\"start\":5,\"end\":2}",           /* end < start */
        "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"x\",\"start\":\"1\",\"end\":2}",       /* string time */
        "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"x\",\"start\":1,\"end\":2,\"slice\":1}", /* slice not bool */
        "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"x\",\"start\":1,\"end\":2,\"duration\":9223372036854775807}",
        "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"x\",\"start\":1,\"end\":9223372036854775807}",
        "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"x\",\"start\":1,\"end\":2678400002}", /* 31 days + 1 ms, no duration */
        "{\"fmt\":\"flv\",\"key\":\"a\",\"bucket\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\","
        "\"start\":1,\"end\":2}", /* bucket too long */
        NULL
    };
    for (int i = 0; bad[i]; i++) {
        memset(&d, 0x55, sizeof(d));
        int rc = le_rec_entry_from_json(bad[i], strlen(bad[i]), &d);
        ok(rc == LE_EPROTO && d.key[0] == '\0', "refused: %s", bad[i]);
    }
}

static void playlist(void)
{
    /* Three contiguous 4 s slices, a gap, one more, then a resolution change. */
    le_rec_slice s[5] = {
        { 10000, 14000, 4000, 640, 360, "http://h/record/b/s0.ts" },
        { 14000, 18000, 4000, 640, 360, "http://h/record/b/s1.ts" },
        { 18300, 22300, 4000, 640, 360, "http://h/record/b/s2.ts" },   /* 300 ms jitter: contiguous */
        { 60000, 63500, 3500, 640, 360, "http://h/record/b/s3.ts" },   /* gap */
        { 63500, 67500, 4000, 1280, 720, "http://h/record/b/s4.ts" },  /* new resolution */
    };
    le_buf b = { 0 };
    int64_t total = le_rec_m3u8_build(&b, s, 5);
    le_buf_u8(&b, 0);
    const char *t = (const char *)b.p;
    ok(total == 19500, "total duration is the sum (%lld)", (long long)total);
    ok(strncmp(t, "#EXTM3U\n", 8) == 0, "starts with EXTM3U");
    ok(strstr(t, "#EXT-X-PLAYLIST-TYPE:VOD\n") != NULL, "VOD");
    ok(strstr(t, "#EXT-X-TARGETDURATION:4\n") != NULL, "target duration 4");
    const char *end = strstr(t, "#EXT-X-ENDLIST\n");
    ok(end && end[15] == '\0', "ends with ENDLIST");
    int disc = 0;
    for (const char *p = t; (p = strstr(p, "#EXT-X-DISCONTINUITY\n")) != NULL; p++)
        disc++;
    ok(disc == 2, "two discontinuities (%d)", disc);
    ok(strstr(t, "#EXTINF:4.000,\nhttp://h/record/b/s2.ts\n#EXT-X-DISCONTINUITY\n"
                 "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:01:00.000Z\n#EXTINF:3.500,\n"
                 "http://h/record/b/s3.ts\n#EXT-X-DISCONTINUITY\n"
                 "#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:01:03.500Z\n#EXTINF:4.000,\nhttp://h/record/b/s4.ts\n") != NULL,
       "the discontinuities sit before the gap and the new resolution, each with its absolute start");
    ok(strstr(t, "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PROGRAM-DATE-TIME:1970-01-01T00:00:10.000Z\n#EXTINF:4.000,\n"
                 "http://h/record/b/s0.ts\n") != NULL,
       "the first slice carries the recording's absolute start");
    ok(strstr(t, "s0.ts\n#EXTINF:4.000,\nhttp://h/record/b/s1.ts") != NULL, "no discontinuity between contiguous");
    le_buf_free(&b);

    le_buf e = { 0 };
    ok(le_rec_m3u8_build(&e, s, 0) == 0 && e.len > 0, "empty list still a playlist");
    le_buf_free(&e);

    le_rec_entry x;
    memset(&x, 0, sizeof(x));
    snprintf(x.bucket, sizeof(x.bucket), "bk");
    snprintf(x.key, sizeof(x.key), "a/b/1.ts");
    char u[256];
    ok(strcmp(le_rec_slice_uri(&x, u, sizeof(u)), "/record/bk/a/b/1.ts") == 0, "no url: root-relative");
    snprintf(x.url, sizeof(x.url), "http://n:8080/record/bk/a/b/1.ts");
    ok(strcmp(le_rec_slice_uri(&x, u, sizeof(u)), x.url) == 0, "url kept");
}

int main(void)
{
    round_trip();
    playlist();
    return done_testing();
}
