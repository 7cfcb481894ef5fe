/* le_cst_url_split (studio/caster_url.h): the LiveStreamUrls a running
 * caster reads, split into scheme, host, port, app and stream. */
#include <string.h>

#include "core/err.h"
#include "studio/caster_url.h"
#include "tap.h"

static void good(const char *url, const char *scheme, const char *host, int port, const char *app,
                 const char *name)
{
    le_cst_url u;
    int rc = le_cst_url_split(url, &u);
    is_int(rc, LE_OK, "%s splits", url);
    if (rc != LE_OK)
        return;
    is_str(u.scheme, scheme, "... scheme");
    is_str(u.host, host, "... host");
    is_int(u.port, port, "... port");
    is_str(u.app, app, "... app");
    is_str(u.name, name, "... stream");
}

static void bad(const char *url, const char *why)
{
    le_cst_url u;
    is_int(le_cst_url_split(url, &u), LE_EINVAL, "refused: %s (%s)", url, why);
}

int main(void)
{
    good("rtmp://127.0.0.1:1935/live/cam1", "rtmp", "127.0.0.1", 1935, "live", "cam1");
    good("RTMP://live.example.com/live/cam1?auth_key=1-0-0-abc", "rtmp", "live.example.com", 0, "live", "cam1");
    good("http://h.example.com:8080/app/s_1.flv?x=1#f", "http", "h.example.com", 8080, "app", "s_1");
    good("https://h.example.com/app/s.m3u8", "https", "h.example.com", 0, "app", "s");
    good("rtmp://user:pw@[::1]:1936/live/a-b", "rtmp", "::1", 1936, "live", "a-b");
    good("rtmp://h/app/a.flv.flv", "rtmp", "h", 0, "app", "a.flv");
    bad("rtmp://h/live", "no stream");
    bad("rtmp://h/live/", "empty stream");
    bad("rtmp://h//cam", "empty app");
    bad("rtmp://h/live/a/b", "a stream with a slash");
    bad("rtmp://h:0/live/a", "port 0");
    bad("rtmp://h:65536/live/a", "port over 65535");
    bad("rtmp://h:12a/live/a", "port not a number");
    bad("rtmp://h:/live/a", "empty port");
    bad("rtmp://[::1/live/a", "unclosed bracket");
    bad("rtmp://[::1]x/live/a", "garbage after the bracket");
    bad("rtmp:///live/a", "no host");
    bad("rtmp://u@/live/a", "no host after the user");
    bad("live/a", "no scheme");
    bad("verylongscheme://h/live/a", "scheme too long");
    char big[400];
    memset(big, 'a', sizeof(big));
    memcpy(big, "rtmp://h/live/", 14);
    big[sizeof(big) - 1] = '\0';
    bad(big, "stream too long");
    memcpy(big, "rtmp://", 7);
    bad(big, "host too long");
    return done_testing();
}
