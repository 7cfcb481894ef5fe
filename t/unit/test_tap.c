/* Taps (media/tap.h): internal subscribers with a bounded queue. Order, the
 * join replay, skipping to a keyframe over the bound, the drop after
 * viewer_drop_ms, publish/unpublish markers, the deferred wake. */
#include "tap.h"
#include "media_samples.h"
#include "media/stream.h"
#include "media/tap.h"
#include "conf/conf.h"
#include "core/err.h"
#include "core/util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <time.h>

#include "stream_helpers.h"

/* Pulls everything into a string: P publish, U unpublish, X dropped, M meta,
 * v/a sequence headers, K keyframe, i inter frame, r audio frame. */
static char got[256];
static const char *drain(le_tap *t)
{
    size_t n = 0;
    le_pkt *p;
    int k;
    while ((k = le_tap_next(t, &p)) != LE_TAP_NONE && n < sizeof(got) - 1) {
        char c = '?';
        if (k == LE_TAP_PUBLISH)
            c = 'P';
        else if (k == LE_TAP_UNPUBLISH)
            c = 'U';
        else if (k == LE_TAP_DROPPED)
            c = 'X';
        else if (p->flags & LE_PKT_META)
            c = 'M';
        else if (p->flags & LE_PKT_SEQHDR)
            c = p->type == LE_PKT_VIDEO ? 'v' : 'a';
        else if (p->type == LE_PKT_VIDEO)
            c = (p->flags & LE_PKT_KEY) ? 'K' : 'i';
        else if (p->type == LE_PKT_AUDIO)
            c = 'r';
        if (k == LE_TAP_PKT && !p)
            c = '!';
        if (p)
            le_pkt_unref(p);
        got[n++] = c;
    }
    got[n] = '\0';
    return got;
}

static void headers_and_gop(le_stream *st, uint32_t ts)
{
    push(st, LE_PKT_DATA, ts, meta, sizeof(meta));
    push(st, LE_PKT_VIDEO, ts, vseq, sizeof(vseq));
    push(st, LE_PKT_AUDIO, ts, aseq, sizeof(aseq));
    push(st, LE_PKT_VIDEO, ts, key, sizeof(key));
    push(st, LE_PKT_AUDIO, ts + 20, araw, sizeof(araw));
    push(st, LE_PKT_VIDEO, ts + 40, inter, sizeof(inter));
}

static int wakes, drops;
static le_tap *closed_in_drop;
static void on_wake(le_tap *t, void *ctx) { (void)t; (void)ctx; wakes++; }
static void on_drop(le_tap *t, void *ctx)
{
    (void)ctx;
    drops++;
    if (closed_in_drop == t) {
        le_tap_close(t);
        closed_in_drop = NULL;
    }
}
static const le_tap_ops ops = { on_wake, on_drop };

int main(void)
{
    struct event_base *base = event_base_new();
    le_tap_init(base);
    le_stream_limits lim = *le_stream_get_limits();
    lim.reconnect_grace_ms = 0;
    lim.viewer_drop_ms = 100;
    le_stream_set_limits(&lim);
    le_tap_stats ts;
    int a, b;

    /* A tap on a stream that is not live gets nothing until a publish. */
    le_stream *st = le_stream_find("d.example", "live", "t1", 1);
    le_tap *early = le_tap_open(st, &ops, NULL, 1 << 20);
    is_str(drain(early), "", "not live: nothing queued at open");

    /* Join replay, like a player: publish, meta, headers, GOP from its key. */
    le_stream_publish(st, &pub, &a);
    headers_and_gop(st, 0);
    le_tap *t = le_tap_open(st, &ops, NULL, 1 << 20);
    is_str(drain(t), "PMvaKri", "join mid-GOP: publish, meta, headers, then the GOP");
    is_str(drain(early), "PMvaKri", "tap open before the publish: the same, live");

    /* Ordering, and the wake from a deferred event, not inside push. */
    wakes = 0;
    push(st, LE_PKT_VIDEO, 80, inter, sizeof(inter));
    push(st, LE_PKT_AUDIO, 60, araw, sizeof(araw));
    push(st, LE_PKT_VIDEO, 120, key, sizeof(key));
    is_int(wakes, 0, "push does not call the consumer");
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(wakes, 2, "one deferred wake per tap with items");
    is_str(drain(t), "irK", "live packets in push order");
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(wakes, 2, "no new wake without new items");
    is_str(drain(early), "irK", "the other tap got the same");
    le_tap_close(early);

    /* Shared by reference: the same packet object as pushed. */
    le_pkt *p = le_pkt_new(LE_PKT_VIDEO, 160, inter, sizeof(inter));
    le_stream_push(st, p);
    le_pkt *q = NULL;
    ok(le_tap_next(t, &q) == LE_TAP_PKT && q == p, "queued by reference");
    le_pkt_unref(q);
    le_pkt_unref(p);

    /* Unpublish / publish markers in order, headers of the new publish. */
    le_stream_unpublish(st, &a);
    le_stream_publish(st, &pub, &b);
    headers_and_gop(st, 1000);
    is_str(drain(t), "UPMvaKri", "unpublish, publish, then the new publish's media");
    /* A takeover is bracketed too. */
    lim.takeover = LE_TAKEOVER_ALWAYS;
    le_stream_set_limits(&lim);
    le_stream_publish(st, &pub, &a);
    headers_and_gop(st, 2000);
    is_str(drain(t), "UPMvaKri", "takeover: unpublish and publish markers");
    le_tap_close(t);

    /* Skip to the next keyframe under a tiny bound, headers resent. Each
     * sample is 6 bytes (audio 3): a bound of 10 holds two frames. */
    t = le_tap_open(st, &ops, NULL, 10);
    is_str(drain(t), "PMva", "tiny bound: the join's headers, the GOP skipped");
    push(st, LE_PKT_VIDEO, 2050, key, sizeof(key));
    is_str(drain(t), "MvaK", "resumes at the next keyframe with the headers");
    le_tap_get_stats(t, &ts);
    uint64_t skipped0 = ts.skipped;
    push(st, LE_PKT_VIDEO, 2040, inter, sizeof(inter));
    push(st, LE_PKT_VIDEO, 2080, inter, sizeof(inter));
    push(st, LE_PKT_VIDEO, 2120, inter, sizeof(inter));   /* 12 > 10: over */
    push(st, LE_PKT_VIDEO, 2160, inter, sizeof(inter));   /* skipped */
    le_tap_get_stats(t, &ts);
    ok(ts.skipped - skipped0 == 2 && ts.bytes == 12, "over the bound: packets skipped (%llu), queue bounded (%zu bytes)",
       (unsigned long long)(ts.skipped - skipped0), ts.bytes);
    push(st, LE_PKT_VIDEO, 2200, key, sizeof(key));       /* queue not drained: skipped too */
    is_str(drain(t), "ii", "the consumer gets what was queued before the skip");
    push(st, LE_PKT_VIDEO, 2240, inter, sizeof(inter));   /* still skipping: no keyframe yet */
    push(st, LE_PKT_VIDEO, 2280, key, sizeof(key));
    is_str(drain(t), "MvaK", "resumes at the next keyframe, metadata and sequence headers first");
    push(st, LE_PKT_VIDEO, 2320, inter, sizeof(inter));
    is_str(drain(t), "i", "then follows live");
    le_tap_get_stats(t, &ts);
    is_int(ts.skipped - skipped0, 4, "skipped packets counted");
    is_int(ts.dropped + ts.drops, 0, "no drop");

    /* Over the bound longer than viewer_drop_ms: dropped, told, restarts. */
    drops = 0;
    push(st, LE_PKT_VIDEO, 2360, inter, sizeof(inter));
    push(st, LE_PKT_VIDEO, 2400, inter, sizeof(inter));
    push(st, LE_PKT_VIDEO, 2440, inter, sizeof(inter));   /* over: behind from now */
    nap_ms(150);
    push(st, LE_PKT_VIDEO, 2480, inter, sizeof(inter));   /* past the drop time */
    le_tap_get_stats(t, &ts);
    is_int(ts.drops, 1, "dropped once");
    is_int(ts.dropped, 2, "the queued packets were thrown away");
    is_int(drops, 0, "drop callback not inside push");
    event_base_loop(base, EVLOOP_NONBLOCK);
    is_int(drops, 1, "drop callback from the deferred event");
    push(st, LE_PKT_VIDEO, 2520, key, sizeof(key));
    is_str(drain(t), "XMvaK", "after the drop: marker, then headers and a keyframe");
    le_tap_close(t);

    /* A consumer may close the tap from its drop callback. */
    t = le_tap_open(st, &ops, NULL, 1);
    closed_in_drop = t;
    push(st, LE_PKT_VIDEO, 2560, inter, sizeof(inter));
    push(st, LE_PKT_VIDEO, 2600, inter, sizeof(inter));
    nap_ms(150);
    push(st, LE_PKT_VIDEO, 2640, inter, sizeof(inter));
    event_base_loop(base, EVLOOP_NONBLOCK);
    ok(closed_in_drop == NULL && drops == 2, "closed from the drop callback");
    event_base_loop(base, EVLOOP_NONBLOCK);   /* nothing left to run on it */

    /* Audio-only stream: resumes at any audio frame. */
    le_stream *sa = le_stream_find("d.example", "live", "audio", 1);
    le_stream_publish(sa, &pub, &b);
    push(sa, LE_PKT_AUDIO, 0, aseq, sizeof(aseq));
    t = le_tap_open(sa, &ops, NULL, 4);
    push(sa, LE_PKT_AUDIO, 20, araw, sizeof(araw));
    push(sa, LE_PKT_AUDIO, 40, araw, sizeof(araw));   /* 6 > 4: over */
    push(sa, LE_PKT_AUDIO, 60, araw, sizeof(araw));   /* skipped */
    is_str(drain(t), "Par", "audio only: joined, then over the bound");
    push(sa, LE_PKT_AUDIO, 80, araw, sizeof(araw));
    is_str(drain(t), "ar", "audio only: resumes at the next frame with its header");
    le_stream_unpublish(sa, &b);
    is_str(drain(t), "U", "unpublish marker");
    le_tap_close(t);

    le_stream_unpublish(st, &a);
    le_tap_get_stats(t = le_tap_open(st, &ops, NULL, 100), &ts);
    is_int(ts.items, 0, "not live: nothing to replay");
    le_tap_close(t);
    le_stream_gc(0);
    ok(le_stream_find("d.example", "live", "t1", 0) == NULL, "closed taps let the stream be collected");
    le_stream_shutdown();
    event_base_free(base);
    return done_testing();
}
