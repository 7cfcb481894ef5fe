/* studio/config.h: the caster objects built from request parameters (exact
 * stored/answered JSON, defaults, Modify merging) and every refusal with its
 * Code. */
#include "tap.h"
#include "core/err.h"
#include "core/util.h"
#include "studio/config.h"

#include <stdlib.h>
#include <string.h>

/* A request: "Name=Value" strings, NULL-terminated. */
static const char *kv_get(void *ctx, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *p = ctx; *p; p++)
        if (!strncmp(*p, name, n) && (*p)[n] == '=')
            return *p + n + 1;
    return NULL;
}

static char js[4096];
static const char *json(const le_jv *v)
{
    le_buf b = { 0 };
    le_jv_to_json(v, &b);
    snprintf(js, sizeof(js), "%.*s", (int)b.len, (const char *)b.p);
    le_buf_free(&b);
    return js;
}

typedef int (*parse_fn)(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e);

/* The Code a request is refused with ("" if accepted). */
static const char *refused(parse_fn f, const char **req)
{
    static le_cst_err e;
    le_jv *o = NULL;
    memset(&e, 0, sizeof(e));
    int rc = f(kv_get, (void *)req, &o, &e);
    le_jv_free(o);
    return rc == LE_OK ? "" : e.code;
}

static int layout_add(le_cst_get g, void *ctx, le_jv **out, le_cst_err *e)
{
    return le_cst_layout_parse(g, ctx, NULL, out, e);
}

static void test_locations(void)
{
    is_int(le_cst_location("RV01", 'V'), 1, "RV01");
    is_int(le_cst_location("RV12", 'V'), 12, "RV12");
    is_int(le_cst_location("RV13", 'V'), LE_EINVAL, "RV13 refused");
    is_int(le_cst_location("RV00", 'V'), LE_EINVAL, "RV00 refused");
    is_int(le_cst_location("RC99", 'C'), 99, "RC99");
    is_int(le_cst_location("RC99", 'V'), LE_EINVAL, "RC99 is no video location");
    is_int(le_cst_location("rv01", 'V'), LE_EINVAL, "lower case refused");
    is_int(le_cst_location("RV1", 'V'), LE_EINVAL, "RV1 refused");
    ok(le_cst_token_ok("53200b81-b761-4c10-842a-a0726d972293"), "a UUID token");
    ok(!le_cst_token_ok("a b"), "token with a space refused");
    char t[70];
    memset(t, 'x', 65);
    t[65] = 0;
    ok(!le_cst_token_ok(t), "65-byte token refused");
    int w = 0, h = 0;
    ok(le_cst_caster_template("lp_hd_v", &w, &h) == LE_OK && w == 720 && h == 1280, "lp_hd_v is 720x1280");
    ok(le_cst_caster_template("lp_xx", NULL, NULL) == LE_EINVAL, "unknown CasterTemplate");
}

static void test_caster(void)
{
    const char *req[] = { "CasterName=studio", "NormType=1", "ChargeType=PostPaid", "CasterTemplate=lp_sd",
                          NULL };
    le_jv *o = NULL;
    le_cst_err e;
    ok(le_cst_caster_parse(kv_get, (void *)req, &o, &e) == LE_OK, "caster accepted");
    is_str(json(o), "{\"CasterName\":\"studio\",\"NormType\":1,\"ChargeType\":\"PostPaid\",\"PurchaseTime\":\"\","
                    "\"ExpireTime\":\"\",\"CasterTemplate\":\"lp_sd\"}", "caster JSON");
    le_jv_free(o);
    const char *r1[] = { "NormType=2", "ChargeType=PostPaid", NULL };
    is_str(refused(le_cst_caster_parse, r1), "InvalidNormType.Malformed", "NormType 2");
    const char *r2[] = { "NormType=1", "ChargeType=Free", NULL };
    is_str(refused(le_cst_caster_parse, r2), "InvalidChargeType.Malformed", "ChargeType Free");
    const char *r3[] = { "NormType=1", "ChargeType=PrePaid", NULL };
    is_str(refused(le_cst_caster_parse, r3), "InvalidParameter.Malformed", "PrePaid without CasterTemplate");
    const char *r4[] = { "ChargeType=PostPaid", NULL };
    is_str(refused(le_cst_caster_parse, r4), "MissingParameter", "NormType missing");
}

static void test_config(void)
{
    const char *req[] = { "DomainName=live.test", "Delay=30.5",
                          "TranscodeConfig={\"casterTemplate\":\"lp_hd\",\"liveTemplate\":[\"lld\",\"lld\",\"lsd\"]}",
                          "ProgramEffect=1", NULL };
    le_jv *o = NULL;
    le_cst_err e;
    ok(le_cst_config_parse(kv_get, (void *)req, &o, &e) == LE_OK, "config accepted");
    is_str(json(o), "{\"DomainName\":\"live.test\",\"Delay\":30.5,\"TranscodeConfig\":{\"CasterTemplate\":\"lp_hd\","
                    "\"LiveTemplate\":[\"lld\",\"lsd\"]},\"RecordConfig\":{},\"UrgentMaterialId\":\"\","
                    "\"SideOutputUrl\":\"\",\"CallbackUrl\":\"\",\"ProgramName\":\"\",\"ProgramEffect\":1,"
                    "\"ChannelEnable\":0}", "config JSON: capitalized names, LiveTemplate once each");
    le_jv_free(o);
    le_jv *d = le_cst_config_default();
    const char *none[] = { NULL };
    ok(le_cst_config_parse(kv_get, (void *)none, &o, &e) == LE_OK, "empty config (full overwrite clears)");
    char want[1024];
    snprintf(want, sizeof(want), "%s", json(d));
    is_str(json(o), want, "empty config equals the default");
    le_jv_free(o);
    le_jv_free(d);
    const char *r1[] = { "Delay=61", NULL };
    is_str(refused(le_cst_config_parse, r1), "InvalidParameter", "Delay 61");
    const char *r2[] = { "TranscodeConfig={\"CasterTemplate\":\"lp_xx\"}", NULL };
    is_str(refused(le_cst_config_parse, r2), "InvalidParameter", "bad CasterTemplate");
    const char *r3[] = { "TranscodeConfig={\"LiveTemplate\":[\"hd\"]}", NULL };
    is_str(refused(le_cst_config_parse, r3), "InvalidParameter", "bad LiveTemplate");
    const char *r4[] = { "RecordConfig=[1]", NULL };
    is_str(refused(le_cst_config_parse, r4), "InvalidParameter", "RecordConfig not an object");
    const char *r5[] = { "TranscodeConfig={", NULL };
    is_str(refused(le_cst_config_parse, r5), "InvalidParameter", "TranscodeConfig not JSON");
    /* 8192 bytes at most, before parsing: a valid object of 9000 bytes is refused */
    static char big[9100];
    int n = snprintf(big, sizeof(big), "TranscodeConfig={\"LiveTemplate\":[]");
    memset(big + n, ' ', 9000 - (size_t)n);
    snprintf(big + 9000, sizeof(big) - 9000, "}");
    const char *r6[] = { big, NULL };
    is_str(refused(le_cst_config_parse, r6), "InvalidParameter", "TranscodeConfig of 9000 bytes");
    big[0] = 'R';   /* "RranscodeConfig" is ignored: the same padding as RecordConfig */
    char rec[9100];
    snprintf(rec, sizeof(rec), "RecordConfig={%s", big + strlen("TranscodeConfig={\"LiveTemplate\":[]"));
    const char *r7[] = { rec, NULL };
    is_str(refused(le_cst_config_parse, r7), "InvalidParameter", "RecordConfig of 9000 bytes");
}

static void test_resource(void)
{
    const char *req[] = { "ResourceName=cam1", "LocationId=RV02", "LiveStreamUrl=rtmp://127.0.0.1/live/cam1",
                          NULL };
    le_jv *o = NULL;
    le_cst_err e;
    ok(le_cst_resource_parse(kv_get, (void *)req, &o, &e) == LE_OK, "live resource accepted");
    is_str(json(o), "{\"ResourceName\":\"cam1\",\"LocationId\":\"RV02\",\"LiveStreamUrl\":\"rtmp://127.0.0.1/live/"
                    "cam1\",\"VodUrl\":\"\",\"MaterialId\":\"\",\"RepeatNum\":0,\"BeginOffset\":0,\"EndOffset\":0}",
           "resource JSON");
    /* Modify: VodUrl replaces LiveStreamUrl once that is given empty; LocationId kept. */
    const char *mod[] = { "LiveStreamUrl=", "VodUrl=http://h/a.mp4?x=1", "RepeatNum=-1", "EndOffset=-2000", NULL };
    le_cst_merge m = { .g = kv_get, .ctx = (void *)mod, .old = o };
    le_jv *o2 = NULL;
    ok(le_cst_resource_parse(le_cst_merge_get, &m, &o2, &e) == LE_OK, "modify merged");
    le_cst_merge_free(&m);
    is_str(json(o2), "{\"ResourceName\":\"cam1\",\"LocationId\":\"RV02\",\"LiveStreamUrl\":\"\",\"VodUrl\":"
                     "\"http://h/a.mp4?x=1\",\"MaterialId\":\"\",\"RepeatNum\":-1,\"BeginOffset\":0,\"EndOffset\":-2000}",
           "modified resource JSON");
    le_jv_free(o2);
    const char *mod2[] = { "VodUrl=http://h/a.mp4", NULL };
    le_cst_merge m2 = { .g = kv_get, .ctx = (void *)mod2, .old = o };
    ok(le_cst_resource_parse(le_cst_merge_get, &m2, &o2, &e) == LE_EINVAL &&
       !strcmp(e.code, "InvalidParameter.Malformed"), "modify to two kinds of source refused");
    le_cst_merge_free(&m2);
    le_jv_free(o);
    const char *r1[] = { "LocationId=RV13", "MaterialId=a.mp4", NULL };
    is_str(refused(le_cst_resource_parse, r1), "InvalidLocationId.Malformed", "RV13");
    const char *r2[] = { "LocationId=RV01", NULL };
    is_str(refused(le_cst_resource_parse, r2), "InvalidParameter.Malformed", "no source");
    const char *r3[] = { "LocationId=RV01", "LiveStreamUrl=ftp://x/y", NULL };
    is_str(refused(le_cst_resource_parse, r3), "InvalidLiveStreamUrl.Malformed", "ftp URL");
    const char *r4[] = { "LocationId=RV01", "VodUrl=http://h/a.avi", NULL };
    is_str(refused(le_cst_resource_parse, r4), "InvalidVodUrl.Malformed", "avi VodUrl");
    const char *r5[] = { "LocationId=RV01", "MaterialId=../etc/passwd", NULL };
    is_str(refused(le_cst_resource_parse, r5), "InvalidMaterialId.Malformed", "MaterialId with a slash");
    const char *r6[] = { "LocationId=RV01", "MaterialId=a.mp4", "RepeatNum=-2", NULL };
    is_str(refused(le_cst_resource_parse, r6), "InvalidParameter", "RepeatNum -2");
    const char *r7[] = { "MaterialId=a.mp4", NULL };
    is_str(refused(le_cst_resource_parse, r7), "MissingParameter", "LocationId missing");
}

static void test_layout(void)
{
    const char *req[] = { "VideoLayer.1.HeightNormalized=1", "VideoLayer.1.WidthNormalized=1",
                          "VideoLayer.2.HeightNormalized=0.25", "VideoLayer.2.WidthNormalized=0.25",
                          "VideoLayer.2.PositionNormalized.1=0.7", "VideoLayer.2.PositionNormalized.2=0.05",
                          "VideoLayer.2.PositionRefer=topLeft", "VideoLayer.2.FillMode=fit",
                          "VideoLayer.2.FixedDelayDuration=200", "AudioLayer.1.VolumeRate=0.5",
                          "AudioLayer.1.ValidChannel=leftChannel", "BlendList.1=RV01", "BlendList.2=RV02",
                          "MixList.1=RV02", NULL };
    le_jv *o = NULL;
    le_cst_err e;
    ok(le_cst_layout_parse(kv_get, (void *)req, NULL, &o, &e) == LE_OK, "layout accepted");
    is_str(json(o), "{\"VideoLayers\":[{\"FillMode\":\"none\",\"HeightNormalized\":1,\"WidthNormalized\":1,"
                    "\"PositionNormalized\":[0,0],\"PositionRefer\":\"topLeft\",\"FixedDelayDuration\":0},"
                    "{\"FillMode\":\"fit\",\"HeightNormalized\":0.25,\"WidthNormalized\":0.25,"
                    "\"PositionNormalized\":[0.7,0.05],\"PositionRefer\":\"topLeft\",\"FixedDelayDuration\":200}],"
                    "\"AudioLayers\":[{\"VolumeRate\":0.5,\"ValidChannel\":\"leftChannel\",\"FixedDelayDuration\":0}],"
                    "\"BlendList\":[\"RV01\",\"RV02\"],\"MixList\":[\"RV02\"]}", "layout JSON");
    /* Modify with the audio lists only: the video lists stay. */
    const char *mod[] = { "AudioLayers.1.VolumeRate=2", "AudioLayers.2.VolumeRate=1", "MixLists.1=RV01",
                          "MixLists.2=RV02", NULL };
    le_jv *o2 = NULL;
    ok(le_cst_layout_parse(kv_get, (void *)mod, o, &o2, &e) == LE_OK, "layout modified (plural wire names)");
    char want[2048];
    snprintf(want, sizeof(want), "%s", json(o));
    is_int(strncmp(json(o2), want, strstr(want, "\"AudioLayers\"") - want), 0, "video layers kept");
    ok(strstr(json(o2), "\"MixList\":[\"RV01\",\"RV02\"]") && strstr(js, "\"BlendList\":[\"RV01\",\"RV02\"]"),
       "new MixList, BlendList kept");
    le_jv_free(o2);
    const char *mod_bad[] = { "MixList.1=RV01", "MixList.2=RV03", NULL };
    ok(le_cst_layout_parse(kv_get, (void *)mod_bad, o, &o2, &e) == LE_EINVAL &&
       !strcmp(e.code, "InvalidAudioLayersAndMixListSize.Mismatch"), "modify: MixList of 2 against 1 AudioLayer");
    le_jv_free(o);
    const char *r1[] = { "VideoLayer.1.HeightNormalized=1", "BlendList.1=RV01", "BlendList.2=RV02", NULL };
    is_str(refused(layout_add, r1), "InvalidVideoLayersAndBlendListSize.Mismatch", "1 video layer, 2 blend");
    const char *r2[] = { "AudioLayer.1.VolumeRate=1", "AudioLayer.2.VolumeRate=1", "MixList.1=RV01", NULL };
    is_str(refused(layout_add, r2), "InvalidAudioLayersAndMixListSize.Mismatch", "2 audio layers, 1 mix");
    const char *r3[] = { "VideoLayer.1.PositionNormalized.1=0.5", "BlendList.1=RV01", NULL };
    is_str(refused(layout_add, r3), "InvalidPositionNormalized.Malformed", "position with x only");
    const char *r4[] = { "VideoLayer.1.HeightNormalized=1", "BlendList.1=RV13", NULL };
    is_str(refused(layout_add, r4), "InvalidLocationId.Malformed", "BlendList RV13");
    const char *r5[] = { "AudioLayer.1.VolumeRate=1", "AudioLayer.2.VolumeRate=1", "MixList.1=RV01",
                         "MixList.2=RV01", NULL };
    is_str(refused(layout_add, r5), "InvalidParameter.Malformed", "MixList with a repeat");
    const char *r6[] = { "VideoLayer.1.FillMode=fit", "BlendList.1=RV01", NULL };
    is_str(refused(layout_add, r6), "InvalidParameter", "fit without a size");
    const char *r7[] = { "VideoLayer.1.FixedDelayDuration=5001", "BlendList.1=RV01", NULL };
    is_str(refused(layout_add, r7), "InvalidParameter", "FixedDelayDuration 5001");
    const char *r8[] = { "AudioLayer.1.VolumeRate=10.5", "MixList.1=RV01", NULL };
    is_str(refused(layout_add, r8), "InvalidParameter", "VolumeRate 10.5");
    const char *r9[] = { "VideoLayer.1.PositionRefer=middle", "BlendList.1=RV01", NULL };
    is_str(refused(layout_add, r9), "InvalidParameter", "PositionRefer middle");
    const char *r10[] = { NULL };
    is_str(refused(layout_add, r10), "MissingParameter", "no layers");
}

static void test_component(void)
{
    const char *req[] = { "ComponentName=title", "LocationId=RC01", "ComponentType=text", "Effect=animateH",
                          "ComponentLayer={\"HeightNormalized\":0.2,\"WidthNormalized\":0.5,"
                          "\"PositionNormalized\":[0.1,0.8],\"PositionRefer\":\"bottomLeft\"}",
                          "TextLayerContent={\"Text\":\"直播 Live\",\"Color\":\"0xff0000\",\"SizeNormalized\":0.05}",
                          NULL };
    le_jv *o = NULL;
    le_cst_err e;
    ok(le_cst_component_parse(kv_get, (void *)req, &o, &e) == LE_OK, "text component accepted");
    is_str(json(o), "{\"ComponentName\":\"title\",\"LocationId\":\"RC01\",\"ComponentType\":\"text\",\"Effect\":"
                    "\"animateH\",\"ComponentLayer\":{\"HeightNormalized\":0.2,\"WidthNormalized\":0.5,"
                    "\"PositionNormalized\":[0.1,0.8],\"PositionRefer\":\"bottomLeft\"},\"TextLayerContent\":{"
                    "\"Text\":\"直播 Live\",\"Color\":\"0xff0000\",\"FontName\":\"KaiTi\",\"SizeNormalized\":0.05,"
                    "\"BorderWidthNormalized\":0,\"BorderColor\":\"0x000000\"}}", "text component JSON");
    /* Modify only the text: the layer and the rest stay. */
    const char *mod[] = { "TextLayerContent={\"Text\":\"new\"}", NULL };
    le_cst_merge m = { .g = kv_get, .ctx = (void *)mod, .old = o };
    le_jv *o2 = NULL;
    ok(le_cst_component_parse(le_cst_merge_get, &m, &o2, &e) == LE_OK, "component modified");
    le_cst_merge_free(&m);
    ok(strstr(json(o2), "\"PositionNormalized\":[0.1,0.8],\"PositionRefer\":\"bottomLeft\"") &&
       strstr(js, "\"Text\":\"new\",\"Color\":\"0xffffff\""), "layer kept, new text with default colour");
    le_jv_free(o2);
    le_jv_free(o);
    const char *img[] = { "LocationId=RC99", "ComponentType=image", "ImageLayerContent={\"MaterialId\":\"logo.png\"}",
                          NULL };
    ok(le_cst_component_parse(kv_get, (void *)img, &o, &e) == LE_OK, "image component accepted");
    ok(strstr(json(o), "\"ImageLayerContent\":{\"MaterialId\":\"logo.png\"}") &&
       strstr(js, "\"ComponentLayer\":{\"HeightNormalized\":0,\"WidthNormalized\":0,\"PositionNormalized\":[0,0],"
                  "\"PositionRefer\":\"topLeft\"}"), "image JSON with the default layer");
    le_jv_free(o);
    const char *r1[] = { "LocationId=RC01", "ComponentType=caption", "CaptionLayerContent={}", NULL };
    is_str(refused(le_cst_component_parse, r1), "InvalidComponentType.NotSupported", "caption refused");
    const char *r2[] = { "LocationId=RV01", "ComponentType=text", "TextLayerContent={\"Text\":\"a\"}", NULL };
    is_str(refused(le_cst_component_parse, r2), "InvalidLocationId.Malformed", "RV01 for a component");
    const char *r3[] = { "LocationId=RC00", "ComponentType=text", "TextLayerContent={\"Text\":\"a\"}", NULL };
    is_str(refused(le_cst_component_parse, r3), "InvalidLocationId.Malformed", "RC00");
    const char *r4[] = { "LocationId=RC01", "ComponentType=text", NULL };
    is_str(refused(le_cst_component_parse, r4), "MissingParameter", "text without TextLayerContent");
    const char *r5[] = { "LocationId=RC01", "ComponentType=text", "TextLayerContent={\"Text\":\"a\",\"Color\":\"red\"}",
                         NULL };
    is_str(refused(le_cst_component_parse, r5), "InvalidParameter", "Color red");
    const char *r6[] = { "LocationId=RC01", "ComponentType=image", "ImageLayerContent={\"MaterialId\":\"a/b\"}",
                         NULL };
    is_str(refused(le_cst_component_parse, r6), "InvalidMaterialId.Malformed", "MaterialId a/b");
    const char *r7[] = { "LocationId=RC01", "ComponentType=text", "Effect=spin", "TextLayerContent={\"Text\":\"a\"}",
                         NULL };
    is_str(refused(le_cst_component_parse, r7), "InvalidParameter", "Effect spin");
    const char *r8[] = { "LocationId=RC01", "ComponentType=text", "TextLayerContent={\"Text\":\"a\"}",
                         "ComponentLayer={\"PositionNormalized\":[0.5]}", NULL };
    is_str(refused(le_cst_component_parse, r8), "InvalidPositionNormalized.Malformed", "position of one number");
    const char *r9[] = { "LocationId=RC01", "ComponentType=video", NULL };
    is_str(refused(le_cst_component_parse, r9), "InvalidParameter", "ComponentType video");
}

int main(void)
{
    test_locations();
    test_caster();
    test_config();
    test_resource();
    test_layout();
    test_component();
    return done_testing();
}
