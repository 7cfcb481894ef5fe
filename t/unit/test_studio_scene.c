/* Scenes of a caster: the hash loaded, sources, stream names and the
 * picture and sound of a scene (studio/scene.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "studio/scene.h"
#include "tap.h"

#define RES1 "11111111-1111-4111-8111-111111111111"
#define RES3 "33333333-3333-4333-8333-333333333333"
#define RES5 "55555555-5555-4555-8555-555555555555"
#define LAY1 "aaaaaaaa-0000-4000-8000-000000000001"
#define LAY2 "aaaaaaaa-0000-4000-8000-000000000002"
#define TXT1 "cccccccc-0000-4000-8000-000000000001"
#define IMG1 "cccccccc-0000-4000-8000-000000000002"
#define PVW "5f0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b"
#define PGM "6f0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2c"

static const char *F[64], *V[64];
static size_t FL[64], VL[64], NF;

static void kv(const char *f, const char *v)
{
    F[NF] = f;
    V[NF] = v;
    FL[NF] = strlen(f);
    VL[NF] = strlen(v);
    NF++;
}

static char pvw_json[2048], pgm_json[2048];

static void base_hash(void)
{
    NF = 0;
    kv("info", "{\"CasterId\":\"c1\",\"CasterName\":\"studio\"}");
    kv("status", "1");
    kv("config", "{\"DomainName\":\"live.test\",\"TranscodeConfig\":{\"CasterTemplate\":\"lp_hd\","
                 "\"LiveTemplate\":[\"lld\"]}}");
    kv("pvw", PVW);
    kv("pgm", PGM);
    kv("res:" RES1, "{\"ResourceName\":\"cam1\",\"LocationId\":\"RV01\",\"LiveStreamUrl\":\"rtmp://127.0.0.1/live/a\","
                    "\"VodUrl\":\"\",\"MaterialId\":\"\",\"RepeatNum\":0,\"BeginOffset\":0,\"EndOffset\":0}");
    kv("rloc:RV01", RES1);
    kv("res:" RES3, "{\"ResourceName\":\"clip\",\"LocationId\":\"RV03\",\"LiveStreamUrl\":\"\",\"VodUrl\":\"\","
                    "\"MaterialId\":\"clip.mp4\",\"RepeatNum\":-1,\"BeginOffset\":1000,\"EndOffset\":-500}");
    kv("rloc:RV03", RES3);
    /* picture in picture: RV01 full, RV03 inset bottom right; audio of both */
    kv("layout:" LAY1,
       "{\"VideoLayers\":[{\"FillMode\":\"none\",\"HeightNormalized\":1,\"WidthNormalized\":1,"
       "\"PositionNormalized\":[0,0],\"PositionRefer\":\"topLeft\",\"FixedDelayDuration\":0},"
       "{\"FillMode\":\"fit\",\"HeightNormalized\":0.25,\"WidthNormalized\":0.25,\"PositionNormalized\":[1,1],"
       "\"PositionRefer\":\"bottomRight\",\"FixedDelayDuration\":0}],"
       "\"AudioLayers\":[{\"VolumeRate\":1,\"ValidChannel\":\"all\",\"FixedDelayDuration\":0},"
       "{\"VolumeRate\":0.5,\"ValidChannel\":\"leftChannel\",\"FixedDelayDuration\":0}],"
       "\"BlendList\":[\"RV01\",\"RV03\"],\"MixList\":[\"RV01\",\"RV03\"]}");
    /* one layer of RV05 (no resource there) over RV03, no audio layers */
    kv("layout:" LAY2,
       "{\"VideoLayers\":[{\"FillMode\":\"none\",\"HeightNormalized\":0,\"WidthNormalized\":0.5,"
       "\"PositionNormalized\":[0.5,0.5],\"PositionRefer\":\"center\",\"FixedDelayDuration\":0},"
       "{\"FillMode\":\"none\",\"HeightNormalized\":0.5,\"WidthNormalized\":0,"
       "\"PositionNormalized\":[0,0],\"PositionRefer\":\"topLeft\",\"FixedDelayDuration\":0}],"
       "\"AudioLayers\":[],\"BlendList\":[\"RV03\",\"RV05\"],\"MixList\":[]}");
    kv("comp:" TXT1, "{\"ComponentName\":\"title\",\"LocationId\":\"RC01\",\"ComponentType\":\"text\","
                     "\"Effect\":\"animateH\",\"ComponentLayer\":{\"HeightNormalized\":0.1,\"WidthNormalized\":0.5,"
                     "\"PositionNormalized\":[0.05,0.85],\"PositionRefer\":\"topLeft\"},"
                     "\"TextLayerContent\":{\"Text\":\"Live: 100% [x]\",\"Color\":\"0xffff00\",\"FontName\":"
                     "\"DejaVuSans\",\"SizeNormalized\":0.06,\"BorderWidthNormalized\":0.1,"
                     "\"BorderColor\":\"0x000000\"}}");
    kv("cloc:RC01", TXT1);
    kv("comp:" IMG1, "{\"ComponentName\":\"logo\",\"LocationId\":\"RC02\",\"ComponentType\":\"image\","
                     "\"Effect\":\"none\",\"ComponentLayer\":{\"HeightNormalized\":0.2,\"WidthNormalized\":0,"
                     "\"PositionNormalized\":[1,0],\"PositionRefer\":\"topRight\"},"
                     "\"ImageLayerContent\":{\"MaterialId\":\"logo.png\"}}");
    snprintf(pvw_json, sizeof(pvw_json),
             "{\"SceneId\":\"%s\",\"SceneName\":\"PVW\",\"OutputType\":0,\"LayoutId\":\"%s\","
             "\"ComponentIds\":[\"%s\",\"%s\",\"dddddddd-0000-4000-8000-000000000009\"],\"Status\":1,"
             "\"FollowEnable\":1,\"AudioLayers\":[],\"MixList\":[],\"EffectResourceId\":\"\"}",
             PVW, LAY1, IMG1, TXT1);
    kv("scene:" PVW, pvw_json);
    snprintf(pgm_json, sizeof(pgm_json),
             "{\"SceneId\":\"%s\",\"SceneName\":\"PGM\",\"OutputType\":1,\"LayoutId\":\"%s\","
             "\"ComponentIds\":[],\"Status\":1,\"FollowEnable\":1,\"AudioLayers\":[],\"MixList\":[],"
             "\"EffectResourceId\":\"\"}",
             PGM, LAY2);
    kv("scene:" PGM, pgm_json);
}

static le_scn_caster C;
static le_sg_scene P;
static char IMGS[LE_SG_MAX_IMAGES][LE_SCN_PATH_MAX];
static char graph[LE_SG_GRAPH_MAX];

static int load(void)
{
    int bad = -1;
    le_scn_caster_free(&C);
    int rc = le_scn_caster_load("c1", F, FL, V, VL, NF, &C, &bad);
    return rc == LE_OK ? bad : -100;
}

static int builds(void)
{
    return le_sg_build(&P, graph, sizeof(graph)) == LE_OK;
}

/* Replaces the value of field f (a new hash with it). */
static void set_field(const char *f, const char *v)
{
    for (size_t i = 0; i < NF; i++)
        if (!strcmp(F[i], f)) {
            V[i] = v;
            VL[i] = strlen(v);
            return;
        }
    kv(f, v);
}

static void test_load(void)
{
    base_hash();
    kv("res:bad", "not json");
    kv("layout:x", "[1,2]");
    is_int(load(), 2, "load: two objects that do not parse are counted");
    is_str(C.id, "c1", "the CasterId");
    is_int(C.status, 1, "status 1");
    is_str(C.pvw, PVW, "pvw");
    is_str(C.pgm, PGM, "pgm");
    ok(C.res[0] && C.res[2] && !C.res[1] && !C.res[4], "resources by slot (RV01 slot 0, RV03 slot 2)");
    is_str(le_jv_get_str(C.res[2], "ResourceId"), RES3, "... each with its ResourceId");
    is_str(le_jv_get_str(C.res[2], "MaterialId"), "clip.mp4", "... and its fields");
    ok(le_jv_get(C.layouts, LAY1) && le_jv_get(C.layouts, LAY2) && C.layouts->n == 2, "two layouts by id");
    ok(le_jv_get(C.comps, TXT1) && le_jv_get(C.comps, IMG1) && C.comps->n == 2, "two components by id");
    ok(le_jv_get(C.scenes, PVW) && le_jv_get(C.scenes, PGM) && C.scenes->n == 2, "two scenes by id");
    is_str(le_jv_get_str(le_jv_get(C.config, "TranscodeConfig"), "CasterTemplate"), "lp_hd", "the config");

    /* a fresh caster: no config, no scenes */
    NF = 0;
    kv("info", "{\"CasterId\":\"c2\"}");
    is_int(load(), 0, "a caster without config");
    ok(C.config && le_jv_get(C.config, "TranscodeConfig"), "... gets the default config");
    is_int(C.status, 0, "... stopped");
    is_str(C.pvw, "", "... no pvw yet");
    /* two resources claiming RV01: the second is counted bad */
    kv("res:" RES1, "{\"LocationId\":\"RV01\"}");
    kv("res:" RES3, "{\"LocationId\":\"RV01\"}");
    kv("res:" RES5, "{\"LocationId\":\"RV13\"}");
    is_int(load(), 2, "a second resource on RV01 and one on RV13 are skipped");
}

static void test_new_and_names(void)
{
    le_jv *s = le_scn_new(PVW, "PVW", 0);
    le_buf b = { 0 };
    le_jv_to_json(s, &b);
    le_buf_append(&b, "", 1);
    is_str((const char *)b.p,
           "{\"SceneId\":\"" PVW "\",\"SceneName\":\"PVW\",\"OutputType\":0,\"LayoutId\":\"\",\"ComponentIds\":[],"
           "\"Status\":0,\"FollowEnable\":1,\"AudioLayers\":[],\"MixList\":[],\"EffectResourceId\":\"\"}",
           "le_scn_new: the stored scene");
    le_buf_free(&b);
    le_jv_free(s);
    s = le_scn_new(PGM, "PGM", 7);
    int64_t v = -1;
    le_jv_get_int(s, "OutputType", &v);
    is_int(v, 1, "OutputType is 0 or 1");
    le_jv_free(s);

    char n[64];
    is_int(le_scn_stream_name(PVW, NULL, n, sizeof(n)), LE_OK, "stream name");
    is_str(n, "5f0c1a2b3c4d4e5f8a6b7c8d9e0f1a2b", "... the SceneId without dashes");
    is_int(le_scn_stream_name(PVW, "lld", n, sizeof(n)), LE_OK, "a LiveTemplate's output");
    is_str(n, "5f0c1a2b3c4d4e5f8a6b7c8d9e0f1a2b_lld", "... {name}_{tmpl}");
    is_int(le_scn_stream_name(PVW, "", n, sizeof(n)), LE_OK, "an empty template");
    is_str(n, "5f0c1a2b3c4d4e5f8a6b7c8d9e0f1a2b", "... is the scene's own name");
    is_int(le_scn_stream_name(PVW, NULL, n, 33), LE_OK, "32 digits fit in 33 bytes");
    is_int(le_scn_stream_name(PVW, NULL, n, 32), LE_ETOOBIG, "not in 32");
    is_str(n, "", "... out left empty");
    is_int(le_scn_stream_name(PVW, "lld", n, 36), LE_ETOOBIG, "{name}_lld needs 37 bytes");
    is_int(le_scn_stream_name(PVW, "lld", n, 37), LE_OK, "... and fits in them");
}

static void test_source(void)
{
    le_scn_src s;
    le_cst_err e;
    base_hash();
    load();
    is_int(le_scn_source(C.res[0], "/m", "/r", &s, &e), LE_OK, "live resource");
    ok(s.kind == LE_SCN_SRC_LIVE, "... live");
    is_str(s.url, "rtmp://127.0.0.1/live/a", "... its LiveStreamUrl");
    is_int(le_scn_source(C.res[2], "/srv/material", "/r", &s, &e), LE_OK, "material resource");
    ok(s.kind == LE_SCN_SRC_FILE, "... a file");
    is_str(s.path, "/srv/material/clip.mp4", "... material_dir/MaterialId");
    ok(s.repeat == -1 && s.begin_ms == 1000 && s.end_ms == -500, "... RepeatNum, BeginOffset, EndOffset");
    memset(&e, 0, sizeof(e));
    is_int(le_scn_source(C.res[2], NULL, "/r", &s, &e), LE_EINVAL, "a MaterialId without material_dir");
    ok(e.status == 400 && e.code[0], "... with an error (%d %s)", e.status, e.code);
    is_int(le_scn_source(NULL, NULL, NULL, &s, &e), LE_OK, "no resource");
    ok(s.kind == LE_SCN_SRC_NONE, "... none");

    static const struct { const char *vod; int rc; const char *path; } t[] = {
        { "file:///var/video/a.mp4", LE_OK, "/var/video/a.mp4" },
        { "/var/video/b%20c.flv", LE_OK, "/var/video/b c.flv" },
        { "http://10.0.0.1:8080/record/bkt/live/cam/1.mp4?x=1", LE_OK, "/rec/bkt/live/cam/1.mp4" },
        { "https://node/record/bkt/a%2Fb.mp4", LE_OK, "/rec/bkt/a/b.mp4" },
        { "http://cdn.example.com/video/a.mp4", LE_EINVAL, NULL },
        { "http://node/record/../etc/passwd.mp4", LE_EINVAL, NULL },
        { "file:///var/../etc/x.mp4", LE_EINVAL, NULL },
        { "http://node/record/a%00.mp4", LE_EINVAL, NULL },
        { "rtmp://node/live/a.mp4", LE_EINVAL, NULL },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        le_jv *r = le_jv_obj();
        le_jv_set_str(r, "LocationId", "RV02");
        le_jv_set_str(r, "VodUrl", t[i].vod);
        int rc = le_scn_source(r, NULL, "/rec", &s, &e);
        ok(rc == t[i].rc && (!t[i].path || (s.kind == LE_SCN_SRC_FILE && !strcmp(s.path, t[i].path))),
           "VodUrl %s: %d %s", t[i].vod, rc, rc == LE_OK ? s.path : e.code);
        le_jv_free(r);
    }
}

static void test_picture(void)
{
    le_cst_err e;
    base_hash();
    load();
    /* PVW: the PiP layout, an image then a text (an unknown component id left out) */
    is_int(le_scn_picture(&C, PVW, 1280, 720, "/srv/m", &P, IMGS, &e), LE_OK, "PVW's picture");
    ok(P.width == 1280 && P.height == 720 && P.ninputs == LE_SG_MAX_INPUTS && P.naudio_inputs == LE_SG_MAX_INPUTS,
       "... size and input counts");
    is_int(P.nlayers, 2, "... two layers");
    ok(P.layers[0].input == 0 && P.layers[1].input == 2, "... BlendList RV01, RV03 -> inputs 0, 2");
    ok(P.layers[0].fill == LE_SG_FILL_NONE && P.layers[1].fill == LE_SG_FILL_FIT, "... FillMode");
    ok(P.layers[1].place.height_norm == 0.25 && P.layers[1].place.width_norm == 0.25 && P.layers[1].place.x == 1 &&
           P.layers[1].place.y == 1 && P.layers[1].place.refer == LE_SG_REF_BOTTOM_RIGHT,
       "... the inset's sizes, position and PositionRefer");
    is_int(P.ncomponents, 2, "... two components (the unknown id left out)");
    ok(P.comps[0].type == LE_SG_COMP_IMAGE && P.comps[0].image == 0 && P.comps[1].type == LE_SG_COMP_TEXT,
       "... in ComponentIds order: image, text");
    is_int(P.nimages, 1, "... one image");
    is_str(IMGS[0], "/srv/m/logo.png", "... material_dir/MaterialId");
    ok(P.comps[0].place.refer == LE_SG_REF_TOP_RIGHT && P.comps[0].place.height_norm == 0.2,
       "... the image's ComponentLayer");
    is_str(P.comps[1].text, "Live: 100% [x]", "... the text");
    ok(!strcmp(P.comps[1].color, "0xffff00") && !strcmp(P.comps[1].font_name, "DejaVuSans") &&
           P.comps[1].size_norm == 0.06 && P.comps[1].border_width_norm == 0.1 &&
           !strcmp(P.comps[1].border_color, "0x000000") && P.comps[1].effect == LE_SG_FX_ANIMATE_H &&
           P.comps[1].place.x == 0.05 && P.comps[1].place.y == 0.85,
       "... its colour, font, size, border, effect and position");
    is_int(P.naudio, 2, "... FollowEnable 1 with layout AudioLayers: two audio layers");
    ok(P.audio[0].input == 0 && P.audio[1].input == 2 && P.audio[1].volume_rate == 0.5 &&
           P.audio[1].channel == LE_SG_CH_LEFT,
       "... MixList RV01, RV03 -> 0, 2 with VolumeRate and ValidChannel");
    ok(builds(), "... le_sg_build takes it");
    ok(strstr(graph, "overlay@L1") && strstr(graph, "drawtext@C1") && strstr(graph, "overlay@C0"),
       "... layers and components named in the graph");

    /* PGM: LAY2 (RV05 has no resource: the layer keeps its slot, shown black), no AudioLayers: the audio
     * of the bottom layer's source */
    is_int(le_scn_picture(&C, PGM, 854, 480, NULL, &P, IMGS, &e), LE_OK, "PGM's picture");
    ok(P.nlayers == 2 && P.layers[0].input == 2 && P.layers[1].input == 4, "... RV03, RV05 -> 2, 4");
    ok(P.layers[0].place.refer == LE_SG_REF_CENTER && P.layers[0].place.width_norm == 0.5, "... layer 0's place");
    is_int(P.ncomponents, 0, "... no components");
    ok(P.naudio == 1 && P.audio[0].input == 2 && P.audio[0].volume_rate == 1.0 &&
           P.audio[0].channel == LE_SG_CH_ALL,
       "... audio follows the bottom layer's source (RV03)");
    ok(builds(), "... le_sg_build takes it");

    /* FollowEnable 0: the scene's own audio */
    char js[2048];
    snprintf(js, sizeof(js),
             "{\"SceneId\":\"%s\",\"OutputType\":1,\"LayoutId\":\"%s\",\"ComponentIds\":[],\"Status\":1,"
             "\"FollowEnable\":0,\"AudioLayers\":[{\"VolumeRate\":2,\"ValidChannel\":\"rightChannel\"}],"
             "\"MixList\":[\"RV03\"],\"EffectResourceId\":\"\"}",
             PGM, LAY1);
    set_field("scene:" PGM, js);
    load();
    is_int(le_scn_picture(&C, PGM, 1280, 720, NULL, &P, IMGS, &e), LE_OK, "FollowEnable 0");
    ok(P.naudio == 1 && P.audio[0].input == 2 && P.audio[0].volume_rate == 2 && P.audio[0].channel == LE_SG_CH_RIGHT,
       "... the scene's AudioLayers/MixList, not the layout's");
    ok(P.nlayers == 2, "... the layout's video");
    ok(builds(), "... le_sg_build takes it");

    /* FollowEnable 0 and no own audio: silence */
    snprintf(js, sizeof(js),
             "{\"SceneId\":\"%s\",\"OutputType\":1,\"LayoutId\":\"%s\",\"ComponentIds\":[],\"FollowEnable\":0,"
             "\"AudioLayers\":[],\"MixList\":[]}",
             PGM, LAY1);
    set_field("scene:" PGM, js);
    load();
    is_int(le_scn_picture(&C, PGM, 1280, 720, NULL, &P, IMGS, &e), LE_OK, "FollowEnable 0 without AudioLayers");
    is_int(P.naudio, 0, "... no audio layers");
    ok(builds(), "... le_sg_build takes it");

    /* EffectResourceId: that source full frame, its audio */
    snprintf(js, sizeof(js),
             "{\"SceneId\":\"%s\",\"OutputType\":1,\"LayoutId\":\"%s\",\"ComponentIds\":[\"%s\"],\"Status\":1,"
             "\"FollowEnable\":1,\"AudioLayers\":[],\"MixList\":[],\"EffectResourceId\":\"%s\"}",
             PGM, LAY1, TXT1, RES3);
    set_field("scene:" PGM, js);
    load();
    is_int(le_scn_picture(&C, PGM, 1280, 720, NULL, &P, IMGS, &e), LE_OK, "EffectResourceId");
    ok(P.nlayers == 1 && P.layers[0].input == 2 && P.layers[0].fill == LE_SG_FILL_FIT &&
           P.layers[0].place.height_norm == 1 && P.layers[0].place.width_norm == 1 && P.layers[0].place.x == 0 &&
           P.layers[0].place.y == 0 && P.layers[0].place.refer == LE_SG_REF_TOP_LEFT,
       "... one layer: RV03 fit 1x1 at the top-left corner");
    ok(P.ncomponents == 1 && P.comps[0].type == LE_SG_COMP_TEXT, "... the components stay");
    ok(P.naudio == 1 && P.audio[0].input == 2, "... audio follows the effect source, not the layout's AudioLayers");
    ok(builds(), "... le_sg_build takes it");

    /* an EffectResourceId whose resource is gone: the layout again */
    snprintf(js, sizeof(js),
             "{\"SceneId\":\"%s\",\"OutputType\":1,\"LayoutId\":\"%s\",\"ComponentIds\":[],"
             "\"FollowEnable\":1,\"EffectResourceId\":\"%s\"}",
             PGM, LAY1, RES5);
    set_field("scene:" PGM, js);
    load();
    is_int(le_scn_picture(&C, PGM, 1280, 720, NULL, &P, IMGS, &e), LE_OK, "EffectResourceId of a deleted resource");
    ok(P.nlayers == 2 && P.naudio == 2, "... the layout's picture and sound");

    /* a layout that is gone, no components: the black canvas, no audio */
    snprintf(js, sizeof(js),
             "{\"SceneId\":\"%s\",\"OutputType\":1,\"LayoutId\":\"aaaaaaaa-0000-4000-8000-00000000000f\","
             "\"ComponentIds\":[],\"FollowEnable\":1}",
             PGM);
    set_field("scene:" PGM, js);
    load();
    is_int(le_scn_picture(&C, PGM, 640, 360, NULL, &P, IMGS, &e), LE_OK, "a deleted layout");
    ok(P.nlayers == 0 && P.naudio == 0 && P.ncomponents == 0, "... nothing drawn, silence");
    ok(builds(), "... le_sg_build takes it");

    /* errors */
    memset(&e, 0, sizeof(e));
    is_int(le_scn_picture(&C, "nope", 640, 360, NULL, &P, IMGS, &e), LE_ENOTFOUND, "an unknown scene");
    ok(e.status == 404 && !strcmp(e.code, "InvalidScene.NotFound") && !strcmp(e.msg, "Scene is not found."),
       "... 404 InvalidScene.NotFound \"Scene is not found.\"");
    memset(&e, 0, sizeof(e));
    is_int(le_scn_picture(&C, PVW, 1280, 720, NULL, &P, IMGS, &e), LE_EINVAL, "an image without material_dir");
    ok(e.status == 400 && e.code[0], "... an error filled (%s)", e.code);
    memset(&e, 0, sizeof(e));
    is_int(le_scn_picture(&C, PVW, 1281, 720, "/m", &P, IMGS, &e), LE_EINVAL, "an odd width: le_sg_build refuses");
    ok(e.status == 400, "... an error filled");

    /* a text over the graph's limit is left out, not a failure */
    static char longtxt[3000];
    char *t = longtxt;
    t += sprintf(t, "{\"ComponentType\":\"text\",\"Effect\":\"none\",\"LocationId\":\"RC01\","
                    "\"TextLayerContent\":{\"Text\":\"");
    memset(t, 'a', 600);
    t += 600;
    strcpy(t, "\",\"FontName\":\"DejaVuSans\"}}");
    set_field("comp:" TXT1, longtxt);
    load();
    is_int(le_scn_picture(&C, PVW, 1280, 720, "/m", &P, IMGS, &e), LE_OK, "a 600-byte text");
    ok(P.ncomponents == 1 && P.comps[0].type == LE_SG_COMP_IMAGE, "... is left out");

    /* every scene of a caster with all twelve slots, layouts of twelve layers */
    base_hash();
    static char res[12][400], lay[4096];
    static const char *const rid[12] = {
        "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
        "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
        "00000000-0000-4000-8000-000000000005", "00000000-0000-4000-8000-000000000006",
        "00000000-0000-4000-8000-000000000007", "00000000-0000-4000-8000-000000000008",
        "00000000-0000-4000-8000-000000000009", "00000000-0000-4000-8000-00000000000a",
        "00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000c" };
    static char rf[12][64];
    NF = 0;
    kv("info", "{\"CasterId\":\"c3\"}");
    char *l = lay;
    l += sprintf(l, "{\"VideoLayers\":[");
    for (int i = 0; i < 12; i++) {
        snprintf(rf[i], sizeof(rf[i]), "res:%s", rid[i]);
        snprintf(res[i], sizeof(res[i]), "{\"LocationId\":\"RV%02d\",\"LiveStreamUrl\":\"rtmp://h/a/%d\"}", i + 1, i);
        kv(rf[i], res[i]);
        l += sprintf(l, "%s{\"FillMode\":\"%s\",\"HeightNormalized\":%.2f,\"WidthNormalized\":%.2f,"
                        "\"PositionNormalized\":[%.2f,%.2f],\"PositionRefer\":\"%s\"}",
                     i ? "," : "", i % 2 ? "fit" : "none", 0.05 + i * 0.05, 0.05 + i * 0.07, i / 12.0, 1 - i / 12.0,
                     i % 3 ? "center" : "bottomLeft");
    }
    l += sprintf(l, "],\"AudioLayers\":[");
    for (int i = 0; i < 12; i++)
        l += sprintf(l, "%s{\"VolumeRate\":%d,\"ValidChannel\":\"%s\"}", i ? "," : "", i % 10,
                     i % 3 == 0 ? "all" : i % 3 == 1 ? "leftChannel" : "rightChannel");
    l += sprintf(l, "],\"BlendList\":[");
    for (int i = 0; i < 12; i++)
        l += sprintf(l, "%s\"RV%02d\"", i ? "," : "", 12 - i);
    l += sprintf(l, "],\"MixList\":[");
    for (int i = 0; i < 12; i++)
        l += sprintf(l, "%s\"RV%02d\"", i ? "," : "", i + 1);
    sprintf(l, "]}");
    kv("layout:" LAY1, lay);
    snprintf(pvw_json, sizeof(pvw_json), "{\"SceneId\":\"%s\",\"LayoutId\":\"%s\",\"ComponentIds\":[]}", PVW, LAY1);
    kv("scene:" PVW, pvw_json);
    is_int(load(), 0, "a caster with twelve resources");
    is_int(le_scn_picture(&C, PVW, 1920, 1080, NULL, &P, IMGS, &e), LE_OK, "twelve layers and twelve audio layers");
    ok(P.nlayers == 12 && P.naudio == 12 && P.layers[0].input == 11 && P.layers[11].input == 0, "... all mapped");
    ok(builds(), "... le_sg_build takes it");
    for (int i = 0; i < 12; i++) {
        char js2[1024];
        snprintf(js2, sizeof(js2), "{\"SceneId\":\"%s\",\"LayoutId\":\"%s\",\"EffectResourceId\":\"%s\"}", PVW, LAY1,
                 rid[i]);
        set_field("scene:" PVW, js2);
        load();
        int rc = le_scn_picture(&C, PVW, 640, 360, NULL, &P, IMGS, &e);
        if (rc != LE_OK || P.nlayers != 1 || P.layers[0].input != i || !builds()) {
            ok(0, "EffectResourceId of RV%02d", i + 1);
            return;
        }
    }
    ok(1, "EffectResourceId of each of the twelve slots: that slot, buildable");
}

/* le_scn_delays: FixedDelayDuration per slot */
static void test_delays(void)
{
    int v[LE_SG_MAX_INPUTS], a[LE_SG_MAX_INPUTS];
    static char lay[1024], sc[1024];
    base_hash();
    /* RV01 twice (120 and 300 ms), RV03 once (40 ms); audio RV01 80, RV03 9000 (clamped) */
    snprintf(lay, sizeof(lay),
             "{\"VideoLayers\":[{\"HeightNormalized\":1,\"FixedDelayDuration\":120},"
             "{\"HeightNormalized\":0.3,\"FixedDelayDuration\":40},"
             "{\"HeightNormalized\":0.2,\"FixedDelayDuration\":300}],"
             "\"AudioLayers\":[{\"VolumeRate\":1,\"FixedDelayDuration\":80},{\"FixedDelayDuration\":9000}],"
             "\"BlendList\":[\"RV01\",\"RV03\",\"RV01\"],\"MixList\":[\"RV01\",\"RV03\"]}");
    set_field("layout:" LAY1, lay);
    load();
    is_int(le_scn_delays(&C, "nope", v, a), LE_ENOTFOUND, "delays of an unknown scene");
    is_int(le_scn_delays(&C, PVW, v, a), LE_OK, "delays of PVW (layout 1)");
    ok(v[0] == 300 && v[2] == 40 && v[1] == 0 && v[4] == 0, "... video: the largest per slot (%d %d %d)", v[0], v[1],
       v[2]);
    ok(a[0] == 80 && a[2] == 5000 && a[1] == 0, "... audio: per mixed slot, clamped to 5000 (%d %d)", a[0], a[2]);
    /* layout 2 has no audio layers: the bottom layer's audio (RV03) follows its video delay */
    snprintf(lay, sizeof(lay),
             "{\"VideoLayers\":[{\"FixedDelayDuration\":250},{\"FixedDelayDuration\":700}],"
             "\"AudioLayers\":[],\"BlendList\":[\"RV03\",\"RV05\"],\"MixList\":[]}");
    set_field("layout:" LAY2, lay);
    load();
    is_int(le_scn_delays(&C, PGM, v, a), LE_OK, "delays of PGM (layout 2)");
    ok(v[2] == 250 && v[4] == 700 && a[2] == 250 && a[4] == 0, "... audio following RV03 takes its video delay");
    /* FollowEnable 0: the scene's own audio layers */
    snprintf(sc, sizeof(sc),
             "{\"SceneId\":\"%s\",\"LayoutId\":\"%s\",\"FollowEnable\":0,"
             "\"AudioLayers\":[{\"FixedDelayDuration\":1500}],\"MixList\":[\"RV07\"]}", PGM, LAY2);
    set_field("scene:" PGM, sc);
    load();
    is_int(le_scn_delays(&C, PGM, v, a), LE_OK, "delays with FollowEnable 0");
    ok(a[6] == 1500 && a[2] == 0 && v[2] == 250, "... the scene's own audio layer delays RV07");
    /* an effect source: nothing delayed */
    snprintf(sc, sizeof(sc), "{\"SceneId\":\"%s\",\"LayoutId\":\"%s\",\"EffectResourceId\":\"%s\"}", PGM,
             LAY2, RES3);
    set_field("scene:" PGM, sc);
    load();
    is_int(le_scn_delays(&C, PGM, v, a), LE_OK, "delays with an effect source");
    ok(v[2] == 0 && v[4] == 0 && a[2] == 0, "... none");
}

/* ChannelEnable 1: slots follow chan:{RVnn}, not the resources' LocationIds. */
static void test_channels(void)
{
    static char sc[1024];
    base_hash();
    load();
    is_int(C.channels, 0, "channels off by default");
    ok(C.resources && le_jv_get(C.resources, RES1) && le_jv_get(C.resources, RES3) && C.resources->n == 2,
       "every resource by id");
    is_int((int)C.sver, 0, "no sver: 0");
    /* channels on: RES3 (LocationId RV03) on channel RV05, RES1 (RV01) on RV02, a channel of a deleted
       resource on RV07, a channel field that is no channel */
    set_field("config", "{\"DomainName\":\"live.test\",\"ChannelEnable\":1,\"TranscodeConfig\":{\"CasterTemplate\":"
                        "\"lp_hd\",\"LiveTemplate\":[]}}");
    kv("chan:RV05", "{\"ChannelId\":\"RV05\",\"ResourceId\":\"" RES3 "\",\"SeekOffset\":3000,\"PlayStatus\":0,"
                    "\"SeekSeq\":2}");
    kv("chan:RV02", "{\"ChannelId\":\"RV02\",\"ResourceId\":\"" RES1 "\",\"SeekOffset\":0,\"PlayStatus\":1,"
                    "\"SeekSeq\":0}");
    kv("chan:RV07", "{\"ChannelId\":\"RV07\",\"ResourceId\":\"" RES5 "\"}");
    kv("chan:RV13", "{\"ChannelId\":\"RV13\",\"ResourceId\":\"" RES5 "\"}");
    kv("sver", "17");
    is_int(load(), 1, "load with channels: chan:RV13 is counted bad");
    is_int(C.channels, 1, "channels on");
    is_int((int)C.sver, 17, "sver read");
    ok(!C.res[0] && !C.res[2], "... a resource's own LocationId holds nothing");
    is_str(le_jv_get_str(C.res[4], "ResourceId"), RES3, "... slot 4 (RV05) is channel RV05's resource");
    is_str(le_jv_get_str(C.res[1], "ResourceId"), RES1, "... slot 1 (RV02) is channel RV02's resource");
    ok(C.chan[6] && !C.res[6], "... a channel whose resource is gone is empty");
    int64_t v = 0;
    ok(C.chan[4] && le_jv_get_int(C.chan[4], "SeekSeq", &v) == LE_OK && v == 2, "... the channel object is kept");
    /* layout 2 names RV03 (bottom) and RV05: with channels RV05 is RES3's slot, RV03 is empty */
    is_int(le_scn_picture(&C, PGM, 1280, 720, "/m", &P, IMGS, NULL), LE_OK, "PGM's picture with channels");
    ok(P.nlayers == 2 && P.layers[0].input == 2 && P.layers[1].input == 4, "... layers show slots 2 and 4");
    /* EffectResourceId finds the resource through its channel */
    snprintf(sc, sizeof(sc), "{\"SceneId\":\"%s\",\"LayoutId\":\"\",\"EffectResourceId\":\"%s\"}", PGM, RES1);
    set_field("scene:" PGM, sc);
    load();
    is_int(le_scn_picture(&C, PGM, 1280, 720, "/m", &P, IMGS, NULL), LE_OK, "an effect source with channels");
    ok(P.nlayers == 1 && P.layers[0].input == 1 && P.naudio == 1 && P.audio[0].input == 1,
       "... shows and sounds slot 1 (channel RV02)");
    le_scn_src src;
    le_cst_err e;
    is_int(le_scn_source(C.res[4], "/m", NULL, &src, &e), LE_OK, "the channel's source");
    ok(src.kind == LE_SCN_SRC_FILE && !strcmp(src.path, "/m/clip.mp4"), "... is the resource's file");
}

/* "Urgent": 1: the standby slot full frame with its sound, nothing else. */
static void test_urgent(void)
{
    static char sc[1024];
    int v[LE_SG_MAX_INPUTS], a[LE_SG_MAX_INPUTS];
    base_hash();
    load();
    ok(!le_scn_is_urgent(le_jv_get(C.scenes, PGM)), "a stored scene is not urgent");
    ok(!le_scn_is_urgent(NULL), "... nor is no scene");
    /* PGM with layout 1 (two layers with delays, audio layers), two components, FollowEnable 0, urgent */
    static char lay[1024];
    snprintf(lay, sizeof(lay),
             "{\"VideoLayers\":[{\"HeightNormalized\":1,\"FixedDelayDuration\":120}],"
             "\"AudioLayers\":[{\"VolumeRate\":1,\"FixedDelayDuration\":80}],"
             "\"BlendList\":[\"RV01\"],\"MixList\":[\"RV01\"]}");
    set_field("layout:" LAY1, lay);
    snprintf(sc, sizeof(sc),
             "{\"SceneId\":\"%s\",\"SceneName\":\"PGM\",\"OutputType\":1,\"LayoutId\":\"%s\",\"ComponentIds\":"
             "[\"%s\",\"%s\"],\"Status\":1,\"FollowEnable\":0,\"AudioLayers\":[{\"VolumeRate\":1}],"
             "\"MixList\":[\"RV03\"],\"EffectResourceId\":\"%s\",\"Urgent\":1}",
             PGM, LAY1, TXT1, IMG1, RES3);
    set_field("scene:" PGM, sc);
    load();
    ok(le_scn_is_urgent(le_jv_get(C.scenes, PGM)), "Urgent 1 is urgent");
    is_int(le_scn_picture(&C, PGM, 1280, 720, "/m", &P, IMGS, NULL), LE_OK, "the urgent PGM's picture");
    ok(P.nlayers == 1 && P.layers[0].input == LE_SCN_URGENT_SLOT && P.layers[0].input == 12,
       "... one layer: the standby slot (12)");
    ok(P.layers[0].fill == LE_SG_FILL_FIT && P.layers[0].place.height_norm == 1.0 &&
       P.layers[0].place.width_norm == 1.0 && P.layers[0].place.x == 0 && P.layers[0].place.y == 0,
       "... full frame, keeping its aspect");
    is_int(P.ncomponents, 0, "... no components");
    is_int(P.nimages, 0, "... no images");
    ok(P.naudio == 1 && P.audio[0].input == 12 && P.audio[0].volume_rate == 1.0 && P.audio[0].channel == LE_SG_CH_ALL,
       "... the standby file's sound alone (FollowEnable 0 and the scene's audio ignored)");
    ok(P.ninputs == LE_SG_MAX_INPUTS && builds() && strstr(graph, "[in12]"), "... the graph reads [in12]");
    is_int(le_scn_delays(&C, PGM, v, a), LE_OK, "delays of the urgent PGM");
    ok(v[0] == 0 && a[0] == 0 && a[2] == 0 && v[12] == 0, "... none (the layout's 120/80 ms are not applied)");
    /* the same scene object given directly (a programme's copy keeps Urgent) */
    le_jv *o = le_cst_decode(sc, strlen(sc));
    is_int(le_scn_picture_of(&C, o, 640, 360, "/m", &P, IMGS, NULL), LE_OK, "le_scn_picture_of an urgent object");
    ok(P.nlayers == 1 && P.layers[0].input == 12, "... shows slot 12");
    le_jv_free(o);
    /* Urgent 0 shows the scene as before */
    snprintf(sc, sizeof(sc),
             "{\"SceneId\":\"%s\",\"LayoutId\":\"%s\",\"ComponentIds\":[\"%s\"],\"Urgent\":0}", PGM, LAY1, TXT1);
    set_field("scene:" PGM, sc);
    load();
    is_int(le_scn_picture(&C, PGM, 1280, 720, "/m", &P, IMGS, NULL), LE_OK, "Urgent 0");
    ok(P.nlayers == 1 && P.layers[0].input == 0 && P.ncomponents == 1, "... shows its layout and components");
}

int main(void)
{
    test_load();
    test_new_and_names();
    test_source();
    test_picture();
    test_delays();
    test_channels();
    test_urgent();
    le_scn_caster_free(&C);
    return done_testing();
}
