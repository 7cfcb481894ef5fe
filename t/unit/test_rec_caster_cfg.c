/* A caster's RecordConfig read as a record config
 * (le_rec_config_from_caster, src/record/config.c): the parameter table's
 * names, the API reference example's spellings, {StartTime}/{EndTime},
 * defaults, and what is refused. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/json.h"
#include "record/config.h"
#include "tap.h"

static le_rec_config C;
static char WHY[128];

static int rd(const char *js)
{
    le_jv *o = js ? le_jv_parse(js, strlen(js), 8, NULL, 0) : NULL;
    if (js && !o)
        return 99;   /* the test's own JSON is bad */
    int rc = le_rec_config_from_caster(o, &C, WHY, sizeof(WHY));
    le_jv_free(o);
    return rc;
}

int main(void)
{
    is_int(rd("{\"OssBucket\":\"rec-1\",\"OssEndpoint\":\"oss-cn-shanghai.aliyuncs.com\",\"VideoFormat\":["
              "{\"Format\":\"mp4\",\"OssObjectPrefix\":\"a/{AppName}/{StreamName}/{Sequence}\",\"CycleDuration\":600},"
              "{\"Format\":\"m3u8\",\"SliceOssObjectPrefix\":\"s/{UnixTimestamp}\",\"CycleDuration\":5}]}"),
           LE_OK, "the parameter table's names");
    is_int(C.nformats, 2, "... two formats");
    is_int(C.formats[0].fmt, LE_REC_MP4, "... mp4 first");
    is_int(C.formats[0].cycle_s, 600, "... its CycleDuration");
    is_str(C.formats[0].prefix, "a/{AppName}/{StreamName}/{Sequence}", "... its OssObjectPrefix");
    is_str(C.formats[0].slice_prefix, "", "... no slice prefix on a whole-file format");
    is_int(C.formats[1].fmt, LE_REC_M3U8, "... then m3u8");
    is_str(C.formats[1].slice_prefix, "s/{UnixTimestamp}", "... its SliceOssObjectPrefix");
    is_str(C.formats[1].prefix, "", "... default file prefix");
    is_int(C.formats[1].cycle_s, 5, "... CycleDuration 5 (the minimum)");
    is_str(C.oss_bucket, "rec-1", "OssBucket");
    is_str(C.oss_endpoint, "oss-cn-shanghai.aliyuncs.com", "OssEndpoint");
    is_int(C.on_demand, LE_REC_ONDEMAND_OFF, "OnDemand off");
    is_str(C.domain, "", "domain, app, stream left empty");

    /* The example of SetCasterConfig in the API reference. */
    is_int(rd("{\"endpoint\":\"XXXXXXX\",\"videoFormat\":[{\"prefix\":\"record/{AppName}/{StreamName}/"
              "{StartTime}_{EndTime}\",\"format\":\"flv\",\"interval\":900},{\"prefix\":\"record/{AppName}/"
              "{StreamName}/{StartTime}_{EndTime}\",\"format\":\"m3u8\",\"slicePrefix\":\"record/{AppName}/"
              "{StreamName}/{UnixTimestamp}\",\"interval\":900}],\"ossBucket\":\"record-bucket-test\","
              "\"interval\":\"5\"}"),
           LE_OK, "the API reference's example");
    is_int(C.nformats, 2, "... two formats");
    is_str(C.formats[0].prefix, "record/{AppName}/{StreamName}/{EscapedStartTime}_{EscapedEndTime}",
           "... {StartTime}_{EndTime} read as the escaped times");
    is_int(C.formats[0].cycle_s, 900, "... interval is the cycle");
    is_str(C.formats[1].slice_prefix, "record/{AppName}/{StreamName}/{UnixTimestamp}", "... slicePrefix");
    is_str(C.oss_bucket, "record-bucket-test", "... ossBucket");
    is_str(C.oss_endpoint, "XXXXXXX", "... endpoint");
    /* DescribeCasterConfig's example spelling. */
    is_int(rd("{\"Endpoint\":\"e\",\"OssBucket\":\"bkt\",\"VideoFormat\":[{\"Format\":\"FLV\",\"Prefix\":\"p/{Date}\","
              "\"Interval\":\"120\"}]}"),
           LE_OK, "DescribeCasterConfig's spelling, a cycle as a string of digits");
    is_int(C.formats[0].fmt, LE_REC_FLV, "... FLV in capitals");
    is_int(C.formats[0].cycle_s, 120, "... Interval \"120\"");
    is_str(C.formats[0].prefix, "p/{Date}", "... Prefix");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\"}]}"), LE_OK, "only a format");
    is_int(C.formats[0].cycle_s, LE_REC_CYCLE_DEFAULT_S, "... the default cycle");
    is_str(C.oss_bucket, "", "... no bucket (the recorder's default one)");

    /* le_rec_config_same: what a re-read changes, compared */
    {
        const char *js = "{\"OssBucket\":\"bkt\",\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":60}]}";
        rd(js);
        le_rec_config a = C;
        rd(js);
        snprintf(C.domain, sizeof(C.domain), "%s", "other.example");
        ok(le_rec_config_same(&a, &C), "the same RecordConfig read twice is the same (names not compared)");
        rd("{\"OssBucket\":\"bkt\",\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":61}]}");
        ok(!le_rec_config_same(&a, &C), "... another CycleDuration is not");
        rd("{\"OssBucket\":\"bk2\",\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":60}]}");
        ok(!le_rec_config_same(&a, &C), "... another OssBucket is not");
        rd("{\"OssBucket\":\"bkt\",\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":60,"
           "\"OssObjectPrefix\":\"p/{Sequence}\"}]}");
        ok(!le_rec_config_same(&a, &C), "... another prefix is not");
        rd("{\"OssBucket\":\"bkt\",\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":60},"
           "{\"Format\":\"mp4\"}]}");
        ok(!le_rec_config_same(&a, &C), "... one more format is not");
    }

    /* no recording */
    is_int(rd(NULL), LE_ENOTFOUND, "absent: no recording");
    is_int(rd("{}"), LE_ENOTFOUND, "an empty object: no recording");
    is_int(rd("{\"VideoFormat\":[]}"), LE_ENOTFOUND, "no formats: no recording");
    is_int(rd("[1]"), LE_ENOTFOUND, "not an object: no recording");

    /* refused */
    is_int(rd("{\"VideoFormat\":{\"Format\":\"flv\"}}"), LE_EINVAL, "VideoFormat not an array");
    ok(strstr(WHY, "VideoFormat") != NULL, "... the reason names it (%s)", WHY);
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"avi\"}]}"), LE_EINVAL, "an unknown format");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\"},{\"Format\":\"flv\"}]}"), LE_EINVAL, "a format twice");
    ok(strstr(WHY, "twice") != NULL, "... the reason (%s)", WHY);
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\"},{\"Format\":\"mp4\"},{\"Format\":\"m3u8\"},{\"Format\":\"flv\"}]}"),
           LE_EINVAL, "four formats");
    is_int(rd("{\"VideoFormat\":[\"flv\"]}"), LE_EINVAL, "an entry that is not an object");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":4}]}"), LE_EINVAL, "CycleDuration 4");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":21601}]}"), LE_EINVAL, "CycleDuration 21601");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":21600}]}"), LE_OK, "CycleDuration 21600");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":\"6x\"}]}"), LE_EINVAL, "a cycle \"6x\"");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"CycleDuration\":6.5}]}"), LE_EINVAL, "a fractional cycle");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"OssObjectPrefix\":\"/abs/{Sequence}\"}]}"), LE_EINVAL,
           "an absolute prefix");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"OssObjectPrefix\":\"a/../b\"}]}"), LE_EINVAL, "a .. segment");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"OssObjectPrefix\":\"a/{Nope}\"}]}"), LE_EINVAL,
           "an unknown variable");
    ok(strstr(WHY, "OssObjectPrefix") != NULL, "... the reason names the field (%s)", WHY);
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"flv\",\"OssObjectPrefix\":7}]}"), LE_EINVAL, "a prefix not a string");
    is_int(rd("{\"VideoFormat\":[{\"Format\":\"m3u8\",\"SliceOssObjectPrefix\":\"s/{Date}\"}]}"), LE_EINVAL,
           "a slice prefix without {UnixTimestamp} or {Sequence}");
    is_int(rd("{\"OssBucket\":\"AB\",\"VideoFormat\":[{\"Format\":\"flv\"}]}"), LE_EINVAL, "a bucket of 2 capitals");
    is_int(rd("{\"OssBucket\":\"a_b_c\",\"VideoFormat\":[{\"Format\":\"flv\"}]}"), LE_EINVAL, "a bucket with _");
    /* A prefix whose {StartTime} expansions make it too long. */
    char js[1200], pfx[700] = "";
    for (int i = 0; i < 20; i++)
        strcat(pfx, "{StartTime}");
    snprintf(js, sizeof(js), "{\"VideoFormat\":[{\"Format\":\"flv\",\"OssObjectPrefix\":\"%s\"}]}", pfx);
    is_int(rd(js), LE_EINVAL, "a prefix too long once {StartTime} is rewritten");
    return done_testing();
}
