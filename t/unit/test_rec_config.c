/* Record configs (src/record/config.c): formats, the JSON of
 * DescribeLiveRecordConfig and DescribeLiveRecordNotifyConfig both ways,
 * hash fields and which config applies. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/util.h"
#include "record/config.h"
#include "tap.h"

#define T0 1463736818000LL      /* 2016-05-20T09:33:38Z */

static char *json_of(const le_rec_config *c)
{
    static char s[4096];
    le_buf b = { 0 };
    le_rec_config_to_json(&b, c);
    snprintf(s, sizeof(s), "%.*s", (int)b.len, (const char *)b.p);
    le_buf_free(&b);
    return s;
}

static int dec(const char *js, le_rec_config *c)
{
    return le_rec_config_from_json(js, strlen(js), c);
}

int main(void)
{
    /* formats */
    is_int(le_rec_fmt_parse("flv"), LE_REC_FLV, "flv");
    is_int(le_rec_fmt_parse("MP4"), LE_REC_MP4, "MP4 case-insensitive");
    is_int(le_rec_fmt_parse("m3u8"), LE_REC_M3U8, "m3u8");
    is_int(le_rec_fmt_parse("ts"), LE_EINVAL, "ts is none");
    is_int(le_rec_fmt_parse(NULL), LE_EINVAL, "NULL is none");
    is_str(le_rec_fmt_name(LE_REC_M3U8), "m3u8", "name of m3u8");
    is_str(le_rec_fmt_name(7), "", "name of nothing");

    /* fields */
    char f[64];
    le_rec_config_field("live", "cam", f, sizeof(f));
    is_str(f, "live/cam", "stream-level field");
    le_rec_config_field("*", "", f, sizeof(f));
    is_str(f, "*/", "app-wildcard field");
    le_rec_config_field("live", NULL, f, sizeof(f));
    is_str(f, "live/", "app-level field");

    /* config JSON */
    le_rec_config c = { 0 }, d;
    strcpy(c.domain, "play.example.com");
    strcpy(c.app, "live");
    strcpy(c.stream, "cam");
    strcpy(c.oss_endpoint, "oss-cn-shanghai.aliyuncs.com");
    strcpy(c.oss_bucket, "bkt");
    c.on_demand = LE_REC_ONDEMAND_HTTP;
    c.start_ms = T0;
    c.end_ms = T0 + 3600000;
    c.create_ms = T0 - 60000;
    c.nformats = 2;
    c.formats[0] = (le_rec_format){ LE_REC_M3U8, 600, "r/{AppName}/{StreamName}/{Sequence}", "s/{UnixTimestamp}" };
    c.formats[1] = (le_rec_format){ LE_REC_FLV, 3600, "", "" };
    const char *want =
        "{\"DomainName\":\"play.example.com\",\"AppName\":\"live\",\"StreamName\":\"cam\","
        "\"OssEndpoint\":\"oss-cn-shanghai.aliyuncs.com\",\"OssBucket\":\"bkt\",\"OnDemand\":1,"
        "\"StartTime\":\"2016-05-20T09:33:38Z\",\"EndTime\":\"2016-05-20T10:33:38Z\","
        "\"CreateTime\":\"2016-05-20T09:32:38Z\",\"RecordFormatList\":{\"RecordFormat\":["
        "{\"Format\":\"m3u8\",\"OssObjectPrefix\":\"r/{AppName}/{StreamName}/{Sequence}\","
        "\"SliceOssObjectPrefix\":\"s/{UnixTimestamp}\",\"CycleDuration\":600},"
        "{\"Format\":\"flv\",\"OssObjectPrefix\":\"\",\"SliceOssObjectPrefix\":\"\",\"CycleDuration\":3600}]}}";
    is_str(json_of(&c), want, "config JSON, exact");
    is_int(dec(want, &d), LE_OK, "decodes");
    ok(memcmp(&c, &d, sizeof(c)) == 0 || (strcmp(json_of(&d), want) == 0), "round trip");
    is_str(d.app, "live", "... app");
    is_int(d.start_ms, T0, "... start");
    is_int(d.create_ms, T0 - 60000, "... create");
    is_int(d.nformats, 2, "... two formats");
    is_int(d.formats[0].fmt, LE_REC_M3U8, "... m3u8 first");
    is_int(d.formats[0].cycle_s, 600, "... cycle");
    is_str(d.formats[0].slice_prefix, "s/{UnixTimestamp}", "... slice prefix");

    le_rec_config z = { 0 };
    strcpy(z.domain, "d");
    strcpy(z.app, "*");
    is_str(json_of(&z),
           "{\"DomainName\":\"d\",\"AppName\":\"*\",\"StreamName\":\"\",\"OssEndpoint\":\"\",\"OssBucket\":\"\","
           "\"OnDemand\":0,\"StartTime\":\"\",\"EndTime\":\"\",\"CreateTime\":\"\","
           "\"RecordFormatList\":{\"RecordFormat\":[]}}",
           "unset times render empty");

    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"OnDemond\":2,\"RecordFormatList\":[{\"Format\":\"MP4\"}]}",
               &d), LE_OK, "minimal, bare array, OnDemond spelling");
    is_int(d.on_demand, 2, "... OnDemond read");
    is_int(d.formats[0].fmt, LE_REC_MP4, "... mp4");
    is_int(d.formats[0].cycle_s, LE_REC_CYCLE_DEFAULT_S, "... default cycle");
    is_str(d.stream, "", "... app level");
    is_int(dec("[1]", &d), LE_EPROTO, "not an object");
    is_int(dec("{\"DomainName\":\"d\"}", &d), LE_EPROTO, "no AppName");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"OnDemand\":3}", &d), LE_EPROTO, "OnDemand 3");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"StartTime\":\"yesterday\"}", &d), LE_EPROTO,
           "bad time");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"RecordFormatList\":[{\"Format\":\"avi\"}]}", &d),
           LE_EPROTO, "unknown format");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"RecordFormatList\":[{\"Format\":\"flv\"},"
               "{\"Format\":\"FLV\"}]}", &d), LE_EPROTO, "duplicate format");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"RecordFormatList\":[{\"Format\":\"flv\","
               "\"CycleDuration\":4}]}", &d), LE_EPROTO, "cycle below 5");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"RecordFormatList\":[{\"Format\":\"flv\","
               "\"CycleDuration\":21601}]}", &d), LE_EPROTO, "cycle above 21600");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"RecordFormatList\":[{\"Format\":\"flv\","
               "\"OssObjectPrefix\":\"../x\"}]}", &d), LE_EPROTO, "stored bad prefix refused");
    is_int(dec("{\"DomainName\":\"d\",\"AppName\":\"a\",\"RecordFormatList\":[{\"Format\":\"flv\"},"
               "{\"Format\":\"mp4\"},{\"Format\":\"m3u8\"},{\"Format\":\"flv\"}]}", &d), LE_EPROTO,
           "four formats");
    {
        char js[600];
        char bucket[80];
        memset(bucket, 'b', 64);
        bucket[64] = '\0';
        snprintf(js, sizeof(js), "{\"DomainName\":\"d\",\"AppName\":\"a\",\"OssBucket\":\"%s\"}", bucket);
        is_int(dec(js, &d), LE_EPROTO, "a bucket longer than the field");
    }

    /* notify JSON */
    le_rec_notify_cfg n = { 0 }, m;
    strcpy(n.domain, "d");
    strcpy(n.notify_url, "http://cb/x");
    n.need_status = 1;
    le_buf b = { 0 };
    le_rec_notify_to_json(&b, &n);
    le_buf_u8(&b, 0);
    is_str((const char *)b.p,
           "{\"DomainName\":\"d\",\"NotifyUrl\":\"http://cb/x\",\"OnDemandUrl\":\"\",\"NeedStatusNotify\":true}",
           "notify JSON, bool");
    is_int(le_rec_notify_from_json((const char *)b.p, b.len - 1, &m), LE_OK, "notify decodes");
    is_int(m.need_status, 1, "... need_status");
    is_str(m.notify_url, "http://cb/x", "... url");
    le_buf_free(&b);
    const char *nj = "{\"DomainName\":\"d\",\"NotifyUrl\":\"u\",\"NeedStatusNotify\":\"true\"}";
    is_int(le_rec_notify_from_json(nj, strlen(nj), &m), LE_EPROTO, "NeedStatusNotify as a string refused");
    nj = "{\"DomainName\":\"d\",\"OnDemandUrl\":\"http://od\"}";
    is_int(le_rec_notify_from_json(nj, strlen(nj), &m), LE_OK, "NeedStatusNotify absent");
    is_int(m.need_status, 0, "... false");
    is_str(m.on_demand_url, "http://od", "... OnDemandUrl");

    /* pick */
    le_rec_config s = { 0 }, a = { 0 }, w = { 0 };
    is_int(le_rec_config_pick(NULL, NULL, NULL, T0) == NULL, 1, "none");
    ok(le_rec_config_pick(NULL, NULL, &w, T0) == &w, "wildcard alone");
    ok(le_rec_config_pick(NULL, &a, &w, T0) == &a, "app beats wildcard");
    ok(le_rec_config_pick(&s, &a, &w, T0) == &s, "stream beats app (no window)");
    s.start_ms = T0 + 1000;
    s.end_ms = T0 + 2000;
    ok(le_rec_config_pick(&s, &a, &w, T0) == &a, "before its window: app level");
    ok(le_rec_config_pick(&s, &a, &w, T0 + 1000) == &s, "at its start: stream");
    ok(le_rec_config_pick(&s, &a, &w, T0 + 1999) == &s, "inside: stream");
    ok(le_rec_config_pick(&s, NULL, &w, T0 + 2000) == &w, "at its end: wildcard");
    ok(le_rec_config_pick(&s, NULL, NULL, T0 + 2000) == NULL, "after, nothing else: none");
    s.end_ms = 0;
    ok(le_rec_config_pick(&s, &a, &w, T0 + 99999999) == &s, "start only: open-ended");
    return done_testing();
}
