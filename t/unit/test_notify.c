/* The pure part of control/notify: percent-encoding, the callback query,
 * the request target and the ALI-LIVE-SIGNATURE. */
#include "control/notify.h"
#include "tap.h"

#include <stdlib.h>

static char *str(le_buf *b)
{
    le_buf_u8(b, 0);
    return (char *)b->p;
}

/* The callback query for p, compared whole. */
static void query_is(const le_notify_params *p, const char *want, const char *what)
{
    le_buf b = { 0 };
    le_notify_query(&b, p);
    is_str(str(&b), want, "%s", what);
    le_buf_free(&b);
}

int main(void)
{
    le_buf b = { 0 };

    le_notify_pct(&b, "foo=bar&x=1 ~*\xc3\xa9", 16);
    is_str(str(&b), "foo%3Dbar%26x%3D1%20~%2A%C3%A9", "RFC 3986: reserved, space, '*', UTF-8 encoded; '~' kept");
    le_buf_free(&b);

    le_notify_pct(&b, "AZaz09-_.~", 10);
    is_str(str(&b), "AZaz09-_.~", "unreserved characters are kept");
    le_buf_free(&b);

    le_notify_pct(&b, "a\0b", 3);
    is_str(str(&b), "a%00b", "a NUL byte is encoded");
    le_buf_free(&b);

    le_notify_params p = {
        .action = "publish", .ip = "127.0.0.1", .id = "cb1", .app = "live.test", .appname = "live",
        .time_s = 1700000000, .usrargs = "foo=bar&x=1", .node = "edge 1", .width = 640, .height = 360,
    };
    query_is(&p,
             "action=publish&ip=127.0.0.1&id=cb1&app=live.test&appname=live&time=1700000000"
             "&usrargs=foo%3Dbar%26x%3D1&node=edge%201&width=640&height=360",
             "publish query: the callback's names, in order, values encoded");

    p.action = "publish_done";
    p.width = 0;
    p.usrargs = "";
    query_is(&p,
             "action=publish_done&ip=127.0.0.1&id=cb1&app=live.test&appname=live&time=1700000000"
             "&usrargs=&node=edge%201",
             "publish_done query: no width/height, empty usrargs kept");

    p.width = 640;
    p.height = 0;
    le_notify_query(&b, &p);
    ok(strstr(str(&b), "width") == NULL, "width/height only when both are known");
    ok(strstr(str(&b), "height") == NULL, "... neither of them");
    le_buf_free(&b);

    /* A NULL value is an empty one; a negative time keeps its sign. */
    le_notify_params q = { .action = "publish", .time_s = -1 };
    query_is(&q, "action=publish&ip=&id=&app=&appname=&time=-1&usrargs=&node=",
             "NULL values: every name still there, empty");

    /* Appending: what the buffer held is kept. */
    le_buf_append(&b, "x", 1);
    le_notify_pct(&b, "/", 1);
    is_str(str(&b), "x%2F", "pct appends to what is there");
    le_buf_free(&b);

    le_notify_target(&b, "/notify", NULL, "action=publish");
    is_str(str(&b), "/notify?action=publish", "target: path ? params");
    le_buf_free(&b);

    le_notify_target(&b, "/cb", "token=abc&v=2", "action=publish");
    is_str(str(&b), "/cb?token=abc&v=2&action=publish", "target: the URL's own query kept, then &");
    le_buf_free(&b);

    le_notify_target(&b, "", "", "action=publish");
    is_str(str(&b), "/?action=publish", "target: empty path becomes /");
    le_buf_free(&b);

    char sig[33];
    le_notify_sign("live.test", 1700000000, "secret", sig);
    is_str(sig, "a2bae548c9a522dc6ac5f374a2b4c6c3", "signature = md5hex(domain|timestamp|key)");
    char sig2[33];
    le_notify_sign("live.test", 1700000001, "secret", sig2);
    ok(strcmp(sig, sig2) != 0 && strlen(sig2) == 32, "another timestamp, another 32-digit signature");

    return done_testing();
}
