/* Scene graphs: descriptions built from layouts and components, parsed,
 * configured and run with libavfilter; run-time commands. */
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "studio/graph.h"
#include "tap.h"

/* libavfilter 8 (FFmpeg 5.1): drawtext's "reinit" command swaps in a new
 * context and frees the old one without freeing its option strings, so
 * the strings set when the filter was created leak (about 80 bytes plus the
 * text per reinit; docs/STUDIO.md). Only option strings are suppressed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:avfilter_init_dict\nleak:av_opt_set_defaults2\n";
}
/* libav* have no frame pointers: the slow unwinder gives stacks that reach
 * the functions named above. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

static char desc[LE_SG_GRAPH_MAX];

typedef struct run {
    AVFilterGraph *g;
    AVFilterContext *src[LE_SG_MAX_INPUTS], *asrc[LE_SG_MAX_INPUTS], *isrc[LE_SG_MAX_IMAGES];
    AVFilterContext *vsink, *asink;
} run;

static AVFilterInOut *chain(AVFilterInOut *list, const char *name, AVFilterContext *f)
{
    AVFilterInOut *io = avfilter_inout_alloc();
    io->name = av_strdup(name);
    io->filter_ctx = f;
    io->pad_idx = 0;
    io->next = list;
    return io;
}

/* Buffer sources for every pad of s (video inputs sw x sh yuv420p, images
 * 64x64 rgba, audio 44100 Hz mono s16), sinks on [o0] and [a0]. 0 or the
 * AVERROR of the failing step. */
static int setup(run *r, const le_sg_scene *s, const char *d, int sw, int sh)
{
    memset(r, 0, sizeof *r);
    r->g = avfilter_graph_alloc();
    r->g->nb_threads = 1;
    AVFilterInOut *outs = NULL, *ins = NULL;
    char args[256], name[32];
    int rc = 0;
    for (int k = 0; k < s->ninputs && rc >= 0; k++) {
        snprintf(args, sizeof args, "video_size=%dx%d:pix_fmt=yuv420p:time_base=1/1000:pixel_aspect=1/1:frame_rate=25",
                 sw, sh);
        snprintf(name, sizeof name, "in%d", k);
        rc = avfilter_graph_create_filter(&r->src[k], avfilter_get_by_name("buffer"), name, args, NULL, r->g);
        if (rc >= 0)
            outs = chain(outs, name, r->src[k]);
    }
    for (int k = 0; k < s->nimages && rc >= 0; k++) {
        snprintf(name, sizeof name, "img%d", k);
        rc = avfilter_graph_create_filter(&r->isrc[k], avfilter_get_by_name("buffer"), name,
                                          "video_size=64x64:pix_fmt=rgba:time_base=1/1000:pixel_aspect=1/1", NULL,
                                          r->g);
        if (rc >= 0)
            outs = chain(outs, name, r->isrc[k]);
    }
    for (int k = 0; k < s->naudio_inputs && rc >= 0; k++) {
        snprintf(name, sizeof name, "ain%d", k);
        rc = avfilter_graph_create_filter(&r->asrc[k], avfilter_get_by_name("abuffer"), name,
                                          "sample_rate=44100:sample_fmt=s16:channel_layout=mono:time_base=1/44100",
                                          NULL, r->g);
        if (rc >= 0)
            outs = chain(outs, name, r->asrc[k]);
    }
    if (rc >= 0)
        rc = avfilter_graph_create_filter(&r->vsink, avfilter_get_by_name("buffersink"), "o0", NULL, NULL, r->g);
    if (rc >= 0)
        ins = chain(ins, "o0", r->vsink);
    if (rc >= 0 && s->naudio > 0) {
        rc = avfilter_graph_create_filter(&r->asink, avfilter_get_by_name("abuffersink"), "a0", NULL, NULL, r->g);
        if (rc >= 0)
            ins = chain(ins, "a0", r->asink);
    }
    if (rc >= 0)
        rc = avfilter_graph_parse_ptr(r->g, d, &ins, &outs, NULL);
    /* every pad must have been used by the description */
    if (rc >= 0 && (ins || outs))
        rc = AVERROR(EINVAL);
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    if (rc >= 0)
        rc = avfilter_graph_config(r->g, NULL);
    return rc;
}

static void teardown(run *r)
{
    avfilter_graph_free(&r->g);
}

static AVFrame *solid(int w, int h, int y, int u, int v, int64_t pts)
{
    AVFrame *f = av_frame_alloc();
    f->width = w;
    f->height = h;
    f->format = AV_PIX_FMT_YUV420P;
    f->sample_aspect_ratio = (AVRational){ 1, 1 };
    av_frame_get_buffer(f, 0);
    for (int r = 0; r < h; r++)
        memset(f->data[0] + r * f->linesize[0], y, (size_t)w);
    for (int r = 0; r < h / 2; r++) {
        memset(f->data[1] + r * f->linesize[1], u, (size_t)w / 2);
        memset(f->data[2] + r * f->linesize[2], v, (size_t)w / 2);
    }
    f->pts = pts;
    return f;
}

static int push(AVFilterContext *src, AVFrame *f)
{
    int rc = av_buffersrc_add_frame_flags(src, f, AV_BUFFERSRC_FLAG_KEEP_REF);
    av_frame_free(&f);
    return rc;
}

/* Luma and U at (x, y). */
static int Y(const AVFrame *f, int x, int y) { return f->data[0][y * f->linesize[0] + x]; }
static int U(const AVFrame *f, int x, int y) { return f->data[1][(y / 2) * f->linesize[1] + x / 2]; }

static int near(int a, int b) { return abs(a - b) <= 6; }

/* Red (81, 90, 240) and blue (41, 240, 110) in BT.601 limited range. */
#define RED 81, 90, 240
#define BLUE 41, 240, 110

static le_sg_scene pip_scene(void)
{
    le_sg_scene s;
    memset(&s, 0, sizeof s);
    le_sg_template_size("lp_hd", &s.width, &s.height);
    s.ninputs = 2;
    s.nlayers = 2;
    s.layers[0] = (le_sg_video_layer){ 0, LE_SG_FILL_NONE, { 1, 1, 0, 0, LE_SG_REF_TOP_LEFT } };
    s.layers[1] = (le_sg_video_layer){ 1, LE_SG_FILL_NONE, { 0.25, 0.25, 0.7, 0.7, LE_SG_REF_TOP_LEFT } };
    return s;
}

static void test_names(void)
{
    int w = 0, h = 0;
    ok(le_sg_template_size("lp_sd", &w, &h) == LE_OK && w == 854 && h == 480, "lp_sd is 854x480");
    ok(le_sg_template_size("lp_ud_v", &w, &h) == LE_OK && w == 1080 && h == 1920, "lp_ud_v is 1080x1920");
    ok(le_sg_template_size("lp_ld", &w, &h) == LE_OK && w == 640 && h == 360, "lp_ld is 640x360");
    is_int(le_sg_template_size("lp_xx", &w, &h), LE_ENOTFOUND, "unknown template");
    le_sg_refer r;
    le_sg_fill f;
    le_sg_effect e;
    le_sg_channel c;
    ok(le_sg_refer_parse("bottomRight", &r) == LE_OK && r == LE_SG_REF_BOTTOM_RIGHT, "bottomRight");
    ok(le_sg_refer_parse("rightCenter", &r) == LE_OK && r == LE_SG_REF_RIGHT_CENTER, "rightCenter");
    is_int(le_sg_refer_parse("BottomRight", &r), LE_EINVAL, "names are case-sensitive");
    ok(le_sg_fill_parse("fit", &f) == LE_OK && f == LE_SG_FILL_FIT, "fit");
    ok(le_sg_fill_parse(NULL, &f) == LE_OK && f == LE_SG_FILL_NONE, "FillMode defaults to none");
    ok(le_sg_effect_parse("animateV", &e) == LE_OK && e == LE_SG_FX_ANIMATE_V, "animateV");
    ok(le_sg_channel_parse("leftChannel", &c) == LE_OK && c == LE_SG_CH_LEFT, "leftChannel");
    is_int(le_sg_channel_parse("left", &c), LE_EINVAL, "left is not a ValidChannel");
    const char *ff = le_sg_font_file("KaiTi");
    ok(ff && strstr(ff, "/usr/share/fonts/"), "KaiTi maps to a font file present here (%s)", ff ? ff : "none");
    ff = le_sg_font_file("NoSuchFont");
    ok(ff != NULL, "an unknown FontName falls back to a font (%s)", ff ? ff : "none");
}

static void test_strings(void)
{
    le_sg_scene s = pip_scene();
    is_int(le_sg_build(&s, desc, sizeof desc), LE_OK, "PiP builds");
    printf("# %s\n", desc);
    ok(strstr(desc, "[in0]split=2[in0_0][in0_1]") != NULL, "in0 is split between canvas and layer");
    ok(strstr(desc, "pad=1280:720:0:0:black") != NULL, "black 1280x720 canvas");
    ok(strstr(desc, "[in0_1]scale@L0=w=-2:h=720,setsar=1[L0]") != NULL, "main scaled to the output height");
    ok(strstr(desc, "[in1]scale@L1=w=-2:h=180") != NULL, "inset height 0.25 of 720");
    ok(strstr(desc, "overlay@L1=x=896:y=504:") != NULL, "inset at 0.7, 0.7");
    ok(strstr(desc, "[o0]") && !strstr(desc, "[a0]"), "video out, no audio out");

    s.layers[1].place.refer = LE_SG_REF_BOTTOM_RIGHT;
    le_sg_build(&s, desc, sizeof desc);
    ok(strstr(desc, "overlay@L1=x=896-w:y=504-h:") != NULL, "bottomRight places the inset's corner");
    s.layers[1].place.refer = LE_SG_REF_CENTER;
    le_sg_build(&s, desc, sizeof desc);
    ok(strstr(desc, "overlay@L1=x=896-w/2:y=504-h/2:") != NULL, "center");

    /* side by side, fit: boxes of 640x720, pictures centred in them */
    le_sg_scene b;
    memset(&b, 0, sizeof b);
    b.width = 1280;
    b.height = 720;
    b.ninputs = 2;
    b.nlayers = 2;
    b.layers[0] = (le_sg_video_layer){ 0, LE_SG_FILL_FIT, { 1, 0.5, 0, 0, LE_SG_REF_TOP_LEFT } };
    b.layers[1] = (le_sg_video_layer){ 1, LE_SG_FILL_FIT, { 1, 0.5, 0.5, 0, LE_SG_REF_TOP_LEFT } };
    is_int(le_sg_build(&b, desc, sizeof desc), LE_OK, "side by side builds");
    printf("# %s\n", desc);
    ok(strstr(desc, "scale@L0=w=640:h=720:force_original_aspect_ratio=decrease") != NULL, "left box 640x720");
    ok(strstr(desc, "overlay@L0=x=0+(640-w)/2:y=0+(720-h)/2") != NULL, "left picture centred in its box");
    ok(strstr(desc, "overlay@L1=x=640+(640-w)/2:y=0+(720-h)/2") != NULL, "right picture centred in its box");

    /* text with awkward characters, escaped for both parser levels */
    b.ncomponents = 1;
    b.comps[0] = (le_sg_component){ .type = LE_SG_COMP_TEXT, .place = { 0, 0, 0.1, 0.9, LE_SG_REF_BOTTOM_LEFT },
                                    .effect = LE_SG_FX_ANIMATE_H, .text = "it's [live]: a,b;c=%{pts}",
                                    .color = "#00ff00", .size_norm = 0.05, .border_width_norm = 0.1,
                                    .border_color = "0x000000" };
    is_int(le_sg_build(&b, desc, sizeof desc), LE_OK, "text builds");
    printf("# %s\n", desc);
    ok(strstr(desc, "drawtext@C0=expansion=none:fontfile=/") && strstr(desc, ":fontsize=36:borderw=4:bordercolor=0x000000:"),
       "font size 0.05 of 720, border 0.1 of it");
    ok(strstr(desc, "fontcolor=0x00ff00") != NULL, "#rrggbb colour");
    ok(strstr(desc, "w-mod(t*160\\,w+tw)") != NULL, "animateH scrolls an eighth of the width per second");

    /* audio */
    le_sg_scene a = pip_scene();
    a.naudio_inputs = 2;
    a.naudio = 2;
    a.audio[0] = (le_sg_audio_layer){ 0, 1.0, LE_SG_CH_ALL };
    a.audio[1] = (le_sg_audio_layer){ 1, 0.5, LE_SG_CH_LEFT };
    is_int(le_sg_build(&a, desc, sizeof desc), LE_OK, "audio builds");
    printf("# %s\n", desc);
    ok(strstr(desc, "pan=stereo|c0=c0|c1=c0,volume@A1=volume=0.5") != NULL, "leftChannel, VolumeRate 0.5");
    ok(strstr(desc, "[A0][A1]amix@mix=inputs=2") && strstr(desc, "[a0]"), "mixed into [a0]");

    /* bad values and bounds */
    le_sg_scene e = pip_scene();
    e.layers[1].input = 2;
    is_int(le_sg_build(&e, desc, sizeof desc), LE_EINVAL, "a layer on a missing input");
    e = pip_scene();
    e.layers[1].place.x = 1.5;
    is_int(le_sg_build(&e, desc, sizeof desc), LE_EINVAL, "a position over 1");
    e = pip_scene();
    e.layers[0].fill = LE_SG_FILL_FIT;
    e.layers[0].place.width_norm = 0;
    is_int(le_sg_build(&e, desc, sizeof desc), LE_EINVAL, "fit needs a width");
    e = b;
    e.comps[0].color = "red";
    is_int(le_sg_build(&e, desc, sizeof desc), LE_EINVAL, "a colour not in hex");
    static char longtext[LE_SG_TEXT_MAX + 2];
    memset(longtext, 'x', sizeof longtext - 1);
    e = b;
    e.comps[0].text = longtext;
    is_int(le_sg_build(&e, desc, sizeof desc), LE_ETOOBIG, "a text over the bound");
    memset(longtext, '\'', LE_SG_TEXT_MAX);
    longtext[LE_SG_TEXT_MAX] = '\0';
    is_int(le_sg_build(&e, desc, sizeof desc), LE_OK, "the longest text of quotes fits");
    s = pip_scene();
    char small[64];
    is_int(le_sg_build(&s, small, sizeof small), LE_ETOOBIG, "a small buffer is too small");
    is_int(small[0], 0, "and is left empty");
}

static void test_configure(void)
{
    le_sg_scene sc[8];
    const char *what[8] = { "PiP", "side by side fit", "text + image + audio", "portrait lp_sd_v, all refers",
                            "unused inputs", "duplicate source, empty layer", "audio inputs, no AudioLayers",
                            "13 inputs, the last (the standby slot) full frame with its audio" };
    for (int i = 0; i < 8; i++)
        sc[i] = pip_scene();
    sc[1].layers[0] = (le_sg_video_layer){ 0, LE_SG_FILL_FIT, { 1, 0.5, 0, 0, LE_SG_REF_TOP_LEFT } };
    sc[1].layers[1] = (le_sg_video_layer){ 1, LE_SG_FILL_FIT, { 1, 0.5, 0.5, 0, LE_SG_REF_TOP_LEFT } };
    sc[2].nimages = 1;
    sc[2].naudio_inputs = 2;
    sc[2].naudio = 2;
    sc[2].audio[0] = (le_sg_audio_layer){ 0, 1.0, LE_SG_CH_RIGHT };
    sc[2].audio[1] = (le_sg_audio_layer){ 1, 0.3, LE_SG_CH_ALL };
    sc[2].ncomponents = 2;
    sc[2].comps[0] = (le_sg_component){ .type = LE_SG_COMP_TEXT, .place = { 0.1, 0, 0.5, 0.5, LE_SG_REF_CENTER },
                                        .effect = LE_SG_FX_ANIMATE_V, .text = "导播台 it's: [a,b;c]",
                                        .font_name = "KaiTi", .border_width_norm = 0.2, .border_color = "0x0000ff" };
    sc[2].comps[1] = (le_sg_component){ .type = LE_SG_COMP_IMAGE, .place = { 0.1, 0, 0.9, 0.1, LE_SG_REF_TOP_RIGHT },
                                        .effect = LE_SG_FX_ANIMATE_H, .image = 0 };
    le_sg_template_size("lp_sd_v", &sc[3].width, &sc[3].height);
    sc[3].nlayers = 9;
    for (int r = 0; r < 9; r++)
        sc[3].layers[r] = (le_sg_video_layer){ r % 2, r % 2 ? LE_SG_FILL_FIT : LE_SG_FILL_NONE,
                                               { 0.2, 0.3, 0.5, 0.5, (le_sg_refer)r } };
    sc[4].ninputs = 3;
    sc[4].nimages = 1;
    sc[4].naudio_inputs = 3;
    sc[4].naudio = 1;
    sc[4].audio[0] = (le_sg_audio_layer){ 2, 2.0, LE_SG_CH_ALL };
    sc[5].nlayers = 3;
    sc[5].layers[1].input = -1;
    sc[5].layers[2] = (le_sg_video_layer){ 0, LE_SG_FILL_NONE, { 0, 0.3, 0.05, 0.05, LE_SG_REF_TOP_LEFT } };
    sc[6].naudio_inputs = 2;
    sc[7].ninputs = sc[7].naudio_inputs = LE_SG_MAX_INPUTS;
    sc[7].nlayers = 1;
    sc[7].layers[0] = (le_sg_video_layer){ LE_SG_MAX_INPUTS - 1, LE_SG_FILL_FIT, { 1, 1, 0, 0, LE_SG_REF_TOP_LEFT } };
    sc[7].naudio = 1;
    sc[7].audio[0] = (le_sg_audio_layer){ LE_SG_MAX_INPUTS - 1, 1.0, LE_SG_CH_ALL };
    for (int i = 0; i < 8; i++) {
        run r;
        int rc = le_sg_build(&sc[i], desc, sizeof desc);
        if (rc == LE_OK)
            rc = setup(&r, &sc[i], desc, 1280, 720);
        else
            memset(&r, 0, sizeof r);
        ok(rc == 0, "%s: parses and configures (%d)", what[i], rc);
        if (rc != 0)
            printf("# %s\n", desc);
        if (rc == 0) {
            is_int(av_buffersink_get_w(r.vsink), sc[i].width, "%s: output width", what[i]);
            is_int(av_buffersink_get_h(r.vsink), sc[i].height, "%s: output height", what[i]);
            is_int(av_buffersink_get_format(r.vsink), AV_PIX_FMT_YUV420P, "%s: yuv420p", what[i]);
        }
        if (rc == 0 && i == 2) {
            uint8_t *txt = NULL;
            AVFilterContext *dt = avfilter_graph_get_filter(r.g, "drawtext@C0");
            ok(dt && av_opt_get(dt, "text", AV_OPT_SEARCH_CHILDREN, &txt) >= 0 && txt
                   && strcmp((char *)txt, sc[2].comps[0].text) == 0,
               "the text reaches drawtext unchanged through both escaping levels (%s)", txt ? (char *)txt : "-");
            av_free(txt);
            ok(avfilter_graph_get_filter(r.g, "volume@A1") && avfilter_graph_get_filter(r.g, "amix@mix")
                   && avfilter_graph_get_filter(r.g, "overlay@C1") && avfilter_graph_get_filter(r.g, "scale@L1"),
               "filters carry their stable names");
        }
        teardown(&r);
    }
}

/* Mean luma difference from `bg` over a rectangle: how much was drawn. */
static int drawn(const AVFrame *f, int x0, int y0, int w, int h, int bg)
{
    int n = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            n += abs(Y(f, x, y) - bg) > 40;
    return n;
}

/* Side by side, fit: 16:9 pictures in 640x720 boxes are 640x360, centred
 * vertically, black above and below. */
static void test_fit_run(void)
{
    le_sg_scene s;
    memset(&s, 0, sizeof s);
    le_sg_template_size("lp_hd", &s.width, &s.height);
    s.ninputs = 2;
    s.nlayers = 2;
    s.layers[0] = (le_sg_video_layer){ 0, LE_SG_FILL_FIT, { 1, 0.5, 0, 0, LE_SG_REF_TOP_LEFT } };
    s.layers[1] = (le_sg_video_layer){ 1, LE_SG_FILL_FIT, { 1, 0.5, 1, 0, LE_SG_REF_TOP_RIGHT } };
    run r;
    int rc = le_sg_build(&s, desc, sizeof desc);
    if (rc == LE_OK)
        rc = setup(&r, &s, desc, 1280, 720);
    ok(rc == 0, "side by side configures (%d)", rc);
    if (rc != 0)
        return;
    AVFrame *out = av_frame_alloc();
    int got = 0;
    for (int64_t pts = 0; pts <= 80 && rc >= 0 && !got; pts += 40) {
        rc = push(r.src[0], solid(1280, 720, RED, pts));
        if (rc >= 0)
            rc = push(r.src[1], solid(1280, 720, BLUE, pts));
        if (rc >= 0 && av_buffersink_get_frame(r.vsink, out) >= 0)
            got = 1;
    }
    ok(got, "a side-by-side frame");
    if (got) {
        ok(near(U(out, 20, 200), 90) && near(U(out, 620, 520), 90), "left box red from y 180 to 539");
        ok(near(U(out, 660, 200), 240) && near(U(out, 1260, 520), 240), "right box blue from y 180 to 539");
        ok(near(Y(out, 300, 170), 16) && near(Y(out, 900, 550), 16) && near(U(out, 900, 550), 128),
           "black above and below the pictures");
    }
    av_frame_free(&out);
    teardown(&r);
}

/* An image component keeps its alpha and stays after its input ended. */
static void test_image(void)
{
    le_sg_scene s;
    memset(&s, 0, sizeof s);
    le_sg_template_size("lp_ld", &s.width, &s.height);
    s.ninputs = 1;
    s.nimages = 1;
    s.nlayers = 1;
    s.layers[0] = (le_sg_video_layer){ 0, LE_SG_FILL_NONE, { 1, 0, 0, 0, LE_SG_REF_TOP_LEFT } };
    s.ncomponents = 1;
    s.comps[0] = (le_sg_component){ .type = LE_SG_COMP_IMAGE, .place = { 0, 0, 0.5, 0.5, LE_SG_REF_TOP_LEFT },
                                    .image = 0 };
    run r;
    int rc = le_sg_build(&s, desc, sizeof desc);
    if (rc == LE_OK)
        rc = setup(&r, &s, desc, 640, 360);
    ok(rc == 0, "image graph configures (%d)", rc);
    if (rc != 0)
        return;
    AVFrame *img = av_frame_alloc();
    img->width = img->height = 64;
    img->format = AV_PIX_FMT_RGBA;
    av_frame_get_buffer(img, 0);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++) {
            uint8_t *px = img->data[0] + y * img->linesize[0] + 4 * x;
            px[0] = 0, px[1] = 255, px[2] = 0, px[3] = x < 32 ? 255 : 0;   /* left opaque green, right clear */
        }
    img->pts = 0;
    rc = push(r.isrc[0], img);
    if (rc >= 0)
        rc = av_buffersrc_add_frame(r.isrc[0], NULL);
    AVFrame *out = av_frame_alloc();
    int frames = 0, green_left = 0, red_right = 0;
    for (int64_t pts = 0; pts <= 200 && rc >= 0; pts += 40) {
        rc = push(r.src[0], solid(640, 360, RED, pts));
        while (rc >= 0 && av_buffersink_get_frame(r.vsink, out) >= 0) {
            frames++;
            green_left += near(Y(out, 330, 200), 145) && near(U(out, 330, 200), 54);
            red_right += near(U(out, 370, 200), 90);
            av_frame_unref(out);
        }
    }
    ok(frames >= 4, "frames out (%d)", frames);
    is_int(green_left, frames, "the opaque half of the image is drawn in every frame");
    is_int(red_right, frames, "the transparent half shows the layer below");
    av_frame_free(&out);
    teardown(&r);
}

static void test_run(void)
{
    le_sg_scene s = pip_scene();
    s.ncomponents = 1;
    s.comps[0] = (le_sg_component){ .type = LE_SG_COMP_TEXT, .place = { 0, 0, 0.05, 0.05, LE_SG_REF_TOP_LEFT },
                                    .text = "LIVE", .color = "0xffffff", .font_name = "DejaVuSans",
                                    .size_norm = 0.1 };
    run r;
    int rc = le_sg_build(&s, desc, sizeof desc);
    if (rc == LE_OK)
        rc = setup(&r, &s, desc, 1280, 720);
    ok(rc == 0, "PiP with text configures (%d)", rc);
    if (rc != 0)
        return;
    AVFrame *out = av_frame_alloc();
    int got = 0;
    for (int64_t pts = 0; pts <= 40 && rc >= 0; pts += 40) {
        rc = push(r.src[0], solid(1280, 720, RED, pts));
        if (rc >= 0)
            rc = push(r.src[1], solid(1280, 720, BLUE, pts));
        if (rc >= 0 && !got && av_buffersink_get_frame(r.vsink, out) >= 0)
            got = 1;
    }
    ok(rc >= 0 && got, "a frame comes out (%d)", rc);
    if (got) {
        is_int(out->width, 1280, "1280 wide");
        is_int(out->height, 720, "720 high");
        ok(near(Y(out, 300, 400), 81) && near(U(out, 300, 400), 90), "main area red (Y %d U %d)",
           Y(out, 300, 400), U(out, 300, 400));
        ok(near(Y(out, 1056, 594), 41) && near(U(out, 1056, 594), 240), "inset centre blue (Y %d U %d)",
           Y(out, 1056, 594), U(out, 1056, 594));
        ok(near(U(out, 900, 508), 240) && near(U(out, 1210, 680), 240), "inset corners blue: 896,504 .. 1215,683");
        ok(near(U(out, 890, 594), 90) && near(U(out, 1222, 594), 90) && near(U(out, 1056, 498), 90)
               && near(U(out, 1056, 690), 90),
           "red just outside the inset: it is 320x180");
        int d = drawn(out, 64, 36, 256, 72, 81);
        ok(d > 300, "text region differs from the background (%d pixels)", d);
        is_int(drawn(out, 64, 300, 256, 72, 81), 0, "no text outside its region");
        av_frame_unref(out);
    }

    /* move the inset with a command, not a rebuild */
    le_sg_scene m = s;
    m.layers[1].place.x = 0.1;
    static le_sg_cmds cmds;
    is_int(le_sg_diff(&s, &m, &cmds), LE_OK, "diff of a moved layer");
    ok(!cmds.rebuild && cmds.n == 1, "one command (rebuild %d, n %d)", cmds.rebuild, cmds.n);
    if (cmds.n == 1) {
        is_str(cmds.c[0].target, "overlay@L1", "target");
        is_str(cmds.c[0].cmd, "x", "command");
        is_str(cmds.c[0].arg, "128", "x = 0.1 of 1280");
        char res[128] = "";
        rc = avfilter_graph_send_command(r.g, cmds.c[0].target, cmds.c[0].cmd, cmds.c[0].arg, res, sizeof res, 0);
        is_int(rc, 0, "overlay takes x at run time");
    }
    /* and the text, with a reinit */
    le_sg_scene t = m;
    t.comps[0].text = "ON: AIR";
    static le_sg_cmds tc;
    is_int(le_sg_diff(&m, &t, &tc), LE_OK, "diff of a text");
    ok(!tc.rebuild && tc.n == 1 && strcmp(tc.c[0].target, "drawtext@C0") == 0 && strcmp(tc.c[0].cmd, "reinit") == 0,
       "one drawtext reinit");
    if (tc.n == 1) {
        char want[256];
        snprintf(want, sizeof want, "fontfile=%s:fontsize=72:borderw=0:bordercolor=0x000000:text='ON: AIR':"
                 "fontcolor=0xffffff:x=64:y=36", le_sg_font_file("DejaVuSans"));
        is_str(tc.c[0].arg, want, "reinit arguments");
        char res[128] = "";
        is_int(avfilter_graph_send_command(r.g, tc.c[0].target, tc.c[0].cmd, tc.c[0].arg, res, sizeof res, 0), 0,
               "drawtext takes reinit at run time");
        uint8_t *txt = NULL;
        av_opt_get(avfilter_graph_get_filter(r.g, "drawtext@C0"), "text", AV_OPT_SEARCH_CHILDREN, &txt);
        is_str(txt ? (char *)txt : NULL, "ON: AIR", "drawtext has the new text");
        av_free(txt);
    }
    got = 0;
    rc = 0;
    for (int64_t pts = 80; pts <= 160 && rc >= 0 && !got; pts += 40) {
        rc = push(r.src[0], solid(1280, 720, RED, pts));
        if (rc >= 0)
            rc = push(r.src[1], solid(1280, 720, BLUE, pts));
        while (rc >= 0 && av_buffersink_get_frame(r.vsink, out) >= 0) {
            got = out->pts >= 80;
            if (got)
                break;
            av_frame_unref(out);
        }
    }
    ok(got, "a frame after the command");
    if (got) {
        ok(near(U(out, 132, 508), 240) && near(U(out, 440, 680), 240), "inset now at 128,504 (U %d)",
           U(out, 132, 508));
        ok(near(U(out, 1056, 594), 90), "old inset place red again (U %d)", U(out, 1056, 594));
        int d = drawn(out, 64, 36, 512, 72, 81);
        ok(d > 300, "the new text is drawn (%d pixels)", d);
    }
    /* resize the inset: scale w/h and overlay commands */
    le_sg_scene z = t;
    z.layers[1].place.height_norm = 0.5;
    static le_sg_cmds zc;
    is_int(le_sg_diff(&t, &z, &zc), LE_OK, "diff of a resized layer");
    ok(!zc.rebuild && zc.n == 1 && strcmp(zc.c[0].target, "scale@L1") == 0 && strcmp(zc.c[0].cmd, "h") == 0
           && strcmp(zc.c[0].arg, "360") == 0,
       "one scale command: h 360 (n %d)", zc.n);
    for (int i = 0; i < zc.n; i++) {
        char res[128] = "";
        is_int(avfilter_graph_send_command(r.g, zc.c[i].target, zc.c[i].cmd, zc.c[i].arg, res, sizeof res, 0), 0,
               "%s %s taken at run time", zc.c[i].target, zc.c[i].cmd);
    }
    av_frame_unref(out);
    got = 0;
    for (int64_t pts = 200; pts <= 320 && !got; pts += 40) {
        push(r.src[0], solid(1280, 720, RED, pts));
        push(r.src[1], solid(1280, 720, BLUE, pts));
        while (av_buffersink_get_frame(r.vsink, out) >= 0) {
            got = out->pts >= 200;
            if (got)
                break;
            av_frame_unref(out);
        }
    }
    ok(got, "a frame after the resize");
    if (got) {
        int x, y;
        for (x = 130; x < 1280 && near(U(out, x, 600), 240); x++) {
        }
        for (y = 506; y < 720 && near(U(out, 600, y), 240); y++) {
        }
        ok(x >= 766 && x <= 770, "inset now 640 wide (right edge at %d)", x);
        is_int(y, 720, "and 360 high, down to the bottom");
        is_int(out->width, 1280, "the output keeps its size");
    }
    av_frame_free(&out);
    teardown(&r);

    /* what needs a rebuild */
    m = s;
    m.layers[1].fill = LE_SG_FILL_FIT;
    le_sg_diff(&s, &m, &cmds);
    ok(cmds.rebuild && cmds.n == 0, "a FillMode change needs a rebuild");
    m = s;
    m.ncomponents = 0;
    le_sg_diff(&s, &m, &cmds);
    ok(cmds.rebuild, "a component less needs a rebuild");
    m = s;
    m.layers[1].input = 0;
    le_sg_diff(&s, &m, &cmds);
    ok(cmds.rebuild, "another source in a layer needs a rebuild");
    m = s;
    m.comps[0].font_name = "DejaVuSansMono";
    le_sg_diff(&s, &m, &cmds);
    ok(!cmds.rebuild && cmds.n == 1 && strstr(cmds.c[0].arg, "DejaVuSansMono.ttf"), "another font: a reinit");
    m = s;
    m.layers[1].place.height_norm = 0;
    m.layers[1].place.width_norm = 0.5;
    le_sg_diff(&s, &m, &cmds);
    ok(!cmds.rebuild && cmds.n == 2 && strcmp(cmds.c[0].cmd, "w") == 0 && strcmp(cmds.c[0].arg, "640") == 0
           && strcmp(cmds.c[1].cmd, "h") == 0 && strcmp(cmds.c[1].arg, "-2") == 0,
       "height to width sizing: the number first, then -2");
    le_sg_diff(&s, &s, &cmds);
    ok(!cmds.rebuild && cmds.n == 0, "no change, no command");
    static char quotes[LE_SG_TEXT_MAX + 1];
    memset(quotes, '\'', LE_SG_TEXT_MAX);
    m = s;
    m.comps[0].text = quotes;
    is_int(le_sg_diff(&s, &m, &cmds), LE_OK, "diff to the longest text of quotes");
    ok(!cmds.rebuild && cmds.n == 1 && strlen(cmds.c[0].arg) > 4 * LE_SG_TEXT_MAX, "one reinit that holds it all");
    le_sg_scene many = pip_scene(), many2;
    many.nlayers = LE_SG_MAX_LAYERS;
    for (int i = 0; i < LE_SG_MAX_LAYERS; i++)
        many.layers[i] = (le_sg_video_layer){ i % 2, LE_SG_FILL_NONE, { 0.1, 0, 0.1, 0.1, LE_SG_REF_TOP_LEFT } };
    many2 = many;
    for (int i = 0; i < LE_SG_MAX_LAYERS; i++)
        many2.layers[i].place = (le_sg_place){ 0.2, 0, 0.2, 0.2, LE_SG_REF_TOP_LEFT };
    is_int(le_sg_diff(&many, &many2, &cmds), LE_OK, "diff of every layer moved and resized");
    ok(cmds.rebuild && cmds.n == 0, "more than LE_SG_MAX_CMDS commands: a rebuild instead");
    le_sg_scene a = pip_scene(), a2;
    a.naudio_inputs = 2;
    a.naudio = 2;
    a.audio[0] = (le_sg_audio_layer){ 0, 1.0, LE_SG_CH_ALL };
    a.audio[1] = (le_sg_audio_layer){ 1, 1.0, LE_SG_CH_ALL };
    a2 = a;
    a2.audio[1].volume_rate = 0.25;
    a2.layers[1].place.refer = LE_SG_REF_BOTTOM_RIGHT;
    le_sg_diff(&a, &a2, &cmds);
    ok(!cmds.rebuild && cmds.n == 3, "refer change and volume: 3 commands (%d)", cmds.n);
    if (cmds.n == 3) {
        ok(strcmp(cmds.c[0].target, "overlay@L1") == 0 && strcmp(cmds.c[0].arg, "896-w") == 0, "x to 896-w");
        ok(strcmp(cmds.c[1].cmd, "y") == 0 && strcmp(cmds.c[1].arg, "504-h") == 0, "y to 504-h");
        ok(strcmp(cmds.c[2].target, "volume@A1") == 0 && strcmp(cmds.c[2].arg, "0.25") == 0, "volume to 0.25");
        run ar;
        rc = le_sg_build(&a, desc, sizeof desc);
        if (rc == LE_OK)
            rc = setup(&ar, &a, desc, 1280, 720);
        ok(rc == 0, "audio graph configures");
        if (rc == 0) {
            char res[128] = "";
            for (int i = 0; i < 3; i++)
                is_int(avfilter_graph_send_command(ar.g, cmds.c[i].target, cmds.c[i].cmd, cmds.c[i].arg, res,
                                                   sizeof res, 0),
                       0, "%s %s taken at run time", cmds.c[i].target, cmds.c[i].cmd);
            teardown(&ar);
        }
    }
}

int main(void)
{
    av_log_set_level(AV_LOG_ERROR);
    test_names();
    test_strings();
    test_configure();
    test_run();
    test_image();
    test_fit_run();
    return done_testing();
}
