/* transcode/template.h: standard and custom templates, output sizes (aspect,
 * even, never upscale, portrait), fps and bitrate, rendition names. */
#include "tap.h"
#include "core/err.h"
#include "transcode/template.h"

#include <string.h>

static le_trans_out out_of(const char *name, int w, int h, double fps)
{
    le_trans_tpl t;
    le_trans_out o = { 0 };
    if (le_trans_std(name, &t) != LE_OK || le_trans_output(&t, w, h, fps, &o) != LE_OK)
        o.width = -1;
    return o;
}

static le_trans_tpl custom(const char *name, int w, int h, int fps, int kbps, const char *type)
{
    le_trans_tpl t;
    memset(&t, 0, sizeof(t));
    t.custom = 1;
    snprintf(t.name, sizeof(t.name), "%s", name);
    snprintf(t.type, sizeof(t.type), "%s", type);
    t.width = w;
    t.height = h;
    t.fps = fps;
    t.kbps = kbps;
    return t;
}

static void test_std(void)
{
    static const struct { const char *n; int h, kbps; } want[] = {
        { "lld", 360, 470 }, { "lsd", 432, 680 }, { "lhd", 648, 1500 }, { "lud", 1080, 2500 },
        { "ld", 360, 330 },  { "sd", 432, 480 },  { "hd", 648, 1050 },  { "ud", 1080, 1750 },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        le_trans_tpl t;
        ok(le_trans_std(want[i].n, &t) == LE_OK && t.height == want[i].h && t.kbps == want[i].kbps &&
               !t.custom && t.fps == 30 && t.mode == LE_TRANS_ONDEMAND,
           "standard %s: short side %d, cap %d kbit/s", want[i].n, want[i].h, want[i].kbps);
    }
    le_trans_tpl t;
    is_int(le_trans_std("LLD", &t), LE_ENOTFOUND, "names are case-sensitive");
    is_int(le_trans_std("xld", &t), LE_ENOTFOUND, "an unknown name is not standard");
    ok(!le_trans_is_std("") && le_trans_is_std("ud"), "le_trans_is_std");
}

static void test_sizes(void)
{
    le_trans_out o = out_of("lld", 1280, 720, 30);
    ok(o.width == 640 && o.height == 360 && o.kbps == 470 && o.fps == 30, "720p30 -> lld 640x360, 470 kbit/s, 30 fps");
    o = out_of("lsd", 1920, 1080, 25);
    ok(o.width == 768 && o.height == 432 && o.kbps == 680, "1080p -> lsd 768x432");
    o = out_of("lhd", 1920, 1080, 25);
    ok(o.width == 1152 && o.height == 648 && o.kbps == 1500, "1080p -> lhd 1152x648");
    o = out_of("lud", 1920, 1080, 25);
    ok(o.width == 1920 && o.height == 1080 && o.kbps == 2500, "1080p -> lud 1920x1080");
    o = out_of("ld", 1280, 720, 25);
    ok(o.width == 640 && o.height == 360 && o.kbps == 330, "ld: the size of lld at its lower cap");
    /* aspect ratio kept: 4:3 and 2.35:1 */
    o = out_of("lld", 640, 480, 25);
    ok(o.width == 480 && o.height == 360, "4:3 640x480 -> lld 480x360 (got %dx%d)", o.width, o.height);
    o = out_of("lld", 1920, 818, 25);
    ok(o.width == 844 && o.height == 360, "2.35:1 1920x818 -> lld 844x360 (844.98 rounds to even 844) (got %dx%d)", o.width, o.height);
    /* even numbers: 1366x768 -> 360 high is 640.3 wide */
    o = out_of("lld", 1366, 768, 25);
    ok(o.width == 640 && o.height == 360 && o.width % 2 == 0, "1366x768 -> 640x360 (got %dx%d)", o.width, o.height);
    o = out_of("lsd", 1000, 750, 25);
    ok(o.width == 576 && o.height == 432, "1000x750 -> lsd 576x432 (got %dx%d)", o.width, o.height);
    o = out_of("lld", 1001, 563, 25);
    ok(o.width % 2 == 0 && o.height % 2 == 0 && o.height == 360, "odd source: even output %dx%d", o.width, o.height);
}

static void test_no_upscale(void)
{
    le_trans_out o = out_of("lud", 1280, 720, 30);
    ok(o.width == 1280 && o.height == 720, "720p -> lud stays 1280x720 (got %dx%d)", o.width, o.height);
    /* 921600 / 2073600 of the template's pixels: 2500 * 0.444 = 1111 */
    is_int(o.kbps, 1111, "... with the bitrate scaled by the pixel count");
    o = out_of("lld", 320, 180, 15);
    ok(o.width == 320 && o.height == 180 && o.fps == 15, "180p -> lld stays 320x180 at 15 fps");
    is_int(o.kbps, 470 / 4 + 1, "... bitrate floored at a quarter of the cap (118)");
    o = out_of("lld", 641, 361, 25);
    ok(o.width == 640 && o.height == 360, "an odd source at the template's size rounds down to even");
    o = out_of("lhd", 2, 2, 25);
    ok(o.width == 2 && o.height == 2, "a 2x2 source stays 2x2");
}

static void test_portrait(void)
{
    le_trans_out o = out_of("lld", 720, 1280, 30);
    ok(o.width == 360 && o.height == 640, "portrait 720x1280 -> lld 360x640 (short side 360; got %dx%d)", o.width,
       o.height);
    o = out_of("lhd", 1080, 1920, 30);
    ok(o.width == 648 && o.height == 1152, "portrait 1080x1920 -> lhd 648x1152");
    o = out_of("lud", 720, 1280, 30);
    ok(o.width == 720 && o.height == 1280, "portrait 720x1280 -> lud not upscaled");
    o = out_of("lld", 480, 480, 30);
    ok(o.width == 360 && o.height == 360, "square 480x480 -> lld 360x360");
    /* extreme aspect: the long side stays within 1920 */
    o = out_of("lud", 8000, 1000, 30);
    ok(o.width == 1920 && o.height == 240, "8:1 8000x1000 -> lud within 1920 (got %dx%d)", o.width, o.height);
}

static void test_fps(void)
{
    le_trans_out o = out_of("lld", 1280, 720, 60);
    ok(o.fps == 30, "60 fps source -> 30 (the standard cap)");
    o = out_of("lld", 1280, 720, 23.976);
    ok(o.fps > 23.97 && o.fps < 23.98, "23.976 fps kept (never above the source)");
    o = out_of("lld", 1280, 720, 0);
    ok(o.fps == 30, "unknown source fps -> the template's");
    le_trans_tpl t = custom("c15", 640, 360, 15, 500, "h264");
    le_trans_out co;
    ok(le_trans_output(&t, 1280, 720, 30, &co) == LE_OK && co.fps == 15, "custom FPS 15 under a 30 fps source");
    ok(le_trans_output(&t, 1280, 720, 10, &co) == LE_OK && co.fps == 10, "custom FPS 15 over a 10 fps source: 10");
}

static void test_custom(void)
{
    const char *bad, *why;
    le_trans_tpl t = custom("LDtest", 720, 1280, 25, 2400, "h264");   /* the API reference's example */
    is_int(le_trans_custom_check(&t, &bad, &why), LE_OK, "the example Height=1280 Width=720 FPS=25 is valid");
    le_trans_out o;
    ok(le_trans_output(&t, 1920, 1080, 30, &o) == LE_OK && o.width == 720 && o.height == 406 && o.kbps == 2400,
       "custom 720x1280 box on 1080p: 720x406 keeps 16:9 (got %dx%d, %d)", o.width, o.height, o.kbps);
    t = custom("wide", 1280, 720, 30, 2000, "h264-nbhd");
    ok(le_trans_custom_check(&t, &bad, &why) == LE_OK && le_trans_output(&t, 1920, 1080, 30, &o) == LE_OK &&
           o.width == 1280 && o.height == 720 && o.kbps == 2000,
       "custom 1280x720 h264-nbhd on 1080p -> 1280x720 at 2000");
    ok(le_trans_output(&t, 640, 360, 30, &o) == LE_OK && o.width == 640 && o.height == 360 && o.kbps == 500,
       "... on 360p: not upscaled, 2000 * 1/4 = 500 kbit/s");

    static const struct { const char *name; int w, h, fps, kbps; const char *type, *bad; } cases[] = {
        { "c", 99, 720, 25, 100, "h264", "Width" },     { "c", 720, 99, 25, 100, "h264", "Height" },
        { "c", 100, 100, 25, 100, "h264", NULL },        { "c", 1921, 720, 25, 100, "h264", "Width" },
        { "c", 1080, 1920, 25, 100, "h264", NULL },      { "c", 1920, 1081, 25, 100, "h264", "Height" },
        { "c", 1081, 1081, 25, 100, "h264", "Height" },   { "c", 1920, 1080, 25, 100, "h264", NULL },
        { "c", 640, 360, 0, 100, "h264", "FPS" },        { "c", 640, 360, 31, 100, "h264", "FPS" },
        { "c", 640, 360, 1, 100, "h264", NULL },         { "c", 640, 360, 30, 0, "h264", "VideoBitrate" },
        { "c", 640, 360, 30, 6001, "h264", "VideoBitrate" }, { "c", 640, 360, 30, 6000, "h264", NULL },
        { "c", 640, 360, 30, 1, "h265", "TemplateType" }, { "lld", 640, 360, 30, 1, "h264", "Template" },
        { "my_t", 640, 360, 30, 1, "h264", "Template" },  { "", 640, 360, 30, 1, "h264", "Template" },
        { "A-1", 640, 360, 30, 1, "h264", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t = custom(cases[i].name, cases[i].w, cases[i].h, cases[i].fps, cases[i].kbps, cases[i].type);
        int rc = le_trans_custom_check(&t, &bad, &why);
        if (cases[i].bad)
            ok(rc == LE_EINVAL && bad && strcmp(bad, cases[i].bad) == 0 && why,
               "custom %s %dx%d fps %d %d kbit/s %s: %s refused (%s)", cases[i].name, cases[i].w, cases[i].h,
               cases[i].fps, cases[i].kbps, cases[i].type, cases[i].bad, bad ? bad : "accepted");
        else
            ok(rc == LE_OK, "custom %s %dx%d fps %d %d kbit/s %s accepted", cases[i].name, cases[i].w, cases[i].h,
               cases[i].fps, cases[i].kbps, cases[i].type);
    }
    char n64[70];
    memset(n64, 'a', 64);
    n64[64] = '\0';
    ok(!le_trans_custom_name_ok(n64) && le_trans_custom_name_ok(n64 + 1), "custom names: at most 63 bytes");
    ok(!le_trans_custom_name_ok("abr") && !le_trans_custom_name_ok("ABR") && le_trans_custom_name_ok("abr2"),
       "custom names: abr is the master playlist's suffix, refused");
    ok(le_trans_output(&t, 1, 720, 30, &o) == LE_EINVAL && le_trans_output(&t, 20000, 720, 30, &o) == LE_EINVAL,
       "source sizes under 2 or over 16384 refused");
}

static void test_names(void)
{
    char out[32], src[32];
    size_t w = 99;
    ok(le_trans_rendition_name("cam1", "lld", out, sizeof(out)) == LE_OK && strcmp(out, "cam1_lld") == 0,
       "rendition name cam1_lld");
    is_int(le_trans_rendition_name("a-very-long-stream-name", "LDtest", out, 16), LE_ETOOBIG, "... too long");
    const char *tpls[] = { "lld", "ld", "my-HD", "HD" };
    ok(le_trans_split("cam1_lld", tpls, 4, src, sizeof(src), &w) == LE_OK && strcmp(src, "cam1") == 0 && w == 0,
       "cam1_lld -> cam1 + lld");
    ok(le_trans_split("cam1_ld", tpls, 4, src, sizeof(src), &w) == LE_OK && strcmp(src, "cam1") == 0 && w == 1,
       "cam1_ld -> cam1 + ld");
    ok(le_trans_split("cam_1_my-HD", tpls, 4, src, sizeof(src), &w) == LE_OK && strcmp(src, "cam_1") == 0 && w == 2,
       "cam_1_my-HD -> cam_1 + my-HD (the longest match)");
    ok(le_trans_split("a_x_lld", tpls, 4, src, sizeof(src), &w) == LE_OK && strcmp(src, "a_x") == 0,
       "a_x_lld -> a_x");
    is_int(le_trans_split("cam1", tpls, 4, src, sizeof(src), &w), LE_ENOTFOUND, "cam1: not a rendition");
    is_int(le_trans_split("_lld", tpls, 4, src, sizeof(src), &w), LE_ENOTFOUND, "_lld: empty source");
    is_int(le_trans_split("cam1lld", tpls, 4, src, sizeof(src), &w), LE_ENOTFOUND, "cam1lld: no '_'");
    is_int(le_trans_split("cam1_lsd", tpls, 4, src, sizeof(src), &w), LE_ENOTFOUND, "cam1_lsd: lsd not configured");
    is_int(le_trans_split("cam1_hd", tpls, 4, src, sizeof(src), &w), LE_ENOTFOUND, "names are case-sensitive");
    is_int(le_trans_split("cam1_lld", tpls, 4, src, 4, &w), LE_ETOOBIG, "a small buffer: LE_ETOOBIG");
    is_int(le_trans_split("cam1_lld", tpls, 0, src, sizeof(src), &w), LE_ENOTFOUND, "no templates configured");
}

int main(void)
{
    test_std();
    test_sizes();
    test_no_upscale();
    test_portrait();
    test_fps();
    test_custom();
    test_names();
    return done_testing();
}
