/* control/publish: one begin/end pair for every publisher kind; the skip
 * flags, takeover, and end exactly once. */
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "control/publish.h"
#include "core/err.h"
#include "media/stream.h"
#include "tap.h"

typedef struct owner {
    le_publish pub;
    int kicks;
} owner;

static void owner_kick(void *ctx, const char *reason)
{
    owner *o = ctx;
    (void)reason;
    o->kicks++;
    le_publish_end(&o->pub, LE_PUB_END_DROPPED, "kicked");
}

static const le_pub_ops owner_ops = { .kick = owner_kick };

static le_pub_info info_all_skips(le_pub_kind kind)
{
    le_pub_info i = { .kind = kind, .client_ip = "127.0.0.1", .local_ip = "127.0.0.1",
                      .source_url = "rtmp://origin.example/live/a", .usrargs = "",
                      .no_access_check = 1, .no_blocklist = 1, .no_online_entry = 1, .no_callbacks = 1 };
    return i;
}

int main(void)
{
    le_conf_domain dom;
    memset(&dom, 0, sizeof(dom));
    dom.name = "play.example.com";
    le_stream_limits lim = *le_stream_get_limits();
    lim.takeover = LE_TAKEOVER_NEVER;
    le_stream_set_limits(&lim);
    char why[256];

    /* An edge copy: every step it skips is a flag; the slot is taken. */
    owner a = { 0 }, b = { 0 };
    le_pub_info ia = info_all_skips(LE_PUB_EDGE);
    is_int(le_publish_begin(&a.pub, &dom, "live", "s1", &ia, &owner_ops, &a, why, sizeof(why)), LE_OK,
           "edge copy begins");
    le_stream *st = a.pub.st;
    ok(st && le_stream_is_live(st), "the stream is live");
    ok(le_stream_ext(st, le_stream_ext_register("control")) == NULL, "no_online_entry: no online/history record");
    is_str(le_pub_kind_name(LE_PUB_RELAY_PULL), "relay-pull", "kind names");
    is_int(le_publish_kind(st), LE_PUB_EDGE, "le_publish_kind: the edge copy");

    /* Takeover refused: LE_EEXIST, the handle stays empty. */
    le_pub_info ib = info_all_skips(LE_PUB_RELAY_PULL);
    is_int(le_publish_begin(&b.pub, &dom, "live", "s1", &ib, &owner_ops, &b, why, sizeof(why)), LE_EEXIST,
           "second publisher refused (publish_takeover never)");
    ok(b.pub.st == NULL && strstr(why, "already") != NULL, "refused: no stream in the handle, reason given");
    is_int(le_publish_kind(st), LE_PUB_EDGE, "a refused publish leaves the current kind");

    /* End, then a new publisher; a second end of the first does nothing. */
    le_publish_end(&a.pub, LE_PUB_END_DROPPED, "source gone");
    ok(a.pub.st == NULL && !le_stream_is_live(st), "end releases the slot");
    is_int(le_publish_kind(st), LE_ENOTFOUND, "no kind once ended");
    is_int(le_publish_begin(&b.pub, &dom, "live", "s1", &ib, &owner_ops, &b, why, sizeof(why)), LE_OK,
           "next publisher begins");
    le_publish_end(&a.pub, LE_PUB_END_DROPPED, "twice");
    ok(le_stream_is_live(st) && b.pub.st == st, "a second end of the old publish leaves the new one alone");

    /* Takeover always: the old owner's kick ends its publish first. */
    lim.takeover = LE_TAKEOVER_ALWAYS;
    le_stream_set_limits(&lim);
    owner c = { 0 };
    le_pub_info ic = info_all_skips(LE_PUB_TRANSCODE);
    is_int(le_publish_begin(&c.pub, &dom, "live", "s1", &ic, &owner_ops, &c, why, sizeof(why)), LE_OK,
           "takeover: new publisher begins");
    ok(b.kicks == 1 && b.pub.st == NULL && c.pub.st == st, "takeover: the old one was kicked and ended");
    is_int(le_publish_kind(st), LE_PUB_TRANSCODE, "takeover: the new publisher's kind (the old end kept it)");
    le_publish_end(&c.pub, LE_PUB_END_UNPUBLISHED, "done");
    ok(!le_stream_is_live(st), "unpublished: slot released");

    /* The online/history step of an RTMP publisher needs the node's
     * configuration; t/integration/41-control.sh and 45-history.sh cover it. */

    return done_testing();
}
