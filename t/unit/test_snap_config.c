/* snapshot/config.h: the template rules of OverwriteOssObject and
 * SequenceOssObject, and the config / index entry JSON round trips,
 * refusing what the actions would refuse. */
#include "tap.h"
#include "core/err.h"
#include "core/util.h"
#include "snapshot/config.h"

#include <stdio.h>
#include <string.h>

/* le_buf holds no NUL: a C string of it. */
static const char *cstr(const le_buf *b)
{
    static char s[2048];
    snprintf(s, sizeof(s), "%.*s", (int)b->len, (const char *)b->p);
    return s;
}

static void tmpl(const char *t, int seq, int want, const char *what)
{
    char why[160] = "";
    int rc = le_snap_tmpl_check(t, seq, why, sizeof(why));
    is_int(rc, want, "%s %s: %s%s%s", seq ? "Sequence" : "Overwrite", t, what, *why ? " -- " : "", why);
}

int main(void)
{
    tmpl("{AppName}/{StreamName}.jpg", 0, LE_OK, "the reference's example");
    tmpl("snapshot/{AppName}/{StreamName}/{UnixTimestamp}.jpg", 1, LE_OK, "the reference's example");
    tmpl("s/{StreamName}_{Sequence}", 1, LE_OK, "{Sequence} alone");
    tmpl("s/{StreamName}.jpg", 1, LE_EINVAL, "needs {UnixTimestamp} or {Sequence}");
    tmpl("s/{StreamName}_{Sequence}.jpg", 0, LE_EINVAL, "no {Sequence} in an Overwrite object");
    tmpl("s/{StreamName}_{UnixTimestamp}.jpg", 0, LE_EINVAL, "no {UnixTimestamp} in an Overwrite object");
    tmpl("s/{Date}/{Sequence}.jpg", 1, LE_EINVAL, "{Date} is a recording variable only");
    tmpl("s/{Bogus}.jpg", 0, LE_EINVAL, "unknown variable");
    tmpl("../{StreamName}.jpg", 0, LE_EINVAL, "a .. segment");
    tmpl("/abs/{StreamName}.jpg", 0, LE_EINVAL, "an absolute path");
    tmpl("", 0, LE_EINVAL, "empty");
    char longt[300];
    memset(longt, 'a', 256);
    strcpy(longt + 256, "{Sequence}");
    tmpl(longt, 1, LE_EINVAL, "256 bytes or more");

    le_snap_config c, d;
    memset(&c, 0, sizeof(c));
    snprintf(c.domain, sizeof(c.domain), "live.test");
    snprintf(c.app, sizeof(c.app), "*");
    c.interval_s = 3600;
    snprintf(c.oss_endpoint, sizeof(c.oss_endpoint), "oss-cn-shanghai.aliyuncs.com");
    snprintf(c.oss_bucket, sizeof(c.oss_bucket), "bkt");
    snprintf(c.sequence, sizeof(c.sequence), "snapshot/{AppName}/{StreamName}/{Sequence}");
    c.create_ms = 1700000000000LL;
    le_buf b = { 0 };
    le_snap_config_to_json(&b, &c);
    is_str(cstr(&b),
           "{\"DomainName\":\"live.test\",\"AppName\":\"*\",\"TimeInterval\":3600,"
           "\"CreateTime\":\"2023-11-14T22:13:20Z\","
           "\"OssEndpoint\":\"oss-cn-shanghai.aliyuncs.com\",\"OssBucket\":\"bkt\",\"OverwriteOssObject\":\"\","
           "\"SequenceOssObject\":\"snapshot/{AppName}/{StreamName}/{Sequence}\"}",
           "config JSON: the fields of DescribeLiveSnapshotConfig");
    is_int(le_snap_config_from_json((const char *)b.p, b.len, &d), LE_OK, "... decodes");
    ok(memcmp(&c, &d, sizeof(c)) == 0, "... to the same config");
    le_buf_free(&b);

    static const char *const bad[] = {
        "{\"DomainName\":\"d\",\"AppName\":\"a\",\"TimeInterval\":4}",
        "{\"DomainName\":\"d\",\"AppName\":\"a\",\"TimeInterval\":3601}",
        "{\"DomainName\":\"d\",\"AppName\":\"a\"}",
        "{\"DomainName\":\"d\",\"TimeInterval\":5}",
        "{\"DomainName\":\"d\",\"AppName\":\"a\",\"TimeInterval\":5,\"SequenceOssObject\":\"x.jpg\"}",
        "{\"DomainName\":\"d\",\"AppName\":\"a\",\"TimeInterval\":5,\"CreateTime\":\"yesterday\"}",
        "{\"DomainName\":\"d\",\"AppName\":\"a\",\"TimeInterval\":\"5\"}",
        "[1]",
        "{",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(le_snap_config_from_json(bad[i], strlen(bad[i]), &d), LE_EPROTO, "refused: %s", bad[i]);

    le_snap_entry e, f;
    memset(&e, 0, sizeof(e));
    e.create_ms = 1700000005000LL;
    snprintf(e.oss_endpoint, sizeof(e.oss_endpoint), "ep");
    snprintf(e.oss_bucket, sizeof(e.oss_bucket), "bkt");
    snprintf(e.object, sizeof(e.object), "snapshot/live/s1/7.jpg");
    le_snap_entry_to_json(&b, &e);
    is_str(cstr(&b),
           "{\"t\":1700000005000,\"endpoint\":\"ep\",\"bucket\":\"bkt\",\"object\":\"snapshot/live/s1/7.jpg\"}",
           "index entry JSON");
    is_int(le_snap_entry_from_json((const char *)b.p, b.len, &f), LE_OK, "... decodes");
    ok(memcmp(&e, &f, sizeof(e)) == 0, "... to the same entry");
    le_buf_free(&b);
    is_int(le_snap_entry_from_json("{\"t\":0,\"object\":\"x\"}", 20, &f), LE_EPROTO,
           "an entry without a time: refused");
    is_int(le_snap_entry_from_json("{\"t\":5}", 7, &f), LE_EPROTO, "an entry without an object: refused");
    return done_testing();
}
