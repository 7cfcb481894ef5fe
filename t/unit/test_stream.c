/* The stream registry: GOP cache replay, takeover policy, fan-out by
 * reference, the slow-viewer policy (media/feed.h), players kept across a
 * publisher reconnect and the end of the grace. No sockets: subscribers
 * record. */
#include "tap.h"
#include "media_samples.h"
#include "media/stream.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <time.h>

typedef struct rec {
    le_sub sub;
    le_pkt *got[64];
    int n, unpublished, published;
} rec;

static void rec_packet(le_sub *s, le_pkt *p)
{
    rec *r = s->ctx;
    if (r->n < 64)
        r->got[r->n++] = le_pkt_ref(p);
}
static void rec_unpublish(le_sub *s) { ((rec *)s->ctx)->unpublished++; }
static void rec_publish(le_sub *s) { ((rec *)s->ctx)->published++; }
static const le_sub_ops rec_ops = { rec_packet, rec_unpublish, rec_publish };

static void rec_init(rec *r)
{
    memset(r, 0, sizeof(*r));
    r->sub.ops = &rec_ops;
    r->sub.ctx = r;
    r->sub.is_player = 1;
}

static void rec_clear(rec *r)
{
    for (int i = 0; i < r->n; i++)
        le_pkt_unref(r->got[i]);
    r->n = 0;
}

#include "stream_helpers.h"

/* Players across a reconnect: kept for the grace, ended when it runs out
 * (not before), counted meanwhile; HLS-like subscribers told at once. */
static void grace_tests(void)
{
    int a, b;
    le_stream_limits lim = *le_stream_get_limits();
    lim.takeover = LE_TAKEOVER_IDLE;
    lim.reconnect_grace_ms = 300;
    le_stream_set_limits(&lim);
    le_stream *st = le_stream_find("d.example", "live", "g1", 1);
    is_int(le_stream_publish(st, &pub, &a), LE_OK, "grace: publish");
    push(st, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(st, LE_PKT_VIDEO, 0, key, sizeof(key));
    rec p1, p2, h;
    rec_init(&p1);
    rec_init(&p2);
    rec_init(&h);
    h.sub.is_player = 0;   /* a subscriber that is not a player (HLS) */
    le_stream_attach(st, &p1.sub);
    le_stream_attach(st, &p2.sub);
    le_stream_attach(st, &h.sub);
    is_int(le_stream_viewers(st), 2, "grace: two viewers");

    le_stream_unpublish(st, &a);
    ok(le_stream_in_grace(st) && !le_stream_is_live(st), "grace: publisher gone, grace runs");
    ok(p1.unpublished == 0 && p2.unpublished == 0, "grace: players not told");
    is_int(h.unpublished, 1, "grace: the non-player subscriber is told at once");
    is_int(le_stream_viewers(st), 2, "grace: players still counted");
    le_stream_grace_tick();
    ok(p1.unpublished == 0 && le_stream_in_grace(st), "grace: a tick before the end changes nothing");
    le_stream_detach(&p2.sub);   /* a player leaving in the grace */
    is_int(le_stream_viewers(st), 1, "grace: a player leaving is uncounted");
    uint64_t t0 = le_mono_ms();
    while (le_stream_in_grace(st) && le_mono_ms() - t0 < 5000) {
        nap_ms(20);
        le_stream_grace_tick();
    }
    uint64_t waited = le_mono_ms() - t0;
    ok(!le_stream_in_grace(st), "grace: over without a publisher");
    is_int(p1.unpublished, 1, "grace: the player is told once it runs out");
    ok(waited >= 200, "grace: not before its time (%llu ms of 300 after the first checks)",
       (unsigned long long)waited);
    is_int(p2.unpublished, 0, "grace: the player that left is not told");
    le_stream_grace_tick();
    is_int(p1.unpublished, 1, "grace: told exactly once");
    le_stream_detach(&p1.sub);
    is_int(le_stream_viewers(st), 0, "grace: no viewer left");
    le_stream_detach(&h.sub);

    /* Back within the grace: the players follow; publish, not unpublish. */
    is_int(le_stream_publish(st, &pub, &a), LE_OK, "grace: publish again");
    push(st, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(st, LE_PKT_VIDEO, 0, key, sizeof(key));
    rec_clear(&p1);
    rec_init(&p1);
    le_stream_attach(st, &p1.sub);
    le_stream_unpublish(st, &a);
    is_int(le_stream_publish(st, &pub, &b), LE_OK, "grace: a new publisher within the grace");
    ok(!le_stream_in_grace(st) && le_stream_is_live(st), "grace: ended by the publish");
    push(st, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(st, LE_PKT_VIDEO, 0, key, sizeof(key));
    nap_ms(350);
    le_stream_grace_tick();
    ok(p1.unpublished == 0 && p1.published == 1, "grace: the player follows the new publish, never told unpublish");
    is_int(le_stream_viewers(st), 1, "grace: counted once");

    /* The publisher unpublished (ended the stream itself): no grace. */
    le_stream_end(st, &a);
    ok(le_stream_is_live(st), "unpublish: only the owner ends the stream");
    le_stream_end(st, &b);
    ok(!le_stream_in_grace(st) && p1.unpublished == 1, "unpublish: the player ends at once, no grace");
    le_stream_detach(&p1.sub);
    rec_clear(&p1);
    rec_init(&p1);
    is_int(le_stream_publish(st, &pub, &b), LE_OK, "forbid: publish");
    le_stream_attach(st, &p1.sub);

    /* Forbid (the publisher is cut): no grace, players end with it. */
    le_stream_kick_publisher(st, "forbidden");
    ok(!le_stream_in_grace(st), "forbid: no grace");
    is_int(p1.unpublished, 1, "forbid: the player ends at once");
    le_stream_detach(&p1.sub);
    rec_clear(&p1);

    /* Grace 0: players end at the unpublish, as without the feature. */
    lim.reconnect_grace_ms = 0;
    le_stream_set_limits(&lim);
    is_int(le_stream_publish(st, &pub, &a), LE_OK, "grace 0: publish");
    rec_init(&p1);
    le_stream_attach(st, &p1.sub);
    le_stream_unpublish(st, &a);
    ok(!le_stream_in_grace(st) && p1.unpublished == 1, "grace 0: the player ends at the unpublish");
    le_stream_detach(&p1.sub);
    rec_clear(&p1);
    rec_clear(&p2);
    rec_clear(&h);
}

static int hook_pub, hook_unpub;
static void on_pub(le_stream *st) { (void)st; hook_pub++; }
static void on_unpub(le_stream *st) { (void)st; hook_unpub++; }
static void noop_hook(le_stream *st) { (void)st; }
static int freed;
static void ext_free_fn(void *p) { (void)p; freed++; }

/* Extension slots and hooks are registered, with a fixed maximum that fails
 * loudly rather than silently. */
static void registry_tests(void)
{
    static const char *names[] = { "n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8",
                                   "n9", "n10", "n11", "n12", "n13", "n14", "n15", "n16" };
    int a = le_stream_ext_register("test-a");
    int b = le_stream_ext_register("test-b");
    ok(a >= 0 && b >= 0 && a != b, "ext: two names, two slots (%d, %d)", a, b);
    is_int(le_stream_ext_register("test-a"), a, "ext: the same name gets its slot again");
    int last = b, over = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int r = le_stream_ext_register(names[i]);
        if (r < 0) {
            is_int(r, LE_ETOOBIG, "ext: past LE_STREAM_EXT_MAX: LE_ETOOBIG");
            over = 1;
            break;
        }
        last = r;
    }
    ok(over && last == LE_STREAM_EXT_MAX - 1, "ext: exactly LE_STREAM_EXT_MAX slots (last %d)", last);

    le_stream *st = le_stream_find("d.example", "live", "ext", 1);
    int x = 1, y = 2;
    is_int(le_stream_set_ext(st, a, &x, ext_free_fn), LE_OK, "ext: set");
    ok(le_stream_ext(st, a) == &x && le_stream_ext(st, b) == NULL, "ext: slots apart");
    is_int(le_stream_set_ext(st, LE_STREAM_EXT_MAX, &y, ext_free_fn), LE_EINVAL, "ext: unknown slot refused");
    ok(le_stream_ext(st, LE_STREAM_EXT_MAX) == NULL && le_stream_ext(st, -1) == NULL, "ext: unknown slot reads NULL");
    le_stream_set_ext(st, a, &y, ext_free_fn);
    is_int(freed, 1, "ext: replacing frees the old value");

    is_int(le_stream_on_publish(on_pub), LE_OK, "hook: publish registered");
    is_int(le_stream_on_unpublish(on_unpub), LE_OK, "hook: unpublish registered");
    int pub_over = 0, unpub_over = 0;
    for (int i = 0; i < LE_STREAM_HOOKS_MAX; i++) {
        pub_over |= le_stream_on_publish(noop_hook) == LE_ETOOBIG;
        unpub_over |= le_stream_on_unpublish(noop_hook) == LE_ETOOBIG;
    }
    ok(pub_over && unpub_over, "hook: past LE_STREAM_HOOKS_MAX: LE_ETOOBIG");
    int o;
    le_stream_publish(st, &pub, &o);
    is_int(hook_pub, 1, "hook: publish hook ran");
    is_int(hook_unpub, 0, "hook: unpublish hook not yet");
    le_stream_unpublish(st, &o);
    is_int(hook_unpub, 1, "hook: unpublish hook ran at the unpublish");
    le_stream_shutdown();   /* forgets hooks, frees the stream and its ext */
    is_int(freed, 2, "ext: freed with the stream");
    st = le_stream_find("d.example", "live", "ext", 1);
    le_stream_publish(st, &pub, &o);
    le_stream_unpublish(st, &o);
    ok(hook_pub == 1 && hook_unpub == 1, "hook: shutdown forgot them");
    is_int(le_stream_ext_register("test-b"), b, "ext: registrations outlive shutdown");
    le_stream_shutdown();
}

int main(void)
{
    int a, b;
    le_stream_limits lim0 = *le_stream_get_limits();
    lim0.reconnect_grace_ms = 0;   /* the first part: players end at unpublish */
    le_stream_set_limits(&lim0);
    le_stream *st = le_stream_find("d.example", "live", "s1", 1);
    ok(st != NULL, "stream created");
    ok(le_stream_find("d.example", "live", "s1", 0) == st, "lookup finds it");
    ok(le_stream_find("d.example", "live", "s2", 0) == NULL, "other name not found");
    is_str(le_stream_key(st), "d.example/live/s1", "key");
    is_str(le_stream_app(st), "live", "app");

    is_int(le_stream_publish(st, &pub, &a), LE_OK, "first publisher accepted");
    ok(le_stream_is_live(st), "live");
    push(st, LE_PKT_DATA, 0, meta, sizeof(meta));
    push(st, LE_PKT_VIDEO, 0, vseq, sizeof(vseq));
    push(st, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    push(st, LE_PKT_VIDEO, 0, key, sizeof(key));
    push(st, LE_PKT_AUDIO, 20, araw, sizeof(araw));
    push(st, LE_PKT_VIDEO, 40, inter, sizeof(inter));

    /* A player joining mid-GOP gets meta, headers, then the GOP from its key. */
    rec r1;
    rec_init(&r1);
    le_stream_attach(st, &r1.sub);
    is_int(r1.n, 6, "late joiner gets meta + 2 headers + 3 GOP packets");
    ok(r1.got[0]->flags & LE_PKT_META, "metadata first");
    ok((r1.got[1]->flags & LE_PKT_SEQHDR) && (r1.got[2]->flags & LE_PKT_SEQHDR), "sequence headers next");
    ok(r1.got[3]->type == LE_PKT_VIDEO && (r1.got[3]->flags & LE_PKT_KEY), "then a keyframe");
    is_int(le_stream_viewers(st), 1, "one viewer counted");
    /* Connectionless (HLS) clients count while their time to live runs. */
    le_stream_seen(st, 11, 60000);
    le_stream_seen(st, 12, 60000);
    le_stream_seen(st, 11, 60000);
    is_int(le_stream_viewers(st), 3, "two HLS clients (one seen twice) + one player");
    le_stream_seen(st, 13, 1);
    struct timespec nap = { 0, 5 * 1000000L };
    nanosleep(&nap, NULL);
    is_int(le_stream_viewers(st), 3, "an expired HLS client no longer counts");
    le_stream_seen(st, 14, 1);
    nanosleep(&nap, NULL);
    le_stream_seen(st, 11, 0);   /* refreshed with no time left: gone, and 13, 14 pruned */
    is_int(le_stream_viewers(st), 2, "a client refreshed to expire now leaves");
    le_stream_seen(st, 12, 0);

    /* Fan-out shares the packet: the same object reaches both viewers. */
    rec r2;
    rec_init(&r2);
    le_stream_attach(st, &r2.sub);
    rec_clear(&r1);
    rec_clear(&r2);
    le_pkt *p = le_pkt_new(LE_PKT_VIDEO, 80, inter, sizeof(inter));
    le_stream_push(st, p);
    ok(r1.n == 1 && r2.n == 1 && r1.got[0] == p && r2.got[0] == p, "one packet object shared by viewers");
    is_int(p->refs, 4, "refs: ours + GOP + two viewers");
    le_pkt_unref(p);
    rec_clear(&r1);
    rec_clear(&r2);

    /* A new keyframe resets the GOP. */
    push(st, LE_PKT_VIDEO, 1000, key, sizeof(key));
    rec r3;
    rec_init(&r3);
    le_stream_attach(st, &r3.sub);
    is_int(r3.n, 4, "after a new keyframe the GOP is just that frame");
    rec_clear(&r3);
    le_stream_detach(&r3.sub);
    rec_clear(&r1);
    rec_clear(&r2);

    /* Takeover: an active publisher refuses a newcomer under 'idle'. */
    le_stream_limits lim = *le_stream_get_limits();
    lim.takeover = LE_TAKEOVER_IDLE;
    lim.takeover_idle_ms = 3000;
    le_stream_set_limits(&lim);
    is_int(le_stream_publish(st, &pub, &b), LE_EEXIST, "second publisher refused while active");
    lim.takeover = LE_TAKEOVER_ALWAYS;
    le_stream_set_limits(&lim);
    kicked = 0;
    is_int(le_stream_publish(st, &pub, &b), LE_OK, "'always' takes over");
    is_int(kicked, 1, "old publisher kicked");
    ok(r1.unpublished == 0 && r1.published == 1, "viewers stay through a takeover, told of the new publish");
    le_stream_unpublish(st, &a);
    ok(le_stream_is_live(st), "stale owner cannot unpublish the new publisher");
    lim.takeover = LE_TAKEOVER_NEVER;
    le_stream_set_limits(&lim);
    is_int(le_stream_publish(st, &pub, &a), LE_EEXIST, "'never' refuses");

    /* Slow viewer (per pacer tick): over the queue bound it skips to the
     * next keyframe, and is dropped once it stays behind. */
    lim.viewer_queue_bytes = 1000;
    lim.viewer_drop_ms = 5000;
    le_stream_set_limits(&lim);
    le_feed_reader rd = { 0 };
    le_feed_reader *r = &rd;
    is_int(le_feed_policy(r, 100, 0, 10000), LE_FEED_SEND, "under the bound: send");
    is_int(le_feed_policy(r, 2000, 1, 10000), LE_FEED_SKIP, "over the bound: skip, even at a keyframe");
    is_int(le_feed_policy(r, 400, 0, 10002), LE_FEED_SKIP, "drained but no keyframe yet: skip");
    is_int(le_feed_policy(r, 700, 1, 10003), LE_FEED_SKIP, "keyframe but not drained to half: skip");
    is_int(le_feed_policy(r, 400, 1, 10004), LE_FEED_RESUME, "keyframe after draining: resume");
    is_int(le_feed_policy(r, 400, 0, 10005), LE_FEED_SEND, "then the log flows");
    is_int((int)r->skips, 1, "one skip episode counted");
    is_int(le_feed_policy(r, 5000, 0, 20000), LE_FEED_SKIP, "behind again");
    is_int(le_feed_policy(r, 5000, 1, 24000), LE_FEED_SKIP, "still within the drop time");
    is_int(le_feed_policy(r, 5000, 1, 25001), LE_FEED_DROP, "behind longer than viewer_drop_ms: drop");
    /* Skipping keeps the queue from growing: it plateaus between half and
     * the bound, and the viewer must still be cut on time. */
    memset(r, 0, sizeof(*r));
    is_int(le_feed_policy(r, 5000, 0, 30000), LE_FEED_SKIP, "falls behind");
    is_int(le_feed_policy(r, 800, 1, 33000), LE_FEED_SKIP, "queue plateaus under the bound, still skipping");
    is_int(le_feed_policy(r, 800, 1, 35001), LE_FEED_DROP, "plateaued viewer dropped after viewer_drop_ms");

    le_stream_unpublish(st, &b);
    ok(!le_stream_is_live(st), "unpublished");
    is_int(r1.unpublished, 1, "viewers told of the unpublish");
    le_stream_detach(&r1.sub);
    le_stream_detach(&r2.sub);
    is_int(le_stream_viewers(st), 0, "no viewers left");
    rec_clear(&r1);
    rec_clear(&r2);
    le_stream_gc(0);
    ok(le_stream_find("d.example", "live", "s1", 0) == NULL, "idle stream collected");
    grace_tests();
    le_stream_shutdown();
    registry_tests();
    return done_testing();
}
