/* Pull config checks (src/relay/pull.c): SourceUrl parsing and expansion,
 * the StartTime/EndTime window, and the codes the admin API answers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "relay/pull.h"
#include "tap.h"

static le_pull_sources S;

/* Parses list for app "live", stream "cam"; the error code, or "ok". */
static const char *parse(const char *list)
{
    le_pull_err e = { 0 };
    int rc = le_pull_parse_sources(list, "live", "cam", &S, &e);
    if (rc == LE_OK)
        return "ok";
    return rc == LE_EINVAL && e.code && e.message && *e.message ? e.code : "BAD-RETURN";
}

static const char *window(int64_t start, int64_t end, int64_t now)
{
    le_pull_err e = { 0 };
    int rc = le_pull_check_window(start, end, now, &e);
    if (rc == LE_OK)
        return "ok";
    return rc == LE_EINVAL && e.code && e.message ? e.code : "BAD-RETURN";
}

int main(void)
{
    const char *M = "InvalidSourceUrl.Malformed", *U = "InvalidSourceUrl.ValueNotSupported";

    /* bare hosts expand to rtmp://{host}/{AppName}/{StreamName} */
    is_str(parse("origin.example.com"), "ok", "a bare host is accepted");
    is_int(S.n, 1, "... one origin");
    is_str(S.url[0], "rtmp://origin.example.com/live/cam", "... expanded with AppName and StreamName");
    is_str(parse("127.0.0.1:1935"), "ok", "host:port is accepted");
    is_str(S.url[0], "rtmp://127.0.0.1:1935/live/cam", "... expanded with its port");
    is_str(parse("[::1]:1936"), "ok", "a bracketed IPv6 host with a port is accepted");
    is_str(S.url[0], "rtmp://[::1]:1936/live/cam", "... expanded");

    /* full URLs are kept as given */
    is_str(parse("rtmp://a.example.com/app/stream?token=x"), "ok", "an rtmp:// URL with a query");
    is_str(S.url[0], "rtmp://a.example.com/app/stream?token=x", "... kept as given");
    is_str(parse("RTMP://a.example.com:19350/app/inst/stream"), "ok", "scheme case and an app instance");
    is_str(parse("http://127.0.0.1:8080/live/cam.flv"), "ok", "an http:// FLV URL");
    is_str(parse("http://cdn.example.com/live/cam.flv?auth_key=1-0-0-abc"), "ok", "an http:// URL with a query");
    is_str(parse("rtmp://user:pw@a.example.com/app/s"), "ok", "credentials in the authority");

    /* several origins, in order; blanks and empty items ignored */
    is_str(parse("127.0.0.1:1; rtmp://b.example.com/x/y ;http://c.example.com/y.flv;"), "ok",
           "three origins separated by ';'");
    is_int(S.n, 3, "... three of them");
    is_str(S.url[0], "rtmp://127.0.0.1:1/live/cam", "... the first expanded");
    is_str(S.url[1], "rtmp://b.example.com/x/y", "... the second trimmed");
    is_str(S.url[2], "http://c.example.com/y.flv", "... the third");
    is_str(parse("a;b;c;d;e;f;g;h"), "ok", "8 origins are accepted");
    is_int(S.n, 8, "... all 8");
    is_str(parse("a;b;c;d;e;f;g;h;i"), M, "9 origins are refused");

    /* malformed */
    is_str(parse(""), M, "an empty SourceUrl");
    is_str(parse(" ; ;"), M, "only separators");
    is_str(parse("rtmp://"), M, "rtmp:// without a host");
    is_str(parse("rtmp://host"), M, "rtmp:// without app and stream");
    is_str(parse("rtmp://host/app"), M, "rtmp:// without a stream");
    is_str(parse("rtmp://host/app/"), M, "rtmp:// with an empty stream");
    is_str(parse("rtmp:///app/stream"), M, "rtmp:// with an empty host");
    is_str(parse("rtmp://host:0/app/s"), M, "port 0");
    is_str(parse("rtmp://host:65536/app/s"), M, "port 65536");
    is_str(parse("rtmp://host:80x/app/s"), M, "a port that is not a number");
    is_str(parse("http://host"), M, "http:// without a path");
    is_str(parse("http://host/"), M, "http:// with an empty path");
    is_str(parse("host/app/stream"), M, "a host with a path but no scheme");
    is_str(parse("host:"), M, "a bare host with an empty port");
    is_str(parse("ho st"), M, "a blank inside a host");
    is_str(parse("rtmp://h/a/s\x01"), M, "a control character");
    is_str(parse("good.example.com;rtmp://bad"), M, "one bad origin among good ones");
    is_str(parse("[::1"), M, "an unclosed IPv6 bracket");
    char big[LE_PULL_URL_MAX + 32];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is_str(parse(big), M, "an origin longer than LE_PULL_URL_MAX");
    char longhost[LE_PULL_URL_MAX];
    /* 1012 bytes: short enough as given, too long once rtmp://.../live/cam is added */
    memset(longhost, 'h', sizeof(longhost) - 12);
    longhost[sizeof(longhost) - 12] = '\0';
    is_str(parse(longhost), M, "a bare host that expands past LE_PULL_URL_MAX");
    char *huge = malloc(LE_PULL_SOURCE_MAX + 2);
    memset(huge, ';', LE_PULL_SOURCE_MAX + 1);
    huge[LE_PULL_SOURCE_MAX + 1] = '\0';
    huge[0] = 'a';
    is_str(parse(huge), M, "a SourceUrl longer than LE_PULL_SOURCE_MAX");
    free(huge);

    /* schemes */
    is_str(parse("srt://host:9000/a/b"), U, "srt:// is not supported");
    is_str(parse("rtmps://host/a/b"), "ok", "rtmps:// is an RTMP source over TLS");
    is_str(S.url[0], "rtmps://host/a/b", "... kept as given");
    is_str(parse("rtmps://host/a"), M, "rtmps:// without a stream");
    is_str(parse("rtsp://host/a/b"), U, "rtsp:// is not supported");
    is_str(parse("ftp://host/a.flv"), U, "ftp:// is not supported");
    is_str(parse("https://host/a.flv"), "ok", "https:// is an HTTP-FLV source over TLS");

    /* random lists from an alphabet of the characters that matter: every
     * answer is LE_OK with well-formed URLs, or LE_EINVAL with a code
     * (run under ASan in CI: no read or write out of bounds) */
    static const char alpha[] = "rtmphs:/;?@[]. 0123456789abcxyz_-\t\x01";
    unsigned seed = 12345;
    int bad = 0, good = 0;
    for (int i = 0; i < 20000; i++) {
        char in[200];
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % sizeof(in);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 1103515245u + 12345u;
            in[k] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
        }
        in[n] = '\0';
        if (i % 3 == 0 && n > 10)
            memcpy(in, "rtmp://", 7);
        le_pull_err e = { 0 };
        int rc = le_pull_parse_sources(in, "live", "cam", &S, &e);
        if (rc == LE_OK) {
            good++;
            for (size_t k = 0; k < S.n; k++)
                if (strlen(S.url[k]) >= LE_PULL_URL_MAX ||
                    (strncasecmp(S.url[k], "rtmp://", 7) != 0 && strncasecmp(S.url[k], "http://", 7) != 0))
                    bad++;
            if (S.n < 1 || S.n > LE_PULL_MAX_SOURCES)
                bad++;
        } else if (rc != LE_EINVAL || !e.code || !e.message) {
            bad++;
        }
    }
    is_int(bad, 0, "20000 random lists: LE_OK with rtmp:// or http:// URLs, or LE_EINVAL with a code");
    ok(good > 0, "... some of them accepted (%d)", good);

    /* the window */
    const int64_t now = 1764800000000LL, day = 86400000LL;
    is_str(window(now - 1000, now + day, now), "ok", "started, ends tomorrow");
    is_str(window(now + 4000, now + 60000, now), "ok", "starts in the future");
    is_str(window(now, now + 7 * day, now), "ok", "exactly 7 days");
    is_str(window(now, now + 7 * day + 1000, now), "InvalidStartTime.ValueNotSupported", "7 days and a second");
    is_str(window(now + 60000, now + 60000, now), "InvalidEndTime.Mismatch", "EndTime equal to StartTime");
    is_str(window(now + 60000, now + 1000, now), "InvalidEndTime.Mismatch", "EndTime before StartTime");
    is_str(window(now - 7200000, now - 3600000, now), "InvalidEndTime.ValueNotSupported", "EndTime in the past");
    is_str(window(now - 7200000, now, now), "InvalidEndTime.ValueNotSupported", "EndTime now");
    is_str(window(now + 60000, now + 1000, now - day), "InvalidEndTime.Mismatch",
           "order is checked before the current time");

    return done_testing();
}
